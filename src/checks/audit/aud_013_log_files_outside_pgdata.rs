//! AUD-013: the collector's log files live outside the data directory and
//! rotate.

use crate::checks::expect::{fix_settings, Expect};
use crate::checks::facts::{describe, is_on, need_setting, value};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::{Setting, Snapshot};
use crate::policy::Policy;

pub static LOG_FILES_OUTSIDE_PGDATA: Check = Check {
    id: "AUD-013",
    section: Section::Audit,
    title: "Log files live outside the data directory and rotate",
    severity: Severity::Medium,
    hipaa: &["164.312(b)", "164.316(b)(2)(i)"],
    cis: Some("3.1.4–9"),
    rationale: "Logs inside PGDATA (a relative log_directory, or an absolute one under \
        data_directory) are copied into every base backup, share the data volume's space \
        and can be read by anyone who can read a backup. Outside it, they must also rotate \
        (log_rotation_age or log_rotation_size > 0) so they can be shipped and retained. \
        Shipping off-host and keeping them for the retention period (six years is the \
        common documentation basis) happen outside PostgreSQL and need an attestation. \
        Not applicable when the collector is off (no PostgreSQL log files). Medium.",
    reproduce_sql: "SELECT name, setting, unit, source, sourcefile FROM pg_settings WHERE name IN \
        ('logging_collector', 'log_directory', 'data_directory', 'log_rotation_age', 'log_rotation_size');",
    evaluate: log_files_outside_pgdata,
    fix: Fix::Build(move_and_rotate_logs),
};

const SUGGESTED_LOG_DIRECTORY: &str = "/var/log/postgresql";

/// True when `path` is `base` or inside it (textually, trailing slashes ignored).
fn is_within(path: &str, base: &str) -> bool {
    let path = path.trim_end_matches('/');
    let base = base.trim_end_matches('/');
    !base.is_empty() && (path == base || path.starts_with(&format!("{base}/")))
}

/// Why log files end up inside PGDATA, or `Ok(None)` when they do not.
fn logs_inside_pgdata(s: &Snapshot, log_dir: &Setting) -> Result<Option<String>, Verdict> {
    let dir = value(log_dir).trim();
    if !dir.starts_with('/') && !is_windows_absolute(dir) {
        return Ok(Some(format!(
            "{} is relative, so the files are inside the data directory",
            describe("log_directory", log_dir)
        )));
    }
    let data = need_setting(s, "data_directory")?;
    if is_within(dir, value(data)) {
        return Ok(Some(format!(
            "{} is inside {}",
            describe("log_directory", log_dir),
            describe("data_directory", data)
        )));
    }
    Ok(None)
}

fn is_windows_absolute(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.len() > 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

fn positive(setting: &Setting) -> bool {
    value(setting).trim().parse::<i64>().is_ok_and(|n| n > 0)
}

fn log_files_outside_pgdata(s: &Snapshot, _: &Policy) -> Verdict {
    let collector = match need_setting(s, "logging_collector") {
        Ok(v) => v,
        Err(unknown) => return unknown,
    };
    if !is_on(value(collector)) {
        return Verdict::not_applicable(format!(
            "{}: PostgreSQL writes no log files of its own (see AUD-005); shipping and \
             retention of stderr/syslog output are OS matters",
            describe("logging_collector", collector)
        ));
    }
    let log_dir = match need_setting(s, "log_directory") {
        Ok(v) => v,
        Err(unknown) => return unknown,
    };
    let mut problems = Vec::new();
    let mut objects = Vec::new();
    match logs_inside_pgdata(s, log_dir) {
        Err(unknown) => return unknown,
        Ok(Some(why)) => {
            problems.push(why);
            objects.push("log_directory".to_string());
        }
        Ok(None) => {}
    }
    let rotation = need_setting(s, "log_rotation_age")
        .and_then(|age| need_setting(s, "log_rotation_size").map(|size| (age, size)));
    let (age, size) = match rotation {
        Ok(found) => found,
        Err(_) if !problems.is_empty() => {
            return Verdict::fail(problems.join("; ")).with_objects(objects)
        }
        Err(unknown) => return unknown,
    };
    let rotation_seen = format!(
        "{}; {}",
        describe("log_rotation_age", age),
        describe("log_rotation_size", size)
    );
    if !positive(age) && !positive(size) {
        problems.push(format!("{rotation_seen}: logs never rotate"));
        objects.push("log_rotation_age".to_string());
    }
    if problems.is_empty() {
        Verdict::pass(format!(
            "{}; {rotation_seen}; off-host shipping and retention per policy must be attested",
            describe("log_directory", log_dir)
        ))
    } else {
        Verdict::fail(problems.join("; ")).with_objects(objects)
    }
}

fn move_and_rotate_logs(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let rules = [
        Expect {
            name: "log_directory",
            wanted: "an absolute path outside the data directory",
            ok: |_| true,
            fix_value: SUGGESTED_LOG_DIRECTORY,
        },
        Expect {
            name: "log_rotation_age",
            wanted: "> 0",
            ok: |_| true,
            fix_value: "1d",
        },
    ];
    let mut plan = fix_settings(
        s,
        verdict,
        &rules,
        &[ApplyClass::Os, ApplyClass::Reload],
        "",
    );
    plan.note = format!(
        "first create {SUGGESTED_LOG_DIRECTORY} owned by the postgres OS user with mode 0700 \
         (or choose another absolute path outside the data directory); ship the logs off-host \
         (syslog or an agent) and keep them for the retention period in your policy"
    );
    plan
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
    vec![Case::new(
        "AUD-013",
        with_settings(&[
            ("logging_collector", "on"),
            ("log_directory", "/var/log/postgresql"),
            ("data_directory", "/var/lib/postgresql/15/main"),
            ("log_rotation_age", "1440"),
            ("log_rotation_size", "0"),
        ]),
        with_settings(&[
            ("logging_collector", "on"),
            ("log_directory", "log"),
            ("data_directory", "/var/lib/postgresql/15/main"),
            ("log_rotation_age", "1440"),
            ("log_rotation_size", "0"),
        ]),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::audit::eval;
    use crate::checks::testkit::{set, with_settings};
    use crate::model::finding::Status;

    #[test]
    fn log_directory_under_data_directory_fails() {
        let mut s = with_settings(&[
            ("logging_collector", "on"),
            ("log_directory", "/var/lib/postgresql/15/main/pg_log/"),
            ("data_directory", "/var/lib/postgresql/15/main"),
            ("log_rotation_age", "0"),
            ("log_rotation_size", "0"),
        ]);
        assert_eq!(eval(&LOG_FILES_OUTSIDE_PGDATA, &s).status, Status::Fail);
        set(&mut s, "log_directory", "/var/lib/postgresql/15/main2");
        let v = eval(&LOG_FILES_OUTSIDE_PGDATA, &s);
        assert!(v.evidence.contains("never rotate"), "{}", v.evidence);
        set(&mut s, "log_rotation_size", "10240");
        assert_eq!(eval(&LOG_FILES_OUTSIDE_PGDATA, &s).status, Status::Pass);
        set(&mut s, "logging_collector", "off");
        assert_eq!(
            eval(&LOG_FILES_OUTSIDE_PGDATA, &s).status,
            Status::NotApplicable
        );
        let s = with_settings(&[("logging_collector", "on"), ("log_directory", "/srv/log")]);
        assert_eq!(eval(&LOG_FILES_OUTSIDE_PGDATA, &s).status, Status::Unknown);
    }
}

//! GEN-006: whether the running server matches its configuration files (no
//! setting waits for a restart, no configuration line has an error).

use crate::checks::facts::{part_missing, scanner_role, settings_grant};
use crate::checks::redact::redact_command;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;
use postgres_protocol::escape::escape_identifier;

pub static SETTINGS_APPLIED: Check = Check {
    id: "GEN-006",
    section: Section::Safeguards,
    title: "The configuration files are valid and every change is applied",
    severity: Severity::Medium,
    hipaa: &["164.312(c)(1)"],
    cis: None,
    rationale: "A setting waiting for a restart, or a configuration line with an error, \
        means the running server is not what the files say, so a reviewed file proves \
        nothing. pending_restart rows and pg_file_settings errors fail. A file row that is \
        merely superseded by a later line (e.g. postgresql.auto.conf overriding \
        postgresql.conf) is normal and only counted. Medium.",
    reproduce_sql: "SELECT name, setting FROM pg_settings WHERE pending_restart;\n\
        SELECT sourcefile, sourceline, name, applied, error FROM pg_file_settings \
        WHERE error IS NOT NULL OR NOT applied;",
    evaluate: settings_applied,
    fix: Fix::Instructions {
        apply: &[ApplyClass::Os, ApplyClass::Restart],
        note: "correct the listed lines in the configuration files, run SELECT \
            pg_reload_conf() and check pg_file_settings shows no error; restart the server \
            in a maintenance window for pending_restart settings",
    },
};

fn file_settings_grant(s: &Snapshot) -> String {
    let role = escape_identifier(&scanner_role(s));
    format!(
        "GRANT SELECT ON pg_file_settings TO {role}; \
         GRANT EXECUTE ON FUNCTION pg_show_all_file_settings() TO {role}"
    )
}

fn settings_applied(s: &Snapshot, _: &Policy) -> Verdict {
    let Some(settings) = &s.settings else {
        return part_missing(s, "settings", settings_grant(s));
    };
    let mut problems: Vec<String> = settings
        .iter()
        .filter(|(_, setting)| setting.pending_restart)
        .map(|(name, _)| format!("{name} (pending restart)"))
        .collect();
    let Some(file_rows) = &s.file_setting_problems else {
        if problems.is_empty() {
            return part_missing(s, "file_setting_problems", file_settings_grant(s));
        }
        return Verdict::fail(format!(
            "{} setting(s) wait for a restart: {} (pg_file_settings not readable)",
            problems.len(),
            problems.join(", ")
        ))
        .with_objects(problems);
    };
    let superseded = file_rows.iter().filter(|r| r.error.is_none()).count();
    problems.extend(file_rows.iter().filter_map(|row| {
        let error = row.error.as_deref()?;
        Some(format!(
            "{}:{} {}: {}",
            row.sourcefile.as_deref().unwrap_or("?"),
            row.sourceline.map_or("?".to_string(), |l| l.to_string()),
            row.name.as_deref().unwrap_or("(no name)"),
            redact_command(error)
        ))
    }));
    let superseded_note = format!("{superseded} superseded configuration line(s), which is normal");
    if problems.is_empty() {
        Verdict::pass(format!(
            "no setting waits for a restart and no configuration line has an error; \
             {superseded_note}"
        ))
    } else {
        Verdict::fail(format!(
            "{} problem(s): {}; {superseded_note}",
            problems.len(),
            problems.join("; ")
        ))
        .with_objects(problems)
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{base, set, Case};

    let mut pending = base();
    set(&mut pending, "shared_buffers", "16384");
    if let Some(s) = pending
        .settings
        .as_mut()
        .and_then(|m| m.get_mut("shared_buffers"))
    {
        s.pending_restart = true;
    }

    vec![Case::new("GEN-006", base(), pending)]
}

#[cfg(test)]
mod tests {
    use super::super::eval;
    use super::*;
    use crate::checks::testkit::{base, set};
    use crate::model::finding::Status;
    use crate::model::snapshot::FileSettingProblem;

    #[test]
    fn superseded_file_lines_are_normal_but_errors_fail() {
        let mut s = base();
        s.file_setting_problems = Some(vec![FileSettingProblem {
            sourcefile: Some("/etc/postgresql/15/main/postgresql.conf".into()),
            sourceline: Some(816),
            name: Some("ssl".into()),
            applied: false,
            error: None,
        }]);
        let v = eval(&SETTINGS_APPLIED, &s);
        assert_eq!(v.status, Status::Pass, "{}", v.evidence);
        assert!(v.evidence.contains("1 superseded"));
        if let Some(rows) = s.file_setting_problems.as_mut() {
            rows.push(FileSettingProblem {
                sourcefile: Some("/d/postgresql.conf".into()),
                sourceline: Some(3),
                name: Some("archive_command".into()),
                applied: false,
                error: Some("invalid value: PGPASSWORD=hunter2 cp".into()),
            });
        }
        let v = eval(&SETTINGS_APPLIED, &s);
        assert_eq!(v.status, Status::Fail);
        assert!(!v.evidence.contains("hunter2"));
        s.file_setting_problems = None;
        assert_eq!(eval(&SETTINGS_APPLIED, &s).status, Status::Unknown);
        set(&mut s, "wal_level", "replica");
        if let Some(w) = s.settings.as_mut().and_then(|m| m.get_mut("wal_level")) {
            w.pending_restart = true;
        }
        assert_eq!(eval(&SETTINGS_APPLIED, &s).status, Status::Fail);
    }
}

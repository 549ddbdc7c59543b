//! AUD-006: logs are written as csvlog or jsonlog by a running collector, or
//! handed to syslog.

use super::system_log_destination;
use crate::checks::facts::{describe, is_on, major_version, need_setting, value};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::settings::split_list;
use crate::model::snapshot::Snapshot;
use crate::model::statement::{alter_system_set, restore_parameter};
use crate::policy::Policy;

pub static STRUCTURED_LOG_DESTINATION: Check = Check {
    id: "AUD-006",
    section: Section::Audit,
    title: "Logs are written in a machine-readable form or to syslog",
    severity: Severity::Low,
    hipaa: &["164.312(b)", "164.308(a)(1)(ii)(D)"],
    cis: Some("3.1.2"),
    rationale: "Activity review means searching logs by user, database and time. csvlog and \
        jsonlog (PostgreSQL 15+) keep fields apart; syslog hands records to the host's log \
        pipeline. csvlog and jsonlog are written only by the logging collector, so they \
        count only when it is on. Low: plain stderr logs still hold the facts, just less \
        reliably parsed.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings \
        WHERE name IN ('log_destination', 'logging_collector');",
    evaluate: structured_log_destination,
    fix: Fix::Build(add_structured_destination),
};

fn structured_log_destination(s: &Snapshot, _: &Policy) -> Verdict {
    let dest = match need_setting(s, "log_destination") {
        Ok(v) => v,
        Err(unknown) => return unknown,
    };
    let seen = describe("log_destination", dest);
    if system_log_destination(value(dest)) {
        return Verdict::pass(seen);
    }
    let structured = split_list(value(dest))
        .iter()
        .any(|d| d.eq_ignore_ascii_case("csvlog") || d.eq_ignore_ascii_case("jsonlog"));
    if !structured {
        return Verdict::fail(format!("{seen}: no csvlog, jsonlog or syslog"));
    }
    match need_setting(s, "logging_collector") {
        Ok(c) if is_on(value(c)) => {
            Verdict::pass(format!("{seen}; {}", describe("logging_collector", c)))
        }
        Ok(c) => Verdict::fail(format!(
            "{seen}, but {}: csvlog/jsonlog files are not written without the collector",
            describe("logging_collector", c)
        )),
        Err(unknown) => unknown,
    }
}

fn add_structured_destination(s: &Snapshot, _: &Verdict) -> FixPlan {
    let format = if major_version(s).is_some_and(|m| m < 15) {
        "csvlog"
    } else {
        "jsonlog"
    };
    let mut destinations = s
        .setting("log_destination")
        .map(|d| split_list(value(d)))
        .unwrap_or_default();
    if destinations.is_empty() {
        destinations.push("stderr".into());
    }
    if !destinations.iter().any(|d| d == format) {
        destinations.push(format.into());
    }
    let mut plan = FixPlan {
        apply: vec![ApplyClass::Reload],
        statements: vec![alter_system_set("log_destination", &destinations.join(","))],
        rollback: vec![restore_parameter(s, "log_destination")],
        needs: "superuser (ALTER SYSTEM)".into(),
        note: format!(
            "{format} files are written by the logging collector; to hand logs to the host's \
             log pipeline instead (no restart), set log_destination = 'syslog'"
        ),
        ..FixPlan::default()
    };
    // Without the collector no csvlog/jsonlog file is ever written: bring it
    // (a restart), or the check keeps failing after the fix.
    let collector_on = s
        .setting("logging_collector")
        .is_some_and(|c| is_on(value(c)));
    if !collector_on {
        plan.apply.push(ApplyClass::Restart);
        plan.statements
            .push(alter_system_set("logging_collector", "on"));
        plan.rollback
            .push(restore_parameter(s, "logging_collector"));
        plan.note.push_str(
            "; also turns logging_collector on (AUD-005), which takes effect after a server restart",
        );
    }
    plan
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
    vec![Case::new(
        "AUD-006",
        with_settings(&[
            ("log_destination", "stderr,jsonlog"),
            ("logging_collector", "on"),
        ]),
        with_settings(&[("log_destination", "stderr"), ("logging_collector", "on")]),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::audit::aud_005_logging_collector::LOGGING_COLLECTOR;
    use crate::checks::audit::eval;
    use crate::checks::testkit::with_settings;
    use crate::model::finding::Status;

    #[test]
    fn csvlog_without_collector_writes_nothing() {
        let s = with_settings(&[("log_destination", "csvlog"), ("logging_collector", "off")]);
        assert_eq!(eval(&STRUCTURED_LOG_DESTINATION, &s).status, Status::Fail);
        let s = with_settings(&[("log_destination", "syslog"), ("logging_collector", "off")]);
        assert_eq!(eval(&STRUCTURED_LOG_DESTINATION, &s).status, Status::Pass);
        assert_eq!(eval(&LOGGING_COLLECTOR, &s).status, Status::Pass);
        let mut old = with_settings(&[("log_destination", "stderr")]);
        old.target.server_version_num = Some(140010);
        let plan = add_structured_destination(&old, &eval(&STRUCTURED_LOG_DESTINATION, &old));
        assert_eq!(
            plan.statements,
            vec![
                "ALTER SYSTEM SET \"log_destination\" = 'stderr,csvlog'",
                "ALTER SYSTEM SET \"logging_collector\" = 'on'"
            ]
        );
        assert!(plan.apply.contains(&ApplyClass::Restart));
        let collecting =
            with_settings(&[("log_destination", "stderr"), ("logging_collector", "on")]);
        let plan = add_structured_destination(
            &collecting,
            &eval(&STRUCTURED_LOG_DESTINATION, &collecting),
        );
        assert_eq!(plan.statements.len(), 1, "the collector is already on");
        assert_eq!(plan.apply, vec![ApplyClass::Reload]);
    }
}

//! AUD-005: server log output is kept, by the logging collector or by the
//! system logger.

use super::system_log_destination;
use crate::checks::facts::{describe, is_on, need_setting, value};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static LOGGING_COLLECTOR: Check = Check {
    id: "AUD-005",
    section: Section::Audit,
    title: "Server logs are captured (logging collector or syslog)",
    severity: Severity::Medium,
    hipaa: &["164.312(b)"],
    cis: Some("3.1.3"),
    rationale: "Without the logging collector, stderr output goes wherever the service \
        manager sends it and may be lost on restart; csvlog and jsonlog are not written at \
        all. Sending logs to syslog (or the Windows event log) is an accepted alternative. \
        Medium: audit records exist only if they are kept.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings \
        WHERE name IN ('logging_collector', 'log_destination');",
    evaluate: logging_collector,
    fix: Fix::SetParameter {
        name: "logging_collector",
        value: "on",
        apply: &[ApplyClass::Restart],
        note: "set log_directory outside the data directory as well (AUD-013)",
    },
};

fn logging_collector(s: &Snapshot, _: &Policy) -> Verdict {
    let collector = match need_setting(s, "logging_collector") {
        Ok(v) => v,
        Err(unknown) => return unknown,
    };
    let seen = describe("logging_collector", collector);
    if is_on(value(collector)) {
        return Verdict::pass(seen);
    }
    match need_setting(s, "log_destination") {
        Ok(dest) if system_log_destination(value(dest)) => Verdict::pass(format!(
            "{seen}; logs go to the system logger: {}",
            describe("log_destination", dest)
        )),
        Ok(dest) => Verdict::fail(format!(
            "{seen} and {}: log output is not kept by PostgreSQL",
            describe("log_destination", dest)
        )),
        Err(_) => Verdict::fail(format!("{seen} (log_destination not visible)")),
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
    vec![Case::new(
        "AUD-005",
        with_settings(&[("logging_collector", "on")]),
        with_settings(&[("logging_collector", "off"), ("log_destination", "stderr")]),
    )]
}

//! EAR-010: whether log_file_mode keeps server log files within 0600.

use crate::checks::facts::{describe, excess_bits, need_setting, parse_mode, settle, value};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static LOG_FILE_MODE: Check = Check {
    id: "EAR-010",
    section: Section::AtRest,
    title: "Server log files are readable only by the server account",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(1)", "164.312(b)"],
    cis: Some("3.1.6"),
    rationale: "Server logs carry statements, parameters and error details that can contain \
        PHI, and they are the audit trail: log_file_mode must give no bits outside 0600 \
        (compared as a bit mask). It governs files the logging collector writes; it is \
        judged even when the collector is off, since it applies as soon as it is on. \
        Exposure limited to host accounts, so medium.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings \
        WHERE name IN ('log_file_mode', 'logging_collector');",
    evaluate: |s, p| settle(log_file_mode(s, p)),
    fix: Fix::SetParameter {
        name: "log_file_mode",
        value: "0600",
        apply: &[ApplyClass::Reload],
        note: "files already written keep their mode: chmod 0600 them on the host",
    },
};

fn log_file_mode(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let setting = need_setting(s, "log_file_mode")?;
    let seen = describe("log_file_mode", setting);
    let Some(mode) = parse_mode(value(setting)) else {
        return Err(Verdict::unknown(format!("{seen}: not a file mode"), None));
    };
    Ok(if excess_bits(mode, 0o600) == 0 {
        Verdict::pass(seen)
    } else {
        Verdict::fail(format!(
            "{seen}; bits {:04o} go beyond 0600",
            excess_bits(mode, 0o600)
        ))
    })
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};

    vec![Case::new(
        "EAR-010",
        with_settings(&[("log_file_mode", "0600")]),
        with_settings(&[("log_file_mode", "0640")]),
    )]
}

//! AUD-014: log_replication_commands records every replication command.

use crate::checks::expect::{expect_all, fix_settings, Expect};
use crate::checks::facts::is_on;
use crate::checks::{Check, Fix};
use crate::model::finding::{ApplyClass, Section, Severity};

pub static LOG_REPLICATION_COMMANDS: Check = Check {
    id: "AUD-014",
    section: Section::Audit,
    title: "Replication commands are logged",
    severity: Severity::Low,
    hipaa: &["164.312(b)"],
    cis: Some("7.2"),
    rationale: "A replication connection can copy the whole cluster, PHI included \
        (pg_basebackup, a rogue standby). log_replication_commands records each \
        replication command and who ran it. Low: replication roles are rare and \
        covered by PRIV-004, this is the trail behind them.",
    reproduce_sql: "SELECT setting, source, sourcefile FROM pg_settings WHERE name = 'log_replication_commands';",
    evaluate: |s, _| expect_all(s, REPLICATION_LOGGING_RULES),
    fix: Fix::Build(|s, v| {
        fix_settings(s, v, REPLICATION_LOGGING_RULES, &[ApplyClass::Reload], "")
    }),
};

/// Physical walsenders use the server-wide value; logical walsenders start
/// in a database as a role, so role and database settings reach them.
const REPLICATION_LOGGING_RULES: &[Expect] = &[Expect {
    name: "log_replication_commands",
    wanted: "on",
    ok: is_on,
    fix_value: "on",
}];

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
    vec![Case::new(
        "AUD-014",
        with_settings(&[("log_replication_commands", "on")]),
        with_settings(&[("log_replication_commands", "off")]),
    )]
}

//! AUD-009: log_statement records schema changes (ddl, mod or all).

use crate::checks::expect::{expect_all, fix_settings, Expect};
use crate::checks::{Check, Fix};
use crate::model::finding::{ApplyClass, Section, Severity};

pub static LOG_STATEMENT_DDL: Check = Check {
    id: "AUD-009",
    section: Section::Audit,
    title: "Schema changes are logged (log_statement)",
    severity: Severity::Medium,
    hipaa: &["164.312(b)"],
    cis: Some("3.1.25"),
    rationale: "log_statement = ddl records every CREATE, ALTER and DROP, so a dropped audit \
        trigger or a widened table is visible even where pgAudit is absent; mod adds data \
        changes. `all` also records DDL and passes here; the PHI it copies into logs is \
        AUD-004's concern. none fails. Medium: DDL is how controls get switched off.",
    reproduce_sql:
        "SELECT setting, source, sourcefile FROM pg_settings WHERE name = 'log_statement';",
    evaluate: |s, _| expect_all(s, LOG_STATEMENT_RULES),
    fix: Fix::Build(|s, v| fix_settings(s, v, LOG_STATEMENT_RULES, &[ApplyClass::Reload], "")),
};

const LOG_STATEMENT_RULES: &[Expect] = &[Expect {
    name: "log_statement",
    wanted: "ddl or mod",
    ok: |v| matches!(v.trim(), "ddl" | "mod" | "all"),
    fix_value: "ddl",
}];

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
    vec![Case::new(
        "AUD-009",
        with_settings(&[("log_statement", "ddl")]),
        with_settings(&[("log_statement", "none")]),
    )]
}

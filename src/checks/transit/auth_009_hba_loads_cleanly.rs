//! AUTH-009: whether pg_hba.conf holds lines the server could not load.

use crate::checks::facts::{listing, settle};
use crate::checks::hba;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static HBA_LOADS_CLEANLY: Check = Check {
    id: "AUTH-009",
    section: Section::Transit,
    title: "pg_hba.conf has no lines the server rejects",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "A line with an error is skipped on reload (the server keeps its old rules, so \
        the file on disk no longer says what is enforced) and stops the server from \
        starting at all. Access control that differs from what reviewers read is an access \
        control failure, though not an opening by itself: medium.",
    reproduce_sql: "SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL \
        ORDER BY line_number;",
    evaluate: |s, p| settle(hba_loads_cleanly(s, p)),
    fix: Fix::Instructions {
        apply: &[ApplyClass::ConfigFile],
        note: "correct the listed lines in pg_hba.conf; SELECT * FROM pg_hba_file_rules WHERE \
            error IS NOT NULL must return no rows before SELECT pg_reload_conf()",
    },
};

fn hba_loads_cleanly(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let rules = hba::rules(s)?;
    let broken: Vec<String> = rules
        .iter()
        .filter(|r| r.error.is_some())
        .map(hba::display)
        .collect();
    Ok(if broken.is_empty() {
        Verdict::pass(format!(
            "{} pg_hba line(s) read; none has an error",
            rules.len()
        ))
    } else {
        Verdict::fail(format!(
            "{} pg_hba line(s) with errors: {}",
            broken.len(),
            listing(&broken)
        ))
        .with_objects(broken)
    })
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::hba_case;
    use crate::checks::testkit::hba;
    let mut error_line = hba(3, "host", "all", "all", None, "md5");
    error_line.conn_type = None;
    error_line.auth_method = None;
    error_line.error = Some("invalid authentication method \"md6\"".into());
    vec![hba_case("AUTH-009", error_line)]
}

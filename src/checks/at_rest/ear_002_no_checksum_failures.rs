//! EAR-002: whether pg_stat_database records any data checksum failure.

use crate::checks::facts::{listing, missing_part, settle};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static NO_CHECKSUM_FAILURES: Check = Check {
    id: "EAR-002",
    section: Section::AtRest,
    title: "No data checksum failures have been recorded",
    severity: Severity::High,
    hipaa: &["164.312(c)(1)"],
    cis: None,
    rationale: "A checksum failure means a page of stored data changed without PostgreSQL \
        writing it: PHI is already damaged and the storage is suspect, so high. Counted in \
        pg_stat_database only when data checksums are on (PostgreSQL 12+); without them the \
        counter is empty and the check is not applicable (EAR-001 fails instead).",
    reproduce_sql: "SELECT coalesce(datname, '(shared objects)') AS datname, checksum_failures, \
        checksum_last_failure FROM pg_stat_database WHERE checksum_failures > 0;",
    evaluate: |s, p| settle(no_checksum_failures(s, p)),
    fix: Fix::Instructions {
        apply: &[ApplyClass::Manual],
        note: "find the damaged relations (pg_amcheck, server log), check the storage and \
            memory, restore damaged data from a backup taken before the first failure",
    },
};

fn no_checksum_failures(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let stats = s
        .database_stats
        .as_deref()
        .ok_or_else(|| missing_part(s, "database_stats"))?;
    let failing: Vec<String> = stats
        .iter()
        .filter(|d| d.checksum_failures.unwrap_or(0) > 0)
        .map(|d| {
            let name = if d.datname.is_empty() {
                "(shared objects)"
            } else {
                d.datname.as_str()
            };
            let last = d
                .checksum_last_failure
                .as_deref()
                .map(|t| format!(", last at {t}"))
                .unwrap_or_default();
            format!(
                "{name}: {} failure(s){last}",
                d.checksum_failures.unwrap_or(0)
            )
        })
        .collect();
    if !failing.is_empty() {
        return Ok(Verdict::fail(format!(
            "pg_stat_database records checksum failures in {} database(s): {}",
            failing.len(),
            listing(&failing)
        ))
        .with_objects(failing));
    }
    let counted = stats
        .iter()
        .filter(|d| d.checksum_failures.is_some())
        .count();
    Ok(if counted == 0 {
        Verdict::not_applicable(
            "pg_stat_database counts no checksum failures because data checksums are off \
             (EAR-001) or the server predates PostgreSQL 12",
        )
    } else {
        Verdict::pass(format!(
            "pg_stat_database: 0 checksum failures in {counted} database(s)"
        ))
    })
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{base, Case};

    let mut failures = base();
    if let Some(stats) = failures.database_stats.as_mut() {
        stats[0].checksum_failures = Some(3);
        stats[0].checksum_last_failure = Some("2026-11-20T03:00:00Z".into());
    }

    vec![Case::new("EAR-002", base(), failures)]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::run;
    use super::*;
    use crate::checks::testkit::base;
    use crate::model::finding::Status;

    #[test]
    fn checksums_off_leaves_failures_not_applicable() {
        let mut s = base();
        if let Some(stats) = s.database_stats.as_mut() {
            stats[0].checksum_failures = None;
        }
        assert_eq!(run(&NO_CHECKSUM_FAILURES, &s).status, Status::NotApplicable);
    }
}

//! BAK-008: a point-in-time restore drill succeeded within the last 12
//! months; it happens off this server, so a person attests it.

use crate::checks::facts::attestation_required;
use crate::checks::{Check, Fix};
use crate::model::finding::{ApplyClass, Section, Severity};

pub static RESTORE_DRILL: Check = Check {
    id: "BAK-008",
    section: Section::Backup,
    title: "A restore drill succeeded within the last 12 months",
    severity: Severity::Medium,
    hipaa: &["164.308(a)(7)(ii)(D)"],
    cis: None,
    rationale: "Backups that were never restored are a hope, not a plan: the testing and \
        revision specification asks for the contingency plan to be exercised. A \
        point-in-time restore to a chosen target time, done within the last 12 months, is \
        attested with its date and the time reached. Medium.",
    reproduce_sql: "-- a restore drill happens outside this server; record it as an attestation",
    evaluate: |_, _| {
        attestation_required(
            "a point-in-time restore drill succeeded within the last 12 months: give its date, \
             the target time reached and how long it took",
        )
    },
    fix: Fix::Instructions {
        apply: &[ApplyClass::Manual],
        note: "restore the latest full backup to a scratch host, replay WAL to a chosen \
            recovery_target_time, check the data, then attest the date and target reached",
    },
};

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{base, Case};
    vec![Case::attestation("BAK-008", base(), base())]
}

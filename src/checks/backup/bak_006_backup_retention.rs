//! BAK-006: backup retention covers the policy; it is set in the backup
//! tool, outside what SQL can see, so a person attests it.

use crate::checks::facts::attestation_required;
use crate::checks::{Check, Fix};
use crate::model::finding::{ApplyClass, Section, Severity};

pub static BACKUP_RETENTION: Check = Check {
    id: "BAK-006",
    section: Section::Backup,
    title: "Backup retention meets the policy",
    severity: Severity::Medium,
    hipaa: &["164.308(a)(7)(ii)(A)"],
    cis: None,
    rationale: "Retention decides how far back a restore can go, e.g. to before an \
        unnoticed corruption or a ransomware encryption. It is a setting of the backup \
        tool (repo1-retention-full and friends), outside the database. Medium.",
    reproduce_sql: "-- retention lives in the backup tool's configuration (e.g. pgbackrest.conf)",
    evaluate: |_, _| {
        attestation_required(
            "the backup tool keeps full backups and WAL for at least the policy's retention \
             (e.g. repo1-retention-full in pgbackrest.conf)",
        )
    },
    fix: Fix::Instructions {
        apply: &[ApplyClass::Os, ApplyClass::Manual],
        note: "set the retention in the backup tool's configuration to cover the policy \
            (e.g. repo1-retention-full=4 for four weekly fulls), run an expire, then attest",
    },
};

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{base, Case};
    vec![Case::attestation("BAK-006", base(), base())]
}

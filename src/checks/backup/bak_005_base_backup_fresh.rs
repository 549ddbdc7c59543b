//! BAK-005: a recent full backup exists; the backup tool's repository is
//! outside what SQL can see, so a person attests it.

use crate::checks::facts::attestation_required;
use crate::checks::{Check, Fix};
use crate::model::finding::{ApplyClass, Section, Severity};

pub static BASE_BACKUP_FRESH: Check = Check {
    id: "BAK-005",
    section: Section::Backup,
    title: "A recent full backup exists",
    severity: Severity::High,
    hipaa: &["164.308(a)(7)(ii)(A)", "164.310(d)(2)(iv)"],
    cis: Some("7.3"),
    rationale: "WAL archives are replayed on top of a base backup; without a recent one a \
        restore needs every segment since the last backup, and any gap loses everything \
        after it. Backup age lives in the backup tool's repository, which SQL cannot read, \
        so a person attests it. High.",
    reproduce_sql: "SELECT last_archived_wal, last_archived_time FROM pg_stat_archiver; \
        -- a name ending in .backup marks a base backup's history file",
    evaluate: |_, _| {
        attestation_required(
            "the newest full backup is within the policy's interval (e.g. `pgbackrest info \
             --output=json`, Barman `list-backups`, or your managed service's console): give \
             its date",
        )
    },
    fix: Fix::Instructions {
        apply: &[ApplyClass::Os, ApplyClass::Manual],
        note: "schedule full backups (e.g. weekly `pgbackrest --stanza=main --type=full backup` \
            from cron or a systemd timer), alert when one fails, then attest the latest date",
    },
};

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{base, Case};
    vec![Case::attestation("BAK-005", base(), base())]
}

//! BAK-007: backups and WAL archives are encrypted; attested, with the
//! archive target shown (redacted) as evidence.

use crate::checks::facts::value;
use crate::checks::redact::describe_redacted;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static BACKUP_ENCRYPTION: Check = Check {
    id: "BAK-007",
    section: Section::Backup,
    title: "Backups and WAL archives are encrypted",
    severity: Severity::High,
    hipaa: &["164.312(a)(2)(iv)"],
    cis: None,
    rationale: "A backup holds every PHI row; an unencrypted copy in a bucket or on tape is \
        a breach waiting for one misconfigured ACL. Encryption is set in the backup tool \
        (repo1-cipher-type=aes-256-cbc) or the storage (bucket default encryption with \
        KMS), neither visible over SQL. High.",
    reproduce_sql: "SELECT name, setting FROM pg_settings WHERE name IN ('archive_command', 'archive_library');",
    evaluate: backup_encryption,
    fix: Fix::Instructions {
        apply: &[ApplyClass::Os, ApplyClass::Manual],
        note: "enable repository encryption in the backup tool (e.g. repo1-cipher-type=aes-256-cbc \
            with a passphrase from a vault) and/or KMS encryption on the bucket, take a new \
            full backup, then attest",
    },
};

fn backup_encryption(s: &Snapshot, _: &Policy) -> Verdict {
    let target = ["archive_library", "archive_command"]
        .iter()
        .find_map(|name| {
            s.setting(name)
                .filter(|v| !matches!(value(v).trim(), "" | "(disabled)"))
                .map(|v| describe_redacted(name, v))
        });
    let mut text = String::from(
        "attestation required: backups and WAL archives are encrypted (tool cipher or KMS-encrypted storage)",
    );
    if let Some(target) = target {
        text.push_str(&format!("; archive target seen: {target}"));
    }
    Verdict::manual(text)
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{base, Case};
    vec![Case::attestation("BAK-007", base(), base())]
}

//! EAR-009: an attestation that the volumes under the data directory, WAL,
//! tablespaces and logs are encrypted (not visible over SQL).

use crate::checks::facts::value;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static VOLUMES_ENCRYPTED: Check = Check {
    id: "EAR-009",
    section: Section::AtRest,
    title: "Volumes holding data, WAL, logs and tablespaces are encrypted",
    severity: Severity::High,
    hipaa: &["164.312(a)(2)(iv)"],
    cis: None,
    rationale: "Full-volume encryption (LUKS, cloud KMS-backed disks) protects every PHI \
        byte on a lost disk, a discarded snapshot or a stolen backup of the volume; it is \
        the baseline encryption-at-rest safeguard, so high. It cannot be seen over SQL: a \
        person attests it for the volumes holding the data directory, pg_wal, tablespaces \
        and the log directory.",
    reproduce_sql:
        "SELECT name, setting FROM pg_settings WHERE name IN ('data_directory', 'log_directory'); \
        SELECT spcname, pg_tablespace_location(oid) FROM pg_tablespace;",
    evaluate: volumes_encrypted,
    fix: Fix::Instructions {
        apply: &[ApplyClass::Os, ApplyClass::Manual],
        note: "encrypt each volume (LUKS/dm-crypt, or the cloud provider's KMS-backed disk \
            encryption) and record the attestation with the key custodian",
    },
};

fn volumes_encrypted(s: &Snapshot, _: &Policy) -> Verdict {
    let places: Vec<String> = ["data_directory", "log_directory"]
        .iter()
        .filter_map(|n| s.setting(n).map(|x| format!("{n} = {}", value(x))))
        .collect();
    let places = if places.is_empty() {
        "the data directory, pg_wal, tablespaces and the log directory".to_string()
    } else {
        format!("{}, pg_wal, tablespaces", places.join(", "))
    };
    Verdict::manual(format!(
        "volume encryption cannot be seen over SQL; attest that the volumes holding {places} \
         are encrypted"
    ))
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{base, Case};

    // EAR-009 is an attestation: attested with one, manual without.
    vec![Case::attestation("EAR-009", base(), base())]
}

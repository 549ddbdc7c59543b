//! Guide section 2: encryption at rest and integrity of stored data (EAR-*).
//!
//! Each check lives in its own file (`ear_NNN_<name>.rs`: declaration,
//! evaluate fn, fix builder, fixtures and unit tests). This module keeps the
//! `CHECKS` list, the helpers several checks share, the shared test fixture
//! builders and the tests that span checks; `column_encryption` holds the
//! pgcrypto migration that EAR-004 and EAR-005 both offer. Which tables and
//! columns hold PHI comes from [`super::phi`]; evidence helpers from
//! [`super::facts`]. Must not import `db`, `ui`, `report` or another section.

mod column_encryption;
mod ear_001_data_checksums;
mod ear_002_no_checksum_failures;
mod ear_003_pgcrypto_available;
mod ear_004_phi_columns_encrypted;
mod ear_005_no_plaintext_ssns;
mod ear_006_no_literal_keys;
mod ear_007_data_directory_mode;
mod ear_008_config_file_modes;
mod ear_009_volumes_encrypted;
mod ear_010_log_file_mode;

use super::{Check, Verdict};
use crate::model::snapshot::{DatabaseFacts, Relation, Snapshot};
use ear_001_data_checksums::DATA_CHECKSUMS;
use ear_002_no_checksum_failures::NO_CHECKSUM_FAILURES;
use ear_003_pgcrypto_available::PGCRYPTO_AVAILABLE;
use ear_004_phi_columns_encrypted::PHI_COLUMNS_ENCRYPTED;
use ear_005_no_plaintext_ssns::NO_PLAINTEXT_SSNS;
use ear_006_no_literal_keys::NO_LITERAL_KEYS;
use ear_007_data_directory_mode::DATA_DIRECTORY_MODE;
use ear_008_config_file_modes::CONFIG_FILE_MODES;
use ear_009_volumes_encrypted::VOLUMES_ENCRYPTED;
use ear_010_log_file_mode::LOG_FILE_MODE;

pub static CHECKS: &[&Check] = &[
    &DATA_CHECKSUMS,
    &NO_CHECKSUM_FAILURES,
    &PGCRYPTO_AVAILABLE,
    &PHI_COLUMNS_ENCRYPTED,
    &NO_PLAINTEXT_SSNS,
    &NO_LITERAL_KEYS,
    &DATA_DIRECTORY_MODE,
    &CONFIG_FILE_MODES,
    &VOLUMES_ENCRYPTED,
    &LOG_FILE_MODE,
];

// ---------------------------------------------------------------------------
// Helpers

/// The per-database facts, or `unknown` when none were collected.
fn databases(s: &Snapshot) -> Result<&[DatabaseFacts], Verdict> {
    if s.databases.is_empty() {
        Err(Verdict::unknown(
            "no per-database facts were collected",
            None,
        ))
    } else {
        Ok(&s.databases)
    }
}

/// An object name, prefixed with its database when several were scanned.
fn in_database(s: &Snapshot, db: &DatabaseFacts, name: &str) -> String {
    if s.databases.len() > 1 {
        format!("{}: {name}", db.name)
    } else {
        name.to_string()
    }
}

/// Relations that store rows themselves (tables, partitioned parents,
/// materialized views); partitions are represented by their parent.
fn stores_rows(rel: &Relation) -> bool {
    matches!(rel.kind.as_str(), "r" | "p" | "m") && !rel.is_partition
}

/// `unknown` naming the databases whose part was not collected.
fn not_collected(part: &str, names: &[String]) -> Verdict {
    Verdict::unknown(
        format!(
            "{part} were not collected for database(s): {}",
            names.join(", ")
        ),
        None,
    )
}

// ---------------------------------------------------------------------------

#[cfg(test)]
mod fixtures {
    //! Snapshot builders for this section's cases and tests, and a shortcut
    //! that evaluates one check under the default policy.
    use crate::checks::testkit::{base, db, table};
    use crate::checks::{Check, Verdict};
    use crate::model::snapshot::*;
    use crate::policy::Policy;

    pub fn run(check: &Check, s: &Snapshot) -> Verdict {
        (check.evaluate)(s, &Policy::default())
    }

    pub fn with_tables(tables: Vec<Relation>) -> Snapshot {
        let mut s = base();
        db(&mut s).relations = Some(tables);
        s
    }

    pub fn patients(ssn_type: &str) -> Relation {
        table(
            "patients",
            "phi_owner",
            &[("id", "integer"), ("ssn", ssn_type), ("note", "text")],
        )
    }

    pub fn file(role: &str, path: &str, mode: u32, owner: &str) -> FileFact {
        FileFact {
            role: role.into(),
            path: path.into(),
            mode: Some(mode),
            owner: Some(owner.into()),
            error: None,
        }
    }

    pub fn on_host(files: Vec<FileFact>) -> Snapshot {
        let mut s = base();
        let mut all = vec![file(
            "data_directory",
            "/var/lib/postgresql/15/main",
            0o40700,
            "postgres",
        )];
        all.extend(files);
        s.host = Some(HostFacts {
            data_directory: "/var/lib/postgresql/15/main".into(),
            files: all,
        });
        s
    }
}

/// Every check's passing and failing fixtures, in the order they had when
/// the section was one file (EAR-009, the attestation, last).
#[cfg(test)]
pub fn cases() -> Vec<super::testkit::Case> {
    [
        ear_001_data_checksums::cases(),
        ear_002_no_checksum_failures::cases(),
        ear_003_pgcrypto_available::cases(),
        ear_004_phi_columns_encrypted::cases(),
        ear_005_no_plaintext_ssns::cases(),
        ear_006_no_literal_keys::cases(),
        ear_007_data_directory_mode::cases(),
        ear_008_config_file_modes::cases(),
        ear_010_log_file_mode::cases(),
        ear_009_volumes_encrypted::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::checks::testkit::{base, db, with_settings};
    use crate::model::finding::Status;

    #[test]
    fn missing_parts_are_unknown_or_manual_never_pass() {
        let mut s = base();
        s.database_stats = None;
        let d = db(&mut s);
        d.relations = None;
        d.extensions = None;
        d.functions = None;
        d.views_with_literal_keys = None;
        for check in CHECKS {
            assert_ne!(run(check, &s).status, Status::Pass, "{}", check.id);
        }
        for check in [
            &NO_CHECKSUM_FAILURES,
            &PGCRYPTO_AVAILABLE,
            &PHI_COLUMNS_ENCRYPTED,
            &NO_LITERAL_KEYS,
        ] {
            assert_eq!(run(check, &s).status, Status::Unknown, "{}", check.id);
        }
        assert_eq!(run(&CONFIG_FILE_MODES, &s).status, Status::Manual);
        assert_eq!(run(&NO_PLAINTEXT_SSNS, &s).status, Status::Manual);
        let mut none = base();
        none.databases.clear();
        assert_eq!(run(&PHI_COLUMNS_ENCRYPTED, &none).status, Status::Unknown);
    }

    #[test]
    fn modes_are_bit_masks_not_numbers() {
        // 0407 is numerically below 0640 but gives "other" read access.
        let s = on_host(vec![file(
            "hba_file",
            "/etc/pg_hba.conf",
            0o100407,
            "postgres",
        )]);
        let v = run(&CONFIG_FILE_MODES, &s);
        assert_eq!(v.status, Status::Fail);
        assert!(v.evidence.contains("0407 exceeds 0640"));
        let key = on_host(vec![file("ssl_key_file", "/k.key", 0o100500, "postgres")]);
        assert_eq!(run(&CONFIG_FILE_MODES, &key).status, Status::Fail);
        assert_eq!(
            run(&LOG_FILE_MODE, &with_settings(&[("log_file_mode", "0604")])).status,
            Status::Fail
        );
        assert_eq!(
            run(&LOG_FILE_MODE, &with_settings(&[("log_file_mode", "384")])).status,
            Status::Pass
        );
        assert_eq!(
            run(&LOG_FILE_MODE, &with_settings(&[("log_file_mode", "0400")])).status,
            Status::Pass
        );
    }
}

//! EAR-001: whether data page checksums are on (initdb's default only from
//! PostgreSQL 18).

use crate::checks::facts::{describe, major_version, need_setting, value};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static DATA_CHECKSUMS: Check = Check {
    id: "EAR-001",
    section: Section::AtRest,
    title: "Data checksums detect silent corruption",
    severity: Severity::Medium,
    hipaa: &["164.312(c)(1)", "164.312(c)(2)"],
    cis: None,
    rationale: "Without page checksums, storage faults corrupt PHI silently and the damage \
        spreads into backups before anyone notices. Integrity control, not confidentiality, \
        so medium. initdb enables them by default only from PostgreSQL 18; older clusters \
        (and clusters upgraded from them with pg_upgrade) have them only if asked for. \
        Managed services that check pages in their storage layer (Aurora, Cloud SQL) are not \
        applicable.",
    reproduce_sql: "SELECT name, setting FROM pg_settings WHERE name = 'data_checksums';",
    evaluate: data_checksums,
    fix: Fix::Instructions {
        apply: &[ApplyClass::Offline, ApplyClass::Os],
        note: "stop the cluster, run `pg_checksums --enable -D $PGDATA` as the postgres OS user \
            (PostgreSQL 12+), start it again; time grows with the data size",
    },
};

fn data_checksums(s: &Snapshot, _: &Policy) -> Verdict {
    let setting = match need_setting(s, "data_checksums") {
        Ok(v) => v,
        Err(unknown) => return unknown,
    };
    let seen = describe("data_checksums", setting);
    if value(setting) == "on" {
        Verdict::pass(seen)
    } else if major_version(s).is_some_and(|m| m >= 18) {
        Verdict::fail(format!(
            "{seen}; initdb turns checksums on by default from PostgreSQL 18, so this cluster \
             was created with --no-data-checksums or upgraded from an older major"
        ))
    } else {
        Verdict::fail(seen)
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};

    vec![Case::new(
        "EAR-001",
        with_settings(&[("data_checksums", "on")]),
        with_settings(&[("data_checksums", "off")]),
    )]
}

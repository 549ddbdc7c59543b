//! Guide section 2: encryption at rest and integrity of stored data (EAR-*).

use super::facts::{describe, need_setting, value};
use super::{Check, Fix, Verdict};
use crate::finding::{ApplyClass, Section, Severity};
use crate::policy::Policy;
use crate::snapshot::Snapshot;

pub static CHECKS: &[&Check] = &[&DATA_CHECKSUMS];

pub static DATA_CHECKSUMS: Check = Check {
    id: "EAR-001",
    section: Section::AtRest,
    title: "Data checksums detect silent corruption",
    severity: Severity::Medium,
    hipaa: &["164.312(c)(1)", "164.312(c)(2)"],
    cis: None,
    rationale: "Without page checksums, storage faults corrupt PHI silently and the damage \
        spreads into backups before anyone notices. Integrity control, not confidentiality, \
        so medium.",
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
    } else {
        Verdict::fail(seen)
    }
}

#[cfg(test)]
pub fn cases() -> Vec<super::testkit::Case> {
    use super::testkit::{with_settings, Case};
    vec![Case::new(
        "EAR-001",
        with_settings(&[("data_checksums", "on")]),
        with_settings(&[("data_checksums", "off")]),
    )]
}

//! GEN-003: whether the crash-safety and catalog-integrity settings
//! (fsync, full_page_writes, lo_compat_privileges …) have their safe values.

use crate::checks::expect::{expect_all, fix_settings, Expect};
use crate::checks::facts::{is_off, is_on};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static INTEGRITY_SETTINGS: Check = Check {
    id: "GEN-003",
    section: Section::Safeguards,
    title: "Crash-safety and catalog-integrity settings are at their safe values",
    severity: Severity::High,
    hipaa: &["164.312(c)(1)"],
    cis: Some("6.2"),
    rationale: "fsync and full_page_writes off trade crash safety for speed: a power loss \
        can corrupt PHI beyond repair. zero_damaged_pages silently destroys damaged rows; \
        allow_system_table_mods lets DDL corrupt the catalogs; ignore_system_indexes is a \
        recovery-only switch. lo_compat_privileges on switches off the privilege checks on \
        large objects, so every role reads (and writes) every large object whatever its ACL: \
        scanned documents and images stored that way are PHI open to all. Each bad one is \
        listed, and the evidence counts the large objects of each scanned database by owner \
        so that PHI kept in them is visible. High: integrity and confidentiality of stored \
        PHI.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings WHERE name IN \
        ('fsync', 'full_page_writes', 'zero_damaged_pages', 'allow_system_table_mods', \
        'ignore_system_indexes', 'lo_compat_privileges');\nSELECT pg_get_userbyid(lomowner), \
        count(*) FROM pg_largeobject_metadata GROUP BY 1;",
    evaluate: integrity_settings,
    fix: Fix::Build(fix_integrity_settings),
};

const INTEGRITY_RULES: &[Expect] = &[
    Expect {
        name: "fsync",
        wanted: "on",
        ok: is_on,
        fix_value: "on",
    },
    Expect {
        name: "full_page_writes",
        wanted: "on",
        ok: is_on,
        fix_value: "on",
    },
    Expect {
        name: "zero_damaged_pages",
        wanted: "off",
        ok: is_off,
        fix_value: "off",
    },
    Expect {
        name: "allow_system_table_mods",
        wanted: "off",
        ok: is_off,
        fix_value: "off",
    },
    Expect {
        name: "ignore_system_indexes",
        wanted: "off",
        ok: is_off,
        fix_value: "off",
    },
    Expect {
        name: "lo_compat_privileges",
        wanted: "off",
        ok: is_off,
        fix_value: "off",
    },
];

fn integrity_settings(s: &Snapshot, _: &Policy) -> Verdict {
    let mut verdict = expect_all(s, INTEGRITY_RULES);
    verdict.evidence.push_str(&large_objects_note(s));
    verdict
}

/// `; large objects: clinic: 3 (app 2, postgres 1); archive: none`: the
/// count by owner in each scanned database, so that PHI kept in large
/// objects (which lo_compat_privileges opens to everyone) is visible.
fn large_objects_note(s: &Snapshot) -> String {
    let per_database: Vec<String> = s
        .databases
        .iter()
        .map(|db| match db.large_objects.as_deref() {
            None => format!("{}: not collected", db.name),
            Some([]) => format!("{}: none", db.name),
            Some(owners) => {
                let total: i64 = owners.iter().map(|o| o.count).sum();
                let by_owner: Vec<String> = owners
                    .iter()
                    .map(|o| format!("{} {}", o.owner, o.count))
                    .collect();
                format!("{}: {total} ({})", db.name, by_owner.join(", "))
            }
        })
        .collect();
    if per_database.is_empty() {
        String::new()
    } else {
        format!("; large objects: {}", per_database.join("; "))
    }
}

fn fix_integrity_settings(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    fix_settings(
        s,
        verdict,
        INTEGRITY_RULES,
        &[ApplyClass::Reload],
        "ignore_system_indexes applies to new sessions only; if fsync was off, check the \
         cluster for corruption (amcheck, pg_checksums) after the next crash-free restart",
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};

    vec![Case::new(
        "GEN-003",
        with_settings(&[
            ("fsync", "on"),
            ("full_page_writes", "on"),
            ("zero_damaged_pages", "off"),
            ("allow_system_table_mods", "off"),
            ("ignore_system_indexes", "off"),
            ("lo_compat_privileges", "off"),
        ]),
        with_settings(&[
            ("fsync", "off"),
            ("full_page_writes", "on"),
            ("zero_damaged_pages", "off"),
            ("allow_system_table_mods", "off"),
            ("ignore_system_indexes", "off"),
            ("lo_compat_privileges", "off"),
        ]),
    )]
}

#[cfg(test)]
mod tests {
    use super::super::eval;
    use super::*;
    use crate::checks::testkit::with_settings;
    use crate::model::finding::Status;

    #[test]
    fn integrity_lists_every_bad_setting() {
        let s = with_settings(&[
            ("fsync", "off"),
            ("full_page_writes", "off"),
            ("zero_damaged_pages", "on"),
            ("allow_system_table_mods", "off"),
        ]);
        let v = eval(&INTEGRITY_SETTINGS, &s);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(
            v.objects,
            vec!["fsync", "full_page_writes", "zero_damaged_pages"]
        );
        let s = with_settings(&[
            ("fsync", "on"),
            ("full_page_writes", "on"),
            ("zero_damaged_pages", "off"),
            ("allow_system_table_mods", "off"),
        ]);
        assert_eq!(eval(&INTEGRITY_SETTINGS, &s).status, Status::Unknown);
    }
}

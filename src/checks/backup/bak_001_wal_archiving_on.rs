//! BAK-001: WAL archiving is on (archive_mode on or always, wal_level above
//! minimal).

use super::archiving_mode_on;
use crate::checks::expect::{expect_all, fix_settings, Expect};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static WAL_ARCHIVING_ON: Check = Check {
    id: "BAK-001",
    section: Section::Backup,
    title: "WAL archiving is switched on",
    severity: Severity::High,
    hipaa: &["164.308(a)(7)(ii)(A)"],
    cis: Some("7.4"),
    rationale: "Point-in-time recovery replays archived WAL on top of a base backup; without \
        archiving, a restore can only return to the moment of the last backup and every \
        change since is lost. archive_mode must be on (or always, on standbys) and \
        wal_level above minimal. High: the data backup plan's recoverability rests on it.",
    reproduce_sql: "SELECT name, setting, source, sourcefile, pending_restart FROM pg_settings \
        WHERE name IN ('wal_level', 'archive_mode');",
    evaluate: wal_archiving_on,
    fix: Fix::Build(switch_archiving_on),
};

const ARCHIVING_RULES: &[Expect] = &[
    Expect {
        name: "wal_level",
        wanted: "replica or logical",
        ok: |v| !v.trim().eq_ignore_ascii_case("minimal"),
        fix_value: "replica",
    },
    Expect {
        name: "archive_mode",
        wanted: "on or always",
        ok: archiving_mode_on,
        fix_value: "on",
    },
];

fn wal_archiving_on(s: &Snapshot, _: &Policy) -> Verdict {
    expect_all(s, ARCHIVING_RULES)
}

fn switch_archiving_on(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    fix_settings(
        s,
        verdict,
        ARCHIVING_RULES,
        &[ApplyClass::Restart],
        "set archive_command or archive_library first (BAK-002): with archiving on and \
         nothing to archive with, WAL piles up in pg_wal until the disk fills",
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
    vec![Case::new(
        "BAK-001",
        with_settings(&[("wal_level", "replica"), ("archive_mode", "on")]),
        with_settings(&[("wal_level", "replica"), ("archive_mode", "off")]),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::backup::eval;
    use crate::checks::testkit::with_settings;

    #[test]
    fn archiving_fix_restores_what_was_seen() {
        let s = with_settings(&[("wal_level", "minimal"), ("archive_mode", "off")]);
        let v = eval(&WAL_ARCHIVING_ON, &s);
        assert_eq!(v.objects, vec!["archive_mode", "wal_level"]);
        let plan = WAL_ARCHIVING_ON.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec![
                "ALTER SYSTEM SET \"wal_level\" = 'replica'",
                "ALTER SYSTEM SET \"archive_mode\" = 'on'"
            ]
        );
        assert_eq!(
            plan.rollback,
            vec![
                "ALTER SYSTEM RESET \"wal_level\"",
                "ALTER SYSTEM RESET \"archive_mode\""
            ]
        );
        assert!(plan.apply.contains(&ApplyClass::Restart));
    }
}

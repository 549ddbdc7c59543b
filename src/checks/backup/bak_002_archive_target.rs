//! BAK-002: an archive_library or an archive_command that really keeps the
//! WAL (not empty, disabled or a no-op that reports success).

use super::discards_wal;
use crate::checks::facts::{major_version, need_setting, value};
use crate::checks::redact::describe_redacted;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static ARCHIVE_TARGET: Check = Check {
    id: "BAK-002",
    section: Section::Backup,
    title: "WAL is archived somewhere real",
    severity: Severity::High,
    hipaa: &["164.308(a)(7)(ii)(A)"],
    cis: Some("7.4"),
    rationale: "archive_mode = on does nothing useful with an empty archive_command, and a \
        command that discards WAL (`true`, `/bin/true`, `exit 0`, `:`, `echo`) reports \
        success to pg_stat_archiver while keeping nothing: the classic false pass. \
        archive_library (PostgreSQL 15+) counts when set. With archive_mode off, \
        pg_settings shows `(disabled)` instead of the command, which fails here too. \
        Credentials in the command are redacted from evidence. High.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings \
        WHERE name IN ('archive_mode', 'archive_command', 'archive_library');",
    evaluate: archive_target,
    fix: Fix::Build(archive_with_a_tool),
};

fn archive_target(s: &Snapshot, _: &Policy) -> Verdict {
    let library = s
        .setting("archive_library")
        .filter(|l| !value(l).trim().is_empty());
    if let Some(library) = library {
        return Verdict::pass(describe_redacted("archive_library", library));
    }
    let command = match need_setting(s, "archive_command") {
        Ok(v) => v,
        Err(unknown) => return unknown,
    };
    let seen = describe_redacted("archive_command", command);
    let text = value(command).trim();
    if text.is_empty() {
        Verdict::fail(format!("{seen}: nothing is archived"))
    } else if text == "(disabled)" {
        Verdict::fail(format!(
            "{seen}: archive_mode is off, so no archive command is active (BAK-001)"
        ))
    } else if discards_wal(text) {
        Verdict::fail(format!(
            "{seen}: the command reports success without keeping the WAL file"
        ))
    } else {
        Verdict::pass(seen)
    }
}

fn archive_with_a_tool(s: &Snapshot, _: &Verdict) -> FixPlan {
    let example = if major_version(s).is_some_and(|m| m >= 15) {
        "archive_command = 'pgbackrest --stanza=main archive-push %p' (or archive_library \
         for a module-based tool)"
    } else {
        "archive_command = 'pgbackrest --stanza=main archive-push %p'"
    };
    FixPlan {
        apply: vec![ApplyClass::Os, ApplyClass::Reload],
        needs: "superuser (ALTER SYSTEM) and access to the backup repository".into(),
        note: format!(
            "configure a backup tool with an encrypted, off-host repository first (pgBackRest, \
             Barman, WAL-G), then set {example} with ALTER SYSTEM and reload; keep credentials \
             in the tool's configuration file, not in the command"
        ),
        ..FixPlan::default()
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
    vec![Case::new(
        "BAK-002",
        with_settings(&[(
            "archive_command",
            "pgbackrest --stanza=main archive-push %p",
        )]),
        with_settings(&[("archive_command", "/bin/true")]),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::backup::bak_007_backup_encryption::BACKUP_ENCRYPTION;
    use crate::checks::backup::eval;
    use crate::checks::testkit::{base, with_settings};
    use crate::model::finding::Status;

    #[test]
    fn evidence_never_shows_the_secret() {
        let s = with_settings(&[(
            "archive_command",
            "PGPASSWORD=hunter2 pg_receivewal --password hunter2",
        )]);
        let v = eval(&ARCHIVE_TARGET, &s);
        assert_eq!(v.status, Status::Pass);
        assert!(!v.evidence.contains("hunter2"), "{}", v.evidence);
        let manual = eval(&BACKUP_ENCRYPTION, &s);
        assert!(!manual.evidence.contains("hunter2"));
        assert!(manual.evidence.contains("archive target seen"));
    }

    #[test]
    fn discarding_and_disabled_commands_fail() {
        for cmd in [
            "true",
            "/bin/true",
            "/usr/bin/true",
            "exit 0",
            ":",
            "echo %p",
            "true;",
            "  exit  ",
        ] {
            let s = with_settings(&[("archive_command", cmd)]);
            assert_eq!(eval(&ARCHIVE_TARGET, &s).status, Status::Fail, "{cmd}");
        }
        for cmd in ["", "(disabled)"] {
            let s = with_settings(&[("archive_command", cmd)]);
            assert_eq!(eval(&ARCHIVE_TARGET, &s).status, Status::Fail, "{cmd:?}");
        }
        for cmd in [
            "test ! -f /arch/%f && cp %p /arch/%f",
            "exit 1",
            "pgbackrest --stanza=main archive-push %p > /dev/null",
        ] {
            let s = with_settings(&[("archive_command", cmd)]);
            assert_eq!(eval(&ARCHIVE_TARGET, &s).status, Status::Pass, "{cmd}");
        }
        let s = with_settings(&[
            ("archive_command", ""),
            ("archive_library", "basic_archive"),
        ]);
        assert_eq!(eval(&ARCHIVE_TARGET, &s).status, Status::Pass);
        let mut hidden = base();
        hidden.settings = None;
        assert_eq!(eval(&ARCHIVE_TARGET, &hidden).status, Status::Unknown);
    }
}

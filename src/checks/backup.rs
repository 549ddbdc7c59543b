//! Guide section 6: backups and point-in-time recovery (BAK-*).
//!
//! Owns the archiving checks; evidence that quotes a shell command goes
//! through [`super::redact`]. Imports the
//! snapshot, the policy, `facts` and `expect`; never `db`, `ui` or another
//! section file.

use super::expect::{expect_all, fix_settings, Expect};
use super::facts::{
    attestation_required, describe, major_version, need_setting, parse_instant, part_missing,
    scanner_role, value,
};
use super::redact::describe_redacted;
use super::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::{Setting, Snapshot};
use crate::policy::Policy;
use postgres_protocol::escape::escape_identifier;

pub static CHECKS: &[&Check] = &[
    &WAL_ARCHIVING_ON,
    &ARCHIVE_TARGET,
    &ARCHIVER_HEALTHY,
    &ARCHIVE_TIMEOUT,
    &BASE_BACKUP_FRESH,
    &BACKUP_RETENTION,
    &BACKUP_ENCRYPTION,
    &RESTORE_DRILL,
];

/// Without `rpo_seconds` in the policy, archive_timeout must be at most this.
pub const DEFAULT_RPO_SECONDS: u64 = 300;

/// Without `rpo_seconds` in the policy, the newest archived segment may be
/// this old (plus archive_timeout) before BAK-003 calls archiving stalled.
/// Longer than the RPO default because an idle server writes no WAL and so
/// archives nothing, which the snapshot cannot tell apart from a stall.
pub const DEFAULT_ARCHIVE_FRESHNESS_SECONDS: u64 = 3600;

// ---------------------------------------------------------------------------
// BAK-001

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

fn archiving_mode_on(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "on" | "always")
}

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

// ---------------------------------------------------------------------------
// BAK-002

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

/// Whether an archive_command returns success without keeping the file.
fn discards_wal(command: &str) -> bool {
    let segments: Vec<&str> = command
        .split([';', '|', '&'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect();
    !segments.is_empty() && segments.iter().all(|part| is_no_op(part))
}

fn is_no_op(segment: &str) -> bool {
    let mut words = segment.split_whitespace();
    let program = words.next().unwrap_or("");
    let program = program.rsplit('/').next().unwrap_or(program);
    let args: Vec<&str> = words.collect();
    match program {
        "true" | ":" | "echo" | "rem" => true,
        "exit" => args.is_empty() || args == ["0"],
        _ => false,
    }
}

/// The archive_command when it is what archives (no archive_library) and
/// it discards WAL while reporting success.
fn discarding_command(s: &Snapshot) -> Option<&Setting> {
    let library_set = s
        .setting("archive_library")
        .is_some_and(|l| !value(l).trim().is_empty());
    let command = s.setting("archive_command")?;
    (!library_set && discards_wal(value(command).trim())).then_some(command)
}

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

// ---------------------------------------------------------------------------
// BAK-003

pub static ARCHIVER_HEALTHY: Check = Check {
    id: "BAK-003",
    section: Section::Backup,
    title: "The archiver is succeeding and current",
    severity: Severity::High,
    hipaa: &["164.308(a)(7)(ii)(A)"],
    cis: Some("7.4"),
    rationale: "A configured archive can still fail every attempt (full disk, expired \
        credentials). pg_stat_archiver must show a last success later than the last failure, \
        and that success must be recent: within the policy's rpo_seconds plus \
        archive_timeout, or, without a policy RPO, within one hour plus archive_timeout. An \
        idle server that writes no WAL archives nothing and can trip this; accept that as \
        a documented risk. archive_mode off fails, and so does an archive_command that \
        discards WAL (`true`, `exit 0` …), whose successes pg_stat_archiver counts all the \
        same. High: a silent archive failure is found at restore time.",
    reproduce_sql: "SELECT archived_count, last_archived_wal, last_archived_time, failed_count, \
        last_failed_wal, last_failed_time, stats_reset FROM pg_stat_archiver;",
    evaluate: archiver_healthy,
    fix: Fix::Instructions {
        apply: &[ApplyClass::Os],
        note: "read the server log for the archive_command's error, repair the target \
            (space, credentials, network), then watch failed_count stop growing",
    },
};

fn monitor_grant(s: &Snapshot) -> String {
    format!(
        "GRANT pg_monitor TO {}",
        escape_identifier(&scanner_role(s))
    )
}

/// archive_timeout in seconds, 0 when off or not visible.
fn archive_timeout_seconds(s: &Snapshot) -> u64 {
    s.setting("archive_timeout")
        .and_then(|t| value(t).trim().parse::<u64>().ok())
        .unwrap_or(0)
}

fn archiver_healthy(s: &Snapshot, policy: &Policy) -> Verdict {
    let mode = match need_setting(s, "archive_mode") {
        Ok(v) => v,
        Err(unknown) => return unknown,
    };
    if !archiving_mode_on(value(mode)) {
        return Verdict::fail(format!(
            "{}: no WAL is archived",
            describe("archive_mode", mode)
        ));
    }
    if let Some(command) = discarding_command(s) {
        return Verdict::fail(format!(
            "{}: pg_stat_archiver counts every segment as archived, but the command keeps \
             nothing (BAK-002)",
            describe_redacted("archive_command", command)
        ));
    }
    let Some(archiver) = &s.archiver else {
        return part_missing(s, "archiver", monitor_grant(s));
    };
    let failures = format!("{} failure(s)", archiver.failed_count);
    let Some(last_ok_text) = archiver.last_archived_time.as_deref() else {
        return Verdict::fail(format!(
            "pg_stat_archiver: no WAL segment archived since statistics were reset ({failures})"
        ));
    };
    let (Some(last_ok), Some(now)) = (parse_instant(last_ok_text), parse_instant(&s.collected_at))
    else {
        return Verdict::unknown(
            format!(
                "cannot read the times: last archived {last_ok_text:?}, scan time {:?}",
                s.collected_at
            ),
            None,
        );
    };
    let segment = archiver.last_archived_wal.as_deref().unwrap_or("?");
    let seen = format!("last archived {segment} at {last_ok_text}; {failures}");
    if let Some(failed_text) = archiver.last_failed_time.as_deref() {
        if parse_instant(failed_text).is_some_and(|failed| failed > last_ok) {
            return Verdict::fail(format!(
                "{seen}; the latest attempt failed at {failed_text} ({}): archiving is failing",
                archiver.last_failed_wal.as_deref().unwrap_or("?")
            ));
        }
    }
    let (limit, basis) = freshness_limit(s, policy);
    let age = (now - last_ok).whole_seconds().max(0).unsigned_abs();
    if age <= limit {
        Verdict::pass(format!(
            "{seen}; {} old, within {} ({basis})",
            human_duration(age),
            human_duration(limit)
        ))
    } else {
        Verdict::fail(format!(
            "{seen}; {} old, more than {} ({basis})",
            human_duration(age),
            human_duration(limit)
        ))
    }
}

/// How old the newest archived segment may be, and where that came from.
fn freshness_limit(s: &Snapshot, policy: &Policy) -> (u64, String) {
    let timeout = archive_timeout_seconds(s);
    let (base, source) = match policy.rpo_seconds {
        Some(rpo) => (rpo, "policy RPO"),
        None => (
            DEFAULT_ARCHIVE_FRESHNESS_SECONDS,
            "default without a policy RPO",
        ),
    };
    (
        base.saturating_add(timeout),
        format!(
            "{} {source} + archive_timeout {timeout} s",
            human_duration(base)
        ),
    )
}

/// `2 h 5 min`, `4 min 10 s`, `9 s`.
fn human_duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, _) => format!("{m} min {s} s"),
        _ => format!("{h} h {m} min"),
    }
}

// ---------------------------------------------------------------------------
// BAK-004

pub static ARCHIVE_TIMEOUT: Check = Check {
    id: "BAK-004",
    section: Section::Backup,
    title: "archive_timeout bounds data loss to the RPO",
    severity: Severity::Medium,
    hipaa: &["164.308(a)(7)(ii)(B)"],
    cis: None,
    rationale: "A WAL segment is archived when it fills; on a quiet server that can take \
        hours, and a crash loses everything in the unfilled segment. archive_timeout forces \
        a switch, so it must be above 0 and at most the recovery point objective: the \
        policy's rpo_seconds, or 5 minutes without one. Medium: it bounds loss on top of \
        working archiving (BAK-001..003).",
    reproduce_sql:
        "SELECT setting, unit, source, sourcefile FROM pg_settings WHERE name = 'archive_timeout';",
    evaluate: archive_timeout,
    fix: Fix::SetParameter {
        name: "archive_timeout",
        value: "5min",
        apply: &[ApplyClass::Reload],
        note: "use the policy's RPO instead when it is shorter than 5 minutes; each forced \
            switch archives a full 16 MB segment",
    },
};

fn archive_timeout(s: &Snapshot, policy: &Policy) -> Verdict {
    let setting = match need_setting(s, "archive_timeout") {
        Ok(v) => v,
        Err(unknown) => return unknown,
    };
    let seen = describe("archive_timeout", setting);
    let (rpo, basis) = match policy.rpo_seconds {
        Some(rpo) => (rpo, "policy RPO"),
        None => (DEFAULT_RPO_SECONDS, "default RPO, no policy"),
    };
    match value(setting).trim().parse::<u64>() {
        Ok(0) => Verdict::fail(format!(
            "{seen}: segments are archived only when full, so loss is unbounded"
        )),
        Ok(seconds) if seconds <= rpo => Verdict::pass(format!("{seen}; ≤ {rpo} s ({basis})")),
        Ok(_) => Verdict::fail(format!("{seen}; more than {rpo} s ({basis})")),
        Err(_) => Verdict::unknown(format!("{seen}: not a number of seconds"), None),
    }
}

// ---------------------------------------------------------------------------
// BAK-005 .. BAK-008: outside what SQL can see

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

pub static RESTORE_DRILL: Check = Check {
    id: "BAK-008",
    section: Section::Backup,
    title: "A restore drill succeeded within the last 12 months",
    severity: Severity::Medium,
    hipaa: &["164.308(a)(7)(ii)(D)"],
    cis: None,
    rationale: "Backups that were never restored are a hope, not a plan: the testing and \
        revision specification asks for the contingency plan to be exercised. A \
        point-in-time restore to a chosen target time, done within the last 12 months, is \
        attested with its date and the time reached. Medium.",
    reproduce_sql: "-- a restore drill happens outside this server; record it as an attestation",
    evaluate: |_, _| {
        attestation_required(
            "a point-in-time restore drill succeeded within the last 12 months: give its date, \
             the target time reached and how long it took",
        )
    },
    fix: Fix::Instructions {
        apply: &[ApplyClass::Manual],
        note: "restore the latest full backup to a scratch host, replay WAL to a chosen \
            recovery_target_time, check the data, then attest the date and target reached",
    },
};

// ---------------------------------------------------------------------------
// Tests

#[cfg(test)]
pub fn cases() -> Vec<super::testkit::Case> {
    use super::testkit::{base, with_settings, Case};
    use crate::model::snapshot::Archiver;

    let healthy = |archiver: Archiver| {
        let mut s = with_settings(&[("archive_mode", "on"), ("archive_timeout", "300")]);
        s.archiver = Some(archiver);
        s
    };
    let recent = Archiver {
        archived_count: 42,
        last_archived_wal: Some("00000001000000000000002A".into()),
        last_archived_time: Some("2026-11-27T09:58:00Z".into()),
        ..Archiver::default()
    };
    let failing = Archiver {
        failed_count: 7,
        last_failed_wal: Some("00000001000000000000002B".into()),
        last_failed_time: Some("2026-11-27T09:59:00Z".into()),
        ..recent.clone()
    };
    let mut cases = vec![
        Case::new(
            "BAK-001",
            with_settings(&[("wal_level", "replica"), ("archive_mode", "on")]),
            with_settings(&[("wal_level", "replica"), ("archive_mode", "off")]),
        ),
        Case::new(
            "BAK-002",
            with_settings(&[(
                "archive_command",
                "pgbackrest --stanza=main archive-push %p",
            )]),
            with_settings(&[("archive_command", "/bin/true")]),
        ),
        Case::new("BAK-003", healthy(recent), healthy(failing)),
        Case::new(
            "BAK-004",
            with_settings(&[("archive_timeout", "300")]),
            with_settings(&[("archive_timeout", "0")]),
        ),
    ];
    cases.extend(
        ["BAK-005", "BAK-006", "BAK-007", "BAK-008"]
            .into_iter()
            .map(|id| Case::attestation(id, base(), base())),
    );
    cases
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{base, set, with_settings};
    use super::*;
    use crate::model::finding::Status;
    use crate::model::snapshot::Archiver;

    fn eval(check: &Check, s: &Snapshot) -> Verdict {
        (check.evaluate)(s, &Policy::default())
    }

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

    fn archiving(archiver: Option<Archiver>) -> Snapshot {
        let mut s = with_settings(&[("archive_mode", "on"), ("archive_timeout", "0")]);
        s.archiver = archiver;
        s
    }

    #[test]
    fn archiver_needs_a_recent_success_after_the_last_failure() {
        let s = archiving(None);
        let v = eval(&ARCHIVER_HEALTHY, &s);
        assert_eq!(v.status, Status::Unknown);
        assert!(v.grant.unwrap_or_default().contains("pg_monitor"));
        let s = archiving(Some(Archiver::default()));
        assert_eq!(eval(&ARCHIVER_HEALTHY, &s).status, Status::Fail);
        let ok = Archiver {
            last_archived_wal: Some("000000010000000000000003".into()),
            last_archived_time: Some("2026-11-27 09:30:00+00".into()),
            last_failed_time: Some("2026-11-27 09:00:00+00".into()),
            ..Archiver::default()
        };
        let v = eval(&ARCHIVER_HEALTHY, &archiving(Some(ok.clone())));
        assert_eq!(v.status, Status::Pass, "{}", v.evidence);
        assert!(v.evidence.contains("30 min 0 s old"));
        let stale = Archiver {
            last_archived_time: Some("2026-11-27T07:00:00Z".into()),
            last_failed_time: None,
            ..ok.clone()
        };
        let v = eval(&ARCHIVER_HEALTHY, &archiving(Some(stale.clone())));
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.evidence.contains("3 h 0 min old, more than 1 h 0 min"),
            "{}",
            v.evidence
        );
        let policy = Policy {
            rpo_seconds: Some(4 * 3600),
            ..Policy::default()
        };
        assert_eq!(
            (ARCHIVER_HEALTHY.evaluate)(&archiving(Some(stale)), &policy).status,
            Status::Pass
        );
        let mut off = archiving(Some(ok));
        set(&mut off, "archive_mode", "off");
        assert_eq!(eval(&ARCHIVER_HEALTHY, &off).status, Status::Fail);
    }

    #[test]
    fn archived_successes_of_a_discarding_command_are_no_health() {
        let mut s = archiving(Some(Archiver {
            archived_count: 12,
            last_archived_wal: Some("000000010000000000000003".into()),
            last_archived_time: Some("2026-11-27T09:59:00Z".into()),
            ..Archiver::default()
        }));
        set(&mut s, "archive_command", "/bin/true");
        let v = eval(&ARCHIVER_HEALTHY, &s);
        assert_eq!(v.status, Status::Fail, "{}", v.evidence);
        assert!(v.evidence.contains("keeps nothing"));
        set(&mut s, "archive_library", "basic_archive");
        assert_eq!(eval(&ARCHIVER_HEALTHY, &s).status, Status::Pass);
    }

    #[test]
    fn archive_timeout_against_default_and_policy_rpo() {
        let s = with_settings(&[("archive_timeout", "600")]);
        assert_eq!(eval(&ARCHIVE_TIMEOUT, &s).status, Status::Fail);
        let policy = Policy {
            rpo_seconds: Some(900),
            ..Policy::default()
        };
        assert_eq!((ARCHIVE_TIMEOUT.evaluate)(&s, &policy).status, Status::Pass);
    }

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

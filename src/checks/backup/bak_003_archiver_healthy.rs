//! BAK-003: pg_stat_archiver shows a recent success after the last failure,
//! from a command that keeps what it archives.

use super::{archiving_mode_on, discards_wal};
use crate::checks::facts::{
    describe, need_setting, parse_instant, part_missing, scanner_role, value,
};
use crate::checks::redact::describe_redacted;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::{Setting, Snapshot};
use crate::policy::Policy;
use postgres_protocol::escape::escape_identifier;

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

/// Without `rpo_seconds` in the policy, the newest archived segment may be
/// this old (plus archive_timeout) before BAK-003 calls archiving stalled.
/// Longer than the RPO default because an idle server writes no WAL and so
/// archives nothing, which the snapshot cannot tell apart from a stall.
const DEFAULT_ARCHIVE_FRESHNESS_SECONDS: u64 = 3600;

/// The archive_command when it is what archives (no archive_library) and
/// it discards WAL while reporting success.
fn discarding_command(s: &Snapshot) -> Option<&Setting> {
    let library_set = s
        .setting("archive_library")
        .is_some_and(|l| !value(l).trim().is_empty());
    let command = s.setting("archive_command")?;
    (!library_set && discards_wal(value(command).trim())).then_some(command)
}

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

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
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
    vec![Case::new("BAK-003", healthy(recent), healthy(failing))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::backup::eval;
    use crate::checks::testkit::{set, with_settings};
    use crate::model::finding::Status;
    use crate::model::snapshot::Archiver;

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
}

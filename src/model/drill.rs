//! A restore drill's record (issue 20): what was restored from, when, by
//! whom, how long it took to a queryable server (RTO), how much was lost
//! (the achieved RPO), and each check with its outcome.
//!
//! The drill itself runs in `drill/`; this is its result as plain data, so
//! that the evidence store keeps it, the report prints it, and a scan can
//! carry it as a proof for BAK-008 ([`DrillRecord::proofs`]) while checks
//! stay pure. Row counts only: a drill never reads a row's values.
//!
//! Pure data; imports nothing above `model`.

use super::proof::{CheckProof, Effect, Outcome, Probe, Proof};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The `schema` field of a drill record.
pub const DRILL_SCHEMA: &str = "pgsafeguard.drill/1";

/// A drill older than this no longer stands in for BAK-008's attestation.
pub const DRILL_VALID_DAYS: i64 = 365;

/// The check a drill is evidence for.
pub const DRILL_CHECK: &str = "BAK-008";

/// Where the restored copy came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DrillSource {
    /// A `pg_basebackup -Fp` folder (or any copy with a backup_label).
    BaseBackupDir { path: String, wal_archive: String },
    /// A `pg_basebackup -Ft` tar (base.tar, optionally compressed).
    BaseBackupTar { path: String, wal_archive: String },
    /// `pgbackrest restore` of a stanza.
    Pgbackrest { stanza: String },
}

impl DrillSource {
    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            DrillSource::BaseBackupDir { path, wal_archive } => {
                format!("base backup folder {path}, WAL archive {wal_archive}")
            }
            DrillSource::BaseBackupTar { path, wal_archive } => {
                format!("base backup tar {path}, WAL archive {wal_archive}")
            }
            DrillSource::Pgbackrest { stanza } => format!("pgBackRest stanza {stanza}"),
        }
    }
}

/// How far recovery was asked to go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DrillTarget {
    /// Everything in the archive.
    Latest,
    /// Up to this time (RFC 3339, UTC).
    Time { at: String },
}

impl DrillTarget {
    pub fn describe(&self) -> String {
        match self {
            DrillTarget::Latest => String::from("latest (the end of the archive)"),
            DrillTarget::Time { at } => format!("time {at}"),
        }
    }
}

/// What the backup label and pg_control of the copy say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupFacts {
    /// `START WAL LOCATION` and its file.
    pub start_lsn: String,
    pub start_wal_file: String,
    pub start_timeline: u32,
    /// `START TIME` as written in the label.
    pub start_time: String,
    /// `LABEL` (hostile text: escape before showing).
    pub label: String,
    pub system_identifier: String,
    pub major: u32,
    pub data_checksums: bool,
}

/// The WAL the drill walked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalRange {
    pub first: String,
    pub last: String,
    pub segments: u64,
    /// Timelines crossed, in order.
    pub timelines: Vec<u32>,
    /// The start of the archive's last WAL record (what `--latest` must replay).
    pub last_record_lsn: String,
    /// When the newest segment was archived (its file time, RFC 3339).
    pub newest_archived_at: String,
}

/// Wall time of each phase, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillTimings {
    /// Copying or extracting the backup (or `pgbackrest restore`).
    pub restore_ms: u64,
    /// Walking the archive and `pg_waldump`.
    pub archive_walk_ms: u64,
    /// From starting postgres to a promoted, queryable server.
    pub recovery_ms: u64,
    /// Queries, log scan, shutdown.
    pub checks_ms: u64,
    /// `pg_checksums --check` on the stopped copy, when checksums are on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksums_ms: Option<u64>,
    /// Removing the throwaway copy.
    pub cleanup_ms: u64,
    /// Start of the drill to a queryable server: this drill's RTO.
    pub rto_ms: u64,
    /// The drill's own work: everything except restore, recovery and pg_checksums.
    pub overhead_ms: u64,
}

/// The achieved RPO: the last replayed transaction against a reference time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpoFigure {
    /// `pg_last_xact_replay_timestamp()` (RFC 3339).
    pub last_replayed_xact: String,
    /// The target time, or when the newest WAL was archived.
    pub reference: String,
    /// `target` or `newest archived WAL`.
    pub reference_kind: String,
    /// Reference minus last transaction, in seconds (never negative).
    pub seconds: i64,
}

/// A table that looks like PHI, and how many rows the restore holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TableCount {
    pub schema: String,
    pub table: String,
    pub rows: i64,
}

/// A database of the restored cluster with its PHI tables.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RestoredDatabase {
    pub name: String,
    pub phi_tables: Vec<TableCount>,
}

/// One check of the drill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillCheck {
    /// A stable id, e.g. `archive_continuity`.
    pub id: String,
    pub title: String,
    pub outcome: Outcome,
    /// What was seen; for a failure, the first missing or bad file.
    pub detail: String,
}

/// The drill's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrillOutcome {
    Passed,
    Failed,
    /// Nothing failed, but something could not be decided.
    Inconclusive,
}

impl DrillOutcome {
    pub fn id(self) -> &'static str {
        match self {
            DrillOutcome::Passed => "passed",
            DrillOutcome::Failed => "failed",
            DrillOutcome::Inconclusive => "inconclusive",
        }
    }

    /// Failed over inconclusive over passed.
    pub fn of(checks: &[DrillCheck]) -> DrillOutcome {
        if checks.iter().any(|c| c.outcome == Outcome::Broken) {
            DrillOutcome::Failed
        } else if checks.is_empty() || checks.iter().any(|c| c.outcome == Outcome::Inconclusive) {
            DrillOutcome::Inconclusive
        } else {
            DrillOutcome::Passed
        }
    }
}

/// Everything one drill found; the evidence store keeps it whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillRecord {
    pub schema: String,
    pub tool_version: String,
    pub started_at: String,
    pub finished_at: String,
    /// The OS user who ran the drill, and on which machine.
    pub by: String,
    pub machine: String,
    pub source: DrillSource,
    pub target: DrillTarget,
    pub backup: BackupFacts,
    pub wal: WalRange,
    pub timings: DrillTimings,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpo: Option<RpoFigure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_end_lsn: Option<String>,
    pub databases: Vec<RestoredDatabase>,
    pub checks: Vec<DrillCheck>,
    pub outcome: DrillOutcome,
    /// The first failing check's detail (names the first missing or bad file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl DrillRecord {
    /// Sets `outcome` and `failure` from the checks.
    pub fn conclude(&mut self) {
        self.outcome = DrillOutcome::of(&self.checks);
        self.failure = self
            .checks
            .iter()
            .find(|c| c.outcome == Outcome::Broken)
            .map(|c| format!("{}: {}", c.title, c.detail));
    }

    /// One line: outcome, RTO, RPO.
    pub fn summary(&self) -> String {
        let rpo = self
            .rpo
            .as_ref()
            .map(|r| format!("{} s to the {}", r.seconds, r.reference_kind))
            .unwrap_or_else(|| String::from("unknown"));
        let mut line = format!(
            "restore drill {}: RTO {:.1} s, RPO {rpo}, {}",
            self.outcome.id(),
            self.timings.rto_ms as f64 / 1000.0,
            self.source.describe()
        );
        if let Some(failure) = &self.failure {
            line.push_str(&format!(" — {failure}"));
        }
        line
    }

    /// The drill as a proof for BAK-008, judged at `now` (a scan's
    /// `collected_at`): a passed drill within [`DRILL_VALID_DAYS`] holds, a
    /// failed one is broken, anything else (older, inconclusive) is
    /// inconclusive with the reason.
    pub fn proofs(&self, now: &str) -> Vec<CheckProof> {
        let age_days = days_between(&self.finished_at, now);
        let (outcome, note) = match (self.outcome, age_days) {
            (_, None) => (
                Outcome::Inconclusive,
                String::from("the drill's date or the scan's could not be read"),
            ),
            (_, Some(days)) if days > DRILL_VALID_DAYS => (
                Outcome::Inconclusive,
                format!("the newest restore drill is {days} days old (more than 12 months)"),
            ),
            (DrillOutcome::Passed, Some(_)) => (
                Outcome::Holds,
                format!(
                    "a restore drill passed on {}: {}",
                    self.finished_at,
                    self.summary()
                ),
            ),
            (DrillOutcome::Failed, Some(_)) => (
                Outcome::Broken,
                format!("the newest restore drill failed: {}", self.summary()),
            ),
            (DrillOutcome::Inconclusive, Some(_)) => (
                Outcome::Inconclusive,
                format!(
                    "the newest restore drill was inconclusive: {}",
                    self.summary()
                ),
            ),
        };
        vec![CheckProof {
            check: DRILL_CHECK.into(),
            effect: Effect::Attests,
            source_ip: None,
            proof: Proof {
                probe: Probe::RestoreDrill,
                attempted: format!(
                    "restore of {} to {} on {}",
                    self.source.describe(),
                    self.target.describe(),
                    self.machine
                ),
                from: self.machine.clone(),
                answer: self.summary(),
                at: self.finished_at.clone(),
                outcome,
                note,
                grant: None,
            },
        }]
    }
}

/// Whole days from `earlier` to `later` (RFC 3339); None when either does not parse.
fn days_between(earlier: &str, later: &str) -> Option<i64> {
    let a = OffsetDateTime::parse(earlier, &Rfc3339).ok()?;
    let b = OffsetDateTime::parse(later, &Rfc3339).ok()?;
    Some((b - a).whole_days())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(outcome: DrillOutcome, finished_at: &str) -> DrillRecord {
        DrillRecord {
            schema: DRILL_SCHEMA.into(),
            tool_version: "0.1.0".into(),
            started_at: finished_at.into(),
            finished_at: finished_at.into(),
            by: "dba".into(),
            machine: "host1".into(),
            source: DrillSource::BaseBackupDir {
                path: "/b".into(),
                wal_archive: "/a".into(),
            },
            target: DrillTarget::Latest,
            backup: BackupFacts::default(),
            wal: WalRange::default(),
            timings: DrillTimings::default(),
            rpo: None,
            replay_end_lsn: None,
            databases: Vec::new(),
            checks: Vec::new(),
            outcome,
            failure: None,
        }
    }

    #[test]
    fn a_recent_passed_drill_holds_and_an_old_one_does_not() {
        let fresh = record(DrillOutcome::Passed, "2026-06-01T10:00:00Z");
        let proof = &fresh.proofs("2026-12-01T10:00:00Z")[0];
        assert_eq!(
            (proof.check.as_str(), proof.effect),
            ("BAK-008", Effect::Attests)
        );
        assert_eq!(proof.proof.outcome, Outcome::Holds);
        let old = fresh.proofs("2027-12-01T10:00:00Z");
        assert_eq!(old[0].proof.outcome, Outcome::Inconclusive);
        assert!(
            old[0].proof.note.contains("12 months"),
            "{}",
            old[0].proof.note
        );
        let failed = record(DrillOutcome::Failed, "2026-06-01T10:00:00Z");
        assert_eq!(
            failed.proofs("2026-06-02T10:00:00Z")[0].proof.outcome,
            Outcome::Broken
        );
    }

    #[test]
    fn the_outcome_is_the_worst_check() {
        let check = |outcome| DrillCheck {
            id: "x".into(),
            title: "X".into(),
            outcome,
            detail: "d".into(),
        };
        assert_eq!(DrillOutcome::of(&[]), DrillOutcome::Inconclusive);
        assert_eq!(
            DrillOutcome::of(&[check(Outcome::Holds)]),
            DrillOutcome::Passed
        );
        assert_eq!(
            DrillOutcome::of(&[check(Outcome::Inconclusive), check(Outcome::Broken)]),
            DrillOutcome::Failed
        );
        let mut r = record(DrillOutcome::Passed, "2026-06-01T10:00:00Z");
        r.checks = vec![check(Outcome::Holds), check(Outcome::Broken)];
        r.conclude();
        assert_eq!(r.outcome, DrillOutcome::Failed);
        assert_eq!(r.failure.as_deref(), Some("X: d"));
    }
}

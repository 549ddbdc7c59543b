//! The evidence store: every scan, applied fix, policy change, report
//! anchor and restore drill, kept over time and chained by SHA-256 so that an edited or
//! deleted record shows (`pgsafeguard history verify`).
//!
//! Two back ends keep the same records and chain: an SQLite file on this
//! machine (the default, [`sqlite`]) and a schema on a PostgreSQL server
//! that a team shares. Both seal records with [`record::seal`].
//!
//! Imports the model (and `db` for the team store's connection) only; the
//! CLI and the GUI call it, checks never do.

pub mod location;
mod postgres;
pub mod record;
pub mod scan_record;
pub mod sqlite;
pub mod target;
pub mod verify;

#[cfg(test)]
mod tests;

use crate::model::changelog::ChangeLogEntry;
use crate::model::drill::DrillRecord;
use crate::model::finding::{Finding, Section, Summary};
use crate::model::snapshot::Snapshot;
use record::{ChainHead, Draft, Record, RecordKind};
use scan_record::{Manifest, ScanBody, ScanSource};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use target::TargetIdentity;

pub use location::StoreChoice;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the evidence store {location}: {message}")]
    Open { location: String, message: String },
    #[error(
        "the evidence store was written by a newer pgSafeguard (layout {found}; this one reads \
         up to {supported}): upgrade pgSafeguard, or pass --store with another file"
    )]
    Newer { found: i64, supported: i64 },
    #[error("evidence store: {0}")]
    Database(String),
    #[error("the evidence store is damaged: {0} (run pgsafeguard history verify)")]
    Corrupt(String),
    #[error("{0}")]
    NotFound(String),
}

impl StoreError {
    fn encode(e: serde_json::Error) -> StoreError {
        StoreError::Corrupt(format!("cannot encode a record: {e}"))
    }

    fn decode(e: serde_json::Error) -> StoreError {
        StoreError::Corrupt(format!("a stored record does not read back: {e}"))
    }

    fn missing_part(address: &str) -> StoreError {
        StoreError::Corrupt(format!("the part {address} is missing"))
    }
}

/// Which records to read.
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    pub kind: Option<RecordKind>,
    pub seq: Option<u64>,
    /// Only records about this target key.
    pub target: Option<String>,
    /// Only the newest matching record.
    pub newest: bool,
}

/// What a back end provides: append (sealing after the current head, as one
/// transaction that serialises writers) and reads.
pub trait Backend: Send {
    fn append(&mut self, draft: &Draft) -> Result<Record, StoreError>;
    fn head(&mut self) -> Result<Option<ChainHead>, StoreError>;
    /// Records in chain order.
    fn records(&mut self, filter: &RecordFilter) -> Result<Vec<Record>, StoreError>;
    fn part(&mut self, address: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every stored part, for verification.
    fn each_part(&mut self, visit: &mut dyn FnMut(&str, &[u8])) -> Result<(), StoreError>;
}

/// One recorded scan, as `pgsafeguard history` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanEntry {
    pub seq: u64,
    pub target: TargetIdentity,
    pub collected_at: String,
    pub source: ScanSource,
    pub summary: Summary,
    pub sections: BTreeMap<Section, Summary>,
}

/// A recorded scan read back whole.
#[derive(Debug, Clone)]
pub struct StoredScan {
    pub entry: ScanEntry,
    pub snapshot: Snapshot,
    pub findings: Vec<Finding>,
}

/// An accepted risk or baseline written to, or removed from, a policy file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyChange {
    /// `accepted`, `revoked`, `baseline set`, `baseline removed`.
    pub action: String,
    pub check_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    pub by: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// Baseline rows, when the change is a baseline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<String>,
    pub policy_file: String,
    /// When it was written (RFC 3339).
    pub at: String,
}

/// A signed report that embedded the chain head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorNote {
    pub report: String,
    pub head: ChainHead,
    pub at: String,
}

/// A fix, policy change or anchor, for timelines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub seq: u64,
    pub kind: RecordKind,
    pub target: String,
    pub at: String,
    /// One line, our own wording (server text inside is still to be escaped
    /// by whoever prints it).
    pub summary: String,
}

pub struct EvidenceStore {
    backend: Box<dyn Backend>,
    location: String,
}

impl EvidenceStore {
    /// The SQLite store at `path` (created when missing).
    pub fn open_file(path: &Path) -> Result<EvidenceStore, StoreError> {
        Ok(EvidenceStore {
            backend: Box::new(sqlite::SqliteBackend::open(path)?),
            location: path.display().to_string(),
        })
    }

    /// A store over any back end (the team store builds itself this way).
    pub fn with_backend(backend: Box<dyn Backend>, location: String) -> EvidenceStore {
        EvidenceStore { backend, location }
    }

    /// Where the records are, for messages (a password is never part of it).
    pub fn location(&self) -> &str {
        &self.location
    }

    pub fn record_scan(
        &mut self,
        snapshot: &Snapshot,
        findings: &[Finding],
        source: ScanSource,
    ) -> Result<Record, StoreError> {
        let split = scan_record::split(snapshot, findings, source)?;
        // Re-evaluating the same snapshot under the same policy observes nothing
        // new: the newest record of the target already holds it.
        let newest = self.backend.records(&RecordFilter {
            kind: Some(RecordKind::Scan),
            target: Some(split.body.target.key()),
            newest: true,
            ..RecordFilter::default()
        })?;
        if let Some(last) = newest.into_iter().next() {
            let body: ScanBody = from_json(&last.body)?;
            if body.manifest == split.body.manifest {
                return Ok(last);
            }
        }
        let draft = Draft {
            kind: RecordKind::Scan,
            target: split.body.target.key(),
            at: split.body.collected_at.clone(),
            body: to_json(&split.body)?,
            parts: split.parts,
        };
        self.backend.append(&draft)
    }

    pub fn record_fix(&mut self, entry: &ChangeLogEntry) -> Result<Record, StoreError> {
        let target = TargetIdentity {
            system_identifier: entry.target.system_identifier.clone(),
            host: entry.target.host.clone(),
            port: entry.target.port,
            dbname: entry.target.dbname.clone(),
        };
        self.append_plain(
            RecordKind::Fix,
            target.key(),
            entry.finished_at.as_ref().unwrap_or(&entry.started_at),
            entry,
        )
    }

    pub fn record_policy_change(&mut self, change: &PolicyChange) -> Result<Record, StoreError> {
        self.append_plain(RecordKind::Policy, String::new(), &change.at, change)
    }

    pub fn record_anchor(&mut self, note: &AnchorNote) -> Result<Record, StoreError> {
        self.append_plain(RecordKind::Anchor, String::new(), &note.at, note)
    }

    /// A restore drill, filed under the backup's system identifier (the
    /// scans of that cluster carry the newest one as BAK-008's proof).
    pub fn record_drill(&mut self, drill: &DrillRecord) -> Result<Record, StoreError> {
        self.append_plain(
            RecordKind::Drill,
            drill.backup.system_identifier.clone(),
            &drill.finished_at,
            drill,
        )
    }

    /// The newest drill of the cluster with this system identifier.
    pub fn newest_drill(
        &mut self,
        system_identifier: &str,
    ) -> Result<Option<DrillRecord>, StoreError> {
        let newest = self.backend.records(&RecordFilter {
            kind: Some(RecordKind::Drill),
            target: Some(system_identifier.to_string()),
            newest: true,
            ..RecordFilter::default()
        })?;
        newest.first().map(|r| from_json(&r.body)).transpose()
    }

    fn append_plain<T: Serialize>(
        &mut self,
        kind: RecordKind,
        target: String,
        at: &str,
        body: &T,
    ) -> Result<Record, StoreError> {
        let draft = Draft {
            kind,
            target,
            at: at.to_string(),
            body: to_json(body)?,
            parts: Vec::new(),
        };
        self.backend.append(&draft)
    }

    /// The newest record, which a signed report embeds.
    pub fn head(&mut self) -> Result<Option<ChainHead>, StoreError> {
        self.backend.head()
    }

    /// Every recorded scan, oldest first.
    pub fn scans(&mut self) -> Result<Vec<ScanEntry>, StoreError> {
        let records = self.backend.records(&RecordFilter {
            kind: Some(RecordKind::Scan),
            ..RecordFilter::default()
        })?;
        records.iter().map(scan_entry).collect()
    }

    /// The targets with recorded scans, each once, in order of first scan.
    pub fn targets(&mut self) -> Result<Vec<TargetIdentity>, StoreError> {
        let mut seen = Vec::new();
        for entry in self.scans()? {
            if !seen.contains(&entry.target) {
                seen.push(entry.target);
            }
        }
        Ok(seen)
    }

    /// One recorded scan, whole.
    pub fn load_scan(&mut self, seq: u64) -> Result<StoredScan, StoreError> {
        let record = self
            .backend
            .records(&RecordFilter {
                kind: Some(RecordKind::Scan),
                seq: Some(seq),
                ..RecordFilter::default()
            })?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("no scan #{seq} in {}", self.location)))?;
        let entry = scan_entry(&record)?;
        let body: ScanBody = from_json(&record.body)?;
        let manifest: Manifest = self.read_part(&body.manifest)?;
        let backend = &mut self.backend;
        let (snapshot, findings) = scan_record::join(&manifest, &mut |address| {
            backend
                .part(address)?
                .ok_or_else(|| StoreError::missing_part(address))
        })?;
        Ok(StoredScan {
            entry,
            snapshot,
            findings,
        })
    }

    fn read_part<T: for<'de> Deserialize<'de>>(&mut self, address: &str) -> Result<T, StoreError> {
        let bytes = self
            .backend
            .part(address)?
            .ok_or_else(|| StoreError::missing_part(address))?;
        serde_json::from_slice(&bytes).map_err(StoreError::decode)
    }

    /// Fixes, policy changes, anchors and drills, oldest first.
    pub fn events(&mut self) -> Result<Vec<Event>, StoreError> {
        let records = self.backend.records(&RecordFilter::default())?;
        records
            .iter()
            .filter(|r| r.kind != RecordKind::Scan)
            .map(event_of)
            .collect()
    }

    /// Check the chain, every part, and that each anchored head is still in it.
    pub fn verify(
        &mut self,
        anchors: &[verify::Anchor],
    ) -> Result<verify::VerifyReport, StoreError> {
        verify::verify(self.backend.as_mut(), anchors, &self.location)
    }
}

fn scan_entry(record: &Record) -> Result<ScanEntry, StoreError> {
    let body: ScanBody = from_json(&record.body)?;
    Ok(ScanEntry {
        seq: record.seq,
        target: body.target,
        collected_at: body.collected_at,
        source: body.source,
        summary: body.summary,
        sections: body.sections,
    })
}

fn event_of(record: &Record) -> Result<Event, StoreError> {
    let summary = match record.kind {
        RecordKind::Fix => from_json::<ChangeLogEntry>(&record.body)?.summary(),
        RecordKind::Policy => {
            let c: PolicyChange = from_json(&record.body)?;
            let object = c.object.map(|o| format!(" ({o})")).unwrap_or_default();
            let until = c.expires.map(|d| format!(" until {d}")).unwrap_or_default();
            let by = Some(c.by)
                .filter(|b| !b.is_empty())
                .map(|b| format!(" by {b}"));
            let why = Some(c.reason)
                .filter(|r| !r.is_empty())
                .map(|r| format!(": {r}"));
            format!(
                "{} {}{object}{}{until}{} ({})",
                c.action,
                c.check_id,
                by.unwrap_or_default(),
                why.unwrap_or_default(),
                c.policy_file
            )
        }
        RecordKind::Anchor => {
            let a: AnchorNote = from_json(&record.body)?;
            format!("signed report {} embedded chain head {}", a.report, a.head)
        }
        RecordKind::Drill => from_json::<DrillRecord>(&record.body)?.summary(),
        RecordKind::Scan => String::from("scan"),
    };
    Ok(Event {
        seq: record.seq,
        kind: record.kind,
        target: record.target.clone(),
        at: record.at.clone(),
        summary,
    })
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(StoreError::encode)
}

fn from_json<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(StoreError::decode)
}

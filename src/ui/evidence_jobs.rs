//! The evidence store's jobs: open it, record a scan or a fix, read the
//! history, read one recorded scan back, check the chain. SQLite I/O blocks,
//! so each runs on the runtime's blocking pool (`Jobs::run_blocking`) and
//! reports a [`JobEvent::Evidence`]; jobs on one store take turns on its lock.
//!
//! An `impl Jobs` block of its own; imports `jobs`, `history`, `changes`,
//! the store, `drift` and the report's choice of the previous scan.
//! The callers decide what is evidence (see `history`): nothing here checks.

use super::changes::{ChangeSummary, SinceLast};
use super::history::{EvidenceEvent, HistoryData, StoreHandle};
use super::jobs::{JobEvent, Jobs};
use crate::drift::{compare, ScanSide};
use crate::model::changelog::ChangeLogEntry;
use crate::model::finding::Finding;
use crate::model::snapshot::Snapshot;
use crate::model::untrusted;
use crate::report::changes::{previous_scan, scan_label};
use crate::store::record::RecordKind;
use crate::store::scan_record::ScanSource;
use crate::store::{EvidenceStore, StoreChoice};

fn evidence(event: EvidenceEvent) -> JobEvent {
    JobEvent::Evidence(event)
}

/// Scan `seq` (just recorded) against the newest earlier scan of its
/// server. A store that cannot be read back says so here; the record stands.
fn since_last(
    store: &mut EvidenceStore,
    seq: u64,
    snapshot: &Snapshot,
    findings: &[Finding],
) -> SinceLast {
    let compared = (|| -> Result<SinceLast, crate::store::StoreError> {
        let scans = store.scans()?;
        let Some(this) = scans.iter().find(|e| e.seq == seq) else {
            return Ok(SinceLast::FirstScan);
        };
        let Some(previous) = previous_scan(&scans, this) else {
            return Ok(SinceLast::FirstScan);
        };
        let old = store.load_scan(previous.seq)?;
        let drift = compare(
            &ScanSide {
                snapshot: &old.snapshot,
                findings: &old.findings,
                label: scan_label(previous),
            },
            &ScanSide {
                snapshot,
                findings,
                label: scan_label(this),
            },
        );
        Ok(SinceLast::Compared(ChangeSummary::of(
            scan_label(previous),
            &drift,
        )))
    })();
    compared.unwrap_or_else(|e| {
        SinceLast::Unavailable(format!(
            "cannot compare with the previous scan: {}",
            untrusted::one_line(&e.to_string())
        ))
    })
}

impl Jobs {
    /// Open the chosen store (`None` for `--no-store`).
    pub fn open_store(&self, choice: StoreChoice) -> Result<(), String> {
        self.run_blocking(
            move || {
                choice
                    .open()
                    .map(|store| store.map(StoreHandle::new))
                    .map_err(|e| untrusted::one_line(&e.to_string()))
            },
            |result| evidence(EvidenceEvent::Opened(result)),
        )
    }

    /// Every recorded scan and event, for the History page.
    pub fn load_history(&self, store: StoreHandle) -> Result<(), String> {
        self.run_blocking(
            move || {
                store.with(|s| {
                    Ok(HistoryData {
                        scans: s.scans()?,
                        events: s.events()?,
                    })
                })
            },
            |result| evidence(EvidenceEvent::HistoryLoaded(result)),
        )
    }

    /// Record a scan the desktop app made, then compare it with the
    /// previous recorded scan of the same server ("Changes since last scan").
    pub fn record_scan(
        &self,
        store: StoreHandle,
        snapshot: Snapshot,
        findings: Vec<Finding>,
    ) -> Result<(), String> {
        self.run_blocking(
            move || {
                store.with(|s| {
                    let seq = s.record_scan(&snapshot, &findings, ScanSource::Gui)?.seq;
                    Ok((seq, since_last(s, seq, &snapshot, &findings)))
                })
            },
            |result| evidence(EvidenceEvent::ScanRecorded(result)),
        )
    }

    /// Record a fix applied or rolled back (one change-log entry).
    pub fn record_fix(&self, store: StoreHandle, entry: ChangeLogEntry) -> Result<(), String> {
        self.run_blocking(
            move || store.with(|s| s.record_fix(&entry).map(|r| r.seq)),
            |result| {
                evidence(EvidenceEvent::Recorded {
                    kind: RecordKind::Fix,
                    result,
                })
            },
        )
    }

    /// Read recorded scan `seq` back whole.
    pub fn load_recorded_scan(&self, store: StoreHandle, seq: u64) -> Result<(), String> {
        self.run_blocking(
            move || store.with(|s| s.load_scan(seq).map(Box::new)),
            |result| evidence(EvidenceEvent::ScanLoaded(result)),
        )
    }

    /// Walk the chain and every stored part.
    pub fn verify_chain(&self, store: StoreHandle) -> Result<(), String> {
        self.run_blocking(
            move || store.with(|s| s.verify(&[])),
            |result| evidence(EvidenceEvent::Verified(result)),
        )
    }
}

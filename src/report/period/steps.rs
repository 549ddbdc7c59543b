//! The drift between two consecutive scans of a period, from
//! [`crate::drift::compare`]. Only notable checks are kept (a status or its
//! rows moved), so a year of unchanged daily scans stays small.

use crate::drift::{compare, CheckChange, Drift, ScanSide};
use crate::report::changes::scan_label;
use crate::store::StoredScan;
use serde::Serialize;

/// What changed from one scan to the next.
#[derive(Debug, Clone, Serialize)]
pub struct DriftStep {
    pub from_seq: u64,
    pub to_seq: u64,
    pub to_collected_at: String,
    pub drift: Drift,
}

fn side(scan: &StoredScan) -> ScanSide<'_> {
    ScanSide {
        snapshot: &scan.snapshot,
        findings: &scan.findings,
        label: scan_label(&scan.entry),
    }
}

impl DriftStep {
    pub fn between(old: &StoredScan, new: &StoredScan) -> DriftStep {
        let mut drift = compare(&side(old), &side(new));
        drift.checks.retain(CheckChange::is_notable);
        DriftStep {
            from_seq: old.entry.seq,
            to_seq: new.entry.seq,
            to_collected_at: new.entry.collected_at.clone(),
            drift,
        }
    }

    /// Whether no check and no object moved (what could not be compared
    /// aside: it is listed with the steps that are shown).
    pub fn is_quiet(&self) -> bool {
        self.drift.checks.is_empty() && self.drift.objects.is_empty()
    }
}

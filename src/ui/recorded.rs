//! A scan read back from the evidence store and shown read-only over the
//! live results, and where "Back to live" returns. Its findings are shown as
//! they were recorded, never re-evaluated under today's policy: it is what
//! the scan said on the day.
//!
//! Plain data; the App opens and closes it (`history_flow`) and refuses
//! every command that would change results while it is shown. May import
//! the model, the store and, of the ui, `state`, `history` and `wording`.

use super::history::target_label;
use super::state::{Page, Results, Source};
use super::wording::display_time;
use crate::policy::Attestations;
use crate::store::StoredScan;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct RecordedView {
    pub seq: u64,
    /// The scanned server, every server-chosen part escaped.
    pub target: String,
    pub collected_at: String,
    /// The stored snapshot and findings.
    pub results: Results,
    pub return_page: Page,
    pub return_selected: Option<String>,
}

impl RecordedView {
    pub fn new(stored: StoredScan, return_page: Page, return_selected: Option<String>) -> Self {
        let seq = stored.entry.seq;
        RecordedView {
            seq,
            target: target_label(&stored.entry.target),
            collected_at: stored.entry.collected_at,
            results: Results {
                snapshot: stored.snapshot,
                findings: stored.findings,
                attestations: Attestations::default(),
                notes: BTreeMap::new(),
                change_log: Vec::new(),
                source: Source::Recorded { seq },
                session_path: None,
                stale: None,
            },
            return_page,
            return_selected,
        }
    }

    /// The banner's first sentence (test API).
    pub fn banner_text(&self) -> String {
        format!(
            "Recorded scan #{} of {}, {} — read-only",
            self.seq,
            self.target,
            display_time(&self.collected_at)
        )
    }
}

//! The evidence store as the App sees it: opening it at start, recording
//! every completed live scan and every fix applied or rolled back on a live
//! server, loading the History page, opening a recorded scan read-only over
//! the live results and going back, and checking the chain.
//!
//! Demo scans and fixes (the live demo and its offline sample) are training,
//! not evidence: they are never recorded in the user's store (see
//! `Source::is_evidence`). When the store cannot be opened the app says so
//! once, in a notice naming the store and the reason, and goes on scanning;
//! the History page keeps the reason in view.
//!
//! A part of the App kept in its own file (an `impl App` block): it imports
//! `app`, and nothing imports it.

use super::app::App;
use super::changes::SinceLast;
use super::history::{ChainCheck, EvidenceEvent, StoreStatus};
use super::recorded::RecordedView;
use super::state::Page;
use super::theme::NoticeKind;
use crate::model::changelog::ChangeLogEntry;
use crate::store::record::RecordKind;
use crate::store::target::TargetIdentity;
use crate::store::{StoreChoice, StoredScan};

impl App {
    /// The History page's state (also the test API).
    pub fn history(&self) -> &super::history::HistoryState {
        &self.history
    }

    /// The recorded scan shown read-only, if any.
    pub fn recorded_scan(&self) -> Option<&RecordedView> {
        self.recorded.as_ref()
    }

    /// Open the evidence store in the background (at start).
    pub(super) fn open_evidence_store(&mut self, choice: StoreChoice) {
        if choice == StoreChoice::Off {
            self.history.status = Some(StoreStatus::Off);
            return;
        }
        let shown = match &choice {
            // Without a data folder the error says so itself.
            StoreChoice::Default => crate::store::location::default_path()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            StoreChoice::File(path) => path.display().to_string(),
            // A team store's conninfo may hold a password: never shown.
            _ => "the team store".to_string(),
        };
        self.history.store_named = shown;
        self.history.status = Some(StoreStatus::Opening);
        if let Err(e) = self.jobs.open_store(choice) {
            self.store_unavailable(e);
        }
    }

    /// Say once why nothing will be recorded, and where; scanning goes on.
    fn store_unavailable(&mut self, reason: String) {
        let named = &self.history.store_named;
        let reason = if named.is_empty() || reason.contains(named.as_str()) {
            reason
        } else {
            format!("{reason} ({named})")
        };
        self.notify(
            NoticeKind::Warning,
            format!("{reason} — scans still run but are not recorded"),
        );
        self.history.status = Some(StoreStatus::Unavailable { reason });
    }

    pub(super) fn on_evidence_event(&mut self, event: EvidenceEvent) {
        match event {
            EvidenceEvent::Opened(Ok(Some(store))) => {
                self.history.status = Some(StoreStatus::Open {
                    location: store.location().to_string(),
                });
                self.evidence = Some(store);
                if self.page == Page::History {
                    self.load_history();
                }
            }
            EvidenceEvent::Opened(Ok(None)) => self.history.status = Some(StoreStatus::Off),
            EvidenceEvent::Opened(Err(reason)) => self.store_unavailable(reason),
            EvidenceEvent::HistoryLoaded(result) => {
                self.history.loading = false;
                match result {
                    Ok(data) => {
                        self.history.data = Some(data);
                        self.history.chart = None;
                        self.history.load_error = None;
                    }
                    Err(e) => self.history.load_error = Some(e),
                }
                if self.history.outdated && self.page == Page::History {
                    self.load_history();
                }
            }
            EvidenceEvent::Recorded { kind, result } => self.on_recorded(kind, result),
            EvidenceEvent::ScanRecorded(result) => {
                let since = match &result {
                    Ok((_, since)) => since.clone(),
                    Err(_) => SinceLast::Nothing,
                };
                if let Some((_, shown)) = self.history.since_last.as_mut() {
                    *shown = since;
                }
                self.on_recorded(RecordKind::Scan, result.map(|(seq, _)| seq));
            }
            EvidenceEvent::ScanLoaded(result) => {
                self.history.opening = None;
                match result {
                    Ok(stored) => self.show_recorded(*stored),
                    Err(e) => self.notify(NoticeKind::Error, e),
                }
            }
            EvidenceEvent::Verified(result) => {
                self.history.chain = match result {
                    Ok(report) => ChainCheck::Done(report),
                    Err(e) => ChainCheck::Failed(e),
                };
            }
        }
    }

    fn on_recorded(&mut self, kind: RecordKind, result: Result<u64, String>) {
        match result {
            Ok(seq) => self.note_recorded(seq),
            Err(e) => self.record_failed(kind, e),
        }
    }

    /// Something was recorded under `seq`: the History page reads again.
    pub(super) fn note_recorded(&mut self, seq: u64) {
        self.history.last_recorded = Some(seq);
        self.history.record_warned = false;
        self.history.outdated = true;
        if self.page == Page::History {
            self.load_history();
        }
    }

    /// A failed record is reported once until one succeeds again.
    pub(super) fn record_failed(&mut self, kind: RecordKind, error: String) {
        if !self.history.record_warned {
            self.history.record_warned = true;
            let what = match kind {
                RecordKind::Fix => "fix",
                RecordKind::Policy => "policy change",
                _ => "scan",
            };
            self.notify(
                NoticeKind::Warning,
                format!("the {what} was not recorded in the evidence store: {error}"),
            );
        }
    }

    /// Record the open results when they are a completed live scan.
    pub(super) fn record_live_scan(&mut self) {
        let Some(store) = self.evidence.clone() else {
            return;
        };
        let Some(results) = self.results.as_ref().filter(|r| r.source.is_evidence()) else {
            return;
        };
        let (snapshot, findings) = (results.snapshot.clone(), results.findings.clone());
        self.history.since_last = Some((snapshot.collected_at.clone(), SinceLast::Comparing));
        if let Err(e) = self.jobs.record_scan(store, snapshot, findings) {
            self.history.since_last = None;
            self.record_failed(RecordKind::Scan, e);
        }
    }

    /// Record a fix applied or rolled back on the live server.
    pub(super) fn record_live_fix(&mut self, entry: &ChangeLogEntry) {
        let Some(store) = self.evidence.clone() else {
            return;
        };
        if !self
            .results
            .as_ref()
            .is_some_and(|r| r.source.is_evidence())
        {
            return;
        }
        if let Err(e) = self.jobs.record_fix(store, entry.clone()) {
            self.record_failed(RecordKind::Fix, e);
        }
    }

    pub(super) fn show_history(&mut self) {
        self.page = Page::History;
        if self.history.data.is_none() || self.history.outdated {
            self.load_history();
        }
    }

    pub(super) fn load_history(&mut self) {
        let Some(store) = self.evidence.clone() else {
            return;
        };
        if self.history.loading {
            // The running load may miss the newest record: load again after it.
            self.history.outdated = true;
            return;
        }
        self.history.outdated = false;
        match self.jobs.load_history(store) {
            Ok(()) => self.history.loading = true,
            Err(e) => self.history.load_error = Some(e),
        }
    }

    pub(super) fn choose_history_target(&mut self, target: TargetIdentity) {
        self.history.chosen = Some(target);
    }

    pub(super) fn open_recorded_scan(&mut self, seq: u64) {
        let Some(store) = self.evidence.clone() else {
            return;
        };
        if self.history.opening.is_some() {
            return;
        }
        match self.jobs.load_recorded_scan(store, seq) {
            Ok(()) => self.history.opening = Some(seq),
            Err(e) => self.notify(NoticeKind::Error, e),
        }
    }

    /// Show a recorded scan over the live results: its findings as they were
    /// recorded, not re-evaluated under today's policy.
    fn show_recorded(&mut self, stored: StoredScan) {
        let (return_page, return_selected) = match self.recorded.take() {
            // Another recorded scan was open: Back still goes to the live one.
            Some(open) => (open.return_page, open.return_selected),
            None => (self.page, self.selected.take()),
        };
        self.recorded = Some(RecordedView::new(stored, return_page, return_selected));
        self.apply_dialog = None;
        self.selected = None;
        self.page = Page::Overview;
    }

    pub(super) fn back_to_live(&mut self) {
        if let Some(view) = self.recorded.take() {
            self.page = view.return_page;
            self.selected = view.return_selected;
        }
    }

    pub(super) fn verify_chain(&mut self) {
        let Some(store) = self.evidence.clone() else {
            return;
        };
        if self.history.chain == ChainCheck::Checking {
            return;
        }
        self.history.chain = match self.jobs.verify_chain(store) {
            Ok(()) => ChainCheck::Checking,
            Err(e) => ChainCheck::Failed(e),
        };
    }

    /// "Changes since last scan" for the live results on screen, if they
    /// were recorded (not for a recorded scan, a session or the demo).
    pub fn since_last(&self) -> Option<&SinceLast> {
        let shown = self.results.as_ref().filter(|_| self.recorded.is_none())?;
        self.history.since_last_of(&shown.snapshot.collected_at)
    }

    /// The live server's identity, to show its history first.
    pub(super) fn connected_target(&self) -> Option<TargetIdentity> {
        self.results
            .as_ref()
            .filter(|r| r.source.is_server())
            .map(|r| TargetIdentity::of(&r.snapshot.target))
    }
}

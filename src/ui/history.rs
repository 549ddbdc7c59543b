//! The GUI's side of the evidence store: the shared handle, what the History
//! page shows (recorded scans, the timeline, the chain check) and what the
//! store jobs report back.
//!
//! What is evidence is `Source::is_evidence`'s to say (in `state`); the
//! recorded scan shown read-only is `recorded`'s.
//!
//! Plain data and the small rules that belong to it; the store is reached
//! only through the jobs in `evidence_jobs`, never from the UI thread. May
//! import the model, the store and, of the ui, `history_chart` and `changes`; no other ui
//! module (`jobs` imports this one for its events).

use super::changes::SinceLast;
use super::history_chart::{section_series, SectionSeries};
use crate::model::untrusted;
use crate::store::record::RecordKind;
use crate::store::target::TargetIdentity;
use crate::store::verify::VerifyReport;
use crate::store::{Event, EvidenceStore, ScanEntry, StoredScan};
use std::fmt;
use std::sync::{Arc, Mutex};

/// The open store, shared with the jobs that use it one at a time.
#[derive(Clone)]
pub struct StoreHandle {
    store: Arc<Mutex<EvidenceStore>>,
    location: String,
}

impl StoreHandle {
    pub fn new(store: EvidenceStore) -> StoreHandle {
        let location = store.location().to_string();
        StoreHandle {
            store: Arc::new(Mutex::new(store)),
            location,
        }
    }

    /// Where the records are (a file path; never a password).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Run `work` on the store. Blocking: call it from a blocking job only.
    pub fn with<T>(
        &self,
        work: impl FnOnce(&mut EvidenceStore) -> Result<T, crate::store::StoreError>,
    ) -> Result<T, String> {
        let mut store = self
            .store
            .lock()
            .map_err(|_| "the evidence store is unusable after an earlier failure".to_string())?;
        work(&mut store).map_err(|e| untrusted::one_line(&e.to_string()))
    }
}

impl fmt::Debug for StoreHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreHandle({})", self.location)
    }
}

/// Whether scans are being recorded, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreStatus {
    /// `--no-store`: nothing is recorded.
    Off,
    Opening,
    Open {
        location: String,
    },
    /// It could not be opened: why, and where, in one line.
    Unavailable {
        reason: String,
    },
}

/// What a store job reports back.
#[derive(Debug)]
pub enum EvidenceEvent {
    /// The store was opened (`None`: recording is off).
    Opened(Result<Option<StoreHandle>, String>),
    HistoryLoaded(Result<HistoryData, String>),
    /// A scan was recorded under this position in the chain, and what it
    /// changed since the previous recorded scan of its server.
    ScanRecorded(Result<(u64, SinceLast), String>),
    /// A fix was recorded under this position in the chain.
    Recorded {
        kind: RecordKind,
        result: Result<u64, String>,
    },
    /// A recorded scan, read back whole to be shown read-only.
    ScanLoaded(Result<Box<StoredScan>, String>),
    /// The chain was checked.
    Verified(Result<VerifyReport, String>),
}

/// What the History page lists, as read from the store (oldest first).
#[derive(Debug, Clone, Default)]
pub struct HistoryData {
    pub scans: Vec<ScanEntry>,
    pub events: Vec<Event>,
}

impl HistoryData {
    /// The recorded targets, each once, in order of first scan.
    pub fn targets(&self) -> Vec<&TargetIdentity> {
        let mut seen: Vec<&TargetIdentity> = Vec::new();
        for scan in &self.scans {
            if !seen.contains(&&scan.target) {
                seen.push(&scan.target);
            }
        }
        seen
    }

    /// The scans of `target`, oldest first.
    pub fn scans_of<'a>(
        &'a self,
        target: &'a TargetIdentity,
    ) -> impl Iterator<Item = &'a ScanEntry> {
        self.scans.iter().filter(move |s| &s.target == target)
    }

    /// Fixes on `target`, and the policy changes and report anchors (which
    /// are about no one server), newest first.
    pub fn timeline_of(&self, target: &TargetIdentity) -> Vec<&Event> {
        let key = target.key();
        self.events
            .iter()
            .rev()
            .filter(|e| e.target.is_empty() || e.target == key)
            .collect()
    }
}

/// The result of "Verify chain".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ChainCheck {
    #[default]
    NotChecked,
    Checking,
    Done(VerifyReport),
    Failed(String),
}

/// The History page's state.
#[derive(Debug, Default)]
pub struct HistoryState {
    pub status: Option<StoreStatus>,
    /// The store as named in messages before it is open (a path, "the team store").
    pub store_named: String,
    pub data: Option<HistoryData>,
    /// A load runs.
    pub loading: bool,
    /// Something was recorded since the last load.
    pub outdated: bool,
    /// Why the last load failed.
    pub load_error: Option<String>,
    /// The target the user chose; `None`: the connected one, else the last scanned.
    pub chosen: Option<TargetIdentity>,
    pub chain: ChainCheck,
    /// The recorded scan being read back to be opened.
    pub opening: Option<u64>,
    /// The position of the last record this window wrote.
    pub last_recorded: Option<u64>,
    /// The chart's points for the shown target, kept between frames.
    pub chart: Option<(TargetIdentity, Vec<SectionSeries>)>,
    /// A failed record was already reported (warn once until one succeeds).
    pub record_warned: bool,
    /// "Changes since last scan" of the live results collected at this time.
    pub since_last: Option<(String, SinceLast)>,
}

impl HistoryState {
    /// The target whose history is shown: the chosen one, else the connected
    /// one when it has recorded scans, else the most recently scanned.
    pub fn shown_target(&self, connected: Option<&TargetIdentity>) -> Option<&TargetIdentity> {
        let data = self.data.as_ref()?;
        let targets = data.targets();
        let pick = |wanted: Option<&TargetIdentity>| {
            wanted.and_then(|w| targets.iter().copied().find(|t| *t == w))
        };
        pick(self.chosen.as_ref())
            .or_else(|| pick(connected))
            .or_else(|| data.scans.last().map(|s| &s.target))
    }

    /// Work the chart's points out again when the shown target changed (the
    /// App drops them when new data arrives): once, not every frame.
    pub fn refresh_chart(&mut self, connected: Option<&TargetIdentity>) {
        let Some(target) = self.shown_target(connected) else {
            self.chart = None;
            return;
        };
        if self.chart.as_ref().is_some_and(|(t, _)| t == target) {
            return;
        }
        let target = target.clone();
        let series = self
            .data
            .as_ref()
            .map(|data| section_series(data.scans_of(&target)))
            .unwrap_or_default();
        self.chart = Some((target, series));
    }

    /// "Changes since last scan" of the results collected at `collected_at`.
    pub fn since_last_of(&self, collected_at: &str) -> Option<&SinceLast> {
        self.since_last
            .as_ref()
            .filter(|(at, _)| at == collected_at)
            .map(|(_, since)| since)
    }

    /// The chart's points for `target`, if worked out.
    pub fn chart_of(&self, target: &TargetIdentity) -> Option<&[SectionSeries]> {
        self.chart
            .as_ref()
            .filter(|(t, _)| t == target)
            .map(|(_, series)| series.as_slice())
    }
}

/// A target for people, every server-chosen part escaped:
/// `clinic on db1:5432`.
pub fn target_label(target: &TargetIdentity) -> String {
    format!(
        "{} on {}:{}",
        untrusted::name(&target.dbname),
        untrusted::name(&target.host),
        target.port
    )
}

/// The chain check in one line: "chain intact: 12 records, head #12 3f9a0c1b2d4e…",
/// or how many problems were found.
pub fn chain_summary(report: &VerifyReport) -> String {
    if !report.intact() {
        return format!(
            "chain NOT intact: {} problem(s) in {} records",
            report.problems.len(),
            report.records
        );
    }
    match &report.head {
        Some(head) => {
            let short: String = head.hash.chars().take(12).collect();
            format!(
                "chain intact: {} records, head #{} {short}…",
                report.records, head.seq
            )
        }
        None => "chain intact: the store is empty".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::finding::Summary;
    use crate::store::record::ChainHead;
    use crate::store::scan_record::ScanSource;
    use crate::store::verify::Problem;

    fn target(db: &str) -> TargetIdentity {
        TargetIdentity {
            system_identifier: Some("7312".into()),
            host: "db1".into(),
            port: 5432,
            dbname: db.into(),
        }
    }

    fn scan(seq: u64, db: &str) -> ScanEntry {
        ScanEntry {
            seq,
            target: target(db),
            collected_at: format!("2026-12-0{seq}T10:00:00Z"),
            source: ScanSource::Gui,
            summary: Summary::default(),
            sections: Default::default(),
        }
    }

    fn event(seq: u64, kind: RecordKind, target: &str) -> Event {
        Event {
            seq,
            kind,
            target: target.into(),
            at: "2026-12-01T10:00:00Z".into(),
            summary: format!("event {seq}"),
        }
    }

    fn loaded(data: HistoryData) -> HistoryState {
        HistoryState {
            data: Some(data),
            ..HistoryState::default()
        }
    }

    #[test]
    fn the_shown_target_is_the_chosen_then_the_connected_then_the_last_scanned() {
        let state = loaded(HistoryData {
            scans: vec![scan(1, "clinic"), scan(2, "billing"), scan(3, "clinic")],
            events: Vec::new(),
        });
        assert_eq!(state.shown_target(None), Some(&target("clinic")));
        assert_eq!(
            state.shown_target(Some(&target("billing"))),
            Some(&target("billing"))
        );
        // A connected server without recorded scans does not hide the others.
        assert_eq!(
            state.shown_target(Some(&target("other"))),
            Some(&target("clinic"))
        );
        let chosen = HistoryState {
            chosen: Some(target("billing")),
            ..state
        };
        assert_eq!(
            chosen.shown_target(Some(&target("clinic"))),
            Some(&target("billing"))
        );
        assert_eq!(chosen.data.as_ref().map(|d| d.targets().len()), Some(2));
    }

    #[test]
    fn the_chart_follows_the_shown_target() {
        let mut state = loaded(HistoryData {
            scans: vec![scan(1, "clinic"), scan(2, "billing"), scan(3, "clinic")],
            events: Vec::new(),
        });
        state.refresh_chart(None);
        let clinic = state.chart_of(&target("clinic")).unwrap();
        assert_eq!(clinic[0].fail.len(), 2, "two scans of clinic");
        assert!(state.chart_of(&target("billing")).is_none());
        state.chosen = Some(target("billing"));
        state.refresh_chart(None);
        assert_eq!(state.chart_of(&target("billing")).unwrap()[0].fail.len(), 1);
    }

    #[test]
    fn the_timeline_holds_this_targets_fixes_and_every_policy_change_newest_first() {
        let clinic = target("clinic");
        let data = HistoryData {
            scans: Vec::new(),
            events: vec![
                event(1, RecordKind::Fix, &clinic.key()),
                event(2, RecordKind::Fix, &target("billing").key()),
                event(3, RecordKind::Policy, ""),
                event(4, RecordKind::Anchor, ""),
            ],
        };
        let seqs: Vec<u64> = data.timeline_of(&clinic).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [4, 3, 1]);
    }

    #[test]
    fn a_hostile_target_name_is_escaped() {
        let mut t = target("clinic\n[PASS] all good");
        t.host = "db\u{202E}1".into();
        let label = target_label(&t);
        assert!(
            !label.contains('\n') && !label.contains('\u{202E}'),
            "{label}"
        );
    }

    #[test]
    fn the_chain_summary_names_the_head_or_the_problems() {
        let mut report = VerifyReport {
            location: "evidence.sqlite".into(),
            records: 12,
            parts: 40,
            head: Some(ChainHead {
                seq: 12,
                hash: "3f9a0c1b2d4e5f60718293a4b5c6d7e8f9".into(),
            }),
            anchors_found: Vec::new(),
            problems: Vec::new(),
        };
        assert_eq!(
            chain_summary(&report),
            "chain intact: 12 records, head #12 3f9a0c1b2d4e…"
        );
        report.problems.push(Problem::Edited { seq: 3 });
        assert_eq!(
            chain_summary(&report),
            "chain NOT intact: 1 problem(s) in 12 records"
        );
    }
}

//! The App's state that drawing code reads: which page is shown, the open
//! results and where they came from, the banner notice, a scan in flight,
//! attestation drafts and the live demo's part.
//!
//! Plain data and the small rules that belong to it (a draft validates
//! itself, results re-evaluate under a policy). Changed only by the App,
//! which runs the widgets' commands; drawing code gets shared references,
//! and form drafts by `&mut`. May import the model, `checks`, `policy`,
//! `session`, the demo back end and, of the ui, `jobs` and `theme`; never
//! drawing code or the App.

use super::jobs::ScanStep;
use super::theme::NoticeKind;
use crate::checks;
use crate::demo::{DemoCluster, DemoStage, Discovery};
use crate::model::changelog::ChangeLogEntry;
use crate::model::finding::{Attestation, Finding, Section, Summary};
use crate::model::snapshot::Snapshot;
use crate::policy::{Attestations, Policy};
use crate::session::SessionFile;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Which screen is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Start,
    Overview,
    Section(Section),
    /// Fixes applied and rolled back in this session.
    ChangeLog,
    /// Recorded scans, fixes and the chain check of the evidence store.
    History,
    /// The fleet matrix of an inventory's targets.
    Fleet,
}

/// Where the open results came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A scan of a live server, described without its password.
    Live { target: String },
    /// A saved session file.
    File(PathBuf),
    /// The bundled offline sample.
    Sample,
    /// The live demo cluster this app started (see [`crate::demo`]).
    Demo { target: String },
    /// A scan read back from the evidence store, shown read-only.
    Recorded { seq: u64 },
}

impl Source {
    /// The demo, live or its offline sample: training material, never evidence.
    pub fn is_demo(&self) -> bool {
        matches!(self, Source::Sample | Source::Demo { .. })
    }

    /// Results of a server the app is connected to (rescan, apply).
    pub fn is_server(&self) -> bool {
        matches!(self, Source::Live { .. } | Source::Demo { .. })
    }

    /// Results to record in the evidence store: a scan of a server the user
    /// connected to. The demo and its sample are training, not evidence; a
    /// session file or a recorded scan was recorded when it was scanned.
    pub fn is_evidence(&self) -> bool {
        matches!(self, Source::Live { .. })
    }
}

/// A banner message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub text: String,
}

/// The open results: a snapshot, its findings, and what people added.
#[derive(Debug, Clone)]
pub struct Results {
    pub snapshot: Snapshot,
    pub findings: Vec<Finding>,
    pub attestations: Attestations,
    pub notes: BTreeMap<String, String>,
    pub change_log: Vec<ChangeLogEntry>,
    pub source: Source,
    /// Where the session was last saved or opened from.
    pub session_path: Option<PathBuf>,
    /// Why these results may be out of date (lost connection …).
    pub stale: Option<String>,
}

impl Results {
    pub(super) fn from_session(session: SessionFile, source: Source, policy: &Policy) -> Results {
        let session_path = match &source {
            Source::File(path) => Some(path.clone()),
            _ => None,
        };
        let mut results = Results {
            snapshot: session.snapshot,
            findings: Vec::new(),
            attestations: session.attestations,
            notes: session.notes,
            change_log: session.change_log,
            source,
            session_path,
            stale: None,
        };
        results.evaluate(policy);
        results
    }

    pub(super) fn evaluate(&mut self, policy: &Policy) {
        self.findings = checks::evaluate_all(&self.snapshot, policy, &self.attestations);
    }

    pub fn finding(&self, id: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.id == id)
    }

    pub fn session_file(&self) -> SessionFile {
        SessionFile {
            attestations: self.attestations.clone(),
            notes: self.notes.clone(),
            change_log: self.change_log.clone(),
            ..SessionFile::new(self.snapshot.clone())
        }
    }

    pub fn section_summary(&self, section: Section) -> Summary {
        Summary::of(self.findings.iter().filter(|f| f.section == section))
    }
}

/// What kind of scan is running, to know where its result goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanKind {
    /// First scan after "Connect": failures go to the form.
    Connect,
    /// A rescan: failures keep the old results and mark them stale.
    Rescan(Option<Section>),
    /// The first scan of a freshly started demo: failures go to a notice.
    Demo,
    /// A rescan with probes ("Prove it"): like a rescan, then the proofs.
    Prove(Option<Section>),
}

/// A scan in flight.
#[derive(Debug, Clone)]
pub struct ScanState {
    pub id: u64,
    pub kind: ScanKind,
    pub target: String,
    pub progress: Option<ScanStep>,
    /// Steps already finished, for the per-part list.
    pub finished_steps: Vec<String>,
}

/// A half-filled attestation form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttestDraft {
    pub by: String,
    pub at: String,
    pub note: String,
    pub error: Option<String>,
}

impl AttestDraft {
    /// A fresh draft dated today.
    pub fn dated_today() -> AttestDraft {
        AttestDraft {
            at: today(),
            ..AttestDraft::default()
        }
    }

    /// The attestation this draft describes, or what to correct.
    pub fn validate(&self) -> Result<Attestation, String> {
        let by = self.by.trim();
        if by.is_empty() {
            return Err("enter who attests (a name and role)".to_string());
        }
        let at = self.at.trim();
        if time::Date::parse(at, DATE_FORMAT).is_err() {
            return Err(format!("date {at:?} is not a date like 2026-11-27"));
        }
        Ok(Attestation {
            by: by.to_string(),
            at: at.to_string(),
            note: self.note.trim().to_string(),
        })
    }
}

const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// Today's date (UTC), the default for a new attestation.
fn today() -> String {
    time::OffsetDateTime::now_utc()
        .date()
        .format(DATE_FORMAT)
        .unwrap_or_default()
}

/// The demo's part of the App state.
pub struct DemoState {
    /// The running demo cluster (shared with jobs that settle fixes on it).
    pub running: Option<Arc<DemoCluster>>,
    /// A start or reset in flight.
    pub launch: Option<DemoLaunch>,
    /// Why the live demo is not available (the install hint), shown over
    /// the offline sample it fell back to.
    pub unavailable: Option<String>,
    /// Where the demo looks for PostgreSQL.
    pub(super) discovery: Discovery,
    /// The id the next launch gets (stale progress of older ones is dropped).
    pub(super) next_launch: u64,
}

/// A demo start in flight, for the progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoLaunch {
    pub id: u64,
    /// Rebuilding an existing demo rather than starting the first one.
    pub reset: bool,
    pub stage: Option<DemoStage>,
    /// Stages already passed, in order.
    pub done: Vec<DemoStage>,
}

impl DemoState {
    pub fn new(discovery: Discovery) -> DemoState {
        DemoState {
            running: None,
            launch: None,
            unavailable: None,
            discovery,
            next_launch: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(by: &str, at: &str, note: &str) -> AttestDraft {
        AttestDraft {
            by: by.to_string(),
            at: at.to_string(),
            note: note.to_string(),
            error: None,
        }
    }

    #[test]
    fn only_live_scans_are_evidence() {
        let live = Source::Live {
            target: "db1".into(),
        };
        assert!(live.is_evidence());
        for source in [
            Source::Sample,
            Source::Demo {
                target: "demo".into(),
            },
            Source::File("s.json".into()),
            Source::Recorded { seq: 1 },
        ] {
            assert!(!source.is_evidence(), "{source:?}");
        }
    }

    #[test]
    fn a_draft_validates_to_a_trimmed_attestation() {
        let attestation = draft(" Dana, DBA ", "2026-11-27 ", " runbook p. 4 ").validate();
        assert_eq!(
            attestation,
            Ok(Attestation {
                by: "Dana, DBA".to_string(),
                at: "2026-11-27".to_string(),
                note: "runbook p. 4".to_string(),
            })
        );
    }

    #[test]
    fn a_draft_without_a_name_or_a_real_date_says_what_to_correct() {
        let no_name = draft("  ", "2026-11-27", "").validate();
        assert_eq!(
            no_name,
            Err("enter who attests (a name and role)".to_string())
        );
        let no_date = draft("Dana", "2026-13-01", "").validate();
        assert_eq!(
            no_date,
            Err("date \"2026-13-01\" is not a date like 2026-11-27".to_string())
        );
    }

    #[test]
    fn a_fresh_draft_is_dated_today_and_passes_once_signed() {
        let mut fresh = AttestDraft::dated_today();
        assert!(fresh.by.is_empty() && fresh.note.is_empty() && fresh.error.is_none());
        fresh.by = "Dana".to_string();
        assert!(
            fresh.validate().is_ok(),
            "{:?} is not a valid date",
            fresh.at
        );
    }
}

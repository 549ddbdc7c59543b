//! Background work for the GUI: scans, file dialogs and file writes run on
//! the tokio runtime owned by `main`; their results come back as
//! [`JobEvent`]s over a channel that `App::logic` drains each frame, and every
//! send is followed by `request_repaint` so the window wakes up.
//!
//! The UI thread never waits on anything here. A scan is cancelled by
//! aborting its task, which drops the scan future and with it the connection.
//! Imports no other ui module but `profiles` (it writes the preferences),
//! `history` (what the evidence store's jobs, in `evidence_jobs`, report) and
//! `acceptance` (what the policy job, in `policy_jobs`, reports) and
//! `plan_window` (what the plan jobs, in `plan_jobs`, report);
//! the one call into the scanner is [`scan_adapter`], the calls into the
//! applier are [`Jobs::preview_fix`], [`Jobs::preview_rollback`] and
//! [`Jobs::apply`], the calls into the demo back end [`Jobs::start_demo`]
//! and [`Jobs::settle_demo`].

use super::acceptance::PolicyWritten;
use super::history::EvidenceEvent;
use super::plan_window::PlanEvent;
use crate::apply::{Applier, ChangeLog, ChangeLogEntry, Confirmation, Preview};
use crate::demo::{DemoCluster, DemoError, DemoStage, Discovery};
use crate::model::conninfo::ConnParams;
use crate::model::snapshot::Snapshot;
use crate::model::untrusted;
use crate::report::{
    build_signed_report_with, ReportError, ReportInput, SignedReport, SigningIdentity, TsaConfig,
};
use crate::session::SessionFile;
use eframe::egui;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use tokio::runtime::Handle;
use tokio::task::AbortHandle;

/// Which certificate field a picked file goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertSlot {
    RootCert,
    ClientCert,
    ClientKey,
}

/// Where a scan is: the GUI's copy of `crate::scan::ScanProgress`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanStep {
    /// What is being read now, e.g. "reading catalogs and settings".
    pub step: String,
    pub done: usize,
    pub total: usize,
}

/// Receives scan steps; called from the runtime.
pub type StepSink = Arc<dyn Fn(ScanStep) + Send + Sync>;

/// A scan that did not produce a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanFailure {
    /// One line, never a password.
    pub message: String,
}

/// Something a background job finished or reports.
#[derive(Debug)]
pub enum JobEvent {
    ScanProgress {
        scan: u64,
        progress: ScanStep,
    },
    ScanFinished {
        scan: u64,
        result: Result<Snapshot, ScanFailure>,
    },
    SessionOpened(Result<(PathBuf, SessionFile), String>),
    SessionSaved(Result<PathBuf, String>),
    /// A file other than a session was written (fix SQL …).
    FileSaved {
        what: String,
        result: Result<PathBuf, String>,
    },
    CertificatePicked {
        slot: CertSlot,
        path: PathBuf,
    },
    /// The signed PDF report was written (or why not, in one line).
    ReportExported(Result<ExportedReport, String>),
    PrefsSaved(Result<(), String>),
    /// A fresh preview of a fix or a rollback (or why not, in one line).
    PreviewReady(Result<Box<Preview>, String>),
    /// An apply or rollback finished.
    Applied(Result<Box<ChangeLogEntry>, ApplyFailure>),
    /// The demo launch `launch` reached `stage`.
    DemoProgress {
        launch: u64,
        stage: DemoStage,
    },
    /// The demo launch `launch` ended.
    DemoStarted {
        launch: u64,
        result: Result<Arc<DemoCluster>, DemoFailure>,
    },
    /// A fix applied on the demo was settled (restart, verify, deferred
    /// steps): the latest entry, or why not.
    DemoSettled(Result<Box<ChangeLogEntry>, String>),
    /// The evidence store was opened, read, written or checked.
    Evidence(EvidenceEvent),
    /// An accepted risk was written into the policy file (or why not);
    /// `None`: the user closed the save dialog.
    PolicyWritten(Option<Result<PolicyWritten, String>>),
    /// A hardening plan was built, progressed or ended (`plan_jobs`).
    Plan(PlanEvent),
}

/// Why the live demo did not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoFailure {
    /// No PostgreSQL server programs: what to install.
    NoBinaries { hint: String },
    /// Anything else, in one line.
    Failed(String),
}

impl From<DemoError> for DemoFailure {
    fn from(e: DemoError) -> Self {
        match e {
            DemoError::NoBinaries { hint } => DemoFailure::NoBinaries { hint },
            other => DemoFailure::Failed(untrusted::one_line(&other.to_string())),
        }
    }
}

/// An apply that did not go through: the error in one line and, when the
/// server was reached, the logged entry.
#[derive(Debug)]
pub struct ApplyFailure {
    pub message: String,
    pub entry: Option<Box<ChangeLogEntry>>,
}

/// A signed report on disk and who signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedReport {
    pub path: PathBuf,
    /// Lower-case hex SHA-256 of the signer certificate.
    pub signer_fingerprint: String,
    pub signer_subject: String,
    /// "timestamped by … at …", "not timestamped", or why not.
    pub timestamp: String,
}

/// Build, sign and atomically write the report to `path`. Blocking (~0.3 s):
/// call it from `spawn_blocking`, never on the UI thread.
pub fn export_report_to(
    path: &Path,
    input: &ReportInput,
    identity: &SigningIdentity,
) -> Result<ExportedReport, String> {
    export_timestamped_to(path, input, identity, None)
}

/// [`export_report_to`], timestamped by `tsa` when one is given (a
/// timestamp that cannot be had leaves the report signed; the note says why).
pub fn export_timestamped_to(
    path: &Path,
    input: &ReportInput,
    identity: &SigningIdentity,
    tsa: Option<&TsaConfig>,
) -> Result<ExportedReport, String> {
    write_signed(path, identity, "the report", |at| {
        build_signed_report_with(input, identity, at, tsa)
    })
}

/// Builds a signed report (`build` gets the signing time, to the second) and writes it to
/// `path` atomically; what every export of the app does once it knows the path.
pub fn write_signed(
    path: &Path,
    identity: &SigningIdentity,
    what: &str,
    build: impl FnOnce(time::OffsetDateTime) -> Result<SignedReport, ReportError>,
) -> Result<ExportedReport, String> {
    let now = time::OffsetDateTime::now_utc();
    let at = now.replace_nanosecond(0).unwrap_or(now);
    let signed = build(at).map_err(|e| format!("cannot build {what}: {e}"))?;
    crate::atomic_file::write_atomically(path, &signed.pdf).map_err(|e| e.to_string())?;
    Ok(ExportedReport {
        path: path.to_path_buf(),
        signer_fingerprint: identity.fingerprint_sha256(),
        signer_subject: identity.subject(),
        timestamp: super::timestamp::timestamp_note(&signed.timestamp),
    })
}

/// [`export_report_to`] with the user's default signing identity (created
/// on first use).
fn export_with_default_identity(
    path: &Path,
    input: &ReportInput,
    tsa: Option<&TsaConfig>,
) -> Result<ExportedReport, String> {
    let (identity, _created) = SigningIdentity::load_or_create_default()
        .map_err(|e| format!("cannot load the report signing identity: {e}"))?;
    export_timestamped_to(path, input, &identity, tsa)
}

/// A running scan: its id (to ignore late events) and how to stop it.
struct RunningScan {
    id: u64,
    abort: AbortHandle,
}

/// The runtime handle, the channel and the running scan.
pub struct Jobs {
    runtime: Option<Handle>,
    ctx: egui::Context,
    tx: Sender<JobEvent>,
    rx: Receiver<JobEvent>,
    scan: Option<RunningScan>,
    next_scan: u64,
}

/// The one call into the scanner. Kept apart so the GUI depends on a single
/// signature of `crate::scan`. `prove` runs those probes after collecting
/// (the caller has checked `crate::scan::probe_refusal`).
pub async fn scan_adapter(
    params: ConnParams,
    prove: Option<crate::scan::ProbeOptions>,
    steps: StepSink,
) -> Result<Snapshot, ScanFailure> {
    let progress: crate::scan::Progress = Arc::new(move |p: crate::scan::ScanProgress| {
        steps(ScanStep {
            step: p.step,
            done: p.done,
            total: p.total,
        })
    });
    let options = crate::scan::ScanOptions {
        prove,
        ..crate::scan::ScanOptions::default()
    };
    crate::scan::scan_live(&params, &options, progress)
        .await
        .map_err(|e| ScanFailure {
            message: e.to_string(),
        })
}

impl Jobs {
    pub fn new(ctx: egui::Context, runtime: Option<Handle>) -> Jobs {
        let (tx, rx) = channel();
        Jobs {
            runtime,
            ctx,
            tx,
            rx,
            scan: None,
            next_scan: 1,
        }
    }

    /// Everything that arrived since the last frame.
    pub fn drain(&self) -> Vec<JobEvent> {
        self.rx.try_iter().collect()
    }

    /// The id of the running scan, if any.
    pub fn running_scan(&self) -> Option<u64> {
        self.scan.as_ref().map(|s| s.id)
    }

    /// Forget the scan once its result arrived.
    pub fn scan_finished(&mut self, id: u64) {
        if self.running_scan() == Some(id) {
            self.scan = None;
        }
    }

    /// Start a scan, with probes when `prove` says which; an already
    /// running one is cancelled first.
    pub fn start_scan(
        &mut self,
        params: ConnParams,
        prove: Option<crate::scan::ProbeOptions>,
    ) -> Result<u64, String> {
        let runtime = self.runtime_or_err()?;
        self.cancel_scan();
        let id = self.next_scan;
        self.next_scan += 1;
        let progress_sender = self.sender();
        let progress: StepSink = Arc::new(move |progress| {
            progress_sender.send(JobEvent::ScanProgress { scan: id, progress });
        });
        let done = self.sender();
        let task = runtime.spawn(async move {
            let result = scan_adapter(params, prove, progress).await;
            done.send(JobEvent::ScanFinished { scan: id, result });
        });
        self.scan = Some(RunningScan {
            id,
            abort: task.abort_handle(),
        });
        Ok(id)
    }

    /// Stop the running scan; its connection is dropped with the task.
    pub fn cancel_scan(&mut self) -> bool {
        match self.scan.take() {
            Some(scan) => {
                scan.abort.abort();
                true
            }
            None => false,
        }
    }

    /// Ask where to save a session, then write it there.
    pub fn save_session_as(&self, session: SessionFile, suggested: String) -> Result<(), String> {
        let runtime = self.runtime_or_err()?;
        let out = self.sender();
        runtime.spawn(async move {
            let Some(path) = save_dialog("Save session", &suggested, "Session", "json").await
            else {
                return;
            };
            out.send(JobEvent::SessionSaved(write_session(session, path).await));
        });
        Ok(())
    }

    /// Write a session to a known path.
    pub fn save_session_to(&self, session: SessionFile, path: PathBuf) -> Result<(), String> {
        let runtime = self.runtime_or_err()?;
        let out = self.sender();
        runtime.spawn(async move {
            out.send(JobEvent::SessionSaved(write_session(session, path).await));
        });
        Ok(())
    }

    /// Ask for a session file and read it.
    pub fn open_session(&self) -> Result<(), String> {
        let runtime = self.runtime_or_err()?;
        let out = self.sender();
        runtime.spawn(async move {
            let picked = rfd::AsyncFileDialog::new()
                .set_title("Open session")
                .add_filter("Session", &["json"])
                .pick_file()
                .await;
            let Some(file) = picked else { return };
            out.send(JobEvent::SessionOpened(
                read_session(file.path().to_path_buf()).await,
            ));
        });
        Ok(())
    }

    /// Read a session from a known path (e.g. given on the command line).
    pub fn open_session_at(&self, path: PathBuf) -> Result<(), String> {
        let runtime = self.runtime_or_err()?;
        let out = self.sender();
        runtime.spawn(async move {
            out.send(JobEvent::SessionOpened(read_session(path).await));
        });
        Ok(())
    }

    /// Ask where to save a text file (fix SQL), then write it.
    pub fn save_text_as(
        &self,
        what: String,
        suggested: String,
        text: String,
    ) -> Result<(), String> {
        let runtime = self.runtime_or_err()?;
        let out = self.sender();
        runtime.spawn(async move {
            let Some(path) = save_dialog("Save fix as SQL", &suggested, "SQL", "sql").await else {
                return;
            };
            let result = write_text(path, text).await;
            out.send(JobEvent::FileSaved { what, result });
        });
        Ok(())
    }

    /// Ask where to save the signed PDF report, then build, sign (and
    /// timestamp at `tsa`) and write it.
    pub fn export_report_as(
        &self,
        input: ReportInput,
        suggested: String,
        tsa: Option<TsaConfig>,
    ) -> Result<(), String> {
        let runtime = self
            .runtime_or_err()
            .map_err(|e| format!("cannot export the report: {e}"))?;
        let out = self.sender();
        runtime.spawn(async move {
            let Some(path) = save_dialog("Export signed report", &suggested, "PDF", "pdf").await
            else {
                return;
            };
            let result = tokio::task::spawn_blocking(move || {
                export_with_default_identity(&path, &input, tsa.as_ref())
            })
            .await
            .unwrap_or_else(|e| Err(format!("exporting the report stopped unexpectedly: {e}")));
            out.send(JobEvent::ReportExported(result));
        });
        Ok(())
    }

    /// Ask for a certificate or key file.
    pub fn pick_certificate(&self, slot: CertSlot) -> Result<(), String> {
        let runtime = self.runtime_or_err()?;
        let out = self.sender();
        runtime.spawn(async move {
            let picked = rfd::AsyncFileDialog::new()
                .set_title(match slot {
                    CertSlot::RootCert => "Choose the CA certificate",
                    CertSlot::ClientCert => "Choose the client certificate",
                    CertSlot::ClientKey => "Choose the client key",
                })
                .pick_file()
                .await;
            if let Some(file) = picked {
                let path = file.path().to_path_buf();
                out.send(JobEvent::CertificatePicked { slot, path });
            }
        });
        Ok(())
    }

    /// Persist preferences off the UI thread (synchronously without a runtime:
    /// then the store is in memory or the write is tiny).
    pub fn save_prefs(&self, store: super::profiles::PrefsStore, prefs: super::profiles::Prefs) {
        let write = move || store.save(&prefs).map_err(|e| e.to_string());
        match &self.runtime {
            Some(runtime) => {
                let out = self.sender();
                runtime.spawn_blocking(move || out.send(JobEvent::PrefsSaved(write())));
            }
            None => self.sender().send(JobEvent::PrefsSaved(write())),
        }
    }

    /// Scan afresh and preview `check_id`'s fix on the apply session.
    pub fn preview_fix(&self, applier: Applier, check_id: String) -> Result<(), String> {
        let runtime = self.runtime_or_err()?;
        let out = self.sender();
        runtime.spawn(async move {
            let result = applier.preview(&check_id).await;
            out.send(JobEvent::PreviewReady(
                result
                    .map(Box::new)
                    .map_err(|e| untrusted::one_line(&e.to_string())),
            ));
        });
        Ok(())
    }

    /// Preview the undo of a logged entry.
    pub fn preview_rollback(&self, applier: Applier, entry: ChangeLogEntry) -> Result<(), String> {
        let runtime = self.runtime_or_err()?;
        let out = self.sender();
        runtime.spawn(async move {
            let result = applier.preview_rollback(&entry).await;
            out.send(JobEvent::PreviewReady(
                result
                    .map(Box::new)
                    .map_err(|e| untrusted::one_line(&e.to_string())),
            ));
        });
        Ok(())
    }

    /// Apply a confirmed preview, logging into the change-log file at `log`.
    pub fn apply(
        &self,
        applier: Applier,
        preview: Preview,
        confirmation: Confirmation,
        log: PathBuf,
    ) -> Result<(), String> {
        let runtime = self.runtime_or_err()?;
        let out = self.sender();
        runtime.spawn(async move {
            let log = ChangeLog::at(log);
            let result = applier
                .apply(&preview, &confirmation, &log)
                .await
                .map(Box::new)
                .map_err(|e| ApplyFailure {
                    message: untrusted::one_line(&e.to_string()),
                    entry: e.entry().cloned().map(Box::new),
                });
            out.send(JobEvent::Applied(result));
        });
        Ok(())
    }

    /// Start a demo cluster off the UI thread: stop `previous` (a reset),
    /// look for the server programs with `discovery`, then build and start
    /// the demo, reporting each stage.
    pub fn start_demo(
        &self,
        launch: u64,
        discovery: Discovery,
        previous: Option<Arc<DemoCluster>>,
    ) -> Result<(), String> {
        let runtime = self.runtime_or_err()?;
        let out = self.sender();
        runtime.spawn(async move {
            let progress_out = out.clone();
            let started = tokio::task::spawn_blocking(move || {
                // The last owner stops the old server and removes its folder.
                drop(previous);
                let mut progress =
                    |stage| progress_out.send(JobEvent::DemoProgress { launch, stage });
                DemoCluster::start_with(&discovery, &mut progress)
            })
            .await;
            let result = match started {
                Ok(Ok(demo)) => Ok(Arc::new(demo)),
                Ok(Err(e)) => Err(DemoFailure::from(e)),
                Err(e) => Err(DemoFailure::Failed(format!(
                    "starting the demo stopped unexpectedly: {e}"
                ))),
            };
            out.send(JobEvent::DemoStarted { launch, result });
        });
        Ok(())
    }

    /// After an apply on the demo: restart the demo (never another server)
    /// when the entry waits for it, verify, run the deferred steps.
    pub fn settle_demo(
        &self,
        demo: Arc<DemoCluster>,
        applier: Applier,
        entry: ChangeLogEntry,
        log: PathBuf,
    ) -> Result<(), String> {
        let runtime = self.runtime_or_err()?;
        let out = self.sender();
        runtime.spawn(async move {
            let log = ChangeLog::at(log);
            let result = crate::demo::settle_on_demo(&demo, &applier, entry, &log)
                .await
                .map(Box::new)
                .map_err(|e| untrusted::one_line(&e.to_string()));
            out.send(JobEvent::DemoSettled(result));
        });
        Ok(())
    }

    /// Run blocking work (file or store I/O) on the runtime's blocking pool;
    /// `event` turns its result into what the App receives.
    pub fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, String> + Send + 'static,
        event: impl FnOnce(Result<T, String>) -> JobEvent + Send + 'static,
    ) -> Result<(), String> {
        let runtime = self.runtime_or_err()?;
        let out = self.sender();
        runtime.spawn(async move {
            let result = tokio::task::spawn_blocking(work)
                .await
                .unwrap_or_else(|e| Err(format!("a background task stopped unexpectedly: {e}")));
            out.send(event(result));
        });
        Ok(())
    }

    fn runtime_or_err(&self) -> Result<Handle, String> {
        self.runtime
            .clone()
            .ok_or_else(|| "this needs the background runtime, which is not running".to_string())
    }

    /// The runtime, for the jobs kept in other files (`impl Jobs` blocks).
    pub(super) fn runtime_handle(&self) -> Result<Handle, String> {
        self.runtime_or_err()
    }

    /// A sender of events, for the jobs kept in other files.
    pub(super) fn event_sender(&self) -> EventSender {
        self.sender()
    }

    fn sender(&self) -> EventSender {
        EventSender {
            tx: self.tx.clone(),
            ctx: self.ctx.clone(),
        }
    }
}

/// Sends an event and wakes the UI.
#[derive(Clone)]
pub(super) struct EventSender {
    tx: Sender<JobEvent>,
    ctx: egui::Context,
}

impl EventSender {
    pub(super) fn send(&self, event: JobEvent) {
        // A closed channel means the window is gone; nothing is waiting.
        let _ = self.tx.send(event);
        self.ctx.request_repaint();
    }
}

pub(super) async fn save_dialog(
    title: &str,
    suggested: &str,
    kind: &str,
    ext: &str,
) -> Option<PathBuf> {
    rfd::AsyncFileDialog::new()
        .set_title(title)
        .set_file_name(suggested)
        .add_filter(kind, &[ext])
        .save_file()
        .await
        .map(|file| file.path().to_path_buf())
}

async fn write_session(session: SessionFile, path: PathBuf) -> Result<PathBuf, String> {
    let target = path.clone();
    tokio::task::spawn_blocking(move || session.save(&target))
        .await
        .map_err(|e| format!("saving the session stopped unexpectedly: {e}"))?
        .map_err(|e| e.to_string())?;
    Ok(path)
}

async fn read_session(path: PathBuf) -> Result<(PathBuf, SessionFile), String> {
    let source = path.clone();
    let session = tokio::task::spawn_blocking(move || SessionFile::load(&source))
        .await
        .map_err(|e| format!("reading the session stopped unexpectedly: {e}"))?
        .map_err(|e| e.to_string())?;
    Ok((path, session))
}

async fn write_text(path: PathBuf, text: String) -> Result<PathBuf, String> {
    let target = path.clone();
    tokio::task::spawn_blocking(move || {
        crate::atomic_file::write_atomically(&target, text.as_bytes())
    })
    .await
    .map_err(|e| format!("saving stopped unexpectedly: {e}"))?
    .map_err(|e| e.to_string())?;
    Ok(path)
}

//! The "Restore drill" of the backup section: its form, the drill running
//! on the runtime's blocking pool (it takes seconds to hours), its stages
//! for the progress card, Cancel, and the result with its figures. A
//! finished drill is recorded in the evidence store (when one is open) by
//! the same blocking job.
//!
//! Imports `drill` (the back end), the model's drill record and the store
//! handle; the App owns one [`DrillPanel`] and calls `start`, `cancel` and
//! `poll`; `drill_ui` draws it.

use super::history::StoreHandle;
use crate::drill::{self, Cancel, DrillFrom, DrillGoal, DrillRequest, DrillStage};
use crate::model::drill::DrillRecord;
use eframe::egui;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::runtime::Handle;

/// What the person typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrillForm {
    /// A pg_basebackup folder or base.tar.
    pub backup: String,
    pub archive: String,
    /// Empty: the end of the archive.
    pub target_time: String,
}

impl DrillForm {
    /// The request, or one line saying what is wrong.
    pub fn request(&self) -> Result<DrillRequest, String> {
        let backup = self.backup.trim();
        let archive = self.archive.trim();
        if backup.is_empty() || archive.is_empty() {
            return Err("give the base backup and the WAL archive folder".into());
        }
        let goal = match self.target_time.trim() {
            "" => DrillGoal::Latest,
            text => DrillGoal::Time(OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
                format!("the target time {text:?} is not like 2026-12-07T10:00:00Z")
            })?),
        };
        Ok(DrillRequest::new(
            DrillFrom::BaseBackup {
                backup: PathBuf::from(backup),
                wal_archive: PathBuf::from(archive),
            },
            goal,
        ))
    }
}

/// The stages passed and the one running, shared with the job.
#[derive(Debug, Clone, Default)]
pub struct DrillProgress {
    pub stage: Option<DrillStage>,
    pub done: Vec<DrillStage>,
}

struct Running {
    cancel: Cancel,
    progress: Arc<Mutex<DrillProgress>>,
    finished: mpsc::Receiver<Finished>,
}

/// A drill's outcome and, when a store is open, its record number there.
type Finished = (Result<DrillRecord, String>, Option<Result<u64, String>>);

/// The drill as the App holds it.
pub struct DrillPanel {
    pub form: DrillForm,
    running: Option<Running>,
    /// The last drill's record, or why it could not run.
    pub result: Option<Result<DrillRecord, String>>,
    /// Whether the result was recorded in the evidence store.
    pub recorded: Option<Result<u64, String>>,
    ctx: egui::Context,
    runtime: Option<Handle>,
}

impl DrillPanel {
    pub fn new(ctx: egui::Context, runtime: Option<Handle>) -> DrillPanel {
        DrillPanel {
            form: DrillForm::default(),
            running: None,
            result: None,
            recorded: None,
            ctx,
            runtime,
        }
    }

    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// The progress of the running drill.
    pub fn progress(&self) -> Option<DrillProgress> {
        let running = self.running.as_ref()?;
        Some(
            running
                .progress
                .lock()
                .map(|p| p.clone())
                .unwrap_or_default(),
        )
    }

    /// Starts the drill the form describes; the error is one line for a notice.
    pub fn start(&mut self, store: Option<StoreHandle>) -> Result<(), String> {
        if self.running.is_some() {
            return Ok(());
        }
        let request = self.form.request()?;
        let runtime = self
            .runtime
            .clone()
            .ok_or("the restore drill needs the app's background runtime")?;
        let cancel = Cancel::new();
        let progress = Arc::new(Mutex::new(DrillProgress::default()));
        let (tx, finished) = mpsc::channel();
        let (job_cancel, job_progress, ctx) =
            (cancel.clone(), Arc::clone(&progress), self.ctx.clone());
        runtime.spawn_blocking(move || {
            let outcome = drill::run(&request, &job_cancel, &mut |stage| {
                if let Ok(mut p) = job_progress.lock() {
                    if let Some(previous) = p.stage.replace(stage) {
                        p.done.push(previous);
                    }
                }
                ctx.request_repaint();
            });
            let outcome = outcome.map_err(|e| crate::model::untrusted::one_line(&e.to_string()));
            // Recorded here, off the UI thread.
            let recorded = match (&outcome, store) {
                (Ok(record), Some(store)) => {
                    Some(store.with(|s| s.record_drill(record).map(|r| r.seq)))
                }
                _ => None,
            };
            let _ = tx.send((outcome, recorded));
            ctx.request_repaint();
        });
        self.result = None;
        self.recorded = None;
        self.running = Some(Running {
            cancel,
            progress,
            finished,
        });
        Ok(())
    }

    /// Stops the running drill; its folder and server go before the result comes.
    pub fn cancel(&self) {
        if let Some(running) = &self.running {
            running.cancel.cancel();
        }
    }

    /// Takes a finished drill's result (call each frame).
    pub fn poll(&mut self) {
        let Some(running) = &self.running else {
            return;
        };
        match running.finished.try_recv() {
            Ok((result, recorded)) => {
                self.result = Some(result);
                self.recorded = recorded;
                self.running = None;
            }
            Err(mpsc::TryRecvError::Empty) => {}
            Err(mpsc::TryRecvError::Disconnected) => {
                self.result = Some(Err("the drill stopped without a result".into()));
                self.running = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_says_what_is_missing_or_wrong() {
        let mut form = DrillForm::default();
        assert!(form.request().unwrap_err().contains("base backup"));
        form.backup = "/b".into();
        form.archive = "/a".into();
        assert_eq!(form.request().unwrap().goal, DrillGoal::Latest);
        form.target_time = "yesterday".into();
        assert!(form.request().unwrap_err().contains("yesterday"));
        form.target_time = "2026-12-07T10:00:00Z".into();
        assert!(matches!(form.request().unwrap().goal, DrillGoal::Time(_)));
    }
}

//! Running a plan on its server, step by step, through the same guarded
//! [`Applier`] path as a single fix: each step is previewed afresh, applied,
//! and verified before the next. The first failure stops the run (the
//! engine has already undone that step; a step that applied but left its
//! check failing is rolled back here). Restart-class steps are applied
//! together; when a restart is needed the run stops and says so, and
//! `resume` verifies that the restart happened and continues. The plan file
//! is saved after every step, and every change-log entry names the plan, so
//! an interrupted run can be resumed or rolled back.
//!
//! The plan never restarts a server itself.

use super::files::{PlanFileError, PlanFiles};
use crate::apply::{
    Action, Applier, ApplyError, ChangeLog, ChangeLogEntry, ChangeLogError, ConfigFileAction,
    Confirmation, Guard, Outcome, StatementOutcome,
};
use crate::model::finding::Status;
use crate::model::plan::{PlanRecord, PlanStep, StepState};
use crate::scan;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, thiserror::Error)]
pub enum PlanRunError {
    #[error(transparent)]
    File(#[from] PlanFileError),
    #[error(transparent)]
    ChangeLog(#[from] ChangeLogError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(
        "plan {id} was built for another server (system identifier {expected}, this one is \
         {found}): connect to that server"
    )]
    WrongServer {
        id: String,
        expected: String,
        found: String,
    },
    #[error("plan {id} was rolled back: build a new plan")]
    RolledBack { id: String },
}

/// What a run reports as it goes.
#[derive(Debug)]
pub enum RunEvent<'e> {
    /// A line of progress ("TLS-001: applied; check now pass").
    Progress(String),
    /// A change-log entry written by the run (the CLI records it in the
    /// evidence store).
    Entry(&'e ChangeLogEntry),
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    /// Every step is done.
    Finished,
    /// Restart the server, then resume; these settings wait for it.
    WaitingForRestart { pending: Vec<String> },
    /// A step failed or was refused (or the run was cancelled).
    Stopped { reason: String },
}

/// One run of a plan.
pub struct PlanRun<'a> {
    pub applier: &'a Applier,
    pub log: &'a ChangeLog,
    pub files: &'a PlanFiles,
    /// Set from another thread (Ctrl+C, the GUI's Cancel) to stop before
    /// the next step.
    pub cancel: Option<&'a AtomicBool>,
    pub events: &'a mut (dyn FnMut(RunEvent<'_>) + Send),
}

/// What one step's attempt came to.
enum Attempt {
    Done,
    WaitsForRestart(Vec<String>),
    Failed(String),
}

impl PlanRun<'_> {
    fn say(&mut self, line: String) {
        (self.events)(RunEvent::Progress(line));
    }

    fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::SeqCst))
    }

    fn save(&self, record: &mut PlanRecord) -> Result<(), PlanRunError> {
        record.updated_at = scan::now_rfc3339();
        self.files.save(record)?;
        Ok(())
    }

    /// Apply the plan's pending steps (first run and resume alike).
    pub async fn run(&mut self, record: &mut PlanRecord) -> Result<RunEnd, PlanRunError> {
        if record
            .progress
            .iter()
            .any(|p| p.state == StepState::RolledBack)
        {
            return Err(PlanRunError::RolledBack {
                id: record.plan.id.clone(),
            });
        }
        let applier = self.applier.clone().for_plan(&record.plan.id);
        same_server(&applier, record).await?;
        if record.waiting_for_restart {
            let pending = self.still_pending(&applier, record).await?;
            if !pending.is_empty() {
                self.say(format!(
                    "the server has not been restarted yet: {} still wait(s) for it",
                    pending.join(", ")
                ));
                return Ok(RunEnd::WaitingForRestart { pending });
            }
            self.say("the restart took place: continuing".into());
            record.waiting_for_restart = false;
        }
        record.stopped = None;
        let mut pending_restart: Vec<String> = Vec::new();
        for index in 0..record.plan.steps.len() {
            let step = record.plan.steps[index].clone();
            let state = record.progress[index].state;
            if state == StepState::Done {
                continue;
            }
            if self.cancelled() {
                return self.stop(record, "cancelled before ".to_string() + &step.check_id);
            }
            let waiting_before = !pending_restart.is_empty()
                || record
                    .progress
                    .iter()
                    .any(|p| p.state == StepState::WaitsForRestart && p.check_id != step.check_id);
            if step.phase == crate::model::plan::Phase::AfterRestart && waiting_before {
                break;
            }
            let attempt = self.attempt(&applier, &step, record, index).await?;
            let progress = &mut record.progress[index];
            match attempt {
                Attempt::Done => {
                    progress.state = StepState::Done;
                    progress.message = None;
                    self.save(record)?;
                }
                Attempt::WaitsForRestart(settings) => {
                    progress.state = StepState::WaitsForRestart;
                    progress.message = Some(format!("pending restart: {}", settings.join(", ")));
                    pending_restart.extend(settings);
                    self.save(record)?;
                }
                Attempt::Failed(reason) => {
                    progress.state = StepState::Failed;
                    progress.message = Some(reason.clone());
                    return self.stop(record, format!("{}: {reason}", step.check_id));
                }
            }
        }
        let waiting: Vec<String> = record
            .progress
            .iter()
            .filter(|p| p.state == StepState::WaitsForRestart)
            .map(|p| p.check_id.clone())
            .collect();
        if !waiting.is_empty() {
            record.waiting_for_restart = true;
            self.save(record)?;
            if pending_restart.is_empty() {
                pending_restart = waiting;
            }
            pending_restart.sort();
            pending_restart.dedup();
            return Ok(RunEnd::WaitingForRestart {
                pending: pending_restart,
            });
        }
        self.save(record)?;
        Ok(RunEnd::Finished)
    }

    fn stop(&mut self, record: &mut PlanRecord, reason: String) -> Result<RunEnd, PlanRunError> {
        record.stopped = Some(reason.clone());
        self.save(record)?;
        Ok(RunEnd::Stopped { reason })
    }

    /// Re-check the steps that waited for the restart; what still waits.
    async fn still_pending(
        &mut self,
        applier: &Applier,
        record: &PlanRecord,
    ) -> Result<Vec<String>, PlanRunError> {
        let mut pending = Vec::new();
        for progress in record
            .progress
            .iter()
            .filter(|p| p.state == StepState::WaitsForRestart)
        {
            let Some(last) = progress.entries.last() else {
                continue;
            };
            let entry = self.log.find(last)?;
            let entry = applier.verify(&entry, self.log).await?;
            (self.events)(RunEvent::Entry(&entry));
            pending.extend(entry.pending_restart.iter().cloned());
        }
        pending.sort();
        pending.dedup();
        Ok(pending)
    }

    async fn attempt(
        &mut self,
        applier: &Applier,
        step: &PlanStep,
        record: &mut PlanRecord,
        index: usize,
    ) -> Result<Attempt, PlanRunError> {
        let id = step.check_id.as_str();
        let preview = match applier.preview(id).await {
            Ok(preview) => preview,
            Err(e) => return Ok(Attempt::Failed(e.to_string())),
        };
        if !preview.refusals.is_empty() {
            let nothing = preview
                .refusals
                .iter()
                .all(|r| r.guard == Guard::NothingToApply);
            if nothing && settled(preview.before.status) {
                self.say(format!("{id}: passes already"));
                return Ok(Attempt::Done);
            }
            let reasons: Vec<String> = preview.refusals.iter().map(|r| r.message.clone()).collect();
            return Ok(Attempt::Failed(format!("refused: {}", reasons.join("; "))));
        }
        if let Some(needs) = preview.prerequisites_text() {
            return Ok(Attempt::Failed(format!(
                "{needs}: the plan cannot continue"
            )));
        }
        if preview.irreversible {
            return Ok(Attempt::Failed(
                "irreversible: apply it on its own with `pgsafeguard fix --irreversible`".into(),
            ));
        }
        let config_action = match &preview.config_file {
            None => ConfigFileAction::NotChosen,
            Some(cfg) => match &cfg.not_writable_reason {
                None => ConfigFileAction::WriteWithBackup,
                Some(reason) => {
                    return Ok(Attempt::Failed(format!(
                        "pgSafeguard cannot write {} here ({reason}): save the proposed file \
                         yourself, reload, then resume",
                        cfg.path
                    )))
                }
            },
        };
        let confirmation = Confirmation::yes()
            .typing_database(&preview.database)
            .config_file(config_action);
        let entry = match applier.apply(&preview, &confirmation, self.log).await {
            Ok(entry) => entry,
            Err(e) => {
                if let Some(entry) = e.entry() {
                    (self.events)(RunEvent::Entry(entry));
                    record.progress[index].entries.push(entry.id.clone());
                }
                return Ok(Attempt::Failed(e.to_string()));
            }
        };
        (self.events)(RunEvent::Entry(&entry));
        record.progress[index].entries.push(entry.id.clone());
        self.say(format!("{id}: {}", entry.result()));
        let deferred = entry
            .statements
            .iter()
            .any(|s| s.outcome == StatementOutcome::Deferred);
        if !entry.pending_restart.is_empty() || deferred {
            let mut waits = entry.pending_restart.clone();
            if waits.is_empty() {
                waits.push(format!("{id}'s statements after the restart"));
            }
            return Ok(Attempt::WaitsForRestart(waits));
        }
        match entry.after.as_ref().map(|a| a.status) {
            Some(status) if settled(status) => Ok(Attempt::Done),
            other => {
                let now = other.map_or("not verified".to_string(), |s| s.to_string());
                let undone = self.undo(applier, &entry).await;
                Ok(Attempt::Failed(format!(
                    "applied, but the check is {now} afterwards; {undone}"
                )))
            }
        }
    }

    /// Roll back one entry of this plan; says what happened.
    async fn undo(&mut self, applier: &Applier, entry: &ChangeLogEntry) -> String {
        let preview = match applier.preview_rollback(entry).await {
            Ok(preview) => preview,
            Err(e) => return format!("could not undo it ({e})"),
        };
        if let Some(refusal) = preview.refusals.first() {
            return format!("could not undo it ({})", refusal.message);
        }
        let confirmation = Confirmation::yes()
            .typing_database(&preview.database)
            .config_file(ConfigFileAction::WriteWithBackup);
        match applier.apply(&preview, &confirmation, self.log).await {
            Ok(undo) => {
                (self.events)(RunEvent::Entry(&undo));
                format!("undone ({})", undo.id)
            }
            Err(e) => {
                if let Some(undo) = e.entry() {
                    (self.events)(RunEvent::Entry(undo));
                }
                format!("could not undo it ({e})")
            }
        }
    }

    /// Undo every change this plan made, newest first (read from the change
    /// log, so that an interrupted run is covered too).
    pub async fn rollback(&mut self, record: &mut PlanRecord) -> Result<RunEnd, PlanRunError> {
        let applier = self.applier.clone().for_plan(&record.plan.id);
        let mut entries: Vec<ChangeLogEntry> = self
            .log
            .entries()?
            .into_iter()
            .filter(|e| e.plan_id.as_deref() == Some(record.plan.id.as_str()))
            .filter(|e| e.action == Action::Apply)
            .collect();
        entries.sort_by(|a, b| a.started_at.cmp(&b.started_at));
        let mut failures = Vec::new();
        for entry in entries.iter().rev() {
            if self.cancelled() {
                failures.push("cancelled".to_string());
                break;
            }
            if entry.rolled_back_by.is_some() || entry.outcome == Outcome::RolledBack {
                continue;
            }
            if entry.outcome != Outcome::Applied {
                failures.push(format!(
                    "{} ({}) did not finish: see the change log",
                    entry.check_id, entry.id
                ));
                continue;
            }
            let result = self.undo(&applier, entry).await;
            self.say(format!("{}: {result}", entry.check_id));
            if result.starts_with("undone") {
                if let Some(progress) = record.progress_mut(&entry.check_id) {
                    progress.state = StepState::RolledBack;
                }
            } else {
                failures.push(format!("{}: {result}", entry.check_id));
            }
        }
        record.waiting_for_restart = false;
        if failures.is_empty() {
            for progress in record
                .progress
                .iter_mut()
                .filter(|p| p.state != StepState::Pending)
            {
                progress.state = StepState::RolledBack;
            }
            record.stopped = None;
            self.save(record)?;
            Ok(RunEnd::Finished)
        } else {
            let reason = failures.join("; ");
            self.stop(record, reason)
        }
    }
}

/// A status the plan counts as closed.
fn settled(status: Status) -> bool {
    matches!(
        status,
        Status::Pass | Status::NotApplicable | Status::Attested | Status::Accepted
    )
}

/// Refuse to run a plan on a server other than the one it was built for.
async fn same_server(applier: &Applier, record: &PlanRecord) -> Result<(), PlanRunError> {
    let Some(expected) = &record.plan.target.system_identifier else {
        return Ok(());
    };
    let (snapshot, _) = applier.scan_and_evaluate().await?;
    match &snapshot.target.system_identifier {
        Some(found) if found != expected => Err(PlanRunError::WrongServer {
            id: record.plan.id.clone(),
            expected: expected.clone(),
            found: found.clone(),
        }),
        _ => Ok(()),
    }
}

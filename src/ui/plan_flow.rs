//! Hardening plans as the App runs them: "Fix all in this section…" and
//! "Fix everything…" build a plan on the runtime and open its window; Apply
//! runs the ticked steps through the guarded apply path, recording each
//! change-log entry (with the plan id) in the session and the evidence
//! store; Cancel stops before the next step; Resume continues after the
//! restart. Only the live demo is restarted by the app.
//!
//! A part of the App kept in its own file (an `impl App` block): it imports
//! `app`, and nothing imports it.

use super::app::App;
use super::plan_window::{PlanEvent, PlanStage, PlanWindow};
use super::theme::NoticeKind;
use crate::apply::plan::{RunEnd, Selection};
use crate::model::finding::Section;
use crate::model::plan::{PlanRecord, StepState};

impl App {
    /// The open plan window (test API).
    pub fn plan_window(&self) -> Option<&PlanWindow> {
        self.plan_window.as_ref()
    }

    pub(super) fn open_plan(&mut self, scope: Option<Section>) {
        if self
            .plan_window
            .as_ref()
            .is_some_and(PlanWindow::is_running)
            || self.apply_busy()
        {
            return;
        }
        let Some(applier) = self.applier() else {
            return;
        };
        let selection = scope.map_or(Selection::All, Selection::Section);
        match self.jobs.build_plan(applier, selection) {
            Ok(()) => self.plan_window = Some(PlanWindow::building(scope)),
            Err(e) => self.notify(NoticeKind::Error, e),
        }
    }

    pub(super) fn toggle_plan_step(&mut self, check_id: &str) {
        if let Some(window) = self.plan_window.as_mut() {
            window.toggle(check_id);
        }
    }

    pub(super) fn apply_plan(&mut self) {
        let Some(plan) = self
            .plan_window
            .as_ref()
            .filter(|w| w.stage == PlanStage::Review)
            .and_then(PlanWindow::chosen_plan)
        else {
            return;
        };
        let record = PlanRecord::new(plan, &crate::scan::now_rfc3339());
        self.run_plan(record);
    }

    pub(super) fn resume_plan(&mut self) {
        let Some(record) = self.plan_window.as_ref().and_then(|w| w.record.clone()) else {
            return;
        };
        self.run_plan(record);
    }

    fn run_plan(&mut self, record: PlanRecord) {
        let Some(applier) = self.applier() else {
            return;
        };
        let demo = self
            .on_live_demo()
            .then(|| self.demo.running.clone())
            .flatten();
        let Some(window) = self.plan_window.as_mut() else {
            return;
        };
        window
            .cancel
            .store(false, std::sync::atomic::Ordering::SeqCst);
        let total = record.progress.len();
        let done = done_steps(&record);
        let cancel = std::sync::Arc::clone(&window.cancel);
        match self
            .jobs
            .run_plan(applier, record, self.change_log_path.clone(), cancel, demo)
        {
            Ok(()) => window.stage = PlanStage::Running { done, total },
            Err(e) => window.stage = PlanStage::Ended(e),
        }
    }

    pub(super) fn cancel_plan(&mut self) {
        if let Some(window) = self.plan_window.as_ref() {
            window.cancel();
        }
    }

    pub(super) fn close_plan(&mut self) {
        if !self
            .plan_window
            .as_ref()
            .is_some_and(PlanWindow::is_running)
        {
            self.plan_window = None;
        }
    }

    pub(super) fn on_plan_event(&mut self, event: PlanEvent) {
        match event {
            PlanEvent::Built(Ok(plan)) => {
                if let Some(window) = self.plan_window.as_mut() {
                    window.built(*plan);
                }
            }
            PlanEvent::Built(Err(e)) => {
                if let Some(window) = self.plan_window.as_mut() {
                    window.stage = PlanStage::Ended(e);
                }
            }
            PlanEvent::Progress(line) => {
                if let Some(window) = self.plan_window.as_mut() {
                    if let PlanStage::Running { done, .. } = &mut window.stage {
                        *done += 1;
                    }
                    window.lines.push(line);
                }
            }
            PlanEvent::Entry(entry) => self.record_change(&entry),
            PlanEvent::Ended { record, result } => {
                let id = record.plan.id.clone();
                let stage = match result {
                    Ok(RunEnd::Finished) => {
                        PlanStage::Ended(format!("plan {id}: every step applied and verified"))
                    }
                    Ok(RunEnd::WaitingForRestart { pending }) => {
                        PlanStage::WaitingForRestart(format!(
                            "plan {id} stopped for the restart ({}): restart the server, then \
                             resume",
                            pending.join(", ")
                        ))
                    }
                    Ok(RunEnd::Stopped { reason }) => {
                        PlanStage::Ended(format!("plan {id} stopped: {reason}"))
                    }
                    Err(e) => PlanStage::Ended(e),
                };
                if let Some(window) = self.plan_window.as_mut() {
                    window.stage = stage;
                    window.record = Some(*record);
                }
                // The findings follow the server.
                if self.scan.is_none() {
                    self.rescan(None);
                }
            }
        }
    }
}

fn done_steps(record: &PlanRecord) -> usize {
    record
        .progress
        .iter()
        .filter(|p| p.state == StepState::Done)
        .count()
}

//! The "Fix all in this section…" / "Fix everything…" window as state: the
//! plan built on the runtime, which of its steps the DBA ticked, where the
//! run is, its progress lines and the cancel flag the run reads between
//! steps. Pure: `plan_ui` draws it, `plan_flow` (the App) moves it,
//! `plan_jobs` fills it.
//!
//! Imports `apply` (the plan types and the run's end) and the model; no
//! other ui module.

use crate::apply::plan::RunEnd;
use crate::model::changelog::ChangeLogEntry;
use crate::model::finding::Section;
use crate::model::plan::{HardeningPlan, PlanRecord, SkipReason, SkippedStep};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Where the window is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanStage {
    /// The plan is being built (a fresh scan).
    Building,
    /// The DBA reviews and ticks steps.
    Review,
    /// Steps are being applied; `done` of `total` finished.
    Running { done: usize, total: usize },
    /// Applied up to the restart: restart the server, then resume.
    WaitingForRestart(String),
    /// Finished, stopped or failed: the one-line outcome.
    Ended(String),
}

/// What the plan jobs report.
#[derive(Debug)]
pub enum PlanEvent {
    Built(Result<Box<HardeningPlan>, String>),
    Progress(String),
    Entry(Box<ChangeLogEntry>),
    /// The run ended; the record as it was saved.
    Ended {
        record: Box<PlanRecord>,
        result: Result<RunEnd, String>,
    },
}

/// The open plan window.
#[derive(Debug)]
pub struct PlanWindow {
    /// `None`: every section.
    pub scope: Option<Section>,
    pub plan: Option<HardeningPlan>,
    /// The ticked steps (check ids); all of them at first.
    pub chosen: BTreeSet<String>,
    pub stage: PlanStage,
    /// Progress lines of the run, oldest first.
    pub lines: Vec<String>,
    /// The plan as applied (for resuming after the restart).
    pub record: Option<PlanRecord>,
    /// Set by Cancel; the run stops before its next step.
    pub cancel: Arc<AtomicBool>,
}

impl PlanWindow {
    pub fn building(scope: Option<Section>) -> PlanWindow {
        PlanWindow {
            scope,
            plan: None,
            chosen: BTreeSet::new(),
            stage: PlanStage::Building,
            lines: Vec::new(),
            record: None,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The window's title.
    pub fn title(&self) -> String {
        match self.scope {
            Some(section) => format!("Fix all in {}", section.title()),
            None => "Fix everything".into(),
        }
    }

    pub fn built(&mut self, plan: HardeningPlan) {
        self.chosen = plan.steps.iter().map(|s| s.check_id.clone()).collect();
        self.plan = Some(plan);
        self.stage = PlanStage::Review;
    }

    pub fn toggle(&mut self, check_id: &str) {
        if self.stage != PlanStage::Review {
            return;
        }
        if !self.chosen.remove(check_id) {
            self.chosen.insert(check_id.to_string());
        }
    }

    /// Work runs: the window cannot be closed, only cancelled.
    pub fn is_running(&self) -> bool {
        matches!(self.stage, PlanStage::Building | PlanStage::Running { .. })
    }

    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// The plan with only the ticked steps; a step whose prerequisite was
    /// left out is left out too, and listed as skipped.
    pub fn chosen_plan(&self) -> Option<HardeningPlan> {
        let mut plan = self.plan.clone()?;
        let mut kept: Vec<String> = Vec::new();
        let mut steps = Vec::new();
        for step in std::mem::take(&mut plan.steps) {
            if !self.chosen.contains(&step.check_id) {
                continue;
            }
            if let Some(missing) = step.needs_first.iter().find(|f| !kept.contains(f)) {
                plan.skipped.push(SkippedStep {
                    check_id: step.check_id.clone(),
                    title: step.title.clone(),
                    reason: SkipReason::Prerequisite,
                    detail: format!("needs {missing} first, which was left out"),
                });
                continue;
            }
            kept.push(step.check_id.clone());
            steps.push(step);
        }
        plan.steps = steps;
        plan.config_files
            .retain(|f| f.checks.iter().all(|c| kept.contains(c)));
        Some(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::changelog::ChangeTarget;
    use crate::model::plan::{Phase, PlanStep, PLAN_FORMAT};

    fn step(id: &str, needs: &[&str]) -> PlanStep {
        PlanStep {
            check_id: id.into(),
            section: Section::Transit,
            title: id.into(),
            phase: Phase::BeforeRestart,
            apply: Vec::new(),
            statements: Vec::new(),
            rollback: Vec::new(),
            config_file: None,
            needs_first: needs.iter().map(|n| (*n).to_string()).collect(),
            prerequisite_of: Vec::new(),
            note: String::new(),
        }
    }

    #[test]
    fn leaving_out_a_prerequisite_leaves_out_what_needs_it() {
        let mut window = PlanWindow::building(None);
        window.built(HardeningPlan {
            format: PLAN_FORMAT.into(),
            id: "p".into(),
            created_at: String::new(),
            target: ChangeTarget::default(),
            selection: String::new(),
            steps: vec![
                step("TLS-001", &[]),
                step("TLS-003", &[]),
                step("TLS-004", &["TLS-001"]),
            ],
            skipped: Vec::new(),
            config_files: Vec::new(),
        });
        assert_eq!(window.chosen.len(), 3);
        window.toggle("TLS-001");
        let plan = window.chosen_plan().unwrap();
        let ids: Vec<&str> = plan.steps.iter().map(|s| s.check_id.as_str()).collect();
        assert_eq!(ids, ["TLS-003"]);
        assert_eq!(plan.skipped[0].check_id, "TLS-004");
        assert_eq!(plan.skipped[0].reason, SkipReason::Prerequisite);
    }
}

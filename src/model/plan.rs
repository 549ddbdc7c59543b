//! A hardening plan as data: the ordered fix steps for many checks, what is
//! left out and why, where the one restart falls, and how far the plan got on
//! its server (the plan file).
//!
//! `apply::plan` builds, renders, runs and stores plans; the CLI and the GUI
//! show them; the change-log entries a plan wrote carry its id
//! ([`super::changelog::ChangeLogEntry::plan_id`]). Imports only `model`.

use super::changelog::ChangeTarget;
use super::finding::{ApplyClass, Section};
use super::statement::Statement;
use serde::{Deserialize, Serialize};

/// The `format` of a plan file.
pub const PLAN_FORMAT: &str = "pgsafeguard.plan/1";

/// An ordered plan for closing many gaps in one maintenance window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardeningPlan {
    pub format: String,
    /// Unique: UTC time stamp and a random suffix. Printed first, so that an
    /// interrupted plan can be resumed or rolled back by it.
    pub id: String,
    /// UTC, RFC 3339: when the scan the plan was built from was taken.
    pub created_at: String,
    pub target: ChangeTarget,
    /// What the DBA asked for, in words (`every failing check`, `section transit` …).
    pub selection: String,
    /// In the order they run: everything before the restart, then what waits for it.
    pub steps: Vec<PlanStep>,
    /// Never attempted, with the reason.
    pub skipped: Vec<SkippedStep>,
    /// Each configuration file as it reads once every step that edits it ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config_files: Vec<MergedConfigFile>,
}

/// Before or after the plan's one restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    BeforeRestart,
    AfterRestart,
}

/// One check's fix inside a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanStep {
    pub check_id: String,
    pub section: Section,
    pub title: String,
    pub phase: Phase,
    pub apply: Vec<ApplyClass>,
    /// The statements as planned from the scan; applying previews afresh.
    pub statements: Vec<Statement>,
    pub rollback: Vec<Statement>,
    /// `hba_file` or `ident_file` when the step edits a configuration file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_file: Option<String>,
    /// Steps of this plan that must run first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs_first: Vec<String>,
    /// Not asked for: in the plan because these steps need it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prerequisite_of: Vec<String>,
    pub note: String,
}

impl PlanStep {
    /// True when the step changes a setting that takes effect at the restart.
    pub fn restart_class(&self) -> bool {
        self.apply.contains(&ApplyClass::Restart)
    }
}

/// Why a failing check's fix is not in the plan's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// A guard would refuse it (lockout, last superuser, listen_addresses).
    Guard,
    /// It needs something pgSafeguard cannot know (a key, a subnet).
    NeedsInput,
    /// No statement can do it: a person does it.
    Advice,
    /// It cannot be undone: apply it on its own, acknowledging that.
    Irreversible,
    /// A step it needs first is skipped.
    Prerequisite,
}

impl SkipReason {
    pub fn label(self) -> &'static str {
        match self {
            SkipReason::Guard => "a guard would refuse it",
            SkipReason::NeedsInput => "needs input pgSafeguard cannot know",
            SkipReason::Advice => "advice: no statement can do it",
            SkipReason::Irreversible => "irreversible: apply it on its own",
            SkipReason::Prerequisite => "a prerequisite is skipped",
        }
    }
}

/// A failing check left out of the steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedStep {
    pub check_id: String,
    pub title: String,
    pub reason: SkipReason,
    pub detail: String,
}

/// A configuration file with every planned edit merged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergedConfigFile {
    /// `hba_file` or `ident_file`.
    pub file: String,
    pub path: String,
    /// The steps that edit it, in order.
    pub checks: Vec<String>,
    /// The file once they all ran (secret option values redacted).
    pub lines: Vec<String>,
}

impl HardeningPlan {
    /// True when a step waits for the restart or changes a restart setting.
    pub fn needs_restart(&self) -> bool {
        self.steps
            .iter()
            .any(|s| s.restart_class() || s.phase == Phase::AfterRestart)
    }

    pub fn step(&self, check_id: &str) -> Option<&PlanStep> {
        self.steps.iter().find(|s| s.check_id == check_id)
    }
}

/// Where one step of a plan stands on its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Not attempted yet.
    Pending,
    /// Applied and verified: the check passes.
    Done,
    /// Applied; takes effect (or finishes) after the restart.
    WaitsForRestart,
    /// Applied, but the check still fails.
    StillFailing,
    /// The server or a guard refused it; what ran was undone.
    Failed,
    /// Undone by the plan's rollback.
    RolledBack,
}

/// One step's progress and the change-log entries it wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepProgress {
    pub check_id: String,
    pub state: StepState,
    /// Change-log entry ids, oldest first (a step applied again after the
    /// restart has two).
    #[serde(default)]
    pub entries: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The plan file: the plan and how far it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRecord {
    pub plan: HardeningPlan,
    pub progress: Vec<StepProgress>,
    /// Set while the plan waits for the server to be restarted.
    #[serde(default)]
    pub waiting_for_restart: bool,
    /// Why the last run stopped early, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// UTC, RFC 3339, of the last change to this record.
    pub updated_at: String,
}

impl PlanRecord {
    /// A record for a plan nothing ran of yet.
    pub fn new(plan: HardeningPlan, now: &str) -> PlanRecord {
        let progress = plan
            .steps
            .iter()
            .map(|s| StepProgress {
                check_id: s.check_id.clone(),
                state: StepState::Pending,
                entries: Vec::new(),
                message: None,
            })
            .collect();
        PlanRecord {
            plan,
            progress,
            waiting_for_restart: false,
            stopped: None,
            updated_at: now.to_string(),
        }
    }

    pub fn progress_mut(&mut self, check_id: &str) -> Option<&mut StepProgress> {
        self.progress.iter_mut().find(|p| p.check_id == check_id)
    }

    pub fn progress(&self, check_id: &str) -> Option<&StepProgress> {
        self.progress.iter().find(|p| p.check_id == check_id)
    }

    /// True when every step is done.
    pub fn finished(&self) -> bool {
        self.progress.iter().all(|p| p.state == StepState::Done)
    }
}

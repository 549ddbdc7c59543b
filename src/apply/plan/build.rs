//! Building a plan from one scan: which failing checks get a step, which are
//! skipped and why, the order (prerequisites first, then catalogue order),
//! the one restart, and each configuration file with every edit merged.
//!
//! Pure: the snapshot, its findings and what the guards know of the apply
//! session go in, a [`HardeningPlan`] comes out; nothing runs. Applying
//! previews every step afresh through the guarded [`crate::apply::Applier`].

use super::super::config_file;
use super::super::guards::{self, SessionContext};
use super::super::preview::today;
use crate::checks::{self, Check};
use crate::model::changelog::ChangeTarget;
use crate::model::finding::{ApplyClass, Finding, FixPlan, Section, Status};
use crate::model::plan::{
    HardeningPlan, MergedConfigFile, Phase, PlanStep, SkipReason, SkippedStep, PLAN_FORMAT,
};
use crate::model::redact::MASK;
use crate::model::snapshot::Snapshot;
use crate::model::statement::{RoleOption, Statement};
use crate::policy::Policy;
use std::collections::{BTreeMap, BTreeSet};

/// The setting whose libraries must exist before a restart.
pub(super) const PRELOAD: &str = "shared_preload_libraries";

/// Every library the findings' fixes would preload (to ask the server
/// which it lacks, once, before planning).
pub fn preload_libraries(findings: &[Finding]) -> Vec<String> {
    let mut libraries: Vec<String> = findings
        .iter()
        .filter_map(|f| f.fix.as_ref())
        .flat_map(|p| &p.statements)
        .filter_map(|s| match s {
            Statement::SetSystem { parameter, values } if parameter == PRELOAD => Some(values),
            _ => None,
        })
        .flatten()
        .cloned()
        .collect();
    libraries.sort();
    libraries.dedup();
    libraries
}

/// Which failing checks the DBA asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    All,
    Section(Section),
    Ids(Vec<String>),
}

impl Selection {
    fn wants(&self, finding: &Finding) -> bool {
        match self {
            Selection::All => true,
            Selection::Section(section) => finding.section == *section,
            Selection::Ids(ids) => ids.contains(&finding.id),
        }
    }

    /// The selection in words, for the plan's header.
    pub fn describe(&self) -> String {
        match self {
            Selection::All => "every failing check".into(),
            Selection::Section(section) => format!("section {}", section.id()),
            Selection::Ids(ids) => format!("checks {}", ids.join(", ")),
        }
    }
}

/// What goes into a plan.
pub struct Inputs<'a> {
    pub snapshot: &'a Snapshot,
    pub findings: &'a [Finding],
    pub policy: &'a Policy,
    /// The apply session as the guards see it.
    pub context: &'a SessionContext,
    pub selection: &'a Selection,
    pub id: String,
    /// Preload libraries the server does not have (or why that could not be
    /// told), from [`crate::apply::Applier::missing_libraries`].
    pub missing_libraries: &'a Result<Vec<String>, String>,
}

/// A failing check whose fix the plan considers.
struct Candidate<'a> {
    check: &'static Check,
    finding: &'a Finding,
    plan: &'a FixPlan,
    /// Catalogue position: the tie-break of the order.
    rank: usize,
    prerequisite_of: Vec<String>,
}

/// The plan for the selection, judged against the snapshot.
pub fn build(input: Inputs<'_>) -> HardeningPlan {
    let candidates = candidates(&input);
    let mut skipped = Vec::new();
    let mut kept: BTreeMap<&str, &Candidate> = BTreeMap::new();
    for candidate in order(&candidates) {
        match skip_reason(&input, candidate, &skipped) {
            Some((reason, detail)) => skipped.push(SkippedStep {
                check_id: candidate.check.id.into(),
                title: candidate.finding.title.clone(),
                reason,
                detail,
            }),
            None => {
                kept.insert(candidate.check.id, candidate);
            }
        }
    }
    let ordered: Vec<&Candidate> = order(&candidates)
        .into_iter()
        .filter(|c| kept.contains_key(c.check.id))
        .collect();
    let mut steps: Vec<PlanStep> = Vec::new();
    for candidate in ordered {
        let phase = phase_of(candidate, &steps);
        steps.push(step_of(candidate, phase, &kept));
    }
    steps.sort_by_key(|s| s.phase);
    let config_files = merge_config_files(&input, &mut steps);
    skipped.sort_by_key(|s| rank_of(&s.check_id));
    let target = &input.snapshot.target;
    HardeningPlan {
        format: PLAN_FORMAT.into(),
        id: input.id,
        created_at: input.snapshot.collected_at.clone(),
        target: ChangeTarget {
            host: target.host.clone(),
            port: target.port,
            dbname: target.dbname.clone(),
            system_identifier: target.system_identifier.clone(),
            server_version: target.server_version.clone(),
        },
        selection: input.selection.describe(),
        steps,
        skipped,
        config_files,
    }
}

fn rank_of(id: &str) -> usize {
    checks::CATALOGUE_IDS
        .iter()
        .position(|c| *c == id)
        .unwrap_or(usize::MAX)
}

/// A finding the plan should close: failing or warning, with a fix.
fn open(finding: &Finding) -> Option<&FixPlan> {
    match finding.status {
        Status::Fail | Status::Warn => finding.fix.as_ref(),
        _ => None,
    }
}

/// The selected open findings, plus the prerequisites they need that are
/// not in place (added even when not selected, and said so).
fn candidates<'a>(input: &Inputs<'a>) -> Vec<Candidate<'a>> {
    let by_id: BTreeMap<&str, &Finding> =
        input.findings.iter().map(|f| (f.id.as_str(), f)).collect();
    let selected: BTreeSet<&str> = input
        .findings
        .iter()
        .filter(|f| input.selection.wants(f) && open(f).is_some())
        .map(|f| f.id.as_str())
        .collect();
    let mut added: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut queue: Vec<&str> = selected.iter().copied().collect();
    while let Some(id) = queue.pop() {
        let Some(check) = checks::find(id) else {
            continue;
        };
        for first in check.prerequisites().needs_first {
            let missing = by_id
                .get(first)
                .is_some_and(|f| f.fix.is_some() && f.status != Status::Accepted);
            if !missing || selected.contains(first) {
                continue;
            }
            let of = added.entry(*first).or_default();
            if of.is_empty() {
                queue.push(*first);
            }
            if !of.iter().any(|o| o == id) {
                of.push(id.to_string());
            }
        }
    }
    let ids = selected.iter().map(|id| (*id, Vec::new())).chain(added);
    ids.filter_map(|(id, prerequisite_of)| {
        let finding = *by_id.get(id)?;
        Some(Candidate {
            check: checks::find(id)?,
            finding,
            plan: finding.fix.as_ref()?,
            rank: rank_of(id),
            prerequisite_of,
        })
    })
    .collect()
}

/// Prerequisites first, otherwise catalogue order (a stable topological
/// order; a prerequisite outside the candidates is ignored here).
fn order<'c, 'a>(candidates: &'c [Candidate<'a>]) -> Vec<&'c Candidate<'a>> {
    let present: BTreeSet<&str> = candidates.iter().map(|c| c.check.id).collect();
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    let mut left: Vec<&Candidate> = candidates.iter().collect();
    left.sort_by_key(|c| (!takes_away_login_or_superuser(c.plan), c.rank));
    let mut out = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let ready = left.iter().position(|c| {
            c.check
                .prerequisites()
                .needs_first
                .iter()
                .all(|first| !present.contains(first) || placed.contains(first))
        });
        // A cycle in the declarations: fall back to catalogue order.
        let at = ready.unwrap_or(0);
        let next = left.remove(at);
        placed.insert(next.check.id);
        out.push(next);
    }
    out
}

/// Steps that take LOGIN or SUPERUSER away go first (prerequisites allowing). Checks that
/// judge personal login roles (AUTH-012's expiry, AUTH-016's idle timeouts, …) are previewed
/// afresh when their step runs, so they are then fixed for the roles that will still log in,
/// not for a role a later step disables (whose fix would leave the check failing).
fn takes_away_login_or_superuser(plan: &FixPlan) -> bool {
    plan.statements.iter().any(|s| match s {
        Statement::AlterRole { options, .. } => options
            .iter()
            .any(|o| matches!(o, RoleOption::Login(false) | RoleOption::Superuser(false))),
        _ => false,
    })
}

fn skip_reason(
    input: &Inputs<'_>,
    candidate: &Candidate<'_>,
    skipped: &[SkippedStep],
) -> Option<(SkipReason, String)> {
    let plan = candidate.plan;
    let needs = candidate.check.prerequisites();
    if let Some(accepted) = needs.needs_first.iter().find(|first| {
        input
            .findings
            .iter()
            .any(|f| f.id == **first && f.status == Status::Accepted)
    }) {
        return Some((
            SkipReason::Prerequisite,
            format!("needs {accepted} first, which the policy accepts as a risk"),
        ));
    }
    if let Some(skipped_first) = needs
        .needs_first
        .iter()
        .find_map(|first| skipped.iter().find(|s| s.check_id == *first))
    {
        return Some((
            SkipReason::Prerequisite,
            format!(
                "needs {} first, which is skipped ({})",
                skipped_first.check_id,
                skipped_first.reason.label()
            ),
        ));
    }
    if plan.statements.is_empty() && plan.config_edit.is_none() {
        return Some((SkipReason::Advice, plan.note.clone()));
    }
    if let Some(input_needed) = needs.needs_input {
        return Some((SkipReason::NeedsInput, format!("needs {input_needed}")));
    }
    if plan.irreversible {
        return Some((
            SkipReason::Irreversible,
            format!(
                "cannot be undone: apply it on its own with `pgsafeguard fix --id {} \
                 --irreversible` after a backup",
                candidate.check.id
            ),
        ));
    }
    if let Some(edit) = &plan.config_edit {
        let incomplete = config_file::incomplete_lines(&edit.lines, MASK);
        if !incomplete.is_empty() {
            return Some((
                SkipReason::NeedsInput,
                format!("the proposed {} has lines to complete by hand", edit.file),
            ));
        }
    }
    let refusals = guard_refusals(input, plan);
    if let Some(first) = refusals.first() {
        return Some((SkipReason::Guard, first.clone()));
    }
    None
}

/// What the guards would refuse, judged on the scan before anything runs
/// (the apply step judges again on the server as it is then).
fn guard_refusals(input: &Inputs<'_>, plan: &FixPlan) -> Vec<String> {
    let mut refusals: Vec<String> = guards::role_refusals(
        input.snapshot,
        input.context,
        &plan.statements,
        &today(input.snapshot),
    )
    .into_iter()
    .map(|r| r.message)
    .collect();
    for statement in &plan.statements {
        let Statement::SetSystem { parameter, values } = statement else {
            continue;
        };
        if parameter == "listen_addresses" {
            refusals
                .extend(guards::listen_addresses_refusal(input.context, values).map(|r| r.message));
        }
        if parameter == PRELOAD {
            match input.missing_libraries {
                Ok(missing) => {
                    let absent: Vec<&str> = values
                        .iter()
                        .filter(|v| missing.iter().any(|m| m == *v))
                        .map(String::as_str)
                        .collect();
                    if !absent.is_empty() {
                        refusals.push(format!(
                            "the server has no library {}: install its package first (a \
                             missing preload library stops the server from starting)",
                            absent.join(", ")
                        ));
                    }
                }
                Err(why) => refusals.push(format!(
                    "could not check that the preload libraries exist ({why})"
                )),
            }
        }
    }
    if let Some(edit) = plan.config_edit.as_ref().filter(|e| e.file == "hba_file") {
        let before = input.snapshot.hba_rules.as_deref().unwrap_or(&[]);
        if let Some(after) = config_file::parse_hba_lines(&edit.lines) {
            refusals.extend(
                guards::hba_refusal(input.snapshot, input.context, before, &after)
                    .map(|r| r.message),
            );
        }
    }
    refusals
}

/// After the restart when a prerequisite needs it (a preloaded library) or
/// a prerequisite itself waits for it.
fn phase_of(candidate: &Candidate<'_>, placed: &[PlanStep]) -> Phase {
    let needs = candidate.check.prerequisites();
    let waits = needs.needs_first.iter().any(|first| {
        placed.iter().any(|step| {
            step.check_id == *first
                && (step.phase == Phase::AfterRestart
                    || (needs.restart_between && step.restart_class()))
        })
    });
    if waits {
        Phase::AfterRestart
    } else {
        Phase::BeforeRestart
    }
}

fn step_of(candidate: &Candidate<'_>, phase: Phase, kept: &BTreeMap<&str, &Candidate>) -> PlanStep {
    let plan = candidate.plan;
    PlanStep {
        check_id: candidate.check.id.into(),
        section: candidate.finding.section,
        title: candidate.finding.title.clone(),
        phase,
        apply: plan.apply.clone(),
        statements: plan.statements.clone(),
        rollback: plan.rollback.clone(),
        config_file: plan.config_edit.as_ref().map(|e| e.file.clone()),
        needs_first: candidate
            .check
            .prerequisites()
            .needs_first
            .iter()
            .filter(|first| kept.contains_key(*first))
            .map(|first| (*first).to_string())
            .collect(),
        prerequisite_of: candidate.prerequisite_of.clone(),
        note: plan.note.clone(),
    }
}

/// Each edited configuration file as it reads after all its steps: every
/// pg_hba step is planned again on the rules the steps before it leave, so
/// that the edits compose instead of each starting from the scan.
fn merge_config_files(input: &Inputs<'_>, steps: &mut [PlanStep]) -> Vec<MergedConfigFile> {
    let mut merged: Vec<MergedConfigFile> = Vec::new();
    let mut working: Option<Snapshot> = None;
    for step in steps.iter_mut() {
        let Some(file) = step.config_file.clone() else {
            continue;
        };
        let Some(check) = checks::find(&step.check_id) else {
            continue;
        };
        let lines = if file == "hba_file" {
            let snapshot = working.get_or_insert_with(|| input.snapshot.clone());
            let verdict = (check.evaluate)(snapshot, input.policy);
            let plan = check.plan(snapshot, &verdict);
            let lines = plan
                .config_edit
                .as_ref()
                .map(|e| e.lines.clone())
                .unwrap_or_default();
            if let Some(rules) = config_file::parse_hba_lines(&lines) {
                snapshot.hba_rules = Some(rules);
            }
            step.note = plan.note;
            lines
        } else {
            input
                .findings
                .iter()
                .find(|f| f.id == step.check_id)
                .and_then(|f| f.fix.as_ref())
                .and_then(|p| p.config_edit.as_ref())
                .map(|e| e.lines.clone())
                .unwrap_or_default()
        };
        let lines = config_file::redact_secrets(&lines, MASK);
        match merged.iter_mut().find(|m| m.file == file) {
            Some(m) => {
                m.checks.push(step.check_id.clone());
                m.lines = lines;
            }
            None => merged.push(MergedConfigFile {
                path: input
                    .snapshot
                    .setting(&file)
                    .and_then(|s| s.setting.clone())
                    .unwrap_or_default(),
                file,
                checks: vec![step.check_id.clone()],
                lines,
            }),
        }
    }
    merged
}

/// True when a plan step's statements include one that runs after the
/// restart (`CREATE EXTENSION` of a library the same step preloads).
pub fn finishes_after_restart(step: &PlanStep) -> bool {
    step.restart_class()
        && step
            .statements
            .iter()
            .any(|s| matches!(s, Statement::CreateExtension { .. }))
}

/// The apply classes of a step, for showing.
pub fn classes(apply: &[ApplyClass]) -> String {
    apply
        .iter()
        .map(|c| match c {
            ApplyClass::Immediate => "immediate",
            ApplyClass::Reload => "reload",
            ApplyClass::Restart => "restart",
            ApplyClass::ConfigFile => "config-file",
            ApplyClass::Offline => "offline",
            ApplyClass::Os => "os",
            ApplyClass::Manual => "manual",
        })
        .collect::<Vec<_>>()
        .join(", ")
}

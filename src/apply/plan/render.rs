//! A plan as people and tools read it: text for the terminal, a `.sql`
//! script for review, Markdown for a change ticket, and the plan file's JSON.
//!
//! The plan id comes first in every form, so that the ticket names the plan
//! that `--resume` and `--rollback` take. Server strings (names inside
//! statements, file lines, notes) go through `untrusted`.

use super::build::{classes, finishes_after_restart};
use crate::model::plan::{HardeningPlan, Phase, PlanStep};
use crate::model::untrusted;

/// The output formats of `pgsafeguard plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    Text,
    Sql,
    Md,
    Json,
}

pub fn render(plan: &HardeningPlan, format: PlanFormat) -> String {
    match format {
        PlanFormat::Text => text(plan),
        PlanFormat::Sql => sql(plan),
        PlanFormat::Md => markdown(plan),
        PlanFormat::Json => {
            let mut json = serde_json::to_string_pretty(plan).unwrap_or_default();
            json.push('\n');
            json
        }
    }
}

fn server(plan: &HardeningPlan) -> String {
    format!(
        "{}:{}/{} (system identifier {})",
        untrusted::name(&plan.target.host),
        plan.target.port,
        untrusted::name(&plan.target.dbname),
        untrusted::name(
            plan.target
                .system_identifier
                .as_deref()
                .unwrap_or("unknown")
        )
    )
}

/// The steps of one phase, with their position in the whole plan.
fn phase(plan: &HardeningPlan, phase: Phase) -> impl Iterator<Item = (usize, &PlanStep)> {
    plan.steps
        .iter()
        .enumerate()
        .filter(move |(_, s)| s.phase == phase)
        .map(|(i, s)| (i + 1, s))
}

fn step_remarks(step: &PlanStep) -> Vec<String> {
    let mut remarks = vec![format!("takes effect: {}", classes(&step.apply))];
    if !step.needs_first.is_empty() {
        remarks.push(format!("needs {} first", step.needs_first.join(" and ")));
    }
    if !step.prerequisite_of.is_empty() {
        remarks.push(format!(
            "not asked for: a prerequisite of {}",
            step.prerequisite_of.join(", ")
        ));
    }
    if finishes_after_restart(step) {
        remarks.push("its CREATE EXTENSION runs after the restart".into());
    }
    remarks
}

fn restart_line(plan: &HardeningPlan) -> Option<String> {
    if !plan.needs_restart() {
        return None;
    }
    let settings: Vec<&str> = plan
        .steps
        .iter()
        .filter(|s| s.restart_class())
        .map(|s| s.check_id.as_str())
        .collect();
    Some(format!(
        "ONE SERVER RESTART here (for {}): `--apply` stops, you restart the server, then \
         `pgsafeguard plan CONNINFO --resume {}` verifies and continues",
        settings.join(", "),
        untrusted::name(&plan.id)
    ))
}

/// What applying does with the statements shown (every export says it).
const AFRESH: &str = "Applying previews each step again when its turn comes: the statements follow \
     the server as the earlier steps left it, and a step whose check already passes applies nothing.";

pub fn text(plan: &HardeningPlan) -> String {
    let mut out = format!("Plan {}\n", untrusted::name(&plan.id));
    out.push_str(&format!("Server: {}\n", server(plan)));
    out.push_str(&format!(
        "Built from the scan at {} for {}: {} step(s), {} skipped\n",
        untrusted::name(&plan.created_at),
        untrusted::text(&plan.selection),
        plan.steps.len(),
        plan.skipped.len()
    ));
    out.push_str(AFRESH);
    out.push('\n');
    for (phase_of, heading) in [
        (Phase::BeforeRestart, "\nSteps:\n"),
        (Phase::AfterRestart, "\nAfter the restart:\n"),
    ] {
        let steps: Vec<_> = phase(plan, phase_of).collect();
        if phase_of == Phase::AfterRestart {
            if let Some(line) = restart_line(plan) {
                out.push_str(&format!("\n{line}\n"));
            }
        }
        if steps.is_empty() {
            continue;
        }
        out.push_str(heading);
        for (n, step) in steps {
            out.push_str(&format!(
                "{n:>3}. {} {} ({})\n",
                step.check_id,
                untrusted::text(&step.title),
                step_remarks(step).join("; ")
            ));
            for statement in &step.statements {
                out.push_str(&format!(
                    "       {};\n",
                    untrusted::text(&statement.to_string())
                ));
            }
            if let Some(file) = &step.config_file {
                out.push_str(&format!("       edits {file} (merged file below)\n"));
            }
        }
    }
    for merged in &plan.config_files {
        out.push_str(&format!(
            "\n{} ({}) after {}:\n",
            untrusted::name(&merged.path),
            merged.file,
            merged.checks.join(", ")
        ));
        for line in &merged.lines {
            out.push_str(&format!("  {}\n", untrusted::text(line)));
        }
    }
    if !plan.skipped.is_empty() {
        out.push_str("\nSkipped (never attempted):\n");
        for skipped in &plan.skipped {
            out.push_str(&format!(
                "  {} {}: {}: {}\n",
                skipped.check_id,
                untrusted::text(&skipped.title),
                skipped.reason.label(),
                untrusted::text(&skipped.detail)
            ));
        }
    }
    out.push_str("\nRollback, in reverse order:\n");
    for step in plan.steps.iter().rev() {
        out.push_str(&format!("  {}: {}\n", step.check_id, undo_text(step)));
    }
    out
}

fn undo_text(step: &PlanStep) -> String {
    if step.config_file.is_some() {
        return "put the backup copy of the file back and reload".into();
    }
    if step.rollback.is_empty() {
        return "nothing to undo".into();
    }
    step.rollback
        .iter()
        .map(|s| format!("{};", untrusted::text(&s.to_string())))
        .collect::<Vec<_>>()
        .join(" ")
}

/// SQL comment text: one line, no comment terminator games.
fn comment(text: &str) -> String {
    untrusted::one_line(text).replace("*/", "* /")
}

pub fn sql(plan: &HardeningPlan) -> String {
    let mut out = format!("-- pgSafeguard plan {}\n", comment(&plan.id));
    out.push_str(&format!("-- server: {}\n", comment(&server(plan))));
    out.push_str(&format!(
        "-- built from the scan at {} for {}\n",
        comment(&plan.created_at),
        comment(&plan.selection)
    ));
    out.push_str(
        "-- Review only: `pgsafeguard plan --apply` runs these through its guards, one step \
         at a time, verifying each.\n",
    );
    out.push_str(&format!("-- {AFRESH}\n"));
    out.push_str(
        "-- ALTER SYSTEM cannot run inside a transaction block; \
         reload with SELECT pg_reload_conf() after them.\n",
    );
    for (phase_of, heading) in [
        (Phase::BeforeRestart, "before the restart"),
        (Phase::AfterRestart, "after the restart"),
    ] {
        let steps: Vec<_> = phase(plan, phase_of).collect();
        if phase_of == Phase::AfterRestart && plan.needs_restart() {
            out.push_str("\n-- ===== RESTART THE SERVER HERE (one restart) =====\n");
        }
        if steps.is_empty() {
            continue;
        }
        out.push_str(&format!("\n-- ----- {heading} -----\n"));
        for (n, step) in steps {
            out.push_str(&format!(
                "\n-- {n}. {} {} ({})\n",
                step.check_id,
                comment(&step.title),
                comment(&step_remarks(step).join("; "))
            ));
            for statement in &step.statements {
                out.push_str(&format!("{};\n", untrusted::text(&statement.to_string())));
            }
            if let Some(file) = &step.config_file {
                out.push_str(&format!(
                    "-- edits {file}: see the merged file at the end of this script\n"
                ));
            }
        }
    }
    for merged in &plan.config_files {
        out.push_str(&format!(
            "\n-- {} ({}) after {}:\n",
            comment(&merged.path),
            merged.file,
            merged.checks.join(", ")
        ));
        for line in &merged.lines {
            out.push_str(&format!("--   {}\n", comment(line)));
        }
    }
    for skipped in &plan.skipped {
        out.push_str(&format!(
            "\n-- skipped {}: {}: {}",
            skipped.check_id,
            skipped.reason.label(),
            comment(&skipped.detail)
        ));
    }
    out.push_str("\n\n-- ----- rollback, in reverse order (not run) -----\n");
    for step in plan.steps.iter().rev() {
        out.push_str(&format!(
            "-- {}: {}\n",
            step.check_id,
            comment(&undo_text(step))
        ));
    }
    out
}

/// Markdown cell text: one line, pipes escaped.
fn cell(text: &str) -> String {
    untrusted::one_line(text).replace('|', "\\|")
}

pub fn markdown(plan: &HardeningPlan) -> String {
    let mut out = format!("# Hardening plan `{}`\n\n", cell(&plan.id));
    out.push_str(&format!("- Server: {}\n", cell(&server(plan))));
    out.push_str(&format!("- Scan: {}\n", cell(&plan.created_at)));
    out.push_str(&format!("- Scope: {}\n", cell(&plan.selection)));
    out.push_str(&format!("- Note: {AFRESH}\n"));
    out.push_str(&format!(
        "- Restart: {}\n",
        if plan.needs_restart() {
            "one, between the two groups of steps"
        } else {
            "none"
        }
    ));
    out.push_str(&format!(
        "- Apply: `pgsafeguard plan CONNINFO --apply`; resume with `--resume {id}`, undo with \
         `--rollback {id}`\n",
        id = cell(&plan.id)
    ));
    for (phase_of, heading) in [
        (Phase::BeforeRestart, "## Steps"),
        (Phase::AfterRestart, "## After the restart"),
    ] {
        let steps: Vec<_> = phase(plan, phase_of).collect();
        if phase_of == Phase::AfterRestart {
            if let Some(line) = restart_line(plan) {
                out.push_str(&format!("\n> {}\n", cell(&line)));
            }
        }
        if steps.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\n{heading}\n\n| # | Check | Change | Takes effect | Notes |\n"
        ));
        out.push_str("| --- | --- | --- | --- | --- |\n");
        for (n, step) in steps {
            let change = if let Some(file) = &step.config_file {
                format!("edits {file}")
            } else {
                step.statements
                    .iter()
                    .map(|s| format!("`{}`", cell(&s.to_string()).replace('`', "'")))
                    .collect::<Vec<_>>()
                    .join("<br>")
            };
            out.push_str(&format!(
                "| {n} | {} {} | {} | {} | {} |\n",
                step.check_id,
                cell(&step.title),
                change,
                classes(&step.apply),
                cell(&step_remarks(step)[1..].join("; "))
            ));
        }
    }
    for merged in &plan.config_files {
        out.push_str(&format!(
            "\n## {} after {}\n\n```\n",
            cell(&merged.path),
            merged.checks.join(", ")
        ));
        for line in &merged.lines {
            out.push_str(&untrusted::one_line(line).replace("```", "'''"));
            out.push('\n');
        }
        out.push_str("```\n");
    }
    if !plan.skipped.is_empty() {
        out.push_str(
            "\n## Skipped (never attempted)\n\n| Check | Why | Detail |\n| --- | --- | --- |\n",
        );
        for skipped in &plan.skipped {
            out.push_str(&format!(
                "| {} {} | {} | {} |\n",
                skipped.check_id,
                cell(&skipped.title),
                skipped.reason.label(),
                cell(&skipped.detail)
            ));
        }
    }
    out.push_str("\n## Rollback, in reverse order\n\n");
    for step in plan.steps.iter().rev() {
        out.push_str(&format!(
            "1. {}: {}\n",
            step.check_id,
            cell(&undo_text(step))
        ));
    }
    out
}

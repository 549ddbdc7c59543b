//! The plan window: the ordered steps with checkboxes, where the one
//! restart falls, what is skipped and why, then the run's progress with
//! Cancel, and "Resume after the restart".
//!
//! Drawing only: every click is a [`Command`]; the window's state is
//! `plan_window`'s, moved by the App.

use super::command::Command;
use super::plan_window::{PlanStage, PlanWindow};
use super::theme::{self, space, NoticeKind};
use super::widgets;
use crate::apply::plan::build::classes;
use crate::model::plan::{HardeningPlan, Phase};
use crate::model::untrusted;
use eframe::egui;
use egui::{RichText, Ui};

/// The overview's plan button (test API).
pub const FIX_EVERYTHING: &str = "Fix everything…";

/// The Apply button's label (test API).
pub fn apply_label(count: usize) -> String {
    format!("Apply {count} step(s)")
}

pub fn plan_window_ui(ui: &mut Ui, window: &PlanWindow, out: &mut Vec<Command>) {
    let modal = egui::Modal::new(egui::Id::unique("plan_window")).show(ui.ctx(), |ui| {
        ui.set_width(640.0_f32.min(ui.ctx().content_rect().width() - 80.0));
        ui.label(
            RichText::new(format!("{}…", window.title()))
                .size(theme::text::HEADING - 4.0)
                .strong(),
        );
        if let Some(plan) = &window.plan {
            ui.label(
                RichText::new(format!("Plan {}", untrusted::name(&plan.id)))
                    .size(theme::text::SMALL)
                    .color(widgets::palette(ui).muted),
            );
        }
        egui::ScrollArea::vertical()
            .max_height(ui.ctx().content_rect().height() * 0.55)
            .auto_shrink([false, true])
            .show(ui, |ui| match &window.plan {
                Some(plan) => steps_ui(ui, window, plan, out),
                None => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("Scanning the server and planning…");
                    });
                }
            });
        ui.add_space(space::S);
        stage_ui(ui, window, out);
    });
    if modal.should_close() && !window.is_running() {
        out.push(Command::ClosePlan);
    }
}

fn steps_ui(ui: &mut Ui, window: &PlanWindow, plan: &HardeningPlan, out: &mut Vec<Command>) {
    let reviewing = window.stage == PlanStage::Review;
    if plan.steps.is_empty() {
        ui.label("Nothing to apply: no failing check here has a fix that can run.");
    }
    for (phase, heading) in [
        (Phase::BeforeRestart, "Steps"),
        (Phase::AfterRestart, "After the restart"),
    ] {
        let steps: Vec<_> = plan.steps.iter().filter(|s| s.phase == phase).collect();
        if phase == Phase::AfterRestart && plan.needs_restart() {
            widgets::banner(
                ui,
                NoticeKind::Info,
                "One server restart here: the plan stops, you restart the server, then resume.",
                None,
            );
        }
        if steps.is_empty() {
            continue;
        }
        widgets::pane_heading(ui, heading);
        for step in steps {
            let mut ticked = window.chosen.contains(&step.check_id);
            let mut label = format!(
                "{} {} ({})",
                step.check_id,
                untrusted::one_line(&step.title),
                classes(&step.apply)
            );
            if !step.needs_first.is_empty() {
                label.push_str(&format!(" — needs {} first", step.needs_first.join(", ")));
            }
            let check = ui.add_enabled(reviewing, egui::Checkbox::new(&mut ticked, label));
            if check.clicked() {
                out.push(Command::TogglePlanStep(step.check_id.clone()));
            }
        }
    }
    if !plan.skipped.is_empty() {
        egui::CollapsingHeader::new(format!("Skipped ({}): never attempted", plan.skipped.len()))
            .id_salt("plan_skipped")
            .show(ui, |ui| {
                for skipped in &plan.skipped {
                    ui.add(
                        egui::Label::new(
                            RichText::new(format!(
                                "{}: {}: {}",
                                skipped.check_id,
                                skipped.reason.label(),
                                untrusted::one_line(&skipped.detail)
                            ))
                            .size(theme::text::SMALL),
                        )
                        .wrap(),
                    );
                }
            });
    }
    for line in &window.lines {
        ui.label(RichText::new(untrusted::one_line(line)).size(theme::text::SMALL));
    }
}

fn stage_ui(ui: &mut Ui, window: &PlanWindow, out: &mut Vec<Command>) {
    match &window.stage {
        PlanStage::Building => {}
        PlanStage::Review => {
            ui.horizontal(|ui| {
                let count = window.chosen.len();
                if ui
                    .add_enabled(count > 0, egui::Button::new(apply_label(count)))
                    .clicked()
                {
                    out.push(Command::ApplyPlan);
                }
                if ui.button("Close").clicked() {
                    out.push(Command::ClosePlan);
                }
            });
        }
        PlanStage::Running { done, total } => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.add(
                    egui::ProgressBar::new(*done as f32 / (*total).max(1) as f32)
                        .text(format!("{done} of {total} steps")),
                );
                if ui.button("Cancel").clicked() {
                    out.push(Command::CancelPlan);
                }
            });
        }
        PlanStage::WaitingForRestart(message) => {
            widgets::banner(ui, NoticeKind::Warning, message, None);
            ui.horizontal(|ui| {
                if ui.button("Resume after the restart").clicked() {
                    out.push(Command::ResumePlan);
                }
                if ui.button("Close").clicked() {
                    out.push(Command::ClosePlan);
                }
            });
        }
        PlanStage::Ended(message) => {
            widgets::banner(ui, NoticeKind::Info, message, None);
            if ui.button("Close").clicked() {
                out.push(Command::ClosePlan);
            }
        }
    }
}

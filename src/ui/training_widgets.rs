//! Training mode's widgets, drawn inside other parts of the window: the
//! switch in the top bar, a section's lesson ("Why this matters", "Try it")
//! and the next-step suggestion with a button that goes there (on the
//! overview and on each section page).
//!
//! Content and the next-step decision live in `training`; this module only
//! draws them and returns [`Command`]s. Like `widgets`, it sits below the
//! pages: it imports no `*_ui` module, and they may all use it.

use super::check_order::ordered_findings;
use super::command::Command;
use super::theme::{self, space};
use super::training::{self, NextStep};
use super::widgets;
use crate::model::finding::{Finding, Section};
use eframe::egui;
use egui::{RichText, Ui};

/// The top-bar switch. Its label is test API.
pub const TOGGLE_LABEL: &str = "Training mode";

pub fn toggle_ui(ui: &mut Ui, on: bool, out: &mut Vec<Command>) {
    let hint = if on {
        "Hide the training notes (why each section matters, what to try, what to do next)"
    } else {
        "Show why each section matters, what to try and what to do next"
    };
    if ui
        .selectable_label(on, TOGGLE_LABEL)
        .on_hover_text(hint)
        .clicked()
    {
        out.push(Command::ToggleTraining);
    }
}

/// A section's lesson in a collapsible box of at most `max_height`, then
/// the next step.
pub fn section_training_ui(
    ui: &mut Ui,
    section: Section,
    findings: &[Finding],
    max_height: f32,
    markdown: &mut egui_commonmark::CommonMarkCache,
    out: &mut Vec<Command>,
) {
    egui::CollapsingHeader::new(RichText::new("Training: why this matters, what to try").strong())
        .id_salt(("training", section.id()))
        .default_open(true)
        .show(ui, |ui| {
            egui::ScrollArea::vertical()
                .id_salt(("lesson", section.id()))
                .max_height(max_height)
                .auto_shrink([false, true])
                .show(ui, |ui| {
                    ui.set_max_width(ui.available_width().min(space::PROSE_MAX_WIDTH));
                    lesson_ui(ui, section, markdown);
                });
        });
    ui.add_space(space::XS);
    let step = training::next_step(Some(section), |s| ordered_findings(findings, s));
    next_step_ui(ui, &step, out);
}

fn lesson_ui(ui: &mut Ui, section: Section, markdown: &mut egui_commonmark::CommonMarkCache) {
    let lesson = training::lesson(section);
    for (heading, body) in [("Why this matters", lesson.why), ("Try it", lesson.try_it)] {
        ui.label(
            RichText::new(heading)
                .strong()
                .color(widgets::palette(ui).accent),
        );
        egui_commonmark::CommonMarkViewer::new().show(ui, markdown, body);
        ui.add_space(space::XS);
    }
    if let Some(steps) = training::prove_steps(section) {
        ui.label(
            RichText::new(training::PROVE_HEADING)
                .strong()
                .color(widgets::palette(ui).accent),
        );
        egui_commonmark::CommonMarkViewer::new().show(ui, markdown, steps);
    }
}

/// On the overview: where to start.
pub fn overview_training_ui(ui: &mut Ui, findings: &[Finding], out: &mut Vec<Command>) {
    let step = training::next_step(None, |s| ordered_findings(findings, s));
    next_step_ui(ui, &step, out);
}

/// The suggestion on a tinted strip, with a button that goes there.
fn next_step_ui(ui: &mut Ui, step: &NextStep<'_>, out: &mut Vec<Command>) {
    let palette = widgets::palette(ui);
    egui::Frame::new()
        .fill(palette.accent_weak)
        .corner_radius(egui::CornerRadius::same(space::CORNER))
        .inner_margin(egui::Margin::symmetric(space::M as i8, space::S as i8))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                let button = match step {
                    NextStep::Fix(finding) => Some((
                        format!("Go to {}", finding.id),
                        Command::SelectCheck(finding.id.clone()),
                    )),
                    NextStep::Section(section) => Some((
                        format!("Open section {}", section.number()),
                        Command::ShowSection(*section),
                    )),
                    NextStep::Done => None,
                };
                // The button keeps its room; the text wraps in what is left.
                let reserve = if button.is_some() { 130.0 } else { 0.0 };
                ui.allocate_ui_with_layout(
                    egui::vec2(
                        (ui.available_width() - reserve).max(120.0),
                        ui.spacing().interact_size.y,
                    ),
                    egui::Layout::left_to_right(egui::Align::Center),
                    |ui| {
                        ui.add(
                            egui::Label::new(
                                RichText::new(training::next_step_text(step))
                                    .color(palette.text)
                                    .size(theme::text::BODY),
                            )
                            .wrap(),
                        );
                    },
                );
                if let Some((label, command)) = button {
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        if ui.button(label).clicked() {
                            out.push(command);
                        }
                    });
                }
            });
        });
}

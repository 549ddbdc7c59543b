//! Applying a fix from the GUI: the confirmation modal (statements, effect,
//! rollback, refusals, the typed database name for high-impact fixes, the
//! checkbox for irreversible ones) and the "Change log" page with its
//! "Roll back…" buttons.
//!
//! Drawing only: the modal edits its own form fields in place (like other
//! drafts) and returns [`Command`]s; previews and applies run on the
//! runtime through `jobs`. The dialog's state, and the pure [`ConfirmGate`]
//! that makes "Apply" clickable, live in `apply_dialog`.

use super::apply_dialog::{ApplyDialog, ConfirmGate, DialogStage};
use super::command::Command;
use super::theme::{self, space, NoticeKind};
use super::widgets;
use super::wording;
use crate::apply::{Action, ChangeLogEntry, ConfigFileAction, Outcome, Preview, StepKind};
use crate::model::statement::Statement;
use crate::model::untrusted;
use eframe::egui;
use egui::{RichText, Ui};

/// The title of the modal, also its accessible label.
pub fn dialog_title(preview: &Preview) -> String {
    match preview.action {
        Action::Apply => format!("Apply fix for {}", preview.check_id),
        Action::Rollback => format!("Roll back {}", preview.check_id),
    }
}

/// The confirmation modal; edits its form, returns Confirm/Close commands.
pub fn apply_dialog_ui(ui: &mut Ui, dialog: &mut ApplyDialog, out: &mut Vec<Command>) {
    let modal = egui::Modal::new(egui::Id::unique("apply_dialog")).show(ui.ctx(), |ui| {
        ui.set_width(560.0_f32.min(ui.ctx().content_rect().width() - 80.0));
        ui.label(
            RichText::new(dialog_title(&dialog.preview))
                .size(theme::text::HEADING - 4.0)
                .strong(),
        );
        ui.add(egui::Label::new(&dialog.preview.title).wrap());
        egui::ScrollArea::vertical()
            .max_height(ui.ctx().content_rect().height() * 0.6)
            .auto_shrink([false, true])
            .show(ui, |ui| plan_ui(ui, &dialog.preview, &dialog.gate));
        ui.add_space(space::S);
        match &dialog.stage {
            DialogStage::Confirm => confirm_ui(ui, dialog, out),
            DialogStage::Applying => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Applying on a separate session…");
                });
            }
            DialogStage::Settling => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Applied. Restarting the demo server, then checking the result…");
                });
            }
            DialogStage::Applied(entry) => applied_ui(ui, entry, out),
            DialogStage::Failed(error) => {
                widgets::banner(ui, NoticeKind::Error, error, None);
                if ui.button("Close").clicked() {
                    out.push(Command::CloseApplyDialog);
                }
            }
        }
    });
    let running = dialog.stage.is_running();
    if modal.should_close() && !running {
        out.push(Command::CloseApplyDialog);
    }
}

/// Statements, effect, rollback and refusals: exactly what will run.
fn plan_ui(ui: &mut Ui, preview: &Preview, gate: &ConfirmGate) {
    let muted = widgets::palette(ui).muted;
    ui.label(
        RichText::new(format!(
            "Now: {}",
            untrusted::wrapped(&preview.before.evidence)
        ))
        .size(theme::text::SMALL)
        .color(muted),
    );
    if let Some(needs) = preview.prerequisites_text() {
        widgets::banner(ui, NoticeKind::Warning, &needs, None);
    }
    widgets::pane_heading(ui, "Statements");
    let statements = preview.statements();
    if statements.is_empty() {
        ui.label(RichText::new("No SQL statements run now.").color(muted));
    } else {
        widgets::code_block(ui, &script(&statements), "sql");
    }
    let deferred: Vec<&Statement> = preview
        .steps
        .iter()
        .filter(|s| s.kind == StepKind::AfterRestart)
        .map(|s| &s.sql)
        .collect();
    if !deferred.is_empty() {
        ui.label(RichText::new("Not run now: after the restart, apply again to run").strong());
        widgets::code_block(ui, &script(&deferred), "sql");
    }
    if let Some(cfg) = &preview.config_file {
        let (heading, shown) = match &cfg.diff {
            Some(diff) => ("Changes to", diff.lines().map(str::to_string).collect()),
            None => ("New lines for", cfg.shown_lines()),
        };
        ui.label(RichText::new(format!("{heading} {}", untrusted::name(&cfg.path))).strong());
        let lines: Vec<String> = shown.iter().map(|l| untrusted::wrapped(l)).collect();
        widgets::code_block(
            ui,
            &lines.join("\n"),
            if cfg.diff.is_some() { "diff" } else { "txt" },
        );
    }
    widgets::pane_heading(ui, "Effect");
    let classes: Vec<&str> = preview
        .plan
        .apply
        .iter()
        .map(|c| wording::apply_class_word(*c))
        .collect();
    ui.horizontal_wrapped(|ui| {
        for class in &classes {
            widgets::chip(ui, class);
        }
    });
    ui.add(egui::Label::new(preview.effect_text()).wrap());
    widgets::pane_heading(ui, "Rollback");
    if preview.irreversible && preview.rollback.is_empty() {
        widgets::banner(ui, NoticeKind::Warning, "This fix cannot be undone.", None);
    } else if preview.rollback.is_empty() {
        ui.label(RichText::new("No undo statements recorded.").color(muted));
    } else {
        let rollback: Vec<&Statement> = preview.rollback.iter().collect();
        widgets::code_block(ui, &script(&rollback), "sql");
    }
    for note in &preview.notes {
        ui.add(
            egui::Label::new(RichText::new(untrusted::wrapped(note)).size(theme::text::SMALL))
                .wrap(),
        );
    }
    if !gate.refusals.is_empty() {
        widgets::pane_heading(ui, "Refused");
        for reason in &gate.refusals {
            widgets::banner(ui, NoticeKind::Error, reason, None);
        }
    }
}

/// Statements one per line, each ending in a semicolon, for showing: server
/// names inside them are escaped (applying uses the exact statements).
fn script(statements: &[&Statement]) -> String {
    statements
        .iter()
        .map(|s| {
            let s = untrusted::wrapped(s.to_string().trim_end());
            let s = s.as_str();
            if s.ends_with(';') {
                s.to_string()
            } else {
                format!("{s};")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn confirm_ui(ui: &mut Ui, dialog: &mut ApplyDialog, out: &mut Vec<Command>) {
    let gate = &dialog.gate;
    let form = &mut dialog.form;
    if let Some(database) = &gate.typed_database {
        let reasons = untrusted::wrapped(&dialog.preview.high_impact.join("; "));
        ui.add(
            egui::Label::new(format!(
                "High impact ({reasons}). Type the database name {} to confirm.",
                untrusted::name(&format!("\"{database}\""))
            ))
            .wrap(),
        );
        let label = ui.label(RichText::new("Database name").strong());
        ui.add(
            egui::TextEdit::singleline(&mut form.typed)
                .hint_text("type the database name")
                .desired_width(240.0),
        )
        .labelled_by(label.id);
    }
    if gate.irreversible {
        ui.checkbox(
            &mut form.accept_irreversible,
            "I understand this fix cannot be undone",
        );
    }
    if gate.config_file {
        ui.radio_value(
            &mut form.config_file,
            ConfigFileAction::WriteWithBackup,
            "pgSafeguard writes the file (keeping a backup copy)",
        );
        ui.radio_value(
            &mut form.config_file,
            ConfigFileAction::SavedByDba,
            "I saved the new lines myself",
        );
    }
    ui.add_space(space::S);
    let verb = match dialog.preview.action {
        Action::Apply => "Apply",
        Action::Rollback => "Roll back",
    };
    ui.horizontal(|ui| {
        let confirm = ui
            .add_enabled(gate.allows(form), egui::Button::new(verb))
            .on_hover_text("Runs on a separate session with the credentials you connected with")
            .on_disabled_hover_text(disabled_reason(gate));
        if confirm.clicked() {
            out.push(Command::ConfirmApply);
        }
        if ui.button("Cancel").clicked() {
            out.push(Command::CloseApplyDialog);
        }
    });
}

fn disabled_reason(gate: &ConfirmGate) -> String {
    if !gate.refusals.is_empty() {
        return "Refused: see the reasons above".to_string();
    }
    let mut missing = Vec::new();
    if let Some(db) = &gate.typed_database {
        missing.push(format!("type \"{db}\""));
    }
    if gate.irreversible {
        missing.push("tick the irreversible box".to_string());
    }
    if gate.config_file {
        missing.push("choose who writes the file".to_string());
    }
    format!("To enable: {}", missing.join(", "))
}

fn applied_ui(ui: &mut Ui, entry: &ChangeLogEntry, out: &mut Vec<Command>) {
    let kind = if entry.outcome == Outcome::Applied {
        NoticeKind::Success
    } else {
        NoticeKind::Warning
    };
    widgets::banner(ui, kind, &entry.summary(), None);
    evidence_ui(ui, entry);
    if ui.button("Close").clicked() {
        out.push(Command::CloseApplyDialog);
    }
}

/// Before/after evidence of an entry.
fn evidence_ui(ui: &mut Ui, entry: &ChangeLogEntry) {
    for (label, evidence) in [("Before", &entry.before), ("After", &entry.after)] {
        if let Some(evidence) = evidence {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(label).strong());
                ui.label(format!(
                    "{}: {}",
                    evidence.status,
                    untrusted::wrapped(&evidence.evidence)
                ));
            });
        }
    }
}

/// True when the entry is an applied fix not yet undone.
fn may_roll_back(entry: &ChangeLogEntry) -> bool {
    entry.action == Action::Apply
        && entry.outcome == Outcome::Applied
        && entry.rolled_back_by.is_none()
        && !(entry.irreversible && entry.rollback.is_empty())
}

/// The "Change log" page: every apply and rollback of this session.
pub fn change_log_ui(
    ui: &mut Ui,
    entries: &[ChangeLogEntry],
    live: bool,
    busy: bool,
    out: &mut Vec<Command>,
) {
    ui.label(
        RichText::new("Change log")
            .size(theme::text::HEADING)
            .strong(),
    );
    ui.label(
        RichText::new(
            "Fixes applied and rolled back in this session, also written to the change-log file.",
        )
        .color(widgets::palette(ui).muted),
    );
    ui.add_space(space::M);
    if entries.is_empty() {
        ui.label("No changes yet. Apply a fix from a check's fix preview.");
        return;
    }
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for entry in entries.iter().rev() {
                entry_ui(ui, entry, live && !busy, out);
                ui.add_space(space::S);
            }
        });
}

fn entry_ui(ui: &mut Ui, entry: &ChangeLogEntry, can_act: bool, out: &mut Vec<Command>) {
    theme::card(widgets::palette(ui))
        .inner_margin(egui::Margin::symmetric(space::M as i8, space::S as i8))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.add(egui::Label::new(entry.summary()).wrap());
            evidence_ui(ui, entry);
            if may_roll_back(entry) {
                let button = ui
                    .add_enabled(can_act, egui::Button::new("Roll back…"))
                    .on_hover_text("Preview the undo, then confirm it (a separate session)")
                    .on_disabled_hover_text("Rolling back needs a live connection to that server");
                if button.clicked() {
                    out.push(Command::PreviewRollback(entry.id.clone()));
                }
            }
        });
}

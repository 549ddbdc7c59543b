//! Drawing the backup section's "Restore drill": the form (backup, WAL
//! archive, optional target time), the same progress card the demo start
//! uses with a Cancel button, and the last drill's result with its figures.
//! Edits the form lent by `&mut`; everything else is a [`Command`].

use super::command::Command;
use super::drill::{DrillPanel, DrillProgress};
use super::theme::{self, space};
use super::widgets;
use crate::drill::DrillStage;
use crate::model::drill::{DrillOutcome, DrillRecord};
use crate::model::proof::Outcome;
use crate::model::untrusted;
use eframe::egui;
use egui::{RichText, Ui};

/// The button that starts a drill. Test API.
pub const START_DRILL: &str = "Restore drill";
/// The card's collapsible heading. Test API.
pub const DRILL_CARD: &str = "Restore drill: prove that the backups restore";
/// The heading of the progress card. Test API.
pub const DRILL_HEADING: &str = "Restore drill in progress";

/// The stages in the order the back end reports them.
const STAGES: [DrillStage; 8] = [
    DrillStage::CleaningUp,
    DrillStage::Restoring,
    DrillStage::WalkingArchive,
    DrillStage::Recovering,
    DrillStage::Checking,
    DrillStage::Checksums,
    DrillStage::Removing,
    DrillStage::Done,
];

/// The whole card: form or progress, then the last result.
pub fn drill_card_ui(ui: &mut Ui, panel: &mut DrillPanel, out: &mut Vec<Command>) {
    egui::CollapsingHeader::new(RichText::new(DRILL_CARD).strong())
        .id_salt("restore-drill")
        .default_open(panel.is_running() || panel.result.is_some())
        .show(ui, |ui| {
            match panel.progress() {
                Some(progress) => {
                    progress_ui(ui, &progress);
                    if ui.button("Cancel drill").clicked() {
                        out.push(Command::CancelDrill);
                    }
                }
                None => form_ui(ui, panel, out),
            }
            ui.add_space(space::XS);
            match &panel.result {
                Some(Ok(record)) => result_ui(ui, record, panel.recorded.as_ref()),
                Some(Err(message)) => {
                    ui.colored_label(
                        widgets::palette(ui).fail,
                        format!("The drill could not run: {}", untrusted::text(message)),
                    );
                }
                None => {}
            }
        });
    ui.add_space(space::S);
}

fn form_ui(ui: &mut Ui, panel: &mut DrillPanel, out: &mut Vec<Command>) {
    let muted = widgets::palette(ui).muted;
    ui.label(
        RichText::new(
            "Restores a base backup into a throwaway folder on this computer, replays the WAL \
             archive on a private server with archiving off, checks it and removes it. The \
             backup and the archive are only read.",
        )
        .size(theme::text::SMALL)
        .color(muted),
    );
    let form = &mut panel.form;
    for (label, value, hint) in [
        (
            "Base backup",
            &mut form.backup,
            "pg_basebackup folder or base.tar",
        ),
        (
            "WAL archive",
            &mut form.archive,
            "folder archive_command copies to",
        ),
        (
            "Target time",
            &mut form.target_time,
            "empty: the end of the archive; or 2026-12-07T10:00:00Z",
        ),
    ] {
        ui.horizontal(|ui| {
            let name = ui.label(label);
            ui.add(egui::TextEdit::singleline(value).hint_text(hint))
                .labelled_by(name.id);
        });
    }
    if ui.button(START_DRILL).clicked() {
        out.push(Command::StartDrill);
    }
}

fn progress_ui(ui: &mut Ui, progress: &DrillProgress) {
    let position = progress
        .stage
        .and_then(|s| STAGES.iter().position(|x| *x == s))
        .map_or(0, |i| i + 1);
    let done: Vec<String> = progress
        .done
        .iter()
        .map(|s| s.label().to_string())
        .collect();
    let now = progress.stage.map_or("starting", |s| s.label());
    let muted = widgets::palette(ui).muted;
    widgets::progress_card_ui(
        ui,
        |ui| {
            ui.label(RichText::new(DRILL_HEADING).strong());
            ui.label(
                RichText::new("a throwaway copy on this computer; production is only read")
                    .size(theme::text::SMALL)
                    .color(muted),
            );
        },
        position as f32 / STAGES.len() as f32,
        &done,
        now,
    );
}

/// The verdict line of a result. Test API.
pub fn verdict_text(record: &DrillRecord) -> String {
    let rpo = record
        .rpo
        .as_ref()
        .map(|r| format!("{} s", r.seconds))
        .unwrap_or_else(|| String::from("unknown"));
    format!(
        "Drill {}: RTO {:.1} s, RPO {rpo}, {} WAL segments",
        record.outcome.id(),
        record.timings.rto_ms as f64 / 1000.0,
        record.wal.segments
    )
}

fn result_ui(ui: &mut Ui, record: &DrillRecord, recorded: Option<&Result<u64, String>>) {
    let palette = widgets::palette(ui);
    let colour = match record.outcome {
        DrillOutcome::Passed => palette.pass,
        DrillOutcome::Failed => palette.fail,
        DrillOutcome::Inconclusive => palette.muted,
    };
    ui.label(RichText::new(verdict_text(record)).strong().color(colour));
    if let Some(failure) = &record.failure {
        ui.label(untrusted::text(failure));
    }
    for check in &record.checks {
        let mark = match check.outcome {
            Outcome::Holds => "✔",
            Outcome::Broken => "✘",
            Outcome::Inconclusive => "?",
        };
        ui.label(
            RichText::new(format!(
                "{mark} {}: {}",
                check.title,
                untrusted::text(&check.detail)
            ))
            .size(theme::text::SMALL),
        );
    }
    for db in &record.databases {
        let tables: Vec<String> = db
            .phi_tables
            .iter()
            .map(|t| format!("{} ({} rows)", untrusted::name(&t.table), t.rows))
            .collect();
        ui.label(
            RichText::new(format!(
                "{}: {}",
                untrusted::name(&db.name),
                if tables.is_empty() {
                    String::from("no table that looks like PHI")
                } else {
                    tables.join(", ")
                }
            ))
            .size(theme::text::SMALL)
            .color(palette.muted),
        );
    }
    match recorded {
        Some(Ok(seq)) => {
            ui.label(
                RichText::new(format!("Recorded in the evidence store as #{seq}"))
                    .size(theme::text::SMALL),
            );
        }
        Some(Err(e)) => {
            ui.label(
                RichText::new(format!("Not recorded in the evidence store: {e}"))
                    .size(theme::text::SMALL)
                    .color(palette.fail),
            );
        }
        None => {}
    }
}

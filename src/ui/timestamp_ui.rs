//! The export dialog: the options a signed report is exported with — for
//! now the Time-Stamping Authority (TSA) URL — then "Export…" to choose the
//! file. Shown by Export (and Ctrl+E); the URL is remembered.
//!
//! Edits the draft's text in place (egui's way); clicks come back as
//! [`Command`]s.

use super::command::Command;
use super::theme::{self, space, NoticeKind};
use super::timestamp::ExportOptions;
use super::widgets;
use eframe::egui;
use egui::{RichText, Ui};

/// The label of the URL field (test API).
pub const TSA_URL_LABEL: &str = "Timestamp authority (TSA) URL";
/// The button that goes on to the file dialog (test API).
pub const EXPORT_BUTTON: &str = "Export…";

pub fn export_options_ui(ui: &mut Ui, options: &mut ExportOptions, out: &mut Vec<Command>) {
    let modal = egui::Modal::new(egui::Id::unique("export_options")).show(ui.ctx(), |ui| {
        ui.set_width(520.0_f32.min(ui.ctx().content_rect().width() - 80.0));
        ui.label(
            RichText::new("Export the signed report")
                .size(theme::text::HEADING - 4.0)
                .strong(),
        );
        ui.add(
            egui::Label::new(
                "A trusted timestamp fixes when the report was signed, independently of this \
                 computer's clock (RFC 3161). Leave the URL empty to sign without one.",
            )
            .wrap(),
        );
        ui.add_space(space::S);
        let label = ui.label(TSA_URL_LABEL);
        ui.add(
            egui::TextEdit::singleline(&mut options.tsa_url)
                .hint_text("https://tsa.example.org/")
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id);
        if let Some(error) = &options.error {
            widgets::banner(ui, NoticeKind::Error, error, None);
        }
        ui.add_space(space::S);
        ui.horizontal(|ui| {
            if ui.button(EXPORT_BUTTON).clicked() {
                out.push(Command::ConfirmExport);
            }
            if ui.button("Cancel").clicked() {
                out.push(Command::CancelExport);
            }
        });
    });
    if modal.should_close() {
        out.push(Command::CancelExport);
    }
}

//! The attestation form of a manual check: who attests, on which date, and a
//! note. Submitting emits [`Command::Attest`]; the App re-evaluates the
//! findings so the check turns `attested`. The draft is form state, edited in
//! place; validation errors stay in the draft and show inline.

use super::app::{AttestDraft, Command};
use super::theme::{self, space};
use super::widgets;
use crate::model::finding::Attestation;
use eframe::egui;
use egui::{RichText, TextEdit, Ui};

const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// Today's date (UTC), the default for a new attestation.
pub fn today() -> String {
    time::OffsetDateTime::now_utc()
        .date()
        .format(DATE_FORMAT)
        .unwrap_or_default()
}

/// The attestation a draft describes, or what to correct.
pub fn validate(draft: &AttestDraft) -> Result<Attestation, String> {
    let by = draft.by.trim();
    if by.is_empty() {
        return Err("enter who attests (a name and role)".to_string());
    }
    let at = draft.at.trim();
    if time::Date::parse(at, DATE_FORMAT).is_err() {
        return Err(format!("date {at:?} is not a date like 2026-11-27"));
    }
    Ok(Attestation {
        by: by.to_string(),
        at: at.to_string(),
        note: draft.note.trim().to_string(),
    })
}

pub fn attest_form_ui(ui: &mut Ui, id: &str, draft: &mut AttestDraft, out: &mut Vec<Command>) {
    let palette = widgets::palette(ui);
    ui.label(
        RichText::new(
            "This control cannot be read from the server. If it is in place, \
             record who vouches for it; the attestation is saved with the session \
             and printed in the report.",
        )
        .size(theme::text::SMALL)
        .color(palette.muted),
    );
    ui.add_space(space::XS);
    egui::Grid::new(("attest_form", id))
        .num_columns(2)
        .spacing([space::M, space::S])
        .show(ui, |ui| {
            let width = ui.available_width();
            widgets::labelled_field(
                ui,
                "Attested by",
                TextEdit::singleline(&mut draft.by)
                    .hint_text("name, role")
                    .desired_width(width),
            );
            ui.end_row();
            widgets::labelled_field(
                ui,
                "Date",
                TextEdit::singleline(&mut draft.at)
                    .hint_text("YYYY-MM-DD")
                    .desired_width(width),
            );
            ui.end_row();
            widgets::labelled_field(
                ui,
                "Note",
                TextEdit::multiline(&mut draft.note)
                    .hint_text("where the evidence is kept")
                    .desired_rows(2)
                    .desired_width(width),
            );
            ui.end_row();
        });
    if let Some(error) = &draft.error {
        widgets::banner(ui, theme::NoticeKind::Error, error, None);
    }
    ui.add_space(space::XS);
    if ui.button("Attest").clicked() {
        match validate(draft) {
            Ok(attestation) => {
                draft.error = None;
                out.push(Command::Attest {
                    id: id.to_string(),
                    attestation,
                });
            }
            Err(message) => draft.error = Some(message),
        }
    }
}

//! The "Prove it" confirmation: which probes will run, what each leaves
//! behind on the server (`Probe::leaves_behind`), and a click to go on. When
//! the connection did not verify the server (TCP below verify-ca), it says
//! that probing is refused and offers an explicit "Probe anyway
//! (insecure)" instead.
//!
//! Reads the prompt; changes nothing. Clicks come back as [`Command`]s.

use super::command::Command;
use super::prove::{prompt_title, ProvePrompt, PROBE_ANYWAY, RUN_PROBES};
use super::theme::{self, space, NoticeKind};
use super::widgets;
use crate::model::proof::PROBE_APPLICATION_NAME;
use eframe::egui;
use egui::{RichText, Ui};

pub fn prove_prompt_ui(ui: &mut Ui, prompt: &ProvePrompt, out: &mut Vec<Command>) {
    let modal = egui::Modal::new(egui::Id::unique("prove_prompt")).show(ui.ctx(), |ui| {
        ui.set_width(560.0_f32.min(ui.ctx().content_rect().width() - 80.0));
        ui.label(
            RichText::new(prompt_title(&prompt.scope))
                .size(theme::text::HEADING - 4.0)
                .strong(),
        );
        ui.add(
            egui::Label::new(format!(
                "The app scans the server again, then tries what these safeguards forbid and \
                 records the server's answers as evidence. No password is sent and nothing is \
                 written. Probe sessions name themselves {PROBE_APPLICATION_NAME}."
            ))
            .wrap(),
        );
        widgets::pane_heading(ui, "What it leaves behind on the server");
        egui::Grid::new("prove_leaves")
            .num_columns(2)
            .spacing([space::M, space::S])
            .show(ui, |ui| {
                for probe in &prompt.probes {
                    ui.label(RichText::new(probe.title()).strong());
                    ui.add(egui::Label::new(probe.leaves_behind()).wrap());
                    ui.end_row();
                }
            });
        ui.add_space(space::S);
        if let Some(refusal) = &prompt.refusal {
            widgets::banner(ui, NoticeKind::Warning, refusal, None);
            ui.label(
                RichText::new(
                    "Without verifying the server, the probes might be talking to an impostor. \
                     Connect with sslmode=verify-ca or verify-full to probe safely.",
                )
                .size(theme::text::SMALL)
                .color(widgets::palette(ui).muted),
            );
        }
        ui.add_space(space::S);
        ui.horizontal(|ui| {
            let go = match &prompt.refusal {
                None => ui.button(RUN_PROBES).clicked().then_some(false),
                Some(_) => ui
                    .button(PROBE_ANYWAY)
                    .on_hover_text("Probe a server this connection did not verify")
                    .clicked()
                    .then_some(true),
            };
            if let Some(insecure) = go {
                out.push(Command::ConfirmProve { insecure });
            }
            if ui.button("Cancel").clicked() {
                out.push(Command::CancelProve);
            }
        });
    });
    if modal.should_close() {
        out.push(Command::CancelProve);
    }
}

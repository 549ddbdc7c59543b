//! How proofs are drawn: the "proven by test" mark next to a check's status,
//! and the transcript of every attempt (probe, what was attempted, from
//! where, the server's answer, the time, the outcome, the note and the grant
//! that would let an inconclusive probe decide).
//!
//! The server's answer is hostile text: it is shown only through
//! `model::untrusted`, never raw. Like `widgets`, this sits below the pages:
//! it imports no `*_ui` module, and they may all use it.

use super::theme::{self, space};
use super::widgets;
use crate::model::finding::{Finding, Status};
use crate::model::proof::{Outcome, Proof};
use crate::model::untrusted;
use eframe::egui;
use egui::{RichText, Ui};

/// The mark's text. Test API.
pub const PROVEN_BY_TEST: &str = "proven by test";

/// The transcript's heading. Test API.
pub const TRANSCRIPT_HEADING: &str = "Proof transcript";

/// "proven by test" in the colour of what the proofs showed.
pub fn proven_mark_ui(ui: &mut Ui, finding: &Finding) {
    let palette = widgets::palette(ui);
    let broken = finding.proofs.iter().any(|p| p.outcome == Outcome::Broken);
    let fg = palette.status(if broken { Status::Fail } else { Status::Pass });
    theme::badge(palette, fg)
        .show(ui, |ui| {
            ui.label(
                RichText::new(PROVEN_BY_TEST)
                    .color(fg)
                    .strong()
                    .size(theme::text::SMALL),
            )
        })
        .inner
        .on_hover_text(if broken {
            "An active probe showed the server accepting what this safeguard forbids"
        } else {
            "An active probe showed the server refusing what this safeguard forbids"
        });
}

/// Every attempt, in the order made.
pub fn transcript_ui(ui: &mut Ui, finding: &Finding) {
    if finding.proofs.is_empty() {
        return;
    }
    widgets::pane_heading(ui, TRANSCRIPT_HEADING);
    ui.label(
        RichText::new(format!(
            "{} attempt{} by active probes; the server's answers are quoted as received.",
            finding.proofs.len(),
            if finding.proofs.len() == 1 { "" } else { "s" }
        ))
        .size(theme::text::SMALL)
        .color(widgets::palette(ui).muted),
    );
    for (i, proof) in finding.proofs.iter().enumerate() {
        ui.add_space(space::XS);
        attempt_ui(ui, &finding.id, i, proof);
    }
}

fn outcome_status(outcome: Outcome) -> Status {
    match outcome {
        Outcome::Holds => Status::Pass,
        Outcome::Broken => Status::Fail,
        Outcome::Inconclusive => Status::Unknown,
    }
}

fn attempt_ui(ui: &mut Ui, id: &str, index: usize, proof: &Proof) {
    let palette = widgets::palette(ui);
    theme::card(palette).show(ui, |ui| {
        ui.set_width(ui.available_width());
        egui::Grid::new(("proof", id, index))
            .num_columns(2)
            .striped(true)
            .spacing([space::M, 2.0])
            .show(ui, |ui| {
                let fg = palette.status(outcome_status(proof.outcome));
                row(
                    ui,
                    "Outcome",
                    RichText::new(proof.outcome.id()).color(fg).strong(),
                );
                row(ui, "Probe", RichText::new(proof.probe.id()).monospace());
                row(
                    ui,
                    "Attempted",
                    RichText::new(untrusted::wrapped(&proof.attempted)),
                );
                row(
                    ui,
                    "From",
                    RichText::new(untrusted::wrapped(&proof.from)).monospace(),
                );
                row(
                    ui,
                    "Answer",
                    RichText::new(untrusted::wrapped(&proof.answer)).monospace(),
                );
                row(ui, "Time", RichText::new(untrusted::name(&proof.at)));
                row(ui, "Note", RichText::new(untrusted::wrapped(&proof.note)));
                if let Some(grant) = &proof.grant {
                    row(
                        ui,
                        "Grant",
                        RichText::new(untrusted::wrapped(grant)).monospace(),
                    );
                }
            });
    });
}

fn row(ui: &mut Ui, name: &str, value: RichText) {
    ui.label(
        RichText::new(name)
            .strong()
            .size(theme::text::SMALL)
            .color(widgets::palette(ui).muted),
    );
    ui.add(egui::Label::new(value).wrap());
    ui.end_row();
}

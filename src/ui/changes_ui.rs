//! The overview's "Changes since last scan" card: the previous recorded scan
//! it was compared with, one line of counts, then the checks that newly
//! fail, were fixed or regressed (each a link to the check) and the objects
//! that appeared or disappeared. "First recorded scan of this server" when
//! the store holds no earlier one; nothing at all for results that were not
//! recorded (the demo, a saved session, recording off).
//!
//! Reads a [`SinceLast`]; changes nothing. Clicks come back as [`Command`]s.

use super::changes::{objects_line, ChangeSummary, SinceLast, SHOWN_NAMES};
use super::command::Command;
use super::theme::{self, space};
use super::widgets;
use crate::model::finding::Status;
use eframe::egui;
use egui::{RichText, Ui};

/// The card's heading. Test API.
pub const HEADING: &str = "Changes since last scan";

/// Said when the store holds no earlier scan of the server. Test API.
pub const FIRST_SCAN: &str =
    "First recorded scan of this server: later scans are compared with it.";

pub fn changes_card_ui(ui: &mut Ui, since: &SinceLast, out: &mut Vec<Command>) {
    if *since == SinceLast::Nothing {
        return;
    }
    let palette = widgets::palette(ui);
    ui.label(
        RichText::new(HEADING)
            .size(theme::text::SUBHEADING)
            .strong(),
    );
    ui.add_space(space::XS);
    theme::card(palette).show(ui, |ui| {
        ui.set_width(ui.available_width());
        match since {
            SinceLast::Nothing => {}
            SinceLast::Comparing => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Recording the scan and comparing it with the previous one…");
                });
            }
            SinceLast::FirstScan => {
                ui.label(RichText::new(FIRST_SCAN).color(palette.muted));
            }
            SinceLast::Unavailable(reason) => {
                ui.label(RichText::new(reason).color(palette.muted));
            }
            SinceLast::Compared(summary) => summary_ui(ui, summary, out),
        }
    });
    ui.add_space(space::L);
}

fn summary_ui(ui: &mut Ui, summary: &ChangeSummary, out: &mut Vec<Command>) {
    let palette = widgets::palette(ui);
    ui.label(
        RichText::new(format!("Compared with {}.", summary.previous))
            .size(theme::text::SMALL)
            .color(palette.muted),
    );
    ui.label(summary.headline());
    if summary.is_quiet() {
        ui.label(RichText::new("Nothing changed.").color(palette.muted));
        return;
    }
    for (word, ids, status) in [
        ("New fails", &summary.new_fail, Status::Fail),
        ("Regressed", &summary.regressed, Status::Warn),
        ("Fixed", &summary.fixed, Status::Pass),
    ] {
        if ids.is_empty() {
            continue;
        }
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(format!("{word}:")).strong());
            for id in ids.iter().take(SHOWN_NAMES * 2) {
                let link = ui.link(RichText::new(id).color(palette.status(status)));
                if link.clicked() {
                    out.push(Command::SelectCheck(id.clone()));
                }
            }
            if ids.len() > SHOWN_NAMES * 2 {
                ui.label(format!("+{} more", ids.len() - SHOWN_NAMES * 2));
            }
        });
    }
    for (word, objects) in [
        ("Appeared", &summary.appeared),
        ("Disappeared", &summary.disappeared),
    ] {
        if !objects.is_empty() {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(format!("{word}:")).strong());
                ui.add(egui::Label::new(objects_line(objects)).wrap());
            });
        }
    }
}

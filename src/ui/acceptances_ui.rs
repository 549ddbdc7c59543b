//! The overview's accepted-risk lists: acceptances that end within 30 days
//! (soonest first) and acceptances that have expired, whose checks fail
//! again. Each row names the check (a link), who accepted it, why, the
//! ticket and the end date, so an expired risk is never a silent failure.
//!
//! Reads the policy's acceptances; changes nothing. Every field came from a
//! person or a policy file, so it goes through `untrusted` like server text.

use super::command::Command;
use super::theme::{self, space};
use super::widgets;
use crate::policy::PolicyAcceptedRisk;
use eframe::egui;
use egui::{RichText, Ui};

/// How far ahead "expiring soon" looks.
pub const EXPIRING_DAYS: u32 = 30;

/// The list headings. Test API.
pub const EXPIRING_HEADING: &str = "Accepted risks expiring within 30 days";
pub const EXPIRED_HEADING: &str = "Expired acceptances: these checks fail again";

/// Both lists, each only when it has rows.
pub fn acceptances_ui(
    ui: &mut Ui,
    expiring: &[&PolicyAcceptedRisk],
    expired: &[&PolicyAcceptedRisk],
    out: &mut Vec<Command>,
) {
    for (heading, risks, ended) in [
        (EXPIRED_HEADING, expired, true),
        (EXPIRING_HEADING, expiring, false),
    ] {
        if risks.is_empty() {
            continue;
        }
        ui.label(
            RichText::new(heading)
                .size(theme::text::SUBHEADING)
                .strong(),
        );
        ui.add_space(space::XS);
        theme::card(widgets::palette(ui)).show(ui, |ui| {
            ui.set_width(ui.available_width());
            egui::Grid::new(("acceptances", heading))
                .num_columns(5)
                .striped(true)
                .spacing([space::M, space::S])
                .show(ui, |ui| {
                    for head in [
                        "Check",
                        if ended { "Expired" } else { "Ends" },
                        "Accepted by",
                        "Reason",
                        "Ticket",
                    ] {
                        ui.label(RichText::new(head).strong().size(theme::text::SMALL));
                    }
                    ui.end_row();
                    for risk in risks {
                        row_ui(ui, risk, ended, out);
                    }
                });
        });
        ui.add_space(space::L);
    }
}

fn row_ui(ui: &mut Ui, risk: &PolicyAcceptedRisk, ended: bool, out: &mut Vec<Command>) {
    use crate::model::untrusted;
    let palette = widgets::palette(ui);
    let subject = match &risk.object {
        Some(object) => format!(
            "{} ({})",
            untrusted::name(&risk.id),
            untrusted::name(object)
        ),
        None => untrusted::name(&risk.id),
    };
    if ui.link(subject).clicked() {
        out.push(Command::SelectCheck(risk.id.clone()));
    }
    let colour = if ended { palette.fail } else { palette.warn };
    ui.label(RichText::new(untrusted::name(&risk.expires)).color(colour));
    ui.label(untrusted::wrapped(&risk.by));
    ui.add(egui::Label::new(untrusted::wrapped(&risk.reason)).wrap());
    ui.label(
        risk.ticket
            .as_deref()
            .map(untrusted::name)
            .unwrap_or_default(),
    );
    ui.end_row();
}

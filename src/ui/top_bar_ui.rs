//! The bar across the top of the window: the brand, what is open (source,
//! target, server version, when it was collected), and the buttons — theme,
//! training mode, History, Export, Change log, sessions, Rescan, Connect.
//! While a recorded scan is shown, Export, Save session and Rescan are
//! disabled: it is read-only.
//!
//! Reads the pieces in [`TopBar`]; changes nothing. Clicks come back as
//! [`Command`]s.

use super::command::Command;
use super::state::{Results, Source};
use super::theme::{self, space, ThemeChoice};
use super::training_widgets;
use super::widgets;
use super::wording::display_time;
use crate::model::untrusted;
use eframe::egui;
use egui::{RichText, Ui};

/// What the top bar shows.
pub struct TopBar<'a> {
    /// The open results; without them only the theme and training buttons show.
    pub results: Option<&'a Results>,
    pub theme: ThemeChoice,
    /// Training mode is on.
    pub training: bool,
    /// Who signed the last exported report, for Export's hint.
    pub signer_fingerprint: Option<&'a str>,
    /// A scan runs (Rescan waits for it).
    pub scanning: bool,
    /// A recorded scan is shown (read-only).
    pub read_only: bool,
    /// The History page is shown.
    pub on_history: bool,
}

/// The bar across the top: the brand, what is open, and the buttons.
pub fn top_bar_ui(ui: &mut Ui, bar: &TopBar<'_>, out: &mut Vec<Command>) {
    let palette = widgets::palette(ui);
    egui::Panel::top("top_bar")
        .frame(
            egui::Frame::new()
                .fill(palette.card_bg)
                .inner_margin(egui::Margin::symmetric(space::L as i8, space::S as i8)),
        )
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                brand_ui(ui);
                ui.add_space(space::L);
                // Buttons first, so the target line truncates in the space
                // they leave instead of running underneath them.
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    top_buttons_ui(ui, bar, out);
                    ui.add_space(space::M);
                    ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                        target_ui(ui, bar.results);
                    });
                });
            });
        });
}

/// A small painted shield and the product name.
fn brand_ui(ui: &mut Ui) {
    let palette = widgets::palette(ui);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(20.0, 22.0), egui::Sense::hover());
    let c = rect.center();
    let shield = vec![
        egui::pos2(c.x - 8.0, c.y - 9.0),
        egui::pos2(c.x + 8.0, c.y - 9.0),
        egui::pos2(c.x + 8.0, c.y + 1.0),
        egui::pos2(c.x, c.y + 10.0),
        egui::pos2(c.x - 8.0, c.y + 1.0),
    ];
    ui.painter().add(egui::Shape::convex_polygon(
        shield,
        palette.accent,
        egui::Stroke::NONE,
    ));
    ui.painter().line_segment(
        [
            egui::pos2(c.x - 4.0, c.y - 1.0),
            egui::pos2(c.x - 1.0, c.y + 3.0),
        ],
        egui::Stroke::new(2.0, palette.card_bg),
    );
    ui.painter().line_segment(
        [
            egui::pos2(c.x - 1.0, c.y + 3.0),
            egui::pos2(c.x + 4.5, c.y - 4.0),
        ],
        egui::Stroke::new(2.0, palette.card_bg),
    );
    ui.label(
        RichText::new("pgSafeguard")
            .size(17.0)
            .strong()
            .color(palette.text),
    );
}

fn target_ui(ui: &mut Ui, results: Option<&Results>) {
    let Some(results) = results else {
        return;
    };
    let palette = widgets::palette(ui);
    let target = &results.snapshot.target;
    let source = match &results.source {
        Source::Live { .. } => "Live".to_string(),
        Source::File(path) => path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "Session".to_string()),
        Source::Sample => "Offline sample".to_string(),
        Source::Demo { .. } => "Demo".to_string(),
        Source::Recorded { seq } => format!("Recorded scan #{seq}"),
    };
    let version = target
        .server_version
        .as_deref()
        .map(|v| format!(" · PostgreSQL {}", untrusted::name(v)))
        .unwrap_or_default();
    let text = format!(
        "{} · {}@{}:{}/{}{version} · {}",
        untrusted::name(&source),
        untrusted::name(&target.user),
        untrusted::name(&target.host),
        target.port,
        untrusted::name(&target.dbname),
        display_time(&results.snapshot.collected_at)
    );
    // The chip goes first: the truncated line takes all the width left.
    if results.stale.is_some() {
        widgets::chip(ui, "Stale");
    }
    // A truncated label shows its full text on hover.
    ui.add(
        egui::Label::new(
            RichText::new(text)
                .color(palette.muted)
                .size(theme::text::SMALL),
        )
        .truncate(),
    );
}

fn top_buttons_ui(ui: &mut Ui, bar: &TopBar<'_>, out: &mut Vec<Command>) {
    let (theme_label, theme_hint) = match bar.theme {
        ThemeChoice::Light => ("Dark theme", "Switch to the dark theme"),
        ThemeChoice::Dark => ("Light theme", "Switch to the light theme"),
    };
    if ui.button(theme_label).on_hover_text(theme_hint).clicked() {
        out.push(Command::ToggleTheme);
    }
    training_widgets::toggle_ui(ui, bar.training, out);
    if ui
        .button("Fleet")
        .on_hover_text("Scan many servers from an inventory or pg_service.conf")
        .clicked()
    {
        out.push(Command::ShowFleet);
    }
    if ui
        .add(egui::Button::new("History").selected(bar.on_history))
        .on_hover_text("Recorded scans, fixes and the evidence store's chain check")
        .clicked()
    {
        out.push(Command::ShowHistory);
    }
    let Some(results) = bar.results else {
        // Nothing open yet: the way back from the History page.
        if bar.on_history && ui.button("Connect…").clicked() {
            out.push(Command::GoToStart);
        }
        return;
    };
    const READ_ONLY: &str = "A recorded scan is read-only: press Back to live first";
    let export_hint = match bar.signer_fingerprint {
        Some(fingerprint) => format!(
            "Export the signed evidence report (Ctrl+E)\nSigner fingerprint (SHA-256): {fingerprint}"
        ),
        None => "Export the signed evidence report (Ctrl+E)".to_string(),
    };
    if ui
        .add_enabled(!bar.read_only, egui::Button::new("Export"))
        .on_hover_text(export_hint)
        .on_disabled_hover_text(READ_ONLY)
        .clicked()
    {
        out.push(Command::Export);
    }
    let changes = results.change_log.len();
    let change_log_label = if changes == 0 {
        "Change log".to_string()
    } else {
        format!("Change log ({changes})")
    };
    if ui
        .button(change_log_label)
        .on_hover_text("Fixes applied and rolled back in this session")
        .clicked()
    {
        out.push(Command::ShowChangeLog);
    }
    if ui
        .button("Open session…")
        .on_hover_text("Open a saved session (Ctrl+O)")
        .clicked()
    {
        out.push(Command::OpenSession);
    }
    if ui
        .add_enabled(!bar.read_only, egui::Button::new("Save session"))
        .on_hover_text(
            "Save the snapshot, attestations and notes (Ctrl+S; Ctrl+Shift+S to choose a new file)",
        )
        .on_disabled_hover_text(READ_ONLY)
        .clicked()
    {
        out.push(Command::SaveSession);
    }
    let live = results.source.is_server();
    let rescan = ui
        .add_enabled(live && !bar.scanning, egui::Button::new("Rescan"))
        .on_hover_text("Scan the server again (Ctrl+R)")
        .on_disabled_hover_text(if bar.read_only {
            READ_ONLY
        } else {
            "Rescanning needs a live connection"
        });
    if rescan.clicked() {
        out.push(Command::Rescan(None));
    }
    if ui
        .button("Connect…")
        .on_hover_text("Connect to another server")
        .clicked()
    {
        out.push(Command::GoToStart);
    }
}

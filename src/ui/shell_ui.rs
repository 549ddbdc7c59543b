//! The window's frame: the top bar, the banners (notices, offline sample,
//! stale results, scan progress), and which page fills the rest.
//!
//! Reads the App; changes only form drafts. Everything else is a [`Command`].

use super::app::{App, Command, Page, ScanKind, ScanState, Source};
use super::apply_ui;
use super::check_detail_ui::{self, ApplyAvailability, DetailContext};
use super::connect_ui;
use super::demo_ui;
use super::theme::{self, space, NoticeKind, ThemeChoice};
use super::training_ui;
use super::walkthrough_ui::{self, SectionView};
use super::widgets;
use crate::untrusted;
use eframe::egui;
use egui::{RichText, Ui};

pub fn shell_ui(ui: &mut Ui, app: &mut App, out: &mut Vec<Command>) {
    top_bar_ui(ui, app, out);
    banners_ui(ui, app, out);
    let page = if app.results.is_some() {
        app.page
    } else {
        Page::Start
    };
    match page {
        Page::Start => start_ui(ui, app, out),
        Page::Overview => {
            rail_panel_ui(ui, app, None, true, out);
            egui::CentralPanel::default()
                .frame(central_frame(ui))
                .show(ui, |ui| {
                    if let Some(results) = &app.results {
                        walkthrough_ui::overview_ui(
                            ui,
                            &results.snapshot,
                            &results.findings,
                            app.training_on(),
                            out,
                        );
                    }
                });
        }
        Page::Section(section) => {
            rail_panel_ui(ui, app, Some(section), false, out);
            detail_panel_ui(ui, app, out);
            section_panel_ui(ui, app, section, out);
        }
        Page::ChangeLog => {
            rail_panel_ui(ui, app, None, false, out);
            let (live, busy) = (app.can_apply(), app.apply_busy());
            egui::CentralPanel::default()
                .frame(central_frame(ui))
                .show(ui, |ui| {
                    if let Some(results) = &app.results {
                        apply_ui::change_log_ui(ui, &results.change_log, live, busy, out);
                    }
                });
        }
    }
    if let Some(dialog) = app.apply_dialog.as_mut() {
        apply_ui::apply_dialog_ui(ui, dialog, out);
    }
    app.scroll_to_selected = false;
}

fn central_frame(ui: &Ui) -> egui::Frame {
    egui::Frame::new()
        .fill(widgets::palette(ui).app_bg)
        .inner_margin(egui::Margin::symmetric(space::XL as i8, space::M as i8))
}

fn start_ui(ui: &mut Ui, app: &mut App, out: &mut Vec<Command>) {
    let has_results = app.results.is_some();
    let demo_starting = app.demo_launch().is_some();
    egui::CentralPanel::default()
        .frame(egui::Frame::new().fill(widgets::palette(ui).app_bg))
        .show(ui, |ui| {
            connect_ui::start_page_ui(
                ui,
                &mut app.form,
                &app.prefs,
                app.scan.as_ref(),
                has_results,
                demo_starting,
                out,
            );
        });
}

// ----- top bar -----

fn top_bar_ui(ui: &mut Ui, app: &App, out: &mut Vec<Command>) {
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
                    top_buttons_ui(ui, app, out);
                    ui.add_space(space::M);
                    ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                        target_ui(ui, app);
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

fn target_ui(ui: &mut Ui, app: &App) {
    let Some(results) = &app.results else {
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
        walkthrough_ui::display_time(&results.snapshot.collected_at)
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

fn top_buttons_ui(ui: &mut Ui, app: &App, out: &mut Vec<Command>) {
    let (theme_label, theme_hint) = match app.prefs.theme {
        ThemeChoice::Light => ("Dark theme", "Switch to the dark theme"),
        ThemeChoice::Dark => ("Light theme", "Switch to the light theme"),
    };
    if ui.button(theme_label).on_hover_text(theme_hint).clicked() {
        out.push(Command::ToggleTheme);
    }
    training_ui::toggle_ui(ui, app.training_on(), out);
    let has_results = app.results.is_some();
    if !has_results {
        return;
    }
    let export_hint = match app.signer_fingerprint() {
        Some(fingerprint) => format!(
            "Export the signed evidence report (Ctrl+E)\nSigner fingerprint (SHA-256): {fingerprint}"
        ),
        None => "Export the signed evidence report (Ctrl+E)".to_string(),
    };
    if ui.button("Export").on_hover_text(export_hint).clicked() {
        out.push(Command::Export);
    }
    let changes = app.results.as_ref().map_or(0, |r| r.change_log.len());
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
        .button("Save session")
        .on_hover_text(
            "Save the snapshot, attestations and notes (Ctrl+S; Ctrl+Shift+S to choose a new file)",
        )
        .clicked()
    {
        out.push(Command::SaveSession);
    }
    let live = app.results.as_ref().is_some_and(|r| r.source.is_server());
    let scanning = app.scan.is_some();
    let rescan = ui
        .add_enabled(live && !scanning, egui::Button::new("Rescan"))
        .on_hover_text("Scan the server again (Ctrl+R)")
        .on_disabled_hover_text("Rescanning needs a live connection");
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

// ----- banners -----

fn banners_ui(ui: &mut Ui, app: &App, out: &mut Vec<Command>) {
    let results = app.results.as_ref();
    let on_start = app.page == Page::Start || results.is_none();
    let source = results.map(|r| &r.source).filter(|_| !on_start);
    let sample = source == Some(&Source::Sample);
    let live_demo = matches!(source, Some(Source::Demo { .. }));
    let stale = if on_start {
        None
    } else {
        results.and_then(|r| r.stale.as_deref())
    };
    // The first scan of a connect shows in the form; the others here.
    let scan = app
        .scan
        .as_ref()
        .filter(|s| matches!(s.kind, ScanKind::Rescan(_) | ScanKind::Demo));
    let launch = app.demo_launch();
    if app.notice.is_none()
        && !sample
        && !live_demo
        && stale.is_none()
        && scan.is_none()
        && launch.is_none()
    {
        return;
    }
    egui::Panel::top("banners")
        .frame(
            egui::Frame::new()
                .fill(widgets::palette(ui).app_bg)
                .inner_margin(egui::Margin::symmetric(space::L as i8, space::S as i8)),
        )
        .show(ui, |ui| {
            if let Some(launch) = launch {
                demo_ui::launch_progress_ui(ui, launch);
            }
            if sample {
                widgets::banner(
                    ui,
                    NoticeKind::Info,
                    "Offline sample — not a live server. The findings come from a bundled snapshot of a deliberately insecure cluster.",
                    None,
                );
                if let Some(hint) = app.demo_unavailable() {
                    widgets::banner(
                        ui,
                        NoticeKind::Warning,
                        &demo_ui::unavailable_text(hint),
                        None,
                    );
                }
            }
            if live_demo && demo_ui::live_demo_banner_ui(ui, app.can_reset_demo()) {
                out.push(Command::ResetDemo);
            }
            if let Some(stale) = stale {
                if widgets::banner(ui, NoticeKind::Warning, stale, Some("Rescan")) {
                    out.push(Command::Rescan(None));
                }
            }
            if let Some(scan) = scan {
                if let Some(command) = scan_progress_ui(ui, scan) {
                    out.push(command);
                }
            }
            if let Some(notice) = &app.notice {
                if widgets::banner(ui, notice.kind, &notice.text, Some("Dismiss")) {
                    out.push(Command::DismissNotice);
                }
            }
        });
}

/// Progress of a running scan: the current step, a bar, the finished steps
/// and a Cancel button.
pub fn scan_progress_ui(ui: &mut Ui, scan: &ScanState) -> Option<Command> {
    let mut command = None;
    let (step, fraction) = match &scan.progress {
        Some(p) if p.total > 0 => (p.step.as_str(), p.done as f32 / p.total as f32),
        Some(p) => (p.step.as_str(), 0.0),
        None => ("starting", 0.0),
    };
    widgets::progress_card_ui(
        ui,
        |ui| {
            ui.label(RichText::new(format!("Scanning {}", scan.target)).strong());
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui
                    .button("Cancel")
                    .on_hover_text("Stop the scan; nothing changes")
                    .clicked()
                {
                    command = Some(Command::CancelScan);
                }
            });
        },
        fraction,
        &scan.finished_steps,
        step,
    );
    command
}

// ----- walkthrough panels -----

fn rail_panel_ui(
    ui: &mut Ui,
    app: &App,
    current: Option<crate::model::finding::Section>,
    on_overview: bool,
    out: &mut Vec<Command>,
) {
    let palette = widgets::palette(ui);
    egui::Panel::left("rail")
        .resizable(false)
        .exact_size(space::RAIL_WIDTH)
        .frame(
            egui::Frame::new()
                .fill(palette.rail_bg)
                .inner_margin(egui::Margin::symmetric(space::M as i8, space::S as i8)),
        )
        .show(ui, |ui| {
            walkthrough_ui::rail_ui(ui, app.findings(), current, on_overview, out);
        });
}

fn detail_panel_ui(ui: &mut Ui, app: &mut App, out: &mut Vec<Command>) {
    let palette = widgets::palette(ui);
    // The list keeps at least 400 points; the detail takes up to half.
    let available = ui.available_width();
    let widest = (available - 400.0).clamp(340.0, available * 0.55);
    let width = (available * 0.47).clamp(340.0, widest);
    egui::Panel::right("detail")
        .resizable(true)
        .default_size(width)
        .size_range(340.0..=widest)
        .frame(
            egui::Frame::new()
                .fill(palette.card_bg)
                .inner_margin(egui::Margin::symmetric(space::L as i8, space::S as i8)),
        )
        .show(ui, |ui| {
            let finding = app
                .results
                .as_ref()
                .zip(app.selected.as_deref())
                .and_then(|(results, id)| results.finding(id));
            match finding {
                Some(finding) => {
                    let note = app
                        .results
                        .as_ref()
                        .and_then(|r| r.notes.get(&finding.id))
                        .map_or("", String::as_str);
                    // The draft is taken out while drawn and put back after.
                    let mut draft =
                        (finding.status == crate::model::finding::Status::Manual).then(|| {
                            app.drafts
                                .remove(&finding.id)
                                .unwrap_or_else(super::app::new_draft)
                        });
                    let apply = if app.apply_busy() {
                        ApplyAvailability::Busy
                    } else if app.can_apply() {
                        ApplyAvailability::Live
                    } else {
                        ApplyAvailability::Offline
                    };
                    let ctx = DetailContext {
                        note,
                        draft: draft.as_mut(),
                        apply,
                    };
                    check_detail_ui::detail_ui(ui, finding, ctx, out);
                    if let Some(draft) = draft {
                        app.drafts.insert(finding.id.clone(), draft);
                    }
                }
                None => check_detail_ui::empty_detail_ui(ui),
            }
        });
}

fn section_panel_ui(
    ui: &mut Ui,
    app: &mut App,
    section: crate::model::finding::Section,
    out: &mut Vec<Command>,
) {
    let live = app.results.as_ref().is_some_and(|r| r.source.is_server());
    let findings: &[crate::model::finding::Finding] = match &app.results {
        Some(results) => &results.findings,
        None => &[],
    };
    let view = SectionView {
        section,
        findings,
        selected: app.selected.as_deref(),
        scroll_to_selected: app.scroll_to_selected,
        can_rescan: live && app.scan.is_none(),
        training: app.training_on(),
    };
    egui::CentralPanel::default()
        .frame(central_frame(ui))
        .show(ui, |ui| {
            walkthrough_ui::section_ui(ui, &view, &mut app.markdown, out);
        });
}

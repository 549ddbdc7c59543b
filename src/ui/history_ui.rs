//! The History page: where scans are recorded (or why they are not), the
//! chain check, and for one target (a selector when several are recorded)
//! a chart of failing and passing checks per section over time, the table
//! of recorded scans with "Open" (read-only), and the timeline of fixes,
//! policy changes and report anchors, newest first.
//!
//! Reads `history` state; changes nothing. Clicks come back as [`Command`]s.
//! The chart's points are worked out once per target (`history_chart`,
//! kept in the state) and `history_plot` draws them; long tables lay out only the rows on screen
//! (`ScrollArea::show_rows`). Every name from a server and every event line
//! goes through `untrusted`.

use super::command::Command;
use super::history::{
    chain_summary, target_label, ChainCheck, HistoryData, HistoryState, StoreStatus,
};
use super::history_plot;
use super::theme::{self, space, NoticeKind};
use super::widgets;
use super::wording::display_time;
use crate::model::finding::Status;
use crate::model::untrusted;
use crate::store::record::RecordKind;
use crate::store::target::TargetIdentity;
use crate::store::ScanEntry;
use eframe::egui;
use egui::{RichText, Ui};

/// What the page is drawn from.
pub struct HistoryView<'a> {
    pub state: &'a HistoryState,
    /// The live server: its history is shown first.
    pub connected: Option<&'a TargetIdentity>,
    /// The recorded scan shown now, if any.
    pub open_seq: Option<u64>,
}

/// Rows visible at once in the scans table and the timeline.
const VISIBLE_ROWS: f32 = 10.0;

pub fn history_page_ui(ui: &mut Ui, view: &HistoryView<'_>, out: &mut Vec<Command>) {
    egui::ScrollArea::vertical()
        .id_salt("history")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.set_max_width((ui.available_width() - space::M).min(1040.0));
            ui.add_space(space::S);
            ui.heading("History");
            store_status_ui(ui, view.state, out);
            let Some(data) = &view.state.data else {
                if view.state.loading {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("Reading the evidence store…");
                    });
                }
                return;
            };
            let Some(target) = view.state.shown_target(view.connected) else {
                ui.add_space(space::M);
                ui.label(
                    RichText::new(
                        "No scans are recorded yet. Every completed scan of a server you connect to is recorded here.",
                    )
                    .color(widgets::palette(ui).muted),
                );
                return;
            };
            target_selector_ui(ui, data, target, out);
            let scans: Vec<&ScanEntry> = data.scans_of(target).collect();
            ui.add_space(space::M);
            heading(ui, "Fail and pass counts per section");
            history_plot::chart_ui(ui, view.state.chart_of(target).unwrap_or_default());
            ui.add_space(space::L);
            heading(ui, &format!("Recorded scans ({})", scans.len()));
            scans_table_ui(ui, &scans, view, out);
            ui.add_space(space::L);
            heading(ui, "Fixes, policy changes and report anchors");
            timeline_ui(ui, data, target);
            ui.add_space(space::XL);
        });
}

fn heading(ui: &mut Ui, text: &str) {
    ui.label(RichText::new(text).size(theme::text::SUBHEADING).strong());
    ui.add_space(space::XS);
}

/// Where scans go, the chain check, and the buttons.
fn store_status_ui(ui: &mut Ui, state: &HistoryState, out: &mut Vec<Command>) {
    let muted = widgets::palette(ui).muted;
    match &state.status {
        Some(StoreStatus::Open { location }) => {
            ui.label(
                RichText::new(format!(
                    "Completed scans and applied fixes are recorded in {}.",
                    untrusted::name(location)
                ))
                .color(muted),
            );
        }
        Some(StoreStatus::Off) | None => {
            ui.label(
                RichText::new("Recording is off (--no-store): nothing is recorded.").color(muted),
            );
            return;
        }
        Some(StoreStatus::Opening) => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Opening the evidence store…");
            });
            return;
        }
        Some(StoreStatus::Unavailable { reason }) => {
            widgets::banner(
                ui,
                NoticeKind::Warning,
                &format!("{reason}. Scans still run but are not recorded."),
                None,
            );
            return;
        }
    }
    ui.add_space(space::S);
    ui.horizontal(|ui| {
        let checking = state.chain == ChainCheck::Checking;
        if ui
            .add_enabled(!checking, egui::Button::new("Verify chain"))
            .on_hover_text("Recompute every record's hash and check every stored part")
            .clicked()
        {
            out.push(Command::VerifyChain);
        }
        if ui
            .add_enabled(!state.loading, egui::Button::new("Reload"))
            .on_hover_text("Read the store again (another pgSafeguard may have recorded since)")
            .clicked()
        {
            out.push(Command::ReloadHistory);
        }
        chain_status_ui(ui, &state.chain);
    });
    if let ChainCheck::Done(report) = &state.chain {
        for problem in &report.problems {
            ui.label(
                RichText::new(format!("• {}", untrusted::wrapped(&problem.to_string())))
                    .color(widgets::palette(ui).fail),
            );
        }
    }
    if let Some(error) = &state.load_error {
        widgets::banner(ui, NoticeKind::Error, error, None);
    }
}

fn chain_status_ui(ui: &mut Ui, chain: &ChainCheck) {
    let palette = widgets::palette(ui);
    match chain {
        ChainCheck::NotChecked => {}
        ChainCheck::Checking => {
            ui.spinner();
            ui.label("Checking the chain…");
        }
        ChainCheck::Done(report) => {
            let color = if report.intact() {
                palette.pass
            } else {
                palette.fail
            };
            ui.label(RichText::new(chain_summary(report)).color(color).strong());
        }
        ChainCheck::Failed(error) => {
            ui.label(
                RichText::new(format!(
                    "cannot check the chain: {}",
                    untrusted::one_line(error)
                ))
                .color(palette.fail),
            );
        }
    }
}

fn target_selector_ui(
    ui: &mut Ui,
    data: &HistoryData,
    shown: &TargetIdentity,
    out: &mut Vec<Command>,
) {
    let targets = data.targets();
    if targets.len() < 2 {
        ui.label(RichText::new(target_label(shown)).strong());
        return;
    }
    egui::ComboBox::from_label("Target")
        .selected_text(target_label(shown))
        .show_ui(ui, |ui| {
            for target in targets {
                if ui
                    .selectable_label(target == shown, target_label(target))
                    .clicked()
                {
                    out.push(Command::ChooseHistoryTarget(target.clone()));
                }
            }
        });
}

// ----- the tables -----

const SCAN_COLUMNS: [(&str, f32); 9] = [
    ("#", 56.0),
    ("Collected", 150.0),
    ("Source", 120.0),
    ("Fail", 48.0),
    ("Warn", 48.0),
    ("Unknown", 64.0),
    ("Pass", 48.0),
    ("Accepted", 68.0),
    ("", 80.0),
];

fn row_height(ui: &Ui) -> f32 {
    ui.spacing().interact_size.y + space::XS
}

/// A fixed-width cell, so rows line up without a grid.
fn cell(ui: &mut Ui, width: f32, text: RichText) {
    let size = egui::vec2(width, row_height(ui));
    ui.allocate_ui_with_layout(
        size,
        egui::Layout::left_to_right(egui::Align::Center),
        |ui| {
            ui.set_width(width);
            ui.add(egui::Label::new(text).truncate());
        },
    );
}

fn count_text(ui: &Ui, n: usize, status: Status) -> RichText {
    let palette = widgets::palette(ui);
    let color = if n == 0 {
        palette.muted
    } else {
        palette.status(status)
    };
    RichText::new(n.to_string()).color(color)
}

/// Newest first, each with "Open" (read-only).
fn scans_table_ui(
    ui: &mut Ui,
    scans: &[&ScanEntry],
    view: &HistoryView<'_>,
    out: &mut Vec<Command>,
) {
    theme::card(widgets::palette(ui)).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            for (head, width) in SCAN_COLUMNS {
                cell(
                    ui,
                    width,
                    RichText::new(head).strong().size(theme::text::SMALL),
                );
            }
        });
        let height = row_height(ui);
        egui::ScrollArea::vertical()
            .id_salt("history_scans")
            .max_height(height * VISIBLE_ROWS)
            .auto_shrink([false, true])
            .show_rows(ui, height, scans.len(), |ui, rows| {
                for i in rows {
                    let scan = scans[scans.len() - 1 - i];
                    scan_row_ui(ui, scan, view, out);
                }
            });
    });
}

fn scan_row_ui(ui: &mut Ui, scan: &ScanEntry, view: &HistoryView<'_>, out: &mut Vec<Command>) {
    let widths = SCAN_COLUMNS.map(|(_, w)| w);
    let s = &scan.summary;
    ui.horizontal(|ui| {
        cell(
            ui,
            widths[0],
            RichText::new(format!("#{}", scan.seq)).monospace(),
        );
        cell(
            ui,
            widths[1],
            RichText::new(display_time(&untrusted::name(&scan.collected_at))),
        );
        cell(ui, widths[2], RichText::new(scan.source.describe()));
        let counts = [
            (s.fail, Status::Fail),
            (s.warn, Status::Warn),
            (s.unknown, Status::Unknown),
            (s.pass, Status::Pass),
            (s.accepted, Status::Accepted),
        ];
        for ((n, status), width) in counts.into_iter().zip(&widths[3..8]) {
            let text = count_text(ui, n, status);
            cell(ui, *width, text);
        }
        let shown = view.open_seq == Some(scan.seq);
        let busy = view.state.opening.is_some();
        let open = ui
            .add_enabled(!shown && !busy, egui::Button::new("Open"))
            .on_hover_text(format!("Show scan #{} read-only", scan.seq))
            .on_disabled_hover_text(if shown {
                "This scan is the one shown"
            } else {
                "Reading another recorded scan…"
            });
        if open.clicked() {
            out.push(Command::OpenRecordedScan(scan.seq));
        }
    });
}

fn event_word(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Fix => "Fix",
        RecordKind::Policy => "Policy",
        RecordKind::Anchor => "Report anchor",
        RecordKind::Drill => "Restore drill",
        RecordKind::Scan => "Scan",
    }
}

fn timeline_ui(ui: &mut Ui, data: &HistoryData, target: &TargetIdentity) {
    let events = data.timeline_of(target);
    let muted = widgets::palette(ui).muted;
    if events.is_empty() {
        ui.label(
            RichText::new("Nothing yet: fixes applied from the app or with pgsafeguard fix, accepted risks and signed reports appear here.")
                .color(muted),
        );
        return;
    }
    theme::card(widgets::palette(ui)).show(ui, |ui| {
        ui.set_width(ui.available_width());
        let height = row_height(ui);
        egui::ScrollArea::vertical()
            .id_salt("history_events")
            .max_height(height * VISIBLE_ROWS)
            .auto_shrink([false, true])
            .show_rows(ui, height, events.len(), |ui, rows| {
                for event in &events[rows] {
                    ui.horizontal(|ui| {
                        cell(
                            ui,
                            150.0,
                            RichText::new(display_time(&untrusted::name(&event.at))),
                        );
                        cell(ui, 110.0, RichText::new(event_word(event.kind)).strong());
                        let summary = untrusted::wrapped(&event.summary);
                        let width = ui.available_width();
                        cell(ui, width, RichText::new(summary));
                    });
                }
            });
    });
}

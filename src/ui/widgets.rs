//! Small shared widgets: status and severity badges, code blocks, labelled
//! text fields, banners, progress cards. Colours come from `theme`; nothing
//! here changes state — widgets report clicks through their return values.
//! Sits below the pages: imports no `*_ui` module, and they may all use it.

use super::icons;
use super::state::ScanState;
use super::theme::{self, space, NoticeKind, Palette};
use crate::model::finding::{Severity, Status};
use eframe::egui;
use egui::{Response, RichText, TextEdit, Ui};

/// The palette of the theme egui is showing now.
pub fn palette(ui: &Ui) -> &'static Palette {
    if ui.visuals().dark_mode {
        &theme::DARK
    } else {
        &theme::LIGHT
    }
}

/// A painted icon and the status word on a tinted background.
pub fn status_badge(ui: &mut Ui, status: Status) -> Response {
    let palette = palette(ui);
    let fg = palette.status(status);
    theme::badge(palette, fg)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.spacing_mut().item_spacing.x = 4.0;
                icons::status_icon(ui, palette, status, 11.0);
                ui.label(
                    RichText::new(theme::status_word(status))
                        .color(fg)
                        .strong()
                        .size(theme::text::SMALL),
                )
            })
            .inner
        })
        .inner
}

/// "High" in the severity's colour.
pub fn severity_badge(ui: &mut Ui, severity: Severity) -> Response {
    let palette = palette(ui);
    let fg = palette.severity(severity);
    theme::badge(palette, fg)
        .show(ui, |ui| {
            ui.label(
                RichText::new(theme::severity_word(severity))
                    .color(fg)
                    .size(theme::text::SMALL),
            )
        })
        .inner
}

/// A neutral chip, e.g. an apply class or a citation.
pub fn chip(ui: &mut Ui, text: &str) -> Response {
    let palette = palette(ui);
    theme::badge(palette, palette.muted)
        .show(ui, |ui| {
            ui.label(
                RichText::new(text)
                    .size(theme::text::SMALL)
                    .color(palette.text),
            )
        })
        .inner
}

/// Syntax-highlighted, selectable code in a framed block. Long lines wrap
/// at the pane's width instead of widening the pane.
pub fn code_block(ui: &mut Ui, code: &str, language: &str) {
    // Lines were escaped by the caller; this guards the rest (see `untrusted`).
    let code = crate::model::untrusted::glued(&crate::model::untrusted::terminal(code));
    let code = code.as_str();
    let palette = palette(ui);
    theme::code_block(palette).show(ui, |ui| {
        ui.set_width(ui.available_width());
        let code_theme = egui_extras::syntax_highlighting::CodeTheme::from_style(ui.style());
        let mut job = egui_extras::syntax_highlighting::highlight(
            ui.ctx(),
            ui.style(),
            &code_theme,
            code,
            language,
        );
        job.wrap.max_width = ui.available_width();
        ui.add(egui::Label::new(job).selectable(true));
    });
}

/// A label and a single-line field tied to it for screen readers and tests.
pub fn labelled_field(ui: &mut Ui, label: &str, field: TextEdit<'_>) -> Response {
    let label = ui.label(label);
    ui.add(field).labelled_by(label.id)
}

/// A full-width coloured banner with an optional button; returns whether
/// the button was clicked.
pub fn banner(ui: &mut Ui, kind: NoticeKind, text: &str, button: Option<&str>) -> bool {
    // Banners quote server messages: one line, every control shown escaped.
    let text = crate::model::untrusted::glued(&crate::model::untrusted::one_line(text));
    let text = text.as_str();
    let palette = palette(ui);
    let fg = palette.notice_fg(kind);
    let mut clicked = false;
    egui::Frame::new()
        .fill(palette.notice_bg(kind))
        .stroke(egui::Stroke::new(
            1.0,
            theme::blend(palette.notice_bg(kind), fg),
        ))
        .corner_radius(egui::CornerRadius::same(theme::space::CORNER))
        .inner_margin(egui::Margin::symmetric(
            theme::space::M as i8,
            theme::space::S as i8,
        ))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                icons::notice_icon(ui, palette, kind, 15.0);
                // Leave room for the button so long messages wrap before it.
                let reserve = if button.is_some() { 120.0 } else { 0.0 };
                let width = (ui.available_width() - reserve).max(120.0);
                let row = egui::vec2(width, ui.spacing().interact_size.y);
                ui.allocate_ui_with_layout(
                    row,
                    egui::Layout::left_to_right(egui::Align::Center),
                    |ui| {
                        ui.add(egui::Label::new(RichText::new(text).color(palette.text)).wrap());
                    },
                );
                if let Some(button) = button {
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        clicked = ui.button(button).clicked();
                    });
                }
            });
        });
    clicked
}

/// A heading for a block inside a pane.
pub fn pane_heading(ui: &mut Ui, text: &str) {
    ui.add_space(theme::space::M);
    ui.label(theme::pane_heading(text, palette(ui)));
    ui.add_space(2.0);
}

/// A card the whole of which is one button: for rail entries and check rows.
/// The content is drawn first; the card then registers one click target over
/// it with `label` as its accessible name, so tests and screen readers see a
/// single button.
pub fn clickable_card(
    ui: &mut Ui,
    id: egui::Id,
    selected: bool,
    label: &str,
    content: impl FnOnce(&mut Ui),
) -> Response {
    let palette = palette(ui);
    let mut prepared = egui::Frame::new()
        .inner_margin(egui::Margin::symmetric(10, 8))
        .corner_radius(egui::CornerRadius::same(theme::space::CORNER))
        .begin(ui);
    prepared
        .content_ui
        .set_width(prepared.content_ui.available_width());
    content(&mut prepared.content_ui);
    let rect = prepared.frame.widget_rect(prepared.content_ui.min_rect());
    let response = ui.interact(rect, id, egui::Sense::click());
    prepared.frame.fill = if selected {
        palette.accent_weak
    } else if response.hovered() {
        palette.tint(palette.muted)
    } else {
        egui::Color32::TRANSPARENT
    };
    if response.has_focus() {
        prepared.frame.stroke = egui::Stroke::new(2.0, palette.accent);
    } else if selected {
        prepared.frame.stroke =
            egui::Stroke::new(1.0, theme::blend(palette.accent_weak, palette.accent));
    }
    prepared.end(ui);
    let label = label.to_string();
    response.widget_info(|| {
        egui::WidgetInfo::selected(egui::accesskit::Role::Button, true, selected, &label)
    });
    response.on_hover_cursor(egui::CursorIcon::PointingHand)
}

/// A progress card: a spinner beside what `header_ui` draws, a bar at
/// `fraction`, then the finished steps and the current one. Shared by the
/// scan and the demo start so both read alike.
pub fn progress_card_ui(
    ui: &mut Ui,
    header_ui: impl FnOnce(&mut Ui),
    fraction: f32,
    done: &[String],
    now: &str,
) {
    let palette = palette(ui);
    theme::card(palette)
        .inner_margin(egui::Margin::symmetric(space::M as i8, space::S as i8))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.spinner();
                header_ui(ui);
            });
            ui.add(
                egui::ProgressBar::new(fraction)
                    .desired_height(6.0)
                    .fill(palette.accent),
            );
            ui.horizontal_wrapped(|ui| {
                for step in done {
                    ui.label(
                        RichText::new(format!("{step} — done ·"))
                            .size(theme::text::SMALL)
                            .color(palette.pass),
                    );
                }
                ui.label(RichText::new(format!("… {now}")).size(theme::text::SMALL));
            });
        });
}

/// Progress of a running scan: the current step, a bar, the finished steps
/// and a Cancel button; true when Cancel was clicked. Shown in the connect
/// form and in the banners.
pub fn scan_progress_ui(ui: &mut Ui, scan: &ScanState) -> bool {
    let mut cancel = false;
    let (step, fraction) = match &scan.progress {
        Some(p) if p.total > 0 => (p.step.as_str(), p.done as f32 / p.total as f32),
        Some(p) => (p.step.as_str(), 0.0),
        None => ("starting", 0.0),
    };
    progress_card_ui(
        ui,
        |ui| {
            ui.label(RichText::new(format!("Scanning {}", scan.target)).strong());
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                cancel = ui
                    .button("Cancel")
                    .on_hover_text("Stop the scan; nothing changes")
                    .clicked();
            });
        },
        fraction,
        &scan.finished_steps,
        step,
    );
    cancel
}

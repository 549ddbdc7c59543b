//! The History chart as egui_plot draws it: a legend row, then two plots
//! over one time axis (failing checks per section, passing checks per
//! section), one theme colour per section. Static: no zoom, drag or scroll,
//! so the page scrolls over it; hovering a point names the section, the
//! count and the time.
//!
//! A widget below the pages (like `widgets`): imports `history_chart`,
//! `theme` and `widgets`, no `*_ui` module. The only user of egui_plot.

use super::history_chart::{axis_label, SectionSeries};
use super::theme::{self, space};
use super::widgets;
use eframe::egui;
use egui::{RichText, TextFormat, Ui};
use egui_plot::{HoverPosition, Line, Plot};

/// The plots' accessible label (test API).
pub const CHART_LABEL: &str = "Failing and passing checks per section over time";

/// Two plots over the same time axis: failing checks per section above,
/// passing below, one colour per section in both, named once in the legend
/// row above them (in guide order, not over the lines).
pub fn chart_ui(ui: &mut Ui, series: &[SectionSeries]) {
    let palette = widgets::palette(ui);
    legend_ui(ui, series);
    let span = time_span(series);
    let link = egui::Id::unique("history_chart_x");
    type Pick = fn(&SectionSeries) -> &Vec<[f64; 2]>;
    let plots: [(&str, &str, Pick); 2] = [
        ("history_fail", "failing", |s| &s.fail),
        ("history_pass", "passing", |s| &s.pass),
    ];
    for (salt, word, pick) in plots {
        ui.label(
            RichText::new(format!("Checks {word}"))
                .size(theme::text::SMALL)
                .color(palette.muted),
        );
        let plot = Plot::new(salt)
            .height(160.0)
            .include_y(0.0)
            .link_axis(link, [true, false])
            .allow_zoom(false)
            .allow_scroll(false)
            .allow_drag(false)
            .allow_boxed_zoom(false)
            .show_grid([false, true])
            .x_axis_formatter(move |mark, _| axis_label(mark.value, span))
            .y_axis_formatter(|mark, _| format!("{:.0}", mark.value))
            .label_formatter(move |position| hover_text(position, word));
        let response = plot.show(ui, |plot_ui| {
            for (i, section_series) in series.iter().enumerate() {
                let line = Line::new(section_series.section.title(), pick(section_series).clone())
                    .color(palette.series(i))
                    .width(2.0);
                plot_ui.line(line);
            }
        });
        response
            .response
            .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Figure, true, CHART_LABEL));
    }
}

/// A dash in each section's colour and the section's name, each pair one
/// label so that they wrap together.
fn legend_ui(ui: &mut Ui, series: &[SectionSeries]) {
    let palette = widgets::palette(ui);
    let font = egui::FontId::proportional(theme::text::SMALL);
    ui.horizontal_wrapped(|ui| {
        for (i, section_series) in series.iter().enumerate() {
            let mut job = egui::text::LayoutJob::default();
            let swatch = egui::FontId::proportional(theme::text::SUBHEADING);
            job.append("—", 0.0, TextFormat::simple(swatch, palette.series(i)));
            job.append(
                section_series.section.title(),
                space::XS,
                TextFormat::simple(font.clone(), palette.text),
            );
            ui.add(
                egui::Label::new(job)
                    .wrap_mode(egui::TextWrapMode::Extend)
                    .selectable(false),
            );
            ui.add_space(space::S);
        }
    });
}

fn time_span(series: &[SectionSeries]) -> f64 {
    let xs = series.iter().flat_map(|s| s.fail.iter().map(|p| p[0]));
    let (low, high) = xs.fold((f64::MAX, f64::MIN), |(l, h), x| (l.min(x), h.max(x)));
    (high - low).max(0.0)
}

fn hover_text(position: &HoverPosition<'_>, word: &str) -> Option<String> {
    match position {
        HoverPosition::NearDataPoint {
            plot_name,
            position,
            ..
        } => Some(format!(
            "{plot_name}: {:.0} {word}\n{}",
            position.y,
            axis_label(position.x, 0.0)
        )),
        HoverPosition::Elsewhere { .. } => None,
    }
}

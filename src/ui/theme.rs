//! The one place for colours, spacing and the look of statuses.
//!
//! Every other ui module asks this one for a colour or a size; none of them
//! spells an RGB value. Statuses and severities always carry an icon and a
//! word as well as a colour, so the screen reads the same without colour.
//! Must not import `db`, `checks` or any other ui module.

use crate::model::finding::{Severity, Status};
use eframe::egui;
use egui::{Color32, CornerRadius, FontFamily, FontId, Margin, RichText, Stroke, TextStyle};
use serde::{Deserialize, Serialize};

/// Light or dark, chosen by the user and remembered in the preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThemeChoice {
    #[default]
    Light,
    Dark,
}

impl ThemeChoice {
    pub fn toggled(self) -> ThemeChoice {
        match self {
            ThemeChoice::Light => ThemeChoice::Dark,
            ThemeChoice::Dark => ThemeChoice::Light,
        }
    }

    pub fn palette(self) -> &'static Palette {
        match self {
            ThemeChoice::Light => &LIGHT,
            ThemeChoice::Dark => &DARK,
        }
    }
}

/// Spacing, in points. Multiples of four keep edges aligned.
pub mod space {
    pub const XS: f32 = 4.0;
    pub const S: f32 = 8.0;
    pub const M: f32 = 12.0;
    pub const L: f32 = 16.0;
    pub const XL: f32 = 24.0;
    /// Width of the left rail with the six sections.
    pub const RAIL_WIDTH: f32 = 292.0;
    /// Longest comfortable line for prose (about 80 characters).
    pub const PROSE_MAX_WIDTH: f32 = 640.0;
    /// Width of the connect form column.
    pub const FORM_WIDTH: f32 = 560.0;
    pub const CORNER: u8 = 6;
    /// Height of one row in virtualised object lists.
    pub const OBJECT_ROW: f32 = 20.0;
}

/// Type sizes, in points.
pub mod text {
    pub const BODY: f32 = 14.0;
    pub const SMALL: f32 = 12.0;
    pub const HEADING: f32 = 21.0;
    pub const SUBHEADING: f32 = 16.0;
    pub const MONO: f32 = 13.0;
}

/// Colours of one theme.
#[derive(Debug, Clone, PartialEq)]
pub struct Palette {
    pub dark: bool,
    pub app_bg: Color32,
    pub rail_bg: Color32,
    pub card_bg: Color32,
    pub code_bg: Color32,
    pub border: Color32,
    pub text: Color32,
    pub muted: Color32,
    pub accent: Color32,
    pub accent_weak: Color32,
    /// Text on an accent-filled button.
    pub on_accent: Color32,
    /// Background of text fields.
    pub field_bg: Color32,
    pub pass: Color32,
    pub fail: Color32,
    pub warn: Color32,
    pub unknown: Color32,
    pub manual: Color32,
    pub attested: Color32,
    pub accepted: Color32,
    pub not_applicable: Color32,
    pub info_bg: Color32,
    pub warn_bg: Color32,
    pub error_bg: Color32,
    pub success_bg: Color32,
    /// Lines of a chart, one per guide section in guide order (the
    /// Okabe–Ito set, told apart with the common colour blindnesses).
    pub series: [Color32; 6],
}

pub static LIGHT: Palette = Palette {
    dark: false,
    app_bg: Color32::from_rgb(250, 250, 251),
    rail_bg: Color32::from_rgb(240, 242, 245),
    card_bg: Color32::from_rgb(255, 255, 255),
    code_bg: Color32::from_rgb(244, 245, 247),
    border: Color32::from_rgb(218, 222, 228),
    text: Color32::from_rgb(28, 33, 40),
    muted: Color32::from_rgb(92, 100, 112),
    accent: Color32::from_rgb(29, 88, 200),
    accent_weak: Color32::from_rgb(222, 232, 251),
    on_accent: Color32::from_rgb(255, 255, 255),
    field_bg: Color32::from_rgb(247, 248, 250),
    pass: Color32::from_rgb(21, 120, 58),
    fail: Color32::from_rgb(190, 28, 36),
    warn: Color32::from_rgb(166, 92, 0),
    unknown: Color32::from_rgb(104, 72, 168),
    manual: Color32::from_rgb(10, 104, 132),
    attested: Color32::from_rgb(15, 118, 110),
    accepted: Color32::from_rgb(112, 100, 88),
    not_applicable: Color32::from_rgb(112, 118, 128),
    info_bg: Color32::from_rgb(228, 238, 252),
    warn_bg: Color32::from_rgb(253, 243, 220),
    error_bg: Color32::from_rgb(252, 228, 228),
    success_bg: Color32::from_rgb(223, 244, 229),
    series: [
        Color32::from_rgb(0, 114, 178),
        Color32::from_rgb(230, 159, 0),
        Color32::from_rgb(0, 158, 115),
        Color32::from_rgb(204, 121, 167),
        Color32::from_rgb(86, 180, 233),
        Color32::from_rgb(213, 94, 0),
    ],
};

pub static DARK: Palette = Palette {
    dark: true,
    app_bg: Color32::from_rgb(23, 25, 30),
    rail_bg: Color32::from_rgb(29, 32, 38),
    card_bg: Color32::from_rgb(34, 37, 44),
    code_bg: Color32::from_rgb(20, 22, 26),
    border: Color32::from_rgb(54, 59, 68),
    text: Color32::from_rgb(226, 229, 235),
    muted: Color32::from_rgb(152, 160, 172),
    accent: Color32::from_rgb(110, 160, 250),
    accent_weak: Color32::from_rgb(38, 52, 82),
    on_accent: Color32::from_rgb(16, 22, 34),
    field_bg: Color32::from_rgb(22, 24, 29),
    pass: Color32::from_rgb(96, 200, 128),
    fail: Color32::from_rgb(250, 110, 110),
    warn: Color32::from_rgb(240, 180, 80),
    unknown: Color32::from_rgb(178, 150, 240),
    manual: Color32::from_rgb(90, 190, 220),
    attested: Color32::from_rgb(80, 200, 185),
    accepted: Color32::from_rgb(190, 176, 160),
    not_applicable: Color32::from_rgb(150, 156, 166),
    info_bg: Color32::from_rgb(30, 44, 70),
    warn_bg: Color32::from_rgb(66, 50, 20),
    error_bg: Color32::from_rgb(74, 30, 32),
    success_bg: Color32::from_rgb(26, 58, 38),
    series: [
        Color32::from_rgb(96, 160, 240),
        Color32::from_rgb(240, 180, 60),
        Color32::from_rgb(60, 200, 150),
        Color32::from_rgb(225, 145, 200),
        Color32::from_rgb(140, 215, 250),
        Color32::from_rgb(245, 125, 60),
    ],
};

impl Palette {
    pub fn status(&self, status: Status) -> Color32 {
        match status {
            Status::Pass => self.pass,
            Status::Fail => self.fail,
            Status::Warn => self.warn,
            Status::Unknown => self.unknown,
            Status::Manual => self.manual,
            Status::Attested => self.attested,
            Status::Accepted => self.accepted,
            Status::NotApplicable => self.not_applicable,
        }
    }

    pub fn severity(&self, severity: Severity) -> Color32 {
        match severity {
            Severity::Critical => self.fail,
            Severity::High => self.warn,
            Severity::Medium => self.unknown,
            Severity::Low => self.manual,
            Severity::Info => self.not_applicable,
        }
    }

    /// The chart colour of the `index`th series (wrapping round).
    pub fn series(&self, index: usize) -> Color32 {
        self.series[index % self.series.len()]
    }

    /// A soft background for a badge of colour `fg`.
    pub fn tint(&self, fg: Color32) -> Color32 {
        let base = self.card_bg;
        let mix = if self.dark { 0.22 } else { 0.13 };
        lerp(base, fg, mix)
    }

    pub fn notice_bg(&self, kind: NoticeKind) -> Color32 {
        match kind {
            NoticeKind::Info => self.info_bg,
            NoticeKind::Warning => self.warn_bg,
            NoticeKind::Error => self.error_bg,
            NoticeKind::Success => self.success_bg,
        }
    }

    pub fn notice_fg(&self, kind: NoticeKind) -> Color32 {
        match kind {
            NoticeKind::Info => self.accent,
            NoticeKind::Warning => self.warn,
            NoticeKind::Error => self.fail,
            NoticeKind::Success => self.pass,
        }
    }
}

/// The tone of a banner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Info,
    Warning,
    Error,
    Success,
}

/// A colour between `a` and `b`, a third of the way to `b` (borders of banners).
pub fn blend(a: Color32, b: Color32) -> Color32 {
    lerp(a, b, 0.35)
}

fn lerp(a: Color32, b: Color32, t: f32) -> Color32 {
    let mix = |x: u8, y: u8| (f32::from(x) + (f32::from(y) - f32::from(x)) * t).round() as u8;
    Color32::from_rgb(mix(a.r(), b.r()), mix(a.g(), b.g()), mix(a.b(), b.b()))
}

/// The word for a status; icons are painted next to it (see `icons`).
pub fn status_word(status: Status) -> &'static str {
    match status {
        Status::Pass => "Pass",
        Status::Fail => "Fail",
        Status::Warn => "Warn",
        Status::Unknown => "Unknown",
        Status::Manual => "Manual",
        Status::Attested => "Attested",
        Status::Accepted => "Accepted",
        Status::NotApplicable => "N/A",
    }
}

pub fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "Critical",
        Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
        Severity::Info => "Info",
    }
}

/// Frame of a card: the white (or dark) box content sits on.
pub fn card(palette: &Palette) -> egui::Frame {
    egui::Frame::new()
        .fill(palette.card_bg)
        .stroke(Stroke::new(1.0, palette.border))
        .corner_radius(CornerRadius::same(space::CORNER))
        .inner_margin(Margin::same(space::L as i8))
}

/// Frame of a code block.
pub fn code_block(palette: &Palette) -> egui::Frame {
    egui::Frame::new()
        .fill(palette.code_bg)
        .stroke(Stroke::new(1.0, palette.border))
        .corner_radius(CornerRadius::same(4))
        .inner_margin(Margin::symmetric(space::M as i8, space::S as i8))
}

/// Frame of a small coloured badge.
pub fn badge(palette: &Palette, fg: Color32) -> egui::Frame {
    egui::Frame::new()
        .fill(palette.tint(fg))
        .corner_radius(CornerRadius::same(4))
        .inner_margin(Margin::symmetric(6, 1))
}

/// A section heading inside a pane ("What was seen", "Fix" …).
pub fn pane_heading(text: &str, palette: &Palette) -> RichText {
    RichText::new(text.to_uppercase())
        .size(text::SMALL)
        .strong()
        .color(palette.muted)
}

/// Apply the theme to every style egui keeps (call when the choice changes).
pub fn apply(ctx: &egui::Context, choice: ThemeChoice) {
    let palette = choice.palette();
    let theme = if palette.dark {
        egui::Theme::Dark
    } else {
        egui::Theme::Light
    };
    ctx.set_theme(theme);
    ctx.style_mut_of(theme, |style| style_for(style, palette));
}

fn style_for(style: &mut egui::Style, palette: &Palette) {
    style.text_styles = [
        (
            TextStyle::Heading,
            FontId::new(text::HEADING, FontFamily::Proportional),
        ),
        (
            TextStyle::Body,
            FontId::new(text::BODY, FontFamily::Proportional),
        ),
        (
            TextStyle::Button,
            FontId::new(text::BODY, FontFamily::Proportional),
        ),
        (
            TextStyle::Small,
            FontId::new(text::SMALL, FontFamily::Proportional),
        ),
        (
            TextStyle::Monospace,
            FontId::new(text::MONO, FontFamily::Monospace),
        ),
    ]
    .into();
    let spacing = &mut style.spacing;
    spacing.item_spacing = egui::vec2(space::S, 6.0);
    spacing.button_padding = egui::vec2(10.0, 4.0);
    spacing.interact_size.y = 24.0;
    spacing.text_edit_width = 320.0;
    // Solid scroll bars take their own room, so they never cover code or text.
    spacing.scroll = egui::style::ScrollStyle::solid();

    let visuals = &mut style.visuals;
    visuals.panel_fill = palette.app_bg;
    visuals.window_fill = palette.card_bg;
    visuals.extreme_bg_color = palette.field_bg;
    visuals.text_edit_bg_color = Some(palette.field_bg);
    visuals.faint_bg_color = palette.code_bg;
    visuals.code_bg_color = palette.code_bg;
    visuals.hyperlink_color = palette.accent;
    visuals.warn_fg_color = palette.warn;
    visuals.error_fg_color = palette.fail;
    visuals.widgets.noninteractive.fg_stroke.color = palette.text;
    visuals.selection.bg_fill = palette.accent_weak;
    visuals.selection.stroke = Stroke::new(1.0, palette.accent);
    visuals.widgets.noninteractive.bg_stroke = Stroke::new(1.0, palette.border);
    // Fields and buttons get a visible edge on white cards.
    visuals.widgets.inactive.bg_stroke = Stroke::new(1.0, palette.border);
    for widget in [
        &mut visuals.widgets.inactive,
        &mut visuals.widgets.hovered,
        &mut visuals.widgets.active,
        &mut visuals.widgets.open,
    ] {
        widget.corner_radius = CornerRadius::same(4);
    }
}

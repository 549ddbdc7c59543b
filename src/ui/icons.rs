//! Status and notice icons drawn with the painter, so they look the same on
//! every system and need no emoji font. An icon is never the only signal:
//! every caller puts a word next to it.

use super::theme::{NoticeKind, Palette};
use crate::model::finding::Status;
use eframe::egui;
use egui::{pos2, vec2, Color32, Painter, Pos2, Rect, Sense, Shape, Stroke, Ui};

/// The shape drawn for a status or a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Glyph {
    Tick,
    Cross,
    Exclamation,
    Question,
    Ring,
    Diamond,
    Slash,
    Info,
}

fn status_glyph(status: Status) -> Glyph {
    match status {
        Status::Pass | Status::Attested => Glyph::Tick,
        Status::Fail => Glyph::Cross,
        Status::Warn => Glyph::Exclamation,
        Status::Unknown => Glyph::Question,
        Status::Manual => Glyph::Ring,
        Status::Accepted => Glyph::Diamond,
        Status::NotApplicable => Glyph::Slash,
    }
}

fn notice_glyph(kind: NoticeKind) -> Glyph {
    match kind {
        NoticeKind::Info => Glyph::Info,
        NoticeKind::Warning => Glyph::Exclamation,
        NoticeKind::Error => Glyph::Cross,
        NoticeKind::Success => Glyph::Tick,
    }
}

/// A status icon of `size` points, in the status colour.
pub fn status_icon(ui: &mut Ui, palette: &Palette, status: Status, size: f32) {
    let color = palette.status(status);
    icon(ui, status_glyph(status), color, palette.card_bg, size);
}

/// A notice icon for a banner.
pub fn notice_icon(ui: &mut Ui, palette: &Palette, kind: NoticeKind, size: f32) {
    let color = palette.notice_fg(kind);
    icon(ui, notice_glyph(kind), color, palette.notice_bg(kind), size);
}

fn icon(ui: &mut Ui, glyph: Glyph, color: Color32, background: Color32, size: f32) {
    let (rect, _) = ui.allocate_exact_size(vec2(size, size), Sense::hover());
    if ui.is_rect_visible(rect) {
        paint(ui.painter(), rect, glyph, color, background);
    }
}

fn paint(painter: &Painter, rect: Rect, glyph: Glyph, color: Color32, background: Color32) {
    let c = rect.center();
    let r = rect.width() / 2.0;
    let mark = Stroke::new((r * 0.28).max(1.5), background);
    // Offsets in units of the radius.
    let at = |x: f32, y: f32| -> Pos2 { pos2(c.x + x * r, c.y + y * r) };
    match glyph {
        Glyph::Tick => {
            painter.circle_filled(c, r, color);
            painter.line(vec![at(-0.45, 0.02), at(-0.1, 0.38), at(0.48, -0.32)], mark);
        }
        Glyph::Cross => {
            painter.circle_filled(c, r, color);
            painter.line_segment([at(-0.36, -0.36), at(0.36, 0.36)], mark);
            painter.line_segment([at(-0.36, 0.36), at(0.36, -0.36)], mark);
        }
        Glyph::Exclamation => {
            let triangle = vec![at(0.0, -1.0), at(1.0, 0.85), at(-1.0, 0.85)];
            painter.add(Shape::convex_polygon(triangle, color, Stroke::NONE));
            painter.line_segment([at(0.0, -0.42), at(0.0, 0.25)], mark);
            painter.circle_filled(at(0.0, 0.55), mark.width * 0.6, background);
        }
        Glyph::Question => {
            painter.circle_filled(c, r, color);
            painter.text(
                c + vec2(0.0, r * 0.05),
                egui::Align2::CENTER_CENTER,
                "?",
                egui::FontId::proportional(r * 1.55),
                background,
            );
        }
        Glyph::Info => {
            painter.circle_filled(c, r, color);
            painter.circle_filled(at(0.0, -0.45), mark.width * 0.6, background);
            painter.line_segment([at(0.0, -0.12), at(0.0, 0.5)], mark);
        }
        Glyph::Ring => {
            painter.circle_stroke(c, r * 0.82, Stroke::new((r * 0.3).max(1.5), color));
            painter.circle_filled(c, r * 0.25, color);
        }
        Glyph::Diamond => {
            let diamond = vec![at(0.0, -1.0), at(1.0, 0.0), at(0.0, 1.0), at(-1.0, 0.0)];
            painter.add(Shape::convex_polygon(diamond, color, Stroke::NONE));
        }
        Glyph::Slash => {
            let stroke = Stroke::new((r * 0.22).max(1.2), color);
            painter.circle_stroke(c, r * 0.85, stroke);
            painter.line_segment([at(-0.55, 0.55), at(0.55, -0.55)], stroke);
        }
    }
}

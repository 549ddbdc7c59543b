//! The report's colours, in one place: one navy for structure, and status
//! colours that survive greyscale printing by differing in lightness as well
//! as hue. tests/architecture.rs keeps colour constants out of other files.

use super::layout::Color;
use crate::model::finding::{Severity, Status};

pub(super) const NAVY: Color = Color::hex(0x1B365D);
pub(super) const ACCENT: Color = Color::hex(0x2F6DB5);
pub(super) const TEXT: Color = Color::hex(0x1F2328);
pub(super) const MUTED: Color = Color::hex(0x5F6B7A);
pub(super) const RULE: Color = Color::hex(0xD0D7DE);
pub(super) const LIGHT: Color = Color::hex(0xF2F5F9);
pub(super) const CODE_FILL: Color = Color::hex(0xF4F6F8);
pub(super) const WHITE: Color = Color::hex(0xFFFFFF);
pub(super) const DEMO_RED: Color = Color::hex(0xB3261E);
pub(super) const DEMO_WATERMARK: Color = Color::hex(0xF6D5D2);

/// Behind the group rows of tables.
pub(super) const GROUP_FILL: Color = Color::hex(0xE3EAF3);
/// The subtitle on the navy cover band.
pub(super) const COVER_SUBTITLE: Color = Color::hex(0xC9D6E8);
/// A count of zero in the summary.
pub(super) const FADED: Color = Color::hex(0xA7B0BA);

pub fn status_color(status: Status) -> Color {
    match status {
        Status::Pass => Color::hex(0x2E7D32),
        Status::Fail => Color::hex(0xC62828),
        Status::Warn => Color::hex(0xB85C00),
        Status::Unknown => Color::hex(0x6A3D9A),
        Status::NotApplicable => Color::hex(0x7A838C),
        Status::Manual => Color::hex(0x1565C0),
        Status::Attested => Color::hex(0x00796B),
        Status::Accepted => Color::hex(0x6D4C41),
    }
}

pub(super) fn severity_color(severity: Severity) -> Color {
    match severity {
        Severity::Critical => Color::hex(0x8E0000),
        Severity::High => Color::hex(0xC62828),
        Severity::Medium => Color::hex(0xB85C00),
        Severity::Low => MUTED,
        Severity::Info => MUTED,
    }
}

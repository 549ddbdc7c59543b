//! The banner over a recorded scan: which scan of which server, when, that
//! it is read-only, and "Back to live". It stays on every page while the
//! recorded scan is shown, so nobody takes old findings for today's.
//!
//! Draws only; the click comes back as the return value (the shell turns it
//! into `Command::BackToLive`). Imports `recorded` and `widgets`.

use super::recorded::RecordedView;
use super::theme::NoticeKind;
use super::widgets;
use eframe::egui::Ui;

/// The banner's button, also its accessible label.
pub const BACK_TO_LIVE: &str = "Back to live";

/// Returns whether "Back to live" was clicked.
pub fn recorded_banner_ui(ui: &mut Ui, view: &RecordedView) -> bool {
    let text = format!(
        "{}. Fixes, rescans, attestations and notes are disabled while it is shown.",
        view.banner_text()
    );
    widgets::banner(ui, NoticeKind::Info, &text, Some(BACK_TO_LIVE))
}

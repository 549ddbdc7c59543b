//! Drawing the demo's banners: the start (or reset) progress with its
//! stages, the live demo's banner with "Reset demo", and the offline
//! fallback's install hint. Reads state; returns whether a button was hit.

use super::state::DemoLaunch;
use super::theme::{self, NoticeKind};
use super::widgets;
use crate::demo::DemoStage;
use eframe::egui;
use egui::{RichText, Ui};

/// The stages in the order the back end reports them.
const STAGES: [DemoStage; 6] = [
    DemoStage::CleaningUp,
    DemoStage::InitDb,
    DemoStage::Configuring,
    DemoStage::Starting,
    DemoStage::Seeding,
    DemoStage::Ready,
];

/// The heading of the progress card. Test API.
pub fn launch_heading(launch: &DemoLaunch) -> &'static str {
    if launch.reset {
        "Rebuilding the demo database from scratch"
    } else {
        "Starting the demo database"
    }
}

/// A card with a spinner, a bar over the stages and the stages passed.
pub fn launch_progress_ui(ui: &mut Ui, launch: &DemoLaunch) {
    let muted = widgets::palette(ui).muted;
    let position = launch
        .stage
        .and_then(|s| STAGES.iter().position(|x| *x == s))
        .map_or(0, |i| i + 1);
    let done: Vec<String> = launch.done.iter().map(|s| s.label().to_string()).collect();
    let now = launch.stage.map_or("looking for PostgreSQL", |s| s.label());
    widgets::progress_card_ui(
        ui,
        |ui| {
            ui.label(RichText::new(launch_heading(launch)).strong());
            ui.label(
                RichText::new(
                    "a throwaway PostgreSQL server on this computer; initdb takes a few seconds",
                )
                .size(theme::text::SMALL)
                .color(muted),
            );
        },
        position as f32 / STAGES.len() as f32,
        &done,
        now,
    );
}

/// The text of the live demo's banner. Test API.
pub const LIVE_DEMO_TEXT: &str = "Demo database — a throwaway PostgreSQL server this app \
    started for training. Apply fixes freely; restarts touch only this demo, and it is deleted \
    when you close the window. Reports are marked DEMO — not evidence.";

/// The live demo's banner; true when "Reset demo" was clicked. The button
/// is left out while an apply or a rebuild runs.
pub fn live_demo_banner_ui(ui: &mut Ui, can_reset: bool) -> bool {
    let button = can_reset.then_some("Reset demo");
    widgets::banner(ui, NoticeKind::Info, LIVE_DEMO_TEXT, button)
}

/// The offline fallback: why the demo is not live and what to install.
pub fn unavailable_text(hint: &str) -> String {
    format!(
        "The live demo needs PostgreSQL, which was not found on this computer. Install it to \
         apply fixes on a real demo server: {hint}. Until then this is the offline sample: \
         everything except Apply works."
    )
}

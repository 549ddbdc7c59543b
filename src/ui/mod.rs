//! The desktop GUI: a guided walkthrough of the hardening guide.
//!
//! # Threads
//!
//! The window runs on the main thread (eframe, glow renderer). Scans, file
//! dialogs and file writes run on the tokio runtime that `main` owns and
//! hands in through [`GuiOptions::runtime`]; results come back over a
//! channel drained in `App::logic`, so the UI never waits.
//!
//! # Modules
//!
//! - [`app`]: state (persisted prefs vs runtime) and the one place that
//!   executes [`app::Command`]s.
//! - `shell_ui`, [`connect_ui`], [`walkthrough_ui`], [`check_detail_ui`],
//!   [`attest_ui`], [`apply_ui`]: drawing; they return commands and change
//!   nothing else.
//! - [`theme`]: every colour and spacing; [`guide`]: the section prose;
//!   [`jobs`]: background work; [`profiles`]: saved preferences.
//! - [`training`]: training mode's lessons and next-step suggestion;
//!   [`training_ui`] draws them.
//!
//! Must not be imported by `checks`, `db`, `scan` or `report`.

use eframe::egui;
pub mod app;
pub mod apply_ui;
pub mod attest_ui;
pub mod check_detail_ui;
pub mod connect_ui;
pub mod demo_flow;
pub mod demo_ui;
pub mod guide;
pub mod icons;
pub mod jobs;
pub mod profiles;
mod shell_ui;
pub mod theme;
pub mod training;
pub mod training_ui;
pub mod walkthrough_ui;
pub mod widgets;

pub use app::{App, AppInit, Command, Page, Source};

use std::path::PathBuf;

/// How the binary starts the GUI.
pub struct GuiOptions {
    /// The runtime all background work runs on (owned by `main`).
    pub runtime: tokio::runtime::Handle,
    /// A session file to open at start.
    pub open_session: Option<PathBuf>,
    /// Start on the demo.
    pub demo: Option<DemoMode>,
}

/// How `pgsafeguard demo` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoMode {
    /// The live demo cluster (the offline sample when PostgreSQL is missing).
    Live,
    /// The bundled offline sample, whatever is installed.
    Offline,
}

#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error("no display found (neither DISPLAY nor WAYLAND_DISPLAY is set): run pgsafeguard from a desktop session, or use `pgsafeguard scan` on a server")]
    NoDisplay,
    #[error("cannot open the window: {0}")]
    Window(String),
}

/// The smallest window that still shows rail, list and detail side by side.
pub const MIN_WINDOW: [f32; 2] = [1024.0, 700.0];

/// Open the window and run until it is closed.
pub fn run_gui(options: GuiOptions) -> Result<(), UiError> {
    if !has_display() {
        return Err(UiError::NoDisplay);
    }
    let viewport = egui::ViewportBuilder::default()
        .with_title("pgSafeguard")
        .with_app_id("pgsafeguard")
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size(MIN_WINDOW)
        .with_icon(app_icon());
    let native = eframe::NativeOptions {
        renderer: eframe::Renderer::Glow,
        viewport,
        ..eframe::NativeOptions::default()
    };
    eframe::run_native(
        "pgSafeguard",
        native,
        Box::new(move |cc| {
            let init = AppInit {
                runtime: Some(options.runtime),
                prefs_store: profiles::PrefsStore::platform(),
                policy: crate::policy::Policy::default(),
                prefill_from_environment: true,
                change_log_path: None,
                demo_discovery: crate::demo::Discovery::from_env(),
            };
            let mut app = App::new(&cc.egui_ctx, init);
            match (options.open_session, options.demo) {
                (Some(path), _) => app.open_session_path(path),
                (None, Some(DemoMode::Live)) => app.execute(&cc.egui_ctx, Command::TryDemo),
                (None, Some(DemoMode::Offline)) => app.open_sample(),
                (None, None) => {}
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| UiError::Window(e.to_string()))
}

#[cfg(target_os = "linux")]
fn has_display() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    set("DISPLAY") || set("WAYLAND_DISPLAY")
}

#[cfg(not(target_os = "linux"))]
fn has_display() -> bool {
    true
}

/// The window icon: a blue shield with a white tick, drawn in code so no
/// image decoder is needed.
pub fn app_icon() -> egui::IconData {
    const SIZE: u32 = 64;
    let mut rgba = Vec::with_capacity((SIZE * SIZE * 4) as usize);
    for y in 0..SIZE {
        for x in 0..SIZE {
            let pixel = icon_pixel(x as f32 + 0.5, y as f32 + 0.5, SIZE as f32);
            rgba.extend_from_slice(&pixel);
        }
    }
    egui::IconData {
        rgba,
        width: SIZE,
        height: SIZE,
    }
}

fn icon_pixel(x: f32, y: f32, size: f32) -> [u8; 4] {
    let (u, v) = (x / size, y / size);
    // Shield: a rectangle on top, a point at the bottom.
    let half_width = if v < 0.55 {
        0.40
    } else {
        0.40 * (1.0 - (v - 0.55) / 0.40)
    };
    let inside = (0.08..0.95).contains(&v) && (u - 0.5).abs() <= half_width;
    if !inside {
        return [0, 0, 0, 0];
    }
    if on_tick(u, v) {
        [255, 255, 255, 255]
    } else {
        [29, 88, 200, 255]
    }
}

/// The tick: two strokes, (0.30,0.48)→(0.45,0.63)→(0.70,0.33).
fn on_tick(u: f32, v: f32) -> bool {
    let near = |(ax, ay): (f32, f32), (bx, by): (f32, f32)| {
        let (dx, dy) = (bx - ax, by - ay);
        let t = (((u - ax) * dx + (v - ay) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
        let (px, py) = (ax + t * dx - u, ay + t * dy - v);
        (px * px + py * py).sqrt() < 0.055
    };
    near((0.30, 0.48), (0.45, 0.63)) || near((0.45, 0.63), (0.70, 0.33))
}

//! The desktop GUI: a guided walkthrough of the hardening guide.
//!
//! # Threads
//!
//! The window runs on the main thread (eframe, glow renderer). Scans, file
//! dialogs and file writes run on the tokio runtime that `main` owns and
//! hands in through [`GuiOptions::runtime`]; results come back over a
//! channel drained in `App::logic`, so the UI never waits. That includes the
//! evidence store: SQLite I/O runs on the runtime's blocking pool.
//!
//! # Evidence
//!
//! Every completed scan of a server the user connected to, and every fix
//! applied or rolled back on it, is recorded in the evidence store
//! ([`GuiOptions::store`]). Scans of the demo cluster and its offline
//! sample are training, not evidence: they are never recorded. A store that
//! cannot be opened is reported once; scanning goes on.
//!
//! # Modules, in layers
//!
//! Each file imports only files of the layers below it (and of its own
//! layer where said), so there is no import cycle among them.
//!
//! 1. Vocabulary, state and pure helpers — no drawing: [`command`] (what a
//!    widget asks for), [`state`] (page, open results, scan, drafts, demo),
//!    [`apply_dialog`] (the apply confirmation and its gate), [`jobs`]
//!    (background work), [`history`] (the evidence store's handle and the
//!    History page's state), [`recorded`] (a recorded scan shown read-only),
//!    [`evidence_jobs`] (the store's background work), [`changes`] ("changes
//!    since last scan"), [`acceptance`] (the "Accept risk…" draft) and
//!    [`policy_jobs`] (writing it into the policy file), [`fleet`] (the
//!    Fleet page's run and filters), [`prove`] ("Prove
//!    it": scopes, probes, availability), [`history_chart`]
//!    (the chart's points), [`profiles`] (saved preferences), [`theme`] (every
//!    colour and spacing), [`guide`] (the section prose), [`training`]
//!    (lessons and the next step), [`check_order`], [`wording`],
//!    [`fix_text`], [`timestamp`] (the export options: the TSA URL),
//!    `shortcuts`, [`plan_window`] (the "Fix all…" plan window's state) and
//!    [`plan_jobs`] (building and running plans), [`fleet_export`] (the
//!    Fleet page's signed PDF). These may import each other, never a layer
//!    above.
//! 2. Widgets the pages share: [`icons`], [`widgets`] (which draws with
//!    `icons`), [`training_widgets`] and [`proof_widgets`] (which draw with
//!    `widgets`) and [`history_plot`] (the History chart, with egui_plot).
//! 3. Drawing, one part of the window each: [`top_bar_ui`], [`connect_ui`],
//!    [`walkthrough_ui`], [`check_detail_ui`], [`apply_ui`], [`demo_ui`],
//!    [`history_ui`], [`recorded_banner_ui`], [`changes_ui`] and
//!    [`acceptances_ui`] (cards of the overview, handed to it by `shell`),
//!    [`prove_ui`] (the "Prove it" confirmation), [`timestamp_ui`] (the
//!    export dialog), [`plan_ui`] (the plan window), [`drill_ui`] (the backup
//!    section's "Restore drill", whose state and job are [`drill`]),
//!    [`fleet_ui`] (the fleet matrix).
//!    Each takes the pieces of state it needs and a `&mut Vec<Command>`;
//!    none imports another `*_ui` module.
//! 4. `shell`: lays out the window and hands each drawing module its pieces
//!    of a `Screen`.
//! 5. [`app`]: owns the state, lends it to `shell` for each frame and
//!    executes the commands; [`demo_flow`] is its demo part,
//!    [`history_flow`] its evidence store part, [`policy_flow`] its accepted
//!    risks, [`prove_flow`] its probe runs, [`plan_flow`] its hardening plans
//!    and [`fleet_flow`] its fleet scans.
//!
//! Must not be imported by `checks`, `db`, `scan` or `report`.

use eframe::egui;
pub mod acceptance;
pub mod acceptances_ui;
pub mod app;
pub mod apply_dialog;
pub mod apply_ui;
pub mod changes;
pub mod changes_ui;
pub mod check_detail_ui;
pub mod check_order;
pub mod command;
pub mod connect_ui;
pub mod demo_flow;
pub mod demo_ui;
pub mod drill;
pub mod drill_ui;
pub mod evidence_jobs;
pub mod fix_text;
pub mod fleet;
pub mod fleet_export;
pub mod fleet_flow;
pub mod fleet_ui;
pub mod guide;
pub mod history;
pub mod history_chart;
pub mod history_flow;
pub mod history_plot;
pub mod history_ui;
pub mod icons;
pub mod jobs;
pub mod plan_flow;
pub mod plan_jobs;
pub mod plan_ui;
pub mod plan_window;
pub mod policy_flow;
pub mod policy_jobs;
pub mod profiles;
pub mod proof_widgets;
pub mod prove;
pub mod prove_flow;
pub mod prove_ui;
pub mod recorded;
pub mod recorded_banner_ui;
mod shell;
mod shortcuts;
pub mod state;
pub mod theme;
pub mod timestamp;
pub mod timestamp_ui;
pub mod top_bar_ui;
pub mod training;
pub mod training_widgets;
pub mod walkthrough_ui;
pub mod widgets;
pub mod wording;

pub use app::{App, AppInit};
pub use command::Command;
pub use state::{Page, Source};

use std::path::PathBuf;

/// How the binary starts the GUI.
pub struct GuiOptions {
    /// The runtime all background work runs on (owned by `main`).
    pub runtime: tokio::runtime::Handle,
    /// A session file to open at start.
    pub open_session: Option<PathBuf>,
    /// Start on the demo.
    pub demo: Option<DemoMode>,
    /// The evidence store live scans and fixes are recorded in.
    pub store: crate::store::StoreChoice,
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
                evidence_store: options.store,
                policy_path: None,
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
    egui::IconData {
        rgba: app_icon_rgba(SIZE),
        width: SIZE,
        height: SIZE,
    }
}

/// The icon's one drawing, in units of the icon's side (0..1, y down). The window
/// icon, the packaged PNGs (`assets/icons/`, checked by `tests/icons.rs`) and the
/// SVG all come from these numbers.
mod icon_shape {
    /// Shield: straight sides from `TOP` to `SHOULDER`, then a point at `TIP`.
    pub const TOP: f32 = 0.08;
    pub const SHOULDER: f32 = 0.55;
    pub const TIP: f32 = 0.95;
    pub const HALF_WIDTH: f32 = 0.40;
    /// The tick: a stroke through three points with round ends.
    pub const TICK: [(f32, f32); 3] = [(0.30, 0.48), (0.45, 0.63), (0.70, 0.33)];
    pub const TICK_HALF_WIDTH: f32 = 0.055;
    pub const SHIELD_RGB: [u8; 3] = [29, 88, 200];
    pub const TICK_RGB: [u8; 3] = [255, 255, 255];
}

/// The icon as straight-alpha RGBA rows, `size` × `size`, anti-aliased with 4×4 samples
/// a pixel (edges blend in premultiplied space so they do not darken).
pub fn app_icon_rgba(size: u32) -> Vec<u8> {
    const GRID: u32 = 4;
    let side = size as f32;
    let mut rgba = Vec::with_capacity((size * size * 4) as usize);
    for y in 0..size {
        for x in 0..size {
            let mut sum = [0u32; 4];
            for sy in 0..GRID {
                for sx in 0..GRID {
                    let u = (x as f32 + (sx as f32 + 0.5) / GRID as f32) / side;
                    let v = (y as f32 + (sy as f32 + 0.5) / GRID as f32) / side;
                    if let Some(rgb) = icon_colour(u, v) {
                        for (total, channel) in sum.iter_mut().zip(rgb) {
                            *total += u32::from(channel);
                        }
                        sum[3] += 1;
                    }
                }
            }
            let covered = sum[3];
            let channel = |total: u32| total.checked_div(covered).unwrap_or(0);
            let alpha = covered * 255 / (GRID * GRID);
            rgba.extend_from_slice(&[
                channel(sum[0]) as u8,
                channel(sum[1]) as u8,
                channel(sum[2]) as u8,
                alpha as u8,
            ]);
        }
    }
    rgba
}

/// The colour at (u, v), or `None` outside the shield.
fn icon_colour(u: f32, v: f32) -> Option<[u8; 3]> {
    use icon_shape::*;
    let half_width = if v < SHOULDER {
        HALF_WIDTH
    } else {
        HALF_WIDTH * (TIP - v) / (TIP - SHOULDER)
    };
    let inside = (TOP..TIP).contains(&v) && (u - 0.5).abs() <= half_width;
    if !inside {
        None
    } else if on_tick(u, v) {
        Some(TICK_RGB)
    } else {
        Some(SHIELD_RGB)
    }
}

fn on_tick(u: f32, v: f32) -> bool {
    let near = |(ax, ay): (f32, f32), (bx, by): (f32, f32)| {
        let (dx, dy) = (bx - ax, by - ay);
        let t = (((u - ax) * dx + (v - ay) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
        let (px, py) = (ax + t * dx - u, ay + t * dy - v);
        (px * px + py * py).sqrt() < icon_shape::TICK_HALF_WIDTH
    };
    icon_shape::TICK
        .windows(2)
        .any(|pair| near(pair[0], pair[1]))
}

/// The same drawing as a scalable SVG (100 × 100 user units), for the hicolor
/// `scalable` icon.
pub fn app_icon_svg() -> String {
    use icon_shape::*;
    let s = |value: f32| format!("{:.1}", value * 100.0);
    let hex = |rgb: [u8; 3]| format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
    let (left, right) = (0.5 - HALF_WIDTH, 0.5 + HALF_WIDTH);
    let shield = format!(
        "M{l},{top} H{r} V{sh} L50.0,{tip} L{l},{sh} Z",
        l = s(left),
        r = s(right),
        top = s(TOP),
        sh = s(SHOULDER),
        tip = s(TIP),
    );
    let tick = TICK
        .iter()
        .map(|&(x, y)| format!("{},{}", s(x), s(y)))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\" height=\"100\" viewBox=\"0 0 100 100\">\n\
         <title>pgSafeguard</title>\n\
         <path d=\"{shield}\" fill=\"{shield_fill}\"/>\n\
         <polyline points=\"{tick}\" fill=\"none\" stroke=\"{tick_fill}\" stroke-width=\"{width}\" \
         stroke-linecap=\"round\" stroke-linejoin=\"round\"/>\n\
         </svg>\n",
        shield_fill = hex(SHIELD_RGB),
        tick_fill = hex(TICK_RGB),
        width = s(2.0 * TICK_HALF_WIDTH),
    )
}

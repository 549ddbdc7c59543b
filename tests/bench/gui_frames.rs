//! GUI frame cost with a 10,000-table snapshot loaded (issue 8): the CPU time of every frame
//! while scrolling the longest evidence lists, printed as max / p99 / median. A measurement,
//! never a timed assertion.
//!
//! The App is built from the synthetic snapshot of `tests/bench/catalog.rs` (the one the
//! evaluate bench uses) inside an `egui_kittest::Harness` at 1280×800. For the findings with
//! the most objects and the one with the longest fix, it selects the check, then feeds one
//! mouse-wheel event per frame with the pointer over (a) the object list and (b) the detail
//! pane, which scrolls through the fix preview. A frame's cost is the thread CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`, so the other benchmarks on the machine do not inflate it) of
//! `Harness::step` — the App's `ui`, egui's layout and the AccessKit tree kittest always
//! builds, which eframe builds only for a screen reader, so the figure errs high — plus
//! tessellating the frame's shapes, as eframe does before painting. GPU upload and painting
//! are not included (no GPU here).
//!
//! `cargo bench --bench gui_frames` (PGSG_BENCH_TABLES / PGSG_BENCH_ROLES override the
//! 10,000 / 1,000 size; PGSG_BENCH_FRAMES the frames per scroll, default 150). Without
//! `--bench` (cargo test --all-targets) it runs at 300 tables and 20 frames as a smoke test.
//! The last line is machine-readable for tests/bench/run.sh. `--save-session FILE` instead
//! writes the synthetic snapshot as a session file and stops.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

#[path = "bench_env.rs"]
mod bench_env;
#[path = "catalog.rs"]
mod catalog;
#[path = "synthetic.rs"]
mod synthetic;

use bench_env::{benchmarking, env_count};
use catalog::{Layout, Scale};
use eframe::egui;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use pgsafeguard::model::finding::Finding;
use pgsafeguard::session::SessionFile;
use pgsafeguard::ui::{App, Command};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// CPU time consumed by the calling thread so far.
fn thread_cpu_time() -> Duration {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Thread CPU and wall milliseconds of `work`.
fn measure(work: impl FnOnce()) -> (f64, f64) {
    let (cpu, wall) = (thread_cpu_time(), Instant::now());
    work();
    (
        (thread_cpu_time() - cpu).as_secs_f64() * 1e3,
        wall.elapsed().as_secs_f64() * 1e3,
    )
}

/// One frame as eframe runs it on the CPU: input, `App::ui`, layout, then tessellation.
fn frame(harness: &mut Harness<'_, App>) -> f64 {
    measure(|| {
        harness.step();
        let shapes = harness.output().shapes.clone();
        let ppp = harness.ctx.pixels_per_point();
        std::hint::black_box(harness.ctx.tessellate(shapes, ppp));
    })
    .0
}

/// Frame times in milliseconds, for one scenario.
struct Frames {
    name: String,
    ms: Vec<f64>,
}

impl Frames {
    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.ms.clone();
        sorted.sort_by(f64::total_cmp);
        let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted.get(at).copied().unwrap_or(0.0)
    }

    fn max(&self) -> f64 {
        self.ms.iter().copied().fold(0.0, f64::max)
    }

    fn print(&self) {
        eprintln!(
            "  {:<58} {:>4} frames  max {:>6.2} ms  p99 {:>6.2} ms  median {:>6.2} ms",
            self.name,
            self.ms.len(),
            self.max(),
            self.percentile(0.99),
            self.percentile(0.5)
        );
    }
}

/// Select `finding` the way its row does (section, then check) and settle the frames that
/// follow; the first of them lays out the new detail pane.
fn select(harness: &mut Harness<'_, App>, finding: &Finding) -> Frames {
    let ctx = harness.ctx.clone();
    harness
        .state_mut()
        .execute(&ctx, Command::ShowSection(finding.section));
    harness
        .state_mut()
        .execute(&ctx, Command::SelectCheck(finding.id.clone()));
    Frames {
        name: format!("{}: first frames after selecting it", finding.id),
        ms: (0..3).map(|_| frame(harness)).collect(),
    }
}

/// Scroll with the mouse wheel over `at`, one wheel event per frame, then let the smooth
/// scrolling settle.
fn scroll(harness: &mut Harness<'_, App>, name: String, at: egui::Pos2, frames: usize) -> Frames {
    harness.hover_at(at);
    harness.step();
    let mut ms = Vec::with_capacity(frames + 10);
    for _ in 0..frames {
        harness.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, -60.0),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
            modifiers: egui::Modifiers::NONE,
        });
        ms.push(frame(harness));
    }
    ms.extend((0..10).map(|_| frame(harness)));
    Frames { name, ms }
}

/// Where the first of `finding`'s objects is shown (the object list), if on screen.
fn object_list_point(harness: &Harness<'_, App>, finding: &Finding) -> Option<egui::Pos2> {
    let first = finding.objects.first()?;
    let node = harness.query_by_label(first)?;
    Some(node.rect().center())
}

/// A point on the detail pane's heading "Why it matters" (drawn upper-case), below the
/// object list: wheel events there scroll the pane towards the fix preview.
fn detail_point(harness: &Harness<'_, App>) -> Option<egui::Pos2> {
    let node = harness.query_by_label("WHY IT MATTERS")?;
    Some(node.rect().center())
}

/// `--save-session FILE`: write the synthetic snapshot as a session file (for the
/// first-frame measurement of the real binary, tests/bench/gui_first_frame.sh) and stop.
fn save_session_arg() -> Option<PathBuf> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == "--save-session")?;
    args.get(at + 1).map(PathBuf::from)
}

fn main() {
    // The session written for the first-frame measurement has the benchmark's size too.
    let bench = benchmarking() || save_session_arg().is_some();
    let scale = Scale {
        tables: env_count("PGSG_BENCH_TABLES", if bench { 10_000 } else { 300 }),
        roles: env_count("PGSG_BENCH_ROLES", if bench { 1_000 } else { 30 }),
    };
    let frames = env_count("PGSG_BENCH_FRAMES", if bench { 150 } else { 20 });
    let layout = Layout::new(scale);
    let snapshot = synthetic::snapshot(&layout);
    if let Some(path) = save_session_arg() {
        SessionFile::new(snapshot)
            .save(&path)
            .expect("write the session file");
        eprintln!(
            "session of {} written to {}",
            catalog::describe(&layout),
            path.display()
        );
        return;
    }
    eprintln!(
        "GUI frames over a synthetic snapshot: {}",
        catalog::describe(&layout)
    );

    // Building the App evaluates every check (App::from_snapshot), as opening a session does.
    let mut built = None;
    let (build_cpu, build_wall) = measure(|| {
        built = Some(
            Harness::builder()
                .with_size(egui::vec2(1280.0, 800.0))
                .build_eframe(move |cc| App::from_snapshot(&cc.egui_ctx, snapshot)),
        );
    });
    let mut harness = built.expect("harness built");
    let first: Vec<f64> = (0..3).map(|_| frame(&mut harness)).collect();
    eprintln!(
        "  open: App::from_snapshot + harness {build_cpu:.1} ms CPU ({build_wall:.1} ms wall); \
         first frames {:.2} / {:.2} / {:.2} ms CPU",
        first[0], first[1], first[2]
    );

    let mut by_objects: Vec<Finding> = harness.state().findings().to_vec();
    by_objects.sort_by_key(|f| std::cmp::Reverse(f.objects.len()));
    let longest_fix = by_objects
        .iter()
        .max_by_key(|f| f.fix.as_ref().map_or(0, |p| p.statements.len()))
        .cloned();
    let mut chosen: Vec<Finding> = by_objects.into_iter().take(3).collect();
    if let Some(fix) = longest_fix {
        if !chosen.iter().any(|f| f.id == fix.id) {
            chosen.push(fix);
        }
    }

    let mut all = Vec::new();
    for finding in &chosen {
        let statements = finding.fix.as_ref().map_or(0, |p| p.statements.len());
        eprintln!(
            "{} ({} objects, {} fix statements):",
            finding.id,
            finding.objects.len(),
            statements
        );
        let selected = select(&mut harness, finding);
        selected.print();
        all.push(selected);
        if let Some(at) = object_list_point(&harness, finding) {
            let list = scroll(
                &mut harness,
                format!("{}: scrolling the object list", finding.id),
                at,
                frames,
            );
            list.print();
            // Proof that the frames scrolled: the first object row now on screen.
            match finding
                .objects
                .iter()
                .position(|o| harness.query_by_label(o).is_some())
            {
                Some(at) => eprintln!("    the list now shows object #{} onwards", at + 1),
                None => eprintln!("    no object row is on screen after scrolling"),
            }
            all.push(list);
        }
        if let Some(at) = detail_point(&harness) {
            let pane = scroll(
                &mut harness,
                format!("{}: scrolling the detail pane (fix preview)", finding.id),
                at,
                frames,
            );
            pane.print();
            let rollback = harness
                .query_by_label("ROLLBACK")
                .map(|n| n.rect().min.y)
                .filter(|y| (0.0..800.0).contains(y));
            eprintln!(
                "    the Rollback heading is {}",
                rollback.map_or("not on screen".into(), |y| format!(
                    "on screen at y = {y:.0}"
                ))
            );
            all.push(pane);
        }
    }

    let scrolling = Frames {
        name: "every scrolling frame".into(),
        ms: all
            .iter()
            .filter(|f| f.name.contains("scrolling"))
            .flat_map(|f| f.ms.iter().copied())
            .collect(),
    };
    let selecting = Frames {
        name: "every frame after a selection".into(),
        ms: all
            .iter()
            .filter(|f| f.name.contains("selecting"))
            .flat_map(|f| f.ms.iter().copied())
            .collect(),
    };
    scrolling.print();
    selecting.print();
    // For run.sh: key=value, milliseconds of thread CPU time.
    println!(
        "gui_frames scroll_max_ms={:.2} scroll_p99_ms={:.2} scroll_median_ms={:.2} \
         select_max_ms={:.2} open_ms={:.1} first_frame_ms={:.2} frames={}",
        scrolling.max(),
        scrolling.percentile(0.99),
        scrolling.percentile(0.5),
        selecting.max(),
        build_cpu,
        first[0],
        scrolling.ms.len()
    );
}

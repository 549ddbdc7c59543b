//! The live demo as the App sees it: launching the demo cluster, scanning
//! it, settling fixes applied to it, resetting it, and falling back to the
//! bundled offline sample where PostgreSQL is not installed.
//!
//! The App owns the running demo (`DemoState::running`, in `state`);
//! dropping the App (closing the window) drops the last handle, which stops
//! the server and removes its folder. Restarts after a fix go through
//! [`crate::demo::settle_on_demo`] and only ever touch this demo: nothing
//! here restarts a server the app merely connected to.
//!
//! A part of the App kept in its own file (an `impl App` block): it imports
//! `app`, and nothing imports it.

use super::app::App;
use super::apply_dialog::DialogStage;
use super::jobs::DemoFailure;
use super::state::{DemoLaunch, ScanKind, Source};
use super::theme::NoticeKind;
use crate::apply::ChangeLogEntry;
use crate::demo::{DemoCluster, DemoStage};
use std::sync::Arc;

impl App {
    /// The demo launch in flight, if any.
    pub fn demo_launch(&self) -> Option<&DemoLaunch> {
        self.demo.launch.as_ref()
    }

    /// True while the app owns a running demo cluster.
    pub fn demo_running(&self) -> bool {
        self.demo.running.is_some()
    }

    /// The running demo's data directory (tests check that it goes away).
    pub fn demo_data_dir(&self) -> Option<std::path::PathBuf> {
        self.demo
            .running
            .as_ref()
            .map(|d| d.data_dir().to_path_buf())
    }

    /// The install hint shown when the live demo fell back to the sample.
    pub fn demo_unavailable(&self) -> Option<&str> {
        self.demo.unavailable.as_deref()
    }

    /// True when the open results are the live demo and nothing is running
    /// that a reset would cut short.
    pub fn can_reset_demo(&self) -> bool {
        self.on_live_demo() && self.demo.launch.is_none() && !self.apply_busy()
    }

    pub(super) fn on_live_demo(&self) -> bool {
        matches!(
            self.results.as_ref().map(|r| &r.source),
            Some(Source::Demo { .. })
        )
    }

    /// "Try the demo database": rescan the running demo, or start one.
    pub(super) fn try_demo(&mut self) {
        if self.demo.launch.is_some() {
            return;
        }
        match self.demo.running.as_ref().map(|demo| demo.conn_params()) {
            Some(params) => self.start_scan(params, ScanKind::Demo),
            None => self.launch_demo(None),
        }
    }

    /// "Reset demo": stop and delete the demo, build a fresh one, scan it.
    pub(super) fn reset_demo(&mut self) {
        if !self.can_reset_demo() {
            return;
        }
        self.jobs.cancel_scan();
        self.scan = None;
        // Nothing may apply to or rescan the old cluster while it goes.
        self.live = None;
        let previous = self.demo.running.take();
        self.launch_demo(previous);
    }

    fn launch_demo(&mut self, previous: Option<Arc<DemoCluster>>) {
        let id = self.demo.next_launch;
        self.demo.next_launch += 1;
        let reset = previous.is_some();
        match self
            .jobs
            .start_demo(id, self.demo.discovery.clone(), previous)
        {
            Ok(()) => {
                self.demo.launch = Some(DemoLaunch {
                    id,
                    reset,
                    stage: None,
                    done: Vec::new(),
                })
            }
            Err(e) => self.notify(NoticeKind::Error, e),
        }
    }

    pub(super) fn on_demo_progress(&mut self, id: u64, stage: DemoStage) {
        let Some(launch) = self.demo.launch.as_mut().filter(|l| l.id == id) else {
            return;
        };
        if let Some(previous) = launch.stage.replace(stage) {
            launch.done.push(previous);
        }
    }

    pub(super) fn on_demo_started(
        &mut self,
        id: u64,
        result: Result<Arc<DemoCluster>, DemoFailure>,
    ) {
        if self.demo.launch.take_if(|l| l.id == id).is_none() {
            return;
        }
        match result {
            Ok(demo) => {
                let params = demo.conn_params();
                self.demo.running = Some(demo);
                self.start_scan(params, ScanKind::Demo);
            }
            Err(DemoFailure::NoBinaries { hint }) => {
                self.open_sample();
                self.demo.unavailable = Some(hint);
            }
            Err(DemoFailure::Failed(message)) => self.notify(
                NoticeKind::Error,
                format!(
                    "the demo database did not start: {message}. The offline sample still \
                     works: pgsafeguard demo --offline"
                ),
            ),
        }
    }

    /// After an apply on the live demo whose entry waits for a restart:
    /// settle it in the background and keep the dialog busy. `None` when
    /// there is nothing to settle (not the demo, or no restart needed).
    pub(super) fn settle_on_demo(&mut self, entry: &ChangeLogEntry) -> Option<DialogStage> {
        if !self.on_live_demo() || !crate::demo::needs_restart(entry) {
            return None;
        }
        let demo = self.demo.running.clone()?;
        let applier = self.applier()?;
        let log = self.change_log_path.clone();
        Some(
            match self.jobs.settle_demo(demo, applier, entry.clone(), log) {
                Ok(()) => DialogStage::Settling,
                Err(e) => DialogStage::Failed(e),
            },
        )
    }

    pub(super) fn on_demo_settled(&mut self, result: Result<Box<ChangeLogEntry>, String>) {
        let stage = match result {
            Ok(entry) => {
                self.record_change(&entry);
                self.notify(NoticeKind::Success, entry.summary());
                DialogStage::Applied(entry)
            }
            Err(message) => {
                self.notify(NoticeKind::Error, message.clone());
                DialogStage::Failed(message)
            }
        };
        // Either way the demo changed: show it as it is now.
        if self.scan.is_none() {
            self.rescan(None);
        }
        if let Some(dialog) = self.apply_dialog.as_mut() {
            dialog.stage = stage;
        }
    }
}

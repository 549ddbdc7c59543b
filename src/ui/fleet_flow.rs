//! Fleet scans as the App sees them: showing the Fleet page, starting a run
//! on an inventory, and opening a finished target from the matrix as a live
//! scan of that server (so Rescan and fixes work on it) at the clicked
//! section.
//!
//! A part of the App kept in its own file (an `impl App` block): it imports
//! `app`, and nothing imports it.

use super::app::App;
use super::fleet::FleetView;
use super::fleet_export::fleet_report_input;
use super::state::Page;
use super::theme::NoticeKind;
use crate::model::finding::Section;
use crate::store::record::RecordKind;
use std::path::PathBuf;

impl App {
    /// The Fleet page's state (also the test API).
    pub fn fleet(&self) -> &FleetView {
        &self.fleet
    }

    /// The Fleet page's filters and sort, as its combo boxes edit them (test API).
    pub fn fleet_mut(&mut self) -> &mut FleetView {
        &mut self.fleet
    }

    pub(super) fn show_fleet(&mut self) {
        self.recorded = None;
        self.page = Page::Fleet;
    }

    /// Ask for an inventory and scan it.
    pub(super) fn open_fleet_inventory(&mut self) {
        self.page = Page::Fleet;
        if let Err(e) = self.fleet.pick_and_run(self.policy.clone()) {
            self.notify(NoticeKind::Error, e);
        }
    }

    /// Scan the inventory at `path` and show the Fleet page.
    pub fn run_fleet_inventory(&mut self, path: PathBuf) {
        self.page = Page::Fleet;
        if let Err(e) = self.fleet.run_path(path, self.policy.clone()) {
            self.notify(NoticeKind::Error, e);
        }
    }

    /// Take what the fleet run reported; each scan that finished is recorded
    /// in the evidence store (when one is open), as the CLI's fleet does.
    pub(super) fn drain_fleet(&mut self) {
        self.fleet.drain();
        let finished = self.fleet.take_unrecorded();
        let Some(store) = self.evidence.clone() else {
            return;
        };
        for (snapshot, findings) in finished {
            if let Err(e) = self.jobs.record_scan(store.clone(), snapshot, findings) {
                self.record_failed(RecordKind::Scan, e);
                return;
            }
        }
    }

    /// Ask where to save the finished run's signed PDF; built on the runtime.
    pub(super) fn export_fleet_report(&mut self) {
        let Some(input) = fleet_report_input(&self.fleet) else {
            self.notify(
                NoticeKind::Info,
                "the fleet report is ready once every target has finished",
            );
            return;
        };
        if let Err(e) = self.jobs.export_fleet_report_as(input) {
            self.notify(NoticeKind::Error, e);
        }
    }

    /// Open a scanned target of the fleet at `section` (its overview when `None`).
    pub(super) fn open_fleet_target(&mut self, name: &str, section: Option<Section>) {
        let Some(scan) = self.fleet.scan_of(name).cloned() else {
            self.notify(
                NoticeKind::Info,
                "this target was not scanned: the matrix says why",
            );
            return;
        };
        self.open_live_results(scan.snapshot, scan.params);
        if let Some(section) = section {
            self.page = Page::Section(section);
        }
    }
}

//! The Fleet page's state and its background work: pick an inventory (TOML)
//! or a service file, check it, scan every target with the fleet runner
//! (`crate::fleet::run`, as `pgsafeguard fleet` does), and collect the rows
//! of the target × section matrix as they finish. Filtering by group and tag
//! and the sort order are form state the page edits in place.
//!
//! Everything runs on the runtime; results come back over this module's own
//! channel, drained by the App in `logic()`, each send followed by
//! `request_repaint`. A finished target's snapshot and connection parameters
//! (password included, in memory only) stay here so that a click on a cell
//! can open that target as a live scan.
//!
//! Layer 1 (state and jobs): imports the fleet, the model and the policy,
//! no drawing code.

use crate::fleet::inventory::Inventory;
use crate::fleet::run::{self, RunOptions};
use crate::fleet::shard::Shard;
use crate::fleet::summary::{rank, FleetSummary, InventoryInfo, Outcome, RunSettings, TargetRow};
use crate::model::conninfo::ConnParams;
use crate::model::finding::{Finding, Status};
use crate::model::snapshot::Snapshot;
use crate::output::ScanReport;
use crate::policy::Policy;
use eframe::egui;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use tokio::runtime::Handle;

/// How the matrix is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FleetSort {
    /// By target name.
    #[default]
    Name,
    /// Worst first: not scanned, then most failing checks.
    Worst,
    /// By group, then name.
    Group,
}

/// A scanned target, kept to open it from the matrix and for the fleet PDF.
#[derive(Debug, Clone)]
pub struct FleetScan {
    pub snapshot: Snapshot,
    /// Its findings as the PDF's target chapter shows them.
    pub report: ScanReport,
    /// The connection (with its password, never saved or shown).
    pub params: ConnParams,
}

/// What the background work reports.
#[derive(Debug)]
enum FleetEvent {
    /// The inventory was read: where, and how many targets will be scanned.
    Loaded {
        path: PathBuf,
        targets: usize,
        sha256: String,
        started_at: String,
    },
    /// The inventory could not be used (one line naming file and line).
    Refused(String),
    Finished(Box<TargetRow>, Option<Box<FleetScan>>),
    Done,
}

/// The inventory of the last run, for the fleet summary.
#[derive(Debug, Clone, Default)]
pub struct RunRecord {
    /// SHA-256 of the inventory file.
    pub sha256: String,
    pub started_at: String,
    /// Set when the last target has finished.
    pub finished_at: Option<String>,
}

/// The Fleet page: the last inventory run and its matrix.
pub struct FleetView {
    runtime: Option<Handle>,
    ctx: egui::Context,
    events: Option<Receiver<FleetEvent>>,
    pub inventory: Option<PathBuf>,
    /// Targets in the run; `rows.len()` of them have finished.
    pub total: usize,
    pub running: bool,
    pub error: Option<String>,
    pub rows: Vec<TargetRow>,
    /// When the run started and ended, and which inventory file it read.
    pub record: RunRecord,
    scans: BTreeMap<String, FleetScan>,
    /// Targets scanned since the App last took them for the evidence store.
    unrecorded: Vec<String>,
    /// Show only this group / tag (form state, edited in place).
    pub group: Option<String>,
    pub tag: Option<String>,
    pub sort: FleetSort,
}

impl FleetView {
    pub fn new(runtime: Option<Handle>, ctx: egui::Context) -> FleetView {
        FleetView {
            runtime,
            ctx,
            events: None,
            inventory: None,
            total: 0,
            running: false,
            error: None,
            rows: Vec::new(),
            record: RunRecord::default(),
            scans: BTreeMap::new(),
            unrecorded: Vec::new(),
            group: None,
            tag: None,
            sort: FleetSort::default(),
        }
    }

    /// Ask for an inventory or service file, then scan it.
    pub fn pick_and_run(&mut self, policy: Policy) -> Result<(), String> {
        self.start(None, policy)
    }

    /// Scan the inventory at `path` (tests and `--fleet`-like callers).
    pub fn run_path(&mut self, path: PathBuf, policy: Policy) -> Result<(), String> {
        self.start(Some(path), policy)
    }

    fn start(&mut self, path: Option<PathBuf>, policy: Policy) -> Result<(), String> {
        let runtime = self.runtime.clone().ok_or(
            "fleet scans need the background runtime, which this window was started without",
        )?;
        if self.running {
            return Err("a fleet scan is already running".into());
        }
        let (sender, receiver) = channel();
        let out = Out {
            sender,
            ctx: self.ctx.clone(),
        };
        self.events = Some(receiver);
        self.running = true;
        self.error = None;
        runtime.spawn(async move {
            let path = match path {
                Some(path) => path,
                None => {
                    let picked = rfd::AsyncFileDialog::new()
                        .set_title("Open a fleet inventory or service file")
                        .add_filter("Inventory or service file", &["toml", "conf"])
                        .add_filter("Any file", &["*"])
                        .pick_file()
                        .await;
                    match picked {
                        Some(file) => file.path().to_path_buf(),
                        None => return out.send(FleetEvent::Done),
                    }
                }
            };
            let loading = path.clone();
            let loaded = tokio::task::spawn_blocking(move || {
                Inventory::load(&loading, Arc::new(policy)).map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r);
            let inventory = match loaded {
                Ok(inventory) => inventory,
                Err(message) => {
                    out.send(FleetEvent::Refused(message));
                    return out.send(FleetEvent::Done);
                }
            };
            out.send(FleetEvent::Loaded {
                path,
                targets: inventory.targets.len(),
                sha256: inventory.sha256.clone(),
                started_at: crate::scan::now_rfc3339(),
            });
            run::run(inventory.targets, &RunOptions::default(), |finished| {
                let scan = finished.scan.map(|s| {
                    Box::new(FleetScan {
                        snapshot: s.snapshot,
                        report: s.report,
                        params: finished.target.params.clone(),
                    })
                });
                out.send(FleetEvent::Finished(Box::new(finished.row), scan));
            })
            .await;
            out.send(FleetEvent::Done);
        });
        Ok(())
    }

    /// Take what the background work reported; true when anything changed.
    pub fn drain(&mut self) -> bool {
        let Some(events) = &self.events else {
            return false;
        };
        let mut changed = false;
        while let Ok(event) = events.try_recv() {
            changed = true;
            match event {
                FleetEvent::Loaded {
                    path,
                    targets,
                    sha256,
                    started_at,
                } => {
                    self.inventory = Some(path);
                    self.total = targets;
                    self.record = RunRecord {
                        sha256,
                        started_at,
                        finished_at: None,
                    };
                    self.rows.clear();
                    self.scans.clear();
                    self.group = None;
                    self.tag = None;
                }
                FleetEvent::Refused(message) => self.error = Some(message),
                FleetEvent::Finished(row, scan) => {
                    if let Some(scan) = scan {
                        self.unrecorded.push(row.name.clone());
                        self.scans.insert(row.name.clone(), *scan);
                    }
                    self.rows.push(*row);
                }
                FleetEvent::Done => {
                    self.running = false;
                    if self.inventory.is_some() && self.record.finished_at.is_none() {
                        self.record.finished_at = Some(crate::scan::now_rfc3339());
                    }
                }
            }
        }
        if !self.running {
            self.events = None;
        }
        changed
    }

    /// The groups and the tags of the rows, for the filters.
    pub fn groups_and_tags(&self) -> (Vec<String>, Vec<String>) {
        let groups: BTreeSet<String> = self.rows.iter().filter_map(|r| r.group.clone()).collect();
        let tags: BTreeSet<String> = self.rows.iter().flat_map(|r| r.tags.clone()).collect();
        (groups.into_iter().collect(), tags.into_iter().collect())
    }

    /// The rows that pass the filters, in the chosen order.
    pub fn visible_rows(&self) -> Vec<&TargetRow> {
        let mut rows: Vec<&TargetRow> = self
            .rows
            .iter()
            .filter(|r| self.group.is_none() || r.group == self.group)
            .filter(|r| self.tag.as_ref().is_none_or(|t| r.tags.contains(t)))
            .collect();
        match self.sort {
            FleetSort::Name => rows.sort_by(|a, b| a.name.cmp(&b.name)),
            FleetSort::Group => rows.sort_by(|a, b| (&a.group, &a.name).cmp(&(&b.group, &b.name))),
            FleetSort::Worst => rows.sort_by_key(|r| (worst_key(r), r.name.clone())),
        }
        rows
    }

    /// A finished target's scan, to open it.
    pub fn scan_of(&self, name: &str) -> Option<&FleetScan> {
        self.scans.get(name)
    }

    /// The finished run as a fleet summary (`pgsafeguard.fleet/1`), as
    /// `pgsafeguard fleet` would have written it; `None` until a run has
    /// finished.
    pub fn summary(&self) -> Option<FleetSummary> {
        let path = self.inventory.as_ref()?;
        let finished_at = self.record.finished_at.clone()?;
        if self.running {
            return None;
        }
        let defaults = RunOptions::default();
        Some(FleetSummary::new(
            InventoryInfo {
                path: path.display().to_string(),
                sha256: self.record.sha256.clone(),
                targets: self.total,
            },
            Shard::ALL,
            RunSettings {
                concurrency: defaults.concurrency,
                connect_timeout_s: defaults.connect_timeout.as_secs(),
                scan_timeout_s: defaults.scan_timeout.as_secs(),
                all_databases: defaults.scan.all_databases,
                group: None,
                tag: None,
            },
            self.record.started_at.clone(),
            finished_at,
            self.rows.clone(),
        ))
    }

    /// The scans finished since the last call, to record in the evidence
    /// store as `pgsafeguard fleet` records each of its scans.
    pub fn take_unrecorded(&mut self) -> Vec<(Snapshot, Vec<Finding>)> {
        std::mem::take(&mut self.unrecorded)
            .into_iter()
            .filter_map(|name| self.scans.get(&name))
            .map(|scan| (scan.snapshot.clone(), scan.report.findings.clone()))
            .collect()
    }

    /// Every scanned target's report, by name (the PDF's chapters).
    pub fn reports(&self) -> Vec<(String, ScanReport)> {
        self.scans
            .iter()
            .map(|(name, scan)| (name.clone(), scan.report.clone()))
            .collect()
    }

    /// How many targets were not scanned, and how many fail a check.
    pub fn counts(&self) -> (usize, usize) {
        let not_scanned = self
            .rows
            .iter()
            .filter(|r| r.outcome != Outcome::Scanned)
            .count();
        (
            not_scanned,
            self.rows.iter().filter(|r| r.failing()).count(),
        )
    }
}

/// Not scanned first, then by the worst status over all sections, then by
/// the number of failing checks (most first).
fn worst_key(row: &TargetRow) -> (usize, usize, std::cmp::Reverse<usize>) {
    if row.outcome != Outcome::Scanned {
        return (0, 0, std::cmp::Reverse(0));
    }
    let worst = row
        .sections
        .values()
        .map(|c| rank(c.worst))
        .min()
        .unwrap_or(rank(Status::NotApplicable));
    let fails = row.summary.as_ref().map_or(0, |s| s.fail);
    (1, worst, std::cmp::Reverse(fails))
}

/// The sending half: every send wakes the window.
struct Out {
    sender: Sender<FleetEvent>,
    ctx: egui::Context,
}

impl Out {
    fn send(&self, event: FleetEvent) {
        // The window may be gone; then nobody waits for the result.
        let _ = self.sender.send(event);
        self.ctx.request_repaint();
    }
}

//! Scanning many targets at once: at most `concurrency` scans in flight, each
//! bounded by a connect timeout and a whole-scan timeout, each result handed
//! to the caller the moment it is ready.
//!
//! Every target runs as a task of its own on the runtime, so one that is
//! unreachable, hangs (a listener that accepts and never answers) or fails —
//! even by a panic in our code — becomes that target's outcome and never
//! stops or stalls the others. A timed-out scan is dropped, which closes its
//! connection.
//!
//! Imports `scan` (one live scan), `checks` (evaluation), `output` (the
//! scan's JSON) and `model`; writes nothing itself (see [`super::output`]).

use super::inventory::Target;
use super::summary::{Outcome, TargetRow};
use crate::checks;
use crate::model::snapshot::Snapshot;
use crate::output::ScanReport;
use crate::policy::Attestations;
use crate::scan::{self, ScanError, ScanOptions};
use futures_util::FutureExt as _;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// The default number of scans in flight.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// The default limit for opening a session (per address, as libpq's connect_timeout).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default limit for a whole scan of one target, connecting included.
pub const DEFAULT_SCAN_TIMEOUT: Duration = Duration::from_secs(300);

/// How a fleet run scans.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub concurrency: usize,
    pub connect_timeout: Duration,
    pub scan_timeout: Duration,
    pub scan: ScanOptions,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            concurrency: DEFAULT_CONCURRENCY,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            scan_timeout: DEFAULT_SCAN_TIMEOUT,
            scan: ScanOptions::default(),
        }
    }
}

/// One finished target.
#[derive(Debug)]
pub struct Finished {
    pub target: Target,
    /// The row for the summary (its `file` is filled in by whoever writes the scan).
    pub row: TargetRow,
    /// The scan, when there is one.
    pub scan: Option<Box<Scanned>>,
}

/// A target's scan: the snapshot (for the evidence store) and its report.
#[derive(Debug)]
pub struct Scanned {
    pub snapshot: Snapshot,
    pub report: ScanReport,
    /// `report.to_json()`, made on the worker.
    pub json: String,
}

/// Scans `targets`, calling `on_finished` on the calling task as each one
/// ends, in the order they end.
pub async fn run(
    targets: Vec<Target>,
    options: &RunOptions,
    mut on_finished: impl FnMut(Finished),
) {
    let options = Arc::new(options.clone());
    let limit = options.concurrency.max(1);
    let mut waiting = targets.into_iter();
    let mut running = JoinSet::new();
    loop {
        while running.len() < limit {
            let Some(target) = waiting.next() else { break };
            let options = Arc::clone(&options);
            running.spawn(async move {
                let started = Instant::now();
                let outcome = AssertUnwindSafe(scan_one(&target, &options))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| Err((Outcome::Failed, "pgSafeguard failed while scanning this target (a bug: please report it)".into())));
                finish(target, outcome, started.elapsed())
            });
        }
        match running.join_next().await {
            Some(Ok(finished)) => on_finished(finished),
            // Only a runtime shutting down cancels a task; its target is lost with the run.
            Some(Err(_)) => {}
            None => break,
        }
    }
}

type ScanResult = Result<Box<Scanned>, (Outcome, String)>;

async fn scan_one(target: &Target, options: &RunOptions) -> ScanResult {
    let mut params = target.params.clone();
    // The fleet's limit caps a longer connect_timeout of the target's own.
    params.connect_timeout = Some(
        params
            .connect_timeout
            .map_or(options.connect_timeout, |own| {
                own.min(options.connect_timeout)
            }),
    );
    let scanning = scan::scan_live(&params, &options.scan, scan::no_progress());
    let snapshot = match tokio::time::timeout(options.scan_timeout, scanning).await {
        Err(_) => {
            return Err((
                Outcome::TimedOut,
                format!(
                    "the scan did not finish within {} s: raise --scan-timeout or check the server",
                    options.scan_timeout.as_secs()
                ),
            ))
        }
        Ok(Err(ScanError::Connect(e))) => return Err((Outcome::Unreachable, e.to_string())),
        Ok(Err(e)) => return Err((Outcome::Failed, e.to_string())),
        Ok(Ok(snapshot)) => snapshot,
    };
    let findings = checks::evaluate_all(&snapshot, &target.policy, &Attestations::default());
    let report = ScanReport::new(&snapshot, findings);
    let json = report.to_json();
    Ok(Box::new(Scanned {
        snapshot,
        report,
        json,
    }))
}

fn finish(target: Target, outcome: ScanResult, elapsed: Duration) -> Finished {
    let base = TargetRow {
        name: target.name.clone(),
        group: target.group.clone(),
        tags: target.tags.clone(),
        connection: target.display(),
        outcome: Outcome::Failed,
        error: None,
        duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        file: None,
        server_version: None,
        system_identifier: None,
        collected_at: None,
        summary: None,
        sections: Default::default(),
    };
    match outcome {
        Ok(scanned) => Finished {
            row: TargetRow::scanned(base, &scanned.report),
            target,
            scan: Some(scanned),
        },
        Err((outcome, message)) => Finished {
            row: TargetRow {
                outcome,
                error: Some(crate::model::untrusted::one_line(&message)),
                ..base
            },
            target,
            scan: None,
        },
    }
}

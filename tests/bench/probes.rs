//! Active probe figures (issue 15), printed, never asserted:
//! - all four probes on a small cluster, beyond the scan itself (target ≤ 2 s);
//! - the authentication probe per (role, database) pair (target ≤ 20 ms);
//! - the transport probe per server address (target ≤ 100 ms).
//!
//! The cluster is the hardened test scenario (TLS, scram, pgAudit with a jsonlog file,
//! RLS on a PHI table), so every probe runs to an answer rather than being skipped. Each
//! figure is the median over several scans with only that probe, minus the median of a
//! scan with no probe; per-pair and per-address figures divide by the attempts the probe
//! recorded. `cargo bench --bench probes` runs 7 rounds (PGSG_BENCH_ROUNDS); under
//! `cargo test --all-targets` it is a smoke run of one round.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

#[path = "bench_env.rs"]
mod bench_env;
#[path = "../support/mod.rs"]
mod support;

use bench_env::{benchmarking, env_count};
use pgsafeguard::db::conninfo::ConnParams;
use pgsafeguard::model::proof::{Probe, ProbeRun};
use pgsafeguard::scan::{no_progress, scan_live, ProbeOptions, ScanOptions};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use support::scenarios;

/// One scan with `probes` (none: a plain scan); its wall time and probe run.
fn timed_scan(
    runtime: &tokio::runtime::Runtime,
    params: &ConnParams,
    probes: &[Probe],
) -> (Duration, Option<ProbeRun>) {
    let prove = (!probes.is_empty()).then(|| ProbeOptions {
        probes: probes.to_vec(),
        // The bench cluster is not verified over TCP; the probes would refuse otherwise.
        insecure: true,
        ..ProbeOptions::default()
    });
    let options = ScanOptions {
        prove,
        ..ScanOptions::default()
    };
    let started = Instant::now();
    let snapshot = runtime
        .block_on(scan_live(params, &options, no_progress()))
        .expect("scan");
    (started.elapsed(), snapshot.probes)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median wall time of `rounds` scans with `probes`, and the last probe run.
fn measure(
    runtime: &tokio::runtime::Runtime,
    params: &ConnParams,
    probes: &[Probe],
    rounds: usize,
) -> (Duration, Option<ProbeRun>) {
    let mut last = None;
    let samples = (0..rounds)
        .map(|_| {
            let (took, run) = timed_scan(runtime, params, probes);
            last = run;
            took
        })
        .collect();
    (median(samples), last)
}

/// The attempts `probe` made in `run`, and the distinct server addresses they went to
/// (the part of `from` after the arrow).
fn attempts(run: &ProbeRun, probe: Probe) -> (usize, usize) {
    let proofs: Vec<_> = run
        .proofs
        .iter()
        .filter(|p| p.proof.probe == probe)
        .collect();
    let addresses: BTreeSet<&str> = proofs
        .iter()
        .filter_map(|p| p.proof.from.rsplit('→').next())
        .map(str::trim)
        .collect();
    (proofs.len(), addresses.len())
}

fn verdict(measured_ms: f64, target_ms: f64) -> &'static str {
    if measured_ms <= target_ms {
        "ok"
    } else {
        "OVER"
    }
}

fn main() {
    let rounds = if benchmarking() {
        env_count("PGSG_BENCH_ROUNDS", 7).max(1)
    } else {
        1
    };
    let cluster = scenarios::hardened();
    let conninfo = cluster.conninfo_socket(
        cluster.superuser(),
        cluster.superuser_password(),
        scenarios::CLINIC_DB,
        "",
    );
    let params = ConnParams::from_conninfo_with_env(&conninfo, &|_| None).expect("conninfo");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // One scan to warm the server's caches before anything is timed.
    timed_scan(&runtime, &params, &[]);

    let (base, _) = measure(&runtime, &params, &[], rounds);
    let (all, all_run) = measure(&runtime, &params, &Probe::ALL, rounds);
    let beyond = |d: Duration| ms(d.saturating_sub(base));
    println!(
        "probe benchmark: hardened test cluster, {rounds} round(s), {} cores, load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "{:<48} {:>12} {:>10}  verdict",
        "figure", "measured", "target"
    );
    println!(
        "{:<48} {:>9.1} ms {:>10}",
        "scan without probes (median)",
        ms(base),
        "-"
    );
    let all_ms = beyond(all);
    println!(
        "{:<48} {:>9.1} ms {:>10}  {}",
        "all probes, beyond the scan",
        all_ms,
        "≤ 2000 ms",
        verdict(all_ms, 2000.0)
    );
    if let Some(run) = &all_run {
        for skipped in &run.skipped {
            println!("  note: {:?} skipped: {}", skipped.probe, skipped.reason);
        }
    }

    for (probe, unit, target) in [
        (Probe::Auth, "per (role, database) pair", 20.0),
        (Probe::Transport, "per server address", 100.0),
        (Probe::Rls, "", 0.0),
        (Probe::Audit, "", 0.0),
    ] {
        let (took, run) = measure(&runtime, &params, &[probe], rounds);
        let probe_ms = beyond(took);
        let label = format!("{probe:?} probe alone, beyond the scan");
        println!("{label:<48} {probe_ms:>9.1} ms {:>10}", "-");
        let Some(run) = run else { continue };
        let (made, addresses) = attempts(&run, probe);
        let per = match probe {
            Probe::Transport => addresses,
            _ => made,
        };
        if target > 0.0 && per > 0 {
            let each = probe_ms / per as f64;
            println!(
                "{:<48} {:>9.1} ms {:>10}  {}",
                format!("  {unit} ({per})"),
                each,
                format!("≤ {target} ms"),
                verdict(each, target)
            );
        } else {
            println!("  {made} attempt(s)");
        }
    }
}

//! Fleet scale benchmark (issue 17): 200 targets scanned at the default concurrency (16)
//! must take at most 20 s on the 2-core machine, with a peak RSS of at most 300 MB.
//!
//! ```text
//! cargo bench --bench fleet                      200 targets: 4 clusters x 50 databases
//! PGSG_BENCH_CLUSTERS=2 PGSG_BENCH_DATABASES=20 cargo bench --bench fleet
//! cargo test --bench fleet                       smoke: 1 cluster x 4 databases, no targets
//! ```
//!
//! Targets are databases: the harness (tests/support) starts the clusters, each gets N
//! small databases, and the fleet runner (`pgsafeguard::fleet::run`, the code behind
//! `pgsafeguard fleet`) scans them all in this process, writing each target's JSON to an
//! output folder as `--output` does. Printed: setup time, fleet wall time, targets per
//! second, the slowest target, and the peak RSS of this process (VmHWM from
//! /proc/self/status; the servers are other processes). Building the databases is not timed.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

#[path = "bench_env.rs"]
mod bench_env;
#[path = "../support/mod.rs"]
mod support;

use pgsafeguard::db::conninfo::ConnParams;
use pgsafeguard::fleet::inventory::Target;
use pgsafeguard::fleet::output::OutputDir;
use pgsafeguard::fleet::run::{self, RunOptions};
use pgsafeguard::fleet::summary::Outcome;
use pgsafeguard::policy::Policy;
use std::sync::Arc;
use std::time::Instant;
use support::Cluster;

/// Peak resident set of this process, in MiB (VmHWM).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

fn start_cluster(databases: usize) -> Cluster {
    // Room for the fleet's sessions beside the harness's own.
    let cluster = support::plain().conf("max_connections = 60").start();
    let statements: Vec<String> = (0..databases)
        .map(|i| format!("CREATE DATABASE fleet_{i:03}"))
        .collect();
    let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
    if !refs.is_empty() {
        cluster.psql_unlogged("postgres", &refs);
    }
    cluster
}

fn targets(clusters: &[Cluster], databases: usize) -> Vec<Target> {
    let policy = Arc::new(Policy::default());
    let mut targets = Vec::new();
    for (c, cluster) in clusters.iter().enumerate() {
        for i in 0..databases {
            let db = format!("fleet_{i:03}");
            let conninfo =
                cluster.conninfo_socket(cluster.superuser(), cluster.superuser_password(), &db, "");
            targets.push(Target {
                name: format!("c{c}-{db}"),
                group: Some(format!("cluster-{c}")),
                tags: Vec::new(),
                params: ConnParams::from_conninfo_with_env(&conninfo, &|_| None).unwrap(),
                policy: Arc::clone(&policy),
                line: 0,
            });
        }
    }
    targets
}

fn main() {
    let full = bench_env::benchmarking();
    let (cluster_count, databases) = if full {
        (
            bench_env::env_count("PGSG_BENCH_CLUSTERS", 4),
            bench_env::env_count("PGSG_BENCH_DATABASES", 50),
        )
    } else {
        (1, 4)
    };
    let setup = Instant::now();
    let clusters: Vec<Cluster> = (0..cluster_count)
        .map(|_| start_cluster(databases))
        .collect();
    let targets = targets(&clusters, databases);
    let count = targets.len();
    let setup = setup.elapsed();

    let out = tempfile::tempdir().unwrap();
    let output = OutputDir::prepare(out.path(), None).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let options = RunOptions::default();
    let started = Instant::now();
    let mut scanned = 0usize;
    let mut slowest = 0u64;
    let mut problems = Vec::new();
    runtime.block_on(run::run(targets, &options, |finished| {
        slowest = slowest.max(finished.row.duration_ms);
        match &finished.scan {
            Some(scan) => {
                output
                    .write_target(&finished.row.name, &scan.json, &scan.report)
                    .unwrap();
                scanned += 1;
            }
            None => problems.push(format!(
                "{}: {:?} {}",
                finished.row.name,
                finished.row.outcome,
                finished.row.error.clone().unwrap_or_default()
            )),
        }
        debug_assert!(finished.row.outcome == Outcome::Scanned || finished.scan.is_none());
    }));
    let wall = started.elapsed();
    let rss = peak_rss_mib();
    println!(
        "fleet: {count} targets ({cluster_count} clusters x {databases} databases), concurrency {}, setup {:.1} s",
        options.concurrency,
        setup.as_secs_f64()
    );
    println!(
        "fleet: scanned {scanned}/{count} in {:.2} s ({:.1} targets/s), slowest target {} ms, peak RSS {:.0} MiB",
        wall.as_secs_f64(),
        count as f64 / wall.as_secs_f64().max(0.001),
        slowest,
        rss
    );
    if full {
        println!(
            "fleet: targets 200 in <= 20 s: {}; peak RSS <= 300 MB: {}",
            if wall.as_secs_f64() <= 20.0 * count as f64 / 200.0 {
                "met"
            } else {
                "MISSED"
            },
            if rss <= 300.0 * 1_000_000.0 / 1_048_576.0 {
                "met"
            } else {
                "MISSED"
            }
        );
    }
    assert!(
        problems.is_empty(),
        "targets not scanned:\n{}",
        problems.join("\n")
    );
    drop(clusters);
}

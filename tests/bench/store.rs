//! Evidence store figures (issue 16), printed, never asserted:
//! - recording a scan of the small cluster when 10,000 are already recorded (target ≤ 50 ms);
//! - store growth per unchanged rescan of the small cluster (target ≤ 20 KB);
//! - `history` over 10,000 recorded scans: open the store and list them (target ≤ 100 ms);
//! - `diff` of two recorded 10,000-table scans: load both and compare (target ≤ 300 ms).
//!
//! `cargo bench --bench store` records 10,000 scans (override with PGSG_BENCH_SCANS) and uses
//! 10,000-table snapshots; under `cargo test --all-targets` it is a smoke run with 40 scans
//! and 500 tables. The small cluster is the golden fixture of the insecure test cluster;
//! each rescan changes what a real rescan changes (times, the session's pid, the archiver).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

#[path = "bench_env.rs"]
mod bench_env;
#[path = "catalog.rs"]
mod catalog;
#[path = "synthetic.rs"]
mod synthetic;

use bench_env::{benchmarking, env_count};
use catalog::{Layout, Scale};
use pgsafeguard::checks;
use pgsafeguard::drift::{self, ScanSide};
use pgsafeguard::model::snapshot::Snapshot;
use pgsafeguard::policy::{Attestations, Policy};
use pgsafeguard::store::scan_record::ScanSource;
use pgsafeguard::store::{EvidenceStore, StoredScan};
use std::path::Path;
use std::time::{Duration, Instant};

const SMALL_CLUSTER: &str = include_str!(
    "../fixtures/golden/collect_live-least_privilege_scanner_on_an_insecure_cluster-1.snapshot.json"
);

/// The small cluster as rescan number `n` would see it.
fn rescan(base: &Snapshot, n: usize) -> Snapshot {
    let mut s = base.clone();
    let day = 1 + (n / 1440) % 28;
    let (hour, minute) = ((n / 60) % 24, n % 60);
    s.collected_at = format!(
        "2026-{:02}-{day:02}T{hour:02}:{minute:02}:00Z",
        1 + (n / 40_320) % 12
    );
    s.server_time = Some(s.collected_at.clone());
    if let Some(sessions) = s.sessions.as_mut() {
        for session in sessions {
            session.pid = 1000 + n as i32;
        }
    }
    if let Some(archiver) = s.archiver.as_mut() {
        archiver.archived_count = n as i64;
        archiver.last_archived_wal = Some(format!("{:024X}", n + 1));
        archiver.last_archived_time = Some(s.collected_at.clone());
    }
    s
}

/// Bytes of content (record bodies and parts), without SQLite's own overhead.
fn content_bytes(path: &Path) -> u64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    let sum = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64;
    sum("SELECT coalesce(sum(length(body)), 0) FROM parts")
        + sum("SELECT coalesce(sum(length(body) + length(hash) + length(prev) + length(target) + length(at)), 0) FROM records")
}

fn file_size(path: &Path) -> u64 {
    // Fold the write-ahead log into the file so the size is what stays.
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    std::fs::metadata(path).unwrap().len()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let scans = env_count("PGSG_BENCH_SCANS", if benchmarking() { 10_000 } else { 40 });
    let tables = env_count(
        "PGSG_BENCH_TABLES",
        if benchmarking() { 10_000 } else { 500 },
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evidence.sqlite");
    let base: Snapshot = serde_json::from_str(SMALL_CLUSTER).unwrap();
    let (policy, attestations) = (Policy::default(), Attestations::default());

    let mut store = EvidenceStore::open_file(&path).unwrap();
    let filling = Instant::now();
    let tail = 100.min(scans / 2);
    let (mut size_before_tail, mut content_before_tail) = (0, 0);
    let mut tail_times = Vec::new();
    for n in 0..scans {
        if n == scans - tail {
            size_before_tail = file_size(&path);
            content_before_tail = content_bytes(&path);
        }
        let snapshot = rescan(&base, n);
        let findings = checks::evaluate_all(&snapshot, &policy, &attestations);
        let started = Instant::now();
        store
            .record_scan(&snapshot, &findings, ScanSource::Cli)
            .unwrap();
        if n >= scans - tail {
            tail_times.push(started.elapsed());
        }
    }
    let growth = (file_size(&path) - size_before_tail) as f64 / tail as f64 / 1024.0;
    println!(
        "store: recorded {scans} scans of the small cluster in {:.1} s",
        filling.elapsed().as_secs_f64()
    );
    println!(
        "store: record one scan at {scans} recorded: median {:.2} ms (target <= 50 ms)",
        ms(median(tail_times))
    );
    let content = (content_bytes(&path) - content_before_tail) as f64 / tail as f64 / 1024.0;
    println!(
        "store: growth per unchanged rescan: {growth:.1} KB on disk, {content:.1} KB of content (target <= 20 KB)"
    );
    drop(store);

    let history: Vec<Duration> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let mut store = EvidenceStore::open_file(&path).unwrap();
            let listed = store.scans().unwrap();
            assert_eq!(listed.len(), scans);
            started.elapsed()
        })
        .collect();
    println!(
        "store: history (open + list {scans} scans): median {:.1} ms (target <= 100 ms)",
        ms(median(history))
    );

    let layout = Layout::new(Scale {
        tables,
        roles: tables / 10,
    });
    let big = synthetic::snapshot(&layout);
    let mut changed = big.clone();
    changed.collected_at = "2026-12-08T10:00:00Z".into();
    if let Some(roles) = changed.roles.as_mut() {
        roles.pop();
    }
    let big_path = dir.path().join("big.sqlite");
    let mut big_store = EvidenceStore::open_file(&big_path).unwrap();
    let mut seqs = Vec::new();
    for snapshot in [&big, &changed] {
        let findings = checks::evaluate_all(snapshot, &policy, &attestations);
        let started = Instant::now();
        seqs.push(
            big_store
                .record_scan(snapshot, &findings, ScanSource::Cli)
                .unwrap()
                .seq,
        );
        println!(
            "store: record one {tables}-table scan: {:.1} ms",
            ms(started.elapsed())
        );
    }
    // What `pgsafeguard diff A B` does after opening the store.
    let diffs: Vec<(Duration, Duration)> = (0..3)
        .map(|_| {
            let started = Instant::now();
            let old = big_store.load_scan(seqs[0]).unwrap();
            let new = big_store.load_scan(seqs[1]).unwrap();
            let loaded = started.elapsed();
            let drift = drift::compare(&side(&old), &side(&new));
            std::hint::black_box(drift.to_text());
            (loaded, started.elapsed())
        })
        .collect();
    println!(
        "store: diff of two recorded {tables}-table scans: median {:.1} ms, of which loading {:.1} ms (target <= 300 ms)",
        ms(median(diffs.iter().map(|d| d.1).collect())),
        ms(median(diffs.iter().map(|d| d.0).collect()))
    );
}

fn side(scan: &StoredScan) -> ScanSide<'_> {
    ScanSide {
        snapshot: &scan.snapshot,
        findings: &scan.findings,
        label: String::new(),
    }
}

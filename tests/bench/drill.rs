//! The restore drill's own overhead (issue 20: at most 5 s for a 1 GB
//! cluster, excluding copying the backup, PostgreSQL's recovery and
//! `pg_checksums`, each timed and reported on its own).
//!
//! ```text
//! PGSAFEGUARD_DRILL_BENCH_MB=1024 cargo bench --bench drill
//! ```
//!
//! Builds an archiving cluster with data checksums, loads about that many MB
//! into a PHI-looking table, takes a `pg_basebackup`, writes some rows after
//! it, then runs one drill to the end of the archive through the library
//! and prints each phase. Without `--bench` (as under `cargo test
//! --all-targets`) it drills a 16 MB cluster unless the variable says
//! otherwise: a smoke test.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

#[path = "../support/mod.rs"]
mod support;

use pgsafeguard::drill::{run, Cancel, DrillFrom, DrillGoal, DrillRequest};
use pgsafeguard::model::drill::DrillOutcome;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{Cluster, SUPERUSER};

fn main() {
    let timed = std::env::args().any(|a| a == "--bench");
    // PGSAFEGUARD_DRILL_BENCH_MB sizes either run (a debug run of a larger
    // cluster still times the external tools fairly).
    let megabytes: u64 = std::env::var("PGSAFEGUARD_DRILL_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if timed { 1024 } else { 16 });
    let cluster = Cluster::builder()
        .data_checksums(true)
        .harness_hba_line(Some("local all postgres trust"))
        .hba("local replication postgres trust")
        .conf("archive_mode = on")
        .conf("archive_command = 'test ! -f @ARCHIVE_DIR@/%f && cp %p @ARCHIVE_DIR@/%f'")
        .conf("max_wal_size = '4GB'")
        .start();
    let loading = Instant::now();
    // About 300 bytes per row on disk.
    let rows = megabytes * 1024 * 1024 / 300;
    cluster.psql("postgres", "CREATE DATABASE clinic");
    cluster.psql(
        "clinic",
        &format!(
            "CREATE TABLE patients AS SELECT g AS id, md5(g::text) AS patient_name, \
             repeat('x', 200) AS notes FROM generate_series(1, {rows}) g"
        ),
    );
    let size = cluster.psql(
        "clinic",
        "SELECT pg_size_pretty(pg_database_size('clinic'))",
    );
    let backup = cluster.root_dir().join("backup");
    let status = Command::new(cluster.bindir().join("pg_basebackup"))
        .arg("-h")
        .arg(cluster.socket_dir())
        .args(["-p", &cluster.port().to_string(), "-U", SUPERUSER])
        .arg("-D")
        .arg(&backup)
        .args(["-X", "stream", "-c", "fast", "--no-sync"])
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "pg_basebackup failed");
    cluster.psql(
        "clinic",
        "INSERT INTO patients SELECT g, md5(g::text), 'later' FROM generate_series(1, 1000) g",
    );
    cluster.force_wal_archive();
    println!(
        "drill bench: clinic is {size} ({rows} rows), loaded and backed up in {:.1} s",
        loading.elapsed().as_secs_f64()
    );

    let request = DrillRequest::new(
        DrillFrom::BaseBackup {
            backup,
            wal_archive: cluster.archive_dir(),
        },
        DrillGoal::Latest,
    );
    let started = Instant::now();
    let record = run(&request, &Cancel::new(), &mut |_| {}).expect("the drill runs");
    let wall = started.elapsed();
    assert_eq!(
        record.outcome,
        DrillOutcome::Passed,
        "{}",
        serde_json::to_string_pretty(&record).unwrap()
    );
    let t = &record.timings;
    let s = |ms: u64| Duration::from_millis(ms).as_secs_f64();
    println!(
        "drill bench ({}): wall {:.2} s; RTO {:.2} s; restore (copy) {:.2} s; archive walk \
         (pg_waldump, {} segments) {:.2} s; recovery {:.2} s; checks {:.2} s; pg_checksums \
         {:.2} s; cleanup {:.2} s; OVERHEAD (all but copy, recovery, pg_checksums) {:.2} s",
        if timed { "timed" } else { "smoke" },
        wall.as_secs_f64(),
        s(t.rto_ms),
        s(t.restore_ms),
        record.wal.segments,
        s(t.archive_walk_ms),
        s(t.recovery_ms),
        s(t.checks_ms),
        s(t.checksums_ms.unwrap_or(0)),
        s(t.cleanup_ms),
        s(t.overhead_ms),
    );
}

//! Criterion benchmarks of the offline half of a scan over a synthetic 10,000-table
//! snapshot (no server): evaluating every check, loading the snapshot JSON (typed and the
//! way `scan --snapshot` loads it), and rendering the JSON and text reports.
//!
//! `cargo bench --bench evaluate` measures at 10,000 tables / 1,000 roles (override with
//! PGSG_BENCH_TABLES and PGSG_BENCH_ROLES). Under `cargo test --all-targets` criterion runs
//! each benchmark once, and this file then uses a 1,000-table snapshot so the smoke run
//! stays short; no timing is asserted anywhere. With PGSG_DUMP_FINDINGS=FILE it writes the
//! findings instead (see [`dump_findings`]).

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "bench_env.rs"]
mod bench_env;
#[path = "catalog.rs"]
mod catalog;
#[path = "synthetic.rs"]
mod synthetic;

use bench_env::{benchmarking, env_count};
use catalog::{Layout, Scale};
use criterion::{criterion_group, criterion_main, Criterion};
use pgsafeguard::checks;
use pgsafeguard::model::snapshot::Snapshot;
use pgsafeguard::output::ScanReport;
use pgsafeguard::policy::{Attestations, Policy};
use std::hint::black_box;
use std::time::Instant;

fn scale() -> Scale {
    let (tables, roles) = if benchmarking() {
        (10_000, 1_000)
    } else {
        (1_000, 100)
    };
    Scale {
        tables: env_count("PGSG_BENCH_TABLES", tables),
        roles: env_count("PGSG_BENCH_ROLES", roles),
    }
}

struct Fixture {
    label: String,
    snapshot: Snapshot,
    pretty_json: String,
    file: tempfile::NamedTempFile,
}

fn fixture() -> Fixture {
    let scale = scale();
    let started = Instant::now();
    let layout = Layout::new(scale);
    let snapshot = synthetic::snapshot(&layout);
    let built = started.elapsed();
    // The format `scan --save-snapshot` writes.
    let pretty_json = pgsafeguard::cli::snapshot_json(&snapshot);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &pretty_json).unwrap();
    eprintln!(
        "synthetic snapshot: {}; built in {:.1} ms; JSON {:.1} MB",
        catalog::describe(&layout),
        built.as_secs_f64() * 1e3,
        pretty_json.len() as f64 / 1e6
    );
    Fixture {
        label: format!("{}t_{}r", scale.tables, scale.roles),
        snapshot,
        pretty_json,
        file,
    }
}

/// Median of five runs of `work`, in milliseconds.
fn median_ms(mut work: impl FnMut()) -> f64 {
    let mut runs: Vec<f64> = (0..5)
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[2]
}

/// Prints the checks that cost most (verdict and fix plan apart), to point at hot spots.
fn print_slowest_checks(snapshot: &Snapshot, policy: &Policy) {
    let mut costs: Vec<(f64, f64, &str)> = checks::registry()
        .into_iter()
        .map(|check| {
            let verdict = (check.evaluate)(snapshot, policy);
            let evaluate = median_ms(|| {
                black_box((check.evaluate)(black_box(snapshot), policy));
            });
            let plan = median_ms(|| {
                black_box(check.plan(black_box(snapshot), &verdict));
            });
            (evaluate + plan, evaluate, check.id)
        })
        .collect();
    costs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let total: f64 = costs.iter().map(|c| c.0).sum();
    eprintln!("slowest checks (verdict + fix plan, median of 5; all checks: {total:.1} ms):");
    for (all, evaluate, id) in costs.iter().take(8) {
        eprintln!(
            "  {id:<9} {all:>7.2} ms  (verdict {evaluate:.2} ms, fix plan {:.2} ms)",
            all - evaluate
        );
    }
}

/// A policy that exercises the policy-dependent paths (clinical roles, listed PHI tables,
/// approved administrators, service accounts) over the synthetic catalog's names.
fn policy_with_names() -> Policy {
    let names = |v: &[&str]| v.iter().map(|n| (*n).to_string()).collect::<Vec<_>>();
    Policy {
        clinical_roles: names(&["grp_g000", "grp_g001", "usr_00002"]),
        phi_tables: names(&["sch_00.t_00001", "sch_01.t_00300"]),
        not_phi_tables: names(&["sch_00.t_00000"]),
        approved_admins: names(&["usr_00003"]),
        service_accounts: names(&["usr_00004", "usr_00005"]),
        ..Policy::default()
    }
}

/// PGSG_DUMP_FINDINGS=FILE: write every finding (under the default policy and under
/// [`policy_with_names`]) as JSON and stop, so that a change meant only for speed can be
/// checked to leave every verdict, object list and fix plan byte-identical (diff two dumps).
fn dump_findings(snapshot: &Snapshot) -> bool {
    // An environment variable: criterion rejects arguments it does not know.
    let Ok(path) = std::env::var("PGSG_DUMP_FINDINGS") else {
        return false;
    };
    let attestations = Attestations::default();
    let dump: Vec<_> = [Policy::default(), policy_with_names()]
        .iter()
        .map(|policy| checks::evaluate_all(snapshot, policy, &attestations))
        .collect();
    std::fs::write(&path, serde_json::to_string_pretty(&dump).unwrap()).unwrap();
    eprintln!("findings written to {path}");
    true
}

fn offline(c: &mut Criterion) {
    let f = fixture();
    if dump_findings(&f.snapshot) {
        return;
    }
    let policy = Policy::default();
    let attestations = Attestations::default();
    let findings = checks::evaluate_all(&f.snapshot, &policy, &attestations);
    if benchmarking() {
        print_slowest_checks(&f.snapshot, &policy);
    }

    let mut group = c.benchmark_group("offline");
    group.sample_size(20);
    group.bench_function(format!("evaluate_all/{}", f.label), |b| {
        b.iter(|| checks::evaluate_all(black_box(&f.snapshot), &policy, &attestations))
    });
    group.bench_function(format!("snapshot_from_str/{}", f.label), |b| {
        b.iter(|| serde_json::from_str::<Snapshot>(black_box(&f.pretty_json)).unwrap())
    });
    group.bench_function(format!("load_snapshot_cli/{}", f.label), |b| {
        b.iter(|| pgsafeguard::cli::load_snapshot(black_box(f.file.path())).unwrap())
    });
    group.bench_function(format!("report_json/{}", f.label), |b| {
        b.iter(|| ScanReport::new(&f.snapshot, findings.clone()).to_json())
    });
    group.bench_function(format!("report_text/{}", f.label), |b| {
        b.iter(|| ScanReport::new(&f.snapshot, findings.clone()).to_text())
    });
    group.finish();
}

criterion_group!(benches, offline);
criterion_main!(benches);

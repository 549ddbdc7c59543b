//! Criterion benchmark of the exchange formats (issue 18): SARIF, JUnit, HDF, OSCAL and
//! CSV (per check and per object) of a scan of the synthetic 10,000-table cluster of
//! `synthetic.rs`. The issue's budget is 500 ms per export.
//!
//! `cargo bench --bench formats` measures at 10,000 tables / 1,000 roles (override with
//! PGSG_BENCH_TABLES and PGSG_BENCH_ROLES) and prints each export's median time and size.
//! Under `cargo test --all-targets` criterion runs each benchmark once over a 1,000-table
//! snapshot; no timing is asserted anywhere.

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
use pgsafeguard::output::formats::{export, ExportFormat};
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

const FORMATS: [(&str, ExportFormat); 6] = [
    ("sarif", ExportFormat::Sarif),
    ("junit", ExportFormat::Junit),
    ("hdf", ExportFormat::Hdf),
    ("oscal", ExportFormat::Oscal),
    ("csv", ExportFormat::Csv { objects: false }),
    ("csv_objects", ExportFormat::Csv { objects: true }),
];

fn formats(c: &mut Criterion) {
    let scale = scale();
    let layout = Layout::new(scale);
    let snapshot = synthetic::snapshot(&layout);
    let findings = checks::evaluate_all(&snapshot, &Policy::default(), &Attestations::default());
    let report = ScanReport::new(&snapshot, findings);
    let objects: usize = report.findings.iter().map(|f| f.objects.len()).sum();
    eprintln!(
        "synthetic scan: {}; {} findings naming {objects} objects",
        catalog::describe(&layout),
        report.findings.len()
    );
    for (name, format) in FORMATS {
        let started = Instant::now();
        let text = export(&report, format).unwrap();
        eprintln!(
            "  {name:<12} first run {:>7.1} ms, {:>6.2} MB",
            started.elapsed().as_secs_f64() * 1e3,
            text.len() as f64 / 1e6
        );
    }

    let label = format!("{}t_{}r", scale.tables, scale.roles);
    let mut group = c.benchmark_group("formats");
    group.sample_size(10);
    for (name, format) in FORMATS {
        group.bench_function(format!("{name}/{label}"), |b| {
            b.iter(|| export(black_box(&report), format).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, formats);
criterion_main!(benches);

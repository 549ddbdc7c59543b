//! What a trusted timestamp (issue 22) adds to signing a report, beyond the
//! TSA's own answer time, against the local TSA of `tests/support/tsa.rs`
//! (`openssl ts -reply` behind an HTTP handler on 127.0.0.1). The issue's
//! budget is 50 ms.
//!
//! `cargo bench --bench timestamp` signs the report fixture 20 times without
//! and 20 times with a timestamp, and prints the medians, the TSA's own time
//! per answer (measured inside the TSA, from request read to answer written)
//! and the overhead: with − without − TSA time. Criterion then measures both
//! paths. Under `cargo test --bench timestamp` each runs once; nothing is
//! asserted.

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "bench_env.rs"]
mod bench_env;
#[path = "../support/tsa.rs"]
mod tsa;

use bench_env::{benchmarking, env_count};
use criterion::{criterion_group, criterion_main, Criterion};
use pgsafeguard::report::{build_signed_report_with, ReportInput, SigningIdentity, TsaConfig};
use std::path::Path;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tsa::{Behaviour, LocalTsa, TestPki};

fn input() -> ReportInput {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report/snapshot.json");
    let snapshot = pgsafeguard::cli::load_snapshot(&path).expect("fixture");
    let findings =
        pgsafeguard::checks::evaluate_all(&snapshot, &Default::default(), &Default::default());
    ReportInput::new(pgsafeguard::output::ScanReport::new(&snapshot, findings))
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn timestamp(c: &mut Criterion) {
    let pki = TestPki::new();
    let local = LocalTsa::start(&pki, Behaviour::Honest);
    let config = TsaConfig::new(&local.url()).unwrap();
    let identity = SigningIdentity::generate("Bench Signer").unwrap();
    let input = input();
    let at = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let rounds = if benchmarking() {
        env_count("PGSG_BENCH_ROUNDS", 20)
    } else {
        1
    };

    // Warm the fonts and the TSA's first process start.
    build_signed_report_with(&input, &identity, at, Some(&config)).unwrap();
    let mut plain = Vec::new();
    let mut stamped = Vec::new();
    let before = local.busy();
    for _ in 0..rounds {
        let started = Instant::now();
        build_signed_report_with(&input, &identity, at, None).unwrap();
        plain.push(started.elapsed());
        let started = Instant::now();
        let signed = build_signed_report_with(&input, &identity, at, Some(&config)).unwrap();
        stamped.push(started.elapsed());
        assert!(signed.timestamp.info().is_some(), "{:?}", signed.timestamp);
    }
    let tsa_each = (local.busy() - before) / rounds as u32;
    let (plain, stamped) = (median(plain), median(stamped));
    let overhead = stamped.as_secs_f64() - plain.as_secs_f64() - tsa_each.as_secs_f64();
    eprintln!(
        "signed: median {:.1} ms; signed and timestamped: median {:.1} ms; TSA answer: mean {:.1} ms; \
         timestamping overhead beyond the TSA: {:.1} ms (budget 50 ms; {rounds} rounds)",
        plain.as_secs_f64() * 1e3,
        stamped.as_secs_f64() * 1e3,
        tsa_each.as_secs_f64() * 1e3,
        overhead * 1e3
    );

    let mut group = c.benchmark_group("timestamp");
    group.sample_size(10);
    group.bench_function("sign", |b| {
        b.iter(|| build_signed_report_with(&input, &identity, at, None).unwrap())
    });
    group.bench_function("sign_and_timestamp", |b| {
        b.iter(|| build_signed_report_with(&input, &identity, at, Some(&config)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, timestamp);
criterion_main!(benches);

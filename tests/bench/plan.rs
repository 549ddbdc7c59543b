//! Criterion benchmarks of planning (issue 24): building the hardening plan from a scan,
//! for the insecure test cluster's saved snapshot (target ≤ 50 ms) and for a synthetic
//! 10,000-table snapshot (target ≤ 500 ms). Planning here is [`plan::build`] over the
//! evaluated findings; `evaluate_and_plan` adds evaluating every check first, which is what
//! `pgsafeguard plan` does after its scan. No server is needed.
//!
//! `cargo bench --bench plan`; under `cargo test --all-targets` (or `cargo test --bench
//! plan`) criterion runs each once on a 1,000-table snapshot as a smoke test. No timing is
//! asserted.

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
use pgsafeguard::apply::plan::{self, Selection};
use pgsafeguard::apply::SessionContext;
use pgsafeguard::checks;
use pgsafeguard::model::finding::Finding;
use pgsafeguard::model::plan::HardeningPlan;
use pgsafeguard::model::snapshot::Snapshot;
use pgsafeguard::policy::{Attestations, Policy};
use std::hint::black_box;

const INSECURE: &str = include_str!(
    "../fixtures/golden/verdicts_live-insecure_cluster_verdicts_and_least_privilege_scans-1.snapshot.json"
);

fn context() -> SessionContext {
    let mut context = SessionContext::default();
    context.facts.session_user = "postgres".into();
    context.facts.superuser = true;
    context
}

fn evaluate(snapshot: &Snapshot) -> Vec<Finding> {
    checks::evaluate_all(snapshot, &Policy::default(), &Attestations::default())
}

fn build(snapshot: &Snapshot, findings: &[Finding], context: &SessionContext) -> HardeningPlan {
    plan::build(plan::Inputs {
        snapshot,
        findings,
        policy: &Policy::default(),
        context,
        selection: &Selection::All,
        id: "20261207T230000Z-plan-000000".into(),
        missing_libraries: &Ok(Vec::new()),
    })
}

fn planning(c: &mut Criterion) {
    let context = context();
    let insecure: Snapshot = serde_json::from_str(INSECURE).unwrap();
    let scale = if benchmarking() {
        Scale {
            tables: 10_000,
            roles: 1_000,
        }
    } else {
        Scale {
            tables: 1_000,
            roles: 100,
        }
    };
    let scale = Scale {
        tables: env_count("PGSG_BENCH_TABLES", scale.tables),
        roles: env_count("PGSG_BENCH_ROLES", scale.roles),
    };
    let large = synthetic::snapshot(&Layout::new(scale));
    let mut group = c.benchmark_group("plan");
    group.sample_size(20);
    for (label, snapshot) in [
        ("insecure".to_string(), &insecure),
        (format!("{}t_{}r", scale.tables, scale.roles), &large),
    ] {
        let findings = evaluate(snapshot);
        let plan = build(snapshot, &findings, &context);
        eprintln!(
            "{label}: {} step(s), {} skipped",
            plan.steps.len(),
            plan.skipped.len()
        );
        group.bench_function(format!("build/{label}"), |b| {
            b.iter(|| build(black_box(snapshot), &findings, &context))
        });
        group.bench_function(format!("evaluate_and_plan/{label}"), |b| {
            b.iter(|| build(black_box(snapshot), &evaluate(snapshot), &context))
        });
    }
    group.finish();
}

criterion_group!(benches, planning);
criterion_main!(benches);

//! Criterion benchmark of drift: comparing two scans of a synthetic 10,000-table cluster
//! (the snapshot of `synthetic.rs`, as in the evaluate benchmark), the second with a few
//! roles, grants, pg_hba lines, settings and tables changed, as a week of a DBA's work
//! would leave it. The issue's budget is 300 ms for `pgsafeguard diff` of two such scans.
//!
//! `cargo bench --bench drift` measures at 10,000 tables / 1,000 roles (override with
//! PGSG_BENCH_TABLES and PGSG_BENCH_ROLES) and prints the median time of `compare`, its
//! text and its JSON. Under `cargo test --all-targets` criterion runs each benchmark once
//! over a 1,000-table snapshot; no timing is asserted anywhere. PGSG_PRINT_DIFF=1 also
//! prints the diff's text.

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
use pgsafeguard::drift::{compare, ScanSide};
use pgsafeguard::model::finding::Finding;
use pgsafeguard::model::snapshot::{AclItem, Column, HbaRule, Relation, Snapshot};
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

/// The week's changes: a new superuser, a role given CREATEROLE, a role dropped, a trust
/// line inserted near the top of pg_hba.conf, ssl moved to postgresql.auto.conf and
/// log_statement relaxed, five tables granted to PUBLIC, one table dropped and one
/// holding a PHI column created.
fn a_week_later(before: &Snapshot) -> Snapshot {
    let mut after = before.clone();
    after.collected_at = "2026-12-04T10:00:00Z".into();
    let roles = after.roles.as_mut().unwrap();
    let mut intruder = roles[roles.len() - 1].clone();
    intruder.name = "usr_intruder".into();
    intruder.superuser = true;
    intruder.can_login = true;
    roles.push(intruder);
    let (middle, third) = (roles.len() / 2, roles.len() / 3);
    roles[middle].create_role = true;
    roles.remove(third);

    let hba = after.hba_rules.as_mut().unwrap();
    hba.insert(
        1,
        HbaRule {
            conn_type: Some("host".into()),
            database: vec!["all".into()],
            user_name: vec!["all".into()],
            address: Some("0.0.0.0".into()),
            netmask: Some("0.0.0.0".into()),
            auth_method: Some("trust".into()),
            ..HbaRule::default()
        },
    );
    for (i, rule) in hba.iter_mut().enumerate() {
        rule.line_number = i as i32 + 1;
    }

    let settings = after.settings.as_mut().unwrap();
    let ssl = settings.get_mut("ssl").unwrap();
    ssl.sourcefile = Some("/var/lib/postgresql/15/main/postgresql.auto.conf".into());
    settings.get_mut("log_statement").unwrap().setting = Some("none".into());

    let relations = after.databases[0].relations.as_mut().unwrap();
    let step = (relations.len() / 5).max(1);
    for rel in relations.iter_mut().step_by(step).take(5) {
        rel.acl.push(AclItem {
            grantee: "PUBLIC".into(),
            grantor: catalog::OWNER.into(),
            privileges: "r".into(),
            grantable: String::new(),
        });
    }
    let dropped = relations.remove(relations.len() / 2);
    relations.push(Relation {
        oid: dropped.oid,
        name: "patients_export".into(),
        columns: vec![Column {
            name: "ssn".into(),
            type_name: "text".into(),
            acl: Vec::new(),
        }],
        ..dropped
    });
    after
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

fn side<'a>(snapshot: &'a Snapshot, findings: &'a [Finding], label: &str) -> ScanSide<'a> {
    ScanSide {
        snapshot,
        findings,
        label: label.into(),
    }
}

fn diff(c: &mut Criterion) {
    let scale = scale();
    let layout = Layout::new(scale);
    let before = synthetic::snapshot(&layout);
    let after = a_week_later(&before);
    let (policy, attestations) = (Policy::default(), Attestations::default());
    let old_findings = checks::evaluate_all(&before, &policy, &attestations);
    let new_findings = checks::evaluate_all(&after, &policy, &attestations);
    let old = side(&before, &old_findings, "scan #1, 2026-11-27T10:00:00Z");
    let new = side(&after, &new_findings, "scan #2, 2026-12-04T10:00:00Z");

    let drift = compare(&old, &new);
    let counts = drift.counts();
    eprintln!(
        "drift of two scans of {}: {} checks ({} new fail, {} regressed, {} fixed), \
         {} objects appeared, {} disappeared, {} changed",
        catalog::describe(&layout),
        drift.checks.len(),
        counts.new_fail,
        counts.regressed,
        counts.fixed,
        counts.appeared,
        counts.disappeared,
        counts.changed
    );
    // An environment variable: criterion rejects arguments it does not know.
    if std::env::var_os("PGSG_PRINT_DIFF").is_some() {
        eprint!("{}", drift.to_text());
    }
    let compare_ms = median_ms(|| {
        black_box(compare(black_box(&old), black_box(&new)));
    });
    let text_ms = median_ms(|| {
        black_box(drift.to_text());
    });
    let json_ms = median_ms(|| {
        black_box(drift.to_json());
    });
    eprintln!(
        "drift: compare {compare_ms:.1} ms, text {text_ms:.2} ms, JSON {json_ms:.2} ms \
         (median of 5; budget for diff: 300 ms)"
    );

    let label = format!("{}t_{}r", scale.tables, scale.roles);
    let mut group = c.benchmark_group("drift");
    group.sample_size(20);
    group.bench_function(format!("compare/{label}"), |b| {
        b.iter(|| compare(black_box(&old), black_box(&new)))
    });
    group.bench_function(format!("to_text/{label}"), |b| b.iter(|| drift.to_text()));
    group.finish();
}

criterion_group!(benches, diff);
criterion_main!(benches);

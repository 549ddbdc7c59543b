//! Correctness at scale (not speed): a generated cluster of 2,000 tables and 300 roles,
//! with partitions, inheritance children, views and materialized views over PHI and a
//! foreign table (see `tests/bench/catalog.rs`), scanned for real.
//!
//! - the collector needs the same round trips and statements as for 10 tables;
//! - verdicts are exact for the planted objects: PUBLIC grants (PRIV-009), PHI tables
//!   without enforced RLS, partitions judged on their own (PRIV-014), policy problems
//!   (PRIV-015), md5 verifiers (AUTH-002), extra superusers (PRIV-001);
//! - each relation kind is judged by what binds it: views, materialized views and foreign
//!   tables over PHI by their own grants (PRIV-017), never by RLS (PRIV-014); only relations
//!   that store rows are asked to encrypt columns (EAR-004: materialized views yes, views and
//!   foreign tables no);
//! - text output and the signed PDF summarise long object lists (count and the first 20,
//!   sorted), JSON and the PDF's embedded scan data list them all;
//! - the synthetic snapshot the benchmarks evaluate has the shape the collector reads.
//!
//! Never asserts on time: several test binaries share two cores.

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "bench/catalog.rs"]
mod catalog;
#[path = "bench/cluster_load.rs"]
mod cluster_load;
mod support;
#[path = "bench/synthetic.rs"]
mod synthetic;

use catalog::{Expected, Layout, Scale};
use pgsafeguard::checks;
use pgsafeguard::db::collect::{collect_all, CollectOptions, CollectStats};
use pgsafeguard::db::connect;
use pgsafeguard::db::conninfo::ConnParams;
use pgsafeguard::model::snapshot::{AclItem, PolicyReadsRow, Relation, Snapshot};
use pgsafeguard::output::{ScanReport, OBJECTS_SHOWN};
use pgsafeguard::policy::{Attestations, Policy};
use pgsafeguard::report::{build_signed_report, ReportInput, SigningIdentity};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};
use support::Cluster;

const LARGE: Scale = Scale {
    tables: 2_000,
    roles: 300,
};
const SMALL: Scale = Scale {
    tables: 10,
    roles: 10,
};

fn build(scale: Scale) -> (Cluster, Layout) {
    let layout = Layout::new(scale);
    let cluster = cluster_load::start_cluster();
    cluster_load::load(&cluster, &layout);
    (cluster, layout)
}

fn collector_stats(cluster: &Cluster) -> CollectStats {
    let conninfo = cluster_load::tcp_conninfo_with_password(cluster);
    let params = ConnParams::from_conninfo(&conninfo).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let session = connect::connect_with(&params, &[("default_transaction_read_only", "on")])
            .await
            .unwrap();
        collect_all(&session.client, &CollectOptions::default())
            .await
            .unwrap()
            .stats
    })
}

fn pgsafeguard(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pgsafeguard"));
    command.args(args);
    support::without_libpq_env(&mut command)
        .output()
        .expect("run pgsafeguard")
}

/// `scan --format json --save-snapshot`; returns the report and the snapshot.
fn scan(cluster: &Cluster, dir: &Path) -> (Value, Snapshot) {
    let saved = dir.join("snapshot.json");
    let conninfo = cluster_load::tcp_conninfo_with_password(cluster);
    let out = pgsafeguard(&[
        "scan",
        &conninfo,
        "--format",
        "json",
        "--save-snapshot",
        saved.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let snapshot = pgsafeguard::cli::load_snapshot(&saved).expect("saved snapshot");
    (report, snapshot)
}

fn finding<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("{id} missing"))
}

fn objects(report: &Value, id: &str) -> Vec<String> {
    finding(report, id)["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap().to_string())
        .collect()
}

fn assert_same(id: &str, got: &[String], want: &[String]) {
    let got_set: BTreeSet<&String> = got.iter().collect();
    let want_set: BTreeSet<&String> = want.iter().collect();
    let missing: Vec<_> = want_set.difference(&got_set).take(10).collect();
    let extra: Vec<_> = got_set.difference(&want_set).take(10).collect();
    assert!(
        missing.is_empty() && extra.is_empty() && got.len() == want.len(),
        "{id}: {} reported, {} planted; missing {missing:?}; unexpected {extra:?}",
        got.len(),
        want.len()
    );
}

#[test]
fn a_large_catalog_costs_the_same_round_trips_and_gets_exact_verdicts() {
    let (small_cluster, _) = build(SMALL);
    let small = collector_stats(&small_cluster);
    drop(small_cluster);

    let (cluster, layout) = build(LARGE);
    let large = collector_stats(&cluster);
    assert_eq!(
        (large.round_trips, large.statements),
        (small.round_trips, small.statements),
        "round trips and statements must not grow with the catalog"
    );

    let dir = tempfile::tempdir().unwrap();
    let (report, snapshot) = scan(&cluster, dir.path());
    let expected = layout.expected();
    verdicts_are_exact(&report, &expected);
    partitions_are_judged_on_their_own(&report, &layout);
    other_kinds_are_judged_by_what_binds_them(&report, &layout);
    every_relation_kind_was_collected(&snapshot, &layout);
    long_evidence_is_summarised_in_text(dir.path(), &report, &expected);
    long_evidence_is_summarised_in_pdf(dir.path(), &snapshot, &expected);
    synthetic_snapshot_has_the_collected_shape(&snapshot, &layout);
}

fn verdicts_are_exact(report: &Value, expected: &Expected) {
    for (id, want) in [
        ("PRIV-009", &expected.public_grants),
        ("PRIV-014", &expected.phi_without_rls),
        ("PRIV-015", &expected.rls_policy_problems),
        ("AUTH-002", &expected.md5_roles),
    ] {
        assert_eq!(finding(report, id)["status"], "fail", "{id}");
        assert_same(id, &objects(report, id), want);
    }
    let superusers = objects(report, "PRIV-001");
    for name in &expected.extra_superusers {
        assert!(
            superusers
                .iter()
                .any(|o| o == name || o.starts_with(&format!("{name} "))),
            "PRIV-001 should name {name}: {superusers:?}"
        );
    }
    // Thousands of relations, hundreds of planted problems: the lists are long.
    assert!(expected.public_grants.len() > OBJECTS_SHOWN);
    assert!(expected.phi_without_rls.len() > OBJECTS_SHOWN);
}

/// RLS on a partitioned parent binds queries through the parent only: a partition queried
/// directly uses its own settings, so each is judged on its own and says so.
fn partitions_are_judged_on_their_own(report: &Value, layout: &Layout) {
    let flagged: BTreeSet<String> = objects(report, "PRIV-014").into_iter().collect();
    let key = |name: &str| {
        let rel = layout.relations.iter().find(|r| r.name == name).unwrap();
        rel.key()
    };
    // visits_000: parent enforced, only the 2026 partition has its own RLS.
    assert!(!flagged.contains(&key("visits_000")));
    assert!(flagged.contains(&key("visits_000_y2023")));
    assert!(!flagged.contains(&key("visits_000_y2026")));
    // visits_001: parent and partitions enforced.
    assert!(!flagged.contains(&key("visits_001")));
    assert!(!flagged.contains(&key("visits_001_y2023")));
    // visits_002: nothing enforced.
    assert!(flagged.contains(&key("visits_002")));
    assert!(flagged.contains(&key("visits_002_y2024")));
    // Inheritance: the parent's RLS does not cover a child queried directly.
    assert!(!flagged.contains(&key("people_000")));
    assert!(flagged.contains(&key("people_000_a")));
    assert!(!flagged.contains(&key("people_000_b")));
    let evidence = finding(report, "PRIV-014")["evidence"].as_str().unwrap();
    assert!(
        evidence.contains("lack enforced row-level security"),
        "{evidence}"
    );
}

/// A view, materialized view or foreign table over PHI is read through its own grants
/// (PRIV-017 follows them), has no row-level security of its own (PRIV-014 leaves it out:
/// a view applies the base table's RLS as its owner, or as the caller with
/// security_invoker), and only a materialized view stores the rows (EAR-004).
fn other_kinds_are_judged_by_what_binds_them(report: &Value, layout: &Layout) {
    let read_paths = objects(report, "PRIV-017");
    let without_rls: BTreeSet<String> = objects(report, "PRIV-014").into_iter().collect();
    let plaintext: BTreeSet<String> = objects(report, "EAR-004").into_iter().collect();
    let first = |kind: catalog::Kind| {
        layout
            .relations
            .iter()
            .find(|r| r.kind == kind && r.phi)
            .unwrap_or_else(|| panic!("the layout has a PHI relation of kind {kind:?}"))
    };
    let (view, matview, foreign) = (
        first(catalog::Kind::View),
        first(catalog::Kind::MatView),
        first(catalog::Kind::Foreign),
    );
    // The first view is granted to PUBLIC (catalog.rs: every 25th view).
    let public_path = format!("{} via PUBLIC", view.key());
    assert!(
        read_paths.contains(&public_path),
        "PRIV-017 lacks {public_path}"
    );
    for rel in [view, matview, foreign] {
        let prefix = format!("{} via ", rel.key());
        assert!(
            read_paths.iter().any(|p| p.starts_with(&prefix)),
            "PRIV-017 names no read path of {:?} {}",
            rel.kind,
            rel.key()
        );
        assert!(
            !without_rls.contains(&rel.key()),
            "PRIV-014 judges the RLS of {:?} {}",
            rel.kind,
            rel.key()
        );
    }
    let column =
        |rel: &catalog::RelationSpec, name: &str| format!("{}.{}.{name}", rel.schema, rel.name);
    assert!(plaintext.contains(&column(matview, "patient_name")));
    assert!(!plaintext.contains(&column(view, "patient_name")));
    assert!(!plaintext.contains(&column(foreign, "ssn")));
}

fn every_relation_kind_was_collected(snapshot: &Snapshot, layout: &Layout) {
    let relations = snapshot.databases[0].relations.as_ref().unwrap();
    assert_eq!(relations.len(), layout.relations.len());
    for kind in ["r", "p", "v", "m", "f"] {
        assert!(
            relations.iter().any(|r| r.kind == kind),
            "no relation of kind {kind}"
        );
    }
    let partitions = relations.iter().filter(|r| r.is_partition).count();
    let planted = layout
        .relations
        .iter()
        .filter(|r| r.kind == catalog::Kind::Partition)
        .count();
    assert_eq!(partitions, planted);
}

/// Text shows the count and the first 20 objects in sort order; JSON has every object.
fn long_evidence_is_summarised_in_text(dir: &Path, report: &Value, expected: &Expected) {
    let saved = dir.join("snapshot.json");
    let out = pgsafeguard(&["scan", "--snapshot", saved.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    for (id, all) in [
        ("PRIV-009", &expected.public_grants),
        ("PRIV-014", &expected.phi_without_rls),
    ] {
        let shown: Vec<&str> = all.iter().take(OBJECTS_SHOWN).map(String::as_str).collect();
        let line = format!(
            "{} object(s): {} … and {} more",
            all.len(),
            shown.join(", "),
            all.len() - OBJECTS_SHOWN
        );
        let block = finding_block(&text, id);
        assert!(
            block.iter().any(|l| l.trim() == line),
            "{id}: text output lacks the summary line {line:?}:\n{}",
            block.join("\n")
        );
        assert!(
            !block.iter().any(|l| l.contains(&all[OBJECTS_SHOWN])),
            "{id}: text names object #{} ({})",
            OBJECTS_SHOWN + 1,
            all[OBJECTS_SHOWN]
        );
        assert_eq!(
            objects(report, id).len(),
            all.len(),
            "{id}: JSON is complete"
        );
    }
}

/// The PDF shows the count and the first 20 objects (poppler's pdftotext reads it); its
/// embedded scan data (pdfdetach) has every object.
fn long_evidence_is_summarised_in_pdf(dir: &Path, snapshot: &Snapshot, expected: &Expected) {
    let findings = checks::evaluate_all(snapshot, &Policy::default(), &Attestations::default());
    let input = ReportInput::new(ScanReport::new(snapshot, findings));
    let identity = SigningIdentity::generate("Scale Test Signer").unwrap();
    let pdf = dir.join("report.pdf");
    std::fs::write(&pdf, build_signed_report(&input, &identity).unwrap()).unwrap();
    let text = poppler("pdftotext", &[pdf.to_str().unwrap(), "-"]);
    // Wrapped lines and page breaks become single spaces.
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let attached = dir.join("attached.json");
    poppler(
        "pdfdetach",
        &[
            "-save",
            "1",
            "-o",
            attached.to_str().unwrap(),
            pdf.to_str().unwrap(),
        ],
    );
    let attached: Value = serde_json::from_slice(&std::fs::read(&attached).unwrap()).unwrap();
    for (id, all) in [
        ("PRIV-009", &expected.public_grants),
        ("PRIV-014", &expected.phi_without_rls),
    ] {
        let head = format!("{} object(s): {}, {}", all.len(), all[0], all[1]);
        let last_shown = &all[OBJECTS_SHOWN - 1];
        let tail = format!("{last_shown} … and {} more", all.len() - OBJECTS_SHOWN);
        assert!(text.contains(&head), "{id}: the PDF lacks {head:?}");
        assert!(text.contains(&tail), "{id}: the PDF lacks {tail:?}");
        assert!(
            !text.contains(&format!("{last_shown}, {}", all[OBJECTS_SHOWN])),
            "{id}: the PDF lists object #{} after the first {OBJECTS_SHOWN}",
            OBJECTS_SHOWN + 1
        );
        assert_same(id, &objects(&attached, id), all);
    }
}

/// Runs a poppler-utils tool; returns its standard output.
fn poppler(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (install poppler-utils): {e}"));
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The lines of one finding in the text output: its `[STATUS] ID` line and the indented
/// lines below it.
fn finding_block<'t>(text: &'t str, id: &str) -> Vec<&'t str> {
    let mut lines = text.lines().skip_while(|l| {
        !(l.trim_start().starts_with('[') && l.split_whitespace().any(|w| w == id))
    });
    let Some(head) = lines.next() else {
        panic!("{id} missing from the text output");
    };
    std::iter::once(head)
        .chain(lines.take_while(|l| l.starts_with("            ")))
        .collect()
}

/// What the evaluation benchmark measures must look like what a scan reads: the same
/// relations (kind, RLS, parent, columns, ACLs), the same policies, the same verdicts.
fn synthetic_snapshot_has_the_collected_shape(live: &Snapshot, layout: &Layout) {
    let synthetic = synthetic::snapshot(layout);
    let shape = |s: &Snapshot| -> Vec<String> {
        s.databases[0]
            .relations
            .as_ref()
            .unwrap()
            .iter()
            .map(relation_shape)
            .collect()
    };
    let (live_shapes, synthetic_shapes) = (shape(live), shape(&synthetic));
    for (l, s) in live_shapes.iter().zip(&synthetic_shapes) {
        assert_eq!(l, s, "live relation vs synthetic relation");
    }
    assert_eq!(live_shapes.len(), synthetic_shapes.len());
    type PolicyShape = (
        String,
        String,
        String,
        Option<String>,
        Option<PolicyReadsRow>,
    );
    let policies = |s: &Snapshot| -> Vec<PolicyShape> {
        let mut all: Vec<_> = s.databases[0]
            .policies
            .as_ref()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p.schema.clone(),
                    p.table.clone(),
                    p.name.clone(),
                    p.using.clone(),
                    p.reads_row,
                )
            })
            .collect();
        all.sort();
        all
    };
    assert_eq!(policies(live), policies(&synthetic));

    let (policy, attestations) = (Policy::default(), Attestations::default());
    let verdicts = |s: &Snapshot| {
        checks::evaluate_all(s, &policy, &attestations)
            .into_iter()
            .filter(|f| ["PRIV-009", "PRIV-014", "PRIV-015", "PRIV-017"].contains(&f.id.as_str()))
            .map(|f| (f.id, f.status, f.objects))
            .collect::<Vec<_>>()
    };
    assert_eq!(verdicts(live), verdicts(&synthetic));
}

fn acl_shape(acl: &[AclItem]) -> String {
    let mut items: Vec<String> = acl
        .iter()
        .map(|a| format!("{}={}/{}", a.grantee, a.privileges, a.grantor))
        .collect();
    items.sort();
    items.join(",")
}

fn relation_shape(r: &Relation) -> String {
    let columns: Vec<String> = r
        .columns
        .iter()
        .map(|c| format!("{}:{}[{}]", c.name, c.type_name, acl_shape(&c.acl)))
        .collect();
    format!(
        "{}.{} kind={} owner={} rls={}/{} parent={:?} partition={} acl=[{}] columns={}",
        r.schema,
        r.name,
        r.kind,
        r.owner,
        r.rls_enabled,
        r.rls_forced,
        r.parent,
        r.is_partition,
        acl_shape(&r.acl),
        columns.join(" ")
    )
}

//! The store against real SQLite files in temporary folders, with scans of
//! real clusters (the golden fixtures).

use super::record::RecordKind;
use super::scan_record::ScanSource;
use super::verify::{Anchor, Problem};
use super::*;
use rusqlite::Connection;

const SNAPSHOT: &str = include_str!(
    "../../tests/fixtures/golden/collect_live-least_privilege_scanner_on_an_insecure_cluster-1.snapshot.json"
);
const SCAN: &str = include_str!(
    "../../tests/fixtures/golden/collect_live-least_privilege_scanner_on_an_insecure_cluster-1.scan.json"
);

fn scan_of_insecure_cluster() -> (Snapshot, Vec<Finding>) {
    #[derive(serde::Deserialize)]
    struct Scan {
        findings: Vec<Finding>,
    }
    let snapshot: Snapshot = serde_json::from_str(SNAPSHOT).unwrap();
    let scan: Scan = serde_json::from_str(SCAN).unwrap();
    (snapshot, scan.findings)
}

fn temp_store() -> (tempfile::TempDir, std::path::PathBuf, EvidenceStore) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evidence.sqlite");
    let store = EvidenceStore::open_file(&path).unwrap();
    (dir, path, store)
}

fn count(path: &std::path::Path, table: &str) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

fn raw(path: &std::path::Path, sql: &str) {
    Connection::open(path).unwrap().execute_batch(sql).unwrap();
}

#[test]
fn a_recorded_scan_reads_back_whole() {
    let (_dir, _path, mut store) = temp_store();
    let (snapshot, findings) = scan_of_insecure_cluster();
    let record = store
        .record_scan(&snapshot, &findings, ScanSource::Cli)
        .unwrap();
    let stored = store.load_scan(record.seq).unwrap();
    assert_eq!(stored.snapshot, snapshot);
    // Everything but the proposed fix, which the snapshot re-derives.
    let without_fixes: Vec<Finding> = findings
        .iter()
        .map(|f| Finding {
            fix: None,
            ..f.clone()
        })
        .collect();
    assert!(findings.iter().any(|f| f.fix.is_some()));
    assert_eq!(stored.findings, without_fixes);
    assert_eq!(stored.entry.summary, Summary::of(&findings));
    assert_eq!(stored.entry.target.dbname, snapshot.target.dbname);
    assert!(store.load_scan(record.seq + 1).is_err());
}

#[test]
fn an_unchanged_rescan_stores_only_what_changed() {
    let (_dir, path, mut store) = temp_store();
    let (mut snapshot, findings) = scan_of_insecure_cluster();
    store
        .record_scan(&snapshot, &findings, ScanSource::Cli)
        .unwrap();
    let parts_after_first = count(&path, "parts");
    snapshot.collected_at = "2026-12-08T09:00:00Z".into();
    store
        .record_scan(&snapshot, &findings, ScanSource::Cli)
        .unwrap();
    // The time is in the manifest only: one new part.
    assert_eq!(count(&path, "parts"), parts_after_first + 1);
    // One changed part (the roles) and a new manifest.
    snapshot.roles.as_mut().unwrap().pop();
    store
        .record_scan(&snapshot, &findings, ScanSource::Gui)
        .unwrap();
    assert_eq!(count(&path, "parts"), parts_after_first + 3);
    let scans = store.scans().unwrap();
    assert_eq!(scans.len(), 3);
    assert_eq!(scans[2].source, ScanSource::Gui);
    assert_eq!(store.targets().unwrap().len(), 1);
}

#[test]
fn re_recording_the_same_scan_adds_nothing() {
    let (_dir, path, mut store) = temp_store();
    let (snapshot, findings) = scan_of_insecure_cluster();
    let first = store
        .record_scan(&snapshot, &findings, ScanSource::Cli)
        .unwrap();
    let again = store
        .record_scan(&snapshot, &findings, ScanSource::SnapshotFile)
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(count(&path, "records"), 1);
    // The same snapshot judged differently is a new record.
    let mut judged = findings.clone();
    judged[0].status = crate::model::finding::Status::Accepted;
    let other = store
        .record_scan(&snapshot, &judged, ScanSource::Cli)
        .unwrap();
    assert_eq!(other.seq, 2);
}

#[test]
fn an_intact_chain_verifies_and_finds_its_anchor() {
    let (_dir, _path, mut store) = temp_store();
    let (snapshot, findings) = scan_of_insecure_cluster();
    store
        .record_scan(&snapshot, &findings, ScanSource::Cli)
        .unwrap();
    let head = store.head().unwrap().unwrap();
    store
        .record_anchor(&AnchorNote {
            report: "clinic.pdf".into(),
            head: head.clone(),
            at: "2026-12-08T09:00:00Z".into(),
        })
        .unwrap();
    let anchor = Anchor {
        source: "clinic.pdf".into(),
        head,
    };
    let report = store.verify(&[anchor]).unwrap();
    assert!(report.intact(), "{}", report.to_text());
    assert_eq!(report.records, 2);
    assert_eq!(report.anchors_found.len(), 1);
    let events = store.events().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, RecordKind::Anchor);
}

fn three_scans() -> (tempfile::TempDir, std::path::PathBuf, EvidenceStore) {
    let (dir, path, mut store) = temp_store();
    let (mut snapshot, findings) = scan_of_insecure_cluster();
    for hour in 10..13 {
        snapshot.collected_at = format!("2026-12-08T{hour}:00:00Z");
        store
            .record_scan(&snapshot, &findings, ScanSource::Cli)
            .unwrap();
    }
    (dir, path, store)
}

#[test]
fn an_edited_record_is_named() {
    let (_dir, path, mut store) = three_scans();
    raw(
        &path,
        "UPDATE records SET at = '2026-12-01T00:00:00Z' WHERE seq = 2",
    );
    let report = store.verify(&[]).unwrap();
    assert_eq!(report.problems, vec![Problem::Edited { seq: 2 }]);
}

#[test]
fn an_edited_record_with_a_recomputed_hash_breaks_the_next_link() {
    let (_dir, path, mut store) = three_scans();
    // Someone who knows the hash rule recomputes record 2's hash: record 3
    // still points at the old one.
    let mut records = store.backend.records(&RecordFilter::default()).unwrap();
    let mut second = records.remove(1);
    second.at = "2026-12-01T00:00:00Z".into();
    let forged = super::record::record_hash(&second);
    raw(
        &path,
        &format!(
            "UPDATE records SET at = '{}', hash = '{forged}' WHERE seq = 2",
            second.at
        ),
    );
    let report = store.verify(&[]).unwrap();
    assert_eq!(report.problems, vec![Problem::Broken { seq: 3 }]);
}

#[test]
fn a_deleted_record_is_named() {
    let (_dir, path, mut store) = three_scans();
    raw(&path, "DELETE FROM records WHERE seq = 2");
    let report = store.verify(&[]).unwrap();
    assert!(
        report
            .problems
            .contains(&Problem::Missing { after: 1, next: 3 }),
        "{}",
        report.to_text()
    );
}

#[test]
fn deleting_the_newest_records_shows_only_against_an_anchor() {
    let (_dir, path, mut store) = three_scans();
    let head = store.head().unwrap().unwrap();
    raw(&path, "DELETE FROM records WHERE seq = 3");
    assert!(
        store.verify(&[]).unwrap().intact(),
        "a bare chain cannot tell"
    );
    let anchor = Anchor {
        source: "report.pdf".into(),
        head,
    };
    let report = store.verify(std::slice::from_ref(&anchor)).unwrap();
    assert_eq!(report.problems, vec![Problem::AnchorMissing { anchor }]);
}

#[test]
fn an_altered_part_is_named() {
    let (_dir, path, mut store) = three_scans();
    raw(
        &path,
        "UPDATE parts SET body = CAST('{\"forged\":true}' AS BLOB)
         WHERE hash = (SELECT hash FROM parts ORDER BY hash LIMIT 1)",
    );
    let report = store.verify(&[]).unwrap();
    assert_eq!(report.problems.len(), 1, "{}", report.to_text());
    assert!(matches!(report.problems[0], Problem::PartAltered { .. }));
}

#[test]
fn a_missing_part_is_named() {
    let (_dir, path, mut store) = three_scans();
    raw(
        &path,
        "DELETE FROM parts WHERE hash = (SELECT hash FROM parts ORDER BY hash LIMIT 1)",
    );
    let report = store.verify(&[]).unwrap();
    assert!(
        report
            .problems
            .iter()
            .all(|p| matches!(p, Problem::PartMissing { .. })),
        "{}",
        report.to_text()
    );
    assert!(!report.intact());
}

#[test]
fn concurrent_writers_keep_the_chain_linear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.sqlite");
    let (snapshot, findings) = scan_of_insecure_cluster();
    std::thread::scope(|scope| {
        for (hour, source) in [(10, ScanSource::Gui), (11, ScanSource::Cli)] {
            let (path, snapshot, findings) = (&path, &snapshot, &findings[..]);
            scope.spawn(move || {
                let mut store = EvidenceStore::open_file(path).unwrap();
                let mut snapshot = snapshot.clone();
                for minute in 0..15 {
                    snapshot.collected_at = format!("2026-12-08T{hour}:{minute:02}:00Z");
                    store.record_scan(&snapshot, findings, source).unwrap();
                }
            });
        }
    });
    let mut store = EvidenceStore::open_file(&path).unwrap();
    let report = store.verify(&[]).unwrap();
    assert!(report.intact(), "{}", report.to_text());
    assert_eq!(report.records, 30);
}

#[test]
fn policy_changes_and_fixes_appear_as_events() {
    let (_dir, _path, mut store) = temp_store();
    store
        .record_policy_change(&PolicyChange {
            action: "accepted".into(),
            check_id: "TLS-009".into(),
            object: None,
            by: "CISO".into(),
            reason: "private subnet".into(),
            expires: Some("2027-03-31".into()),
            ticket: Some("SEC-42".into()),
            rows: Vec::new(),
            policy_file: "policy.toml".into(),
            at: "2026-12-08T09:00:00Z".into(),
        })
        .unwrap();
    let events = store.events().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].summary,
        "accepted TLS-009 by CISO until 2027-03-31: private subnet (policy.toml)"
    );
}

#[test]
fn a_drill_is_recorded_under_its_system_and_read_back_newest_first() {
    use crate::model::drill::{
        BackupFacts, DrillOutcome, DrillRecord, DrillSource, DrillTarget, DrillTimings, WalRange,
        DRILL_SCHEMA,
    };
    let (_dir, _path, mut store) = temp_store();
    let drill = |finished: &str, outcome| DrillRecord {
        schema: DRILL_SCHEMA.into(),
        tool_version: "0.1.0".into(),
        started_at: finished.into(),
        finished_at: finished.into(),
        by: "dba".into(),
        machine: "host1".into(),
        source: DrillSource::Pgbackrest {
            stanza: "main".into(),
        },
        target: DrillTarget::Latest,
        backup: BackupFacts {
            system_identifier: "7300000000000000001".into(),
            ..BackupFacts::default()
        },
        wal: WalRange::default(),
        timings: DrillTimings::default(),
        rpo: None,
        replay_end_lsn: None,
        databases: Vec::new(),
        checks: Vec::new(),
        outcome,
        failure: None,
    };
    store
        .record_drill(&drill("2026-12-01T10:00:00Z", DrillOutcome::Failed))
        .unwrap();
    let newer = drill("2026-12-02T10:00:00Z", DrillOutcome::Passed);
    store.record_drill(&newer).unwrap();
    assert_eq!(
        store.newest_drill("7300000000000000001").unwrap(),
        Some(newer)
    );
    assert_eq!(store.newest_drill("another").unwrap(), None);
    let events = store.events().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].kind, RecordKind::Drill);
    assert!(
        events[1].summary.contains("restore drill passed"),
        "{}",
        events[1].summary
    );
    assert!(store.verify(&[]).unwrap().intact());
}

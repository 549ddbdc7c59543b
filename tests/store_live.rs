//! The team evidence store (`--store postgresql://…`) against a real throwaway cluster:
//! scans read back whole, two concurrent writers keep one linear chain, verify names an
//! edited record and deleted newest records, a newer layout is refused and an older one
//! migrated, a role that may not create the schema is told which grant it needs, and the
//! store never holds the password it connected with.
//!
//! One cluster serves the whole file, so the steps run in one test, each in a schema of its
//! own (a cluster in a `static` would never be stopped: statics are not dropped).

// Test code: a failed set-up step should panic with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use pgsafeguard::model::finding::Finding;
use pgsafeguard::model::snapshot::Snapshot;
use pgsafeguard::store::scan_record::ScanSource;
use pgsafeguard::store::verify::{Anchor, Problem};
use pgsafeguard::store::{AnchorNote, EvidenceStore, PolicyChange, StoreChoice, StoreError};
use postgres_protocol::escape::{escape_identifier, escape_literal};
use std::sync::Barrier;
use std::time::Instant;
use support::{random_password, Cluster};

const SNAPSHOT: &str = include_str!(
    "fixtures/golden/collect_live-least_privilege_scanner_on_an_insecure_cluster-1.snapshot.json"
);
const SCAN: &str = include_str!(
    "fixtures/golden/collect_live-least_privilege_scanner_on_an_insecure_cluster-1.scan.json"
);

const DB: &str = "evidence";
/// Owns the database, so it may create schemas in it.
const WRITER: &str = "store_writer";
/// May connect, nothing more.
const LIMITED: &str = "store_limited";

fn scan_of_insecure_cluster() -> (Snapshot, Vec<Finding>) {
    #[derive(serde::Deserialize)]
    struct Scan {
        findings: Vec<Finding>,
    }
    let snapshot: Snapshot = serde_json::from_str(SNAPSHOT).unwrap();
    let scan: Scan = serde_json::from_str(SCAN).unwrap();
    (snapshot, scan.findings)
}

/// The cluster, its two login roles and the schemas the steps used.
struct Server {
    cluster: Cluster,
    writer_password: String,
    limited_password: String,
    schemas: std::sync::Mutex<Vec<String>>,
}

impl Server {
    fn start() -> Server {
        let cluster = support::plain().start();
        let (writer_password, limited_password) = (random_password(), random_password());
        cluster.psql_unlogged(
            "postgres",
            &[
                &format!(
                    "CREATE ROLE {WRITER} LOGIN PASSWORD {}",
                    escape_literal(&writer_password)
                ),
                &format!(
                    "CREATE ROLE {LIMITED} LOGIN PASSWORD {}",
                    escape_literal(&limited_password)
                ),
                &format!("CREATE DATABASE {DB} OWNER {WRITER}"),
            ],
        );
        Server {
            cluster,
            writer_password,
            limited_password,
            schemas: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn conninfo(&self, user: &str) -> String {
        let password = if user == WRITER {
            &self.writer_password
        } else {
            &self.limited_password
        };
        self.cluster
            .conninfo_tcp(user, password, DB, "sslmode=disable")
    }

    /// The store as the CLI opens it: `--store CONNINFO --store-schema SCHEMA`.
    fn try_open(&self, user: &str, schema: &str) -> Result<EvidenceStore, StoreError> {
        self.schemas.lock().unwrap().push(schema.to_string());
        let choice =
            StoreChoice::from_flags(Some(&self.conninfo(user)), false).with_schema(Some(schema))?;
        assert!(choice.is_explicit());
        Ok(choice.open()?.expect("a team store records"))
    }

    fn open(&self, schema: &str) -> EvidenceStore {
        self.try_open(WRITER, schema)
            .unwrap_or_else(|e| panic!("open the team store in {schema}: {e}"))
    }

    /// SQL as the superuser, for what a DBA (or a tamperer) does beside the store.
    fn sql(&self, statement: &str) -> String {
        self.cluster.psql(DB, statement)
    }
}

fn with_scans(server: &Server, schema: &str, count: u32) -> EvidenceStore {
    let mut store = server.open(schema);
    let (mut snapshot, findings) = scan_of_insecure_cluster();
    for hour in 0..count {
        snapshot.collected_at = format!("2026-12-08T{:02}:00:00Z", 10 + hour);
        store
            .record_scan(&snapshot, &findings, ScanSource::Cli)
            .unwrap();
    }
    store
}

#[test]
fn a_team_store_on_a_real_server() {
    let started = Instant::now();
    let server = Server::start();
    let cluster_ready = started.elapsed();
    scans_read_back_whole(&server);
    two_concurrent_writers_keep_one_linear_chain(&server);
    verify_names_an_edited_record_and_deleted_newest_records(&server);
    a_newer_layout_is_refused_and_an_older_one_migrated(&server);
    a_role_without_create_is_told_what_to_grant(&server);
    the_store_never_holds_the_password(&server);
    the_command_line_records_into_the_team_store(&server);
    eprintln!(
        "store_live: cluster ready in {cluster_ready:?}, all steps done in {:?}",
        started.elapsed()
    );
}

fn scans_read_back_whole(server: &Server) {
    // The schema name comes from the user: it must reach the server quoted.
    let schema = "Team \"Evidence\"; --";
    let mut store = server.open(schema);
    assert!(store.head().unwrap().is_none(), "a new store is empty");
    let (mut snapshot, findings) = scan_of_insecure_cluster();
    let first = store
        .record_scan(&snapshot, &findings, ScanSource::Cli)
        .unwrap();
    snapshot.collected_at = "2026-12-08T09:00:00Z".into();
    snapshot.roles.as_mut().unwrap().pop();
    let second = store
        .record_scan(&snapshot, &findings, ScanSource::Gui)
        .unwrap();
    assert_eq!((first.seq, second.seq), (1, 2));
    assert_eq!(second.prev, first.hash);

    let stored = store.load_scan(second.seq).unwrap();
    assert_eq!(stored.snapshot, snapshot);
    // Kept without the proposed fix, which the snapshot re-derives.
    let without_fixes: Vec<Finding> = findings
        .iter()
        .map(|f| Finding {
            fix: None,
            ..f.clone()
        })
        .collect();
    assert_eq!(stored.findings, without_fixes);
    assert_eq!(stored.entry.source, ScanSource::Gui);
    let (original, _) = scan_of_insecure_cluster();
    assert_eq!(store.load_scan(first.seq).unwrap().snapshot, original);
    assert!(store.load_scan(99).is_err());

    let head = store.head().unwrap().unwrap();
    assert_eq!(head, second.head());
    store
        .record_anchor(&AnchorNote {
            report: "clinic.pdf".into(),
            head: head.clone(),
            at: "2026-12-08T09:05:00Z".into(),
        })
        .unwrap();
    store
        .record_policy_change(&PolicyChange {
            action: "accepted".into(),
            check_id: "TLS-009".into(),
            object: None,
            by: "CISO".into(),
            reason: "private subnet".into(),
            expires: Some("2027-03-31".into()),
            ticket: None,
            rows: Vec::new(),
            policy_file: "policy.toml".into(),
            at: "2026-12-08T09:06:00Z".into(),
        })
        .unwrap();
    assert_eq!(store.scans().unwrap().len(), 2);
    assert_eq!(store.targets().unwrap().len(), 1);
    assert_eq!(store.events().unwrap().len(), 2);
    let anchor = Anchor {
        source: "clinic.pdf".into(),
        head,
    };
    let report = store.verify(&[anchor]).unwrap();
    assert!(report.intact(), "{}", report.to_text());
    assert_eq!((report.records, report.anchors_found.len()), (4, 1));

    // The session says who it is, for a DBA looking at pg_stat_activity.
    let named = server.sql(&format!(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE application_name = 'pgsafeguard-store' AND usename = '{WRITER}'"
    ));
    assert_ne!(named, "0");

    // A second client sees the same chain.
    let mut again = server.open(schema);
    assert_eq!(again.head().unwrap().unwrap().seq, 4);
}

fn two_concurrent_writers_keep_one_linear_chain(server: &Server) {
    let schema = "concurrent";
    // Both open at once, so both also race to create the tables.
    let start = Barrier::new(2);
    let (snapshot, findings) = scan_of_insecure_cluster();
    std::thread::scope(|scope| {
        // Each writer its own hour: the same scan recorded twice is kept once.
        for (hour, source) in [(10, ScanSource::Gui), (11, ScanSource::Cli)] {
            let (start, snapshot, findings) = (&start, &snapshot, &findings);
            scope.spawn(move || {
                start.wait();
                let mut store = server.open(schema);
                let mut snapshot = snapshot.clone();
                for minute in 0..20 {
                    snapshot.collected_at = format!("2026-12-08T{hour}:{minute:02}:00Z");
                    store.record_scan(&snapshot, findings, source).unwrap();
                }
            });
        }
    });
    let mut store = server.open(schema);
    let report = store.verify(&[]).unwrap();
    assert!(report.intact(), "{}", report.to_text());
    assert_eq!(report.records, 40);
    assert_eq!(report.head.as_ref().unwrap().seq, 40);
    let scans = store.scans().unwrap();
    let seqs: Vec<u64> = scans.iter().map(|s| s.seq).collect();
    assert_eq!(seqs, (1..=40).collect::<Vec<u64>>());
    let from_gui = scans.iter().filter(|s| s.source == ScanSource::Gui).count();
    assert_eq!(from_gui, 20);
}

fn verify_names_an_edited_record_and_deleted_newest_records(server: &Server) {
    let edited = "tamper_edit";
    let mut store = with_scans(server, edited, 3);
    server.sql(&format!(
        "UPDATE {edited}.records SET at = '2026-12-01T00:00:00Z' WHERE seq = 2"
    ));
    let report = store.verify(&[]).unwrap();
    assert_eq!(
        report.problems,
        vec![Problem::Edited { seq: 2 }],
        "{}",
        report.to_text()
    );

    let deleted = "tamper_delete";
    let mut store = with_scans(server, deleted, 3);
    let anchor = Anchor {
        source: "audit.pdf".into(),
        head: store.head().unwrap().unwrap(),
    };
    server.sql(&format!("DELETE FROM {deleted}.records WHERE seq = 3"));
    // The team store's head row still names #3, so even without an anchor the
    // deletion shows; the anchor names it too.
    let report = store.verify(std::slice::from_ref(&anchor)).unwrap();
    assert_eq!(report.problems.len(), 2, "{}", report.to_text());
    assert!(
        matches!(&report.problems[0], Problem::HeadMismatch { kept: Some(kept), newest: Some(newest) }
            if *kept == anchor.head && newest.seq == 2),
        "{}",
        report.to_text()
    );
    assert_eq!(
        report.problems[1],
        Problem::AnchorMissing {
            anchor: anchor.clone()
        }
    );
    // The head row still remembers #3: the next record leaves the gap in sight.
    let (snapshot, findings) = scan_of_insecure_cluster();
    let next = store
        .record_scan(&snapshot, &findings, ScanSource::Cli)
        .unwrap();
    assert_eq!(next.seq, 4);
    let report = store.verify(&[]).unwrap();
    assert_eq!(
        report.problems,
        vec![Problem::Missing { after: 2, next: 4 }],
        "{}",
        report.to_text()
    );
}

fn a_newer_layout_is_refused_and_an_older_one_migrated(server: &Server) {
    let newer = "newer_layout";
    drop(with_scans(server, newer, 1));
    server.sql(&format!("UPDATE {newer}.meta SET layout = 99"));
    let err = server.try_open(WRITER, newer).err().unwrap();
    assert!(
        matches!(
            err,
            StoreError::Newer {
                found: 99,
                supported: 2
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("newer"), "{err}");
    assert_eq!(
        server.sql(&format!("SELECT layout FROM {newer}.meta")),
        "99",
        "a newer store is left alone"
    );

    let older = "older_layout";
    drop(with_scans(server, older, 2));
    server.sql(&format!(
        "DROP INDEX {older}.records_by_kind_time; UPDATE {older}.meta SET layout = 1"
    ));
    let mut store = server.open(older);
    assert_eq!(server.sql(&format!("SELECT layout FROM {older}.meta")), "2");
    assert_eq!(
        server.sql(&format!(
            "SELECT count(*) FROM pg_indexes \
             WHERE schemaname = '{older}' AND indexname = 'records_by_kind_time'"
        )),
        "1"
    );
    assert!(store.verify(&[]).unwrap().intact());
    assert_eq!(store.scans().unwrap().len(), 2);

    let foreign = "someone_elses";
    server.sql(&format!(
        "CREATE SCHEMA {foreign}; CREATE TABLE {foreign}.songs (title text)"
    ));
    let err = server.try_open(WRITER, foreign).err().unwrap().to_string();
    assert!(err.contains("not a pgSafeguard evidence store"), "{err}");
    assert_eq!(
        server.sql(&format!(
            "SELECT count(*) FROM pg_tables WHERE schemaname = '{foreign}'"
        )),
        "1",
        "nothing was created beside another program's tables"
    );
}

fn assert_one_line_naming(err: &StoreError, grant: &str, server: &Server) {
    let message = err.to_string();
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains(grant), "{message}");
    assert!(!message.contains(&server.limited_password), "{message}");
}

fn a_role_without_create_is_told_what_to_grant(server: &Server) {
    let schema = "limited_own";
    let err = server.try_open(LIMITED, schema).err().unwrap();
    assert_one_line_naming(
        &err,
        &format!("GRANT CREATE ON DATABASE \"{DB}\" TO \"{LIMITED}\""),
        server,
    );
    assert_eq!(
        server.sql(&format!(
            "SELECT count(*) FROM pg_namespace WHERE nspname = '{schema}'"
        )),
        "0",
        "nothing was half-created"
    );
    // The grant named is the grant needed.
    server.sql(&format!("GRANT CREATE ON DATABASE {DB} TO {LIMITED}"));
    let mut store = server.try_open(LIMITED, schema).unwrap();
    let (snapshot, findings) = scan_of_insecure_cluster();
    store
        .record_scan(&snapshot, &findings, ScanSource::Cli)
        .unwrap();

    // Another role's store: the advice names the grants for using it, and they suffice.
    let theirs = "concurrent";
    let err = server.try_open(LIMITED, theirs).err().unwrap();
    let grants = format!(
        "GRANT USAGE ON SCHEMA \"{theirs}\" TO \"{LIMITED}\"; GRANT SELECT, INSERT, UPDATE ON \
         ALL TABLES IN SCHEMA \"{theirs}\" TO \"{LIMITED}\""
    );
    assert_one_line_naming(&err, &grants, server);
    server.sql(&grants);
    let mut store = server.try_open(LIMITED, theirs).unwrap();
    let record = store
        .record_scan(&snapshot, &findings, ScanSource::Cli)
        .unwrap();
    assert_eq!(record.seq, 41);
}

fn the_store_never_holds_the_password(server: &Server) {
    let mut schemas = server.schemas.lock().unwrap().clone();
    schemas.sort();
    schemas.dedup();
    let passwords = [&server.writer_password, &server.limited_password];
    for schema in schemas {
        let s = escape_identifier(&schema);
        let exists = server.sql(&format!(
            "SELECT count(*) FROM pg_tables WHERE schemaname = {} AND tablename = 'records'",
            escape_literal(&schema)
        ));
        if exists == "0" {
            continue;
        }
        let dump = server.sql(&format!(
            "SELECT r::text FROM {s}.records r
             UNION ALL SELECT p.hash || ' ' || encode(p.body, 'escape') FROM {s}.parts p
             UNION ALL SELECT h::text FROM {s}.head h
             UNION ALL SELECT m::text FROM {s}.meta m"
        ));
        assert!(
            dump.contains("pgsafeguard evidence store"),
            "{schema}: dumped"
        );
        for password in passwords {
            assert!(
                !dump.contains(password.as_str()),
                "{schema} holds a password"
            );
        }
    }
    let store = server.open("concurrent");
    assert!(!store.location().contains(&server.writer_password));
    assert!(
        store.location().contains("password=[redacted]"),
        "{}",
        store.location()
    );
}

/// `scan --store CONNINFO --store-schema S`, then `history` and `history verify`
/// against the same team store, as a CI runner would use it.
fn the_command_line_records_into_the_team_store(server: &Server) {
    let schema = "cli_team";
    server.schemas.lock().unwrap().push(schema.to_string());
    let conninfo = server.conninfo(WRITER);
    let run = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pgsafeguard"));
        cmd.args(args)
            .args(["--store", &conninfo, "--store-schema", schema]);
        let out = support::without_libpq_env(&mut cmd)
            .output()
            .expect("run pgsafeguard");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert!(
            !stdout.contains(&server.writer_password),
            "password printed"
        );
        assert!(
            !stderr.contains(&server.writer_password),
            "password printed"
        );
        (out.status.code(), stdout, stderr)
    };
    let snapshot = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/golden/collect_live-least_privilege_scanner_on_an_insecure_cluster-1.snapshot.json"
    );
    let (code, _, stderr) = run(&["scan", "--snapshot", snapshot]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let (code, listing, stderr) = run(&["history", "--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let listing: serde_json::Value = serde_json::from_str(&listing).expect("json");
    assert_eq!(listing["scans"].as_array().map(Vec::len), Some(1));
    let (code, report, stderr) = run(&["history", "verify"]);
    assert_eq!(code, Some(0), "{report}{stderr}");
    assert!(
        report.contains("1 records") && report.contains("intact"),
        "{report}"
    );
}

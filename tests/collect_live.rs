//! The collector against real clusters: the scan cannot write, its cost on
//! the wire does not grow with the schema, a least-privilege scanner never
//! passes what a superuser fails, PHI sampling counts without copying, and a
//! server that dies mid-scan gives a clean exit 2.

// A failed fixture step ends the test: panicking is the error handling here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use pgsafeguard::checks::evaluate_all;
use pgsafeguard::db::collect::{collect_all, CollectOptions, Collected};
use pgsafeguard::db::connect::{connect_with, Session};
use pgsafeguard::db::conninfo::ConnParams;
use pgsafeguard::model::finding::{Finding, Status};
use pgsafeguard::model::snapshot::Snapshot;
use pgsafeguard::policy::{Attestations, Policy};
use pgsafeguard::scan::{no_progress, scan_live, ScanOptions};
use postgres_protocol::escape::escape_literal;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};
use support::{create_scanner, hardened, insecure, plain, Cluster, CLINIC_DB, SCANNER_ROLE};

/// The settings `scan_live` opens its session with.
const READ_ONLY_SESSION: &[(&str, &str)] = &[
    ("default_transaction_read_only", "on"),
    ("statement_timeout", "30000"),
];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Connection parameters from a conninfo alone: no PG* variable of the
/// machine running the tests may steer them.
fn params(conninfo: &str) -> ConnParams {
    ConnParams::from_conninfo_with_env(conninfo, &|_| None).expect("conninfo parses")
}

fn superuser_tcp(cluster: &Cluster, db: &str, extra: &str) -> String {
    cluster.conninfo_tcp(
        cluster.superuser(),
        cluster.superuser_password(),
        db,
        &format!("sslmode=disable {extra}"),
    )
}

async fn read_only_session(conninfo: &str) -> Session {
    connect_with(&params(conninfo), READ_ONLY_SESSION)
        .await
        .expect("connect")
}

fn collect(conninfo: &str, sample_phi: bool) -> (Collected, Duration) {
    runtime().block_on(async {
        let session = read_only_session(conninfo).await;
        let opts = CollectOptions {
            sample_phi,
            ..CollectOptions::default()
        };
        let started = Instant::now();
        let collected = collect_all(&session.client, &opts)
            .await
            .expect("collect_all");
        let took = started.elapsed();
        session.close().await;
        (collected, took)
    })
}

fn scan(conninfo: &str, sample_phi: bool) -> Snapshot {
    let opts = ScanOptions {
        sample_phi,
        ..ScanOptions::default()
    };
    let snapshot = runtime()
        .block_on(scan_live(&params(conninfo), &opts, no_progress()))
        .expect("scan");
    support::golden::capture(&pgsafeguard::cli::snapshot_json(&snapshot));
    snapshot
}

fn findings(snapshot: &Snapshot) -> BTreeMap<String, Finding> {
    evaluate_all(snapshot, &Policy::default(), &Attestations::default())
        .into_iter()
        .map(|f| (f.id.clone(), f))
        .collect()
}

/// The binary, with no PG* variable of the machine running the tests.
fn pgsafeguard() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pgsafeguard"));
    support::without_libpq_env(&mut command);
    command
}

fn sqlstate(error: &tokio_postgres::Error) -> Option<String> {
    error.as_db_error().map(|db| db.code().code().to_string())
}

// ---------------------------------------------------------------------------
// the scan cannot write

#[test]
fn scan_session_cannot_write_and_the_scan_changes_nothing() {
    let cluster = plain().conf("autovacuum = off").start();
    cluster.psql(
        "postgres",
        "CREATE TABLE public.guarded (id int, note text); \
         INSERT INTO public.guarded VALUES (1, 'seen 900-12-0001')",
    );
    let conninfo = superuser_tcp(&cluster, "postgres", "");
    let state = |cluster: &Cluster| {
        cluster.psql(
            "postgres",
            "SELECT pg_snapshot_xmax(pg_current_snapshot())::text || ' ' || \
             (SELECT count(*) FROM pg_class) || ' ' || \
             (SELECT count(*) FROM public.guarded)",
        )
    };

    runtime().block_on(async {
        let session = read_only_session(&conninfo).await;
        for write in [
            "CREATE TABLE public.scan_wrote (x int)",
            "INSERT INTO public.guarded VALUES (2, 'written')",
            "UPDATE public.guarded SET note = 'changed'",
            "CREATE TEMP TABLE scan_scratch (x int)",
        ] {
            let error = session.client.batch_execute(write).await.expect_err(write);
            assert_eq!(
                sqlstate(&error).as_deref(),
                Some("25006"),
                "{write}: {error}"
            );
        }
        session.close().await;
    });

    // No transaction id consumed (every write needs one), no relation
    // made, no row changed: even with value sampling on.
    let before = state(&cluster);
    let (collected, _) = collect(&conninfo, true);
    assert!(collected.transaction_read_only);
    assert!(collected.gaps.is_empty(), "{:?}", collected.gaps);
    assert_eq!(
        collected
            .database
            .phi_sample
            .as_ref()
            .map(|s| s.ssn_like_hits),
        Some(1)
    );
    assert_eq!(state(&cluster), before);
}

// ---------------------------------------------------------------------------
// the cost on the wire does not grow with the schema

/// Statements the server logged (`log_statement = all`) for one application name.
fn logged_statements(cluster: &Cluster, application: &str) -> usize {
    let marker = format!("app={application} ");
    cluster
        .read_server_logs()
        .lines()
        .filter(|line| line.contains(&marker))
        .filter(|line| line.contains("LOG:  statement: ") || line.contains("LOG:  execute "))
        .count()
}

struct Measured {
    round_trips: usize,
    statements: usize,
    logged: usize,
    took: Duration,
}

fn measure(cluster: &Cluster, application: &str, sample_phi: bool) -> Measured {
    let conninfo = superuser_tcp(
        cluster,
        "postgres",
        &format!("application_name={application}"),
    );
    let (collected, took) = collect(&conninfo, sample_phi);
    // The only gap a superuser may see: more text columns than the sample's cap.
    for gap in &collected.gaps {
        assert_eq!(gap.part, "phi_sample", "{gap:?}");
        assert!(gap.message.starts_with("sampled 200 of 1000"), "{gap:?}");
    }
    Measured {
        round_trips: collected.stats.round_trips,
        statements: collected.stats.statements,
        logged: logged_statements(cluster, application),
        took,
    }
}

#[test]
fn round_trips_and_statements_do_not_grow_with_the_number_of_tables() {
    let cluster = plain().conf("autovacuum = off").start();
    cluster.psql("postgres", "ALTER SYSTEM SET log_statement = 'all'");
    cluster.psql(
        "postgres",
        "ALTER SYSTEM SET log_line_prefix = '%m [%p] app=%a '",
    );
    cluster.reload();
    let create = |from: u32, to: u32| {
        cluster.psql(
            "postgres",
            &format!(
                "DO $$ BEGIN FOR i IN {from}..{to} LOOP \
                 EXECUTE format('CREATE TABLE public.t%s (id int PRIMARY KEY, note text)', i); \
                 EXECUTE format('INSERT INTO public.t%s VALUES (1, %L)', i, 'nothing here'); \
                 END LOOP; END $$"
            ),
        )
    };
    create(1, 10);
    let small = measure(&cluster, "sg_small", false);
    let small_sampled = measure(&cluster, "sg_small_phi", true);
    create(11, 1000);
    assert_eq!(
        cluster.psql(
            "postgres",
            "SELECT count(*) FROM pg_class WHERE relname ~ '^t[0-9]+$' AND relkind = 'r'"
        ),
        "1000"
    );
    let large = measure(&cluster, "sg_large", false);
    let large_sampled = measure(&cluster, "sg_large_phi", true);

    for (what, a, b) in [
        ("without sampling", &small, &large),
        ("with --sample-phi", &small_sampled, &large_sampled),
    ] {
        eprintln!(
            "{what}: 10 tables: {} rounds, {} statements, {} logged, {:?}; \
             1000 tables: {} rounds, {} statements, {} logged, {:?}",
            a.round_trips,
            a.statements,
            a.logged,
            a.took,
            b.round_trips,
            b.statements,
            b.logged,
            b.took
        );
        assert_eq!(a.round_trips, 3, "{what}");
        assert_eq!(a.round_trips, b.round_trips, "{what}: rounds");
        assert_eq!(a.statements, b.statements, "{what}: statements");
        assert_eq!(a.logged, b.logged, "{what}: statements the server logged");
        // Everything the collector sent reached the server (plus the
        // connection's own TLS query).
        assert!(a.logged > a.statements, "{what}: {} logged", a.logged);
    }
    assert_eq!(
        small_sampled.statements,
        small.statements + 6,
        "the column list part and the sample under its savepoint"
    );
}

// ---------------------------------------------------------------------------
// least privilege: gaps, never a false pass

/// Every check the scanner passes, the superuser passes too; checks that
/// need pg_hba rules are unknown for the scanner, with a grant.
fn assert_no_false_pass(superuser: &Snapshot, scanner: &Snapshot) {
    for part in ["hba_rules", "password_kinds"] {
        let gap = scanner
            .gap(part)
            .unwrap_or_else(|| panic!("no {part} gap: {:?}", scanner.gaps));
        assert_eq!(gap.sqlstate.as_deref(), Some("42501"), "{gap:?}");
        assert!(gap
            .grant
            .as_deref()
            .is_some_and(|g| g.contains(SCANNER_ROLE)));
        assert!(superuser.gap(part).is_none(), "{:?}", superuser.gaps);
    }
    let by_superuser = findings(superuser);
    let by_scanner = findings(scanner);
    assert_eq!(
        by_superuser.keys().collect::<Vec<_>>(),
        by_scanner.keys().collect::<Vec<_>>()
    );
    let false_passes: Vec<String> = by_scanner
        .values()
        .filter(|f| f.status == Status::Pass && by_superuser[&f.id].status != Status::Pass)
        .map(|f| {
            format!(
                "{}: scanner pass ({}), superuser {:?} ({})",
                f.id, f.evidence, by_superuser[&f.id].status, by_superuser[&f.id].evidence
            )
        })
        .collect();
    assert!(false_passes.is_empty(), "{false_passes:#?}");
    for id in ["AUTH-003", "TLS-004"] {
        let finding = &by_scanner[id];
        assert_eq!(
            finding.status,
            Status::Unknown,
            "{id}: {}",
            finding.evidence
        );
        assert!(
            finding.grant.as_deref().is_some_and(|g| !g.is_empty()),
            "{id} has no grant: {finding:?}"
        );
    }
}

#[test]
fn least_privilege_scanner_on_an_insecure_cluster() {
    let cluster = insecure();
    let (user, password) = create_scanner(&cluster);
    let superuser = scan(&superuser_tcp(&cluster, CLINIC_DB, ""), true);
    let scanner = scan(
        &cluster.conninfo_tcp(&user, &password, CLINIC_DB, "sslmode=disable"),
        true,
    );
    assert_no_false_pass(&superuser, &scanner);
    // The sample could not read patients: withheld with a grant, not "clean".
    let sample_gap = scanner.gap("phi_sample").expect("phi_sample gap");
    assert_eq!(
        sample_gap.grant.as_deref(),
        Some("GRANT pg_read_all_data TO \"scanner\"")
    );
    assert_eq!(scanner.databases[0].phi_sample, None);
    assert_eq!(findings(&superuser)["EAR-005"].status, Status::Fail);

    // The tests run on the database host: file facts are read for both.
    for snapshot in [&superuser, &scanner] {
        let host = snapshot
            .host
            .as_ref()
            .expect("host facts on the database host");
        assert_eq!(
            Path::new(&host.data_directory).canonicalize().unwrap(),
            cluster.data_dir().canonicalize().unwrap()
        );
        let hba = host.files.iter().find(|f| f.role == "hba_file").unwrap();
        assert_eq!(hba.mode, Some(0o600), "{hba:?}");
        let data = &host.files[0];
        assert_eq!(data.role, "data_directory");
        assert_eq!(data.mode, Some(0o700), "{data:?}");
        assert!(data.owner.is_some() && data.owner == hba.owner, "{host:?}");
        assert_ne!(findings(snapshot)["EAR-008"].status, Status::Manual);
    }
}

#[test]
fn least_privilege_scanner_on_a_hardened_cluster() {
    let mut cluster = hardened();
    let (user, password) = create_scanner(&cluster);
    // Let the superuser in over TLS too, so both scans see the same transport.
    let text = cluster.hba_text();
    let mut rules: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .skip(1)
        .collect();
    let reject = rules
        .iter()
        .position(|l| l.starts_with("hostnossl"))
        .expect("a hostnossl reject rule");
    let superuser_rule = "hostssl all postgres 127.0.0.1/32 scram-sha-256";
    rules.insert(reject, superuser_rule);
    cluster.set_hba(&rules);
    let tls = cluster.verify_full();
    let superuser = scan(
        &cluster.conninfo_tcp(
            cluster.superuser(),
            cluster.superuser_password(),
            CLINIC_DB,
            &tls,
        ),
        true,
    );
    let scanner = scan(
        &cluster.conninfo_tcp(&user, &password, CLINIC_DB, &tls),
        true,
    );
    assert!(superuser.target.tls.is_some() && scanner.target.tls.is_some());
    assert_no_false_pass(&superuser, &scanner);
    let passes = findings(&superuser)
        .values()
        .filter(|f| f.status == Status::Pass)
        .count();
    eprintln!("the hardened cluster passes {passes} checks for the superuser");
    assert!(
        passes >= 20,
        "the hardened cluster passes only {passes} checks"
    );
}

// ---------------------------------------------------------------------------
// PHI sampling

#[test]
fn phi_sampling_counts_ssn_shaped_values_and_never_copies_them() {
    let cluster = insecure();
    let ssns: Vec<String> = cluster
        .psql(CLINIC_DB, "SELECT ssn FROM public.patients ORDER BY id")
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(ssns.len(), 4);
    cluster.psql_unlogged(
        CLINIC_DB,
        &[
            "CREATE TABLE public.visits (id int, body text, code char(11), alias varchar(40), \
             phone text, born text)",
            &format!(
                "INSERT INTO public.visits VALUES \
                 (1, {}, {}, 'x', '555-0101', '1961-04-12'), \
                 (2, 'no numbers here', '', 'y', '555-0102', '1978-09-30'), \
                 (3, 'ref 1234-56-7890 and 12-345-6789', '', {}, '(555) 010-3333', '19900105')",
                escape_literal(&format!("called about {}; follow up", ssns[0])),
                escape_literal(&ssns[1].replace('-', "")),
                escape_literal(&format!("id:{}", ssns[2])),
            ),
            // Large enough for the 1 % block sample: every note holds an SSN.
            "CREATE TABLE public.archive_notes (id int, note text)",
            "INSERT INTO public.archive_notes \
             SELECT g, 'old chart ' || (900 + g % 99) || '-12-' || lpad((g % 9999)::text, 4, '0') \
             FROM generate_series(1, 200000) g",
            "ANALYZE public.archive_notes",
            // Partitioned: read once through the root.
            "CREATE TABLE public.events (id int, note text) PARTITION BY RANGE (id)",
            "CREATE TABLE public.events_1 PARTITION OF public.events FOR VALUES FROM (0) TO (10)",
            &format!(
                "INSERT INTO public.events VALUES (1, {})",
                escape_literal(&ssns[3])
            ),
        ],
    );

    let snapshot = scan(&superuser_tcp(&cluster, CLINIC_DB, ""), true);
    let sample = snapshot.databases[0]
        .phi_sample
        .clone()
        .expect("a sample was taken");
    assert_eq!(
        sample.columns_with_hits,
        [
            "public.archive_notes.note",
            "public.events.note",
            "public.patients.ssn",
            "public.visits.alias",
            "public.visits.body",
            "public.visits.code",
        ]
    );
    // patients: 4, visits: 3, events: 1, archive_notes: its block sample.
    assert!(sample.ssn_like_hits > 8, "{sample:?}");
    assert!(sample.rows_read > 7 + 1, "{sample:?}");
    assert!(sample.rows_read <= 4 + 3 + 1 + 1000, "{sample:?}");
    // full_name, ssn, phone; 5 in visits; note twice.
    assert_eq!(sample.columns_sampled, 3 + 5 + 2, "{sample:?}");
    assert!(snapshot.gap("phi_sample").is_none(), "{:?}", snapshot.gaps);
    assert_eq!(findings(&snapshot)["EAR-005"].status, Status::Fail);

    let json = serde_json::to_string(&snapshot).expect("snapshot serializes");
    for ssn in &ssns {
        assert!(!json.contains(ssn.as_str()), "{ssn} in the snapshot");
        assert!(
            !json.contains(&ssn.replace('-', "")),
            "{ssn} in the snapshot"
        );
    }
    assert!(
        !json.contains("old chart"),
        "a sampled value in the snapshot"
    );

    // The same through the command line: the JSON report holds no SSN either,
    // nor does the evidence store the scan is recorded in (nor the password).
    let store_dir = tempfile::tempdir().expect("tempdir");
    let store = store_dir.path().join("evidence.sqlite");
    let out = pgsafeguard()
        .args([
            "scan",
            &superuser_tcp(&cluster, CLINIC_DB, ""),
            "--format",
            "json",
            "--sample-phi",
            "--store",
            store.to_str().expect("utf8"),
        ])
        .output()
        .expect("run pgsafeguard");
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(store_dir.path()).expect("store folder") {
        stored.extend(std::fs::read(entry.expect("entry").path()).expect("store file"));
    }
    let stored = String::from_utf8_lossy(&stored);
    assert!(
        stored.contains("public.visits.body"),
        "the scan was recorded"
    );
    assert!(
        !stored.contains(cluster.superuser_password()),
        "a password in the store"
    );
    assert!(
        !stored.contains("old chart"),
        "a sampled value in the store"
    );
    for ssn in &ssns {
        assert!(!stored.contains(ssn.as_str()), "{ssn} in the store");
        assert!(
            !stored.contains(&ssn.replace('-', "")),
            "{ssn} in the store"
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("public.visits.body"));
    for ssn in &ssns {
        assert!(!stdout.contains(ssn.as_str()), "{ssn} in the report");
    }

    // A scanner that may read the tables finds the same columns.
    let (user, password) = create_scanner(&cluster);
    cluster.psql("postgres", &format!("GRANT pg_read_all_data TO {user}"));
    let by_scanner = scan(
        &cluster.conninfo_tcp(&user, &password, CLINIC_DB, "sslmode=disable"),
        true,
    );
    let scanner_sample = by_scanner.databases[0].phi_sample.clone().expect("sample");
    assert_eq!(scanner_sample.columns_with_hits, sample.columns_with_hits);
    assert!(by_scanner.gap("phi_sample").is_none());
}

// ---------------------------------------------------------------------------
// the server goes away during the scan

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(50));
    }
}

fn wait_with_limit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// `pg_ctl stop -m immediate`: the server dies without a goodbye, as on a crash.
fn stop_immediately(cluster: &Cluster) {
    let pg_ctl = support::pg_binaries().program("pg_ctl");
    let mut command = match &support::server_user().run_as {
        Some(user) => {
            let mut runuser = Command::new("runuser");
            runuser.args(["-u", user, "--"]).arg(pg_ctl);
            runuser
        }
        None => Command::new(pg_ctl),
    };
    let status = command
        .args(["stop", "-m", "immediate", "-w", "-t", "30", "-s", "-D"])
        .arg(cluster.data_dir())
        .current_dir(cluster.root_dir())
        .status()
        .expect("run pg_ctl");
    assert!(status.success(), "pg_ctl stop -m immediate failed");
}

fn partial_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read the output dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".pgsafeguard-") || name.ends_with(".partial"))
        .collect()
}

#[test]
fn server_stopping_during_the_scan_exits_2_without_output() {
    let cluster = plain().start();
    // pg_authid would block the login itself (authentication reads it), so
    // the lock is taken on a catalog only the scan's parts read. A backend
    // that finds no relcache init file opens every cached catalog, this one
    // too: one session first, so that the file exists before the lock.
    cluster.psql("postgres", "SELECT 1");
    let locked = "pg_catalog.pg_default_acl";
    let mut holder = Command::new(&support::pg_binaries().psql)
        .args(["-X", "-q", "-d"])
        .arg(superuser_tcp(
            &cluster,
            "postgres",
            "application_name=lock_holder",
        ))
        .arg("-c")
        .arg(format!(
            "BEGIN; LOCK TABLE {locked} IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60);"
        ))
        .env_clear()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start psql");
    wait_for("the lock", Duration::from_secs(20), || {
        cluster.psql(
            "postgres",
            &format!(
                "SELECT count(*) FROM pg_locks WHERE relation = '{locked}'::regclass \
                 AND mode = 'AccessExclusiveLock' AND granted"
            ),
        ) == "1"
    });

    let out_dir = tempfile::tempdir().expect("output dir");
    let output = out_dir.path().join("report.json");
    let mut scan = pgsafeguard()
        .arg("scan")
        .arg(superuser_tcp(
            &cluster,
            "postgres",
            "application_name=blocked_scan",
        ))
        .arg("--output")
        .arg(&output)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start pgsafeguard");
    // The scan really waits on the lock, inside its transaction.
    wait_for("the scan to block", Duration::from_secs(20), || {
        cluster.psql(
            "postgres",
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'blocked_scan' \
             AND wait_event_type = 'Lock' AND state = 'active' AND xact_start IS NOT NULL",
        ) == "1"
    });
    thread::sleep(Duration::from_millis(500));
    stop_immediately(&cluster);

    let status = wait_with_limit(&mut scan, Duration::from_secs(60))
        .expect("pgsafeguard exits after the server stops");
    let scan_output = scan.wait_with_output().expect("collect output");
    let _ = wait_with_limit(&mut holder, Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&scan_output.stderr);
    assert_eq!(status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr:?}");
    let lower = stderr.to_lowercase();
    assert!(
        lower.contains("connection") && lower.contains("lost"),
        "{stderr:?}"
    );
    assert!(scan_output.stdout.is_empty());
    assert!(!output.exists(), "an output file was written");
    assert!(
        partial_files(out_dir.path()).is_empty(),
        "{:?}",
        partial_files(out_dir.path())
    );
}

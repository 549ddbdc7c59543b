//! Live tests of the rls and audit probes (issue 15); see db::probe::rls and
//! db::probe::audit. One cluster per probe, one database per case, so that
//! each scan's findings show one case; the probes are driven through
//! `scan_live` as the CLI drives them, and must leave the tables untouched.

use crate::support::{create_scanner, plain, Cluster};
use crate::{only, params, runtime};
use pgsafeguard::checks::evaluate_all;
use pgsafeguard::model::finding::{Finding, Status};
use pgsafeguard::model::proof::{CheckProof, Outcome, Probe};
use pgsafeguard::model::snapshot::Snapshot;
use pgsafeguard::policy::{Attestations, Policy};
use pgsafeguard::scan::{no_progress, now_rfc3339, scan_live, ProbeOptions, ScanOptions};
use std::time::{Duration, Instant};

fn probe_options(probe: Probe) -> ProbeOptions {
    ProbeOptions {
        audit_wait: Duration::from_secs(3),
        ..only(probe)
    }
}

/// Scan `db` as the superuser over the socket with `probe`; returns the
/// snapshot and how long the scan with its probe took.
fn superuser_scan(cluster: &Cluster, db: &str, probe: Probe) -> (Snapshot, Duration) {
    let conninfo =
        cluster.conninfo_socket(cluster.superuser(), cluster.superuser_password(), db, "");
    let opts = ScanOptions {
        prove: Some(probe_options(probe)),
        ..Default::default()
    };
    let started = Instant::now();
    let snapshot = runtime()
        .block_on(scan_live(&params(&conninfo), &opts, no_progress()))
        .expect("scan");
    (snapshot, started.elapsed())
}

fn proofs<'s>(snapshot: &'s Snapshot, check: &str) -> Vec<&'s CheckProof> {
    let run = snapshot.probes.as_ref().expect("a probe run");
    run.proofs.iter().filter(|p| p.check == check).collect()
}

fn finding(snapshot: &Snapshot, check: &str) -> Finding {
    evaluate_all(snapshot, &Policy::default(), &Attestations::default())
        .into_iter()
        .find(|f| f.id == check)
        .expect("the check is in the catalogue")
}

/// The one proof of `check`, with its outcome checked.
fn only_proof<'s>(snapshot: &'s Snapshot, check: &str, outcome: Outcome) -> &'s CheckProof {
    let found = proofs(snapshot, check);
    assert_eq!(found.len(), 1, "{check}: {found:#?}");
    assert_eq!(found[0].proof.outcome, outcome, "{check}: {:#?}", found[0]);
    found[0]
}

/// Every row of every user table of `db`, so a test can show the probes
/// changed none.
fn contents(cluster: &Cluster, db: &str) -> String {
    cluster.psql(
        db,
        "SELECT string_agg(format('%s:%s:%s', relname, n_tup_ins + n_tup_upd + n_tup_del, \
         n_live_tup), ',' ORDER BY relname) FROM pg_stat_user_tables",
    ) + &cluster.psql(
        db,
        "SELECT md5(string_agg(p::text, ',' ORDER BY p::text)) FROM public.patients p",
    )
}

/// The statements the probe sessions ran (`log_statement = all`, `%a` in
/// the prefix) contain no write and no commit.
fn assert_probe_sessions_wrote_nothing(log: &str) {
    let probe_statements: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("app=pgsafeguard-probe"))
        .filter(|l| l.contains("statement: ") || l.contains("execute "))
        .collect();
    assert!(
        !probe_statements.is_empty(),
        "no probe statement was logged"
    );
    for line in probe_statements {
        let upper = line.to_ascii_uppercase();
        for verb in [
            "INSERT", "UPDATE ", "DELETE", "CREATE", "ALTER", "DROP", "GRANT", "COMMIT", "TRUNCATE",
        ] {
            assert!(!upper.contains(verb), "a probe session ran {verb}: {line}");
        }
    }
}

/// The log settings both clusters share: every statement logged with the
/// session's application_name, so a test can read what the probes ran.
const LOG_LINES: [&str; 2] = [
    "log_line_prefix = '%m [%p] app=%a '",
    "log_statement = 'all'",
];

/// Creates `public.patients` (4 rows, clinics 1 and 2) in a new database
/// `db`, owned by NOLOGIN `phi_owner`, RLS enabled and forced, readable by
/// the login roles `clerk_a` and `clerk_b`; then `policy`.
fn rls_database(cluster: &Cluster, db: &str, policies: &[&str]) {
    cluster.psql_unlogged("postgres", &[&format!("CREATE DATABASE {db}")]);
    let mut statements = vec![
        "CREATE TABLE public.patients (id int PRIMARY KEY, clinic_id int NOT NULL, ssn text)",
        "INSERT INTO public.patients VALUES (1, 1, '900-00-0001'), (2, 1, '900-00-0002'), \
         (3, 2, '900-00-0003'), (4, 2, '900-00-0004')",
        "ALTER TABLE public.patients OWNER TO phi_owner",
        "ALTER TABLE public.patients ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE public.patients FORCE ROW LEVEL SECURITY",
        "GRANT SELECT ON public.patients TO clerk_a, clerk_b",
    ];
    statements.extend_from_slice(policies);
    cluster.psql_unlogged(db, &statements);
}

#[test]
fn rls_counts_show_which_policies_restrict_rows() {
    let cluster = LOG_LINES
        .into_iter()
        .fold(plain(), |b, line| b.conf(line))
        .start();
    cluster.psql_unlogged(
        "postgres",
        &[
            "CREATE ROLE phi_owner NOLOGIN",
            "CREATE ROLE clerk_a LOGIN",
            "CREATE ROLE clerk_b LOGIN",
        ],
    );
    rls_database(
        &cluster,
        "rls_open",
        &["CREATE POLICY everyone ON public.patients FOR SELECT TO PUBLIC USING (true)"],
    );
    rls_database(
        &cluster,
        "rls_tight",
        &[
            "CREATE POLICY clinic_1 ON public.patients FOR SELECT TO clerk_a USING (clinic_id = 1)",
            "CREATE POLICY clinic_2 ON public.patients FOR SELECT TO clerk_b USING (clinic_id = 2)",
            // Role settings are applied before SET ROLE; a search_path that
            // hides the table must not matter (names are qualified).
            "ALTER ROLE clerk_b IN DATABASE rls_tight SET search_path = nowhere",
        ],
    );
    rls_database(
        &cluster,
        "rls_session",
        &["CREATE POLICY own_login ON public.patients FOR SELECT \
           USING (session_user = 'clerk_a' AND clinic_id = 1)"],
    );
    let before: Vec<String> = ["rls_open", "rls_tight", "rls_session"]
        .iter()
        .map(|db| contents(&cluster, db))
        .collect();

    // A permissive policy for PUBLIC: RLS is on, yet every login sees every row.
    let (open, took) = superuser_scan(&cluster, "rls_open", Probe::Rls);
    eprintln!("rls probe, scan included: {took:?}");
    let broken = only_proof(&open, "PRIV-015", Outcome::Broken);
    assert!(broken
        .proof
        .answer
        .contains("\"clerk_a\": 4 row(s) visible, RLS active"));
    assert!(broken.proof.answer.contains("total: 4 row(s)"));
    assert!(
        broken.proof.from.starts_with("Unix socket"),
        "{}",
        broken.proof.from
    );
    let priv_015 = finding(&open, "PRIV-015");
    assert_eq!(priv_015.status, Status::Fail);
    assert!(!priv_015.proofs.is_empty());
    only_proof(&open, "PRIV-014", Outcome::Holds);
    assert_eq!(finding(&open, "PRIV-014").status, Status::Pass);

    // A real per-role policy: each clerk sees its own clinic's two rows.
    let (tight, _) = superuser_scan(&cluster, "rls_tight", Probe::Rls);
    let holds = only_proof(&tight, "PRIV-015", Outcome::Holds);
    assert!(
        holds.proof.answer.contains("\"clerk_a\": 2 row(s) visible"),
        "{}",
        holds.proof.answer
    );
    assert!(
        holds.proof.answer.contains("\"clerk_b\": 2 row(s) visible"),
        "{}",
        holds.proof.answer
    );
    assert_eq!(finding(&tight, "PRIV-015").status, Status::Pass);

    // A policy on session_user: SET ROLE cannot show what the clerk's own session sees.
    let (session, _) = superuser_scan(&cluster, "rls_session", Probe::Rls);
    let unsure = only_proof(&session, "PRIV-015", Outcome::Inconclusive);
    assert!(
        unsure.proof.note.contains("session_user"),
        "{}",
        unsure.proof.note
    );
    assert!(
        unsure.proof.answer.contains("own_login"),
        "{}",
        unsure.proof.answer
    );

    // A least-privilege scanner cannot count past RLS: the probe says what it needs.
    let (user, password) = create_scanner(&cluster);
    let conninfo = cluster.conninfo_tcp(
        &user,
        &password,
        "rls_open",
        "hostaddr=127.0.0.1 sslmode=disable",
    );
    let opts = ScanOptions {
        prove: Some(probe_options(Probe::Rls)),
        ..Default::default()
    };
    let scanned = runtime()
        .block_on(scan_live(&params(&conninfo), &opts, no_progress()))
        .expect("scan");
    let run = scanned.probes.as_ref().expect("a probe run");
    assert!(run.proofs.is_empty(), "{:#?}", run.proofs);
    let skipped = &run.skipped[0];
    assert_eq!(skipped.probe, Probe::Rls);
    assert!(
        skipped.reason.contains("neither superuser nor BYPASSRLS"),
        "{}",
        skipped.reason
    );
    assert!(skipped.grant.as_deref().unwrap_or("").contains("BYPASSRLS"));

    let after: Vec<String> = ["rls_open", "rls_tight", "rls_session"]
        .iter()
        .map(|db| contents(&cluster, db))
        .collect();
    assert_eq!(before, after, "the probe changed a table");
    let log = cluster.read_server_logs();
    assert_probe_sessions_wrote_nothing(&log);
    assert!(
        log.contains("app=pgsafeguard-probe-rls"),
        "the probe session was not named"
    );
    assert!(log.contains("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
}

#[test]
fn an_audited_read_must_reach_the_log() {
    let mut builder = LOG_LINES
        .into_iter()
        .fold(plain().pgaudit(true), |b, line| b.conf(line));
    for line in [
        "logging_collector = on",
        "log_destination = 'stderr'",
        "log_directory = '@LOG_DIR@'",
        "pgaudit.log = 'ddl,role,write'",
        "pgaudit.role = 'auditor'",
    ] {
        builder = builder.conf(line);
    }
    let cluster = builder.start();
    cluster.psql_unlogged(
        "postgres",
        &[
            "CREATE ROLE auditor NOLOGIN",
            "CREATE DATABASE audit_none",
            "CREATE DATABASE audit_object",
            "CREATE DATABASE audit_read",
            // Session audit of reads for this database only.
            "ALTER DATABASE audit_read SET pgaudit.log = 'read,ddl,role,write'",
        ],
    );
    for db in ["audit_none", "audit_object", "audit_read"] {
        cluster.psql_unlogged(
            db,
            &[
                "CREATE TABLE public.patients (id int PRIMARY KEY, ssn text)",
                "INSERT INTO public.patients VALUES (1, '900-00-0001'), (2, '900-00-0002')",
            ],
        );
    }
    // Object audit: the audit role may SELECT the table.
    cluster.psql_unlogged(
        "audit_object",
        &["GRANT SELECT ON public.patients TO auditor"],
    );
    let before: Vec<String> = ["audit_none", "audit_object", "audit_read"]
        .iter()
        .map(|db| contents(&cluster, db))
        .collect();

    // pgAudit loaded, read not in pgaudit.log, no object audit on the table.
    let (none, took) = superuser_scan(&cluster, "audit_none", Probe::Audit);
    eprintln!("audit probe (not found, wait included), scan included: {took:?}");
    let broken = only_proof(&none, "AUD-003", Outcome::Broken);
    assert!(broken
        .proof
        .note
        .contains("an audited read did not reach the log"));
    assert!(
        broken.proof.answer.contains("logged instead")
            && broken.proof.answer.contains("statement: SELECT * FROM"),
        "the statement line is shown but not taken for an audit line: {}",
        broken.proof.answer
    );
    assert_eq!(finding(&none, "AUD-003").status, Status::Fail);
    only_proof(&none, "AUD-002", Outcome::Broken);
    assert_eq!(finding(&none, "AUD-002").status, Status::Warn);

    // Object audit through pgaudit.role.
    let (object, took) = superuser_scan(&cluster, "audit_object", Probe::Audit);
    eprintln!("audit probe (found), scan included: {took:?}");
    let holds = only_proof(&object, "AUD-003", Outcome::Holds);
    assert!(
        holds.proof.answer.contains("AUDIT: OBJECT"),
        "{}",
        holds.proof.answer
    );
    assert!(
        holds.proof.answer.contains("public.patients"),
        "{}",
        holds.proof.answer
    );
    assert!(
        holds.proof.attempted.contains("pg_read_file"),
        "{}",
        holds.proof.attempted
    );
    assert_ne!(finding(&object, "AUD-003").status, Status::Fail);

    // Session audit of the read class.
    let (read, _) = superuser_scan(&cluster, "audit_read", Probe::Audit);
    let holds = only_proof(&read, "AUD-003", Outcome::Holds);
    assert!(
        holds.proof.answer.contains("AUDIT: SESSION"),
        "{}",
        holds.proof.answer
    );
    only_proof(&read, "AUD-002", Outcome::Holds);

    // A scanner that may read the table but not the log, scanning from
    // elsewhere (no host facts): inconclusive, naming the grant, and no read made.
    let (user, password) = create_scanner(&cluster);
    cluster.psql_unlogged(
        "audit_none",
        &[&format!("GRANT SELECT ON public.patients TO {user}")],
    );
    let conninfo = cluster.conninfo_tcp(
        &user,
        &password,
        "audit_none",
        "hostaddr=127.0.0.1 sslmode=disable",
    );
    let params = params(&conninfo);
    let runtime = runtime();
    let mut snapshot = runtime
        .block_on(scan_live(&params, &ScanOptions::default(), no_progress()))
        .expect("scan");
    snapshot.host = None;
    let run = runtime.block_on(pgsafeguard::db::probe::run(
        &params,
        &snapshot,
        &probe_options(Probe::Audit),
        now_rfc3339,
    ));
    snapshot.probes = Some(run);
    let unsure = only_proof(&snapshot, "AUD-003", Outcome::Inconclusive);
    assert_eq!(
        unsure.proof.grant.as_deref(),
        Some("GRANT EXECUTE ON FUNCTION pg_current_logfile(), pg_read_file(text,bigint,bigint) TO \"scanner\"")
    );
    assert!(
        unsure.proof.note.contains("cannot be read"),
        "{}",
        unsure.proof.note
    );
    assert!(
        unsure.proof.from.contains("127.0.0.1"),
        "{}",
        unsure.proof.from
    );

    let after: Vec<String> = ["audit_none", "audit_object", "audit_read"]
        .iter()
        .map(|db| contents(&cluster, db))
        .collect();
    assert_eq!(before, after, "the probe changed a table");
    let log = cluster.read_server_logs();
    assert_probe_sessions_wrote_nothing(&log);
    // One tagged read per conclusive run; none when the log could not be read.
    let tagged_reads = log
        .lines()
        .filter(|l| l.contains("statement: SELECT * FROM \"public\".\"patients\" LIMIT 0"))
        .count();
    assert_eq!(tagged_reads, 3, "{log}");
}

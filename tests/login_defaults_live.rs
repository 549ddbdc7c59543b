//! Settings overridden per role, per database, for every role (`ALTER ROLE
//! ALL`) and per function, on a live cluster (issue 13, section 1). One
//! cluster holds every trap at once: each check is asserted on a direct scan
//! of the trap database and on an `--all-databases` scan from another
//! database; overrides that no session can reach (a NOLOGIN role, a role
//! without CONNECT) must not count; every fix is applied through the same
//! API the GUI calls, and both scans must then pass. A last test compares,
//! per id, direct scans of each database with the combined scan.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use pgsafeguard::apply::{Applier, ChangeLog, Confirmation, Outcome};
use pgsafeguard::checks::evaluate_all;
use pgsafeguard::db::conninfo::ConnParams;
use pgsafeguard::model::finding::{Finding, Status};
use pgsafeguard::policy::{Attestations, Policy};
use pgsafeguard::scan::{no_progress, scan_live, ScanOptions};
use std::collections::BTreeMap;
use support::{plain, Cluster};
use Status::{Fail, Pass, Warn};

/// The database the traps are set in.
const PHI_DB: &str = "phi";
/// The database the `--all-databases` scans connect to.
const OTHER_DB: &str = "clinic";

/// (check, trap statement, the object the check must name, the status it gives).
const TRAPS: &[(&str, &str, &str, Status)] = &[
    (
        "AUD-002",
        "ALTER ROLE app SET pgaudit.log = 'none'",
        "role=app database=* pgaudit.log=none (user)",
        Fail,
    ),
    (
        "AUTH-001",
        "ALTER ROLE app SET password_encryption = 'md5'",
        "role=app database=* password_encryption=md5 (user)",
        Fail,
    ),
    (
        "AUD-009",
        "ALTER DATABASE phi SET log_statement = 'none'",
        "role=* database=phi log_statement=none (database)",
        Fail,
    ),
    (
        "AUD-010",
        "ALTER ROLE app IN DATABASE phi SET log_min_messages = 'panic'",
        "role=app database=phi log_min_messages=panic (database user)",
        Fail,
    ),
    (
        "AUD-014",
        "ALTER ROLE ALL SET log_replication_commands = off",
        "role=* database=* log_replication_commands=off (global)",
        Fail,
    ),
    (
        "GEN-003",
        "ALTER ROLE app SET zero_damaged_pages = on",
        "role=app database=* zero_damaged_pages=on (user)",
        Fail,
    ),
    (
        "AUD-004",
        "ALTER ROLE app IN DATABASE phi SET log_statement = 'all'",
        "role=app database=phi log_statement=all (database user)",
        Warn,
    ),
    (
        "AUTH-016",
        "ALTER ROLE app SET idle_session_timeout = 0",
        "role=app database=* idle_session_timeout=0 (user)",
        Fail,
    ),
    (
        "AUD-003",
        "ALTER ROLE app SET pgaudit.role = ''",
        "role=app database=* pgaudit.role= (user)",
        Fail,
    ),
];

/// The function trap: a SET clause in `phi` (AUD-002).
const FUNCTION_TRAP: &str = "CREATE FUNCTION public.quiet(integer) RETURNS integer \
    LANGUAGE sql SET pgaudit.log = 'none' AS 'SELECT $1'";
const FUNCTION_OBJECT: &str =
    "role=* database=phi function=public.quiet(integer) pgaudit.log=none (function)";

/// Overrides no session starts with: a NOLOGIN role, a role without CONNECT.
const IGNORED: &[&str] = &[
    "ALTER ROLE grp SET pgaudit.log = 'none'",
    "ALTER ROLE outsider IN DATABASE locked SET pgaudit.log = 'none'",
];

/// A cluster whose server-wide values pass every check above, with the
/// databases, roles and traps.
fn trap_cluster() -> Cluster {
    let cluster = plain()
        .pgaudit(true)
        .conf("pgaudit.log = 'ddl, role, write'")
        .conf("log_statement = 'ddl'")
        .conf("log_replication_commands = on")
        .conf("idle_session_timeout = '15min'")
        .conf("idle_in_transaction_session_timeout = '15min'")
        .start();
    cluster.psql_unlogged(
        "postgres",
        &[
            "CREATE DATABASE phi",
            "CREATE DATABASE clinic",
            "CREATE DATABASE locked",
            "REVOKE CONNECT ON DATABASE locked FROM PUBLIC",
            "CREATE ROLE app LOGIN",
            "CREATE ROLE outsider LOGIN",
            "CREATE ROLE grp NOLOGIN",
            "CREATE ROLE auditor NOLOGIN",
            "ALTER SYSTEM SET pgaudit.role = 'auditor'",
        ],
    );
    cluster.reload();
    let mut statements: Vec<&str> = TRAPS.iter().map(|(_, sql, _, _)| *sql).collect();
    statements.extend(IGNORED);
    cluster.psql_unlogged("postgres", &statements);
    cluster.psql_unlogged(PHI_DB, &[FUNCTION_TRAP]);
    cluster
}

struct Scans {
    rt: tokio::runtime::Runtime,
}

impl Scans {
    fn new() -> Self {
        Scans {
            rt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime"),
        }
    }

    /// Findings by id of a scan as the superuser connected to `db`.
    fn scan(&self, cluster: &Cluster, db: &str, all_databases: bool) -> BTreeMap<String, Finding> {
        let params = ConnParams::from_conninfo_with_env(&conninfo(cluster, db), &|_| None)
            .expect("conninfo");
        let options = ScanOptions {
            all_databases,
            ..ScanOptions::default()
        };
        let snapshot = self
            .rt
            .block_on(scan_live(&params, &options, no_progress()))
            .expect("scan");
        support::golden::capture(&pgsafeguard::cli::snapshot_json(&snapshot));
        evaluate_all(&snapshot, &Policy::default(), &Attestations::default())
            .into_iter()
            .map(|f| (f.id.clone(), f))
            .collect()
    }

    /// The direct scan of the trap database and the combined scan from another one.
    fn both(&self, cluster: &Cluster) -> [(&'static str, BTreeMap<String, Finding>); 2] {
        [
            ("direct scan of phi", self.scan(cluster, PHI_DB, false)),
            (
                "--all-databases scan from clinic",
                self.scan(cluster, OTHER_DB, true),
            ),
        ]
    }
}

fn conninfo(cluster: &Cluster, db: &str) -> String {
    cluster.conninfo_tcp(
        cluster.superuser(),
        cluster.superuser_password(),
        db,
        "sslmode=disable",
    )
}

fn finding<'a>(findings: &'a BTreeMap<String, Finding>, id: &str) -> &'a Finding {
    findings.get(id).unwrap_or_else(|| panic!("{id} missing"))
}

/// One cluster for every step (the suite must stay fast): the traps on a
/// direct and a combined scan, the consistency of the two, then the fixes.
#[test]
fn overrides_are_caught_from_any_database_and_their_fixes_clear_them() {
    let cluster = trap_cluster();
    let scans = Scans::new();
    let [direct, combined] = scans.both(&cluster);
    for (how, findings) in [&direct, &combined] {
        for (id, sql, object, status) in TRAPS {
            let f = finding(findings, id);
            assert_eq!(f.status, *status, "{how}: {sql}: {}", f.evidence);
            assert!(
                f.objects.iter().any(|o| o == object),
                "{how}: {id} does not name {object}: {:?}",
                f.objects
            );
        }
        let f = finding(findings, "AUD-002");
        assert!(
            f.objects.iter().any(|o| o == FUNCTION_OBJECT),
            "{how}: {:?}",
            f.objects
        );
        // AUD-002 judges log_min_messages with pgaudit.log: app's audit lines are dropped in phi.
        assert!(
            f.objects
                .iter()
                .any(|o| o == "role=app database=phi log_min_messages=panic (database user)"),
            "{how}: {:?}",
            f.objects
        );
        for o in &f.objects {
            assert!(!o.contains("grp") && !o.contains("outsider"), "{how}: {o}");
        }
    }

    all_databases_never_passes_what_a_direct_scan_fails(&cluster, &scans, &combined.1);

    // Apply every fix connected to phi (the function's database), AUD-010
    // before AUD-002 (whose plan would reset log_min_messages too).
    let params = ConnParams::from_conninfo_with_env(&conninfo(&cluster, PHI_DB), &|_| None)
        .expect("conninfo");
    let applier = Applier::new(params, Policy::default());
    let dir = tempfile::tempdir().expect("temp dir");
    let log = ChangeLog::at(dir.path().join("change-log.jsonl"));
    let mut order: Vec<&str> = TRAPS.iter().map(|(id, _, _, _)| *id).collect();
    order.retain(|id| *id != "AUD-002");
    order.push("AUD-002");
    let mut last = None;
    for id in order {
        let preview = scans.rt.block_on(applier.preview(id)).expect("preview");
        assert!(
            preview.can_apply(),
            "{id}: {:?}\n{}",
            preview.refusals,
            preview.render_text()
        );
        let confirmation = Confirmation::yes().typing_database(&preview.database);
        let entry = scans
            .rt
            .block_on(applier.apply(&preview, &confirmation, &log))
            .unwrap_or_else(|e| panic!("{id}: {e}\n{}", preview.render_text()));
        assert_eq!(entry.outcome, Outcome::Applied, "{}", entry.render_text());
        last = Some(entry);
    }
    let aud_002 = last.expect("AUD-002 applied");
    for (how, findings) in scans.both(&cluster) {
        for (id, sql, _, _) in TRAPS {
            let f = finding(&findings, id);
            assert_eq!(
                f.status, Pass,
                "{how} after the fix of {sql}: {}",
                f.evidence
            );
        }
    }
    // The rollback sets the role and function settings back.
    let preview = scans
        .rt
        .block_on(applier.preview_rollback(&aud_002))
        .expect("rollback preview");
    assert!(preview.can_apply(), "{:?}", preview.refusals);
    let confirmation = Confirmation::yes().typing_database(&preview.database);
    let undo = scans
        .rt
        .block_on(applier.apply(&preview, &confirmation, &log))
        .expect("rollback");
    assert_eq!(undo.outcome, Outcome::Applied, "{}", undo.render_text());
    let again = scans.scan(&cluster, OTHER_DB, true);
    let f = finding(&again, "AUD-002");
    assert_eq!(f.status, Fail, "{}", f.evidence);
    for object in [TRAPS[0].2, FUNCTION_OBJECT] {
        assert!(f.objects.iter().any(|o| o == object), "{:?}", f.objects);
    }
    // The ignored overrides are still there: fixes touch only what was named.
    let left = cluster.psql(
        "postgres",
        "SELECT count(*) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole \
         WHERE r.rolname IN ('grp', 'outsider')",
    );
    assert_eq!(left, "2");
}

/// Under --all-databases every database is judged as if the scan had
/// connected to it: no check may pass there that fails on a direct scan of
/// one of those databases.
fn all_databases_never_passes_what_a_direct_scan_fails(
    cluster: &Cluster,
    scans: &Scans,
    combined: &BTreeMap<String, Finding>,
) {
    for db in [OTHER_DB, PHI_DB, "postgres"] {
        let direct = scans.scan(cluster, db, false);
        for (id, f) in &direct {
            if f.status != Fail {
                continue;
            }
            let c = finding(combined, id);
            assert_ne!(
                c.status, Pass,
                "{id} fails on a direct scan of {db} ({}) but passes under --all-databases ({})",
                f.evidence, c.evidence
            );
        }
    }
}

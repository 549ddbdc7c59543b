//! Every check's verdict on the live scenarios, asserted per id: the insecure cluster fails
//! what it was built to fail, the hardened one passes what it was built to pass. And
//! least-privilege scanning: with `assets/sql/scanner-role.sql` every check is decided as
//! the superuser decides it; with only `pg_monitor` the checks that need more are
//! `unknown`, name the grant, and never pass where the superuser sees otherwise.

// Test code: a failed set-up step should panic with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use pgsafeguard::checks::{evaluate_all, CATALOGUE_IDS};
use pgsafeguard::db::conninfo::ConnParams;
use pgsafeguard::model::finding::{Finding, Status};
use pgsafeguard::model::snapshot::Snapshot;
use pgsafeguard::policy::{Attestations, Policy};
use pgsafeguard::scan::{no_progress, scan_live, ScanOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Output};
use support::{
    create_scanner, hardened, insecure, major_server, pg_binaries, plain, random_password, Cluster,
    CLINIC_DB, HARDENED_APP_ROLE, SCANNER_ROLE,
};
use Status::{Fail, Manual, NotApplicable, Pass, Unknown, Warn};

/// One catalogue id: the statuses accepted on the insecure and on the hardened scenario
/// (one status, except where the test machine decides), and why, where that is not obvious.
struct Expected {
    id: &'static str,
    insecure: &'static [Status],
    hardened: &'static [Status],
    why: &'static str,
}

const fn row(
    id: &'static str,
    insecure: &'static [Status],
    hardened: &'static [Status],
    why: &'static str,
) -> Expected {
    Expected {
        id,
        insecure,
        hardened,
        why,
    }
}

/// The insecure scenario is scanned as the superuser over TCP without TLS (the server has
/// none); the hardened one as the scanner-role script's role over verify-full TLS, with a
/// policy naming the clinical role and the approved extensions (see [`hardened_policy`]).
/// Both scans run on the database host, so file modes are read.
const EXPECTED: &[Expected] = &[
    row(
        "ADM-001",
        &[Manual],
        &[Manual],
        "attestations: nothing attested",
    ),
    row("ADM-002", &[Manual], &[Manual], ""),
    row("ADM-003", &[Manual], &[Manual], ""),
    row("ADM-004", &[Manual], &[Manual], ""),
    row("ADM-005", &[Manual], &[Manual], ""),
    row("ADM-006", &[Manual], &[Manual], ""),
    row("ADM-007", &[Manual], &[Manual], ""),
    row("ADM-008", &[Manual], &[Manual], ""),
    row("ADM-009", &[Manual], &[Manual], ""),
    row("ADM-010", &[Manual], &[Manual], ""),
    row(
        "GEN-001",
        &[Pass, Warn],
        &[Pass, Warn],
        "the machine's installed minor against the bundled release table: warn when a newer \
         minor exists, pass when current; never fail for a supported major",
    ),
    row(
        "GEN-002",
        &[Pass],
        &[Pass],
        "insecure: no extension; hardened: all approved",
    ),
    row(
        "GEN-003",
        &[Pass],
        &[Pass],
        "durability settings are at their defaults in both",
    ),
    row(
        "GEN-004",
        &[Fail],
        &[Pass],
        "default socket mode 0777 vs 0770",
    ),
    row("GEN-005", &[Manual], &[Manual], "FIPS mode is an OS fact"),
    row(
        "GEN-006",
        &[Pass],
        &[Pass],
        "no pending restart, no bad config line",
    ),
    row(
        "GEN-007",
        &[Manual],
        &[Manual],
        "client-side secrets are an OS fact",
    ),
    row("EAR-001", &[Fail], &[Pass], ""),
    row(
        "EAR-002",
        &[NotApplicable],
        &[Pass],
        "without checksums there is no failure counter to read",
    ),
    row(
        "EAR-003",
        &[Fail],
        &[Pass],
        "pgcrypto only in the hardened clinic",
    ),
    row(
        "EAR-004",
        &[Fail],
        &[Pass],
        "hardened PHI columns are pgcrypto bytea",
    ),
    row(
        "EAR-005",
        &[Manual],
        &[Manual],
        "value sampling is opt-in (--sample-phi)",
    ),
    row(
        "EAR-006",
        &[Pass],
        &[Pass],
        "no function holds a literal key in either",
    ),
    row("EAR-007", &[Pass], &[Pass], "initdb's 0700 in both"),
    row(
        "EAR-008",
        &[Pass],
        &[Pass],
        "harness files are 0600 owned by postgres",
    ),
    row(
        "EAR-009",
        &[Manual],
        &[Manual],
        "volume encryption is an OS fact",
    ),
    row(
        "EAR-010",
        &[Pass],
        &[Pass],
        "log_file_mode defaults to 0600",
    ),
    row("TLS-001", &[Fail], &[Pass], ""),
    row(
        "TLS-002",
        &[Pass],
        &[Pass],
        "TLSv1.2 is the default minimum, even where ssl is off (TLS-001 fails that)",
    ),
    row(
        "TLS-003",
        &[Fail],
        &[Pass],
        "default HIGH:MEDIUM:+3DES admits 3DES",
    ),
    row(
        "TLS-004",
        &[Fail],
        &[Pass],
        "host 0.0.0.0/0 md5 vs hostnossl reject",
    ),
    row(
        "TLS-005",
        &[Pass],
        &[Pass],
        "the only session is the scan's own, from loopback",
    ),
    row(
        "TLS-006",
        &[Fail],
        &[Pass],
        "insecure: ssl is off, the server presents no certificate",
    ),
    row(
        "TLS-007",
        &[NotApplicable],
        &[NotApplicable],
        "neither is a standby",
    ),
    row(
        "TLS-008",
        &[NotApplicable],
        &[Pass],
        "only the hardened pg_hba has a cert rule (clientcert=verify-full)",
    ),
    row("TLS-009", &[Pass], &[Pass], "both listen on loopback only"),
    row("AUTH-001", &[Fail], &[Pass], ""),
    row(
        "AUTH-002",
        &[Fail],
        &[Pass],
        "insecure: app has an md5 verifier",
    ),
    row("AUTH-003", &[Fail], &[Pass], "local all all trust"),
    row("AUTH-004", &[Fail], &[Pass], "host … md5"),
    row(
        "AUTH-005",
        &[Pass],
        &[Pass],
        "insecure has no hostssl line to be weak on",
    ),
    row("AUTH-006", &[Fail], &[Pass], "0.0.0.0/0 and ::/0"),
    row("AUTH-007", &[Fail], &[Pass], "host all all"),
    row(
        "AUTH-008",
        &[Fail],
        &[Pass],
        "app and postgres reachable from anywhere",
    ),
    row(
        "AUTH-009",
        &[Pass],
        &[Pass],
        "both pg_hba files load cleanly",
    ),
    row(
        "AUTH-010",
        &[Pass],
        &[Pass],
        "pg_ident.conf is empty in both",
    ),
    row(
        "AUTH-011",
        &[Pass],
        &[Pass],
        "every password-rule login has a password; the cert role has none but only a cert rule",
    ),
    row(
        "AUTH-012",
        &[Fail],
        &[Pass],
        "insecure app never expires; hardened logins have VALID UNTIL (the bootstrap \
         superuser is not counted)",
    ),
    row("AUTH-013", &[Fail], &[Pass], "passwordcheck preloaded"),
    row("AUTH-014", &[Fail], &[Pass], "auth_delay + 30s timeout"),
    row(
        "AUTH-015",
        &[Pass],
        &[Pass],
        "insecure: its only logins are superusers, which connection limits do not bind",
    ),
    row(
        "AUTH-016",
        &[Fail],
        &[Pass],
        "idle timeouts only in hardened",
    ),
    row(
        "AUTH-017",
        &[Pass],
        &[Pass],
        "no user mapping or subscription; the scanner reads them through the script's function",
    ),
    row("PRIV-001", &[Fail], &[Pass], "insecure: app is a superuser"),
    row("PRIV-002", &[Pass], &[Pass], "only the bootstrap superuser"),
    row("PRIV-003", &[Pass], &[Pass], "only the bootstrap superuser"),
    row(
        "PRIV-004",
        &[Pass],
        &[Pass],
        "no replication role besides the superuser",
    ),
    row(
        "PRIV-005",
        &[Pass],
        &[Pass],
        "no login is a member of a superuser role",
    ),
    row(
        "PRIV-006",
        &[Pass],
        &[Pass],
        "no app holds the file/program roles",
    ),
    row(
        "PRIV-007",
        &[Fail],
        &[Pass],
        "insecure: the generic login `app`",
    ),
    row(
        "PRIV-008",
        &[Manual],
        &[Manual],
        "last logins live in the server log, which a scan does not read",
    ),
    row("PRIV-009", &[Pass], &[Pass], "no table grants to PUBLIC"),
    row(
        "PRIV-010",
        &[Pass],
        &[Pass],
        "PostgreSQL 15: public has no CREATE for PUBLIC",
    ),
    row("PRIV-011", &[Pass], &[Pass], "no default ACLs"),
    row(
        "PRIV-012",
        &[Pass],
        &[Pass],
        "hardened: pgsafeguard.password_kinds() pins search_path and is not PUBLIC",
    ),
    row(
        "PRIV-013",
        &[Pass],
        &[Pass],
        "only trusted plpgsql and approved extensions",
    ),
    row(
        "PRIV-014",
        &[Fail],
        &[Pass],
        "RLS enabled + forced + policy only in hardened",
    ),
    row(
        "PRIV-015",
        &[Pass],
        &[Pass],
        "insecure has no policy at all (PRIV-014 fails that); hardened's policy is real",
    ),
    row(
        "PRIV-016",
        &[Fail],
        &[Pass],
        "insecure: the login app owns patients",
    ),
    row(
        "PRIV-017",
        &[Pass],
        &[Pass],
        "insecure: only owner and superusers read patients; hardened: the clinical role \
         (policy) and the NOLOGIN auditor",
    ),
    row(
        "PRIV-018",
        &[Warn],
        &[Warn],
        "set_user is optional (catalogue) and loaded in neither",
    ),
    row(
        "PRIV-019",
        &[Pass],
        &[Pass],
        "no pg_monitor login but, in hardened, the scanner the script marks",
    ),
    row(
        "PRIV-020",
        &[Pass],
        &[Pass],
        "no REPLICATION login besides the superuser, no publication",
    ),
    row("AUD-001", &[Fail], &[Pass], ""),
    row("AUD-002", &[Fail], &[Pass], ""),
    row(
        "AUD-003",
        &[Fail],
        &[Pass],
        "pgaudit.role = auditor reads patients",
    ),
    row(
        "AUD-004",
        &[Pass],
        &[Pass],
        "no parameter or full statement logging",
    ),
    row("AUD-005", &[Fail], &[Pass], ""),
    row("AUD-006", &[Fail], &[Pass], "stderr only vs stderr,jsonlog"),
    row("AUD-007", &[Fail], &[Pass], ""),
    row("AUD-008", &[Fail], &[Pass], ""),
    row("AUD-009", &[Fail], &[Pass], ""),
    row("AUD-010", &[Pass], &[Pass], "the defaults already meet it"),
    row("AUD-011", &[Pass], &[Pass], "initdb's Etc/UTC is UTC"),
    row(
        "AUD-012",
        &[Pass],
        &[Pass],
        "scanner and server share the host clock",
    ),
    row(
        "AUD-013",
        &[NotApplicable],
        &[Pass],
        "insecure: no logging collector, so no log files of PostgreSQL's own",
    ),
    row("AUD-014", &[Fail], &[Pass], ""),
    row("BAK-001", &[Fail], &[Pass], ""),
    row(
        "BAK-002",
        &[Fail],
        &[Pass],
        "hardened: a real cp into the archive folder",
    ),
    row(
        "BAK-003",
        &[Fail],
        &[Pass],
        "hardened archived a segment at start-up",
    ),
    row("BAK-004", &[Fail], &[Pass], "archive_timeout 5min"),
    row(
        "BAK-005",
        &[Manual],
        &[Manual],
        "backup tools are outside the server",
    ),
    row("BAK-006", &[Manual], &[Manual], ""),
    row("BAK-007", &[Manual], &[Manual], ""),
    row(
        "BAK-008",
        &[Manual],
        &[Manual],
        "restore drills are attested",
    ),
];

/// Checks a scan with the scanner-role script cannot decide however it is granted, and
/// why. Everything else must be decided.
const INHERENTLY_UNDECIDABLE: &[(&str, &str)] = &[(
    "TLS-006",
    "the server certificate is read from the TLS handshake: a scan over a Unix socket of an \
     ssl = on server shows none",
)];

// ---------------------------------------------------------------------------
// scanning

struct Scanned {
    snapshot: Snapshot,
    findings: BTreeMap<String, Finding>,
}

impl Scanned {
    fn status(&self, id: &str) -> Status {
        self.finding(id).status
    }

    fn finding(&self, id: &str) -> &Finding {
        self.findings
            .get(id)
            .unwrap_or_else(|| panic!("{id} is missing from the findings"))
    }

    fn unknown_ids(&self) -> BTreeSet<&str> {
        self.findings
            .values()
            .filter(|f| f.status == Unknown)
            .map(|f| f.id.as_str())
            .collect()
    }
}

fn scan(conninfo: &str, policy: &Policy) -> Scanned {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    // Only the conninfo counts: no PG* variable of the test machine may steer the scan.
    let params = ConnParams::from_conninfo_with_env(conninfo, &|_| None).expect("conninfo");
    let snapshot = runtime
        .block_on(scan_live(&params, &ScanOptions::default(), no_progress()))
        .expect("scan");
    support::golden::capture(&pgsafeguard::cli::snapshot_json(&snapshot));
    let findings = evaluate_all(&snapshot, policy, &Attestations::default())
        .into_iter()
        .map(|f| (f.id.clone(), f))
        .collect();
    Scanned { snapshot, findings }
}

/// The organisation's policy for the hardened scenario, as in tests/scan_live.rs: the
/// portal is the clinical application and these extensions are approved.
fn hardened_policy() -> Policy {
    toml::from_str(&format!(
        "clinical_roles = [\"{HARDENED_APP_ROLE}\"]\n\
         approved_extensions = [\"plpgsql\", \"pgcrypto\", \"pgaudit\"]\n"
    ))
    .expect("policy parses")
}

fn superuser_tcp(cluster: &Cluster, db: &str, extra: &str) -> String {
    cluster.conninfo_tcp(cluster.superuser(), cluster.superuser_password(), db, extra)
}

/// Every id of the table is a catalogue id, every catalogue id is in the table once.
fn assert_table_covers_the_catalogue() {
    let ids: Vec<&str> = EXPECTED.iter().map(|e| e.id).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "an id is listed twice");
    let catalogue: BTreeSet<&str> = CATALOGUE_IDS.iter().copied().collect();
    assert_eq!(unique, catalogue);
    assert_eq!(ids.len(), 95);
}

/// Compares every finding with the table; reports all mismatches at once.
fn assert_statuses(scanned: &Scanned, pick: fn(&Expected) -> &'static [Status], label: &str) {
    assert_eq!(
        scanned.findings.len(),
        EXPECTED.len(),
        "{label}: every id appears once"
    );
    let mismatches: Vec<String> = EXPECTED
        .iter()
        .filter_map(|e| {
            let f = scanned.finding(e.id);
            (!pick(e).contains(&f.status)).then(|| {
                format!(
                    "{}: expected {:?}, got {} ({}): {}",
                    e.id,
                    pick(e),
                    f.status,
                    e.why,
                    f.evidence
                )
            })
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "{label}: {} verdict(s) differ from the table; gaps {:?}\n{}",
        mismatches.len(),
        scanned.snapshot.gaps,
        mismatches.join("\n")
    );
}

/// Every id has the same status in both scans.
fn assert_same_statuses(reference: &Scanned, other: &Scanned, label: &str) {
    let differences: Vec<String> = reference
        .findings
        .values()
        .filter(|f| other.status(&f.id) != f.status)
        .map(|f| {
            format!(
                "{}: {} for the reference ({}) but {} here ({})",
                f.id,
                f.status,
                f.evidence,
                other.status(&f.id),
                other.finding(&f.id).evidence
            )
        })
        .collect();
    assert!(
        differences.is_empty(),
        "{label}: gaps {:?}\n{}",
        other.snapshot.gaps,
        differences.join("\n")
    );
}

// ---------------------------------------------------------------------------
// the scanner-role script

fn script_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sql/scanner-role.sql")
}

/// `psql -f assets/sql/scanner-role.sql` with `-v name=value` for each variable.
fn run_script(conninfo: &str, variables: &[(&str, &str)]) -> Output {
    let mut psql = Command::new(&pg_binaries().psql);
    support::without_libpq_env(&mut psql);
    psql.args(["-X", "-d", conninfo]);
    for (name, value) in variables {
        psql.arg("-v").arg(format!("{name}={value}"));
    }
    psql.arg("-f").arg(script_path());
    psql.output().expect("run psql")
}

/// Runs the script as the superuser (over the socket) in each database; it must succeed.
fn apply_script(cluster: &Cluster, databases: &[&str], variables: &[(&str, &str)]) {
    for db in databases {
        let superuser =
            cluster.conninfo_socket(cluster.superuser(), cluster.superuser_password(), db, "");
        let out = run_script(&superuser, variables);
        assert!(
            out.status.success(),
            "scanner-role.sql failed in {db}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The gaps a script-equipped scanner must never have.
const SCRIPT_GRANTED_PARTS: &[&str] = &[
    "settings",
    "sessions",
    "hba_rules",
    "ident_mappings",
    "file_setting_problems",
    "password_kinds",
    "system_identifier",
    "subscriptions",
    "user_mappings",
];

fn assert_no_script_gaps(scanned: &Scanned, label: &str) {
    let gaps: Vec<&str> = scanned
        .snapshot
        .gaps
        .iter()
        .map(|g| g.part.as_str())
        .filter(|part| SCRIPT_GRANTED_PARTS.contains(part))
        .collect();
    assert!(gaps.is_empty(), "{label}: {:?}", scanned.snapshot.gaps);
}

fn assert_only_inherently_undecidable(scanned: &Scanned, label: &str) {
    let allowed: BTreeSet<&str> = INHERENTLY_UNDECIDABLE.iter().map(|(id, _)| *id).collect();
    let unexpected: Vec<String> = scanned
        .unknown_ids()
        .into_iter()
        .filter(|id| !allowed.contains(id))
        .map(|id| format!("{id}: {}", scanned.finding(id).evidence))
        .collect();
    assert!(
        unexpected.is_empty(),
        "{label}: undecided with the scanner-role script:\n{}",
        unexpected.join("\n")
    );
}

/// A date `days` from today, for VALID UNTIL.
fn days_from_now(days: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::days(days))
        .date()
        .to_string()
}

// ---------------------------------------------------------------------------
// insecure

/// The checks a `pg_monitor`-only scanner cannot decide, and the grant each must name.
const MONITOR_ONLY_UNKNOWN: &[(&str, &str)] = &[
    ("GEN-006", "pg_show_all_file_settings"),
    ("TLS-004", "pg_hba_file_rules"),
    ("TLS-008", "pg_hba_file_rules"),
    ("AUTH-002", "scanner-role.sql"),
    ("AUTH-003", "pg_hba_file_rules"),
    ("AUTH-004", "pg_hba_file_rules"),
    ("AUTH-005", "pg_hba_file_rules"),
    ("AUTH-006", "pg_hba_file_rules"),
    ("AUTH-007", "pg_hba_file_rules"),
    ("AUTH-008", "pg_hba_file_rules"),
    ("AUTH-009", "pg_hba_file_rules"),
    ("AUTH-010", "pg_ident_file_mappings"),
    // Needs pg_hba rules and password kinds; names the first it misses.
    ("AUTH-011", "pg_hba_file_rules"),
    ("PRIV-004", "pg_hba_file_rules"),
    // pg_subscription.subconninfo is superuser-only: the script's function reads it.
    ("AUTH-017", "scanner-role.sql"),
];

#[test]
fn insecure_cluster_verdicts_and_least_privilege_scans() {
    assert_table_covers_the_catalogue();
    let cluster = insecure();
    let superuser = scan(
        &superuser_tcp(&cluster, CLINIC_DB, "sslmode=disable"),
        &Policy::default(),
    );
    assert_statuses(&superuser, |e| e.insecure, "insecure, superuser");

    // pg_monitor only: unknown where it cannot see, with the grant; the rest as the
    // superuser decides (so never a pass the superuser does not give).
    let (user, password) = create_scanner(&cluster);
    // The reference for the comparisons: the superuser's view with the scanner role in it.
    let superuser = scan(
        &superuser_tcp(&cluster, CLINIC_DB, "sslmode=disable"),
        &Policy::default(),
    );
    let scanner_conninfo = cluster.conninfo_tcp(&user, &password, CLINIC_DB, "sslmode=disable");
    let monitor = scan(&scanner_conninfo, &Policy::default());
    let expected_unknown: BTreeSet<&str> = MONITOR_ONLY_UNKNOWN
        .iter()
        .map(|(id, _)| *id)
        .chain(superuser.unknown_ids())
        .collect();
    assert_eq!(
        monitor.unknown_ids(),
        expected_unknown,
        "pg_monitor only; gaps {:?}",
        monitor.snapshot.gaps
    );
    for (id, grant) in MONITOR_ONLY_UNKNOWN {
        let finding = monitor.finding(id);
        assert!(
            finding.grant.as_deref().is_some_and(|g| g.contains(grant)),
            "{id} should name {grant}: {finding:?}"
        );
    }
    for finding in superuser.findings.values() {
        if expected_unknown.contains(finding.id.as_str()) {
            continue;
        }
        assert_eq!(
            monitor.status(&finding.id),
            finding.status,
            "{}: pg_monitor scan says {} ({}), superuser {} ({})",
            finding.id,
            monitor.status(&finding.id),
            monitor.finding(&finding.id).evidence,
            finding.status,
            finding.evidence
        );
    }

    // With the script the scanner decides everything the superuser decides.
    apply_script(
        &cluster,
        &["postgres", CLINIC_DB],
        &[("scanner_role", SCANNER_ROLE)],
    );
    let scripted = scan(&scanner_conninfo, &Policy::default());
    assert_no_script_gaps(&scripted, "insecure, scanner-role script");
    assert_only_inherently_undecidable(&scripted, "insecure, scanner-role script");
    assert_same_statuses(
        &superuser,
        &scripted,
        "insecure, scanner-role script vs superuser",
    );
    assert_eq!(
        scripted.snapshot.password_kinds, superuser.snapshot.password_kinds,
        "password_kinds() and pg_authid classify alike"
    );
}

// ---------------------------------------------------------------------------
// hardened

#[test]
fn hardened_cluster_verdicts_with_the_scanner_role_script() {
    let mut cluster = hardened();
    let password = random_password();
    let valid_until = days_from_now(90);
    let variables = [
        ("scanner_role", SCANNER_ROLE),
        ("scanner_password", password.as_str()),
        ("scanner_valid_until", valid_until.as_str()),
    ];
    apply_script(&cluster, &["postgres", CLINIC_DB], &variables);
    // Idempotent: a second run changes nothing and fails nothing.
    apply_script(&cluster, &["postgres", CLINIC_DB], &variables);

    let tls = cluster.verify_full();
    let scanner_conninfo = cluster.conninfo_tcp(SCANNER_ROLE, &password, CLINIC_DB, &tls);
    let policy = hardened_policy();
    let scripted = scan(&scanner_conninfo, &policy);
    assert_statuses(&scripted, |e| e.hardened, "hardened, scanner-role script");
    assert_no_script_gaps(&scripted, "hardened, scanner-role script");
    assert!(
        scripted.unknown_ids().is_empty(),
        "over verified TLS on the host nothing is undecidable: {:?}",
        scripted.unknown_ids()
    );

    assert_script_grants_nothing_more(&cluster);
    assert_script_refuses_what_it_must(&cluster, &password);
    // Statement logging and pgaudit are on here: the password must not reach the log.
    assert!(
        !cluster.read_server_logs().contains(&password),
        "the scanner's password reached the server log"
    );

    // The superuser, let in over TLS for this comparison, sees the same verdicts.
    let text = cluster.hba_text();
    let mut rules: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .skip(1)
        .collect();
    let reject = rules
        .iter()
        .position(|l| l.starts_with("hostnossl"))
        .expect("the hardened reject line");
    let superuser_rule =
        format!("hostssl postgres,{CLINIC_DB} postgres 127.0.0.1/32 scram-sha-256");
    rules.insert(reject, &superuser_rule);
    cluster.set_hba(&rules);
    let superuser = scan(&superuser_tcp(&cluster, CLINIC_DB, &tls), &policy);
    let scripted = scan(&scanner_conninfo, &policy);
    assert_same_statuses(
        &superuser,
        &scripted,
        "hardened, scanner-role script vs superuser",
    );
    assert_eq!(
        scripted.snapshot.password_kinds, superuser.snapshot.password_kinds,
        "password_kinds() and pg_authid classify alike"
    );
}

/// The scanner reaches password kinds only through the function: no pg_authid, and the
/// function is a pinned SECURITY DEFINER that only the scanner may call.
fn assert_script_grants_nothing_more(cluster: &Cluster) {
    let facts = cluster.psql(
        CLINIC_DB,
        &format!(
            "SELECT p.prosecdef, p.proconfig::text, o.rolsuper, \
             has_function_privilege('{SCANNER_ROLE}', p.oid, 'EXECUTE'), \
             has_function_privilege('{HARDENED_APP_ROLE}', p.oid, 'EXECUTE'), \
             has_table_privilege('{SCANNER_ROLE}', 'pg_catalog.pg_authid', 'SELECT'), \
             has_column_privilege('{SCANNER_ROLE}', 'pg_catalog.pg_authid', 'rolpassword', 'SELECT'), \
             has_schema_privilege('{HARDENED_APP_ROLE}', 'pgsafeguard', 'USAGE') \
             FROM pg_proc p JOIN pg_roles o ON o.oid = p.proowner \
             WHERE p.oid = 'pgsafeguard.password_kinds()'::regprocedure"
        ),
    );
    assert_eq!(
        facts, "t|{\"search_path=pg_catalog, pg_temp\"}|t|t|f|f|f|f",
        "prosecdef | proconfig | owner is superuser | scanner may call | app may call | \
         scanner reads pg_authid | scanner reads rolpassword | app may use the schema"
    );
    let kinds = cluster.psql(
        CLINIC_DB,
        "SELECT string_agg(DISTINCT kind, ',' ORDER BY kind) FROM pgsafeguard.password_kinds()",
    );
    assert!(
        kinds
            .split(',')
            .all(|k| ["md5", "none", "plain", "scram"].contains(&k)),
        "only kinds, never verifiers: {kinds}"
    );
}

/// Run by a non-superuser, or naming a superuser as the scanner, the script stops with an
/// error (psql exit 3) before changing anything.
fn assert_script_refuses_what_it_must(cluster: &Cluster, password: &str) {
    let as_scanner =
        cluster.conninfo_tcp(SCANNER_ROLE, password, "postgres", &cluster.verify_full());
    let out = run_script(&as_scanner, &[("scanner_role", "someone_else")]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("as a superuser"));

    let superuser = cluster.conninfo_socket(
        cluster.superuser(),
        cluster.superuser_password(),
        "postgres",
        "",
    );
    let out = run_script(&superuser, &[("scanner_role", cluster.superuser())]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("names a superuser"));
    assert_eq!(
        cluster.psql(
            "postgres",
            "SELECT rolsuper FROM pg_roles WHERE rolname = 'postgres'"
        ),
        "t"
    );
}

// ---------------------------------------------------------------------------
// other majors

/// The script runs on the oldest and newest supported majors (pg_ident_file_mappings only
/// exists from 15), twice, and the scanner it makes has no gap there either.
#[test]
fn scanner_role_script_on_postgresql_13_and_18() {
    for major in [13, 18] {
        let server = major_server(major);
        let cluster = plain().bindir(&server.bindir).start();
        let password = random_password();
        let variables = [
            ("scanner_role", SCANNER_ROLE),
            ("scanner_password", password.as_str()),
        ];
        apply_script(&cluster, &["postgres"], &variables);
        apply_script(&cluster, &["postgres"], &variables);
        let conninfo = cluster.conninfo_tcp(SCANNER_ROLE, &password, "postgres", "sslmode=disable");
        let scanned = scan(&conninfo, &Policy::default());
        let label = format!("PostgreSQL {major}");
        assert_eq!(
            scanned
                .snapshot
                .target
                .server_version_num
                .map(|v| v / 10_000),
            Some(major)
        );
        assert_no_script_gaps(&scanned, &label);
        assert_only_inherently_undecidable(&scanned, &label);
        assert_eq!(
            scanned.snapshot.ident_mappings.is_some(),
            major >= 15,
            "{label}: pg_ident_file_mappings exists from 15"
        );
        let kinds = scanned
            .snapshot
            .password_kinds
            .as_ref()
            .expect("password kinds");
        assert_eq!(
            kinds.get(SCANNER_ROLE),
            Some(&pgsafeguard::model::snapshot::PasswordKind::Scram),
            "{label}: the script stores a SCRAM verifier even where md5 is the default"
        );
    }
}

// ---------------------------------------------------------------------------
// stored outbound credentials

/// Through `pgsafeguard.stored_credentials()` the scanner finds the stored credentials the
/// superuser finds; with pg_monitor only, another role's user mapping and the subscription
/// stay undecided (the foreign server's options are visible to all and still fail).
#[test]
fn scanner_role_script_sees_stored_credentials() {
    let cluster = support::outbound_traps(true);
    let superuser = scan(
        &superuser_tcp(&cluster, CLINIC_DB, "sslmode=disable"),
        &Policy::default(),
    );
    let (user, password) = create_scanner(&cluster);
    let conninfo = cluster.conninfo_tcp(&user, &password, CLINIC_DB, "sslmode=disable");
    let monitor = scan(&conninfo, &Policy::default());
    let limited = monitor.finding("AUTH-017");
    assert_eq!(limited.status, Fail, "{}", limited.evidence);
    assert_eq!(limited.objects.len(), 1, "{:?}", limited.objects);
    assert!(
        limited.evidence.contains("hidden from the scanner")
            && limited.evidence.contains("subscriptions"),
        "{}",
        limited.evidence
    );
    apply_script(
        &cluster,
        &["postgres", CLINIC_DB],
        &[("scanner_role", SCANNER_ROLE)],
    );
    let scripted = scan(&conninfo, &Policy::default());
    assert_no_script_gaps(&scripted, "outbound traps, scanner-role script");
    let expected = &superuser.finding("AUTH-017").objects;
    assert_eq!(expected.len(), 3, "{expected:?}");
    assert_eq!(&scripted.finding("AUTH-017").objects, expected);
}

//! `pgsafeguard scan` against other PostgreSQL majors: 13, 17 and 18 from the pinned npm
//! binaries that tests/install-majors.sh installs (see tests/support/majors.rs).
//!
//! On every major and every scan: exit 0 or 1, never 2; no part of the collector fails with
//! an undefined column, table or function; every catalogue id is judged exactly once; the
//! reported server version is that major. Then the verdicts and fixes that depend on the
//! version: pg_ident_file_mappings (15+), idle_session_timeout (14+), jsonlog (15+), the
//! public schema's default CREATE (before 15), log_connections as a list (18+), and data
//! checksums on by default (18+). The fixes the scan proposes for settings are applied on
//! each major and must take.

// Test code: a failed set-up step should panic with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use pgsafeguard::checks::CATALOGUE_IDS;
use serde_json::Value;
use std::process::Command;
use support::{
    create_scanner, hardened_on, insecure_on, major_server, Cluster, MajorServer, CLINIC_DB,
};

/// SQLSTATEs meaning the collector's SQL does not fit the server: undefined column,
/// undefined table, undefined function.
const SCHEMA_MISMATCH: [&str; 3] = ["42703", "42P01", "42883"];

/// SQLSTATE of a permission the scanner lacks: expected in a least-privilege scan.
const INSUFFICIENT_PRIVILEGE: &str = "42501";

/// Failing checks whose proposed fix is plain SQL in the scanned database, taking effect
/// after a reload: applied on every major, after which they must no longer fail.
const FIXES_TO_APPLY: [&str; 10] = [
    "TLS-003", "AUTH-001", "AUTH-012", "AUTH-016", "PRIV-012", "PRIV-009", "AUD-007", "AUD-008",
    "AUD-009", "AUD-014",
];

/// One `pgsafeguard scan --format json` run.
struct Scan {
    label: String,
    code: Option<i32>,
    report: Value,
    stderr: String,
}

impl Scan {
    fn run(label: &str, conninfo: &str, extra: &[&str]) -> Scan {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pgsafeguard"));
        command
            .args(["scan", conninfo, "--format", "json"])
            .args(extra);
        // The developer's PG* variables must not steer the scan.
        let out = support::without_libpq_env(&mut command)
            .output()
            .expect("run pgsafeguard");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{label}: stdout is not JSON ({e}); exit {:?}; stderr: {stderr}",
                out.status.code()
            )
        });
        Scan {
            label: label.to_string(),
            code: out.status.code(),
            report,
            stderr,
        }
    }

    fn findings(&self) -> &Vec<Value> {
        self.report["findings"].as_array().expect("findings array")
    }

    fn finding(&self, id: &str) -> &Value {
        self.findings()
            .iter()
            .find(|f| f["id"] == id)
            .unwrap_or_else(|| panic!("{}: {id} missing from findings", self.label))
    }

    fn status(&self, id: &str) -> &str {
        self.finding(id)["status"].as_str().unwrap_or("")
    }

    fn evidence(&self, id: &str) -> &str {
        self.finding(id)["evidence"].as_str().unwrap_or("")
    }

    fn fix_statements(&self, id: &str) -> Vec<String> {
        self.finding(id)["fix"]["statements"]
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn gaps(&self) -> Vec<Value> {
        self.report["gaps"].as_array().cloned().unwrap_or_default()
    }

    /// Every id with its status, evidence and reason, and the gaps: the failure message.
    fn dump(&self) -> String {
        let findings: Vec<String> = self
            .findings()
            .iter()
            .map(|f| {
                format!(
                    "  {} {}: {} {}",
                    f["id"].as_str().unwrap_or("?"),
                    f["status"].as_str().unwrap_or("?"),
                    f["evidence"].as_str().unwrap_or(""),
                    f["reason"].as_str().unwrap_or("")
                )
            })
            .collect();
        format!(
            "{}: exit {:?}\ngaps: {}\nfindings:\n{}\nstderr: {}",
            self.label,
            self.code,
            serde_json::to_string_pretty(&self.report["gaps"]).unwrap_or_default(),
            findings.join("\n"),
            self.stderr
        )
    }

    /// Asserts `id` has `status`, showing the whole scan when not.
    fn expect_status(&self, id: &str, status: &str) {
        assert_eq!(
            self.status(id),
            status,
            "{}: {id} evidence: {}\n{}",
            self.label,
            self.evidence(id),
            self.dump()
        );
    }

    /// Asserts the evidence of `id` contains `text`.
    fn expect_evidence(&self, id: &str, text: &str) {
        assert!(
            self.evidence(id).contains(text),
            "{}: {id} evidence {:?} lacks {text:?}",
            self.label,
            self.evidence(id)
        );
    }

    /// What must hold for every scan on every major.
    fn assert_sound(&self, server: &MajorServer) {
        assert!(
            matches!(self.code, Some(0) | Some(1)),
            "{}: exit code {:?} (2 is an error)\n{}",
            self.label,
            self.code,
            self.dump()
        );
        assert_eq!(
            self.report["schema"], "pgsafeguard.scan/1",
            "{}",
            self.label
        );
        let version = self.report["target"]["server_version"]
            .as_str()
            .unwrap_or("");
        assert!(
            version.starts_with(&format!("{}.", server.major)),
            "{}: server_version {version:?} is not PostgreSQL {}",
            self.label,
            server.major
        );
        for gap in self.gaps() {
            let sqlstate = gap["sqlstate"].as_str().unwrap_or("");
            assert!(
                !SCHEMA_MISMATCH.contains(&sqlstate),
                "{}: on PostgreSQL {} (npm {}) part {} failed with SQLSTATE {sqlstate}: {}",
                self.label,
                server.major,
                server.package_version,
                gap["part"],
                gap["message"]
            );
        }
        self.assert_every_id_once();
    }

    fn assert_every_id_once(&self) {
        assert_eq!(CATALOGUE_IDS.len(), 95);
        let ids: Vec<&str> = self
            .findings()
            .iter()
            .filter_map(|f| f["id"].as_str())
            .collect();
        for id in CATALOGUE_IDS {
            let count = ids.iter().filter(|seen| *seen == id).count();
            assert_eq!(count, 1, "{}: {id} appears {count} times", self.label);
        }
        assert_eq!(ids.len(), CATALOGUE_IDS.len(), "{}: extra ids", self.label);
    }

    /// A superuser sees everything: no gap at all (a decoding failure would show here with
    /// no SQLSTATE).
    fn assert_no_gaps(&self) {
        assert_eq!(self.gaps(), Vec::<Value>::new(), "{}", self.dump());
    }

    /// A least-privilege scan: only gaps for missing permissions.
    fn assert_only_permission_gaps(&self) {
        for gap in self.gaps() {
            assert_eq!(
                gap["sqlstate"].as_str(),
                Some(INSUFFICIENT_PRIVILEGE),
                "{}: unexpected gap {gap}",
                self.label
            );
        }
    }
}

/// The scans of one scenario on one major.
struct Scenario {
    server: MajorServer,
    cluster: Cluster,
    /// The superuser with `--all-databases --sample-phi` (insecure), or over the socket
    /// (hardened).
    superuser: Scan,
    /// A pg_monitor scanner (insecure), or a scanner with the catalog grants over
    /// verify-full TLS (hardened).
    scanner: Scan,
}

impl Scenario {
    fn insecure(major: u32) -> Scenario {
        let server = major_server(major);
        let cluster = insecure_on(&server);
        let label = format!("PostgreSQL {major} insecure");
        // The scanner exists before the first scan, so later fixes cover it too.
        let (user, password) = create_scanner(&cluster);
        let superuser = scan_insecure_as_superuser(&cluster, &format!("{label}, superuser"));
        let scanner = Scan::run(
            &format!("{label}, pg_monitor scanner"),
            &cluster.conninfo_tcp(&user, &password, CLINIC_DB, "sslmode=disable"),
            &["--all-databases"],
        );
        superuser.assert_sound(&server);
        scanner.assert_sound(&server);
        superuser.assert_no_gaps();
        scanner.assert_only_permission_gaps();
        for id in [
            "TLS-001", "AUTH-001", "AUTH-002", "AUTH-003", "PRIV-001", "EAR-004",
        ] {
            superuser.expect_status(id, "fail");
        }
        Scenario {
            server,
            cluster,
            superuser,
            scanner,
        }
    }

    fn hardened(major: u32) -> Scenario {
        let server = major_server(major);
        let cluster = hardened_on(&server);
        let label = format!("PostgreSQL {major} hardened");
        let (user, password) = granted_scanner(&cluster);
        let scanner = Scan::run(
            &format!("{label}, granted scanner over verify-full"),
            &cluster.conninfo_tcp(&user, &password, CLINIC_DB, &cluster.verify_full()),
            &["--all-databases", "--sample-phi"],
        );
        let superuser = Scan::run(
            &format!("{label}, superuser over the socket"),
            &cluster.conninfo_socket(
                cluster.superuser(),
                cluster.superuser_password(),
                CLINIC_DB,
                "",
            ),
            &["--all-databases"],
        );
        scanner.assert_sound(&server);
        superuser.assert_sound(&server);
        scanner.assert_only_permission_gaps();
        superuser.assert_no_gaps();
        assert_eq!(scanner.report["target"]["sslmode"], "verify-full");
        assert!(
            scanner.report["target"]["tls"]["version"]
                .as_str()
                .is_some_and(|v| v.starts_with("TLSv1.")),
            "{}",
            scanner.dump()
        );
        for scan in [&scanner, &superuser] {
            for id in [
                "TLS-001", "TLS-003", "AUTH-001", "AUTH-003", "AUTH-004", "EAR-001", "EAR-003",
                "EAR-004", "AUD-005", "AUD-006", "AUD-007", "AUD-008", "BAK-001", "BAK-002",
                "BAK-003", "PRIV-014",
            ] {
                scan.expect_status(id, "pass");
            }
            // pgaudit is not in the npm package.
            scan.expect_status("AUD-001", "fail");
        }
        // The scanner reads hba rules and password verifiers through its grants.
        for id in ["TLS-004", "AUTH-002", "AUTH-008"] {
            scanner.expect_status(id, "pass");
        }
        Scenario {
            server,
            cluster,
            superuser,
            scanner,
        }
    }

    fn major(&self) -> u32 {
        self.server.major
    }

    /// Applies the scan's own fixes for [`FIXES_TO_APPLY`] as the superuser, reloads, and
    /// scans again: each statement must run on this major and each check must stop failing.
    fn apply_setting_fixes_and_rescan(&self) -> Scan {
        let mut applied = Vec::new();
        for id in FIXES_TO_APPLY {
            if self.superuser.status(id) != "fail" {
                continue;
            }
            let statements = self.superuser.fix_statements(id);
            assert!(!statements.is_empty(), "{id} fails but proposes no SQL");
            let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
            self.cluster.psql_unlogged(CLINIC_DB, &statements);
            applied.push(id);
        }
        assert!(
            applied.contains(&"AUD-007"),
            "the fixture should fail AUD-007"
        );
        self.cluster.reload();
        let rescan = scan_insecure_as_superuser(
            &self.cluster,
            &format!("PostgreSQL {} insecure after fixes", self.major()),
        );
        rescan.assert_sound(&self.server);
        for id in applied {
            assert_ne!(
                rescan.status(id),
                "fail",
                "PostgreSQL {}: the fix for {id} ({:?}) did not take: {}",
                self.major(),
                self.superuser.fix_statements(id),
                rescan.evidence(id)
            );
        }
        rescan
    }
}

fn scan_insecure_as_superuser(cluster: &Cluster, label: &str) -> Scan {
    let conninfo = cluster.conninfo_tcp(
        cluster.superuser(),
        cluster.superuser_password(),
        CLINIC_DB,
        "sslmode=disable",
    );
    Scan::run(label, &conninfo, &["--all-databases", "--sample-phi"])
}

/// The scanner role with the catalog grants a DBA would give it. Catalog ACLs are kept
/// per database, so the grants go into every database the scan visits;
/// pg_ident_file_mappings only exists from 15.
fn granted_scanner(cluster: &Cluster) -> (String, String) {
    let (user, password) = create_scanner(cluster);
    let has_ident_view = cluster.psql(
        "postgres",
        "SELECT count(*) FROM pg_catalog.pg_proc WHERE proname = 'pg_ident_file_mappings'",
    ) != "0";
    let mut grants = vec![
        format!("GRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO {user}"),
        format!("GRANT SELECT ON pg_catalog.pg_hba_file_rules TO {user}"),
        format!("GRANT EXECUTE ON FUNCTION pg_catalog.pg_show_all_file_settings() TO {user}"),
        format!("GRANT SELECT ON pg_catalog.pg_file_settings TO {user}"),
        format!("GRANT SELECT (rolname, rolpassword) ON pg_catalog.pg_authid TO {user}"),
    ];
    if has_ident_view {
        grants.push(format!(
            "GRANT EXECUTE ON FUNCTION pg_catalog.pg_ident_file_mappings() TO {user}"
        ));
        grants.push(format!(
            "GRANT SELECT ON pg_catalog.pg_ident_file_mappings TO {user}"
        ));
    }
    let grants: Vec<&str> = grants.iter().map(String::as_str).collect();
    for db in ["postgres", CLINIC_DB] {
        cluster.psql_unlogged(db, &grants);
    }
    (user, password)
}

// ----- PostgreSQL 13 -----

#[test]
fn pg13_insecure_is_judged_with_13s_settings_and_views() {
    let run = Scenario::insecure(13);
    let scan = &run.superuser;
    // 13 is past its end of life (2025-11-13) whatever the minor.
    scan.expect_status("GEN-001", "fail");
    scan.expect_evidence("GEN-001", "end of life");
    // No pg_ident_file_mappings before 15: not applicable, for either role.
    for scan in [&run.superuser, &run.scanner] {
        scan.expect_status("AUTH-010", "not_applicable");
        scan.expect_evidence("AUTH-010", "PostgreSQL 15");
    }
    // idle_session_timeout does not exist on 13: only the in-transaction timeout is
    // judged, and the fix does not name the missing setting.
    scan.expect_status("AUTH-016", "fail");
    assert!(!scan.evidence("AUTH-016").contains("idle_session_timeout"));
    assert!(scan
        .fix_statements("AUTH-016")
        .iter()
        .all(|s| !s.contains("\"idle_session_timeout\"")));
    // Before 15 every database's public schema lets PUBLIC create.
    scan.expect_status("PRIV-010", "fail");
    scan.expect_evidence("PRIV-010", "\"postgres\".\"public\"");
    // jsonlog arrived in 15: the fix proposes csvlog, with the collector that writes it.
    scan.expect_status("AUD-006", "fail");
    assert_eq!(
        scan.fix_statements("AUD-006"),
        vec![
            "ALTER SYSTEM SET \"log_destination\" = 'stderr,csvlog'",
            "ALTER SYSTEM SET \"logging_collector\" = 'on'"
        ]
    );
    // log_connections is a boolean before 18.
    scan.expect_status("AUD-007", "fail");
    assert!(scan
        .fix_statements("AUD-007")
        .contains(&"ALTER SYSTEM SET \"log_connections\" = 'on'".to_string()));
    scan.expect_status("EAR-001", "fail");

    let rescan = run.apply_setting_fixes_and_rescan();
    // 13 cannot end idle sessions: the best it gets is a warning.
    rescan.expect_status("AUTH-016", "warn");
    rescan.expect_evidence("AUTH-016", "idle_session_timeout arrived in 14");
    rescan.expect_status("AUD-007", "pass");
}

#[test]
fn pg13_hardened_passes_what_13_can_do() {
    let run = Scenario::hardened(13);
    for scan in [&run.superuser, &run.scanner] {
        scan.expect_status("AUTH-010", "not_applicable");
        scan.expect_status("AUTH-016", "warn");
        scan.expect_evidence("AUTH-016", "idle_session_timeout arrived in 14");
        scan.expect_evidence("AUD-006", "csvlog");
        scan.expect_evidence("AUD-007", "log_connections = on");
        // The fixture revokes CREATE on public only in clinic; 13's default still
        // grants it in postgres.
        scan.expect_status("PRIV-010", "fail");
        scan.expect_evidence("PRIV-010", "\"postgres\".\"public\"");
        scan.expect_status("EAR-002", "pass");
    }
}

// ----- PostgreSQL 17 -----

#[test]
fn pg17_insecure() {
    let run = Scenario::insecure(17);
    let scan = &run.superuser;
    scan.expect_status("AUTH-010", "pass");
    scan.expect_status("AUTH-016", "fail");
    scan.expect_evidence("AUTH-016", "idle_session_timeout = 0");
    scan.expect_status("PRIV-010", "pass");
    assert!(scan
        .fix_statements("AUD-007")
        .contains(&"ALTER SYSTEM SET \"log_connections\" = 'on'".to_string()));
    let rescan = run.apply_setting_fixes_and_rescan();
    rescan.expect_status("AUTH-016", "pass");
}

#[test]
fn pg17_hardened() {
    let run = Scenario::hardened(17);
    for scan in [&run.superuser, &run.scanner] {
        for id in ["AUTH-010", "AUTH-016", "PRIV-010"] {
            scan.expect_status(id, "pass");
        }
        scan.expect_evidence("AUD-006", "jsonlog");
    }
}

// ----- PostgreSQL 18 -----

#[test]
fn pg18_insecure_reads_log_connections_as_a_list() {
    let run = Scenario::insecure(18);
    let scan = &run.superuser;
    // From 18 log_connections is a list; its default is empty.
    scan.expect_status("AUD-007", "fail");
    scan.expect_evidence("AUD-007", "log_connections = ''");
    scan.expect_evidence("AUD-007", "wanted receipt,authentication,authorization");
    assert!(scan.fix_statements("AUD-007").contains(
        &"ALTER SYSTEM SET \"log_connections\" = 'receipt,authentication,authorization'"
            .to_string()
    ));
    // 18 turns checksums on by default; this fixture turned them off at initdb.
    scan.expect_status("EAR-001", "fail");
    scan.expect_status("AUTH-010", "pass");
    scan.expect_status("PRIV-010", "pass");

    let rescan = run.apply_setting_fixes_and_rescan();
    rescan.expect_status("AUD-007", "pass");
    rescan.expect_evidence(
        "AUD-007",
        "log_connections = receipt,authentication,authorization",
    );
    rescan.expect_status("AUTH-016", "pass");
}

#[test]
fn pg18_hardened_passes_with_list_log_connections() {
    let run = Scenario::hardened(18);
    for scan in [&run.superuser, &run.scanner] {
        scan.expect_status("AUD-007", "pass");
        scan.expect_evidence(
            "AUD-007",
            "log_connections = receipt,authentication,authorization",
        );
        for id in ["AUTH-010", "AUTH-016", "PRIV-010", "EAR-001", "EAR-002"] {
            scan.expect_status(id, "pass");
        }
    }
}

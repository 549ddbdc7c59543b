//! `pgsafeguard scan` against real clusters: the JSON contract, the exit codes
//! for an insecure and a hardened server, and the connection failures that
//! need a live server.

// Test code: a failed set-up step should panic with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use serde_json::Value;
use std::process::{Command, Output};
use support::{create_scanner, hardened, insecure, plain, CLINIC_DB};

fn pgsafeguard(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgsafeguard"));
    cmd.args(args);
    support::without_libpq_env(&mut cmd)
        .output()
        .expect("run pgsafeguard")
}

fn scan_json(conninfo: &str) -> (Option<i32>, Value, String) {
    scan_json_with(conninfo, &[])
}

fn scan_json_with(conninfo: &str, extra: &[&str]) -> (Option<i32>, Value, String) {
    let mut args = vec!["scan", conninfo, "--format", "json"];
    args.extend_from_slice(extra);
    let out = pgsafeguard(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr: {stderr}"));
    (out.status.code(), json, stderr)
}

fn finding<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("{id} missing from findings"))
}

fn failing_ids(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["status"] == "fail")
        .map(|f| format!("{}: {}", f["id"], f["evidence"]))
        .collect()
}

/// One-line error, exit 2, no password echoed.
fn assert_connect_error(out: &Output, mention: &str, password: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr:?}");
    assert!(
        stderr.to_lowercase().contains(&mention.to_lowercase()),
        "{stderr:?} should mention {mention:?}"
    );
    assert!(!stderr.contains(password), "password leaked: {stderr}");
}

#[test]
fn insecure_server_fails_with_real_evidence() {
    let cluster = insecure();
    let conninfo = cluster.conninfo_tcp(
        cluster.superuser(),
        cluster.superuser_password(),
        CLINIC_DB,
        "sslmode=disable",
    );
    let (code, report, stderr) = scan_json(&conninfo);
    assert_eq!(code, Some(1), "stderr: {stderr}");
    assert_eq!(report["schema"], "pgsafeguard.scan/1");
    assert_eq!(report["target"]["dbname"], CLINIC_DB);
    assert_eq!(report["target"]["sslmode"], "disable");
    assert!(report["target"]["tls"].is_null());
    assert!(report["target"]["server_version"]
        .as_str()
        .is_some_and(|v| v.starts_with("15")));

    let ssl = finding(&report, "TLS-001");
    assert_eq!(ssl["status"], "fail");
    assert!(ssl["evidence"]
        .as_str()
        .unwrap_or("")
        .starts_with("ssl = off"));
    assert_eq!(
        ssl["fix"]["statements"][0],
        "ALTER SYSTEM SET \"ssl\" = 'on'"
    );
    assert_eq!(ssl["section"], "transit");
    assert_eq!(ssl["hipaa"][0], "164.312(e)(1)");

    assert_eq!(finding(&report, "AUTH-001")["status"], "fail");
    assert_eq!(finding(&report, "EAR-001")["status"], "fail");
    let supers = finding(&report, "PRIV-001");
    assert_eq!(supers["status"], "fail");
    assert!(supers["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .any(|o| o == support::INSECURE_APP_ROLE));

    // Every finding carries the contract's fields; the summary adds up.
    let findings = report["findings"].as_array().expect("findings");
    for f in findings {
        for key in [
            "id",
            "section",
            "title",
            "severity",
            "status",
            "hipaa",
            "cis",
            "evidence",
            "objects",
            "reason",
            "grant",
            "attestation",
            "accepted",
            "fix",
        ] {
            assert!(f.get(key).is_some(), "{} lacks {key}", f["id"]);
        }
    }
    let total: u64 = report["summary"]
        .as_object()
        .expect("summary")
        .values()
        .map(|v| v.as_u64().unwrap_or(0))
        .sum();
    assert_eq!(total as usize, findings.len());
    // The password never reaches the output.
    assert!(!serde_json::to_string(&report)
        .expect("json")
        .contains(cluster.superuser_password()));
}

#[test]
fn hardened_server_passes_over_verified_tls() {
    let cluster = hardened();
    // The hardened pg_hba admits the superuser only locally, so an auditor scans
    // over verified TLS as a monitoring role granted the catalog views it needs.
    let (user, password) = create_scanner(&cluster);
    // Grants on catalog views are per database: give them where the scan connects.
    cluster.psql(
        CLINIC_DB,
        &format!(
            "GRANT EXECUTE ON FUNCTION pg_hba_file_rules() TO {user}; \
             GRANT SELECT ON pg_hba_file_rules TO {user}; \
             GRANT EXECUTE ON FUNCTION pg_ident_file_mappings() TO {user}; \
             GRANT SELECT ON pg_ident_file_mappings TO {user}; \
             GRANT EXECUTE ON FUNCTION pg_show_all_file_settings() TO {user}; \
             GRANT SELECT ON pg_file_settings TO {user}; \
             GRANT SELECT (rolname, rolpassword) ON pg_authid TO {user}; \
             GRANT SELECT (subconninfo) ON pg_subscription TO {user};"
        ),
    );
    let conninfo = cluster.conninfo_tcp(&user, &password, CLINIC_DB, &cluster.verify_full());
    // The organisation's policy names the portal as the clinical application.
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "clinical_roles = [\"{}\"]\napproved_extensions = [\"plpgsql\", \"pgcrypto\", \"pgaudit\"]\n",
            support::HARDENED_APP_ROLE
        ),
    )
    .expect("write policy");
    let (code, report, stderr) =
        scan_json_with(&conninfo, &["--policy", policy.to_str().expect("utf8")]);
    assert_eq!(
        failing_ids(&report),
        Vec::<String>::new(),
        "stderr: {stderr}"
    );
    assert_eq!(code, Some(0), "stderr: {stderr}");
    assert_eq!(report["target"]["sslmode"], "verify-full");
    let tls = &report["target"]["tls"];
    assert!(tls["version"]
        .as_str()
        .is_some_and(|v| v.starts_with("TLSv1.")));
    assert_eq!(
        tls["server_certificate_sha256"]
            .as_str()
            .map(str::len)
            .unwrap_or(0),
        64
    );
    // Decided from pg_hba rules and password kinds, not left unknown.
    for id in [
        "TLS-001", "TLS-004", "AUTH-002", "AUTH-003", "AUTH-008", "PRIV-001",
    ] {
        assert_eq!(
            finding(&report, id)["status"],
            "pass",
            "{id}: {}",
            finding(&report, id)
        );
    }
    // The granted scanner reads everything it needs; the one gap names the
    // databases this scan of one database did not visit (issue 13 §4).
    let gaps = report["gaps"].as_array().expect("gaps");
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0]["part"], "unscanned_databases");
    assert_eq!(
        gaps[0]["message"], "not scanned: postgres; use --all-databases",
        "{gaps:?}"
    );
    let text = pgsafeguard(&[
        "scan",
        &conninfo,
        "--policy",
        policy.to_str().expect("utf8"),
    ]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("unscanned_databases: not scanned: postgres; use --all-databases"),
        "{text}"
    );
    // With --all-databases nothing is left out.
    let (_, all, stderr) = scan_json_with(
        &conninfo,
        &[
            "--policy",
            policy.to_str().expect("utf8"),
            "--all-databases",
        ],
    );
    assert!(
        !all["gaps"]
            .as_array()
            .expect("gaps")
            .iter()
            .any(|g| g["part"] == "unscanned_databases"),
        "{stderr}: {}",
        all["gaps"]
    );
}

#[test]
fn snapshot_round_trip_gives_the_same_findings() {
    let cluster = insecure();
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = dir.path().join("snap.json");
    let live = dir.path().join("live.json");
    let conninfo = cluster.conninfo_socket(
        cluster.superuser(),
        cluster.superuser_password(),
        CLINIC_DB,
        "",
    );
    let out = pgsafeguard(&[
        "scan",
        &conninfo,
        "--format",
        "json",
        "--output",
        live.to_str().expect("utf8"),
        "--save-snapshot",
        snap.to_str().expect("utf8"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "--output keeps stdout empty");
    let saved = std::fs::read_to_string(&snap).expect("snapshot saved");
    assert!(!saved.contains(cluster.superuser_password()));
    let offline = pgsafeguard(&[
        "scan",
        "--snapshot",
        snap.to_str().expect("utf8"),
        "--format",
        "json",
    ]);
    assert_eq!(offline.status.code(), Some(1));
    let live: Value =
        serde_json::from_str(&std::fs::read_to_string(&live).expect("live")).expect("json");
    let offline: Value = serde_json::from_slice(&offline.stdout).expect("json");
    assert_eq!(
        live, offline,
        "offline re-evaluation must match the live scan"
    );
}

#[test]
fn wrong_password_is_a_clean_error() {
    let cluster = insecure();
    let conninfo = cluster.conninfo_tcp(
        cluster.superuser(),
        "not-the-password-123",
        CLINIC_DB,
        "sslmode=disable",
    );
    let out = pgsafeguard(&["scan", &conninfo]);
    assert_connect_error(
        &out,
        "password authentication failed",
        "not-the-password-123",
    );
}

#[test]
fn require_against_a_server_without_ssl() {
    let cluster = insecure();
    let conninfo = cluster.conninfo_tcp(
        cluster.superuser(),
        cluster.superuser_password(),
        CLINIC_DB,
        "sslmode=require",
    );
    let out = pgsafeguard(&["scan", &conninfo]);
    assert_connect_error(&out, "does not accept tls", cluster.superuser_password());
}

#[test]
fn verify_full_with_the_wrong_ca_and_with_a_host_not_in_the_certificate() {
    let cluster = plain().ssl(true).start();
    let wrong_ca = format!(
        "sslmode=verify-full sslrootcert={}",
        cluster.wrong_ca_cert().display()
    );
    let conninfo = cluster.conninfo_tcp(
        cluster.superuser(),
        cluster.superuser_password(),
        "postgres",
        &wrong_ca,
    );
    let out = pgsafeguard(&["scan", &conninfo]);
    assert_connect_error(&out, "could not be verified", cluster.superuser_password());

    // The certificate names localhost and 127.0.0.1 only; ::1 is not in it.
    let right_ca = format!(
        "sslmode=verify-full sslrootcert={} hostaddr=127.0.0.1",
        cluster.ca_cert().display()
    );
    let conninfo = format!(
        "host=pgsafeguard-not-in-cert.test port={} user={} password={} dbname=postgres {right_ca}",
        cluster.port(),
        cluster.superuser(),
        cluster.superuser_password()
    );
    let out = pgsafeguard(&["scan", &conninfo]);
    assert_connect_error(&out, "not valid for host", cluster.superuser_password());
}

/// Regenerates `assets/demo/sample-session.json` (the offline demo) from a real
/// scan of the insecure scenario:
/// `cargo test --test scan_live -- --ignored regenerate_demo_sample`.
#[test]
#[ignore = "writes assets/demo/sample-session.json"]
fn regenerate_demo_sample() {
    let cluster = insecure();
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = dir.path().join("snap.json");
    let conninfo = cluster.conninfo_tcp(
        cluster.superuser(),
        cluster.superuser_password(),
        CLINIC_DB,
        "sslmode=prefer",
    );
    let out = pgsafeguard(&[
        "scan",
        &conninfo,
        "--sample-phi",
        "--save-snapshot",
        snap.to_str().expect("utf8"),
        "--output",
        dir.path().join("out.txt").to_str().expect("utf8"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut snapshot = pgsafeguard::cli::load_snapshot(&snap).expect("snapshot");
    // The throwaway cluster's host facts and port mean nothing elsewhere.
    snapshot.host = None;
    snapshot.target.host = "demo.invalid".into();
    snapshot.target.port = 5432;
    let mut session = pgsafeguard::session::SessionFile::new(snapshot);
    session.notes.insert(
        "sample".into(),
        "A real scan of pgSafeguard's insecure test scenario (fictitious data).".into(),
    );
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/sample-session.json");
    session.save(&path).expect("save sample");
}

//! `pgsafeguard prove` and `scan --prove` end to end: the refusal, the JSON
//! contract (`probes`, `proofs`), the exit code of a broken proof, the record
//! in the evidence store, and "proven by test" with its transcript in the PDF.
//!
//! The server: ssl on, but a plaintext `host` line comes before the `hostssl`
//! one, so the settings-based TLS-001 passes while a startup without TLS
//! reaches authentication.

use crate::support::{self, Cluster};
use serde_json::Value;
use std::process::{Command, Output};

fn pgsafeguard(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgsafeguard"));
    cmd.args(args);
    support::without_libpq_env(&mut cmd)
        .output()
        .expect("run pgsafeguard")
}

fn plaintext_first() -> Cluster {
    Cluster::builder()
        .ssl(true)
        .hba("host all all 127.0.0.1/32 scram-sha-256")
        .hba("hostssl all all 127.0.0.1/32 scram-sha-256")
        .start()
}

#[test]
fn prove_shows_a_broken_plaintext_startup_and_records_it() {
    let cluster = plaintext_first();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence.sqlite");
    let store = store.to_str().unwrap();
    let conninfo = cluster.conninfo_tcp(
        cluster.superuser(),
        cluster.superuser_password(),
        "postgres",
        &cluster.verify_full(),
    );

    // The test server is on loopback: a policy that forbids plaintext there makes the
    // broken startup a failure (unstated, it would be a warning, as for the settings).
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "allow_loopback_without_tls = false\n").unwrap();
    let out = pgsafeguard(&[
        "prove",
        &conninfo,
        "--probe",
        "transport",
        "--format",
        "json",
        "--store",
        store,
        "--policy",
        policy.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a broken proof fails: {stderr}");
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["probes"]["asked"], serde_json::json!(["transport"]));
    let findings = json["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .all(|f| f["id"].as_str().unwrap().starts_with("TLS-")),
        "prove shows only the proven checks"
    );
    let tls004 = findings
        .iter()
        .find(|f| f["id"] == "TLS-004")
        .expect("TLS-004");
    assert_eq!(tls004["status"], "fail", "{tls004:#}");
    let proofs = tls004["proofs"].as_array().expect("proofs");
    assert!(
        proofs.iter().any(|p| p["outcome"] == "broken"),
        "{proofs:#?}"
    );
    for p in proofs {
        for field in [
            "probe",
            "attempted",
            "from",
            "answer",
            "at",
            "outcome",
            "note",
        ] {
            assert!(p.get(field).is_some(), "{field} missing in {p}");
        }
    }
    assert!(!String::from_utf8_lossy(&out.stdout).contains(cluster.superuser_password()));

    let history = pgsafeguard(&["history", "--store", store, "--format", "json"]);
    assert_eq!(history.status.code(), Some(0));
    let history = String::from_utf8_lossy(&history.stdout).to_string();
    assert!(
        history.contains("\"fail\""),
        "the proven scan is recorded: {history}"
    );
    let raw = std::fs::read(dir.path().join("evidence.sqlite")).unwrap();
    assert!(
        !raw.windows(cluster.superuser_password().len())
            .any(|w| w == cluster.superuser_password().as_bytes()),
        "the store holds no password"
    );
}

#[test]
fn scan_prove_carries_proofs_into_the_signed_report() {
    let cluster = plaintext_first();
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("snap.json");
    let pdf = dir.path().join("report.pdf");
    let conninfo = cluster.conninfo_tcp(
        cluster.superuser(),
        cluster.superuser_password(),
        "postgres",
        &cluster.verify_full(),
    );
    let out = pgsafeguard(&[
        "scan",
        &conninfo,
        "--prove",
        "--probe",
        "transport",
        "--no-store",
        "--save-snapshot",
        snapshot.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("proven by test"), "{text}");
    assert!(text.contains("server answered:"), "{text}");
    assert!(text.contains("Probes (transport)"), "{text}");

    let out = pgsafeguard(&[
        "report",
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--output",
        pdf.to_str().unwrap(),
        "--no-store",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pdftext = Command::new("pdftotext")
        .args([pdf.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils)");
    let pdftext = String::from_utf8_lossy(&pdftext.stdout);
    assert!(pdftext.contains("proven by test"), "{pdftext}");
    assert!(pdftext.contains("Probe transcript"));
}

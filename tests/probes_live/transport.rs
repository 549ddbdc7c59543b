//! Live tests of the transport probe (issue 15); see db::probe::transport.
//!
//! Four clusters, each walked by one test so that it starts once:
//! - Debian's server with `ssl = on` but a plaintext `host` line before the
//!   `hostssl` one, the default cipher list and TLS 1.2 floor: plaintext
//!   startups break TLS-004 while TLS-001 passes; old versions are refused;
//!   the certificate holds against the right CA and breaks against the wrong one;
//! - Debian's server with only `hostssl` lines, `hostnossl … reject` and a
//!   cipher list of forward-secret AEAD suites, scanned over its Unix socket:
//!   every transport proof holds;
//! - the pinned PostgreSQL 17 build accepting TLS 1.0 at security level 0,
//!   then reloaded with a TLS 1.2 floor: old versions broken, then refused, on
//!   both the SSLRequest and the direct-TLS path; direct TLS with and without ALPN;
//! - a server on no TCP address: the probe does not run.

use crate::support::{create_scanner, major_server, Cluster, ClusterBuilder, CLINIC_DB, SUPERUSER};
use crate::{only, params, runtime};
use pgsafeguard::checks::evaluate_all;
use pgsafeguard::db::probe::{self, ProbeOptions};
use pgsafeguard::model::finding::{Finding, Status};
use pgsafeguard::model::proof::{CheckProof, Effect, Outcome, Probe};
use pgsafeguard::model::snapshot::Snapshot;
use pgsafeguard::policy::{Attestations, Policy};
use pgsafeguard::scan::{no_progress, scan_live, ScanOptions};
use std::time::Instant;

fn transport_only() -> ProbeOptions {
    only(Probe::Transport)
}

/// A scan with the transport probe, through the library as the CLI runs it.
fn prove(conninfo: &str) -> Snapshot {
    let opts = ScanOptions {
        prove: Some(transport_only()),
        ..ScanOptions::default()
    };
    runtime()
        .block_on(scan_live(&params(conninfo), &opts, no_progress()))
        .expect("scan with probes")
}

/// The transport probe alone on an existing snapshot, with other parameters
/// (another sslrootcert); the snapshot gets the new run.
fn reprove(conninfo: &str, snapshot: &Snapshot) -> Snapshot {
    let run = runtime().block_on(probe::run(
        &params(conninfo),
        snapshot,
        &transport_only(),
        || "2026-01-01T00:00:00Z".to_string(),
    ));
    Snapshot {
        probes: Some(run),
        ..snapshot.clone()
    }
}

fn proofs<'a>(snapshot: &'a Snapshot, check: &'a str) -> Vec<&'a CheckProof> {
    let run = snapshot.probes.as_ref().expect("the probe ran");
    assert!(run.skipped.is_empty(), "skipped: {:?}", run.skipped);
    run.for_check(check).collect()
}

fn finding(snapshot: &Snapshot, check: &str, policy: &Policy) -> Finding {
    evaluate_all(snapshot, policy, &Attestations::default())
        .into_iter()
        .find(|f| f.id == check)
        .unwrap_or_else(|| panic!("no finding {check}"))
}

/// Every proof of `check` has this outcome (and there is at least one).
fn all(snapshot: &Snapshot, check: &str, outcome: Outcome) -> Vec<CheckProof> {
    let found: Vec<CheckProof> = proofs(snapshot, check).into_iter().cloned().collect();
    assert!(!found.is_empty(), "no proof for {check}");
    for p in &found {
        assert_eq!(p.proof.outcome, outcome, "{check}: {p:#?}");
        assert!(!p.proof.at.is_empty() && !p.proof.from.is_empty(), "{p:#?}");
    }
    found
}

fn forbid_loopback_plaintext() -> Policy {
    Policy {
        allow_loopback_without_tls: Some(false),
        ..Policy::default()
    }
}

/// A clinic database with a PHI table an application login may read, so the
/// plaintext startups try an administrator, an application login and the scan's role.
fn add_clinic(cluster: &Cluster) {
    cluster.psql_unlogged(
        "postgres",
        &[
            "CREATE ROLE clinic_portal LOGIN",
            &format!("CREATE DATABASE {CLINIC_DB}"),
        ],
    );
    cluster.psql_unlogged(
        CLINIC_DB,
        &[
            "CREATE TABLE public.patients (id serial PRIMARY KEY, full_name text, ssn text)",
            "GRANT SELECT ON public.patients TO clinic_portal",
        ],
    );
}

#[test]
fn ssl_on_with_a_plaintext_line_before_hostssl() {
    let cluster = Cluster::builder()
        .ssl(true)
        .hba("host    all  all  127.0.0.1/32  scram-sha-256")
        .hba("hostssl all  all  127.0.0.1/32  scram-sha-256")
        .start();
    add_clinic(&cluster);
    let (scanner, password) = create_scanner(&cluster);
    let conninfo = cluster.conninfo_tcp(&scanner, &password, CLINIC_DB, &cluster.verify_full());
    let snapshot = prove(&conninfo);

    // The settings see ssl = on; the SSLRequest answer agrees.
    assert_eq!(
        finding(&snapshot, "TLS-001", &Policy::default()).status,
        Status::Pass
    );
    let tls001 = all(&snapshot, "TLS-001", Outcome::Holds);
    assert_eq!(tls001[0].proof.answer, "'S'");

    // Yet a startup without TLS reaches authentication for every login class.
    let plaintext = all(&snapshot, "TLS-004", Outcome::Broken);
    assert_eq!(
        plaintext.len(),
        3,
        "administrator, application login, scanner: {plaintext:#?}"
    );
    for p in &plaintext {
        assert_eq!(p.effect, Effect::Part);
        assert_eq!(p.source_ip.as_deref(), Some("127.0.0.1"));
        assert!(p.proof.answer.starts_with("AuthenticationSASL"), "{p:#?}");
        assert!(p.proof.attempted.contains("\"clinic\""), "{p:#?}");
    }
    // The scanner cannot read pg_hba_file_rules: the settings alone cannot tell; the proof does.
    let strict = finding(&snapshot, "TLS-004", &forbid_loopback_plaintext());
    assert_eq!(strict.status, Status::Fail, "{strict:#?}");
    assert!(
        strict.evidence.starts_with("Proven by test"),
        "{}",
        strict.evidence
    );
    assert_eq!(strict.proofs.len(), 3);
    let lenient = finding(&snapshot, "TLS-004", &Policy::default());
    assert_eq!(
        lenient.status,
        Status::Warn,
        "loopback without a policy warns"
    );

    // TLS 1.2 floor: both capped handshakes end in the server's alert.
    let versions = all(&snapshot, "TLS-002", Outcome::Holds);
    assert_eq!(versions.len(), 2, "no direct TLS before 17: {versions:#?}");
    for p in &versions {
        assert_eq!(p.effect, Effect::Decides);
        assert!(p.proof.answer.contains("alert"), "{p:#?}");
    }

    // The default cipher list takes a CBC suite: warning evidence, never a failure.
    let weak = all(&snapshot, "TLS-003", Outcome::Broken);
    assert_eq!(weak[0].effect, Effect::Warns);
    assert!(
        weak[0].proof.answer.contains("handshake completed"),
        "{weak:#?}"
    );

    // The right CA: the chain and the name hold.
    let cert = all(&snapshot, "TLS-006", Outcome::Holds);
    assert!(cert[0].proof.answer.contains("localhost"), "{cert:#?}");

    // The wrong CA: the server's certificate does not verify against it.
    let wrong = cluster.conninfo_tcp(
        &scanner,
        &password,
        CLINIC_DB,
        &format!(
            "sslmode=require sslrootcert={}",
            cluster.wrong_ca_cert().display()
        ),
    );
    let against_wrong = reprove(&wrong, &snapshot);
    let broken = all(&against_wrong, "TLS-006", Outcome::Broken);
    assert!(
        broken[0].proof.answer.contains("verification failed"),
        "{broken:#?}"
    );
    let verdict = finding(&against_wrong, "TLS-006", &Policy::default());
    assert_eq!(verdict.status, Status::Fail, "{verdict:#?}");

    // No probe sent a password: the log shows no authentication failure of a probe.
    let logs = cluster.read_server_logs();
    assert!(!logs.contains("password authentication failed"), "{logs}");
}

#[test]
fn hostssl_only_and_forward_secret_ciphers_hold_over_a_socket_scan() {
    let cluster = Cluster::builder()
        .ssl(true)
        .conf("ssl_ciphers = 'ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL'")
        .hba("hostssl   all  all  127.0.0.1/32  scram-sha-256")
        .hba("hostnossl all  all  all           reject")
        .start();
    add_clinic(&cluster);
    // Over the Unix socket the probe still knocks on the local TCP address.
    let conninfo = cluster.conninfo_socket(
        SUPERUSER,
        cluster.superuser_password(),
        "postgres",
        &format!("sslrootcert={}", cluster.ca_cert().display()),
    );
    let snapshot = prove(&conninfo);

    let plaintext = all(&snapshot, "TLS-004", Outcome::Holds);
    assert_eq!(
        plaintext.len(),
        2,
        "administrator and application login: {plaintext:#?}"
    );
    for p in &plaintext {
        assert!(p.proof.answer.starts_with("ErrorResponse 28000"), "{p:#?}");
        assert!(p.proof.answer.contains("no encryption"), "{p:#?}");
    }
    assert_eq!(
        finding(&snapshot, "TLS-004", &forbid_loopback_plaintext()).status,
        Status::Pass
    );
    all(&snapshot, "TLS-001", Outcome::Holds);
    all(&snapshot, "TLS-002", Outcome::Holds);
    let weak = all(&snapshot, "TLS-003", Outcome::Holds);
    assert!(weak[0].proof.answer.contains("alert"), "{weak:#?}");
    assert_eq!(
        finding(&snapshot, "TLS-003", &Policy::default()).status,
        Status::Pass
    );
    // Not a connection address: the certificate is checked against the IP it names.
    let cert = all(&snapshot, "TLS-006", Outcome::Holds);
    assert!(
        cert[0].proof.attempted.contains("\"127.0.0.1\""),
        "{cert:#?}"
    );
}

#[test]
fn postgres_17_accepting_tls_1_then_raised_to_1_2() {
    let server = major_server(17);
    let cluster = ClusterBuilder::new()
        .bindir(&server.bindir)
        .ssl(true)
        .conf("ssl_min_protocol_version = 'TLSv1'")
        .conf("ssl_ciphers = 'DEFAULT:@SECLEVEL=0'")
        .hba("hostssl all  all  127.0.0.1/32  scram-sha-256")
        .start();
    let conninfo = cluster.conninfo_tcp(
        SUPERUSER,
        cluster.superuser_password(),
        "postgres",
        &cluster.verify_full(),
    );
    let started = Instant::now();
    let snapshot = prove(&conninfo);
    eprintln!(
        "PostgreSQL 17, one address, scan + transport probe: {:?}",
        started.elapsed()
    );

    // TLS 1.0 and 1.1 after SSLRequest, and 1.1 on the direct path: all accepted.
    let old = all(&snapshot, "TLS-002", Outcome::Broken);
    assert_eq!(old.len(), 3, "{old:#?}");
    assert!(old[0].proof.answer.contains("TLSv1,"), "{:#?}", old[0]);
    assert!(old
        .iter()
        .any(|p| p.proof.attempted.starts_with("direct TLS")));
    assert_eq!(
        finding(&snapshot, "TLS-002", &Policy::default()).status,
        Status::Fail
    );

    // TLS-001: 'S', direct TLS with ALPN "postgresql", and without ALPN the
    // server completes the handshake and closes.
    let on = all(&snapshot, "TLS-001", Outcome::Holds);
    assert_eq!(on.len(), 3, "{on:#?}");
    let with_alpn = on
        .iter()
        .find(|p| p.proof.attempted.contains("with ALPN"))
        .expect("direct TLS with ALPN");
    assert!(
        with_alpn.proof.answer.contains("ALPN \"postgresql\""),
        "{with_alpn:#?}"
    );
    let bare = on
        .iter()
        .find(|p| p.proof.attempted.contains("without ALPN"))
        .expect("direct TLS without ALPN");
    assert!(
        bare.proof.answer.contains("handshake completed"),
        "{bare:#?}"
    );
    assert!(bare.proof.answer.contains("closed"), "{bare:#?}");

    // hostssl only: the plaintext startup is refused.
    all(&snapshot, "TLS-004", Outcome::Holds);

    // Raise the floor and reload: both paths now refuse the old versions.
    cluster.psql(
        "postgres",
        "ALTER SYSTEM SET ssl_min_protocol_version = 'TLSv1.2'",
    );
    cluster.psql("postgres", "SELECT pg_reload_conf()");
    wait_for_floor(&cluster, "TLSv1.2");
    let raised = prove(&conninfo);
    let refused = all(&raised, "TLS-002", Outcome::Holds);
    assert_eq!(refused.len(), 3, "{refused:#?}");
}

/// A reload is asynchronous: wait until the server shows the new value.
fn wait_for_floor(cluster: &Cluster, version: &str) {
    for _ in 0..50 {
        if cluster.setting("ssl_min_protocol_version") == version {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("ssl_min_protocol_version did not become {version}");
}

#[test]
fn a_server_on_no_tcp_address_has_no_transport_to_probe() {
    let cluster = Cluster::builder().listen_addresses("").start();
    let conninfo = cluster.conninfo_socket(SUPERUSER, cluster.superuser_password(), "postgres", "");
    let snapshot = prove(&conninfo);
    let run = snapshot.probes.expect("the probe ran");
    assert!(run.proofs.is_empty(), "{:#?}", run.proofs);
    assert_eq!(run.skipped.len(), 1);
    assert_eq!(run.skipped[0].probe, Probe::Transport);
    assert!(
        run.skipped[0].reason.contains("no TCP address"),
        "{:?}",
        run.skipped
    );
}

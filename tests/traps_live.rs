//! Trap scenarios for each false-positive class of the check catalogue, on live clusters
//! (see tests/support/traps.rs): reject lines and special pg_hba words, +group and @file,
//! postgresql.auto.conf overrides and pending restarts, md5 verifiers under scram, RLS that
//! binds nobody, pgaudit logging nothing, archiving to nowhere, socket modes as bit masks,
//! cipher expressions, and secrets that must never reach any output. Each trap asserts the
//! status and the evidence of the check it targets.

// Test code: a failed set-up step should panic with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use pgsafeguard::checks::evaluate_all;
use pgsafeguard::db::conninfo::ConnParams;
use pgsafeguard::model::finding::{Finding, Status};
use pgsafeguard::model::snapshot::Snapshot;
use pgsafeguard::output::ScanReport;
use pgsafeguard::policy::{Attestations, Policy};
use pgsafeguard::scan::{no_progress, scan_live, ScanOptions};
use std::collections::BTreeMap;
use std::process::Command;
use support::traps::{
    secret_archive_command, trap_socket_permissions, APP_OWNED_TABLE, ARCHIVE_SECRET,
    CLINICIANS_GROUP, DISCARDING_ARCHIVE_COMMAND, FILE_SUPERUSER, GROUP_SUPERUSER,
    HBA_INCLUDED_FILE, INCLUDED_ANYWHERE_RULE, LITERAL_KEY, LITERAL_KEY_FUNCTION, MD5_ROLE,
    REPLICATION_SECRET, TRAP_APP_ROLE, UNFORCED_TABLE, VACUOUS_POLICY, VACUOUS_TABLE, WEAK_CIPHERS,
};
use support::{
    archive_traps, conf_traps, flagged_hba_rules, hba_include_traps, hba_traps, major_server,
    Cluster, CLINIC_DB,
};
use Status::{Fail, Pass, Unknown};

/// One scan of a trap cluster and everything a person could get to see of it.
struct Scanned {
    snapshot: Snapshot,
    findings: BTreeMap<String, Finding>,
}

impl Scanned {
    /// Asserts the status of `id` and that its evidence holds each of `evidence`.
    fn expect(&self, id: &str, status: Status, evidence: &[&str]) -> &Finding {
        let finding = self
            .findings
            .get(id)
            .unwrap_or_else(|| panic!("{id} is missing"));
        assert_eq!(
            finding.status, status,
            "{id}: {} (objects {:?})",
            finding.evidence, finding.objects
        );
        for part in evidence {
            assert!(
                finding.evidence.contains(part),
                "{id}: evidence lacks {part:?}: {}",
                finding.evidence
            );
        }
        finding
    }

    /// The JSON and text reports and the snapshot as JSON, by name.
    fn every_output(&self) -> Vec<(String, String)> {
        let findings: Vec<Finding> = self.findings.values().cloned().collect();
        let report = ScanReport::new(&self.snapshot, findings);
        let snapshot = serde_json::to_string_pretty(&self.snapshot).expect("snapshot json");
        vec![
            ("JSON report".into(), report.to_json()),
            ("text report".into(), report.to_text()),
            ("snapshot JSON".into(), snapshot),
        ]
    }
}

/// Scans `clinic` as the superuser over the cluster's Unix socket.
fn scan(cluster: &Cluster, sample_phi: bool) -> Scanned {
    let options = ScanOptions {
        sample_phi,
        ..ScanOptions::default()
    };
    scan_with(cluster, CLINIC_DB, &options)
}

/// Scans `db` as the superuser over the cluster's Unix socket.
fn scan_with(cluster: &Cluster, db: &str, options: &ScanOptions) -> Scanned {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let conninfo =
        cluster.conninfo_socket(cluster.superuser(), cluster.superuser_password(), db, "");
    let params = ConnParams::from_conninfo_with_env(&conninfo, &|_| None).expect("conninfo");
    let snapshot = runtime
        .block_on(scan_live(&params, options, no_progress()))
        .expect("scan");
    support::golden::capture(&pgsafeguard::cli::snapshot_json(&snapshot));
    let findings = evaluate_all(&snapshot, &Policy::default(), &Attestations::default())
        .into_iter()
        .map(|f| (f.id.clone(), f))
        .collect();
    Scanned { snapshot, findings }
}

fn superuser_socket(cluster: &Cluster) -> String {
    cluster.conninfo_socket(
        cluster.superuser(),
        cluster.superuser_password(),
        CLINIC_DB,
        "",
    )
}

/// `schema.table` as the checks name relations: `"schema"."table"`.
fn quoted(qualified: &str) -> String {
    qualified
        .split('.')
        .map(|part| format!("\"{part}\""))
        .collect::<Vec<_>>()
        .join(".")
}

// ---------------------------------------------------------------------------
// pg_hba

#[test]
fn pg_hba_traps() {
    let mut cluster = hba_traps();
    let scanned = scan(&cluster, false);

    // `hostnossl … reject` first and `host … 0.0.0.0/0 reject`, `::/0 reject` last: the
    // reject lines are neither plaintext, nor "anywhere", nor "all".
    scanned.expect(
        "TLS-004",
        Pass,
        &["none admits a TCP connection without TLS"],
    );
    scanned.expect("AUTH-006", Pass, &["none admit every client address"]);
    scanned.expect("AUTH-007", Pass, &["none on TCP use all"]);
    // samehost, samenet, a host name and a domain suffix load like any address.
    scanned.expect("AUTH-009", Pass, &["none has an error"]);
    for id in ["AUTH-003", "AUTH-004", "AUTH-005"] {
        scanned.expect(id, Pass, &[]);
    }
    let rules = scanned.snapshot.hba_rules.as_ref().expect("hba rules");
    for word in ["samehost", "samenet", "app1.example.com", ".example.com"] {
        assert!(
            rules.iter().any(|r| r.address.as_deref() == Some(word)),
            "{word} not seen in {rules:?}"
        );
    }

    // +group and @file reach superusers: found through the membership and the file.
    let reach = scanned.expect(
        "AUTH-008",
        Fail,
        &["2 superuser(s) can log in from the network"],
    );
    assert_eq!(reach.objects.len(), 2, "{:?}", reach.objects);
    let via_group = format!("{GROUP_SUPERUSER} via line ");
    let group_rule = format!("hostssl {CLINIC_DB} +{CLINICIANS_GROUP} 10.0.0.0/8 scram-sha-256");
    assert!(
        reach
            .objects
            .iter()
            .any(|o| o.starts_with(&via_group) && o.ends_with(&group_rule)),
        "{:?}",
        reach.objects
    );
    let via_file = format!("{FILE_SUPERUSER} via line ");
    let file_rule =
        format!("hostssl {CLINIC_DB} {TRAP_APP_ROLE},{FILE_SUPERUSER} 10.1.0.0/16 scram-sha-256");
    assert!(
        reach
            .objects
            .iter()
            .any(|o| o.starts_with(&via_file) && o.ends_with(&file_rule)),
        "the @file is expanded by the server: {:?}",
        reach.objects
    );
    assert!(!reach.evidence.contains("reject") && !reach.evidence.contains("postgres via"));

    // The same "anywhere" written as address + netmask must be caught; a narrow
    // netmask-form line must not.
    let rules = flagged_hba_rules();
    let rules: Vec<&str> = rules.iter().map(String::as_str).collect();
    cluster.set_hba(&rules);
    let scanned = scan(&cluster, false);
    let anywhere = "host all all 0.0.0.0/0 scram-sha-256";
    let finding = scanned.expect("AUTH-006", Fail, &[anywhere]);
    assert_eq!(finding.objects.len(), 1, "{:?}", finding.objects);
    assert!(
        !finding.evidence.contains("10.0.0.0"),
        "{}",
        finding.evidence
    );
    let finding = scanned.expect("TLS-004", Fail, &[anywhere]);
    assert_eq!(finding.objects.len(), 1, "{:?}", finding.objects);
}

/// pg_hba include directives (PostgreSQL 16+): the directives are no rules, a missing
/// `include_if_exists` file is no error, and the included rules are judged and named by
/// their file.
#[test]
fn pg_hba_include_traps_on_postgresql_18() {
    let server = major_server(18);
    let cluster = hba_include_traps(&server.bindir);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let conninfo = cluster.conninfo_socket(
        cluster.superuser(),
        cluster.superuser_password(),
        "postgres",
        "",
    );
    let params = ConnParams::from_conninfo_with_env(&conninfo, &|_| None).expect("conninfo");
    let snapshot = runtime
        .block_on(scan_live(&params, &ScanOptions::default(), no_progress()))
        .expect("scan");
    support::golden::capture(&pgsafeguard::cli::snapshot_json(&snapshot));
    let findings: BTreeMap<String, Finding> =
        evaluate_all(&snapshot, &Policy::default(), &Attestations::default())
            .into_iter()
            .map(|f| (f.id.clone(), f))
            .collect();
    let scanned = Scanned { snapshot, findings };
    scanned.expect("AUTH-009", Pass, &["none has an error"]);
    let from_file = format!("{HBA_INCLUDED_FILE} line 2: {INCLUDED_ANYWHERE_RULE}");
    let anywhere = scanned.expect("AUTH-006", Fail, &[&from_file]);
    assert_eq!(anywhere.objects, std::slice::from_ref(&from_file));
    let plaintext = scanned.expect("TLS-004", Fail, &[&from_file]);
    assert_eq!(plaintext.objects, [from_file]);
}

// ---------------------------------------------------------------------------
// settings and catalog objects

#[test]
fn setting_and_catalog_traps() {
    let mut cluster = conf_traps();
    let scanned = scan(&cluster, true);

    // postgresql.auto.conf wins over postgresql.conf, and the evidence says so.
    scanned.expect(
        "AUTH-001",
        Pass,
        &["password_encryption = scram-sha-256 (source: postgresql.auto.conf"],
    );
    scanned.expect(
        "AUD-007",
        Fail,
        &["log_connections = off (source: postgresql.auto.conf"],
    );
    // A value waiting for a restart is not live yet: judged as off, and said.
    scanned.expect(
        "AUD-005",
        Fail,
        &["logging_collector = off", "pending restart"],
    );
    let pending = scanned.expect("GEN-006", Fail, &["logging_collector (pending restart)"]);
    assert!(pending
        .objects
        .contains(&"logging_collector (pending restart)".to_string()));

    // scram-sha-256 does not rewrite an md5 verifier stored before (or as a hash).
    let md5 = scanned.expect("AUTH-002", Fail, &[&format!("{MD5_ROLE} (md5)")]);
    assert_eq!(md5.objects, [MD5_ROLE]);

    // RLS that binds nobody: not forced, vacuous, owned by the application login.
    let unforced = scanned.expect("PRIV-014", Fail, &["not forced"]);
    assert_eq!(unforced.objects, [quoted(UNFORCED_TABLE)]);
    let vacuous = scanned.expect("PRIV-015", Fail, &[VACUOUS_POLICY]);
    assert_eq!(
        vacuous.objects,
        [format!(
            "policy \"{VACUOUS_POLICY}\" on {}",
            quoted(VACUOUS_TABLE)
        )]
    );
    let owned = scanned.expect("PRIV-016", Fail, &[&format!("owner {TRAP_APP_ROLE}")]);
    assert_eq!(owned.objects, [quoted(APP_OWNED_TABLE)]);

    // pgaudit loaded and installed, but told to log nothing.
    scanned.expect("AUD-001", Pass, &["pgaudit"]);
    scanned.expect("AUD-002", Fail, &["pgaudit.log = none", "logs nothing"]);

    // A mode is a bit mask: 0707 is numerically below 0770 and still opens the socket.
    scanned.expect(
        "GEN-004",
        Fail,
        &[&format!(
            "unix_socket_permissions = {}",
            trap_socket_permissions()
        )],
    );

    // Weak family names that are all excluded with `!` admit nothing.
    scanned.expect("TLS-003", Pass, &["admits no weak family"]);
    // Etc/UTC is UTC.
    scanned.expect("AUD-011", Pass, &["log_timezone = Etc/UTC"]);
    // The pre-15 default, PUBLIC CREATE on public, restored by hand.
    let public = scanned.expect("PRIV-010", Fail, &[]);
    assert_eq!(public.objects, [quoted("public")]);

    // A literal pgcrypto key is found, named, and never shown.
    let keyed = scanned.expect("EAR-006", Fail, &[LITERAL_KEY_FUNCTION]);
    assert_eq!(
        keyed.objects,
        [format!("function public.{LITERAL_KEY_FUNCTION}(bytea)")]
    );
    for (output, text) in scanned.every_output() {
        assert!(
            !text.contains(LITERAL_KEY),
            "the literal key reached the {output}"
        );
    }

    // Sampling that read no row proves nothing.
    scanned.expect("EAR-005", Unknown, &["read 0 rows"]);

    // A cipher expression that lets MEDIUM and 3DES back in; and a superuser's view over
    // a FORCEd PHI table with a real policy, granted to the application: the view reads
    // every row as its superuser owner, so the table's RLS binds nobody reading through it.
    cluster.append_conf(&[&format!("ssl_ciphers = '{WEAK_CIPHERS}'")]);
    cluster.reload();
    const VIEW: &str = "public.diagnoses_for_app";
    cluster.psql_unlogged(
        CLINIC_DB,
        &[
            &format!("CREATE VIEW {VIEW} AS SELECT id, diagnosis FROM {APP_OWNED_TABLE}"),
            &format!("GRANT SELECT ON {VIEW} TO {TRAP_APP_ROLE}"),
        ],
    );
    let scanned = scan(&cluster, false);
    let weak = scanned.expect("TLS-003", Fail, &["3DES"]);
    assert!(
        weak.objects.contains(&"3DES".to_string()),
        "{:?}",
        weak.objects
    );
    let bypass = format!(
        "{} (view reads {} as \"{}\", bypassing RLS)",
        quoted(VIEW),
        quoted(APP_OWNED_TABLE),
        cluster.superuser()
    );
    let through_view = scanned.expect("PRIV-014", Fail, &[&bypass]);
    assert_eq!(through_view.objects, [quoted(VIEW), quoted(UNFORCED_TABLE)]);
    // The proposed fix, applied as proposed, makes the caller's rights (and RLS) bind.
    let fix = through_view.fix.as_ref().expect("PRIV-014 fix plan");
    let set_invoker = format!("ALTER VIEW {} SET (security_invoker = on)", quoted(VIEW));
    assert!(
        fix.statements.iter().any(|st| *st == set_invoker),
        "{:?}",
        fix.statements
    );
    cluster.psql_unlogged(CLINIC_DB, &[&set_invoker]);
    let scanned = scan(&cluster, false);
    let unforced = scanned.expect("PRIV-014", Fail, &["not forced"]);
    assert_eq!(unforced.objects, [quoted(UNFORCED_TABLE)]);
}

// ---------------------------------------------------------------------------
// archiving and secrets

/// `pgsafeguard scan` with text and JSON output and `--save-snapshot`: what it wrote, by
/// name.
fn binary_outputs(cluster: &Cluster) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = dir.path().join("snapshot.json");
    let mut written = Vec::new();
    for format in ["json", "text"] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pgsafeguard"));
        let out = support::without_libpq_env(&mut command)
            .args(["scan", &superuser_socket(cluster), "--format", format])
            .arg("--save-snapshot")
            .arg(&snapshot)
            .output()
            .expect("run pgsafeguard");
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let saved = std::fs::read_to_string(&snapshot).expect("snapshot saved");
        written.push((
            format!("scan --format {format} output"),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ));
        written.push((
            format!("scan --format {format} stderr"),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
        written.push(("--save-snapshot file".into(), saved));
    }
    written
}

/// The secrets of [`archive_traps`] found in `outputs`, as "the … reached the …" lines.
fn leaks(outputs: Vec<(String, String)>) -> Vec<String> {
    let mut found = Vec::new();
    for (output, text) in outputs {
        for (name, value) in [
            ("archive_command credential", ARCHIVE_SECRET),
            ("primary_conninfo password", REPLICATION_SECRET),
        ] {
            let line = format!("the {name} reached the {output}");
            if text.contains(value) && !found.contains(&line) {
                found.push(line);
            }
        }
    }
    found
}

/// Switches [`archive_traps`] to a discarding archive_command and waits until the
/// archiver has "archived" a segment with it.
fn archive_to_nowhere(cluster: &mut Cluster) {
    cluster.append_conf(&[&format!("archive_command = '{DISCARDING_ARCHIVE_COMMAND}'")]);
    cluster.reload();
    cluster.force_wal_archive();
}

/// Switches [`archive_traps`] to an archive_command holding [`ARCHIVE_SECRET`].
fn archive_with_a_credential(cluster: &mut Cluster) {
    cluster.append_conf(&[&format!("archive_command = '{}'", secret_archive_command())]);
    cluster.reload();
}

#[test]
fn archiving_traps() {
    let mut cluster = archive_traps();
    let scanned = scan(&cluster, false);
    // archive_mode = on with an empty command archives nothing.
    scanned.expect("BAK-001", Pass, &["archive_mode = on"]);
    scanned.expect(
        "BAK-002",
        Fail,
        &["archive_command = ''", "nothing is archived"],
    );
    scanned.expect("BAK-003", Fail, &["no WAL segment archived"]);
    // The replication password is redacted, the rest of primary_conninfo judged.
    scanned.expect(
        "TLS-007",
        Pass,
        &["password=[redacted]", "sslmode=verify-full"],
    );

    // A command that discards WAL: pg_stat_archiver counts a success anyway.
    archive_to_nowhere(&mut cluster);
    let discarding = scan(&cluster, false);
    discarding.expect(
        "BAK-002",
        Fail,
        &[
            DISCARDING_ARCHIVE_COMMAND,
            "reports success without keeping the WAL file",
        ],
    );
    let archiver = discarding.snapshot.archiver.as_ref().expect("archiver");
    assert!(archiver.archived_count >= 1, "{archiver:?}");

    // A credential in archive_command: redacted in the evidence and in the reports.
    archive_with_a_credential(&mut cluster);
    let secret = scan(&cluster, false);
    secret.expect(
        "BAK-002",
        Pass,
        &["AWS_SECRET_ACCESS_KEY=[redacted] aws s3 cp %p"],
    );
    let reports: Vec<(String, String)> = secret
        .every_output()
        .into_iter()
        .chain(binary_outputs(&cluster))
        .filter(|(name, _)| !name.contains("snapshot"))
        .collect();
    let found = leaks(reports);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// pg_stat_archiver's success is no success when the command keeps nothing (the
/// catalogue's false-positive list), so BAK-003 must not pass on it.
#[test]
fn a_discarding_archive_command_is_not_a_healthy_archiver() {
    let mut cluster = archive_traps();
    archive_to_nowhere(&mut cluster);
    let scanned = scan(&cluster, false);
    let healthy = scanned.findings.get("BAK-003").expect("BAK-003");
    assert_ne!(
        healthy.status, Pass,
        "BAK-003 passes while archive_command = {DISCARDING_ARCHIVE_COMMAND} keeps nothing: {}",
        healthy.evidence
    );
}

/// A saved snapshot is a file that travels (reports embed it): the credential in
/// archive_command must be redacted there as in the evidence.
#[test]
fn saved_snapshots_hold_no_archive_or_replication_secret() {
    let mut cluster = archive_traps();
    archive_with_a_credential(&mut cluster);
    let scanned = scan(&cluster, false);
    let snapshots: Vec<(String, String)> = scanned
        .every_output()
        .into_iter()
        .chain(binary_outputs(&cluster))
        .filter(|(name, _)| name.contains("snapshot"))
        .collect();
    assert_eq!(snapshots.len(), 3);
    let found = leaks(snapshots);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

// ---------------------------------------------------------------------------
// data and credentials that leave the server

/// Stored outbound credentials are reported by server and role and never shown; PHI
/// published for logical replication, a REPLICATION login, a pg_monitor login and
/// large objects under `lo_compat_privileges = on` each fail their check. The same holds
/// when the scan connects to another database with `--all-databases`.
#[test]
fn outbound_credentials_replication_query_text_and_large_objects() {
    use support::outbound::*;
    let cluster = outbound_traps(true);
    let owner = cluster.superuser().to_string();
    let direct = scan(&cluster, false);
    let all_databases = ScanOptions {
        all_databases: true,
        ..ScanOptions::default()
    };
    let from_postgres = scan_with(&cluster, "postgres", &all_databases);
    for (label, scanned) in [("direct", &direct), ("--all-databases", &from_postgres)] {
        let stored = scanned.expect("AUTH-017", Fail, &["values never read"]);
        assert_eq!(
            stored.objects,
            vec![
                format!(
                    "foreign server {LEGACY_SERVER} (legacy_wrapper, owner {owner}, database \
                     {CLINIC_DB}): option password"
                ),
                format!(
                    "subscription {SUBSCRIPTION} (owner {owner}, database {CLINIC_DB}): \
                     password in the connection string"
                ),
                format!(
                    "user mapping for {MAPPED_ROLE} on server {FDW_SERVER} (database \
                     {CLINIC_DB}): option password"
                ),
            ],
            "{label}"
        );
        let replication = scanned.expect(
            "PRIV-020",
            Fail,
            &[
                &format!("{CLINIC_DB}: {PUBLICATION} → {PHI_TABLE}"),
                &format!("{LOGICAL_SLOT} (pgoutput, database {CLINIC_DB}, inactive)"),
            ],
        );
        assert_eq!(replication.objects, vec![REPLICATION_LOGIN.to_string()]);
        let query_text = scanned.expect("PRIV-019", Fail, &["via pg_monitor"]);
        assert_eq!(query_text.objects, vec![MONITOR_LOGIN.to_string()]);
        let integrity = scanned.expect(
            "GEN-003",
            Fail,
            &[&format!(
                "{CLINIC_DB}: {LARGE_OBJECTS} ({owner} {LARGE_OBJECTS})"
            )],
        );
        assert_eq!(integrity.objects, vec!["lo_compat_privileges".to_string()]);
    }
    let outputs: Vec<(String, String)> = direct
        .every_output()
        .into_iter()
        .chain(from_postgres.every_output())
        .chain(binary_outputs(&cluster))
        .collect();
    let mut found = Vec::new();
    for (output, text) in &outputs {
        for (name, secret) in outbound_secrets() {
            if text.contains(secret) {
                found.push(format!("the {name} reached the {output}"));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

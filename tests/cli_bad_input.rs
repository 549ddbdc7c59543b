//! Bad input that needs no server: each gives one line on stderr, exit 2,
//! no panic and no output file.

// Test code: a failed set-up step should panic with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "support/pg_env.rs"]
mod pg_env;

#[path = "support/cli.rs"]
mod cli;

use cli::{assert_clean_error, pgsafeguard};
use std::path::Path;
use std::process::Command;

fn no_files_in(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn malformed_key_value_conninfo() {
    let out = pgsafeguard(&["scan", "host=localhost port"], &[]);
    assert_clean_error(&out, "port");
}

#[test]
fn malformed_uri() {
    let out = pgsafeguard(&["scan", "postgresql://user@host:notaport/db"], &[]);
    assert_clean_error(&out, "port");
}

#[test]
fn unknown_conninfo_keyword() {
    let out = pgsafeguard(&["scan", "host=localhost colour=blue"], &[]);
    assert_clean_error(&out, "colour");
}

#[test]
fn bad_sslmode() {
    let out = pgsafeguard(&["scan", "host=localhost sslmode=maybe"], &[]);
    assert_clean_error(&out, "sslmode");
}

#[test]
fn unknown_host() {
    let out = pgsafeguard(
        &[
            "scan",
            "host=no-such-host.invalid port=5432 user=x dbname=x password=secret-pw connect_timeout=5",
        ],
        &[],
    );
    let stderr = assert_clean_error(&out, "no-such-host.invalid");
    assert!(!stderr.contains("secret-pw"), "password leaked: {stderr}");
}

#[test]
fn refused_port() {
    // Bind a port, then free it so nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let conninfo =
        format!("host=127.0.0.1 port={port} user=x dbname=x password=secret-pw sslmode=disable");
    let out = pgsafeguard(&["scan", &conninfo], &[]);
    let stderr = assert_clean_error(&out, "refused");
    assert!(!stderr.contains("secret-pw"), "password leaked: {stderr}");
}

#[test]
fn pgpass_with_group_or_world_access() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let pgpass = dir.path().join("pgpass");
    std::fs::write(&pgpass, "*:*:*:*:hunter2\n").expect("write");
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = pgsafeguard(
        &["scan", "host=127.0.0.1 port=1 user=x dbname=x"],
        &[("PGPASSFILE", pgpass.to_str().expect("utf8"))],
    );
    let stderr = assert_clean_error(&out, "0600");
    assert!(!stderr.contains("hunter2"));
}

#[test]
fn corrupt_snapshot_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("snap.json");
    std::fs::write(&path, "{ this is not json").expect("write");
    let out = pgsafeguard(&["scan", "--snapshot", path.to_str().expect("utf8")], &[]);
    assert_clean_error(&out, "not valid json");
}

#[test]
fn snapshot_from_a_newer_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("snap.json");
    std::fs::write(&path, r#"{"schema_version": 99, "collected_at": "x"}"#).expect("write");
    let out = pgsafeguard(&["scan", "--snapshot", path.to_str().expect("utf8")], &[]);
    assert_clean_error(&out, "schema_version 99");
}

#[test]
fn json_that_is_not_a_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("snap.json");
    std::fs::write(&path, r#"{"hello": "world"}"#).expect("write");
    let out = pgsafeguard(&["scan", "--snapshot", path.to_str().expect("utf8")], &[]);
    assert_clean_error(&out, "not a pgsafeguard snapshot");
}

#[test]
fn unwritable_output_path_fails_before_connecting_and_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-dir").join("out.json");
    // The host is unreachable too: the output path must be reported first.
    let out = pgsafeguard(
        &[
            "scan",
            "host=no-such-host.invalid",
            "--output",
            missing.to_str().expect("utf8"),
        ],
        &[],
    );
    assert_clean_error(&out, "cannot write");
    no_files_in(dir.path());
}

#[test]
fn unknown_flag_is_one_line() {
    let out = pgsafeguard(&["scan", "--colour"], &[]);
    assert_clean_error(&out, "--colour");
}

#[test]
fn help_and_version_succeed() {
    for args in [&["--help"][..], &["--version"], &["scan", "--help"]] {
        let out = pgsafeguard(args, &[]);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty());
    }
}

#[test]
fn the_app_without_a_display_is_a_one_line_error() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgsafeguard"));
    cmd.env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY");
    let out = cmd.output().expect("run pgsafeguard");
    assert_clean_error(&out, "no display");
}

#[test]
fn probing_an_unverified_tcp_server_is_refused_before_any_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("evidence.sqlite");
    let output = dir.path().join("proofs.json");
    // Port 1 refuses connections: the refusal must come before any attempt to connect,
    // and nothing may be recorded or written.
    for command in ["prove", "scan"] {
        let mut args = vec![
            command,
            "host=127.0.0.1 port=1 user=x dbname=x sslmode=require",
            "--store",
            store.to_str().expect("utf8"),
            "--output",
            output.to_str().expect("utf8"),
        ];
        if command == "scan" {
            args.push("--prove");
        }
        let out = pgsafeguard(&args, &[]);
        assert_clean_error(&out, "refusing to probe");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--insecure-probe"));
    }
    no_files_in(dir.path());
}

#[test]
fn unknown_probe_names_are_one_line() {
    let out = pgsafeguard(
        &[
            "prove",
            "host=/tmp port=1 dbname=x",
            "--probe",
            "transport,tls",
        ],
        &[],
    );
    assert_clean_error(&out, "unknown probe \"tls\"");
    let out = pgsafeguard(&["scan", "--snapshot", "x.json", "--prove"], &[]);
    assert_clean_error(&out, "--prove");
}

#[test]
fn bad_phi_decisions_and_discover_budgets_are_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("policy.toml");
    let p = policy.to_str().expect("utf8");
    let out = pgsafeguard(
        &["phi", "confirm", "patients.ssn", "--policy", p, "--by", "x"],
        &[],
    );
    assert_clean_error(&out, "database.schema.table.column");
    let out = pgsafeguard(
        &[
            "phi",
            "confirm",
            "a.b.c.d",
            "--policy",
            p,
            "--by",
            "x",
            "--category",
            "shoe_size",
        ],
        &[],
    );
    assert_clean_error(&out, "--category");
    let out = pgsafeguard(&["phi", "forget", "a.b.c.d", "--policy", p], &[]);
    assert_clean_error(&out, "no decision");
    assert!(!policy.exists(), "nothing half-written");
    let out = pgsafeguard(
        &["discover", "host=/tmp port=1 dbname=x", "--table-ms", "0"],
        &[],
    );
    assert_clean_error(&out, "--table-ms");
}

#[test]
fn plan_bad_input_is_one_line_before_connecting() {
    let target = "host=/tmp port=1 dbname=x";
    let out = pgsafeguard(&["plan", target, "--ids", "TLS-001,NOPE-1"], &[]);
    assert_clean_error(&out, "no check NOPE-1");
    let out = pgsafeguard(&["plan", target, "--section", "firewall"], &[]);
    assert_clean_error(&out, "no section firewall");
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("change-log.jsonl");
    let log = log.to_str().expect("utf8");
    for (flag, id) in [
        ("--resume", "20261207T230000Z-plan-abcdef"),
        ("--rollback", "20261207T230000Z-plan-abcdef"),
        ("--resume", "../../etc/passwd"),
    ] {
        let out = pgsafeguard(&["plan", target, flag, id, "--change-log", log], &[]);
        assert_clean_error(&out, "there is no plan");
    }
    let plans = dir.path().join("plans");
    std::fs::create_dir(&plans).expect("plans dir");
    let id = "20261207T230000Z-plan-abcdef";
    std::fs::write(plans.join(format!("{id}.json")), "{\"plan\": {\"id\": 7").expect("write");
    let out = pgsafeguard(&["plan", target, "--resume", id, "--change-log", log], &[]);
    assert_clean_error(&out, "corrupt");
}

#[test]
fn a_drill_needs_one_source_and_existing_paths() {
    let out = pgsafeguard(&["drill", "--no-store"], &[]);
    assert_clean_error(&out, "--base-backup");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let out = pgsafeguard(
        &[
            "drill",
            "--no-store",
            "--base-backup",
            missing.to_str().unwrap(),
            "--wal-archive",
            dir.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_clean_error(&out, "missing");
    let out = pgsafeguard(
        &[
            "drill",
            "--no-store",
            "--pgbackrest",
            "main",
            "--target-time",
            "noon",
        ],
        &[],
    );
    assert_clean_error(&out, "noon");
    no_files_in(dir.path());
}

/// A fleet summary of one shard, as `pgsafeguard fleet --shard K/N --output DIR` writes it.
fn fleet_summary_in(dir: &Path, sha256: &str, index: u32, count: u32) {
    use pgsafeguard::fleet::shard::Shard;
    use pgsafeguard::fleet::summary::{FleetSummary, InventoryInfo, RunSettings};
    std::fs::create_dir_all(dir).unwrap();
    let summary = FleetSummary::new(
        InventoryInfo {
            path: "fleet.toml".into(),
            sha256: sha256.into(),
            targets: 0,
        },
        Shard { index, count },
        RunSettings {
            concurrency: 16,
            connect_timeout_s: 10,
            scan_timeout_s: 300,
            all_databases: false,
            group: None,
            tag: None,
        },
        "2026-01-01T00:00:00Z".into(),
        "2026-01-01T00:01:00Z".into(),
        Vec::new(),
    );
    std::fs::write(dir.join("fleet.json"), summary.to_json()).unwrap();
}

#[test]
fn fleet_flags_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("pg_service.conf");
    std::fs::write(&inventory, "[a]\nhost=h\n").unwrap();
    let inventory = inventory.to_str().unwrap();
    let out_dir = dir.path().join("out");
    let out_dir = out_dir.to_str().unwrap();
    for (flags, mention) in [
        (&["--concurrency", "0"][..], "--concurrency"),
        (&["--scan-timeout", "0"][..], "--scan-timeout"),
        (&["--shard", "1/1"][..], "K/N"),
        (&["--shard", "x"][..], "K/N"),
        (&["--tag", "nowhere"][..], "no target matches"),
    ] {
        let mut args = vec!["fleet", inventory, "--no-store", "--output", out_dir];
        args.extend_from_slice(flags);
        let out = pgsafeguard(&args, &[("HOME", dir.path().to_str().unwrap())]);
        assert_clean_error(&out, mention);
        assert!(!Path::new(out_dir).exists(), "{flags:?}: output written");
    }
}

#[test]
fn fleet_inventory_with_a_missing_group_policy() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("fleet.toml");
    std::fs::write(
        &inventory,
        "[groups.east]\npolicy = \"east-policy.toml\"\n\n[[target]]\nname = \"a\"\nconninfo = \"host=h\"\ngroup = \"east\"\n",
    )
    .unwrap();
    let out = pgsafeguard(
        &["fleet", inventory.to_str().unwrap(), "--no-store"],
        &[("HOME", dir.path().to_str().unwrap())],
    );
    let stderr = assert_clean_error(&out, "fleet.toml, line 2");
    assert!(stderr.contains("east-policy.toml"), "{stderr}");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["fleet.toml"], "nothing else written");
}

#[test]
fn fleet_merge_of_parts_that_do_not_belong_together() {
    let dir = tempfile::tempdir().unwrap();
    let merged = dir.path().join("merged.json");
    let merged_str = merged.to_str().unwrap();
    let shard = |name: &str, sha: &str, index: u32, count: u32| {
        let path = dir.path().join(name);
        fleet_summary_in(&path, sha, index, count);
        path.to_str().unwrap().to_string()
    };
    let a0 = shard("a0", "aaaa", 0, 2);
    let b1 = shard("b1", "bbbb", 1, 2);
    let a1of3 = shard("a1of3", "aaaa", 1, 3);
    let not_fleet = dir.path().join("scan");
    std::fs::create_dir(&not_fleet).unwrap();
    std::fs::write(
        not_fleet.join("fleet.json"),
        "{\"schema\": \"pgsafeguard.scan/1\"}",
    )
    .unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for (parts, mention) in [
        (vec![a0.as_str(), b1.as_str()], "another inventory"),
        (vec![a0.as_str(), a1of3.as_str()], "into 2 shards"),
        (vec![a0.as_str(), a0.as_str()], "repeats shard 0/2"),
        (
            vec![a0.as_str(), not_fleet.to_str().unwrap()],
            "not a fleet summary",
        ),
        (vec![empty.to_str().unwrap()], "fleet.json"),
    ] {
        let mut args = vec!["fleet", "merge"];
        args.extend(parts);
        args.extend(["--output", merged_str]);
        let out = pgsafeguard(&args, &[]);
        assert_clean_error(&out, mention);
        assert!(!merged.exists(), "{mention}: merged summary written");
    }
}

#[test]
fn fleet_report_without_a_fleet_run() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("fleet.pdf");
    let run = dir.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let out = pgsafeguard(
        &[
            "fleet",
            "report",
            run.to_str().unwrap(),
            "--output",
            pdf.to_str().unwrap(),
        ],
        &[("HOME", dir.path().to_str().unwrap())],
    );
    assert_clean_error(&out, "fleet.json");
    assert!(!pdf.exists());
    // A summary that names a target file that is gone.
    fleet_summary_in(&run, "aaaa", 0, 1);
    let text = std::fs::read_to_string(run.join("fleet.json")).unwrap();
    let mut summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    summary["targets"] = serde_json::json!([{
        "name": "gone", "group": null, "tags": [], "connection": "u@h:5432/db",
        "outcome": "scanned", "error": null, "duration_ms": 1, "file": "targets/gone.json",
        "server_version": null, "system_identifier": null, "collected_at": null,
        "summary": null, "sections": {}
    }]);
    std::fs::write(run.join("fleet.json"), summary.to_string()).unwrap();
    let out = pgsafeguard(
        &[
            "fleet",
            "report",
            run.to_str().unwrap(),
            "--output",
            pdf.to_str().unwrap(),
        ],
        &[("HOME", dir.path().to_str().unwrap())],
    );
    assert_clean_error(&out, "gone.json");
    assert!(!pdf.exists());
}

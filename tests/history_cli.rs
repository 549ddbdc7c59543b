//! The evidence store through the command line, with no server: saved
//! snapshots of real clusters (the golden fixtures) are recorded, listed,
//! verified, tampered with, written by two processes at once, and written by
//! processes killed with SIGKILL.

// Test code: a failed set-up step should panic with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "support/pg_env.rs"]
mod pg_env;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const SNAPSHOT: &str =
    "tests/fixtures/golden/collect_live-least_privilege_scanner_on_an_insecure_cluster-1.snapshot.json";

fn pgsafeguard(args: &[&str], data_home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgsafeguard"));
    cmd.args(args);
    pg_env::without_libpq_env(&mut cmd);
    cmd.env("XDG_DATA_HOME", data_home);
    cmd
}

fn run(args: &[&str], data_home: &Path) -> Output {
    pgsafeguard(args, data_home)
        .output()
        .expect("run pgsafeguard")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A copy of the fixture snapshot collected at `minute` past 10:00, so each
/// copy is a new observation.
fn snapshot_at(dir: &Path, minute: u32) -> PathBuf {
    let text = std::fs::read_to_string(SNAPSHOT).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["collected_at"] = format!("2026-12-08T10:{minute:02}:00Z").into();
    let path = dir.join(format!("snapshot-{minute}.json"));
    std::fs::write(&path, serde_json::to_string(&value).unwrap()).unwrap();
    path
}

fn scan_into(store: &Path, snapshot: &Path, data_home: &Path) -> Output {
    run(
        &[
            "scan",
            "--snapshot",
            snapshot.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
        ],
        data_home,
    )
}

#[test]
fn scans_are_recorded_listed_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence.sqlite");
    for minute in 0..3 {
        let out = scan_into(&store, &snapshot_at(dir.path(), minute), dir.path());
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    }
    let store_arg = store.to_str().unwrap();
    let out = run(&["history", "--store", store_arg], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listing = stdout(&out);
    assert!(listing.starts_with("3 recorded scan(s)"), "{listing}");
    assert!(listing.contains("clinic on localhost:"), "{listing}");
    assert_eq!(listing.matches("saved snapshot").count(), 3, "{listing}");

    let out = run(
        &[
            "history", "clinic", "--store", store_arg, "--format", "json",
        ],
        dir.path(),
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["schema"], "pgsafeguard.history/1");
    assert_eq!(json["scans"].as_array().unwrap().len(), 3);
    assert_eq!(json["scans"][2]["collected_at"], "2026-12-08T10:02:00Z");

    let out = run(&["history", "verify", "--store", store_arg], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("3 records"), "{}", stdout(&out));
    assert!(stdout(&out).contains("intact"), "{}", stdout(&out));
}

#[test]
fn an_edited_record_fails_verification_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence.sqlite");
    for minute in 0..3 {
        scan_into(&store, &snapshot_at(dir.path(), minute), dir.path());
    }
    rusqlite::Connection::open(&store)
        .unwrap()
        .execute_batch("UPDATE records SET at = '2026-01-01T00:00:00Z' WHERE seq = 2")
        .unwrap();
    let out = run(
        &["history", "verify", "--store", store.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("record #2 was edited"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_default_store_lives_in_the_data_folder_and_no_store_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = snapshot_at(dir.path(), 0);
    let default_store = dir.path().join("pgsafeguard").join("evidence.sqlite");
    let out = run(
        &[
            "scan",
            "--snapshot",
            snapshot.to_str().unwrap(),
            "--no-store",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        !default_store.exists(),
        "--no-store wrote {default_store:?}"
    );
    let out = run(
        &["scan", "--snapshot", snapshot.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(default_store.exists());
    let out = run(&["history"], dir.path());
    assert!(
        stdout(&out).starts_with("1 recorded scan(s)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_unusable_default_store_warns_once_and_keeps_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = snapshot_at(dir.path(), 0);
    // The data folder is a file: nothing can be created under it.
    let data_home = dir.path().join("not-a-folder");
    std::fs::write(&data_home, "x").unwrap();
    let out = run(
        &["scan", "--snapshot", snapshot.to_str().unwrap()],
        &data_home,
    );
    assert_eq!(out.status.code(), Some(1), "the scan's own exit code");
    assert!(stdout(&out).contains("TLS-001"), "the scan still printed");
    let warning = stderr(&out);
    assert_eq!(warning.lines().count(), 1, "{warning}");
    assert!(warning.contains("warning: not recording"), "{warning}");
}

#[test]
fn a_named_store_that_cannot_open_is_an_error_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = snapshot_at(dir.path(), 0);
    let output = dir.path().join("scan.json");
    let other = dir.path().join("songs.sqlite");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE songs (title TEXT)")
        .unwrap();
    let newer = dir.path().join("newer.sqlite");
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute_batch("PRAGMA application_id = 1885827943; PRAGMA user_version = 99;")
        .unwrap();
    for (store, mention) in [
        (dir.path().to_path_buf(), "cannot open the evidence store"),
        (other.clone(), "another program"),
        (newer.clone(), "newer pgSafeguard"),
    ] {
        let out = run(
            &[
                "scan",
                "--snapshot",
                snapshot.to_str().unwrap(),
                "--store",
                store.to_str().unwrap(),
                "--output",
                output.to_str().unwrap(),
            ],
            dir.path(),
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(mention), "{err} should mention {mention}");
        assert!(!output.exists(), "a scan output was written");
    }
    // Reading commands refuse them the same way.
    let out = run(&["history", "--store", newer.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(2));
    // No store yet: history says so.
    let out = run(&["history"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no evidence store"),
        "{}",
        stderr(&out)
    );
    let out = run(&["history", "--no-store"], dir.path());
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn two_processes_writing_at_once_keep_one_linear_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("shared.sqlite");
    let snapshots: Vec<PathBuf> = (0..16).map(|m| snapshot_at(dir.path(), m)).collect();
    let mut writers: Vec<std::process::Child> = Vec::new();
    for half in snapshots.chunks(8) {
        // Each writer is a shell loop of scans, so the two overlap in time.
        let list: Vec<String> = half.iter().map(|p| p.display().to_string()).collect();
        let script = format!(
            "for s in {}; do \"$0\" scan --snapshot \"$s\" --store \"$1\" >/dev/null || [ $? = 1 ] || exit 9; done",
            list.join(" ")
        );
        writers.push(
            Command::new("sh")
                .args([
                    "-c",
                    &script,
                    env!("CARGO_BIN_EXE_pgsafeguard"),
                    store.to_str().unwrap(),
                ])
                .env("XDG_DATA_HOME", dir.path())
                .spawn()
                .unwrap(),
        );
    }
    for mut writer in writers {
        assert!(writer.wait().unwrap().success());
    }
    let out = run(
        &["history", "verify", "--store", store.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("16 records"), "{}", stdout(&out));
}

#[test]
fn a_writer_killed_mid_scan_loses_at_most_that_scan() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("crash.sqlite");
    let mut completed = 0;
    for minute in 0..24 {
        let snapshot = snapshot_at(dir.path(), minute);
        let mut child = pgsafeguard(
            &[
                "scan",
                "--snapshot",
                snapshot.to_str().unwrap(),
                "--store",
                store.to_str().unwrap(),
            ],
            dir.path(),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        // Spread the kills over the run: some before, some during, some after the write.
        std::thread::sleep(Duration::from_millis(u64::from(minute) * 4));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        if status.code().is_some() {
            completed += 1;
        }
    }
    let out = run(
        &["history", "verify", "--store", store.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // Every scan that finished before its kill is there; no half record is.
    let recorded: u64 = stdout(&out)
        .split(": ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(
        recorded >= completed,
        "{recorded} recorded, {completed} completed"
    );
    // The store still takes new scans after the crashes.
    let out = scan_into(&store, &snapshot_at(dir.path(), 59), dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

/// The fixture snapshot with one more superuser, collected a day later.
fn snapshot_with_new_superuser(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(SNAPSHOT).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut role = value["roles"][0].clone();
    role["name"] = "night_admin".into();
    role["superuser"] = true.into();
    value["roles"].as_array_mut().unwrap().push(role);
    value["collected_at"] = "2026-12-09T10:00:00Z".into();
    let path = dir.join("with-night-admin.json");
    std::fs::write(&path, serde_json::to_string(&value).unwrap()).unwrap();
    path
}

#[test]
fn diff_names_a_new_superuser_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence.sqlite");
    let store_arg = store.to_str().unwrap();
    let out = run(&["diff", "--store", store_arg], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    scan_into(&store, &snapshot_at(dir.path(), 0), dir.path());
    let out = run(&["diff", "--store", store_arg], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("only one scan"), "{}", stderr(&out));
    scan_into(&store, &snapshot_with_new_superuser(dir.path()), dir.path());

    let out = run(&["diff", "--store", store_arg], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("+ night_admin: SUPERUSER"), "{text}");
    assert!(text.contains("PRIV-001"), "{text}");

    let out = run(
        &["diff", "1", "2", "--store", store_arg, "--format", "json"],
        dir.path(),
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["schema"], "pgsafeguard.diff/1");
    // The other way round nothing regressed: the superuser went away.
    let out = run(&["diff", "2", "#1", "--store", store_arg], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("- night_admin"), "{}", stdout(&out));

    for (args, mention) in [
        (vec!["diff", "x"], "not a scan number"),
        (vec!["diff", "9", "1"], "no scan #9"),
        (vec!["diff", "2"], "nothing later"),
        (vec!["diff", "--target", "billing"], "no scans of billing"),
    ] {
        let mut all = args.clone();
        all.extend(["--store", store_arg]);
        let out = run(&all, dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out).trim_end().lines().count(), 1);
        assert!(stderr(&out).contains(mention), "{args:?}: {}", stderr(&out));
    }
}

//! Golden files: the JSON of `pgsafeguard scan --snapshot` for snapshots saved from the live
//! test scenarios stays byte-identical. A refactoring that changes no behaviour must keep
//! every verdict, every piece of evidence and every fix statement exactly as it was.
//!
//! The snapshots in tests/fixtures/golden/ were saved by running the live tests with
//! `PGSAFEGUARD_GOLDEN_CAPTURE=tests/fixtures/golden` (tests/support/golden.rs); the
//! `.scan.json` beside each was written by `bless` below before any refactoring, then kept.
//! Intended verdict changes re-bless with `PGSAFEGUARD_GOLDEN_BLESS=1` in their own commit.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

const BLESS_ENV: &str = "PGSAFEGUARD_GOLDEN_BLESS";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden")
}

fn saved_snapshots() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .expect("tests/fixtures/golden")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.to_string_lossy().ends_with(".snapshot.json"))
        .collect();
    found.sort();
    found
}

/// `scan --snapshot FILE --format json` with an empty home: no user policy or
/// attestation file of this machine may take part.
fn offline_scan(snapshot: &Path, home: &Path) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_pgsafeguard"))
        .args(["scan", "--snapshot"])
        .arg(snapshot)
        .args(["--format", "json"])
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .output()
        .expect("run pgsafeguard");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}: {}",
        snapshot.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn scan_json_of_every_golden_snapshot_is_unchanged() {
    let snapshots = saved_snapshots();
    assert!(
        snapshots.len() >= 10,
        "expected the live scenarios' snapshots in {}",
        golden_dir().display()
    );
    let home = tempfile::tempdir().expect("temp home");
    let bless = std::env::var_os(BLESS_ENV).is_some();
    let mut changed = Vec::new();
    for snapshot in &snapshots {
        let json = offline_scan(snapshot, home.path());
        let expected_path = PathBuf::from(
            snapshot
                .to_string_lossy()
                .replace(".snapshot.json", ".scan.json"),
        );
        if bless {
            std::fs::write(&expected_path, &json).expect("bless");
            continue;
        }
        let expected = std::fs::read(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        if expected != json {
            changed.push(expected_path.display().to_string());
        }
    }
    assert!(
        changed.is_empty(),
        "scan JSON changed for {} snapshot(s) (diff with `scan --snapshot`):\n{}",
        changed.len(),
        changed.join("\n")
    );
}

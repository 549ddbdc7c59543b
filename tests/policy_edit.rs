//! `pgsafeguard accept` and `pgsafeguard baseline` on temporary policy files, offline: the
//! rows of a saved golden snapshot become a baseline, and `scan --snapshot --policy` shows
//! what the policy decided. Every bad input is one line, exit 2, and leaves the file as it
//! was (or uncreated).

// Test code: a failed set-up step should panic with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "support/pg_env.rs"]
mod pg_env;

#[path = "support/cli.rs"]
mod cli;

use cli::{assert_clean_error, pgsafeguard};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A scan of the pg_hba traps (collected 2026-12-07): PRIV-001 fails on two unapproved
/// superusers (file_admin, night_admin), TLS-003 on three cipher families, TLS-001 passes,
/// EAR-001 fails without rows, ADM-001 is manual.
const SNAPSHOT: &str = "tests/fixtures/golden/traps_live-pg_hba_traps-1.snapshot.json";

/// A hand-written policy whose comments and layout must survive every edit.
const COMMENTED: &str = "\
# Clinic policy — owned by the security office.

approved_superusers = [] # nobody but postgres

# Accepted risks (reviewed monthly).
[[accepted_risks]]
id = \"AUD-011\"
by = \"Jane Roe\"
reason = \"SIEM converts to UTC\"
expires = \"2099-06-30\"

# trailing note
";

fn snapshot() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(SNAPSHOT)
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

struct PolicyFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl PolicyFile {
    fn with(text: &str) -> PolicyFile {
        let file = PolicyFile::missing();
        std::fs::write(&file.path, text).expect("write policy");
        file
    }

    fn missing() -> PolicyFile {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("policy.toml");
        PolicyFile { _dir: dir, path }
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.path).expect("read policy")
    }

    /// Run with `--policy FILE` after `command`.
    fn run(&self, command: &str, args: &[&str]) -> std::process::Output {
        let mut all = vec![command, "--policy", s(&self.path)];
        all.extend_from_slice(args);
        pgsafeguard(&all, &[])
    }

    /// Exit 2 with one line mentioning `says`, and the file exactly as `before`.
    fn refuses(&self, command: &str, args: &[&str], says: &str) {
        let before = std::fs::read(&self.path).ok();
        let out = self.run(command, args);
        assert_clean_error(&out, says);
        assert_eq!(
            std::fs::read(&self.path).ok(),
            before,
            "{command} {args:?} changed the file"
        );
        let left: Vec<_> = std::fs::read_dir(self._dir.path())
            .expect("read dir")
            .map(|e| e.expect("entry").file_name())
            .filter(|name| name != "policy.toml")
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }

    /// The scan's JSON with this policy.
    fn scan(&self) -> Value {
        scan_json(&["--policy", s(&self.path)])
    }
}

fn scan_json(extra: &[&str]) -> Value {
    let snapshot = snapshot();
    let mut args = vec!["scan", "--snapshot", s(&snapshot), "--format", "json"];
    args.extend_from_slice(extra);
    let out = pgsafeguard(&args, &[]);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("scan JSON")
}

fn finding<'a>(scan: &'a Value, id: &str) -> &'a Value {
    scan["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no finding {id}"))
}

fn ok(out: &std::process::Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

#[test]
fn a_baseline_of_every_row_accepts_the_check_without_expiry() {
    let policy = PolicyFile::missing();
    let snapshot = snapshot();
    let said = ok(&policy.run(
        "baseline",
        &[
            "--id",
            "PRIV-001",
            "--by",
            "John Doe",
            "--reason",
            "break-glass accounts",
            "--snapshot",
            s(&snapshot),
        ],
    ));
    assert!(
        said.contains("2 object(s): file_admin, night_admin"),
        "{said}"
    );
    let text = policy.text();
    assert!(
        text.starts_with('#'),
        "a created file starts with its header: {text}"
    );
    assert!(
        text.contains("rows = [\n    \"file_admin\",\n    \"night_admin\",\n]"),
        "{text}"
    );

    let scan = policy.scan();
    let f = finding(&scan, "PRIV-001");
    assert_eq!(f["status"], "accepted");
    assert_eq!(f["objects"], serde_json::json!([]));
    let accepted = &f["accepted"];
    assert_eq!(accepted["baseline"], true);
    assert_eq!(accepted["expires"], Value::Null);
    assert_eq!(accepted["by"], "John Doe");
    assert_eq!(accepted["reason"], "break-glass accounts");
    assert!(
        accepted["at"].as_str().is_some_and(|at| at.len() == 20),
        "{accepted}"
    );
    // Nothing else changed: every other finding is as in the golden scan.
    let plain = scan_json(&[]);
    for (mine, theirs) in scan["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .zip(plain["findings"].as_array().expect("findings"))
    {
        if mine["id"] != "PRIV-001" {
            assert_eq!(mine, theirs);
        }
    }
    // Removing it.
    ok(&policy.run("baseline", &["--remove", "--id", "PRIV-001"]));
    assert_eq!(finding(&policy.scan(), "PRIV-001")["status"], "fail");
}

#[test]
fn a_new_row_keeps_failing_and_gone_rows_are_named() {
    let policy = PolicyFile::with(
        "[[baselines]]\nid = \"PRIV-001\"\nrows = [\"file_admin\", \"old_admin\"]\n\
         by = \"John Doe\"\nreason = \"break-glass\"\nat = \"2026-11-20\"\n",
    );
    let scan = policy.scan();
    let f = finding(&scan, "PRIV-001");
    assert_eq!(f["status"], "fail");
    assert_eq!(f["accepted"], Value::Null);
    assert_eq!(f["objects"], serde_json::json!(["night_admin"]));
    let evidence = f["evidence"].as_str().expect("evidence");
    assert!(
        evidence.contains(
            "baseline approved by John Doe on 2026-11-20: 1 of 2 row(s) not in baseline: night_admin"
        ),
        "{evidence}"
    );
    assert!(
        evidence.contains("1 row(s) only in baseline (approved, no longer present): old_admin"),
        "{evidence}"
    );
    // The fix touches the new row only.
    let statements = f["fix"]["statements"].to_string();
    assert!(statements.contains("night_admin"), "{statements}");
    assert!(!statements.contains("file_admin"), "{statements}");
}

#[test]
fn an_expired_acceptance_fails_and_says_so() {
    let acceptance = |expires: &str| {
        format!(
            "[[accepted_risks]]\nid = \"PRIV-001\"\nby = \"CISO\"\nreason = \"migration\"\n\
             expires = \"{expires}\"\n"
        )
    };
    // Expired the week before the scan.
    let policy = PolicyFile::with(&acceptance("2026-12-01"));
    let scan = policy.scan();
    let f = finding(&scan, "PRIV-001");
    assert_eq!(f["status"], "fail");
    assert_eq!(f["accepted"], Value::Null);
    let evidence = f["evidence"].as_str().expect("evidence");
    assert!(
        evidence.ends_with("; accepted risk by CISO (migration) expired on 2026-12-01"),
        "{evidence}"
    );
    // Expiring the day of the scan, it still holds and the text output names it.
    let policy = PolicyFile::with(&acceptance("2026-12-07"));
    assert_eq!(finding(&policy.scan(), "PRIV-001")["status"], "accepted");
    let snapshot = snapshot();
    let out = pgsafeguard(
        &[
            "scan",
            "--snapshot",
            s(&snapshot),
            "--policy",
            s(&policy.path),
        ],
        &[],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("accepted by CISO until 2026-12-07: migration"),
        "{text}"
    );
}

#[test]
fn accept_and_revoke_keep_the_file_byte_for_byte() {
    let policy = PolicyFile::with(COMMENTED);
    let said = ok(&policy.run(
        "accept",
        &[
            "--id",
            "TLS-003",
            "--by",
            "Ann Lee",
            "--reason",
            "legacy lab devices",
            "--expires",
            "2099-12-31",
            "--ticket",
            "RISK-7",
        ],
    ));
    assert!(said.contains("until 2099-12-31"), "{said}");
    let text = policy.text();
    let (kept, trailing) = COMMENTED.split_at(COMMENTED.find("\n# trailing note").expect("note"));
    assert!(text.starts_with(kept), "{text}");
    assert!(text.ends_with(trailing), "{text}");
    let added = &text[kept.len()..text.len() - trailing.len()];
    assert!(
        added.starts_with(
            "\n[[accepted_risks]]\nid = \"TLS-003\"\nby = \"Ann Lee\"\n\
             reason = \"legacy lab devices\"\nexpires = \"2099-12-31\"\nticket = \"RISK-7\"\nat = \""
        ),
        "{added}"
    );
    let f = finding(&policy.scan(), "TLS-003").clone();
    assert_eq!(f["status"], "accepted");
    assert_eq!(f["accepted"]["ticket"], "RISK-7");
    assert_eq!(f["accepted"]["expires"], "2099-12-31");
    assert!(f["accepted"].get("baseline").is_none(), "{f}");

    // One object of a check, then revoking both: the file is as it was.
    ok(&policy.run(
        "accept",
        &[
            "--id",
            "PRIV-001",
            "--object",
            "night_admin",
            "--by",
            "Ann Lee",
            "--reason",
            "on-call",
            "--expires",
            "2099-12-31",
        ],
    ));
    let f = finding(&policy.scan(), "PRIV-001").clone();
    assert_eq!(f["status"], "fail");
    assert_eq!(f["objects"], serde_json::json!(["file_admin"]));
    ok(&policy.run("accept", &["--revoke", "--id", "TLS-003"]));
    ok(&policy.run(
        "accept",
        &["--revoke", "--id", "PRIV-001", "--object", "night_admin"],
    ));
    assert_eq!(policy.text(), COMMENTED);
}

#[test]
fn bad_accept_input_is_one_line_and_leaves_the_file() {
    let policy = PolicyFile::with(COMMENTED);
    let good = |changes: &[(&str, &str)]| -> Vec<String> {
        let mut args: Vec<(&str, &str)> = vec![
            ("--id", "TLS-003"),
            ("--by", "Ann Lee"),
            ("--reason", "legacy lab devices"),
            ("--expires", "2099-12-31"),
        ];
        for (flag, value) in changes {
            match args.iter_mut().find(|(f, _)| f == flag) {
                Some(slot) => slot.1 = value,
                None => args.push((flag, value)),
            }
        }
        args.iter()
            .flat_map(|(f, v)| [f.to_string(), v.to_string()])
            .collect()
    };
    let refuses = |changes: &[(&str, &str)], says: &str| {
        let args = good(changes);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        policy.refuses("accept", &args, says);
    };
    refuses(&[("--id", "TLS-999")], "there is no check TLS-999");
    refuses(&[("--expires", "2027-13-01")], "not a date");
    refuses(&[("--expires", "31/12/2099")], "not a date");
    refuses(&[("--expires", "2000-01-01")], "in the past");
    refuses(&[("--by", "")], "--by must not be empty");
    refuses(&[("--reason", "   ")], "--reason must not be empty");
    refuses(&[("--reason", "two\nlines")], "one line");
    refuses(&[("--ticket", "")], "--ticket must not be empty");
    refuses(&[("--object", "")], "--object must not be empty");
    // Already accepted (the file's own AUD-011).
    refuses(&[("--id", "AUD-011")], "already accepted");
    // Missing flags and conflicting ones are usage errors.
    policy.refuses(
        "accept",
        &["--id", "TLS-003", "--by", "a", "--reason", "b"],
        "required arguments",
    );
    policy.refuses(
        "accept",
        &["--revoke", "--id", "TLS-003", "--by", "a"],
        "--by",
    );
    // Nothing to revoke.
    policy.refuses(
        "accept",
        &["--revoke", "--id", "TLS-003"],
        "no accepted risk",
    );
    policy.refuses(
        "accept",
        &["--revoke", "--id", "AUD-011", "--object", "log_timezone"],
        "no accepted risk",
    );
    assert_eq!(policy.text(), COMMENTED);

    // A file that is not a valid policy is never rewritten.
    for broken in ["approved_superusers = [\n", "aproved_superusers = []\n"] {
        let policy = PolicyFile::with(broken);
        let args = good(&[]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        policy.refuses("accept", &args, "not a valid policy file");
    }
    // A missing file stays missing when the input is bad, and a missing folder is an error.
    let missing = PolicyFile::missing();
    missing.refuses(
        "accept",
        &[
            "--id",
            "TLS-999",
            "--by",
            "a",
            "--reason",
            "b",
            "--expires",
            "2099-01-01",
        ],
        "no check",
    );
    assert!(!missing.path.exists());
    let nowhere = missing
        .path
        .with_file_name("no-such-dir")
        .join("policy.toml");
    let out = pgsafeguard(
        &[
            "accept",
            "--policy",
            s(&nowhere),
            "--id",
            "TLS-003",
            "--by",
            "a",
            "--reason",
            "b",
            "--expires",
            "2099-01-01",
        ],
        &[],
    );
    assert_clean_error(&out, "cannot write");
    assert!(!nowhere.exists());
}

#[test]
fn bad_baseline_input_is_one_line_and_leaves_the_file() {
    let policy = PolicyFile::with(COMMENTED);
    let snapshot = snapshot();
    let with = |id: &str| -> Vec<String> {
        [
            "--id",
            id,
            "--by",
            "John Doe",
            "--reason",
            "reviewed",
            "--snapshot",
            s(&snapshot),
        ]
        .map(String::from)
        .to_vec()
    };
    let refuses = |args: Vec<String>, says: &str| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        policy.refuses("baseline", &args, says);
    };
    refuses(with("PRIV-999"), "there is no check PRIV-999");
    refuses(with("TLS-001"), "TLS-001 is pass on this scan");
    refuses(with("ADM-001"), "ADM-001 is manual on this scan");
    refuses(with("EAR-001"), "EAR-001 lists no rows");
    let mut blank = with("PRIV-001");
    blank[3] = " ".into();
    refuses(blank, "--by must not be empty");
    let mut multiline = with("PRIV-001");
    multiline[5] = "one\rtwo".into();
    refuses(multiline, "one line");
    // Where the rows come from must be said, once.
    refuses(
        ["--id", "PRIV-001", "--by", "a", "--reason", "b"]
            .map(String::from)
            .to_vec(),
        "required arguments",
    );
    refuses(
        ["--remove", "--id", "PRIV-001", "--snapshot", s(&snapshot)]
            .map(String::from)
            .to_vec(),
        "--snapshot",
    );
    refuses(
        ["--remove", "--id", "PRIV-001"].map(String::from).to_vec(),
        "no baseline for PRIV-001",
    );
    // A snapshot that is not one, and a server that is not there, write nothing.
    let corrupt = policy.path.with_file_name("snap.json");
    std::fs::write(&corrupt, "{ not json").expect("write");
    let mut args = with("PRIV-001");
    args[7] = s(&corrupt).to_string();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let before = policy.text();
    assert_clean_error(&policy.run("baseline", &args), "not valid json");
    std::fs::remove_file(&corrupt).expect("remove");
    policy.refuses(
        "baseline",
        &[
            "--id",
            "PRIV-001",
            "--by",
            "a",
            "--reason",
            "b",
            "host=no-such-host.invalid connect_timeout=5",
        ],
        "no-such-host.invalid",
    );
    assert_eq!(policy.text(), before);
    // A policy that does not parse fails before the scan.
    let broken = PolicyFile::with("rpo_seconds = \"soon\"\n");
    let args = with("PRIV-001");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    broken.refuses("baseline", &args, "not a valid policy file");
}

/// Accepting, baselining and revoking are recorded in the evidence store, where `history`
/// lists them beside the scans.
#[test]
fn policy_changes_are_recorded_in_the_evidence_store() {
    let policy = PolicyFile::missing();
    let store = policy.path.with_file_name("evidence.sqlite");
    let with_store = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--store", s(&store)]);
        let out = pgsafeguard(&all, &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    with_store(&[
        "accept",
        "--policy",
        s(&policy.path),
        "--id",
        "TLS-009",
        "--by",
        "CISO",
        "--reason",
        "private subnet",
        "--expires",
        "2099-01-31",
        "--ticket",
        "SEC-42",
    ]);
    with_store(&[
        "baseline",
        "--policy",
        s(&policy.path),
        "--id",
        "PRIV-001",
        "--by",
        "DBA lead",
        "--reason",
        "reviewed",
        "--snapshot",
        s(&snapshot()),
    ]);
    with_store(&[
        "accept",
        "--policy",
        s(&policy.path),
        "--revoke",
        "--id",
        "TLS-009",
    ]);
    let out = pgsafeguard(&["history", "--store", s(&store), "--format", "json"], &[]);
    let history: Value = serde_json::from_slice(&out.stdout).expect("json");
    let summaries: Vec<&str> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["summary"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(summaries.len(), 3, "{summaries:?}");
    assert!(
        summaries[0].starts_with("accepted TLS-009 by CISO until 2099-01-31"),
        "{summaries:?}"
    );
    assert!(
        summaries[1].starts_with("baseline set PRIV-001 by DBA lead"),
        "{summaries:?}"
    );
    assert!(summaries[2].starts_with("revoked TLS-009"), "{summaries:?}");
}

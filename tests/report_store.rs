//! Signed reports and the evidence store, offline: a report embeds the
//! store's chain head and is recorded as an anchor; `history verify --anchor`
//! finds the head, or shows that the newest records were deleted; a tampered
//! report anchors nothing; the audit-period report is signed, verifies and
//! names the days its scans cover; the changes chapter compares a scan with
//! the previous one of the same target.
//!
//! Stores are filled from the golden snapshots of real clusters
//! (tests/fixtures/golden/), re-dated so each copy is a new observation.

// Test code: a failed set-up step should panic with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "support/pg_env.rs"]
mod pg_env;

use pgsafeguard::report::read_chain_head;
use pgsafeguard::store::EvidenceStore;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const SNAPSHOT: &str =
    "tests/fixtures/golden/collect_live-least_privilege_scanner_on_an_insecure_cluster-1.snapshot.json";

/// A scratch folder: the data folder (default signing identity) and the store.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn store(&self) -> PathBuf {
        self.path("evidence.sqlite")
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgsafeguard"));
        cmd.args(args).stdin(Stdio::null());
        pg_env::without_libpq_env(&mut cmd);
        cmd.env("XDG_DATA_HOME", self.path("data"));
        cmd.output().expect("run pgsafeguard")
    }

    /// The fixture snapshot collected at `at` (RFC 3339), for database `dbname`.
    fn snapshot(&self, at: &str, dbname: &str) -> PathBuf {
        let mut value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(SNAPSHOT).unwrap()).unwrap();
        value["collected_at"] = at.into();
        value["target"]["dbname"] = dbname.into();
        let path = self.path(&format!("snapshot-{dbname}-{}.json", at.replace(':', "")));
        std::fs::write(&path, serde_json::to_string(&value).unwrap()).unwrap();
        path
    }

    fn scan(&self, at: &str, dbname: &str) {
        let snapshot = self.snapshot(at, dbname);
        let out = self.run(&[
            "scan",
            "--snapshot",
            arg(&snapshot),
            "--store",
            arg(&self.store()),
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    }

    fn report(&self, snapshot: &Path, output: &Path, extra: &[&str]) -> Output {
        let mut args = vec![
            "report",
            "--snapshot",
            arg(snapshot),
            "--output",
            arg(output),
        ];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    fn history_verify(&self, anchors: &[&Path]) -> Output {
        let store = self.store();
        let mut args = vec!["history", "verify", "--store", arg(&store)];
        for anchor in anchors {
            args.extend(["--anchor", arg(anchor)]);
        }
        self.run(&args)
    }
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn tool(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (install poppler-utils): {e}"));
    stdout(&out)
}

fn pdftotext(path: &Path) -> String {
    tool("pdftotext", &["-layout", arg(path), "-"])
}

/// Exit 2, one line on stderr mentioning `what`, nothing on stdout.
fn assert_clean_error(out: &Output, what: &str) {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stderr: {err} stdout: {}",
        stdout(out)
    );
    assert!(out.stdout.is_empty(), "stdout: {}", stdout(out));
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.to_lowercase().contains(&what.to_lowercase()),
        "{err:?} should mention {what:?}"
    );
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ----- the chain head in the single-scan report ------------------------------

#[test]
fn the_report_embeds_the_chain_head_and_anchors_the_store() {
    let s = Scratch::new();
    s.scan("2026-03-01T08:00:00Z", "clinic");
    s.scan("2026-03-02T08:00:00Z", "clinic");
    let pdf = s.path("clinic.pdf");
    let out = s.report(
        &s.snapshot("2026-03-03T08:00:00Z", "clinic"),
        &pdf,
        &["--store", arg(&s.store())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // The head is the report's own scan, record #3, read back only after the
    // report verified.
    let head = read_chain_head(&pdf).expect("the report anchors a head");
    assert_eq!(head.seq, 3);
    let mut store = EvidenceStore::open_file(&s.store()).unwrap();
    let scans = store.scans().unwrap();
    assert_eq!(scans.last().unwrap().seq, 3);
    let events = store.events().unwrap();
    let anchor = events.last().expect("an anchor record");
    assert_eq!(anchor.seq, 4);
    assert!(anchor.summary.contains("clinic.pdf"), "{anchor:?}");
    assert!(anchor.summary.contains(&head.hash), "{anchor:?}");
    drop(store);

    let text = pdftotext(&pdf);
    assert!(
        text.contains(&format!("chain head #3 {}", &head.hash[..16])),
        "cover: {text}"
    );
    assert!(text.contains(&head.hash), "appendix holds the full hash");
    let verified = s.run(&["verify", arg(&pdf)]);
    assert_eq!(verified.status.code(), Some(0), "{}", stdout(&verified));
    assert!(
        stdout(&verified).contains(&format!("evidence store: chain head #3 {}", head.hash)),
        "{}",
        stdout(&verified)
    );

    let out = s.history_verify(&[&pdf]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains(&format!("anchor from {} found: #3", pdf.display())),
        "{}",
        stdout(&out)
    );

    // Delete the newest records, from the anchored one on: the chain that is
    // left is intact by itself; only the anchor shows what is missing.
    rusqlite::Connection::open(s.store())
        .unwrap()
        .execute("DELETE FROM records WHERE seq >= 3", [])
        .unwrap();
    let bare = s.history_verify(&[]);
    assert_eq!(bare.status.code(), Some(0), "{}", stdout(&bare));
    let anchored = s.history_verify(&[&pdf]);
    assert_eq!(anchored.status.code(), Some(1), "{}", stdout(&anchored));
    let text = stdout(&anchored);
    assert!(text.contains("NOT INTACT"), "{text}");
    assert!(
        text.contains(&format!("anchors chain head #3 {}", head.hash))
            && text.contains("no longer contains"),
        "{text}"
    );
}

#[test]
fn a_tampered_unsigned_or_storeless_report_anchors_nothing() {
    let s = Scratch::new();
    let snapshot = s.snapshot("2026-03-01T08:00:00Z", "clinic");
    let pdf = s.path("clinic.pdf");
    let out = s.report(&snapshot, &pdf, &["--store", arg(&s.store())]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // One byte of the signed content changed.
    let mut bytes = std::fs::read(&pdf).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x20;
    let tampered = s.path("tampered.pdf");
    std::fs::write(&tampered, &bytes).unwrap();
    assert!(read_chain_head(&tampered).is_err());
    let out = s.history_verify(&[&pdf, &tampered]);
    assert_clean_error(&out, "tampered.pdf cannot anchor the chain");

    let not_pdf = s.path("notes.pdf");
    std::fs::write(&not_pdf, "%PDF-1.7\nhello\n%%EOF\n").unwrap();
    assert_clean_error(&s.history_verify(&[&not_pdf]), "no digital signature");

    // Without a store the report says "not recorded" and anchors no head.
    let storeless = s.path("storeless.pdf");
    let out = s.report(&snapshot, &storeless, &["--no-store"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = pdftotext(&storeless);
    assert!(
        text.contains("Evidence store") && text.contains("not recorded"),
        "{text}"
    );
    assert_clean_error(&s.history_verify(&[&storeless]), "embeds no chain head");

    // An anchor that cannot be read is an error, not a verdict on the store.
    assert_clean_error(&s.history_verify(&[&s.path("missing.pdf")]), "cannot read");
}

// ----- changes since the previous scan --------------------------------------

#[test]
fn the_report_shows_what_changed_since_the_previous_scan() {
    let s = Scratch::new();
    let first = s.path("first.pdf");
    let out = s.report(
        &s.snapshot("2026-03-01T08:00:00Z", "clinic"),
        &first,
        &["--store", arg(&s.store())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = pdftotext(&first);
    assert!(text.contains("Changes since the previous scan"), "{text}");
    assert!(
        text.contains("No earlier scan of this target is recorded"),
        "{text}"
    );

    // A week later: a new superuser, and SCRAM for new passwords.
    let later = s.snapshot("2026-03-08T08:00:00Z", "clinic");
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&later).unwrap()).unwrap();
    let roles = value["roles"].as_array_mut().unwrap();
    let mut intruder = roles[0].clone();
    intruder["name"] = "intruder".into();
    intruder["oid"] = 99_999.into();
    intruder["superuser"] = true.into();
    roles.push(intruder);
    value["settings"]["password_encryption"]["setting"] = "scram-sha-256".into();
    std::fs::write(&later, serde_json::to_string(&value).unwrap()).unwrap();
    // Another database's scan in between is another target: not the previous one.
    s.scan("2026-03-05T08:00:00Z", "billing");

    // The superusers as they are now are approved as a baseline.
    let scanned = s.run(&[
        "scan",
        "--snapshot",
        arg(&later),
        "--format",
        "json",
        "--no-store",
    ]);
    let scanned: serde_json::Value = serde_json::from_slice(&scanned.stdout).unwrap();
    let superusers = scanned["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "PRIV-001")
        .expect("PRIV-001")["objects"]
        .clone();
    assert!(superusers.to_string().contains("intruder"), "{superusers}");
    let policy = s.path("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "[[baselines]]\nid = \"PRIV-001\"\nrows = {superusers}\nby = \"Jane Roe, CISO\"\n\
             reason = \"the vendor's support role is a superuser by contract\"\nat = \"2026-03-07\"\n"
        ),
    )
    .unwrap();

    let second = s.path("second.pdf");
    let out = s.report(
        &later,
        &second,
        &["--store", arg(&s.store()), "--policy", arg(&policy)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = pdftotext(&second);
    for expected in [
        "Since the previous scan (record #1, 2026-03-01 08:00:00 UTC)",
        "Compared with the previous scan of the same target in the evidence store: record #1",
        "AUTH-001",
        "fixed",
        "intruder",
        "appeared",
        "Checks with an approved baseline",
        "approved by Jane Roe, CISO on 2026-03-07",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    let json_path = s.path("second.json");
    tool(
        "pdfdetach",
        &["-save", "1", "-o", arg(&json_path), arg(&second)],
    );
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(data["schema"], "pgsafeguard.scan/1");
    assert_eq!(data["previous_scan"]["seq"], 1);
    let fixed = data["previous_scan"]["changes"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "AUTH-001")
        .expect("AUTH-001 among the changes");
    assert_eq!(fixed["change"], "fixed");
    let accepted = data["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "PRIV-001")
        .unwrap();
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["accepted"]["baseline"], true);
    assert_eq!(data["evidence_store"]["head"]["seq"], 4);
}

// ----- the audit-period report ---------------------------------------------

#[test]
fn the_period_report_is_signed_and_names_the_days_covered() {
    let s = Scratch::new();
    for at in [
        "2026-03-01T08:00:00Z",
        "2026-03-01T20:00:00Z",
        "2026-03-02T08:00:00Z",
        "2026-03-05T08:00:00Z",
        // Outside the period: neither counted nor shown.
        "2026-02-28T08:00:00Z",
        "2026-03-08T08:00:00Z",
    ] {
        s.scan(at, "clinic");
    }
    s.scan("2026-03-03T08:00:00Z", "billing");
    let pdf = s.path("period.pdf");
    let store = s.store();
    let period = ["--period", "2026-03-01..2026-03-07", "--store", arg(&store)];

    // Two targets in the store: the period report must be told which.
    let mut args = vec!["report", "--output", arg(&pdf)];
    args.extend_from_slice(&period);
    assert_clean_error(&s.run(&args), "several targets");
    assert!(!pdf.exists());

    args.push("clinic");
    let out = s.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let sig = tool("pdfsig", &[arg(&pdf)]);
    assert!(sig.contains("Signature is Valid."), "{sig}");
    assert!(sig.contains("Total document signed"), "{sig}");
    let verified = s.run(&["verify", arg(&pdf)]);
    assert_eq!(verified.status.code(), Some(0), "{}", stdout(&verified));
    let said = stdout(&verified);
    assert!(
        said.contains("audit period: clinic on localhost:46049 from 2026-03-01 to 2026-03-07: 4 scans, 3 of 7 days covered"),
        "{said}"
    );
    assert!(said.contains("evidence store: chain head #7"), "{said}");
    assert_eq!(read_chain_head(&pdf).unwrap().seq, 7);

    let text = pdftotext(&pdf);
    for expected in [
        "Audit-period report",
        "3 of 7 days (42 %)",
        "2026-03-01 – 2026-03-02 (2 days); 2026-03-05",
        "2026-03-03 – 2026-03-04 (2 days); 2026-03-06 – 2026-03-07 (2 days)",
        "Longest gap between scans",
        "3 days, from 2026-03-02 08:00:00 UTC to 2026-03-05 08:00:00 UTC",
        "Check status at each scan",
        "Drift between scans",
        "Fixes applied and policy changes",
        "chain head #7",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    assert!(
        !text.contains("2026-02-28 08:00"),
        "a scan outside the period is shown"
    );

    let json_path = s.path("period.json");
    tool(
        "pdfdetach",
        &["-save", "1", "-o", arg(&json_path), arg(&pdf)],
    );
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(data["schema"], "pgsafeguard.period/1");
    assert_eq!(data["scans"].as_array().unwrap().len(), 4);
    assert_eq!(data["coverage"]["days_covered"], 3);
    assert_eq!(
        data["coverage"]["dates_covered"],
        serde_json::json!(["2026-03-01", "2026-03-02", "2026-03-05"])
    );
    let first_check = &data["checks"][0];
    assert_eq!(first_check["statuses"].as_array().unwrap().len(), 4);
    assert_eq!(data["drift"].as_array().unwrap().len(), 3);
    assert_eq!(data["evidence_store"]["head"]["seq"], 7);
}

#[test]
fn the_period_report_refuses_bad_input_and_writes_nothing() {
    let s = Scratch::new();
    s.scan("2026-03-01T08:00:00Z", "clinic");
    let out_dir = s.path("out");
    std::fs::create_dir(&out_dir).unwrap();
    let pdf = out_dir.join("period.pdf");
    let store = s.store();
    let cases: [(&[&str], &str); 6] = [
        (&["--period", "2026-03-07..2026-03-01"], "after"),
        (&["--period", "2026-03-01"], "FROM..TO"),
        (&["--period", "2026-3-1..2026-03-07"], "not a date"),
        (&["--period", "2026-02-30..2026-03-07"], "not a date"),
        (
            &["--period", "2025-01-01..2025-12-31"],
            "no scans of clinic",
        ),
        (
            &["--period", "2026-03-01..2026-03-07", "billing"],
            "no scans of billing",
        ),
    ];
    for (extra, what) in cases {
        let mut args = vec!["report", "--store", arg(&store), "--output", arg(&pdf)];
        args.extend_from_slice(extra);
        assert_clean_error(&s.run(&args), what);
        assert!(
            files_in(&out_dir).is_empty(),
            "{extra:?} left {:?}",
            files_in(&out_dir)
        );
    }
    // A period report reads recorded findings: a snapshot or policy makes no sense with it.
    let out = s.run(&[
        "report",
        "--period",
        "2026-03-01..2026-03-07",
        "--snapshot",
        SNAPSHOT,
        "--output",
        arg(&pdf),
    ]);
    assert_clean_error(&out, "--snapshot");
}

#[test]
fn a_long_period_shows_a_summary_per_check() {
    let s = Scratch::new();
    for day in 1..=14 {
        s.scan(&format!("2026-04-{day:02}T06:00:00Z"), "clinic");
    }
    let pdf = s.path("april.pdf");
    let out = s.run(&[
        "report",
        "--period",
        "2026-04-01..2026-04-30",
        "--store",
        arg(&s.store()),
        "--output",
        arg(&pdf),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = pdftotext(&pdf);
    for expected in [
        "Check status over the period",
        "14 of 30 days (46 %)",
        "2026-04-01 – 2026-04-14 (14 days)",
        "2026-04-15 – 2026-04-30 (16 days)",
        "1 day, from",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    assert!(!text.contains("Check status at each scan"), "{text}");
}

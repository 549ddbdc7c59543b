//! Names from a scanned server cannot forge evidence or attack the terminal
//! (issue 23): hostile strings (control characters, escape sequences, bidi
//! and zero-width characters, quotes, backslashes, 10,000-character values)
//! go through every human-readable output: the CLI's text (the real binary's
//! stdout bytes), the PDF (read back with poppler's `pdftotext`) and the GUI
//! (every accessibility label egui_kittest sees). None may show a raw
//! control, escape or bidi character, and no line may start with a status
//! marker we did not write. JSON keeps the exact names.
//!
//! The last test does the same on a real cluster whose roles and tables carry
//! such names, and applies fixes to them.

// Test code: a failed set-up step should panic with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::kittest::{by, NodeT, Queryable};
use egui_kittest::Harness;
use pgsafeguard::checks;
use pgsafeguard::model::finding::Section;
use pgsafeguard::model::snapshot::{self, Gap, Snapshot};
use pgsafeguard::model::untrusted::needs_escape;
use pgsafeguard::output::ScanReport;
use pgsafeguard::policy::{Attestations, Policy};
use pgsafeguard::report::{build_unsigned_report, ReportInput, SignerSummary};
use pgsafeguard::ui::app::App;
use pgsafeguard::ui::walkthrough_ui;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::Path;
use std::process::Command;
use time::macros::datetime;

/// The forged finding line of the issue, as a role name would carry it.
const FORGED: &str = "evil\n  [PASS   ] TLS-001  TLS is enabled on the server (critical)";

/// Pieces an attacker with CREATE ROLE or CREATE TABLE can put in a name.
fn hostile() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just(FORGED.to_string()),
        Just("\u{1b}[2J\u{1b}[32m".to_string()),
        Just("\u{202e}lanigiro\u{202c}".to_string()),
        Just("\u{2066}\u{200f}\u{61c}\u{200b}\u{feff}".to_string()),
        Just("\"'\\; DROP ROLE x; --".to_string()),
        Just("\r\t\u{85}\u{9b}\u{2028}\u{7f}".to_string()),
        Just("PASS".to_string()),
        "\\PC{0,6}",
    ];
    proptest::collection::vec(pieces, 1..5).prop_map(|v| v.concat())
}

fn fixture_snapshot() -> Snapshot {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report/snapshot.json");
    pgsafeguard::cli::load_snapshot(&path).expect("fixture snapshot")
}

/// The report fixture with `name` as an unapproved superuser (PRIV-001
/// lists it and fixes it), as the target's database, in a setting value and
/// in a gap's server message; `long` as a 10,000-character setting value.
fn hostile_snapshot(name: &str) -> Snapshot {
    let mut s = fixture_snapshot();
    s.target.dbname = name.to_string();
    s.roles.get_or_insert_with(Vec::new).push(snapshot::Role {
        oid: 99_999,
        name: name.to_string(),
        superuser: true,
        can_login: true,
        inherit: true,
        conn_limit: -1,
        ..snapshot::Role::default()
    });
    if let Some(settings) = s.settings.as_mut() {
        if let Some(ssl) = settings.get_mut("ssl_ciphers") {
            ssl.setting = Some(format!("HIGH:{name}:{}", "x".repeat(10_000)));
        }
        if let Some(file) = settings.get_mut("hba_file") {
            file.setting = Some(format!("/etc/{name}/pg_hba.conf"));
        }
    }
    s.gaps.push(Gap {
        part: "ident_mappings".into(),
        sqlstate: Some("42501".into()),
        message: format!("permission denied for {name}"),
        grant: None,
    });
    s
}

fn report_of(snapshot: &Snapshot) -> ScanReport {
    let findings = checks::evaluate_all(snapshot, &Policy::default(), &Attestations::default());
    ScanReport::new(snapshot, findings)
}

/// Characters that must never reach a person as they are (our own line
/// breaks aside).
fn raw_characters(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| *c != '\n' && needs_escape(*c))
        .collect()
}

// ----- text output, through the real binary --------------------------------

#[test]
fn cli_text_output_escapes_names_and_json_keeps_them() {
    let snapshot = hostile_snapshot(&format!("{FORGED}\u{1b}[2J\u{202e}"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snapshot.json");
    std::fs::write(&file, pgsafeguard::cli::snapshot_json(&snapshot)).unwrap();
    let run = |format: &str| {
        Command::new(env!("CARGO_BIN_EXE_pgsafeguard"))
            .args([
                "scan",
                "--snapshot",
                file.to_str().unwrap(),
                "--format",
                format,
            ])
            .output()
            .unwrap()
    };
    let text = run("text");
    assert_eq!(text.status.code(), Some(1), "{:?}", text);
    let stdout = String::from_utf8(text.stdout).unwrap();
    assert!(!stdout.as_bytes().contains(&0x1b), "ESC reached stdout");
    assert_eq!(raw_characters(&stdout), Vec::<char>::new());
    let markers = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with('['))
        .count();
    assert_eq!(markers, checks::registry().len(), "{stdout}");
    assert!(
        stdout.contains("evil\\n \\u{20}[PASS \\u{20}\\u{20}] TLS-001 \\u{20}TLS is enabled on the server (critical)\\u{1B}[2J\\u{202E}"),
        "{stdout}"
    );
    assert!(stdout.contains("… (10"), "a 10,000-character value is cut");

    let json: serde_json::Value = serde_json::from_slice(&run("json").stdout).unwrap();
    let supers = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "PRIV-001")
        .unwrap();
    let exact = format!("{FORGED}\u{1b}[2J\u{202e}");
    assert!(
        supers["objects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o.as_str() == Some(exact.as_str())),
        "{supers}"
    );
}

// ----- PDF, read back with pdftotext ----------------------------------------

fn pdf_text(snapshot: &Snapshot, dir: &Path) -> String {
    let input = ReportInput {
        report: report_of(snapshot),
        organisation: Some("Riverside Community Clinic".into()),
        operator: Some("Dana Whitfield".into()),
        change_log: Vec::new(),
        demo: false,
        evidence_store: None,
        comparison: Default::default(),
    };
    let signer = SignerSummary {
        subject: "CN=Report Test Signer".into(),
        fingerprint_sha256: "00".repeat(32),
    };
    let bytes = build_unsigned_report(&input, &signer, datetime!(2026-11-27 10:30:00 UTC)).unwrap();
    let path = dir.join("report.pdf");
    std::fs::write(&path, bytes).unwrap();
    pdftotext(&path)
}

fn pdftotext(path: &Path) -> String {
    let out = Command::new("pdftotext")
        .args([path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils)");
    assert!(out.status.success());
    // pdftotext ends each page with a form feed.
    let text = String::from_utf8(out.stdout)
        .unwrap()
        .replace('\u{c}', "\n");
    without_poppler_rtl_marks(&text)
}

/// pdftotext wraps each right-to-left run it extracts in U+202B … U+202C
/// (its own bidi embedding: the PDF does not hold them). Remove exactly those
/// pairs — an embedding whose run holds a right-to-left letter — so that any
/// other raw U+202B or U+202C still fails the test.
fn without_poppler_rtl_marks(text: &str) -> String {
    fn right_to_left(c: char) -> bool {
        matches!(u32::from(c),
            0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF | 0x10800..=0x10FFF | 0x1E800..=0x1EFFF)
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('\u{202b}') {
        out.push_str(&rest[..start]);
        let after = &rest[start + '\u{202b}'.len_utf8()..];
        match after.find(['\u{202c}', '\n']) {
            Some(end)
                if after[end..].starts_with('\u{202c}')
                    && after[..end].chars().any(right_to_left) =>
            {
                out.push_str(&after[..end]);
                rest = &after[end + '\u{202c}'.len_utf8()..];
            }
            _ => {
                out.push('\u{202b}');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn poppler_rtl_marks_are_removed_and_nothing_else() {
    assert_eq!(
        without_poppler_rtl_marks("abc \u{202b}\u{5e9}\u{202c}def"),
        "abc \u{5e9}def"
    );
    // Without a right-to-left letter inside, the marks are not poppler's: kept.
    let forged = "x\u{202b}PASS\u{202c}";
    assert_eq!(without_poppler_rtl_marks(forged), forged);
    assert_eq!(
        without_poppler_rtl_marks("\u{202c}\u{5e9}"),
        "\u{202c}\u{5e9}"
    );
}

/// What the PDF may show at the start of a line: the status words of our
/// badges. A name that wrapped or broke onto a line of its own must not.
fn forged_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| {
            let l = l.trim_start();
            l.starts_with("[PASS") || l.starts_with("PASS   ]") || l.starts_with("TLS-001  TLS")
        })
        .collect()
}

#[test]
fn pdf_shows_the_forged_name_escaped_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = pdf_text(&hostile_snapshot(&format!("{FORGED}\u{202e}")), dir.path());
    assert_eq!(raw_characters(&text), Vec::<char>::new());
    assert_eq!(forged_lines(&text), Vec::<&str>::new());
    assert!(text.contains("evil\\n"), "escaped newline missing");
    assert!(text.contains("\\u{202E}"), "escaped override missing");
}

#[test]
fn pdf_never_shows_raw_hostile_characters() {
    let dir = tempfile::tempdir().unwrap();
    // Each case builds and reads back a whole report: a handful of cases.
    let mut runner = TestRunner::new(Config::with_cases(6));
    runner
        .run(&hostile(), |name| {
            let text = pdf_text(&hostile_snapshot(&name), dir.path());
            prop_assert_eq!(raw_characters(&text), Vec::<char>::new());
            prop_assert_eq!(forged_lines(&text), Vec::<&str>::new());
            Ok(())
        })
        .unwrap();
}

// ----- GUI labels --------------------------------------------------------------

/// Every label and value egui exposes: the overview (target line, gaps),
/// then the access section with PRIV-001 (which lists the name) open.
fn gui_labels(snapshot: Snapshot) -> Vec<String> {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        // Server names may hold characters no bundled font has: the app
        // draws a box for them (egui's default), the test harness would panic.
        .allow_missing_glyphs()
        .build_eframe(move |cc| App::from_snapshot(&cc.egui_ctx, snapshot));
    harness.run();
    let mut labels = collect_labels(&harness);
    click(&mut harness, Section::Access.title());
    let finding = harness.state().finding("PRIV-001").unwrap().clone();
    click(&mut harness, &walkthrough_ui::check_row_label(&finding));
    labels.extend(collect_labels(&harness));
    labels
}

fn click(harness: &mut Harness<'_, App>, label: &str) {
    harness
        .get_by_role_and_label(Role::Button, label)
        .scroll_to_me();
    harness.run();
    harness.get_by_role_and_label(Role::Button, label).click();
    harness.run();
}

fn collect_labels(harness: &Harness<'_, App>) -> Vec<String> {
    harness
        .query_all(by().predicate(|_| true))
        .flat_map(|node| {
            let node = node.accesskit_node();
            [node.label(), node.value()]
        })
        .flatten()
        .collect()
}

/// Our own labels may break lines ("38 fail · 3 warn\n0 unknown"); a name
/// never does, and no line of a label starts with a forged marker.
fn assert_gui_clean(labels: &[String]) {
    for label in labels {
        assert_eq!(
            raw_characters(label),
            Vec::<char>::new(),
            "raw character in GUI label {label:?}"
        );
        for line in label.lines() {
            assert!(!line.trim_start().starts_with("[PASS"), "{label:?}");
        }
    }
}

#[test]
fn gui_shows_hostile_names_escaped() {
    let labels = gui_labels(hostile_snapshot(&format!("{FORGED}\u{1b}[2J\u{202e}")));
    assert_gui_clean(&labels);
    assert!(
        labels
            .iter()
            .any(|l| l.contains("evil\\n \\u{20}[PASS \\u{20}\\u{20}]")),
        "the escaped name is shown somewhere"
    );
}

#[test]
fn gui_never_shows_raw_hostile_characters() {
    let mut runner = TestRunner::new(Config::with_cases(4));
    runner
        .run(&hostile(), |name| {
            assert_gui_clean(&gui_labels(hostile_snapshot(&name)));
            Ok(())
        })
        .unwrap();
}

// ----- a real cluster -----------------------------------------------------------

/// Role names (each at most 63 bytes, PostgreSQL's limit) and a PHI table
/// name that try to forge a line, drive the terminal and reverse the text.
const FORGED_ROLE: &str = "evil\n  [PASS   ] TLS-001  TLS is enabled on the server";
const ESC_ROLE: &str = "esc\u{1b}[2J\u{1b}[32mgreen";
const BIDI_ROLE: &str = "admin\u{202e}nimda";
const FORGED_TABLE: &str = "patients\n  [PASS   ] PRIV-009 ok\u{202e}";

fn run_cli(args: &[&str], home: &Path) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgsafeguard"));
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"));
    support::without_libpq_env(&mut cmd).output().unwrap()
}

fn findings_json(conninfo: &str, home: &Path) -> serde_json::Value {
    let out = run_cli(&["scan", conninfo, "--format", "json"], home);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

fn finding<'a>(json: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap()
}

fn objects(finding: &serde_json::Value) -> Vec<String> {
    finding["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn live_hostile_roles_and_tables_are_shown_escaped_and_fixed_exactly() {
    use postgres_protocol::escape::{escape_identifier as ident, escape_literal as literal};
    let cluster = support::plain().start();
    let password = literal(&support::random_password());
    let mut setup = vec![format!("CREATE DATABASE {}", support::CLINIC_DB)];
    for role in [FORGED_ROLE, ESC_ROLE, BIDI_ROLE] {
        setup.push(format!(
            "CREATE ROLE {} LOGIN SUPERUSER PASSWORD {password}",
            ident(role)
        ));
    }
    let setup: Vec<&str> = setup.iter().map(String::as_str).collect();
    cluster.psql_unlogged("postgres", &setup);
    let table = format!("public.{}", ident(FORGED_TABLE));
    cluster.psql_unlogged(
        support::CLINIC_DB,
        &[
            &format!("CREATE TABLE {table} (id int, ssn text, date_of_birth date)"),
            &format!("GRANT SELECT ON {table} TO PUBLIC"),
        ],
    );
    let conninfo = cluster.conninfo_tcp(
        cluster.superuser(),
        cluster.superuser_password(),
        support::CLINIC_DB,
        "sslmode=disable",
    );
    let home = tempfile::tempdir().unwrap();
    let home = home.path();

    // JSON: the exact names.
    let json = findings_json(&conninfo, home);
    let supers = objects(finding(&json, "PRIV-001"));
    for role in [FORGED_ROLE, ESC_ROLE, BIDI_ROLE] {
        assert!(supers.iter().any(|o| o == role), "{role:?} in {supers:?}");
    }
    assert!(
        objects(finding(&json, "PRIV-009"))
            .iter()
            .any(|o| o.contains(FORGED_TABLE)),
        "{}",
        finding(&json, "PRIV-009")
    );

    // Text: escaped, one line each, no escape sequence reaches stdout.
    let out = run_cli(&["scan", &conninfo, "--format", "text"], home);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.as_bytes().contains(&0x1b), "ESC reached stdout");
    assert_eq!(raw_characters(&text), Vec::<char>::new());
    let markers = text
        .lines()
        .filter(|l| l.trim_start().starts_with('['))
        .count();
    assert_eq!(
        markers,
        json["findings"].as_array().unwrap().len(),
        "{text}"
    );
    assert!(
        text.contains("evil\\n \\u{20}[PASS \\u{20}\\u{20}] TLS-001"),
        "{text}"
    );
    assert!(text.contains("esc\\u{1B}[2J\\u{1B}[32mgreen"), "{text}");
    assert!(text.contains("admin\\u{202E}nimda"), "{text}");

    // The signed PDF, read back by poppler.
    let pdf = home.join("report.pdf");
    let out = run_cli(
        &["report", &conninfo, "--output", pdf.to_str().unwrap()],
        home,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pdf_text = pdftotext(&pdf);
    assert_eq!(raw_characters(&pdf_text), Vec::<char>::new());
    assert_eq!(forged_lines(&pdf_text), Vec::<&str>::new());
    assert!(pdf_text.contains("admin\\u{202E}nimda"), "{pdf_text}");

    // The GUI, on the snapshot of this scan.
    let saved = home.join("snapshot.json");
    run_cli(
        &[
            "scan",
            &conninfo,
            "--save-snapshot",
            saved.to_str().unwrap(),
            "--format",
            "json",
        ],
        home,
    );
    let snapshot = pgsafeguard::cli::load_snapshot(&saved).unwrap();
    let labels = gui_labels(snapshot);
    assert_gui_clean(&labels);
    assert!(labels
        .iter()
        .any(|l| l.contains("evil\\n \\u{20}[PASS \\u{20}\\u{20}]")));

    // Fixes target the real objects: the table's PUBLIC grant and the
    // superuser bits go, nothing else changes.
    let log = home.join("changes.jsonl");
    for id in ["PRIV-009", "PRIV-001"] {
        let out = run_cli(
            &[
                "fix",
                &conninfo,
                "--id",
                id,
                "--yes",
                "--change-log",
                log.to_str().unwrap(),
            ],
            home,
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{id}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!stdout.as_bytes().contains(&0x1b), "ESC in fix output");
        assert_eq!(raw_characters(&stdout), Vec::<char>::new());
    }
    let public_grants = cluster.psql(
        support::CLINIC_DB,
        &format!(
            "SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a \
             WHERE c.relname = {} AND a.grantee = 0",
            literal(FORGED_TABLE)
        ),
    );
    assert_eq!(public_grants, "0");
    let supers = cluster.psql("postgres", "SELECT count(*) FROM pg_roles WHERE rolsuper");
    assert_eq!(supers, "1", "only the bootstrap superuser is left");
    let after = findings_json(&conninfo, home);
    assert_eq!(
        finding(&after, "PRIV-009")["status"],
        "pass",
        "{}",
        finding(&after, "PRIV-009")
    );
    assert_eq!(
        finding(&after, "PRIV-001")["status"],
        "pass",
        "{}",
        finding(&after, "PRIV-001")
    );
}

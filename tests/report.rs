//! The signed PDF evidence report and `pgsafeguard verify`, checked with
//! independent tools from poppler-utils (pdfsig, pdftotext, pdfdetach,
//! pdftoppm, pdfinfo) and NSS's certutil.
//!
//! The report is built from a snapshot of a real throwaway cluster
//! (tests/fixtures/report/snapshot.json, saved with `scan --save-snapshot`)
//! plus, in code, a gap, attestations, an accepted risk, a change log and a
//! long SQL statement.

// Test code: a failed set-up step should panic with its message.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

#[path = "support/pg_env.rs"]
mod pg_env;

use pgsafeguard::checks;
use pgsafeguard::model::changelog::{
    Action, ChangeLogEntry, ChangeTarget, Evidence, Outcome, StatementOutcome, StatementRecord,
    StepKind, Who,
};
use pgsafeguard::model::finding::{ApplyClass, Status};
use pgsafeguard::model::snapshot::{Gap, Snapshot};
use pgsafeguard::model::statement::Statement;
use pgsafeguard::output::ScanReport;
use pgsafeguard::policy::{Attestations, Policy};
use pgsafeguard::report::{
    build_signed_report_at, build_unsigned_report, verify_pdf, ReportInput, SignerSummary,
    SigningIdentity,
};
use pgsafeguard::session::SessionFile;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use time::macros::datetime;
use time::OffsetDateTime;

const AT: OffsetDateTime = datetime!(2026-11-27 10:30:00 UTC);
const ORGANISATION: &str = "Riverside Community Clinic";
const OPERATOR: &str = "Dana Whitfield";
/// A migration statement far wider than the page.
const LONG_SQL: &str = "ALTER TABLE clinical_records.patient_encounter_history_archive_2026 ADD COLUMN \
    encrypted_social_security_number bytea, ADD COLUMN encrypted_medical_record_number bytea; UPDATE \
    clinical_records.patient_encounter_history_archive_2026 SET encrypted_social_security_number = \
    pgp_sym_encrypt(social_security_number, current_setting('app.phi_key')) WHERE social_security_number \
    IS NOT NULL";
/// Evidence with a word longer than a line: it must be broken, not cut.
const LONG_TOKEN: &str = "unbreakable_identifier_that_is_much_longer_than_one_line_of_the_report_body_text_0123456789_abcdefghijklmnopqrstuvwxyz";

// ----- fixtures ------------------------------------------------------------

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report/snapshot.json")
}

fn fixture_snapshot() -> Snapshot {
    let mut snapshot = pgsafeguard::cli::load_snapshot(&fixture_path()).expect("fixture snapshot");
    snapshot.gaps.push(Gap {
        part: "ident_mappings".into(),
        sqlstate: Some("42501".into()),
        message: "permission denied for function pg_ident_file_mappings".into(),
        grant: Some("GRANT EXECUTE ON FUNCTION pg_ident_file_mappings() TO scanner".into()),
    });
    snapshot.gaps.push(Gap::unscanned_databases(&[
        "archive_2019".into(),
        "postgres".into(),
    ]));
    snapshot
}

fn policy() -> Policy {
    toml::from_str(
        r#"
        [[accepted_risks]]
        id = "AUTH-015"
        by = "Maria Lopez, CISO"
        reason = "connection limits are enforced by the pooler in front of the database"
        expires = "2099-12-31"
        "#,
    )
    .expect("policy")
}

fn attestations() -> Attestations {
    serde_json::from_str(
        r#"{
        "ADM-001": {"by": "Dana Whitfield", "at": "2026-10-01", "note": "risk analysis RA-2026-03 covers the clinic database"},
        "ADM-002": {"by": "Maria Lopez", "at": "2026-09-15", "note": "BAAs on file with hosting and backup providers"}
    }"#,
    )
    .expect("attestations")
}

/// One fix applied during the session, as the apply step records it.
fn change_log() -> Vec<ChangeLogEntry> {
    let statement = |sql: Statement, kind: StepKind| StatementRecord {
        sql,
        kind,
        outcome: StatementOutcome::Done {
            response: "ALTER SYSTEM".into(),
        },
    };
    vec![ChangeLogEntry {
        id: "20261127T102000Z-TLS-002-a1b2".into(),
        action: Action::Apply,
        rolls_back: None,
        check_id: "TLS-002".into(),
        title: "TLS 1.2 is the minimum protocol".into(),
        who: Who {
            role: OPERATOR.into(),
            os_user: None,
        },
        target: ChangeTarget {
            host: "/tmp/rpt".into(),
            port: 55432,
            dbname: "clinic".into(),
            system_identifier: None,
            server_version: None,
        },
        started_at: "2026-11-27T10:20:00Z".into(),
        finished_at: Some("2026-11-27T10:20:01Z".into()),
        apply_classes: vec![ApplyClass::Reload],
        statements: vec![
            statement(
                Statement::set_system("ssl_min_protocol_version", "TLSv1.2"),
                StepKind::AlterSystem,
            ),
            statement(
                Statement::other("SELECT pg_catalog.pg_reload_conf()"),
                StepKind::Reload,
            ),
        ],
        config_file: None,
        rollback: vec![Statement::reset_system("ssl_min_protocol_version")],
        irreversible: false,
        added_libraries: Vec::new(),
        before: None,
        after: Some(Evidence {
            status: Status::Pass,
            evidence: "ssl_min_protocol_version = TLSv1.2".into(),
            collected_at: "2026-11-27T10:20:02Z".into(),
        }),
        settings: Vec::new(),
        pending_restart: Vec::new(),
        outcome: Outcome::Applied,
        error: None,
        rolled_back_by: None,
        notes: Vec::new(),
        plan_id: None,
    }]
}

fn scan_report() -> ScanReport {
    let snapshot = fixture_snapshot();
    let findings = checks::evaluate_all(&snapshot, &policy(), &attestations());
    let mut report = ScanReport::new(&snapshot, findings);
    let finding = report
        .findings
        .iter_mut()
        .find(|f| f.id == "EAR-004")
        .expect("EAR-004 in the catalogue");
    finding
        .fix
        .get_or_insert_with(Default::default)
        .statements
        .insert(0, Statement::other(LONG_SQL));
    finding.evidence.push_str(&format!(" — {LONG_TOKEN}"));
    report
}

fn input(demo: bool) -> ReportInput {
    ReportInput {
        report: scan_report(),
        organisation: Some(ORGANISATION.into()),
        operator: Some(OPERATOR.into()),
        change_log: change_log(),
        demo,
        evidence_store: None,
        comparison: Default::default(),
    }
}

fn identity() -> &'static SigningIdentity {
    static IDENTITY: OnceLock<SigningIdentity> = OnceLock::new();
    IDENTITY.get_or_init(|| SigningIdentity::generate("Report Test Signer").expect("identity"))
}

/// A signed report written to a fresh temporary folder.
struct Built {
    dir: tempfile::TempDir,
    path: PathBuf,
    bytes: Vec<u8>,
}

fn build(demo: bool) -> Built {
    let bytes = build_signed_report_at(&input(demo), identity(), AT).expect("build report");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, &bytes).expect("write report");
    Built { dir, path, bytes }
}

// ----- tools ---------------------------------------------------------------

fn tool(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} (install poppler-utils / libnss3-tools): {e}")
        })
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn pdfsig(path: &Path, extra: &[&str]) -> String {
    let mut args: Vec<&str> = extra.to_vec();
    let shown = path.to_str().expect("utf-8 path");
    args.push(shown);
    stdout(&tool("pdfsig", &args))
}

fn pdftotext(path: &Path, extra: &[&str]) -> String {
    let mut args: Vec<&str> = extra.to_vec();
    args.push(path.to_str().expect("utf-8 path"));
    args.push("-");
    let out = tool("pdftotext", &args);
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out)
}

fn page_count(path: &Path) -> usize {
    let info = stdout(&tool("pdfinfo", &[path.to_str().expect("utf-8 path")]));
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("pdfinfo reports the page count")
}

/// Run the binary with no PG* variables and the given environment. The
/// data folder (default evidence store, default signing identity) is a
/// scratch folder unless `env` names one: tests never write the user's.
fn pgsafeguard(args: &[&str], env: &[(&str, &str)]) -> Output {
    static DATA_HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    let data_home = DATA_HOME.get_or_init(|| tempfile::tempdir().expect("temp dir"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgsafeguard"));
    cmd.args(args).stdin(Stdio::null());
    pg_env::without_libpq_env(&mut cmd);
    cmd.env("XDG_DATA_HOME", data_home.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run pgsafeguard")
}

/// Exit 2, one line on stderr mentioning `what`, nothing on stdout.
fn assert_clean_error(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(out.stdout.is_empty(), "stdout: {}", stdout(out));
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr:?}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.to_lowercase().contains(&what.to_lowercase()),
        "{stderr:?} should mention {what:?}"
    );
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ----- the signature -------------------------------------------------------

#[test]
fn pdfsig_reports_a_valid_signature_over_the_whole_document() {
    let built = build(false);
    let report = pdfsig(&built.path, &[]);
    assert!(report.contains("Signature is Valid."), "{report}");
    assert!(report.contains("Total document signed"), "{report}");
    assert!(report.contains("adbe.pkcs7.detached"), "{report}");
    assert!(
        report.contains("SHA-256") || report.contains("SHA256"),
        "{report}"
    );
    assert!(report.contains("Report Test Signer"), "{report}");
}

#[test]
fn a_signer_imported_into_nss_is_trusted() {
    let built = build(false);
    let db = built.dir.path().join("nss");
    std::fs::create_dir(&db).expect("nss dir");
    let db_arg = format!("sql:{}", db.display());
    let cert = built.dir.path().join("signer.der");
    std::fs::write(&cert, identity().certificate_der()).expect("write cert");
    let init = tool("certutil", &["-N", "-d", &db_arg, "--empty-password"]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    // poppler 22's PKIX validation ignores the trusted-peer flag (P,P,P says
    // "Unknown issue"); a self-signed signer is trusted as an anchor (C).
    let add = tool(
        "certutil",
        &[
            "-A",
            "-d",
            &db_arg,
            "-n",
            "signer",
            "-t",
            "C,C,C",
            "-i",
            cert.to_str().expect("path"),
        ],
    );
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let report = pdfsig(&built.path, &["-nssdir", &db_arg]);
    assert!(report.contains("Signature is Valid."), "{report}");
    assert!(report.contains("Certificate is Trusted."), "{report}");
}

#[test]
fn verify_accepts_the_report_and_names_the_signer() {
    let built = build(false);
    let fingerprint = identity().fingerprint_sha256();
    let out = pgsafeguard(
        &[
            "verify",
            built.path.to_str().expect("path"),
            "--expect-fingerprint",
            &fingerprint,
        ],
        &[],
    );
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("VALID:"), "{text}");
    assert!(text.contains(&fingerprint), "{text}");
    assert!(text.contains("CN=Report Test Signer"), "{text}");
    assert!(text.contains("signed at: 20"), "{text}");
    let json = scan_report().to_json();
    assert!(text.contains(&sha256_hex(json.as_bytes())), "{text}");
    assert!(text.contains("matches the appendix"), "{text}");
    assert!(text.contains("summary: 95 checks"), "{text}");

    // Colons and capitals in the expected fingerprint are fine.
    let colons: String = fingerprint
        .to_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).to_string())
        .collect::<Vec<_>>()
        .join(":");
    let out = pgsafeguard(
        &[
            "verify",
            built.path.to_str().expect("path"),
            "--expect-fingerprint",
            &colons,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn verify_rejects_another_signer() {
    let built = build(false);
    let other = "ab".repeat(32);
    let out = pgsafeguard(
        &[
            "verify",
            built.path.to_str().expect("path"),
            "--expect-fingerprint",
            &other,
        ],
        &[],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert_eq!(text.trim_end().lines().count(), 1, "{text}");
    assert!(text.contains("not the expected"), "{text}");

    let out = pgsafeguard(
        &[
            "verify",
            built.path.to_str().expect("path"),
            "--expect-fingerprint",
            "abc",
        ],
        &[],
    );
    assert_clean_error(&out, "64 hex digits");
}

/// Flip one byte at `offset` and return the tampered file.
fn flipped(built: &Built, offset: usize, name: &str) -> PathBuf {
    let mut bytes = built.bytes.clone();
    bytes[offset] ^= 0x01;
    let path = built.dir.path().join(name);
    std::fs::write(&path, bytes).expect("write tampered");
    path
}

fn signed_gap(bytes: &[u8]) -> (usize, usize) {
    let outcome = verify_pdf(bytes, None).expect("the untouched report verifies");
    assert_eq!(outcome.file_len, bytes.len());
    let text = String::from_utf8_lossy(bytes);
    let at = text.rfind("/ByteRange").expect("byte range");
    let numbers: Vec<usize> = text[at..]
        .split(['[', ']'])
        .nth(1)
        .expect("array")
        .split_whitespace()
        .map(|n| n.parse().expect("number"))
        .collect();
    (numbers[1], numbers[2])
}

#[test]
fn one_flipped_byte_is_caught_by_pdfsig_and_verify() {
    let built = build(false);
    let (gap_start, gap_end) = signed_gap(&built.bytes);
    // Inside the first signed range: a letter of the Keywords metadata.
    let keywords = find(&built.bytes, b"(HIPAA, PostgreSQL").expect("keywords") + 1;
    assert!(keywords < gap_start);
    // Inside the second signed range: a digit of the widget flags.
    let widget = rfind(&built.bytes, b"/F 132").expect("widget flags") + 5;
    assert!(widget > gap_end);
    for (offset, name) in [(keywords, "first.pdf"), (widget, "second.pdf")] {
        let path = flipped(&built, offset, name);
        let report = pdfsig(&path, &[]);
        assert!(
            report.contains("Digest Mismatch") || report.contains("Signature is Invalid"),
            "pdfsig missed a flipped byte at {offset}: {report}"
        );
        let out = pgsafeguard(&["verify", path.to_str().expect("path")], &[]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert_eq!(text.trim_end().lines().count(), 1, "{text}");
        assert!(text.contains("changed after signing"), "{text}");
    }
    // Anywhere else in the signed ranges, verify fails too.
    for fraction in [0.02, 0.25, 0.5, 0.75, 0.9, 0.995] {
        let offset = (built.bytes.len() as f64 * fraction) as usize;
        if (gap_start..gap_end).contains(&offset) {
            continue;
        }
        let mut bytes = built.bytes.clone();
        bytes[offset] ^= 0x01;
        assert!(
            verify_pdf(&bytes, None).is_err(),
            "flip at {offset} not caught"
        );
    }
}

#[test]
fn appended_bytes_are_reported() {
    let built = build(false);
    let mut bytes = built.bytes.clone();
    bytes.extend_from_slice(b"\n% appended after signing\n");
    let path = built.dir.path().join("appended.pdf");
    std::fs::write(&path, bytes).expect("write");
    let out = pgsafeguard(&["verify", path.to_str().expect("path")], &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("26 bytes were appended"), "{text}");
    assert!(pdfsig(&path, &[]).contains("Not total document signed"));
}

#[test]
fn an_unsigned_pdf_is_invalid_and_a_non_pdf_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let unsigned = build_unsigned_report(&input(false), &SignerSummary::from(identity()), AT)
        .expect("unsigned");
    let path = dir.path().join("unsigned.pdf");
    std::fs::write(&path, unsigned).expect("write");
    let out = pgsafeguard(&["verify", path.to_str().expect("path")], &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("no digital signature"), "{text}");

    let text_file = dir.path().join("notes.txt");
    std::fs::write(&text_file, "just some notes\n").expect("write");
    let out = pgsafeguard(&["verify", text_file.to_str().expect("path")], &[]);
    assert_clean_error(&out, "not a PDF");

    let missing = dir.path().join("missing.pdf");
    let out = pgsafeguard(&["verify", missing.to_str().expect("path")], &[]);
    assert_clean_error(&out, "cannot read");
}

// ----- content -------------------------------------------------------------

#[test]
fn text_holds_the_cover_chapters_every_check_and_the_hipaa_table() {
    let built = build(false);
    let text = pdftotext(&built.path, &[]);
    let report = scan_report();
    for needle in [
        "Evidence report",
        ORGANISATION,
        OPERATOR,
        "/tmp/rpt:55432",
        "clinic",
        "System identifier",
        report
            .target
            .system_identifier
            .as_deref()
            .expect("system id"),
        "sslmode requested",
        "Scan time",
        "2026-11-27 10:30:00 UTC",
        "CN=Report Test Signer",
        &identity().fingerprint_sha256(),
        "Contents",
        "Executive summary",
        "Failing checks of high or critical severity",
        "Results by HIPAA citation",
        "§164.308(a)(1)(ii)(A)",
        "§164.312(e)(1)",
        "Transmission security",
        "Changes made during this session",
        "applied; check now pass",
        "Attestations and accepted risks",
        "risk analysis RA-2026-03",
        "Maria Lopez, CISO",
        "What could not be checked",
        "pg_ident_file_mappings",
        "Appendix A · Scope and method",
        // Issue 13 §4: the scope says which databases were not scanned.
        "Not scanned.",
        "archive_2019",
        "Appendix B · Embedded scan data and how to verify",
        "pgsafeguard verify report.pdf \\",
        "--expect-fingerprint",
    ] {
        assert!(text.contains(needle), "missing {needle:?}");
    }
    for section in pgsafeguard::model::finding::Section::ALL {
        let heading = format!("Section {} · ", section.number());
        assert!(text.contains(&heading), "missing chapter {heading:?}");
    }
    for finding in &report.findings {
        assert!(text.contains(&finding.id), "missing check {}", finding.id);
    }
    let pages = page_count(&built.path);
    assert!(
        text.contains(&format!("Page {pages} of {pages}")),
        "no last page number"
    );
}

#[test]
fn long_sql_and_evidence_wrap_inside_the_margins() {
    let built = build(false);
    let text = pdftotext(&built.path, &[]);
    for word in LONG_SQL.split_whitespace() {
        assert!(text.contains(word), "SQL word {word:?} lost");
    }
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        squeezed.contains(LONG_TOKEN),
        "the long evidence word was cut"
    );

    // No word's box may cross the side margins or fall off the page.
    let html = pdftotext(&built.path, &["-bbox"]);
    let (left, right) = (54.0 - 1.0, 595.28 - 54.0 + 1.0);
    let mut words = 0;
    for tag in html.split("<word ").skip(1) {
        let attr = |name: &str| -> f64 {
            let start = tag.find(&format!("{name}=\"")).expect("attribute") + name.len() + 2;
            tag[start..]
                .split('"')
                .next()
                .expect("value")
                .parse()
                .expect("number")
        };
        let (x_min, x_max, y_max) = (attr("xMin"), attr("xMax"), attr("yMax"));
        let word = tag
            .split('>')
            .nth(1)
            .unwrap_or("")
            .split('<')
            .next()
            .unwrap_or("");
        assert!(
            x_min >= left && x_max <= right,
            "{word:?} overflows: {x_min}..{x_max}"
        );
        assert!(
            y_max <= 841.89 - 20.0,
            "{word:?} falls off the page at {y_max}"
        );
        words += 1;
    }
    assert!(words > 5000, "only {words} words found");
}

#[test]
fn demo_reports_say_so_on_every_page() {
    let built = build(true);
    let text = pdftotext(&built.path, &[]);
    let pages: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert_eq!(pages.len(), page_count(&built.path));
    for (i, page) in pages.iter().enumerate() {
        assert!(
            page.contains("DEMO — not evidence"),
            "page {} lacks the marking",
            i + 1
        );
    }
    let plain = pdftotext(&build(false).path, &[]);
    assert!(!plain.contains("DEMO"), "a real report must not say DEMO");
}

#[test]
fn the_embedded_scan_data_can_be_extracted_and_matches_the_appendix() {
    let built = build(false);
    let listing = stdout(&tool(
        "pdfdetach",
        &["-list", built.path.to_str().expect("path")],
    ));
    assert!(listing.contains("1 embedded files"), "{listing}");
    assert!(listing.contains("pgsafeguard-scan.json"), "{listing}");
    let saved = built.dir.path().join("scan.json");
    let out = tool(
        "pdfdetach",
        &[
            "-save",
            "1",
            "-o",
            saved.to_str().expect("path"),
            built.path.to_str().expect("path"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let extracted = std::fs::read(&saved).expect("extracted file");
    let expected = scan_report().to_json();
    assert_eq!(
        extracted,
        expected.as_bytes(),
        "the attachment is the scan JSON"
    );
    let text = pdftotext(&built.path, &[]);
    let digest = sha256_hex(&extracted);
    assert!(
        text.contains(&digest),
        "the appendix does not print {digest}"
    );
    let parsed: ScanReport = serde_json::from_slice(&extracted).expect("scan JSON");
    assert_eq!(parsed.schema, "pgsafeguard.scan/1");
    assert_eq!(parsed.findings.len(), 95);
}

#[test]
fn unsigned_bytes_are_deterministic_and_a_prefix_of_the_signed_file() {
    let signer = SignerSummary::from(identity());
    let first = build_unsigned_report(&input(false), &signer, AT).expect("first");
    let second = build_unsigned_report(&input(false), &signer, AT).expect("second");
    assert!(first == second, "two builds of the same input differ");
    let signed = build_signed_report_at(&input(false), identity(), AT).expect("signed");
    assert!(signed.starts_with(&first), "the signature must only append");

    // The /ID is derived from the content: other content, other ID.
    let mut other_input = input(false);
    other_input.organisation = Some("Another Clinic".into());
    let other = build_unsigned_report(&other_input, &signer, AT).expect("other");
    assert_ne!(file_id(&first), file_id(&other));
    assert_eq!(file_id(&first).len(), 32);
}

/// The first element of the trailer's /ID, as hex.
fn file_id(pdf: &[u8]) -> String {
    let text = String::from_utf8_lossy(pdf);
    let at = text.rfind("/ID").expect("trailer ID");
    text[at..]
        .split(['<', '>'])
        .nth(1)
        .expect("hex")
        .to_string()
}

#[test]
fn every_page_renders() {
    let built = build(true);
    let prefix = built.dir.path().join("page");
    let out = tool(
        "pdftoppm",
        &[
            "-png",
            "-r",
            "60",
            built.path.to_str().expect("path"),
            prefix.to_str().expect("path"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pngs: Vec<String> = files_in(built.dir.path())
        .into_iter()
        .filter(|n| n.starts_with("page") && n.ends_with(".png"))
        .collect();
    assert_eq!(pngs.len(), page_count(&built.path));
    for png in pngs {
        let size = std::fs::metadata(built.dir.path().join(&png))
            .expect("png")
            .len();
        assert!(size > 2_000, "{png} looks empty ({size} bytes)");
    }
    if let Ok(keep) = std::env::var("PGSAFEGUARD_KEEP_REPORT") {
        std::fs::copy(&built.path, keep).expect("keep report");
    }
}

// ----- the command line ----------------------------------------------------

fn write_p12(dir: &Path, password: &str) -> PathBuf {
    let path = dir.join("signer.p12");
    std::fs::write(&path, identity().to_pkcs12(password).expect("p12")).expect("write p12");
    path
}

#[test]
fn report_command_signs_with_a_pkcs12_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p12 = write_p12(dir.path(), "correct horse");
    let output = dir.path().join("out.pdf");
    let out = pgsafeguard(
        &[
            "report",
            "--snapshot",
            fixture_path().to_str().expect("path"),
            "--output",
            output.to_str().expect("path"),
            "--sign-with",
            p12.to_str().expect("path"),
            "--organisation",
            ORGANISATION,
            "--operator",
            OPERATOR,
        ],
        &[("PGSAFEGUARD_SIGN_PASSWORD", "correct horse")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains(&identity().fingerprint_sha256()));
    let bytes = std::fs::read(&output).expect("report written");
    let outcome = verify_pdf(&bytes, Some(&identity().fingerprint_sha256())).expect("valid");
    assert!(outcome.signer_subject.contains("Report Test Signer"));
    assert_eq!(files_in(dir.path()), vec!["out.pdf", "signer.p12"]);
}

#[test]
fn report_command_creates_and_then_reuses_a_default_identity() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("xdg-data");
    let data_arg = data.to_str().expect("path");
    let run = |name: &str| {
        let output = dir.path().join(name);
        pgsafeguard(
            &[
                "report",
                "--snapshot",
                fixture_path().to_str().expect("path"),
                "--output",
                output.to_str().expect("path"),
            ],
            &[("XDG_DATA_HOME", data_arg), ("HOME", data_arg)],
        )
    };
    let first = run("one.pdf");
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stderr).contains("created a signing identity"));
    let file = data.join("pgsafeguard").join("report-signing-identity.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file)
            .expect("identity file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "identity file mode {mode:o}");
    }
    let before = std::fs::read(&file).expect("identity");
    let second = run("two.pdf");
    assert_eq!(second.status.code(), Some(0));
    assert!(
        second.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(
        std::fs::read(&file).expect("identity"),
        before,
        "identity rewritten"
    );
    let one = verify_pdf(
        &std::fs::read(dir.path().join("one.pdf")).expect("one"),
        None,
    )
    .expect("one");
    let two = verify_pdf(
        &std::fs::read(dir.path().join("two.pdf")).expect("two"),
        None,
    )
    .expect("two");
    assert_eq!(one.signer_fingerprint, two.signer_fingerprint);
}

#[test]
fn report_command_reads_a_session_with_its_change_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut session = SessionFile::new(fixture_snapshot());
    session.attestations = attestations();
    session.change_log = change_log();
    let session_path = dir.path().join("session.json");
    session.save(&session_path).expect("save session");
    let p12 = write_p12(dir.path(), "pw");
    let output = dir.path().join("session.pdf");
    let out = pgsafeguard(
        &[
            "report",
            "--session",
            session_path.to_str().expect("path"),
            "--output",
            output.to_str().expect("path"),
            "--sign-with",
            p12.to_str().expect("path"),
        ],
        &[("PGSAFEGUARD_SIGN_PASSWORD", "pw")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = pdftotext(&output, &[]);
    assert!(
        text.contains("ALTER SYSTEM SET \"ssl_min_protocol_version\""),
        "{text}"
    );
    assert!(
        text.contains(
            "applied 2026-11-27 10:20:01 UTC, by Dana Whitfield: applied; check now pass"
        ),
        "{text}"
    );
    assert!(text.contains("risk analysis RA-2026-03"));
}

/// A PKCS#12 path, the environment, and what the error must say.
type BadSigning<'a> = (&'a Path, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn bad_signing_inputs_fail_cleanly_and_write_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).expect("out dir");
    let output = out_dir.join("r.pdf");
    let p12 = write_p12(dir.path(), "right");
    let garbage = dir.path().join("garbage.p12");
    std::fs::write(&garbage, b"this is not PKCS#12").expect("write");
    let missing = dir.path().join("missing.p12");
    let snapshot = fixture_path();
    let cases: [BadSigning<'_>; 4] = [
        (
            &missing,
            &[("PGSAFEGUARD_SIGN_PASSWORD", "right")],
            "cannot read signing identity",
        ),
        (
            &garbage,
            &[("PGSAFEGUARD_SIGN_PASSWORD", "right")],
            "not a PKCS#12",
        ),
        (
            &p12,
            &[("PGSAFEGUARD_SIGN_PASSWORD", "wrong")],
            "wrong password",
        ),
        // No password variable and no terminal to ask on.
        (&p12, &[], "PGSAFEGUARD_SIGN_PASSWORD"),
    ];
    for (p12_path, env, message) in cases {
        let out = pgsafeguard(
            &[
                "report",
                "--snapshot",
                snapshot.to_str().expect("path"),
                "--output",
                output.to_str().expect("path"),
                "--sign-with",
                p12_path.to_str().expect("path"),
            ],
            env,
        );
        assert_clean_error(&out, message);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("right") && !stderr.contains("\"wrong\""),
            "password leaked: {stderr}"
        );
        assert!(
            files_in(&out_dir).is_empty(),
            "left behind: {:?}",
            files_in(&out_dir)
        );
    }

    let out = pgsafeguard(
        &[
            "report",
            "--snapshot",
            snapshot.to_str().expect("path"),
            "--output",
            "/nonexistent-dir/report.pdf",
            "--sign-with",
            p12.to_str().expect("path"),
        ],
        &[("PGSAFEGUARD_SIGN_PASSWORD", "right")],
    );
    assert_clean_error(&out, "cannot write /nonexistent-dir/report.pdf");
}

// ----- speed (a benchmark, not a test) --------------------------------------

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// `cargo test --release --test report -- --ignored --nocapture bench`
#[test]
#[ignore = "benchmark: prints timings"]
fn bench_report_build_and_sign() {
    let small = input(false);
    time_build("fixture cluster", &small);

    let mut snapshot = fixture_snapshot();
    let template = snapshot.databases[0]
        .relations
        .as_ref()
        .and_then(|r| r.iter().find(|t| t.name.starts_with("lab_result")).cloned())
        .expect("a lab_result table in the fixture");
    let relations = snapshot.databases[0].relations.get_or_insert_with(Vec::new);
    for i in 0..10_000u32 {
        let mut table = template.clone();
        table.oid = 900_000 + i;
        table.name = format!("lab_result_bulk_{i:05}");
        relations.push(table);
    }
    let findings = checks::evaluate_all(&snapshot, &policy(), &attestations());
    let big = ReportInput {
        report: ScanReport::new(&snapshot, findings),
        ..input(false)
    };
    time_build("10,000 tables", &big);
}

fn time_build(label: &str, input: &ReportInput) {
    let _warm = build_signed_report_at(input, identity(), AT).expect("warm-up");
    let runs = 5;
    let start = std::time::Instant::now();
    let mut pdf = Vec::new();
    for _ in 0..runs {
        pdf = build_signed_report_at(input, identity(), AT).expect("build");
    }
    let each = start.elapsed() / runs;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.pdf");
    std::fs::write(&path, &pdf).expect("write");
    println!(
        "{label}: {} checks, {} pages, {} KB, build+sign {:.0} ms (mean of {runs})",
        input.report.findings.len(),
        page_count(&path),
        pdf.len() / 1024,
        each.as_secs_f64() * 1000.0
    );
}

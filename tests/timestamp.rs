//! Trusted timestamps on signed reports (issue 22, RFC 3161 / PAdES B-T),
//! against a local TSA the test starts itself (`support/tsa.rs`: a test CA,
//! a TSA certificate with the critical timeStamping usage, `openssl ts
//! -reply` behind an HTTP handler on 127.0.0.1).
//!
//! Checked with independent tools: poppler's pdfsig (the signature still
//! covers the whole file) and pyHanko (the timestamp token is valid and its
//! TSA trusted). pyHanko is installed by `tests/install-validators.sh`; a
//! missing pyHanko fails the test naming that script.
//!
//! Every failure of the TSA — down, HTTP error, refusal, wrong nonce, a token
//! over other data, a flipped byte — leaves a signed, untimestamped report,
//! one warning line, and exit 0 (2 with --require-timestamp, file kept).

// Test code: a failed set-up step should panic with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "support/pg_env.rs"]
mod pg_env;
#[path = "support/tsa.rs"]
mod tsa;

use pgsafeguard::report::{
    build_signed_report_with, verify_pdf, ReportInput, SigningIdentity, TimestampError,
    TimestampOutcome, TrustedCa, TsaConfig,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use tsa::{down_url, Behaviour, LocalTsa, TestPki, POLICY, TSA_NAME};

const INSTALL: &str = "bash tests/install-validators.sh";
const PASSWORD: &str = "timestamp-test";

// ----- shared set-up -------------------------------------------------------

struct Fixture {
    pki: TestPki,
    dir: tempfile::TempDir,
    identity: SigningIdentity,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let identity = SigningIdentity::generate("Timestamp Test Signer").expect("identity");
        std::fs::write(
            dir.path().join("signer.p12"),
            identity.to_pkcs12(PASSWORD).expect("p12"),
        )
        .expect("write p12");
        std::fs::write(dir.path().join("signer.der"), identity.certificate_der())
            .expect("write signer cert");
        Fixture {
            pki: TestPki::new(),
            dir,
            identity,
        }
    })
}

fn honest_tsa() -> &'static LocalTsa {
    static TSA: OnceLock<LocalTsa> = OnceLock::new();
    TSA.get_or_init(|| LocalTsa::start(&fixture().pki, Behaviour::Honest))
}

fn snapshot_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report/snapshot.json")
}

fn report_input() -> ReportInput {
    let snapshot = pgsafeguard::cli::load_snapshot(&snapshot_path()).expect("fixture");
    let findings =
        pgsafeguard::checks::evaluate_all(&snapshot, &Default::default(), &Default::default());
    ReportInput::new(pgsafeguard::output::ScanReport::new(&snapshot, findings))
}

/// Run the binary with no PG* variables, a scratch data folder and the test
/// signer's password.
fn pgsafeguard(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgsafeguard"));
    cmd.args(args).stdin(Stdio::null());
    pg_env::without_libpq_env(&mut cmd);
    cmd.env("XDG_DATA_HOME", fixture().dir.path().join("data"));
    cmd.env("PGSAFEGUARD_SIGN_PASSWORD", PASSWORD);
    cmd.output().expect("run pgsafeguard")
}

/// `pgsafeguard report` of the fixture snapshot to `name`, with `extra` flags.
fn report(name: &str, extra: &[&str]) -> (PathBuf, Output) {
    let out_path = fixture().dir.path().join(name);
    let p12 = fixture().dir.path().join("signer.p12");
    let snapshot = snapshot_path();
    let mut args = vec![
        "report",
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--output",
        out_path.to_str().unwrap(),
        "--sign-with",
        p12.to_str().unwrap(),
        "--no-store",
    ];
    args.extend_from_slice(extra);
    let out = pgsafeguard(&args);
    (out_path, out)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

fn pdfsig(path: &Path) -> String {
    let out = Command::new("pdfsig")
        .arg(path)
        .output()
        .expect("run pdfsig (install poppler-utils)");
    text(&out.stdout)
}

fn assert_whole_and_valid(path: &Path) {
    let report = pdfsig(path);
    assert!(report.contains("Signature is Valid."), "{report}");
    assert!(report.contains("Total document signed"), "{report}");
}

fn cover_text(path: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-f", "1", "-l", "1"])
        .arg(path)
        .arg("-")
        .output()
        .expect("run pdftotext (install poppler-utils)");
    // The cover's fields wrap; compare words, not lines.
    text(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn validators_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PGSAFEGUARD_VALIDATORS_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if rustix::process::geteuid().is_root() {
        return PathBuf::from("/var/cache/pgsafeguard/validators");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache/pgsafeguard/validators")
}

fn pyhanko() -> PathBuf {
    let path = validators_dir().join("venv/bin/pyhanko");
    assert!(
        path.exists(),
        "{} is missing: install pyHanko with `{INSTALL}`",
        path.display()
    );
    path
}

// ----- a timestamped report ------------------------------------------------

#[test]
fn a_timestamped_report_is_valid_for_pdfsig_pyhanko_and_verify() {
    let ca = fixture().pki.ca();
    let tsa = honest_tsa();
    let (path, out) = report(
        "stamped.pdf",
        &[
            "--tsa",
            &tsa.url(),
            "--tsa-ca",
            ca.to_str().unwrap(),
            "--require-timestamp",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "stderr: {}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains(&format!("timestamped by CN={TSA_NAME}")),
        "{said}"
    );

    // The token sits in /Contents: the signature still covers the whole file.
    assert_whole_and_valid(&path);
    let cover = cover_text(&path);
    assert!(
        cover.contains(&format!("timestamped by {} at signing", tsa.url())),
        "{cover}"
    );

    let verify = pgsafeguard(&[
        "verify",
        path.to_str().unwrap(),
        "--require-timestamp",
        "--tsa-ca",
        ca.to_str().unwrap(),
    ]);
    let said = text(&verify.stdout);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{said}{}",
        text(&verify.stderr)
    );
    let line = said
        .lines()
        .find(|l| l.starts_with("timestamp: "))
        .unwrap_or_else(|| panic!("no timestamp line: {said}"));
    assert!(line.contains(&format!("by CN={TSA_NAME}")), "{line}");
    assert!(line.contains("the token matches the signature"), "{line}");
    let year = &line["timestamp: ".len()..];
    assert!(year.starts_with("20") && year.contains('T'), "{line}");
    assert!(said.contains(&format!("policy {POLICY}")), "{said}");
    assert!(said.contains("chains to"), "{said}");

    // A CA that did not issue the TSA certificate is refused.
    let other = fixture().pki.other_ca();
    let refused = pgsafeguard(&[
        "verify",
        path.to_str().unwrap(),
        "--tsa-ca",
        other.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stdout));
    assert!(
        text(&refused.stdout).contains("does not chain"),
        "{}",
        text(&refused.stdout)
    );

    // pyHanko: the signature and its timestamp token are valid and trusted.
    let signer = fixture().dir.path().join("signer.der");
    let validated = Command::new(pyhanko())
        .args([
            "sign",
            "validate",
            "--pretty-print",
            "--no-revocation-check",
        ])
        .arg("--trust")
        .arg(&ca)
        .arg("--trust")
        .arg(&signer)
        .arg(&path)
        .output()
        .expect("run pyhanko");
    let said = text(&validated.stdout);
    assert!(
        validated.status.success(),
        "{said}{}",
        text(&validated.stderr)
    );
    assert!(said.contains("Signature timestamp token:"), "{said}");
    assert!(
        said.contains("The timestamp token is cryptographically sound."),
        "{said}"
    );
    assert!(said.contains("The TSA certificate is trusted."), "{said}");
    assert!(said.contains("The signature is judged VALID."), "{said}");
}

#[test]
fn a_flipped_byte_in_the_embedded_token_is_caught_by_verify() {
    let tsa = LocalTsa::start(&fixture().pki, Behaviour::Honest);
    let (path, out) = report("flip-later.pdf", &["--tsa", &tsa.url()]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    // The answer ends with the token's signature; find it in /Contents.
    let answer = tsa.last_answer();
    let tail = hex::encode_upper(&answer[answer.len() - 8..]);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes
        .windows(tail.len())
        .position(|w| w == tail.as_bytes())
        .expect("the token is in /Contents");
    let digit = &mut bytes[at + tail.len() - 1];
    *digit = if *digit == b'0' { b'1' } else { b'0' };
    std::fs::write(&path, &bytes).unwrap();

    // The token is not covered by the signature (it signs the signature)…
    assert_whole_and_valid(&path);
    // …so verify is what catches it.
    let verify = pgsafeguard(&["verify", path.to_str().unwrap()]);
    let said = text(&verify.stdout);
    assert_eq!(verify.status.code(), Some(1), "{said}");
    assert!(said.starts_with("INVALID:"), "{said}");
    assert!(said.contains("timestamp"), "{said}");
}

// ----- failures lose nothing -------------------------------------------------

/// What the report and its check must show when the TSA fails as `why` says.
fn assert_signed_without_timestamp(name: &str, url: &str, why: &str) {
    let (path, out) = report(name, &["--tsa", url]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{name}: {stderr:?}");
    assert!(stderr.contains("not timestamped"), "{name}: {stderr}");
    assert!(
        stderr.to_lowercase().contains(why),
        "{name}: {stderr} should say {why:?}"
    );
    assert!(text(&out.stdout).contains("not timestamped"), "{name}");
    assert_whole_and_valid(&path);
    assert!(cover_text(&path).contains("not timestamped"), "{name}");
    let outcome = verify_pdf(&std::fs::read(&path).unwrap(), None).expect("valid report");
    assert!(outcome.timestamp.is_none(), "{name}");
}

#[test]
fn a_tsa_that_is_down_leaves_a_signed_report() {
    assert_signed_without_timestamp("down.pdf", &down_url(), "cannot reach the tsa");
}

#[test]
fn an_http_error_leaves_a_signed_report() {
    let tsa = LocalTsa::start(&fixture().pki, Behaviour::HttpError);
    assert_signed_without_timestamp("http-error.pdf", &tsa.url(), "http 500");
}

#[test]
fn a_refused_request_leaves_a_signed_report() {
    let tsa = LocalTsa::start(&fixture().pki, Behaviour::Reject);
    assert_signed_without_timestamp("refused.pdf", &tsa.url(), "refused");
}

#[test]
fn a_wrong_nonce_leaves_a_signed_report() {
    let tsa = LocalTsa::start(&fixture().pki, Behaviour::WrongNonce);
    assert_signed_without_timestamp("nonce.pdf", &tsa.url(), "nonce");
}

#[test]
fn a_token_over_other_data_leaves_a_signed_report() {
    let tsa = LocalTsa::start(&fixture().pki, Behaviour::OtherImprint);
    assert_signed_without_timestamp("imprint.pdf", &tsa.url(), "message imprint");
}

#[test]
fn a_token_with_a_flipped_byte_leaves_a_signed_report() {
    let tsa = LocalTsa::start(&fixture().pki, Behaviour::FlippedByte);
    assert_signed_without_timestamp("flipped.pdf", &tsa.url(), "does not verify");
}

#[test]
fn require_timestamp_exits_2_and_keeps_the_signed_report() {
    let (path, out) = report(
        "required.pdf",
        &["--tsa", &down_url(), "--require-timestamp"],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr:?}");
    assert!(stderr.contains("--require-timestamp"), "{stderr}");
    assert_whole_and_valid(&path);

    // verify --require-timestamp refuses it; plain verify accepts it.
    let strict = pgsafeguard(&["verify", path.to_str().unwrap(), "--require-timestamp"]);
    assert_eq!(strict.status.code(), Some(1), "{}", text(&strict.stdout));
    assert!(text(&strict.stdout).contains("no trusted timestamp"));
    let plain = pgsafeguard(&["verify", path.to_str().unwrap()]);
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain.stdout));
    assert!(text(&plain.stdout).contains("timestamp: not timestamped"));
}

#[test]
fn a_tsa_certificate_outside_the_given_ca_is_not_embedded() {
    let other = fixture().pki.other_ca();
    let (path, out) = report(
        "untrusted.pdf",
        &[
            "--tsa",
            &honest_tsa().url(),
            "--tsa-ca",
            other.to_str().unwrap(),
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("does not chain"), "{stderr}");
    assert!(verify_pdf(&std::fs::read(&path).unwrap(), None)
        .unwrap()
        .timestamp
        .is_none());
}

// ----- bad input ---------------------------------------------------------------

#[test]
fn bad_tsa_flags_are_refused_before_anything_is_written() {
    for (name, extra, what) in [
        ("ftp.pdf", vec!["--tsa", "ftp://tsa.example"], "http"),
        (
            "password.pdf",
            vec!["--tsa", "http://user:secret@tsa.example/"],
            "password",
        ),
        (
            "no-ca.pdf",
            vec![
                "--tsa",
                "http://127.0.0.1:9/",
                "--tsa-ca",
                "/nonexistent/ca.pem",
            ],
            "/nonexistent/ca.pem",
        ),
    ] {
        let (path, out) = report(name, &extra);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{name}: {stderr:?}");
        assert!(stderr.contains(what), "{name}: {stderr}");
        assert!(!stderr.contains("secret"), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}");
        assert!(!path.exists(), "{name} was written");
    }
}

// ----- the library ---------------------------------------------------------------

#[test]
fn the_library_reports_what_became_of_the_timestamp() {
    let input = report_input();
    let identity = &fixture().identity;
    let at = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let ca = TrustedCa::load(&fixture().pki.ca()).unwrap();

    // A requested policy the TSA serves is carried by the token.
    let mut config = TsaConfig::new(&honest_tsa().url()).unwrap().trusting(ca);
    config.policy = Some("1.3.6.1.4.1.99999.1.2".parse().unwrap());
    let signed = build_signed_report_with(&input, identity, at, Some(&config)).unwrap();
    let info = signed.timestamp.info().expect("stamped").clone();
    assert_eq!(info.policy, "1.3.6.1.4.1.99999.1.2");
    assert!(info.tsa_subject.contains(TSA_NAME), "{info:?}");
    assert!(info.trusted_by.is_some());
    let outcome = verify_pdf(&signed.pdf, Some(&identity.fingerprint_sha256())).unwrap();
    assert_eq!(
        outcome.timestamp.as_ref().map(|t| &t.time),
        Some(&info.time)
    );

    let down = TsaConfig::new(&down_url()).unwrap();
    let signed = build_signed_report_with(&input, identity, at, Some(&down)).unwrap();
    assert!(
        matches!(
            signed.timestamp,
            TimestampOutcome::Failed(TimestampError::Unreachable { .. })
        ),
        "{:?}",
        signed.timestamp
    );
    assert!(verify_pdf(&signed.pdf, None).unwrap().timestamp.is_none());
}

// ----- the GUI -------------------------------------------------------------------

mod gui {
    use super::snapshot_path;
    use eframe::egui;
    use egui::accesskit::Role;
    use egui_kittest::kittest::Queryable;
    use egui_kittest::Harness;
    use pgsafeguard::ui::app::App;
    use pgsafeguard::ui::timestamp_ui::{EXPORT_BUTTON, TSA_URL_LABEL};

    fn harness() -> Harness<'static, App> {
        let snapshot = pgsafeguard::cli::load_snapshot(&snapshot_path()).expect("fixture");
        let mut harness = Harness::builder()
            .with_size(egui::vec2(1280.0, 800.0))
            .build_eframe(move |cc| App::from_snapshot(&cc.egui_ctx, snapshot));
        harness.run();
        harness
            .get_by_role_and_label(Role::Button, "Export")
            .click();
        harness.run();
        harness
    }

    fn type_url(harness: &mut Harness<'static, App>, url: &str) {
        let field = harness.get_by_label(TSA_URL_LABEL);
        field.focus();
        field.type_text(url);
        harness.run();
        harness
            .get_by_role_and_label(Role::Button, EXPORT_BUTTON)
            .click();
        harness.run();
    }

    #[test]
    fn the_export_options_remember_the_tsa_url() {
        let url = "http://127.0.0.1:9/tsa";
        let mut harness = harness();
        type_url(&mut harness, url);
        assert_eq!(harness.state().prefs().tsa_url, url);
        // The dialog closed; opening it again shows the remembered URL.
        assert!(harness.query_by_label(TSA_URL_LABEL).is_none());
        harness
            .get_by_role_and_label(Role::Button, "Export")
            .click();
        harness.run();
        assert_eq!(
            harness.get_by_label(TSA_URL_LABEL).value().as_deref(),
            Some(url)
        );
    }

    #[test]
    fn a_tsa_url_that_is_not_http_is_refused_in_the_dialog() {
        let mut harness = harness();
        type_url(&mut harness, "tsa.example.org");
        assert!(harness.state().prefs().tsa_url.is_empty());
        harness.get_by_label_contains("must start with http://");
        assert!(harness.query_by_label(TSA_URL_LABEL).is_some());
    }
}

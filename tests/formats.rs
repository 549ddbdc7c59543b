//! The exchange formats (issue 18) checked by the tools that read them:
//! Microsoft's SARIF multitool and the SARIF 2.1.0 JSON schema, Heimdall's
//! parser (inspecjs), NIST's OSCAL models (compliance-trestle), a JUnit parser
//! (junitparser) and Python's csv module. Offline: the exports are of the
//! report fixture snapshot, with every one of our eight statuses present, an
//! accepted risk, an attestation, a proof, and object names an attacker chose
//! (formula starters, markup, quotes, control and bidi characters).
//!
//! The tools are installed by `tests/install-validators.sh` (tests/run-all.sh
//! runs it first). A missing tool fails the test with that command: never a
//! silent skip.

// Test code: a failed set-up step should panic with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use pgsafeguard::checks;
use pgsafeguard::model::finding::{AcceptedRisk, Attestation, Severity, Status};
use pgsafeguard::model::proof::{Outcome, Probe, Proof};
use pgsafeguard::output::formats::csv::neutralise;
use pgsafeguard::output::formats::sarif::to_sarif_against;
use pgsafeguard::output::formats::status_map::{hdf_impact, mapping, sarif_level, JunitOutcome};
use pgsafeguard::output::formats::{export, ExportFormat};
use pgsafeguard::output::ScanReport;
use pgsafeguard::policy::{Attestations, Policy};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const INSTALL: &str = "bash tests/install-validators.sh";

/// Object names an attacker with CREATE ROLE or CREATE TABLE could choose.
const HOSTILE: &[&str] = &[
    "=HYPERLINK(\"http://attacker.invalid\",\"open\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "evil\n  [PASS   ] TLS-001  TLS is enabled on the server (critical)",
    "a,b;\"c\"'d",
    "<x>&amp;</x>]]>",
    "\u{202e}lanigiro\u{202c}",
    "\u{1b}[2J\u{1b}[32m",
    "\u{1}\u{7f}\u{85}ctl",
];

/// `$PGSAFEGUARD_VALIDATORS_DIR`, else the folder tests/install-validators.sh
/// uses: /var/cache/pgsafeguard/validators for root, ~/.cache/… otherwise.
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

/// An installed validator file; fails with the install command when missing.
fn tool(relative: &str) -> PathBuf {
    let path = validators_dir().join(relative);
    assert!(
        path.exists(),
        "{} is missing: install the validators with `{INSTALL}`",
        path.display()
    );
    path
}

fn python() -> PathBuf {
    tool("venv/bin/python")
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/formats")
        .join(name)
}

/// Runs a command; panics with its output unless it exits 0.
fn run_ok(command: &mut Command) -> String {
    let out = run(command);
    assert!(
        out.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?} ({e}): install it with `{INSTALL}`"))
}

fn fixture_snapshot() -> pgsafeguard::model::snapshot::Snapshot {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report/snapshot.json");
    pgsafeguard::cli::load_snapshot(&path).expect("fixture snapshot")
}

/// The fixture's report with every status present: a failing check naming the
/// hostile objects, an accepted risk, an attestation, a proof, and checks set
/// to the statuses the fixture does not reach on its own.
fn fixture_report() -> ScanReport {
    let mut snapshot = fixture_snapshot();
    snapshot.target.dbname = "clinic<&\"'>".into();
    let mut findings =
        checks::evaluate_all(&snapshot, &Policy::default(), &Attestations::default());
    let mut fails = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.status == Status::Fail)
        .map(|(i, _)| i);
    let (hostile, accepted) = (fails.next().unwrap(), fails.next().unwrap());
    findings[hostile]
        .objects
        .extend(HOSTILE.iter().map(|s| s.to_string()));
    findings[hostile].evidence = format!("unapproved: {}", HOSTILE.join(", "));
    let f = &mut findings[accepted];
    f.status = Status::Accepted;
    f.accepted = Some(AcceptedRisk {
        by: "Jane Roe, CISO".into(),
        reason: "=needed in clear for triage; the table is RLS-protected".into(),
        ticket: Some("RISK-1042".into()),
        at: Some("2026-09-15".into()),
        expires: Some("2027-06-30".into()),
        baseline: false,
    });
    for status in Status::ALL {
        if findings.iter().any(|f| f.status == status) {
            continue;
        }
        let spare = findings
            .iter()
            .position(|f| f.status == Status::Pass)
            .expect("a passing check to reuse");
        findings[spare].status = status;
    }
    if let Some(f) = findings.iter_mut().find(|f| f.status == Status::Attested) {
        f.attestation = Some(Attestation {
            by: "Dr. Alice Smith".into(),
            at: "2026-11-20".into(),
            note: "@reviewed the BAA register".into(),
        });
    }
    if let Some(f) = findings.iter_mut().find(|f| f.id == "TLS-001") {
        f.proofs.push(Proof {
            probe: Probe::Transport,
            attempted: "startup without TLS as role \"app\"".into(),
            from: "127.0.0.1 → 127.0.0.1:5432".into(),
            answer: "FATAL: no pg_hba.conf entry \u{1b}[31m".into(),
            at: "2026-11-27T10:00:01Z".into(),
            outcome: Outcome::Holds,
            note: "plaintext refused".into(),
            grant: None,
        });
    }
    if let Some(f) = findings.iter_mut().find(|f| f.severity == Severity::Info) {
        // An info check that fails: its HDF impact must not read as "no impact".
        f.status = Status::Fail;
    }
    ScanReport::new(&snapshot, findings)
}

fn write_export(dir: &Path, name: &str, format: ExportFormat) -> (ScanReport, PathBuf) {
    let report = fixture_report();
    let text = export(&report, format).expect("export");
    let path = dir.join(name);
    std::fs::write(&path, &text).unwrap();
    (report, path)
}

/// The SARIF 2.1.0 JSON schema that ships inside the multitool's npm package
/// accepts the file.
fn assert_sarif_schema_accepts(path: &Path) {
    let schema = tool("npm/node_modules/@microsoft/sarif-multitool-linux/sarif-2.1.0.json");
    run_ok(
        Command::new(python())
            .arg(script("sarif_schema.py"))
            .arg(schema)
            .arg(path),
    );
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn the_fixture_has_every_status_and_hostile_objects() {
    let report = fixture_report();
    for status in Status::ALL {
        assert!(
            report.findings.iter().any(|f| f.status == status),
            "{status}"
        );
    }
}

#[test]
fn sarif_passes_the_multitool_and_the_schema() {
    let dir = temp_dir();
    let (report, path) = write_export(dir.path(), "scan.sarif", ExportFormat::Sarif);

    // Microsoft's validator exits 0 whatever it finds: read its own SARIF log.
    let log = dir.path().join("validation.sarif");
    run_ok(
        Command::new(tool("npm/node_modules/.bin/sarif-multitool"))
            .arg("validate")
            .arg(&path)
            .arg("--output")
            .arg(&log)
            .args(["--log", "ForceOverwrite"]),
    );
    run_ok(
        Command::new(python())
            .arg(script("sarif_errors.py"))
            .arg(&log),
    );

    // The multitool alone accepts some invalid enum values: the schema too.
    assert_sarif_schema_accepts(&path);

    let sarif: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), report.findings.len());
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), report.findings.len());
    for (f, r) in report.findings.iter().zip(results) {
        assert_eq!(r["ruleId"], f.id.as_str());
        assert_eq!(r["kind"], mapping(f.status).sarif_kind, "{}", f.id);
        assert_eq!(r["level"], sarif_level(f.status, f.severity), "{}", f.id);
        assert!(
            r.get("baselineState").is_none(),
            "no previous scan is known"
        );
        let suppressions = r.get("suppressions");
        assert_eq!(
            suppressions.is_some(),
            f.status == Status::Accepted,
            "{}",
            f.id
        );
        if let Some(s) = suppressions {
            assert_eq!(s[0]["kind"], "external");
            assert!(s[0]["justification"]
                .as_str()
                .unwrap()
                .contains("Jane Roe, CISO"));
        }
        let tags = rules
            .iter()
            .find(|rule| rule["id"] == f.id.as_str())
            .unwrap()["properties"]["tags"]
            .to_string();
        assert!(tags.contains(&format!("HIPAA-{}", f.hipaa[0])), "{tags}");
    }
    // Hostile objects are exact logical locations.
    let names: Vec<&str> = results
        .iter()
        .flat_map(|r| r["locations"].as_array().unwrap())
        .map(|l| l["logicalLocations"][0]["name"].as_str().unwrap())
        .collect();
    for hostile in HOSTILE {
        assert!(names.contains(hostile), "{hostile:?}");
    }
}

#[test]
fn hdf_is_read_by_heimdalls_parser() {
    let dir = temp_dir();
    let (report, path) = write_export(dir.path(), "scan.hdf.json", ExportFormat::Hdf);
    let node_modules = tool("npm/node_modules/inspecjs")
        .parent()
        .unwrap()
        .to_path_buf();
    let out = run_ok(
        Command::new("node")
            .env("NODE_PATH", node_modules)
            .arg(script("hdf_read.js"))
            .arg(&path),
    );
    let read: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(read["controls"], report.findings.len());
    for f in &report.findings {
        assert_eq!(
            read["statuses"][&f.id],
            mapping(f.status).heimdall,
            "{} ({})",
            f.id,
            f.status
        );
        if f.status != Status::NotApplicable {
            assert_ne!(
                read["severities"][&f.id], "none",
                "{} {:?}",
                f.id, f.severity
            );
            assert!(hdf_impact(f.status, f.severity) > 0.0);
        }
    }
    let hdf: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let controls = hdf["profiles"][0]["controls"].as_array().unwrap();
    for (f, c) in report.findings.iter().zip(controls) {
        assert_eq!(c["tags"]["hipaa"], serde_json::json!(f.hipaa));
        let nist = c["tags"]["nist"].as_array().unwrap();
        let security_rule = f.hipaa.iter().any(|h| !h.starts_with("164.5"));
        assert_eq!(!nist.is_empty(), security_rule, "{}", f.id);
        assert_eq!(c.get("waiver_data").is_some(), f.status == Status::Accepted);
    }
}

#[test]
fn oscal_is_accepted_by_trestle_and_its_plan_resolves() {
    let dir = temp_dir();
    let (report, path) = write_export(dir.path(), "assessment-results.json", ExportFormat::Oscal);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        export(&report, ExportFormat::Oscal).unwrap(),
        "the same scan gives the same document"
    );
    let workspace = dir.path().join("trestle");
    std::fs::create_dir(&workspace).unwrap();
    let trestle = tool("venv/bin/trestle");
    run_ok(Command::new(&trestle).arg("init").current_dir(&workspace));
    run_ok(
        Command::new(&trestle)
            .args(["import", "-f"])
            .arg(&path)
            .args(["-o", "pgsafeguard-scan"])
            .current_dir(&workspace),
    );

    // import-ap points at a back-matter resource holding a plan trestle accepts too.
    let ar: Value = serde_json::from_str(&text).unwrap();
    let ar = &ar["assessment-results"];
    let href = ar["import-ap"]["href"].as_str().unwrap();
    let resource = ar["back-matter"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| format!("#{}", r["uuid"].as_str().unwrap()) == href)
        .expect("import-ap resolves to a back-matter resource");
    use base64::Engine as _;
    let plan = base64::engine::general_purpose::STANDARD
        .decode(resource["base64"]["value"].as_str().unwrap())
        .unwrap();
    let plan_path = dir.path().join("assessment-plan.json");
    std::fs::write(&plan_path, plan).unwrap();
    run_ok(
        Command::new(&trestle)
            .args(["import", "-f"])
            .arg(&plan_path)
            .args(["-o", "pgsafeguard-plan"])
            .current_dir(&workspace),
    );

    let result = &ar["results"][0];
    let findings = result["findings"].as_array().unwrap();
    assert_eq!(findings.len(), report.findings.len());
    assert_eq!(
        result["observations"].as_array().unwrap().len(),
        report.findings.len()
    );
    for (f, finding) in report.findings.iter().zip(findings) {
        let status = &finding["target"]["status"];
        assert_eq!(status["state"], mapping(f.status).oscal_state, "{}", f.id);
        if f.status == Status::Unknown {
            assert_ne!(status["state"], "satisfied");
        }
    }
    let risks = result["risks"].as_array().unwrap();
    assert_eq!(risks.len(), 1);
    assert_eq!(risks[0]["status"], "deviation-approved");
    assert_eq!(risks[0]["deadline"], "2027-06-30T23:59:59Z");
}

#[test]
fn junit_is_read_by_junitparser() {
    let dir = temp_dir();
    let (report, path) = write_export(dir.path(), "scan.xml", ExportFormat::Junit);
    let out = run_ok(
        Command::new(python())
            .arg(script("junit_read.py"))
            .arg(&path),
    );
    let suites: Vec<Value> = serde_json::from_str(&out).unwrap();
    let sections: std::collections::BTreeSet<_> =
        report.findings.iter().map(|f| f.section).collect();
    assert_eq!(suites.len(), sections.len());
    let cases: Vec<&Value> = suites
        .iter()
        .flat_map(|s| s["cases"].as_array().unwrap())
        .collect();
    assert_eq!(cases.len(), report.findings.len());
    for f in &report.findings {
        let case = cases
            .iter()
            .find(|c| {
                c["name"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{} ", f.id))
            })
            .unwrap();
        assert_eq!(
            case["outcome"],
            mapping(f.status).junit.as_str(),
            "{}",
            f.id
        );
        if mapping(f.status).junit == JunitOutcome::Failure {
            let text = case["text"].as_str().unwrap();
            assert!(
                text.contains(&f.id) || text.contains(f.status.as_str()),
                "{text}"
            );
            assert!(!text.is_empty());
        }
    }
    // Server strings are shown escaped: no raw control or bidi character.
    let xml = std::fs::read_to_string(&path).unwrap();
    assert!(!xml.contains('\u{1b}') && !xml.contains('\u{202e}') && !xml.contains('\u{1}'));
    assert!(xml.contains("\\u{1B}[2J"), "escaped, not dropped");
}

#[test]
fn csv_reads_back_with_hostile_names_neutralised() {
    let dir = temp_dir();
    let (report, path) = write_export(
        dir.path(),
        "checks.csv",
        ExportFormat::Csv { objects: false },
    );
    let rows: Vec<Vec<String>> = serde_json::from_str(&run_ok(
        Command::new(python()).arg(script("csv_read.py")).arg(&path),
    ))
    .unwrap();
    assert_eq!(rows.len(), report.findings.len() + 1);
    for (f, row) in report.findings.iter().zip(&rows[1..]) {
        assert_eq!(row[0], f.id);
        assert_eq!(row[4], f.status.as_str());
    }

    let (_, path) = write_export(
        dir.path(),
        "objects.csv",
        ExportFormat::Csv { objects: true },
    );
    let rows: Vec<Vec<String>> = serde_json::from_str(&run_ok(
        Command::new(python()).arg(script("csv_read.py")).arg(&path),
    ))
    .unwrap();
    assert_eq!(rows[0][4], "object");
    let objects: Vec<&str> = rows[1..].iter().map(|r| r[4].as_str()).collect();
    for hostile in HOSTILE {
        assert!(
            objects.contains(&neutralise(hostile).as_ref()),
            "{hostile:?} in {objects:?}"
        );
    }
    for row in &rows {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "formula cell {cell:?}"
            );
        }
    }
}

/// `scan --format …` from a snapshot and from a saved session; bad input is
/// one line and exit 2.
#[test]
fn the_cli_writes_every_format_from_a_snapshot_and_a_session() {
    let dir = temp_dir();
    let snapshot =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report/snapshot.json");
    let session = dir.path().join("session.json");
    let session_json = serde_json::json!({
        "schema": pgsafeguard::session::SESSION_SCHEMA,
        "snapshot": fixture_snapshot(),
        "attestations": {"ADM-001": {"by": "Dr. Alice Smith", "at": "2026-11-20", "note": "reviewed"}},
    });
    std::fs::write(&session, session_json.to_string()).unwrap();
    let scan = |input: &[&str], format: &str, extra: &[&str]| {
        let out_file = dir
            .path()
            .join(format!("out-{format}-{}", input[0].trim_start_matches('-')));
        let out = run(Command::new(env!("CARGO_BIN_EXE_pgsafeguard"))
            .arg("scan")
            .args(input)
            .args(["--format", format, "--no-store", "--output"])
            .arg(&out_file)
            .args(extra));
        (out, out_file)
    };
    let snapshot_arg = snapshot.to_str().unwrap();
    let session_arg = session.to_str().unwrap();
    for format in ["sarif", "junit", "hdf", "oscal", "csv"] {
        for input in [["--snapshot", snapshot_arg], ["--session", session_arg]] {
            let (out, file) = scan(&input, format, &[]);
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "{format} {input:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(std::fs::metadata(&file).unwrap().len() > 0);
        }
    }
    // The session's attestation reaches the export.
    let (_, file) = scan(&["--session", session_arg], "csv", &[]);
    let text = std::fs::read_to_string(file).unwrap();
    assert!(
        text.contains("ADM-001,") && text.contains("attested"),
        "{text}"
    );

    let (out, _) = scan(&["--snapshot", snapshot_arg], "json", &["--objects"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--format csv"), "{stderr}");
}

/// Against a previous scan of the same target each SARIF result says how it
/// changed, and the log still passes the schema (baselineState is an enum).
#[test]
fn sarif_against_a_previous_scan_names_new_updated_and_absent_problems() {
    let report = fixture_report();
    let position = |status: Status| {
        report
            .findings
            .iter()
            .position(|f| f.status == status)
            .unwrap()
    };
    let (failing, passing) = (position(Status::Fail), position(Status::Pass));
    let updated = report
        .findings
        .iter()
        .rposition(|f| f.status == Status::Fail)
        .unwrap();
    assert_ne!(failing, updated, "the fixture has two failing checks");
    let mut previous = report.findings.clone();
    previous[failing].status = Status::Pass; // fails now, passed before: new
    previous[passing].status = Status::Fail; // passes now, failed before: absent
    previous[updated]
        .objects
        .push("a role dropped since".into()); // other objects: updated

    let sarif = to_sarif_against(&report, &previous);
    let dir = temp_dir();
    let path = dir.path().join("against.sarif");
    std::fs::write(&path, serde_json::to_string_pretty(&sarif).unwrap()).unwrap();
    assert_sarif_schema_accepts(&path);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let state = |i: usize| results[i]["baselineState"].as_str().unwrap();
    assert_eq!(state(failing), "new");
    assert_eq!(state(passing), "absent");
    assert_eq!(state(updated), "updated");
    let unchanged = (0..results.len())
        .filter(|i| ![failing, passing, updated].contains(i))
        .all(|i| state(i) == "unchanged");
    assert!(unchanged, "{results:#?}");
}

/// `scan --format sarif` with an evidence store compares with the previous
/// scan of the same target recorded there; the first scan has nothing to
/// compare with.
#[test]
fn the_cli_sarif_compares_with_the_previous_recorded_scan() {
    let dir = temp_dir();
    let store = dir.path().join("evidence.sqlite");
    let first = dir.path().join("first.json");
    let second = dir.path().join("second.json");
    // The first scan had TLS on; the fixture (the later scan) has it off.
    let later = fixture_snapshot();
    let mut earlier = later.clone();
    earlier.collected_at = "2026-01-01T00:00:00Z".into();
    if let Some(ssl) = earlier.settings.as_mut().and_then(|s| s.get_mut("ssl")) {
        ssl.setting = Some("on".into());
    }
    std::fs::write(&first, serde_json::to_string(&earlier).unwrap()).unwrap();
    std::fs::write(&second, serde_json::to_string(&later).unwrap()).unwrap();
    let failing = |snapshot| {
        checks::evaluate_all(snapshot, &Policy::default(), &Attestations::default())
            .into_iter()
            .filter(|f| f.status == Status::Fail)
            .map(|f| f.id)
            .collect::<std::collections::BTreeSet<_>>()
    };
    let (failing_before, failing_after) = (failing(&earlier), failing(&later));
    let new: Vec<&String> = failing_after.difference(&failing_before).collect();
    assert!(!new.is_empty(), "turning TLS off fails some check");
    let sarif_of = |input: &Path| -> Value {
        let out = run(Command::new(env!("CARGO_BIN_EXE_pgsafeguard"))
            .args(["scan", "--format", "sarif", "--store"])
            .arg(&store)
            .arg("--snapshot")
            .arg(input));
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let state_of = |sarif: &Value, id: &str| {
        sarif["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["ruleId"] == id)
            .map(|r| r["baselineState"].clone())
            .unwrap()
    };
    let before = sarif_of(&first);
    assert_eq!(
        state_of(&before, "TLS-001"),
        Value::Null,
        "nothing to compare with"
    );
    let after = sarif_of(&second);
    for id in &new {
        assert_eq!(state_of(&after, id), "new", "{id}");
    }
    for id in failing_after.intersection(&failing_before) {
        assert_eq!(state_of(&after, id), "unchanged", "{id}");
    }
    let states: Vec<Value> = after["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["baselineState"].clone())
        .collect();
    assert!(states.iter().all(|s| s.is_string()), "{states:?}");
}

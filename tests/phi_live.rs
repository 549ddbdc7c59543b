//! PHI discovery end to end on one cluster (issue 19): the map finds the
//! seeded columns, a table without SELECT is unknown with its grant, confirm
//! and reject round-trip through the policy file with its comments kept and
//! drive EAR-004, and no seeded value appears in any output — discover's text
//! and JSON, the scan's JSON with --sample-phi, the evidence store, stderr.
//!
//! One cluster, one test: the steps share it and run in order.

// Test code: a failed set-up step should panic with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use support::Cluster;

/// Distinctive fake values; none may appear in any output.
const SEEDED: &[&str] = &[
    "532-71-8846", // a valid-looking SSN
    "532718846",
    "987-65-4329", // SSN test data (9xx area)
    "1847362914",  // an NPI with a correct check digit
    "5KT7WA3JR82", // a Medicare MBI
    "FQ3875210",   // a DEA number
    "zelda.quintrell@example.org",
    "quintrell",
    "619-44-2077", // a JSON key that is itself an SSN
    "1961-04-17",  // a date of birth
];

fn pgsafeguard(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgsafeguard"));
    cmd.args(args);
    support::without_libpq_env(&mut cmd)
        .output()
        .expect("run pgsafeguard")
}

fn ok(out: &Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "{what}: exit {:?}, stderr {stderr}",
        out.status.code()
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Every output so far, as bytes: no seeded value may be in any of them.
fn assert_no_value(outputs: &[(String, Vec<u8>)]) {
    for (name, bytes) in outputs {
        let text = String::from_utf8_lossy(bytes);
        for seeded in SEEDED {
            assert!(
                !text.contains(seeded),
                "{name} contains the seeded value {seeded}"
            );
        }
    }
}

fn seed(cluster: &Cluster) {
    cluster.psql("postgres", "CREATE DATABASE clinic");
    cluster.psql(
        "clinic",
        "CREATE ROLE scanner LOGIN PASSWORD 'scan-pw';
         CREATE TABLE public.patients (
             id integer, ss_num text, pt_dob date, member_no text, contact text,
             notes text, extra jsonb, provider_npi bigint, prescriber text, ref text);
         COMMENT ON TABLE public.patients IS 'registered patients';
         COMMENT ON COLUMN public.patients.ref IS 'the social security number, re-keyed';
         INSERT INTO public.patients
           SELECT g, '532-71-8846', date '1961-04-17', '5KT7WA3JR82',
                  'zelda.quintrell@example.org',
                  'called back, ssn 987-65-4329 on file',
                  '{\"619-44-2077\": {\"mbi\": \"5KT7WA3JR82\"}}', 1847362914, 'FQ3875210',
                  '532718846'
           FROM generate_series(1, 40) g;
         CREATE TABLE public.billing_secrets (acct_num text);
         INSERT INTO public.billing_secrets VALUES ('532-71-8846');
         CREATE TABLE public.lookup (code text);
         GRANT CONNECT ON DATABASE clinic TO scanner;
         GRANT USAGE ON SCHEMA public TO scanner;
         GRANT SELECT ON public.patients, public.lookup TO scanner;",
    );
}

#[test]
fn discovery_maps_phi_without_showing_a_value() {
    let cluster = Cluster::builder()
        .hba("host all all 127.0.0.1/32 scram-sha-256")
        .hba("host all all ::1/128 scram-sha-256")
        .start();
    seed(&cluster);
    let dir = tempfile::tempdir().unwrap();
    let conninfo = cluster.conninfo_tcp("scanner", "scan-pw", "clinic", "sslmode=disable");
    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();

    // The map, as text and as JSON.
    let text = pgsafeguard(&["discover", &conninfo]);
    let shown = ok(&text, "discover text");
    assert!(shown.contains("clinic.public.patients.ss_num"), "{shown}");
    outputs.push(("discover text".into(), text.stdout.clone()));
    outputs.push(("discover text stderr".into(), text.stderr.clone()));

    let json_path = dir.path().join("map.json");
    let json = pgsafeguard(&[
        "discover",
        &conninfo,
        "--format",
        "json",
        "--output",
        json_path.to_str().unwrap(),
    ]);
    ok(&json, "discover json");
    outputs.push(("discover json stderr".into(), json.stderr.clone()));
    let bytes = std::fs::read(&json_path).unwrap();
    outputs.push(("discover json".into(), bytes.clone()));
    let map: Value = serde_json::from_slice(&bytes).unwrap();
    let candidate = |column: &str| -> Value {
        map["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["column"] == column)
            .cloned()
            .unwrap_or_else(|| panic!("{column} not in the map: {map:#}"))
    };
    let ss = candidate("clinic.public.patients.ss_num");
    assert_eq!(ss["category"], "ssn");
    assert_eq!(ss["confidence"], "high");
    assert_eq!(ss["tier"], "direct");
    assert_eq!(ss["reasons"]["validator_hits"]["hits"]["ssn"], 40);
    assert_eq!(
        candidate("clinic.public.patients.pt_dob")["category"],
        "birth_date"
    );
    assert_eq!(
        candidate("clinic.public.patients.member_no")["category"],
        "health_plan_id"
    );
    assert_eq!(candidate("clinic.public.patients.ref")["category"], "ssn");
    assert_eq!(
        candidate("clinic.public.patients.provider_npi")["reasons"]["validator_hits"]["hits"]
            ["npi"],
        40
    );
    assert_eq!(
        candidate("clinic.public.patients.prescriber")["reasons"]["validator_hits"]["hits"]["dea"],
        40
    );
    let notes = candidate("clinic.public.patients.notes");
    assert_eq!(
        notes["reasons"]["validator_hits"]["hits"]["ssn_test_data"],
        40
    );
    let extra = candidate("clinic.public.patients.extra");
    assert!(
        extra["json_keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k.as_str().unwrap().contains("masked")),
        "{extra:#}"
    );
    // No SELECT: unknown, never clean, with the grant.
    let unknown = map["unknown"].as_array().unwrap();
    assert_eq!(unknown.len(), 1, "{map:#}");
    assert_eq!(unknown[0]["table"], "clinic.public.billing_secrets");
    assert_eq!(
        unknown[0]["grant"],
        "GRANT SELECT ON \"public\".\"billing_secrets\" TO \"scanner\""
    );

    // Names only.
    let names = pgsafeguard(&["discover", &conninfo, "--no-sample", "--format", "json"]);
    let names_map: Value = serde_json::from_str(&ok(&names, "no-sample")).unwrap();
    assert_eq!(names_map["rows_read"], 0);
    assert_eq!(names_map["unknown"].as_array().unwrap().len(), 0);
    outputs.push(("discover no-sample".into(), names.stdout.clone()));

    // Confirm and reject, through the policy file, comments kept.
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "# Our PHI decisions. Reviewed monthly.\nphi_tables = []\n",
    )
    .unwrap();
    let p = policy.to_str().unwrap();
    for args in [
        vec![
            "phi",
            "confirm",
            "clinic.public.patients.member_no",
            "--category",
            "health_plan_id",
            "--policy",
            p,
            "--by",
            "Pat Lee",
        ],
        vec![
            "phi",
            "confirm",
            "clinic.public.patients.ss_num",
            "--policy",
            p,
            "--by",
            "Pat Lee",
        ],
        vec![
            "phi",
            "reject",
            "clinic.public.patients.ss_num",
            "--policy",
            p,
            "--by",
            "Pat Lee",
            "--reason",
            "test column",
        ],
    ] {
        let out = pgsafeguard(&args);
        ok(&out, "phi decide");
        outputs.push(("phi decide".into(), out.stdout.clone()));
        outputs.push(("phi decide stderr".into(), out.stderr.clone()));
    }
    let written = std::fs::read_to_string(&policy).unwrap();
    assert!(
        written.starts_with("# Our PHI decisions. Reviewed monthly."),
        "{written}"
    );
    assert_eq!(written.matches("[[phi_columns]]").count(), 2, "{written}");
    assert!(written.contains("decision = \"rejected\""), "{written}");
    let bad = pgsafeguard(&["phi", "confirm", "patients.ssn", "--policy", p, "--by", "x"]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&policy).unwrap(), written);

    let decided = pgsafeguard(&["discover", &conninfo, "--no-sample", "--policy", p]);
    let decided_text = ok(&decided, "discover with policy");
    assert!(
        decided_text
            .lines()
            .any(|l| l.contains("patients.member_no") && l.contains("(confirmed)")),
        "{decided_text}"
    );

    // The scan with --sample-phi and the policy: the evidence store too.
    let store = dir.path().join("evidence.sqlite");
    let scan = pgsafeguard(&[
        "scan",
        &conninfo,
        "--store",
        store.to_str().unwrap(),
        "--sample-phi",
        "--policy",
        p,
        "--format",
        "json",
    ]);
    let scan_json = ok(&scan, "scan");
    outputs.push(("scan json".into(), scan.stdout.clone()));
    outputs.push(("scan stderr".into(), scan.stderr.clone()));
    let report: Value = serde_json::from_str(&scan_json).unwrap();
    let ear004 = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "EAR-004")
        .cloned()
        .unwrap();
    let evidence = ear004["evidence"].as_str().unwrap();
    assert!(
        evidence
            .contains("public.patients.member_no (direct identifier: health_plan_id, confirmed)"),
        "{evidence}"
    );
    assert!(
        !evidence.contains("patients.ss_num"),
        "rejected: {evidence}"
    );
    if Path::new(&store).exists() {
        outputs.push(("evidence store".into(), std::fs::read(&store).unwrap()));
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.to_string_lossy().contains("evidence.sqlite-") {
                outputs.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    } else {
        panic!("the scan wrote no evidence store at {}", store.display());
    }

    assert_no_value(&outputs);
}

//! SARIF 2.1.0 (OASIS), as code-scanning dashboards read it: one rule per
//! check id (help text, HIPAA and CIS tags, GitHub's `security-severity`) and
//! one result per check with its `kind`, `level`, the evidence as message and
//! logical locations (server, database, object: a database has no files).
//! Accepted risks are results of kind `fail` with an external suppression
//! carrying the justification. When the previous scan of the same target is
//! known ([`to_sarif_against`]), every result says how it compares with it in
//! `baselineState`:
//! - a problem now (kind `fail`, accepted ones included): `new` when it was
//!   not one in the previous scan, `unchanged` when it was, with the same
//!   status and objects, and `updated` when its status or objects changed;
//! - not a problem now: `absent` when it was one before (the problem of the
//!   baseline is gone), `unchanged` otherwise.
//!
//! Imports `model` and `output`.

use super::status_map::{mapping, sarif_default_level, sarif_level, security_severity};
use super::{acceptance_text, database_name, evidence_lines, fix_text, server_name, ScanReport};
use crate::model::finding::Finding;
use serde_json::{json, Map, Value};

const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The SARIF log of one scan.
pub fn to_sarif(report: &ScanReport) -> Value {
    let rules: Vec<Value> = report.findings.iter().map(rule).collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .enumerate()
        .map(|(index, f)| result(report, index, f))
        .collect();
    let notifications: Vec<Value> = report
        .gaps
        .iter()
        .map(|g| {
            let mut text = format!("{} not read: {}", g.part, g.message);
            if let Some(grant) = &g.grant {
                text.push_str(&format!(" (to read it: {grant})"));
            }
            json!({"level": "warning", "message": {"text": text}})
        })
        .collect();
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": report.tool.name,
                "version": report.tool.version,
                "semanticVersion": report.tool.version,
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": true,
                "endTimeUtc": report.collected_at,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
            "properties": {
                "target": report.target,
                "collectedAt": report.collected_at,
                "summary": report.summary,
                "probes": report.probes,
            },
        }],
    })
}

/// The SARIF log of one scan, each result with its `baselineState` against
/// `previous`, the findings of the previous scan of the same target.
pub fn to_sarif_against(report: &ScanReport, previous: &[Finding]) -> Value {
    let mut log = to_sarif(report);
    if let Some(results) = log["runs"][0]["results"].as_array_mut() {
        for (result, f) in results.iter_mut().zip(&report.findings) {
            let before = previous.iter().find(|p| p.id == f.id);
            result["baselineState"] = json!(baseline_state(f, before));
        }
    }
    log
}

/// How one finding compares with the same check in the previous scan.
fn baseline_state(now: &Finding, before: Option<&Finding>) -> &'static str {
    let problem = |f: &Finding| mapping(f.status).sarif_kind == "fail";
    match (problem(now), before) {
        (true, Some(b)) if problem(b) => {
            if b.status == now.status && b.objects == now.objects {
                "unchanged"
            } else {
                "updated"
            }
        }
        (true, _) => "new",
        (false, Some(b)) if problem(b) => "absent",
        (false, _) => "unchanged",
    }
}

fn rule(f: &Finding) -> Value {
    let mut tags = vec!["security".to_string(), "hipaa".to_string()];
    tags.extend(f.hipaa.iter().map(|c| format!("HIPAA-{c}")));
    if let Some(cis) = &f.cis {
        tags.push(format!("CIS-PostgreSQL-{cis}"));
    }
    let mut help = f.rationale.clone();
    if !f.reproduce_sql.is_empty() {
        help.push_str(&format!("\n\nTo see the same facts: {}", f.reproduce_sql));
    }
    json!({
        "id": f.id,
        "shortDescription": {"text": f.title},
        "fullDescription": {"text": f.rationale},
        "help": {"text": help},
        "defaultConfiguration": {"level": sarif_default_level(f.severity)},
        "properties": {
            "tags": tags,
            "precision": "high",
            "problem.severity": problem_severity(f),
            "security-severity": security_severity(f.severity),
            "severity": f.severity.as_str(),
            "section": f.section.id(),
            "hipaa": f.hipaa,
            "cis": f.cis,
        },
    })
}

/// GitHub's `problem.severity` (error, warning, recommendation).
fn problem_severity(f: &Finding) -> &'static str {
    match sarif_default_level(f.severity) {
        "error" => "error",
        "warning" => "warning",
        _ => "recommendation",
    }
}

fn result(report: &ScanReport, index: usize, f: &Finding) -> Value {
    let m = mapping(f.status);
    let mut result = Map::new();
    result.insert("ruleId".into(), json!(f.id));
    result.insert("ruleIndex".into(), json!(index));
    result.insert("kind".into(), json!(m.sarif_kind));
    result.insert("level".into(), json!(sarif_level(f.status, f.severity)));
    result.insert(
        "message".into(),
        json!({"text": format!("{}: {}", f.status, evidence_lines(f).join("\n"))}),
    );
    result.insert("locations".into(), Value::Array(locations(report, f)));
    result.insert(
        "partialFingerprints".into(),
        json!({"pgsafeguardCheck/v1": format!("{}|{}", f.id, database_name(report))}),
    );
    if m.sarif_suppressed {
        let justification = f
            .accepted
            .as_ref()
            .map(acceptance_text)
            .unwrap_or_else(|| "accepted risk".into());
        result.insert(
            "suppressions".into(),
            json!([{"kind": "external", "status": "accepted", "justification": justification}]),
        );
    }
    result.insert("properties".into(), Value::Object(result_properties(f)));
    Value::Object(result)
}

/// What SARIF has no field for: our status and severity, every object, the
/// reason and grant of an unknown, attestation, acceptance, proofs and the
/// fix statements (a SARIF `fix` is a file replacement).
fn result_properties(f: &Finding) -> Map<String, Value> {
    let mut props = Map::new();
    props.insert("status".into(), json!(f.status.as_str()));
    props.insert("severity".into(), json!(f.severity.as_str()));
    props.insert("objects".into(), json!(f.objects));
    let optional = [
        ("reason", f.reason.as_ref().map(|r| json!(r))),
        ("grant", f.grant.as_ref().map(|g| json!(g))),
        ("attestation", f.attestation.as_ref().map(|a| json!(a))),
        ("accepted", f.accepted.as_ref().map(|a| json!(a))),
        ("proofs", (!f.proofs.is_empty()).then(|| json!(f.proofs))),
        ("fix", fix_text(f).map(|fix| json!(fix))),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            props.insert(key.into(), value);
        }
    }
    props
}

/// One location per object the check names; the database when it names none.
fn locations(report: &ScanReport, f: &Finding) -> Vec<Value> {
    let database = database_name(report);
    if f.objects.is_empty() {
        return vec![json!({"logicalLocations": [{
            "name": report.target.dbname,
            "fullyQualifiedName": database,
            "kind": "namespace",
            "properties": {"server": server_name(report)},
        }]})];
    }
    f.objects
        .iter()
        .map(|object| {
            json!({"logicalLocations": [{
                "name": object,
                "fullyQualifiedName": format!("{database}/{object}"),
                "kind": "resource",
            }]})
        })
        .collect()
}

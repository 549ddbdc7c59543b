//! Heimdall Data Format: the InSpec exec JSON that MITRE's Heimdall and SAF
//! tools read. One profile (the catalogue) with one control per check: impact
//! from severity, `tags.nist` from the SP 800-66r2 crosswalk ([`nist`]),
//! `tags.hipaa` and `tags.cis`, and one result whose status and `code_desc`
//! say what the check saw. Accepted risks carry `waiver_data`, attestations
//! `attestation_data`, as Heimdall shows them.
//!
//! Imports `model` and `output`.

use super::status_map::{hdf_impact, mapping};
use super::{database_name, evidence_lines, fix_text, nist, ScanReport};
use crate::model::finding::{Finding, Section};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

const PROFILE_NAME: &str = "pgsafeguard-hipaa-postgresql";

/// The exec JSON of one scan.
pub fn to_hdf(report: &ScanReport) -> Value {
    let controls: Vec<Value> = report.findings.iter().map(|f| control(report, f)).collect();
    let groups: Vec<Value> = Section::ALL
        .iter()
        .filter_map(|section| {
            let ids: Vec<&str> = report
                .findings
                .iter()
                .filter(|f| f.section == *section)
                .map(|f| f.id.as_str())
                .collect();
            (!ids.is_empty())
                .then(|| json!({"id": section.id(), "title": section.title(), "controls": ids}))
        })
        .collect();
    let count = |result: &str| {
        report
            .findings
            .iter()
            .filter(|f| mapping(f.status).hdf_result == result)
            .count()
    };
    json!({
        "platform": {
            "name": "postgresql",
            "release": report.target.server_version.as_deref().unwrap_or("unknown"),
            "target_id": database_name(report),
        },
        "version": report.tool.version,
        "statistics": {
            "duration": 0.0,
            "controls": {
                "passed": {"total": count("passed")},
                "failed": {"total": count("failed")},
                "skipped": {"total": count("skipped")},
            },
        },
        "profiles": [{
            "name": PROFILE_NAME,
            "title": "pgSafeguard: HIPAA Security Rule hardening of PostgreSQL",
            "version": report.tool.version,
            "maintainer": "pgSafeguard",
            "summary": "Checks a PostgreSQL server against a HIPAA hardening guide: safeguards, \
                        encryption at rest and in transit, least privilege and row-level security, \
                        audit trails, backups.",
            "license": "MIT OR Apache-2.0",
            "sha256": catalogue_digest(report),
            "supports": [{"platform-name": "postgresql"}],
            "attributes": [],
            "groups": groups,
            "status": "loaded",
            "controls": controls,
        }],
        "passthrough": {
            "pgsafeguard": {
                "target": report.target,
                "collected_at": report.collected_at,
                "summary": report.summary,
                "gaps": report.gaps,
                "probes": report.probes,
            },
        },
    })
}

/// The profile's `sha256`: a digest of the checks it holds (id, title,
/// severity, citations), so two scans by the same catalogue share it.
fn catalogue_digest(report: &ScanReport) -> String {
    let mut hasher = Sha256::new();
    for f in &report.findings {
        hasher.update(format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1e}",
            f.id,
            f.title,
            f.severity.as_str(),
            f.hipaa.join(",")
        ));
    }
    hex::encode(hasher.finalize())
}

fn control(report: &ScanReport, f: &Finding) -> Value {
    let m = mapping(f.status);
    let mut descriptions = vec![
        json!({"label": "default", "data": f.rationale}),
        json!({"label": "rationale", "data": f.rationale}),
    ];
    if !f.reproduce_sql.is_empty() {
        descriptions.push(json!({"label": "check", "data": f.reproduce_sql}));
    }
    if let Some(fix) = fix_text(f) {
        descriptions.push(json!({"label": "fix", "data": fix}));
    }
    let mut tags = Map::new();
    tags.insert("nist".into(), json!(nist::controls_of(&f.hipaa)));
    tags.insert("hipaa".into(), json!(f.hipaa));
    if let Some(cis) = &f.cis {
        tags.insert("cis".into(), json!([cis]));
    }
    tags.insert("section".into(), json!(f.section.id()));
    tags.insert("pgsafeguard_severity".into(), json!(f.severity.as_str()));
    tags.insert("pgsafeguard_status".into(), json!(f.status.as_str()));
    let mut control = json!({
        "id": f.id,
        "title": f.title,
        "desc": f.rationale,
        "descriptions": descriptions,
        "impact": hdf_impact(f.status, f.severity),
        "refs": [],
        "tags": tags,
        "code": "",
        "source_location": {"ref": "pgsafeguard catalogue", "line": null},
        "results": [result(report, f)],
    });
    if m.hdf_waiver {
        if let Some(a) = &f.accepted {
            control["waiver_data"] = json!({
                "justification": a.reason,
                "expiration_date": a.expires,
                "run": true,
                "skipped_due_to_waiver": false,
                "message": super::acceptance_text(a),
            });
        }
    }
    control
}

fn result(report: &ScanReport, f: &Finding) -> Value {
    let m = mapping(f.status);
    let message = evidence_lines(f).join("\n");
    let mut result = json!({
        "status": m.hdf_result,
        "code_desc": format!("{} {}: {}", f.id, f.title, f.status),
        "start_time": report.collected_at,
        "run_time": 0.0,
        "resource": database_name(report),
    });
    let key = match m.hdf_result {
        "skipped" => "skip_message",
        _ => "message",
    };
    result[key] = json!(message);
    result
}

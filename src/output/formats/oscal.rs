//! NIST OSCAL Assessment Results (JSON), as GRC platforms import them: the
//! scan is one result; pgSafeguard is a component (the tool every
//! observation names as its origin) beside the scanned database; each check
//! gives an observation with the collected evidence (and one relevant
//! evidence per proof) and a finding whose target is satisfied or
//! not-satisfied ([`status_map`](super::status_map)). An accepted risk is an
//! OSCAL risk with status `deviation-approved`, linked from its finding.
//!
//! `import-ap` must point at an assessment plan. pgSafeguard has none apart
//! from the scan itself, so the plan (what was assessed, by which tool, which
//! checks) is written into the document's back matter as a resource holding
//! an OSCAL assessment plan (base64 JSON), and `import-ap` links to it with
//! `#uuid`: one self-contained file that resolves, where a second file could
//! be lost on the way to the auditor.
//!
//! Every uuid is a version 5 uuid of the scan (cluster, database, time) and
//! the element, so the same scan always gives the same document.
//!
//! Imports `model` and `output`.

use super::status_map::mapping;
use super::{acceptance_text, database_name, evidence_lines, proof_line, scan_key, ScanReport};
use crate::model::finding::{Finding, Status};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};
use uuid::Uuid;

/// The OSCAL version the documents follow.
const OSCAL_VERSION: &str = "1.1.2";

/// Our namespace for property names (`ns`), as OSCAL asks of extensions.
const PROPS_NS: &str = "urn:pgsafeguard:oscal";

/// Deterministic uuids for one scan.
struct Ids {
    namespace: Uuid,
}

impl Ids {
    fn of(report: &ScanReport) -> Ids {
        let root = Uuid::new_v5(&Uuid::NAMESPACE_URL, PROPS_NS.as_bytes());
        Ids {
            namespace: Uuid::new_v5(&root, scan_key(report).as_bytes()),
        }
    }

    fn id(&self, element: &str) -> String {
        Uuid::new_v5(&self.namespace, element.as_bytes()).to_string()
    }
}

/// The assessment results of one scan.
pub fn to_oscal(report: &ScanReport) -> Value {
    let ids = Ids::of(report);
    let tool = ids.id("component/tool");
    let database = ids.id("component/database");
    let plan_resource = ids.id("resource/assessment-plan");
    let observations: Vec<Value> = report
        .findings
        .iter()
        .map(|f| observation(report, &ids, f, &tool, &database))
        .collect();
    let risks: Vec<Value> = report
        .findings
        .iter()
        .filter(|f| mapping(f.status).oscal_risk)
        .map(|f| risk(report, &ids, f))
        .collect();
    let findings: Vec<Value> = report.findings.iter().map(|f| finding(&ids, f)).collect();
    let mut result = json!({
        "uuid": ids.id("result"),
        "title": format!("pgSafeguard scan of {}", database_name(report)),
        "description": format!(
            "Checks of the HIPAA hardening guide against PostgreSQL {} at {}, read by role {}.",
            report.target.server_version.as_deref().unwrap_or("(version unknown)"),
            database_name(report),
            report.target.user
        ),
        "start": report.collected_at,
        "end": report.collected_at,
        "props": summary_props(report),
        "local-definitions": {"components": components(report, &tool, &database)},
        "reviewed-controls": {"control-selections": [{"include-all": {}}]},
        "observations": observations,
        "findings": findings,
    });
    if !risks.is_empty() {
        result["risks"] = json!(risks);
    }
    json!({"assessment-results": {
        "uuid": ids.id("assessment-results"),
        "metadata": metadata(report, "pgSafeguard assessment results"),
        "import-ap": {"href": format!("#{plan_resource}")},
        "results": [result],
        "back-matter": {"resources": [{
            "uuid": plan_resource,
            "title": "Assessment plan: the pgSafeguard catalogue run against the target",
            "description": "The assessment plan these results follow, as an OSCAL assessment plan (JSON, base64).",
            "base64": {
                "filename": "assessment-plan.json",
                "media-type": "application/json",
                "value": STANDARD.encode(assessment_plan(report, &ids).to_string()),
            },
        }]},
    }})
}

fn metadata(report: &ScanReport, title: &str) -> Value {
    json!({
        "title": title,
        "last-modified": report.collected_at,
        "version": report.tool.version,
        "oscal-version": OSCAL_VERSION,
    })
}

fn prop(name: &str, value: impl Into<String>) -> Value {
    json!({"name": name, "ns": PROPS_NS, "value": value.into()})
}

/// The counts by status, as properties of the result.
fn summary_props(report: &ScanReport) -> Vec<Value> {
    Status::ALL
        .iter()
        .map(|s| {
            prop(
                &format!("count-{}", s.as_str().replace('_', "-")),
                report.summary.count(*s).to_string(),
            )
        })
        .collect()
}

fn components(report: &ScanReport, tool: &str, database: &str) -> Value {
    json!([
        {
            "uuid": tool,
            "type": "software",
            "title": "pgSafeguard",
            "description": "The scanner: read-only checks of a PostgreSQL server against a HIPAA hardening guide.",
            "props": [{"name": "version", "value": report.tool.version}],
            "status": {"state": "operational"},
        },
        {
            "uuid": database,
            "type": "software",
            "title": format!("PostgreSQL {}", database_name(report)),
            "description": format!(
                "The scanned database server (PostgreSQL {}, system identifier {}).",
                report.target.server_version.as_deref().unwrap_or("version unknown"),
                report.target.system_identifier.as_deref().unwrap_or("unknown")
            ),
            "status": {"state": "operational"},
        },
    ])
}

fn observation(report: &ScanReport, ids: &Ids, f: &Finding, tool: &str, database: &str) -> Value {
    let method = match f.status {
        Status::Attested | Status::Manual => "EXAMINE",
        _ => "TEST",
    };
    let mut evidence = vec![json!({
        "description": format!("SQL that shows the same facts: {}", f.reproduce_sql),
    })];
    evidence.extend(
        f.proofs
            .iter()
            .map(|p| json!({"description": proof_line(p)})),
    );
    json!({
        "uuid": ids.id(&format!("observation/{}", f.id)),
        "title": format!("{} {}", f.id, f.title),
        "description": evidence_lines(f).join("\n"),
        "props": [prop("check-id", f.id.clone()), prop("status", f.status.as_str())],
        "methods": [method],
        "types": ["finding"],
        "origins": [{"actors": [{"type": "tool", "actor-uuid": tool}]}],
        "subjects": [{"subject-uuid": database, "type": "component"}],
        "relevant-evidence": evidence,
        "collected": report.collected_at,
    })
}

fn finding(ids: &Ids, f: &Finding) -> Value {
    let m = mapping(f.status);
    let mut finding = json!({
        "uuid": ids.id(&format!("finding/{}", f.id)),
        "title": format!("{} {}", f.id, f.title),
        "description": format!("{}: {}", f.status, f.evidence),
        "props": [
            prop("check-id", f.id.clone()),
            prop("status", f.status.as_str()),
            prop("severity", f.severity.as_str()),
        ],
        "target": {
            "type": "objective-id",
            "target-id": f.id.to_lowercase(),
            "title": f.title,
            "props": f.hipaa.iter().map(|c| prop("hipaa-citation", c.clone())).collect::<Vec<_>>(),
            "status": {"state": m.oscal_state, "reason": m.oscal_reason},
        },
        "related-observations": [{"observation-uuid": ids.id(&format!("observation/{}", f.id))}],
    });
    if m.oscal_risk {
        finding["related-risks"] = json!([{"risk-uuid": ids.id(&format!("risk/{}", f.id))}]);
    }
    finding
}

fn risk(report: &ScanReport, ids: &Ids, f: &Finding) -> Value {
    let justification = f
        .accepted
        .as_ref()
        .map(acceptance_text)
        .unwrap_or_else(|| "accepted risk".into());
    let mut risk = json!({
        "uuid": ids.id(&format!("risk/{}", f.id)),
        "title": format!("{} {}", f.id, f.title),
        "description": f.rationale,
        "statement": format!("{}\n{}", f.evidence, justification),
        "status": "deviation-approved",
        "risk-log": {"entries": [{
            "uuid": ids.id(&format!("risk-log/{}", f.id)),
            "title": "Deviation approved",
            "description": justification,
            "start": f.accepted.as_ref().and_then(|a| a.at.as_deref()).and_then(date_time)
                .unwrap_or_else(|| report.collected_at.clone()),
            "status-change": "deviation-approved",
        }]},
        "related-observations": [{"observation-uuid": ids.id(&format!("observation/{}", f.id))}],
    });
    if let Some(deadline) = f
        .accepted
        .as_ref()
        .and_then(|a| a.expires.as_deref())
        .and_then(end_of_day)
    {
        risk["deadline"] = json!(deadline);
    }
    if f.accepted.as_ref().is_some_and(|a| a.baseline) {
        risk["props"] = json!([prop("baseline", "true")]);
    }
    risk
}

/// An RFC 3339 time with its zone as OSCAL wants it; a bare date is the
/// start of that day in UTC.
fn date_time(text: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    if time::OffsetDateTime::parse(text, &Rfc3339).is_ok() {
        return Some(text.to_string());
    }
    parse_date(text).map(|d| format!("{d}T00:00:00Z"))
}

/// The last second of an ISO date (an acceptance holds through its expiry day).
fn end_of_day(text: &str) -> Option<String> {
    parse_date(text).map(|d| format!("{d}T23:59:59Z"))
}

fn parse_date(text: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format).ok()
}

/// The assessment plan behind `import-ap`: the catalogue's checks as the
/// activity, pgSafeguard as the assessor's tool, the database as the subject.
/// Its `import-ssp` points into its own back matter: the system security
/// plan is the organisation's, which pgSafeguard does not have.
fn assessment_plan(report: &ScanReport, ids: &Ids) -> Value {
    let ssp = ids.id("plan/resource/ssp");
    let tool = ids.id("component/tool");
    let database = ids.id("component/database");
    json!({"assessment-plan": {
        "uuid": ids.id("plan"),
        "metadata": metadata(report, "pgSafeguard assessment plan"),
        "import-ssp": {"href": format!("#{ssp}")},
        "local-definitions": {
            "components": components(report, &tool, &database),
            "activities": [{
                "uuid": ids.id("plan/activity"),
                "title": "Run the pgSafeguard catalogue",
                "description": format!(
                    "A read-only scan of {} by pgSafeguard {}: {} checks of the HIPAA hardening guide.",
                    database_name(report),
                    report.tool.version,
                    report.findings.len()
                ),
                "props": [{"name": "method", "value": "TEST"}],
            }],
        },
        "reviewed-controls": {"control-selections": [{"include-all": {}}]},
        "assessment-subjects": [{
            "type": "component",
            "include-subjects": [{"subject-uuid": database, "type": "component"}],
        }],
        "back-matter": {"resources": [{
            "uuid": ssp,
            "title": "System security plan of the organisation (not provided by pgSafeguard)",
            "description": format!("The plan of the system that {} belongs to.", database_name(report)),
        }]},
    }})
}

//! The scan result as the outside world sees it: the JSON contract of
//! DESIGN.md (`pgsafeguard.scan/1`) and the plain-text rendering.
//!
//! Pure formatting: no I/O, no clock.

use crate::finding::{Finding, Section, Status, Summary};
use crate::snapshot::{Gap, Snapshot};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

pub const SCAN_SCHEMA: &str = "pgsafeguard.scan/1";

/// How many objects text and PDF show before summarising.
pub const OBJECTS_SHOWN: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    pub schema: String,
    pub tool: Tool,
    pub target: ReportTarget,
    pub collected_at: String,
    pub gaps: Vec<Gap>,
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportTarget {
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub user: String,
    pub server_version: Option<String>,
    pub system_identifier: Option<String>,
    pub sslmode: String,
    pub tls: Option<ReportTls>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportTls {
    pub version: Option<String>,
    pub cipher: Option<String>,
    pub server_certificate_sha256: Option<String>,
}

impl ScanReport {
    pub fn new(snapshot: &Snapshot, findings: Vec<Finding>) -> ScanReport {
        let t = &snapshot.target;
        ScanReport {
            schema: SCAN_SCHEMA.into(),
            tool: Tool {
                name: "pgsafeguard".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            target: ReportTarget {
                host: t.host.clone(),
                port: t.port,
                dbname: t.dbname.clone(),
                user: t.user.clone(),
                server_version: t.server_version.clone(),
                system_identifier: t.system_identifier.clone(),
                sslmode: t.sslmode.clone(),
                tls: t.tls.as_ref().map(|tls| ReportTls {
                    version: tls.version.clone(),
                    cipher: tls.cipher.clone(),
                    server_certificate_sha256: tls
                        .server_certificate
                        .as_ref()
                        .map(|c| c.sha256.clone()),
                }),
            },
            collected_at: snapshot.collected_at.clone(),
            gaps: snapshot.gaps.clone(),
            summary: Summary::of(&findings),
            findings,
        }
    }

    /// Pretty JSON with a trailing newline; deterministic for the same input.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Human-readable report, grouped by guide section, failing first.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let t = &self.target;
        let _ = writeln!(
            out,
            "pgSafeguard {} — {}@{}:{}/{} (PostgreSQL {}, sslmode={}{})",
            self.tool.version,
            t.user,
            t.host,
            t.port,
            t.dbname,
            t.server_version.as_deref().unwrap_or("?"),
            t.sslmode,
            match &t.tls {
                Some(tls) => format!(", {}", tls.version.as_deref().unwrap_or("TLS")),
                None => ", not encrypted".into(),
            }
        );
        let _ = writeln!(out, "collected at {}", self.collected_at);
        for section in Section::ALL {
            let mut in_section: Vec<&Finding> = self
                .findings
                .iter()
                .filter(|f| f.section == section)
                .collect();
            if in_section.is_empty() {
                continue;
            }
            in_section.sort_by_key(|f| (f.status, f.severity));
            let _ = writeln!(out, "\n{}. {}", section.number(), section.title());
            for f in in_section {
                write_finding(&mut out, f);
            }
        }
        if !self.gaps.is_empty() {
            let _ = writeln!(out, "\nCould not read (grant these to the scanner role):");
            for g in &self.gaps {
                let _ = writeln!(
                    out,
                    "  {}: {}{}",
                    g.part,
                    g.message,
                    g.grant
                        .as_deref()
                        .map(|s| format!(" — {s}"))
                        .unwrap_or_default()
                );
            }
        }
        let s = &self.summary;
        let _ = writeln!(
            out,
            "\n{} checks: {} pass, {} fail, {} warn, {} unknown, {} manual, {} attested, {} accepted, {} not applicable",
            self.findings.len(),
            s.pass,
            s.fail,
            s.warn,
            s.unknown,
            s.manual,
            s.attested,
            s.accepted,
            s.not_applicable
        );
        out
    }
}

fn write_finding(out: &mut String, f: &Finding) {
    let _ = writeln!(
        out,
        "  [{:<7}] {:<8} {} ({})",
        badge(f.status),
        f.id,
        f.title,
        f.severity.as_str()
    );
    let _ = writeln!(out, "            {}", f.evidence);
    if !f.objects.is_empty() {
        let _ = writeln!(out, "            {}", summarise_objects(&f.objects));
    }
    if let Some(grant) = &f.grant {
        let _ = writeln!(out, "            to decide: {grant}");
    }
    if matches!(f.status, Status::Fail | Status::Warn) {
        if let Some(fix) = &f.fix {
            for st in &fix.statements {
                let _ = writeln!(out, "            fix: {st}");
            }
            if fix.statements.is_empty() && !fix.note.is_empty() {
                let _ = writeln!(out, "            fix: {}", fix.note);
            }
        }
    }
}

fn badge(status: Status) -> &'static str {
    match status {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Warn => "WARN",
        Status::Unknown => "UNKNOWN",
        Status::NotApplicable => "N/A",
        Status::Manual => "MANUAL",
        Status::Attested => "ATTEST",
        Status::Accepted => "ACCEPT",
    }
}

/// "N objects: a, b, … (and M more)": the count and the first [`OBJECTS_SHOWN`].
pub fn summarise_objects(objects: &[String]) -> String {
    let shown: Vec<&str> = objects
        .iter()
        .take(OBJECTS_SHOWN)
        .map(String::as_str)
        .collect();
    let more = objects.len().saturating_sub(OBJECTS_SHOWN);
    let mut text = format!("{} object(s): {}", objects.len(), shown.join(", "));
    if more > 0 {
        let _ = write!(text, " … and {more} more");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_object_lists_are_summarised() {
        let objects: Vec<String> = (0..25).map(|i| format!("t{i:02}")).collect();
        let text = summarise_objects(&objects);
        assert!(text.starts_with("25 object(s): t00, t01"));
        assert!(text.ends_with("… and 5 more"));
        assert!(!text.contains("t20"));
    }
}

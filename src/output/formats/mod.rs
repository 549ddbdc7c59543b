//! The formats other tools read (issue 18): SARIF 2.1.0 for code-scanning
//! dashboards, JUnit XML for CI test reports, Heimdall's HDF (InSpec exec
//! JSON), NIST OSCAL Assessment Results for GRC platforms, and CSV for an
//! auditor's spreadsheet. Each is a pure function of a [`ScanReport`], so
//! `scan` and (later) `fleet` call the same code; [`status_map`] is the one
//! place that says what each of our statuses is called in each format.
//!
//! Server strings are hostile: XML and CSV quoting is done by `quick-xml` and
//! `csv`, JSON by serde; the CSV neutralises cells a spreadsheet would run as
//! formulas, JUnit (read by people in CI pages) shows control and bidi
//! characters as visible escapes, and the JSON formats keep names exact with
//! bidi and C1 characters as `\u` escapes, like our own JSON.
//!
//! Pure formatting: no I/O, no clock. Imports `model` and the rest of `output`.

pub mod csv;
pub mod hdf;
pub mod junit;
pub mod nist;
pub mod oscal;
pub mod sarif;
pub mod status_map;

use super::ScanReport;
use crate::model::finding::Finding;
use crate::model::proof::Proof;
use crate::model::untrusted;
use std::fmt::Write as _;

/// An exchange format `scan --format` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Sarif,
    Junit,
    Hdf,
    Oscal,
    /// One row per check, or with `objects` one row per failing object.
    Csv {
        objects: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot write the CSV: {0}")]
    Csv(#[from] ::csv::Error),
    #[error("cannot encode the JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The report in `format`, ending with a newline.
pub fn export(report: &ScanReport, format: ExportFormat) -> Result<String, ExportError> {
    match format {
        ExportFormat::Sarif => json_text(&sarif::to_sarif(report)),
        ExportFormat::Junit => junit::to_junit(report),
        ExportFormat::Hdf => json_text(&hdf::to_hdf(report)),
        ExportFormat::Oscal => json_text(&oscal::to_oscal(report)),
        ExportFormat::Csv { objects: false } => csv::checks_csv(report),
        ExportFormat::Csv { objects: true } => csv::objects_csv(report),
    }
}

/// A JSON export built by hand (e.g. [`sarif::to_sarif_against`]) as
/// [`export`] writes its JSON formats.
pub fn export_json(value: &serde_json::Value) -> Result<String, ExportError> {
    json_text(value)
}

/// Pretty JSON as our own JSON is written: exact names, bidi and C1
/// characters as `\u` escapes, a trailing newline.
fn json_text(value: &serde_json::Value) -> Result<String, ExportError> {
    let mut text = untrusted::json_safe(serde_json::to_string_pretty(value)?);
    text.push('\n');
    Ok(text)
}

/// `host:port`: the server as the formats' logical locations name it.
fn server_name(report: &ScanReport) -> String {
    format!("{}:{}", report.target.host, report.target.port)
}

/// `host:port/dbname`.
fn database_name(report: &ScanReport) -> String {
    format!("{}/{}", server_name(report), report.target.dbname)
}

/// What identifies this scan for reproducible ids: the cluster (system
/// identifier when known), the database and when it was collected.
fn scan_key(report: &ScanReport) -> String {
    format!(
        "{}|{}|{}",
        report.target.system_identifier.as_deref().unwrap_or(""),
        database_name(report),
        report.collected_at
    )
}

/// Everything a reader needs to judge a finding, one fact per line: the
/// evidence, the objects, why it is unknown and what to grant, the
/// attestation or acceptance, the proofs. Exact text (callers escape).
fn evidence_lines(f: &Finding) -> Vec<String> {
    let mut lines = vec![f.evidence.clone()];
    if !f.objects.is_empty() {
        lines.push(format!(
            "{} object(s): {}",
            f.objects.len(),
            f.objects.join(", ")
        ));
    }
    if let Some(reason) = &f.reason {
        lines.push(format!("reason: {reason}"));
    }
    if let Some(grant) = &f.grant {
        lines.push(format!("to decide: {grant}"));
    }
    if let Some(a) = &f.attestation {
        lines.push(format!("attested by {} at {}: {}", a.by, a.at, a.note));
    }
    if let Some(a) = &f.accepted {
        lines.push(acceptance_text(a));
    }
    lines.extend(f.proofs.iter().map(proof_line));
    lines
}

/// "accepted by X until D (ticket T): reason", or "… (baseline)".
fn acceptance_text(a: &crate::model::finding::AcceptedRisk) -> String {
    let mut text = format!("accepted by {} {}", a.by, a.expiry_phrase());
    if let Some(ticket) = &a.ticket {
        let _ = write!(text, " (ticket {ticket})");
    }
    let _ = write!(text, ": {}", a.reason);
    text
}

/// One attempt of an active probe on one line.
fn proof_line(p: &Proof) -> String {
    format!(
        "proof ({}, {}): {} from {} at {} — answer: {} — {}",
        p.probe, p.outcome, p.attempted, p.from, p.at, p.answer, p.note
    )
}

/// The fix statements (or its note) as text, when the check has one.
fn fix_text(f: &Finding) -> Option<String> {
    let fix = f.fix.as_ref()?;
    let statements: Vec<String> = fix.statements.iter().map(|s| s.to_string()).collect();
    match (statements.is_empty(), fix.note.is_empty()) {
        (true, true) => None,
        (true, false) => Some(fix.note.clone()),
        (false, _) => Some(statements.join(";\n")),
    }
}

//! CSV for an auditor's spreadsheet: one row per check, or (`--objects`) one
//! row per object of every check that is not met (fail, warn, accepted), with
//! a row with an empty object for such a check that names none, so that no
//! failure drops out of the sheet.
//!
//! Names come from the scanned server and a spreadsheet runs a cell that
//! starts with `=`, `+`, `-` or `@` (or a tab or carriage return before one)
//! as a formula, so such a cell gets a leading `'` (OWASP's advice for CSV
//! injection); everything else is exact, quoted by the `csv` crate.
//!
//! Imports `model` and `output`.

use super::status_map::mapping;
use super::{fix_text, proof_line, ExportError, ScanReport};
use crate::model::finding::{Finding, Status};

const CHECK_COLUMNS: [&str; 22] = [
    "id",
    "section",
    "title",
    "severity",
    "status",
    "hipaa",
    "cis",
    "evidence",
    "object_count",
    "objects",
    "reason",
    "grant",
    "attested_by",
    "attested_at",
    "attestation_note",
    "accepted_by",
    "accepted_reason",
    "accepted_expires",
    "accepted_ticket",
    "baseline",
    "proofs",
    "fix",
];

const OBJECT_COLUMNS: [&str; 8] = [
    "id",
    "title",
    "severity",
    "status",
    "object",
    "database",
    "server",
    "collected_at",
];

/// One row per check.
pub fn checks_csv(report: &ScanReport) -> Result<String, ExportError> {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    writer.write_record(CHECK_COLUMNS)?;
    for f in &report.findings {
        writer.write_record(
            check_row(f)
                .iter()
                .map(|cell| neutralise(cell).into_owned()),
        )?;
    }
    finish(writer)
}

/// One row per object of every check that is not met.
pub fn objects_csv(report: &ScanReport) -> Result<String, ExportError> {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    writer.write_record(OBJECT_COLUMNS)?;
    let server = format!("{}:{}", report.target.host, report.target.port);
    for f in report.findings.iter().filter(|f| not_met(f.status)) {
        let objects: Vec<&str> = if f.objects.is_empty() {
            vec![""]
        } else {
            f.objects.iter().map(String::as_str).collect()
        };
        for object in objects {
            let row = [
                f.id.as_str(),
                f.title.as_str(),
                f.severity.as_str(),
                mapping(f.status).csv(),
                object,
                report.target.dbname.as_str(),
                server.as_str(),
                report.collected_at.as_str(),
            ];
            writer.write_record(row.iter().map(|cell| neutralise(cell).into_owned()))?;
        }
    }
    finish(writer)
}

/// The statuses whose objects an auditor follows up.
fn not_met(status: Status) -> bool {
    matches!(status, Status::Fail | Status::Warn | Status::Accepted)
}

fn check_row(f: &Finding) -> Vec<String> {
    let attestation = f.attestation.as_ref();
    let accepted = f.accepted.as_ref();
    let proofs: Vec<String> = f.proofs.iter().map(proof_line).collect();
    vec![
        f.id.clone(),
        f.section.id().into(),
        f.title.clone(),
        f.severity.as_str().into(),
        mapping(f.status).csv().into(),
        f.hipaa.join("; "),
        f.cis.clone().unwrap_or_default(),
        f.evidence.clone(),
        f.objects.len().to_string(),
        f.objects.join("\n"),
        f.reason.clone().unwrap_or_default(),
        f.grant.clone().unwrap_or_default(),
        attestation.map(|a| a.by.clone()).unwrap_or_default(),
        attestation.map(|a| a.at.clone()).unwrap_or_default(),
        attestation.map(|a| a.note.clone()).unwrap_or_default(),
        accepted.map(|a| a.by.clone()).unwrap_or_default(),
        accepted.map(|a| a.reason.clone()).unwrap_or_default(),
        accepted
            .map(|a| a.expiry_label().to_string())
            .unwrap_or_default(),
        accepted.and_then(|a| a.ticket.clone()).unwrap_or_default(),
        accepted.map(|a| a.baseline.to_string()).unwrap_or_default(),
        proofs.join("\n"),
        fix_text(f).unwrap_or_default(),
    ]
}

/// A cell a spreadsheet would run as a formula, made text with a leading `'`.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

fn finish(writer: ::csv::Writer<Vec<u8>>) -> Result<String, ExportError> {
    let bytes = writer
        .into_inner()
        .map_err(|e| ExportError::Io(e.into_error()))?;
    String::from_utf8(bytes)
        .map_err(|e| ExportError::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

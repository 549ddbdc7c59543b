//! The order checks are listed in: what needs work first (fail, warn,
//! unknown, manual, then the resolved ones), then by severity and id. The
//! section list, the training suggestion and the arrow keys all follow it.
//! Pure; imports only the model.

use crate::model::finding::{Finding, Section, Status};

/// Display order of statuses: what needs work first.
pub fn status_rank(status: Status) -> u8 {
    match status {
        Status::Fail => 0,
        Status::Warn => 1,
        Status::Unknown => 2,
        Status::Manual => 3,
        Status::Accepted => 4,
        Status::Attested => 5,
        Status::Pass => 6,
        Status::NotApplicable => 7,
    }
}

/// A section's findings, failing first, then by severity and id.
pub fn ordered_findings(findings: &[Finding], section: Section) -> Vec<&Finding> {
    let mut list: Vec<&Finding> = findings.iter().filter(|f| f.section == section).collect();
    list.sort_by(|a, b| {
        (status_rank(a.status), a.severity, &a.id).cmp(&(status_rank(b.status), b.severity, &b.id))
    });
    list
}

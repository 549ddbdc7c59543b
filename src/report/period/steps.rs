//! The drift between two consecutive scans of a period, kept as plain text
//! and statuses: what the report prints and the embedded JSON holds. Made
//! from [`crate::drift::compare`]; only changes are kept, so a year of
//! unchanged daily scans stays small.

use crate::model::finding::Status;
use crate::store::StoredScan;
use serde::Serialize;

/// What changed from one scan to the next.
#[derive(Debug, Clone, Serialize)]
pub struct DriftStep {
    pub from_seq: u64,
    pub to_seq: u64,
    pub to_collected_at: String,
    /// Checks whose status or rows changed.
    pub checks: Vec<StepCheck>,
    /// Objects that appeared, disappeared or changed.
    pub objects: Vec<StepObject>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepCheck {
    pub id: String,
    pub title: String,
    pub old: Option<Status>,
    pub new: Option<Status>,
    /// `newly failing`, `fixed`, `regressed`, `improved`, `rows changed`.
    pub change: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub appeared: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disappeared: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepObject {
    pub kind: String,
    pub name: String,
    /// `appeared`, `disappeared`, `changed`.
    pub change: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl DriftStep {
    pub fn between(old: &StoredScan, new: &StoredScan) -> DriftStep {
        DriftStep {
            from_seq: old.entry.seq,
            to_seq: new.entry.seq,
            to_collected_at: new.entry.collected_at.clone(),
            checks: Vec::new(),
            objects: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.checks.is_empty() && self.objects.is_empty() && self.notes.is_empty()
    }
}

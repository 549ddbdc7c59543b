//! The evidence store as a signed report names it: where the records are and
//! the chain head when the report was made. A report that embeds the head
//! anchors the chain: deleting the newest records, or rewriting the chain,
//! leaves a head the store no longer contains (`history verify --anchor`).
//!
//! The head travels inside the signed content twice: on the cover and in the
//! embedded JSON, as the additive field `evidence_store`. Imports the store's
//! `ChainHead` type only, never the store itself: the report does no I/O.

use super::changes::{Comparison, PreviousScan};
use super::ReportInput;
use crate::drift::Drift;
use crate::model::untrusted;
use crate::output::ScanReport;
use crate::store::record::ChainHead;
use serde::{Deserialize, Serialize};

/// The store a report's data was recorded in, and its chain head then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreHead {
    /// A file path or a team store's address; never a password.
    pub location: String,
    pub head: ChainHead,
}

impl StoreHead {
    /// `#12 3fe5a1b2c3d4e5f6…`: enough to recognise, the full hash is in the appendix.
    pub fn short(&self) -> String {
        let hash = &self.head.hash;
        format!("#{} {}…", self.head.seq, hash.get(..16).unwrap_or(hash))
    }
}

/// The scan's JSON (`pgsafeguard.scan/1`), with the additive fields
/// `evidence_store` when the scan was recorded and `previous_scan` (with the
/// drift since, `pgsafeguard.diff/1`'s fields) when it was compared. Without
/// either it is exactly `report.to_json()`.
pub(super) fn scan_json(input: &ReportInput) -> String {
    #[derive(Serialize)]
    struct Previous<'a> {
        #[serde(flatten)]
        scan: &'a PreviousScan,
        changes: &'a Drift,
    }
    #[derive(Serialize)]
    struct WithStore<'a> {
        #[serde(flatten)]
        scan: &'a ScanReport,
        #[serde(skip_serializing_if = "Option::is_none")]
        evidence_store: Option<&'a StoreHead>,
        #[serde(skip_serializing_if = "Option::is_none")]
        previous_scan: Option<Previous<'a>>,
    }
    let previous_scan = match &input.comparison {
        Comparison::Compared { previous, drift } => Some(Previous {
            scan: previous,
            changes: drift,
        }),
        _ => None,
    };
    match (&input.evidence_store, &previous_scan) {
        (None, None) => input.report.to_json(),
        _ => pretty(&WithStore {
            scan: &input.report,
            evidence_store: input.evidence_store.as_ref(),
            previous_scan,
        }),
    }
}

/// Pretty JSON, safe for any reader (see [`untrusted::json_safe`]), with a final newline.
pub(super) fn pretty<T: Serialize>(value: &T) -> String {
    let mut text = untrusted::json_safe(serde_json::to_string_pretty(value).unwrap_or_default());
    text.push('\n');
    text
}

/// The `evidence_store` of an embedded JSON document, when it has a readable one.
pub(super) fn embedded_store_head(embedded: &serde_json::Value) -> Option<StoreHead> {
    serde_json::from_value(embedded.get("evidence_store")?.clone()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head() -> StoreHead {
        StoreHead {
            location: "/data/evidence.sqlite".into(),
            head: ChainHead {
                seq: 12,
                hash: "3fe5".repeat(16),
            },
        }
    }

    #[test]
    fn the_head_is_added_to_the_scan_json_and_reads_back() {
        let snapshot: crate::model::snapshot::Snapshot =
            serde_json::from_str(include_str!("../../tests/fixtures/report/snapshot.json"))
                .unwrap();
        let report = ScanReport::new(&snapshot, Vec::new());
        let mut input = ReportInput::new(report.clone());
        assert_eq!(scan_json(&input), report.to_json());
        input.evidence_store = Some(head());
        let with = scan_json(&input);
        let value: serde_json::Value = serde_json::from_str(&with).unwrap();
        assert_eq!(value["schema"], "pgsafeguard.scan/1");
        assert_eq!(embedded_store_head(&value), Some(head()));
        // Readers of pgsafeguard.scan/1 still read it.
        let back: ScanReport = serde_json::from_str(&with).unwrap();
        assert_eq!(back, report);
        assert_eq!(head().short(), "#12 3fe53fe53fe53fe5…");
    }
}

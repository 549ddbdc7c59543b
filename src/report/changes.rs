//! What a single-scan report compares its scan with: the newest earlier
//! scan of the same target in the evidence store, and the [`Drift`] between
//! them ("Changes since the previous scan"). The CLI reads the store and
//! calls [`crate::drift::compare`]; this module holds the outcome, chooses
//! the previous scan from a history listing, and names scans the same way
//! for the single-scan and the audit-period report.

use super::doc::human_time;
use crate::drift::{compare, Drift, ScanSide};
use crate::model::finding::Finding;
use crate::model::snapshot::Snapshot;
use crate::store::scan_record::ScanSource;
use crate::store::ScanEntry;
use serde::Serialize;
use time::OffsetDateTime;

/// The scan a report's scan was compared with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreviousScan {
    pub seq: u64,
    pub collected_at: String,
    pub source: ScanSource,
}

/// What the "Changes since the previous scan" chapter can say.
#[derive(Debug, Clone, Default)]
pub enum Comparison {
    /// The scan is not in an evidence store (`--no-store`, no store, the GUI's export).
    #[default]
    NotRecorded,
    /// The store holds no earlier scan of this target.
    FirstScan,
    /// The store could not be read back; the reason, in one line.
    Unavailable(String),
    Compared {
        previous: PreviousScan,
        drift: Box<Drift>,
    },
}

impl Comparison {
    /// Compare `new` (the report's scan) with the stored `old` one.
    pub fn between(
        previous: &ScanEntry,
        old: (&Snapshot, &[Finding]),
        new: (&Snapshot, &[Finding], &ScanEntry),
    ) -> Comparison {
        let drift = compare(
            &ScanSide {
                snapshot: old.0,
                findings: old.1,
                label: scan_label(previous),
            },
            &ScanSide {
                snapshot: new.0,
                findings: new.1,
                label: scan_label(new.2),
            },
        );
        Comparison::Compared {
            previous: PreviousScan {
                seq: previous.seq,
                collected_at: previous.collected_at.clone(),
                source: previous.source,
            },
            drift: Box::new(drift),
        }
    }
}

/// `scan #12, 2026-03-01 08:00:00 UTC`.
pub fn scan_label(entry: &ScanEntry) -> String {
    format!("scan #{}, {}", entry.seq, human_time(&entry.collected_at))
}

/// The newest scan of `this` one's target collected before it (by
/// collection time, then by record: a snapshot recorded late is compared
/// with what was observed before it, not with what was recorded before it).
pub fn previous_scan<'a>(entries: &'a [ScanEntry], this: &ScanEntry) -> Option<&'a ScanEntry> {
    let key = |e: &ScanEntry| (scan_time(&e.collected_at), e.seq);
    let this_key = key(this);
    entries
        .iter()
        .filter(|e| e.target == this.target && e.seq != this.seq)
        .filter(|e| key(e) < this_key)
        .max_by_key(|e| key(e))
}

/// A time that does not read sorts first: it is never "the newest before".
fn scan_time(text: &str) -> OffsetDateTime {
    super::period::parse_time(text).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::finding::Summary;
    use crate::store::target::TargetIdentity;

    fn entry(seq: u64, dbname: &str, at: &str) -> ScanEntry {
        ScanEntry {
            seq,
            target: TargetIdentity {
                system_identifier: Some("7312".into()),
                host: "db1".into(),
                port: 5432,
                dbname: dbname.into(),
            },
            collected_at: at.into(),
            source: ScanSource::Cli,
            summary: Summary::default(),
            sections: Default::default(),
        }
    }

    #[test]
    fn the_previous_scan_is_the_newest_earlier_one_of_the_same_target() {
        let entries = vec![
            entry(1, "clinic", "2026-03-01T08:00:00Z"),
            entry(2, "billing", "2026-03-02T08:00:00Z"),
            entry(3, "clinic", "2026-03-03T08:00:00Z"),
            // A snapshot of March 2nd recorded late.
            entry(4, "clinic", "2026-03-02T08:00:00Z"),
            entry(5, "clinic", "2026-03-04T08:00:00+02:00"),
        ];
        let previous = |seq: u64| {
            let this = entries.iter().find(|e| e.seq == seq).unwrap();
            previous_scan(&entries, this).map(|e| e.seq)
        };
        assert_eq!(previous(1), None);
        assert_eq!(previous(2), None, "another database is another target");
        assert_eq!(previous(3), Some(4));
        assert_eq!(previous(4), Some(1));
        assert_eq!(previous(5), Some(3));
    }
}

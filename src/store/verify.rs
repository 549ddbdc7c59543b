//! `pgsafeguard history verify`: walk the chain, recompute every hash, check
//! every stored part against its address, and look for each anchored head.
//!
//! A chain alone cannot show that its newest records were deleted or that the
//! whole chain was rewritten; a head embedded in a signed report can, because
//! the rewritten chain no longer contains it.

use super::record::{record_hash, sha256_hex, ChainHead, RecordKind, GENESIS};
use super::scan_record::{finding_addresses, Manifest, ScanBody};
use super::{Backend, RecordFilter, StoreError};
use std::collections::HashSet;
use std::fmt;

/// A chain head from outside the store (a signed report), and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub source: String,
    pub head: ChainHead,
}

/// What is wrong, one item per finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The record's content no longer matches its hash.
    Edited { seq: u64 },
    /// The record does not point at the one before it.
    Broken { seq: u64 },
    /// Positions are missing between two records (records deleted).
    Missing { after: u64, next: u64 },
    /// A stored part no longer matches its address.
    PartAltered { address: String },
    /// A scan refers to a part that is not stored.
    PartMissing { seq: u64, address: String },
    /// A record's body does not read as its kind.
    Unreadable { seq: u64, message: String },
    /// The back end's own head (the team store's head row) is not the newest
    /// record: one of them was edited.
    HeadMismatch {
        kept: Option<ChainHead>,
        newest: Option<ChainHead>,
    },
    /// An anchored head is not in the chain (newest records deleted, or the
    /// chain rewritten).
    AnchorMissing { anchor: Anchor },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Edited { seq } => write!(f, "record #{seq} was edited (its hash no longer matches)"),
            Problem::Broken { seq } => write!(f, "the chain breaks at record #{seq} (it does not follow the record before it)"),
            Problem::Missing { after, next } => write!(f, "records #{}..#{} are missing (deleted)", after + 1, next - 1),
            Problem::PartAltered { address } => write!(f, "stored part {address} was altered"),
            Problem::PartMissing { seq, address } => write!(f, "scan #{seq} refers to part {address}, which is missing"),
            Problem::Unreadable { seq, message } => write!(f, "record #{seq} does not read back: {message}"),
            Problem::HeadMismatch { kept, newest } => write!(
                f,
                "the store's head ({}) is not its newest record ({}): the head or the records were edited",
                kept.as_ref().map_or("none".to_string(), ToString::to_string),
                newest.as_ref().map_or("none".to_string(), ToString::to_string),
            ),
            Problem::AnchorMissing { anchor } => write!(
                f,
                "{} anchors chain head {}, which the store no longer contains (records deleted or the chain rewritten)",
                anchor.source, anchor.head
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub location: String,
    pub records: u64,
    pub parts: u64,
    pub head: Option<ChainHead>,
    pub anchors_found: Vec<Anchor>,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn to_text(&self) -> String {
        let mut out = format!(
            "evidence store {}: {} records, {} stored parts\n",
            self.location, self.records, self.parts
        );
        match &self.head {
            Some(head) => out.push_str(&format!("chain head: {head}\n")),
            None => out.push_str("the store is empty\n"),
        }
        for anchor in &self.anchors_found {
            out.push_str(&format!(
                "anchor from {} found: {}\n",
                anchor.source, anchor.head
            ));
        }
        if self.intact() {
            out.push_str("intact: every record and part matches its hash\n");
        } else {
            out.push_str(&format!("NOT INTACT: {} problem(s)\n", self.problems.len()));
            for problem in &self.problems {
                out.push_str(&format!("  - {problem}\n"));
            }
        }
        out
    }
}

pub(super) fn verify(
    backend: &mut dyn Backend,
    anchors: &[Anchor],
    location: &str,
) -> Result<VerifyReport, StoreError> {
    let records = backend.records(&RecordFilter::default())?;
    let mut problems = Vec::new();
    let mut referenced: Vec<(u64, String)> = Vec::new();
    let mut previous: Option<(u64, &str)> = None;
    for record in &records {
        let (expected_seq, expected_prev) = match previous {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, GENESIS),
        };
        if record.seq != expected_seq {
            problems.push(Problem::Missing {
                after: expected_seq - 1,
                next: record.seq,
            });
        } else if record.prev != expected_prev {
            problems.push(Problem::Broken { seq: record.seq });
        }
        if record_hash(record) != record.hash {
            problems.push(Problem::Edited { seq: record.seq });
        }
        if record.kind == RecordKind::Scan {
            match scan_addresses(backend, &record.body) {
                Ok(addresses) => referenced.extend(addresses.into_iter().map(|a| (record.seq, a))),
                Err(message) => problems.push(Problem::Unreadable {
                    seq: record.seq,
                    message,
                }),
            }
        }
        previous = Some((record.seq, &record.hash));
    }

    let mut stored = HashSet::new();
    let mut altered = Vec::new();
    backend.each_part(&mut |address, bytes| {
        if sha256_hex(bytes) != address {
            altered.push(address.to_string());
        }
        stored.insert(address.to_string());
    })?;
    problems.extend(
        altered
            .into_iter()
            .map(|address| Problem::PartAltered { address }),
    );
    for (seq, address) in referenced {
        if !stored.contains(&address) {
            problems.push(Problem::PartMissing { seq, address });
        }
    }

    let newest = records.last().map(|r| r.head());
    let kept = backend.head()?;
    if kept != newest {
        problems.push(Problem::HeadMismatch {
            kept,
            newest: newest.clone(),
        });
    }

    let mut anchors_found = Vec::new();
    for anchor in anchors {
        let present = records
            .iter()
            .any(|r| r.seq == anchor.head.seq && r.hash == anchor.head.hash);
        if present {
            anchors_found.push(anchor.clone());
        } else {
            problems.push(Problem::AnchorMissing {
                anchor: anchor.clone(),
            });
        }
    }
    Ok(VerifyReport {
        location: location.to_string(),
        records: records.len() as u64,
        parts: stored.len() as u64,
        head: newest,
        anchors_found,
        problems,
    })
}

/// The manifest's address and every address it lists.
fn scan_addresses(backend: &mut dyn Backend, body: &str) -> Result<Vec<String>, String> {
    let body: ScanBody = serde_json::from_str(body).map_err(|e| e.to_string())?;
    let mut addresses = vec![body.manifest.clone()];
    // A missing or altered manifest is reported with the parts; here it only
    // cannot list what it refers to.
    if let Some(bytes) = backend.part(&body.manifest).map_err(|e| e.to_string())? {
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        addresses.extend(manifest.addresses().cloned());
        for group in &manifest.finding_groups {
            if let Some(bytes) = backend.part(group).map_err(|e| e.to_string())? {
                let listed = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
                addresses.extend(finding_addresses(listed).map_err(|e| e.to_string())?);
            }
        }
    }
    Ok(addresses)
}

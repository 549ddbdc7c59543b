//! One record of the evidence store and the hash that chains it to the one
//! before. Both back ends (SQLite and PostgreSQL) seal records here, so a
//! chain written by one verifies the same way as a chain written by the other.
//!
//! The hash covers the position, the kind, the target, the time, the previous
//! hash and the SHA-256 of the body; a scan body in turn names its parts by
//! their SHA-256, so editing any byte of a record or of a stored part shows.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// The previous hash of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Tags the hash input, so a future layout can never collide with this one.
const HASH_DOMAIN: &str = "pgsafeguard.record/1";

/// What a record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A scan: snapshot parts, findings (with attestations and proofs).
    Scan,
    /// A fix applied or rolled back (one change-log entry).
    Fix,
    /// An accepted risk or a baseline written to, or removed from, a policy file.
    Policy,
    /// A signed report that embedded the chain head.
    Anchor,
    /// A restore drill's record (`model::drill::DrillRecord`), filed under
    /// the restored cluster's system identifier.
    Drill,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Scan => "scan",
            RecordKind::Fix => "fix",
            RecordKind::Policy => "policy",
            RecordKind::Anchor => "anchor",
            RecordKind::Drill => "drill",
        }
    }

    pub fn parse(text: &str) -> Option<RecordKind> {
        [
            RecordKind::Scan,
            RecordKind::Fix,
            RecordKind::Policy,
            RecordKind::Anchor,
            RecordKind::Drill,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record before it has a place in the chain.
#[derive(Debug, Clone)]
pub struct Draft {
    pub kind: RecordKind,
    /// The target key (see `TargetIdentity::key`), empty when not about one server.
    pub target: String,
    /// When it happened (RFC 3339): a scan's `collected_at`, a fix's finish.
    pub at: String,
    /// JSON.
    pub body: String,
    /// Content-addressed parts the body refers to: (SHA-256 hex, bytes).
    pub parts: Vec<(String, Vec<u8>)>,
}

/// A record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    pub kind: RecordKind,
    pub target: String,
    pub at: String,
    pub body: String,
    pub prev: String,
    pub hash: String,
}

/// The newest record of a chain: what a signed report embeds, so that
/// deleting later records or rewriting the chain shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: String,
}

impl fmt::Display for ChainHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} {}", self.seq, self.hash)
    }
}

/// Give `draft` its place after `prev` (None: the first record).
pub fn seal(prev: Option<&ChainHead>, draft: &Draft) -> Record {
    let seq = prev.map_or(1, |p| p.seq + 1);
    let prev_hash = prev.map_or(GENESIS, |p| p.hash.as_str()).to_string();
    let mut record = Record {
        seq,
        kind: draft.kind,
        target: draft.target.clone(),
        at: draft.at.clone(),
        body: draft.body.clone(),
        prev: prev_hash,
        hash: String::new(),
    };
    record.hash = record_hash(&record);
    record
}

/// The hash a record must carry, from its other fields.
pub fn record_hash(record: &Record) -> String {
    let mut hasher = Sha256::new();
    for field in [
        HASH_DOMAIN,
        &record.seq.to_string(),
        record.kind.as_str(),
        &record.target,
        &record.at,
        &record.prev,
        &sha256_hex(record.body.as_bytes()),
    ] {
        // Length-prefixed, so no two different field lists hash alike.
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// SHA-256 of `bytes`, lower-case hex: the address of a stored part.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Record {
    pub fn head(&self) -> ChainHead {
        ChainHead {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(body: &str) -> Draft {
        Draft {
            kind: RecordKind::Scan,
            target: "t".into(),
            at: "2026-12-01T10:00:00Z".into(),
            body: body.into(),
            parts: Vec::new(),
        }
    }

    #[test]
    fn records_chain_from_genesis() {
        let first = seal(None, &draft("{}"));
        assert_eq!((first.seq, first.prev.as_str()), (1, GENESIS));
        let second = seal(Some(&first.head()), &draft("{}"));
        assert_eq!(second.seq, 2);
        assert_eq!(second.prev, first.hash);
        assert_ne!(second.hash, first.hash, "the position is part of the hash");
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = seal(None, &draft("{\"a\":1}"));
        let mut edited = base.clone();
        edited.body = "{\"a\":2}".into();
        assert_ne!(record_hash(&edited), base.hash);
        let mut edited = base.clone();
        edited.at = "2026-12-01T10:00:01Z".into();
        assert_ne!(record_hash(&edited), base.hash);
        let mut edited = base.clone();
        edited.target = "u".into();
        assert_ne!(record_hash(&edited), base.hash);
        let mut edited = base.clone();
        edited.kind = RecordKind::Fix;
        assert_ne!(record_hash(&edited), base.hash);
        assert_eq!(record_hash(&base), base.hash);
    }

    #[test]
    fn field_boundaries_are_part_of_the_hash() {
        let mut a = seal(None, &draft("{}"));
        a.target = "ab".into();
        a.at = "c".into();
        let mut b = a.clone();
        b.target = "a".into();
        b.at = "bc".into();
        assert_ne!(record_hash(&a), record_hash(&b));
    }
}

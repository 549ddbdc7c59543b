//! How a scan is kept: the snapshot cut into parts, each finding a part of
//! its own, all content-addressed, so that what did not change since the last
//! scan is stored once. Whole snapshots always differ (`collected_at`,
//! sessions, the archiver's counters); their parts mostly do not.
//!
//! The chained record body stays small (target, time, counts, and the address
//! of a manifest part), so listing ten thousand scans reads little.

use super::record::sha256_hex;
use super::target::TargetIdentity;
use super::StoreError;
use crate::model::finding::{Finding, Section, Summary};
use crate::model::snapshot::Snapshot;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Where a recorded scan came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanSource {
    /// `pgsafeguard scan` / `report` connected to the server.
    Cli,
    /// The desktop app scanned the server.
    Gui,
    /// A saved snapshot was re-evaluated: the observation is as old as its
    /// `collected_at`; the findings follow the policy of the day it was recorded.
    SnapshotFile,
}

impl ScanSource {
    pub fn describe(self) -> &'static str {
        match self {
            ScanSource::Cli => "command line",
            ScanSource::Gui => "desktop app",
            ScanSource::SnapshotFile => "saved snapshot",
        }
    }
}

/// The chained body of a scan record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanBody {
    pub target: TargetIdentity,
    pub collected_at: String,
    pub source: ScanSource,
    pub tool_version: String,
    #[serde(with = "counts")]
    pub summary: Summary,
    /// Counts per section id, for charts.
    #[serde(with = "section_counts")]
    pub sections: BTreeMap<Section, Summary>,
    /// The address of the [`Manifest`] part.
    pub manifest: String,
}

/// Which parts make up the scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Top-level snapshot fields that are plain values (schema version, times).
    pub scalars: Map<String, Value>,
    /// Every other top-level field, by name, as a part address.
    pub parts: BTreeMap<String, String>,
    /// One part per scanned database, in snapshot order.
    pub databases: Vec<String>,
    /// The findings, one group per guide section in catalogue order: each
    /// group is a part listing the addresses of its findings' parts. A rescan
    /// where one finding changed stores that finding and its section's list,
    /// not the addresses of all of them again.
    pub finding_groups: Vec<String>,
}

impl Manifest {
    /// The part addresses the manifest names directly (finding groups
    /// included; the findings inside them are read from the groups).
    pub fn addresses(&self) -> impl Iterator<Item = &String> {
        self.parts
            .values()
            .chain(&self.databases)
            .chain(&self.finding_groups)
    }
}

/// A scan cut into its record body and parts.
pub struct SplitScan {
    pub body: ScanBody,
    /// (address, bytes), the manifest included.
    pub parts: Vec<(String, Vec<u8>)>,
}

/// Cut a scan into parts.
pub fn split(
    snapshot: &Snapshot,
    findings: &[Finding],
    source: ScanSource,
) -> Result<SplitScan, StoreError> {
    let mut parts = Vec::new();
    let mut add = |bytes: Vec<u8>| {
        let address = sha256_hex(&bytes);
        parts.push((address.clone(), bytes));
        address
    };
    let Value::Object(fields) = serde_json::to_value(snapshot).map_err(StoreError::encode)? else {
        return Err(StoreError::Corrupt(
            "a snapshot did not serialise as an object".into(),
        ));
    };
    let mut manifest = Manifest {
        scalars: Map::new(),
        parts: BTreeMap::new(),
        databases: Vec::new(),
        finding_groups: Vec::new(),
    };
    for (name, value) in fields {
        match value {
            Value::Array(databases) if name == "databases" => {
                for database in databases {
                    manifest.databases.push(add(encode(&database)?));
                }
            }
            Value::Array(_) | Value::Object(_) => {
                let address = add(encode(&value)?);
                manifest.parts.insert(name, address);
            }
            scalar => {
                manifest.scalars.insert(name, scalar);
            }
        }
    }
    for group in findings.chunk_by(|a, b| a.section == b.section) {
        let mut addresses = Vec::with_capacity(group.len());
        for finding in group {
            // The proposed fix is left out: it is re-derived from the snapshot
            // whenever it is needed, and its text (a whole proposed pg_hba.conf
            // naming the scan time) would make every rescan store it anew.
            let kept = Finding {
                fix: None,
                ..finding.clone()
            };
            addresses.push(add(encode(&kept)?));
        }
        manifest.finding_groups.push(add(encode(&addresses)?));
    }
    let manifest_address = add(encode(&manifest)?);
    let mut sections = BTreeMap::new();
    for section in Section::ALL {
        sections.insert(
            section,
            Summary::of(findings.iter().filter(|f| f.section == section)),
        );
    }
    let body = ScanBody {
        target: TargetIdentity::of(&snapshot.target),
        collected_at: snapshot.collected_at.clone(),
        source,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        summary: Summary::of(findings),
        sections,
        manifest: manifest_address,
    };
    Ok(SplitScan { body, parts })
}

/// Counts as eight numbers in [`Status::ALL`] order: `history` reads one body
/// per recorded scan, so the body is kept short.
mod counts {
    use crate::model::finding::Summary;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn to_array(s: &Summary) -> [usize; 8] {
        [
            s.pass,
            s.fail,
            s.warn,
            s.unknown,
            s.not_applicable,
            s.manual,
            s.attested,
            s.accepted,
        ]
    }

    pub fn from_array(a: [usize; 8]) -> Summary {
        let [pass, fail, warn, unknown, not_applicable, manual, attested, accepted] = a;
        Summary {
            pass,
            fail,
            warn,
            unknown,
            not_applicable,
            manual,
            attested,
            accepted,
        }
    }

    pub fn serialize<S: Serializer>(s: &Summary, serializer: S) -> Result<S::Ok, S::Error> {
        to_array(s).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Summary, D::Error> {
        <[usize; 8]>::deserialize(d).map(from_array)
    }
}

mod section_counts {
    use super::counts::{from_array, to_array};
    use crate::model::finding::{Section, Summary};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(
        sections: &BTreeMap<Section, Summary>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let arrays: BTreeMap<Section, [usize; 8]> =
            sections.iter().map(|(k, v)| (*k, to_array(v))).collect();
        arrays.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<Section, Summary>, D::Error> {
        let arrays = BTreeMap::<Section, [usize; 8]>::deserialize(d)?;
        Ok(arrays
            .into_iter()
            .map(|(k, v)| (k, from_array(v)))
            .collect())
    }
}

/// Put a scan back together from its manifest; `part` reads one part.
pub fn join(
    manifest: &Manifest,
    part: &mut dyn FnMut(&str) -> Result<Vec<u8>, StoreError>,
) -> Result<(Snapshot, Vec<Finding>), StoreError> {
    // The parts are JSON already: splice them into one object and parse the
    // snapshot once, rather than through an intermediate `Value`.
    let mut text = Vec::with_capacity(1 << 16);
    text.push(b'{');
    let mut first = true;
    let mut field = |text: &mut Vec<u8>, name: &str| -> Result<(), StoreError> {
        if !std::mem::take(&mut first) {
            text.push(b',');
        }
        text.extend(serde_json::to_vec(name).map_err(StoreError::encode)?);
        text.push(b':');
        Ok(())
    };
    for (name, value) in &manifest.scalars {
        field(&mut text, name)?;
        text.extend(serde_json::to_vec(value).map_err(StoreError::encode)?);
    }
    for (name, address) in &manifest.parts {
        field(&mut text, name)?;
        text.extend(part(address)?);
    }
    field(&mut text, "databases")?;
    text.push(b'[');
    for (i, address) in manifest.databases.iter().enumerate() {
        if i > 0 {
            text.push(b',');
        }
        text.extend(part(address)?);
    }
    text.extend(b"]}");
    let snapshot: Snapshot = serde_json::from_slice(&text).map_err(StoreError::decode)?;
    let mut findings = Vec::new();
    for group in &manifest.finding_groups {
        let listed = serde_json::from_slice(&part(group)?).map_err(StoreError::decode)?;
        for address in finding_addresses(listed)? {
            findings.push(serde_json::from_slice(&part(&address)?).map_err(StoreError::decode)?);
        }
    }
    Ok((snapshot, findings))
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(StoreError::encode)
}

/// The finding addresses a group part lists.
pub fn finding_addresses(group: Value) -> Result<Vec<String>, StoreError> {
    serde_json::from_value(group).map_err(StoreError::decode)
}

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
    pub summary: Summary,
    /// Counts per section id, for charts.
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

/// Put a scan back together from its manifest; `part` reads one part.
pub fn join(
    manifest: &Manifest,
    part: &mut dyn FnMut(&str) -> Result<Vec<u8>, StoreError>,
) -> Result<(Snapshot, Vec<Finding>), StoreError> {
    let mut read = |address: &str| -> Result<Value, StoreError> {
        serde_json::from_slice(&part(address)?).map_err(StoreError::decode)
    };
    let mut fields = manifest.scalars.clone();
    for (name, address) in &manifest.parts {
        fields.insert(name.clone(), read(address)?);
    }
    let databases = manifest
        .databases
        .iter()
        .map(|a| read(a))
        .collect::<Result<Vec<_>, _>>()?;
    fields.insert("databases".into(), Value::Array(databases));
    let snapshot: Snapshot =
        serde_json::from_value(Value::Object(fields)).map_err(StoreError::decode)?;
    let mut findings = Vec::new();
    for group in &manifest.finding_groups {
        for address in finding_addresses(read(group)?)? {
            let finding = serde_json::from_value(read(&address)?).map_err(StoreError::decode)?;
            findings.push(finding);
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

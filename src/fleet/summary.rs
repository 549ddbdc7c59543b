//! The fleet summary (`pgsafeguard.fleet/1`): one row per target with what
//! happened to it (scanned, unreachable, timed out, failed), its counts and
//! the worst status of each guide section — the target × section matrix —,
//! the totals, the exit code they mean, the text table, and `fleet merge`
//! (joining the summaries of the shards of one inventory).
//!
//! Pure data and formatting: no I/O, no clock. Imports `model` and `output`.

use super::shard::Shard;
use crate::model::finding::{Finding, Section, Status, Summary};
use crate::model::untrusted;
use crate::output::{ScanReport, Tool};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

pub const FLEET_SCHEMA: &str = "pgsafeguard.fleet/1";
/// The summary's file name in an output folder.
pub const SUMMARY_FILE: &str = "fleet.json";

/// What happened to one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Scanned and evaluated.
    Scanned,
    /// No session could be opened (refused, no route, connect timeout, login refused).
    Unreachable,
    /// Connected, but the scan did not finish within the scan timeout.
    TimedOut,
    /// Connected, but the scan failed (or pgSafeguard did).
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Scanned => "scanned",
            Outcome::Unreachable => "unreachable",
            Outcome::TimedOut => "timed out",
            Outcome::Failed => "failed",
        }
    }
}

/// One cell of the matrix: a section of one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionCell {
    /// The worst status of the section's checks ([`worst_first`] order).
    pub worst: Status,
    pub counts: Summary,
}

/// One target: a row of the matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetRow {
    pub name: String,
    pub group: Option<String>,
    pub tags: Vec<String>,
    /// `user@host:port/dbname (sslmode=…)`: never a password.
    pub connection: String,
    pub outcome: Outcome,
    /// Why it was not scanned.
    pub error: Option<String>,
    pub duration_ms: u64,
    /// The target's scan (`pgsafeguard.scan/1`), relative to the output folder.
    pub file: Option<String>,
    pub server_version: Option<String>,
    pub system_identifier: Option<String>,
    pub collected_at: Option<String>,
    /// Counts over all checks (scanned targets only).
    pub summary: Option<Summary>,
    /// Per section id (scanned targets only).
    pub sections: BTreeMap<Section, SectionCell>,
}

impl TargetRow {
    /// A scanned target's row from its report.
    pub fn scanned(base: TargetRow, report: &ScanReport) -> TargetRow {
        TargetRow {
            outcome: Outcome::Scanned,
            error: None,
            server_version: report.target.server_version.clone(),
            system_identifier: report.target.system_identifier.clone(),
            collected_at: Some(report.collected_at.clone()),
            summary: Some(report.summary.clone()),
            sections: section_cells(&report.findings),
            ..base
        }
    }

    /// Whether a check of this target fails.
    pub fn failing(&self) -> bool {
        self.summary.as_ref().is_some_and(|s| s.fail > 0)
    }
}

/// The matrix cells of one target's findings.
pub fn section_cells(findings: &[Finding]) -> BTreeMap<Section, SectionCell> {
    Section::ALL
        .into_iter()
        .filter_map(|section| {
            let in_section: Vec<&Finding> =
                findings.iter().filter(|f| f.section == section).collect();
            let worst = in_section
                .iter()
                .map(|f| f.status)
                .min_by_key(|s| rank(*s))?;
            Some((
                section,
                SectionCell {
                    worst,
                    counts: Summary::of(in_section),
                },
            ))
        })
        .collect()
}

/// Statuses from the one that needs attention most: a fail, then what could
/// hide one (unknown), then weaker-than-recommended, then open attestations.
pub fn worst_first() -> [Status; 8] {
    [
        Status::Fail,
        Status::Unknown,
        Status::Warn,
        Status::Manual,
        Status::Accepted,
        Status::Attested,
        Status::Pass,
        Status::NotApplicable,
    ]
}

/// Position in [`worst_first`] (0 is worst).
pub fn rank(status: Status) -> usize {
    worst_first()
        .iter()
        .position(|s| *s == status)
        .unwrap_or(usize::MAX)
}

/// The run's settings, for the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSettings {
    pub concurrency: usize,
    pub connect_timeout_s: u64,
    pub scan_timeout_s: u64,
    pub all_databases: bool,
    pub group: Option<String>,
    pub tag: Option<String>,
}

/// Which inventory a summary is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryInfo {
    pub path: String,
    pub sha256: String,
    /// Targets in the whole inventory (after --group and --tag), all shards.
    pub targets: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub targets: usize,
    pub scanned: usize,
    /// Scanned targets with at least one failing check.
    pub failing: usize,
    pub unreachable: usize,
    pub timed_out: usize,
    pub failed: usize,
    /// Counts over every check of every scanned target.
    pub summary: Summary,
}

impl Totals {
    pub fn of(rows: &[TargetRow]) -> Totals {
        let mut totals = Totals {
            targets: rows.len(),
            ..Totals::default()
        };
        for row in rows {
            match row.outcome {
                Outcome::Scanned => totals.scanned += 1,
                Outcome::Unreachable => totals.unreachable += 1,
                Outcome::TimedOut => totals.timed_out += 1,
                Outcome::Failed => totals.failed += 1,
            }
            if row.failing() {
                totals.failing += 1;
            }
            if let Some(s) = &row.summary {
                add(&mut totals.summary, s);
            }
        }
        totals
    }
}

fn add(total: &mut Summary, more: &Summary) {
    total.pass += more.pass;
    total.fail += more.fail;
    total.warn += more.warn;
    total.unknown += more.unknown;
    total.not_applicable += more.not_applicable;
    total.manual += more.manual;
    total.attested += more.attested;
    total.accepted += more.accepted;
}

/// The `pgsafeguard.fleet/1` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetSummary {
    pub schema: String,
    pub tool: Tool,
    pub inventory: InventoryInfo,
    /// The shard this run scanned (`0/1`: all of it).
    pub shard: Shard,
    /// Set on a merged summary: the shards it joins, and those it lacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<Merged>,
    pub started_at: String,
    pub finished_at: String,
    pub settings: RunSettings,
    /// Sorted by name.
    pub targets: Vec<TargetRow>,
    pub totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Merged {
    pub shards: Vec<u32>,
    pub missing_shards: Vec<u32>,
}

impl FleetSummary {
    /// A summary of `rows` (sorted here).
    pub fn new(
        inventory: InventoryInfo,
        shard: Shard,
        settings: RunSettings,
        started_at: String,
        finished_at: String,
        mut rows: Vec<TargetRow>,
    ) -> FleetSummary {
        rows.sort_by(|a, b| a.name.cmp(&b.name));
        FleetSummary {
            schema: FLEET_SCHEMA.into(),
            tool: Tool {
                name: "pgsafeguard".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            inventory,
            shard,
            merged: None,
            started_at,
            finished_at,
            settings,
            totals: Totals::of(&rows),
            targets: rows,
        }
    }

    /// Pretty JSON with a trailing newline, safe to print.
    pub fn to_json(&self) -> String {
        let mut text = untrusted::json_safe(serde_json::to_string_pretty(self).unwrap_or_default());
        text.push('\n');
        text
    }

    /// 0: every target scanned, nothing fails; 1: a target fails a check or
    /// was not scanned (or a shard is missing from a merge); 2: targets were
    /// given and none could be scanned.
    pub fn exit_code(&self) -> u8 {
        let t = &self.totals;
        let missing = self
            .merged
            .as_ref()
            .is_some_and(|m| !m.missing_shards.is_empty());
        if t.targets > 0 && t.scanned == 0 {
            2
        } else if t.failing > 0 || t.scanned < t.targets || missing {
            1
        } else {
            0
        }
    }

    /// The matrix as text: one row per target, one column per section, each
    /// cell its worst status and how many checks have it.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let t = &self.totals;
        let scope = match (&self.merged, self.shard.count) {
            (Some(m), _) => format!(", {} shard(s) merged", m.shards.len()),
            (None, 1) => String::new(),
            (None, _) => format!(", shard {}", self.shard),
        };
        let _ = writeln!(
            out,
            "pgSafeguard {} fleet — {} target(s){scope}: {} scanned, {} failing, {} unreachable, {} timed out, {} failed",
            self.tool.version, t.targets, t.scanned, t.failing, t.unreachable, t.timed_out, t.failed
        );
        if let Some(m) = self
            .merged
            .as_ref()
            .filter(|m| !m.missing_shards.is_empty())
        {
            let missing: Vec<String> = m.missing_shards.iter().map(u32::to_string).collect();
            let _ = writeln!(out, "missing shards: {}", missing.join(", "));
        }
        let name_width = self
            .targets
            .iter()
            .map(|r| untrusted::name(&r.name).chars().count())
            .max()
            .unwrap_or(6)
            .clamp(6, 40);
        let _ = write!(out, "\n{:<name_width$}", "target");
        for section in Section::ALL {
            let _ = write!(out, "  {:<11}", section.id());
        }
        out.push('\n');
        for row in &self.targets {
            let name = untrusted::name(&row.name);
            let _ = write!(out, "{name:<name_width$}");
            if row.outcome != Outcome::Scanned {
                let _ = writeln!(
                    out,
                    "  {}: {}",
                    row.outcome.as_str().to_uppercase(),
                    untrusted::one_line(row.error.as_deref().unwrap_or("no reason given"))
                );
                continue;
            }
            for section in Section::ALL {
                let cell = row.sections.get(&section).map_or_else(
                    || "-".to_string(),
                    |c| format!("{} {}", short(c.worst), c.counts.count(c.worst)),
                );
                let _ = write!(out, "  {cell:<11}");
            }
            out.push('\n');
        }
        let s = &t.summary;
        let _ = writeln!(
            out,
            "\nall scanned targets: {} pass, {} fail, {} warn, {} unknown, {} manual, {} attested, {} accepted, {} not applicable",
            s.pass, s.fail, s.warn, s.unknown, s.manual, s.attested, s.accepted, s.not_applicable
        );
        out
    }
}

/// A status in at most 7 characters, for the matrix.
pub fn short(status: Status) -> &'static str {
    match status {
        Status::NotApplicable => "n/a",
        other => other.as_str(),
    }
}

/// Why shard summaries cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge: give the output folders of the shards")]
    Nothing,
    #[error("{path} is not a fleet summary ({FLEET_SCHEMA}): {message}")]
    NotASummary { path: String, message: String },
    #[error("{path} is about another inventory (sha256 {found}, not {expected}): merge the shards of one inventory")]
    OtherInventory {
        path: String,
        expected: String,
        found: String,
    },
    #[error(
        "{path} is shard {found}, but another summary splits the inventory into {expected} shards"
    )]
    OtherSplit {
        path: String,
        expected: u32,
        found: Shard,
    },
    #[error("{path} repeats shard {shard}: give each shard's folder once")]
    RepeatedShard { path: String, shard: Shard },
    #[error("target {name:?} appears in two shards ({path}): the shards are not of one run")]
    RepeatedTarget { path: String, name: String },
}

/// Reads one summary's JSON (`path` names it in errors).
pub fn parse_summary(text: &str, path: &str) -> Result<FleetSummary, MergeError> {
    let summary: FleetSummary =
        serde_json::from_str(text).map_err(|e| MergeError::NotASummary {
            path: path.to_string(),
            message: e.to_string(),
        })?;
    if summary.schema != FLEET_SCHEMA {
        return Err(MergeError::NotASummary {
            path: path.to_string(),
            message: format!("schema {:?}", untrusted::name(&summary.schema)),
        });
    }
    Ok(summary)
}

/// Joins the summaries of shards of one inventory (each with the path it was
/// read from). Shards not given are listed as missing.
pub fn merge(parts: Vec<(String, FleetSummary)>) -> Result<FleetSummary, MergeError> {
    let Some((_, first)) = parts.first() else {
        return Err(MergeError::Nothing);
    };
    let expected_sha = first.inventory.sha256.clone();
    let count = first.shard.count;
    let mut shards = BTreeSet::new();
    let mut names = BTreeSet::new();
    let mut rows = Vec::new();
    let mut started = Vec::new();
    let mut finished = Vec::new();
    for (path, part) in &parts {
        if part.inventory.sha256 != expected_sha {
            return Err(MergeError::OtherInventory {
                path: path.clone(),
                expected: expected_sha.clone(),
                found: part.inventory.sha256.clone(),
            });
        }
        if part.shard.count != count {
            return Err(MergeError::OtherSplit {
                path: path.clone(),
                expected: count,
                found: part.shard,
            });
        }
        let part_shards: Vec<u32> = match &part.merged {
            Some(m) => m.shards.clone(),
            None => vec![part.shard.index],
        };
        for index in part_shards {
            if !shards.insert(index) {
                return Err(MergeError::RepeatedShard {
                    path: path.clone(),
                    shard: Shard { index, count },
                });
            }
        }
        for row in &part.targets {
            if !names.insert(row.name.clone()) {
                return Err(MergeError::RepeatedTarget {
                    path: path.clone(),
                    name: untrusted::name(&row.name),
                });
            }
            rows.push(row.clone());
        }
        started.push(part.started_at.clone());
        finished.push(part.finished_at.clone());
    }
    let missing_shards = (0..count).filter(|i| !shards.contains(i)).collect();
    let mut summary = FleetSummary::new(
        first.inventory.clone(),
        Shard { index: 0, count },
        first.settings.clone(),
        started.into_iter().min().unwrap_or_default(),
        finished.into_iter().max().unwrap_or_default(),
        rows,
    );
    summary.merged = Some(Merged {
        shards: shards.into_iter().collect(),
        missing_shards,
    });
    Ok(summary)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly on purpose
mod tests {
    use super::*;

    fn row(name: &str, outcome: Outcome, fail: usize) -> TargetRow {
        TargetRow {
            name: name.into(),
            group: None,
            tags: Vec::new(),
            connection: format!("u@{name}:5432/db (sslmode=prefer)"),
            outcome,
            error: (outcome != Outcome::Scanned).then(|| "connection refused".into()),
            duration_ms: 5,
            file: None,
            server_version: None,
            system_identifier: None,
            collected_at: None,
            summary: (outcome == Outcome::Scanned).then(|| Summary {
                fail,
                pass: 3,
                ..Summary::default()
            }),
            sections: BTreeMap::new(),
        }
    }

    fn summary(shard: Shard, rows: Vec<TargetRow>) -> FleetSummary {
        FleetSummary::new(
            InventoryInfo {
                path: "fleet.toml".into(),
                sha256: "abc".into(),
                targets: 3,
            },
            shard,
            RunSettings {
                concurrency: 16,
                connect_timeout_s: 10,
                scan_timeout_s: 300,
                all_databases: false,
                group: None,
                tag: None,
            },
            "2026-01-01T00:00:00Z".into(),
            "2026-01-01T00:01:00Z".into(),
            rows,
        )
    }

    #[test]
    fn exit_codes_follow_the_issue() {
        let all_good = summary(Shard::ALL, vec![row("a", Outcome::Scanned, 0)]);
        assert_eq!(all_good.exit_code(), 0);
        let failing = summary(Shard::ALL, vec![row("a", Outcome::Scanned, 2)]);
        assert_eq!(failing.exit_code(), 1);
        let one_down = summary(
            Shard::ALL,
            vec![
                row("a", Outcome::Scanned, 0),
                row("b", Outcome::TimedOut, 0),
            ],
        );
        assert_eq!(one_down.exit_code(), 1);
        let none = summary(Shard::ALL, vec![row("b", Outcome::Unreachable, 0)]);
        assert_eq!(none.exit_code(), 2);
        assert_eq!(
            summary(Shard::ALL, Vec::new()).exit_code(),
            0,
            "an empty shard"
        );
    }

    #[test]
    fn worst_status_of_a_section() {
        assert_eq!(rank(Status::Fail), 0);
        assert!(rank(Status::Unknown) < rank(Status::Warn));
        assert!(rank(Status::Pass) < rank(Status::NotApplicable));
    }

    #[test]
    fn text_marks_unreachable_targets_and_sorts_by_name() {
        let text = summary(
            Shard::ALL,
            vec![
                row("zeta", Outcome::Scanned, 0),
                row("alpha", Outcome::Unreachable, 0),
            ],
        )
        .to_text();
        let alpha = text.find("alpha").unwrap();
        assert!(alpha < text.find("zeta").unwrap(), "{text}");
        assert!(text.contains("UNREACHABLE: connection refused"), "{text}");
    }

    #[test]
    fn merge_joins_shards_and_names_what_is_missing() {
        let a = summary(
            Shard { index: 0, count: 3 },
            vec![row("a", Outcome::Scanned, 0)],
        );
        let b = summary(
            Shard { index: 2, count: 3 },
            vec![row("b", Outcome::Scanned, 1)],
        );
        let merged = merge(vec![("a".into(), a.clone()), ("b".into(), b.clone())]).unwrap();
        assert_eq!(merged.targets.len(), 2);
        assert_eq!(merged.merged.as_ref().unwrap().missing_shards, [1]);
        assert_eq!(merged.exit_code(), 1);
        let json = merged.to_json();
        assert_eq!(parse_summary(&json, "m").unwrap(), merged);

        assert!(matches!(
            merge(vec![("a".into(), a.clone()), ("a2".into(), a.clone())]),
            Err(MergeError::RepeatedShard { .. })
        ));
        let mut other = b.clone();
        other.inventory.sha256 = "def".into();
        assert!(matches!(
            merge(vec![("a".into(), a.clone()), ("o".into(), other)]),
            Err(MergeError::OtherInventory { .. })
        ));
        let mut twice = b;
        twice.targets = vec![row("a", Outcome::Scanned, 0)];
        assert!(matches!(
            merge(vec![("a".into(), a), ("t".into(), twice)]),
            Err(MergeError::RepeatedTarget { .. })
        ));
        assert!(matches!(merge(Vec::new()), Err(MergeError::Nothing)));
    }
}

//! The audit-period report: did the safeguards operate over the period, not
//! only this morning? For one target and a span of days it shows each
//! check's status at each recorded scan, which days scans cover (and the
//! longest gap between them), the drift between consecutive scans, and the
//! fixes and policy changes recorded in the period — signed like the
//! single-scan report, with the JSON (`pgsafeguard.period/1`) embedded.
//!
//! The CLI reads the evidence store and feeds the scans, oldest first, to a
//! [`PeriodBuilder`], which keeps only the previous scan (for the drift) so
//! a year of daily scans never sits in memory at once. This module does no
//! I/O; it imports the store's record types and `drift`, never the store.

mod content;
mod coverage;
mod steps;

pub use coverage::{iso, parse_time, Period, PeriodError};
pub use steps::DriftStep;

use super::evidence::{pretty, StoreHead};
use super::{
    context, fonts, package, sign_timestamped, ReportError, SignedReport, SignerSummary,
    SigningIdentity, TsaConfig,
};
use crate::model::finding::{Section, Status, Summary};
use crate::output::Tool;
use crate::store::record::RecordKind;
use crate::store::scan_record::ScanSource;
use crate::store::target::TargetIdentity;
use crate::store::{Event, ScanEntry, StoredScan};
use coverage::{Coverage, CoverageJson};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::OffsetDateTime;

pub const PERIOD_SCHEMA: &str = "pgsafeguard.period/1";
/// File name of the embedded period data.
pub const PERIOD_ATTACHMENT_NAME: &str = "pgsafeguard-period.json";

/// One scan of the period: a column of the status grid.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodScan {
    pub seq: u64,
    pub collected_at: String,
    pub source: ScanSource,
    pub summary: Summary,
    #[serde(skip)]
    at: OffsetDateTime,
}

/// One check's status at each scan of the period (`None`: the check was not
/// in that scan's catalogue).
#[derive(Debug, Clone, Serialize)]
pub struct CheckTimeline {
    pub id: String,
    pub section: Section,
    pub title: String,
    pub statuses: Vec<Option<Status>>,
}

/// A fix or policy change recorded in the period.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodEvent {
    pub seq: u64,
    pub kind: RecordKind,
    pub at: String,
    pub summary: String,
}

/// Everything an audit-period report is made from, besides the signer.
#[derive(Debug, Clone)]
pub struct PeriodInput {
    pub target: TargetIdentity,
    pub period: Period,
    pub coverage: Coverage,
    /// Oldest first.
    pub scans: Vec<PeriodScan>,
    /// In catalogue order (the order of the first scan that has them).
    pub checks: Vec<CheckTimeline>,
    /// One per pair of consecutive scans.
    pub drift: Vec<DriftStep>,
    pub events: Vec<PeriodEvent>,
    pub organisation: Option<String>,
    pub operator: Option<String>,
    pub demo: bool,
    /// The store's chain head when the report was made.
    pub evidence_store: Option<StoreHead>,
}

/// Collects the scans of a period one at a time, oldest first.
pub struct PeriodBuilder {
    target: TargetIdentity,
    period: Period,
    scans: Vec<PeriodScan>,
    checks: Vec<CheckTimeline>,
    rows: HashMap<String, usize>,
    drift: Vec<DriftStep>,
    previous: Option<StoredScan>,
}

impl PeriodBuilder {
    pub fn new(target: TargetIdentity, period: Period) -> PeriodBuilder {
        PeriodBuilder {
            target,
            period,
            scans: Vec::new(),
            checks: Vec::new(),
            rows: HashMap::new(),
            drift: Vec::new(),
            previous: None,
        }
    }

    /// Add the next scan (later than every scan added before).
    pub fn push(&mut self, scan: StoredScan) {
        let column = self.scans.len();
        for finding in &scan.findings {
            let row = *self.rows.entry(finding.id.clone()).or_insert_with(|| {
                self.checks.push(CheckTimeline {
                    id: finding.id.clone(),
                    section: finding.section,
                    title: finding.title.clone(),
                    statuses: vec![None; column],
                });
                self.checks.len() - 1
            });
            let statuses = &mut self.checks[row].statuses;
            // A second finding with the same id in one scan keeps the first.
            if statuses.len() == column {
                statuses.push(Some(finding.status));
            }
        }
        for check in &mut self.checks {
            check.statuses.resize(column + 1, None);
        }
        if let Some(previous) = &self.previous {
            self.drift.push(DriftStep::between(previous, &scan));
        }
        self.scans.push(PeriodScan {
            seq: scan.entry.seq,
            collected_at: scan.entry.collected_at.clone(),
            source: scan.entry.source,
            summary: scan.entry.summary.clone(),
            at: parse_time(&scan.entry.collected_at).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        });
        self.previous = Some(scan);
    }

    /// The report input, with the events of the period about this target
    /// (fixes) or about policy (acceptances, baselines) taken from `events`.
    pub fn finish(self, events: &[Event]) -> PeriodInput {
        let times: Vec<OffsetDateTime> = self.scans.iter().map(|s| s.at).collect();
        let events = events
            .iter()
            .filter(|e| matches!(e.kind, RecordKind::Fix | RecordKind::Policy))
            .filter(|e| e.kind == RecordKind::Policy || about_target(&e.target, &self.target))
            .filter(|e| parse_time(&e.at).is_some_and(|t| self.period.contains(t)))
            .map(|e| PeriodEvent {
                seq: e.seq,
                kind: e.kind,
                at: e.at.clone(),
                summary: e.summary.clone(),
            })
            .collect();
        PeriodInput {
            coverage: Coverage::of(&self.period, &times),
            target: self.target,
            period: self.period,
            scans: self.scans,
            checks: self.checks,
            drift: self.drift,
            events,
            organisation: None,
            operator: None,
            demo: false,
            evidence_store: None,
        }
    }
}

/// The scans of `target` in `period` from a history listing, oldest first
/// (by collection time; a snapshot recorded late still sits where it was
/// observed).
pub fn scans_in_period<'a>(
    entries: &'a [ScanEntry],
    target: &TargetIdentity,
    period: &Period,
) -> Vec<&'a ScanEntry> {
    let mut chosen: Vec<(OffsetDateTime, &ScanEntry)> = entries
        .iter()
        .filter(|e| &e.target == target)
        .filter_map(|e| Some((parse_time(&e.collected_at)?, e)))
        .filter(|(at, _)| period.contains(*at))
        .collect();
    chosen.sort_by_key(|(at, e)| (*at, e.seq));
    chosen.into_iter().map(|(_, e)| e).collect()
}

/// Whether a record's target key names `target`. A change-log entry may not
/// know the server's system identifier; it then matches by host, port and
/// database.
fn about_target(key: &str, target: &TargetIdentity) -> bool {
    if key == target.key() {
        return true;
    }
    let unknown = TargetIdentity {
        system_identifier: None,
        ..target.clone()
    };
    key == unknown.key()
}

/// The embedded JSON document.
fn period_json(input: &PeriodInput) -> String {
    #[derive(Serialize)]
    struct Dates {
        from: String,
        to: String,
    }
    #[derive(Serialize)]
    struct Document<'a> {
        schema: &'static str,
        tool: Tool,
        target: &'a TargetIdentity,
        period: Dates,
        coverage: CoverageJson,
        scans: &'a [PeriodScan],
        checks: &'a [CheckTimeline],
        drift: &'a [DriftStep],
        events: &'a [PeriodEvent],
        #[serde(skip_serializing_if = "Option::is_none")]
        evidence_store: Option<&'a StoreHead>,
    }
    pretty(&Document {
        schema: PERIOD_SCHEMA,
        tool: Tool {
            name: "pgsafeguard".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        target: &input.target,
        period: Dates {
            from: iso(input.period.from),
            to: iso(input.period.to),
        },
        coverage: CoverageJson::from(&input.coverage),
        scans: &input.scans,
        checks: &input.checks,
        drift: &input.drift,
        events: &input.events,
        evidence_store: input.evidence_store.as_ref(),
    })
}

/// What `pgsafeguard verify` says about an embedded period document.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PeriodHeadline {
    pub target: TargetIdentity,
    pub from: String,
    pub to: String,
    pub scans: usize,
    pub days_covered: usize,
    pub days_in_period: i64,
}

/// The headline of an embedded JSON document, when it is a period report.
pub(super) fn headline(data: &serde_json::Value) -> Option<PeriodHeadline> {
    if data.get("schema")?.as_str()? != PERIOD_SCHEMA {
        return None;
    }
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    Some(PeriodHeadline {
        target: serde_json::from_value(data.get("target")?.clone()).ok()?,
        from: text(data.get("period")?.get("from")?)?,
        to: text(data.get("period")?.get("to")?)?,
        scans: data.get("scans")?.as_array()?.len(),
        days_covered: usize::try_from(data.get("coverage")?.get("days_covered")?.as_u64()?).ok()?,
        days_in_period: data.get("coverage")?.get("days_in_period")?.as_i64()?,
    })
}

/// Build and sign the audit-period report with a given creation and signing time.
pub fn build_signed_period_report_at(
    input: &PeriodInput,
    identity: &SigningIdentity,
    at: OffsetDateTime,
) -> Result<Vec<u8>, ReportError> {
    Ok(build_signed_period_report_with(input, identity, at, None)?.pdf)
}

/// [`build_signed_period_report_at`], timestamped by `tsa` when one is
/// given (see [`super::build_signed_report_with`] for what a failure does).
pub fn build_signed_period_report_with(
    input: &PeriodInput,
    identity: &SigningIdentity,
    at: OffsetDateTime,
    tsa: Option<&TsaConfig>,
) -> Result<SignedReport, ReportError> {
    let build = |stamped_by: Option<&str>| unsigned_period_report(input, identity, at, stamped_by);
    sign_timestamped(build, identity, at, tsa)
}

fn unsigned_period_report(
    input: &PeriodInput,
    identity: &SigningIdentity,
    at: OffsetDateTime,
    stamped_by: Option<&str>,
) -> Result<super::attach::UnsignedPdf, ReportError> {
    let fonts = fonts()?;
    let json = period_json(input);
    let mut ctx = context(
        &SignerSummary::from(identity),
        at,
        &json,
        PERIOD_ATTACHMENT_NAME,
    );
    ctx.timestamp_authority = stamped_by.map(str::to_string);
    let composed = content::compose(fonts, input, &ctx);
    let demo = if input.demo { "DEMO — " } else { "" };
    let info = super::attach::DocumentInfo {
        title: format!(
            "{demo}HIPAA audit-period report — {}:{}/{}, {}",
            input.target.host,
            input.target.port,
            input.target.dbname,
            input.period.label()
        ),
        author: input
            .operator
            .clone()
            .or_else(|| input.organisation.clone())
            .unwrap_or_default(),
        subject: format!(
            "HIPAA hardening evidence over time for PostgreSQL {}:{}/{}: {} scans from {}",
            input.target.host,
            input.target.port,
            input.target.dbname,
            input.scans.len(),
            input.period.label()
        ),
        keywords: "HIPAA, PostgreSQL, evidence, audit period, pgSafeguard".to_string(),
        creator: format!("pgSafeguard {}", env!("CARGO_PKG_VERSION")),
        created: at,
    };
    let attachment = super::attach::Attachment {
        name: PERIOD_ATTACHMENT_NAME,
        description: "Check status at every scan of the period (pgsafeguard.period/1)",
        mime: "application/json",
        bytes: json.as_bytes(),
    };
    package(fonts, composed, &info, &attachment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::snapshot::Snapshot;
    use crate::policy::{Attestations, Policy};

    fn snapshot() -> Snapshot {
        serde_json::from_str(include_str!("../../tests/fixtures/report/snapshot.json")).unwrap()
    }

    fn scan(seq: u64, at: &str, drop_check: Option<&str>) -> StoredScan {
        let mut snapshot = snapshot();
        snapshot.collected_at = at.into();
        let mut findings =
            crate::checks::evaluate_all(&snapshot, &Policy::default(), &Attestations::default());
        findings.retain(|f| Some(f.id.as_str()) != drop_check);
        StoredScan {
            entry: ScanEntry {
                seq,
                target: TargetIdentity::of(&snapshot.target),
                collected_at: at.into(),
                source: ScanSource::Cli,
                summary: Summary::of(&findings),
                sections: Default::default(),
            },
            snapshot,
            findings,
        }
    }

    fn event(seq: u64, kind: RecordKind, target: &str, at: &str) -> Event {
        Event {
            seq,
            kind,
            target: target.into(),
            at: at.into(),
            summary: format!("event {seq}"),
        }
    }

    #[test]
    fn the_grid_keeps_one_status_per_scan_and_events_are_chosen() {
        let period = Period::parse("2026-03-01..2026-03-31").unwrap();
        let first = scan(1, "2026-03-01T08:00:00Z", None);
        let target = first.entry.target.clone();
        let mut builder = PeriodBuilder::new(target.clone(), period);
        builder.push(first);
        builder.push(scan(2, "2026-03-02T08:00:00Z", Some("TLS-001")));
        builder.push(scan(3, "2026-03-03T08:00:00Z", None));
        let unknown_system = TargetIdentity {
            system_identifier: None,
            ..target.clone()
        };
        let events = [
            event(4, RecordKind::Fix, &target.key(), "2026-03-02T09:00:00Z"),
            event(
                5,
                RecordKind::Fix,
                &unknown_system.key(),
                "2026-03-02T10:00:00Z",
            ),
            event(
                6,
                RecordKind::Fix,
                "other/db9:5432/x",
                "2026-03-02T11:00:00Z",
            ),
            event(7, RecordKind::Policy, "", "2026-03-03T09:00:00Z"),
            event(8, RecordKind::Anchor, "", "2026-03-03T10:00:00Z"),
            event(9, RecordKind::Policy, "", "2026-04-01T00:00:01Z"),
        ];
        let input = builder.finish(&events);
        assert_eq!(input.scans.len(), 3);
        assert!(input.checks.iter().all(|c| c.statuses.len() == 3));
        let tls = input.checks.iter().find(|c| c.id == "TLS-001").unwrap();
        assert!(
            tls.statuses[0].is_some() && tls.statuses[1].is_none() && tls.statuses[2].is_some()
        );
        assert_eq!(input.drift.len(), 2);
        let seqs: Vec<u64> = input.events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [4, 5, 7]);
        assert_eq!(input.coverage.days_covered.len(), 3);

        let json: serde_json::Value = serde_json::from_str(&period_json(&input)).unwrap();
        assert_eq!(json["schema"], PERIOD_SCHEMA);
        let headline = headline(&json).unwrap();
        assert_eq!(
            (
                headline.scans,
                headline.days_covered,
                headline.days_in_period
            ),
            (3, 3, 31)
        );
        assert_eq!(headline.from, "2026-03-01");
    }

    #[test]
    fn scans_in_the_period_are_ordered_by_collection_time() {
        let period = Period::parse("2026-03-01..2026-03-02").unwrap();
        let entries: Vec<ScanEntry> = [
            (1, "2026-03-02T08:00:00Z"),
            (2, "2026-02-28T08:00:00Z"),
            (3, "2026-03-01T08:00:00Z"),
            (4, "2026-03-03T00:00:00Z"),
        ]
        .iter()
        .map(|(seq, at)| scan(*seq, at, None).entry)
        .collect();
        let target = entries[0].target.clone();
        let chosen: Vec<u64> = scans_in_period(&entries, &target, &period)
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(chosen, [3, 1]);
    }
}

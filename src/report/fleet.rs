//! The fleet evidence report: one signed PDF for a whole fleet run — a cover
//! with the fleet's totals, the target × section matrix (worst status and
//! its count per cell, unreachable targets marked), and one chapter per
//! target with its section counts and a card for every check that needs
//! attention, drawn by the single-scan report's own builders
//! ([`super::content::target_findings`]). The fleet summary
//! (`pgsafeguard.fleet/1`) is embedded and signed like every report, so
//! `pgsafeguard verify` and `pdfsig` check it the same way.
//!
//! Reads the fleet summary and the targets' scans; no I/O, no clock.

use super::doc::{
    badge, count_spans, cover_band, cover_organisation, cut_to, human_time, organisation_suffix,
    table_style, tiles_row, Chapters, Composed, Context, RunningFrame, Tile, BODY, BODY_BOLD, CELL,
    CELL_BOLD, SMALL, VALUE,
};
use super::evidence::pretty;
use super::layout::{Align, Column, Composer, Face, FontSet, Row, Span, Style};
use super::palette::{status_color, FADED, MUTED};
use super::{
    context, fonts, package, sign_timestamped, ReportError, ReportInput, SignedReport,
    SignerSummary, SigningIdentity, TsaConfig,
};
use crate::fleet::summary::{FleetSummary, Outcome, TargetRow};
use crate::model::finding::{Section, Status};
use crate::model::untrusted;
use crate::output::ScanReport;
use time::OffsetDateTime;

/// File name of the embedded fleet summary.
pub const FLEET_ATTACHMENT_NAME: &str = "pgsafeguard-fleet.json";

/// Everything a fleet report is made from, besides the signer.
#[derive(Debug, Clone)]
pub struct FleetReportInput {
    pub summary: FleetSummary,
    /// The scans of the scanned targets, by target name.
    pub scans: Vec<(String, ScanReport)>,
    pub organisation: Option<String>,
    pub operator: Option<String>,
}

/// Build and sign the fleet report with a given creation and signing time.
pub fn build_signed_fleet_report_at(
    input: &FleetReportInput,
    identity: &SigningIdentity,
    at: OffsetDateTime,
) -> Result<Vec<u8>, ReportError> {
    Ok(build_signed_fleet_report_with(input, identity, at, None)?.pdf)
}

/// [`build_signed_fleet_report_at`], timestamped by `tsa` when one is given
/// (see [`super::build_signed_report_with`] for what a failure does).
pub fn build_signed_fleet_report_with(
    input: &FleetReportInput,
    identity: &SigningIdentity,
    at: OffsetDateTime,
    tsa: Option<&TsaConfig>,
) -> Result<SignedReport, ReportError> {
    let build = |stamped_by: Option<&str>| unsigned_fleet_report(input, identity, at, stamped_by);
    sign_timestamped(build, identity, at, tsa)
}

fn unsigned_fleet_report(
    input: &FleetReportInput,
    identity: &SigningIdentity,
    at: OffsetDateTime,
    stamped_by: Option<&str>,
) -> Result<super::attach::UnsignedPdf, ReportError> {
    let fonts = fonts()?;
    let json = pretty(&input.summary);
    let mut ctx = context(
        &SignerSummary::from(identity),
        at,
        &json,
        FLEET_ATTACHMENT_NAME,
    );
    ctx.timestamp_authority = stamped_by.map(str::to_string);
    let composed = compose(fonts, input, &ctx);
    let t = &input.summary.totals;
    let info = super::attach::DocumentInfo {
        title: format!("HIPAA fleet evidence report — {} targets", t.targets),
        author: input
            .operator
            .clone()
            .or_else(|| input.organisation.clone())
            .unwrap_or_default(),
        subject: format!(
            "HIPAA hardening evidence for {} PostgreSQL targets ({} scanned), {}",
            t.targets, t.scanned, input.summary.finished_at
        ),
        keywords: "HIPAA, PostgreSQL, evidence, fleet, pgSafeguard".to_string(),
        creator: format!("pgSafeguard {}", env!("CARGO_PKG_VERSION")),
        created: at,
    };
    let attachment = super::attach::Attachment {
        name: FLEET_ATTACHMENT_NAME,
        description:
            "Fleet summary: every target and its worst status per section (pgsafeguard.fleet/1)",
        mime: "application/json",
        bytes: json.as_bytes(),
    };
    package(fonts, composed, &info, &attachment)
}

fn compose(fonts: &FontSet, input: &FleetReportInput, ctx: &Context) -> Composed {
    let mut w = FleetWriter {
        c: Composer::new(fonts),
        fonts,
        input,
        ctx,
        chapters: Vec::new(),
    };
    w.cover();
    w.c.new_page(); // contents, filled in once page numbers are known
    w.matrix_chapter();
    for row in &input.summary.targets {
        w.target_chapter(row);
    }
    w.verify_appendix();
    w.contents_page();
    let frame = RunningFrame {
        demo: false,
        title: format!(
            "pgSafeguard fleet report{}",
            organisation_suffix(input.organisation.as_deref())
        ),
        about: format!(
            "{} targets · {}",
            input.summary.totals.targets,
            human_time(&input.summary.finished_at)
        ),
        json_sha256: ctx.json_sha256.clone(),
    };
    let (pages, bookmarks) = w.c.finish(&frame);
    Composed { pages, bookmarks }
}

struct FleetWriter<'a, 'f> {
    c: Composer<'f>,
    fonts: &'f FontSet,
    input: &'a FleetReportInput,
    ctx: &'a Context,
    chapters: Vec<(String, usize)>,
}

impl<'f> Chapters<'f> for FleetWriter<'_, 'f> {
    fn composer(&mut self) -> &mut Composer<'f> {
        &mut self.c
    }

    fn chapter_list(&mut self) -> &mut Vec<(String, usize)> {
        &mut self.chapters
    }
}

/// Characters of a target name the matrix has room for.
const NAME_SHOWN: usize = 28;

impl FleetWriter<'_, '_> {
    fn cover(&mut self) {
        let s = &self.input.summary;
        cover_band(
            &mut self.c,
            false,
            "Fleet evidence report",
            "PostgreSQL servers assessed against the pgSafeguard hardening guide",
        );
        cover_organisation(&mut self.c, self.input.organisation.as_deref());
        self.c.space(16.0);
        let t = &s.totals;
        let tile = |value: usize, label: &str, status: Status| Tile {
            value: value.to_string(),
            label: label.to_string(),
            accent: status_color(status),
            value_color: if value == 0 {
                MUTED
            } else {
                status_color(status)
            },
        };
        let tiles = [
            tile(t.targets, "TARGETS", Status::NotApplicable),
            tile(t.scanned, "SCANNED", Status::Pass),
            tile(t.failing, "FAILING A CHECK", Status::Fail),
            tile(
                t.unreachable + t.timed_out + t.failed,
                "NOT SCANNED",
                Status::Unknown,
            ),
        ];
        tiles_row(&mut self.c, &tiles);
        self.c.space(18.0);
        let shard = match &s.merged {
            Some(m) => format!(
                "{} of {} shards merged{}",
                m.shards.len(),
                s.shard.count,
                if m.missing_shards.is_empty() {
                    String::new()
                } else {
                    format!(" ({} missing)", m.missing_shards.len())
                }
            ),
            None if s.shard.count == 1 => "whole inventory".to_string(),
            None => format!("shard {}", s.shard),
        };
        let operator = self
            .input
            .operator
            .clone()
            .filter(|o| !o.trim().is_empty())
            .unwrap_or_else(|| "not stated".to_string());
        let text = |s: &str| vec![Span::new(untrusted::text(s), VALUE)];
        self.heading("Fleet run");
        self.fields(&[
            ("Inventory", text(&s.inventory.path)),
            ("Scope", text(&shard)),
            ("Started", text(&human_time(&s.started_at))),
            ("Finished", text(&human_time(&s.finished_at))),
            ("Report created", text(&self.ctx.created_at)),
            ("pgSafeguard version", text(&s.tool.version)),
            ("Operator", text(&operator)),
            ("Signer", text(&self.ctx.signer_subject)),
            ("Trusted timestamp", text(&self.ctx.timestamp_line())),
        ]);
    }

    fn matrix_chapter(&mut self) {
        self.chapter(
            "Fleet matrix",
            Some(
                "One row per target, one column per guide section. Each cell shows the worst status of the \
                 section's checks and how many checks have it. Targets that could not be scanned say why.",
            ),
        );
        let mut lead = vec![Span::new("All scanned targets: ", BODY_BOLD)];
        lead.extend(count_spans(&self.input.summary.totals.summary, 9.0));
        self.body(&lead);
        let mut columns = vec![Column::new("Target", 2.2)];
        for section in Section::ALL {
            columns.push(Column::new(&format!("{}", section.number()), 1.0).aligned(Align::Center));
        }
        let rows: Vec<Row> = self.input.summary.targets.iter().map(matrix_row).collect();
        self.c.table(&columns, &rows, &table_style());
        self.c.space(6.0);
        for row in self
            .input
            .summary
            .targets
            .iter()
            .filter(|r| r.outcome != Outcome::Scanned)
        {
            self.body(&[
                Span::new(format!("{}: ", untrusted::name(&row.name)), BODY_BOLD),
                Span::new(
                    format!(
                        "{}: {}",
                        row.outcome.as_str(),
                        untrusted::text(row.error.as_deref().unwrap_or("no reason given"))
                    ),
                    BODY,
                ),
            ]);
        }
        let legend: Vec<String> = Section::ALL
            .iter()
            .map(|s| format!("{} {}", s.number(), s.title()))
            .collect();
        self.body(&[Span::new(legend.join(" · "), SMALL)]);
    }

    fn target_chapter(&mut self, row: &TargetRow) {
        let title = format!("Target {}", untrusted::name(&row.name));
        self.chapter(&title, None);
        let text = |s: &str| vec![Span::new(untrusted::text(s), VALUE)];
        let mut fields = vec![
            ("Connection", text(&row.connection)),
            ("Outcome", text(row.outcome.as_str())),
        ];
        if let Some(group) = &row.group {
            fields.push(("Group", text(group)));
        }
        if !row.tags.is_empty() {
            fields.push(("Tags", text(&row.tags.join(", "))));
        }
        if let Some(version) = &row.server_version {
            fields.push(("Server version", text(version)));
        }
        if let Some(at) = &row.collected_at {
            fields.push(("Scanned", text(&human_time(at))));
        }
        if let Some(error) = &row.error {
            fields.push(("Why not scanned", text(error)));
        }
        self.fields(&fields);
        self.c.space(8.0);
        let Some((_, report)) = self.input.scans.iter().find(|(name, _)| *name == row.name) else {
            if row.outcome == Outcome::Scanned {
                self.body(&[Span::new(
                    "The target was scanned, but its scan data was not found beside the summary.",
                    BODY,
                )]);
            }
            return;
        };
        let input = ReportInput::new(report.clone());
        // The single-scan report's builders draw on a composer they own for the while.
        let composer = std::mem::replace(&mut self.c, Composer::new(self.fonts));
        self.c = super::content::target_findings(composer, &input, self.ctx);
    }

    fn verify_appendix(&mut self) {
        self.chapter("Appendix · Embedded fleet summary and how to verify", None);
        self.body(&[Span::new(
            "The fleet summary, in the machine-readable format pgsafeguard.fleet/1, is embedded in this PDF as \
             a file attachment: every target, what happened to it, and its counts per section. Each target's \
             full scan (pgsafeguard.scan/1) is in the fleet run's output folder.",
            BODY,
        )]);
        let ctx = self.ctx;
        self.verify_section(
            ctx,
            "Embedded fleet summary",
            crate::fleet::summary::FLEET_SCHEMA,
        );
    }
}

/// A matrix row: the target's name, then a cell per section.
fn matrix_row(row: &TargetRow) -> Row {
    let mut cells = vec![vec![Span::new(
        cut_to(&untrusted::name(&row.name), NAME_SHOWN),
        CELL_BOLD,
    )]];
    if row.outcome != Outcome::Scanned {
        // The reason is listed under the table: one narrow cell has no room for it.
        cells.push(vec![Span::new(
            row.outcome.as_str().to_uppercase(),
            Style::new(Face::Bold, 7.2, status_color(Status::Unknown)),
        )]);
        for _ in 1..Section::ALL.len() {
            cells.push(Vec::new());
        }
        return Row::Cells(cells);
    }
    for section in Section::ALL {
        cells.push(match row.sections.get(&section) {
            Some(cell) => vec![
                badge(cell.worst, 5.6),
                Span::new(format!(" {}", cell.counts.count(cell.worst)), CELL),
            ],
            None => vec![Span::new("—", Style::new(Face::Regular, 7.0, FADED))],
        });
    }
    Row::Cells(cells)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly on purpose
mod tests {
    use super::*;
    use crate::fleet::shard::Shard;
    use crate::fleet::summary::{InventoryInfo, RunSettings};
    use crate::model::snapshot::Snapshot;
    use crate::policy::{Attestations, Policy};

    fn scan_report() -> ScanReport {
        let snapshot: Snapshot =
            serde_json::from_str(include_str!("../../tests/fixtures/report/snapshot.json"))
                .unwrap();
        let findings =
            crate::checks::evaluate_all(&snapshot, &Policy::default(), &Attestations::default());
        ScanReport::new(&snapshot, findings)
    }

    fn row(name: &str, outcome: Outcome) -> TargetRow {
        TargetRow {
            name: name.into(),
            group: Some("east".into()),
            tags: vec!["phi".into()],
            connection: format!("auditor@{name}:5432/clinic (sslmode=verify-full)"),
            outcome,
            error: (outcome != Outcome::Scanned).then(|| "connection refused".into()),
            duration_ms: 12,
            file: None,
            server_version: None,
            system_identifier: None,
            collected_at: None,
            summary: None,
            sections: Default::default(),
        }
    }

    #[test]
    fn the_fleet_report_is_signed_and_embeds_the_summary() {
        let report = scan_report();
        let scanned = TargetRow::scanned(row("clinic-east", Outcome::Scanned), &report);
        let summary = FleetSummary::new(
            InventoryInfo {
                path: "fleet.toml".into(),
                sha256: "00".into(),
                targets: 2,
            },
            Shard::ALL,
            RunSettings {
                concurrency: 16,
                connect_timeout_s: 10,
                scan_timeout_s: 300,
                all_databases: false,
                group: None,
                tag: None,
            },
            "2026-11-27T10:00:00Z".into(),
            "2026-11-27T10:05:00Z".into(),
            vec![scanned, row("clinic-west", Outcome::Unreachable)],
        );
        let input = FleetReportInput {
            summary,
            scans: vec![("clinic-east".into(), report)],
            organisation: Some("Example Health".into()),
            operator: None,
        };
        let identity = SigningIdentity::generate("fleet test").unwrap();
        let at = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
        let pdf = build_signed_fleet_report_at(&input, &identity, at).unwrap();
        let outcome = super::super::verify_pdf(&pdf, None).unwrap();
        assert_eq!(outcome.attachment_name, FLEET_ATTACHMENT_NAME);
        assert_eq!(
            outcome.schema.as_deref(),
            Some(crate::fleet::summary::FLEET_SCHEMA)
        );
    }
}

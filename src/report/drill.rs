//! The restore drill's short signed PDF: a cover with the verdict, RTO and
//! RPO; one chapter with what was restored from, when and by whom, the WAL
//! range, the phase timings, every check with its outcome and the PHI
//! tables' row counts; and the appendix on the embedded record
//! (`pgsafeguard.drill/1`) and the signature.
//!
//! Uses the report's layout, shared pages ([`super::doc`]) and signing like
//! the audit-period report. Every text from the record goes through
//! [`untrusted`]: paths, labels and server log lines are hostile. No I/O.

use super::doc::{
    cover_band, cover_organisation, cut_to, status_label, table_style, tiles_row, Chapters,
    Composed, Context, RunningFrame, Tile, BODY, CELL, CELL_BOLD, SMALL, VALUE, VALUE_MONO,
};
use super::layout::{Align, Column, Composer, FontSet, Row, Span};
use super::palette::{status_color, MUTED, NAVY};
use super::{context, fonts, package, sign, ReportError, SignerSummary, SigningIdentity};
use crate::model::drill::{DrillOutcome, DrillRecord};
use crate::model::finding::Status;
use crate::model::proof::Outcome;
use crate::model::untrusted;
use time::OffsetDateTime;

/// File name of the embedded drill record.
pub const DRILL_ATTACHMENT_NAME: &str = "pgsafeguard-drill.json";

/// Build and sign the drill report with a given creation and signing time.
pub fn build_signed_drill_report_at(
    record: &DrillRecord,
    organisation: Option<&str>,
    identity: &SigningIdentity,
    at: OffsetDateTime,
) -> Result<Vec<u8>, ReportError> {
    let fonts = fonts()?;
    let json = super::evidence::pretty(record);
    let ctx = context(
        &SignerSummary::from(identity),
        at,
        &json,
        DRILL_ATTACHMENT_NAME,
    );
    let composed = compose(fonts, record, organisation, &ctx);
    let info = super::attach::DocumentInfo {
        title: format!("Restore drill — {}", record.source.describe()),
        author: record.by.clone(),
        subject: format!(
            "Restore drill of PostgreSQL system {}: {}",
            record.backup.system_identifier,
            record.outcome.id()
        ),
        keywords: "HIPAA, PostgreSQL, restore drill, contingency plan, pgSafeguard".to_string(),
        creator: format!("pgSafeguard {}", env!("CARGO_PKG_VERSION")),
        created: at,
    };
    let attachment = super::attach::Attachment {
        name: DRILL_ATTACHMENT_NAME,
        description: "The restore drill's record (pgsafeguard.drill/1)",
        mime: "application/json",
        bytes: json.as_bytes(),
    };
    let unsigned = package(fonts, composed, &info, &attachment)?;
    Ok(sign::sign_pdf(&unsigned, identity, at)?)
}

fn compose(
    fonts: &FontSet,
    record: &DrillRecord,
    organisation: Option<&str>,
    ctx: &Context,
) -> Composed {
    let mut w = DrillWriter {
        c: Composer::new(fonts),
        chapters: Vec::new(),
    };
    w.cover(record, organisation);
    w.drill_chapter(record);
    w.chapter("Appendix: verifying this report", None);
    w.verify_section(
        ctx,
        "Embedded drill record",
        "JSON, schema pgsafeguard.drill/1",
    );
    let frame = RunningFrame {
        demo: false,
        title: String::from("pgSafeguard restore drill"),
        about: cut_to(&record.finished_at, 24),
        json_sha256: ctx.json_sha256.clone(),
    };
    let (pages, bookmarks) = w.c.finish(&frame);
    Composed { pages, bookmarks }
}

struct DrillWriter<'f> {
    c: Composer<'f>,
    chapters: Vec<(String, usize)>,
}

impl<'f> Chapters<'f> for DrillWriter<'f> {
    fn composer(&mut self) -> &mut Composer<'f> {
        &mut self.c
    }

    fn chapter_list(&mut self) -> &mut Vec<(String, usize)> {
        &mut self.chapters
    }
}

/// The finding status whose colour and badge an outcome borrows.
fn as_status(outcome: Outcome) -> Status {
    match outcome {
        Outcome::Holds => Status::Pass,
        Outcome::Broken => Status::Fail,
        Outcome::Inconclusive => Status::Unknown,
    }
}

fn verdict_status(outcome: DrillOutcome) -> Status {
    match outcome {
        DrillOutcome::Passed => Status::Pass,
        DrillOutcome::Failed => Status::Fail,
        DrillOutcome::Inconclusive => Status::Unknown,
    }
}

fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

impl DrillWriter<'_> {
    fn cover(&mut self, record: &DrillRecord, organisation: Option<&str>) {
        cover_band(
            &mut self.c,
            false,
            "Restore drill",
            &cut_to(&untrusted::text(&record.source.describe()), 90),
        );
        cover_organisation(&mut self.c, organisation);
        self.c.space(14.0);
        let status = verdict_status(record.outcome);
        let rpo = record
            .rpo
            .as_ref()
            .map(|r| format!("{} s", r.seconds))
            .unwrap_or_else(|| String::from("unknown"));
        tiles_row(
            &mut self.c,
            &[
                Tile {
                    value: record.outcome.id().to_uppercase(),
                    label: String::from("DRILL"),
                    accent: status_color(status),
                    value_color: status_color(status),
                },
                Tile {
                    value: seconds(record.timings.rto_ms),
                    label: String::from("RTO (TO A QUERYABLE SERVER)"),
                    accent: NAVY,
                    value_color: NAVY,
                },
                Tile {
                    value: rpo,
                    label: String::from("ACHIEVED RPO"),
                    accent: NAVY,
                    value_color: NAVY,
                },
                Tile {
                    value: record.wal.segments.to_string(),
                    label: String::from("WAL SEGMENTS WALKED"),
                    accent: MUTED,
                    value_color: NAVY,
                },
            ],
        );
        self.c.space(14.0);
        let mut lines = vec![format!(
            "Run by {} on {}, {} to {} (UTC).",
            untrusted::text(&record.by),
            untrusted::text(&record.machine),
            record.started_at,
            record.finished_at
        )];
        if let Some(failure) = &record.failure {
            lines.push(format!("Failed: {}", untrusted::text(failure)));
        }
        for line in lines {
            self.body(&[Span::new(line, BODY)]);
        }
        self.body(&[Span::new(
            "The drill restored the backup into a throwaway folder on this machine, with archiving \
             off and no network listener, replayed the WAL archive on a private server, checked \
             the result and removed it. Row counts only: no row was read.",
            SMALL,
        )]);
    }

    fn drill_chapter(&mut self, r: &DrillRecord) {
        self.chapter(
            "The drill",
            Some("What was restored, how far recovery went, how long each phase took, and every check."),
        );
        let v = |text: String| vec![Span::new(untrusted::text(&text), VALUE)];
        let mono = |text: String| vec![Span::new(untrusted::text(&text), VALUE_MONO)];
        let t = &r.timings;
        self.fields(&[
            ("Restored from", v(r.source.describe())),
            ("Recovery target", v(r.target.describe())),
            (
                "Backup label",
                v(format!(
                    "start WAL {} ({}), timeline {}, started {}, label {:?}",
                    r.backup.start_lsn,
                    r.backup.start_wal_file,
                    r.backup.start_timeline,
                    r.backup.start_time,
                    r.backup.label
                )),
            ),
            (
                "Cluster",
                v(format!(
                    "system identifier {}, PostgreSQL {}, data checksums {}",
                    r.backup.system_identifier,
                    r.backup.major,
                    if r.backup.data_checksums { "on" } else { "off" }
                )),
            ),
            (
                "WAL range",
                mono(format!(
                    "{} … {} ({} segments), last record at {}",
                    r.wal.first, r.wal.last, r.wal.segments, r.wal.last_record_lsn
                )),
            ),
            (
                "Replay ended at",
                mono(r.replay_end_lsn.clone().unwrap_or_else(|| "unknown".into())),
            ),
            (
                "Timings",
                v(format!(
                    "restore {}, archive walk {}, recovery {}, checks {}{}, cleanup {}; RTO {}; \
                     the drill's own overhead {}",
                    seconds(t.restore_ms),
                    seconds(t.archive_walk_ms),
                    seconds(t.recovery_ms),
                    seconds(t.checks_ms),
                    t.checksums_ms
                        .map(|c| format!(", pg_checksums {}", seconds(c)))
                        .unwrap_or_default(),
                    seconds(t.cleanup_ms),
                    seconds(t.rto_ms),
                    seconds(t.overhead_ms)
                )),
            ),
        ]);
        self.heading("Checks");
        let rows: Vec<Row> = r
            .checks
            .iter()
            .map(|check| {
                let status = as_status(check.outcome);
                Row::Cells(vec![
                    vec![Span::new(untrusted::text(&check.title), CELL_BOLD)],
                    vec![Span::new(
                        status_label(status),
                        super::layout::Style::new(
                            super::layout::Face::Bold,
                            7.8,
                            status_color(status),
                        ),
                    )],
                    vec![Span::new(untrusted::text(&check.detail), CELL)],
                ])
            })
            .collect();
        self.c.table(
            &[
                Column::new("Check", 0.28),
                Column::new("Outcome", 0.12),
                Column::new("What was seen", 0.60),
            ],
            &rows,
            &table_style(),
        );
        self.heading("Databases and PHI tables (row counts)");
        let rows: Vec<Row> = r
            .databases
            .iter()
            .flat_map(|db| {
                let name = untrusted::name(&db.name);
                let mut rows = vec![Row::Group(vec![Span::new(name, CELL_BOLD)])];
                if db.phi_tables.is_empty() {
                    rows.push(Row::Cells(vec![
                        vec![Span::new("no table that looks like PHI", CELL)],
                        vec![],
                    ]));
                }
                for t in &db.phi_tables {
                    rows.push(Row::Cells(vec![
                        vec![Span::new(
                            format!(
                                "{}.{}",
                                untrusted::name(&t.schema),
                                untrusted::name(&t.table)
                            ),
                            CELL,
                        )],
                        vec![Span::new(t.rows.to_string(), CELL)],
                    ]));
                }
                rows
            })
            .collect();
        self.c.table(
            &[
                Column::new("Table", 0.75),
                Column::new("Rows", 0.25).aligned(Align::Right),
            ],
            &rows,
            &table_style(),
        );
    }
}

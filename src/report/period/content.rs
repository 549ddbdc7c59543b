//! What the audit-period report says: cover, contents, a summary of the
//! period, the days scans cover, each check's status at each scan (a grid
//! for up to [`GRID_MAX_SCANS`] scans, else a summary per check), the drift
//! between consecutive scans, fixes and policy changes, and the appendix on
//! the embedded data, the signature and the evidence store.
//!
//! Reads only the [`PeriodInput`]; draws through the shared [`super::super::doc`]
//! helpers. Every text that came from the store (titles, object names, event
//! summaries) goes through [`untrusted`]: a store file can be edited.

use super::coverage::{human_duration, iso, utc_date, DayRun};
use super::steps::DriftStep;
use super::{CheckTimeline, PeriodInput};
use crate::model::finding::Status;
use crate::model::untrusted;
use crate::report::doc::{
    count_spans, count_spans_by, cover_band, cover_organisation, cut_to, human_time,
    organisation_suffix, status_cell, status_label, store_cover_line, table_style, tiles_row,
    Chapters, Composed, Context, RunningFrame, Tile, BODY, BODY_BOLD, CELL, CELL_BOLD, SMALL,
    VALUE, VALUE_MONO,
};
use crate::report::drift_tables::{checks_table, counts_line, notes, objects_table};
use crate::report::layout::{
    Align, Column, Composer, Face, FontSet, Row, Span, Style, CONTENT_WIDTH,
};
use crate::report::palette::{status_color, MUTED, NAVY, WHITE};

/// Up to this many scans, one grid column per scan; beyond, a summary per check.
pub const GRID_MAX_SCANS: usize = 12;
/// Beyond this many grid columns, short status codes and month-day dates fit.
const GRID_WIDE: usize = 6;
/// Status changes listed per check in the summary before "… and N more".
const CHANGES_SHOWN: usize = 8;
/// Characters of the target the running header has room for.
const HEADER_TARGET_SHOWN: usize = 24;

pub fn compose(fonts: &FontSet, input: &PeriodInput, ctx: &Context) -> Composed {
    let mut w = PeriodWriter {
        c: Composer::new(fonts),
        input,
        ctx,
        chapters: Vec::new(),
    };
    w.cover();
    w.c.new_page(); // contents, filled in once page numbers are known
    w.summary_chapter();
    w.coverage_chapter();
    w.status_chapter();
    w.drift_chapter();
    w.events_chapter();
    w.verify_appendix();
    w.contents_page();
    let frame = RunningFrame {
        demo: input.demo,
        title: format!(
            "pgSafeguard audit-period report{}",
            organisation_suffix(input.organisation.as_deref())
        ),
        about: format!(
            "{} · {}",
            cut_to(&target_line(input), HEADER_TARGET_SHOWN),
            input.period.label()
        ),
        json_sha256: ctx.json_sha256.clone(),
    };
    let (pages, bookmarks) = w.c.finish(&frame);
    Composed { pages, bookmarks }
}

struct PeriodWriter<'a, 'f> {
    c: Composer<'f>,
    input: &'a PeriodInput,
    ctx: &'a Context,
    chapters: Vec<(String, usize)>,
}

impl<'f> Chapters<'f> for PeriodWriter<'_, 'f> {
    fn composer(&mut self) -> &mut Composer<'f> {
        &mut self.c
    }

    fn chapter_list(&mut self) -> &mut Vec<(String, usize)> {
        &mut self.chapters
    }
}

fn target_line(input: &PeriodInput) -> String {
    let t = &input.target;
    format!(
        "{}:{}/{}",
        untrusted::name(&t.host),
        t.port,
        untrusted::name(&t.dbname)
    )
}

/// `N of M days (P %)`.
fn days_covered(input: &PeriodInput) -> String {
    let c = &input.coverage;
    let covered = c.days_covered.len() as i64;
    let percent = if c.days_in_period > 0 {
        covered * 100 / c.days_in_period
    } else {
        0
    };
    format!("{covered} of {} days ({percent} %)", c.days_in_period)
}

/// `5 days, from 2026-03-03 08:00:00 UTC to 2026-03-08 08:00:00 UTC`.
fn longest_gap(input: &PeriodInput) -> String {
    match input.coverage.longest_gap {
        Some(gap) => format!(
            "{}, from {} to {}",
            human_duration(gap.length()),
            human_time(&rfc3339(gap.after)),
            human_time(&rfc3339(gap.before))
        ),
        None => "none: fewer than two scans in the period".to_string(),
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The UTC date of a scan, `YYYY-MM-DD`.
fn scan_date(collected_at: &str) -> String {
    super::parse_time(collected_at)
        .map(|t| iso(utc_date(t)))
        .unwrap_or_else(|| untrusted::name(collected_at))
}

fn first_and_last(input: &PeriodInput) -> Option<(&super::PeriodScan, &super::PeriodScan)> {
    Some((input.scans.first()?, input.scans.last()?))
}

/// One status change of a check: at which scan, from what, to what.
struct StatusChange {
    scan: usize,
    old: Option<Status>,
    new: Option<Status>,
}

fn changes_of(check: &CheckTimeline) -> Vec<StatusChange> {
    check
        .statuses
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] != w[1])
        .map(|(i, w)| StatusChange {
            scan: i + 1,
            old: w[0],
            new: w[1],
        })
        .collect()
}

fn status_word(status: Option<Status>) -> String {
    status.map_or_else(
        || "not evaluated".to_string(),
        |s| status_label(s).to_lowercase(),
    )
}

/// A grid cell: the full badge, or with many scans a short code (see [`GRID_WIDE`]).
fn grid_cell(status: Option<Status>, short: bool) -> Vec<Span> {
    match status {
        Some(s) if short => vec![Span::new(
            short_label(s),
            Style::new(Face::Bold, 5.4, WHITE).on(status_color(s)),
        )],
        other => status_cell(other),
    }
}

fn short_label(status: Status) -> &'static str {
    match status {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Warn => "WARN",
        Status::Unknown => "UNKN",
        Status::NotApplicable => "N/A",
        Status::Manual => "MAN",
        Status::Attested => "ATT",
        Status::Accepted => "ACC",
    }
}

fn check_cell(check: &CheckTimeline) -> Vec<Span> {
    vec![
        Span::new(untrusted::name(&check.id), CELL_BOLD),
        Span::new(
            format!("\n{}", untrusted::text(&check.title)),
            Style::new(Face::Regular, 6.6, MUTED),
        ),
    ]
}

impl PeriodWriter<'_, '_> {
    // ----- cover ---------------------------------------------------------

    fn cover(&mut self) {
        let input = self.input;
        cover_band(
            &mut self.c,
            input.demo,
            "Audit-period report",
            "Safeguards over time: every recorded scan of one PostgreSQL database in the period",
        );
        cover_organisation(&mut self.c, input.organisation.as_deref());
        self.c.paragraph(
            &[Span::new(
                format!("{} · {}", target_line(input), input.period.label()),
                Style::new(Face::Regular, 9.5, MUTED),
            )],
            0.0,
            CONTENT_WIDTH,
        );
        self.c.space(16.0);
        let failing_last = first_and_last(self.input).map_or(0, |(_, last)| last.summary.fail);
        let changed = input
            .checks
            .iter()
            .filter(|c| !changes_of(c).is_empty())
            .count();
        let gap = input
            .coverage
            .longest_gap
            .map_or_else(|| "—".to_string(), |g| human_duration(g.length()));
        let fact = |value: String, label: &str| Tile {
            value,
            label: label.to_string(),
            accent: NAVY,
            value_color: NAVY,
        };
        let tiles = [
            fact(input.scans.len().to_string(), "SCANS"),
            fact(
                format!(
                    "{}/{}",
                    input.coverage.days_covered.len(),
                    input.coverage.days_in_period
                ),
                "DAYS COVERED",
            ),
            fact(gap, "LONGEST GAP"),
            fact(changed.to_string(), "CHECKS THAT CHANGED"),
            Tile {
                value: failing_last.to_string(),
                label: "FAILING AT LAST SCAN".to_string(),
                accent: status_color(Status::Fail),
                value_color: if failing_last == 0 {
                    MUTED
                } else {
                    status_color(Status::Fail)
                },
            },
        ];
        tiles_row(&mut self.c, &tiles);
        self.c.space(18.0);
        self.cover_fields();
    }

    fn cover_fields(&mut self) {
        let input = self.input;
        let t = &input.target;
        let text = |s: &str| vec![Span::new(untrusted::text(s), VALUE)];
        let mono = |s: &str| vec![Span::new(untrusted::text(s), VALUE_MONO)];
        self.heading("Target");
        self.fields(&[
            (
                "Server",
                text(&format!("{}:{}", untrusted::name(&t.host), t.port)),
            ),
            ("Database", text(&t.dbname)),
            (
                "System identifier",
                mono(t.system_identifier.as_deref().unwrap_or("not known")),
            ),
        ]);
        self.heading("Period and coverage");
        let scans = match first_and_last(self.input) {
            Some((first, last)) => format!(
                "{}: the first {}, the last {}",
                input.scans.len(),
                human_time(&first.collected_at),
                human_time(&last.collected_at)
            ),
            None => "none".to_string(),
        };
        self.fields(&[
            (
                "Period (UTC)",
                text(&format!(
                    "{} ({} days)",
                    input.period.label(),
                    input.period.days()
                )),
            ),
            ("Scans in the period", text(&scans)),
            ("Days covered by scans", text(&days_covered(input))),
            ("Longest gap between scans", text(&longest_gap(input))),
        ]);
        self.heading("Report and signature");
        let operator = input
            .operator
            .clone()
            .filter(|o| !o.trim().is_empty())
            .unwrap_or_else(|| "not stated".to_string());
        self.fields(&[
            ("Report created", text(&self.ctx.created_at)),
            ("pgSafeguard version", text(env!("CARGO_PKG_VERSION"))),
            ("Operator", text(&operator)),
            ("Signer", text(&self.ctx.signer_subject)),
            ("Signer SHA-256", mono(&self.ctx.signer_fingerprint)),
            ("Trusted timestamp", text(&self.ctx.timestamp_line())),
            (
                "Evidence store",
                store_cover_line(input.evidence_store.as_ref()),
            ),
        ]);
    }

    // ----- summary -------------------------------------------------------

    fn summary_chapter(&mut self) {
        self.chapter("Summary of the period", None);
        let input = self.input;
        let changed_steps = input.drift.iter().filter(|s| !s.is_quiet()).count();
        self.body(&[Span::new(
            format!(
                "{} recorded scan(s) of database {} on {}:{} fall in the period {} (UTC dates, both included). \
                 Scans cover {}. Longest gap between two scans: {}. {} of {} consecutive pair(s) of scans \
                 show a change.",
                input.scans.len(),
                untrusted::name(&input.target.dbname),
                untrusted::name(&input.target.host),
                input.target.port,
                input.period.label(),
                days_covered(input),
                longest_gap(input),
                changed_steps,
                input.drift.len(),
            ),
            BODY,
        )]);
        if let Some((first, last)) = first_and_last(self.input) {
            for (label, scan) in [("At the first scan", first), ("At the last scan", last)] {
                let mut spans = vec![Span::new(
                    format!(
                        "{label} (#{}, {}): ",
                        scan.seq,
                        human_time(&scan.collected_at)
                    ),
                    BODY_BOLD,
                )];
                spans.extend(count_spans(&scan.summary, 9.0));
                self.body(&spans);
            }
        }
        self.heading("Checks that failed at least once in the period");
        let failing: Vec<&CheckTimeline> = input
            .checks
            .iter()
            .filter(|c| c.statuses.contains(&Some(Status::Fail)))
            .collect();
        if failing.is_empty() {
            self.body(&[Span::new(
                "No check failed at any scan of the period.",
                BODY,
            )]);
            return;
        }
        let columns = [
            Column::new("Check", 3.4),
            Column::new("Scans failing", 1.0).aligned(Align::Center),
            Column::new("At the last scan", 1.1).aligned(Align::Center),
        ];
        let total = input.scans.len();
        let rows: Vec<Row> = failing
            .iter()
            .map(|c| {
                let fails = c
                    .statuses
                    .iter()
                    .filter(|s| **s == Some(Status::Fail))
                    .count();
                Row::Cells(vec![
                    check_cell(c),
                    vec![Span::new(format!("{fails} of {total}"), CELL)],
                    status_cell(c.statuses.last().copied().flatten()),
                ])
            })
            .collect();
        self.c.table(&columns, &rows, &table_style());
    }

    // ----- coverage ------------------------------------------------------

    fn coverage_chapter(&mut self) {
        self.chapter(
            "Days covered by scans",
            Some(
                "A day counts as covered when at least one scan of the target was collected on it (UTC). \
                 An auditor reads the days without a scan as days for which this report holds no evidence.",
            ),
        );
        let input = self.input;
        let runs = |runs: &[DayRun]| -> String {
            if runs.is_empty() {
                "none".to_string()
            } else {
                runs.iter()
                    .map(DayRun::label)
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        };
        self.heading("Days with at least one scan");
        self.body(&[
            Span::new(format!("{}: ", days_covered(input)), BODY_BOLD),
            Span::new(runs(&input.coverage.covered), BODY),
        ]);
        self.heading("Days without a scan");
        self.body(&[Span::new(runs(&input.coverage.uncovered), BODY)]);
        self.heading("Scans in the period");
        let columns = [
            Column::new("Record", 0.7),
            Column::new("Collected", 1.6),
            Column::new("Source", 1.1),
            Column::new("Result", 3.6),
        ];
        let rows: Vec<Row> = input
            .scans
            .iter()
            .map(|s| {
                Row::Cells(vec![
                    vec![Span::new(format!("#{}", s.seq), CELL_BOLD)],
                    vec![Span::new(human_time(&s.collected_at), CELL)],
                    vec![Span::new(s.source.describe(), CELL)],
                    count_spans(&s.summary, 7.2),
                ])
            })
            .collect();
        self.c.table(&columns, &rows, &table_style());
    }

    // ----- status over the period ---------------------------------------

    fn status_chapter(&mut self) {
        let input = self.input;
        if input.scans.len() <= GRID_MAX_SCANS {
            self.chapter(
                "Check status at each scan",
                Some(
                    "One column per scan of the period, oldest first; a dash means the check was not part of \
                     that scan's catalogue.",
                ),
            );
            self.status_grid();
        } else {
            self.chapter(
                "Check status over the period",
                Some(
                    "Too many scans for one column each: per check, its status at the first and the last scan \
                     of the period, how many scans gave each status, and the dates its status changed. The \
                     status at every scan is in the embedded data.",
                ),
            );
            self.status_summary();
        }
    }

    fn status_grid(&mut self) {
        let input = self.input;
        let short = input.scans.len() > GRID_WIDE;
        if short {
            self.body(&[Span::new(
                "Codes: PASS, FAIL, WARN, UNKN unknown, MAN manual, ATT attested, ACC accepted, N/A not \
                 applicable. Column heads give the record number and the UTC month-day and time.",
                SMALL,
            )]);
        }
        let mut columns = vec![Column::new("Check", 3.2)];
        for scan in &input.scans {
            let when = super::parse_time(&scan.collected_at)
                .map(|t| {
                    let t = t.to_offset(time::UtcOffset::UTC);
                    let day = if short {
                        format!("{:02}-{:02}", u8::from(t.month()), t.day())
                    } else {
                        iso(t.date())
                    };
                    format!("{day}\n{:02}:{:02}", t.hour(), t.minute())
                })
                .unwrap_or_default();
            columns
                .push(Column::new(&format!("#{}\n{when}", scan.seq), 1.0).aligned(Align::Center));
        }
        let mut rows = Vec::new();
        let mut section = None;
        for check in &input.checks {
            if section != Some(check.section) {
                section = Some(check.section);
                rows.push(Row::Group(vec![Span::new(
                    format!("{}. {}", check.section.number(), check.section.title()),
                    Style::new(Face::Bold, 8.2, NAVY),
                )]));
            }
            let mut cells = vec![check_cell(check)];
            cells.extend(check.statuses.iter().map(|s| grid_cell(*s, short)));
            rows.push(Row::Cells(cells));
        }
        self.c.table(&columns, &rows, &table_style());
    }

    fn status_summary(&mut self) {
        let input = self.input;
        let columns = [
            Column::new("Check", 2.5),
            Column::new("First", 0.9).aligned(Align::Center),
            Column::new("Last", 0.9).aligned(Align::Center),
            Column::new("Scans per status", 1.7),
            Column::new("Status changes", 2.6),
        ];
        let mut rows = Vec::new();
        let mut section = None;
        for check in &input.checks {
            if section != Some(check.section) {
                section = Some(check.section);
                rows.push(Row::Group(vec![Span::new(
                    format!("{}. {}", check.section.number(), check.section.title()),
                    Style::new(Face::Bold, 8.2, NAVY),
                )]));
            }
            let scans_with = |status| {
                check
                    .statuses
                    .iter()
                    .filter(|s| **s == Some(status))
                    .count()
            };
            let mut counts = count_spans_by(scans_with, 6.8);
            let missing = check.statuses.iter().filter(|s| s.is_none()).count();
            if missing > 0 {
                counts.push(Span::new(format!(" · {missing}\u{a0}not evaluated"), SMALL));
            }
            rows.push(Row::Cells(vec![
                check_cell(check),
                status_cell(check.statuses.first().copied().flatten()),
                status_cell(check.statuses.last().copied().flatten()),
                counts,
                vec![Span::new(self.change_list(check), CELL)],
            ]));
        }
        self.c.table(&columns, &rows, &table_style());
    }

    /// `2026-03-02 pass → fail; 2026-03-05 fail → pass`, capped.
    fn change_list(&self, check: &CheckTimeline) -> String {
        let changes = changes_of(check);
        if changes.is_empty() {
            return "none".to_string();
        }
        let mut lines: Vec<String> = changes
            .iter()
            .take(CHANGES_SHOWN)
            .map(|c| {
                let when = self
                    .input
                    .scans
                    .get(c.scan)
                    .map(|s| scan_date(&s.collected_at))
                    .unwrap_or_default();
                format!("{when} {} → {}", status_word(c.old), status_word(c.new))
            })
            .collect();
        if changes.len() > CHANGES_SHOWN {
            lines.push(format!(
                "… and {} more (all in the embedded data)",
                changes.len() - CHANGES_SHOWN
            ));
        }
        lines.join("\n")
    }

    // ----- drift ---------------------------------------------------------

    fn drift_chapter(&mut self) {
        self.chapter(
            "Drift between scans",
            Some(
                "Each scan compared with the one before it: checks newly failing, fixed, regressed or improved, \
                 and the objects behind them (roles, pg_hba lines, grants, PHI columns, settings) that \
                 appeared, disappeared or changed.",
            ),
        );
        let input = self.input;
        let changed: Vec<&DriftStep> = input.drift.iter().filter(|s| !s.is_quiet()).collect();
        self.body(&[Span::new(
            match (input.drift.len(), changed.len()) {
                (0, _) => "Fewer than two scans in the period: nothing to compare.".to_string(),
                (n, 0) => format!("None of the {n} consecutive pair(s) of scans shows a change."),
                (n, k) if k == n => {
                    format!("Each of the {n} consecutive pair(s) of scans shows a change.")
                }
                (n, k) => format!(
                    "{k} of the {n} consecutive pairs of scans show a change; the others none."
                ),
            },
            BODY,
        )]);
        for step in changed {
            self.drift_step(step);
        }
    }

    fn drift_step(&mut self, step: &DriftStep) {
        self.heading(&format!(
            "#{} → #{} · {}",
            step.from_seq,
            step.to_seq,
            human_time(&step.to_collected_at)
        ));
        self.body(&[Span::new(counts_line(&step.drift), SMALL)]);
        if checks_table(&mut self.c, &step.drift) {
            self.c.space(6.0);
        }
        if objects_table(&mut self.c, &step.drift) {
            self.c.space(6.0);
        }
        notes(&mut self.c, &step.drift);
    }

    // ----- events --------------------------------------------------------

    fn events_chapter(&mut self) {
        self.chapter(
            "Fixes applied and policy changes",
            Some(
                "Fixes applied to this target and changes to accepted risks and baselines, as the evidence \
                 store recorded them during the period.",
            ),
        );
        let events = &self.input.events;
        if events.is_empty() {
            self.body(&[Span::new(
                "No fix and no policy change was recorded in the period.",
                BODY,
            )]);
            return;
        }
        let columns = [
            Column::new("When", 1.5),
            Column::new("Record", 0.9),
            Column::new("What", 5.0),
        ];
        let rows: Vec<Row> = events
            .iter()
            .map(|e| {
                Row::Cells(vec![
                    vec![Span::new(untrusted::name(&human_time(&e.at)), CELL)],
                    vec![Span::new(format!("#{} {}", e.seq, e.kind), CELL_BOLD)],
                    vec![Span::new(untrusted::text(&e.summary), CELL)],
                ])
            })
            .collect();
        self.c.table(&columns, &rows, &table_style());
    }

    // ----- appendix ------------------------------------------------------

    fn verify_appendix(&mut self) {
        self.chapter("Appendix · Embedded data and how to verify", None);
        self.body(&[Span::new(
            "The period's data, in the machine-readable format pgsafeguard.period/1, is embedded in this PDF \
             as a file attachment: every scan of the period with its counts, every check's status at each \
             scan, the drift between consecutive scans, the fixes and policy changes, and the chain head. \
             The report is digitally signed: the signature covers the whole file, including the attachment.",
            BODY,
        )]);
        let ctx = self.ctx;
        self.verify_section(ctx, "Embedded period data", super::PERIOD_SCHEMA);
        let store = self.input.evidence_store.as_ref();
        self.evidence_store_section(store);
    }
}

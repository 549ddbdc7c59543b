//! The single-scan report's chapter "Changes since the previous scan": what
//! moved since the newest earlier scan of the same target in the evidence
//! store (from [`crate::report::changes::Comparison`]), or why there is
//! nothing to compare; the checks compared with an approved baseline (shown
//! as accepted, with "baseline"); and the line the executive summary gives it.

use super::{capped_text, ReportWriter};
use crate::model::finding::Finding;
use crate::model::untrusted;
use crate::report::changes::Comparison;
use crate::report::doc::{
    badge, human_time, table_style, Chapters, BODY, BODY_BOLD, CELL, CELL_BOLD, SMALL,
};
use crate::report::drift_tables::{checks_table, counts_line, notes, objects_table};
use crate::report::layout::{Align, Column, Row, Span};

pub(super) const TITLE: &str = "Changes since the previous scan";

impl ReportWriter<'_, '_> {
    pub(super) fn previous_scan_chapter(&mut self) {
        self.chapter(TITLE, None);
        self.drift_since_previous();
        self.c.space(8.0);
        self.baselines();
    }

    fn drift_since_previous(&mut self) {
        let (previous, drift) = match &self.input.comparison {
            Comparison::Compared { previous, drift } => (previous, drift),
            other => {
                let why = match other {
                    Comparison::FirstScan => {
                        "No earlier scan of this target is recorded in the evidence store: this is the first. \
                         Later reports will show what changed since it."
                            .to_string()
                    }
                    Comparison::Unavailable(reason) => format!(
                        "The evidence store could not be read back to compare this scan with an earlier one: {}",
                        untrusted::text(reason)
                    ),
                    _ => "This scan was not recorded in an evidence store, so it was not compared with \
                          an earlier one."
                        .to_string(),
                };
                self.body(&[Span::new(why, BODY)]);
                return;
            }
        };
        self.body(&[Span::new(
            format!(
                "Compared with the previous scan of the same target in the evidence store: record #{}, \
                 collected {} ({}). The previous findings are those recorded then, under the policy of that day.",
                previous.seq,
                untrusted::name(&human_time(&previous.collected_at)),
                previous.source.describe()
            ),
            BODY,
        )]);
        self.body(&[
            Span::new("Since then: ", BODY_BOLD),
            Span::new(counts_line(drift), BODY),
        ]);
        self.heading("Checks that changed");
        if !checks_table(&mut self.c, drift) {
            self.body(&[Span::new("No check changed its status or its rows.", BODY)]);
        }
        self.c.space(8.0);
        self.heading("Objects that appeared, disappeared or changed");
        if !objects_table(&mut self.c, drift) {
            self.body(&[Span::new(
                "No role, pg_hba line, grant, PHI column, setting, database or extension changed.",
                BODY,
            )]);
        }
        self.c.space(6.0);
        notes(&mut self.c, drift);
    }

    /// Checks whose rows are compared with an approved baseline: accepted
    /// (as baseline) when every row matches, else still failing on the rows
    /// that are not in it. Shown as accepted, never as passing.
    fn baselines(&mut self) {
        let report = self.report;
        let with_baseline: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.accepted.as_ref().is_some_and(|a| a.baseline))
            .collect();
        self.heading("Checks with an approved baseline");
        if with_baseline.is_empty() {
            self.body(&[Span::new(
                "No check of this scan is compared with a baseline of approved rows.",
                BODY,
            )]);
            return;
        }
        self.body(&[Span::new(
            "A baseline approves a check's result rows as they were (who, why and when, in the policy file). \
             A check whose rows all match its baseline is accepted, with the baseline as its reason; rows \
             not in the baseline keep it failing.",
            BODY,
        )]);
        let columns = [
            Column::new("Check", 2.2),
            Column::new("Status", 1.1).aligned(Align::Center),
            Column::new("Baseline", 2.0),
            Column::new("This scan", 3.0),
        ];
        let rows: Vec<Row> = with_baseline
            .iter()
            .filter_map(|f| {
                let a = f.accepted.as_ref()?;
                let mut status = vec![badge(f.status, 5.8)];
                status.push(Span::new("\nbaseline", SMALL));
                let when =
                    a.at.as_deref()
                        .map(|at| format!(" on {}", untrusted::name(at)))
                        .unwrap_or_default();
                Some(Row::Cells(vec![
                    vec![
                        Span::new(f.id.clone(), CELL_BOLD),
                        Span::new(format!("\n{}", f.title), SMALL),
                    ],
                    status,
                    vec![Span::new(
                        format!(
                            "approved by {}{when} — {}",
                            untrusted::text(&a.by),
                            untrusted::text(&a.reason)
                        ),
                        CELL,
                    )],
                    vec![Span::new(capped_text(&f.evidence), CELL)],
                ]))
            })
            .collect();
        self.c.table(&columns, &rows, &table_style());
    }

    /// One sentence for the executive summary, when there is a comparison.
    pub(super) fn previous_scan_summary(&self) -> Option<Vec<Span>> {
        let Comparison::Compared { previous, drift } = &self.input.comparison else {
            return None;
        };
        Some(vec![
            Span::new(
                format!(
                    "Since the previous scan (record #{}, {}): ",
                    previous.seq,
                    untrusted::name(&human_time(&previous.collected_at))
                ),
                BODY_BOLD,
            ),
            Span::new(
                format!("{} (chapter \"{TITLE}\").", counts_line(drift)),
                BODY,
            ),
        ])
    }
}

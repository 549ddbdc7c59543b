//! What the evidence report says, chapter by chapter: cover, contents,
//! executive summary, results by HIPAA citation, one chapter per guide
//! section, changes made during the session, attestations and accepted
//! risks, what could not be checked, and the appendices (scope and method,
//! embedded data and how to verify).
//!
//! Reads only the scan result ([`crate::output::ScanReport`]) and the report
//! context; draws through [`super::layout`]. No I/O, no clock: the creation
//! time comes in with the context, so the same input gives the same pages.

use super::doc::{
    badge, count_spans, cover_band, cover_organisation, cut_to, human_time, organisation_suffix,
    status_label, store_cover_line, table_style, tiles_row, Chapters, Composed, Context,
    RunningFrame, Tile, BODY, BODY_BOLD, CELL, CELL_BOLD, CELL_MONO, CODE, LABEL, SMALL,
    STATUS_ORDER, VALUE, VALUE_MONO,
};
use super::layout::{
    Align, Column, Composer, Face, FontSet, Row, Span, Style, CONTENT_TOP, CONTENT_WIDTH, MARGIN_X,
};
use super::palette::{
    severity_color, status_color, ACCENT, CODE_FILL, FADED, MUTED, NAVY, RULE, TEXT,
};
use super::ReportInput;
use crate::model::changelog::{Action, ChangeLogEntry};
use crate::model::finding::{ApplyClass, Finding, Section, Severity, Status, Summary};
use crate::model::untrusted;
use crate::output::{proofs, summarise_objects, ScanReport, OBJECTS_SHOWN};

mod previous;

/// Lines of a proposed configuration file shown before summarising.
const CONFIG_LINES_SHOWN: usize = 60;
/// Characters of one evidence text shown before summarising.
const TEXT_SHOWN: usize = 2_000;
/// Characters of host:port/database the running header has room for.
const HEADER_TARGET_SHOWN: usize = 24;

/// Width of the label column in check cards and field lists.
const LABEL_WIDTH: f32 = 86.0;

pub fn compose(fonts: &FontSet, input: &ReportInput, ctx: &Context) -> Composed {
    let mut writer = ReportWriter {
        c: Composer::new(fonts),
        input,
        report: &input.report,
        ctx,
        chapters: Vec::new(),
    };
    writer.cover();
    writer.c.new_page(); // contents, filled in once page numbers are known
    writer.executive_summary();
    writer.hipaa_map();
    for section in Section::ALL {
        writer.section_chapter(section);
    }
    writer.previous_scan_chapter();
    writer.changes_chapter();
    writer.attestations_chapter();
    writer.gaps_chapter();
    writer.scope_appendix();
    writer.verify_appendix();
    writer.contents_page();
    let frame = RunningFrame {
        demo: input.demo,
        title: format!(
            "pgSafeguard evidence report{}",
            organisation_suffix(input.organisation.as_deref())
        ),
        about: format!(
            "{} · scanned {}",
            // Room for half the header: a long name must not run into the
            // title on the left.
            cut_to(&target_line(&input.report), HEADER_TARGET_SHOWN),
            human_time(&input.report.collected_at)
        ),
        json_sha256: ctx.json_sha256.clone(),
    };
    let (pages, bookmarks) = writer.c.finish(&frame);
    Composed { pages, bookmarks }
}

struct ReportWriter<'a, 'f> {
    c: Composer<'f>,
    input: &'a ReportInput,
    report: &'a ScanReport,
    ctx: &'a Context,
    /// Chapter titles and their first page, for the contents page.
    chapters: Vec<(String, usize)>,
}

impl<'f> Chapters<'f> for ReportWriter<'_, 'f> {
    fn composer(&mut self) -> &mut Composer<'f> {
        &mut self.c
    }

    fn chapter_list(&mut self) -> &mut Vec<(String, usize)> {
        &mut self.chapters
    }
}

fn target_line(report: &ScanReport) -> String {
    let t = &report.target;
    format!(
        "{}:{}/{}",
        untrusted::name(&t.host),
        t.port,
        untrusted::name(&t.dbname)
    )
}

impl<'a> ReportWriter<'a, '_> {
    fn findings_in(&self, section: Section) -> Vec<&'a Finding> {
        let report: &'a ScanReport = self.report;
        report
            .findings
            .iter()
            .filter(|f| f.section == section)
            .collect()
    }

    // ----- cover ---------------------------------------------------------

    fn cover(&mut self) {
        cover_band(
            &mut self.c,
            self.input.demo,
            "Evidence report",
            "PostgreSQL security assessment against the pgSafeguard hardening guide",
        );
        cover_organisation(&mut self.c, self.input.organisation.as_deref());
        self.c.paragraph(
            &[Span::new(
                format!(
                    "{} · PostgreSQL {} · scanned {}",
                    target_line(self.report),
                    untrusted::name(
                        self.report
                            .target
                            .server_version
                            .as_deref()
                            .unwrap_or("version unknown")
                    ),
                    human_time(&self.report.collected_at)
                ),
                Style::new(Face::Regular, 9.5, MUTED),
            )],
            0.0,
            CONTENT_WIDTH,
        );
        self.c.space(16.0);
        self.status_tiles();
        self.c.space(18.0);
        self.cover_fields();
    }

    /// A row of tiles, one per status, with the count in the status colour.
    fn status_tiles(&mut self) {
        let summary = &self.report.summary;
        let tiles: Vec<Tile> = STATUS_ORDER
            .iter()
            .map(|status| {
                let count = summary.count(*status);
                let color = status_color(*status);
                Tile {
                    value: count.to_string(),
                    label: status_label(*status).to_string(),
                    accent: color,
                    value_color: if count == 0 { MUTED } else { color },
                }
            })
            .collect();
        tiles_row(&mut self.c, &tiles);
        self.c.space(6.0);
        let total = self.report.findings.len();
        self.c.paragraph(
            &[Span::new(
                format!("{total} checks evaluated from one read-only scan."),
                SMALL,
            )],
            0.0,
            CONTENT_WIDTH,
        );
    }

    fn cover_fields(&mut self) {
        let t = &self.report.target;
        // Every value here may come from the server or the signer's certificate.
        let mono = |s: &str| vec![Span::new(untrusted::text(s), VALUE_MONO)];
        let text = |s: &str| vec![Span::new(untrusted::text(s), VALUE)];
        let unknown = "not known";
        let tls = t.tls.as_ref();
        let encryption = match tls {
            Some(tls) => format!(
                "{} · {}",
                tls.version.as_deref().unwrap_or("TLS"),
                tls.cipher.as_deref().unwrap_or("cipher not reported")
            ),
            None => "not encrypted".to_string(),
        };
        let server_cert = tls
            .and_then(|t| t.server_certificate_sha256.as_deref())
            .unwrap_or("none presented");
        let operator = self
            .input
            .operator
            .clone()
            .filter(|o| !o.trim().is_empty())
            .unwrap_or_else(|| "not stated".to_string());
        self.heading("Target");
        self.fields(&[
            (
                "Server",
                text(&format!("{}:{}", untrusted::name(&t.host), t.port)),
            ),
            ("Database", text(&t.dbname)),
            ("Connected as", text(&t.user)),
            (
                "Server version",
                text(t.server_version.as_deref().unwrap_or(unknown)),
            ),
            (
                "System identifier",
                mono(t.system_identifier.as_deref().unwrap_or(unknown)),
            ),
        ]);
        self.heading("Connection security");
        self.fields(&[
            ("sslmode requested", text(&t.sslmode)),
            ("Encryption", text(&encryption)),
            ("Server certificate SHA-256", mono(server_cert)),
        ]);
        self.heading("Scan and signature");
        self.fields(&[
            ("Scan time", text(&human_time(&self.report.collected_at))),
            ("Report created", text(&self.ctx.created_at)),
            ("pgSafeguard version", text(&self.report.tool.version)),
            ("Operator", text(&operator)),
            ("Signer", text(&self.ctx.signer_subject)),
            ("Signer SHA-256", mono(&self.ctx.signer_fingerprint)),
            ("Trusted timestamp", text(&self.ctx.timestamp_line())),
            (
                "Evidence store",
                store_cover_line(self.input.evidence_store.as_ref()),
            ),
        ]);
    }

    // ----- executive summary --------------------------------------------

    fn executive_summary(&mut self) {
        self.chapter("Executive summary", None);
        let s = &self.report.summary;
        let failing_high: Vec<&Finding> = self
            .report
            .findings
            .iter()
            .filter(|f| f.status == Status::Fail && f.severity <= Severity::High)
            .collect();
        let t = &self.report.target;
        let mut lead = vec![Span::new(
            format!(
                "pgSafeguard {} evaluated {} checks against database {} on {}:{} (PostgreSQL {}) on {}. ",
                self.report.tool.version,
                self.report.findings.len(),
                untrusted::name(&t.dbname),
                untrusted::name(&t.host),
                t.port,
                untrusted::name(t.server_version.as_deref().unwrap_or("of unknown version")),
                human_time(&self.report.collected_at),
            ),
            BODY,
        )];
        lead.push(Span::new("Result: ", BODY_BOLD));
        lead.extend(count_spans(s, 9.0));
        lead.push(Span::new(".", BODY));
        self.body(&lead);
        let verdict = if s.fail == 0 {
            "No check fails. Checks marked unknown or manual still need a decision before the database can be called compliant with the guide.".to_string()
        } else {
            format!(
                "{} check(s) fail, {} of them of high or critical severity; each is listed in its section with the evidence seen, the fix and its rollback.",
                s.fail,
                failing_high.len()
            )
        };
        self.body(&[Span::new(verdict, BODY)]);
        if let Some(since) = self.previous_scan_summary() {
            self.body(&since);
        }

        self.section_table();

        self.heading("Failing checks of high or critical severity");
        if failing_high.is_empty() {
            self.body(&[Span::new(
                "No check of high or critical severity fails.",
                BODY,
            )]);
        } else {
            let columns = [
                Column::new("Check", 0.9),
                Column::new("Title", 4.2),
                Column::new("Severity", 0.9),
                Column::new("Section", 2.2),
            ];
            let rows: Vec<Row> = failing_high
                .iter()
                .map(|f| {
                    Row::Cells(vec![
                        vec![Span::new(f.id.clone(), CELL_BOLD)],
                        vec![Span::new(f.title.clone(), CELL)],
                        vec![Span::new(
                            f.severity.as_str(),
                            Style::new(Face::Bold, 7.8, severity_color(f.severity)),
                        )],
                        vec![Span::new(
                            format!("{}. {}", f.section.number(), f.section.title()),
                            CELL,
                        )],
                    ])
                })
                .collect();
            self.c.table(&columns, &rows, &table_style());
        }
        self.c.space(10.0);
        self.heading("How to read this report");
        self.body(&[Span::new(
            "Each check has one status. PASS: the server meets the guide. FAIL: it does not; the fix is given. \
             WARN: acceptable but weaker than recommended. UNKNOWN: the scanner could not read what it needs; \
             the grant that would allow it is given — never counted as a pass. MANUAL: only a person can confirm \
             it (an attestation). ATTESTED: a person confirmed it (name, date, note). ACCEPTED: a documented, \
             unexpired risk acceptance. N/A: does not apply to this server.",
            BODY,
        )]);
    }

    /// Counts per guide section, and for all sections.
    fn section_table(&mut self) {
        self.heading("Results by guide section");
        let columns = [
            Column::new("Section", 3.6),
            Column::new("Checks", 0.8).aligned(Align::Center),
            Column::new("Fail", 0.7).aligned(Align::Center),
            Column::new("Warn", 0.7).aligned(Align::Center),
            Column::new("Unknown", 0.9).aligned(Align::Center),
            Column::new("Manual", 0.8).aligned(Align::Center),
            Column::new("Pass", 0.7).aligned(Align::Center),
            Column::new("Attested", 0.9).aligned(Align::Center),
            Column::new("Accepted", 0.9).aligned(Align::Center),
            Column::new("N/A", 0.6).aligned(Align::Center),
        ];
        let mut rows = Vec::new();
        for section in Section::ALL {
            let findings = self.findings_in(section);
            let summary = Summary::of(findings.iter().copied());
            rows.push(self.section_count_row(
                format!("{}. {}", section.number(), section.title()),
                findings.len(),
                &summary,
                false,
            ));
        }
        rows.push(self.section_count_row(
            "All sections".to_string(),
            self.report.findings.len(),
            &self.report.summary,
            true,
        ));
        self.c.table(&columns, &rows, &table_style());
        self.c.space(10.0);
    }

    fn section_count_row(&self, title: String, total: usize, s: &Summary, bold: bool) -> Row {
        let title_style = if bold { CELL_BOLD } else { CELL };
        let mut cells = vec![
            vec![Span::new(title, title_style)],
            vec![Span::new(total.to_string(), CELL_BOLD)],
        ];
        for status in [
            Status::Fail,
            Status::Warn,
            Status::Unknown,
            Status::Manual,
            Status::Pass,
            Status::Attested,
            Status::Accepted,
            Status::NotApplicable,
        ] {
            let n = s.count(status);
            let style = if n == 0 {
                Style::new(Face::Regular, 7.8, FADED)
            } else {
                Style::new(Face::Bold, 7.8, status_color(status))
            };
            cells.push(vec![Span::new(n.to_string(), style)]);
        }
        Row::Cells(cells)
    }

    // ----- HIPAA map -----------------------------------------------------

    fn hipaa_map(&mut self) {
        self.chapter(
            "Results by HIPAA citation",
            Some(
                "Each check names the paragraphs of the HIPAA Security Rule (45 CFR Part 164) it gives evidence for. \
                 This table groups the checks by paragraph; a check can appear under several paragraphs.",
            ),
        );
        let citations = citation_groups(&self.report.findings);
        let columns = [
            Column::new("Citation", 1.15),
            Column::new("Safeguard", 1.9),
            Column::new("Checks and their status", 4.0),
        ];
        let mut rows = Vec::new();
        let mut current_part = String::new();
        for (citation, findings) in &citations {
            let part = citation_part(citation);
            if part != current_part {
                current_part = part.clone();
                rows.push(Row::Group(vec![
                    Span::new(format!("§{part}  "), Style::new(Face::Bold, 8.2, NAVY)),
                    Span::new(part_title(&part), Style::new(Face::Bold, 8.2, NAVY)),
                ]));
            }
            let summary = Summary::of(findings.iter().copied());
            let mut safeguard = vec![Span::new(
                crate::model::hipaa::citation_name(citation).unwrap_or("—"),
                CELL,
            )];
            safeguard.push(Span::new("\n", CELL));
            safeguard.extend(count_spans(&summary, 6.8));
            let mut checks = Vec::new();
            for (i, f) in findings.iter().enumerate() {
                if i > 0 {
                    checks.push(Span::new("   ", CELL));
                }
                checks.push(Span::new(f.id.clone(), Style::new(Face::Mono, 7.2, TEXT)));
                checks.push(badge(f.status, 5.8));
            }
            rows.push(Row::Cells(vec![
                vec![Span::new(format!("§{citation}"), CELL_BOLD)],
                safeguard,
                checks,
            ]));
        }
        self.c.table(&columns, &rows, &table_style());
    }

    // ----- section chapters ---------------------------------------------

    fn section_chapter(&mut self, section: Section) {
        let findings = self.findings_in(section);
        let title = format!("Section {} · {}", section.number(), section.title());
        self.chapter(&title, None);
        let summary = Summary::of(findings.iter().copied());
        let mut lead = vec![Span::new(format!("{} checks: ", findings.len()), BODY_BOLD)];
        lead.extend(count_spans(&summary, 9.0));
        self.body(&lead);
        self.c.space(4.0);
        for finding in findings {
            self.check_card(finding);
        }
    }

    fn check_card(&mut self, f: &Finding) {
        // Keep the title with at least the first lines of evidence.
        self.c.ensure(80.0);
        let y = self.c.y();
        if y > CONTENT_TOP + 1.0 {
            self.c.rule(MARGIN_X, y, CONTENT_WIDTH, 0.8, RULE);
            self.c.space(7.0);
        }
        let title = vec![
            badge(f.status, 7.2),
            Span::new(format!("  {}  ", f.id), Style::new(Face::Bold, 10.0, NAVY)),
            Span::new(f.title.clone(), Style::new(Face::Bold, 10.0, TEXT)),
        ];
        let mut title = title;
        if let Some(label) = proofs::proof_label(f) {
            title.push(Span::new(
                format!("   {label}"),
                Style::new(Face::Bold, 7.5, status_color(f.status)),
            ));
        }
        self.c.paragraph(&title, 0.0, CONTENT_WIDTH);
        self.c.space(2.0);
        let mut meta = vec![
            Span::new("Severity ", SMALL),
            Span::new(
                f.severity.as_str(),
                Style::new(Face::Bold, 7.5, severity_color(f.severity)),
            ),
            Span::new("   ·   HIPAA ", SMALL),
            Span::new(
                f.hipaa
                    .iter()
                    .map(|c| format!("§{c}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                Style::new(Face::Regular, 7.5, TEXT),
            ),
        ];
        if let Some(cis) = &f.cis {
            meta.push(Span::new("   ·   CIS ", SMALL));
            meta.push(Span::new(cis.clone(), Style::new(Face::Regular, 7.5, TEXT)));
        }
        self.c.paragraph(&meta, 0.0, CONTENT_WIDTH);
        self.c.space(5.0);

        self.card_field("Evidence", vec![Span::new(capped_text(&f.evidence), VALUE)]);
        if !f.objects.is_empty() {
            self.card_field(
                "Objects",
                vec![Span::new(summarise_objects(&f.objects), VALUE)],
            );
        }
        if !f.proofs.is_empty() {
            self.card_field("Probe transcript", vec![Span::new(transcript(f), VALUE)]);
        }
        if let Some(reason) = f.reason.as_ref().filter(|r| **r != f.evidence) {
            self.card_field("Why unknown", vec![Span::new(capped_text(reason), VALUE)]);
        }
        if let Some(grant) = &f.grant {
            self.card_label("To decide, grant");
            self.c.code_block(
                &capped_text(grant),
                CODE,
                LABEL_WIDTH,
                CODE_FILL,
                status_color(Status::Unknown),
            );
            self.c.space(4.0);
        }
        if let Some(a) = &f.attestation {
            self.card_field(
                "Attested",
                vec![Span::new(
                    format!(
                        "by {} on {} — {}",
                        untrusted::text(&a.by),
                        untrusted::name(&a.at),
                        untrusted::text(&a.note)
                    ),
                    VALUE,
                )],
            );
        }
        if let Some(a) = &f.accepted {
            self.card_field(
                "Accepted risk",
                vec![Span::new(
                    format!(
                        "by {} {} — {}",
                        untrusted::text(&a.by),
                        untrusted::text(&a.expiry_phrase()),
                        untrusted::text(&a.reason)
                    ),
                    VALUE,
                )],
            );
        }
        self.card_field(
            "Why it matters",
            vec![Span::new(f.rationale.clone(), VALUE)],
        );
        if needs_fix(f.status) {
            self.fix_fields(f);
        }
        let applied = applied_entries(&self.input.change_log, &f.id);
        if !applied.is_empty() {
            let text = applied.join("\n");
            self.card_field(
                "Applied this session",
                vec![Span::new(
                    text,
                    Style::new(Face::Regular, 8.5, status_color(Status::Pass)),
                )],
            );
        }
        if !f.reproduce_sql.trim().is_empty() {
            self.card_label("Reproduce with");
            self.c
                .code_block(f.reproduce_sql.trim(), CODE, LABEL_WIDTH, CODE_FILL, RULE);
            self.c.space(4.0);
        }
        self.c.space(8.0);
    }

    fn fix_fields(&mut self, f: &Finding) {
        let Some(fix) = &f.fix else {
            return;
        };
        let mut how = Vec::new();
        if !fix.apply.is_empty() {
            how.push(format!(
                "applies: {}",
                fix.apply
                    .iter()
                    .map(|a| apply_label(*a))
                    .collect::<Vec<_>>()
                    .join(" + ")
            ));
        }
        if !fix.needs.is_empty() {
            how.push(format!("needs: {}", untrusted::text(&fix.needs)));
        }
        let mut spans = vec![Span::new(
            how.join("   ·   "),
            Style::new(Face::Bold, 8.0, TEXT),
        )];
        if !fix.note.is_empty() {
            if !how.is_empty() {
                spans.push(Span::new("\n", VALUE));
            }
            spans.push(Span::new(untrusted::text(&fix.note), VALUE));
        }
        self.card_field("Fix", spans);
        if !fix.statements.is_empty() {
            self.c.code_block(
                &shown_lines(&fix.statements, OBJECTS_SHOWN, "statements"),
                CODE,
                LABEL_WIDTH,
                CODE_FILL,
                status_color(Status::Fail),
            );
            self.c.space(4.0);
        }
        if let Some(edit) = &fix.config_edit {
            self.card_field(
                "Proposed file",
                vec![Span::new(
                    format!(
                        "{} — validate with: {}",
                        untrusted::name(&edit.file),
                        untrusted::text(&edit.validate)
                    ),
                    VALUE,
                )],
            );
            self.c.code_block(
                &shown_lines(&edit.lines, CONFIG_LINES_SHOWN, "lines"),
                CODE,
                LABEL_WIDTH,
                CODE_FILL,
                ACCENT,
            );
            self.c.space(4.0);
        }
        if fix.irreversible {
            self.card_field(
                "Rollback",
                vec![Span::new(
                    "This fix cannot be undone; take a backup first.",
                    Style::new(Face::Bold, 8.5, status_color(Status::Fail)),
                )],
            );
        }
        if !fix.rollback.is_empty() {
            if !fix.irreversible {
                self.card_label("Rollback");
            }
            self.c.code_block(
                &shown_lines(&fix.rollback, OBJECTS_SHOWN, "statements"),
                CODE,
                LABEL_WIDTH,
                CODE_FILL,
                MUTED,
            );
            self.c.space(4.0);
        }
    }

    fn card_field(&mut self, label: &str, value: Vec<Span>) {
        self.c
            .labelled(&Span::new(label, LABEL), LABEL_WIDTH, &value, 0.0);
        self.c.space(3.0);
    }

    /// A label on its own line, for a code block that follows.
    fn card_label(&mut self, label: &str) {
        // Where code_block will put its first line (after its 5pt padding).
        self.c.ensure(CODE.line_height() + 10.0);
        let first_line_top = self.c.y() + 5.0;
        let baseline = first_line_top + CODE.line_height() / 2.0 + CODE.size * 0.36;
        self.c.text_at(MARGIN_X, baseline, &Span::new(label, LABEL));
    }

    // ----- changes, attestations, gaps ---------------------------------

    fn changes_chapter(&mut self) {
        self.chapter("Changes made during this session", None);
        let log = &self.input.change_log;
        if log.is_empty() {
            self.body(&[Span::new(
                "No fix was applied during this session. The findings describe the server as it was scanned.",
                BODY,
            )]);
            return;
        }
        self.body(&[Span::new(
            format!(
                "{} change(s) were applied during this session, in the order they were made. The findings in this \
                 report come from the scan named on the cover.",
                log.len()
            ),
            BODY,
        )]);
        let columns = [
            Column::new("When", 1.5),
            Column::new("Check", 0.8),
            Column::new("What was done", 4.2),
            Column::new("Outcome", 1.3),
        ];
        let rows: Vec<Row> = log.iter().map(change_row).collect();
        self.c.table(&columns, &rows, &table_style());
    }

    fn attestations_chapter(&mut self) {
        self.chapter(
            "Attestations and accepted risks",
            Some(
                "Some safeguards cannot be read from the database: a person attests them. Risks the organisation \
                 accepted (with an expiry date) are shown as such and not as passes.",
            ),
        );
        let attested: Vec<&Finding> = self
            .report
            .findings
            .iter()
            .filter(|f| f.attestation.is_some())
            .collect();
        self.heading("Attestations");
        if attested.is_empty() {
            self.body(&[Span::new(
                "No attestation was recorded for this scan.",
                BODY,
            )]);
        } else {
            let columns = [
                Column::new("Check", 0.8),
                Column::new("What is attested", 2.6),
                Column::new("By", 1.3),
                Column::new("When", 1.0),
                Column::new("Note", 2.6),
            ];
            let rows = attested
                .iter()
                .filter_map(|f| {
                    let a = f.attestation.as_ref()?;
                    Some(Row::Cells(vec![
                        vec![Span::new(f.id.clone(), CELL_BOLD)],
                        vec![Span::new(f.title.clone(), CELL)],
                        vec![Span::new(untrusted::text(&a.by), CELL)],
                        vec![Span::new(untrusted::name(&a.at), CELL)],
                        vec![Span::new(untrusted::text(&a.note), CELL)],
                    ]))
                })
                .collect::<Vec<_>>();
            self.c.table(&columns, &rows, &table_style());
        }
        let accepted: Vec<&Finding> = self
            .report
            .findings
            .iter()
            .filter(|f| f.accepted.is_some())
            .collect();
        self.c.space(8.0);
        self.heading("Accepted risks");
        if accepted.is_empty() {
            self.body(&[Span::new(
                "No risk was accepted by policy for this scan.",
                BODY,
            )]);
        } else {
            let columns = [
                Column::new("Check", 0.8),
                Column::new("Accepted by", 1.4),
                Column::new("Reason", 3.8),
                Column::new("Expires", 1.0),
            ];
            let rows = accepted
                .iter()
                .filter_map(|f| {
                    let a = f.accepted.as_ref()?;
                    Some(Row::Cells(vec![
                        vec![Span::new(f.id.clone(), CELL_BOLD)],
                        vec![Span::new(untrusted::text(&a.by), CELL)],
                        vec![Span::new(untrusted::text(&a.reason), CELL)],
                        vec![Span::new(untrusted::name(a.expiry_label()), CELL)],
                    ]))
                })
                .collect::<Vec<_>>();
            self.c.table(&columns, &rows, &table_style());
        }
        let manual: Vec<&Finding> = self
            .report
            .findings
            .iter()
            .filter(|f| f.status == Status::Manual)
            .collect();
        self.c.space(8.0);
        self.heading("Still to be attested");
        if manual.is_empty() {
            self.body(&[Span::new(
                "Every check that needs a person's attestation has one.",
                BODY,
            )]);
        } else {
            let columns = [
                Column::new("Check", 0.8),
                Column::new("What a person must confirm", 6.2),
            ];
            let rows = manual
                .iter()
                .map(|f| {
                    Row::Cells(vec![
                        vec![Span::new(f.id.clone(), CELL_BOLD)],
                        vec![Span::new(f.title.clone(), CELL)],
                    ])
                })
                .collect::<Vec<_>>();
            self.c.table(&columns, &rows, &table_style());
        }
    }

    fn gaps_chapter(&mut self) {
        self.chapter(
            "What could not be checked",
            Some(
                "A part the scanner was not allowed to read is never counted as a pass: the checks that need it say \
                 unknown, and the grant below would let a later scan decide them.",
            ),
        );
        self.heading("Parts the scanner could not read");
        if self.report.gaps.is_empty() {
            self.body(&[Span::new(
                "The scanner could read every part of the catalog it needs.",
                BODY,
            )]);
        } else {
            let columns = [
                Column::new("Part", 1.2),
                Column::new("SQLSTATE", 0.8),
                Column::new("What happened", 2.4),
                Column::new("Grant that allows it", 3.0),
            ];
            let rows = self
                .report
                .gaps
                .iter()
                .map(|g| {
                    Row::Cells(vec![
                        vec![Span::new(untrusted::name(&g.part), CELL_BOLD)],
                        vec![Span::new(
                            untrusted::name(g.sqlstate.as_deref().unwrap_or_default()),
                            CELL_MONO,
                        )],
                        vec![Span::new(untrusted::text(&g.message), CELL)],
                        vec![Span::new(
                            g.grant
                                .as_deref()
                                .map_or_else(|| "—".into(), untrusted::text),
                            CELL_MONO,
                        )],
                    ])
                })
                .collect::<Vec<_>>();
            self.c.table(&columns, &rows, &table_style());
        }
        let unknown: Vec<&Finding> = self
            .report
            .findings
            .iter()
            .filter(|f| f.status == Status::Unknown)
            .collect();
        self.c.space(8.0);
        self.heading("Checks left undecided");
        if unknown.is_empty() {
            self.body(&[Span::new("Every check could be decided.", BODY)]);
        } else {
            let columns = [
                Column::new("Check", 0.8),
                Column::new("Why", 3.4),
                Column::new("To decide, grant", 2.8),
            ];
            let rows = unknown
                .iter()
                .map(|f| {
                    Row::Cells(vec![
                        vec![Span::new(f.id.clone(), CELL_BOLD)],
                        vec![Span::new(
                            capped_text(f.reason.as_deref().unwrap_or(&f.evidence)),
                            CELL,
                        )],
                        vec![Span::new(
                            f.grant
                                .as_deref()
                                .map_or_else(|| "—".into(), untrusted::text),
                            CELL_MONO,
                        )],
                    ])
                })
                .collect::<Vec<_>>();
            self.c.table(&columns, &rows, &table_style());
        }
    }

    // ----- appendices ----------------------------------------------------

    fn scope_appendix(&mut self) {
        self.chapter("Appendix A · Scope and method", None);
        let t = &self.report.target;
        let paragraphs = [
            format!(
                "Scope. One scan covers the database it connected to ({}) and the cluster-wide catalogs of that \
                 server: roles and memberships, settings (pg_settings with their source), pg_hba rules, the \
                 databases, replication and archiving status. Per-database facts (tables, columns, row-level \
                 security, privileges, extensions) come from the connected database.",
                untrusted::name(&t.dbname)
            ),
            "Read-only collection. The scanner opened one session with default_transaction_read_only on, \
             inside a READ ONLY transaction with a statement timeout, and ran only its own SELECT statements \
             over the system catalogs and statistics views, in a constant number of round trips. It changed \
             nothing on the server. Each part ran under its own savepoint, so a part it was not allowed to \
             read became a recorded gap rather than a silent pass."
                .to_string(),
            "Host facts. File modes of the data directory, configuration files and keys are read only when \
             pgSafeguard runs on the database host itself; otherwise the checks that need them say manual or \
             unknown."
                .to_string(),
            "Secrets. Passwords in connection strings, keys in function bodies, credentials in archive_command \
             and query text of other sessions are redacted before they reach the evidence; this report and its \
             embedded data contain none of them."
                .to_string(),
            "Evaluation. Every check is a pure function of the collected snapshot and the organisation's \
             policy file: the same snapshot gives the same findings. Facts that could not be read give unknown, \
             never pass. Object lists show the first 20 names; the embedded data lists all of them."
                .to_string(),
            format!(
                "Connection. The scan connected as {} with sslmode={}{}.",
                untrusted::name(&t.user),
                untrusted::name(&t.sslmode),
                match &t.tls {
                    Some(tls) => format!(
                        ", encrypted with {} ({})",
                        untrusted::name(tls.version.as_deref().unwrap_or("TLS")),
                        untrusted::name(tls.cipher.as_deref().unwrap_or("cipher not reported"))
                    ),
                    None => ", without encryption".to_string(),
                }
            ),
        ];
        let mut paragraphs = paragraphs.to_vec();
        if let Some(gap) = self.report.gaps.iter().find(|g| g.is_unscanned_databases()) {
            paragraphs.insert(
                1,
                format!(
                    "Not scanned. Other databases of this server accept connections and were not scanned, so \
                     nothing in this report speaks for them ({}). Scan with --all-databases to include them.",
                    untrusted::text(&gap.message)
                ),
            );
        }
        for p in paragraphs {
            let (head, rest) = p.split_once(". ").unwrap_or(("", &p));
            let mut spans = Vec::new();
            if !head.is_empty() {
                spans.push(Span::new(format!("{head}. "), BODY_BOLD));
            }
            spans.push(Span::new(rest.to_string(), BODY));
            self.body(&spans);
            self.c.space(2.0);
        }
    }

    fn verify_appendix(&mut self) {
        self.chapter("Appendix B · Embedded scan data and how to verify", None);
        self.body(&[Span::new(
            "The complete scan result, in the machine-readable format pgsafeguard.scan/1, is embedded in this \
             PDF as a file attachment. It holds every finding with all matching objects. The report is \
             digitally signed: the signature covers the whole file, including the attachment.",
            BODY,
        )]);
        let (ctx, schema) = (self.ctx, self.report.schema.clone());
        self.verify_section(ctx, "Embedded scan data", &schema);
        self.evidence_store_section(self.input.evidence_store.as_ref());
    }
}

/// What the fleet report repeats for each target, under a chapter it opened:
/// the counts per section and a card for every check that needs attention.
pub(super) fn target_findings<'f>(
    c: Composer<'f>,
    input: &ReportInput,
    ctx: &Context,
) -> Composer<'f> {
    let mut writer = ReportWriter {
        c,
        input,
        report: &input.report,
        ctx,
        chapters: Vec::new(),
    };
    writer.section_table();
    let mut attention: Vec<&Finding> = input
        .report
        .findings
        .iter()
        .filter(|f| matches!(f.status, Status::Fail | Status::Unknown | Status::Warn))
        .collect();
    attention.sort_by_key(|f| (f.status, f.severity));
    writer.body(&[Span::new(
        format!(
            "{} check(s) fail, are unknown or warn; each is shown below. The other {} are in the target's scan data (pgsafeguard.scan/1).",
            attention.len(),
            input.report.findings.len() - attention.len()
        ),
        BODY,
    )]);
    for finding in attention {
        writer.check_card(finding);
    }
    writer.c
}

/// The first `limit` lines, then a line saying how many more the embedded
/// data holds: a fix for 10,000 tables must not print 10,000 statements.
/// Attempts shown in a check's transcript; the rest are counted (all are in
/// the embedded JSON).
const PROOFS_SHOWN: usize = 12;

/// A check's probe transcript: one entry per attempt, server text escaped.
fn transcript(f: &Finding) -> String {
    let mut lines: Vec<String> = f
        .proofs
        .iter()
        .take(PROOFS_SHOWN)
        .map(|p| {
            let grant = p
                .grant
                .as_deref()
                .map(|g| format!("\n    to decide: {}", untrusted::text(g)))
                .unwrap_or_default();
            format!(
                "{} — {} ({}, {})\n    server answered: {}\n    {}{grant}",
                p.outcome,
                untrusted::text(&p.attempted),
                untrusted::text(&p.from),
                untrusted::name(&p.at),
                untrusted::shown(&p.answer, untrusted::NAME_LIMIT),
                untrusted::text(&p.note)
            )
        })
        .collect();
    if f.proofs.len() > PROOFS_SHOWN {
        lines.push(format!(
            "… and {} more attempts (in the embedded JSON)",
            f.proofs.len() - PROOFS_SHOWN
        ));
    }
    lines.join("\n")
}

fn shown_lines(lines: &[impl std::fmt::Display], limit: usize, what: &str) -> String {
    let mut text = lines
        .iter()
        .take(limit)
        .map(|line| untrusted::text(&line.to_string()))
        .collect::<Vec<_>>()
        .join("\n");
    if lines.len() > limit {
        text.push_str(&format!(
            "\n-- … and {} more {what} ({} in all; every one is in the embedded scan data)",
            lines.len() - limit,
            lines.len()
        ));
    }
    text
}

/// Evidence is normally a sentence; a runaway one is cut with a note, and
/// server text in it is shown through [`untrusted`].
fn capped_text(text: &str) -> String {
    let escaped = untrusted::escape(text);
    if escaped.chars().count() <= TEXT_SHOWN {
        return escaped.into_owned();
    }
    let kept: String = escaped.chars().take(TEXT_SHOWN).collect();
    format!(
        "{kept} … ({} more characters in the embedded scan data)",
        escaped.chars().count() - TEXT_SHOWN
    )
}

fn needs_fix(status: Status) -> bool {
    matches!(status, Status::Fail | Status::Warn | Status::Accepted)
}

fn apply_label(class: ApplyClass) -> &'static str {
    match class {
        ApplyClass::Immediate => "immediately",
        ApplyClass::Reload => "after a reload",
        ApplyClass::Restart => "after a restart",
        ApplyClass::ConfigFile => "configuration file edit and reload",
        ApplyClass::Offline => "offline tool (cluster stopped)",
        ApplyClass::Os => "on the operating system",
        ApplyClass::Manual => "by a person (manual)",
    }
}

/// Citations in a natural order with the findings that cite them.
fn citation_groups(findings: &[Finding]) -> Vec<(String, Vec<&Finding>)> {
    let mut map: std::collections::BTreeMap<(Vec<CitationKey>, String), Vec<&Finding>> =
        std::collections::BTreeMap::new();
    for f in findings {
        for c in &f.hipaa {
            map.entry((citation_key(c), c.clone())).or_default().push(f);
        }
    }
    map.into_iter().map(|((_, c), fs)| (c, fs)).collect()
}

/// Sort key pieces: numbers compare as numbers, roman numerals as numbers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum CitationKey {
    Number(u32),
    Text(String),
}

fn citation_key(citation: &str) -> Vec<CitationKey> {
    citation
        .split(['.', '(', ')'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            if let Ok(n) = p.parse::<u32>() {
                CitationKey::Number(n)
            } else if let Some(n) = roman(p) {
                CitationKey::Number(n)
            } else {
                CitationKey::Text(p.to_string())
            }
        })
        .collect()
}

fn roman(text: &str) -> Option<u32> {
    let values = [
        ("i", 1),
        ("ii", 2),
        ("iii", 3),
        ("iv", 4),
        ("v", 5),
        ("vi", 6),
        ("vii", 7),
        ("viii", 8),
        ("ix", 9),
        ("x", 10),
    ];
    values.iter().find(|(r, _)| *r == text).map(|(_, n)| *n)
}

fn citation_part(citation: &str) -> String {
    citation.split('(').next().unwrap_or(citation).to_string()
}

fn part_title(part: &str) -> &'static str {
    match part {
        "164.308" => "Administrative safeguards",
        "164.310" => "Physical safeguards",
        "164.312" => "Technical safeguards",
        "164.314" => "Organisational requirements",
        "164.316" => "Policies, procedures and documentation",
        "164.502" => "Privacy Rule: uses and disclosures of PHI",
        "164.514" => "Privacy Rule: de-identification of PHI",
        _ => "Other requirements",
    }
}

/// When an entry finished (or started, when it never finished), as recorded.
fn entry_time(entry: &ChangeLogEntry) -> &str {
    entry.finished_at.as_deref().unwrap_or(&entry.started_at)
}

/// The database role, and the operating-system user when it was recorded.
fn entry_author(entry: &ChangeLogEntry) -> String {
    match &entry.who.os_user {
        Some(os) => format!("{} (OS user {os})", entry.who.role),
        None => entry.who.role.clone(),
    }
}

/// One line per change-log entry that concerns check `id`.
fn applied_entries(log: &[ChangeLogEntry], id: &str) -> Vec<String> {
    log.iter()
        .filter(|e| e.check_id == id)
        .map(|e| {
            format!(
                "{} {}, by {}: {}",
                match e.action {
                    Action::Apply => "applied",
                    Action::Rollback => "rolled back",
                },
                untrusted::name(&human_time(entry_time(e))),
                untrusted::text(&entry_author(e)),
                untrusted::one_line(&e.result())
            )
        })
        .collect()
}

fn change_row(entry: &ChangeLogEntry) -> Row {
    let statements: Vec<String> = entry.statements.iter().map(|s| s.sql.to_string()).collect();
    let plan = entry
        .plan_id
        .as_deref()
        .map(|id| format!(", plan {}", untrusted::name(id)))
        .unwrap_or_default();
    let mut what = vec![Span::new(
        format!("by {}{plan}\n", untrusted::text(&entry_author(entry))),
        CELL,
    )];
    if !statements.is_empty() {
        what.push(Span::new(
            shown_lines(&statements, OBJECTS_SHOWN, "statements"),
            CELL_MONO,
        ));
    }
    if let Some(file) = &entry.config_file {
        what.push(Span::new(
            format!(
                "wrote {} ({} lines)",
                untrusted::name(&file.path),
                file.lines.len()
            ),
            CELL_MONO,
        ));
    }
    Row::Cells(vec![
        vec![Span::new(
            untrusted::name(&human_time(entry_time(entry))),
            CELL,
        )],
        vec![Span::new(untrusted::name(&entry.check_id), CELL_BOLD)],
        what,
        vec![Span::new(untrusted::one_line(&entry.result()), CELL)],
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn citations_sort_naturally() {
        let mut list = vec![
            "164.312(e)(1)",
            "164.308(a)(7)(ii)(A)",
            "164.312(a)(2)(iv)",
            "164.312(a)(1)",
            "164.308(a)(1)(ii)(D)",
            "164.514",
        ];
        list.sort_by_key(|c| citation_key(c));
        assert_eq!(
            list,
            vec![
                "164.308(a)(1)(ii)(D)",
                "164.308(a)(7)(ii)(A)",
                "164.312(a)(1)",
                "164.312(a)(2)(iv)",
                "164.312(e)(1)",
                "164.514"
            ]
        );
    }

    #[test]
    fn long_statement_lists_are_summarised() {
        let lines: Vec<String> = (0..25)
            .map(|i| format!("REVOKE ALL ON t{i} FROM PUBLIC"))
            .collect();
        let text = shown_lines(&lines, 20, "statements");
        assert_eq!(text.lines().count(), 21);
        assert!(text.ends_with("(25 in all; every one is in the embedded scan data)"));
        assert_eq!(
            shown_lines(&lines[..3], 20, "statements").lines().count(),
            3
        );
        assert!(capped_text(&"x".repeat(2_100))
            .ends_with("(100 more characters in the embedded scan data)"));
    }

    #[test]
    fn change_log_entries_match_by_check_id() {
        let mut entry = crate::apply::changelog::tests::sample("entry-1");
        entry.finished_at = Some("2026-11-27T10:05:00Z".into());
        let check = entry.check_id.clone();
        let log = vec![entry.clone()];
        let lines = applied_entries(&log, &check);
        assert_eq!(
            lines,
            vec![format!(
                "applied 2026-11-27 10:05:00 UTC, by postgres (OS user dba): {}",
                entry.result()
            )]
        );
        assert!(applied_entries(&log, "TLS-002").is_empty());
    }
}

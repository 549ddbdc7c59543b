//! The walkthrough: the left rail of the six guide sections, the overview
//! page with its per-citation table, and a section page (guide prose, then
//! its checks, failing first).
//!
//! Reads findings; changes nothing. Clicks come back as [`Command`]s.

use super::check_order::{ordered_findings, status_rank};
use super::command::Command;
use super::guide;
use super::icons;
use super::prove::{section_probes, ProveAvailability, ProveScope, PROVE_SECTION};
use super::theme::{self, space};
use super::training_widgets;
use super::widgets;
use super::wording::display_time;
use crate::model::finding::{Finding, Section, Status, Summary};
use crate::model::snapshot::Snapshot;
use crate::model::untrusted;
use eframe::egui;
use egui::text::LayoutJob;
use egui::{RichText, TextFormat, Ui};
use std::collections::BTreeMap;

/// Checks that need nothing more: pass, not applicable, attested, accepted.
pub fn resolved(summary: &Summary) -> usize {
    summary.pass + summary.not_applicable + summary.attested + summary.accepted
}

fn total(summary: &Summary) -> usize {
    Status::ALL.iter().map(|s| summary.count(*s)).sum()
}

/// The counts under a section, in two lines: what failed and passed, then
/// what is undecided, e.g. "2 fail · 5 pass\n1 unknown · 0 manual".
/// Warnings are added only when there are some. This text is test API.
pub fn counts_text(summary: &Summary) -> String {
    counts_lines(summary)
        .iter()
        .map(|line| {
            line.iter()
                .map(|(_, n, word)| format!("{n} {word}"))
                .collect::<Vec<_>>()
                .join(" · ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

type CountPart = (Status, usize, &'static str);

fn counts_lines(summary: &Summary) -> [Vec<CountPart>; 2] {
    let mut decided = vec![(Status::Fail, summary.fail, "fail")];
    if summary.warn > 0 {
        decided.push((Status::Warn, summary.warn, "warn"));
    }
    decided.push((Status::Pass, summary.pass, "pass"));
    let open = vec![
        (Status::Unknown, summary.unknown, "unknown"),
        (Status::Manual, summary.manual, "manual"),
    ];
    [decided, open]
}

/// The counts as one label whose numbers carry their status colour (zero
/// counts are muted); the same text as [`counts_text`].
fn counts_ui(ui: &mut Ui, summary: &Summary) {
    let palette = widgets::palette(ui);
    let font = egui::FontId::proportional(theme::text::SMALL);
    let muted = TextFormat::simple(font.clone(), palette.muted);
    let mut job = LayoutJob::default();
    for (l, line) in counts_lines(summary).into_iter().enumerate() {
        if l > 0 {
            job.append("\n", 0.0, muted.clone());
        }
        for (i, (status, n, word)) in line.into_iter().enumerate() {
            if i > 0 {
                job.append(" · ", 0.0, muted.clone());
            }
            let color = if n == 0 {
                palette.muted
            } else {
                palette.status(status)
            };
            job.append(
                &format!("{n} {word}"),
                0.0,
                TextFormat::simple(font.clone(), color),
            );
        }
    }
    ui.add(egui::Label::new(job).selectable(false));
}

fn progress_ui(ui: &mut Ui, summary: &Summary) {
    let all = total(summary);
    let done = resolved(summary);
    let fraction = if all == 0 {
        0.0
    } else {
        done as f32 / all as f32
    };
    let palette = widgets::palette(ui);
    ui.add(
        egui::ProgressBar::new(fraction)
            .desired_height(5.0)
            .fill(palette.pass)
            .corner_radius(egui::CornerRadius::same(2)),
    )
    .on_hover_text(format!("{done} of {all} checks need nothing more"));
}

/// The left rail: overview, then the six sections with counts and progress.
pub fn rail_ui(
    ui: &mut Ui,
    findings: &[Finding],
    current: Option<Section>,
    on_overview: bool,
    out: &mut Vec<Command>,
) {
    egui::ScrollArea::vertical()
        .id_salt("rail")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.add_space(space::S);
            let overall = Summary::of(findings);
            let response = widgets::clickable_card(
                ui,
                egui::Id::unique("rail_overview"),
                on_overview,
                "Overview",
                |ui| {
                    ui.label(RichText::new("Overview").strong());
                    counts_ui(ui, &overall);
                    progress_ui(ui, &overall);
                },
            );
            if response.clicked() {
                out.push(Command::ShowOverview);
            }
            ui.add_space(space::M);
            ui.label(theme::pane_heading("Guide sections", widgets::palette(ui)));
            ui.add_space(space::XS);
            for section in Section::ALL {
                let summary = Summary::of(findings.iter().filter(|f| f.section == section));
                let entry = rail_entry_ui(ui, section, &summary, current == Some(section))
                    .on_hover_text(format!("Ctrl+{}", section.number()));
                if entry.clicked() {
                    out.push(Command::ShowSection(section));
                }
                ui.add_space(2.0);
            }
        });
}

fn rail_entry_ui(
    ui: &mut Ui,
    section: Section,
    summary: &Summary,
    selected: bool,
) -> egui::Response {
    let id = egui::Id::unique(("rail_section", section.id()));
    widgets::clickable_card(ui, id, selected, section.title(), |ui| {
        let palette = widgets::palette(ui);
        ui.horizontal_top(|ui| {
            ui.label(
                RichText::new(format!("{}", section.number()))
                    .strong()
                    .color(if selected {
                        palette.accent
                    } else {
                        palette.muted
                    }),
            );
            ui.vertical(|ui| {
                ui.add(
                    egui::Label::new(RichText::new(section.title()).strong().color(palette.text))
                        .wrap()
                        .selectable(false),
                );
                counts_ui(ui, summary);
                progress_ui(ui, summary);
            });
        });
    })
}

// ----- overview -----

/// The overview page: totals, `extra` (cards the shell adds: changes since
/// the last scan, accepted risks), sections and the HIPAA citation table.
pub fn overview_ui(
    ui: &mut Ui,
    snapshot: &Snapshot,
    findings: &[Finding],
    training: bool,
    extra: impl FnOnce(&mut Ui, &mut Vec<Command>),
    out: &mut Vec<Command>,
) {
    egui::ScrollArea::vertical()
        .id_salt("overview")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.set_max_width((ui.available_width() - space::M).min(1040.0));
            ui.add_space(space::S);
            ui.heading("Overview");
            ui.label(
                RichText::new(format!(
                    "{} checks from the hardening guide, evaluated on the snapshot collected at {}.",
                    findings.len(),
                    display_time(&snapshot.collected_at)
                ))
                .color(widgets::palette(ui).muted),
            );
            ui.add_space(space::M);
            if training {
                training_widgets::overview_training_ui(ui, findings, out);
                ui.add_space(space::M);
            }
            totals_ui(ui, &Summary::of(findings));
            ui.add_space(space::L);
            extra(ui, out);
            sections_table_ui(ui, findings, out);
            ui.add_space(space::L);
            citations_table_ui(ui, findings, out);
            if !snapshot.gaps.is_empty() {
                ui.add_space(space::L);
                gaps_ui(ui, snapshot);
            }
            ui.add_space(space::XL);
        });
}

const TOTALS_ORDER: [Status; 8] = [
    Status::Fail,
    Status::Warn,
    Status::Unknown,
    Status::Manual,
    Status::Pass,
    Status::Attested,
    Status::Accepted,
    Status::NotApplicable,
];

/// One card per status, in equal columns across the page.
fn totals_ui(ui: &mut Ui, summary: &Summary) {
    let palette = widgets::palette(ui);
    ui.columns(TOTALS_ORDER.len(), |columns| {
        for (ui, status) in columns.iter_mut().zip(TOTALS_ORDER) {
            let n = summary.count(status);
            let fg = palette.status(status);
            theme::card(palette)
                .inner_margin(egui::Margin::symmetric(12, 10))
                .show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    ui.label(
                        RichText::new(n.to_string())
                            .size(24.0)
                            .strong()
                            .color(if n == 0 { palette.muted } else { fg }),
                    );
                    ui.horizontal(|ui| {
                        ui.spacing_mut().item_spacing.x = 4.0;
                        icons::status_icon(ui, palette, status, 11.0);
                        ui.label(
                            RichText::new(theme::status_word(status))
                                .size(theme::text::SMALL)
                                .color(palette.muted),
                        );
                    });
                });
        }
    });
}

fn table_heading(ui: &mut Ui, text: &str) {
    ui.label(RichText::new(text).size(theme::text::SUBHEADING).strong());
    ui.add_space(space::XS);
}

fn count_cell(ui: &mut Ui, n: usize, status: Status) {
    let palette = widgets::palette(ui);
    let color = if n == 0 {
        palette.muted
    } else {
        palette.status(status)
    };
    ui.label(RichText::new(n.to_string()).color(color));
}

fn sections_table_ui(ui: &mut Ui, findings: &[Finding], out: &mut Vec<Command>) {
    table_heading(ui, "Guide sections");
    theme::card(widgets::palette(ui)).show(ui, |ui| {
        ui.set_width(ui.available_width());
        egui::Grid::new("sections_table")
            .num_columns(7)
            .striped(true)
            .spacing([space::L, space::S])
            .show(ui, |ui| {
                for head in [
                    "Section", "Fail", "Warn", "Unknown", "Manual", "Pass", "Progress",
                ] {
                    ui.label(RichText::new(head).strong().size(theme::text::SMALL));
                }
                ui.end_row();
                for section in Section::ALL {
                    let summary = Summary::of(findings.iter().filter(|f| f.section == section));
                    if ui
                        .link(format!("{}. {}", section.number(), section.title()))
                        .clicked()
                    {
                        out.push(Command::ShowSection(section));
                    }
                    count_cell(ui, summary.fail, Status::Fail);
                    count_cell(ui, summary.warn, Status::Warn);
                    count_cell(ui, summary.unknown, Status::Unknown);
                    count_cell(ui, summary.manual, Status::Manual);
                    count_cell(ui, summary.pass, Status::Pass);
                    ui.scope(|ui| {
                        ui.set_width(140.0);
                        progress_ui(ui, &summary);
                    });
                    ui.end_row();
                }
            });
    });
}

/// Findings grouped by HIPAA citation, in citation order.
pub fn by_citation(findings: &[Finding]) -> BTreeMap<&str, Vec<&Finding>> {
    let mut map: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for finding in findings {
        for citation in &finding.hipaa {
            map.entry(citation.as_str()).or_default().push(finding);
        }
    }
    map
}

fn citations_table_ui(ui: &mut Ui, findings: &[Finding], out: &mut Vec<Command>) {
    table_heading(ui, "HIPAA Security Rule citations");
    let palette = widgets::palette(ui);
    theme::card(palette).show(ui, |ui| {
        ui.set_width(ui.available_width());
        egui::Grid::new("citations_table")
            .num_columns(6)
            .striped(true)
            .spacing([space::M, space::S])
            .show(ui, |ui| {
                for head in [
                    "45 CFR §",
                    "Safeguard",
                    "Checks",
                    "Open",
                    "Resolved",
                    "Open checks",
                ] {
                    ui.label(RichText::new(head).strong().size(theme::text::SMALL));
                }
                ui.end_row();
                for (citation, list) in by_citation(findings) {
                    citation_row_ui(ui, citation, &list, out);
                }
            });
    });
}

fn citation_row_ui(ui: &mut Ui, citation: &str, list: &[&Finding], out: &mut Vec<Command>) {
    let palette = widgets::palette(ui);
    let summary = Summary::of(list.iter().copied());
    let done = resolved(&summary);
    let open: Vec<&&Finding> = list
        .iter()
        .filter(|f| {
            !matches!(
                f.status,
                Status::Pass | Status::NotApplicable | Status::Attested | Status::Accepted
            )
        })
        .collect();
    ui.label(RichText::new(citation).monospace());
    ui.label(RichText::new(citation_name(citation)).color(palette.muted));
    ui.label(list.len().to_string());
    count_cell(ui, open.len(), worst_status(&open));
    count_cell(ui, done, Status::Pass);
    ui.horizontal_wrapped(|ui| {
        ui.set_max_width(240.0);
        for finding in open.iter().take(8) {
            let fg = palette.status(finding.status);
            if ui
                .link(RichText::new(&finding.id).color(fg))
                .on_hover_text(format!(
                    "{} — {}",
                    theme::status_word(finding.status),
                    finding.title
                ))
                .clicked()
            {
                out.push(Command::SelectCheck(finding.id.clone()));
            }
        }
        if open.len() > 8 {
            ui.label(RichText::new(format!("+{} more", open.len() - 8)).color(palette.muted));
        }
    });
    ui.end_row();
}

fn worst_status(open: &[&&Finding]) -> Status {
    open.iter()
        .map(|f| f.status)
        .min_by_key(|s| status_rank(*s))
        .unwrap_or(Status::Pass)
}

/// The standard's name for a citation, where we know it.
fn citation_name(citation: &str) -> &'static str {
    crate::model::hipaa::citation_name(citation).unwrap_or("")
}

fn gaps_ui(ui: &mut Ui, snapshot: &Snapshot) {
    table_heading(ui, "Parts the scanner could not read");
    let palette = widgets::palette(ui);
    theme::card(palette).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(
            RichText::new("Checks that need these parts are unknown, never passed. Granting the statement shown lets a rescan read them.")
                .color(palette.muted),
        );
        for gap in &snapshot.gaps {
            ui.add_space(space::S);
            ui.label(RichText::new(untrusted::name(&gap.part)).strong().monospace());
            ui.label(untrusted::wrapped(&gap.message));
            if let Some(grant) = &gap.grant {
                widgets::code_block(ui, grant, "sql");
            }
        }
    });
}

// ----- section page -----

/// A section page: heading, guide prose, then the checks.
pub struct SectionView<'a> {
    pub section: Section,
    pub findings: &'a [Finding],
    pub selected: Option<&'a str>,
    /// Scroll the selected row into view (after arrow keys).
    pub scroll_to_selected: bool,
    pub can_rescan: bool,
    /// Training mode: the lesson and the next step above the guide prose.
    pub training: bool,
    /// Whether "Prove this section" can run.
    pub prove: ProveAvailability,
}

/// The guide prose scrolls in its own box above the list, so that both are
/// on screen at once; collapsing it gives the list the whole height.
pub fn section_ui(
    ui: &mut Ui,
    view: &SectionView<'_>,
    markdown: &mut egui_commonmark::CommonMarkCache,
    out: &mut Vec<Command>,
) {
    let section = view.section;
    let summary = Summary::of(view.findings.iter().filter(|f| f.section == section));
    ui.add_space(space::S);
    section_header_ui(ui, section, &summary);
    ui.add_space(space::S);
    let guide_height = (ui.available_height() * 0.42).max(140.0);
    if view.training {
        // Smaller than the guide box: the check list must stay in view.
        let lesson_height = (ui.available_height() * 0.30).max(120.0);
        training_widgets::section_training_ui(
            ui,
            section,
            view.findings,
            lesson_height,
            markdown,
            out,
        );
        ui.add_space(space::XS);
    }
    // In training the lesson comes first; the full prose waits one click.
    egui::CollapsingHeader::new(RichText::new("About this section").strong())
        .id_salt(("about", section.id()))
        .default_open(!view.training)
        .show(ui, |ui| {
            egui::ScrollArea::vertical()
                .id_salt(("guide", section.id()))
                .max_height(guide_height)
                .auto_shrink([false, true])
                .show(ui, |ui| {
                    ui.set_max_width(ui.available_width().min(space::PROSE_MAX_WIDTH));
                    egui_commonmark::CommonMarkViewer::new().show(
                        ui,
                        markdown,
                        guide::section_markdown(section),
                    );
                });
        });
    ui.add_space(space::S);
    checks_list_ui(ui, view, out);
}

fn section_header_ui(ui: &mut Ui, section: Section, summary: &Summary) {
    let palette = widgets::palette(ui);
    ui.label(
        RichText::new(format!("Step {} of 6", section.number()))
            .size(theme::text::SMALL)
            .color(palette.muted),
    );
    ui.heading(section.title());
    ui.label(RichText::new(guide::section_blurb(section)).color(palette.muted));
    ui.add_space(space::XS);
    counts_ui(ui, summary);
}

fn checks_list_ui(ui: &mut Ui, view: &SectionView<'_>, out: &mut Vec<Command>) {
    let ordered = ordered_findings(view.findings, view.section);
    ui.label(
        RichText::new(format!("Checks ({})", ordered.len()))
            .size(theme::text::SUBHEADING)
            .strong(),
    );
    // The actions get their own row: beside the heading they overlapped it in a narrow pane.
    ui.horizontal_wrapped(|ui| {
        let rescan = ui
            .add_enabled(view.can_rescan, egui::Button::new("Rescan this section"))
            .on_hover_text("Scan the server again and refresh these results (Ctrl+R)")
            .on_disabled_hover_text("Rescanning needs a live connection");
        if rescan.clicked() {
            out.push(Command::Rescan(Some(view.section)));
        }
        let fix_all = ui
            .add_enabled(view.can_rescan, egui::Button::new(FIX_SECTION))
            .on_hover_text("Plan the fixes of this section's failing checks, review, apply")
            .on_disabled_hover_text("Applying fixes needs a live connection");
        if fix_all.clicked() {
            out.push(Command::OpenPlan(Some(view.section)));
        }
        let probes = section_probes(view.section);
        if !probes.is_empty() {
            let names: Vec<&str> = probes.iter().map(|p| p.id()).collect();
            let prove = ui
                .add_enabled(
                    view.prove == ProveAvailability::Live,
                    egui::Button::new(PROVE_SECTION),
                )
                .on_hover_text(format!(
                    "Run the probes for this section's checks ({}) against the server and \
                     record the answers as evidence",
                    names.join(", ")
                ))
                .on_disabled_hover_text(view.prove.disabled_hint());
            if prove.clicked() {
                out.push(Command::Prove(ProveScope::Section(view.section)));
            }
        }
    });
    ui.label(
        RichText::new("Failing checks first. The Up and Down arrow keys move through the list.")
            .size(theme::text::SMALL)
            .color(widgets::palette(ui).muted),
    );
    ui.add_space(space::XS);
    if ordered.is_empty() {
        ui.label(
            RichText::new("No checks of this section are in this version yet.")
                .color(widgets::palette(ui).muted),
        );
    }
    egui::ScrollArea::vertical()
        .id_salt(("checks", view.section.id()))
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for finding in ordered {
                let selected = view.selected == Some(finding.id.as_str());
                let response = check_row_ui(ui, finding, selected);
                if response.clicked() {
                    out.push(Command::SelectCheck(finding.id.clone()));
                }
                if selected && view.scroll_to_selected {
                    response.scroll_to_me(None);
                }
            }
            ui.add_space(space::M);
        });
}

/// The section page's plan button (test API).
pub const FIX_SECTION: &str = "Fix all in this section…";

/// Accessible name of a check row: id and title. Test API.
pub fn check_row_label(finding: &Finding) -> String {
    format!("{} {}", finding.id, finding.title)
}

/// One row: status, id, title (truncated), severity at the right edge.
fn check_row_ui(ui: &mut Ui, finding: &Finding, selected: bool) -> egui::Response {
    let id = egui::Id::unique(("check_row", &finding.id));
    widgets::clickable_card(ui, id, selected, &check_row_label(finding), |ui| {
        let palette = widgets::palette(ui);
        ui.horizontal(|ui| {
            fixed_slot_ui(ui, 84.0, |ui| {
                widgets::status_badge(ui, finding.status);
            });
            fixed_slot_ui(ui, 70.0, |ui| {
                ui.label(
                    RichText::new(&finding.id)
                        .monospace()
                        .size(theme::text::SMALL)
                        .color(palette.muted),
                );
            });
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                widgets::severity_badge(ui, finding.severity);
                ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                    ui.add(
                        egui::Label::new(RichText::new(&finding.title).color(palette.text))
                            .truncate()
                            .selectable(false),
                    );
                });
            });
        });
    })
}

/// Content in a column of at least `width`, so rows line up.
fn fixed_slot_ui(ui: &mut Ui, width: f32, content: impl FnOnce(&mut Ui)) {
    ui.scope(|ui| {
        ui.set_min_width(width);
        content(ui);
    });
}

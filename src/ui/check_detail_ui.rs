//! The detail pane of one check: what was seen, why it matters, the
//! references, the SQL to reproduce, and the fix preview (statements,
//! apply class, privilege, rollback, proposed config lines), with Copy and
//! "Save as .sql". Manual checks get the attestation form: who attests, on
//! which date, and a note; submitting emits [`Command::Attest`] and the App
//! re-evaluates the findings so the check turns `attested`.
//!
//! A failing check can have its risk accepted ("Accept risk…": who, why,
//! ticket, expiry, checked as `pgsafeguard accept` checks them); an expired
//! acceptance shows as a warning over the failing check. A check a probe can
//! prove has "Prove it", and its proofs show as "proven by test" next to the
//! status and as a transcript under the evidence (`proof_widgets`).
//!
//! Reads a finding; changes nothing but the attestation draft, which is form
//! state edited in place (validation errors stay in it and show inline).
//! The fix's text comes from `fix_text`. Object lists and fix or rollback
//! statement lists of any length are virtualised (`ScrollArea::show_rows`):
//! a fix for thousands of tables lays out only the rows on screen, so
//! selecting the check and scrolling stay within a frame (measured by
//! tests/bench/gui_frames.rs).

use super::acceptance::{self, AcceptDraft};
use super::command::Command;
use super::fix_text::{
    fix_script, fix_statement_line, fix_statement_line_count, has_fix_script, with_semicolon,
};
use super::proof_widgets;
use super::prove::{proven_by_test, ProveAvailability, ProveScope, PROVE_IT};
use super::state::AttestDraft;
use super::theme::{self, space};
use super::widgets;
use super::wording::{apply_class_explanation, apply_class_word};
use crate::model::finding::{Finding, FixPlan, Status};
use crate::model::proof::Probe;
use crate::model::untrusted;
use crate::policy::PolicyAcceptedRisk;
use eframe::egui;
use egui::{RichText, TextEdit, Ui};
use std::path::Path;

/// Objects shown without a scroll box; longer lists get a virtualised one.
const INLINE_OBJECTS: usize = 12;

/// Statements shown as one highlighted block; longer lists (a fix for
/// thousands of tables) get a virtualised box of highlighted lines.
const INLINE_STATEMENTS: usize = 40;

/// Rows visible at once in a virtualised box.
const BOX_ROWS: f32 = 12.0;

/// Everything the detail pane needs besides the finding.
pub struct DetailContext<'a> {
    pub note: &'a str,
    /// The attestation draft, for manual checks.
    pub draft: Option<&'a mut AttestDraft>,
    /// Whether "Apply…" can run.
    pub apply: ApplyAvailability,
    /// A recorded scan: no attestation to withdraw, no note to edit.
    pub read_only: bool,
    /// The open "Accept risk…" form of this check, if any.
    pub accept: Option<&'a mut AcceptDraft>,
    /// An acceptance is being written.
    pub writing_policy: bool,
    /// Where an acceptance would be written (`None`: the app asks).
    pub policy_file: Option<&'a Path>,
    /// Acceptances of this check that have expired: it fails again.
    pub expired: Vec<&'a PolicyAcceptedRisk>,
    /// Whether "Prove it" can run.
    pub prove: ProveAvailability,
}

/// Whether the fix can be applied from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyAvailability {
    /// A live connection: "Apply…" previews on the server.
    Live,
    /// A preview or an apply is running.
    Busy,
    /// The offline sample or a saved session: nothing to apply to.
    Offline,
    /// A recorded scan from the evidence store, shown read-only.
    ReadOnly,
}

pub fn detail_ui(
    ui: &mut Ui,
    finding: &Finding,
    mut ctx: DetailContext<'_>,
    out: &mut Vec<Command>,
) {
    egui::ScrollArea::vertical()
        .id_salt(("detail", &finding.id))
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.add_space(space::S);
            header_ui(ui, finding);
            status_context_ui(ui, finding, ctx.read_only, out);
            expired_ui(ui, &ctx.expired);
            evidence_ui(ui, finding);
            actions_ui(ui, finding, &mut ctx, out);
            proof_widgets::transcript_ui(ui, finding);
            if finding.status == Status::Unknown {
                unknown_ui(ui, finding, out);
            }
            widgets::pane_heading(ui, "Why it matters");
            ui.add(egui::Label::new(&finding.rationale).wrap());
            references_ui(ui, finding);
            widgets::pane_heading(ui, "Reproduce");
            widgets::code_block(ui, &finding.reproduce_sql, "sql");
            if ui.small_button("Copy reproduce SQL").clicked() {
                out.push(Command::Copy {
                    what: "the reproduce SQL".to_string(),
                    text: finding.reproduce_sql.clone(),
                });
            }
            if let Some(plan) = &finding.fix {
                fix_ui(ui, finding, plan, ctx.apply, out);
            }
            if let Some(draft) = ctx.draft {
                widgets::pane_heading(ui, "Attestation");
                attest_form_ui(ui, &finding.id, draft, out);
            }
            if !ctx.read_only {
                note_ui(ui, &finding.id, ctx.note, out);
            }
            ui.add_space(space::XL);
        });
}

/// Shown when no check is selected.
pub fn empty_detail_ui(ui: &mut Ui) {
    ui.add_space(space::XL);
    ui.vertical_centered(|ui| {
        ui.label(
            RichText::new("Select a check to see what was seen and how to fix it.")
                .color(widgets::palette(ui).muted),
        );
    });
}

fn header_ui(ui: &mut Ui, finding: &Finding) {
    ui.horizontal(|ui| {
        widgets::status_badge(ui, finding.status);
        if proven_by_test(finding) {
            proof_widgets::proven_mark_ui(ui, finding);
        }
        widgets::severity_badge(ui, finding.severity);
        ui.label(
            RichText::new(&finding.id)
                .monospace()
                .color(widgets::palette(ui).muted),
        );
    });
    ui.add_space(space::XS);
    ui.add(
        egui::Label::new(
            RichText::new(&finding.title)
                .size(theme::text::HEADING - 2.0)
                .strong(),
        )
        .wrap(),
    );
}

fn status_context_ui(ui: &mut Ui, finding: &Finding, read_only: bool, out: &mut Vec<Command>) {
    if let Some(risk) = &finding.accepted {
        ui.add_space(space::S);
        let text = format!(
            "Accepted risk: {} — accepted by {} {}.",
            untrusted::wrapped(&risk.reason),
            untrusted::wrapped(&risk.by),
            untrusted::wrapped(&risk.expiry_phrase())
        );
        widgets::banner(ui, theme::NoticeKind::Info, &text, None);
    }
    if let Some(attestation) = &finding.attestation {
        ui.add_space(space::S);
        let mut text = format!(
            "Attested by {} on {}.",
            untrusted::wrapped(&attestation.by),
            untrusted::name(&attestation.at)
        );
        if !attestation.note.is_empty() {
            text.push_str(&format!(" {}", untrusted::wrapped(&attestation.note)));
        }
        let withdraw = (!read_only).then_some("Withdraw");
        if widgets::banner(ui, theme::NoticeKind::Success, &text, withdraw) {
            out.push(Command::WithdrawAttestation(finding.id.clone()));
        }
    }
}

/// An expired acceptance is said aloud: the check fails again, and why it
/// was accepted before.
fn expired_ui(ui: &mut Ui, expired: &[&PolicyAcceptedRisk]) {
    for risk in expired {
        ui.add_space(space::S);
        let text = format!(
            "Accepted risk expired on {}: {} — accepted by {}. The check fails again until the \
             risk is fixed or accepted anew.",
            untrusted::name(&risk.expires),
            untrusted::wrapped(&risk.reason),
            untrusted::wrapped(&risk.by),
        );
        widgets::banner(ui, theme::NoticeKind::Warning, &text, None);
    }
}

/// "Prove it" for a check a probe can prove, and "Accept risk…" (with its
/// form once opened) for a failing one.
fn actions_ui(ui: &mut Ui, finding: &Finding, ctx: &mut DetailContext<'_>, out: &mut Vec<Command>) {
    let provable = Probe::for_check(&finding.id);
    let failing = matches!(finding.status, Status::Fail | Status::Warn);
    let can_accept = failing && !ctx.read_only && finding.accepted.is_none();
    if provable.is_none() && !can_accept {
        return;
    }
    ui.add_space(space::S);
    ui.horizontal(|ui| {
        if let Some(probe) = provable {
            let live = ctx.prove == ProveAvailability::Live;
            let button = ui
                .add_enabled(live, egui::Button::new(PROVE_IT))
                .on_hover_text(format!(
                    "Run the {} probe against the server and record its answer as evidence. \
                     You see what it leaves behind before it runs.",
                    probe.id()
                ))
                .on_disabled_hover_text(ctx.prove.disabled_hint());
            if button.clicked() {
                out.push(Command::Prove(ProveScope::Check(finding.id.clone())));
            }
        }
        if can_accept && ctx.accept.is_none() {
            let button = ui.button("Accept risk…").on_hover_text(
                "Record in the policy file that this risk is accepted: by whom, why, until when",
            );
            if button.clicked() {
                out.push(Command::OpenAcceptForm(finding.id.clone()));
            }
        }
    });
    if let Some(draft) = ctx.accept.as_deref_mut().filter(|_| can_accept) {
        widgets::pane_heading(ui, "Accept the risk");
        accept_form_ui(
            ui,
            &finding.id,
            draft,
            ctx.writing_policy,
            ctx.policy_file,
            out,
        );
    }
}

/// The "Accept risk…" form: who, why, ticket, expiry, checked as the
/// command line checks them before anything is written.
fn accept_form_ui(
    ui: &mut Ui,
    id: &str,
    draft: &mut AcceptDraft,
    writing: bool,
    policy_file: Option<&Path>,
    out: &mut Vec<Command>,
) {
    let muted = widgets::palette(ui).muted;
    let whereto = match policy_file {
        Some(path) => format!(
            "It is written to {}.",
            untrusted::name(&path.display().to_string())
        ),
        None => "No policy file is open: you are asked where to save one.".to_string(),
    };
    ui.label(
        RichText::new(format!(
            "The check shows as accepted, with this reason, until the end date; from the day \
             after it fails again. {whereto}"
        ))
        .size(theme::text::SMALL)
        .color(muted),
    );
    ui.add_space(space::XS);
    egui::Grid::new(("accept_form", id))
        .num_columns(2)
        .spacing([space::M, space::S])
        .show(ui, |ui| {
            let width = ui.available_width();
            let fields = [
                (acceptance::FIELDS.by, &mut draft.by, "name, role"),
                (
                    acceptance::FIELDS.reason,
                    &mut draft.reason,
                    "why the risk is acceptable",
                ),
                (
                    acceptance::FIELDS.ticket,
                    &mut draft.ticket,
                    "optional, e.g. RISK-1042",
                ),
                (
                    acceptance::FIELDS.expires,
                    &mut draft.expires,
                    "YYYY-MM-DD, the last day",
                ),
            ];
            for (label, text, hint) in fields {
                widgets::labelled_field(
                    ui,
                    label,
                    TextEdit::singleline(text)
                        .hint_text(hint)
                        .desired_width(width),
                );
                ui.end_row();
            }
        });
    if let Some(error) = &draft.error {
        widgets::banner(ui, theme::NoticeKind::Error, error, None);
    }
    ui.add_space(space::XS);
    ui.horizontal(|ui| {
        let accept = ui.add_enabled(!writing, egui::Button::new("Accept risk"));
        if accept.clicked() {
            match draft.validate(id, &crate::scan::now_rfc3339()) {
                Ok(acceptance) => {
                    draft.error = None;
                    out.push(Command::AcceptRisk(acceptance));
                }
                Err(message) => draft.error = Some(message),
            }
        }
        if ui
            .add_enabled(!writing, egui::Button::new("Cancel"))
            .clicked()
        {
            out.push(Command::CloseAcceptForm(id.to_string()));
        }
        if writing {
            ui.spinner();
            ui.label("Writing the policy file…");
        }
    });
}

fn evidence_ui(ui: &mut Ui, finding: &Finding) {
    widgets::pane_heading(ui, "What was seen");
    ui.add(egui::Label::new(untrusted::wrapped(&finding.evidence)).wrap());
    if !finding.objects.is_empty() {
        ui.add_space(space::XS);
        objects_ui(ui, &finding.id, &finding.objects);
    }
}

/// Matching objects; long lists scroll in a virtualised box.
fn objects_ui(ui: &mut Ui, id: &str, objects: &[String]) {
    let palette = widgets::palette(ui);
    ui.label(
        RichText::new(format!(
            "{} matching object{}",
            objects.len(),
            if objects.len() == 1 { "" } else { "s" }
        ))
        .strong()
        .size(theme::text::SMALL),
    );
    theme::code_block(palette).show(ui, |ui| {
        ui.set_width(ui.available_width());
        if objects.len() <= INLINE_OBJECTS {
            for object in objects {
                ui.label(RichText::new(untrusted::name(object)).monospace());
            }
            return;
        }
        virtual_rows(ui, ("objects", id), objects.len(), |_, i| {
            egui::Label::new(RichText::new(untrusted::name(&objects[i])).monospace()).truncate()
        });
    });
}

/// A scroll box that lays out only the rows on screen: `row(ui, i)` makes
/// row `i`, shown left-aligned and one line high (long rows are truncated;
/// hovering shows them whole).
fn virtual_rows<W: egui::Widget>(
    ui: &mut Ui,
    id: impl std::hash::Hash + std::fmt::Debug,
    count: usize,
    row: impl Fn(&Ui, usize) -> W,
) {
    egui::ScrollArea::vertical()
        .id_salt(id)
        .max_height(space::OBJECT_ROW * BOX_ROWS)
        // Full height even low on the pane (egui would shrink it to the space left).
        .min_scrolled_height(space::OBJECT_ROW * BOX_ROWS)
        .auto_shrink([false, true])
        .show_rows(ui, space::OBJECT_ROW, count, |ui, rows| {
            let size = egui::vec2(ui.available_width(), space::OBJECT_ROW);
            let layout = egui::Layout::left_to_right(egui::Align::Center);
            for i in rows {
                let widget = row(ui, i);
                ui.allocate_ui_with_layout(size, layout, |ui| ui.add(widget));
            }
        });
}

/// `count` SQL lines, `line(i)` making line `i`: one highlighted block when
/// short, else a virtualised box of highlighted lines (each line's
/// highlighting is cached by egui_extras).
fn statements_ui(ui: &mut Ui, id: (&str, &str), count: usize, line: impl Fn(usize) -> String) {
    if count <= INLINE_STATEMENTS {
        let text: Vec<String> = (0..count).map(|i| untrusted::wrapped(&line(i))).collect();
        widgets::code_block(ui, &text.join("\n"), "sql");
        return;
    }
    ui.label(
        RichText::new(format!(
            "{count} statements (Copy fix or Save as .sql for all of them at once)"
        ))
        .size(theme::text::SMALL)
        .color(widgets::palette(ui).muted),
    );
    theme::code_block(widgets::palette(ui)).show(ui, |ui| {
        ui.set_width(ui.available_width());
        let code_theme = egui_extras::syntax_highlighting::CodeTheme::from_style(ui.style());
        virtual_rows(ui, id, count, |ui, i| {
            let job = egui_extras::syntax_highlighting::highlight(
                ui.ctx(),
                ui.style(),
                &code_theme,
                &untrusted::wrapped(&line(i)),
                "sql",
            );
            egui::Label::new(job).truncate()
        });
    });
}

fn unknown_ui(ui: &mut Ui, finding: &Finding, out: &mut Vec<Command>) {
    if let Some(reason) = &finding.reason {
        if reason != &finding.evidence {
            widgets::pane_heading(ui, "Why it is unknown");
            ui.add(egui::Label::new(untrusted::wrapped(reason)).wrap());
        }
    }
    if let Some(grant) = &finding.grant {
        widgets::pane_heading(ui, "What would let the scanner see it");
        widgets::code_block(ui, &untrusted::wrapped(grant), "sql");
        if ui.small_button("Copy grant").clicked() {
            out.push(Command::Copy {
                what: "the grant".to_string(),
                text: grant.clone(),
            });
        }
    }
}

fn references_ui(ui: &mut Ui, finding: &Finding) {
    widgets::pane_heading(ui, "References");
    ui.horizontal_wrapped(|ui| {
        for citation in &finding.hipaa {
            let hint = match crate::model::hipaa::citation_name(citation) {
                Some(name) => format!("45 CFR §{citation}: {name}"),
                None => "45 CFR Part 164".to_string(),
            };
            widgets::chip(ui, &format!("HIPAA §{citation}")).on_hover_text(hint);
        }
        if let Some(cis) = &finding.cis {
            widgets::chip(ui, &format!("CIS PostgreSQL {cis}"));
        }
    });
}

fn fix_ui(
    ui: &mut Ui,
    finding: &Finding,
    plan: &FixPlan,
    apply: ApplyAvailability,
    out: &mut Vec<Command>,
) {
    widgets::pane_heading(ui, "Fix preview");
    apply_facts_ui(ui, plan);
    if !plan.note.is_empty() {
        ui.add_space(space::XS);
        ui.add(egui::Label::new(untrusted::wrapped(&plan.note)).wrap());
    }
    if plan.irreversible {
        ui.add_space(space::XS);
        widgets::banner(
            ui,
            theme::NoticeKind::Warning,
            "This fix cannot be undone. Take a backup first.",
            None,
        );
    }
    if !plan.statements.is_empty() {
        ui.add_space(space::S);
        statements_ui(
            ui,
            ("fix", &finding.id),
            fix_statement_line_count(plan),
            |i| fix_statement_line(plan, i),
        );
    }
    if let Some(edit) = &plan.config_edit {
        config_edit_ui(ui, edit);
    }
    if has_fix_script(plan) {
        ui.add_space(space::XS);
        ui.horizontal(|ui| {
            if ui
                .button("Copy fix")
                .on_hover_text("Copy the fix as SQL")
                .clicked()
            {
                if let Some(script) = fix_script(finding) {
                    out.push(Command::Copy {
                        what: format!("the fix for {}", finding.id),
                        text: script,
                    });
                }
            }
            if ui.button("Save as .sql").clicked() {
                out.push(Command::SaveFixSql(finding.id.clone()));
            }
            apply_button_ui(ui, &finding.id, apply, out);
        });
    }
    rollback_ui(ui, &finding.id, plan);
}

/// "Apply…": previews on the server, then asks for confirmation.
fn apply_button_ui(ui: &mut Ui, id: &str, apply: ApplyAvailability, out: &mut Vec<Command>) {
    let disabled_hint = match apply {
        ApplyAvailability::Busy => "A preview or an apply is already running",
        ApplyAvailability::ReadOnly => {
            "This is a recorded scan, shown read-only: press Back to live to apply fixes"
        }
        _ => "Applying needs a live connection: connect to the server (the offline sample and saved sessions cannot be changed)",
    };
    let button = ui
        .add_enabled(
            apply == ApplyAvailability::Live,
            egui::Button::new("Apply…"),
        )
        .on_hover_text(
            "Preview on the server, then confirm. Applying uses a separate session with the \
             credentials you connected with; the scan session stays read-only.",
        )
        .on_disabled_hover_text(disabled_hint);
    if button.clicked() {
        out.push(Command::PreviewApply(id.to_string()));
    }
}

/// Apply classes with what each means, and the privilege needed. Laid out
/// as wrapping rows (not a grid) so long text never widens the pane.
fn apply_facts_ui(ui: &mut Ui, plan: &FixPlan) {
    let muted = widgets::palette(ui).muted;
    if plan.apply.is_empty() {
        ui.label("Applies: not stated");
    }
    for (i, class) in plan.apply.iter().enumerate() {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(if i == 0 { "Applies" } else { "then" }).strong());
            widgets::chip(ui, apply_class_word(*class));
            ui.label(
                RichText::new(apply_class_explanation(*class))
                    .size(theme::text::SMALL)
                    .color(muted),
            );
        });
    }
    if !plan.needs.is_empty() {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new("Needs").strong());
            ui.label(untrusted::wrapped(&plan.needs));
        });
    }
}

fn config_edit_ui(ui: &mut Ui, edit: &crate::model::finding::ConfigEdit) {
    ui.add_space(space::S);
    ui.label(
        RichText::new(format!(
            "Proposed lines for {}",
            untrusted::name(&edit.file)
        ))
        .strong(),
    );
    let lines: Vec<String> = edit.lines.iter().map(|l| untrusted::wrapped(l)).collect();
    widgets::code_block(ui, &lines.join("\n"), "txt");
    if !edit.validate.is_empty() {
        ui.label(
            RichText::new(format!(
                "Before reloading: {}",
                untrusted::wrapped(&edit.validate)
            ))
            .size(theme::text::SMALL)
            .color(widgets::palette(ui).muted),
        );
    }
}

fn rollback_ui(ui: &mut Ui, id: &str, plan: &FixPlan) {
    widgets::pane_heading(ui, "Rollback");
    if plan.rollback.is_empty() {
        let text = if plan.irreversible {
            "None: this fix cannot be undone."
        } else {
            "No rollback statements are needed or recorded."
        };
        ui.label(RichText::new(text).color(widgets::palette(ui).muted));
    } else {
        statements_ui(ui, ("rollback", id), plan.rollback.len(), |i| {
            with_semicolon(&plan.rollback[i])
        });
    }
}

fn note_ui(ui: &mut Ui, id: &str, note: &str, out: &mut Vec<Command>) {
    ui.add_space(space::M);
    let mut text = note.to_string();
    let label = ui.label(RichText::new("Reviewer note (saved with the session)").strong());
    let response = ui
        .add(
            egui::TextEdit::multiline(&mut text)
                .hint_text("Notes for this check")
                .desired_rows(2)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id);
    if response.changed() {
        out.push(Command::SetNote {
            id: id.to_string(),
            text,
        });
    }
}

/// The attestation form of a manual check.
fn attest_form_ui(ui: &mut Ui, id: &str, draft: &mut AttestDraft, out: &mut Vec<Command>) {
    let palette = widgets::palette(ui);
    ui.label(
        RichText::new(
            "This control cannot be read from the server. If it is in place, \
             record who vouches for it; the attestation is saved with the session \
             and printed in the report.",
        )
        .size(theme::text::SMALL)
        .color(palette.muted),
    );
    ui.add_space(space::XS);
    egui::Grid::new(("attest_form", id))
        .num_columns(2)
        .spacing([space::M, space::S])
        .show(ui, |ui| {
            let width = ui.available_width();
            widgets::labelled_field(
                ui,
                "Attested by",
                TextEdit::singleline(&mut draft.by)
                    .hint_text("name, role")
                    .desired_width(width),
            );
            ui.end_row();
            widgets::labelled_field(
                ui,
                "Date",
                TextEdit::singleline(&mut draft.at)
                    .hint_text("YYYY-MM-DD")
                    .desired_width(width),
            );
            ui.end_row();
            widgets::labelled_field(
                ui,
                "Note",
                TextEdit::multiline(&mut draft.note)
                    .hint_text("where the evidence is kept")
                    .desired_rows(2)
                    .desired_width(width),
            );
            ui.end_row();
        });
    if let Some(error) = &draft.error {
        widgets::banner(ui, theme::NoticeKind::Error, error, None);
    }
    ui.add_space(space::XS);
    if ui.button("Attest").clicked() {
        match draft.validate() {
            Ok(attestation) => {
                draft.error = None;
                out.push(Command::Attest {
                    id: id.to_string(),
                    attestation,
                });
            }
            Err(message) => draft.error = Some(message),
        }
    }
}

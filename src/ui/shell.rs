//! The window's layout: the top bar, the banners (notices, offline sample,
//! a recorded scan shown read-only, stale results, scan and demo progress),
//! and which page fills the rest.
//!
//! The composition root of the drawing: it lays out the panels and hands
//! each drawing module (`*_ui`) the pieces of state it needs from a
//! [`Screen`], which the App lends for one frame. It is the one module that
//! calls the `*_ui` modules (the App takes only the connect form's type from
//! `connect_ui`); they never import each other. Changes only form state lent
//! by `&mut`; everything else is a [`Command`].

use super::acceptance::AcceptDraft;
use super::acceptances_ui;
use super::apply_dialog::ApplyDialog;
use super::apply_ui;
use super::changes::SinceLast;
use super::changes_ui;
use super::check_detail_ui::{self, ApplyAvailability, DetailContext};
use super::command::Command;
use super::connect_ui::{self, ConnectForm};
use super::demo_ui;
use super::drill::DrillPanel;
use super::drill_ui;
use super::history::HistoryState;
use super::history_ui::{self, HistoryView};
use super::plan_ui::{self, FIX_EVERYTHING};
use super::plan_window::PlanWindow;
use super::profiles::Prefs;
use super::prove::{ProveAvailability, ProvePrompt};
use super::prove_ui;
use super::recorded::RecordedView;
use super::recorded_banner_ui;
use super::state::{AttestDraft, DemoLaunch, Notice, Page, Results, ScanKind, ScanState, Source};
use super::theme::{space, NoticeKind};
use super::timestamp::ExportOptions;
use super::timestamp_ui;
use super::top_bar_ui::{self, TopBar};
use super::walkthrough_ui::{self, SectionView};
use super::widgets;
use crate::model::finding::{Section, Status};
use crate::policy::Policy;
use crate::store::target::TargetIdentity;
use eframe::egui;
use egui::Ui;
use std::collections::BTreeMap;
use std::path::Path;

/// What one frame is drawn from: the App's state, lent piece by piece.
pub struct Screen<'a> {
    pub page: Page,
    /// The results on screen (a recorded scan when one is open).
    pub results: Option<&'a Results>,
    /// The recorded scan shown read-only, if any.
    pub recorded: Option<&'a RecordedView>,
    pub history: &'a HistoryState,
    /// The live server, whose history the History page shows first.
    pub connected_target: Option<TargetIdentity>,
    pub selected: Option<&'a str>,
    /// Scroll the selected check into view (after arrow keys).
    pub scroll_to_selected: bool,
    pub scan: Option<&'a ScanState>,
    pub notice: Option<&'a Notice>,
    pub prefs: &'a Prefs,
    /// Training mode is on.
    pub training: bool,
    pub signer_fingerprint: Option<&'a str>,
    /// A live connection: fixes can be applied.
    pub can_apply: bool,
    /// A preview or an apply runs.
    pub apply_busy: bool,
    /// The demo start or reset in flight.
    pub demo_launch: Option<&'a DemoLaunch>,
    /// Why the live demo fell back to the offline sample (the install hint).
    pub demo_unavailable: Option<&'a str>,
    pub can_reset_demo: bool,
    /// Form state, edited in place.
    pub form: &'a mut ConnectForm,
    /// The backup section's restore drill (its form is edited in place).
    pub drill: &'a mut DrillPanel,
    pub drafts: &'a mut BTreeMap<String, AttestDraft>,
    pub markdown: &'a mut egui_commonmark::CommonMarkCache,
    pub apply_dialog: Option<&'a mut ApplyDialog>,
    /// The "Fix all…" plan window, if open.
    pub plan_window: Option<&'a PlanWindow>,
    /// "Changes since last scan" of the live results, once recorded.
    pub since_last: Option<&'a SinceLast>,
    /// The policy the findings were judged with (its accepted risks).
    pub policy: &'a Policy,
    /// The time of this frame (RFC 3339), for "expiring within 30 days".
    pub now: String,
    /// Open "Accept risk…" forms, edited in place.
    pub accept_drafts: &'a mut BTreeMap<String, AcceptDraft>,
    /// An acceptance is being written.
    pub writing_policy: bool,
    /// Where acceptances are written (`None`: the app asks).
    pub policy_path: Option<&'a Path>,
    /// "Prove it" can run now.
    pub can_prove: bool,
    /// The "Prove it" confirmation, if open.
    pub prove_prompt: Option<&'a ProvePrompt>,
    /// The export dialog, if open.
    pub export_options: Option<&'a mut ExportOptions>,
}

impl Screen<'_> {
    /// Whether "Prove it" can run, and if not, why.
    fn prove_availability(&self) -> ProveAvailability {
        if self.recorded.is_some() {
            ProveAvailability::ReadOnly
        } else if self.can_prove {
            ProveAvailability::Live
        } else if self.results.is_some_and(|r| r.source.is_server()) {
            ProveAvailability::Busy
        } else {
            ProveAvailability::Offline
        }
    }
}

/// The whole window for one frame; what the widgets ask for goes to `out`.
pub fn screen_ui(ui: &mut Ui, mut screen: Screen<'_>, out: &mut Vec<Command>) {
    let top_bar = TopBar {
        results: screen.results,
        theme: screen.prefs.theme,
        training: screen.training,
        signer_fingerprint: screen.signer_fingerprint,
        scanning: screen.scan.is_some(),
        read_only: screen.recorded.is_some(),
        on_history: screen.page == Page::History,
    };
    top_bar_ui::top_bar_ui(ui, &top_bar, out);
    banners_ui(ui, &screen, out);
    match (screen.page, screen.results) {
        (Page::History, results) => {
            if let Some(results) = results {
                rail_panel_ui(ui, results, None, false, out);
            }
            let view = HistoryView {
                state: screen.history,
                connected: screen.connected_target.as_ref(),
                open_seq: screen.recorded.map(|r| r.seq),
            };
            egui::CentralPanel::default()
                .frame(central_frame(ui))
                .show(ui, |ui| history_ui::history_page_ui(ui, &view, out));
        }
        (Page::Start, _) | (_, None) => start_ui(ui, &mut screen, out),
        (Page::Overview, Some(results)) => {
            rail_panel_ui(ui, results, None, true, out);
            egui::CentralPanel::default()
                .frame(central_frame(ui))
                .show(ui, |ui| {
                    let since = screen.since_last;
                    let (policy, now) = (screen.policy, screen.now.as_str());
                    let can_apply = screen.can_apply;
                    let extra = |ui: &mut Ui, out: &mut Vec<Command>| {
                        let fix_all = ui
                            .add_enabled(can_apply, egui::Button::new(FIX_EVERYTHING))
                            .on_hover_text("Plan the fixes of every failing check, review, apply")
                            .on_disabled_hover_text("Applying fixes needs a live connection");
                        if fix_all.clicked() {
                            out.push(Command::OpenPlan(None));
                        }
                        if let Some(since) = since {
                            changes_ui::changes_card_ui(ui, since, out);
                        }
                        let expiring = policy.expiring_within(now, acceptances_ui::EXPIRING_DAYS);
                        acceptances_ui::acceptances_ui(ui, &expiring, &policy.expired(now), out);
                    };
                    walkthrough_ui::overview_ui(
                        ui,
                        &results.snapshot,
                        &results.findings,
                        screen.training,
                        extra,
                        out,
                    );
                });
        }
        (Page::Section(section), Some(results)) => {
            rail_panel_ui(ui, results, Some(section), false, out);
            detail_panel_ui(ui, results, &mut screen, out);
            section_panel_ui(ui, results, section, &mut screen, out);
        }
        (Page::ChangeLog, Some(results)) => {
            rail_panel_ui(ui, results, None, false, out);
            let (live, busy) = (screen.can_apply, screen.apply_busy);
            egui::CentralPanel::default()
                .frame(central_frame(ui))
                .show(ui, |ui| {
                    apply_ui::change_log_ui(ui, &results.change_log, live, busy, out);
                });
        }
    }
    if let Some(dialog) = screen.apply_dialog {
        apply_ui::apply_dialog_ui(ui, dialog, out);
    }
    if let Some(prompt) = screen.prove_prompt {
        prove_ui::prove_prompt_ui(ui, prompt, out);
    }
    if let Some(options) = screen.export_options {
        timestamp_ui::export_options_ui(ui, options, out);
    }
    if let Some(window) = screen.plan_window {
        plan_ui::plan_window_ui(ui, window, out);
    }
}

fn central_frame(ui: &Ui) -> egui::Frame {
    egui::Frame::new()
        .fill(widgets::palette(ui).app_bg)
        .inner_margin(egui::Margin::symmetric(space::XL as i8, space::M as i8))
}

fn start_ui(ui: &mut Ui, screen: &mut Screen<'_>, out: &mut Vec<Command>) {
    let has_results = screen.results.is_some();
    let demo_starting = screen.demo_launch.is_some();
    egui::CentralPanel::default()
        .frame(egui::Frame::new().fill(widgets::palette(ui).app_bg))
        .show(ui, |ui| {
            connect_ui::start_page_ui(
                ui,
                screen.form,
                screen.prefs,
                screen.scan,
                has_results,
                demo_starting,
                out,
            );
        });
}

// ----- banners -----

fn banners_ui(ui: &mut Ui, screen: &Screen<'_>, out: &mut Vec<Command>) {
    let results = screen.results;
    let on_start = screen.page == Page::Start || results.is_none();
    let source = results.map(|r| &r.source).filter(|_| !on_start);
    let sample = source == Some(&Source::Sample);
    let live_demo = matches!(source, Some(Source::Demo { .. }));
    let stale = if on_start {
        None
    } else {
        results.and_then(|r| r.stale.as_deref())
    };
    let recorded = screen.recorded.filter(|_| screen.page != Page::Start);
    // The first scan of a connect shows in the form; the others here.
    let scan = screen.scan.filter(|s| {
        matches!(
            s.kind,
            ScanKind::Rescan(_) | ScanKind::Demo | ScanKind::Prove(_)
        )
    });
    let launch = screen.demo_launch;
    if screen.notice.is_none()
        && recorded.is_none()
        && !sample
        && !live_demo
        && stale.is_none()
        && scan.is_none()
        && launch.is_none()
    {
        return;
    }
    egui::Panel::top("banners")
        .frame(
            egui::Frame::new()
                .fill(widgets::palette(ui).app_bg)
                .inner_margin(egui::Margin::symmetric(space::L as i8, space::S as i8)),
        )
        .show(ui, |ui| {
            if let Some(launch) = launch {
                demo_ui::launch_progress_ui(ui, launch);
            }
            if let Some(recorded) = recorded {
                if recorded_banner_ui::recorded_banner_ui(ui, recorded) {
                    out.push(Command::BackToLive);
                }
            }
            if sample {
                widgets::banner(
                    ui,
                    NoticeKind::Info,
                    "Offline sample — not a live server. The findings come from a bundled snapshot of a deliberately insecure cluster.",
                    None,
                );
                if let Some(hint) = screen.demo_unavailable {
                    widgets::banner(
                        ui,
                        NoticeKind::Warning,
                        &demo_ui::unavailable_text(hint),
                        None,
                    );
                }
            }
            if live_demo && demo_ui::live_demo_banner_ui(ui, screen.can_reset_demo) {
                out.push(Command::ResetDemo);
            }
            if let Some(stale) = stale {
                if widgets::banner(ui, NoticeKind::Warning, stale, Some("Rescan")) {
                    out.push(Command::Rescan(None));
                }
            }
            if let Some(scan) = scan {
                if widgets::scan_progress_ui(ui, scan) {
                    out.push(Command::CancelScan);
                }
            }
            if let Some(notice) = screen.notice {
                if widgets::banner(ui, notice.kind, &notice.text, Some("Dismiss")) {
                    out.push(Command::DismissNotice);
                }
            }
        });
}

// ----- walkthrough panels -----

fn rail_panel_ui(
    ui: &mut Ui,
    results: &Results,
    current: Option<Section>,
    on_overview: bool,
    out: &mut Vec<Command>,
) {
    let palette = widgets::palette(ui);
    egui::Panel::left("rail")
        .resizable(false)
        .exact_size(space::RAIL_WIDTH)
        .frame(
            egui::Frame::new()
                .fill(palette.rail_bg)
                .inner_margin(egui::Margin::symmetric(space::M as i8, space::S as i8)),
        )
        .show(ui, |ui| {
            walkthrough_ui::rail_ui(ui, &results.findings, current, on_overview, out);
        });
}

fn detail_panel_ui(
    ui: &mut Ui,
    results: &Results,
    screen: &mut Screen<'_>,
    out: &mut Vec<Command>,
) {
    let palette = widgets::palette(ui);
    // The list keeps at least 400 points; the detail takes up to half.
    let available = ui.available_width();
    let widest = (available - 400.0).clamp(340.0, available * 0.55);
    let width = (available * 0.47).clamp(340.0, widest);
    egui::Panel::right("detail")
        .resizable(true)
        .default_size(width)
        .size_range(340.0..=widest)
        .frame(
            egui::Frame::new()
                .fill(palette.card_bg)
                .inner_margin(egui::Margin::symmetric(space::L as i8, space::S as i8)),
        )
        .show(ui, |ui| {
            let finding = screen.selected.and_then(|id| results.finding(id));
            match finding {
                Some(finding) => {
                    let note = results.notes.get(&finding.id).map_or("", String::as_str);
                    // The draft is taken out while drawn and put back after.
                    let read_only = screen.recorded.is_some();
                    let mut draft = (finding.status == Status::Manual && !read_only).then(|| {
                        screen
                            .drafts
                            .remove(&finding.id)
                            .unwrap_or_else(AttestDraft::dated_today)
                    });
                    let apply = if read_only {
                        ApplyAvailability::ReadOnly
                    } else if screen.apply_busy {
                        ApplyAvailability::Busy
                    } else if screen.can_apply {
                        ApplyAvailability::Live
                    } else {
                        ApplyAvailability::Offline
                    };
                    let mut accept = screen.accept_drafts.remove(&finding.id);
                    let failing = matches!(finding.status, Status::Fail | Status::Warn);
                    let expired = if failing {
                        screen
                            .policy
                            .expired(&results.snapshot.collected_at)
                            .into_iter()
                            .filter(|r| r.id == finding.id && r.object.is_none())
                            .collect()
                    } else {
                        Vec::new()
                    };
                    let ctx = DetailContext {
                        note,
                        draft: draft.as_mut(),
                        apply,
                        read_only,
                        accept: accept.as_mut(),
                        writing_policy: screen.writing_policy,
                        policy_file: screen.policy_path,
                        expired,
                        prove: screen.prove_availability(),
                    };
                    check_detail_ui::detail_ui(ui, finding, ctx, out);
                    if let Some(draft) = draft {
                        screen.drafts.insert(finding.id.clone(), draft);
                    }
                    if let Some(accept) = accept {
                        screen.accept_drafts.insert(finding.id.clone(), accept);
                    }
                }
                None => check_detail_ui::empty_detail_ui(ui),
            }
        });
}

fn section_panel_ui(
    ui: &mut Ui,
    results: &Results,
    section: Section,
    screen: &mut Screen<'_>,
    out: &mut Vec<Command>,
) {
    let live = results.source.is_server();
    let view = SectionView {
        section,
        findings: &results.findings,
        selected: screen.selected,
        scroll_to_selected: screen.scroll_to_selected,
        can_rescan: live && screen.scan.is_none(),
        training: screen.training,
        prove: screen.prove_availability(),
    };
    egui::CentralPanel::default()
        .frame(central_frame(ui))
        .show(ui, |ui| {
            if section == Section::Backup {
                drill_ui::drill_card_ui(ui, screen.drill, out);
            }
            walkthrough_ui::section_ui(ui, &view, screen.markdown, out);
        });
}

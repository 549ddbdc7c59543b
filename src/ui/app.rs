//! The App: it owns the state and is the one place that changes it.
//!
//! State is split in two. [`Prefs`] is what persists between runs (theme,
//! connection profiles without passwords). Everything else is runtime state
//! (its types live in `state`): the open results, the connect form, the
//! running scan, drafts of forms.
//!
//! Each frame the App lends the pieces of its state to the drawing code
//! (a `shell::Screen`), which never sees the App itself: widgets return
//! [`Command`]s, collected during the frame and executed after it by
//! [`App::execute`]. Background results arrive as [`JobEvent`]s drained in
//! `logic()`. Form fields and drafts are the exception — egui edits text in
//! place. The live demo's part of the App is in `demo_flow`; the evidence
//! store's (recording, History, recorded scans shown read-only) in
//! `history_flow`.

use super::acceptance::AcceptDraft;
use super::apply_dialog::{ApplyDialog, DialogStage};
use super::check_order::ordered_findings;
use super::command::Command;
use super::connect_ui::ConnectForm;
use super::drill::DrillPanel;
use super::fix_text::fix_script;
use super::fleet::FleetView;
use super::history::{HistoryState, StoreHandle};
use super::jobs::{ApplyFailure, ExportedReport, JobEvent, Jobs, ScanFailure, ScanStep};
use super::plan_window::PlanWindow;
use super::profiles::{Prefs, PrefsStore};
use super::prove::{ProvePrompt, ProveScope};
use super::recorded::RecordedView;
use super::shell::{self, Screen};
use super::shortcuts::keyboard_commands;
use super::state::{AttestDraft, DemoState, Notice, Page, Results, ScanKind, ScanState, Source};
use super::theme::{self, NoticeKind, ThemeChoice};
use super::timestamp::ExportOptions;
use crate::apply::{Applier, ChangeLog, ChangeLogEntry};
use crate::demo::Discovery;
use crate::model::conninfo::ConnParams;
use crate::model::finding::{Attestation, Finding, Section, Status};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;
use crate::session::SessionFile;
use crate::store::StoreChoice;
use eframe::egui;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The bundled offline sample: "Try the demo database" opens it when no
/// PostgreSQL server programs are installed (and `pgsafeguard demo --offline`).
const SAMPLE_SESSION: &str = include_str!("../../assets/demo/sample-session.json");

/// How the App starts.
pub struct AppInit {
    pub runtime: Option<tokio::runtime::Handle>,
    pub prefs_store: PrefsStore,
    pub policy: Policy,
    /// Pre-fill the connect form from PG* variables and libpq defaults, as
    /// psql would (off by default so tests start from an empty form).
    pub prefill_from_environment: bool,
    /// Where applies and rollbacks are logged (`None`: the platform's
    /// data folder, [`ChangeLog::default_path`]).
    pub change_log_path: Option<PathBuf>,
    /// Where the demo looks for PostgreSQL (tests hide the binaries here).
    pub demo_discovery: Discovery,
    /// The evidence store live scans and fixes are recorded in (off by
    /// default so tests never write to the user's data folder).
    pub evidence_store: StoreChoice,
    /// The policy file `policy` was read from: accepted risks are written
    /// there (`None`: the first acceptance asks where to save one).
    pub policy_path: Option<PathBuf>,
}

impl Default for AppInit {
    fn default() -> Self {
        AppInit {
            runtime: None,
            prefs_store: PrefsStore::in_memory(),
            policy: Policy::default(),
            prefill_from_environment: false,
            change_log_path: None,
            demo_discovery: Discovery::from_env(),
            evidence_store: StoreChoice::Off,
            policy_path: None,
        }
    }
}

/// A scan in flight: what the screen shows of it, and the parameters
/// (password included) that become the live connection when it succeeds.
/// The parameters stay here, out of the drawing code's reach.
pub(super) struct RunningScan {
    shown: ScanState,
    params: ConnParams,
}

/// The GUI application, run by eframe.
// Fields are private but for what `demo_flow`, the App's other file, needs.
pub struct App {
    prefs: Prefs,
    store: PrefsStore,
    pub(super) jobs: Jobs,
    pub(super) policy: Policy,
    pub(super) page: Page,
    pub(super) selected: Option<String>,
    /// The results of the live server, a session or the demo. A recorded
    /// scan is shown over them (`recorded`) and leaves them untouched.
    pub(super) results: Option<Results>,
    /// Parameters of the live connection (with its password, never saved).
    pub(super) live: Option<ConnParams>,
    form: ConnectForm,
    pub(super) scan: Option<RunningScan>,
    notice: Option<Notice>,
    pub(super) drafts: BTreeMap<String, AttestDraft>,
    markdown: egui_commonmark::CommonMarkCache,
    /// Set by arrow keys so the list scrolls the new selection into view.
    scroll_to_selected: bool,
    applied_theme: Option<ThemeChoice>,
    /// Who signed the last exported report (hex SHA-256 fingerprint).
    signer_fingerprint: Option<String>,
    /// The open apply/rollback confirmation.
    pub(super) apply_dialog: Option<ApplyDialog>,
    /// A preview is being built on the runtime.
    previewing: bool,
    pub(super) change_log_path: PathBuf,
    /// The live demo, its launch in flight and the offline fallback.
    pub(super) demo: DemoState,
    /// The open evidence store, once the start-up job opened it.
    pub(super) evidence: Option<StoreHandle>,
    pub(super) history: HistoryState,
    /// A recorded scan shown read-only instead of `results`.
    pub(super) recorded: Option<RecordedView>,
    /// Open "Accept risk…" forms, by check id.
    pub(super) accept_drafts: BTreeMap<String, AcceptDraft>,
    /// Where accepted risks are written (see [`AppInit::policy_path`]).
    pub(super) policy_path: Option<PathBuf>,
    /// The check whose acceptance is being written.
    pub(super) writing_policy: Option<String>,
    /// The "Prove it" confirmation on screen.
    pub(super) prove_prompt: Option<ProvePrompt>,
    /// What the running probe scan proves.
    pub(super) proving: Option<ProveScope>,
    /// The Fleet page: an inventory's run and its matrix.
    pub(super) fleet: FleetView,
    /// The open export dialog.
    export_options: Option<ExportOptions>,
    /// The "Fix all…" plan window, if open.
    pub(super) plan_window: Option<PlanWindow>,
    /// The backup section's restore drill.
    drill: DrillPanel,
}

impl App {
    /// A new App on the start screen. Reads the preferences (small, local).
    pub fn new(ctx: &egui::Context, init: AppInit) -> App {
        let (prefs, notice) = match init.prefs_store.load() {
            Ok(prefs) => (prefs, None),
            Err(e) => (
                Prefs::default(),
                Some(Notice {
                    kind: NoticeKind::Warning,
                    text: e.to_string(),
                }),
            ),
        };
        let fleet = FleetView::new(init.runtime.clone(), ctx.clone());
        let mut app = App {
            prefs,
            store: init.prefs_store,
            drill: DrillPanel::new(ctx.clone(), init.runtime.clone()),
            jobs: Jobs::new(ctx.clone(), init.runtime),
            policy: init.policy,
            page: Page::Start,
            selected: None,
            results: None,
            live: None,
            form: if init.prefill_from_environment {
                ConnectForm::from_environment()
            } else {
                ConnectForm::default()
            },
            scan: None,
            notice,
            drafts: BTreeMap::new(),
            markdown: egui_commonmark::CommonMarkCache::default(),
            scroll_to_selected: false,
            applied_theme: None,
            signer_fingerprint: None,
            apply_dialog: None,
            previewing: false,
            change_log_path: init.change_log_path.unwrap_or_else(ChangeLog::default_path),
            demo: DemoState::new(init.demo_discovery),
            evidence: None,
            history: HistoryState::default(),
            recorded: None,
            accept_drafts: BTreeMap::new(),
            policy_path: init.policy_path,
            writing_policy: None,
            prove_prompt: None,
            export_options: None,
            proving: None,
            fleet,
            plan_window: None,
        };
        app.apply_theme(ctx);
        app.open_evidence_store(init.evidence_store);
        app
    }

    /// An App showing `snapshot` offline, without a runtime or saved prefs.
    pub fn from_snapshot(ctx: &egui::Context, snapshot: Snapshot) -> App {
        let mut app = App::new(ctx, AppInit::default());
        app.open_session(SessionFile::new(snapshot), Source::Sample);
        app
    }

    // ----- read access (also the test API) -----

    pub fn page(&self) -> Page {
        self.page
    }

    pub fn selected_check(&self) -> Option<&str> {
        self.selected.as_deref()
    }

    /// The results on screen: a recorded scan when one is open, else the
    /// live results.
    pub fn results(&self) -> Option<&Results> {
        match &self.recorded {
            Some(view) => Some(&view.results),
            None => self.results.as_ref(),
        }
    }

    pub fn findings(&self) -> &[Finding] {
        self.results().map_or(&[], |r| r.findings.as_slice())
    }

    pub fn finding(&self, id: &str) -> Option<&Finding> {
        self.results()?.finding(id)
    }

    /// The report signer's fingerprint, once a report was exported.
    pub fn signer_fingerprint(&self) -> Option<&str> {
        self.signer_fingerprint.as_deref()
    }

    /// The open apply/rollback confirmation, if any.
    pub fn apply_dialog(&self) -> Option<&ApplyDialog> {
        self.apply_dialog.as_ref()
    }

    /// True when fixes can be applied: a live connection (a server or the
    /// live demo) and no recorded scan shown.
    pub fn can_apply(&self) -> bool {
        self.live.is_some()
            && self.recorded.is_none()
            && self.results.as_ref().is_some_and(|r| r.source.is_server())
    }

    /// True while a preview or an apply runs.
    pub fn apply_busy(&self) -> bool {
        self.previewing
            || self
                .apply_dialog
                .as_ref()
                .is_some_and(|d| d.stage.is_running())
    }

    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }

    pub fn scan(&self) -> Option<&ScanState> {
        self.scan.as_ref().map(|scan| &scan.shown)
    }

    pub fn is_stale(&self) -> bool {
        self.results.as_ref().is_some_and(|r| r.stale.is_some())
    }

    pub fn prefs(&self) -> &Prefs {
        &self.prefs
    }

    /// Training mode: as the user last switched it, else on for the demo
    /// (and its offline sample) only.
    pub fn training_on(&self) -> bool {
        self.prefs
            .training
            .unwrap_or_else(|| self.results.as_ref().is_some_and(|r| r.source.is_demo()))
    }

    pub fn form(&self) -> &ConnectForm {
        &self.form
    }

    /// The current session, as "Save session" would write it.
    pub fn session_file(&self) -> Option<SessionFile> {
        self.results.as_ref().map(Results::session_file)
    }

    // ----- opening results -----

    /// Show a session (file, sample or fresh scan) and go to the overview.
    pub fn open_session(&mut self, session: SessionFile, source: Source) {
        self.demo.unavailable = None;
        self.recorded = None;
        self.results = Some(Results::from_session(session, source, &self.policy));
        self.selected = None;
        self.drafts.clear();
        self.accept_drafts.clear();
        self.apply_dialog = None;
        self.page = Page::Overview;
    }

    /// Show the snapshot of a live server; Rescan reconnects with `params`
    /// (kept in memory only, password included).
    pub fn open_live_results(&mut self, snapshot: Snapshot, params: ConnParams) {
        let target = params.display_target();
        self.live = Some(params);
        self.open_session(SessionFile::new(snapshot), Source::Live { target });
    }

    /// Like [`App::open_live_results`], for the app's own demo cluster.
    pub(super) fn open_demo_results(&mut self, snapshot: Snapshot, params: ConnParams) {
        let target = params.display_target();
        self.live = Some(params);
        self.open_session(SessionFile::new(snapshot), Source::Demo { target });
    }

    /// Start reading a session file in the background (e.g. `--session`).
    pub fn open_session_path(&mut self, path: PathBuf) {
        if let Err(e) = self.jobs.open_session_at(path) {
            self.notify(NoticeKind::Error, e);
        }
    }

    /// The bundled offline sample.
    pub fn open_sample(&mut self) {
        match SessionFile::from_json(SAMPLE_SESSION, "the bundled sample") {
            Ok(session) => {
                self.live = None;
                self.open_session(session, Source::Sample);
            }
            Err(e) => self.notify(NoticeKind::Error, e.to_string()),
        }
    }

    pub(super) fn notify(&mut self, kind: NoticeKind, text: impl Into<String>) {
        self.notice = Some(Notice {
            kind,
            text: text.into(),
        });
    }

    fn apply_theme(&mut self, ctx: &egui::Context) {
        if self.applied_theme != Some(self.prefs.theme) {
            theme::apply(ctx, self.prefs.theme);
            self.applied_theme = Some(self.prefs.theme);
        }
    }

    // ----- the frame -----

    /// Drain background results; called before every frame.
    fn drain_jobs(&mut self) {
        for event in self.jobs.drain() {
            self.on_job_event(event);
        }
    }

    /// Draw everything and return what the widgets asked for.
    fn draw(&mut self, ui: &mut egui::Ui) -> Vec<Command> {
        let mut commands = keyboard_commands(ui.ctx(), self.page, self.results().is_some());
        let connected_target = self.connected_target();
        if self.page == Page::History {
            self.history.refresh_chart(connected_target.as_ref());
        }
        let can_prove = self.can_prove();
        let since_last = self
            .results
            .as_ref()
            .filter(|_| self.recorded.is_none())
            .and_then(|r| self.history.since_last_of(&r.snapshot.collected_at));
        let shown = match &self.recorded {
            Some(view) => Some(&view.results),
            None => self.results.as_ref(),
        };
        let screen = Screen {
            training: self.training_on(),
            can_apply: self.can_apply(),
            apply_busy: self.apply_busy(),
            can_reset_demo: self.can_reset_demo(),
            page: self.page,
            results: shown,
            recorded: self.recorded.as_ref(),
            history: &self.history,
            connected_target,
            selected: self.selected.as_deref(),
            scroll_to_selected: self.scroll_to_selected,
            scan: self.scan.as_ref().map(|scan| &scan.shown),
            notice: self.notice.as_ref(),
            prefs: &self.prefs,
            signer_fingerprint: self.signer_fingerprint.as_deref(),
            demo_launch: self.demo.launch.as_ref(),
            demo_unavailable: self.demo.unavailable.as_deref(),
            form: &mut self.form,
            drill: &mut self.drill,
            drafts: &mut self.drafts,
            accept_drafts: &mut self.accept_drafts,
            writing_policy: self.writing_policy.is_some(),
            policy_path: self.policy_path.as_deref(),
            can_prove,
            prove_prompt: self.prove_prompt.as_ref(),
            export_options: self.export_options.as_mut(),
            markdown: &mut self.markdown,
            apply_dialog: self.apply_dialog.as_mut(),
            plan_window: self.plan_window.as_ref(),
            since_last,
            policy: &self.policy,
            now: crate::scan::now_rfc3339(),
            fleet: &mut self.fleet,
        };
        shell::screen_ui(ui, screen, &mut commands);
        self.scroll_to_selected = false;
        commands
    }

    /// Run one frame's commands.
    pub fn execute_all(&mut self, ctx: &egui::Context, commands: Vec<Command>) {
        for command in commands {
            self.execute(ctx, command);
        }
        self.apply_theme(ctx);
    }

    /// The one place that changes results, navigation and preferences.
    pub fn execute(&mut self, ctx: &egui::Context, command: Command) {
        if self.recorded.is_some() && command.changes_results() {
            self.notify(
                NoticeKind::Info,
                "a recorded scan is read-only: press Back to live first",
            );
            return;
        }
        match command {
            Command::GoToStart => self.page = Page::Start,
            Command::ShowOverview => self.show_page(Page::Overview),
            Command::ShowSection(section) => self.show_section(section),
            Command::SelectCheck(id) => self.select_check(id),
            Command::MoveSelection(step) => self.move_selection(step),
            Command::Connect => self.connect(),
            Command::TryDemo => self.try_demo(),
            Command::ResetDemo => self.reset_demo(),
            Command::CancelScan => self.cancel_scan(),
            Command::Rescan(section) => self.rescan(section),
            Command::UseProfile(name) => self.use_profile(&name),
            Command::SaveProfile => self.save_profile(),
            Command::DeleteProfile(name) => {
                self.prefs.remove_profile(&name);
                self.persist_prefs();
            }
            Command::PickCertificate(slot) => {
                if let Err(e) = self.jobs.pick_certificate(slot) {
                    self.form.error = Some(e);
                }
            }
            Command::Attest { id, attestation } => self.attest(id, attestation),
            Command::WithdrawAttestation(id) => self.withdraw_attestation(&id),
            Command::OpenAcceptForm(id) => self.open_accept_form(id),
            Command::CloseAcceptForm(id) => {
                self.accept_drafts.remove(&id);
            }
            Command::AcceptRisk(acceptance) => self.accept_risk(acceptance),
            Command::Prove(scope) => self.prove(scope),
            Command::ConfirmProve { insecure } => self.confirm_prove(insecure),
            Command::CancelProve => self.prove_prompt = None,
            Command::SetNote { id, text } => self.set_note(id, text),
            Command::Copy { what, text } => {
                ctx.copy_text(text);
                self.notify(
                    NoticeKind::Success,
                    format!("{what} copied to the clipboard"),
                );
            }
            Command::SaveFixSql(id) => self.save_fix_sql(&id),
            Command::SaveSession => self.save_session(false),
            Command::SaveSessionAs => self.save_session(true),
            Command::OpenSession => {
                if let Err(e) = self.jobs.open_session() {
                    self.notify(NoticeKind::Error, e);
                }
            }
            Command::Export if self.results.is_none() => self.notify(
                NoticeKind::Info,
                "nothing to export yet: connect or open a session",
            ),
            Command::Export => {
                self.export_options = Some(ExportOptions::remembered(&self.prefs.tsa_url));
            }
            Command::ConfirmExport => self.export_report(),
            Command::CancelExport => self.export_options = None,
            Command::ToggleTheme => {
                self.prefs.theme = self.prefs.theme.toggled();
                self.persist_prefs();
            }
            Command::ToggleTraining => {
                self.prefs.training = Some(!self.training_on());
                self.persist_prefs();
            }
            Command::DismissNotice => self.notice = None,
            Command::PreviewApply(id) => self.preview_apply(id),
            Command::PreviewRollback(entry_id) => self.preview_rollback(&entry_id),
            Command::ConfirmApply => self.confirm_apply(),
            Command::CloseApplyDialog => {
                if !self.apply_busy() {
                    self.apply_dialog = None;
                }
            }
            Command::ShowChangeLog => self.show_page(Page::ChangeLog),
            Command::OpenPlan(scope) => self.open_plan(scope),
            Command::TogglePlanStep(id) => self.toggle_plan_step(&id),
            Command::ApplyPlan => self.apply_plan(),
            Command::ResumePlan => self.resume_plan(),
            Command::CancelPlan => self.cancel_plan(),
            Command::ClosePlan => self.close_plan(),
            Command::ShowHistory => self.show_history(),
            Command::ReloadHistory => self.load_history(),
            Command::ChooseHistoryTarget(target) => self.choose_history_target(target),
            Command::OpenRecordedScan(seq) => self.open_recorded_scan(seq),
            Command::BackToLive => self.back_to_live(),
            Command::VerifyChain => self.verify_chain(),
            Command::ShowFleet => self.show_fleet(),
            Command::OpenFleetInventory => self.open_fleet_inventory(),
            Command::ExportFleetReport => self.export_fleet_report(),
            Command::OpenFleetTarget { name, section } => self.open_fleet_target(&name, section),
            Command::StartDrill => {
                if let Err(e) = self.drill.start(self.evidence.clone()) {
                    self.notify(NoticeKind::Error, e);
                }
            }
            Command::CancelDrill => self.drill.cancel(),
        }
    }

    fn show_page(&mut self, page: Page) {
        if self.results().is_some() {
            self.page = page;
        }
    }

    fn show_section(&mut self, section: Section) {
        if self.results().is_none() {
            return;
        }
        self.page = Page::Section(section);
        let selected_here = self
            .selected
            .as_deref()
            .and_then(|id| self.finding(id))
            .is_some_and(|f| f.section == section);
        if !selected_here {
            self.selected = self.ordered_ids(section).into_iter().next();
        }
    }

    fn select_check(&mut self, id: String) {
        if let Some(section) = self.finding(&id).map(|f| f.section) {
            self.page = Page::Section(section);
            self.selected = Some(id);
        }
    }

    /// The ids of a section's checks in display order (failing first).
    pub fn ordered_ids(&self, section: Section) -> Vec<String> {
        ordered_findings(self.findings(), section)
            .into_iter()
            .map(|f| f.id.clone())
            .collect()
    }

    fn move_selection(&mut self, step: isize) {
        let Page::Section(section) = self.page else {
            return;
        };
        let ids = self.ordered_ids(section);
        if ids.is_empty() {
            return;
        }
        let current = self
            .selected
            .as_ref()
            .and_then(|id| ids.iter().position(|x| x == id));
        let next = match current {
            Some(i) => i.saturating_add_signed(step).min(ids.len() - 1),
            None => 0,
        };
        self.selected = Some(ids[next].clone());
        self.scroll_to_selected = true;
    }

    // ----- scanning -----

    fn connect(&mut self) {
        self.form.error = None;
        let params = match self.form.to_params() {
            Ok(params) => params,
            Err(message) => {
                self.form.error = Some(message);
                return;
            }
        };
        self.start_scan(params, ScanKind::Connect);
    }

    pub(super) fn rescan(&mut self, section: Option<Section>) {
        match self.live.clone() {
            Some(params) => self.start_scan(params, ScanKind::Rescan(section)),
            None => self.notify(
                NoticeKind::Info,
                "rescan needs a live connection: connect to a server first",
            ),
        }
    }

    pub(super) fn start_scan(&mut self, params: ConnParams, kind: ScanKind) {
        self.start_scan_with(params, kind, None);
    }

    /// Start a scan; `prove` adds probes after collecting (see `prove_flow`).
    pub(super) fn start_scan_with(
        &mut self,
        params: ConnParams,
        kind: ScanKind,
        prove: Option<crate::scan::ProbeOptions>,
    ) {
        let target = params.display_target();
        match self.jobs.start_scan(params.clone(), prove) {
            Ok(id) => {
                self.scan = Some(RunningScan {
                    shown: ScanState {
                        id,
                        kind,
                        target,
                        progress: None,
                        finished_steps: Vec::new(),
                    },
                    params,
                });
            }
            Err(e) => match kind {
                ScanKind::Connect => self.form.error = Some(e),
                ScanKind::Rescan(_) | ScanKind::Demo | ScanKind::Prove(_) => {
                    self.notify(NoticeKind::Error, e)
                }
            },
        }
    }

    fn cancel_scan(&mut self) {
        if self.jobs.cancel_scan() {
            self.scan = None;
            self.notify(NoticeKind::Info, "scan cancelled; nothing was changed");
        }
    }

    fn on_scan_progress(&mut self, id: u64, progress: ScanStep) {
        let Some(scan) = self
            .scan
            .as_mut()
            .map(|s| &mut s.shown)
            .filter(|s| s.id == id)
        else {
            return;
        };
        if let Some(previous) = scan.progress.take() {
            if previous.step != progress.step {
                scan.finished_steps.push(previous.step);
            }
        }
        scan.progress = Some(progress);
    }

    fn on_scan_finished(&mut self, id: u64, result: Result<Snapshot, ScanFailure>) {
        self.jobs.scan_finished(id);
        let Some(scan) = self.scan.take_if(|s| s.shown.id == id) else {
            return;
        };
        match (result, scan.shown.kind) {
            (Ok(snapshot), ScanKind::Connect) => {
                self.open_live_results(snapshot, scan.params);
                self.form.password.clear();
                self.notice = None;
                self.record_live_scan();
            }
            (Ok(snapshot), ScanKind::Rescan(section)) => {
                self.replace_snapshot(snapshot, section);
                self.record_live_scan();
            }
            (Err(failure), ScanKind::Connect) => {
                self.form.error = Some(self.form.redact(&failure.message));
            }
            (Err(failure), ScanKind::Rescan(_)) => self.mark_stale(failure.message),
            (Ok(snapshot), ScanKind::Prove(section)) => {
                self.replace_snapshot(snapshot, section);
                self.record_live_scan();
                self.on_proved();
            }
            (Err(failure), ScanKind::Prove(_)) => {
                self.proving = None;
                self.mark_stale(failure.message);
            }
            (Ok(snapshot), ScanKind::Demo) => {
                self.open_demo_results(snapshot, scan.params);
                self.notice = None;
            }
            (Err(failure), ScanKind::Demo) => self.notify(
                NoticeKind::Error,
                format!(
                    "the demo started but could not be scanned: {}",
                    failure.message
                ),
            ),
        }
    }

    /// A rescan succeeded: keep attestations and notes, refresh the rest.
    fn replace_snapshot(&mut self, snapshot: Snapshot, section: Option<Section>) {
        let Some(results) = self.results.as_mut() else {
            return;
        };
        let before: BTreeMap<String, Status> = results
            .findings
            .iter()
            .map(|f| (f.id.clone(), f.status))
            .collect();
        results.snapshot = snapshot;
        results.stale = None;
        results.evaluate(&self.policy);
        let changed = results
            .findings
            .iter()
            .filter(|f| section.is_none_or(|s| f.section == s))
            .filter(|f| before.get(&f.id) != Some(&f.status))
            .count();
        let scope = section.map_or("all sections".to_string(), |s| s.title().to_string());
        self.notify(
            NoticeKind::Success,
            format!("rescanned {scope}: {changed} check(s) changed status"),
        );
        // A recorded scan on screen stays there; the live results wait behind it.
        if let Some(section) = section.filter(|_| self.recorded.is_none()) {
            self.page = Page::Section(section);
        }
    }

    fn mark_stale(&mut self, message: String) {
        match self.results.as_mut() {
            Some(results) => {
                let when = results.snapshot.collected_at.clone();
                results.stale = Some(format!(
                    "connection lost: {message}. Showing the results collected at {when}."
                ));
            }
            None => self.notify(NoticeKind::Error, message),
        }
    }

    // ----- profiles -----

    fn use_profile(&mut self, name: &str) {
        if let Some(profile) = self.prefs.profiles.iter().find(|p| p.name == name) {
            self.form.load_profile(profile);
            self.page = Page::Start;
        }
    }

    fn save_profile(&mut self) {
        match self.form.to_profile() {
            Ok(profile) => {
                let name = profile.name.clone();
                self.prefs.upsert_profile(profile);
                self.persist_prefs();
                self.notify(
                    NoticeKind::Success,
                    format!("profile {name} saved (without the password)"),
                );
            }
            Err(message) => self.form.error = Some(message),
        }
    }

    fn persist_prefs(&self) {
        self.jobs.save_prefs(self.store.clone(), self.prefs.clone());
    }

    // ----- attestations and notes -----

    fn attest(&mut self, id: String, attestation: Attestation) {
        let Some(results) = self.results.as_mut() else {
            return;
        };
        results.attestations.0.insert(id.clone(), attestation);
        results.evaluate(&self.policy);
        self.drafts.remove(&id);
        self.notify(NoticeKind::Success, format!("{id} attested"));
    }

    fn withdraw_attestation(&mut self, id: &str) {
        let Some(results) = self.results.as_mut() else {
            return;
        };
        if let Some(previous) = results.attestations.0.remove(id) {
            results.evaluate(&self.policy);
            self.drafts.insert(
                id.to_string(),
                AttestDraft {
                    by: previous.by,
                    at: previous.at,
                    note: previous.note,
                    error: None,
                },
            );
        }
    }

    fn set_note(&mut self, id: String, text: String) {
        if let Some(results) = self.results.as_mut() {
            if text.trim().is_empty() {
                results.notes.remove(&id);
            } else {
                results.notes.insert(id, text);
            }
        }
    }

    // ----- applying fixes -----

    /// The applier for the live connection (same parameters, password in
    /// memory only; it opens its own session).
    pub(super) fn applier(&mut self) -> Option<Applier> {
        match self.live.clone().filter(|_| self.can_apply()) {
            Some(params) => Some(Applier::new(params, self.policy.clone())),
            None => {
                self.notify(
                    NoticeKind::Info,
                    "applying a fix needs a live connection: connect to the server first",
                );
                None
            }
        }
    }

    fn preview_apply(&mut self, check_id: String) {
        if self.apply_busy() {
            return;
        }
        let Some(applier) = self.applier() else {
            return;
        };
        match self.jobs.preview_fix(applier, check_id) {
            Ok(()) => self.previewing = true,
            Err(e) => self.notify(NoticeKind::Error, e),
        }
    }

    fn preview_rollback(&mut self, entry_id: &str) {
        if self.apply_busy() {
            return;
        }
        let Some(entry) = self.change_log_entry(entry_id) else {
            self.notify(
                NoticeKind::Error,
                format!("change-log entry {entry_id} is not in this session"),
            );
            return;
        };
        let Some(applier) = self.applier() else {
            return;
        };
        match self.jobs.preview_rollback(applier, entry) {
            Ok(()) => self.previewing = true,
            Err(e) => self.notify(NoticeKind::Error, e),
        }
    }

    fn change_log_entry(&self, entry_id: &str) -> Option<ChangeLogEntry> {
        self.results
            .as_ref()?
            .change_log
            .iter()
            .find(|e| e.id == entry_id)
            .cloned()
    }

    fn confirm_apply(&mut self) {
        let Some(dialog) = self
            .apply_dialog
            .as_ref()
            .filter(|d| d.stage == DialogStage::Confirm && d.gate.allows(&d.form))
        else {
            return;
        };
        let preview = (*dialog.preview).clone();
        let confirmation = dialog.gate.confirmation(&dialog.form);
        let Some(applier) = self.applier() else {
            return;
        };
        let stage =
            match self
                .jobs
                .apply(applier, preview, confirmation, self.change_log_path.clone())
            {
                Ok(()) => DialogStage::Applying,
                Err(e) => DialogStage::Failed(e),
            };
        if let Some(dialog) = self.apply_dialog.as_mut() {
            dialog.stage = stage;
        }
    }

    fn on_preview_ready(&mut self, result: Result<Box<crate::apply::Preview>, String>) {
        self.previewing = false;
        match result {
            Ok(preview) => self.apply_dialog = Some(ApplyDialog::new(*preview)),
            Err(e) => self.notify(NoticeKind::Error, e),
        }
    }

    fn on_applied(&mut self, result: Result<Box<ChangeLogEntry>, ApplyFailure>) {
        let stage = match result {
            Ok(entry) => {
                self.record_change(&entry);
                if let Some(settling) = self.settle_on_demo(&entry) {
                    settling
                } else {
                    self.notify(NoticeKind::Success, entry.summary());
                    // The findings follow the server: rescan in place.
                    if self.scan.is_none() {
                        self.rescan(None);
                    }
                    DialogStage::Applied(entry)
                }
            }
            Err(failure) => {
                if let Some(entry) = &failure.entry {
                    self.record_change(entry);
                }
                self.notify(NoticeKind::Error, failure.message.clone());
                DialogStage::Failed(failure.message)
            }
        };
        if let Some(dialog) = self.apply_dialog.as_mut() {
            dialog.stage = stage;
        }
    }

    /// Keep the entry in the session (a later version of an entry, e.g.
    /// verified after the demo restarted, replaces it); a rollback marks the
    /// entry it undid.
    pub(super) fn record_change(&mut self, entry: &ChangeLogEntry) {
        self.record_live_fix(entry);
        let Some(results) = self.results.as_mut() else {
            return;
        };
        if let Some(undone) = &entry.rolls_back {
            for original in results.change_log.iter_mut().filter(|e| &e.id == undone) {
                original.rolled_back_by = Some(entry.id.clone());
            }
        }
        match results.change_log.iter_mut().find(|e| e.id == entry.id) {
            Some(kept) => *kept = entry.clone(),
            None => results.change_log.push(entry.clone()),
        }
    }

    // ----- files -----

    fn save_fix_sql(&mut self, id: &str) {
        let Some(finding) = self.finding(id) else {
            return;
        };
        let Some(script) = fix_script(finding) else {
            return;
        };
        let suggested = format!("{id}-fix.sql");
        if let Err(e) = self
            .jobs
            .save_text_as(format!("fix for {id}"), suggested, script)
        {
            self.notify(NoticeKind::Error, e);
        }
    }

    /// Ask where to save the signed report, with the export dialog's
    /// options (remembered); built, signed and timestamped in the background.
    fn export_report(&mut self) {
        let Some(options) = self.export_options.as_mut() else {
            return;
        };
        let tsa = match options.tsa() {
            Ok(tsa) => tsa,
            Err(e) => {
                options.error = Some(e);
                return;
            }
        };
        self.prefs.tsa_url = options.tsa_url.trim().to_string();
        self.export_options = None;
        self.persist_prefs();
        let Some(results) = self.results.as_ref() else {
            return;
        };
        let suggested = suggested_report_name(results);
        if let Err(e) = self
            .jobs
            .export_report_as(report_input(results), suggested, tsa)
        {
            self.notify(NoticeKind::Error, e);
        }
    }

    fn on_report_exported(&mut self, exported: ExportedReport) {
        let text = format!(
            "signed report saved to {} · signer {} · {}",
            exported.path.display(),
            short_fingerprint(&exported.signer_fingerprint),
            exported.timestamp
        );
        self.signer_fingerprint = Some(exported.signer_fingerprint);
        self.notify(NoticeKind::Success, text);
    }

    fn save_session(&mut self, ask: bool) {
        let Some(results) = self.results.as_ref() else {
            self.notify(
                NoticeKind::Info,
                "nothing to save yet: connect or open a session",
            );
            return;
        };
        let session = results.session_file();
        let outcome = match (&results.session_path, ask) {
            (Some(path), false) => self.jobs.save_session_to(session, path.clone()),
            _ => self
                .jobs
                .save_session_as(session, suggested_session_name(results)),
        };
        if let Err(e) = outcome {
            self.notify(NoticeKind::Error, e);
        }
    }

    fn on_job_event(&mut self, event: JobEvent) {
        match event {
            JobEvent::ScanProgress { scan, progress } => self.on_scan_progress(scan, progress),
            JobEvent::ScanFinished { scan, result } => self.on_scan_finished(scan, result),
            JobEvent::SessionOpened(Ok((path, session))) => {
                self.live = None;
                self.open_session(session, Source::File(path));
            }
            JobEvent::SessionOpened(Err(e)) => self.notify(NoticeKind::Error, e),
            JobEvent::SessionSaved(Ok(path)) => {
                let shown = path.display().to_string();
                if let Some(results) = self.results.as_mut() {
                    results.session_path = Some(path);
                }
                self.notify(NoticeKind::Success, format!("session saved to {shown}"));
            }
            JobEvent::SessionSaved(Err(e)) => self.notify(NoticeKind::Error, e),
            JobEvent::FileSaved { what, result } => match result {
                Ok(path) => self.notify(
                    NoticeKind::Success,
                    format!("{what} saved to {}", path.display()),
                ),
                Err(e) => self.notify(NoticeKind::Error, e),
            },
            JobEvent::CertificatePicked { slot, path } => self.form.set_certificate(slot, path),
            JobEvent::ReportExported(Ok(exported)) => self.on_report_exported(exported),
            JobEvent::ReportExported(Err(e)) => self.notify(NoticeKind::Error, e),
            JobEvent::PrefsSaved(Ok(())) => {}
            JobEvent::PrefsSaved(Err(e)) => self.notify(NoticeKind::Warning, e),
            JobEvent::PreviewReady(result) => self.on_preview_ready(result),
            JobEvent::Applied(result) => self.on_applied(result),
            JobEvent::DemoProgress { launch, stage } => self.on_demo_progress(launch, stage),
            JobEvent::DemoStarted { launch, result } => self.on_demo_started(launch, result),
            JobEvent::DemoSettled(result) => self.on_demo_settled(result),
            JobEvent::Evidence(event) => self.on_evidence_event(event),
            JobEvent::PolicyWritten(result) => self.on_policy_written(result),
            JobEvent::Plan(event) => self.on_plan_event(event),
        }
    }
}

/// What the report is made from: the current findings (attestations
/// applied), the session's change log, and the demo mark for the live demo
/// and its offline sample.
pub fn report_input(results: &Results) -> crate::report::ReportInput {
    let scan = crate::output::ScanReport::new(&results.snapshot, results.findings.clone());
    let mut input = crate::report::ReportInput::new(scan);
    input.change_log = results.change_log.clone();
    input.demo = results.source.is_demo();
    input
}

/// The first 16 hex characters of a fingerprint and an ellipsis.
pub fn short_fingerprint(fingerprint: &str) -> String {
    let head: String = fingerprint.chars().take(16).collect();
    format!("{head}…")
}

/// A database name as part of a suggested file name: only ASCII letters,
/// digits, `_` and `-` (a name from the server may hold `/`, `..` or controls).
fn file_name_part(name: &str) -> String {
    let part: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    part.trim_matches('_').to_string()
}

fn suggested_report_name(results: &Results) -> String {
    let db = &file_name_part(&results.snapshot.target.dbname);
    if db.is_empty() {
        "pgsafeguard-report.pdf".to_string()
    } else {
        format!("{db}-pgsafeguard-report.pdf")
    }
}

fn suggested_session_name(results: &Results) -> String {
    let db = &file_name_part(&results.snapshot.target.dbname);
    let date = results.snapshot.collected_at.get(..10).unwrap_or("");
    match (db.is_empty(), date.is_empty()) {
        (false, false) => format!("pgsafeguard-{db}-{date}.json"),
        (false, true) => format!("pgsafeguard-{db}.json"),
        _ => "pgsafeguard-session.json".to_string(),
    }
}

impl eframe::App for App {
    fn logic(&mut self, _ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.drain_jobs();
        self.drain_fleet();
        self.drill.poll();
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let commands = self.draw(ui);
        let ctx = ui.ctx().clone();
        self.execute_all(&ctx, commands);
        if self.scan.is_some()
            || self.apply_busy()
            || self.demo.launch.is_some()
            || self.fleet.running
            || self.drill.is_running()
        {
            // Keep the spinner moving while a scan runs.
            ctx.request_repaint_after(std::time::Duration::from_millis(250));
        }
    }
}

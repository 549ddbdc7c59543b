//! One-click apply: preview a fix, apply it on a separate session, verify
//! it, roll it back, and log every step as evidence.
//!
//! The GUI and the CLI call the same API, so what the DBA confirms in the
//! GUI is exactly what `pgsafeguard fix` runs:
//!
//! ```text
//! Applier::new(apply_params, policy)
//!   .preview(check_id)            → Preview (statements, effect, rollback, guards)
//!   .apply(&preview, &confirmation, &change_log)
//!                                 → ChangeLogEntry (server answers, before/after evidence)
//!   .verify(&entry, &change_log)  → the entry again, re-checked (after a restart)
//!   .preview_rollback(&entry)     → Preview of the undo
//!   .apply(&rollback_preview, …)  → the rollback's own entry
//! ```
//!
//! # Behavior
//!
//! - Every preview scans afresh with the apply credentials (on a read-only
//!   session of its own) and builds the plan from that scan, so the
//!   statements match the server as it is, not as it was.
//! - Applying uses a separate session with the credentials given for it;
//!   the scan session stays read-only. ALTER SYSTEM statements run outside a
//!   transaction block, the others in one transaction per fix; a failure
//!   undoes what ran and returns the server's SQLSTATE and message. Then
//!   `pg_reload_conf()`, and new sessions are polled until the new values
//!   show (or say "pending restart").
//! - Guards ([`guards`]) refuse fixes that would lock out the session's own
//!   role, remove the last superuser, leave out the address this session
//!   reached from `listen_addresses`, preload a library the server does not
//!   have, or write a pg_hba.conf that would refuse this session. High-impact
//!   fixes need the database name typed; irreversible ones an explicit
//!   acknowledgement.
//! - Config-file fixes are written only locally, with a backup copy, and
//!   only when the server's own reading of the new file (`pg_hba_file_rules`
//!   / `pg_ident_file_mappings`) has no `error`; otherwise the backup is put
//!   back before any reload.
//! - Every apply and rollback goes into the change log ([`changelog`]),
//!   written before and after each statement.
//!
//! Must not import `ui` or `report`.

pub mod changelog;
pub mod config_file;
pub mod guards;
mod prepare;
mod run;
pub mod sql;

pub use changelog::{
    Action, ChangeLog, ChangeLogEntry, ChangeLogError, Evidence, Outcome, StatementOutcome,
    StepKind,
};
pub use guards::{Guard, Refusal};
pub use prepare::PlannedStep;

use crate::checks::{self, hba::REDACTED};
use crate::db::apply::{ApplyDbError, ApplySession, ConnectionFacts, ServerError};
use crate::db::connect::ConnectError;
use crate::db::conninfo::ConnParams;
use crate::finding::{ApplyClass, Finding, FixPlan};
use crate::policy::{Attestations, Policy};
use crate::scan::{self, ScanError, ScanOptions};
use crate::snapshot::Snapshot;
use changelog::{ChangeTarget, StatementRecord, Who};
use guards::SessionContext;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Tunables of the apply step.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// How long to wait for a reload to show in new sessions.
    pub settle_timeout: Duration,
    /// How the before/after scans run.
    pub scan: ScanOptions,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            settle_timeout: Duration::from_secs(10),
            scan: ScanOptions::default(),
        }
    }
}

/// Previews, applies, verifies and rolls back fixes on one server with the
/// credentials given for applying.
#[derive(Debug, Clone)]
pub struct Applier {
    params: ConnParams,
    policy: Policy,
    options: ApplyOptions,
}

/// A config-file edit as the preview shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFilePreview {
    /// `hba_file` or `ident_file`.
    pub file: String,
    /// The file's path on the server (`SHOW hba_file`).
    pub path: String,
    /// The complete new file.
    pub lines: Vec<String>,
    /// Why pgSafeguard cannot write it here (not on the database host, no
    /// write access, incomplete proposal); `None` when it can.
    pub not_writable_reason: Option<String>,
    /// How the server validates it once saved.
    pub validate: String,
    /// For a rollback: the backup being put back.
    pub restore_from: Option<String>,
}

/// Exactly what applying would do; nothing has run yet.
#[derive(Debug, Clone)]
pub struct Preview {
    pub action: Action,
    pub check_id: String,
    pub title: String,
    /// The check's state now (from the preview's own scan).
    pub before: Evidence,
    /// The check's plan as built from that scan (needs, note, classes).
    pub plan: FixPlan,
    /// The statements in the order they will run.
    pub steps: Vec<PlannedStep>,
    /// What will undo it (captured from the server now); empty when it
    /// cannot be undone.
    pub rollback: Vec<String>,
    pub config_file: Option<ConfigFilePreview>,
    /// Non-empty: type [`Preview::database`] to confirm.
    pub high_impact: Vec<String>,
    /// Non-empty: it cannot be applied.
    pub refusals: Vec<Refusal>,
    pub irreversible: bool,
    /// The database name to type for high-impact fixes.
    pub database: String,
    pub added_libraries: Vec<String>,
    pub notes: Vec<String>,
    /// For a rollback: the entry it undoes.
    pub original: Option<Box<ChangeLogEntry>>,
    snapshot: Snapshot,
    context: SessionContext,
    compensation: BTreeMap<String, String>,
    configured_libraries: Option<Vec<String>>,
}

/// Who may write a config file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConfigFileAction {
    #[default]
    NotChosen,
    /// pgSafeguard writes the file, keeping a backup copy beside it.
    WriteWithBackup,
    /// The DBA saved the proposed lines; pgSafeguard validates and reloads.
    SavedByDba,
}

/// What the DBA confirmed after reading the preview.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Confirmation {
    pub confirmed: bool,
    /// The database name as typed, for high-impact fixes.
    pub typed_database: Option<String>,
    /// Accepts that the fix cannot be undone.
    pub irreversible: bool,
    pub config_file: ConfigFileAction,
}

impl Confirmation {
    /// A plain "yes, apply it".
    pub fn yes() -> Confirmation {
        Confirmation {
            confirmed: true,
            ..Confirmation::default()
        }
    }

    pub fn typing_database(mut self, name: &str) -> Confirmation {
        self.typed_database = Some(name.to_string());
        self
    }

    pub fn accepting_irreversible(mut self) -> Confirmation {
        self.irreversible = true;
        self
    }

    pub fn config_file(mut self, action: ConfigFileAction) -> Confirmation {
        self.config_file = action;
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("could not read the server's current state: {0}")]
    Scan(#[from] ScanError),
    #[error(transparent)]
    Db(#[from] ApplyDbError),
    #[error("there is no check {id}: run `pgsafeguard scan` to see the ids")]
    UnknownCheck { id: String },
    #[error("{id} cannot be applied: {}", join(.refusals))]
    Refused { id: String, refusals: Vec<Refusal> },
    #[error("{id} was not confirmed: nothing was applied")]
    NotConfirmed { id: String },
    #[error(
        "{id} is high impact ({}): type the database name \"{database}\" to confirm",
        .reasons.join("; ")
    )]
    DatabaseNotTyped {
        id: String,
        database: String,
        reasons: Vec<String>,
    },
    #[error("{id} cannot be undone ({note}): confirm that you accept it as irreversible")]
    IrreversibleNotConfirmed { id: String, note: String },
    #[error(
        "{id} edits {path}: choose whether pgSafeguard writes it (keeping a backup copy) or you \
         saved the proposed lines yourself"
    )]
    ConfigFileActionMissing { id: String, path: String },
    #[error(
        "{id}: pgSafeguard cannot write {path} here ({reason}): save the proposed lines yourself"
    )]
    ConfigFileNotWritable {
        id: String,
        path: String,
        reason: String,
    },
    #[error("the preview of {id} is out of date ({detail}): preview it again")]
    StalePreview { id: String, detail: String },
    #[error("{summary}")]
    Failed {
        summary: String,
        entry: Box<ChangeLogEntry>,
    },
    #[error(transparent)]
    ChangeLog(#[from] ChangeLogError),
    #[error("entry {id} cannot be rolled back: {why}")]
    NotRollbackable { id: String, why: String },
    #[error(
        "entry {id} was applied to another server (system identifier {expected}, this one is \
         {found}): connect to that server"
    )]
    WrongServer {
        id: String,
        expected: String,
        found: String,
    },
}

fn join(refusals: &[Refusal]) -> String {
    refusals
        .iter()
        .map(|r| r.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

impl ApplyError {
    /// The change-log entry of a fix that failed on the server.
    pub fn entry(&self) -> Option<&ChangeLogEntry> {
        match self {
            ApplyError::Failed { entry, .. } => Some(entry),
            _ => None,
        }
    }
}

impl Preview {
    /// True when the guards allow applying it.
    pub fn can_apply(&self) -> bool {
        self.refusals.is_empty()
    }

    /// True when the DBA must type the database name.
    pub fn needs_typed_database(&self) -> bool {
        !self.high_impact.is_empty()
    }

    /// The statements that run now (deferred ones excluded).
    pub fn statements(&self) -> Vec<&str> {
        self.steps
            .iter()
            .filter(|s| s.kind != StepKind::AfterRestart)
            .map(|s| s.sql.as_str())
            .collect()
    }

    /// How the fix takes effect, in a sentence or two.
    pub fn effect_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(cfg) = &self.config_file {
            parts.push(format!(
                "config-file edit of {}: checked by the server ({}) before the reload; \
                 pgSafeguard writes it with a backup copy{}",
                cfg.path,
                if cfg.file == "ident_file" {
                    "pg_ident_file_mappings"
                } else {
                    "pg_hba_file_rules"
                },
                match &cfg.not_writable_reason {
                    Some(reason) => format!(" only on the database host ({reason})"),
                    None => " or you save it yourself".into(),
                }
            ));
        }
        let restart: Vec<&str> = self
            .steps
            .iter()
            .filter(|s| s.restart)
            .filter_map(|s| s.parameter.as_deref())
            .collect();
        if !restart.is_empty() || self.plan.apply.contains(&ApplyClass::Restart) {
            parts.push(format!(
                "needs a server restart{}: shows as pending restart until then",
                if restart.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", restart.join(", "))
                }
            ));
        }
        if self.steps.iter().any(|s| s.kind == StepKind::AlterSystem) {
            parts.push("then the server re-reads its configuration (pg_reload_conf)".into());
        }
        if self.steps.iter().any(|s| s.kind == StepKind::Transaction) {
            parts.push("takes effect when its transaction commits".into());
        }
        let deferred: Vec<&str> = self
            .steps
            .iter()
            .filter(|s| s.kind == StepKind::AfterRestart)
            .map(|s| s.sql.as_str())
            .collect();
        if !deferred.is_empty() {
            parts.push(format!(
                "after the restart, apply {} again to run: {}",
                self.check_id,
                deferred.join("; ")
            ));
        }
        if parts.is_empty() {
            "nothing runs".into()
        } else {
            parts.join("; ")
        }
    }

    /// The preview as text (the CLI prints it; the GUI may show it as is).
    pub fn render_text(&self) -> String {
        let verb = match self.action {
            Action::Apply => "Fix",
            Action::Rollback => "Rollback of",
        };
        let mut text = format!("{verb} {} — {}\n", self.check_id, self.title);
        text.push_str(&format!(
            "Now: {}: {}\n",
            self.before.status, self.before.evidence
        ));
        if let Some(original) = &self.original {
            text.push_str(&format!("Undoes: {}\n", original.summary()));
        }
        if !self.steps.is_empty() {
            text.push_str("Statements, in the order they run:\n");
            for step in &self.steps {
                text.push_str(&format!("  {};{}\n", step.sql, step_comment(step)));
            }
        }
        if let Some(cfg) = &self.config_file {
            text.push_str(&format!("New {} ({}):\n", cfg.path, cfg.file));
            for line in &cfg.lines {
                text.push_str(&format!("  {line}\n"));
            }
            text.push_str(&format!("Validation: {}\n", cfg.validate));
        }
        text.push_str(&format!("Effect: {}\n", self.effect_text()));
        if self.action == Action::Apply {
            if self.rollback.is_empty() && self.config_file.is_none() {
                text.push_str("Rollback: none — this fix cannot be undone\n");
            } else if self.config_file.is_some() {
                text.push_str("Rollback: put the backup copy back and reload\n");
            } else {
                text.push_str("Rollback:\n");
                for statement in &self.rollback {
                    text.push_str(&format!("  {statement};\n"));
                }
            }
        }
        if !self.plan.needs.is_empty() {
            text.push_str(&format!("Needs: {}\n", self.plan.needs));
        }
        if !self.plan.note.is_empty() {
            text.push_str(&format!("Note: {}\n", self.plan.note));
        }
        for note in &self.notes {
            text.push_str(&format!("Note: {note}\n"));
        }
        if self.irreversible {
            text.push_str("IRREVERSIBLE: this fix cannot be fully undone\n");
        }
        for reason in &self.high_impact {
            text.push_str(&format!("High impact: {reason}\n"));
        }
        for refusal in &self.refusals {
            text.push_str(&format!("Refused: {}\n", refusal.message));
        }
        text
    }
}

fn step_comment(step: &PlannedStep) -> &'static str {
    match step.kind {
        StepKind::Load => "  -- makes the library's settings known to this session",
        StepKind::AlterSystem if step.restart => "  -- outside a transaction; needs a restart",
        StepKind::AlterSystem => "  -- outside a transaction",
        StepKind::Reload => "",
        StepKind::Transaction => "  -- in the fix's transaction",
        StepKind::AfterRestart => "  -- NOT run now: after the restart",
    }
}

impl Applier {
    /// `params` are the credentials for applying (not the scan's).
    pub fn new(params: ConnParams, policy: Policy) -> Applier {
        Applier {
            params,
            policy,
            options: ApplyOptions::default(),
        }
    }

    pub fn with_options(mut self, options: ApplyOptions) -> Applier {
        self.options = options;
        self
    }

    pub fn params(&self) -> &ConnParams {
        &self.params
    }

    /// Scan afresh and build the preview of `check_id`'s fix.
    pub async fn preview(&self, check_id: &str) -> Result<Preview, ApplyError> {
        let check = checks::find(check_id).ok_or_else(|| ApplyError::UnknownCheck {
            id: check_id.to_string(),
        })?;
        let db = ApplySession::open(&self.params).await?;
        let result = self.preview_with(&db, check.id).await;
        db.close().await;
        result
    }

    async fn preview_with(&self, db: &ApplySession, id: &str) -> Result<Preview, ApplyError> {
        let context = self.context(db.facts());
        let (snapshot, finding) = self.evaluate(id).await?;
        let mut preview = empty_preview(Action::Apply, &finding, snapshot, context);
        let Some(plan) = finding.fix.clone() else {
            preview.refusals.push(Refusal::new(
                Guard::NothingToApply,
                format!("{id} {}: nothing to apply", already(finding.status)),
            ));
            return Ok(preview);
        };
        preview.irreversible = plan.irreversible;
        preview.plan = plan.clone();
        if plan.statements.is_empty() && plan.config_edit.is_none() {
            preview.refusals.push(Refusal::new(
                Guard::NothingToApply,
                format!("no statement can do this ({})", plan.note),
            ));
            return Ok(preview);
        }
        let prepared = prepare::prepare(
            db,
            prepare::Inputs {
                snapshot: &preview.snapshot,
                ctx: &preview.context,
                statements: &plan.statements,
                plan_rollback: &plan.rollback,
                merge_libraries: true,
            },
        )
        .await?;
        preview.rollback = if plan.irreversible && plan.rollback.is_empty() {
            Vec::new()
        } else {
            prepared.rollback.clone()
        };
        if let Some(edit) = &plan.config_edit {
            preview.config_file = Some(config_preview(&preview.snapshot, edit));
        }
        finish_preview(&mut preview, prepared);
        Ok(preview)
    }

    /// Apply a preview (of a fix or of a rollback) as confirmed.
    pub async fn apply(
        &self,
        preview: &Preview,
        confirmation: &Confirmation,
        log: &ChangeLog,
    ) -> Result<ChangeLogEntry, ApplyError> {
        check_confirmation(preview, confirmation)?;
        let db = ApplySession::open(&self.params).await?;
        let result = self.apply_with(&db, preview, confirmation, log).await;
        db.close().await;
        result
    }

    async fn apply_with(
        &self,
        db: &ApplySession,
        preview: &Preview,
        confirmation: &Confirmation,
        log: &ChangeLog,
    ) -> Result<ChangeLogEntry, ApplyError> {
        self.check_still_current(db, preview).await?;
        let mut entry = new_entry(preview, &self.context(db.facts()));
        log.append(&entry)?;
        let engine = run::Engine {
            db,
            log,
            params: &self.params,
            scan: &self.options.scan,
            timeout: self.options.settle_timeout,
        };
        let outcome = match &preview.config_file {
            Some(cfg) => {
                let action = if preview.action == Action::Rollback {
                    ConfigFileAction::WriteWithBackup
                } else {
                    confirmation.config_file
                };
                engine
                    .run_config_file(&mut entry, cfg, action, &preview.snapshot, &preview.context)
                    .await
            }
            None => {
                engine
                    .run_statements(&mut entry, &preview.steps, &preview.compensation)
                    .await
            }
        };
        if let Err(failure) = outcome {
            entry.error = Some(failure.error.clone());
            entry.finished_at = Some(scan::now_rfc3339());
            log.append(&entry)?;
            return Err(ApplyError::Failed {
                summary: failure.summary(&entry),
                entry: Box::new(entry),
            });
        }
        entry.outcome = Outcome::Applied;
        self.record_after(&mut entry).await;
        entry.finished_at = Some(scan::now_rfc3339());
        log.append(&entry)?;
        if let Some(original) = &preview.original {
            let mut original = log
                .find(&original.id)
                .unwrap_or_else(|_| (**original).clone());
            original.rolled_back_by = Some(entry.id.clone());
            log.append(&original)?;
        }
        Ok(entry)
    }

    /// Re-check an applied entry (e.g. after the restart it waited for) and
    /// log the new after-evidence.
    pub async fn verify(
        &self,
        entry: &ChangeLogEntry,
        log: &ChangeLog,
    ) -> Result<ChangeLogEntry, ApplyError> {
        let mut entry = log.find(&entry.id).unwrap_or_else(|_| entry.clone());
        self.record_after(&mut entry).await;
        log.append(&entry)?;
        Ok(entry)
    }

    /// The preview of undoing an applied entry.
    pub async fn preview_rollback(&self, entry: &ChangeLogEntry) -> Result<Preview, ApplyError> {
        rollbackable(entry)?;
        let db = ApplySession::open(&self.params).await?;
        let result = self.preview_rollback_with(&db, entry).await;
        db.close().await;
        result
    }

    async fn preview_rollback_with(
        &self,
        db: &ApplySession,
        entry: &ChangeLogEntry,
    ) -> Result<Preview, ApplyError> {
        let context = self.context(db.facts());
        let (snapshot, finding) = self.evaluate(&entry.check_id).await?;
        same_server(entry, &snapshot)?;
        let mut preview = empty_preview(Action::Rollback, &finding, snapshot, context);
        preview.original = Some(Box::new(entry.clone()));
        preview.plan = FixPlan {
            apply: entry.apply_classes.clone(),
            statements: entry.rollback.clone(),
            needs: finding
                .fix
                .as_ref()
                .map(|p| p.needs.clone())
                .unwrap_or_default(),
            ..FixPlan::default()
        };
        let mut notes = Vec::new();
        let mut statements = entry.rollback.clone();
        if !entry.added_libraries.is_empty() {
            let configured = prepare::configured_preload(db, &preview.snapshot, &mut notes).await;
            for statement in statements.iter_mut() {
                if sql::parse(statement).system_parameter() == Some(prepare::PRELOAD) {
                    *statement = prepare::preload_without(&configured, &entry.added_libraries);
                }
            }
        }
        let prepared = prepare::prepare(
            db,
            prepare::Inputs {
                snapshot: &preview.snapshot,
                ctx: &preview.context,
                statements: &statements,
                plan_rollback: &[],
                merge_libraries: false,
            },
        )
        .await?;
        if let Some(record) = &entry.config_file {
            preview.config_file = Some(restore_preview(&preview.snapshot, record)?);
        }
        if entry.irreversible {
            notes.push(
                "the original fix was marked irreversible: this restores what statements can \
                 restore, not data it changed"
                    .into(),
            );
        }
        finish_preview(&mut preview, prepared);
        preview.notes.extend(notes);
        preview.irreversible = false;
        preview.rollback = Vec::new();
        Ok(preview)
    }

    fn context(&self, facts: &ConnectionFacts) -> SessionContext {
        SessionContext {
            facts: facts.clone(),
            has_password: self.params.password.is_some(),
            has_client_cert: self.params.sslcert.is_some(),
            os_user: os_user(),
            host: self.params.host.clone(),
        }
    }

    /// A fresh scan with the apply credentials and the check's finding in it.
    async fn evaluate(&self, id: &str) -> Result<(Snapshot, Finding), ApplyError> {
        let snapshot =
            scan::scan_live(&self.params, &self.options.scan, scan::no_progress()).await?;
        let finding = checks::evaluate_all(&snapshot, &self.policy, &Attestations::default())
            .into_iter()
            .find(|f| f.id == id)
            .ok_or_else(|| ApplyError::UnknownCheck { id: id.to_string() })?;
        Ok((snapshot, finding))
    }

    /// Re-scan and record the after-evidence and what waits for a restart.
    async fn record_after(&self, entry: &mut ChangeLogEntry) {
        match self.evaluate(&entry.check_id).await {
            Ok((snapshot, finding)) => {
                entry.after = Some(evidence_of(&finding, &snapshot));
                entry.pending_restart = entry
                    .settings
                    .iter()
                    .filter(|s| match snapshot.setting(&s.name) {
                        Some(live) => live.pending_restart,
                        // A library's setting is unknown until the library is loaded.
                        None => s.state == changelog::SettingState::PendingRestart,
                    })
                    .map(|s| s.name.clone())
                    .collect();
            }
            Err(e) => entry
                .notes
                .push(format!("could not re-check after applying: {e}")),
        }
    }

    /// Refuse a preview that no longer matches the server or the session.
    async fn check_still_current(
        &self,
        db: &ApplySession,
        preview: &Preview,
    ) -> Result<(), ApplyError> {
        let stale = |detail: String| ApplyError::StalePreview {
            id: preview.check_id.clone(),
            detail,
        };
        let previewed_as = &preview.context.facts.session_user;
        if &db.facts().session_user != previewed_as {
            return Err(stale(format!(
                "previewed as {previewed_as}, applying as {}",
                db.facts().session_user
            )));
        }
        if let Some(libraries) = &preview.configured_libraries {
            let mut notes = Vec::new();
            let now = prepare::configured_preload(db, &preview.snapshot, &mut notes).await;
            if &now != libraries {
                return Err(stale(format!(
                    "shared_preload_libraries changed from '{}' to '{}'",
                    libraries.join(","),
                    now.join(",")
                )));
            }
        }
        let context = self.context(db.facts());
        let statements: Vec<sql::Statement> =
            preview.steps.iter().map(|s| sql::parse(&s.sql)).collect();
        let refusals = guards::role_refusals(
            &preview.snapshot,
            &context,
            &statements,
            &today(&preview.snapshot),
        );
        if !refusals.is_empty() {
            return Err(ApplyError::Refused {
                id: preview.check_id.clone(),
                refusals,
            });
        }
        Ok(())
    }
}

fn already(status: crate::finding::Status) -> String {
    use crate::finding::Status;
    match status {
        Status::Pass => "already passes".into(),
        Status::NotApplicable => "does not apply to this server".into(),
        Status::Attested => "is attested".into(),
        other => format!("is {other}"),
    }
}

fn today(snapshot: &Snapshot) -> String {
    snapshot.collected_at.get(..10).unwrap_or("").to_string()
}

fn os_user() -> Option<String> {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

fn evidence_of(finding: &Finding, snapshot: &Snapshot) -> Evidence {
    Evidence {
        status: finding.status,
        evidence: finding.evidence.clone(),
        collected_at: snapshot.collected_at.clone(),
    }
}

fn empty_preview(
    action: Action,
    finding: &Finding,
    snapshot: Snapshot,
    context: SessionContext,
) -> Preview {
    Preview {
        action,
        check_id: finding.id.clone(),
        title: finding.title.clone(),
        before: evidence_of(finding, &snapshot),
        plan: FixPlan::default(),
        steps: Vec::new(),
        rollback: Vec::new(),
        config_file: None,
        high_impact: Vec::new(),
        refusals: Vec::new(),
        irreversible: false,
        database: context.facts.database.clone(),
        added_libraries: Vec::new(),
        notes: Vec::new(),
        original: None,
        snapshot,
        context,
        compensation: BTreeMap::new(),
        configured_libraries: None,
    }
}

/// Guards, high-impact reasons and the prepared steps into the preview.
fn finish_preview(preview: &mut Preview, prepared: prepare::Prepared) {
    let statements: Vec<sql::Statement> =
        prepared.steps.iter().map(|s| sql::parse(&s.sql)).collect();
    preview.refusals.extend(prepared.refusals);
    preview.refusals.extend(guards::role_refusals(
        &preview.snapshot,
        &preview.context,
        &statements,
        &today(&preview.snapshot),
    ));
    if let Some(cfg) = &preview.config_file {
        if cfg.file == "hba_file" {
            preview.refusals.extend(proposed_hba_refusal(preview, cfg));
        }
    }
    let mut restart = prepared.restart_settings.clone();
    if restart.is_empty() && preview.plan.apply.contains(&ApplyClass::Restart) {
        restart.push("see the plan".into());
    }
    preview.high_impact = guards::high_impact_reasons(
        &preview.context,
        &statements,
        &restart,
        preview.config_file.as_ref().map(|c| c.file.as_str()),
    );
    let mut steps = prepared.steps;
    let reloads =
        steps.iter().any(|s| s.kind == StepKind::AlterSystem) || preview.config_file.is_some();
    if reloads {
        let at = steps
            .iter()
            .position(|s| s.kind == StepKind::AfterRestart)
            .unwrap_or(steps.len());
        steps.insert(
            at,
            PlannedStep {
                sql: run::RELOAD_SQL.into(),
                kind: StepKind::Reload,
                parameter: None,
                restart: false,
            },
        );
    }
    preview.steps = steps;
    preview.compensation = prepared.compensation;
    preview.added_libraries = prepared.added_libraries;
    preview.configured_libraries = prepared.configured_libraries;
    preview.notes.extend(prepared.notes);
}

/// The lockout guard on the proposed lines, as far as they can be read
/// here (the server's reading after saving is checked again).
fn proposed_hba_refusal(preview: &Preview, cfg: &ConfigFilePreview) -> Option<Refusal> {
    let after = config_file::parse_hba_lines(&cfg.lines)?;
    let before = preview.snapshot.hba_rules.as_deref()?;
    guards::hba_refusal(&preview.snapshot, &preview.context, before, &after)
}

fn config_preview(snapshot: &Snapshot, edit: &crate::finding::ConfigEdit) -> ConfigFilePreview {
    let path = snapshot
        .setting(&edit.file)
        .and_then(|s| s.setting.clone())
        .unwrap_or_default();
    let incomplete = config_file::incomplete_lines(&edit.lines, REDACTED);
    let not_writable_reason = if path.is_empty() {
        Some(format!("the scan could not read {}", edit.file))
    } else if snapshot.host.is_none() {
        Some("pgSafeguard does not run on the database host".into())
    } else if !incomplete.is_empty() {
        Some(format!(
            "the proposal has lines to complete by hand: {}",
            incomplete.join(" | ")
        ))
    } else {
        config_file::not_writable_reason(Path::new(&path))
    };
    ConfigFilePreview {
        file: edit.file.clone(),
        path,
        lines: edit.lines.clone(),
        not_writable_reason,
        validate: edit.validate.clone(),
        restore_from: None,
    }
}

fn restore_preview(
    snapshot: &Snapshot,
    record: &changelog::ConfigFileRecord,
) -> Result<ConfigFilePreview, ApplyError> {
    let not_rollbackable = |why: String| ApplyError::NotRollbackable {
        id: record.path.clone(),
        why,
    };
    let Some(backup) = &record.backup_path else {
        return Err(not_rollbackable(
            "you saved that file yourself: put your copy back and reload".into(),
        ));
    };
    let lines = config_file::read_lines(Path::new(backup))
        .map_err(|e| not_rollbackable(format!("the backup copy is gone ({e})")))?;
    let not_writable_reason = if snapshot.host.is_none() {
        Some("pgSafeguard does not run on the database host".into())
    } else {
        config_file::not_writable_reason(Path::new(&record.path))
    };
    Ok(ConfigFilePreview {
        file: record.file.clone(),
        path: record.path.clone(),
        lines,
        not_writable_reason,
        validate: "the server reads the restored file back before the reload".into(),
        restore_from: Some(backup.clone()),
    })
}

fn check_confirmation(preview: &Preview, confirmation: &Confirmation) -> Result<(), ApplyError> {
    let id = preview.check_id.clone();
    if !preview.refusals.is_empty() {
        return Err(ApplyError::Refused {
            id,
            refusals: preview.refusals.clone(),
        });
    }
    if !confirmation.confirmed {
        return Err(ApplyError::NotConfirmed { id });
    }
    if preview.needs_typed_database()
        && confirmation.typed_database.as_deref() != Some(preview.database.as_str())
    {
        return Err(ApplyError::DatabaseNotTyped {
            id,
            database: preview.database.clone(),
            reasons: preview.high_impact.clone(),
        });
    }
    if preview.irreversible && !confirmation.irreversible {
        return Err(ApplyError::IrreversibleNotConfirmed {
            id,
            note: preview.plan.note.clone(),
        });
    }
    if let (Some(cfg), Action::Apply) = (&preview.config_file, preview.action) {
        match confirmation.config_file {
            ConfigFileAction::NotChosen => {
                return Err(ApplyError::ConfigFileActionMissing {
                    id,
                    path: cfg.path.clone(),
                })
            }
            ConfigFileAction::WriteWithBackup => {
                if let Some(reason) = &cfg.not_writable_reason {
                    return Err(ApplyError::ConfigFileNotWritable {
                        id,
                        path: cfg.path.clone(),
                        reason: reason.clone(),
                    });
                }
            }
            ConfigFileAction::SavedByDba => {}
        }
    }
    if let (Some(cfg), Action::Rollback) = (&preview.config_file, preview.action) {
        if let Some(reason) = &cfg.not_writable_reason {
            return Err(ApplyError::ConfigFileNotWritable {
                id,
                path: cfg.path.clone(),
                reason: reason.clone(),
            });
        }
    }
    Ok(())
}

fn rollbackable(entry: &ChangeLogEntry) -> Result<(), ApplyError> {
    let refuse = |why: &str| {
        Err(ApplyError::NotRollbackable {
            id: entry.id.clone(),
            why: why.to_string(),
        })
    };
    if entry.action != Action::Apply {
        return refuse("it is itself a rollback: apply the check again instead");
    }
    if entry.outcome != Outcome::Applied {
        return refuse("it did not apply (see its outcome)");
    }
    if let Some(by) = &entry.rolled_back_by {
        return refuse(&format!("it was already rolled back by {by}"));
    }
    let has_backup = entry
        .config_file
        .as_ref()
        .is_some_and(|c| c.backup_path.is_some());
    if entry.rollback.is_empty() && !has_backup {
        return refuse(if entry.irreversible {
            "the fix is irreversible"
        } else {
            "it recorded no undo statements"
        });
    }
    Ok(())
}

fn same_server(entry: &ChangeLogEntry, snapshot: &Snapshot) -> Result<(), ApplyError> {
    match (
        &entry.target.system_identifier,
        &snapshot.target.system_identifier,
    ) {
        (Some(expected), Some(found)) if expected != found => Err(ApplyError::WrongServer {
            id: entry.id.clone(),
            expected: expected.clone(),
            found: found.clone(),
        }),
        _ => Ok(()),
    }
}

fn new_entry(preview: &Preview, context: &SessionContext) -> ChangeLogEntry {
    let started_at = scan::now_rfc3339();
    let target = &preview.snapshot.target;
    ChangeLogEntry {
        id: changelog::new_entry_id(&preview.check_id, &started_at),
        action: preview.action,
        rolls_back: preview.original.as_ref().map(|o| o.id.clone()),
        check_id: preview.check_id.clone(),
        title: preview.title.clone(),
        who: Who {
            role: context.facts.session_user.clone(),
            os_user: context.os_user.clone(),
        },
        target: ChangeTarget {
            host: target.host.clone(),
            port: target.port,
            dbname: target.dbname.clone(),
            system_identifier: target.system_identifier.clone(),
            server_version: target.server_version.clone(),
        },
        started_at,
        finished_at: None,
        apply_classes: preview.plan.apply.clone(),
        statements: preview
            .steps
            .iter()
            .map(|s| StatementRecord {
                sql: s.sql.clone(),
                kind: s.kind,
                outcome: if s.kind == StepKind::AfterRestart {
                    StatementOutcome::Deferred
                } else {
                    StatementOutcome::Pending
                },
            })
            .collect(),
        config_file: None,
        rollback: preview.rollback.clone(),
        irreversible: preview.irreversible,
        added_libraries: preview.added_libraries.clone(),
        before: Some(preview.before.clone()),
        after: None,
        settings: Vec::new(),
        pending_restart: Vec::new(),
        outcome: Outcome::InProgress,
        error: None,
        rolled_back_by: None,
        notes: preview.notes.clone(),
    }
}

/// A failure's one line: which statement, what the server said, what state
/// the server was left in.
pub(crate) fn failure_line(
    entry: &ChangeLogEntry,
    statement: Option<&str>,
    error: &ServerError,
) -> String {
    let what = match statement {
        Some(sql) => format!("the server refused `{sql}`: {error}"),
        None => error.to_string(),
    };
    let state = match entry.outcome {
        Outcome::Incomplete => "undoing the earlier statements failed too: see the change log",
        _ => "nothing was changed",
    };
    format!(
        "{}: {what}; {state} (change log entry {})",
        entry.check_id, entry.id
    )
}

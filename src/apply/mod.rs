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
mod confirm;
pub mod guards;
pub mod in_place;
pub mod plan;
mod prepare;
mod preview;
mod run;

pub use changelog::{
    Action, ChangeLog, ChangeLogEntry, ChangeLogError, Evidence, Outcome, StatementOutcome,
    StepKind,
};
pub use confirm::{ConfigFileAction, Confirmation};
pub use guards::{Guard, Refusal, SessionContext};
pub use prepare::PlannedStep;
pub use preview::{ConfigFilePreview, Preview};

use crate::checks;
use crate::db::apply::{ApplyDbError, ApplySession, ConnectionFacts, ServerError};
use crate::db::connect::ConnectError;
use crate::db::conninfo::ConnParams;
use crate::model::finding::{Finding, FixPlan};
use crate::model::snapshot::Snapshot;
use crate::model::statement::Statement;
use crate::policy::{Attestations, Policy};
use crate::scan::{self, ScanError, ScanOptions};
use changelog::{ChangeTarget, StatementRecord, Who};
use confirm::{check_confirmation, rollbackable, same_server};
use preview::{
    already, config_preview, empty_preview, evidence_of, finish_preview, restore_preview, today,
};
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
    /// The hardening plan the entries belong to (`pgsafeguard plan --apply`).
    plan_id: Option<String>,
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

impl Applier {
    /// `params` are the credentials for applying (not the scan's).
    pub fn new(params: ConnParams, policy: Policy) -> Applier {
        Applier {
            params,
            policy,
            options: ApplyOptions::default(),
            plan_id: None,
        }
    }

    /// Entries written by this applier name the plan they belong to.
    pub fn for_plan(mut self, plan_id: &str) -> Applier {
        self.plan_id = Some(plan_id.to_string());
        self
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
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
        let (snapshot, findings) = self.scan_and_evaluate().await?;
        let finding = pick(findings.iter(), id)?.clone();
        let mut preview = empty_preview(Action::Apply, &finding, snapshot, context);
        (preview.needs_first, preview.restart_between) = unmet_prerequisites(id, &findings);
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
        self.check_still_current(db, preview, confirmation.config_file)
            .await?;
        let mut entry = new_entry(preview, &self.context(db.facts()), &self.plan_id);
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
                if statement.system_parameter() == Some(prepare::PRELOAD) {
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
        let (snapshot, findings) = self.scan_and_evaluate().await?;
        let finding = pick(findings.into_iter(), id)?;
        Ok((snapshot, finding))
    }

    /// A fresh scan with the apply credentials and every finding.
    pub async fn scan_and_evaluate(&self) -> Result<(Snapshot, Vec<Finding>), ApplyError> {
        let snapshot =
            scan::scan_live(&self.params, &self.options.scan, scan::no_progress()).await?;
        let findings = checks::evaluate_all(&snapshot, &self.policy, &Attestations::default());
        Ok((snapshot, findings))
    }

    /// Which of `libraries` the server does not have (a preload of one
    /// would stop it from starting); `Err` with the reason when it cannot tell.
    pub async fn missing_libraries(&self, libraries: &[String]) -> Result<Vec<String>, String> {
        let db = ApplySession::open(&self.params)
            .await
            .map_err(|e| e.to_string())?;
        let result = db.missing_libraries(libraries).await;
        db.close().await;
        result.map_err(|e| e.to_string())
    }

    /// What the guards know about a session of these credentials (a plan
    /// judges its steps with it before anything runs).
    pub async fn session_context(&self) -> Result<SessionContext, ApplyError> {
        let db = ApplySession::open(&self.params).await?;
        let context = self.context(db.facts());
        db.close().await;
        Ok(context)
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
        file_action: ConfigFileAction,
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
        // An in-place edit is only valid over the file it was computed from; a file the DBA
        // saved has changed on purpose and is validated by the server instead.
        let we_write = file_action == ConfigFileAction::WriteWithBackup;
        if let Some(cfg) = preview.config_file.as_ref().filter(|_| we_write) {
            if let Some(expected) = &cfg.edited_sha256 {
                let now = std::fs::read(&cfg.path)
                    .map(|bytes| config_file::sha256_hex(&bytes))
                    .unwrap_or_default();
                if &now != expected {
                    return Err(stale(format!("{} changed since the preview", cfg.path)));
                }
            }
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
        let statements: Vec<Statement> = preview.steps.iter().map(|s| s.sql.clone()).collect();
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

fn pick<T: std::borrow::Borrow<Finding>>(
    mut findings: impl Iterator<Item = T>,
    id: &str,
) -> Result<T, ApplyError> {
    findings
        .find(|f| f.borrow().id == id)
        .ok_or_else(|| ApplyError::UnknownCheck { id: id.to_string() })
}

/// The declared prerequisites of `id` that do not pass yet, and whether they
/// need a restart before `id` can work.
pub fn unmet_prerequisites(id: &str, findings: &[Finding]) -> (Vec<String>, bool) {
    let Some(needs) = checks::find(id).map(|c| c.prerequisites()) else {
        return (Vec::new(), false);
    };
    let unmet: Vec<String> = needs
        .needs_first
        .iter()
        .filter(|first| {
            findings
                .iter()
                .find(|f| f.id == **first)
                .is_some_and(|f| f.fix.is_some())
        })
        .map(|first| (*first).to_string())
        .collect();
    let restart = needs.restart_between && !unmet.is_empty();
    (unmet, restart)
}

fn os_user() -> Option<String> {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

fn new_entry(
    preview: &Preview,
    context: &SessionContext,
    plan_id: &Option<String>,
) -> ChangeLogEntry {
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
        plan_id: plan_id.clone(),
    }
}

/// A failure's one line: which statement, what the server said, what state
/// the server was left in.
pub(crate) fn failure_line(
    entry: &ChangeLogEntry,
    statement: Option<&Statement>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// The GUI runs these on its tokio runtime: their futures must be Send.
    #[test]
    fn the_api_futures_can_run_on_the_gui_runtime() {
        let params = ConnParams::from_conninfo_with_env("host=/tmp user=u dbname=d", &|_| None)
            .expect("conninfo");
        let applier = Applier::new(params, Policy::default());
        let log = ChangeLog::at("/nonexistent/log.jsonl");
        assert_send(&applier.preview("TLS-001"));
        let entry = changelog::tests::sample("x");
        assert_send(&applier.preview_rollback(&entry));
        assert_send(&applier.verify(&entry, &log));
        let snapshot = Snapshot::default();
        let finding =
            checks::evaluate_all(&snapshot, &Policy::default(), &Attestations::default()).remove(0);
        let preview = empty_preview(Action::Apply, &finding, snapshot, SessionContext::default());
        assert_send(&applier.apply(&preview, &Confirmation::yes(), &log));
    }
}

//! The change log's entries as data: every apply and rollback, as evidence
//! (who, when in UTC, which server, which check, the statements with the
//! server's answer to each, the config-file edit, the evidence before and
//! after, whether it was rolled back), and how an entry reads in lists, the
//! CLI and the report.
//!
//! The apply engine writes entries (and owns the JSON-lines file, in
//! `apply::changelog`); the session file, the GUI and the PDF report hold
//! the same typed entries. The server's error is plain data here, so that
//! none of them needs the database layer.

use super::finding::{ApplyClass, Status};
use super::statement::Statement;
use super::untrusted;
use serde::{Deserialize, Serialize};

/// What the server answered when it refused a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerError {
    /// Five-character SQLSTATE; `None` when the connection failed instead.
    pub sqlstate: Option<String>,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        if let Some(state) = &self.sqlstate {
            write!(f, " (SQLSTATE {state})")?;
        }
        Ok(())
    }
}

/// Apply a fix, or undo one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Apply,
    Rollback,
}

/// How a statement is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// `LOAD` of a library this fix adds to `shared_preload_libraries`, so
    /// that ALTER SYSTEM accepts its settings before the restart.
    Load,
    /// ALTER SYSTEM: on its own, outside a transaction block.
    AlterSystem,
    /// Inside the fix's one transaction.
    Transaction,
    /// `pg_reload_conf()` after ALTER SYSTEM or a config-file edit.
    Reload,
    /// Needs the restart first (e.g. CREATE EXTENSION of a library this fix
    /// preloads): not run now; apply the check again after the restart.
    AfterRestart,
}

/// What happened to one statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum StatementOutcome {
    /// Not started.
    Pending,
    /// Sent; no answer recorded (a crash here leaves this state in the file).
    Running,
    Done {
        response: String,
    },
    Failed {
        error: ServerError,
    },
    /// Ran, then undone: its transaction rolled back, or an inverse ALTER
    /// SYSTEM restored the old value.
    Undone {
        response: String,
        how: String,
    },
    /// Not run because an earlier statement failed or a guard refused.
    Skipped,
    /// Left for after the restart.
    Deferred,
}

/// One statement of an entry and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementRecord {
    /// The statement as it ran (its text in JSON).
    pub sql: Statement,
    pub kind: StepKind,
    pub outcome: StatementOutcome,
}

/// A configuration file written (or checked) by the apply step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigFileRecord {
    /// `hba_file` or `ident_file`.
    pub file: String,
    pub path: String,
    /// The copy of the previous file; `None` when the DBA saved the file
    /// themselves (then the rollback is theirs too).
    pub backup_path: Option<String>,
    /// SHA-256 (hex) of the file before and after.
    pub sha256_before: Option<String>,
    pub sha256_after: Option<String>,
    /// The lines written, secret option values redacted.
    pub lines: Vec<String>,
}

/// What a check said at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub status: Status,
    pub evidence: String,
    /// UTC, RFC 3339.
    pub collected_at: String,
}

/// A setting's state right after the reload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingResult {
    pub name: String,
    /// `active`, `pending_restart` or `not_shown`.
    pub state: SettingState,
    /// The value a new session sees.
    pub live_value: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingState {
    Active,
    PendingRestart,
    NotShown,
}

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    InProgress,
    /// Every statement ran (deferred ones excepted).
    Applied,
    /// A statement failed or a guard refused inside the transaction; all
    /// that ran was undone: the server is as it was.
    RolledBack,
    /// A statement failed and undoing the earlier ones failed too: the
    /// statements' outcomes say what is left; needs a person.
    Incomplete,
}

/// Who made a change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Who {
    /// The database role of the apply session.
    pub role: String,
    /// The operating-system user that ran pgSafeguard.
    pub os_user: Option<String>,
}

/// Which server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeTarget {
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub system_identifier: Option<String>,
    pub server_version: Option<String>,
}

/// One apply or rollback, as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeLogEntry {
    /// Unique: UTC time stamp, check id and a random suffix.
    pub id: String,
    pub action: Action,
    /// For a rollback: the entry it undoes.
    #[serde(default)]
    pub rolls_back: Option<String>,
    pub check_id: String,
    pub title: String,
    pub who: Who,
    pub target: ChangeTarget,
    /// UTC, RFC 3339.
    pub started_at: String,
    pub finished_at: Option<String>,
    pub apply_classes: Vec<ApplyClass>,
    pub statements: Vec<StatementRecord>,
    #[serde(default)]
    pub config_file: Option<ConfigFileRecord>,
    /// Statements that undo this entry (captured from the server just
    /// before applying); empty when it cannot be undone.
    pub rollback: Vec<Statement>,
    pub irreversible: bool,
    /// Libraries this entry added to `shared_preload_libraries` (a rollback
    /// removes exactly these, keeping ones added later).
    #[serde(default)]
    pub added_libraries: Vec<String>,
    pub before: Option<Evidence>,
    pub after: Option<Evidence>,
    #[serde(default)]
    pub settings: Vec<SettingResult>,
    /// Settings that wait for a server restart.
    #[serde(default)]
    pub pending_restart: Vec<String>,
    pub outcome: Outcome,
    /// The server's error, or the guard's refusal, that stopped it.
    #[serde(default)]
    pub error: Option<ServerError>,
    /// Set on an apply entry once a rollback entry undid it.
    #[serde(default)]
    pub rolled_back_by: Option<String>,
    #[serde(default)]
    pub notes: Vec<String>,
    /// The hardening plan this entry was applied as part of, if any
    /// (`pgsafeguard plan --apply`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
}

impl ChangeLogEntry {
    /// True when the check passed afterwards.
    pub fn verified(&self) -> bool {
        self.after
            .as_ref()
            .is_some_and(|a| a.status == Status::Pass)
    }

    /// A one-line result for lists, the CLI and the report.
    pub fn summary(&self) -> String {
        format!(
            "{} {} {} by {} at {}: {}",
            self.check_id,
            match self.action {
                Action::Apply => "fix",
                Action::Rollback => "rollback",
            },
            untrusted::name(&self.id),
            untrusted::name(&self.who.role),
            untrusted::name(&self.started_at),
            untrusted::one_line(&self.result())
        )
    }

    /// How it ended: applied and what the check says now, or why not.
    pub fn result(&self) -> String {
        let verb = match self.action {
            Action::Apply => "applied",
            Action::Rollback => "rolled back",
        };
        let error = || {
            self.error
                .as_ref()
                .map_or_else(|| "see the statements".to_string(), ToString::to_string)
        };
        match self.outcome {
            Outcome::InProgress => "did not finish (interrupted)".to_string(),
            Outcome::RolledBack => format!("failed and was undone: {}", error()),
            Outcome::Incomplete => format!("failed and could not be fully undone: {}", error()),
            Outcome::Applied => {
                let after = self.after.as_ref().map_or("not verified".to_string(), |a| {
                    format!("check now {}", a.status)
                });
                if self.pending_restart.is_empty() {
                    format!("{verb}; {after}")
                } else {
                    format!(
                        "{verb}; {after}; pending restart: {}",
                        self.pending_restart.join(", ")
                    )
                }
            }
        }
    }

    /// Several lines for the report's "Changes made during this session".
    pub fn render_text(&self) -> String {
        let mut text = format!("{}\n", self.summary());
        text.push_str(&format!(
            "  server: {}:{}/{} (system identifier {})\n",
            untrusted::name(&self.target.host),
            self.target.port,
            untrusted::name(&self.target.dbname),
            untrusted::name(
                self.target
                    .system_identifier
                    .as_deref()
                    .unwrap_or("unknown")
            )
        ));
        for record in &self.statements {
            text.push_str(&format!(
                "  {} -- {}\n",
                untrusted::text(&record.sql.to_string()),
                untrusted::one_line(&describe(&record.outcome))
            ));
        }
        if let Some(file) = &self.config_file {
            text.push_str(&format!(
                "  wrote {} ({} lines){}\n",
                untrusted::name(&file.path),
                file.lines.len(),
                file.backup_path
                    .as_deref()
                    .map(|b| format!(", previous file kept as {}", untrusted::name(b)))
                    .unwrap_or_default()
            ));
        }
        if let Some(before) = &self.before {
            text.push_str(&format!(
                "  before: {}: {}\n",
                before.status,
                untrusted::text(&before.evidence)
            ));
        }
        if let Some(after) = &self.after {
            text.push_str(&format!(
                "  after: {}: {}\n",
                after.status,
                untrusted::text(&after.evidence)
            ));
        }
        if let Some(by) = &self.rolled_back_by {
            text.push_str(&format!("  rolled back by {}\n", untrusted::name(by)));
        }
        if let Some(plan) = &self.plan_id {
            text.push_str(&format!("  part of plan {}\n", untrusted::name(plan)));
        }
        text
    }
}

fn describe(outcome: &StatementOutcome) -> String {
    match outcome {
        StatementOutcome::Pending => "not run".into(),
        StatementOutcome::Running => "sent, no answer recorded".into(),
        StatementOutcome::Done { response } => response.clone(),
        StatementOutcome::Failed { error } => format!("failed: {error}"),
        StatementOutcome::Undone { how, .. } => format!("undone ({how})"),
        StatementOutcome::Skipped => "skipped".into(),
        StatementOutcome::Deferred => "after the restart".into(),
    }
}

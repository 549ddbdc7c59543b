//! The change log: every apply and rollback, as evidence.
//!
//! Owns [`ChangeLogEntry`] (who, when in UTC, which server, which check, the
//! statements with the server's answer to each, the config-file edit, the
//! evidence before and after, whether it was rolled back) and the on-disk
//! file: JSON lines, one complete entry per line, appended and flushed to
//! disk before and after each statement. The last line of an entry wins, so
//! a crash loses nothing that ran: an entry still `in_progress` after a
//! crash shows exactly which statements had finished.
//!
//! The same entries go into the session file's `change_log` (as JSON values)
//! and the PDF's "Changes made during this session" chapter. Must not import
//! `db` (beyond its plain error record), `ui` or `report`.

use crate::db::apply::ServerError;
use crate::model::finding::{ApplyClass, Status};
use crate::model::statement::Statement;
use crate::untrusted;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

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
}

impl ChangeLogEntry {
    /// The entry as the session file stores it.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Read an entry back from the session file.
    pub fn from_value(value: &serde_json::Value) -> Result<ChangeLogEntry, serde_json::Error> {
        ChangeLogEntry::deserialize(value)
    }

    /// True when the check passed afterwards.
    pub fn verified(&self) -> bool {
        self.after
            .as_ref()
            .is_some_and(|a| a.status == Status::Pass)
    }

    /// A one-line result for lists, the CLI and the report.
    pub fn summary(&self) -> String {
        let verb = match self.action {
            Action::Apply => "applied",
            Action::Rollback => "rolled back",
        };
        let result = match self.outcome {
            Outcome::InProgress => "did not finish (interrupted)".to_string(),
            Outcome::RolledBack => format!(
                "failed and was undone: {}",
                self.error
                    .as_ref()
                    .map_or_else(|| "see the statements".to_string(), ToString::to_string)
            ),
            Outcome::Incomplete => format!(
                "failed and could not be fully undone: {}",
                self.error
                    .as_ref()
                    .map_or_else(|| "see the statements".to_string(), ToString::to_string)
            ),
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
        };
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
            untrusted::one_line(&result)
        )
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

#[derive(Debug, thiserror::Error)]
pub enum ChangeLogError {
    #[error("cannot write the change log {path}: {source}; nothing was applied")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read the change log {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the change log {path} has no entry {id}: list them with `pgsafeguard fix --list`")]
    NoSuchEntry { path: String, id: String },
}

/// The change-log file (JSON lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeLog {
    path: PathBuf,
}

impl ChangeLog {
    /// The log at `path` (created on the first append).
    pub fn at(path: impl Into<PathBuf>) -> ChangeLog {
        ChangeLog { path: path.into() }
    }

    /// `change-log.jsonl` in the platform's data folder for pgSafeguard
    /// (e.g. ~/.local/share/pgsafeguard), or the current folder.
    pub fn default_path() -> PathBuf {
        directories::ProjectDirs::from("org", "pgSafeguard", "pgsafeguard")
            .map(|d| d.data_dir().join("change-log.jsonl"))
            .unwrap_or_else(|| PathBuf::from("pgsafeguard-change-log.jsonl"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the entry's current state as one line and flushes it to disk.
    pub fn append(&self, entry: &ChangeLogEntry) -> Result<(), ChangeLogError> {
        let err = |source| ChangeLogError::Write {
            path: self.path.display().to_string(),
            source,
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut line = serde_json::to_string(entry).map_err(|e| err(std::io::Error::other(e)))?;
        line.push('\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(err)?;
        file.write_all(line.as_bytes()).map_err(err)?;
        file.sync_data().map_err(err)
    }

    /// Every entry in the order first written, each in its last state. A
    /// line cut off by a crash is skipped; a missing file is an empty log.
    pub fn entries(&self) -> Result<Vec<ChangeLogEntry>, ChangeLogError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(ChangeLogError::Read {
                    path: self.path.display().to_string(),
                    source,
                })
            }
        };
        let mut order: Vec<String> = Vec::new();
        let mut latest: BTreeMap<String, ChangeLogEntry> = BTreeMap::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let Ok(entry) = serde_json::from_str::<ChangeLogEntry>(line) else {
                continue;
            };
            if !latest.contains_key(&entry.id) {
                order.push(entry.id.clone());
            }
            latest.insert(entry.id.clone(), entry);
        }
        Ok(order
            .into_iter()
            .filter_map(|id| latest.remove(&id))
            .collect())
    }

    /// The latest state of one entry.
    pub fn find(&self, id: &str) -> Result<ChangeLogEntry, ChangeLogError> {
        self.entries()?
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| ChangeLogError::NoSuchEntry {
                path: self.path.display().to_string(),
                id: id.to_string(),
            })
    }
}

/// A new entry id: UTC time stamp, check id, random suffix.
pub fn new_entry_id(check_id: &str, now: &str) -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let stamp: String = now.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let mut hasher = RandomState::new().build_hasher();
    hasher.write(now.as_bytes());
    hasher.write(check_id.as_bytes());
    format!("{stamp}-{check_id}-{:06x}", hasher.finish() & 0xff_ffff)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample(id: &str) -> ChangeLogEntry {
        ChangeLogEntry {
            id: id.into(),
            action: Action::Apply,
            rolls_back: None,
            check_id: "TLS-001".into(),
            title: "TLS is enabled".into(),
            who: Who {
                role: "postgres".into(),
                os_user: Some("dba".into()),
            },
            target: ChangeTarget {
                host: "db".into(),
                port: 5432,
                dbname: "clinic".into(),
                system_identifier: Some("7".into()),
                server_version: Some("15.8".into()),
            },
            started_at: "2026-11-27T10:00:00Z".into(),
            finished_at: None,
            apply_classes: vec![ApplyClass::Reload],
            statements: vec![StatementRecord {
                sql: Statement::set_system("ssl", "on"),
                kind: StepKind::AlterSystem,
                outcome: StatementOutcome::Pending,
            }],
            config_file: None,
            rollback: vec![Statement::reset_system("ssl")],
            irreversible: false,
            added_libraries: Vec::new(),
            before: None,
            after: None,
            settings: Vec::new(),
            pending_restart: Vec::new(),
            outcome: Outcome::InProgress,
            error: None,
            rolled_back_by: None,
            notes: Vec::new(),
        }
    }

    #[test]
    fn the_last_line_of_an_entry_wins_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let log = ChangeLog::at(dir.path().join("sub").join("log.jsonl"));
        assert!(log.entries().unwrap().is_empty());
        let mut a = sample("a");
        log.append(&a).unwrap();
        log.append(&sample("b")).unwrap();
        a.outcome = Outcome::Applied;
        a.statements[0].outcome = StatementOutcome::Done {
            response: "ok".into(),
        };
        log.append(&a).unwrap();
        let mut file = OpenOptions::new().append(true).open(log.path()).unwrap();
        file.write_all(b"{\"id\": \"c\", \"action\"").unwrap();
        let entries = log.entries().unwrap();
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(entries[0].outcome, Outcome::Applied);
        assert_eq!(log.find("a").unwrap(), a);
        assert!(matches!(
            log.find("zzz"),
            Err(ChangeLogError::NoSuchEntry { .. })
        ));
    }

    #[test]
    fn entries_round_trip_through_session_values() {
        let entry = sample("x");
        let value = entry.to_value();
        assert_eq!(value["check_id"], "TLS-001");
        assert_eq!(ChangeLogEntry::from_value(&value).unwrap(), entry);
        assert!(entry.render_text().contains("ALTER SYSTEM SET"));
    }

    /// Entries written by the version before statements were typed (commit
    /// f0f007b) still load: canonical texts come back typed, anything else
    /// verbatim as `Statement::Other`, and written again they are the same
    /// JSON.
    #[test]
    fn change_logs_written_before_typed_statements_still_load() {
        use crate::model::statement::{DefaultScope, MembershipOptions, RoleOption, RoleRef};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("change-log.jsonl");
        let written = include_str!("../../tests/fixtures/change-log/written-by-f0f007b.jsonl");
        std::fs::write(&path, written).unwrap();
        let entries = ChangeLog::at(&path).entries().unwrap();
        assert_eq!(entries.len(), 2);
        let typed = &entries[0];
        let sql: Vec<&Statement> = typed.statements.iter().map(|r| &r.sql).collect();
        assert!(matches!(sql[0], Statement::Load { library } if library == "auth_delay"));
        assert!(matches!(
            sql[1],
            Statement::SetSystem { parameter, values }
                if parameter == "shared_preload_libraries" && values == &["pgaudit", "auth_delay"]
        ));
        assert!(matches!(
            sql[2],
            Statement::AlterRole { role: RoleRef::Named(r), options }
                if r == "alice" && options == &[RoleOption::Superuser(false), RoleOption::Login(false)]
        ));
        assert!(matches!(sql[3], Statement::Membership { grant: false, .. }));
        assert!(matches!(
            sql[4],
            Statement::SessionDefault { scope: DefaultScope::Role { database: Some(d), .. }, value: Some(v), .. }
                if d == "phi" && v == "15min"
        ));
        assert!(matches!(sql[5], Statement::Other(t) if t == "SELECT pg_catalog.pg_reload_conf()"));
        assert!(matches!(sql[6], Statement::CreateExtension { name } if name == "pgaudit"));
        assert_eq!(typed.statements[6].kind, StepKind::AfterRestart);
        assert!(matches!(
            &typed.rollback[1],
            Statement::Membership { grant: true, with: Some(MembershipOptions::AdminOption), member, .. }
                if member == "carol"
        ));
        assert!(matches!(&typed.rollback[4], Statement::Other(_)));
        assert_eq!(typed.outcome, Outcome::RolledBack);
        assert_eq!(
            typed.error.as_ref().and_then(|e| e.sqlstate.as_deref()),
            Some("42501")
        );
        // Text that is not what a builder writes is kept exactly as written.
        let foreign = &entries[1];
        assert!(matches!(
            &foreign.statements[0].sql,
            Statement::Other(t) if t == "alter system set pgaudit.log to 'ddl'"
        ));
        assert!(matches!(
            foreign.rollback.as_slice(),
            [Statement::Other(t)] if t == "ALTER SYSTEM RESET pgaudit.log;"
        ));
        // Written again, each entry is the line it was read from.
        for (entry, line) in entries.iter().zip(written.lines()) {
            assert_eq!(serde_json::to_string(entry).unwrap(), line);
        }
    }

    #[test]
    fn entry_ids_are_unique_and_readable() {
        let a = new_entry_id("TLS-001", "2026-11-27T10:00:00Z");
        let b = new_entry_id("TLS-001", "2026-11-27T10:00:00Z");
        assert!(a.starts_with("20261127T100000Z-TLS-001-"), "{a}");
        assert_ne!(a, b);
    }
}

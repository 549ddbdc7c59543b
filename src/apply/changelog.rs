//! The change-log file: every apply and rollback, as evidence.
//!
//! The entries themselves are data in [`crate::model::changelog`] (re-exported
//! here for the apply API). This module owns the on-disk file: JSON lines, one
//! complete entry per line, appended and flushed to disk before and after each
//! statement. The last line of an entry wins, so a crash loses nothing that
//! ran: an entry still `in_progress` after a crash shows exactly which
//! statements had finished.
//!
//! The same typed entries go into the session file's `change_log` and the
//! PDF's "Changes made during this session" chapter. Must not import `db`,
//! `ui` or `report`.

pub use crate::model::changelog::{
    Action, ChangeLogEntry, ChangeTarget, ConfigFileRecord, Evidence, Outcome, SettingResult,
    SettingState, StatementOutcome, StatementRecord, StepKind, Who,
};
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

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
        crate::platform_dirs::data_dir()
            .map(|dir| dir.join("change-log.jsonl"))
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
    use crate::model::finding::ApplyClass;
    use crate::model::statement::Statement;

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
            plan_id: None,
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
    fn session_files_hold_typed_entries() {
        use crate::session::SessionFile;
        let mut session = SessionFile::new(Default::default());
        session.change_log.push(sample("x"));
        let text = serde_json::to_string(&session).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["change_log"][0]["check_id"], "TLS-001");
        let back = SessionFile::from_json(&text, "session.json").unwrap();
        assert_eq!(back.change_log, session.change_log);
        assert!(back.change_log[0]
            .render_text()
            .contains("ALTER SYSTEM SET"));
    }

    /// A session file saved by the version that kept its change log as
    /// untyped JSON (f0f007b) opens with every entry typed; one whose entry is
    /// not a change-log entry is refused with a message, never half-read.
    #[test]
    fn session_files_written_before_the_typed_change_log_still_open() {
        use crate::session::{SessionError, SessionFile};
        let written = include_str!("../../tests/fixtures/change-log/written-by-f0f007b.jsonl");
        let mut old: serde_json::Value =
            serde_json::to_value(SessionFile::new(Default::default())).unwrap();
        old["change_log"] = written
            .lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
            .collect();
        let session = SessionFile::from_json(&old.to_string(), "old.json").unwrap();
        assert_eq!(session.change_log.len(), 2);
        for (entry, line) in session.change_log.iter().zip(written.lines()) {
            assert_eq!(serde_json::to_string(entry).unwrap(), line);
        }
        old["change_log"][1] = serde_json::json!({"id": "TLS-001", "at": "yesterday"});
        assert!(matches!(
            SessionFile::from_json(&old.to_string(), "old.json"),
            Err(SessionError::Corrupt { .. })
        ));
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

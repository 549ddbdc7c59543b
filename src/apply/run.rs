//! Running a prepared fix and writing each step into the change log.
//!
//! Order: LOAD and ALTER SYSTEM statements one by one (outside a transaction
//! block), then the remaining statements in one transaction, whose guard
//! check runs before COMMIT, then `pg_reload_conf()` and the wait until new
//! sessions show the new values. When a statement fails, the transaction is
//! rolled back and each ALTER SYSTEM that already ran is restored with the
//! value captured before applying; the entry says whether that succeeded.
//! The entry is appended to the log before and after every statement.
//!
//! Config-file edits: write (with a backup) or take the DBA's saved file,
//! let the server read it back (`pg_hba_file_rules` / `pg_ident_file_mappings`),
//! refuse errors and lockouts by putting the backup back, reload, and check
//! that a new session with the apply credentials is still admitted.

use super::changelog::{
    ChangeLog, ChangeLogEntry, ConfigFileRecord, Outcome, SettingResult, SettingState,
    StatementOutcome, StepKind,
};
use super::config_file;
use super::guards::{self, SessionContext};
use super::prepare::PlannedStep;
use super::{ConfigFileAction, ConfigFilePreview};
use crate::db::apply::{self as db_apply, ApplySession, LiveSetting, ServerError};
use crate::db::conninfo::ConnParams;
use crate::model::redact::MASK;
use crate::model::settings::{library_in, split_list};
use crate::model::snapshot::Snapshot;
use crate::model::statement::Statement;
use crate::scan::{self, ScanOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(super) const RELOAD_SQL: &str = "SELECT pg_catalog.pg_reload_conf()";

/// Why a run stopped.
#[derive(Debug, Clone)]
pub(super) struct RunFailure {
    pub error: ServerError,
    /// Boxed: a failure travels in `Result`s, and most carry none.
    pub statement: Option<Box<Statement>>,
}

impl RunFailure {
    pub fn summary(&self, entry: &ChangeLogEntry) -> String {
        super::failure_line(entry, self.statement.as_deref(), &self.error)
    }

    fn local(message: impl Into<String>) -> RunFailure {
        RunFailure {
            error: ServerError {
                sqlstate: None,
                message: message.into(),
                detail: None,
                hint: None,
            },
            statement: None,
        }
    }
}

pub(super) struct Engine<'a> {
    pub db: &'a ApplySession,
    pub log: &'a ChangeLog,
    pub params: &'a ConnParams,
    pub scan: &'a ScanOptions,
    pub timeout: Duration,
}

impl Engine<'_> {
    /// Appends the entry's state; a log that fails mid-way is noted in the
    /// entry (the first append, before anything ran, already proved the
    /// file writable).
    fn save(&self, entry: &mut ChangeLogEntry) {
        if let Err(e) = self.log.append(entry) {
            let note = format!("could not write the change log: {e}");
            if !entry.notes.contains(&note) {
                entry.notes.push(note);
            }
        }
    }

    fn set(&self, entry: &mut ChangeLogEntry, index: usize, outcome: StatementOutcome) {
        if let Some(record) = entry.statements.get_mut(index) {
            record.outcome = outcome;
        }
        self.save(entry);
    }

    async fn run_one(&self, entry: &mut ChangeLogEntry, index: usize) -> Result<(), RunFailure> {
        let sql = entry.statements[index].sql.clone();
        self.set(entry, index, StatementOutcome::Running);
        match self.db.execute(&sql.to_string()).await {
            Ok(response) => {
                self.set(entry, index, StatementOutcome::Done { response });
                Ok(())
            }
            Err(error) => {
                self.set(
                    entry,
                    index,
                    StatementOutcome::Failed {
                        error: error.clone(),
                    },
                );
                Err(RunFailure {
                    error,
                    statement: Some(Box::new(sql)),
                })
            }
        }
    }

    /// Runs the statements of a prepared fix (see the module docs).
    pub async fn run_statements(
        &self,
        entry: &mut ChangeLogEntry,
        steps: &[PlannedStep],
        compensation: &BTreeMap<String, Statement>,
    ) -> Result<(), RunFailure> {
        let indices = |kinds: &[StepKind]| -> Vec<usize> {
            steps
                .iter()
                .enumerate()
                .filter(|(_, s)| kinds.contains(&s.kind))
                .map(|(i, _)| i)
                .collect()
        };
        let mut written: Vec<usize> = Vec::new();
        for index in indices(&[StepKind::Load, StepKind::AlterSystem]) {
            if let Err(failure) = self.run_one(entry, index).await {
                self.give_up(entry, steps, &written, compensation).await;
                return Err(failure);
            }
            if steps[index].kind == StepKind::AlterSystem {
                written.push(index);
            }
        }
        let inside = indices(&[StepKind::Transaction]);
        if !inside.is_empty() {
            if let Err(failure) = self.run_transaction(entry, &inside).await {
                self.give_up(entry, steps, &written, compensation).await;
                return Err(failure);
            }
        }
        if !written.is_empty() {
            let reload = indices(&[StepKind::Reload]).first().copied();
            self.reload(entry, reload).await;
            self.settle(entry, steps, &written).await;
        }
        Ok(())
    }

    async fn run_transaction(
        &self,
        entry: &mut ChangeLogEntry,
        inside: &[usize],
    ) -> Result<(), RunFailure> {
        let user = self.db.facts().session_user.clone();
        let fail = |error: ServerError| RunFailure {
            error,
            statement: None,
        };
        let before = self.db.role_state().await.map_err(fail)?;
        self.db.begin().await.map_err(fail)?;
        for (n, &index) in inside.iter().enumerate() {
            if let Err(failure) = self.run_one(entry, index).await {
                self.abort(entry, &inside[..n], "its transaction was rolled back")
                    .await;
                return Err(failure);
            }
        }
        let after = match self.db.role_state().await {
            Ok(after) => after,
            Err(error) => {
                self.abort(entry, inside, "its transaction was rolled back")
                    .await;
                return Err(fail(error));
            }
        };
        let refusals = guards::role_state_refusals(&user, &before, &after);
        if !refusals.is_empty() {
            self.abort(entry, inside, "a guard refused the result before COMMIT")
                .await;
            let message = refusals
                .iter()
                .map(|r| r.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(RunFailure::local(format!(
                "refused before COMMIT: {message}"
            )));
        }
        if let Err(error) = self.db.commit().await {
            self.abort(entry, inside, "COMMIT failed").await;
            return Err(fail(error));
        }
        Ok(())
    }

    /// Rolls the transaction back and marks its statements as undone.
    async fn abort(&self, entry: &mut ChangeLogEntry, ran: &[usize], how: &str) {
        if let Err(e) = self.db.rollback().await {
            entry.notes.push(format!("ROLLBACK failed: {e}"));
        }
        for &index in ran {
            if let StatementOutcome::Done { response } = &entry.statements[index].outcome {
                let response = response.clone();
                self.set(
                    entry,
                    index,
                    StatementOutcome::Undone {
                        response,
                        how: how.to_string(),
                    },
                );
            }
        }
    }

    /// After a failure: restore the settings already written, mark the rest
    /// skipped, and set the entry's outcome.
    async fn give_up(
        &self,
        entry: &mut ChangeLogEntry,
        steps: &[PlannedStep],
        written: &[usize],
        compensation: &BTreeMap<String, Statement>,
    ) {
        for record in entry.statements.iter_mut() {
            if record.outcome == StatementOutcome::Pending {
                record.outcome = StatementOutcome::Skipped;
            }
        }
        let mut complete = true;
        for &index in written.iter().rev() {
            let undo = steps[index]
                .parameter
                .as_ref()
                .and_then(|p| compensation.get(p));
            let Some(undo) = undo else {
                complete = false;
                entry.notes.push(format!(
                    "no undo was captured for `{}`: restore it by hand",
                    steps[index].sql
                ));
                continue;
            };
            match self.db.execute(&undo.to_string()).await {
                Ok(response) => self.set(
                    entry,
                    index,
                    StatementOutcome::Undone {
                        response,
                        how: format!("restored with {undo}"),
                    },
                ),
                Err(e) => {
                    complete = false;
                    entry
                        .notes
                        .push(format!("undoing it with `{undo}` failed: {e}"));
                }
            }
        }
        entry.outcome = if complete {
            Outcome::RolledBack
        } else {
            Outcome::Incomplete
        };
        self.save(entry);
    }

    /// `pg_reload_conf()`; a reload that is refused or slow is noted, not
    /// undone (the statements are in place and apply at the next reload).
    async fn reload(&self, entry: &mut ChangeLogEntry, index: Option<usize>) {
        if let Some(i) = index {
            self.set(entry, i, StatementOutcome::Running);
        }
        let outcome = match self.db.reload_and_wait(self.timeout).await {
            Ok(true) => StatementOutcome::Done {
                response: "ok, the server re-read its configuration".into(),
            },
            Ok(false) => StatementOutcome::Done {
                response: format!(
                    "sent; the server did not confirm the reload within {} s",
                    self.timeout.as_secs()
                ),
            },
            Err(error) => StatementOutcome::Failed { error },
        };
        match index {
            Some(i) => self.set(entry, i, outcome),
            None => entry.notes.push(match outcome {
                StatementOutcome::Failed { error } => format!("reload failed: {error}"),
                _ => "reloaded the configuration".into(),
            }),
        }
    }

    /// Polls new sessions until each written setting shows, or says
    /// pending restart, or the timeout runs out.
    async fn settle(&self, entry: &mut ChangeLogEntry, steps: &[PlannedStep], written: &[usize]) {
        let expectations: Vec<(String, &Statement)> = written
            .iter()
            .filter_map(|&i| {
                let statement = &steps[i].sql;
                let name = statement.system_parameter()?.to_string();
                Some((name, statement))
            })
            .collect();
        let names: Vec<String> = expectations.iter().map(|(n, _)| n.clone()).collect();
        let added = entry.added_libraries.clone();
        let judge = |rows: &[LiveSetting]| -> Vec<SettingResult> {
            expectations
                .iter()
                .map(|(name, statement)| {
                    let row = rows.iter().find(|r| &r.name == name);
                    SettingResult {
                        name: name.clone(),
                        state: setting_state(statement, row, &added),
                        live_value: row.and_then(|r| r.setting.clone()),
                    }
                })
                .collect()
        };
        let settled = |rows: &[LiveSetting]| {
            judge(rows)
                .iter()
                .all(|r| r.state != SettingState::NotShown)
        };
        match db_apply::wait_for_settings(self.params, &names, self.timeout, settled).await {
            Ok((rows, _)) => entry.settings = judge(&rows),
            Err(e) => entry
                .notes
                .push(format!("could not read the new settings back: {e}")),
        }
        self.save(entry);
    }

    /// Writes or takes the config file, has the server validate it, reloads
    /// (see the module docs).
    pub async fn run_config_file(
        &self,
        entry: &mut ChangeLogEntry,
        cfg: &ConfigFilePreview,
        action: ConfigFileAction,
        before: &Snapshot,
        ctx: &SessionContext,
    ) -> Result<(), RunFailure> {
        let path = PathBuf::from(&cfg.path);
        let backup = self.put_file(entry, cfg, action, &path)?;
        // Puts the previous file back; says whether the server is as it was.
        let restore = |why: String, reloaded: bool| -> (RunFailure, bool) {
            let mut message = why;
            let restored = match &backup {
                Some(backup) => match config_file::restore(&path, backup) {
                    Ok(()) => {
                        message.push_str("; the previous file was put back");
                        true
                    }
                    Err(e) => {
                        message.push_str(&format!(
                            "; PUTTING THE PREVIOUS FILE BACK FAILED ({e}): copy {} over {} by \
                             hand before any reload",
                            backup.display(),
                            path.display()
                        ));
                        false
                    }
                },
                None => {
                    message.push_str("; put your copy of the previous file back");
                    !reloaded
                }
            };
            (RunFailure::local(message), restored)
        };
        let snapshot = match scan::scan_live(self.params, self.scan, scan::no_progress()).await {
            Ok(s) => s,
            Err(e) => {
                let why = format!("could not read the new file back: {e}");
                return Err(self.failed(entry, restore(why, false)));
            }
        };
        if let Some(problem) = file_problems(&cfg.file, &snapshot) {
            return Err(self.failed(entry, restore(problem, false)));
        }
        if cfg.file == "hba_file" {
            let rules_before = before.hba_rules.as_deref().unwrap_or(&[]);
            let rules_after = snapshot.hba_rules.as_deref().unwrap_or(&[]);
            if let Some(refusal) = guards::hba_refusal(before, ctx, rules_before, rules_after) {
                return Err(self.failed(entry, restore(refusal.message, false)));
            }
        }
        let reload = entry
            .statements
            .iter()
            .position(|s| s.kind == StepKind::Reload);
        self.reload(entry, reload).await;
        if let Err(e) = db_apply::probe_login(self.params).await {
            let failure = restore(
                format!("after the reload a new session was refused ({e})"),
                true,
            );
            if let Err(e) = self.db.reload_and_wait(self.timeout).await {
                entry
                    .notes
                    .push(format!("reloading the previous file failed: {e}"));
            }
            return Err(self.failed(entry, failure));
        }
        Ok(())
    }

    fn failed(
        &self,
        entry: &mut ChangeLogEntry,
        (failure, restored): (RunFailure, bool),
    ) -> RunFailure {
        entry.outcome = if restored {
            Outcome::RolledBack
        } else {
            Outcome::Incomplete
        };
        for record in entry.statements.iter_mut() {
            if record.outcome == StatementOutcome::Pending {
                record.outcome = StatementOutcome::Skipped;
            }
        }
        self.save(entry);
        failure
    }

    /// Writes the file (returning the backup) or records the DBA's file.
    fn put_file(
        &self,
        entry: &mut ChangeLogEntry,
        cfg: &ConfigFilePreview,
        action: ConfigFileAction,
        path: &Path,
    ) -> Result<Option<PathBuf>, RunFailure> {
        let mut record = ConfigFileRecord {
            file: cfg.file.clone(),
            path: cfg.path.clone(),
            backup_path: None,
            sha256_before: None,
            sha256_after: None,
            lines: config_file::redact_secrets(&cfg.lines, MASK),
        };
        let backup = match action {
            ConfigFileAction::WriteWithBackup => {
                let text = config_file::text_of(&cfg.lines);
                let written = config_file::write_with_backup(path, &text, &entry.started_at)
                    .map_err(|e| RunFailure::local(format!("could not write the file: {e}")))?;
                record.backup_path = Some(written.backup_path.display().to_string());
                record.sha256_before = Some(written.sha256_before);
                record.sha256_after = Some(written.sha256_after);
                Some(written.backup_path)
            }
            ConfigFileAction::SavedByDba | ConfigFileAction::NotChosen => {
                record.sha256_after = std::fs::read(path)
                    .ok()
                    .map(|bytes| config_file::sha256_hex(&bytes));
                None
            }
        };
        entry.config_file = Some(record);
        self.save(entry);
        Ok(backup)
    }
}

/// The server's complaints about the file on disk, or that it could not
/// read them.
fn file_problems(file: &str, snapshot: &Snapshot) -> Option<String> {
    let errors: Option<Vec<String>> = if file == "ident_file" {
        snapshot.ident_mappings.as_ref().map(|maps| {
            maps.iter()
                .filter_map(|m| {
                    m.error
                        .as_ref()
                        .map(|e| format!("line {}: {e}", m.line_number))
                })
                .collect()
        })
    } else {
        snapshot.hba_rules.as_ref().map(|rules| {
            rules
                .iter()
                .filter_map(|r| {
                    r.error
                        .as_ref()
                        .map(|e| format!("line {}: {e}", r.line_number))
                })
                .collect()
        })
    };
    match errors {
        None => Some(
            "the server's reading of the new file is not visible to this role (superuser, or \
             GRANT SELECT ON pg_hba_file_rules / pg_ident_file_mappings, is needed to validate it)"
                .into(),
        ),
        Some(errors) if errors.is_empty() => None,
        Some(errors) => Some(format!(
            "the server reports errors in the new file: {}",
            errors.join("; ")
        )),
    }
}

/// Whether a setting shows what the statement wrote.
fn setting_state(
    statement: &Statement,
    row: Option<&LiveSetting>,
    added: &[String],
) -> SettingState {
    let Some(row) = row else {
        // A library's setting stays unknown until the library is loaded.
        let waits_for_library = statement
            .system_parameter()
            .and_then(|p| p.split_once('.'))
            .is_some_and(|(prefix, _)| library_in(added, prefix));
        return if waits_for_library {
            SettingState::PendingRestart
        } else {
            SettingState::NotShown
        };
    };
    let from_auto_conf = row
        .sourcefile
        .as_deref()
        .is_some_and(|f| f.ends_with("postgresql.auto.conf"));
    let shows = match statement {
        Statement::SetSystem { values, .. } => from_auto_conf && value_matches(row, values),
        _ => !from_auto_conf,
    };
    if shows {
        SettingState::Active
    } else if row.pending_restart {
        SettingState::PendingRestart
    } else {
        SettingState::NotShown
    }
}

/// Compares text values; numbers with units are judged by their source only.
fn value_matches(row: &LiveSetting, values: &[String]) -> bool {
    let live = row.setting.as_deref().unwrap_or("");
    match row.vartype.as_str() {
        "string" if values.len() > 1 || live.contains('"') => split_list(live) == values,
        "string" => values.first().is_some_and(|v| v == live),
        "enum" => values.first().is_some_and(|v| v.eq_ignore_ascii_case(live)),
        "bool" => values.first().is_some_and(|v| {
            let on = matches!(v.to_ascii_lowercase().as_str(), "on" | "true" | "yes" | "1");
            on == (live == "on")
        }),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, value: &str, vartype: &str, auto: bool) -> LiveSetting {
        LiveSetting {
            name: name.into(),
            setting: Some(value.into()),
            vartype: vartype.into(),
            sourcefile: auto.then(|| "/d/postgresql.auto.conf".to_string()),
            ..LiveSetting::default()
        }
    }

    #[test]
    fn settings_show_when_their_source_and_value_match() {
        let set = Statement::set_system("ssl", "on");
        assert_eq!(
            setting_state(&set, Some(&row("ssl", "on", "bool", true)), &[]),
            SettingState::Active
        );
        assert_eq!(
            setting_state(&set, Some(&row("ssl", "off", "bool", false)), &[]),
            SettingState::NotShown
        );
        let reset = Statement::reset_system("ssl");
        assert_eq!(
            setting_state(&reset, Some(&row("ssl", "off", "bool", false)), &[]),
            SettingState::Active
        );
        let mut pending = row("shared_preload_libraries", "", "string", false);
        pending.pending_restart = true;
        let preload = Statement::set_system_list(
            "shared_preload_libraries",
            vec!["pgaudit".into(), "x".into()],
        );
        assert_eq!(
            setting_state(&preload, Some(&pending), &[]),
            SettingState::PendingRestart
        );
        assert_eq!(
            setting_state(
                &preload,
                Some(&row(
                    "shared_preload_libraries",
                    "pgaudit, x",
                    "string",
                    true
                )),
                &[]
            ),
            SettingState::Active
        );
        let delay = Statement::set_system("auth_delay.milliseconds", "500");
        assert_eq!(
            setting_state(&delay, None, &["auth_delay".to_string()]),
            SettingState::PendingRestart
        );
        assert_eq!(setting_state(&delay, None, &[]), SettingState::NotShown);
    }
}

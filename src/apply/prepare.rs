//! From a plan's statements to the steps that will run, decided against the
//! server as it is right now.
//!
//! - ALTER SYSTEM statements run first, each on its own; the other
//!   statements follow in one transaction.
//! - A `shared_preload_libraries` statement keeps every library the
//!   configuration files already name (also ones added since the scan and
//!   still waiting for a restart): the plan's list is merged into the
//!   configured one, never the other way round. A library the server does
//!   not have is refused: it would stop the server from starting.
//! - Before PostgreSQL 17, ALTER SYSTEM rejects settings of a library that
//!   is not loaded yet; for a library this fix adds, a `LOAD` step first
//!   makes them known to the apply session.
//! - `CREATE EXTENSION` of a library this fix preloads waits for the
//!   restart (it fails until the library is preloaded).
//! - The undo of each ALTER SYSTEM is captured now from `pg_file_settings`:
//!   a value ALTER SYSTEM had written is set back, anything else is RESET.

use super::changelog::StepKind;
use super::guards::{listen_addresses_refusal, Guard, Refusal, SessionContext};
use crate::db::apply::{ApplyDbError, ApplySession};
use crate::model::settings::{library_in, split_list};
use crate::model::snapshot::Snapshot;
use crate::model::statement::{alter_system_set, restore_parameter, set_list_statement, Statement};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub(super) const PRELOAD: &str = "shared_preload_libraries";

/// One statement as it will run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedStep {
    pub sql: Statement,
    pub kind: StepKind,
    /// The setting an ALTER SYSTEM changes.
    pub parameter: Option<String>,
    /// The setting needs a server restart to take effect.
    pub restart: bool,
}

/// What [`prepare`] decided.
#[derive(Debug, Clone, Default)]
pub(super) struct Prepared {
    pub steps: Vec<PlannedStep>,
    /// Undo statements: captured ALTER SYSTEM restores, then the plan's own.
    pub rollback: Vec<Statement>,
    /// Per setting, the statement that restores it if a later step fails.
    pub compensation: BTreeMap<String, Statement>,
    pub added_libraries: Vec<String>,
    /// The configured preload list the merge was based on (to detect a
    /// stale preview).
    pub configured_libraries: Option<Vec<String>>,
    pub refusals: Vec<Refusal>,
    pub notes: Vec<String>,
    pub restart_settings: Vec<String>,
}

pub(super) struct Inputs<'a> {
    pub snapshot: &'a Snapshot,
    pub ctx: &'a SessionContext,
    pub statements: &'a [Statement],
    pub plan_rollback: &'a [Statement],
    /// Merge `shared_preload_libraries` into the configured list (apply);
    /// a rollback sets exactly the list it was given.
    pub merge_libraries: bool,
}

pub(super) async fn prepare(
    db: &ApplySession,
    input: Inputs<'_>,
) -> Result<Prepared, ApplyDbError> {
    let mut prepared = Prepared::default();
    let mut statements: Vec<Statement> = input.statements.to_vec();
    let preload_index = statements
        .iter()
        .position(|s| s.system_parameter() == Some(PRELOAD));
    if let Some(index) = preload_index {
        let configured = configured_libraries(db, input.snapshot, &mut prepared.notes).await;
        if let Statement::SetSystem { values, .. } = &statements[index] {
            let (statement, added) = merge_preload(
                &configured,
                values,
                input.merge_libraries,
                &mut prepared.notes,
            );
            statements[index] = statement;
            prepared.added_libraries = added;
        }
        prepared.configured_libraries = Some(configured);
        check_libraries(db, &mut prepared).await;
    }
    let version = db.facts().server_version_num;
    prepared.steps = plan_steps(
        input.snapshot,
        version,
        &statements,
        &prepared.added_libraries,
    );
    capture_undo(db, input.snapshot, input.plan_rollback, &mut prepared).await;
    for step in &prepared.steps {
        if let Statement::SetSystem { parameter, values } = &step.sql {
            if parameter == "listen_addresses" {
                prepared
                    .refusals
                    .extend(listen_addresses_refusal(input.ctx, values));
            }
        }
        if step.restart {
            if let Some(p) = &step.parameter {
                prepared.restart_settings.push(p.clone());
            }
        }
    }
    Ok(prepared)
}

/// The preload list the next restart will use: the last line of the
/// configuration files, else the running value.
async fn configured_libraries(
    db: &ApplySession,
    snapshot: &Snapshot,
    notes: &mut Vec<String>,
) -> Vec<String> {
    let running = || {
        snapshot
            .setting(PRELOAD)
            .and_then(|s| s.setting.as_deref())
            .map(split_list)
            .unwrap_or_default()
    };
    match db.configured_values(&[PRELOAD.to_string()]).await {
        Ok(values) => match values.get(PRELOAD) {
            Some(v) => split_list(&v.value),
            None => running(),
        },
        Err(e) => {
            notes.push(format!(
                "could not read pg_file_settings ({e}): libraries added since the last restart \
                 may be missing from the new list"
            ));
            running()
        }
    }
}

/// The statement to run and the libraries it adds to `configured`.
fn merge_preload(
    configured: &[String],
    planned: &[String],
    merge: bool,
    notes: &mut Vec<String>,
) -> (Statement, Vec<String>) {
    let added: Vec<String> = planned
        .iter()
        .filter(|p| !library_in(configured, p))
        .cloned()
        .collect();
    if !merge {
        return (set_list_statement(PRELOAD, planned), added);
    }
    let mut merged: Vec<String> = configured.to_vec();
    merged.extend(added.iter().cloned());
    let kept: Vec<&String> = configured
        .iter()
        .filter(|c| !library_in(planned, c))
        .collect();
    if !kept.is_empty() {
        notes.push(format!(
            "keeps the libraries the configuration already names: {}",
            kept.iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    (set_list_statement(PRELOAD, &merged), added)
}

async fn check_libraries(db: &ApplySession, prepared: &mut Prepared) {
    match db.missing_libraries(&prepared.added_libraries).await {
        Ok(missing) if missing.is_empty() => {}
        Ok(missing) => prepared.refusals.push(Refusal::new(
            Guard::MissingLibrary,
            format!(
                "the server has no library {} (looked along dynamic_library_path): install its \
                 package first; a missing preload library stops the server from starting",
                missing.join(", ")
            ),
        )),
        Err(e) => prepared.refusals.push(Refusal::new(
            Guard::MissingLibrary,
            format!(
                "could not check that {} exists on the server ({e}): apply as a superuser, or \
                 GRANT SELECT ON pg_config and EXECUTE ON FUNCTION pg_stat_file(text, boolean) \
                 to the applying role",
                prepared.added_libraries.join(", ")
            ),
        )),
    }
}

fn plan_steps(
    snapshot: &Snapshot,
    server_version_num: u32,
    statements: &[Statement],
    added: &[String],
) -> Vec<PlannedStep> {
    let running = snapshot
        .setting(PRELOAD)
        .and_then(|s| s.setting.as_deref())
        .map(split_list)
        .unwrap_or_default();
    let waits_for_restart =
        |library: &str| library_in(added, library) && !library_in(&running, library);
    // Before PostgreSQL 17 ALTER SYSTEM rejects settings of unloaded libraries.
    let needs_load = server_version_num < 170_000;
    let mut outside = Vec::new();
    let mut inside = Vec::new();
    let mut after = Vec::new();
    let mut loaded: Vec<String> = Vec::new();
    for statement in statements {
        match statement {
            Statement::SetSystem { parameter, .. } | Statement::ResetSystem { parameter } => {
                let prefix = parameter.split_once('.').map(|(p, _)| p.to_string());
                if let Some(library) = prefix.filter(|p| needs_load && waits_for_restart(p)) {
                    if !loaded.contains(&library) {
                        loaded.push(library.clone());
                        let load = Statement::Load { library };
                        outside.push(step(load, StepKind::Load, None, false));
                    }
                }
                let restart = snapshot
                    .setting(parameter)
                    .is_some_and(|s| s.context == "postmaster");
                outside.push(step(
                    statement.clone(),
                    StepKind::AlterSystem,
                    Some(parameter.clone()),
                    restart,
                ));
            }
            Statement::Other(text) if is_alter_system(text) => {
                outside.push(step(statement.clone(), StepKind::AlterSystem, None, false));
            }
            Statement::CreateExtension { name } if waits_for_restart(name) => {
                after.push(step(statement.clone(), StepKind::AfterRestart, None, false));
            }
            _ => inside.push(step(statement.clone(), StepKind::Transaction, None, false)),
        }
    }
    outside.extend(inside);
    outside.extend(after);
    outside
}

fn step(sql: Statement, kind: StepKind, parameter: Option<String>, restart: bool) -> PlannedStep {
    PlannedStep {
        sql,
        kind,
        parameter,
        restart,
    }
}

/// ALTER SYSTEM text no typed statement describes (a file written by an
/// older version may hold one): it still must not run in a transaction block.
fn is_alter_system(text: &str) -> bool {
    let words: Vec<String> = text
        .split_whitespace()
        .take(2)
        .map(str::to_lowercase)
        .collect();
    words == ["alter", "system"]
}

async fn capture_undo(
    db: &ApplySession,
    snapshot: &Snapshot,
    plan_rollback: &[Statement],
    prepared: &mut Prepared,
) {
    let parameters: Vec<String> = prepared
        .steps
        .iter()
        .filter_map(|s| s.parameter.clone())
        .collect();
    let configured = if parameters.is_empty() {
        None
    } else {
        match db.configured_values(&parameters).await {
            Ok(values) => Some(values),
            Err(e) => {
                prepared.notes.push(format!(
                    "could not read pg_file_settings ({e}): the undo statements restore what the \
                     scan saw"
                ));
                None
            }
        }
    };
    for parameter in &parameters {
        let undo = match &configured {
            Some(values) => match values.get(&parameter.to_lowercase()) {
                Some(v) if v.from_auto_conf() => alter_system_set(parameter, &v.value),
                _ => Statement::reset_system(parameter),
            },
            None => restore_parameter(snapshot, parameter),
        };
        prepared
            .compensation
            .entry(parameter.clone())
            .or_insert(undo);
    }
    let mut rollback: Vec<Statement> = parameters
        .iter()
        .rev()
        .filter_map(|p| prepared.compensation.get(p).cloned())
        .collect();
    rollback.dedup();
    for statement in plan_rollback {
        let covered = statement
            .system_parameter()
            .is_some_and(|p| prepared.compensation.contains_key(p));
        if !covered {
            rollback.push(statement.clone());
        }
    }
    prepared.rollback = rollback;
}

/// The rollback's preload list: the configured list without the libraries
/// the entry added (ones added by later fixes stay).
pub(super) fn preload_without(configured: &[String], added: &[String]) -> Statement {
    let kept: Vec<String> = configured
        .iter()
        .filter(|c| !library_in(added, c))
        .cloned()
        .collect();
    set_list_statement(PRELOAD, &kept)
}

/// The configured preload list, for a rollback.
pub(super) async fn configured_preload(
    db: &ApplySession,
    snapshot: &Snapshot,
    notes: &mut Vec<String>,
) -> Vec<String> {
    configured_libraries(db, snapshot, notes).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn preload_fixes_append_to_what_is_configured() {
        let mut notes = Vec::new();
        let (sql, added) = merge_preload(
            &strings(&["passwordcheck", "$libdir/My Lib.so"]),
            &strings(&["pgaudit"]),
            true,
            &mut notes,
        );
        assert_eq!(
            sql,
            "ALTER SYSTEM SET \"shared_preload_libraries\" = 'passwordcheck', '$libdir/My Lib.so', 'pgaudit'"
        );
        assert_eq!(added, ["pgaudit"]);
        assert!(notes[0].contains("passwordcheck"), "{notes:?}");
        let (sql, added) = merge_preload(
            &strings(&["PGAUDIT"]),
            &strings(&["pgaudit", "auth_delay"]),
            true,
            &mut notes,
        );
        assert_eq!(
            sql,
            "ALTER SYSTEM SET \"shared_preload_libraries\" = 'PGAUDIT', 'auth_delay'"
        );
        assert_eq!(added, ["auth_delay"]);
    }

    #[test]
    fn a_rollback_removes_only_its_own_libraries() {
        assert_eq!(
            preload_without(
                &strings(&["passwordcheck", "auth_delay", "pgaudit"]),
                &strings(&["auth_delay"])
            ),
            "ALTER SYSTEM SET \"shared_preload_libraries\" = 'passwordcheck', 'pgaudit'"
        );
        assert_eq!(
            preload_without(&strings(&["passwordcheck"]), &strings(&["passwordcheck"])),
            "ALTER SYSTEM RESET \"shared_preload_libraries\""
        );
    }
}

//! What the DBA confirmed, and whether that is enough: a high-impact fix
//! needs the database name typed, an irreversible one an explicit
//! acknowledgement, a config-file fix the choice of who writes the file; a
//! rollback needs an applied, not yet undone entry of the same server.

use super::changelog::{Action, ChangeLogEntry, Outcome};
use super::{ApplyError, Preview};
use crate::model::snapshot::Snapshot;

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

pub(super) fn check_confirmation(
    preview: &Preview,
    confirmation: &Confirmation,
) -> Result<(), ApplyError> {
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

pub(super) fn rollbackable(entry: &ChangeLogEntry) -> Result<(), ApplyError> {
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
    if entry
        .config_file
        .as_ref()
        .is_some_and(|c| c.backup_path.is_none())
    {
        return refuse("you saved that file yourself: put your copy back and reload");
    }
    let has_backup = entry.config_file.is_some();
    if entry.rollback.is_empty() && !has_backup {
        return refuse(if entry.irreversible {
            "the fix is irreversible"
        } else {
            "it recorded no undo statements"
        });
    }
    Ok(())
}

pub(super) fn same_server(entry: &ChangeLogEntry, snapshot: &Snapshot) -> Result<(), ApplyError> {
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

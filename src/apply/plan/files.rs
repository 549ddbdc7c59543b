//! Where plans are kept: one JSON file per plan (`<plan id>.json`) in a
//! `plans` folder beside the change log, written whole or not at all, so that
//! `--resume` and `--rollback` find the plan by its id after an interruption.

use crate::atomic_file;
use crate::model::plan::{PlanRecord, PLAN_FORMAT};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("there is no plan {id} in {dir}: the id is printed first when a plan is applied")]
    Unknown { id: String, dir: String },
    #[error("the plan file {path} is corrupt ({reason}): nothing was changed")]
    Corrupt { path: String, reason: String },
    #[error("cannot read the plan file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error(transparent)]
    Write(#[from] atomic_file::WriteError),
}

/// The plans folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanFiles {
    dir: PathBuf,
}

impl PlanFiles {
    /// The `plans` folder beside `change_log`.
    pub fn beside(change_log: &Path) -> PlanFiles {
        let parent = change_log
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        PlanFiles {
            dir: parent.join("plans"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of plan `id`; `None` for an id that is not one of ours (ids
    /// are letters, digits and dashes, so no path can hide in one).
    fn path_of(&self, id: &str) -> Option<PathBuf> {
        let plain = !id.is_empty()
            && id.len() <= 80
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        plain.then(|| self.dir.join(format!("{id}.json")))
    }

    pub fn save(&self, record: &PlanRecord) -> Result<PathBuf, PlanFileError> {
        let path = self
            .path_of(&record.plan.id)
            .ok_or_else(|| PlanFileError::Corrupt {
                path: self.dir.display().to_string(),
                reason: format!("the plan id {:?} is not a plan id", record.plan.id),
            })?;
        std::fs::create_dir_all(&self.dir).map_err(|e| PlanFileError::Read {
            path: self.dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut json = serde_json::to_vec_pretty(record).map_err(|e| PlanFileError::Corrupt {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        json.push(b'\n');
        atomic_file::write_atomically(&path, &json)?;
        Ok(path)
    }

    pub fn load(&self, id: &str) -> Result<PlanRecord, PlanFileError> {
        let unknown = || PlanFileError::Unknown {
            id: crate::model::untrusted::name(id),
            dir: self.dir.display().to_string(),
        };
        let path = self.path_of(id).ok_or_else(unknown)?;
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(unknown()),
            Err(e) => {
                return Err(PlanFileError::Read {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })
            }
        };
        let corrupt = |reason: String| PlanFileError::Corrupt {
            path: path.display().to_string(),
            reason,
        };
        let record: PlanRecord = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
        if record.plan.format != PLAN_FORMAT {
            return Err(corrupt(format!("format {:?}", record.plan.format)));
        }
        if record.plan.id != id {
            return Err(corrupt(format!("it holds plan {}", record.plan.id)));
        }
        let matches = record.progress.len() == record.plan.steps.len()
            && record
                .progress
                .iter()
                .zip(&record.plan.steps)
                .all(|(p, s)| p.check_id == s.check_id);
        if !matches {
            return Err(corrupt("its progress does not match its steps".into()));
        }
        Ok(record)
    }
}

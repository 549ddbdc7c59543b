//! What the GUI remembers between runs: the theme, training mode and saved
//! connection profiles, in `prefs.toml` in the platform config folder.
//!
//! A profile holds everything needed to reconnect **except the password**:
//! the type has no field for one, so no code path can write it. Passwords come
//! from the form, ~/.pgpass or PGPASSWORD at connect time. Must not import
//! `db` or other ui modules except `theme`.

use super::theme::ThemeChoice;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PrefsError {
    #[error("cannot read preferences {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("preferences {path} are not valid (delete the file to start afresh): {message}")]
    Parse { path: String, message: String },
    #[error("cannot encode preferences: {0}")]
    Encode(String),
    #[error(transparent)]
    Write(#[from] crate::atomic_file::WriteError),
    #[error("cannot create the config folder {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
}

/// A saved connection, without its password.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectionProfile {
    /// Shown in the list, e.g. `scanner@db1:5432/clinic`.
    pub name: String,
    pub host: String,
    pub port: String,
    pub dbname: String,
    pub user: String,
    /// libpq spelling: disable, allow, prefer, require, verify-ca, verify-full.
    pub sslmode: String,
    pub sslrootcert: String,
    pub sslcert: String,
    pub sslkey: String,
}

/// Everything the GUI persists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    pub theme: ThemeChoice,
    /// Training mode as the user last switched it; `None` (never switched):
    /// on for the demo, off elsewhere.
    pub training: Option<bool>,
    pub profiles: Vec<ConnectionProfile>,
    /// Export option: the TSA that timestamps exported reports (empty: none).
    pub tsa_url: String,
}

impl Prefs {
    /// Add or replace (by name) a profile, keeping the list sorted by name.
    pub fn upsert_profile(&mut self, profile: ConnectionProfile) {
        self.profiles.retain(|p| p.name != profile.name);
        self.profiles.push(profile);
        self.profiles.sort_by(|a, b| a.name.cmp(&b.name));
    }

    pub fn remove_profile(&mut self, name: &str) {
        self.profiles.retain(|p| p.name != name);
    }

    pub fn to_toml(&self) -> Result<String, PrefsError> {
        toml::to_string_pretty(self).map_err(|e| PrefsError::Encode(e.to_string()))
    }
}

/// Where preferences live; `None` keeps them in memory only (tests, demo).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefsStore {
    path: Option<PathBuf>,
}

impl PrefsStore {
    /// `prefs.toml` in the platform config folder
    /// (e.g. `~/.config/pgsafeguard/` on Linux), if the platform has one.
    pub fn platform() -> PrefsStore {
        let path =
            crate::platform_dirs::project_dirs().map(|dirs| dirs.config_dir().join("prefs.toml"));
        PrefsStore { path }
    }

    pub fn at(path: impl Into<PathBuf>) -> PrefsStore {
        PrefsStore {
            path: Some(path.into()),
        }
    }

    pub fn in_memory() -> PrefsStore {
        PrefsStore { path: None }
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The saved preferences; a missing file means defaults.
    pub fn load(&self) -> Result<Prefs, PrefsError> {
        let Some(path) = &self.path else {
            return Ok(Prefs::default());
        };
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Prefs::default()),
            Err(source) => {
                return Err(PrefsError::Read {
                    path: shown,
                    source,
                })
            }
        };
        toml::from_str(&text).map_err(|e| PrefsError::Parse {
            path: shown,
            message: e.message().to_string(),
        })
    }

    pub fn save(&self, prefs: &Prefs) -> Result<(), PrefsError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| PrefsError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let text = prefs.to_toml()?;
        crate::atomic_file::write_atomically(path, text.as_bytes())?;
        Ok(())
    }
}

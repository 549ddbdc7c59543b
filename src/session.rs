//! The session file: what a hardening session needs to continue tomorrow or
//! to be opened by an auditor offline — the snapshot, the attestations, the
//! reviewer's notes and (later) the log of applied fixes.
//!
//! Owns the file format (`pgsafeguard.session/1`, JSON) and its safe writing.
//! Must not import `db`, `ui` or `report`: the GUI and the CLI both read it.
//!
//! # Behavior
//!
//! [`SessionFile::save`] never leaves a half-written file behind: it goes
//! through [`crate::atomic_file`] (temporary file beside the target, fsync,
//! rename), so a crash leaves either the old file or the new one.
//! [`SessionFile::load`] tells apart a file that cannot be read, one that is
//! not a session at all, and one written by an unknown schema.

use crate::atomic_file::{write_atomically, WriteError};
use crate::model::changelog::ChangeLogEntry;
use crate::model::snapshot::Snapshot;
use crate::policy::Attestations;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The `schema` value this version writes and reads.
pub const SESSION_SCHEMA: &str = "pgsafeguard.session/1";

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("cannot read session file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid pgSafeguard session file: {message}")]
    Corrupt { path: String, message: String },
    #[error(
        "{path} is a session of schema {found:?}; this version reads {SESSION_SCHEMA:?} — open it with a matching pgSafeguard"
    )]
    WrongSchema { path: String, found: String },
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("cannot encode the session: {0}")]
    Encode(String),
}

/// A saved hardening session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionFile {
    /// Always [`SESSION_SCHEMA`].
    pub schema: String,
    pub snapshot: Snapshot,
    #[serde(default)]
    pub attestations: Attestations,
    /// Free-text notes by check id (or any key the GUI chooses).
    #[serde(default)]
    pub notes: BTreeMap<String, String>,
    /// Applied fixes and rollbacks, as the change log records them.
    #[serde(default)]
    pub change_log: Vec<ChangeLogEntry>,
}

/// Only the header, read first so a wrong schema gets its own message
/// instead of a confusing field error.
#[derive(Deserialize)]
struct Header {
    schema: Option<String>,
}

impl SessionFile {
    /// A fresh session around a snapshot.
    pub fn new(snapshot: Snapshot) -> SessionFile {
        SessionFile {
            schema: SESSION_SCHEMA.to_string(),
            snapshot,
            attestations: Attestations::default(),
            notes: BTreeMap::new(),
            change_log: Vec::new(),
        }
    }

    /// Read and validate a session file.
    pub fn load(path: &Path) -> Result<SessionFile, SessionError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SessionError::Read {
            path: shown.clone(),
            source,
        })?;
        SessionFile::from_json(&text, &shown)
    }

    /// Parse session JSON; `shown` names the source in error messages.
    pub fn from_json(text: &str, shown: &str) -> Result<SessionFile, SessionError> {
        let corrupt = |e: serde_json::Error| SessionError::Corrupt {
            path: shown.to_string(),
            message: e.to_string(),
        };
        let header: Header = serde_json::from_str(text).map_err(corrupt)?;
        match header.schema.as_deref() {
            Some(SESSION_SCHEMA) => {}
            Some(other) => {
                return Err(SessionError::WrongSchema {
                    path: shown.to_string(),
                    found: other.to_string(),
                })
            }
            None => {
                return Err(SessionError::Corrupt {
                    path: shown.to_string(),
                    message: "no \"schema\" field".to_string(),
                })
            }
        }
        serde_json::from_str(text).map_err(corrupt)
    }

    /// Pretty JSON, the bytes [`SessionFile::save`] writes.
    pub fn to_json(&self) -> Result<String, SessionError> {
        serde_json::to_string_pretty(self).map_err(|e| SessionError::Encode(e.to_string()))
    }

    /// Write atomically: the old file or the new one, never a mix.
    pub fn save(&self, path: &Path) -> Result<(), SessionError> {
        let mut bytes = self.to_json()?.into_bytes();
        bytes.push(b'\n');
        Ok(write_atomically(path, &bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::finding::Attestation;

    fn sample() -> SessionFile {
        let mut session = SessionFile::new(Snapshot {
            schema_version: crate::model::snapshot::SCHEMA_VERSION,
            collected_at: "2026-11-27T10:00:00Z".into(),
            ..Snapshot::default()
        });
        session.attestations.0.insert(
            "ADM-001".into(),
            Attestation {
                by: "A. Auditor".into(),
                at: "2026-11-27".into(),
                note: "risk analysis on file".into(),
            },
        );
        session
            .notes
            .insert("TLS-001".into(), "certificate ordered".into());
        session
    }

    #[test]
    fn round_trip_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let session = sample();
        session.save(&path).unwrap();
        assert_eq!(SessionFile::load(&path).unwrap(), session);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file may remain");
    }

    #[test]
    fn corrupt_and_foreign_files_say_so() {
        let err = SessionFile::from_json("{\"schema\": \"pgsafeguard.sess", "x.json").unwrap_err();
        assert!(matches!(err, SessionError::Corrupt { .. }), "{err}");
        let err = SessionFile::from_json("{\"schema\": \"other/9\"}", "x.json").unwrap_err();
        assert!(matches!(err, SessionError::WrongSchema { .. }), "{err}");
        let err = SessionFile::from_json("{\"snapshot\": {}}", "x.json").unwrap_err();
        assert!(err.to_string().contains("schema"), "{err}");
    }
}

//! The restore drill (issue 20): restore a base backup (or a pgBackRest
//! stanza) into a throwaway folder on this machine, recover it from the WAL
//! archive on a private server, check what came back, measure how long it
//! took, and remove it all.
//!
//! # API (the CLI and the GUI code against this)
//!
//! ```text
//! run(&request, &cancel, &mut |stage| …) → Ok(DrillRecord)   passed, failed or inconclusive
//!                                        → Err(DrillError)   bad input, cancelled, a tool failed
//! Cancel::new() / .cancel()              → stops tools and the server; run() returns Cancelled
//! ```
//!
//! `run` blocks (seconds to hours); call it from a thread that may block.
//!
//! # Behavior
//!
//! - **Never touches production.** The backup and the archive are only
//!   read. The copy lives in `pgsafeguard-drill-<uid>/<pid>-<starttime>-<n>/`
//!   under `--work-dir` or the temp folder, owned like a demo (see
//!   `demo/owner.rs`): a folder whose owner died is removed by the next run,
//!   its server stopped first. The drill writes its own configuration
//!   (`config.rs`): archiving off, no TCP, no preload libraries, no
//!   replication settings, tablespaces relocated into the folder. A work
//!   folder inside a running cluster's data directory, the backup or the
//!   archive is refused.
//! - **PostgreSQL does not fail on a gap or damaged WAL**, so the archive is
//!   walked first (`archive.rs`), and after recovery the replay end is
//!   compared with the archive's last record and the server log read for
//!   damage (`inspect.rs`). The first missing or bad file is named.
//! - **The server** is the demo's supervised one (`demo::server`): started
//!   directly, dying with the app (parent-death signal), stopped on cancel.
//!   Its binaries are the backup's major version (`Discovery::find_major`).
//! - **Timing**: each phase is timed; RTO is the start of the drill to a
//!   queryable, promoted server; the overhead is everything except copying,
//!   recovery and `pg_checksums`.
//!
//! May import `demo` (server, folders, binaries), `db` (to query the
//! recovered server), and `model` (the PHI name rule is `model::phi_names`).

mod archive;
mod config;
mod inspect;
mod pgbackrest;
mod restore;
mod run;
mod tools;
pub mod wal;

use crate::demo::binaries::Discovery;
use crate::demo::owner::postmaster_of;
use crate::demo::server::{send_signal, Signal};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub use run::run;

/// What to restore from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrillFrom {
    /// A pg_basebackup folder or tar, and the WAL archive folder.
    BaseBackup {
        backup: PathBuf,
        wal_archive: PathBuf,
    },
    /// The newest backup of a pgBackRest stanza; `config` is pgbackrest's
    /// `--config` (default: its own, /etc/pgbackrest.conf).
    Pgbackrest {
        stanza: String,
        config: Option<PathBuf>,
    },
}

/// How far to recover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrillGoal {
    Latest,
    Time(time::OffsetDateTime),
}

/// One drill to run.
#[derive(Debug, Clone)]
pub struct DrillRequest {
    pub from: DrillFrom,
    pub goal: DrillGoal,
    /// Parent of the throwaway folder (default: the temp folder).
    pub work_dir: Option<PathBuf>,
    /// The role the checks connect as over the private socket (trust).
    pub superuser: String,
    pub discovery: Discovery,
}

impl DrillRequest {
    pub fn new(from: DrillFrom, goal: DrillGoal) -> DrillRequest {
        DrillRequest {
            from,
            goal,
            work_dir: None,
            superuser: String::from("postgres"),
            discovery: Discovery::from_env(),
        }
    }
}

/// Where a drill is, for a progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrillStage {
    CleaningUp,
    Restoring,
    WalkingArchive,
    Recovering,
    Checking,
    Checksums,
    Removing,
    Done,
}

impl DrillStage {
    pub fn label(&self) -> &'static str {
        match self {
            DrillStage::CleaningUp => "removing drills left by an earlier run",
            DrillStage::Restoring => "copying the backup into a throwaway folder",
            DrillStage::WalkingArchive => "walking the WAL archive (pg_waldump)",
            DrillStage::Recovering => "recovering on a private server",
            DrillStage::Checking => "checking the recovered databases",
            DrillStage::Checksums => "verifying data checksums (pg_checksums)",
            DrillStage::Removing => "stopping and removing the throwaway copy",
            DrillStage::Done => "the drill is finished",
        }
    }
}

/// Why a drill could not run. A drill that ran and found a gap is not an
/// error: it is a failed [`crate::model::drill::DrillRecord`].
#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    /// Bad input: paths, times, versions, missing programs (exit 2).
    #[error("{0}")]
    Input(String),
    #[error("the drill was cancelled; its server and folder are gone")]
    Cancelled,
    #[error("{program} failed during the drill: {detail}")]
    Tool { program: String, detail: String },
    #[error("the drill's throwaway folder: {0}")]
    Folder(String),
}

impl From<crate::demo::DemoError> for DrillError {
    fn from(e: crate::demo::DemoError) -> DrillError {
        match e {
            crate::demo::DemoError::NoBinaries { hint } => DrillError::Input(hint),
            other => DrillError::Folder(other.to_string()),
        }
    }
}

/// Stops a running drill from another thread (Ctrl+C, the GUI's Cancel).
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    cancelled: Arc<AtomicBool>,
    /// The copy's data directory once it exists: its postmaster is stopped
    /// at once on cancel (recovery may be hours long).
    data_dir: Arc<Mutex<Option<PathBuf>>>,
}

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        let data_dir = self
            .data_dir
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone();
        if let Some(pid) = data_dir.as_deref().and_then(postmaster_of) {
            send_signal(pid, Signal::QUIT);
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    fn watch(&self, data_dir: Option<PathBuf>) {
        *self
            .data_dir
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = data_dir;
    }
}

//! The live demo: an app-owned, throwaway PostgreSQL cluster seeded like the
//! guide's example (`clinic` database, plaintext PHI, a hurried install's
//! settings), so a new DBA can scan, fix and re-check without a server of
//! their own.
//!
//! # API (the GUI and the CLI code against this)
//!
//! ```text
//! Discovery::from_env().find()           → Ok(PgBinaries) | Err(DemoError::NoBinaries { hint })
//! DemoCluster::start(&mut |stage| …)     → DemoCluster (blocking, ~1.5 s; run it in spawn_blocking)
//! DemoCluster::start_with(&discovery, …) → the same with injected discovery inputs
//!   .conn_params()                       → ConnParams: admin `postgres` over the unix socket,
//!                                          scram password and a throwaway pgcrypto key
//!                                          (`-c app.phi_key=…`) held only in memory
//!   .restart() / .restart_async().await  → only this demo's server, ready when it returns
//!   .stop()  (or drop)                   → server stopped, folder removed
//!   .data_dir() .root_dir() .server_log() .port() .postmaster_pid()
//! settle_on_demo(&demo, &applier, entry, &log).await
//!                                        → after Applier::apply: restart if the entry waits
//!                                          for one, verify, apply the deferred rest
//! needs_restart(&entry)                  → whether settle_on_demo would restart
//! stop_all_running()                     → Ctrl+C / SIGTERM path: stops every live demo
//! ```
//!
//! `DemoCluster` is `Send + Sync`; share it in an `Arc`.
//!
//! # Behavior
//!
//! - Lives in `temp_dir()/pgsafeguard-demo-<uid>/<pid>-<starttime>-<n>/`
//!   (`/tmp` when running as root or when TMPDIR is too long for a socket
//!   path). The folder name records the owning process (pid and its start
//!   time from `/proc/<pid>/stat`, which survives pid reuse); every start
//!   first removes demos whose owner is gone, stopping their server only
//!   after checking it is a postgres whose working directory is that demo's
//!   data directory.
//! - `postgres` is started directly (not via pg_ctl) by one long-lived
//!   supervisor thread per demo, with `PR_SET_PDEATHSIG = SIGQUIT`: if the
//!   app dies, the server stops with it. As root, initdb and postgres run as
//!   the `postgres` OS user.
//! - The server listens on its private unix socket folder only (the port
//!   just names the socket file): nothing on the network can reach the
//!   demo's trust and md5 lines or its superuser app role. TLS checks judge
//!   the settings and pg_hba.conf, which need no TCP; TLS-006 (the
//!   certificate seen in a handshake) says unknown over the socket.
//! - fsync stays on (GEN-003 must fail only for the guide's reasons);
//!   initdb runs with `--no-sync`, which is where the time would go.
//! - Seeded like the guide's example (`seed.rs`), left like a hurried
//!   install (`setup.rs`): every guide section has failing checks, and most
//!   fixes apply on the demo (tests/demo_live.rs lists those that cannot).
//!
//! Must not import `ui` or `cli`.

pub mod binaries;
mod cluster;
pub mod owner;
mod seed;
pub mod server;
mod settle;
mod setup;

use crate::apply::ApplyError;
use std::path::PathBuf;

pub use binaries::{Discovery, PgBinaries, ServerUser};
pub use cluster::{stop_all_running, DemoCluster};
pub use owner::process_alive;
pub use seed::{APP_ROLE, CLINIC_DB};
pub use settle::{needs_restart, settle_on_demo};

/// Where [`DemoCluster::start`] is, for a progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoStage {
    CleaningUp,
    InitDb,
    Configuring,
    Starting,
    Seeding,
    Ready,
}

impl DemoStage {
    /// A short line for the progress display.
    pub fn label(&self) -> &'static str {
        match self {
            DemoStage::CleaningUp => "removing demos left by an earlier run",
            DemoStage::InitDb => "creating the demo cluster (initdb)",
            DemoStage::Configuring => "configuring it like a hurried install",
            DemoStage::Starting => "starting the demo server",
            DemoStage::Seeding => "loading the clinic database",
            DemoStage::Ready => "the demo database is ready",
        }
    }
}

/// Why the demo could not start or restart. One line each.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{hint}")]
    NoBinaries { hint: String },
    #[error("could not prepare the demo folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{program} failed for the demo: {detail}")]
    Program { program: String, detail: String },
    #[error("the demo server did not start: {detail}")]
    Start { detail: String },
    #[error("could not load the demo data: {0}")]
    Seed(String),
    #[error("the demo server is stopped: start the demo again")]
    Stopped,
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

//! `pgsafeguard` without a subcommand, and `pgsafeguard demo`: the desktop app.
//!
//! The binary owns the tokio runtime; the window gets its handle so network
//! and file work never run on the UI thread.

use crate::ui::{run_gui, GuiOptions};
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

pub(super) fn run_app(open_session: Option<PathBuf>, demo: bool) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("pgsafeguard-worker")
        .build()
        .context("cannot start the async runtime")?;
    run_gui(GuiOptions {
        runtime: runtime.handle().clone(),
        open_session,
        demo,
    })?;
    // Background jobs still running (a scan in flight) end with the window.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    Ok(ExitCode::SUCCESS)
}

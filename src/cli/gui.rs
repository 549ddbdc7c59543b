//! `pgsafeguard` without a subcommand, and `pgsafeguard demo`: the desktop app.
//!
//! The command line owns the tokio runtime; the window gets its handle so
//! network and file work never run on the UI thread. A store named with
//! `--store` that cannot be opened stops here with exit 2, before the
//! window opens; the default store's failure is a notice in the window. While the window is open,
//! Ctrl+C, SIGTERM and SIGHUP stop the demo cluster before the process
//! exits, so no postgres is left behind.

use super::LazyRuntime;
use crate::store::StoreChoice;
use crate::ui::{run_gui, DemoMode, GuiOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code after Ctrl+C or a termination signal (128 + SIGINT).
const INTERRUPTED: i32 = 130;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "The demo is a throwaway PostgreSQL cluster in a temporary folder, reachable \
    only through its own socket; it is stopped and deleted when the window closes. It needs \
    the PostgreSQL server programs (initdb, postgres); without them the app opens the bundled \
    offline sample and says what to install."
)]
pub struct DemoArgs {
    /// Open the bundled offline sample instead of starting a demo server
    #[arg(long)]
    pub offline: bool,
}

pub(super) fn run_demo(
    args: DemoArgs,
    runtime: &LazyRuntime,
    store: StoreChoice,
) -> anyhow::Result<ExitCode> {
    let mode = if args.offline {
        DemoMode::Offline
    } else {
        DemoMode::Live
    };
    run_app(runtime, None, Some(mode), store)
}

/// Opens the window; background jobs still running when it closes (a scan in
/// flight) end with the runtime, in [`LazyRuntime`]'s shutdown.
pub(super) fn run_app(
    runtime: &LazyRuntime,
    open_session: Option<PathBuf>,
    demo: Option<DemoMode>,
    store: StoreChoice,
) -> anyhow::Result<ExitCode> {
    if store.is_explicit() {
        // Opened once to fail early (the window opens it again off its UI thread).
        drop(store.open()?);
    }
    let runtime = runtime.get()?;
    runtime.spawn(stop_demo_on_signal());
    let outcome = run_gui(GuiOptions {
        runtime: runtime.handle().clone(),
        open_session,
        demo,
        store,
    });
    // The App owns the demo and stops it when dropped; this also covers a
    // settle job still holding it when the window closed.
    crate::demo::stop_all_running();
    outcome?;
    Ok(ExitCode::SUCCESS)
}

/// Wait for Ctrl+C, SIGTERM or SIGHUP; stop every demo; exit 130 at once,
/// whatever the window is doing (the one `process::exit` of the crate).
#[allow(clippy::exit)]
async fn stop_demo_on_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut hangup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        // Without handlers the default action still ends the process; the
        // demo server then stops through its parent-death signal.
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = hangup.recv() => {}
    }
    crate::demo::stop_all_running();
    std::process::exit(INTERRUPTED);
}

//! Live tests of the active probes (issue 15): for each probe a cluster where
//! it holds and one where it is broken, including servers whose settings alone
//! look fine. One test binary for all probes, one module per probe family.

// Test code: a failed set-up step should panic with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

#[path = "probes_live/auth.rs"]
mod auth;
#[path = "probes_live/cli.rs"]
mod cli;
#[path = "probes_live/rls_audit.rs"]
mod rls_audit;
#[path = "probes_live/transport.rs"]
mod transport;

// What every probe module needs to drive `scan_live` with probes.

use pgsafeguard::db::conninfo::ConnParams;
use pgsafeguard::model::proof::Probe;
use pgsafeguard::scan::ProbeOptions;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Connection parameters from the conninfo alone (no PG* variable of this machine).
fn params(conninfo: &str) -> ConnParams {
    ConnParams::from_conninfo_with_env(conninfo, &|_| None).expect("conninfo parses")
}

/// Options running only `probe`; the test servers are not verified over TCP.
fn only(probe: Probe) -> ProbeOptions {
    ProbeOptions {
        probes: vec![probe],
        insecure: true,
        ..ProbeOptions::default()
    }
}

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

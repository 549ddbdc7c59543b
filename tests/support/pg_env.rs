//! The one rule for what a test's child process inherits: none of the caller's `PG*`
//! variables. libpq reads dozens of them (PGHOST, PGSSLMODE, PGSERVICE, PGOPTIONS …) and
//! pgSafeguard its own `PGSAFEGUARD_*`; a developer's shell may set any of them, and a test
//! must see only the connection string and environment it gives.
//!
//! Plain std, no harness: a test binary without the live harness includes it with
//! `#[path = "support/pg_env.rs"] mod pg_env;`.

use std::process::Command;

/// `cmd` without any variable of the caller whose name starts with `PG`; variables set on
/// `cmd` afterwards still apply.
pub fn without_libpq_env(cmd: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PG") {
            cmd.env_remove(name);
        }
    }
    cmd
}

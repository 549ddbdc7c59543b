//! Running the built `pgsafeguard` binary offline, and the one rule for how a bad input
//! fails: exit 2, exactly one line on stderr, nothing on stdout, no panic.
//!
//! Plain std, no harness: a test binary includes it beside `pg_env` with
//! `#[path = "support/pg_env.rs"] mod pg_env;` and `#[path = "support/cli.rs"] mod cli;`.

use super::pg_env;
use std::process::{Command, Output};

/// Run the binary with `args`, none of the caller's `PG*` variables, and `env` on top.
pub fn pgsafeguard(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgsafeguard"));
    cmd.args(args);
    pg_env::without_libpq_env(&mut cmd);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run pgsafeguard")
}

/// Exit 2, exactly one line on stderr, nothing on stdout, no panic; returns stderr.
pub fn assert_clean_error(out: &Output, must_mention: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr:?}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.to_lowercase().contains(&must_mention.to_lowercase()),
        "{stderr:?} should mention {must_mention:?}"
    );
    stderr
}

//! Puts a generated [`Layout`] into a throwaway cluster of the test harness, and reads back
//! what pgSafeguard sent to the server (from the server log, `log_statement = all`).
//!
//! Shared by the live scale driver (`scale_cluster.rs`) and `tests/scale_live.rs`; both
//! mount the harness as `crate::support` and the catalog as `crate::catalog`.

// Each consumer uses a different part.
#![allow(dead_code)]

use crate::catalog::{Layout, DATABASE};
use crate::support::{self, pg_binaries, Cluster, SUPERUSER};
use std::process::Command;
use std::time::{Duration, Instant};

/// The application name pgSafeguard connects with (its statements are picked from the log
/// by it).
pub const SCANNER_APPLICATION: &str = "pgsafeguard";

/// A cluster tuned for building large catalogs fast (no fsync: it is thrown away), with a
/// log line prefix that names the application, listening on 127.0.0.1 with SCRAM.
pub fn start_cluster() -> Cluster {
    support::plain()
        .conf("fsync = off")
        .conf("synchronous_commit = off")
        .conf("full_page_writes = off")
        .conf("log_line_prefix = '%m [%p] app=%a '")
        .start()
}

/// Creates [`DATABASE`] and runs the layout's script in it with one psql call. Returns how
/// long the script took.
pub fn load(cluster: &Cluster, layout: &Layout) -> Duration {
    cluster.psql("postgres", &format!("CREATE DATABASE {DATABASE}"));
    let script = cluster.root_dir().join("scale.sql");
    std::fs::write(&script, layout.sql()).expect("write the generated script");
    let started = Instant::now();
    let output = Command::new(&pg_binaries().psql)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
        .arg(cluster.conninfo_socket(SUPERUSER, cluster.superuser_password(), DATABASE, ""))
        .arg("-f")
        .arg(&script)
        .output()
        .expect("run psql");
    let elapsed = started.elapsed();
    assert!(
        output.status.success(),
        "the generated script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    elapsed
}

/// `host=127.0.0.1 … dbname=scale sslmode=disable` for the superuser, without the
/// password (give it through PGPASSFILE or append `password=…`).
pub fn tcp_conninfo(cluster: &Cluster) -> String {
    format!(
        "host=127.0.0.1 port={} user={SUPERUSER} dbname={DATABASE} sslmode=disable",
        cluster.port()
    )
}

/// [`tcp_conninfo`] with the superuser's password.
pub fn tcp_conninfo_with_password(cluster: &Cluster) -> String {
    format!(
        "{} password={}",
        tcp_conninfo(cluster),
        support::conninfo_value(cluster.superuser_password())
    )
}

/// Runs `work` with `log_statement = all` and returns its result and the statements that
/// sessions of [`SCANNER_APPLICATION`] sent meanwhile, in log order.
pub fn logged_statements<T>(cluster: &Cluster, work: impl FnOnce() -> T) -> (T, Vec<String>) {
    let before = cluster.read_server_logs().len();
    cluster.psql("postgres", "ALTER SYSTEM SET log_statement = 'all'");
    cluster.reload();
    let result = work();
    cluster.psql("postgres", "ALTER SYSTEM RESET log_statement");
    cluster.reload();
    let logs = cluster.read_server_logs();
    let statements = statements_in_log(logs.get(before..).unwrap_or(&logs));
    (result, statements)
}

/// Statements of [`SCANNER_APPLICATION`] in stderr-format log text: `statement: …` (simple
/// protocol) and `execute <name>: …` (extended), with their continuation lines (which
/// PostgreSQL indents with a tab).
pub fn statements_in_log(text: &str) -> Vec<String> {
    let marker = format!("app={SCANNER_APPLICATION} ");
    let mut statements: Vec<String> = Vec::new();
    let mut continuing = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix('\t') {
            if continuing {
                if let Some(last) = statements.last_mut() {
                    last.push('\n');
                    last.push_str(rest);
                }
            }
            continue;
        }
        continuing = false;
        if !line.contains(&marker) {
            continue;
        }
        if let Some(sql) = logged_sql(line) {
            statements.push(sql.to_string());
            continuing = true;
        }
    }
    statements
}

fn logged_sql(line: &str) -> Option<&str> {
    let (_, message) = line.split_once("LOG:  ")?;
    if let Some(sql) = message.strip_prefix("statement: ") {
        return Some(sql);
    }
    let rest = message.strip_prefix("execute ")?;
    rest.split_once(": ").map(|(_, sql)| sql)
}

/// The statements as a psql script (one per line, each ended by a semicolon).
pub fn as_script(statements: &[String]) -> String {
    let mut script = String::new();
    for statement in statements {
        script.push_str(statement.trim_end().trim_end_matches(';'));
        script.push_str(";\n");
    }
    script
}

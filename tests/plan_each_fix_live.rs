//! Every automatable fix on its own (issue 24): for each step of the whole plan of the
//! insecure test cluster, a fresh insecure cluster; `fix --id X --with-prerequisites` (with
//! the server restarted where the tool says it must be); X passes after a rescan; rolling
//! back every entry, newest first (and restarting again), puts X back where it was.
//!
//! Failures are collected over all fixes and reported together, so one run names every fix
//! that does not fix.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use pgsafeguard::apply::plan::{self, Selection};
use pgsafeguard::apply::{Applier, ChangeLog};
use pgsafeguard::checks;
use pgsafeguard::db::conninfo::ConnParams;
use pgsafeguard::model::changelog::{Action, ChangeLogEntry, Outcome};
use pgsafeguard::model::finding::{Finding, Status};
use pgsafeguard::policy::{Attestations, Policy};
use pgsafeguard::scan::{self, ScanOptions};
use std::process::{Command, Output, Stdio};
use support::{insecure, Cluster, CLINIC_DB};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The superuser on the Unix socket: pg_hba's host lines can change freely.
fn socket_conninfo(cluster: &Cluster) -> String {
    cluster.conninfo_socket(
        cluster.superuser(),
        cluster.superuser_password(),
        CLINIC_DB,
        "",
    )
}

fn params(conninfo: &str) -> ConnParams {
    ConnParams::from_conninfo_with_env(conninfo, &|_| None).expect("conninfo")
}

fn pgsafeguard(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgsafeguard"));
    cmd.args(args).stdin(Stdio::null());
    support::without_libpq_env(&mut cmd)
        .output()
        .expect("run pgsafeguard")
}

fn text_of(out: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn finding(conninfo: &str, id: &str) -> Finding {
    let snapshot = runtime()
        .block_on(scan::scan_live(
            &params(conninfo),
            &ScanOptions::default(),
            scan::no_progress(),
        ))
        .expect("scan");
    checks::evaluate_all(&snapshot, &Policy::default(), &Attestations::default())
        .into_iter()
        .find(|f| f.id == id)
        .expect("finding")
}

/// The checks the whole plan of a fresh insecure cluster applies.
fn automatable() -> Vec<String> {
    let cluster = insecure();
    let applier = Applier::new(params(&socket_conninfo(&cluster)), Policy::default());
    let plan = runtime()
        .block_on(plan::prepare(&applier, &Selection::All))
        .expect("plan");
    plan.steps.into_iter().map(|s| s.check_id).collect()
}

/// Applies `id` with its prerequisites, restarting and running the command again wherever
/// the tool says so (as a DBA would); `Err` says why it could not.
fn apply_with_prerequisites(
    cluster: &mut Cluster,
    conninfo: &str,
    id: &str,
    log: &str,
) -> Result<(), String> {
    let args = [
        "fix",
        conninfo,
        "--id",
        id,
        "--with-prerequisites",
        "--yes",
        "--write-config-file",
        "--change-log",
        log,
        "--no-store",
    ];
    // At most three rounds: the prerequisites' restart, the fix's own, and the statements
    // that need what the restart loaded.
    for _ in 0..3 {
        let out = pgsafeguard(&args);
        let text = text_of(&out);
        if out.status.code() != Some(0) {
            return Err(format!("fix failed: {text}"));
        }
        let again =
            text.contains("wait for a server restart") || text.contains("run this command again");
        if text.contains("after restarting the server") || again {
            cluster.restart();
        }
        if !again {
            return Ok(());
        }
    }
    Err("still asked to run again after three rounds".into())
}

/// Rolls back every applied entry of the log, newest first, then restarts.
fn roll_back_all(cluster: &mut Cluster, conninfo: &str, log: &str) -> Result<(), String> {
    let entries = ChangeLog::at(log).entries().map_err(|e| e.to_string())?;
    // The log appends a new copy of an entry when it changes: the last copy counts.
    let mut latest: Vec<&ChangeLogEntry> = Vec::new();
    for entry in &entries {
        match latest.iter().position(|l| l.id == entry.id) {
            Some(at) => latest[at] = entry,
            None => latest.push(entry),
        }
    }
    for entry in latest.iter().rev().filter(|e| {
        e.action == Action::Apply
            && e.outcome == Outcome::Applied
            && e.rolled_back_by.is_none()
            && (!e.rollback.is_empty() || e.config_file.is_some())
    }) {
        let out = pgsafeguard(&[
            "fix",
            conninfo,
            "--rollback",
            &entry.id,
            "--yes",
            "--change-log",
            log,
            "--no-store",
        ]);
        if out.status.code() != Some(0) {
            return Err(format!(
                "rollback of {} failed: {}",
                entry.id,
                text_of(&out)
            ));
        }
    }
    cluster.restart();
    Ok(())
}

fn one_fix(id: &str) -> Result<(), String> {
    let mut cluster = insecure();
    let conninfo = socket_conninfo(&cluster);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("change-log.jsonl");
    let log = log.to_str().unwrap();
    let before = finding(&conninfo, id);
    if !matches!(before.status, Status::Fail | Status::Warn) {
        return Err(format!("not open on a fresh cluster: {}", before.status));
    }
    apply_with_prerequisites(&mut cluster, &conninfo, id, log)?;
    let after = finding(&conninfo, id);
    if after.status != Status::Pass {
        return Err(format!(
            "{} after its fix: {}",
            after.status, after.evidence
        ));
    }
    roll_back_all(&mut cluster, &conninfo, log)?;
    let undone = finding(&conninfo, id);
    if undone.status != before.status {
        return Err(format!(
            "rollback left it {} (was {}): {}",
            undone.status, before.status, undone.evidence
        ));
    }
    Ok(())
}

#[test]
fn each_automatable_fix_fixes_with_its_prerequisites_and_rolls_back() {
    let ids = automatable();
    assert!(
        ids.len() >= 20,
        "the whole plan has {} steps: {ids:?}",
        ids.len()
    );
    let failures: Vec<String> = ids
        .iter()
        .filter_map(|id| one_fix(id).err().map(|why| format!("{id}: {why}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} fixes did not fix and roll back:\n{}",
        failures.len(),
        ids.len(),
        failures.join("\n")
    );
}

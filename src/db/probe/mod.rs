//! Active probes (issue 15): try what a safeguard forbids and record what the
//! server answers, as [`CheckProof`]s for the snapshot's [`ProbeRun`].
//!
//! - [`transport`]: a startup without TLS, TLS handshakes capped at old
//!   versions, weak cipher offers, direct TLS, the certificate chain;
//! - [`auth`]: the server's first answer to a startup, per role and database;
//! - [`rls`]: rows each login role can see, in a rolled-back read-only transaction;
//! - [`audit`]: a tagged `SELECT … LIMIT 0` that must reach the log as an audit line.
//!
//! Probes are off unless asked, bounded in count and time, announce themselves
//! with `application_name = pgsafeguard-probe…`, never send a password and
//! never write. [`refusal`] keeps them from talking to a server the scan did
//! not verify. Server text in answers is kept verbatim (redacted where it can
//! carry secrets) and shown through `model::untrusted`.
//!
//! Part of `db` (the only room that talks to PostgreSQL); must not import
//! `checks`, `ui` or `report`.

pub mod audit;
pub mod auth;
pub mod rls;
mod sql_session;
pub mod targets;
pub mod transport;
pub mod wire;

use crate::db::conninfo::ConnParams;
use crate::model::conninfo::SslMode;
use crate::model::phi_names::phi_columns_listed;
use crate::model::proof::{CheckProof, Probe, ProbeRun, ProbeSkipped};
use crate::model::snapshot::{Column, Relation, Snapshot};
use std::net::SocketAddr;
use std::time::Duration;

/// What a probe run may do.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// The probes asked for (`--probe`); all when not narrowed.
    pub probes: Vec<Probe>,
    /// Probe although the scan reached the server over TCP without verifying
    /// it (`--insecure-probe`).
    pub insecure: bool,
    /// At most this many (role, database) pairs for the authentication probe.
    pub max_auth_pairs: usize,
    /// At most this many login roles per table for the RLS probe.
    pub max_rls_roles: usize,
    /// Limit for one attempt (connect, handshake, answer, query).
    pub attempt_timeout: Duration,
    /// How long the audit probe waits for its line to reach the log.
    pub audit_wait: Duration,
    /// The policy's `phi_tables` and `not_phi_tables`: which tables the RLS and
    /// audit probes treat as PHI beyond (or against) what the names say.
    pub phi_tables: Vec<String>,
    pub not_phi_tables: Vec<String>,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            probes: Probe::ALL.to_vec(),
            insecure: false,
            max_auth_pairs: 50,
            max_rls_roles: 20,
            attempt_timeout: Duration::from_secs(3),
            audit_wait: Duration::from_secs(5),
            phi_tables: Vec::new(),
            not_phi_tables: Vec::new(),
        }
    }
}

impl ProbeOptions {
    /// The columns the RLS and audit probes treat as PHI: the model's name
    /// rule under the policy's table lists, as the checks decide it.
    pub fn phi_columns<'r>(&self, rel: &'r Relation) -> Vec<&'r Column> {
        phi_columns_listed(rel, &self.phi_tables, &self.not_phi_tables)
    }
}

/// Everything a probe needs: how the scan connected, what it saw, the limits.
pub struct ProbeContext<'a> {
    /// The scan's connection (password included, never shown); probes that need
    /// SQL open their own session from it.
    pub params: &'a ConnParams,
    pub snapshot: &'a Snapshot,
    pub options: &'a ProbeOptions,
    /// The TCP addresses of this server reachable from here ([`targets`]).
    pub addresses: Vec<SocketAddr>,
    /// The one clock (RFC 3339, UTC) proofs are stamped with.
    pub clock: fn() -> String,
}

impl ProbeContext<'_> {
    /// The application name of a probe session: `pgsafeguard-probe`, or with a suffix.
    pub fn application_name(&self, suffix: &str) -> String {
        let base = crate::model::proof::PROBE_APPLICATION_NAME;
        if suffix.is_empty() {
            base.into()
        } else {
            format!("{base}-{suffix}")
        }
    }
}

/// Why probes will not run against this connection: a scan over TCP that did
/// not verify the server may be talking to an impostor, and a probe would
/// then report on (and knock at) the wrong server.
pub fn refusal(params: &ConnParams, insecure: bool) -> Option<String> {
    if insecure
        || params.is_unix_socket()
        || matches!(params.sslmode, SslMode::VerifyCa | SslMode::VerifyFull)
    {
        return None;
    }
    Some(format!(
        "refusing to probe: this connection reaches the server over TCP with sslmode={} and does not \
         verify it (a probe could talk to an impostor); use sslmode=verify-ca or verify-full (with sslrootcert), or --insecure-probe",
        params.sslmode
    ))
}

/// Run the asked-for probes. The caller has checked [`refusal`].
pub async fn run(
    params: &ConnParams,
    snapshot: &Snapshot,
    options: &ProbeOptions,
    clock: fn() -> String,
) -> ProbeRun {
    let started_at = clock();
    let addresses = targets::reachable(params, snapshot, options.attempt_timeout).await;
    let ctx = ProbeContext {
        params,
        snapshot,
        options,
        addresses,
        clock,
    };
    let mut run = ProbeRun {
        asked: options.probes.clone(),
        started_at,
        ..ProbeRun::default()
    };
    for probe in &options.probes {
        let outcome = match probe {
            Probe::Transport => transport::probe(&ctx).await,
            Probe::Auth => auth::probe(&ctx).await,
            Probe::Rls => rls::probe(&ctx).await,
            Probe::Audit => audit::probe(&ctx).await,
            // Never asked (not in Probe::ALL): a drill runs as `pgsafeguard drill`.
            Probe::RestoreDrill => Err(ProbeSkipped {
                probe: *probe,
                reason: "a restore drill runs on its own: pgsafeguard drill".into(),
                grant: None,
            }),
        };
        match outcome {
            Ok(mut proofs) => run.proofs.append(&mut proofs),
            Err(skipped) => run.skipped.push(skipped),
        }
    }
    run.finished_at = clock();
    run
}

/// What a probe family returns: its proofs, or why it could not run at all.
pub type ProbeResult = Result<Vec<CheckProof>, ProbeSkipped>;

/// `local → remote`, for a proof's `from`.
pub fn route(local: Option<SocketAddr>, remote: SocketAddr) -> String {
    match local {
        Some(local) => format!("{} → {remote}", local.ip()),
        None => format!("this machine → {remote}"),
    }
}

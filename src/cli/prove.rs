//! `pgsafeguard prove` and the probe flags of `scan`: run active probes
//! (issue 15) and show what the server accepted and refused.
//!
//! `prove` is a scan with probes whose output keeps only the checks the asked
//! probes give proofs for; `scan --prove` keeps every check. Both record the
//! scan, proofs included, in the evidence store, and refuse before any work
//! when the scan would not verify the server (`db::probe::refusal`).

use super::{Format, LazyRuntime, ScanArgs};
use crate::model::proof::Probe;
use crate::policy::Policy;
use crate::scan::ProbeOptions;
use std::path::PathBuf;
use std::process::ExitCode;

/// The probe flags shared by `scan` and `prove`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ProbeArgs {
    /// Probes to run: transport, auth, rls, audit (comma-separated; default all)
    #[arg(long, value_name = "LIST")]
    pub probe: Option<String>,
    /// Probe even though the scan reaches the server over TCP without verifying it
    /// (sslmode below verify-ca): the probes could be talking to an impostor
    #[arg(long)]
    pub insecure_probe: bool,
}

impl ProbeArgs {
    /// The probe options these flags ask for.
    /// The policy's PHI table lists decide which tables the RLS and audit probes read.
    pub fn options(&self, policy: &Policy) -> anyhow::Result<ProbeOptions> {
        let probes = match &self.probe {
            Some(list) => Probe::parse_list(list).map_err(anyhow::Error::msg)?,
            None => Probe::ALL.to_vec(),
        };
        Ok(ProbeOptions {
            probes,
            insecure: self.insecure_probe,
            phi_tables: policy.phi_tables.clone(),
            not_phi_tables: policy.not_phi_tables.clone(),
            ..ProbeOptions::default()
        })
    }

    /// Whether any probe flag was given (which implies `--prove` on `scan`).
    pub fn given(&self) -> bool {
        self.probe.is_some() || self.insecure_probe
    }
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Probes are opt-in and bounded. What each leaves behind on the server:\n  \
    transport, auth: connection and authentication-failure lines in the server log \
    (application_name pgsafeguard-probe);\n  \
    rls: nothing (a read-only transaction, rolled back);\n  \
    audit: one audit line for a SELECT ... LIMIT 0.\n\
    No probe sends a password or writes. Over TCP the connection must verify the server \
    (sslmode=verify-ca or verify-full) unless --insecure-probe is given.\n\n\
    Exit codes: 0 nothing failing among the proven checks, 1 at least one fails \
    (a broken proof fails its check), 2 error."
)]
pub struct ProveArgs {
    /// Connection string (URI or key=value); PG* variables fill what it leaves out
    pub conninfo: String,
    #[command(flatten)]
    pub probes: ProbeArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the result to FILE instead of stdout (written whole or not at all)
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Organisation policy (TOML), e.g. allow_loopback_without_tls
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    #[command(flatten)]
    pub store: super::store::StoreArgs,
}

pub(super) fn run_prove(args: ProveArgs, runtime: &LazyRuntime) -> anyhow::Result<ExitCode> {
    let scan_args = ScanArgs {
        conninfo: Some(args.conninfo),
        format: args.format.into(),
        output: args.output,
        snapshot: None,
        session: None,
        objects: false,
        save_snapshot: None,
        policy: args.policy,
        attestations: None,
        all_databases: false,
        sample_phi: false,
        strict: false,
        prove: true,
        probes: args.probes,
        store: args.store,
    };
    super::scan::run(scan_args, runtime, super::scan::Shown::ProvedChecks)
}

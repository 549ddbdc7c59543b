//! The command line: argument parsing and the `scan` command.
//!
//! Follows ripgrep's convention: stdout carries only the result, errors are
//! one line on stderr, exit codes are 0 (nothing failing), 1 (a failing check)
//! and 2 (error).

use crate::atomic_file::PendingFile;
use crate::checks;
use crate::db::conninfo::ConnParams;
use crate::finding::Status;
use crate::output::ScanReport;
use crate::policy::{Attestations, Policy};
use crate::scan::{self, ScanOptions};
use crate::snapshot::{Snapshot, SCHEMA_VERSION};
use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "pgsafeguard",
    version,
    about = "Check and harden PostgreSQL for HIPAA workloads, with evidence an auditor can verify",
    long_about = "pgSafeguard checks a PostgreSQL server against a HIPAA hardening guide \
        (safeguards, encryption at rest, encryption in transit, least privilege and row-level \
        security, audit trails, backups), shows the evidence it saw, and previews the fix for \
        every gap. Scans are read-only.\n\nWithout a subcommand it opens the desktop app.",
    after_help = "Exit codes: 0 nothing failing, 1 at least one failing check, 2 error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan a server (or re-evaluate a saved snapshot) and print the findings
    Scan(ScanArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "CONNINFO is what psql accepts: a URI \
    (postgresql://user@host:5432/db?sslmode=verify-full&sslrootcert=ca.crt) or key=value \
    pairs (host=/var/run/postgresql dbname=clinic). PG* environment variables and \
    ~/.pgpass apply as in psql. Passwords are never printed or saved.\n\n\
    Exit codes: 0 nothing failing, 1 at least one failing check (with --strict also \
    unknown or manual), 2 error.")]
pub struct ScanArgs {
    /// Connection string (URI or key=value); PG* variables fill what it leaves out
    pub conninfo: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the result to FILE instead of stdout (written whole or not at all)
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Evaluate a saved snapshot offline instead of connecting
    #[arg(long, value_name = "FILE", conflicts_with_all = ["conninfo", "all_databases", "save_snapshot", "sample_phi"])]
    pub snapshot: Option<PathBuf>,
    /// Save the collected snapshot as JSON for offline re-evaluation
    #[arg(long, value_name = "FILE")]
    pub save_snapshot: Option<PathBuf>,
    /// Organisation policy (TOML): approved admins, PHI tables, RPO, accepted risks
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Attestations for manual checks (JSON: {"ADM-001": {"by", "at", "note"}})
    #[arg(long, value_name = "FILE")]
    pub attestations: Option<PathBuf>,
    /// Also scan every other database that accepts connections
    #[arg(long)]
    pub all_databases: bool,
    /// Sample PHI-looking text columns for SSN-like values (reports counts only)
    #[arg(long)]
    pub sample_phi: bool,
    /// Exit 1 also when a check is unknown or manual
    #[arg(long)]
    pub strict: bool,
}

/// Parse arguments and run; every error becomes one line and exit code 2.
pub fn main_with_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pgsafeguard: {}", one_line(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}

/// clap's help and version go to stdout with 0; real usage errors are one line, exit 2.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            let rendered = e.render().to_string();
            let first = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            eprintln!("pgsafeguard: {first} (see pgsafeguard --help)");
            ExitCode::from(2)
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Scan(args)) => run_scan(args),
        None => {
            let _ = <Cli as clap::CommandFactory>::command().print_help();
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn run_scan(args: ScanArgs) -> anyhow::Result<ExitCode> {
    // Reserve output files first: an unwritable path fails before any work.
    let output = args
        .output
        .as_deref()
        .map(PendingFile::reserve)
        .transpose()?;
    let snapshot_out = args
        .save_snapshot
        .as_deref()
        .map(PendingFile::reserve)
        .transpose()?;
    let policy = match &args.policy {
        Some(p) => Policy::load(p)?,
        None => Policy::default(),
    };
    let attestations = match &args.attestations {
        Some(p) => Attestations::load(p)?,
        None => Attestations::default(),
    };

    let snapshot = match &args.snapshot {
        Some(path) => load_snapshot(path)?,
        None => {
            let params = ConnParams::from_conninfo(args.conninfo.as_deref().unwrap_or(""))?;
            let opts = ScanOptions {
                all_databases: args.all_databases,
                sample_phi: args.sample_phi,
                ..ScanOptions::default()
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(scan::scan_live(&params, &opts, scan::no_progress()))?
        }
    };

    let findings = checks::evaluate_all(&snapshot, &policy, &attestations);
    let report = ScanReport::new(&snapshot, findings);
    let text = match args.format {
        Format::Json => report.to_json(),
        Format::Text => report.to_text(),
    };
    if let Some(pending) = snapshot_out {
        pending.commit(snapshot_json(&snapshot).as_bytes())?;
    }
    match output {
        Some(pending) => pending.commit(text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(exit_code(&report, args.strict))
}

fn exit_code(report: &ScanReport, strict: bool) -> ExitCode {
    let failing = report.findings.iter().any(|f| {
        f.status == Status::Fail || (strict && matches!(f.status, Status::Unknown | Status::Manual))
    });
    if failing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The snapshot as saved by `--save-snapshot`.
pub fn snapshot_json(snapshot: &Snapshot) -> String {
    let mut text = serde_json::to_string_pretty(snapshot).unwrap_or_default();
    text.push('\n');
    text
}

/// Read a saved snapshot, refusing files from a newer or unknown schema.
pub fn load_snapshot(path: &Path) -> anyhow::Result<Snapshot> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {shown}"))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!("{shown} is not valid JSON ({e}): pass a file written by --save-snapshot")
    })?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        None => bail!("{shown} is not a pgSafeguard snapshot (no schema_version): pass a file written by --save-snapshot"),
        Some(v) if v > u64::from(SCHEMA_VERSION) => bail!(
            "{shown} has snapshot schema_version {v}, newer than this pgSafeguard reads ({SCHEMA_VERSION}): upgrade pgSafeguard"
        ),
        Some(_) => {}
    }
    serde_json::from_value(value).map_err(|e| {
        anyhow::anyhow!("{shown} is not a valid pgSafeguard snapshot ({e}): pass a file written by --save-snapshot")
    })
}

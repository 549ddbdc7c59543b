//! The command line: argument definitions and dispatch; one submodule per
//! subcommand.
//!
//! Follows ripgrep's convention: stdout carries only the result, errors are
//! one line on stderr, exit codes are 0 (nothing failing), 1 (a failing check)
//! and 2 (error).

mod scan;

pub use scan::{load_snapshot, snapshot_json};

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
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
        Some(Command::Scan(args)) => scan::run_scan(args),
        None => {
            let _ = <Cli as clap::CommandFactory>::command().print_help();
            Ok(ExitCode::SUCCESS)
        }
    }
}

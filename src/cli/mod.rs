//! The command line: argument definitions and dispatch; one submodule per
//! subcommand.
//!
//! Follows ripgrep's convention: stdout carries only the result, errors are
//! one line on stderr, exit codes are 0 (nothing failing), 1 (a failing check)
//! and 2 (error).
//!
//! The process has one tokio runtime, built here on first use ([`LazyRuntime`])
//! and lent to the subcommand: commands that stay offline never start one.

mod diff;
mod discover;
mod drill;
mod fix;
mod fleet;
mod gui;
mod history;
mod plan;
mod policy_edit;
mod prove;
mod report;
mod scan;
mod store;
mod verify;

pub use scan::{load_snapshot, snapshot_json};

use crate::model::untrusted;
use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::cell::OnceCell;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "pgsafeguard",
    version,
    about = "Check and harden PostgreSQL for HIPAA workloads, with evidence an auditor can verify",
    long_about = "pgSafeguard checks a PostgreSQL server against a HIPAA hardening guide \
        (safeguards, encryption at rest, encryption in transit, least privilege and row-level \
        security, audit trails, backups), shows the evidence it saw, and previews the fix for \
        every gap. Scans are read-only.\n\nWithout a subcommand it opens the desktop app.",
    after_help = "Examples:\n  \
        pgsafeguard                                      open the desktop app\n  \
        pgsafeguard scan 'host=db dbname=clinic user=auditor sslmode=verify-full'\n  \
        pgsafeguard scan --snapshot clinic.json --format json\n  \
        pgsafeguard scan --snapshot clinic.json --format sarif --output clinic.sarif\n  \
        pgsafeguard report 'host=db dbname=clinic' --output clinic-evidence.pdf\n  \
        pgsafeguard verify clinic-evidence.pdf\n  \
        pgsafeguard fix 'host=db user=postgres dbname=clinic' --id TLS-001 --dry-run\n  \
        pgsafeguard prove 'host=db dbname=clinic sslmode=verify-full' --probe transport,auth\n  \
        pgsafeguard history; pgsafeguard diff      recorded scans; what changed since the last\n  \
        pgsafeguard fleet fleet.toml --output results/   many servers at once\n\n\
        pgsafeguard help <COMMAND> explains one command. Exit codes: 0 nothing failing, \
        1 at least one failing check, 2 error (one line on stderr)."
)]
pub struct Cli {
    /// Open a saved session file in the app
    #[arg(long, value_name = "FILE")]
    pub session: Option<PathBuf>,
    /// Evidence store the app records scans and fixes in (default: evidence.sqlite in the data folder)
    #[arg(long, value_name = "PATH")]
    pub store: Option<String>,
    /// Record nothing in the evidence store
    #[arg(long, conflicts_with = "store")]
    pub no_store: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan a server (or re-evaluate a saved snapshot) and print the findings
    ///
    /// Connects with the given role, reads everything the checks need in one read-only
    /// transaction, and prints one finding per catalogue check: text for people, or
    /// --format json (the pgsafeguard.scan/1 contract) for scripts. A check the role
    /// cannot decide is "unknown" and names the GRANT that would decide it. Save the
    /// snapshot to re-evaluate it later offline, e.g. with a different policy file.
    Scan(ScanArgs),
    /// Write a signed PDF evidence report (scan, snapshot or session)
    ///
    /// Scans the server (or reads a saved snapshot or session) and writes a PDF for an
    /// auditor: a cover, an executive summary per HIPAA citation, one chapter per guide
    /// section, attestations and gaps. The full JSON scan is embedded, and the file is
    /// signed (CMS detached, SHA-256) so pgsafeguard verify or pdfsig can check it.
    Report(ReportArgs),
    /// Check a signed evidence report: signature, whole-file coverage, embedded data
    ///
    /// Checks the report's PDF signature, that the signature covers the whole file (no
    /// appended changes), and the digest of the embedded scan data. With
    /// --expect-fingerprint it also requires the signer certificate you expect.
    Verify(VerifyArgs),
    /// Open the app on the demo database (training; no server of yours is touched)
    Demo(gui::DemoArgs),
    /// Preview, apply, verify or roll back the fix of one check
    ///
    /// Shows the exact statements and their rollback first, then applies them only when
    /// asked, on a session of their own, and re-scans to verify. High-impact fixes ask you
    /// to type the database name; guards refuse fixes that would lock out the session or
    /// remove the last superuser. Every step goes to the change log.
    Fix(fix::FixArgs),
    /// Plan the fixes of every failing check in order, with one restart; export or apply it
    ///
    /// Prerequisites first (TLS-001 before the hostssl lines of TLS-004), restart-class
    /// settings together so that one restart covers them, each configuration file's edits
    /// merged, and what will not be attempted listed with the reason. Export it as text,
    /// .sql or Markdown for a change ticket; --apply runs it step by step through the same
    /// guards as `fix`, --resume continues after the restart, --rollback undoes it.
    Plan(plan::PlanArgs),
    /// List the scans recorded in the evidence store, or verify its chain
    ///
    /// Every scan, applied fix and policy change is recorded in the evidence store (an
    /// SQLite file in the platform data folder, or --store), chained by SHA-256 so that an
    /// edited or deleted record shows. `history verify` checks the chain.
    History(history::HistoryArgs),
    /// Compare two recorded scans: new fails, fixed, regressed; objects that appeared
    ///
    /// Per check: newly failing, fixed, regressed (worse in any other way, e.g. pass to
    /// unknown), improved. Per object: roles and superusers, pg_hba lines, grants, PHI
    /// columns, settings with their source, databases and extensions that appeared,
    /// disappeared or changed. Exit 1 when anything regressed, for CI.
    Diff(diff::DiffArgs),
    /// Accept a check's risk (or one object's) until a date, or revoke it
    ///
    /// Writes an accepted risk into the policy file, keeping its comments: who accepted it,
    /// why, until when and under which ticket. Until the expiry date the check is reported
    /// as accepted with that reason; afterwards it fails again and says whose acceptance
    /// expired.
    Accept(policy_edit::AcceptArgs),
    /// Approve a check's current rows as its baseline, or remove the baseline
    ///
    /// Scans the server (or reads a saved snapshot) and writes the rows the check reports
    /// (these superusers, these pg_hba lines, these grants) into the policy file as
    /// approved. Later scans name new rows and rows that are gone; a check whose rows all
    /// match its baseline is accepted.
    Baseline(policy_edit::BaselineArgs),
    /// Prove what the server really accepts: active probes, opt-in
    ///
    /// Tries what a safeguard forbids and records the server's answer as evidence: a
    /// startup without TLS, TLS handshakes capped at old versions, weak cipher offers,
    /// the certificate (transport); the first answer to a startup per role and database,
    /// without ever sending a password (auth); the rows each login role sees under
    /// row-level security (rls); a tagged read that must reach the audit log (audit). A
    /// broken proof fails its check whatever the settings say.
    Prove(prove::ProveArgs),
    /// Map where PHI lives in one database: names, comments, types and a bounded sample
    ///
    /// Reads column, table and schema names and comments, types and JSON keys, then samples
    /// each table within a budget (200 rows per table, 1,000,000 in all, 200 ms per table)
    /// in a read-only transaction. Values are checked by validators in memory and never
    /// shown or kept: the map lists each candidate column with its category, confidence,
    /// encryption tier and reasons (validator hits as counts).
    Discover(discover::DiscoverArgs),
    /// Confirm or reject columns as PHI in the policy file (after discover)
    Phi(discover::PhiArgs),
    /// Restore drill: restore a backup into a throwaway copy, recover, check, measure
    ///
    /// Copies a base backup (folder or tar) or restores a pgBackRest stanza into a
    /// throwaway folder, walks the WAL archive for gaps and damage (PostgreSQL itself does
    /// not fail on them), recovers to the end of the archive or a target time on a private
    /// server with archiving off, checks the databases and PHI tables (row counts only) and
    /// data checksums, measures RTO and the achieved RPO, then removes it all. The record
    /// goes into the evidence store, where scans take it as BAK-008's proof.
    Drill(drill::DrillArgs),
    /// Scan every server of an inventory or pg_service.conf, many at once
    ///
    /// Scans the targets of a TOML inventory or a libpq service file with bounded
    /// concurrency and per-target timeouts: an unreachable or hanging server is reported and
    /// never holds up the rest. Each scan is written as it finishes and recorded in the
    /// evidence store; the summary is a target × section matrix. --shard K/N splits the
    /// inventory for CI matrices and Kubernetes Indexed Jobs; fleet merge joins the parts.
    Fleet(fleet::FleetArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// `scan`'s formats: ours, and the exchange formats other tools read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    Text,
    Json,
    /// SARIF 2.1.0 (code-scanning dashboards)
    Sarif,
    /// JUnit XML (CI test reports)
    Junit,
    /// Heimdall Data Format, InSpec exec JSON (MITRE Heimdall)
    Hdf,
    /// NIST OSCAL Assessment Results, JSON (GRC platforms)
    Oscal,
    /// CSV, one row per check (spreadsheets)
    Csv,
}

impl From<Format> for ScanFormat {
    fn from(format: Format) -> ScanFormat {
        match format {
            Format::Text => ScanFormat::Text,
            Format::Json => ScanFormat::Json,
        }
    }
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
    #[arg(long, value_enum, default_value_t = ScanFormat::Text)]
    pub format: ScanFormat,
    /// Write the result to FILE instead of stdout (written whole or not at all)
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Evaluate a saved snapshot offline instead of connecting
    #[arg(long, value_name = "FILE", conflicts_with_all = ["conninfo", "all_databases", "save_snapshot", "sample_phi"])]
    pub snapshot: Option<PathBuf>,
    /// Evaluate a saved session (its snapshot and attestations) offline
    #[arg(long, value_name = "FILE", conflicts_with_all = ["conninfo", "snapshot", "all_databases", "save_snapshot", "sample_phi", "prove"])]
    pub session: Option<PathBuf>,
    /// With --format csv: one row per failing object instead of one per check
    #[arg(long)]
    pub objects: bool,
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
    /// Also run active probes and attach their proofs (see pgsafeguard help prove)
    #[arg(long, conflicts_with = "snapshot")]
    pub prove: bool,
    #[command(flatten)]
    pub probes: prove::ProbeArgs,
    #[command(flatten)]
    pub store: store::StoreArgs,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "The report is signed with the PKCS#12 identity given by --sign-with \
    (password from PGSAFEGUARD_SIGN_PASSWORD, else asked on the terminal), or else with an \
    identity generated on first use and kept in the platform data folder.\n\n\
    The scan is recorded in the evidence store and the report embeds the store's chain head, \
    so that pgsafeguard history verify --anchor REPORT can later show deleted or rewritten \
    records.\n\n\
    --period FROM..TO writes an audit-period report from the scans the store recorded \
    between those dates (inclusive, UTC): each check's status at each scan, the days covered, \
    drift between scans, fixes and policy changes. The positional argument is then the TARGET \
    as pgsafeguard history names it, needed when the store holds several.\n\n\
    --tsa URL timestamps the signature at an RFC 3161 Time-Stamping Authority (PAdES B-T). \
    When no timestamp can be had the report is still written, signed, and one line on \
    stderr says why.\n\n\
    Exit codes: 0 report written, 2 error (nothing is written), or with --require-timestamp \
    no timestamp could be had (the signed report is written)."
)]
pub struct ReportArgs {
    /// Connection string (URI or key=value); PG* variables fill what it leaves out.
    /// With --period: the TARGET (database, host, host:port/database or system identifier)
    #[arg(value_name = "CONNINFO|TARGET")]
    pub conninfo: Option<String>,
    /// Audit-period report from the evidence store: FROM..TO, inclusive UTC dates
    /// (e.g. 2026-01-01..2026-12-31)
    #[arg(long, value_name = "FROM..TO", conflicts_with_all = ["snapshot", "session", "policy", "attestations"])]
    pub period: Option<String>,
    /// Report on a saved snapshot instead of connecting
    #[arg(long, value_name = "FILE", conflicts_with_all = ["conninfo", "session"])]
    pub snapshot: Option<PathBuf>,
    /// Report on a saved session (snapshot, attestations and change log)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["conninfo", "snapshot"])]
    pub session: Option<PathBuf>,
    /// Where to write the PDF (written whole or not at all)
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,
    /// Sign with this PKCS#12 (.p12/.pfx) identity
    #[arg(long, value_name = "FILE")]
    pub sign_with: Option<PathBuf>,
    /// Organisation policy (TOML): approved admins, PHI tables, RPO, accepted risks
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Attestations for manual checks (JSON: {"ADM-001": {"by", "at", "note"}})
    #[arg(long, value_name = "FILE")]
    pub attestations: Option<PathBuf>,
    /// Organisation name for the cover
    #[arg(long, value_name = "NAME")]
    pub organisation: Option<String>,
    /// Who ran the session, for the cover
    #[arg(long, value_name = "NAME")]
    pub operator: Option<String>,
    /// Mark every page "DEMO — not evidence" (training)
    #[arg(long)]
    pub demo: bool,
    #[command(flatten)]
    pub store: store::StoreArgs,
    #[command(flatten)]
    pub timestamp: report::TimestampArgs,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 valid, 1 invalid or tampered (one line says what; a timestamp \
    that does not match the signature counts, and so does a missing one with \
    --require-timestamp), 2 the file could not be examined."
)]
pub struct VerifyArgs {
    /// The signed report
    pub file: PathBuf,
    /// Also require this signer certificate (SHA-256, hex; colons allowed)
    #[arg(long, value_name = "SHA256")]
    pub expect_fingerprint: Option<String>,
    /// Fail when the signature carries no trusted timestamp
    #[arg(long)]
    pub require_timestamp: bool,
    /// The timestamp's TSA certificate must chain to this CA (PEM or DER)
    #[arg(long, value_name = "FILE")]
    pub tsa_ca: Option<PathBuf>,
}

/// Parse arguments and run; every error becomes one line and exit code 2.
pub fn main_with_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let parsed = Cli::command()
        .long_version(long_version())
        .try_get_matches_from(args)
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pgsafeguard: {}", untrusted::one_line(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}

/// `--version`: the version and what this build reads and writes, for bug reports
/// and for matching a report to the catalogue that produced it.
fn long_version() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        format!(
            "{}\ncatalogue: {} checks (HIPAA hardening guide, six sections)\n\
             formats: scan output {}, snapshot schema {}, PDF reports signed with CMS (SHA-256)",
            env!("CARGO_PKG_VERSION"),
            crate::checks::CATALOGUE_IDS.len(),
            crate::output::SCAN_SCHEMA,
            crate::model::snapshot::SCHEMA_VERSION,
        )
    })
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
            // clap's message may continue on indented lines (the missing
            // arguments): join them, up to the usage block, into one line.
            let rendered = e.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .map(str::trim)
                .skip_while(|l| l.is_empty())
                .take_while(|l| !l.is_empty() && !l.starts_with("Usage:"))
                .collect();
            let message = message.join(" ");
            let message = message.trim_start_matches("error: ");
            let message = if message.is_empty() {
                "invalid arguments"
            } else {
                message
            };
            eprintln!("pgsafeguard: {message} (see pgsafeguard --help)");
            ExitCode::from(2)
        }
    }
}

/// Human-readable output for stdout. Server strings were escaped where they
/// were written; [`untrusted::terminal`] is the last guard so that no escape
/// sequence or bidirectional control reaches the terminal whatever path a
/// string took. The one place that writes to stdout (clippy's `print_stdout`).
#[allow(clippy::print_stdout)]
fn emit(text: &str) {
    print!("{}", untrusted::terminal(text));
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let runtime = LazyRuntime::default();
    let store = crate::store::StoreChoice::from_flags(cli.store.as_deref(), cli.no_store);
    let outcome = match cli.command {
        Some(Command::Scan(args)) => scan::run(args, &runtime, scan::Shown::AllChecks),
        Some(Command::Prove(args)) => prove::run_prove(args, &runtime),
        Some(Command::Report(args)) => report::run_report(args, &runtime),
        Some(Command::Verify(args)) => verify::run_verify(args),
        Some(Command::Demo(args)) => gui::run_demo(args, &runtime, store),
        Some(Command::Fix(args)) => fix::run_fix(args, &runtime),
        Some(Command::Plan(args)) => plan::run_plan(args, &runtime),
        Some(Command::History(args)) => history::run_history(args),
        Some(Command::Diff(args)) => diff::run_diff(args),
        Some(Command::Accept(args)) => policy_edit::run_accept(args),
        Some(Command::Baseline(args)) => policy_edit::run_baseline(args, &runtime),
        Some(Command::Discover(args)) => discover::run_discover(args, &runtime),
        Some(Command::Phi(args)) => discover::run_phi(args),
        Some(Command::Drill(args)) => drill::run_drill(args, &runtime),
        Some(Command::Fleet(args)) => fleet::run_fleet(args, &runtime),
        None => gui::run_app(&runtime, cli.session, None, store),
    };
    runtime.shut_down();
    outcome
}

/// The process's tokio runtime, built the first time a command needs the
/// network (or the window needs background jobs).
#[derive(Default)]
struct LazyRuntime(OnceCell<tokio::runtime::Runtime>);

impl LazyRuntime {
    /// How long background jobs still running at exit (a scan in flight when
    /// the window closed) may take to end.
    const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

    fn get(&self) -> anyhow::Result<&tokio::runtime::Runtime> {
        if let Some(runtime) = self.0.get() {
            return Ok(runtime);
        }
        let built = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("pgsafeguard-worker")
            .build()
            .context("cannot start the async runtime")?;
        Ok(self.0.get_or_init(|| built))
    }

    fn shut_down(self) {
        if let Some(runtime) = self.0.into_inner() {
            runtime.shutdown_timeout(Self::SHUTDOWN_GRACE);
        }
    }
}

//! `pgsafeguard fleet INVENTORY` and `pgsafeguard fleet merge DIR…`: scan
//! every target of an inventory (or a shard of it) with bounded concurrency,
//! stream each result to the output folder and the evidence store, and print
//! the target × section matrix; join shard outputs into one summary.
//!
//! Bad input (inventory, service file, policy, flags, output folder) fails
//! before anything is scanned or written: one line, exit 2.

use super::store::{record_scan, StoreArgs};
use super::LazyRuntime;
use crate::fleet::inventory::Inventory;
use crate::fleet::output::OutputDir;
use crate::fleet::run::{self, RunOptions};
use crate::fleet::shard::Shard;
use crate::fleet::summary::{self, FleetSummary, InventoryInfo, RunSettings, SUMMARY_FILE};
use crate::output::formats::ExportFormat;
use crate::output::ScanReport;
use crate::policy::Policy;
use crate::report::fleet::{build_signed_fleet_report_with, FleetReportInput};
use crate::scan::{now_rfc3339, ScanOptions};
use crate::store::scan_record::ScanSource;
use anyhow::{bail, Context};
use clap::ValueEnum;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The most scans a run keeps in flight.
const MAX_CONCURRENCY: usize = 1024;

#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "INVENTORY is a TOML inventory (a file ending in .toml: [[target]] entries with \
    name, conninfo or service, group and tags; [groups.NAME] with a policy file) or a libpq \
    service file (pg_service.conf: each [service] is a target). Services named in conninfo or \
    an inventory are found as psql finds them: PGSERVICEFILE, ~/.pg_service.conf, then \
    PGSYSCONFDIR/pg_service.conf (Debian: /etc/postgresql-common).\n\n\
    With --output DIR each scanned target is written to DIR/targets/NAME.json \
    (pgsafeguard.scan/1) as soon as it finishes, and the summary (pgsafeguard.fleet/1) to \
    DIR/fleet.json at the end. --shard K/N scans one of N parts (K from 0, like Kubernetes' \
    JOB_COMPLETION_INDEX); pgsafeguard fleet merge DIR… joins the parts.\n\n\
    Exit codes: 0 every target scanned and nothing fails, 1 a target fails a check or could \
    not be scanned, 2 bad input or no target could be scanned."
)]
pub struct FleetArgs {
    #[command(subcommand)]
    pub command: Option<FleetCommand>,
    /// Inventory: a TOML inventory (.toml) or a libpq service file
    #[arg(required = true, value_name = "INVENTORY")]
    pub inventory: Option<PathBuf>,
    /// Scan only the targets of this group
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Scan only the targets with this tag
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// Scans in flight at once
    #[arg(long, value_name = "N", default_value_t = run::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// Scan only shard K of N (K counts from 0)
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Also scan every other database of each server that accepts connections
    #[arg(long)]
    pub all_databases: bool,
    /// Seconds to open a session to one target (caps the target's own connect_timeout)
    #[arg(long, value_name = "SECONDS", default_value_t = run::DEFAULT_CONNECT_TIMEOUT.as_secs())]
    pub connect_timeout: u64,
    /// Seconds for the whole scan of one target, connecting included
    #[arg(long, value_name = "SECONDS", default_value_t = run::DEFAULT_SCAN_TIMEOUT.as_secs())]
    pub scan_timeout: u64,
    /// Policy for targets whose group names none
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// What stdout shows (text matrix or the summary JSON); an exchange format
    /// writes one file per target into --output
    #[arg(long, value_enum, default_value_t = FleetFormat::Text)]
    pub format: FleetFormat,
    /// Folder for the per-target scans and fleet.json (created when missing)
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum FleetCommand {
    /// Join the outputs of the shards of one inventory into one summary
    ///
    /// Reads DIR/fleet.json of each shard, checks they are shards of one inventory with no
    /// target twice, and prints the joined matrix (or its JSON). Shards not given are named
    /// as missing, and the exit code is then 1.
    Merge(MergeArgs),
    /// Write a signed PDF of a fleet run: the matrix and one chapter per target
    ///
    /// Reads the output folder of a fleet run (or of each shard, joined as fleet merge
    /// joins them) and writes a PDF with the target × section matrix and, per target, its
    /// counts and a card for every check that fails, is unknown or warns. The fleet summary
    /// is embedded and the file signed like pgsafeguard report's.
    Report(FleetReportArgs),
}

#[derive(Debug, clap::Args)]
pub struct FleetReportArgs {
    /// The output folder(s) of the run (one per shard)
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where to write the PDF (written whole or not at all)
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,
    /// Sign with this PKCS#12 (.p12/.pfx) identity
    #[arg(long, value_name = "FILE")]
    pub sign_with: Option<PathBuf>,
    /// Organisation name for the cover
    #[arg(long, value_name = "NAME")]
    pub organisation: Option<String>,
    /// Who ran the fleet scan, for the cover
    #[arg(long, value_name = "NAME")]
    pub operator: Option<String>,
    #[command(flatten)]
    pub timestamp: super::report::TimestampArgs,
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The output folders of the shards (or their fleet.json files)
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
    /// Also write the joined summary to FILE (written whole or not at all)
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `fleet`'s formats: the matrix, the summary JSON, or an exchange format per target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FleetFormat {
    Text,
    Json,
    Sarif,
    Junit,
    Hdf,
    Oscal,
    Csv,
}

impl FleetFormat {
    fn export(self) -> Option<ExportFormat> {
        match self {
            FleetFormat::Text | FleetFormat::Json => None,
            FleetFormat::Sarif => Some(ExportFormat::Sarif),
            FleetFormat::Junit => Some(ExportFormat::Junit),
            FleetFormat::Hdf => Some(ExportFormat::Hdf),
            FleetFormat::Oscal => Some(ExportFormat::Oscal),
            FleetFormat::Csv => Some(ExportFormat::Csv { objects: false }),
        }
    }
}

pub(super) fn run_fleet(args: FleetArgs, runtime: &LazyRuntime) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(FleetCommand::Merge(merge)) => return run_merge(merge),
        Some(FleetCommand::Report(report)) => return run_fleet_report(report),
        None => {}
    }
    let Some(inventory_path) = args.inventory.clone() else {
        bail!("give an inventory file, or use pgsafeguard fleet merge DIR…");
    };
    if !(1..=MAX_CONCURRENCY).contains(&args.concurrency) {
        bail!("--concurrency must be 1 to {MAX_CONCURRENCY}");
    }
    if args.connect_timeout == 0 || args.scan_timeout == 0 {
        bail!("--connect-timeout and --scan-timeout must be at least 1 second");
    }
    let export = args.format.export();
    if export.is_some() && args.output.is_none() {
        bail!("an exchange format (--format sarif, junit, hdf, oscal or csv) writes one file per target: give --output DIR");
    }
    let default_policy = Arc::new(match &args.policy {
        Some(p) => Policy::load(p)?,
        None => Policy::default(),
    });
    let inventory = Inventory::load(&inventory_path, default_policy)?;
    let selected = inventory.select(args.group.as_deref(), args.tag.as_deref())?;
    if selected.is_empty() {
        bail!(
            "{}: no target matches{}",
            inventory_path.display(),
            if args.group.is_some() || args.tag.is_some() {
                " --group/--tag"
            } else {
                " (the inventory is empty)"
            }
        );
    }
    let shard = args.shard.unwrap_or(Shard::ALL);
    let in_shard: Vec<_> = selected
        .iter()
        .filter(|t| shard.holds(&t.name))
        .cloned()
        .collect();
    let mut store = args.store.open_for_recording()?;
    let output = args
        .output
        .as_deref()
        .map(|dir| OutputDir::prepare(dir, export))
        .transpose()?;

    let options = RunOptions {
        concurrency: args.concurrency,
        connect_timeout: Duration::from_secs(args.connect_timeout),
        scan_timeout: Duration::from_secs(args.scan_timeout),
        scan: ScanOptions {
            all_databases: args.all_databases,
            ..ScanOptions::default()
        },
    };
    let started_at = now_rfc3339();
    let mut rows = Vec::with_capacity(in_shard.len());
    let mut write_failure: Option<anyhow::Error> = None;
    runtime
        .get()?
        .block_on(run::run(in_shard, &options, |finished| {
            let mut row = finished.row;
            if let Some(scanned) = &finished.scan {
                if let Some(dir) = &output {
                    match dir.write_target(&row.name, &scanned.json, &scanned.report) {
                        Ok(file) => row.file = Some(file),
                        Err(e) => {
                            write_failure.get_or_insert_with(|| e.into());
                        }
                    }
                }
                record_scan(
                    &mut store,
                    &scanned.snapshot,
                    &scanned.report.findings,
                    ScanSource::Cli,
                );
            }
            rows.push(row);
        }));
    let summary = FleetSummary::new(
        InventoryInfo {
            path: inventory_path.display().to_string(),
            sha256: inventory.sha256.clone(),
            targets: selected.len(),
        },
        shard,
        RunSettings {
            concurrency: options.concurrency,
            connect_timeout_s: args.connect_timeout,
            scan_timeout_s: args.scan_timeout,
            all_databases: args.all_databases,
            group: args.group.clone(),
            tag: args.tag.clone(),
        },
        started_at,
        now_rfc3339(),
        rows,
    );
    if let Some(dir) = &output {
        dir.write_summary(&summary)?;
    }
    if let Some(e) = write_failure {
        return Err(e.context("a target's scan could not be written"));
    }
    emit_summary(&summary, args.format == FleetFormat::Json);
    let code = summary.exit_code();
    if code == 2 {
        // The matrix says why for each; one line says that it is all of them.
        let t = &summary.totals;
        eprintln!(
            "pgsafeguard: no target could be scanned ({} unreachable, {} timed out, {} failed)",
            t.unreachable, t.timed_out, t.failed
        );
    }
    Ok(ExitCode::from(code))
}

fn emit_summary(summary: &FleetSummary, json: bool) {
    if json {
        super::emit(&summary.to_json());
    } else {
        super::emit(&summary.to_text());
    }
}

/// Reads the summary in each folder (or file), with the folder it lives in.
fn read_summaries(dirs: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, String, FleetSummary)>> {
    let mut parts = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let (folder, file) = if dir.is_dir() {
            (dir.clone(), dir.join(SUMMARY_FILE))
        } else {
            let folder = dir.parent().map(PathBuf::from).unwrap_or_default();
            (folder, dir.clone())
        };
        let shown = file.display().to_string();
        let text = std::fs::read_to_string(&file).with_context(|| {
            format!("cannot read {shown}: give the --output folder of a fleet run")
        })?;
        let summary = summary::parse_summary(&text, &shown)?;
        parts.push((folder, shown, summary));
    }
    Ok(parts)
}

/// One summary as it is, several joined.
fn joined(parts: &[(PathBuf, String, FleetSummary)]) -> anyhow::Result<FleetSummary> {
    match parts {
        [(_, _, single)] => Ok(single.clone()),
        _ => Ok(summary::merge(
            parts
                .iter()
                .map(|(_, shown, s)| (shown.clone(), s.clone()))
                .collect(),
        )?),
    }
}

fn run_merge(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let pending = args
        .output
        .as_deref()
        .map(crate::atomic_file::PendingFile::reserve)
        .transpose()?;
    let parts = read_summaries(&args.dirs)?;
    let merged = summary::merge(parts.into_iter().map(|(_, shown, s)| (shown, s)).collect())?;
    if let Some(pending) = pending {
        pending.commit(merged.to_json().as_bytes())?;
    }
    emit_summary(&merged, args.format == super::Format::Json);
    if let Some(m) = merged
        .merged
        .as_ref()
        .filter(|m| !m.missing_shards.is_empty())
    {
        let missing: Vec<String> = m.missing_shards.iter().map(u32::to_string).collect();
        super::store::warn(&format!(
            "shard(s) {} of {} missing from the merge: their targets were not scanned",
            missing.join(", "),
            merged.shard.count
        ));
    }
    Ok(ExitCode::from(merged.exit_code()))
}

fn run_fleet_report(args: FleetReportArgs) -> anyhow::Result<ExitCode> {
    let pending = crate::atomic_file::PendingFile::reserve(&args.output)?;
    let tsa = args.timestamp.config()?;
    let parts = read_summaries(&args.dirs)?;
    let mut scans = Vec::new();
    for (folder, _, part) in &parts {
        for row in &part.targets {
            let Some(file) = &row.file else { continue };
            // The summary names files inside its own folder, nothing else.
            let inside = std::path::Path::new(file)
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
            if !inside {
                bail!(
                    "{}: target {:?} names the file {:?}, outside the run's folder",
                    folder.display(),
                    crate::model::untrusted::name(&row.name),
                    crate::model::untrusted::name(file)
                );
            }
            let path = folder.join(file);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let report: ScanReport = serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!("{} is not a pgSafeguard scan ({e})", path.display())
            })?;
            scans.push((row.name.clone(), report));
        }
    }
    let input = FleetReportInput {
        summary: joined(&parts)?,
        scans,
        organisation: args.organisation,
        operator: args.operator,
    };
    let (identity, created) = super::report::signing_identity(args.sign_with.as_deref())?;
    let at = super::report::now_utc_seconds();
    let signed = build_signed_fleet_report_with(&input, &identity, at, tsa.as_ref())?;
    pending.commit(&signed.pdf)?;
    super::report::announce(
        &args.output,
        &signed.pdf,
        &identity,
        created,
        &signed.timestamp,
    );
    args.timestamp.conclude(&signed.timestamp)
}

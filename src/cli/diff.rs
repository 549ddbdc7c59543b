//! `pgsafeguard diff [OLD] [NEW]`: what changed between two recorded scans,
//! per check (new fail, fixed, regressed, improved) and per object (roles,
//! pg_hba lines, grants, PHI columns, settings with their source).

use super::store::StoreArgs;
use super::Format;
use crate::drift::{self, ScanSide};
use crate::model::untrusted;
use crate::store::{EvidenceStore, ScanEntry, StoredScan};
use anyhow::{bail, Context};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "OLD and NEW are scan numbers as `pgsafeguard history` lists them \
    (#12 or 12). Without them: the last two scans of the target; with OLD only: OLD against \
    the newest scan of the same target.\n\n\
    Exit codes: 0 nothing regressed, 1 a check newly fails or regressed (for CI), 2 error."
)]
pub struct DiffArgs {
    /// The earlier scan
    pub old: Option<String>,
    /// The later scan
    pub new: Option<String>,
    /// Which server, when the store holds several (as `history` takes it)
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub(super) fn run_diff(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let old = args.old.as_deref().map(scan_number).transpose()?;
    let new = args.new.as_deref().map(scan_number).transpose()?;
    let mut store = args.store.open_for_reading()?;
    let scans = store.scans()?;
    let (old, new) = match (old, new) {
        (Some(old), Some(new)) => (old, new),
        (Some(old), None) => {
            let target = &find(&scans, old, store.location())?.target;
            let newest = scans
                .iter()
                .rfind(|s| &s.target == target)
                .map(|s| s.seq)
                .unwrap_or(old);
            (old, newest)
        }
        (None, _) => last_two(&scans, args.target.as_deref(), store.location())?,
    };
    if old == new {
        bail!("scan #{old} is the newest of its target: there is nothing later to compare it with");
    }
    let (old, new) = (load(&mut store, old)?, load(&mut store, new)?);
    let drift = drift::compare(&side(&old), &side(&new));
    let text = match args.format {
        Format::Json => drift.to_json(),
        Format::Text => drift.to_text(),
    };
    super::emit(&text);
    Ok(if drift.regressed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `#12` or `12`.
fn scan_number(text: &str) -> anyhow::Result<u64> {
    text.trim()
        .trim_start_matches('#')
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .with_context(|| {
            format!(
                "{} is not a scan number: pass numbers as pgsafeguard history lists them (e.g. 12)",
                untrusted::text(text)
            )
        })
}

fn find<'a>(scans: &'a [ScanEntry], seq: u64, location: &str) -> anyhow::Result<&'a ScanEntry> {
    scans
        .iter()
        .find(|s| s.seq == seq)
        .with_context(|| format!("no scan #{seq} in {location} (see pgsafeguard history)"))
}

/// The last two scans of the named target, or of the only target there is.
fn last_two(
    scans: &[ScanEntry],
    target: Option<&str>,
    location: &str,
) -> anyhow::Result<(u64, u64)> {
    let mut targets: Vec<_> = scans
        .iter()
        .filter(|s| target.is_none_or(|t| s.target.matches(t)))
        .map(|s| &s.target)
        .collect();
    targets.sort();
    targets.dedup();
    let chosen = match targets.as_slice() {
        [one] => *one,
        [] => match target {
            Some(t) => bail!("no scans of {} recorded in {location}", untrusted::text(t)),
            None => bail!("no scans recorded in {location} yet"),
        },
        several => bail!(
            "the store holds scans of {} targets ({}): name one with --target",
            several.len(),
            untrusted::text(
                &several
                    .iter()
                    .map(|t| t.label())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        ),
    };
    let of_target: Vec<u64> = scans
        .iter()
        .filter(|s| &s.target == chosen)
        .map(|s| s.seq)
        .collect();
    match of_target.as_slice() {
        [.., old, new] => Ok((*old, *new)),
        _ => bail!(
            "only one scan of {} is recorded: scan again to compare",
            untrusted::text(&chosen.label())
        ),
    }
}

fn load(store: &mut EvidenceStore, seq: u64) -> anyhow::Result<StoredScan> {
    let location = store.location().to_string();
    store
        .load_scan(seq)
        .with_context(|| format!("cannot read scan #{seq} from {location}"))
}

fn side(scan: &StoredScan) -> ScanSide<'_> {
    ScanSide {
        snapshot: &scan.snapshot,
        findings: &scan.findings,
        label: format!(
            "scan #{} of {}, {}",
            scan.entry.seq,
            scan.entry.target.label(),
            scan.entry.collected_at
        ),
    }
}

//! `pgsafeguard history [TARGET]`: the recorded scans with their counts, and
//! `pgsafeguard history verify`: the chain check.

use super::store::StoreArgs;
use super::Format;
use crate::model::untrusted;
use crate::report::read_chain_head;
use crate::store::verify::Anchor;
use crate::store::{Event, ScanEntry};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "TARGET names a server the way the history lists it: the database name, the \
    host, host:port/database, or the system identifier. Without it every target is listed.\n\n\
    Exit codes: 0 listed, 2 error (e.g. no store yet)."
)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub action: Option<HistoryAction>,
    /// Only this server
    pub target: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum HistoryAction {
    /// Check the chain: every record and stored part against its hash
    ///
    /// Reports any edited record, any break or gap in the chain, any altered or missing
    /// part. With --anchor REPORT (a signed report, verified first) it also reports an
    /// anchored chain head the store no longer contains: the newest records were deleted
    /// or the chain rewritten. Exit codes: 0 intact, 1 not intact (each problem on its own
    /// line), 2 error (also: a report that is tampered, unsigned or has no chain head).
    Verify(VerifyHistoryArgs),
}

#[derive(Debug, clap::Args)]
pub struct VerifyHistoryArgs {
    /// A signed report whose embedded chain head the store must still contain
    /// (repeat for several); shows deleted newest records or a rewritten chain
    #[arg(long, value_name = "FILE")]
    pub anchor: Vec<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub(super) fn run_history(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        Some(HistoryAction::Verify(verify)) => {
            let anchors = read_anchors(&verify.anchor)?;
            run_verify(verify, &anchors)
        }
        None => list(&args),
    }
}

fn list(args: &HistoryArgs) -> anyhow::Result<ExitCode> {
    let mut store = args.store.open_for_reading()?;
    let scans: Vec<ScanEntry> = store
        .scans()?
        .into_iter()
        .filter(|s| args.target.as_deref().is_none_or(|t| s.target.matches(t)))
        .collect();
    // Policy changes and anchors belong to no one server; fixes to theirs.
    let events: Vec<Event> = store
        .events()?
        .into_iter()
        .filter(|e| {
            e.target.is_empty()
                || scans.iter().any(|s| s.target.key() == e.target)
                || args.target.is_none()
        })
        .collect();
    if let (Some(target), true) = (&args.target, scans.is_empty()) {
        anyhow::bail!(
            "no scans of {} recorded in {}",
            untrusted::text(target),
            store.location()
        );
    }
    let text = match args.format {
        Format::Json => history_json(store.location(), &scans, &events),
        Format::Text => history_text(store.location(), &scans, &events),
    };
    super::emit(&text);
    Ok(ExitCode::SUCCESS)
}

fn history_json(location: &str, scans: &[ScanEntry], events: &[Event]) -> String {
    let events: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            serde_json::json!({
                "seq": e.seq, "kind": e.kind, "target": e.target, "at": e.at, "summary": e.summary,
            })
        })
        .collect();
    let value = serde_json::json!({
        "schema": "pgsafeguard.history/1",
        "store": location,
        "scans": scans,
        "events": events,
    });
    let mut text = untrusted::json_safe(serde_json::to_string_pretty(&value).unwrap_or_default());
    text.push('\n');
    text
}

fn history_text(location: &str, scans: &[ScanEntry], events: &[Event]) -> String {
    let mut out = format!(
        "{} recorded scan(s) in {}\n",
        scans.len(),
        untrusted::text(location)
    );
    let mut by_target: Vec<&ScanEntry> = scans.iter().collect();
    by_target.sort_by(|a, b| a.target.cmp(&b.target).then(a.seq.cmp(&b.seq)));
    let mut current_target = None;
    for scan in by_target {
        if current_target != Some(&scan.target) {
            out.push_str(&format!("\n{}\n", untrusted::text(&scan.target.label())));
            current_target = Some(&scan.target);
        }
        let s = &scan.summary;
        out.push_str(&format!(
            "  #{:<6} {}  {:<15} pass {:>3}  fail {:>3}  warn {:>3}  unknown {:>3}  accepted {:>3}\n",
            scan.seq,
            untrusted::text(&scan.collected_at),
            scan.source.describe(),
            s.pass,
            s.fail,
            s.warn,
            s.unknown,
            s.accepted
        ));
    }
    if !events.is_empty() {
        out.push_str("\nfixes, policy changes and signed reports\n");
        for event in events {
            out.push_str(&format!(
                "  #{:<6} {}  {:<6} {}\n",
                event.seq,
                untrusted::text(&event.at),
                event.kind,
                untrusted::text(&event.summary)
            ));
        }
    }
    out
}

/// The chain head of each report, each report verified first: a tampered,
/// unsigned or store-less report is refused (exit 2) before the store is read.
fn read_anchors(files: &[PathBuf]) -> anyhow::Result<Vec<Anchor>> {
    files
        .iter()
        .map(|file| {
            Ok(Anchor {
                source: file.display().to_string(),
                head: read_chain_head(file)?,
            })
        })
        .collect()
}

fn run_verify(args: VerifyHistoryArgs, anchors: &[Anchor]) -> anyhow::Result<ExitCode> {
    let mut store = args.store.open_for_reading()?;
    let report = store.verify(anchors)?;
    super::emit(&report.to_text());
    Ok(if report.intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

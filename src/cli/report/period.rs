//! `pgsafeguard report --period FROM..TO [TARGET]`: the audit-period report,
//! made from the evidence store alone (no server is contacted).
//!
//! The history listing chooses the scans (target and dates) before any scan
//! is read whole, and the scans are then read one at a time, oldest first,
//! so that a year of daily scans stays quick and small in memory.

use super::{announce, now_utc_seconds, record_anchor, signing_identity, store_head};
use crate::atomic_file::PendingFile;
use crate::cli::ReportArgs;
use crate::model::untrusted;
use crate::report::period::{
    build_signed_period_report_with, scans_in_period, Period, PeriodBuilder,
};
use crate::store::target::TargetIdentity;
use crate::store::ScanEntry;
use anyhow::bail;
use std::process::ExitCode;

pub(super) fn run_period_report(args: &ReportArgs, period: &str) -> anyhow::Result<ExitCode> {
    // Bad input is refused before anything is opened or written.
    let period = Period::parse(period)?;
    let tsa = args.timestamp.config()?;
    let output = PendingFile::reserve(&args.output)?;
    let (identity, created) = signing_identity(args.sign_with.as_deref())?;
    let mut store = args.store.open_for_reading()?;

    let entries = store.scans()?;
    let target = choose_target(&entries, args.conninfo.as_deref(), store.location())?;
    let chosen: Vec<u64> = scans_in_period(&entries, &target, &period)
        .iter()
        .map(|e| e.seq)
        .collect();
    if chosen.is_empty() {
        bail!(
            "no scans of {} in the period {} (recorded in {})",
            untrusted::text(&target.label()),
            period.label(),
            untrusted::text(store.location())
        );
    }
    let mut builder = PeriodBuilder::new(target, period);
    for seq in chosen {
        builder.push(store.load_scan(seq)?);
    }
    let mut input = builder.finish(&store.events()?);
    input.organisation = args.organisation.clone();
    input.operator = args.operator.clone();
    input.demo = args.demo;
    input.evidence_store = store_head(&mut store);

    let at = now_utc_seconds();
    let signed = build_signed_period_report_with(&input, &identity, at, tsa.as_ref())?;
    output.commit(&signed.pdf)?;
    record_anchor(
        Some(&mut store),
        input.evidence_store.as_ref(),
        &args.output,
        at,
    );
    announce(
        &args.output,
        &signed.pdf,
        &identity,
        created,
        &signed.timestamp,
    );
    args.timestamp.conclude(&signed.timestamp)
}

/// The one target TARGET names, or the only target of the store.
fn choose_target(
    entries: &[ScanEntry],
    selector: Option<&str>,
    location: &str,
) -> anyhow::Result<TargetIdentity> {
    let mut targets: Vec<&TargetIdentity> = Vec::new();
    for entry in entries {
        let named = selector.is_none_or(|s| entry.target.matches(s));
        if named && !targets.contains(&&entry.target) {
            targets.push(&entry.target);
        }
    }
    let listed = || {
        targets
            .iter()
            .map(|t| untrusted::text(&t.key()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (targets.as_slice(), selector) {
        ([one], _) => Ok((*one).clone()),
        ([], Some(s)) => bail!(
            "no scans of {} recorded in {}",
            untrusted::text(s),
            untrusted::text(location)
        ),
        ([], None) => bail!("no scans recorded in {}", untrusted::text(location)),
        (_, Some(s)) => bail!(
            "{} names several targets ({}): name one as host:port/database or by its key",
            untrusted::text(s),
            listed()
        ),
        (_, None) => bail!(
            "the store holds scans of several targets ({}): name one as TARGET",
            listed()
        ),
    }
}

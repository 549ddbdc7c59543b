//! `pgsafeguard accept` and `pgsafeguard baseline`: record the
//! organisation's decisions in the policy file, through its one writer
//! ([`crate::policy::writer`]), which keeps the file's comments and order.
//!
//! Input is checked before a server is scanned or the file is touched: a
//! catalogue check id, who and why, an expiry that is a date and not in the
//! past. Bad input is one line on stderr and exit 2, and the file is left as
//! it was. The clock is read here, for today's date and the time of the
//! decision; the checks themselves never read it.
//!
//! Rows for a baseline come from the same snapshot loading and live scan as
//! `pgsafeguard scan` ([`load_snapshot`], [`scan::scan_live`]). Like the rest
//! of `cli`, may import every room.

use super::store::StoreArgs;
use super::{scan::load_snapshot, LazyRuntime};
use crate::checks::{self, Check};
use crate::db::conninfo::ConnParams;
use crate::model::finding::Status;
use crate::model::untrusted;
use crate::output::summarise_objects;
use crate::policy::decision::{one_line, required, AcceptanceInput, CLI_FIELDS};
use crate::policy::{writer, Baseline, Policy, PolicyError};
use crate::scan::{self, now_rfc3339, ScanOptions};
use crate::store::{EvidenceStore, PolicyChange};
use anyhow::bail;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "The policy file is created when it does not exist; an existing \
    one keeps its comments and order, and one that does not parse is left alone. From the \
    day after --expires the check fails again, and its evidence says whose acceptance \
    expired.\n\n\
    Examples:\n  \
    pgsafeguard accept --policy policy.toml --id TLS-009 --by 'Jane Roe, CISO' \\\n    \
    --reason 'private subnet only' --expires 2027-06-30 --ticket RISK-1042\n  \
    pgsafeguard accept --policy policy.toml --id EAR-004 --object public.patients.date_of_birth \\\n    \
    --by 'Jane Roe, CISO' --reason 'triage queries' --expires 2027-03-31\n  \
    pgsafeguard accept --policy policy.toml --revoke --id TLS-009\n\n\
    Exit codes: 0 written, 2 bad input or the file could not be edited (it is left as it was)."
)]
pub struct AcceptArgs {
    /// The policy file (TOML) to edit
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// The check whose risk is accepted (e.g. TLS-009)
    #[arg(long, value_name = "ID")]
    pub id: String,
    /// Accept only this object, written exactly as the finding lists it under objects
    #[arg(long, value_name = "OBJECT")]
    pub object: Option<String>,
    /// Who accepts the risk
    #[arg(long, value_name = "NAME", required_unless_present = "revoke")]
    pub by: Option<String>,
    /// Why the risk is acceptable
    #[arg(long, value_name = "TEXT", required_unless_present = "revoke")]
    pub reason: Option<String>,
    /// The last day the risk is accepted (today or later)
    #[arg(long, value_name = "YYYY-MM-DD", required_unless_present = "revoke")]
    pub expires: Option<String>,
    /// The change or risk ticket that records the decision
    #[arg(long, value_name = "TICKET")]
    pub ticket: Option<String>,
    /// Remove the acceptance of --id (for --object, or of the whole check) instead
    #[arg(long, conflicts_with_all = ["by", "reason", "expires", "ticket"])]
    pub revoke: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "The baseline holds every row the check reports on this scan \
    (its objects, exactly as listed), with who approved them, why and when. Later scans \
    name the rows not in the baseline (the check keeps failing, and its fix acts on them \
    only) and the approved rows that are gone; when every row is approved the check is \
    accepted, without expiry. An existing baseline of the check is replaced.\n\n\
    Examples:\n  \
    pgsafeguard baseline --policy policy.toml --id PRIV-001 --by 'John Doe, DBA lead' \\\n    \
    --reason 'the two break-glass accounts' 'host=db dbname=clinic'\n  \
    pgsafeguard baseline --policy policy.toml --id AUTH-007 --by 'John Doe' \\\n    \
    --reason 'maintenance lines' --snapshot clinic.json\n  \
    pgsafeguard baseline --policy policy.toml --remove --id PRIV-001\n\n\
    Exit codes: 0 written, 2 bad input, a check with no rows to approve, or the file could \
    not be edited (it is left as it was)."
)]
pub struct BaselineArgs {
    /// Connection string to scan (URI or key=value); PG* variables fill what it leaves out
    #[arg(required_unless_present_any = ["snapshot", "remove"])]
    pub conninfo: Option<String>,
    /// Take the rows from a saved snapshot instead of connecting
    #[arg(long, value_name = "FILE", conflicts_with = "conninfo")]
    pub snapshot: Option<PathBuf>,
    /// The policy file (TOML) to edit; its other settings also apply to the check
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// The check whose rows are approved (e.g. PRIV-001)
    #[arg(long, value_name = "ID")]
    pub id: String,
    /// Who approves the rows
    #[arg(long, value_name = "NAME", required_unless_present = "remove")]
    pub by: Option<String>,
    /// Why the rows are acceptable as they are
    #[arg(long, value_name = "TEXT", required_unless_present = "remove")]
    pub reason: Option<String>,
    /// Remove the baseline of --id instead
    #[arg(long, conflicts_with_all = ["conninfo", "snapshot", "by", "reason"])]
    pub remove: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub(super) fn run_accept(args: AcceptArgs) -> anyhow::Result<ExitCode> {
    let object = args
        .object
        .map(|o| required("--object", Some(o)))
        .transpose()?;
    let mut store = args.store.open_for_recording()?;
    if args.revoke {
        writer::remove_acceptance(&args.policy, &args.id, object.as_deref())?;
        record(
            &mut store,
            PolicyChange {
                object: object.clone(),
                ..change("revoked", &args.id, &args.policy)
            },
        );
        super::emit(&format!(
            "revoked the accepted risk for {} in {}\n",
            subject(&args.id, object.as_deref()),
            args.policy.display()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let check = known_check(&args.id)?;
    let acceptance = AcceptanceInput {
        id: check.id.to_string(),
        object,
        by: args.by,
        reason: args.reason,
        expires: args.expires,
        ticket: args.ticket,
    }
    .validate(CLI_FIELDS, &now_rfc3339())?;
    writer::add_acceptance(&args.policy, &acceptance)?;
    record(
        &mut store,
        PolicyChange {
            object: acceptance.object.clone(),
            by: acceptance.by.clone(),
            reason: acceptance.reason.clone(),
            expires: Some(acceptance.expires.clone()),
            ticket: acceptance.ticket.clone(),
            ..change("accepted", check.id, &args.policy)
        },
    );
    super::emit(&format!(
        "accepted the risk of {} until {} in {}\n",
        subject(check.id, acceptance.object.as_deref()),
        acceptance.expires,
        args.policy.display()
    ));
    Ok(ExitCode::SUCCESS)
}

pub(super) fn run_baseline(args: BaselineArgs, runtime: &LazyRuntime) -> anyhow::Result<ExitCode> {
    let mut store = args.store.open_for_recording()?;
    if args.remove {
        writer::remove_baseline(&args.policy, &args.id)?;
        record(
            &mut store,
            change("baseline removed", &args.id, &args.policy),
        );
        super::emit(&format!(
            "removed the baseline of {} from {}\n",
            untrusted::name(&args.id),
            args.policy.display()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let check = known_check(&args.id)?;
    let by = one_line("--by", required("--by", args.by)?)?;
    let reason = one_line("--reason", required("--reason", args.reason)?)?;
    // Read before scanning, so that a broken file fails before any work.
    let policy = policy_or_default(&args.policy)?;
    let snapshot = match &args.snapshot {
        Some(path) => load_snapshot(path)?,
        None => {
            let params = ConnParams::from_conninfo(args.conninfo.as_deref().unwrap_or(""))?;
            runtime.get()?.block_on(scan::scan_live(
                &params,
                &ScanOptions::default(),
                scan::no_progress(),
            ))?
        }
    };
    // Every row the check reports, also rows accepted one by one: the
    // baseline approves them for good, acceptances only until they expire.
    let verdict = checks::verdict_of(check, &snapshot, &policy);
    if !matches!(verdict.status, Status::Fail | Status::Warn) {
        bail!(
            "{} is {} on this scan: only a failing or warning check has rows to approve",
            check.id,
            verdict.status
        );
    }
    if verdict.objects.is_empty() {
        bail!(
            "{} lists no rows on this scan, so there is nothing to approve row by row: \
             accept the risk with `pgsafeguard accept` instead",
            check.id
        );
    }
    let baseline = Baseline {
        id: check.id.to_string(),
        rows: verdict.objects,
        by,
        reason,
        at: now_rfc3339(),
    };
    writer::set_baseline(&args.policy, &baseline)?;
    record(
        &mut store,
        PolicyChange {
            by: baseline.by.clone(),
            reason: baseline.reason.clone(),
            rows: baseline.rows.clone(),
            ..change("baseline set", check.id, &args.policy)
        },
    );
    super::emit(&format!(
        "baseline of {} in {}: {}\n",
        check.id,
        args.policy.display(),
        summarise_objects(&baseline.rows)
    ));
    Ok(ExitCode::SUCCESS)
}

/// A policy change of `action` on check `id` in `policy`, now; the caller
/// fills in who, why and what.
fn change(action: &str, id: &str, policy: &Path) -> PolicyChange {
    PolicyChange {
        action: action.into(),
        check_id: id.into(),
        object: None,
        by: String::new(),
        reason: String::new(),
        expires: None,
        ticket: None,
        rows: Vec::new(),
        policy_file: policy.display().to_string(),
        at: now_rfc3339(),
    }
}

/// Record a policy change in the evidence store; the policy file is already
/// written, so a store that cannot take it warns and changes nothing.
fn record(store: &mut Option<EvidenceStore>, change: PolicyChange) {
    if let Some(store) = store {
        if let Err(e) = store.record_policy_change(&change) {
            super::store::warn(&format!(
                "the policy file was written but the change is not in {}: {e}",
                store.location()
            ));
        }
    }
}

fn known_check(id: &str) -> anyhow::Result<&'static Check> {
    match checks::find(id) {
        Some(check) => Ok(check),
        None => bail!(
            "there is no check {}: run `pgsafeguard scan` to see the ids",
            untrusted::name(id)
        ),
    }
}

/// The policy the check is judged with: the file, or none yet.
fn policy_or_default(path: &Path) -> anyhow::Result<Policy> {
    match Policy::load(path) {
        Ok(policy) => Ok(policy),
        Err(PolicyError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(Policy::default())
        }
        Err(e) => Err(e.into()),
    }
}

/// `TLS-009` or `EAR-004 (object "…")`, for messages.
fn subject(id: &str, object: Option<&str>) -> String {
    match object {
        Some(object) => format!(
            "{} (object {})",
            untrusted::name(id),
            untrusted::name(object)
        ),
        None => untrusted::name(id),
    }
}

//! `pgsafeguard report`: scan (or load a snapshot or session), record the
//! scan in the evidence store, then write the signed PDF evidence report with
//! the store's chain head in it, and record that report as an anchor.
//! `--period` writes the audit-period report instead ([`period`]); `--tsa`
//! timestamps either ([`timestamp`]).

mod period;
mod timestamp;

pub use timestamp::TimestampArgs;

use super::{LazyRuntime, ReportArgs};
use crate::atomic_file::PendingFile;
use crate::checks;
use crate::db::conninfo::ConnParams;
use crate::model::changelog::ChangeLogEntry;
use crate::model::finding::Finding;
use crate::model::snapshot::Snapshot;
use crate::model::untrusted;
use crate::output::ScanReport;
use crate::policy::{Attestations, Policy};
use crate::report::changes::{previous_scan, Comparison};
use crate::report::{
    build_signed_report_with, ReportInput, SigningIdentity, StoreHead, TimestampOutcome,
};
use crate::scan::{self, ScanOptions};
use crate::session::SessionFile;
use crate::store::scan_record::ScanSource;
use crate::store::{AnchorNote, EvidenceStore, StoreError};
use anyhow::{bail, Context};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use time::OffsetDateTime;

/// Environment variable holding the PKCS#12 password.
pub const PASSWORD_ENV: &str = "PGSAFEGUARD_SIGN_PASSWORD";

pub(super) fn run_report(args: ReportArgs, runtime: &LazyRuntime) -> anyhow::Result<ExitCode> {
    if let Some(period) = &args.period {
        return period::run_period_report(&args, period);
    }
    // Reserve the output first: an unwritable path fails before any work,
    // and nothing half-written is ever left behind.
    let output = PendingFile::reserve(&args.output)?;
    let policy = match &args.policy {
        Some(p) => Policy::load(p)?,
        None => Policy::default(),
    };
    let tsa = args.timestamp.config()?;
    // The identity is opened before scanning so a wrong password costs nothing.
    let (identity, created) = signing_identity(args.sign_with.as_deref())?;
    // A store the user named must open before any work; the default one may not.
    let mut store = args.store.open_for_recording()?;

    let (snapshot, mut attestations, change_log) = gather(&args, runtime)?;
    if let Some(path) = &args.attestations {
        // The file given on the command line wins over the session's.
        attestations.0.extend(Attestations::load(path)?.0);
    }
    let findings = checks::evaluate_all(&snapshot, &policy, &attestations);
    let source = match (&args.snapshot, &args.session) {
        (None, None) => ScanSource::Cli,
        _ => ScanSource::SnapshotFile,
    };
    let recorded = super::store::record_scan(&mut store, &snapshot, &findings, source);
    let (evidence_store, comparison) = match (&mut store, &recorded) {
        (Some(store), Some(record)) => (
            store_head(store),
            compare_with_previous(store, record.seq, &snapshot, &findings),
        ),
        _ => (None, Comparison::NotRecorded),
    };
    let input = ReportInput {
        report: ScanReport::new(&snapshot, findings),
        organisation: args.organisation.clone(),
        operator: args.operator.clone(),
        change_log,
        demo: args.demo,
        evidence_store,
        comparison,
    };
    let at = now_utc_seconds();
    let signed = build_signed_report_with(&input, &identity, at, tsa.as_ref())?;
    output.commit(&signed.pdf)?;
    record_anchor(
        store.as_mut(),
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

/// The chain head to embed; a store that cannot say warns and the report
/// says "not recorded".
fn store_head(store: &mut EvidenceStore) -> Option<StoreHead> {
    match store.head() {
        Ok(Some(head)) => Some(StoreHead {
            location: store.location().to_string(),
            head,
        }),
        Ok(None) => None,
        Err(e) => {
            super::store::warn(&format!(
                "the report will not name a chain head of {}: {e}",
                store.location()
            ));
            None
        }
    }
}

/// This scan (record `seq`) against the newest earlier scan of its target.
/// A store that cannot be read back warns; the chapter then says so.
fn compare_with_previous(
    store: &mut EvidenceStore,
    seq: u64,
    snapshot: &Snapshot,
    findings: &[Finding],
) -> Comparison {
    let mut compare = || -> Result<Comparison, StoreError> {
        let entries = store.scans()?;
        let Some(this) = entries.iter().find(|e| e.seq == seq) else {
            return Err(StoreError::NotFound(format!("scan #{seq} is not listed")));
        };
        let Some(previous) = previous_scan(&entries, this) else {
            return Ok(Comparison::FirstScan);
        };
        let old = store.load_scan(previous.seq)?;
        Ok(Comparison::between(
            previous,
            (&old.snapshot, &old.findings),
            (snapshot, findings, this),
        ))
    };
    compare().unwrap_or_else(|e| {
        super::store::warn(&format!(
            "the report will not compare this scan with the previous one: {e}"
        ));
        Comparison::Unavailable(e.to_string())
    })
}

/// Record that the written report anchors `head`. The report is already
/// written, so a failure only warns.
fn record_anchor(
    store: Option<&mut EvidenceStore>,
    head: Option<&StoreHead>,
    output: &Path,
    at: OffsetDateTime,
) {
    let (Some(store), Some(head)) = (store, head) else {
        return;
    };
    let note = AnchorNote {
        report: output.file_name().map_or_else(
            || output.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        head: head.head.clone(),
        at: at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    };
    if let Err(e) = store.record_anchor(&note) {
        super::store::warn(&format!(
            "the report was written but its anchor could not be recorded in {}: {e}",
            store.location()
        ));
    }
}

/// What was written, who signed it and who timestamped it (and a new
/// default identity, once).
fn announce(
    output: &Path,
    pdf: &[u8],
    identity: &SigningIdentity,
    created: Option<String>,
    timestamp: &TimestampOutcome,
) {
    if let Some(path) = created {
        eprintln!(
            "pgsafeguard: created a signing identity at {} (SHA-256 {})",
            path,
            identity.fingerprint_sha256()
        );
    }
    super::emit(&format!(
        "wrote {} ({} KB), signed by {} (SHA-256 {}){}\n",
        output.display(),
        pdf.len().div_ceil(1024),
        untrusted::text(&identity.subject()),
        identity.fingerprint_sha256(),
        timestamp::announce_suffix(timestamp)
    ));
}

/// Now, to the second: the report's creation and signing time, and its anchor's.
fn now_utc_seconds() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// The snapshot, attestations and change log from whichever source was given.
fn gather(
    args: &ReportArgs,
    runtime: &LazyRuntime,
) -> anyhow::Result<(Snapshot, Attestations, Vec<ChangeLogEntry>)> {
    if let Some(path) = &args.session {
        let session = SessionFile::load(path)?;
        return Ok((session.snapshot, session.attestations, session.change_log));
    }
    if let Some(path) = &args.snapshot {
        return Ok((
            super::load_snapshot(path)?,
            Attestations::default(),
            Vec::new(),
        ));
    }
    let params = ConnParams::from_conninfo(args.conninfo.as_deref().unwrap_or(""))?;
    let snapshot = runtime.get()?.block_on(scan::scan_live(
        &params,
        &ScanOptions::default(),
        scan::no_progress(),
    ))?;
    Ok((snapshot, Attestations::default(), Vec::new()))
}

/// The PKCS#12 identity given, or the default one (the path when it was
/// created by this run).
pub(super) fn signing_identity(
    sign_with: Option<&Path>,
) -> anyhow::Result<(SigningIdentity, Option<String>)> {
    match sign_with {
        Some(path) => {
            if !path.is_file() {
                // Say so before asking for a password.
                bail!(
                    "cannot read signing identity {}: no such file",
                    path.display()
                );
            }
            let password = password_for(path)?;
            Ok((SigningIdentity::load_pkcs12(path, &password)?, None))
        }
        None => {
            let (identity, created) = SigningIdentity::load_or_create_default()?;
            let shown = SigningIdentity::default_path()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            Ok((identity, created.then_some(shown)))
        }
    }
}

/// From the environment, else from a prompt on the terminal without echo.
fn password_for(path: &Path) -> anyhow::Result<String> {
    if let Ok(password) = std::env::var(PASSWORD_ENV) {
        return Ok(password);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "no password for {}: set {PASSWORD_ENV} or run on a terminal to be asked",
            path.display()
        );
    }
    prompt_without_echo(&format!("password for {}: ", path.display())).with_context(|| {
        format!(
            "cannot ask for the password of {}: set {PASSWORD_ENV}",
            path.display()
        )
    })
}

#[cfg(unix)]
fn prompt_without_echo(prompt: &str) -> anyhow::Result<String> {
    use std::fs::OpenOptions;
    use std::process::{Command, Stdio};
    let tty = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .context("no terminal")?;
    let stty = |arg: &str| -> anyhow::Result<()> {
        let status = Command::new("stty")
            .arg(arg)
            .stdin(Stdio::from(tty.try_clone()?))
            .status()
            .context("cannot run stty")?;
        if !status.success() {
            bail!("stty {arg} failed");
        }
        Ok(())
    };
    (&tty).write_all(prompt.as_bytes())?;
    stty("-echo")?;
    let mut line = String::new();
    let read = std::io::BufReader::new(&tty).read_line(&mut line);
    // Echo back on whatever happened while reading.
    let restored = stty("echo");
    (&tty).write_all(b"\n")?;
    read?;
    restored?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

#[cfg(not(unix))]
fn prompt_without_echo(_prompt: &str) -> anyhow::Result<String> {
    bail!("password prompts are not supported on this platform")
}

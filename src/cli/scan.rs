//! `pgsafeguard scan`: scan a server (with `--prove`, also probe it) or
//! re-evaluate a saved snapshot or session; print it as text, our JSON or one
//! of the exchange formats (`output::formats`). `prove` runs through here too ([`Shown`]).

use super::{LazyRuntime, ScanArgs, ScanFormat};
use crate::atomic_file::PendingFile;
use crate::checks;
use crate::db::conninfo::ConnParams;
use crate::model::finding::Finding;
use crate::model::finding::Status;
use crate::model::snapshot::{Gap, Snapshot, SCHEMA_VERSION};
use crate::model::untrusted;
use crate::output::formats::sarif::to_sarif_against;
use crate::output::formats::{export, export_json, ExportFormat};
use crate::output::{proofs, ScanReport};
use crate::policy::{Attestations, Policy};
use crate::report::changes::previous_scan;
use crate::scan::{self, ScanOptions};
use crate::session::SessionFile;
use crate::store::record::Record;
use crate::store::scan_record::ScanSource;
use crate::store::{EvidenceStore, StoreError};
use anyhow::{bail, Context};
use std::path::Path;
use std::process::ExitCode;

/// Which findings the output shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shown {
    /// `scan`: every check.
    AllChecks,
    /// `prove`: the checks the asked probes give proofs for.
    ProvedChecks,
}

pub(super) fn run(args: ScanArgs, runtime: &LazyRuntime, shown: Shown) -> anyhow::Result<ExitCode> {
    if args.objects && args.format != ScanFormat::Csv {
        bail!("--objects lists failing objects in CSV: use it with --format csv");
    }
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
    let session = args.session.as_deref().map(SessionFile::load).transpose()?;
    let mut attestations = session
        .as_ref()
        .map(|s| s.attestations.clone())
        .unwrap_or_default();
    if let Some(p) = &args.attestations {
        // The file given on the command line wins over the session's.
        attestations.0.extend(Attestations::load(p)?.0);
    }

    // Bad connection input is an error before the store is even opened.
    let offline = args.snapshot.is_some() || session.is_some();
    let params = match offline {
        true => None,
        false => Some(ConnParams::from_conninfo(
            args.conninfo.as_deref().unwrap_or(""),
        )?),
    };
    let prove = if args.prove || args.probes.given() {
        Some(args.probes.options(&policy)?)
    } else {
        None
    };
    let opts = ScanOptions {
        all_databases: args.all_databases,
        sample_phi: args.sample_phi,
        prove,
        ..ScanOptions::default()
    };
    if let Some(refusal) = params.as_ref().and_then(|p| scan::probe_refusal(p, &opts)) {
        bail!(refusal);
    }
    let mut store = args.store.open_for_recording()?;

    let mut snapshot = match (session, &args.snapshot, params) {
        (Some(session), _, _) => session.snapshot,
        (None, Some(path), _) => load_snapshot(path)?,
        (None, None, None) => bail!("give a connection string, --snapshot or --session"),
        (None, None, Some(params)) => {
            runtime
                .get()?
                .block_on(scan::scan_live(&params, &opts, scan::no_progress()))?
        }
    };

    super::drill::attach_recorded_drill(&mut store, &mut snapshot);
    let findings = checks::evaluate_all(&snapshot, &policy, &attestations);
    let source = match offline {
        true => ScanSource::SnapshotFile,
        false => ScanSource::Cli,
    };
    let recorded = super::store::record_scan(&mut store, &snapshot, &findings, source);
    let report = ScanReport::new(&snapshot, findings);
    let report = match shown {
        Shown::AllChecks => report,
        Shown::ProvedChecks => proofs::proved_only(report),
    };
    let text = match (args.format, shown) {
        (ScanFormat::Json, _) => report.to_json(),
        (ScanFormat::Sarif, _) => match previous_findings(store.as_mut(), recorded.as_ref()) {
            Some(previous) => export_json(&to_sarif_against(&report, &previous))?,
            None => export(&report, ExportFormat::Sarif)?,
        },
        (ScanFormat::Junit, _) => export(&report, ExportFormat::Junit)?,
        (ScanFormat::Hdf, _) => export(&report, ExportFormat::Hdf)?,
        (ScanFormat::Oscal, _) => export(&report, ExportFormat::Oscal)?,
        (ScanFormat::Csv, _) => export(
            &report,
            ExportFormat::Csv {
                objects: args.objects,
            },
        )?,
        (ScanFormat::Text, Shown::AllChecks) => untrusted::terminal(&report.to_text()).into_owned(),
        (ScanFormat::Text, Shown::ProvedChecks) => {
            untrusted::terminal(&proofs::prove_text(&report)).into_owned()
        }
    };
    if let Some(pending) = snapshot_out {
        pending.commit(snapshot_json(&snapshot).as_bytes())?;
    }
    match output {
        Some(pending) => pending.commit(text.as_bytes())?,
        None => super::emit(&text),
    }
    Ok(exit_code(&report, args.strict))
}

/// The findings of the scan recorded before this one (`recorded`) of the
/// same target, for SARIF's `baselineState`. A store that cannot be read
/// back warns, and the export goes without the comparison.
fn previous_findings(
    store: Option<&mut EvidenceStore>,
    recorded: Option<&Record>,
) -> Option<Vec<Finding>> {
    let (store, recorded) = (store?, recorded?);
    let mut load = || -> Result<Option<Vec<Finding>>, StoreError> {
        let entries = store.scans()?;
        let Some(this) = entries.iter().find(|e| e.seq == recorded.seq) else {
            return Ok(None);
        };
        match previous_scan(&entries, this) {
            Some(previous) => Ok(Some(store.load_scan(previous.seq)?.findings)),
            None => Ok(None),
        }
    };
    load().unwrap_or_else(|e| {
        super::store::warn(&format!(
            "the SARIF export will not compare with the previous scan: {e}"
        ));
        None
    })
}

fn exit_code(report: &ScanReport, strict: bool) -> ExitCode {
    let failing = report.findings.iter().any(|f| {
        f.status == Status::Fail || (strict && matches!(f.status, Status::Unknown | Status::Manual))
    }) || (strict && report.gaps.iter().any(Gap::is_unscanned_databases));
    if failing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The snapshot as saved by `--save-snapshot`.
pub fn snapshot_json(snapshot: &Snapshot) -> String {
    let mut text = untrusted::json_safe(serde_json::to_string_pretty(snapshot).unwrap_or_default());
    text.push('\n');
    text
}

/// Read a saved snapshot, refusing files from a newer or unknown schema.
pub fn load_snapshot(path: &Path) -> anyhow::Result<Snapshot> {
    /// Read first, skipping everything else, so that a wrong or newer schema
    /// gets its own message instead of a confusing field error.
    #[derive(serde::Deserialize)]
    struct Header {
        schema_version: Option<serde_json::Value>,
    }
    let shown = path.display();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {shown}"))?;
    let header: Header = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!("{shown} is not valid JSON ({e}): pass a file written by --save-snapshot")
    })?;
    match header.schema_version.as_ref().and_then(|v| v.as_u64()) {
        None => bail!("{shown} is not a pgSafeguard snapshot (no schema_version): pass a file written by --save-snapshot"),
        Some(v) if v > u64::from(SCHEMA_VERSION) => bail!(
            "{shown} has snapshot schema_version {v}, newer than this pgSafeguard reads ({SCHEMA_VERSION}): upgrade pgSafeguard"
        ),
        Some(_) => {}
    }
    serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!("{shown} is not a valid pgSafeguard snapshot ({e}): pass a file written by --save-snapshot")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report_with_gaps(gaps: Vec<Gap>) -> ScanReport {
        let snapshot = Snapshot {
            gaps,
            ..Snapshot::default()
        };
        ScanReport::new(&snapshot, Vec::new())
    }

    #[test]
    fn strict_treats_unscanned_databases_like_unknown() {
        let unscanned = report_with_gaps(vec![Gap::unscanned_databases(&["archive_2019".into()])]);
        assert_eq!(exit_code(&unscanned, true), ExitCode::from(1));
        assert_eq!(exit_code(&unscanned, false), ExitCode::SUCCESS);
        let complete = report_with_gaps(Vec::new());
        assert_eq!(exit_code(&complete, true), ExitCode::SUCCESS);
    }
}

//! One scan, start to finish: connect read-only, collect, assemble the
//! [`Snapshot`]. Shared by the CLI and the GUI so both scan the same way.
//!
//! The only clock reading of a scan happens here (`collected_at`).

use crate::db::collect::{self, CollectError, CollectOptions};
use crate::db::connect::{self, ConnectError};
use crate::db::conninfo::ConnParams;
pub use crate::db::probe::ProbeOptions;
use crate::model::snapshot::{Gap, Snapshot, SCHEMA_VERSION};
use std::sync::Arc;

/// What a scan should do beyond the default.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Repeat the per-database part for every database that accepts connections.
    pub all_databases: bool,
    /// Read a bounded sample of PHI-looking text columns (counts only).
    pub sample_phi: bool,
    /// Per-statement limit inside the scan transaction.
    pub statement_timeout_ms: u64,
    /// Run active probes after collecting (`--prove`); their proofs go into
    /// the snapshot. Check [`probe_refusal`] first.
    pub prove: Option<ProbeOptions>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            all_databases: false,
            sample_phi: false,
            statement_timeout_ms: 30_000,
            prove: None,
        }
    }
}

/// A step of the scan, for progress bars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanProgress {
    pub step: String,
    pub done: usize,
    pub total: usize,
}

/// Receives progress; called from the runtime thread.
pub type Progress = Arc<dyn Fn(ScanProgress) + Send + Sync>;

/// A progress sink that ignores everything.
pub fn no_progress() -> Progress {
    Arc::new(|_| {})
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Collect(#[from] CollectError),
}

/// Settings every scan session starts with: nothing it runs can write.
fn read_only_session(opts: &ScanOptions) -> Vec<(String, String)> {
    vec![
        ("default_transaction_read_only".into(), "on".into()),
        (
            "statement_timeout".into(),
            format!("{}", opts.statement_timeout_ms),
        ),
    ]
}

/// Connect, collect everything, and return the snapshot.
pub async fn scan_live(
    params: &ConnParams,
    opts: &ScanOptions,
    progress: Progress,
) -> Result<Snapshot, ScanError> {
    let session_settings = read_only_session(opts);
    let settings: Vec<(&str, &str)> = session_settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let collect_opts = CollectOptions {
        statement_timeout_ms: opts.statement_timeout_ms,
        sample_phi: opts.sample_phi,
    };
    let total_steps = 3;
    let report = |step: &str, done: usize, total: usize| {
        progress(ScanProgress {
            step: step.into(),
            done,
            total,
        })
    };

    report("connecting", 0, total_steps);
    let session = connect::connect_with(params, &settings).await?;
    let collected_at = now_rfc3339();

    report("reading catalogs and settings", 1, total_steps);
    let collected = collect::collect_all(&session.client, &collect_opts).await?;
    let other_databases: Vec<String> = collected
        .databases_allowing_connections
        .iter()
        .filter(|d| **d != params.dbname)
        .cloned()
        .collect();

    let mut snapshot = Snapshot {
        schema_version: SCHEMA_VERSION,
        collected_at,
        target: session.target.clone(),
        ..Snapshot::default()
    };
    collected.fill(&mut snapshot);
    snapshot.host = crate::db::host::collect_host_facts(&snapshot);

    if opts.all_databases {
        let total = other_databases.len() + total_steps;
        for (i, name) in other_databases.iter().enumerate() {
            report(&format!("database {name}"), 2 + i, total);
            collect_other_database(params, name, &settings, &collect_opts, &mut snapshot).await;
        }
    } else if !other_databases.is_empty() {
        // Say what this scan did not see: those databases may hold PHI.
        snapshot
            .gaps
            .push(Gap::unscanned_databases(&other_databases));
    }
    if let Some(probe_options) = &opts.prove {
        report("probing", total_steps, total_steps + 1);
        snapshot.probes =
            Some(crate::db::probe::run(params, &snapshot, probe_options, now_rfc3339).await);
    }
    report("done", total_steps, total_steps);
    Ok(snapshot)
}

/// Why probes must not run on this connection (see `db::probe::refusal`):
/// checked before any work, so a refused `--prove` scans nothing.
pub fn probe_refusal(params: &ConnParams, opts: &ScanOptions) -> Option<String> {
    let probe = opts.prove.as_ref()?;
    crate::db::probe::refusal(params, probe.insecure)
}

/// Collect one more database; a database that refuses us becomes a gap.
async fn collect_other_database(
    params: &ConnParams,
    name: &str,
    settings: &[(&str, &str)],
    opts: &CollectOptions,
    snapshot: &mut Snapshot,
) {
    let part = format!("database:{name}");
    let outcome = async {
        let session = connect::connect_with(&params.with_dbname(name), settings)
            .await
            .map_err(|e| e.to_string())?;
        collect::collect_database(&session.client, opts)
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    match outcome {
        Ok((facts, gaps)) => {
            snapshot.databases.push(facts);
            snapshot.gaps.extend(gaps.into_iter().map(|mut g| {
                g.part = format!("{part}/{}", g.part);
                g
            }));
        }
        Err(message) => snapshot.gaps.push(Gap {
            part,
            sqlstate: None,
            message,
            grant: Some(format!(
                "GRANT CONNECT ON DATABASE {} TO {}",
                postgres_protocol::escape::escape_identifier(name),
                postgres_protocol::escape::escape_identifier(&params.user)
            )),
        }),
    }
}

/// Current UTC time as RFC 3339 with second precision.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

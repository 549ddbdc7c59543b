//! The evidence store as commands see it: `--store`, `--store-schema` and
//! `--no-store`, and the rule that the default store never stops a scan
//! (it warns once) while a store the user named must open (exit 2).

use crate::model::finding::Finding;
use crate::model::snapshot::Snapshot;
use crate::model::untrusted;
use crate::store::record::Record;
use crate::store::scan_record::ScanSource;
use crate::store::{EvidenceStore, StoreChoice};
use anyhow::Context;

#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// Evidence store: an SQLite file, or a PostgreSQL conninfo for a team store
    /// (default: evidence.sqlite in the platform data folder)
    #[arg(long, value_name = "PATH|CONNINFO")]
    pub store: Option<String>,
    /// Schema of a team store on PostgreSQL
    #[arg(long, value_name = "NAME", requires = "store")]
    pub store_schema: Option<String>,
    /// Record nothing in the evidence store
    #[arg(long, conflicts_with = "store")]
    pub no_store: bool,
}

impl StoreArgs {
    pub fn choice(&self) -> anyhow::Result<StoreChoice> {
        Ok(
            StoreChoice::from_flags(self.store.as_deref(), self.no_store)
                .with_schema(self.store_schema.as_deref())?,
        )
    }

    /// The store a command records into. A store the user named must open;
    /// the default one may fail, with one warning, and the command goes on.
    pub fn open_for_recording(&self) -> anyhow::Result<Option<EvidenceStore>> {
        let choice = self.choice()?;
        match choice.open() {
            Ok(store) => Ok(store),
            Err(e) if choice.is_explicit() => Err(e.into()),
            Err(e) => {
                warn(&format!(
                    "not recording this run in the evidence store: {e}"
                ));
                Ok(None)
            }
        }
    }

    /// The store a command reads (history, diff, verify): it must open.
    pub fn open_for_reading(&self) -> anyhow::Result<EvidenceStore> {
        let choice = self.choice()?;
        if choice == StoreChoice::Off {
            anyhow::bail!("--no-store leaves nothing to read: pass --store or leave both out");
        }
        if let StoreChoice::Default = choice {
            let path = crate::store::location::default_path()
                .context("this system has no data folder for the evidence store")?;
            if !path.exists() {
                anyhow::bail!(
                    "no evidence store at {} yet: scans are recorded there once you run pgsafeguard scan",
                    path.display()
                );
            }
        }
        choice.open()?.context("the evidence store is switched off")
    }
}

/// Record a scan; a failure to record warns and keeps the scan's result.
/// Returns the scan's record when it is in the store.
pub fn record_scan(
    store: &mut Option<EvidenceStore>,
    snapshot: &Snapshot,
    findings: &[Finding],
    source: ScanSource,
) -> Option<Record> {
    let store = store.as_mut()?;
    match store.record_scan(snapshot, findings, source) {
        Ok(record) => Some(record),
        Err(e) => {
            warn(&format!(
                "the scan ran but could not be recorded in {}: {e}",
                store.location()
            ));
            None
        }
    }
}

pub(super) fn warn(message: &str) {
    eprintln!("pgsafeguard: warning: {}", untrusted::one_line(message));
}

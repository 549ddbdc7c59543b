//! The output folder of a fleet run (`--output DIR`), written as results
//! come in:
//!
//! ```text
//! DIR/fleet.json                  the summary (pgsafeguard.fleet/1), written last
//! DIR/targets/NAME.json           each scanned target (pgsafeguard.scan/1)
//! DIR/targets/NAME.sarif …        with --format sarif|junit|hdf|oscal|csv, that format too
//! ```
//!
//! Every file is written whole or not at all (`atomic_file`), so a run that
//! is stopped leaves the targets finished so far, each complete. Target
//! names are checked by the inventory to be plain file names.
//!
//! Imports `atomic_file`, `output` and the rest of `fleet`.

use super::summary::{FleetSummary, SUMMARY_FILE};
use crate::atomic_file::{write_atomically, WriteError};
use crate::output::formats::{export, ExportError, ExportFormat};
use crate::output::ScanReport;
use std::path::{Path, PathBuf};

/// The per-target folder inside the output folder.
pub const TARGETS_DIR: &str = "targets";

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot create the output folder {path}: {message}")]
    Folder { path: String, message: String },
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Export(#[from] ExportError),
}

/// An exchange format's file extension.
pub fn extension(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Sarif => "sarif",
        ExportFormat::Junit => "junit.xml",
        ExportFormat::Hdf => "hdf.json",
        ExportFormat::Oscal => "oscal.json",
        ExportFormat::Csv { .. } => "csv",
    }
}

/// A prepared output folder.
#[derive(Debug, Clone)]
pub struct OutputDir {
    root: PathBuf,
    export: Option<ExportFormat>,
}

impl OutputDir {
    /// Creates `root/targets` (and `root`) when missing.
    pub fn prepare(root: &Path, export: Option<ExportFormat>) -> Result<OutputDir, OutputError> {
        let targets = root.join(TARGETS_DIR);
        std::fs::create_dir_all(&targets).map_err(|e| OutputError::Folder {
            path: root.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(OutputDir {
            root: root.to_path_buf(),
            export,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes a target's scan (and its exchange format); returns the JSON's
    /// path relative to the folder, for the summary.
    pub fn write_target(
        &self,
        name: &str,
        json: &str,
        report: &ScanReport,
    ) -> Result<String, OutputError> {
        let relative = format!("{TARGETS_DIR}/{name}.json");
        write_atomically(&self.root.join(&relative), json.as_bytes())?;
        if let Some(format) = self.export {
            let text = export(report, format)?;
            let file = format!("{TARGETS_DIR}/{name}.{}", extension(format));
            write_atomically(&self.root.join(file), text.as_bytes())?;
        }
        Ok(relative)
    }

    /// Writes `fleet.json`.
    pub fn write_summary(&self, summary: &FleetSummary) -> Result<(), OutputError> {
        write_atomically(&self.root.join(SUMMARY_FILE), summary.to_json().as_bytes())?;
        Ok(())
    }
}

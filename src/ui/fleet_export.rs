//! The Fleet page's signed PDF: the finished run as the fleet report
//! (`crate::report::fleet`: the matrix and one chapter per target, the
//! summary embedded), signed with the user's default identity and written
//! whole or not at all — what `pgsafeguard fleet report` writes from an
//! output folder.
//!
//! An `impl Jobs` block of its own: the save dialog and the build run on the
//! runtime, and the result comes back as the report export's
//! [`JobEvent::ReportExported`], so the App says where it went and who
//! signed it as for a single report. Imports `jobs`, `fleet` and
//! `timestamp`.

use super::fleet::FleetView;
use super::jobs::{save_dialog, write_signed, ExportedReport, JobEvent, Jobs};
use crate::report::fleet::{build_signed_fleet_report_with, FleetReportInput};
use crate::report::SigningIdentity;
use std::path::Path;

/// The finished run as a fleet report's input; `None` while it runs or
/// before any run.
pub fn fleet_report_input(view: &FleetView) -> Option<FleetReportInput> {
    Some(FleetReportInput {
        summary: view.summary()?,
        scans: view.reports(),
        organisation: None,
        operator: None,
    })
}

/// The file name offered in the save dialog: the inventory's name and the day.
pub fn suggested_fleet_report_name(input: &FleetReportInput) -> String {
    let stem = Path::new(&input.summary.inventory.path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "fleet".into());
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let day = input.summary.finished_at.get(..10).unwrap_or_default();
    if day.is_empty() {
        format!("{stem}-fleet-report.pdf")
    } else {
        format!("{stem}-fleet-report-{day}.pdf")
    }
}

/// Build, sign and atomically write the fleet report to `path`. Blocking:
/// call it from `spawn_blocking`, never on the UI thread.
pub fn export_fleet_report_to(
    path: &Path,
    input: &FleetReportInput,
    identity: &SigningIdentity,
) -> Result<ExportedReport, String> {
    write_signed(path, identity, "the fleet report", |at| {
        build_signed_fleet_report_with(input, identity, at, None)
    })
}

impl Jobs {
    /// Ask where to save the fleet's signed PDF, then build, sign and write it.
    pub fn export_fleet_report_as(&self, input: FleetReportInput) -> Result<(), String> {
        let runtime = self
            .runtime_handle()
            .map_err(|e| format!("cannot export the fleet report: {e}"))?;
        let out = self.event_sender();
        let suggested = suggested_fleet_report_name(&input);
        runtime.spawn(async move {
            let Some(path) =
                save_dialog("Export signed fleet report", &suggested, "PDF", "pdf").await
            else {
                return;
            };
            let result = tokio::task::spawn_blocking(move || {
                let (identity, _created) = SigningIdentity::load_or_create_default()
                    .map_err(|e| format!("cannot load the report signing identity: {e}"))?;
                export_fleet_report_to(&path, &input, &identity)
            })
            .await
            .unwrap_or_else(|e| {
                Err(format!(
                    "exporting the fleet report stopped unexpectedly: {e}"
                ))
            });
            out.send(JobEvent::ReportExported(result));
        });
        Ok(())
    }
}

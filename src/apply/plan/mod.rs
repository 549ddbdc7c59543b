//! Hardening plans: many fixes in one reviewed order, for one maintenance
//! window with one restart.
//!
//! ```text
//! plan::prepare(&applier, &selection)      → HardeningPlan (fresh scan, nothing runs)
//! plan::render(&plan, PlanFormat::Md)      → text / .sql / Markdown / JSON
//! PlanFiles::beside(log).save(&record)     → plans/<id>.json beside the change log
//! PlanRun { … }.run(&mut record)           → Finished / WaitingForRestart / Stopped
//! PlanRun { … }.rollback(&mut record)      → every change of the plan undone, newest first
//! ```
//!
//! - [`build`] is pure: prerequisites declared on the fixes
//!   ([`crate::checks::Prerequisites`]) come first, then catalogue order;
//!   restart-class changes run together before the one restart, and what
//!   needs the restart (a preloaded library's settings) after it; what a
//!   guard would refuse, what needs input pgSafeguard cannot know, advice
//!   and irreversible fixes are listed as skipped and never attempted; each
//!   configuration file is shown once with every planned edit merged.
//! - [`run`] applies through [`crate::apply::Applier`], the same guarded
//!   path as a single fix; the entries it writes carry the plan id.
//! - [`files`] keeps the plan and its progress, written atomically.
//!
//! May import what `apply` may; must not import `ui` or `report`.

pub mod build;
pub mod files;
pub mod render;
pub mod run;

pub use build::{build, Inputs, Selection};
pub use files::{PlanFileError, PlanFiles};
pub use render::{render, PlanFormat};
pub use run::{PlanRun, PlanRunError, RunEnd, RunEvent};

use super::{changelog, Applier, ApplyError};
use crate::model::plan::HardeningPlan;

/// A new plan id: UTC time stamp and a random suffix.
pub fn new_plan_id(now: &str) -> String {
    changelog::new_entry_id("plan", now)
}

/// Scan the server afresh with the apply credentials and plan the selection.
pub async fn prepare(
    applier: &Applier,
    selection: &Selection,
) -> Result<HardeningPlan, ApplyError> {
    let context = applier.session_context().await?;
    let (snapshot, findings) = applier.scan_and_evaluate().await?;
    let missing_libraries = applier
        .missing_libraries(&build::preload_libraries(&findings))
        .await;
    Ok(build(Inputs {
        missing_libraries: &missing_libraries,
        id: new_plan_id(&crate::scan::now_rfc3339()),
        snapshot: &snapshot,
        findings: &findings,
        policy: applier.policy(),
        context: &context,
        selection,
    }))
}

#[cfg(test)]
mod tests;

//! Finishing a fix on the demo: what the DBA would do by hand after a
//! restart-class fix (restart, re-check, apply what had to wait), done by
//! the app because the demo is its own server. Shared by the GUI and the
//! live test, so both finish fixes the same way.

use super::{DemoCluster, DemoError};
use crate::apply::{
    Applier, ChangeLog, ChangeLogEntry, Confirmation, Outcome, StatementOutcome, StepKind,
};

/// Whether `entry` waits for a restart: settings pending, or statements
/// left for after it.
pub fn needs_restart(entry: &ChangeLogEntry) -> bool {
    !entry.pending_restart.is_empty() || has_deferred_steps(entry)
}

fn has_deferred_steps(entry: &ChangeLogEntry) -> bool {
    entry
        .statements
        .iter()
        .any(|s| s.kind == StepKind::AfterRestart || s.outcome == StatementOutcome::Deferred)
}

/// After `Applier::apply` on the demo: when the entry waits for a restart,
/// restart the demo, verify the entry, and, if statements were deferred,
/// preview the check again and apply the rest (confirmed as the DBA already
/// confirmed the fix; a rest that is irreversible or edits a file is left
/// for the DBA). Returns the newest entry: the rest's, or the verified one.
pub async fn settle_on_demo(
    demo: &DemoCluster,
    applier: &Applier,
    entry: ChangeLogEntry,
    log: &ChangeLog,
) -> Result<ChangeLogEntry, DemoError> {
    if entry.outcome != Outcome::Applied || !needs_restart(&entry) {
        return Ok(entry);
    }
    demo.restart_async().await?;
    let verified = applier.verify(&entry, log).await?;
    if !has_deferred_steps(&entry) {
        return Ok(verified);
    }
    let rest = applier.preview(&entry.check_id).await?;
    if !rest.can_apply() || rest.irreversible || rest.config_file.is_some() {
        return Ok(verified);
    }
    let confirmation = Confirmation::yes().typing_database(&rest.database);
    Ok(applier.apply(&rest, &confirmation, log).await?)
}

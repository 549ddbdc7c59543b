//! The policy file's job: write an accepted risk through the one policy
//! writer (`crate::policy::writer`, which keeps the file's comments and
//! order), read the file back, and record the change in the evidence store.
//! Without a policy file yet, it first asks where to save one.
//!
//! An `impl Jobs` block of its own; imports `jobs`, `acceptance`, `history`
//! (the store handle) and `policy`. The App decides whether the change is
//! evidence (it passes no store for the demo).

use super::acceptance::{policy_change, PolicyWritten};
use super::history::StoreHandle;
use super::jobs::{save_dialog, JobEvent, Jobs};
use crate::policy::{writer, Policy, PolicyAcceptedRisk};
use std::path::PathBuf;

/// The name offered when the session has no policy file yet.
pub const SUGGESTED_POLICY_FILE: &str = "pgsafeguard-policy.toml";

impl Jobs {
    /// Write `acceptance` into the policy file at `path` (asking where first
    /// when there is none), then read it back and record the change.
    pub fn accept_risk(
        &self,
        path: Option<PathBuf>,
        acceptance: PolicyAcceptedRisk,
        store: Option<StoreHandle>,
    ) -> Result<(), String> {
        let runtime = self.runtime_handle()?;
        let out = self.event_sender();
        runtime.spawn(async move {
            let path = match path {
                Some(path) => path,
                None => match save_dialog(
                    "Save the policy file",
                    SUGGESTED_POLICY_FILE,
                    "Policy",
                    "toml",
                )
                .await
                {
                    Some(path) => path,
                    None => return out.send(JobEvent::PolicyWritten(None)),
                },
            };
            let result = tokio::task::spawn_blocking(move || write(path, acceptance, store))
                .await
                .unwrap_or_else(|e| Err(format!("writing the policy stopped unexpectedly: {e}")));
            out.send(JobEvent::PolicyWritten(Some(result)));
        });
        Ok(())
    }
}

/// Blocking: the write, the read-back and the record.
pub fn write(
    path: PathBuf,
    acceptance: PolicyAcceptedRisk,
    store: Option<StoreHandle>,
) -> Result<PolicyWritten, String> {
    writer::add_acceptance(&path, &acceptance).map_err(|e| e.to_string())?;
    let policy = Policy::load(&path).map_err(|e| e.to_string())?;
    let change = policy_change(&acceptance, &path);
    let recorded =
        store.map(|store| store.with(|s| s.record_policy_change(&change).map(|r| r.seq)));
    Ok(PolicyWritten {
        path,
        policy,
        acceptance,
        recorded,
    })
}

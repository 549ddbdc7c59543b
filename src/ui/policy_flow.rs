//! Accepted risks as the App sees them: opening a check's "Accept risk…"
//! form, writing the acceptance into the policy file (the job in
//! `policy_jobs`), then judging the open results again under the file as
//! read back, so the check shows `accepted` with its reason. The change is
//! recorded in the evidence store, except on the demo (training, not
//! evidence).
//!
//! A part of the App kept in its own file (an `impl App` block): it imports
//! `app`, and nothing imports it.

use super::acceptance::PolicyWritten;
use super::app::App;
use super::theme::NoticeKind;
use crate::model::finding::Status;
use crate::model::untrusted;
use crate::policy::PolicyAcceptedRisk;
use crate::store::record::RecordKind;

impl App {
    /// Where accepted risks are written, once known.
    pub fn policy_path(&self) -> Option<&std::path::Path> {
        self.policy_path.as_deref()
    }

    /// The policy the findings are judged with.
    pub fn policy(&self) -> &crate::policy::Policy {
        &self.policy
    }

    /// True while an acceptance is being written.
    pub fn writing_policy(&self) -> bool {
        self.writing_policy.is_some()
    }

    pub(super) fn open_accept_form(&mut self, id: String) {
        let failing = self
            .finding(&id)
            .is_some_and(|f| matches!(f.status, Status::Fail | Status::Warn));
        if failing {
            self.accept_drafts.entry(id).or_default();
        }
    }

    pub(super) fn accept_risk(&mut self, acceptance: PolicyAcceptedRisk) {
        if self.writing_policy.is_some() || self.results.is_none() {
            return;
        }
        // The demo is training: its decisions are not evidence.
        let store = self
            .evidence
            .clone()
            .filter(|_| !self.results.as_ref().is_some_and(|r| r.source.is_demo()));
        let id = acceptance.id.clone();
        match self
            .jobs
            .accept_risk(self.policy_path.clone(), acceptance, store)
        {
            Ok(()) => self.writing_policy = Some(id),
            Err(e) => self.notify(NoticeKind::Error, e),
        }
    }

    pub(super) fn on_policy_written(&mut self, result: Option<Result<PolicyWritten, String>>) {
        let writing = self.writing_policy.take();
        let written = match result {
            None => return,
            Some(Err(e)) => {
                // The error shows in the form it came from.
                match writing.and_then(|id| self.accept_drafts.get_mut(&id)) {
                    Some(draft) => draft.error = Some(e),
                    None => self.notify(NoticeKind::Error, e),
                }
                return;
            }
            Some(Ok(written)) => written,
        };
        let PolicyWritten {
            path,
            policy,
            acceptance,
            recorded,
        } = written;
        self.policy = policy;
        self.policy_path = Some(path.clone());
        if let Some(results) = self.results.as_mut() {
            results.evaluate(&self.policy);
        }
        self.accept_drafts.remove(&acceptance.id);
        self.notify(
            NoticeKind::Success,
            format!(
                "accepted the risk of {} until {} in {}",
                untrusted::name(&acceptance.id),
                untrusted::name(&acceptance.expires),
                path.display()
            ),
        );
        match recorded {
            Some(Ok(seq)) => self.note_recorded(seq),
            Some(Err(e)) => self.record_failed(RecordKind::Policy, e),
            None => {}
        }
    }
}

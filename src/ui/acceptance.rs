//! Accepting a failing check's risk from its detail pane: the form's draft
//! (who, why, ticket, expiry) and its validation, which is the command
//! line's (`crate::policy::decision`) with the fields named as the form
//! shows them, and what writing it into the policy file reports back.
//!
//! Plain data and the small rules that belong to it; the file is written by
//! the job in `policy_jobs` through the one policy writer. May import the
//! model, `policy` and `store` (the policy change record); no other ui module.

use crate::policy::decision::{AcceptanceInput, FieldNames};
use crate::policy::{Policy, PolicyAcceptedRisk};
use crate::store::PolicyChange;
use std::path::{Path, PathBuf};

/// The form's field labels, also the names its messages use. Test API.
pub const FIELDS: FieldNames = FieldNames {
    by: "Accepted by",
    reason: "Reason",
    expires: "Expires",
    ticket: "Ticket",
};

/// A half-filled "Accept risk…" form of one check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcceptDraft {
    pub by: String,
    pub reason: String,
    pub ticket: String,
    /// The last day the risk is accepted (YYYY-MM-DD).
    pub expires: String,
    pub error: Option<String>,
}

impl AcceptDraft {
    /// The acceptance of check `id` this draft describes, decided at `now`
    /// (RFC 3339), or what to correct. An empty ticket is no ticket.
    pub fn validate(&self, id: &str, now: &str) -> Result<PolicyAcceptedRisk, String> {
        let given = |text: &str| Some(text.trim().to_string());
        AcceptanceInput {
            id: id.to_string(),
            object: None,
            by: given(&self.by),
            reason: given(&self.reason),
            expires: given(&self.expires),
            ticket: Some(self.ticket.trim().to_string()).filter(|t| !t.is_empty()),
        }
        .validate(FIELDS, now)
        .map_err(|e| e.to_string())
    }
}

/// The evidence store's record of an acceptance written into `policy_file`.
pub fn policy_change(acceptance: &PolicyAcceptedRisk, policy_file: &Path) -> PolicyChange {
    PolicyChange {
        action: "accepted".into(),
        check_id: acceptance.id.clone(),
        object: acceptance.object.clone(),
        by: acceptance.by.clone(),
        reason: acceptance.reason.clone(),
        expires: Some(acceptance.expires.clone()),
        ticket: acceptance.ticket.clone(),
        rows: Vec::new(),
        policy_file: policy_file.display().to_string(),
        at: acceptance.at.clone().unwrap_or_default(),
    }
}

/// An acceptance written into the policy file.
#[derive(Debug, Clone)]
pub struct PolicyWritten {
    pub path: PathBuf,
    /// The file read back after the write: what the findings are judged with now.
    pub policy: Policy,
    pub acceptance: PolicyAcceptedRisk,
    /// Where the change was recorded in the evidence store, or why not
    /// (`None`: not recorded, e.g. on the demo or with recording off).
    pub recorded: Option<Result<u64, String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-12-01T10:00:00Z";

    fn draft() -> AcceptDraft {
        AcceptDraft {
            by: " Jane Roe, CISO ".into(),
            reason: "private subnet only".into(),
            ticket: " ".into(),
            expires: "2027-06-30".into(),
            error: None,
        }
    }

    #[test]
    fn a_filled_draft_becomes_a_trimmed_acceptance_without_an_empty_ticket() {
        let risk = draft().validate("TLS-009", NOW).unwrap();
        assert_eq!(risk.by, "Jane Roe, CISO");
        assert_eq!(risk.ticket, None);
        assert_eq!(risk.at.as_deref(), Some(NOW));
        let change = policy_change(&risk, Path::new("policy.toml"));
        assert_eq!(change.action, "accepted");
        assert_eq!(change.expires.as_deref(), Some("2027-06-30"));
    }

    #[test]
    fn the_draft_says_what_to_correct_in_the_forms_words() {
        let blank = AcceptDraft {
            reason: String::new(),
            ..draft()
        };
        assert_eq!(
            blank.validate("TLS-009", NOW).unwrap_err(),
            "Reason must not be empty"
        );
        let past = AcceptDraft {
            expires: "2026-01-01".into(),
            ..draft()
        };
        assert!(past
            .validate("TLS-009", NOW)
            .unwrap_err()
            .starts_with("Expires 2026-01-01 is in the past"));
    }
}

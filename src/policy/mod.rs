//! The organisation's policy (`--policy FILE`, TOML) and attestations
//! (`--attestations FILE`, JSON). Owns their parsing, validation and lookups;
//! [`writer`] is the one code that writes the policy file.
//!
//! Without a policy file every policy-dependent check uses a stated safe
//! default (documented on the check) or says `manual`: never a silent pass.
//!
//! Acceptances and baselines are judged against a time the caller passes (a
//! snapshot's `collected_at`): nothing here reads the clock. May import
//! `model` and `atomic_file` (for the writer), nothing else of ours.

pub mod decision;
pub mod phi;
pub mod writer;

use crate::atomic_file::WriteError;
use crate::model::finding::{AcceptedRisk, Attestation};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use time::Date;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid policy file: {message}")]
    Parse { path: String, message: String },
    /// An edit the writer refused; the file was left as it was.
    #[error("{path} was left unchanged: {message}")]
    Edit { path: String, message: String },
    #[error(transparent)]
    Write(#[from] WriteError),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Roles allowed to be superuser (besides the bootstrap superuser).
    pub approved_superusers: Vec<String>,
    /// Roles allowed CREATEDB / CREATEROLE / BYPASSRLS / REPLICATION.
    pub approved_admins: Vec<String>,
    /// Login roles used by software, not people.
    pub service_accounts: Vec<String>,
    /// Roles whose work needs PHI (clinical roles).
    pub clinical_roles: Vec<String>,
    /// `schema.table` names that hold PHI beyond what names reveal.
    pub phi_tables: Vec<String>,
    /// `schema.table` names that look like PHI but are not.
    pub not_phi_tables: Vec<String>,
    /// Recovery point objective in seconds.
    pub rpo_seconds: Option<u64>,
    /// Days without a login after which a role counts as inactive.
    pub inactivity_days: Option<u32>,
    /// Extensions the organisation approved; `None` = not stated.
    pub approved_extensions: Option<Vec<String>>,
    /// SECURITY DEFINER functions reviewed and approved although ordinary
    /// logins can run them with their owner's rights (PRIV-012), as
    /// `schema.name(argument types)`, the way the scan lists them.
    pub approved_security_definer_functions: Vec<String>,
    /// Loopback-only host lines are acceptable without hostssl.
    pub allow_loopback_without_tls: Option<bool>,
    pub accepted_risks: Vec<PolicyAcceptedRisk>,
    /// Approved result rows, at most one baseline per check.
    pub baselines: Vec<Baseline>,
    /// Columns reviewed after PHI discovery (`pgsafeguard phi`); see [`phi`].
    pub phi_columns: Vec<phi::PhiDecision>,
    /// Categories of other PHI to encrypt like direct identifiers (EAR-004).
    pub encrypt_phi_categories: Vec<String>,
    /// The organisation's own value patterns for discovery (MRN formats …).
    pub phi_patterns: Vec<phi::PhiPattern>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyAcceptedRisk {
    pub id: String,
    /// Optional object the acceptance is limited to, exactly as the finding
    /// lists it in `objects`. A finding whose every object is accepted gets
    /// the status `accepted`; otherwise it keeps failing without them.
    #[serde(default)]
    pub object: Option<String>,
    pub by: String,
    pub reason: String,
    /// ISO date (YYYY-MM-DD), the last day the risk is accepted.
    pub expires: String,
    /// The change or risk ticket that records the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// When the risk was accepted (RFC 3339 or ISO date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// A check's result rows approved as they are (`[[baselines]]`): later
/// scans name the rows not in it and the approved rows that are gone, and a
/// finding whose every row is approved is `accepted`. Baselines do not
/// expire: they stand until someone removes or replaces them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub id: String,
    /// The finding's `objects` when they were approved, exactly as listed.
    pub rows: Vec<String>,
    pub by: String,
    pub reason: String,
    /// When the rows were approved (RFC 3339 or ISO date).
    pub at: String,
}

const DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// An ISO date (YYYY-MM-DD), the form of `expires`.
pub fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text, DATE).ok()
}

/// The date of `now` (RFC 3339 or ISO date).
fn date_of(now: &str) -> Option<Date> {
    now.get(..10).and_then(parse_date)
}

/// Whether `text` is an ISO date or an RFC 3339 time.
fn is_date_or_time(text: &str) -> bool {
    parse_date(text).is_some()
        || time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).is_ok()
}

/// What makes a `who` / `why` pair unusable: an acceptance or a baseline
/// must say who decided and why.
fn missing_who_or_why(by: &str, reason: &str) -> Option<&'static str> {
    if by.trim().is_empty() {
        Some("`by` is empty (say who decided)")
    } else if reason.trim().is_empty() {
        Some("`reason` is empty (say why)")
    } else {
        None
    }
}

impl PolicyAcceptedRisk {
    /// Whether this acceptance is for `id` and has not expired by `now`.
    fn holds(&self, id: &str, now: &str) -> bool {
        self.id == id && !self.has_expired(now)
    }

    /// Whether the expiry date lies before the date of `now` (RFC 3339 or
    /// ISO date); a risk expiring today still holds. A date that cannot be
    /// read counts as expired: an acceptance never holds by accident.
    pub fn has_expired(&self, now: &str) -> bool {
        match (parse_date(&self.expires), date_of(now)) {
            (Some(expires), Some(today)) => expires < today,
            _ => true,
        }
    }

    /// As a finding shows it.
    pub fn to_accepted(&self) -> AcceptedRisk {
        AcceptedRisk {
            by: self.by.clone(),
            reason: self.reason.clone(),
            ticket: self.ticket.clone(),
            at: self.at.clone(),
            expires: Some(self.expires.clone()),
            baseline: false,
        }
    }

    /// Why this acceptance cannot be used, if it cannot.
    pub fn problem(&self) -> Option<String> {
        let what = match &self.object {
            Some(object) => format!("accepted risk {} for {object:?}", self.id),
            None => format!("accepted risk {}", self.id),
        };
        if self.id.trim().is_empty() {
            return Some("an accepted risk has an empty `id`".into());
        }
        if self.object.as_deref().is_some_and(|o| o.is_empty()) {
            return Some(format!(
                "{what}: `object` is empty (leave it out to accept the whole check)"
            ));
        }
        if let Some(missing) = missing_who_or_why(&self.by, &self.reason) {
            return Some(format!("{what}: {missing}"));
        }
        if parse_date(&self.expires).is_none() {
            return Some(format!(
                "{what}: expires = {:?} is not a date (YYYY-MM-DD)",
                self.expires
            ));
        }
        if let Some(at) = self.at.as_deref().filter(|at| !is_date_or_time(at)) {
            return Some(format!(
                "{what}: at = {at:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 time"
            ));
        }
        None
    }
}

impl Baseline {
    /// As a finding shows it: no expiry.
    pub fn to_accepted(&self) -> AcceptedRisk {
        AcceptedRisk {
            by: self.by.clone(),
            reason: self.reason.clone(),
            ticket: None,
            at: Some(self.at.clone()),
            expires: None,
            baseline: true,
        }
    }

    /// Why this baseline cannot be used, if it cannot.
    pub fn problem(&self) -> Option<String> {
        if self.id.trim().is_empty() {
            return Some("a baseline has an empty `id`".into());
        }
        let what = format!("baseline {}", self.id);
        if let Some(missing) = missing_who_or_why(&self.by, &self.reason) {
            return Some(format!("{what}: {missing}"));
        }
        if !is_date_or_time(&self.at) {
            return Some(format!(
                "{what}: at = {:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 time",
                self.at
            ));
        }
        None
    }
}

impl Policy {
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: shown.clone(),
            source,
        })?;
        Policy::parse(&text, &shown)
    }

    /// Parse and validate the text of a policy file (`shown` names it in errors).
    pub fn parse(text: &str, shown: &str) -> Result<Policy, PolicyError> {
        let invalid = |message: String| PolicyError::Parse {
            path: shown.to_string(),
            message,
        };
        let policy: Policy = toml::from_str(text).map_err(|e| invalid(e.message().to_string()))?;
        match policy.problem() {
            Some(message) => Err(invalid(message)),
            None => Ok(policy),
        }
    }

    /// What the parser cannot see: who and why on every decision, dates that
    /// are dates, one baseline per check.
    fn problem(&self) -> Option<String> {
        if let Some(problem) = self
            .accepted_risks
            .iter()
            .find_map(PolicyAcceptedRisk::problem)
        {
            return Some(problem);
        }
        if let Some(problem) = self.baselines.iter().find_map(Baseline::problem) {
            return Some(problem);
        }
        if let Some(problem) = self.phi_problem() {
            return Some(problem);
        }
        let mut ids = BTreeSet::new();
        self.baselines
            .iter()
            .find(|b| !ids.insert(b.id.as_str()))
            .map(|b| format!("two baselines for {}: keep one", b.id))
    }

    /// An unexpired, whole-check acceptance for `id` as of `now` (RFC 3339).
    pub fn accepted_risk(&self, id: &str, now: &str) -> Option<AcceptedRisk> {
        self.accepted_risks
            .iter()
            .find(|r| r.object.is_none() && r.holds(id, now))
            .map(PolicyAcceptedRisk::to_accepted)
    }

    /// An unexpired acceptance for `id` limited to exactly `object` (as the
    /// finding lists it in `objects`).
    pub fn accepted_object(
        &self,
        id: &str,
        object: &str,
        now: &str,
    ) -> Option<&PolicyAcceptedRisk> {
        self.accepted_risks
            .iter()
            .find(|r| r.object.as_deref() == Some(object) && r.holds(id, now))
    }

    /// The baseline of check `id`.
    pub fn baseline(&self, id: &str) -> Option<&Baseline> {
        self.baselines.iter().find(|b| b.id == id)
    }

    /// Acceptances that still hold at `now` but end within `days` days of
    /// it (for "expiring within 30 days"), soonest first.
    pub fn expiring_within(&self, now: &str, days: u32) -> Vec<&PolicyAcceptedRisk> {
        let Some(limit) =
            date_of(now).and_then(|today| today.checked_add(time::Duration::days(days.into())))
        else {
            return Vec::new();
        };
        let mut found: Vec<&PolicyAcceptedRisk> = self
            .accepted_risks
            .iter()
            .filter(|r| !r.has_expired(now) && parse_date(&r.expires).is_some_and(|e| e <= limit))
            .collect();
        found.sort_by(|a, b| (&a.expires, &a.id).cmp(&(&b.expires, &b.id)));
        found
    }

    /// Acceptances that have expired by `now`, oldest first.
    pub fn expired(&self, now: &str) -> Vec<&PolicyAcceptedRisk> {
        let mut found: Vec<&PolicyAcceptedRisk> = self
            .accepted_risks
            .iter()
            .filter(|r| r.has_expired(now))
            .collect();
        found.sort_by(|a, b| (&a.expires, &a.id).cmp(&(&b.expires, &b.id)));
        found
    }

    /// Whether `role` is an approved superuser; `bootstrap` is always approved.
    pub fn is_approved_superuser(&self, role: &str, bootstrap: &str) -> bool {
        role == bootstrap || self.approved_superusers.iter().any(|r| r == role)
    }
}

/// Attestations by check id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Attestations(pub BTreeMap<String, Attestation>);

impl Attestations {
    pub fn load(path: &Path) -> Result<Attestations, PolicyError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: shown.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| PolicyError::Parse {
            path: shown,
            message: e.to_string(),
        })
    }

    pub fn get(&self, id: &str) -> Option<&Attestation> {
        self.0.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_risk_expires() {
        let policy: Policy = toml::from_str(
            r#"
            [[accepted_risks]]
            id = "TLS-009"
            by = "CISO"
            reason = "private subnet"
            expires = "2026-12-31"
            "#,
        )
        .unwrap_or_default();
        assert!(policy
            .accepted_risk("TLS-009", "2026-11-27T10:00:00Z")
            .is_some());
        assert!(policy
            .accepted_risk("TLS-009", "2027-01-01T00:00:00Z")
            .is_none());
        assert!(policy
            .accepted_risk("TLS-001", "2026-11-27T10:00:00Z")
            .is_none());
    }

    #[test]
    fn unknown_policy_keys_are_rejected() {
        assert!(toml::from_str::<Policy>("aproved_superusers = []").is_err());
    }

    #[test]
    fn object_acceptance_is_exact_and_expires() {
        let policy: Policy = toml::from_str(
            r#"
            [[accepted_risks]]
            id = "EAR-004"
            object = "public.patients.ssn"
            by = "CISO"
            reason = "tokenized upstream"
            expires = "2026-12-31"
            "#,
        )
        .unwrap_or_default();
        let now = "2026-11-27T10:00:00Z";
        assert!(policy
            .accepted_object("EAR-004", "public.patients.ssn", now)
            .is_some());
        assert!(policy
            .accepted_object("EAR-004", "public.patients.mrn", now)
            .is_none());
        assert!(policy
            .accepted_object("EAR-004", "public.patients.ssn", "2027-01-01T00:00:00Z")
            .is_none());
        // An object acceptance never accepts the whole check.
        assert!(policy.accepted_risk("EAR-004", now).is_none());
    }

    fn risk(id: &str, expires: &str) -> PolicyAcceptedRisk {
        PolicyAcceptedRisk {
            id: id.into(),
            by: "CISO".into(),
            reason: "reviewed".into(),
            expires: expires.into(),
            ..PolicyAcceptedRisk::default()
        }
    }

    #[test]
    fn expiring_and_expired_lists_follow_the_date_of_now() {
        let policy = Policy {
            accepted_risks: vec![
                risk("TLS-009", "2027-01-10"),
                risk("AUD-011", "2026-12-07"),
                risk("EAR-004", "2027-01-06"),
                risk("AUTH-007", "2027-01-07"),
                risk("PRIV-001", "2026-12-06"),
                risk("PRIV-002", "2025-01-01"),
            ],
            ..Policy::default()
        };
        let now = "2026-12-07T16:20:00Z";
        let ids = |found: Vec<&PolicyAcceptedRisk>| -> Vec<String> {
            found.iter().map(|r| r.id.clone()).collect()
        };
        // Today and up to 30 days ahead (2027-01-06), soonest first.
        assert_eq!(ids(policy.expiring_within(now, 30)), ["AUD-011", "EAR-004"]);
        assert_eq!(
            ids(policy.expiring_within(now, 31)),
            ["AUD-011", "EAR-004", "AUTH-007"]
        );
        assert_eq!(ids(policy.expiring_within(now, 0)), ["AUD-011"]);
        assert_eq!(ids(policy.expired(now)), ["PRIV-002", "PRIV-001"]);
        assert!(policy.expiring_within("not a time", 30).is_empty());
    }

    #[test]
    fn an_unreadable_expiry_never_holds() {
        let policy = Policy {
            accepted_risks: vec![risk("TLS-009", "never")],
            ..Policy::default()
        };
        assert!(policy
            .accepted_risk("TLS-009", "2026-11-27T10:00:00Z")
            .is_none());
        assert_eq!(policy.expired("2026-11-27T10:00:00Z").len(), 1);
    }

    #[test]
    fn loading_refuses_what_the_parser_cannot_see() {
        let refused = |text: &str, says: &str| {
            let e = Policy::parse(text, "p.toml")
                .map(|_| ())
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("p.toml is not a valid policy file: "), "{e}");
            assert!(e.contains(says), "{e} should say {says:?}");
        };
        let acceptance = |extra: &str| {
            format!(
                "[[accepted_risks]]\nid = \"TLS-009\"\nby = \"CISO\"\nreason = \"lab\"\n{extra}"
            )
        };
        refused(&acceptance("expires = \"31/12/2026\""), "not a date");
        refused(&acceptance("expires = \"never\""), "not a date");
        refused(
            &acceptance("expires = \"2026-12-31\"\nat = \"yesterday\""),
            "neither a date",
        );
        refused(
            "[[accepted_risks]]\nid = \"TLS-009\"\nby = \" \"\nreason = \"lab\"\nexpires = \"2026-12-31\"",
            "`by` is empty",
        );
        refused(
            &acceptance("expires = \"2026-12-31\"\nobject = \"\""),
            "`object` is empty",
        );
        let baseline = "[[baselines]]\nid = \"PRIV-001\"\nrows = [\"a\"]\nby = \"x\"\nreason = \"y\"\nat = \"2026-11-20\"\n";
        assert!(Policy::parse(baseline, "p.toml").is_ok());
        refused(
            &format!("{baseline}{baseline}"),
            "two baselines for PRIV-001",
        );
        refused(
            &baseline.replace("reason = \"y\"", "reason = \"\""),
            "`reason` is empty",
        );
        refused(&baseline.replace("2026-11-20", "soon"), "neither a date");
        refused(&baseline.replace("rows = [\"a\"]\n", ""), "rows");
        // Times of decision may be dates or RFC 3339.
        assert!(Policy::parse(
            &acceptance("expires = \"2026-12-31\"\nat = \"2026-12-01T08:00:00+01:00\""),
            "p.toml"
        )
        .is_ok());
    }

    #[test]
    fn new_fields_stay_out_of_json_when_unset() {
        let plain = risk("TLS-009", "2027-01-01").to_accepted();
        assert_eq!(
            serde_json::to_string(&plain).unwrap_or_default(),
            r#"{"by":"CISO","reason":"reviewed","expires":"2027-01-01"}"#
        );
        // What an earlier version wrote still reads.
        let old: AcceptedRisk =
            serde_json::from_str(r#"{"by":"CISO","reason":"reviewed","expires":"2027-01-01"}"#)
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(old, plain);
    }

    fn default_phi_columns() -> Vec<phi::PhiDecision> {
        Vec::new()
    }

    /// The shipped example parses and sets every field away from its default,
    /// so a new field cannot be added without documenting it there.
    #[test]
    fn example_policy_parses_and_covers_every_field() {
        let example: Policy = toml::from_str(include_str!("../../assets/policy.example.toml"))
            .expect("assets/policy.example.toml parses");
        let Policy {
            approved_superusers,
            approved_admins,
            service_accounts,
            clinical_roles,
            phi_tables,
            not_phi_tables,
            rpo_seconds,
            inactivity_days,
            approved_extensions,
            approved_security_definer_functions,
            allow_loopback_without_tls,
            accepted_risks,
            baselines,
            phi_columns,
            encrypt_phi_categories,
            phi_patterns,
        } = &example;
        assert_ne!(phi_columns, &default_phi_columns());
        assert!(!encrypt_phi_categories.is_empty() && !phi_patterns.is_empty());
        let default = Policy::default();
        assert_ne!(approved_superusers, &default.approved_superusers);
        assert_ne!(approved_admins, &default.approved_admins);
        assert_ne!(service_accounts, &default.service_accounts);
        assert_ne!(clinical_roles, &default.clinical_roles);
        assert_ne!(phi_tables, &default.phi_tables);
        assert_ne!(not_phi_tables, &default.not_phi_tables);
        assert_ne!(rpo_seconds, &default.rpo_seconds);
        assert_ne!(inactivity_days, &default.inactivity_days);
        assert_ne!(approved_extensions, &default.approved_extensions);
        assert_ne!(
            approved_security_definer_functions,
            &default.approved_security_definer_functions
        );
        assert_ne!(
            allow_loopback_without_tls,
            &default.allow_loopback_without_tls
        );
        assert_ne!(accepted_risks, &default.accepted_risks);
        assert_ne!(baselines, &default.baselines);
        let PolicyAcceptedRisk {
            id,
            object,
            by,
            reason,
            expires,
            ticket,
            at,
        } = accepted_risks
            .iter()
            .find(|r| r.object.is_some())
            .expect("an accepted risk limited to one object");
        assert!(!id.is_empty() && object.is_some() && !by.is_empty() && !reason.is_empty());
        assert_eq!(expires.len(), 10, "expires is an ISO date: {expires}");
        assert!(ticket.is_some() && at.is_some());
        assert!(accepted_risks.iter().any(|r| r.object.is_none()));
        let Baseline {
            id,
            rows,
            by,
            reason,
            at,
        } = &baselines[0];
        assert!(!id.is_empty() && !rows.is_empty() && !by.is_empty() && !reason.is_empty());
        assert!(!at.is_empty());
    }
}

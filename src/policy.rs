//! The organisation's policy (`--policy FILE`, TOML) and attestations
//! (`--attestations FILE`, JSON). Owns their parsing and lookups only.
//!
//! Without a policy file every policy-dependent check uses a stated safe
//! default (documented on the check) or says `manual`: never a silent pass.

use crate::model::finding::{AcceptedRisk, Attestation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid policy file: {message}")]
    Parse { path: String, message: String },
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
    /// ISO date (YYYY-MM-DD) after which the risk is no longer accepted.
    pub expires: String,
}

impl PolicyAcceptedRisk {
    /// Whether this acceptance is for `id` and has not expired by `now`
    /// (RFC 3339). Dates compare as text because both are ISO 8601; a risk
    /// expiring today still holds.
    fn holds(&self, id: &str, now: &str) -> bool {
        let today = now.get(..10).unwrap_or(now);
        self.id == id && self.expires.as_str() >= today
    }
}

impl Policy {
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: shown.clone(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| PolicyError::Parse {
            path: shown,
            message: e.message().to_string(),
        })
    }

    /// An unexpired, whole-check acceptance for `id` as of `now` (RFC 3339).
    pub fn accepted_risk(&self, id: &str, now: &str) -> Option<AcceptedRisk> {
        self.accepted_risks
            .iter()
            .find(|r| r.object.is_none() && r.holds(id, now))
            .map(|r| AcceptedRisk {
                by: r.by.clone(),
                reason: r.reason.clone(),
                expires: r.expires.clone(),
            })
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

    /// The shipped example parses and sets every field away from its default,
    /// so a new field cannot be added without documenting it there.
    #[test]
    fn example_policy_parses_and_covers_every_field() {
        let example: Policy = toml::from_str(include_str!("../assets/policy.example.toml"))
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
        } = &example;
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
        let PolicyAcceptedRisk {
            id,
            object,
            by,
            reason,
            expires,
        } = accepted_risks
            .iter()
            .find(|r| r.object.is_some())
            .expect("an accepted risk limited to one object");
        assert!(!id.is_empty() && object.is_some() && !by.is_empty() && !reason.is_empty());
        assert_eq!(expires.len(), 10, "expires is an ISO date: {expires}");
        assert!(accepted_risks.iter().any(|r| r.object.is_none()));
    }
}

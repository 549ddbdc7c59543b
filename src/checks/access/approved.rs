//! Who the policy approves as superuser or administrator, for the PRIV
//! checks that exempt them. Imports the policy, `crate::checks` helpers and
//! `crate::model` only.

use crate::checks::facts::{bootstrap_name, sample};
use crate::checks::managed::{self, Provider};
use crate::checks::privileges::{RoleGraph, RoleSet};
use crate::model::snapshot::{Role, Snapshot};
use crate::policy::Policy;

/// Who the policy approves, with the bootstrap superuser always approved.
///
/// On a managed service the bootstrap superuser belongs to the provider, so
/// the customer's master user (see [`managed::master_user`]) stands in for
/// it, and every role the provider runs counts as approved: those roles are
/// not the customer's to change, and the evidence names them.
pub(super) struct Approved<'a> {
    pub(super) bootstrap: &'a str,
    policy: &'a Policy,
    pub(super) provider: Option<Provider>,
    /// The provider's roles present on this server, sorted.
    provider_roles: Vec<&'a str>,
}

impl<'a> Approved<'a> {
    pub(super) fn new(s: &'a Snapshot, roles: &'a [Role], policy: &'a Policy) -> Self {
        let provider = managed::detect(s);
        let master = provider
            .and_then(|p| managed::master_user(p, roles, s.memberships.as_deref()))
            .map(|r| r.name.as_str());
        let mut provider_roles: Vec<&str> = roles
            .iter()
            .map(|r| r.name.as_str())
            .filter(|name| managed::owned_by_provider(provider, name))
            .collect();
        provider_roles.sort_unstable();
        Approved {
            bootstrap: master.unwrap_or_else(|| bootstrap_name(roles)),
            policy,
            provider,
            provider_roles,
        }
    }

    pub(super) fn superuser(&self, name: &str) -> bool {
        self.policy.is_approved_superuser(name, self.bootstrap) || self.provider_owned(name)
    }

    /// Approved superusers and approved administrators.
    pub(super) fn admin(&self, name: &str) -> bool {
        self.superuser(name) || self.policy.approved_admins.iter().any(|a| a == name)
    }

    /// Login roles that are neither superusers nor approved administrators.
    pub(super) fn ordinary_logins(&self, graph: &RoleGraph, roles: &[Role]) -> RoleSet {
        let mut logins = graph.logins().clone();
        logins.subtract(graph.superusers());
        logins.subtract(
            &graph.set_of(
                roles
                    .iter()
                    .filter(|r| self.admin(&r.name))
                    .map(|r| r.name.as_str()),
            ),
        );
        logins
    }

    /// A role the managed service's provider runs.
    fn provider_owned(&self, name: &str) -> bool {
        managed::owned_by_provider(self.provider, name)
    }

    /// The bootstrap superuser, or on a managed service its master user.
    fn bootstrap_label(&self) -> String {
        match self.provider {
            Some(p) => format!("{} (master user of {})", self.bootstrap, p.name()),
            None => self.bootstrap.to_string(),
        }
    }

    /// "; left out as Amazon RDS for PostgreSQL's own roles: …", or nothing.
    fn provider_note(&self) -> String {
        match self.provider {
            Some(p) if !self.provider_roles.is_empty() => format!(
                "; left out as {}'s own roles, not the customer's to change: {}",
                p.name(),
                sample(
                    &self
                        .provider_roles
                        .iter()
                        .map(|r| r.to_string())
                        .collect::<Vec<_>>()
                )
            ),
            _ => String::new(),
        }
    }

    pub(super) fn describe_superusers(&self) -> String {
        let mut names = vec![self.bootstrap_label()];
        names.extend(self.policy.approved_superusers.iter().cloned());
        format!("approved: {}{}", names.join(", "), self.provider_note())
    }

    pub(super) fn describe_admins(&self) -> String {
        let mut names = vec![self.bootstrap_label()];
        names.extend(self.policy.approved_superusers.iter().cloned());
        names.extend(self.policy.approved_admins.iter().cloned());
        format!(
            "approved administrators: {}{}",
            names.join(", "),
            self.provider_note()
        )
    }
}

//! PRIV-001: the superusers (and, on a managed service, the logins in the
//! provider's administrator group) are only the approved administrators.

use super::approved::Approved;
use super::keys::Listed;
use super::role_fixes::{attribute_plan, membership_plan, SUPERUSER};
use super::{catalog_grant, need_roles, none_if_empty, sorted};
use crate::checks::facts::{part_missing, sample};
use crate::checks::managed::{self, Provider};
use crate::checks::privileges::{Reach, RoleGraph};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{FixPlan, Section, Severity};
use crate::model::snapshot::{Membership, Role, Snapshot};
use crate::policy::Policy;

pub static SUPERUSERS_APPROVED: Check = Check {
    id: "PRIV-001",
    section: Section::Access,
    title: "Only approved administrators are superusers",
    severity: Severity::Critical,
    hipaa: &["164.308(a)(4)(ii)(B)", "164.312(a)(1)"],
    cis: Some("4.3"),
    rationale: "A superuser bypasses every grant and row-level policy and can read any PHI \
        table, change audit settings and run programs on the host. An application or \
        person holding it unnecessarily is the widest possible exposure, so critical. \
        Without a policy file only the bootstrap superuser counts as approved. On a managed \
        service (RDS, Aurora, Azure, Cloud SQL) the superusers belong to the provider and are \
        left out; the customer's highest privilege is membership in the provider's \
        administrator group (rds_superuser, azure_pg_admin, cloudsqlsuperuser), so its login \
        members are judged like superusers: approved are the master user created with the \
        instance (its lowest-oid login member) and the policy's approved superusers and \
        administrators.",
    reproduce_sql: "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolsuper ORDER BY 1;",
    evaluate: superusers_approved,
    fix: Fix::Build(revoke_superuser),
};

fn superusers_approved(s: &Snapshot, policy: &Policy) -> Verdict {
    let roles = match need_roles(s) {
        Ok(r) => r,
        Err(v) => return v,
    };
    let approved = Approved::new(s, roles, policy);
    let supers: Vec<&str> = roles
        .iter()
        .filter(|r| r.superuser)
        .map(|r| r.name.as_str())
        .collect();
    let mut unapproved: Vec<String> = supers
        .iter()
        .filter(|r| !approved.superuser(r))
        .map(|r| (*r).to_string())
        .collect();
    let mut seen = format!(
        "{} superuser role(s): {}; {}",
        supers.len(),
        supers.join(", "),
        approved.describe_superusers()
    );
    if let Some(provider) = approved.provider {
        match provider_admins(s, roles, provider) {
            Some(members) => {
                let group = provider.admin_group();
                seen.push_str(&format!(
                    "; {group} (the provider's administrator group, not a superuser) has {}                      login member(s): {}",
                    members.len(),
                    none_if_empty(&sample(&members))
                ));
                unapproved.extend(members.into_iter().filter(|m| !approved.admin(m)));
            }
            None if unapproved.is_empty() => {
                return part_missing(s, "memberships", catalog_grant(s, "pg_auth_members"))
            }
            None => {}
        }
    }
    let unapproved = sorted(unapproved);
    if unapproved.is_empty() {
        Verdict::pass(seen)
    } else {
        Verdict::fail(format!("{seen}; not approved: {}", unapproved.join(", ")))
            .with_objects(unapproved)
    }
}

/// Login roles that can act as the provider's administrator group (any
/// membership path, SET ROLE included), leaving out the provider's own
/// roles; `None` when memberships were not collected. On a managed service
/// this group is the most a customer's role can hold, so PRIV-001 judges
/// its members as it judges superusers.
fn provider_admins(s: &Snapshot, roles: &[Role], provider: Provider) -> Option<Vec<String>> {
    let graph = RoleGraph::new(roles, s.memberships.as_deref()?);
    let members = match graph.members(provider.admin_group(), Reach::SetRole) {
        Some(set) => graph.names_of(set),
        None => Vec::new(),
    };
    Some(sorted(
        members
            .into_iter()
            .filter(|name| *name != provider.admin_group() && !provider.owns_role(name))
            .filter(|name| {
                graph
                    .index_of(name)
                    .and_then(|i| graph.role(i))
                    .is_some_and(|r| r.can_login)
            })
            .map(str::to_string),
    ))
}

/// NOSUPERUSER for listed superusers; on a managed service, also the
/// listed roles' direct memberships in the provider's administrator group.
fn revoke_superuser(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let advice = "grant the role only the table privileges its work needs before removing \
        SUPERUSER or its administrator-group membership";
    let mut plan = attribute_plan(s, verdict, &[SUPERUSER], advice);
    let group = managed::detect(s).map(|p| p.admin_group());
    let listed = Listed::new(verdict);
    let cut: Vec<&Membership> = s
        .memberships
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .filter(|m| Some(m.role.as_str()) == group && listed.contains(m.member.as_str()))
        .collect();
    if !cut.is_empty() {
        let revoke = membership_plan(&cut, advice);
        plan.statements.extend(revoke.statements);
        plan.rollback.extend(revoke.rollback);
        plan.note = format!(
            "{}; a listed role that reaches the group through another group leaves that group \
             instead",
            revoke.note
        );
        plan.needs = revoke.needs;
    }
    plan
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::*;
    use crate::checks::testkit::{base, role, Case};

    vec![Case::new(
        "PRIV-001",
        base(),
        with_role(role("app", |r| {
            r.superuser = true;
            r.can_login = true;
        })),
    )]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::checks::testkit::{base, role};
    use crate::model::finding::Status;

    #[test]
    fn policy_can_approve_a_second_superuser() {
        let mut s = base();
        add_roles(&mut s, vec![role("dba_alice", |r| r.superuser = true)]);
        let policy = Policy {
            approved_superusers: vec!["dba_alice".into()],
            ..Policy::default()
        };
        assert_eq!(eval(&SUPERUSERS_APPROVED, &s, &policy).status, Status::Pass);
        let v = eval(&SUPERUSERS_APPROVED, &s, &Policy::default());
        assert_eq!(v.objects, vec!["dba_alice".to_string()]);
        let plan = SUPERUSERS_APPROVED.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["ALTER ROLE \"dba_alice\" NOSUPERUSER"]
        );
    }
}

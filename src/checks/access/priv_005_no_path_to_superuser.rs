//! PRIV-005: no login can become a superuser through its memberships.

use super::approved::Approved;
use super::keys::Listed;
use super::role_fixes::membership_plan;
use super::{missing_facts_plan, need_graph};
use crate::checks::facts::sample;
use crate::checks::privileges::RoleGraph;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{FixPlan, Section, Severity};
use crate::model::snapshot::{Membership, Snapshot};
use crate::policy::Policy;
use std::collections::BTreeMap;

pub static NO_PATH_TO_SUPERUSER: Check = Check {
    id: "PRIV-005",
    section: Section::Access,
    title: "No login role can become a superuser through memberships",
    severity: Severity::Critical,
    hipaa: &["164.308(a)(4)(ii)(B)"],
    cis: None,
    rationale: "Superuser is never inherited, but any member of a superuser role can run \
        SET ROLE and become it, whatever its INHERIT setting, directly or through nested \
        groups. Such a login is a superuser in all but name and escapes PRIV-001, so \
        critical. Decisions: approved superusers (the bootstrap superuser and the policy's \
        approved_superusers) and roles that are superusers themselves (PRIV-001) are not \
        reported; on PostgreSQL 16+ a grant WITH SET FALSE would block the path, which the \
        snapshot does not record, so such paths are still reported.",
    reproduce_sql: "WITH RECURSIVE up(login, role, path) AS (\n  SELECT oid, oid, \
        ARRAY[rolname::text] FROM pg_roles WHERE rolcanlogin AND NOT rolsuper\n  UNION ALL\n  \
        SELECT up.login, m.roleid, up.path || m.roleid::regrole::text\n  FROM up JOIN \
        pg_auth_members m ON m.member = up.role)\nSELECT array_to_string(path, ' -> ') FROM up \
        JOIN pg_roles s ON s.oid = up.role WHERE s.rolsuper;",
    evaluate: no_path_to_superuser,
    fix: Fix::Build(cut_superuser_paths),
};

fn no_path_to_superuser(s: &Snapshot, policy: &Policy) -> Verdict {
    let graph = match need_graph(s) {
        Ok(g) => g,
        Err(v) => return v,
    };
    let roles = s.roles.as_deref().unwrap_or(&[]);
    let approved = Approved::new(s, roles, policy);
    let mut paths: BTreeMap<String, String> = BTreeMap::new();
    for role in roles.iter().filter(|r| r.can_login && !r.superuser) {
        if approved.superuser(&role.name) {
            continue;
        }
        if let Some(path) = graph.superuser_path(&role.name) {
            paths.insert(role.name.clone(), path.join(" → "));
        }
    }
    let logins = roles.iter().filter(|r| r.can_login && !r.superuser).count();
    if paths.is_empty() {
        return Verdict::pass(format!(
            "none of {logins} non-superuser login role(s) is a member, directly or through \
             groups, of a superuser role"
        ));
    }
    let shown: Vec<String> = paths.values().cloned().collect();
    Verdict::fail(format!(
        "{} login role(s) can SET ROLE to a superuser: {}",
        paths.len(),
        sample(&shown)
    ))
    .with_objects(paths.into_keys())
}

/// Revoke every direct membership of a listed login that leads to a
/// superuser role: every path starts with one of them.
fn cut_superuser_paths(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let (roles, memberships) = match (s.roles.as_deref(), s.memberships.as_deref()) {
        (Some(r), Some(m)) => (r, m),
        _ => return missing_facts_plan("roles and memberships"),
    };
    let graph = RoleGraph::new(roles, memberships);
    let listed = Listed::new(verdict);
    let cut: Vec<&Membership> = memberships
        .iter()
        .filter(|m| listed.contains(m.member.as_str()) && graph.reaches_superuser(&m.role))
        .collect();
    membership_plan(
        &cut,
        "grant the login the table privileges its work needs instead of the administrator \
         group",
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::*;
    use crate::checks::testkit::{base, Case};

    let mut good = base();
    add_roles(&mut good, vec![login("app"), group("readers")]);
    add_memberships(&mut good, &[("readers", "app")]);
    let mut bad = good.clone();
    add_roles(&mut bad, vec![group("admins")]);
    add_memberships(&mut bad, &[("postgres", "admins"), ("admins", "app")]);
    vec![Case::new("PRIV-005", good, bad)]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::checks::testkit::{base, role};
    use crate::model::finding::Status;

    #[test]
    fn noinherit_does_not_hide_a_path_to_superuser_and_the_fix_cuts_it() {
        let mut s = base();
        add_roles(
            &mut s,
            vec![
                role("app", |r| {
                    r.can_login = true;
                    r.inherit = false;
                }),
                group("ops"),
                group("readers"),
            ],
        );
        add_memberships(
            &mut s,
            &[("ops", "app"), ("readers", "app"), ("postgres", "ops")],
        );
        let v = eval(&NO_PATH_TO_SUPERUSER, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.evidence.contains("app → ops → postgres"),
            "{}",
            v.evidence
        );
        let plan = NO_PATH_TO_SUPERUSER.plan(&s, &v);
        assert_eq!(plan.statements, vec!["REVOKE \"ops\" FROM \"app\""]);
        assert_eq!(plan.rollback, vec!["GRANT \"ops\" TO \"app\""]);
        let approved = Policy {
            approved_superusers: vec!["app".into()],
            ..Policy::default()
        };
        assert_eq!(
            eval(&NO_PATH_TO_SUPERUSER, &s, &approved).status,
            Status::Pass
        );
    }
}

//! PRIV-002: only administrators hold CREATEDB or CREATEROLE.

use super::non_admins_holding;
use super::role_fixes::{attribute_plan, CREATEDB, CREATEROLE};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{FixPlan, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static CREATE_ATTRIBUTES_LIMITED: Check = Check {
    id: "PRIV-002",
    section: Section::Access,
    title: "Only administrators can create databases or roles",
    severity: Severity::High,
    hipaa: &["164.308(a)(4)(ii)(B)"],
    cis: Some("4.3"),
    rationale: "CREATEROLE lets a role create logins and, before PostgreSQL 16, grant itself \
        membership in any non-superuser role, including pg_read_all_data and \
        pg_execute_server_program; CREATEDB lets it create databases outside the reviewed \
        ones. Both are administration, not application work, and open a short path to PHI, \
        so high. Administrators are the approved superusers (the bootstrap superuser \
        without a policy) and the policy's approved_admins. On a managed service the \
        provider's own roles are left out and the master user created with the instance \
        stands in for the bootstrap superuser.",
    reproduce_sql: "SELECT rolname, rolcreatedb, rolcreaterole FROM pg_roles \
        WHERE rolcreatedb OR rolcreaterole ORDER BY 1;",
    evaluate: create_attributes_limited,
    fix: Fix::Build(revoke_create_attributes),
};

fn create_attributes_limited(s: &Snapshot, policy: &Policy) -> Verdict {
    non_admins_holding(s, policy, "CREATEDB or CREATEROLE", |r| {
        r.create_db || r.create_role
    })
}

fn revoke_create_attributes(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    attribute_plan(
        s,
        verdict,
        &[CREATEDB, CREATEROLE],
        "let an approved administrator create databases and roles on request",
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::*;
    use crate::checks::testkit::{role, Case};

    vec![Case::new(
        "PRIV-002",
        with_role(login("alice")),
        with_role(role("app", |r| {
            r.can_login = true;
            r.create_db = true;
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
    fn attribute_fixes_touch_only_held_attributes_and_restore_them() {
        let mut s = base();
        add_roles(
            &mut s,
            vec![role("app", |r| {
                r.can_login = true;
                r.create_role = true;
            })],
        );
        let v = eval(&CREATE_ATTRIBUTES_LIMITED, &s, &Policy::default());
        assert_eq!(v.objects, vec!["app".to_string()]);
        let plan = CREATE_ATTRIBUTES_LIMITED.plan(&s, &v);
        assert_eq!(plan.statements, vec!["ALTER ROLE \"app\" NOCREATEROLE"]);
        assert_eq!(plan.rollback, vec!["ALTER ROLE \"app\" CREATEROLE"]);
        let approved = Policy {
            approved_admins: vec!["app".into()],
            ..Policy::default()
        };
        assert_eq!(
            eval(&CREATE_ATTRIBUTES_LIMITED, &s, &approved).status,
            Status::Pass
        );
    }
}

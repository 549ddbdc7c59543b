//! PRIV-006: only administrators reach the predefined roles for server files,
//! server programs or every table's data.

use super::approved::Approved;
use super::keys::Listed;
use super::role_fixes::membership_plan;
use super::{missing_facts_plan, need_graph, sorted};
use crate::checks::facts::sample;
use crate::checks::privileges::Reach;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{FixPlan, Section, Severity};
use crate::model::snapshot::{Membership, Snapshot};
use crate::policy::Policy;

/// Predefined roles that reach the server's files, programs or every table.
const SERVER_ACCESS_ROLES: &[&str] = &[
    "pg_execute_server_program",
    "pg_read_all_data",
    "pg_read_server_files",
    "pg_write_all_data",
    "pg_write_server_files",
];

pub static SERVER_ACCESS_ROLES_LIMITED: Check = Check {
    id: "PRIV-006",
    section: Section::Access,
    title: "Only administrators hold server-file, program or all-data roles",
    severity: Severity::High,
    hipaa: &["164.308(a)(4)(ii)(B)"],
    cis: Some("4.9"),
    rationale: "pg_read_server_files, pg_write_server_files and pg_execute_server_program \
        give COPY access to the host's files and shell; pg_read_all_data and \
        pg_write_all_data read or change every table, ignoring grants (not RLS). For an \
        application these undo least privilege on PHI, so high. Every membership path \
        counts, because SET ROLE works without INHERIT. Roles that are superusers, approved \
        superusers or approved_admins are not reported.",
    reproduce_sql: "SELECT g.rolname AS predefined, m.rolname AS member FROM pg_auth_members a \
        JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member WHERE g.rolname \
        IN ('pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program', \
        'pg_read_all_data', 'pg_write_all_data') ORDER BY 1, 2;",
    evaluate: server_access_roles_limited,
    fix: Fix::Build(revoke_server_access_roles),
};

fn server_access_roles_limited(s: &Snapshot, policy: &Policy) -> Verdict {
    let graph = match need_graph(s) {
        Ok(g) => g,
        Err(v) => return v,
    };
    let roles = s.roles.as_deref().unwrap_or(&[]);
    let approved = Approved::new(s, roles, policy);
    let mut found: Vec<String> = Vec::new();
    for predefined in SERVER_ACCESS_ROLES {
        let Some(members) = graph.members(predefined, Reach::SetRole) else {
            continue;
        };
        for member in graph.names_of(members) {
            let is_superuser = graph
                .index_of(member)
                .and_then(|i| graph.role(i))
                .is_some_and(|r| r.superuser);
            if member != *predefined && !is_superuser && !approved.admin(member) {
                found.push(server_access_key(predefined, member));
            }
        }
    }
    if found.is_empty() {
        Verdict::pass(format!(
            "no role outside the approved administrators can reach {}; {}",
            SERVER_ACCESS_ROLES.join(", "),
            approved.describe_admins()
        ))
    } else {
        let found = sorted(found);
        Verdict::fail(format!(
            "{} membership(s) outside the approved administrators: {}",
            found.len(),
            sample(&found)
        ))
        .with_objects(found)
    }
}

fn server_access_key(predefined: &str, member: &str) -> String {
    format!("{predefined}: {member}")
}

fn revoke_server_access_roles(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let Some(memberships) = s.memberships.as_deref() else {
        return missing_facts_plan("memberships");
    };
    let listed = Listed::new(verdict);
    let direct: Vec<&Membership> = memberships
        .iter()
        .filter(|m| SERVER_ACCESS_ROLES.contains(&m.role.as_str()))
        .filter(|m| listed.contains(server_access_key(&m.role, &m.member).as_str()))
        .collect();
    membership_plan(
        &direct,
        "revokes direct memberships only; a listed role that reaches the predefined role \
         through a group loses it when the group does, or must leave that group",
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::*;
    use crate::checks::testkit::{base, Case};

    let mut good = base();
    add_roles(&mut good, vec![login("app"), group("pg_read_server_files")]);
    let mut bad = good.clone();
    add_memberships(&mut bad, &[("pg_read_server_files", "app")]);
    vec![Case::new("PRIV-006", good, bad)]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::checks::testkit::base;
    use crate::model::finding::Status;

    #[test]
    fn server_access_roles_are_found_through_groups() {
        let mut s = base();
        add_roles(
            &mut s,
            vec![
                login("app"),
                group("etl"),
                group("pg_execute_server_program"),
            ],
        );
        add_memberships(
            &mut s,
            &[("pg_execute_server_program", "etl"), ("etl", "app")],
        );
        let v = eval(&SERVER_ACCESS_ROLES_LIMITED, &s, &Policy::default());
        assert_eq!(
            v.objects,
            vec![
                "pg_execute_server_program: app".to_string(),
                "pg_execute_server_program: etl".to_string()
            ]
        );
        let plan = SERVER_ACCESS_ROLES_LIMITED.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["REVOKE \"pg_execute_server_program\" FROM \"etl\""]
        );
        let approved = Policy {
            approved_admins: vec!["etl".into(), "app".into()],
            ..Policy::default()
        };
        assert_eq!(
            eval(&SERVER_ACCESS_ROLES_LIMITED, &s, &approved).status,
            Status::Pass
        );
    }
}

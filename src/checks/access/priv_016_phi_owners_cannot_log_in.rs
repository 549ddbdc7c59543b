//! PRIV-016: PHI tables are owned by NOLOGIN roles that no ordinary login can
//! act as.

use super::approved::Approved;
use super::keys::{rel_key, Listed};
use super::role_fixes::{grant_membership, revoke_membership};
use super::scoped::{per_database, primary_part, with_other_databases};
use super::{intersection, missing_facts_plan, need_graph, RLS_KINDS};
use crate::checks::facts::annotated_sample;
use crate::checks::phi;
use crate::checks::privileges::{FastSet, Reach};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::{Membership, Relation, Role, Snapshot};
use crate::model::statement::{
    Grantee, PrivilegeList, PrivilegeObject, QualifiedName, RoleOption, Statement,
};
use crate::policy::Policy;
use postgres_protocol::escape::escape_identifier;
use std::collections::BTreeSet;

/// The NOLOGIN role the fix makes owner of PHI tables.
const PHI_OWNER_ROLE: &str = "phi_owner";

pub static PHI_OWNERS_CANNOT_LOG_IN: Check = Check {
    id: "PRIV-016",
    section: Section::Access,
    title: "PHI tables are owned by NOLOGIN roles",
    severity: Severity::High,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "The owner of a table bypasses its row-level security unless RLS is FORCEd, \
        and can switch FORCE off again, drop policies and grant access, so an application \
        login that owns PHI tables is never really bound by RLS. The same holds for any \
        login that can SET ROLE to the owner. High: it defeats PRIV-014 for the account \
        most exposed to the network. Decisions: every LOGIN owner is reported, the bootstrap \
        superuser included (a superuser bypasses RLS anyway, but should not own application \
        data); logins that can act as the owner are reported unless they are superusers or \
        approved administrators (who run migrations).",
    reproduce_sql: "SELECT c.oid::regclass, r.rolname, r.rolcanlogin FROM pg_class c JOIN \
        pg_roles r ON r.oid = c.relowner WHERE c.relkind IN ('r', 'p') AND \
        c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace) \
        ORDER BY 1;",
    evaluate: phi_owners_cannot_log_in,
    fix: Fix::Build(move_phi_ownership),
};

fn phi_owners_cannot_log_in(s: &Snapshot, policy: &Policy) -> Verdict {
    let graph = match need_graph(s) {
        Ok(g) => g,
        Err(v) => return v,
    };
    let roles = s.roles.as_deref().unwrap_or(&[]);
    let approved = Approved::new(s, roles, policy);
    let can_act = approved.ordinary_logins(&graph, roles);
    let scoped = per_database(s, |d| d.relations.as_deref());
    let mut found = BTreeSet::new();
    let mut shown: Vec<(String, &str)> = Vec::new();
    let mut owners_seen: FastSet<&str> = FastSet::default();
    let mut phi_count = 0usize;
    for part in &scoped.found {
        let phi_tables = part
            .part
            .iter()
            .filter(|r| RLS_KINDS.contains(&r.kind.as_str()))
            .filter(|r| phi::is_phi_table(r, policy));
        for rel in phi_tables {
            phi_count += 1;
            let Some(owner) = graph.index_of(&rel.owner) else {
                continue;
            };
            if graph.logins().contains(owner) {
                let key = part.key(rel_key(&rel.schema, &rel.name));
                shown.push((key.clone(), rel.owner.as_str()));
                found.insert(key);
            }
            // Who can act as an owner does not depend on the table.
            if !owners_seen.insert(rel.owner.as_str()) {
                continue;
            }
            let Some(members) = graph.members(&rel.owner, Reach::SetRole) else {
                continue;
            };
            if members.intersects(&can_act) {
                let mut acting = intersection(members, &can_act);
                acting.remove(owner);
                for login in graph.names_of(&acting) {
                    let key = acting_owner_key(login, &rel.owner);
                    shown.push((key.clone(), ""));
                    found.insert(key);
                }
            }
        }
    }
    scoped.conclude(
        s,
        "relations",
        found.into_iter().collect(),
        |f| {
            format!(
                "{} PHI ownership issue(s) among {phi_count} PHI table(s): {}",
                f.len(),
                annotated_sample(&mut shown, |owner| match *owner {
                    "" => String::new(),
                    owner => format!("owner {owner}"),
                })
            )
        },
        format!(
            "{phi_count} PHI table(s), all owned by NOLOGIN roles that no other login can act as"
        ),
    )
}

fn acting_owner_key(login: &str, owner: &str) -> String {
    format!(
        "{} can act as owner {}",
        escape_identifier(login),
        escape_identifier(owner)
    )
}

fn move_phi_ownership(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let (Some(roles), Some(memberships), Some(relations)) = (
        s.roles.as_deref(),
        s.memberships.as_deref(),
        primary_part(s, |d| d.relations.as_deref()),
    ) else {
        return missing_facts_plan("roles, memberships and relations");
    };
    let listed = Listed::new(verdict);
    let logins: BTreeSet<&str> = roles
        .iter()
        .filter(|r| r.can_login)
        .map(|r| r.name.as_str())
        .collect();
    let new_owner = nologin_owner_name(roles);
    let mut plan = FixPlan {
        apply: vec![ApplyClass::Immediate],
        needs: "superuser".into(),
        ..FixPlan::default()
    };
    let moved: Vec<&Relation> = relations
        .iter()
        .filter(|r| RLS_KINDS.contains(&r.kind.as_str()) && logins.contains(r.owner.as_str()))
        .filter(|r| listed.relation(r))
        .collect();
    let create_role = !moved.is_empty() && !roles.iter().any(|r| r.name == new_owner);
    if create_role {
        plan.statements.push(Statement::CreateRole {
            role: new_owner.clone(),
            options: vec![RoleOption::Login(false)],
        });
        plan.rollback.push(Statement::DropRole {
            role: new_owner.clone(),
            if_exists: false,
        });
    }
    // What the former owner keeps once the table is no longer its own.
    let kept = || PrivilegeList::of(&["SELECT", "INSERT", "UPDATE", "DELETE"]);
    for rel in &moved {
        let table = QualifiedName::of(rel);
        let old = || Grantee::Role(rel.owner.clone());
        let on_table = || PrivilegeObject::Table(table.clone());
        plan.statements.push(Statement::TableOwner {
            table: table.clone(),
            owner: new_owner.clone(),
        });
        plan.statements
            .push(Statement::grant(kept(), on_table(), old(), false));
        plan.rollback.push(Statement::TableOwner {
            table: table.clone(),
            owner: rel.owner.clone(),
        });
        plan.rollback
            .push(Statement::revoke(kept(), on_table(), old()));
    }
    let cut: Vec<&Membership> = memberships
        .iter()
        .filter(|m| listed.contains(acting_owner_key(&m.member, &m.role).as_str()))
        .collect();
    for m in &cut {
        plan.statements.push(revoke_membership(m));
        plan.rollback.push(grant_membership(m));
    }
    // Inverses were pushed in statement order: undo them last-first.
    plan.rollback.reverse();
    plan.note = with_other_databases(
        s,
        &format!(
            "ownership moves to the NOLOGIN role {new_owner}; the former owner keeps SELECT, \
             INSERT, UPDATE and DELETE and from then on is bound by RLS; sequences owned by \
             the tables' columns follow the table; logins that act as the owner only through \
             nested groups must leave those groups by hand"
        ),
    );
    plan
}

/// `phi_owner`, or a free variant when a LOGIN role already has that name.
fn nologin_owner_name(roles: &[Role]) -> String {
    let taken_by_login = |name: &str| roles.iter().any(|r| r.name == name && r.can_login);
    let mut name = PHI_OWNER_ROLE.to_string();
    let mut n = 2;
    while taken_by_login(&name) {
        name = format!("{PHI_OWNER_ROLE}{n}");
        n += 1;
    }
    name
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::*;
    use crate::checks::testkit::Case;

    let mut bad = protected();
    add_roles(&mut bad, vec![login("app")]);
    relation_mut(&mut bad, 0).owner = "app".into();
    vec![Case::new("PRIV-016", protected(), bad)]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    use crate::model::finding::Status;

    #[test]
    fn login_owner_is_moved_to_a_nologin_role_with_an_exact_rollback() {
        let mut s = with_relations(vec![rls(patients(HOSTILE[0]))]);
        add_roles(&mut s, vec![login(HOSTILE[0])]);
        let v = eval(&PHI_OWNERS_CANNOT_LOG_IN, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        let plan = PHI_OWNERS_CANNOT_LOG_IN.plan(&s, &v);
        let owner = escape_identifier(HOSTILE[0]);
        assert_eq!(
            plan.statements,
            vec![
                "CREATE ROLE \"phi_owner\" NOLOGIN".to_string(),
                "ALTER TABLE \"public\".\"patients\" OWNER TO \"phi_owner\"".to_string(),
                format!("GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE \"public\".\"patients\" TO {owner}"),
            ]
        );
        assert_eq!(
            plan.rollback,
            vec![
                format!("REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLE \"public\".\"patients\" FROM {owner}"),
                format!("ALTER TABLE \"public\".\"patients\" OWNER TO {owner}"),
                "DROP ROLE \"phi_owner\"".to_string(),
            ]
        );
    }

    #[test]
    fn logins_that_can_act_as_the_owner_are_reported() {
        let mut s = with_relations(vec![rls(patients("phi_owner"))]);
        add_roles(
            &mut s,
            vec![group("phi_owner"), login("app"), login("dba_dan")],
        );
        add_memberships(&mut s, &[("phi_owner", "app"), ("phi_owner", "dba_dan")]);
        let policy = Policy {
            approved_admins: vec!["dba_dan".into()],
            ..Policy::default()
        };
        let v = eval(&PHI_OWNERS_CANNOT_LOG_IN, &s, &policy);
        assert_eq!(
            v.objects,
            vec!["\"app\" can act as owner \"phi_owner\"".to_string()]
        );
        let plan = PHI_OWNERS_CANNOT_LOG_IN.plan(&s, &v);
        assert_eq!(plan.statements, vec!["REVOKE \"phi_owner\" FROM \"app\""]);
        assert_eq!(plan.rollback, vec!["GRANT \"phi_owner\" TO \"app\""]);
    }
}

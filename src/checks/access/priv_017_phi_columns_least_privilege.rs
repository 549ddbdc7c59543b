//! PRIV-017: only clinical roles, owners and administrators can read PHI columns.

use super::approved::Approved;
use super::keys::{rel_key, Listed};
use super::scoped::{per_database, primary_part, with_other_databases};
use super::{grantee, intersection, missing_facts_plan, need_graph, none_if_empty, privilege_list};
use crate::checks::facts::{push_identifier, sample};
use crate::checks::phi;
use crate::checks::privileges::{Reach, RoleGraph, RoleSet, PUBLIC, READ_ALL_DATA};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::{AclItem, Relation, Snapshot};
use crate::model::statement::{PrivilegeObject, QualifiedName, Statement};
use crate::policy::Policy;

pub static PHI_COLUMNS_LEAST_PRIVILEGE: Check = Check {
    id: "PRIV-017",
    section: Section::Access,
    title: "Only clinical roles can read PHI columns",
    severity: Severity::High,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "Minimum necessary access means PHI columns are readable only by roles whose \
        work needs them. Readers are computed from table and column ACLs, PUBLIC, \
        membership in the owner role and pg_read_all_data, following every membership \
        (SET ROLE works without INHERIT). A login role reading a PHI column fails unless it \
        owns the table, is a superuser or approved administrator, or is (a member of) a role \
        in the policy's clinical_roles. Safe default: without clinical_roles every other \
        login counts as non-clinical, because nobody has said who may read PHI. A grant to \
        PUBLIC always fails, since it reaches future roles. Tables listed in the policy's \
        phi_tables count as PHI in every column. Escalation to superuser is PRIV-005's. High: \
        standing PHI access beyond need.",
    reproduce_sql: "SELECT c.oid::regclass, a.grantee::regrole, a.privilege_type FROM pg_class \
        c, aclexplode(c.relacl) a WHERE a.privilege_type = 'SELECT' ORDER BY 1, 2;\nSELECT \
        attrelid::regclass, attname, a.grantee::regrole FROM pg_attribute, aclexplode(attacl) \
        a WHERE a.privilege_type = 'SELECT' ORDER BY 1, 2;\nSELECT roleid::regrole, \
        member::regrole FROM pg_auth_members ORDER BY 1, 2;",
    evaluate: phi_columns_least_privilege,
    fix: Fix::Build(revoke_phi_read_paths),
};

/// How a role reaches a PHI relation.
enum Via<'r> {
    /// A table-level or PHI-column grant to a role or PUBLIC.
    Grant {
        column: Option<&'r str>,
        item: &'r AclItem,
    },
    /// Membership in the owning role.
    Owner,
    /// Membership in pg_read_all_data.
    ReadAllData,
}

/// One way non-clinical logins read PHI in one relation.
struct ReadPath<'r> {
    via: Via<'r>,
    readers: RoleSet,
}

/// `"schema"."table"[."column"] via <grantee | owner "o" | pg_read_all_data>`,
/// given the relation's key `table`.
fn read_path_key(table: &str, rel: &Relation, via: &Via<'_>) -> String {
    let mut key = String::new();
    push_read_path_key(&mut key, table, rel, via);
    key
}

/// [`read_path_key`] appended to `out`, so that the fix can test thousands of
/// candidate paths with one buffer.
fn push_read_path_key(out: &mut String, table: &str, rel: &Relation, via: &Via<'_>) {
    out.push_str(table);
    match via {
        Via::Grant { column, item } => {
            if let Some(c) = column {
                out.push('.');
                push_identifier(out, c);
            }
            out.push_str(" via ");
            if item.grantee == PUBLIC {
                out.push_str(PUBLIC);
            } else {
                push_identifier(out, &item.grantee);
            }
        }
        Via::Owner => {
            out.push_str(" via owner ");
            push_identifier(out, &rel.owner);
        }
        Via::ReadAllData => {
            out.push_str(" via ");
            out.push_str(READ_ALL_DATA);
        }
    }
}

/// Every path through which a role in `suspects` (or PUBLIC) reads the PHI
/// columns of `rel`. Cost: one bitset test per ACL item.
fn phi_read_paths<'r>(
    graph: &RoleGraph<'_>,
    rel: &'r Relation,
    phi_columns: &[&'r crate::model::snapshot::Column],
    suspects: &RoleSet,
) -> Vec<ReadPath<'r>> {
    let mut suspects = suspects.clone();
    if let Some(owner) = graph.index_of(&rel.owner) {
        suspects.remove(owner);
    }
    let mut paths = Vec::new();
    let table_grants = rel.acl.iter().map(|item| (None, item));
    let column_grants = phi_columns
        .iter()
        .flat_map(|c| c.acl.iter().map(move |item| (Some(c.name.as_str()), item)));
    for (column, item) in table_grants.chain(column_grants) {
        // The owner's own entry is covered by the owner path below.
        if !item.privileges.contains('r') || item.grantee == rel.owner {
            continue;
        }
        let readers = if item.grantee == PUBLIC {
            Some(suspects.clone())
        } else {
            graph
                .members(&item.grantee, Reach::SetRole)
                .filter(|m| m.intersects(&suspects))
                .map(|m| intersection(m, &suspects))
        };
        if let Some(readers) = readers {
            paths.push(ReadPath {
                via: Via::Grant { column, item },
                readers,
            });
        }
    }
    for (via, role) in [
        (Via::Owner, rel.owner.as_str()),
        (Via::ReadAllData, READ_ALL_DATA),
    ] {
        if let Some(members) = graph
            .members(role, Reach::SetRole)
            .filter(|m| m.intersects(&suspects))
        {
            paths.push(ReadPath {
                via,
                readers: intersection(members, &suspects),
            });
        }
    }
    paths
}

fn phi_columns_least_privilege(s: &Snapshot, policy: &Policy) -> Verdict {
    let graph = match need_graph(s) {
        Ok(g) => g,
        Err(v) => return v,
    };
    let roles = s.roles.as_deref().unwrap_or(&[]);
    let approved = Approved::new(s, roles, policy);
    let mut suspects = approved.ordinary_logins(&graph, roles);
    suspects.subtract(&graph.settable_union(policy.clinical_roles.iter().map(String::as_str)));
    let scoped = per_database(s, |d| d.relations.as_deref());
    let mut found = Vec::new();
    let mut readers = graph.no_roles();
    let mut phi_count = 0usize;
    for part in &scoped.found {
        for rel in part.part {
            let columns = phi::phi_columns_under(rel, policy);
            if columns.is_empty() {
                continue;
            }
            phi_count += 1;
            let paths = phi_read_paths(&graph, rel, &columns, &suspects);
            if paths.is_empty() {
                continue;
            }
            let table = rel_key(&rel.schema, &rel.name);
            for path in paths {
                readers.union_with(&path.readers);
                found.push(part.key(read_path_key(&table, rel, &path.via)));
            }
        }
    }
    let clinical = if policy.clinical_roles.is_empty() {
        "the policy lists no clinical_roles, so every login other than owners, superusers and \
         approved administrators counts as non-clinical"
            .to_string()
    } else {
        format!("clinical roles: {}", policy.clinical_roles.join(", "))
    };
    let reader_names: Vec<String> = graph
        .names_of(&readers)
        .into_iter()
        .map(str::to_string)
        .collect();
    scoped.conclude(
        s,
        "relations",
        found,
        |f| {
            format!(
                "{} read path(s) to PHI for non-clinical login roles ({}): {}; {clinical}",
                f.len(),
                none_if_empty(&sample(&reader_names)),
                sample(f)
            )
        },
        format!(
            "{phi_count} PHI relation(s); no non-clinical login role can read their PHI \
             columns; {clinical}"
        ),
    )
}

fn revoke_phi_read_paths(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let Some(relations) = primary_part(s, |d| d.relations.as_deref()) else {
        return missing_facts_plan("relations");
    };
    let listed = Listed::new(verdict);
    let mut plan = FixPlan {
        apply: vec![ApplyClass::Immediate],
        needs: "owner of each table (or superuser)".into(),
        ..FixPlan::default()
    };
    let mut by_membership = Vec::new();
    // One buffer for every candidate key; only listed ones are kept.
    let mut key = String::new();
    let mut listed_key = |table: &str, rel: &Relation, via: &Via<'_>| {
        key.clear();
        push_read_path_key(&mut key, table, rel, via);
        listed.contains(&key).then(|| key.clone())
    };
    for rel in relations.iter().filter(|r| listed.relates_to(r)) {
        let table = rel_key(&rel.schema, &rel.name);
        for via in [Via::Owner, Via::ReadAllData] {
            by_membership.extend(listed_key(&table, rel, &via));
        }
        let table_grants = rel.acl.iter().map(|item| (None, item));
        let column_grants = rel
            .columns
            .iter()
            .flat_map(|c| c.acl.iter().map(move |item| (Some(c.name.as_str()), item)));
        for (column, item) in table_grants.chain(column_grants) {
            if !item.privileges.contains('r')
                || listed_key(&table, rel, &Via::Grant { column, item }).is_none()
            {
                continue;
            }
            let select = || privilege_list("r", column);
            let on_table = || PrivilegeObject::Table(QualifiedName::of(rel));
            let holder = || grantee(&item.grantee);
            let option = item.grantable.contains('r');
            plan.statements
                .push(Statement::revoke(select(), on_table(), holder()));
            plan.rollback
                .push(Statement::grant(select(), on_table(), holder(), option));
            if column.is_none() {
                // Revoking table-level SELECT also drops the grantee's column-level SELECT.
                plan.rollback
                    .extend(column_select_grants(rel, &item.grantee));
            }
        }
    }
    let mut note = String::from(
        "a grantee that also serves clinical roles keeps its grant if instead the \
         non-clinical members listed in the evidence leave it (REVOKE group FROM member); a \
         grantee that needs the non-PHI columns gets GRANT SELECT (those columns)",
    );
    if !by_membership.is_empty() {
        note.push_str(&format!(
            "; paths through the owner role or pg_read_all_data need the member removed from \
             that role (no statement proposed): {}",
            sample(&by_membership)
        ));
    }
    plan.note = with_other_databases(s, &note);
    plan
}

/// Re-grants of `holder`'s column-level SELECT on `rel`, as the snapshot saw them.
fn column_select_grants(rel: &Relation, holder: &str) -> Vec<Statement> {
    rel.columns
        .iter()
        .flat_map(|c| {
            c.acl
                .iter()
                .filter(|a| a.grantee == holder && a.privileges.contains('r'))
                .map(|a| {
                    Statement::grant(
                        privilege_list("r", Some(&c.name)),
                        PrivilegeObject::Table(QualifiedName::of(rel)),
                        grantee(holder),
                        a.grantable.contains('r'),
                    )
                })
        })
        .collect()
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::*;
    use crate::checks::testkit::Case;

    let mut good = protected();
    add_roles(
        &mut good,
        vec![group("clinician"), login("nurse_kim"), login("billing")],
    );
    add_memberships(&mut good, &[("clinician", "nurse_kim")]);
    relation_mut(&mut good, 0).acl.push(acl("clinician", "r"));
    let mut bad = good.clone();
    relation_mut(&mut bad, 0).acl.push(acl("billing", "r"));
    vec![Case::new("PRIV-017", good, bad).with_policy(clinical())]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::checks::testkit::{db, role, table};
    use crate::model::finding::Status;

    /// patients owned by phi_owner, roles clinician (group), nurse (member), billing.
    fn phi_world() -> Snapshot {
        let mut s = with_relations(vec![rls(patients("phi_owner"))]);
        add_roles(
            &mut s,
            vec![
                group("phi_owner"),
                group("clinician"),
                login("nurse"),
                login("billing"),
            ],
        );
        add_memberships(&mut s, &[("clinician", "nurse")]);
        s
    }

    #[test]
    fn phi_readers_follow_groups_columns_and_public() {
        let mut s = phi_world();
        relation_mut(&mut s, 0).acl.push(acl("clinician", "r"));
        assert_eq!(
            eval(&PHI_COLUMNS_LEAST_PRIVILEGE, &s, &clinical()).status,
            Status::Pass
        );
        // Safe default without clinical_roles: the nurse counts as non-clinical.
        let v = eval(&PHI_COLUMNS_LEAST_PRIVILEGE, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        assert!(v.evidence.contains("lists no clinical_roles"));
        // A column grant on a non-PHI column is fine, on the PHI column it is not.
        relation_mut(&mut s, 0).columns[2]
            .acl
            .push(acl("billing", "r"));
        assert_eq!(
            eval(&PHI_COLUMNS_LEAST_PRIVILEGE, &s, &clinical()).status,
            Status::Pass
        );
        relation_mut(&mut s, 0).columns[1]
            .acl
            .push(acl("billing", "r"));
        let v = eval(&PHI_COLUMNS_LEAST_PRIVILEGE, &s, &clinical());
        assert_eq!(
            v.objects,
            vec!["\"public\".\"patients\".\"ssn\" via \"billing\"".to_string()]
        );
        let plan = PHI_COLUMNS_LEAST_PRIVILEGE.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["REVOKE SELECT (\"ssn\") ON TABLE \"public\".\"patients\" FROM \"billing\""]
        );
        // PUBLIC always fails, even with no one else to blame.
        let mut s = phi_world();
        relation_mut(&mut s, 0).acl.push(acl(PUBLIC, "r"));
        let v = eval(&PHI_COLUMNS_LEAST_PRIVILEGE, &s, &clinical());
        assert_eq!(
            v.objects,
            vec!["\"public\".\"patients\" via PUBLIC".to_string()]
        );
    }

    #[test]
    fn phi_read_fix_restores_column_grants_dropped_with_the_table_grant() {
        let mut s = phi_world();
        let rel = relation_mut(&mut s, 0);
        rel.acl.push(acl("billing", "r"));
        rel.columns[2].acl.push(acl("billing", "r"));
        let v = eval(&PHI_COLUMNS_LEAST_PRIVILEGE, &s, &clinical());
        assert_eq!(
            v.objects,
            vec!["\"public\".\"patients\" via \"billing\"".to_string()]
        );
        let plan = PHI_COLUMNS_LEAST_PRIVILEGE.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["REVOKE SELECT ON TABLE \"public\".\"patients\" FROM \"billing\""]
        );
        assert_eq!(
            plan.rollback,
            vec![
                "GRANT SELECT ON TABLE \"public\".\"patients\" TO \"billing\"",
                "GRANT SELECT (\"clinic_id\") ON TABLE \"public\".\"patients\" TO \"billing\"",
            ]
        );
    }

    #[test]
    fn phi_readers_through_noinherit_owner_membership_and_policy_tables() {
        let mut s = phi_world();
        add_roles(
            &mut s,
            vec![role("etl", |r| {
                r.can_login = true;
                r.inherit = false;
            })],
        );
        add_memberships(&mut s, &[("phi_owner", "etl")]);
        let v = eval(&PHI_COLUMNS_LEAST_PRIVILEGE, &s, &clinical());
        assert_eq!(
            v.objects,
            vec!["\"public\".\"patients\" via owner \"phi_owner\"".to_string()]
        );
        // A table listed in phi_tables counts as PHI in every column.
        let mut s = phi_world();
        let mut visits = table("visits", "phi_owner", &[("note", "text")]);
        visits.columns[0].acl.push(acl("billing", "r"));
        db(&mut s)
            .relations
            .get_or_insert_with(Vec::new)
            .push(visits);
        assert_eq!(
            eval(&PHI_COLUMNS_LEAST_PRIVILEGE, &s, &clinical()).status,
            Status::Pass
        );
        let listed = Policy {
            phi_tables: vec!["public.visits".into()],
            ..clinical()
        };
        assert_eq!(
            eval(&PHI_COLUMNS_LEAST_PRIVILEGE, &s, &listed).status,
            Status::Fail
        );
    }
}

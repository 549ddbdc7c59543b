//! PRIV-009: no table, view or column grants a privilege to PUBLIC.

use super::keys::{rel_key, Listed};
use super::scoped::{per_database, primary_part, with_other_databases};
use super::{missing_facts_plan, privilege_list};
use crate::checks::facts::sample;
use crate::checks::privileges::PUBLIC;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::{AclItem, Relation, Snapshot};
use crate::model::statement::{Grantee, PrivilegeList, PrivilegeObject, QualifiedName, Statement};
use crate::policy::Policy;
use std::collections::BTreeSet;

pub static NO_PUBLIC_TABLE_GRANTS: Check = Check {
    id: "PRIV-009",
    section: Section::Access,
    title: "No table or view grants privileges to PUBLIC",
    severity: Severity::High,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "A grant to PUBLIC reaches every role that exists now or later, including \
        logins created for unrelated work, so nobody decided who may use the table. Any \
        privilege counts (table or column level, tables, views, materialized views and \
        foreign tables), because write and TRUNCATE grants damage PHI integrity as much as \
        SELECT exposes it. High: direct, standing access to PHI by anyone who can log in.",
    reproduce_sql:
        "SELECT c.oid::regclass, a.privilege_type FROM pg_class c, \
        aclexplode(c.relacl) a WHERE a.grantee = 0 AND c.relkind IN ('r','p','v','m','f') \
        AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, \
        'information_schema'::regnamespace) ORDER BY 1;\nSELECT attrelid::regclass, attname, \
        a.privilege_type FROM pg_attribute, aclexplode(attacl) a WHERE a.grantee = 0 ORDER BY 1, 2;",
    evaluate: no_public_table_grants,
    fix: Fix::Build(revoke_public_table_grants),
};

fn no_public_table_grants(s: &Snapshot, _: &Policy) -> Verdict {
    let scoped = per_database(s, |d| d.relations.as_deref());
    let mut found = Vec::new();
    for part in &scoped.found {
        for rel in part.part.iter().filter(|r| has_public_grant(r)) {
            found.push(part.key(rel_key(&rel.schema, &rel.name)));
        }
    }
    let total: usize = scoped.found.iter().map(|p| p.part.len()).sum();
    scoped.conclude(
        s,
        "relations",
        found,
        |f| {
            format!(
                "{} relation(s) grant privileges to PUBLIC: {}",
                f.len(),
                sample(f)
            )
        },
        format!("none of {total} relation(s) grants a privilege to PUBLIC"),
    )
}

fn has_public_grant(rel: &Relation) -> bool {
    let public = |acl: &[AclItem]| {
        acl.iter()
            .any(|a| a.grantee == PUBLIC && !a.privileges.is_empty())
    };
    public(&rel.acl) || rel.columns.iter().any(|c| public(&c.acl))
}

/// PUBLIC's privileges on a relation: `(column, letters)`, column `None`
/// for the table level.
fn public_grants(rel: &Relation) -> Vec<(Option<&str>, &str)> {
    let table = rel
        .acl
        .iter()
        .filter(|a| a.grantee == PUBLIC && !a.privileges.is_empty())
        .map(|a| (None, a.privileges.as_str()));
    let columns = rel.columns.iter().flat_map(|c| {
        c.acl
            .iter()
            .filter(|a| a.grantee == PUBLIC && !a.privileges.is_empty())
            .map(move |a| (Some(c.name.as_str()), a.privileges.as_str()))
    });
    table.chain(columns).collect()
}

fn revoke_public_table_grants(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let Some(relations) = primary_part(s, |d| d.relations.as_deref()) else {
        return missing_facts_plan("relations");
    };
    let listed = Listed::new(verdict);
    let flagged: Vec<&Relation> = relations.iter().filter(|r| listed.relation(r)).collect();
    let schemas: BTreeSet<&str> = flagged.iter().map(|r| r.schema.as_str()).collect();
    let statements = schemas
        .iter()
        .map(|schema| {
            Statement::revoke(
                PrivilegeList::of(&["ALL"]),
                PrivilegeObject::AllTablesInSchema(schema.to_string()),
                Grantee::Public,
            )
        })
        .collect();
    let rollback = flagged
        .iter()
        .flat_map(|rel| {
            public_grants(rel).into_iter().map(|(column, letters)| {
                Statement::grant(
                    privilege_list(letters, column),
                    PrivilegeObject::Table(QualifiedName::of(rel)),
                    Grantee::Public,
                    false,
                )
            })
        })
        .collect();
    FixPlan {
        apply: vec![ApplyClass::Immediate],
        statements,
        rollback,
        needs: "owner of each table (or superuser)".into(),
        note: with_other_databases(
            s,
            "revoking table privileges also revokes the same column privileges; grant the \
             roles that need a table their own privileges before applying, and run it as the \
             tables' owner (a non-owner's REVOKE only removes its own grants)",
        ),
        ..FixPlan::default()
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::*;
    use crate::checks::testkit::Case;

    let good = with_relations(vec![patients("phi_owner")]);
    let mut bad = good.clone();
    relation_mut(&mut bad, 0).acl.push(acl(PUBLIC, "r"));
    vec![Case::new("PRIV-009", good, bad)]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    use crate::model::finding::Status;

    #[test]
    fn public_grants_fix_revokes_per_schema_and_restores_each_object() {
        let mut rel = patients("phi_owner");
        rel.schema = HOSTILE[0].into();
        rel.acl.push(acl(PUBLIC, "arw"));
        rel.columns[1].acl.push(acl(PUBLIC, "r"));
        let s = with_relations(vec![rel]);
        let v = eval(&NO_PUBLIC_TABLE_GRANTS, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        let plan = NO_PUBLIC_TABLE_GRANTS.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["REVOKE ALL ON ALL TABLES IN SCHEMA \"a\"\"; DROP ROLE x; --\" FROM PUBLIC"]
        );
        assert_eq!(
            plan.rollback,
            vec![
                "GRANT INSERT, SELECT, UPDATE ON TABLE \"a\"\"; DROP ROLE x; --\".\"patients\" TO PUBLIC",
                "GRANT SELECT (\"ssn\") ON TABLE \"a\"\"; DROP ROLE x; --\".\"patients\" TO PUBLIC",
            ]
        );
    }
}

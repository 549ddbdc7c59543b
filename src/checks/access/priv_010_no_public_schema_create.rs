//! PRIV-010: PUBLIC cannot create objects in any schema.

use super::keys::Listed;
use super::missing_facts_plan;
use super::scoped::{per_database, primary_part, with_other_databases};
use crate::checks::facts::{major_version, sample};
use crate::checks::privileges::PUBLIC;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::{AclItem, Snapshot};
use crate::model::statement::{Grantee, PrivilegeList, PrivilegeObject, Statement};
use crate::policy::Policy;
use postgres_protocol::escape::escape_identifier;

pub static NO_PUBLIC_SCHEMA_CREATE: Check = Check {
    id: "PRIV-010",
    section: Section::Access,
    title: "PUBLIC cannot create objects in schemas",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "When every role may create objects in a schema that others search (public, \
        before PostgreSQL 15 by default), any login can plant a function or operator that \
        shadows a built-in and runs with the privileges of whoever calls it, a privileged \
        DBA or a SECURITY DEFINER function included. Every schema is checked, not only \
        public. Medium: it needs a login and a victim, but leads to escalation.",
    reproduce_sql: "SELECT n.nspname, a.privilege_type FROM pg_namespace n, \
        aclexplode(n.nspacl) a WHERE a.grantee = 0 AND a.privilege_type = 'CREATE';",
    evaluate: no_public_schema_create,
    fix: Fix::Build(revoke_public_schema_create),
};

fn no_public_schema_create(s: &Snapshot, _: &Policy) -> Verdict {
    let scoped = per_database(s, |d| d.schemas.as_deref());
    let mut found = Vec::new();
    for part in &scoped.found {
        for schema in part.part.iter().filter(|x| public_can_create(&x.acl)) {
            found.push(part.key(escape_identifier(&schema.name)));
        }
    }
    let default_note = match major_version(s) {
        Some(v) if v < 15 => {
            "; before PostgreSQL 15 the public schema grants CREATE to PUBLIC by default"
        }
        _ => "",
    };
    scoped.conclude(
        s,
        "schemas",
        found,
        |f| {
            format!(
                "{} schema(s) let PUBLIC create objects: {}{default_note}",
                f.len(),
                sample(f)
            )
        },
        format!("no schema grants CREATE to PUBLIC{default_note}"),
    )
}

fn public_can_create(acl: &[AclItem]) -> bool {
    acl.iter()
        .any(|a| a.grantee == PUBLIC && a.privileges.contains('C'))
}

fn revoke_public_schema_create(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let Some(schemas) = primary_part(s, |d| d.schemas.as_deref()) else {
        return missing_facts_plan("schemas");
    };
    let listed = Listed::new(verdict);
    // Listed by their quoted names (the verdict's keys).
    let names: Vec<&str> = schemas
        .iter()
        .map(|x| x.name.as_str())
        .filter(|n| listed.contains(&escape_identifier(n)))
        .collect();
    let create = || PrivilegeList::of(&["CREATE"]);
    let schema = |name: &str| PrivilegeObject::Schema(name.to_string());
    FixPlan {
        apply: vec![ApplyClass::Immediate],
        statements: names
            .iter()
            .map(|n| Statement::revoke(create(), schema(n), Grantee::Public))
            .collect(),
        rollback: names
            .iter()
            .map(|n| Statement::grant(create(), schema(n), Grantee::Public, false))
            .collect(),
        needs: "owner of each schema (or superuser)".into(),
        note: with_other_databases(
            s,
            "roles that deploy objects need their own GRANT CREATE ON SCHEMA; USAGE stays",
        ),
        ..FixPlan::default()
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::*;
    use crate::checks::testkit::{base, db, Case};

    let schema = |public: &str| crate::model::snapshot::Schema {
        name: "public".into(),
        owner: "pg_database_owner".into(),
        acl: vec![acl("pg_database_owner", "UC"), acl(PUBLIC, public)],
    };
    let mut good = base();
    db(&mut good).schemas = Some(vec![schema("U")]);
    let mut bad = base();
    db(&mut bad).schemas = Some(vec![schema("UC")]);
    vec![Case::new("PRIV-010", good, bad)]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::checks::testkit::{base, db};
    use crate::model::finding::Status;

    #[test]
    fn public_schema_create_notes_the_old_default() {
        let mut s = base();
        s.target.server_version_num = Some(140010);
        db(&mut s).schemas = Some(vec![crate::model::snapshot::Schema {
            name: "public".into(),
            owner: "postgres".into(),
            acl: vec![acl("postgres", "UC"), acl(PUBLIC, "UC")],
        }]);
        let v = eval(&NO_PUBLIC_SCHEMA_CREATE, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        assert!(v.evidence.contains("before PostgreSQL 15"));
        let plan = NO_PUBLIC_SCHEMA_CREATE.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["REVOKE CREATE ON SCHEMA \"public\" FROM PUBLIC"]
        );
        assert_eq!(
            plan.rollback,
            vec!["GRANT CREATE ON SCHEMA \"public\" TO PUBLIC"]
        );
    }
}

//! PRIV-011: default privileges grant nothing to PUBLIC, and only owners and
//! administrators hold grant options.

use super::approved::Approved;
use super::keys::{rel_key, Listed};
use super::scoped::{per_database, primary_part, with_other_databases};
use super::{missing_facts_plan, need_roles, privilege_list};
use crate::checks::facts::sample;
use crate::checks::privileges::PUBLIC;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::{AclItem, DefaultAcl, Relation, Snapshot};
use crate::model::statement::{Grantee, PrivilegeObject, QualifiedName, Statement};
use crate::policy::Policy;
use postgres_protocol::escape::escape_identifier;
use std::collections::BTreeSet;

pub static DEFAULT_PRIVILEGES_TIGHT: Check = Check {
    id: "PRIV-011",
    section: Section::Access,
    title: "Default privileges grant nothing to PUBLIC and no grant options to non-admins",
    severity: Severity::Medium,
    hipaa: &["164.308(a)(4)(ii)(B)"],
    cis: None,
    rationale: "Default privileges apply to every table created later, so a grant to PUBLIC \
        there exposes tables nobody has reviewed yet; a grant option lets its holder hand \
        the privilege on without the administrators. Decisions: default privileges to PUBLIC \
        are reported for tables, sequences and schemas; EXECUTE on functions and USAGE on \
        types are PostgreSQL's own defaults (stored only because the entry was altered) and \
        are left to PRIV-012. Grant options on tables and columns are reported when held by \
        a role that is not the owner, a superuser or an approved administrator. Medium: \
        they widen access over time rather than at once.",
    reproduce_sql: "SELECT d.defaclrole::regrole, d.defaclnamespace::regnamespace, \
        d.defaclobjtype, a.grantee::regrole, a.privilege_type, a.is_grantable FROM \
        pg_default_acl d, aclexplode(d.defaclacl) a ORDER BY 1, 2, 3;\nSELECT c.oid::regclass, \
        a.grantee::regrole, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a WHERE \
        a.is_grantable AND a.grantee <> c.relowner ORDER BY 1, 2;",
    evaluate: default_privileges_tight,
    fix: Fix::Build(tighten_default_privileges),
};

/// One default-ACL or relation-ACL item this check may report.
struct GrantIssue<'a> {
    key: String,
    kind: IssueKind<'a>,
}

enum IssueKind<'a> {
    /// Default privileges granting to PUBLIC.
    DefaultToPublic(&'a DefaultAcl, &'a AclItem),
    /// Default privileges granting WITH GRANT OPTION.
    DefaultGrantable(&'a DefaultAcl, &'a AclItem),
    /// A table or column privilege held WITH GRANT OPTION.
    Grantable(&'a Relation, Option<&'a str>, &'a AclItem),
}

impl IssueKind<'_> {
    /// The role holding the item (for the admin exemption).
    fn holder(&self) -> &str {
        match self {
            IssueKind::DefaultToPublic(_, a)
            | IssueKind::DefaultGrantable(_, a)
            | IssueKind::Grantable(_, _, a) => &a.grantee,
        }
    }
}

/// Every item of one database that could be an issue, before the policy
/// exempts administrators: grants to PUBLIC and grant options not held by
/// the object's owner.
fn grant_issues<'a>(defaults: &'a [DefaultAcl], relations: &'a [Relation]) -> Vec<GrantIssue<'a>> {
    let mut issues = Vec::new();
    for d in defaults {
        for item in &d.acl {
            if item.grantee == PUBLIC && ["r", "S", "n"].contains(&d.object_type.as_str()) {
                issues.push(GrantIssue {
                    key: format!("{}: PUBLIC", default_acl_label(d)),
                    kind: IssueKind::DefaultToPublic(d, item),
                });
            } else if !item.grantable.is_empty() && item.grantee != d.role {
                issues.push(GrantIssue {
                    key: format!(
                        "{}: {} WITH GRANT OPTION",
                        default_acl_label(d),
                        escape_identifier(&item.grantee)
                    ),
                    kind: IssueKind::DefaultGrantable(d, item),
                });
            }
        }
    }
    for rel in relations {
        let table = rel.acl.iter().map(|a| (None, a));
        let columns = rel
            .columns
            .iter()
            .flat_map(|c| c.acl.iter().map(move |a| (Some(c.name.as_str()), a)));
        for (column, item) in table.chain(columns) {
            if item.grantable.is_empty() || item.grantee == rel.owner || item.grantee == PUBLIC {
                continue;
            }
            let mut object = rel_key(&rel.schema, &rel.name);
            if let Some(c) = column {
                object = format!("{object}.{}", escape_identifier(c));
            }
            issues.push(GrantIssue {
                key: format!(
                    "{object}: {} WITH GRANT OPTION",
                    escape_identifier(&item.grantee)
                ),
                kind: IssueKind::Grantable(rel, column, item),
            });
        }
    }
    issues
}

fn default_acl_label(d: &DefaultAcl) -> String {
    let scope = match &d.schema {
        Some(schema) => format!(" in schema {}", escape_identifier(schema)),
        None => String::new(),
    };
    format!(
        "default privileges of {}{scope} on {}",
        escape_identifier(&d.role),
        default_object_keyword(&d.object_type).to_ascii_lowercase()
    )
}

fn default_object_keyword(object_type: &str) -> &'static str {
    match object_type {
        "r" => "TABLES",
        "S" => "SEQUENCES",
        "f" => "FUNCTIONS",
        "T" => "TYPES",
        "n" => "SCHEMAS",
        _ => "TABLES",
    }
}

fn default_privileges_tight(s: &Snapshot, policy: &Policy) -> Verdict {
    let roles = match need_roles(s) {
        Ok(r) => r,
        Err(v) => return v,
    };
    let approved = Approved::new(s, roles, policy);
    let superusers: BTreeSet<&str> = roles
        .iter()
        .filter(|r| r.superuser)
        .map(|r| r.name.as_str())
        .collect();
    let exempt = |holder: &str| superusers.contains(holder) || approved.admin(holder);
    let scoped = per_database(s, |d| {
        Some((d.default_acls.as_deref()?, d.relations.as_deref()?))
    });
    let mut found = Vec::new();
    for part in &scoped.found {
        let (defaults, relations) = part.part;
        for issue in grant_issues(defaults, relations) {
            let reported = match issue.kind {
                IssueKind::DefaultToPublic(..) => true,
                _ => !exempt(issue.kind.holder()),
            };
            if reported {
                found.push(part.key(issue.key));
            }
        }
    }
    scoped.conclude(
        s,
        "default_acls",
        found,
        |f| {
            format!(
                "{} default privilege(s) or grant option(s) to review: {}",
                f.len(),
                sample(f)
            )
        },
        format!(
            "no default privileges grant to PUBLIC; grant options are held only by owners, \
             superusers and approved administrators ({})",
            approved.describe_admins()
        ),
    )
}

fn tighten_default_privileges(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let Some((defaults, relations)) = primary_part(s, |d| {
        Some((d.default_acls.as_deref()?, d.relations.as_deref()?))
    }) else {
        return missing_facts_plan("default privileges and relations");
    };
    let listed = Listed::new(verdict);
    let mut statements = Vec::new();
    let mut rollback = Vec::new();
    for issue in grant_issues(defaults, relations) {
        if !listed.contains(issue.key.as_str()) {
            continue;
        }
        let (undo, redo) = issue_statements(&issue.kind);
        statements.push(undo);
        rollback.push(redo);
    }
    FixPlan {
        apply: vec![ApplyClass::Immediate],
        statements,
        rollback,
        needs: "the role whose default privileges change, the table owner, or superuser".into(),
        note: with_other_databases(
            s,
            "REVOKE GRANT OPTION fails while the holder's own grants depend on it: review \
             those first; the rollback re-grants as the role applying it, so the recorded \
             grantor may differ",
        ),
        ..FixPlan::default()
    }
}

/// The statement that removes an issue and the one that restores it.
/// `ALTER DEFAULT PRIVILEGES` stays text: this check alone writes it.
fn issue_statements(kind: &IssueKind<'_>) -> (Statement, Statement) {
    match kind {
        IssueKind::DefaultToPublic(d, item) => {
            let (prefix, on) = default_acl_sql(d);
            let privileges = privilege_list(&item.privileges, None);
            (
                Statement::other(format!("{prefix} REVOKE {privileges} ON {on} FROM PUBLIC")),
                Statement::other(format!("{prefix} GRANT {privileges} ON {on} TO PUBLIC")),
            )
        }
        IssueKind::DefaultGrantable(d, item) => {
            let (prefix, on) = default_acl_sql(d);
            let privileges = privilege_list(&item.grantable, None);
            let grantee = escape_identifier(&item.grantee);
            (
                Statement::other(format!(
                    "{prefix} REVOKE GRANT OPTION FOR {privileges} ON {on} FROM {grantee}"
                )),
                Statement::other(format!(
                    "{prefix} GRANT {privileges} ON {on} TO {grantee} WITH GRANT OPTION"
                )),
            )
        }
        IssueKind::Grantable(rel, column, item) => {
            let privileges = privilege_list(&item.grantable, *column);
            let table = PrivilegeObject::Table(QualifiedName::of(rel));
            let grantee = Grantee::Role(item.grantee.clone());
            (
                Statement::Privileges {
                    grant: false,
                    privileges: privileges.clone(),
                    object: table.clone(),
                    grantee: grantee.clone(),
                    grant_option: true,
                },
                Statement::grant(privileges, table, grantee, true),
            )
        }
    }
}

/// `ALTER DEFAULT PRIVILEGES FOR ROLE r [IN SCHEMA s]` and the object keyword.
fn default_acl_sql(d: &DefaultAcl) -> (String, &'static str) {
    let mut prefix = format!(
        "ALTER DEFAULT PRIVILEGES FOR ROLE {}",
        escape_identifier(&d.role)
    );
    if let Some(schema) = &d.schema {
        prefix.push_str(&format!(" IN SCHEMA {}", escape_identifier(schema)));
    }
    (prefix, default_object_keyword(&d.object_type))
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::*;
    use crate::checks::testkit::{base, db, Case};

    let default_acl = |grantee: &str| DefaultAcl {
        role: "app_owner".into(),
        schema: Some("clinic".into()),
        object_type: "r".into(),
        acl: vec![acl(grantee, "r")],
    };
    let mut good = base();
    db(&mut good).default_acls = Some(vec![default_acl("app")]);
    let mut bad = base();
    db(&mut bad).default_acls = Some(vec![default_acl(PUBLIC)]);
    vec![Case::new("PRIV-011", good, bad)]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::checks::testkit::db;

    #[test]
    fn grant_options_and_default_privileges() {
        let mut rel = patients("phi_owner");
        let mut item = acl("clerk", "r");
        item.grantable = "r".into();
        rel.acl.push(item);
        let mut owner_item = acl("phi_owner", "arwdDxt");
        owner_item.grantable = "arwdDxt".into();
        rel.acl.push(owner_item);
        let mut s = with_relations(vec![rel]);
        add_roles(&mut s, vec![login("clerk")]);
        db(&mut s).default_acls = Some(vec![
            DefaultAcl {
                role: "app_owner".into(),
                schema: None,
                object_type: "f".into(),
                acl: vec![acl(PUBLIC, "X"), acl("app_owner", "X")],
            },
            DefaultAcl {
                role: "app_owner".into(),
                schema: Some("clinic".into()),
                object_type: "r".into(),
                acl: vec![acl(PUBLIC, "r")],
            },
        ]);
        let v = eval(&DEFAULT_PRIVILEGES_TIGHT, &s, &Policy::default());
        assert_eq!(
            v.objects,
            vec![
                "\"public\".\"patients\": \"clerk\" WITH GRANT OPTION".to_string(),
                "default privileges of \"app_owner\" in schema \"clinic\" on tables: PUBLIC"
                    .to_string(),
            ]
        );
        let plan = DEFAULT_PRIVILEGES_TIGHT.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec![
                "ALTER DEFAULT PRIVILEGES FOR ROLE \"app_owner\" IN SCHEMA \"clinic\" REVOKE SELECT ON TABLES FROM PUBLIC",
                "REVOKE GRANT OPTION FOR SELECT ON TABLE \"public\".\"patients\" FROM \"clerk\"",
            ]
        );
        assert_eq!(
            plan.rollback[1],
            "GRANT SELECT ON TABLE \"public\".\"patients\" TO \"clerk\" WITH GRANT OPTION"
        );
        let approved = Policy {
            approved_admins: vec!["clerk".into()],
            ..Policy::default()
        };
        assert_eq!(
            eval(&DEFAULT_PRIVILEGES_TIGHT, &s, &approved).objects.len(),
            1
        );
    }
}

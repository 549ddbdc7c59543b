//! Whom and where a plaintext startup pretends to be: a handful of login
//! roles, one per class (an administrator, an application login, the role the
//! scan used), and the databases that hold tables.
//!
//! pg_hba matches on database and role, so the server may take plaintext for
//! one pair and refuse it for another; a few pairs cover the lines that matter
//! without knocking on every door. The PHI rule itself lives in `checks`,
//! which `db` must not import: a database that holds tables stands in for a
//! PHI database here (the server's answer does not depend on the tables).
//!
//! Reads the snapshot only; imports `model` and `db::conninfo`.

use crate::db::conninfo::ConnParams;
use crate::model::snapshot::{Role, Snapshot};

/// At most this many databases per address.
pub(super) const MAX_DATABASES: usize = 3;

/// The bootstrap superuser's oid (`postgres` after initdb).
const BOOTSTRAP_SUPERUSER_OID: u32 = 10;

/// A role to try and why it was picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Login {
    pub role: String,
    /// e.g. `administrator`, in our words.
    pub class: &'static str,
}

/// One login per class, without repeats: an administrator, an application
/// login, the scan's own role. Only the scan's role when roles are unknown.
pub(super) fn logins(params: &ConnParams, snapshot: &Snapshot) -> Vec<Login> {
    let mut out: Vec<Login> = Vec::new();
    let mut add = |role: &str, class: &'static str| {
        if !role.is_empty() && !out.iter().any(|l| l.role == role) {
            out.push(Login {
                role: role.to_string(),
                class,
            });
        }
    };
    if let Some(roles) = &snapshot.roles {
        if let Some(admin) = administrator(roles) {
            add(&admin.name, "administrator");
        }
        if let Some(app) = application_login(roles, snapshot, &params.user) {
            add(&app.name, "application login");
        }
    }
    add(&params.user, "the scan's role");
    out
}

/// The bootstrap superuser when it may log in, else the first login superuser by name.
fn administrator(roles: &[Role]) -> Option<&Role> {
    let mut admins: Vec<&Role> = roles
        .iter()
        .filter(|r| r.superuser && r.can_login)
        .collect();
    admins.sort_by(|a, b| a.name.cmp(&b.name));
    admins
        .iter()
        .find(|r| r.oid == BOOTSTRAP_SUPERUSER_OID)
        .or_else(|| admins.first())
        .copied()
}

/// The first non-superuser login (by name) granted a table privilege or
/// owning a table; else the first non-superuser login other than the scan's.
fn application_login<'a>(
    roles: &'a [Role],
    snapshot: &Snapshot,
    scan_role: &str,
) -> Option<&'a Role> {
    let mut logins: Vec<&Role> = roles
        .iter()
        .filter(|r| r.can_login && !r.superuser)
        .collect();
    logins.sort_by(|a, b| a.name.cmp(&b.name));
    let works_with_tables = |name: &str| {
        snapshot
            .databases
            .iter()
            .flat_map(|db| db.relations.iter().flatten())
            .any(|rel| rel.owner == name || rel.acl.iter().any(|item| item.grantee == name))
    };
    logins
        .iter()
        .find(|r| works_with_tables(&r.name))
        .or_else(|| logins.iter().find(|r| r.name != scan_role))
        .copied()
}

/// The databases that hold tables (by name, at most [`MAX_DATABASES`]);
/// the scan's own database when none is known to.
pub(super) fn databases(params: &ConnParams, snapshot: &Snapshot) -> Vec<String> {
    let mut names: Vec<String> = snapshot
        .databases
        .iter()
        .filter(|db| {
            db.relations
                .iter()
                .flatten()
                .any(|rel| matches!(rel.kind.as_str(), "r" | "p"))
        })
        .map(|db| db.name.clone())
        .collect();
    names.sort();
    names.dedup();
    names.truncate(MAX_DATABASES);
    if names.is_empty() {
        names.push(params.dbname.clone());
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::snapshot::{AclItem, DatabaseFacts, Relation};

    fn role(oid: u32, name: &str, superuser: bool) -> Role {
        Role {
            oid,
            name: name.into(),
            superuser,
            can_login: true,
            ..Role::default()
        }
    }

    fn table(name: &str, owner: &str, grantee: &str) -> Relation {
        Relation {
            name: name.into(),
            schema: "public".into(),
            kind: "r".into(),
            owner: owner.into(),
            acl: vec![AclItem {
                grantee: grantee.into(),
                grantor: owner.into(),
                privileges: "r".into(),
                grantable: String::new(),
            }],
            ..Relation::default()
        }
    }

    fn params(user: &str, db: &str) -> ConnParams {
        ConnParams::from_conninfo(&format!("host=/tmp user={user} dbname={db}")).unwrap()
    }

    #[test]
    fn one_login_per_class_without_repeats() {
        let snapshot = Snapshot {
            roles: Some(vec![
                role(16384, "zeta_admin", true),
                role(10, "postgres", true),
                role(16390, "auditor", false),
                role(16391, "clinic_portal", false),
                role(16392, "scanner", false),
            ]),
            databases: vec![DatabaseFacts {
                name: "clinic".into(),
                relations: Some(vec![table("patients", "phi_owner", "clinic_portal")]),
                ..DatabaseFacts::default()
            }],
            ..Snapshot::default()
        };
        let got = logins(&params("scanner", "postgres"), &snapshot);
        let names: Vec<(&str, &str)> = got.iter().map(|l| (l.role.as_str(), l.class)).collect();
        assert_eq!(
            names,
            vec![
                ("postgres", "administrator"),
                ("clinic_portal", "application login"),
                ("scanner", "the scan's role"),
            ]
        );
        let got = logins(&params("postgres", "postgres"), &snapshot);
        assert_eq!(
            got.len(),
            2,
            "the scan's role is the administrator: {got:?}"
        );
    }

    #[test]
    fn without_roles_only_the_scans_role_and_database() {
        let p = params("app", "clinic");
        assert_eq!(
            logins(&p, &Snapshot::default()),
            vec![Login {
                role: "app".into(),
                class: "the scan's role"
            }]
        );
        assert_eq!(
            databases(&p, &Snapshot::default()),
            vec!["clinic".to_string()]
        );
    }

    #[test]
    fn databases_with_tables_come_first_and_are_bounded() {
        let db = |name: &str, tables: bool| DatabaseFacts {
            name: name.into(),
            relations: Some(if tables {
                vec![table("t", "o", "o")]
            } else {
                Vec::new()
            }),
            ..DatabaseFacts::default()
        };
        let snapshot = Snapshot {
            databases: vec![
                db("postgres", false),
                db("d", true),
                db("a", true),
                db("c", true),
                db("b", true),
            ],
            ..Snapshot::default()
        };
        assert_eq!(
            databases(&params("x", "postgres"), &snapshot),
            vec!["a".to_string(), "b".into(), "c".into()]
        );
    }
}

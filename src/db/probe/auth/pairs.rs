//! Which (login role, database) pairs the auth probe tries, chosen from the
//! snapshot alone so that the same snapshot always gives the same pairs.
//!
//! Roles: every login role, most important first — superusers, other
//! administrators (CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS), roles
//! with an MD5 verifier, then the application logins — each class by name.
//! Without the role list (no rights) only the scan's own role is tried.
//!
//! Databases: the scanned databases holding tables of their own (where PHI
//! can be: the PHI-name rule and the organisation's PHI list belong to the
//! checks and the policy, which `db` must not import), the connected one
//! first; else the connected database. A database that refuses every
//! connection (`datallowconn = false`) is left out.
//!
//! Pairs go class by class, each class through every database, so that the
//! limit cuts application logins before it cuts a superuser.
//!
//! Pure; imports only `model`.

use crate::model::snapshot::{DatabaseFacts, PasswordKind, Role, Snapshot};

/// Why a role is of interest, in the order pairs are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RoleClass {
    Superuser,
    /// CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS.
    Administrator,
    /// A login whose stored verifier is MD5.
    Md5Verifier,
    Application,
}

/// One (login role, database) pair to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub role: String,
    pub class: RoleClass,
    /// Known to be a superuser (false when the role list was not readable).
    pub superuser: bool,
    pub database: String,
}

/// The pairs to try and how many the limit left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    pub pairs: Vec<Pair>,
    pub left_out: usize,
}

/// At most `limit` pairs of interest, in a stable order.
pub fn choose(snapshot: &Snapshot, limit: usize) -> Chosen {
    let roles = roles_of_interest(snapshot);
    let databases = databases_of_interest(snapshot);
    let mut pairs = Vec::with_capacity(roles.len() * databases.len());
    for class in [
        RoleClass::Superuser,
        RoleClass::Administrator,
        RoleClass::Md5Verifier,
        RoleClass::Application,
    ] {
        for database in &databases {
            for (role, superuser) in roles.iter().filter(|r| r.1 == class).map(|r| (r.0, r.2)) {
                pairs.push(Pair {
                    role: role.to_owned(),
                    class,
                    superuser,
                    database: database.clone(),
                });
            }
        }
    }
    let left_out = pairs.len().saturating_sub(limit);
    pairs.truncate(limit);
    Chosen { pairs, left_out }
}

/// (name, class, superuser) of every login role, sorted by class and name.
fn roles_of_interest(snapshot: &Snapshot) -> Vec<(&str, RoleClass, bool)> {
    let Some(roles) = &snapshot.roles else {
        return vec![(snapshot.target.user.as_str(), RoleClass::Application, false)];
    };
    let mut out: Vec<(&str, RoleClass, bool)> = roles
        .iter()
        .filter(|r| r.can_login)
        .map(|r| (r.name.as_str(), class_of(r, snapshot), r.superuser))
        .collect();
    out.sort_by(|a, b| (a.1, a.0).cmp(&(b.1, b.0)));
    out
}

fn class_of(role: &Role, snapshot: &Snapshot) -> RoleClass {
    let md5 = snapshot
        .password_kinds
        .as_ref()
        .and_then(|kinds| kinds.get(&role.name))
        == Some(&PasswordKind::Md5);
    if role.superuser {
        RoleClass::Superuser
    } else if role.create_role || role.create_db || role.replication || role.bypass_rls {
        RoleClass::Administrator
    } else if md5 {
        RoleClass::Md5Verifier
    } else {
        RoleClass::Application
    }
}

/// The connected database first, then the other scanned ones by name; only
/// those holding tables, unless none does.
fn databases_of_interest(snapshot: &Snapshot) -> Vec<String> {
    let connected = snapshot.target.dbname.as_str();
    let refuses = |name: &str| {
        snapshot
            .database_access
            .as_ref()
            .and_then(|all| all.iter().find(|d| d.name == name))
            .is_some_and(|d| !d.allow_connections)
    };
    let mut holding: Vec<&str> = snapshot
        .databases
        .iter()
        .filter(|d| holds_tables(d) && !refuses(&d.name))
        .map(|d| d.name.as_str())
        .collect();
    holding.sort_by_key(|name| (*name != connected, *name));
    holding.dedup();
    if holding.is_empty() {
        return vec![connected.to_owned()];
    }
    holding.into_iter().map(str::to_owned).collect()
}

/// Whether a database holds tables outside the system schemas.
fn holds_tables(database: &DatabaseFacts) -> bool {
    database.relations.as_deref().is_some_and(|relations| {
        relations.iter().any(|r| {
            matches!(r.kind.as_str(), "r" | "p")
                && !matches!(
                    r.schema.as_str(),
                    "pg_catalog" | "information_schema" | "pg_toast"
                )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::snapshot::{DatabaseAccess, Relation};
    use std::collections::BTreeMap;

    fn role(name: &str, superuser: bool, create_role: bool, login: bool) -> Role {
        Role {
            name: name.into(),
            superuser,
            create_role,
            can_login: login,
            ..Role::default()
        }
    }

    fn database(name: &str, tables: &[&str]) -> DatabaseFacts {
        DatabaseFacts {
            name: name.into(),
            relations: Some(
                tables
                    .iter()
                    .map(|t| Relation {
                        schema: "public".into(),
                        name: (*t).into(),
                        kind: "r".into(),
                        ..Relation::default()
                    })
                    .collect(),
            ),
            ..DatabaseFacts::default()
        }
    }

    fn snapshot() -> Snapshot {
        let mut s = Snapshot::default();
        s.target.dbname = "postgres".into();
        s.target.user = "scanner".into();
        s.roles = Some(vec![
            role("zed_app", false, false, true),
            role("legacy", false, false, true),
            role("admin", false, true, true),
            role("root2", true, false, true),
            role("postgres", true, false, true),
            role("phi_owner", false, false, false),
        ]);
        s.password_kinds = Some(BTreeMap::from([
            ("legacy".into(), PasswordKind::Md5),
            ("zed_app".into(), PasswordKind::Scram),
        ]));
        s.databases = vec![database("postgres", &[]), database("clinic", &["patients"])];
        s
    }

    fn listed(chosen: &Chosen) -> Vec<String> {
        chosen
            .pairs
            .iter()
            .map(|p| format!("{}@{}", p.role, p.database))
            .collect()
    }

    #[test]
    fn classes_in_order_then_names_and_only_logins() {
        let chosen = choose(&snapshot(), 50);
        assert_eq!(
            listed(&chosen),
            [
                "postgres@clinic",
                "root2@clinic",
                "admin@clinic",
                "legacy@clinic",
                "zed_app@clinic"
            ]
        );
        assert_eq!(chosen.pairs[3].class, RoleClass::Md5Verifier);
        assert!(chosen.pairs[0].superuser && !chosen.pairs[2].superuser);
        assert_eq!(chosen.left_out, 0);
    }

    #[test]
    fn the_limit_cuts_the_least_important_pairs_and_counts_them() {
        let mut s = snapshot();
        s.databases.push(database("billing", &["invoices"]));
        s.target.dbname = "clinic".into();
        let chosen = choose(&s, 5);
        assert_eq!(
            listed(&chosen),
            [
                "postgres@clinic",
                "root2@clinic",
                "postgres@billing",
                "root2@billing",
                "admin@clinic"
            ]
        );
        assert_eq!(chosen.left_out, 5);
    }

    #[test]
    fn without_tables_the_connected_database_and_without_roles_the_scanner() {
        let mut s = snapshot();
        s.databases = vec![database("postgres", &[])];
        s.roles = None;
        assert_eq!(listed(&choose(&s, 50)), ["scanner@postgres"]);
    }

    #[test]
    fn databases_that_refuse_connections_are_left_out() {
        let mut s = snapshot();
        s.database_access = Some(vec![DatabaseAccess {
            name: "clinic".into(),
            allow_connections: false,
            acl: Vec::new(),
        }]);
        assert!(listed(&choose(&s, 50))
            .iter()
            .all(|p| p.ends_with("@postgres")));
    }
}

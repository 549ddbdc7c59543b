//! Grants: one entry per object, privilege and grantee, from the effective ACLs of
//! relations (and their columns), schemas and databases.
//!
//! An entry is named `TABLE clinic.public.patients: SELECT to PUBLIC` and described
//! by who granted it and whether with grant option (`granted by app_owner with grant
//! option`); two grantors of the same privilege share one entry.

use super::names::{ident, qualified};
use super::objects::Found;
use super::ObjectKind;
use crate::model::snapshot::{privilege_keyword, AclItem, DatabaseAccess, Relation, Schema};
use std::collections::BTreeMap;

/// Entry name → its grantors, collected before they are joined.
#[derive(Default)]
struct Entries(BTreeMap<String, Vec<String>>);

impl Entries {
    fn add(&mut self, object: &str, acl: &[AclItem]) {
        for item in acl {
            let grantee = if item.grantee == "PUBLIC" {
                "PUBLIC".to_string()
            } else {
                ident(&item.grantee)
            };
            for letter in item.privileges.chars() {
                let privilege = privilege_keyword(letter)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("privilege {letter}"));
                let option = if item.grantable.contains(letter) {
                    " with grant option"
                } else {
                    ""
                };
                self.0
                    .entry(format!("{object}: {privilege} to {grantee}"))
                    .or_default()
                    .push(format!("granted by {}{option}", ident(&item.grantor)));
            }
        }
    }

    /// Entry name → its grantors, sorted and joined with `; `.
    fn finish(self) -> BTreeMap<String, String> {
        self.0
            .into_iter()
            .map(|(name, mut by)| {
                by.sort();
                by.dedup();
                (name, by.join("; "))
            })
            .collect()
    }
}

/// The grants on one relation and its columns, as they were and as they are
/// (`None`: the relation did not exist on that side).
pub(super) fn relation(
    database: &str,
    old: Option<&Relation>,
    new: Option<&Relation>,
    found: &mut Found,
) {
    let entries = |rel: Option<&Relation>| {
        let mut entries = Entries::default();
        if let Some(rel) = rel {
            let object = format!(
                "{} {}",
                relation_kind(&rel.kind),
                qualified(&[database, &rel.schema, &rel.name])
            );
            entries.add(&object, &rel.acl);
            for column in rel.columns.iter().filter(|c| !c.acl.is_empty()) {
                let object = format!(
                    "COLUMN {}",
                    qualified(&[database, &rel.schema, &rel.name, &column.name])
                );
                entries.add(&object, &column.acl);
            }
        }
        entries.finish()
    };
    found.keyed(ObjectKind::Grant, &entries(old), &entries(new));
}

/// What `GRANT … ON` calls a relation of this `relkind`.
fn relation_kind(relkind: &str) -> &'static str {
    match relkind {
        "v" => "VIEW",
        "m" => "MATERIALIZED VIEW",
        "f" => "FOREIGN TABLE",
        "S" => "SEQUENCE",
        _ => "TABLE",
    }
}

/// Schema grants of one database.
pub(super) fn schemas(database: &str, old: &[Schema], new: &[Schema], found: &mut Found) {
    let entries = |schemas: &[Schema]| {
        let mut entries = Entries::default();
        for schema in schemas {
            let object = format!("SCHEMA {}", qualified(&[database, &schema.name]));
            entries.add(&object, &schema.acl);
        }
        entries.finish()
    };
    found.keyed(ObjectKind::Grant, &entries(old), &entries(new));
}

/// Database grants (`CONNECT`, `CREATE`, `TEMPORARY`) from `pg_database`.
pub(super) fn databases(old: &[DatabaseAccess], new: &[DatabaseAccess], found: &mut Found) {
    let entries = |databases: &[DatabaseAccess]| {
        let mut entries = Entries::default();
        for database in databases {
            let object = format!("DATABASE {}", ident(&database.name));
            entries.add(&object, &database.acl);
        }
        entries.finish()
    };
    found.keyed(ObjectKind::Grant, &entries(old), &entries(new));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::objects::Found;
    use crate::drift::{Appearance, ObjectChange};

    fn acl(grantee: &str, privileges: &str, grantable: &str) -> AclItem {
        AclItem {
            grantee: grantee.into(),
            grantor: "owner".into(),
            privileges: privileges.into(),
            grantable: grantable.into(),
        }
    }

    fn found_by(compare: impl FnOnce(&mut Found)) -> Vec<ObjectChange> {
        let mut found = Found::default();
        compare(&mut found);
        found.finish().0
    }

    #[test]
    fn grants_are_per_privilege_and_grantee() {
        let old = Relation {
            schema: "public".into(),
            name: "Patients".into(),
            kind: "r".into(),
            acl: vec![acl("owner", "arwd", ""), acl("nurse", "r", "")],
            ..Relation::default()
        };
        let mut new = old.clone();
        new.acl = vec![
            acl("owner", "arwd", ""),
            acl("nurse", "r", "r"),
            acl("PUBLIC", "r", ""),
        ];
        let changes = found_by(|f| relation("clinic", Some(&old), Some(&new), f));
        let got: Vec<(&str, Appearance, Option<&str>, Option<&str>)> = changes
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.change,
                    c.before.as_deref(),
                    c.after.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "TABLE clinic.public.\"Patients\": SELECT to PUBLIC",
                    Appearance::Appeared,
                    None,
                    Some("granted by owner")
                ),
                (
                    "TABLE clinic.public.\"Patients\": SELECT to nurse",
                    Appearance::Changed,
                    Some("granted by owner"),
                    Some("granted by owner with grant option")
                ),
            ]
        );
    }

    #[test]
    fn column_schema_and_database_grants_are_named_by_their_object() {
        let mut rel = Relation {
            schema: "public".into(),
            name: "patients".into(),
            kind: "v".into(),
            ..Relation::default()
        };
        rel.columns.push(crate::model::snapshot::Column {
            name: "ssn".into(),
            type_name: "text".into(),
            acl: vec![acl("clerk", "r", "")],
        });
        let changes = found_by(|f| {
            relation("clinic", None, Some(&rel), f);
            let schema = Schema {
                name: "public".into(),
                owner: "owner".into(),
                acl: vec![acl("PUBLIC", "C", "")],
            };
            schemas("clinic", &[schema], &[], f);
            let db = DatabaseAccess {
                name: "clinic".into(),
                allow_connections: true,
                acl: vec![acl("PUBLIC", "cT", "")],
            };
            databases(&[], &[db], f);
        });
        let got: Vec<(&str, Appearance)> = changes
            .iter()
            .map(|c| (c.name.as_str(), c.change))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "COLUMN clinic.public.patients.ssn: SELECT to clerk",
                    Appearance::Appeared
                ),
                ("DATABASE clinic: CONNECT to PUBLIC", Appearance::Appeared),
                ("DATABASE clinic: TEMPORARY to PUBLIC", Appearance::Appeared),
                (
                    "SCHEMA clinic.public: CREATE to PUBLIC",
                    Appearance::Disappeared
                ),
            ]
        );
    }

    #[test]
    fn two_grantors_share_one_entry() {
        let mut by_admin = acl("nurse", "c", "");
        by_admin.grantor = "admin".into();
        let db = DatabaseAccess {
            name: "clinic".into(),
            allow_connections: true,
            acl: vec![acl("nurse", "c", ""), by_admin],
        };
        let changes = found_by(|f| databases(&[], &[db], f));
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(
            changes[0].after.as_deref(),
            Some("granted by admin; granted by owner")
        );
    }
}

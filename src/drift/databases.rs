//! What lives inside each scanned database: grants on relations, columns and schemas,
//! PHI columns, extensions.
//!
//! Databases are paired by name. One that only one scan read is compared only when
//! the other scan's `pg_database` shows it did not exist then (everything in it
//! appeared, or disappeared); otherwise it was merely not scanned, and a note says so.
//! Relations are paired by schema and name through a hash map, and a pair whose ACLs
//! and columns are equal is skipped without building a string, so two 10,000-table
//! scans that differ in a few places cost little more than one pass over each.

use super::grants;
use super::names::{ident, qualified};
use super::objects::Found;
use super::ObjectKind;
use crate::model::phi_names::is_phi_name;
use crate::model::snapshot::{DatabaseFacts, Extension, Relation, Snapshot};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn compare(old: &Snapshot, new: &Snapshot, found: &mut Found) {
    let (old_dbs, new_dbs) = (by_name(old), by_name(new));
    let names: BTreeSet<&str> = old_dbs.keys().chain(new_dbs.keys()).copied().collect();
    for name in names {
        match (old_dbs.get(name), new_dbs.get(name)) {
            (Some(o), Some(n)) => database(name, o, n, found),
            (Some(o), None) if did_not_exist(new, name) => database(name, o, &nothing(name), found),
            (None, Some(n)) if did_not_exist(old, name) => database(name, &nothing(name), n, found),
            (Some(_), None) => found.note(only_scanned(name, "old")),
            (None, Some(_)) => found.note(only_scanned(name, "new")),
            (None, None) => {}
        }
    }
}

/// The scanned databases by name (the first of a repeated name).
fn by_name(snapshot: &Snapshot) -> BTreeMap<&str, &DatabaseFacts> {
    let mut map = BTreeMap::new();
    for db in &snapshot.databases {
        map.entry(db.name.as_str()).or_insert(db);
    }
    map
}

fn only_scanned(name: &str, side: &str) -> String {
    format!(
        "database {} was scanned only in the {side} scan: its grants, PHI columns and \
         extensions were not compared",
        ident(name)
    )
}

/// Whether the scan read `pg_database` and it has no database of that name.
fn did_not_exist(snapshot: &Snapshot, name: &str) -> bool {
    snapshot
        .database_access
        .as_ref()
        .is_some_and(|all| !all.iter().any(|d| d.name == name))
}

/// A database with nothing in it: the side on which it did not exist.
fn nothing(name: &str) -> DatabaseFacts {
    DatabaseFacts {
        name: name.into(),
        relations: Some(Vec::new()),
        schemas: Some(Vec::new()),
        extensions: Some(Vec::new()),
        ..DatabaseFacts::default()
    }
}

fn database(name: &str, old: &DatabaseFacts, new: &DatabaseFacts, found: &mut Found) {
    let db = ident(name);
    if let Some((o, n)) = found.both(
        old.relations.as_deref(),
        new.relations.as_deref(),
        &format!("relations of database {db}"),
        "table grant and PHI column",
    ) {
        relations(name, o, n, found);
    }
    if let Some((o, n)) = found.both(
        old.schemas.as_deref(),
        new.schemas.as_deref(),
        &format!("schemas of database {db}"),
        "schema grant",
    ) {
        grants::schemas(name, o, n, found);
    }
    if let Some((o, n)) = found.both(
        old.extensions.as_deref(),
        new.extensions.as_deref(),
        &format!("extensions of database {db}"),
        "extension",
    ) {
        found.keyed(
            ObjectKind::Extension,
            &extensions(name, o),
            &extensions(name, n),
        );
    }
}

fn relations(database: &str, old: &[Relation], new: &[Relation], found: &mut Found) {
    let (old_index, new_index) = (index(old), index(new));
    for (i, o) in old.iter().enumerate() {
        let key = (o.schema.as_str(), o.name.as_str());
        if old_index.get(&key) != Some(&i) {
            continue; // a repeated name: its first entry speaks for it
        }
        let n = new_index.get(&key).map(|&j| &new[j]);
        let same = n.is_some_and(|n| n.kind == o.kind && n.acl == o.acl && n.columns == o.columns);
        if !same {
            relation(database, Some(o), n, found);
        }
    }
    for (j, n) in new.iter().enumerate() {
        let key = (n.schema.as_str(), n.name.as_str());
        if new_index.get(&key) == Some(&j) && !old_index.contains_key(&key) {
            relation(database, None, Some(n), found);
        }
    }
}

/// Position of each relation by schema and name (the first of a repeated name).
fn index(relations: &[Relation]) -> FxHashMap<(&str, &str), usize> {
    let mut map = FxHashMap::default();
    for (i, r) in relations.iter().enumerate() {
        map.entry((r.schema.as_str(), r.name.as_str())).or_insert(i);
    }
    map
}

/// Grants and PHI columns of a relation that is new, gone or different.
fn relation(database: &str, old: Option<&Relation>, new: Option<&Relation>, found: &mut Found) {
    grants::relation(database, old, new, found);
    found.keyed(
        ObjectKind::PhiColumn,
        &phi_columns(database, old),
        &phi_columns(database, new),
    );
}

/// `db.schema.table.column` → type, for the columns the PHI name rule flags.
fn phi_columns(database: &str, rel: Option<&Relation>) -> BTreeMap<String, String> {
    let Some(rel) = rel else {
        return BTreeMap::new();
    };
    rel.columns
        .iter()
        .filter(|c| is_phi_name(&c.name))
        .map(|c| {
            let name = qualified(&[database, &rel.schema, &rel.name, &c.name]);
            (name, c.type_name.clone())
        })
        .collect()
}

/// `pgcrypto in database clinic` → `version 1.3 in schema public`.
fn extensions(database: &str, extensions: &[Extension]) -> BTreeMap<String, String> {
    extensions
        .iter()
        .map(|e| {
            let name = format!("{} in database {}", ident(&e.name), ident(database));
            let what = format!("version {} in schema {}", e.version, ident(&e.schema));
            (name, what)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::tests::{changes_of, snapshot};
    use crate::drift::Appearance;
    use crate::model::snapshot::{Column, DatabaseAccess};

    fn column(name: &str, type_name: &str) -> Column {
        Column {
            name: name.into(),
            type_name: type_name.into(),
            acl: Vec::new(),
        }
    }

    fn table(name: &str, columns: Vec<Column>) -> Relation {
        Relation {
            schema: "public".into(),
            name: name.into(),
            kind: "r".into(),
            columns,
            ..Relation::default()
        }
    }

    #[test]
    fn phi_columns_appear_disappear_and_change_type() {
        let mut old = snapshot();
        let mut new = snapshot();
        old.databases[0].relations = Some(vec![
            table(
                "patients",
                vec![column("id", "integer"), column("ssn", "text")],
            ),
            table("dropped", vec![column("mrn", "text")]),
        ]);
        new.databases[0].relations = Some(vec![
            table(
                "patients",
                vec![column("id", "integer"), column("ssn", "bytea")],
            ),
            table(
                "visits",
                vec![column("date_of_birth", "date"), column("notes", "text")],
            ),
        ]);
        assert_eq!(
            changes_of(&old, &new, ObjectKind::PhiColumn),
            [
                (
                    "clinic.public.dropped.mrn",
                    Appearance::Disappeared,
                    Some("text"),
                    None
                ),
                (
                    "clinic.public.patients.ssn",
                    Appearance::Changed,
                    Some("text"),
                    Some("bytea")
                ),
                (
                    "clinic.public.visits.date_of_birth",
                    Appearance::Appeared,
                    None,
                    Some("date")
                ),
            ]
        );
    }

    #[test]
    fn extensions_appear_disappear_and_change_version() {
        let ext = |name: &str, version: &str| Extension {
            name: name.into(),
            version: version.into(),
            schema: "public".into(),
        };
        let mut old = snapshot();
        let mut new = snapshot();
        old.databases[0].extensions = Some(vec![ext("pgcrypto", "1.3"), ext("dblink", "1.2")]);
        new.databases[0].extensions = Some(vec![ext("pgcrypto", "1.4"), ext("pgaudit", "16.0")]);
        assert_eq!(
            changes_of(&old, &new, ObjectKind::Extension),
            [
                (
                    "dblink in database clinic",
                    Appearance::Disappeared,
                    Some("version 1.2 in schema public"),
                    None
                ),
                (
                    "pgaudit in database clinic",
                    Appearance::Appeared,
                    None,
                    Some("version 16.0 in schema public")
                ),
                (
                    "pgcrypto in database clinic",
                    Appearance::Changed,
                    Some("version 1.3 in schema public"),
                    Some("version 1.4 in schema public")
                ),
            ]
        );
    }

    #[test]
    fn a_database_scanned_once_is_compared_only_when_it_did_not_exist_before() {
        let mut old = snapshot();
        let mut new = snapshot();
        let mut billing = nothing("billing");
        billing.relations = Some(vec![table("claims", vec![column("member_id", "text")])]);
        new.databases.push(billing);
        let access = |name: &str| DatabaseAccess {
            name: name.into(),
            allow_connections: true,
            acl: Vec::new(),
        };
        // The old scan's pg_database lists billing: it existed, it was not scanned.
        old.database_access = Some(vec![access("clinic"), access("billing")]);
        new.database_access = old.database_access.clone();
        let (changes, notes) = crate::drift::objects::compare(&old, &new);
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(
            notes,
            [
                "database billing was scanned only in the new scan: its grants, PHI columns and \
              extensions were not compared"
            ]
        );
        // Without billing in the old pg_database, it is new, and so is what it holds.
        old.database_access = Some(vec![access("clinic")]);
        assert_eq!(
            changes_of(&old, &new, ObjectKind::PhiColumn),
            [(
                "billing.public.claims.member_id",
                Appearance::Appeared,
                None,
                Some("text")
            )]
        );
    }

    #[test]
    fn relations_not_collected_give_a_note_naming_the_database() {
        let mut old = snapshot();
        let new = snapshot();
        old.databases[0].relations = None;
        let (changes, notes) = crate::drift::objects::compare(&old, &new);
        assert!(changes.is_empty());
        assert_eq!(
            notes,
            [
                "relations of database clinic were not collected in the old scan: table grant and \
              PHI column changes unknown"
            ]
        );
    }
}

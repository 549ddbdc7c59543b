//! The per-database parts of a snapshot as the PRIV checks judge them: a
//! finding in any database fails, a database whose part is missing makes the
//! verdict unknown, and fix builders act on the connected database only.
//! Imports the section's shared helpers, `crate::checks` and `crate::model`.

use super::{catalog_grant, sorted};
use crate::checks::facts::part_missing;
use crate::checks::Verdict;
use crate::model::snapshot::{DatabaseFacts, Snapshot};
use postgres_protocol::escape::escape_identifier;

/// A per-database part of the snapshot, as found in each database.
pub(super) struct Scoped<'a, T> {
    pub(super) found: Vec<InDatabase<'a, T>>,
    /// Databases whose part was not collected.
    pub(super) missing: Vec<&'a str>,
}

pub(super) struct InDatabase<'a, T> {
    pub(super) db: &'a DatabaseFacts,
    primary: bool,
    pub(super) part: T,
}

impl<T> InDatabase<'_, T> {
    /// An object key, qualified by the database when it is not the connected one.
    pub(super) fn key(&self, local: String) -> String {
        if self.primary {
            local
        } else {
            format!("{}.{local}", escape_identifier(&self.db.name))
        }
    }
}

pub(super) fn per_database<'a, T>(
    s: &'a Snapshot,
    get: impl Fn(&'a DatabaseFacts) -> Option<T>,
) -> Scoped<'a, T> {
    let mut scoped = Scoped {
        found: Vec::new(),
        missing: Vec::new(),
    };
    for (i, db) in s.databases.iter().enumerate() {
        match get(db) {
            Some(part) => scoped.found.push(InDatabase {
                db,
                primary: i == 0,
                part,
            }),
            None => scoped.missing.push(&db.name),
        }
    }
    scoped
}

impl<T> Scoped<'_, T> {
    /// Fail when anything was found; otherwise unknown when a database's part
    /// (or every database) is missing; otherwise pass.
    pub(super) fn conclude(
        &self,
        s: &Snapshot,
        part: &str,
        found: Vec<String>,
        fail: impl FnOnce(&[String]) -> String,
        pass: String,
    ) -> Verdict {
        let found = sorted(found);
        let missing_note = if self.missing.is_empty() {
            String::new()
        } else {
            format!(
                "; {part} not collected in database(s): {}",
                self.missing.join(", ")
            )
        };
        if !found.is_empty() {
            return Verdict::fail(format!("{}{missing_note}", fail(&found))).with_objects(found);
        }
        if self.missing.is_empty() && !s.databases.is_empty() {
            return Verdict::pass(pass);
        }
        let catalog = match part {
            "schemas" => "pg_namespace",
            "default_acls" => "pg_default_acl",
            "functions" => "pg_proc",
            "languages" => "pg_language",
            "policies" => "pg_policy",
            _ => "pg_class",
        };
        let mut verdict = part_missing(s, part, catalog_grant(s, catalog));
        if !missing_note.is_empty() {
            verdict.evidence.push_str(&missing_note);
            verdict.reason = verdict.reason.map(|r| format!("{r}{missing_note}"));
        }
        verdict
    }
}

/// The connected database's part, for fix builders.
pub(super) fn primary_part<'a, T>(
    s: &'a Snapshot,
    get: impl Fn(&'a DatabaseFacts) -> Option<T>,
) -> Option<T> {
    s.databases.first().and_then(get)
}

pub(super) fn with_other_databases(s: &Snapshot, note: &str) -> String {
    if s.databases.len() > 1 {
        format!(
            "{note}; statements cover the connected database only: run the fix connected to \
             each other listed database"
        )
    } else {
        note.to_string()
    }
}

//! The pgcrypto column migration that EAR-004 and EAR-005 offer as their
//! fix: both name columns as `[database: ]schema.table.column`.

use super::stores_rows;
use crate::checks::facts::listing;
use crate::checks::Verdict;
use crate::model::finding::{ApplyClass, FixPlan};
use crate::model::snapshot::{Column, Snapshot};
use crate::model::statement::{QualifiedName, Statement};
use postgres_protocol::escape::escape_identifier;

/// Whether a sorted list holds an entry starting with `prefix`.
fn has_prefix(sorted: &[String], prefix: &str) -> bool {
    let at = sorted.partition_point(|o| o.as_str() < prefix);
    sorted.get(at).is_some_and(|o| o.starts_with(prefix))
}

/// What the migration needs that pgSafeguard cannot know: a plan skips it.
pub(super) const KEY_INPUT: &str =
    "the encryption key, from your key store, for this session only \
    (PGOPTIONS='-c app.phi_key=…')";

/// Statements that move one column of `table` to pgcrypto ciphertext. The
/// key is read from the session (`app.phi_key`), never written into the
/// statement. The UPDATE stays text: its expression is this migration's own.
fn encrypt_column(table: &QualifiedName, col: &Column) -> [Statement; 3] {
    let cipher = [col.name.as_str(), "_encrypted"].concat();
    let plain = escape_identifier(&col.name);
    let update = format!(
        "UPDATE {table} SET {} = pgp_sym_encrypt({plain}::text, \
         current_setting('app.phi_key')) WHERE {plain} IS NOT NULL",
        escape_identifier(&cipher)
    );
    [
        Statement::AddColumn {
            table: table.clone(),
            column: cipher,
            data_type: "bytea",
        },
        Statement::other(update),
        Statement::DropColumn {
            table: table.clone(),
            column: col.name.clone(),
        },
    ]
}

/// The migration for the columns named in the verdict (shared by EAR-004
/// and EAR-005, whose objects use the same `schema.table.column` names).
pub(super) fn encrypt_columns_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let objects = &verdict.objects;
    let mut statements = Vec::new();
    // `objects` is sorted (Verdict::with_objects): columns are looked up by
    // binary search, and the index found marks the object as handled here.
    let mut handled = vec![false; objects.len()];
    let mut views = Vec::new();
    if let (Some(db), false) = (s.primary_database(), objects.is_empty()) {
        // One buffer for every `[db: ]schema.table.column` key (see `in_database`).
        let mut key = String::new();
        for rel in db.relations.as_deref().unwrap_or(&[]) {
            if !stores_rows(rel) {
                continue;
            }
            key.clear();
            if s.databases.len() > 1 {
                key.push_str(&db.name);
                key.push_str(": ");
            }
            key.push_str(&rel.schema);
            key.push('.');
            key.push_str(&rel.name);
            key.push('.');
            // Skip tables none of whose columns are listed, without naming every column.
            if !has_prefix(objects, &key) {
                continue;
            }
            let stem = key.len();
            let table = QualifiedName::of(rel);
            for col in &rel.columns {
                key.truncate(stem);
                key.push_str(&col.name);
                let Ok(at) = objects.binary_search_by(|o| o.as_str().cmp(&key)) else {
                    continue;
                };
                if rel.kind == "m" {
                    views.push(key.clone());
                } else {
                    statements.extend(encrypt_column(&table, col));
                }
                handled[at] = true;
            }
        }
    }
    let elsewhere: Vec<String> = objects
        .iter()
        .zip(&handled)
        .filter(|(_, done)| !**done)
        .map(|(o, _)| o.clone())
        .collect();
    let mut note = String::from(
        "pgcrypto must be installed (EAR-003); supply the key only for this session as a \
         startup option (PGOPTIONS='-c app.phi_key=…') from your key store, never in a logged \
         SET or in a script; each column is copied into <name>_encrypted, encrypted with \
         pgp_sym_encrypt, and the plain column dropped; applications read it back with \
         pgp_sym_decrypt(<name>_encrypted, current_setting('app.phi_key')); the UPDATE \
         rewrites and locks each table; views, policies, indexes and constraints on the \
         column must be rebuilt; take a backup first. Cannot be undone: the plain-text \
         column is dropped",
    );
    if !views.is_empty() {
        note.push_str(&format!(
            "; materialized views must be redefined over the encrypted columns: {}",
            listing(&views)
        ));
    }
    if !elsewhere.is_empty() {
        note.push_str(&format!(
            "; connect to the other databases to migrate: {}",
            listing(&elsewhere)
        ));
    }
    FixPlan {
        apply: vec![ApplyClass::Immediate],
        statements,
        rollback: Vec::new(),
        needs: "the table owner, in a maintenance window".into(),
        note,
        irreversible: true,
        config_edit: None,
    }
}

//! What a collector part is: a name, one SQL query, and a function that
//! stores its rows into the staging area. Plus the SQL and row helpers the
//! part lists share.
//!
//! Every query casts its output columns to types tokio-postgres knows
//! without asking the server (`text`, `text[]`, `bool`, `int4`, `int8`,
//! `float8`, `oid`): an unknown type would make it look the type up with an
//! extra query in the middle of the pipeline.

use super::acl::AclParseError;
use crate::model::snapshot::{Column, DatabaseFacts};
use std::collections::BTreeMap;
use tokio_postgres::types::FromSql;
use tokio_postgres::Row;

/// A part's store function: decodes its rows into the staging area.
pub(super) type Store = fn(&[Row], &mut Staging) -> Result<(), DecodeError>;

/// One query of the scan; its name is the snapshot field it fills and the
/// `part` of the [`crate::model::snapshot::Gap`] recorded when it fails.
pub(super) struct Part {
    pub name: &'static str,
    pub sql: String,
    pub store: Store,
}

impl Part {
    pub fn new(name: &'static str, sql: impl Into<String>, store: Store) -> Self {
        Part {
            name,
            sql: sql.into(),
            store,
        }
    }
}

/// Where parts put what they read before it is assembled.
#[derive(Debug, Default)]
pub(super) struct Staging {
    pub system_identifier: Option<String>,
    pub cluster: super::ClusterFacts,
    pub database: DatabaseFacts,
    /// Columns by relation oid, read by a separate query and joined in Rust.
    pub columns: Option<BTreeMap<u32, Vec<Column>>>,
    /// Text columns that `--sample-phi` may read (part `phi_sample`).
    pub phi_candidates: Option<super::phi::Candidates>,
}

/// Rows that do not have the shape the collector expects.
#[derive(Debug, thiserror::Error)]
pub(super) enum DecodeError {
    #[error("{0}")]
    Column(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Acl(#[from] AclParseError),
    #[error("expected one row, got {0}")]
    RowCount(usize),
}

/// A column by name, with its type checked.
pub(super) fn get<'a, T: FromSql<'a>>(row: &'a Row, column: &str) -> Result<T, DecodeError> {
    Ok(row.try_get(column)?)
}

/// A `text[]` column; NULL and NULL elements are dropped.
pub(super) fn text_list(row: &Row, column: &str) -> Result<Vec<String>, DecodeError> {
    let items: Option<Vec<Option<String>>> = get(row, column)?;
    Ok(items.unwrap_or_default().into_iter().flatten().collect())
}

/// The only row of a single-row query.
pub(super) fn single_row(rows: &[Row]) -> Result<&Row, DecodeError> {
    match rows {
        [row] => Ok(row),
        _ => Err(DecodeError::RowCount(rows.len())),
    }
}

/// SQL turning a timestamptz expression into RFC 3339 UTC text, whatever the
/// session's TimeZone and DateStyle; `infinity` and `-infinity` stay as words.
pub(super) fn utc_text(expression: &str) -> String {
    format!(
        "CASE WHEN isfinite({expression}) \
         THEN to_char({expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') \
         ELSE ({expression})::text END"
    )
}

/// SQL condition excluding system, TOAST and temporary schemas; `column` is
/// the `nspname` expression.
pub(super) fn user_schema(column: &str) -> String {
    format!(
        "{column} NOT IN ('pg_catalog', 'information_schema') \
         AND {column} !~ '^pg_(toast|temp_)'"
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn utc_text_names_the_expression_everywhere() {
        let sql = utc_text("a.t");
        assert_eq!(sql.matches("a.t").count(), 3, "{sql}");
        assert!(sql.contains("AT TIME ZONE 'UTC'"));
    }

    #[test]
    fn user_schema_excludes_system_schemas() {
        let sql = user_schema("n.nspname");
        assert!(sql.contains("'pg_catalog', 'information_schema'"));
        assert!(sql.contains("!~ '^pg_(toast|temp_)'"));
    }
}

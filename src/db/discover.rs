//! PHI discovery on one database (`pgsafeguard discover`): the names,
//! types and comments of columns, tables and schemas in one catalog query,
//! then a bounded sample of each table, all in one read-only transaction.
//!
//! # Never a value
//!
//! Sampled values are read as text, looked at by the validators in memory
//! (`model::phi_validators::Tally`) and dropped at once: only counts leave
//! this module. JSON keys are kept only when they do not themselves look
//! like a value (else masked). Errors of the sample statements are reported
//! by SQLSTATE and our own words, never with the server's message.
//!
//! # Budget
//!
//! Per table at most `rows_per_table` rows and `table_ms` milliseconds (the
//! transaction's statement_timeout), and `max_rows` in all. Tables of
//! [`BLOCK_SAMPLE_MIN_PAGES`] pages or more are read through
//! `TABLESAMPLE SYSTEM`, so that the rows are spread over the table; smaller
//! ones (a block sample of a few pages often returns nothing) and block
//! samples that came back empty are read with a plain `LIMIT`. A table of
//! which nothing could be read is [`Unreadable`], never clean. Each table is
//! read under a savepoint that is rolled back afterwards, which frees its
//! lock: the transaction never holds more than one table's lock.
//!
//! Imports only `model` (and the connection types of `db`).

use crate::model::phi_map::{Budget, Seen, SeenColumn, SeenTable, Unreadable, MASKED_KEY};
use crate::model::phi_validators::{is_value_like, CustomPattern, Tally};
use postgres_protocol::escape::escape_identifier;
use std::collections::BTreeSet;
use time::Date;
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

/// From this size on a table is read through a block sample.
pub const BLOCK_SAMPLE_MIN_PAGES: i64 = 8;

/// Characters of each value that are looked at.
const MAX_CHARS: u32 = 16_384;

/// The savepoint around each table's sample.
const SAVEPOINT: &str = "discover_sample";

/// Most JSON keys kept per column.
const MAX_KEYS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("reading the catalog failed (SQLSTATE {sqlstate}): {message}")]
    Catalog { sqlstate: String, message: String },
}

fn catalog_error(e: &tokio_postgres::Error) -> DiscoverError {
    DiscoverError::Catalog {
        sqlstate: e.code().map_or("none", SqlState::code).to_string(),
        message: e
            .as_db_error()
            .map_or_else(|| e.to_string(), |d| d.message().to_string()),
    }
}

/// Names, types and comments of every column of user tables, views and
/// foreign tables, and whether the session may read each table.
const CATALOG_SQL: &str = "\
SELECT n.nspname::text, c.relname::text, c.relkind::text, c.relispartition, \
       c.relpages::int8, c.reltuples::float8, \
       pg_catalog.has_table_privilege(c.oid, 'SELECT') AS readable, \
       pg_catalog.obj_description(c.oid, 'pg_class') AS table_comment, \
       pg_catalog.obj_description(n.oid, 'pg_namespace') AS schema_comment, \
       a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type_name, \
       pg_catalog.col_description(c.oid, a.attnum) AS column_comment, \
       pg_catalog.has_column_privilege(c.oid, a.attnum, 'SELECT') AS column_readable \
FROM pg_catalog.pg_class c \
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
WHERE c.relkind IN ('r', 'p', 'm', 'v', 'f') \
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' \
ORDER BY 1, 2, a.attnum";

/// A table with what sampling needs to know.
struct Planned {
    table: SeenTable,
    kind: String,
    partition: bool,
    pages: i64,
    tuples: f64,
    readable: bool,
    /// Per column: whether the session may read it.
    column_readable: Vec<bool>,
}

/// Discover on an open session (read-only settings already set by the
/// caller's connection). `today` dates the birth-date validator.
pub async fn discover(
    client: &Client,
    budget: Budget,
    custom: &[CustomPattern],
    today: Date,
) -> Result<Seen, DiscoverError> {
    client
        .batch_execute(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = {}",
            budget.table_ms.max(1)
        ))
        .await
        .map_err(|e| catalog_error(&e))?;
    let result = discover_in_transaction(client, budget, custom, today).await;
    // Read-only: ending it changes nothing whatever happened.
    let _ = client.batch_execute("ROLLBACK").await;
    result
}

async fn discover_in_transaction(
    client: &Client,
    budget: Budget,
    custom: &[CustomPattern],
    today: Date,
) -> Result<Seen, DiscoverError> {
    let head = client
        .query_one(
            "SELECT pg_catalog.current_database()::text, current_user::text, \
             pg_catalog.current_setting('server_version_num')::int4",
            &[],
        )
        .await
        .map_err(|e| catalog_error(&e))?;
    let database: String = head.get(0);
    let role: String = head.get(1);
    let version: i32 = head.get(2);
    // The catalog may be large: no per-statement cap for it.
    client
        .batch_execute("SET LOCAL statement_timeout = 0")
        .await
        .map_err(|e| catalog_error(&e))?;
    let rows = client
        .query(CATALOG_SQL, &[])
        .await
        .map_err(|e| catalog_error(&e))?;
    client
        .batch_execute(&format!(
            "SET LOCAL statement_timeout = {}",
            budget.table_ms.max(1)
        ))
        .await
        .map_err(|e| catalog_error(&e))?;
    let mut planned: Vec<Planned> = Vec::new();
    for row in &rows {
        let schema: String = row.get(0);
        let name: String = row.get(1);
        let is_new = planned
            .last()
            .is_none_or(|p| p.table.schema != schema || p.table.name != name);
        if is_new {
            planned.push(Planned {
                table: SeenTable {
                    schema,
                    name,
                    comment: row.get(7),
                    schema_comment: row.get(8),
                    ..SeenTable::default()
                },
                kind: row.get(2),
                partition: row.get(3),
                pages: row.get(4),
                tuples: row.get(5),
                readable: row.get(6),
                column_readable: Vec::new(),
            });
        }
        if let Some(p) = planned.last_mut() {
            p.table.columns.push(SeenColumn {
                name: row.get(9),
                type_name: row.get(10),
                comment: row.get(11),
                ..SeenColumn::default()
            });
            p.column_readable.push(row.get(12));
        }
    }
    let mut left = budget.max_rows;
    let mut tables = Vec::with_capacity(planned.len());
    for mut p in planned {
        // Views read their tables, partitions are read through their root,
        // foreign tables would reach another server: names only.
        let sampled_kind = matches!(p.kind.as_str(), "r" | "p" | "m") && !p.partition;
        if budget.sample && sampled_kind {
            if left == 0 {
                p.table.unreadable = Some(Unreadable {
                    reason: format!(
                        "not sampled: the budget of {} rows in all was spent (raise --max-rows)",
                        budget.max_rows
                    ),
                    grant: None,
                });
            } else {
                let limit = u64::from(budget.rows_per_table).min(left);
                sample_table(client, &mut p, limit, custom, today, &role, version).await;
                left = left.saturating_sub(p.table.rows_read);
            }
        }
        tables.push(p.table);
    }
    Ok(Seen { database, tables })
}

/// Sample one table into its columns' tallies, or say why it cannot be.
#[allow(clippy::too_many_arguments)]
async fn sample_table(
    client: &Client,
    p: &mut Planned,
    limit: u64,
    custom: &[CustomPattern],
    today: Date,
    role: &str,
    version: i32,
) {
    let readable: Vec<usize> = (0..p.table.columns.len())
        .filter(|&i| p.readable || p.column_readable.get(i).copied().unwrap_or(false))
        .filter(|&i| {
            p.table
                .columns
                .get(i)
                .is_some_and(|c| !c.type_name.eq_ignore_ascii_case("bytea"))
        })
        .collect();
    if !p.readable && readable.is_empty() {
        p.table.unreadable = Some(no_select(&p.table, role, version));
        return;
    }
    if readable.is_empty() {
        return;
    }
    let qualified = format!(
        "{}{}.{}",
        if p.kind == "r" { "ONLY " } else { "" },
        escape_identifier(&p.table.schema),
        escape_identifier(&p.table.name)
    );
    let list: Vec<String> = readable
        .iter()
        .filter_map(|&i| p.table.columns.get(i))
        .map(|c| {
            format!(
                "pg_catalog.left({}::text, {MAX_CHARS})",
                escape_identifier(&c.name)
            )
        })
        .collect();
    let select = format!("SELECT {} FROM {qualified}", list.join(", "));
    let block = p.pages >= BLOCK_SAMPLE_MIN_PAGES && p.tuples > 0.0;
    let mut attempts = Vec::with_capacity(2);
    if block {
        // About twice the rows wanted, so that LIMIT rather than luck stops it.
        let percent = (200.0 * limit as f64 / p.tuples).clamp(0.001, 100.0);
        attempts.push(format!(
            "{select} TABLESAMPLE SYSTEM ({percent:.3}) LIMIT {limit}"
        ));
    }
    attempts.push(format!("{select} LIMIT {limit}"));
    for sql in attempts {
        if client
            .batch_execute(&format!("SAVEPOINT {SAVEPOINT}"))
            .await
            .is_err()
        {
            p.table.unreadable = Some(failed(None, &p.table, role, version));
            return;
        }
        match client.query(&sql, &[]).await {
            Ok(rows) => {
                end_savepoint(client).await;
                if rows.is_empty() {
                    continue;
                }
                let mut tallies = vec![Tally::default(); readable.len()];
                let mut keys: Vec<BTreeSet<String>> = vec![BTreeSet::new(); readable.len()];
                for row in &rows {
                    for (slot, (tally, keys)) in tallies.iter_mut().zip(&mut keys).enumerate() {
                        let Ok(Some(value)) = row.try_get::<_, Option<String>>(slot) else {
                            continue;
                        };
                        tally.add(&value, today, custom);
                        let is_json = readable
                            .get(slot)
                            .and_then(|&i| p.table.columns.get(i))
                            .is_some_and(|c| c.type_name.starts_with("json"));
                        if is_json {
                            json_keys(&value, keys, tally, today, custom);
                        }
                    }
                }
                p.table.rows_read = rows.len() as u64;
                for ((tally, keys), &i) in tallies.into_iter().zip(keys).zip(&readable) {
                    if let Some(col) = p.table.columns.get_mut(i) {
                        col.tally = Some(tally);
                        col.json_keys = keys.into_iter().collect();
                    }
                }
                return;
            }
            Err(e) => {
                end_savepoint(client).await;
                p.table.unreadable = Some(failed(e.code(), &p.table, role, version));
                return;
            }
        }
    }
    // Read, and empty: nothing to find now; the names were still assessed.
}

/// Roll back to the table's savepoint and drop it. Rolling back (rather
/// than releasing) frees the table's lock at once: one transaction over
/// 10,000 tables would otherwise hold 10,000 locks and overflow the
/// server's lock table (max_locks_per_transaction). Nothing was written,
/// so nothing is lost.
async fn end_savepoint(client: &Client) {
    let _ = client
        .batch_execute(&format!(
            "ROLLBACK TO SAVEPOINT {SAVEPOINT}; RELEASE SAVEPOINT {SAVEPOINT}"
        ))
        .await;
}

/// Keys of a JSON document (nested up to a few levels), masked when a key
/// looks like a value; string leaves are tallied like column values.
fn json_keys(
    text: &str,
    keys: &mut BTreeSet<String>,
    tally: &mut Tally,
    today: Date,
    custom: &[CustomPattern],
) {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    let mut stack = vec![(&doc, 0u8)];
    let mut leaves = Tally::default();
    while let Some((value, depth)) = stack.pop() {
        match value {
            serde_json::Value::Object(map) if depth < 4 => {
                for (key, inner) in map {
                    if keys.len() < MAX_KEYS {
                        let shown = if is_value_like(key, today, custom) {
                            MASKED_KEY.to_string()
                        } else {
                            crate::model::untrusted::name(key).to_string()
                        };
                        keys.insert(shown);
                    }
                    stack.push((inner, depth + 1));
                }
            }
            serde_json::Value::Array(items) if depth < 4 => {
                stack.extend(items.iter().take(64).map(|v| (v, depth + 1)));
            }
            serde_json::Value::String(s) => leaves.add(s, today, custom),
            serde_json::Value::Number(n) => leaves.add(&n.to_string(), today, custom),
            _ => {}
        }
    }
    for (kind, n) in leaves.hits {
        *tally.hits.entry(kind).or_default() += n;
    }
    for (name, n) in leaves.custom {
        *tally.custom.entry(name).or_default() += n;
    }
}

fn qualified(table: &SeenTable) -> String {
    format!(
        "{}.{}",
        escape_identifier(&table.schema),
        escape_identifier(&table.name)
    )
}

/// No SELECT on the table: name the grant that would allow the sample.
fn no_select(table: &SeenTable, role: &str, version: i32) -> Unreadable {
    let role = escape_identifier(role);
    let alternative = if version >= 140_000 {
        format!(" (or GRANT pg_read_all_data TO {role}, or run discovery as an administrator)")
    } else {
        " (or run discovery as the table's owner or an administrator)".to_string()
    };
    Unreadable {
        reason: format!(
            "the role may not SELECT from this table, so nothing was sampled: unknown, not \
             clean{alternative}"
        ),
        grant: Some(format!("GRANT SELECT ON {} TO {role}", qualified(table))),
    }
}

/// A sample statement failed: say why by SQLSTATE, never with the server's
/// text (it could quote a value).
fn failed(code: Option<&SqlState>, table: &SeenTable, role: &str, version: i32) -> Unreadable {
    match code {
        Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE => no_select(table, role, version),
        Some(c) if *c == SqlState::QUERY_CANCELED => Unreadable {
            reason: "the sample hit the time budget per table (raise --table-ms): unknown".into(),
            grant: None,
        },
        Some(c) => Unreadable {
            reason: format!("the sample failed (SQLSTATE {}): unknown", c.code()),
            grant: None,
        },
        None => Unreadable {
            reason: "the sample failed (connection error): unknown".into(),
            grant: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn json_keys_are_kept_or_masked_and_leaves_tallied() {
        let mut keys = BTreeSet::new();
        let mut tally = Tally::default();
        json_keys(
            r#"{"ssn": "123-45-6789", "contact": {"email": "a@b.org"}, "123-45-6789": true}"#,
            &mut keys,
            &mut tally,
            date!(2026 - 01 - 01),
            &[],
        );
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        assert_eq!(keys, vec![MASKED_KEY, "contact", "email", "ssn"]);
        assert_eq!(tally.hits.len(), 2);
    }

    #[test]
    fn missing_select_names_the_grant() {
        let table = SeenTable {
            schema: "public".into(),
            name: "locked".into(),
            ..SeenTable::default()
        };
        let u = no_select(&table, "scan er", 160_000);
        assert_eq!(
            u.grant.as_deref(),
            Some("GRANT SELECT ON \"public\".\"locked\" TO \"scan er\"")
        );
        assert!(u.reason.contains("pg_read_all_data") && u.reason.contains("unknown"));
    }
}

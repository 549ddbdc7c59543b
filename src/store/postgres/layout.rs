//! The team store's tables in their schema, and bringing a schema to the
//! layout this build writes: create what is missing, migrate an older layout,
//! refuse a newer one, refuse a schema that holds something else.
//!
//! Every statement names the schema through [`escape_identifier`]: the name
//! comes from the user. Imports the store's error type, `record::GENESIS`
//! and the grant advice of [`super::grants`].

use super::grants::{Names, Step};
use crate::store::record::GENESIS;
use crate::store::StoreError;
use postgres_protocol::escape::escape_identifier;
use sha2::{Digest, Sha256};
use tokio_postgres::{Client, IsolationLevel, Transaction};

/// The layout this build writes. Each step of [`migrations`] brings a schema
/// one version up; a new schema runs them all.
pub const LAYOUT_VERSION: i64 = 2;

/// The one row of `meta` that marks a schema as ours.
const APPLICATION: &str = "pgsafeguard evidence store";

/// PostgreSQL cuts longer identifiers (NAMEDATALEN - 1 bytes).
const NAME_LIMIT_BYTES: usize = 63;

/// Why `schema` cannot hold a team store, before any server is asked.
pub fn check_schema_name(schema: &str) -> Result<(), String> {
    if schema.is_empty() {
        return Err("the schema name is empty: name one with --store-schema".into());
    }
    if schema.len() > NAME_LIMIT_BYTES {
        return Err(format!(
            "the schema name is {} bytes long; PostgreSQL keeps at most {NAME_LIMIT_BYTES}: \
             choose a shorter one",
            schema.len()
        ));
    }
    if schema.contains('\0') {
        return Err("the schema name contains a NUL character: choose another".into());
    }
    if schema.starts_with("pg_") || schema == "information_schema" {
        return Err(format!(
            "schema {} is reserved for PostgreSQL's own catalogs: choose another",
            escape_identifier(schema)
        ));
    }
    Ok(())
}

/// The key of the advisory lock that serialises layout changes to one schema
/// (two first writers would otherwise both try to create the tables).
pub fn lock_key(schema: &str) -> i64 {
    let digest = Sha256::new()
        .chain_update("pgsafeguard.store.layout\0")
        .chain_update(schema)
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// `meta`: which program's store this is and its layout version. Its shape
/// never changes, so any later build can read the version before anything else.
fn create_meta(schema: &str) -> String {
    let s = escape_identifier(schema);
    format!(
        "CREATE TABLE {s}.meta (application text PRIMARY KEY, layout bigint NOT NULL);
         INSERT INTO {s}.meta (application, layout) VALUES ('{APPLICATION}', 0);"
    )
}

/// The steps from layout 0 (an empty schema) up to [`LAYOUT_VERSION`].
pub fn migrations(schema: &str) -> [String; 2] {
    let s = escape_identifier(schema);
    [
        // 1: records chained by hash, parts addressed by their SHA-256, and
        // the one-row chain head whose row lock serialises writers. An empty
        // chain's head is #0 with the genesis hash.
        format!(
            "CREATE TABLE {s}.parts (hash text PRIMARY KEY, body bytea NOT NULL);
             CREATE TABLE {s}.records (
                 seq bigint PRIMARY KEY,
                 kind text NOT NULL,
                 target text NOT NULL,
                 at text NOT NULL,
                 body text NOT NULL,
                 prev text NOT NULL,
                 hash text NOT NULL UNIQUE);
             CREATE INDEX records_by_target ON {s}.records (target, seq);
             CREATE TABLE {s}.head (
                 id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
                 seq bigint NOT NULL,
                 hash text NOT NULL);
             INSERT INTO {s}.head (seq, hash) VALUES (0, '{GENESIS}');"
        ),
        // 2: audit-period reports select by kind and time.
        format!("CREATE INDEX records_by_kind_time ON {s}.records (kind, at);"),
    ]
}

/// What a schema holds before we touch it.
struct Found {
    schema: bool,
    /// `None`: no `meta` table. `Some(None)`: a `meta` table that is not ours.
    layout: Option<Option<i64>>,
    /// Any table, view or sequence in the schema.
    relations: bool,
}

/// Bring `names.schema` to [`LAYOUT_VERSION`] in one transaction, under an
/// advisory lock so that concurrent first writers create the tables once.
/// A schema already at this layout is only read: a role with no right to
/// create anything can use a store a DBA prepared.
pub async fn prepare(client: &mut Client, names: &Names) -> Result<(), StoreError> {
    let using = |e| names.error(Step::Use, e);
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .await
        .map_err(using)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&lock_key(&names.schema)],
    )
    .await
    .map_err(using)?;
    let found = inspect(&tx, names).await?;
    let layout = match found.layout {
        Some(Some(layout)) => layout,
        Some(None) => return Err(foreign(names)),
        None if found.relations => return Err(foreign(names)),
        None => 0,
    };
    if layout > LAYOUT_VERSION {
        return Err(StoreError::Newer {
            found: layout,
            supported: LAYOUT_VERSION,
        });
    }
    if layout == LAYOUT_VERSION {
        return tx.commit().await.map_err(using);
    }
    let s = escape_identifier(&names.schema);
    if !found.schema {
        tx.batch_execute(&format!("CREATE SCHEMA {s}"))
            .await
            .map_err(|e| names.error(Step::CreateSchema, e))?;
    }
    let creating = |e| names.error(Step::CreateTables, e);
    if found.layout.is_none() {
        tx.batch_execute(&create_meta(&names.schema))
            .await
            .map_err(creating)?;
    }
    let from = usize::try_from(layout).unwrap_or(0);
    for step in migrations(&names.schema).iter().skip(from) {
        tx.batch_execute(step).await.map_err(creating)?;
    }
    tx.execute(
        &format!("UPDATE {s}.meta SET layout = $1 WHERE application = $2"),
        &[&LAYOUT_VERSION, &APPLICATION],
    )
    .await
    .map_err(creating)?;
    tx.commit().await.map_err(creating)
}

async fn inspect(tx: &Transaction<'_>, names: &Names) -> Result<Found, StoreError> {
    let using = |e| names.error(Step::Use, e);
    let row = tx
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1),
                    EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                            WHERE n.nspname = $1 AND c.relname = 'meta'
                              AND c.relkind IN ('r', 'p')),
                    EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                            WHERE n.nspname = $1)",
            &[&names.schema],
        )
        .await
        .map_err(using)?;
    let (schema, has_meta, relations): (bool, bool, bool) = (
        row.try_get(0).map_err(using)?,
        row.try_get(1).map_err(using)?,
        row.try_get(2).map_err(using)?,
    );
    let layout = if has_meta {
        let s = escape_identifier(&names.schema);
        let row = tx
            .query_opt(
                &format!("SELECT layout FROM {s}.meta WHERE application = $1"),
                &[&APPLICATION],
            )
            .await
            .map_err(using)?;
        Some(
            row.map(|r| r.try_get::<_, i64>(0))
                .transpose()
                .map_err(using)?,
        )
    } else {
        None
    };
    Ok(Found {
        schema,
        layout,
        relations,
    })
}

fn foreign(names: &Names) -> StoreError {
    StoreError::Database(format!(
        "schema {} holds other tables, not a pgSafeguard evidence store: choose another \
         schema with --store-schema",
        names.shown_schema()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_that_cannot_hold_a_store_are_refused_before_connecting() {
        assert!(check_schema_name("pgsafeguard").is_ok());
        assert!(check_schema_name("Team Evidence \"2026\"").is_ok());
        assert!(check_schema_name(&"é".repeat(31)).is_ok(), "62 bytes");
        for bad in [
            "",
            "pg_catalog",
            "pg_evidence",
            "information_schema",
            "a\0b",
        ] {
            let message = check_schema_name(bad).unwrap_err();
            assert_eq!(message.lines().count(), 1, "{message}");
        }
        assert!(check_schema_name(&"é".repeat(32))
            .unwrap_err()
            .contains("64 bytes"));
    }

    #[test]
    fn a_hostile_schema_name_appears_only_quoted() {
        let hostile = "x\"; DROP ROLE admin; --";
        let quoted = escape_identifier(hostile);
        for sql in migrations(hostile).iter().chain([&create_meta(hostile)]) {
            let outside_quotes = sql.replace(&quoted, "");
            assert!(!outside_quotes.contains("DROP ROLE"), "{sql}");
            assert!(sql.contains(&format!("{quoted}.")), "{sql}");
        }
    }

    #[test]
    fn each_schema_has_its_own_stable_lock() {
        assert_eq!(lock_key("pgsafeguard"), lock_key("pgsafeguard"));
        assert_ne!(lock_key("pgsafeguard"), lock_key("pgsafeguard2"));
        assert_ne!(lock_key("a"), lock_key("A"));
    }

    #[test]
    fn every_layout_has_its_migration() {
        assert_eq!(migrations("s").len() as i64, LAYOUT_VERSION);
    }
}

//! The team store on a PostgreSQL server (`--store postgresql://…` or any
//! key=value conninfo): the same records, parts and chain as the SQLite file,
//! in a schema several DBAs, CI runners and fleet shards write together. The
//! schema is `--store-schema NAME`, by default
//! [`DEFAULT_TEAM_SCHEMA`](super::location::DEFAULT_TEAM_SCHEMA) (`pgsafeguard`).
//!
//! # Behavior
//!
//! - **Connecting** follows the scan's rules (conninfo, PG* variables,
//!   pgpass, sslmode and certificates: [`crate::db::connect`]). The session is
//!   named `pgsafeguard-store` and gives up connecting after 15 s unless the
//!   conninfo says otherwise.
//! - **Tables** (`meta`, `parts`, `records`, `head`) are created when missing,
//!   an older layout is migrated and a newer one refused, all in one
//!   transaction ([`layout`]). A role that may not create them gets one line
//!   naming the grant ([`grants`]).
//! - **Appends** run in one transaction that first locks the one row of
//!   `head` (`SELECT … FOR UPDATE`): concurrent writers queue on that row
//!   lock, so each seals after the record the previous one wrote and the chain
//!   stays linear. A writer killed mid-append leaves a transaction the server
//!   rolls back.
//! - **Bounded waits**: `lock_timeout` (15 s), `statement_timeout` (60 s) and
//!   `idle_in_transaction_session_timeout` (60 s, so a stalled writer frees the
//!   head) are set for the session, and every call gives up after 90 s even if
//!   the server stops answering; the connection is then dropped and further
//!   calls fail at once.
//! - **Reads** take one query per call; the stored parts stream.
//!
//! # Threads
//!
//! [`Backend`] is synchronous: the back end owns a current-thread tokio
//! runtime and blocks on it for every call. Use the store from a thread that
//! may block, outside any runtime or inside `spawn_blocking`; calling it on an
//! async worker thread panics (tokio refuses to block a worker).
//!
//! Imports `db` (conninfo, connect, and the conninfo redaction for messages)
//! and the model's rendering of untrusted text; nothing above the store.

mod grants;
mod layout;

use super::record::{seal, ChainHead, Draft, Record, RecordKind};
use super::{Backend, EvidenceStore, RecordFilter, StoreError};
use crate::db::collect::redact_conninfo;
use crate::db::connect::{connect_with, Session};
use crate::db::conninfo::ConnParams;
use crate::model::untrusted;
use futures_util::TryStreamExt;
use grants::{Names, Step, LOCK_WAIT, STATEMENT_LIMIT};
use postgres_protocol::escape::escape_identifier;
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, IsolationLevel, Row, Statement};

/// `application_name` of store sessions when the conninfo names none.
pub const APPLICATION_NAME: &str = "pgsafeguard-store";

/// `connect_timeout` when the conninfo sets none: a store that cannot be
/// reached must not hold up the scan that is waiting to record.
const CONNECT_LIMIT: Duration = Duration::from_secs(15);

/// How long a stalled writer may keep a transaction (and the chain head) open.
const IDLE_IN_TRANSACTION_LIMIT: Duration = Duration::from_secs(60);

/// The longest one call may take on the client's side: beyond the server's
/// own limits, for a server or network that stops answering.
const CALL_LIMIT: Duration = Duration::from_secs(90);

/// How long closing the session may take when the store is dropped.
const CLOSE_LIMIT: Duration = Duration::from_secs(2);

/// Open the team store named by `conninfo`, in `schema` (created when
/// missing). Blocks; see the module docs for the threads it may run on.
pub fn open(conninfo: &str, schema: &str) -> Result<EvidenceStore, StoreError> {
    let location = location_of(conninfo, schema);
    let fail = |message: String| StoreError::Open {
        location: location.clone(),
        message,
    };
    layout::check_schema_name(schema).map_err(fail)?;
    let params = ConnParams::from_conninfo(conninfo)
        .map(for_the_store)
        .map_err(|e| fail(e.to_string()))?;
    let backend = PostgresBackend::connect(&params, schema).map_err(|e| match e {
        StoreError::Database(message) => fail(message),
        other => other,
    })?;
    Ok(EvidenceStore::with_backend(Box::new(backend), location))
}

/// Where the store is, for messages: the conninfo as typed with its password
/// redacted, and the schema.
fn location_of(conninfo: &str, schema: &str) -> String {
    format!(
        "{} (schema {})",
        untrusted::text(&redact_conninfo(conninfo)),
        untrusted::name(schema)
    )
}

/// The scan's connection parameters, with the store's name and a bounded
/// connect where the conninfo chose neither.
fn for_the_store(mut params: ConnParams) -> ConnParams {
    params
        .application_name
        .get_or_insert_with(|| APPLICATION_NAME.to_string());
    params.connect_timeout.get_or_insert(CONNECT_LIMIT);
    params
}

/// `-c` settings for the store's session.
fn session_settings() -> [(&'static str, String); 3] {
    let seconds = |d: Duration| format!("{}s", d.as_secs());
    [
        ("lock_timeout", seconds(LOCK_WAIT)),
        ("statement_timeout", seconds(STATEMENT_LIMIT)),
        (
            "idle_in_transaction_session_timeout",
            seconds(IDLE_IN_TRANSACTION_LIMIT),
        ),
    ]
}

pub struct PostgresBackend {
    /// `None` only while dropping.
    runtime: Option<Runtime>,
    /// `None` once the connection is gone or a call overran [`CALL_LIMIT`]
    /// (its transaction's state is then unknown).
    link: Option<Link>,
    names: Names,
}

/// The session and the statements prepared on it.
struct Link {
    session: Session,
    statements: Statements,
}

struct Statements {
    head_for_update: Statement,
    head: Statement,
    insert_parts: Statement,
    insert_record: Statement,
    records: Statement,
    part: Statement,
    each_part: Statement,
}

impl Statements {
    async fn prepare(client: &Client, schema: &str) -> Result<Statements, tokio_postgres::Error> {
        let s = escape_identifier(schema);
        let head_for_update = format!("SELECT seq, hash FROM {s}.head FOR UPDATE");
        let head = format!("SELECT seq, hash FROM {s}.head");
        let insert_parts = format!(
            "INSERT INTO {s}.parts (hash, body) SELECT * FROM unnest($1::text[], $2::bytea[])
             ON CONFLICT (hash) DO NOTHING"
        );
        // The record and the head move together, in one statement.
        let insert_record = format!(
            "WITH added AS (
                 INSERT INTO {s}.records (seq, kind, target, at, body, prev, hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq, hash)
             UPDATE {s}.head SET seq = added.seq, hash = added.hash FROM added"
        );
        let records = format!(
            "SELECT seq, kind, target, at, body, prev, hash FROM {s}.records
             WHERE ($1::text IS NULL OR kind = $1) AND ($2::bigint IS NULL OR seq = $2)
               AND ($3::text IS NULL OR target = $3)
             ORDER BY CASE WHEN $4::boolean THEN -seq ELSE seq END
             LIMIT CASE WHEN $4::boolean THEN 1 END"
        );
        let part = format!("SELECT body FROM {s}.parts WHERE hash = $1");
        let each_part = format!("SELECT hash, body FROM {s}.parts");
        // Prepared together: the requests share round trips.
        let prepared = tokio::try_join!(
            client.prepare(&head_for_update),
            client.prepare(&head),
            client.prepare(&insert_parts),
            client.prepare(&insert_record),
            client.prepare(&records),
            client.prepare(&part),
            client.prepare(&each_part),
        )?;
        let (head_for_update, head, insert_parts, insert_record, records, part, each_part) =
            prepared;
        Ok(Statements {
            head_for_update,
            head,
            insert_parts,
            insert_record,
            records,
            part,
            each_part,
        })
    }
}

impl PostgresBackend {
    fn connect(params: &ConnParams, schema: &str) -> Result<PostgresBackend, StoreError> {
        let names = Names {
            role: params.user.clone(),
            database: params.dbname.clone(),
            schema: schema.to_string(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                StoreError::Database(format!("cannot start the team store's runtime: {e}"))
            })?;
        let settings = session_settings();
        let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let link = runtime.block_on(async {
            let mut session = connect_with(params, &settings)
                .await
                .map_err(|e| StoreError::Database(e.to_string()))?;
            let ready = async {
                layout::prepare(&mut session.client, &names).await?;
                Statements::prepare(&session.client, schema)
                    .await
                    .map_err(|e| names.error(Step::Use, e))
            };
            let outcome = tokio::time::timeout(CALL_LIMIT, ready).await;
            match outcome {
                Ok(Ok(statements)) => Ok(Link {
                    session,
                    statements,
                }),
                Ok(Err(e)) => {
                    session.close().await;
                    Err(e)
                }
                Err(_) => Err(no_answer()),
            }
        })?;
        Ok(PostgresBackend {
            runtime: Some(runtime),
            link: Some(link),
            names,
        })
    }

    /// Run `work` on the session, within [`CALL_LIMIT`].
    fn call<T>(
        &mut self,
        work: impl AsyncFnOnce(&mut Link, &Names) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let (Some(runtime), Some(link)) = (self.runtime.as_ref(), self.link.as_mut()) else {
            return Err(StoreError::Database(
                "the connection to the team store was lost earlier: run again".into(),
            ));
        };
        let names = &self.names;
        let outcome =
            runtime.block_on(async { tokio::time::timeout(CALL_LIMIT, work(link, names)).await });
        match outcome {
            Ok(result) => {
                if self.link.as_ref().is_some_and(|l| l.session.is_closed()) {
                    self.link = None;
                }
                result
            }
            Err(_) => {
                self.link = None;
                Err(no_answer())
            }
        }
    }
}

fn no_answer() -> StoreError {
    StoreError::Database(format!(
        "the team store's server did not answer within {} s: check the server and the \
         network, then run again",
        CALL_LIMIT.as_secs()
    ))
}

impl Link {
    async fn append(&mut self, names: &Names, draft: &Draft) -> Result<Record, StoreError> {
        let failed = |e| names.error(Step::Use, e);
        let st = &self.statements;
        let tx = self
            .session
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .await
            .map_err(failed)?;
        let head = tx
            .query_opt(&st.head_for_update, &[])
            .await
            .map_err(failed)?
            .ok_or_else(|| StoreError::Corrupt("the chain head row is missing".into()))?;
        let head = chain_head(&head).map_err(failed)?;
        let record = seal(head.as_ref(), draft);
        if !draft.parts.is_empty() {
            let (addresses, bodies): (Vec<&str>, Vec<&[u8]>) = draft
                .parts
                .iter()
                .map(|(address, bytes)| (address.as_str(), bytes.as_slice()))
                .unzip();
            tx.execute(&st.insert_parts, &[&addresses, &bodies])
                .await
                .map_err(failed)?;
        }
        let seq = i64::try_from(record.seq)
            .map_err(|_| StoreError::Corrupt("the chain is longer than a bigint".into()))?;
        let inserted = tx
            .execute(
                &st.insert_record,
                &[
                    &seq,
                    &record.kind.as_str(),
                    &record.target,
                    &record.at,
                    &record.body,
                    &record.prev,
                    &record.hash,
                ],
            )
            .await;
        match inserted {
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                return Err(StoreError::Corrupt(format!(
                    "the chain head row names #{} but record #{} already exists (the head \
                     table was edited; a DBA can set it back to the newest record)",
                    seq - 1,
                    seq
                )))
            }
            other => other.map_err(failed)?,
        };
        tx.commit().await.map_err(failed)?;
        Ok(record)
    }

    async fn head(&mut self, names: &Names) -> Result<Option<ChainHead>, StoreError> {
        let failed = |e| names.error(Step::Use, e);
        let row = self
            .session
            .client
            .query_opt(&self.statements.head, &[])
            .await
            .map_err(failed)?
            .ok_or_else(|| StoreError::Corrupt("the chain head row is missing".into()))?;
        chain_head(&row).map_err(failed)
    }

    async fn records(
        &mut self,
        names: &Names,
        filter: &RecordFilter,
    ) -> Result<Vec<Record>, StoreError> {
        let failed = |e| names.error(Step::Use, e);
        let kind = filter.kind.map(RecordKind::as_str);
        let seq = match filter.seq.map(i64::try_from) {
            Some(Err(_)) => return Ok(Vec::new()),
            Some(Ok(seq)) => Some(seq),
            None => None,
        };
        let rows = self
            .session
            .client
            .query(
                &self.statements.records,
                &[&kind, &seq, &filter.target, &filter.newest],
            )
            .await
            .map_err(failed)?;
        rows.iter()
            .map(|row| record_of(row).map_err(failed).and_then(|record| record))
            .collect()
    }

    async fn part(&mut self, names: &Names, address: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let failed = |e| names.error(Step::Use, e);
        let row = self
            .session
            .client
            .query_opt(&self.statements.part, &[&address])
            .await
            .map_err(failed)?;
        row.map(|r| r.try_get::<_, Vec<u8>>(0))
            .transpose()
            .map_err(failed)
    }

    async fn each_part(
        &mut self,
        names: &Names,
        visit: &mut dyn FnMut(&str, &[u8]),
    ) -> Result<(), StoreError> {
        let failed = |e| names.error(Step::Use, e);
        let no_params: [&(dyn ToSql + Sync); 0] = [];
        let rows = self
            .session
            .client
            .query_raw(&self.statements.each_part, no_params)
            .await
            .map_err(failed)?;
        let mut rows = std::pin::pin!(rows);
        while let Some(row) = rows.try_next().await.map_err(failed)? {
            let address: &str = row.try_get(0).map_err(failed)?;
            let bytes: &[u8] = row.try_get(1).map_err(failed)?;
            visit(address, bytes);
        }
        Ok(())
    }
}

/// The head row; `None` for an empty chain (#0, the genesis hash).
fn chain_head(row: &Row) -> Result<Option<ChainHead>, tokio_postgres::Error> {
    let seq: i64 = row.try_get(0)?;
    let hash: String = row.try_get(1)?;
    Ok(u64::try_from(seq)
        .ok()
        .filter(|&seq| seq > 0)
        .map(|seq| ChainHead { seq, hash }))
}

fn record_of(row: &Row) -> Result<Result<Record, StoreError>, tokio_postgres::Error> {
    let seq: i64 = row.try_get(0)?;
    let kind: String = row.try_get(1)?;
    let Some(kind) = RecordKind::parse(&kind) else {
        return Ok(Err(StoreError::Corrupt(format!(
            "record #{seq} has an unknown kind"
        ))));
    };
    Ok(Ok(Record {
        seq: seq.max(0) as u64,
        kind,
        target: row.try_get(2)?,
        at: row.try_get(3)?,
        body: row.try_get(4)?,
        prev: row.try_get(5)?,
        hash: row.try_get(6)?,
    }))
}

impl Backend for PostgresBackend {
    fn append(&mut self, draft: &Draft) -> Result<Record, StoreError> {
        self.call(async |link, names| link.append(names, draft).await)
    }

    fn head(&mut self) -> Result<Option<ChainHead>, StoreError> {
        self.call(async |link, names| link.head(names).await)
    }

    fn records(&mut self, filter: &RecordFilter) -> Result<Vec<Record>, StoreError> {
        self.call(async |link, names| link.records(names, filter).await)
    }

    fn part(&mut self, address: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.call(async |link, names| link.part(names, address).await)
    }

    fn each_part(&mut self, visit: &mut dyn FnMut(&str, &[u8])) -> Result<(), StoreError> {
        self.call(async |link, names| link.each_part(names, visit).await)
    }
}

impl Drop for PostgresBackend {
    /// Say goodbye to the server when this thread may block; otherwise the
    /// socket just closes (the server rolls back anything open either way).
    fn drop(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        if let Some(link) = self.link.take() {
            if tokio::runtime::Handle::try_current().is_err() {
                runtime.block_on(async {
                    let _ = tokio::time::timeout(CLOSE_LIMIT, link.session.close()).await;
                });
            }
        }
        // Never waits, so dropping the store cannot panic inside a runtime.
        runtime.shutdown_background();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "hunter2-Secret";

    #[test]
    fn the_location_never_holds_the_password() {
        for conninfo in [
            format!("postgresql://team:{SECRET}@db.example.org/evidence"),
            format!("host=db user=team password={SECRET} dbname=evidence"),
            format!("postgresql://team@db/evidence?password={SECRET}&sslmode=require"),
        ] {
            let location = location_of(&conninfo, "pgsafeguard");
            assert!(!location.contains(SECRET), "{location}");
            assert!(location.ends_with("(schema pgsafeguard)"), "{location}");
        }
        assert_eq!(
            location_of("host=db\nuser=x", "a b"),
            "host=db\\nuser=x (schema a b)"
        );
    }

    #[test]
    fn the_session_is_named_and_bounded() {
        let resolve = |conninfo| {
            for_the_store(ConnParams::from_conninfo_with_env(conninfo, &|_| None).unwrap())
        };
        let params = resolve("host=db user=team dbname=evidence");
        assert_eq!(params.application_name.as_deref(), Some(APPLICATION_NAME));
        assert_eq!(params.connect_timeout, Some(CONNECT_LIMIT));
        let params = resolve("host=db application_name=ci connect_timeout=3 dbname=e");
        assert_eq!(params.application_name.as_deref(), Some("ci"));
        assert_eq!(params.connect_timeout, Some(Duration::from_secs(3)));
        let settings = session_settings();
        assert!(settings.contains(&("lock_timeout", "15s".to_string())));
        assert!(CALL_LIMIT > STATEMENT_LIMIT && CALL_LIMIT > IDLE_IN_TRANSACTION_LIMIT);
    }

    #[test]
    fn a_bad_schema_or_conninfo_fails_before_connecting() {
        let err = open("host=db.invalid dbname=e", "pg_catalog")
            .err()
            .unwrap();
        assert!(err.to_string().contains("reserved"), "{err}");
        let err = open(&format!("host=db password={SECRET} sslmode=bogus"), "s")
            .err()
            .unwrap();
        assert!(!err.to_string().contains(SECRET), "{err}");
        assert!(err.to_string().contains("sslmode"), "{err}");
    }
}

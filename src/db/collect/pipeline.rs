//! The round-trip engine: pipelined statements inside one read-only transaction.
//!
//! Owns the transaction (`BEGIN … READ ONLY`, `SET LOCAL statement_timeout`,
//! the final `ROLLBACK`), the savepoint around each part, and the recovery
//! after a failing part. Knows nothing about what the parts read.
//!
//! # Behavior
//!
//! tokio-postgres writes a request to the socket when its future is first
//! polled and matches replies in the order requests were written. A round
//! therefore builds every statement's future and polls them in list order
//! ([`join_in_order`]), so the server receives
//! `SAVEPOINT s0; Q0; RELEASE SAVEPOINT s0; SAVEPOINT s1; Q1; …` in one
//! flight and the round costs one network round trip.
//!
//! When part k fails, the transaction is aborted and every later statement
//! of that round fails with 25P02. The next round sends
//! `ROLLBACK TO SAVEPOINT sk` followed by the parts after k. So a scan needs
//! at most (failing parts + 1) rounds for its parts, whatever the number of
//! tables or roles. The final ROLLBACK may carry one more query, built from
//! the parts' answers, under its own savepoint in the same flight
//! ([`ScanTransaction::finish`]).

use super::CollectError;
use super::CollectStats;
use futures_util::future::{poll_fn, BoxFuture};
use std::future::Future;
use std::task::Poll;
use std::time::Duration;
use tokio_postgres::{Client, Row};

/// How long the client waits for a round beyond what the server's own
/// statement timeout allows, before it calls the server unresponsive.
const CLIENT_GRACE: Duration = Duration::from_secs(10);

/// One statement of a round.
enum Statement {
    /// Transaction control, sent with the simple query protocol.
    Control(String),
    /// A part's query, sent with `query_typed` (no separate Prepare round trip).
    Query(String),
}

/// Why one part's query failed; it becomes a [`crate::model::snapshot::Gap`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PartFailure {
    pub sqlstate: Option<String>,
    pub message: String,
}

/// The rows of a part, or why it could not be read.
pub(super) type PartOutcome = Result<Vec<Row>, PartFailure>;

/// The scan's transaction on one client: its rounds and their count.
pub(super) struct ScanTransaction<'a> {
    client: &'a Client,
    statement_timeout_ms: u64,
    stats: CollectStats,
}

impl<'a> ScanTransaction<'a> {
    pub fn new(client: &'a Client, statement_timeout_ms: u64) -> Self {
        ScanTransaction {
            client,
            statement_timeout_ms,
            stats: CollectStats::default(),
        }
    }

    pub fn stats(&self) -> CollectStats {
        self.stats
    }

    /// Round 1: opens the read-only transaction and runs `first_query` in it.
    ///
    /// On failure the transaction is rolled back (when the connection still
    /// works) and the error says which step failed.
    pub async fn begin(&mut self, first_query: &str) -> Result<Row, CollectError> {
        let statements = vec![
            Statement::Control("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".into()),
            Statement::Control(format!(
                "SET LOCAL statement_timeout = {}",
                self.statement_timeout_ms
            )),
            // Catalog queries are short: JIT compilation (triggered by the high
            // planner cost of pg_get_viewdef filters) costs more than it saves.
            Statement::Control("SET LOCAL jit = off".into()),
            Statement::Query(first_query.into()),
        ];
        let results = self.round(statements).await?;
        match read_first_round(results) {
            Ok(row) => Ok(row),
            Err(error) => {
                // Harmless when BEGIN itself failed: ROLLBACK then only warns.
                self.abandon().await;
                Err(error)
            }
        }
    }

    /// Runs every part, each under its own savepoint; see the module docs.
    pub async fn run_parts(
        &mut self,
        queries: &[String],
    ) -> Result<Vec<PartOutcome>, CollectError> {
        let mut outcomes: Vec<PartOutcome> = Vec::with_capacity(queries.len());
        let mut rollback_to: Option<usize> = None;
        while outcomes.len() < queries.len() {
            let start = outcomes.len();
            let statements = part_round(queries, start, rollback_to);
            let results = self.round(statements).await?;
            let failed = read_part_round(results, start, rollback_to.is_some(), &mut outcomes)?;
            rollback_to = failed;
        }
        Ok(outcomes)
    }

    /// Ends the transaction. It is read-only, so ROLLBACK: nothing can persist.
    pub async fn end(&mut self) -> Result<(), CollectError> {
        self.finish(None).await.map(|_| ())
    }

    /// Runs `last_query` (if any) under its own savepoint in the same
    /// flight as the ROLLBACK that ends the transaction, so a query built
    /// from the parts' answers costs no extra round trip. Its failure is
    /// its outcome; only a failing ROLLBACK is an error.
    pub async fn finish(
        &mut self,
        last_query: Option<&str>,
    ) -> Result<Option<PartOutcome>, CollectError> {
        let mut statements = Vec::with_capacity(4);
        if let Some(query) = last_query {
            statements.push(Statement::Control(format!("SAVEPOINT {LAST_SAVEPOINT}")));
            statements.push(Statement::Query(query.to_string()));
            statements.push(Statement::Control(format!(
                "RELEASE SAVEPOINT {LAST_SAVEPOINT}"
            )));
        }
        statements.push(Statement::Control("ROLLBACK".into()));
        let results = self.round(statements).await?;
        read_last_round(results, last_query.is_some())
    }

    /// Best-effort ROLLBACK after an error; its own failure adds nothing.
    pub async fn abandon(&mut self) {
        if !self.client.is_closed() {
            let _ = self.end().await;
        }
    }

    /// Sends all statements in one flight and waits for every reply.
    async fn round(
        &mut self,
        statements: Vec<Statement>,
    ) -> Result<Vec<Result<Vec<Row>, tokio_postgres::Error>>, CollectError> {
        let count = statements.len();
        let queries = statements
            .iter()
            .filter(|s| matches!(s, Statement::Query(_)))
            .count();
        let client = self.client;
        let futures: Vec<_> = statements
            .into_iter()
            .map(|statement| send(client, statement))
            .collect();
        let joined = join_in_order(futures);
        let results =
            match round_deadline(self.statement_timeout_ms, queries) {
                Some(deadline) => tokio::time::timeout(deadline, joined).await.map_err(|_| {
                    CollectError::Timeout {
                        seconds: deadline.as_secs(),
                    }
                })?,
                None => joined.await,
            };
        self.stats.round_trips += 1;
        self.stats.statements += count;
        check_connection(client, &results)?;
        Ok(results)
    }
}

/// How long the client waits for a round. The server cancels each statement
/// after the statement timeout, so a round cannot legitimately take longer
/// than one timeout per query; `None` when the timeout is disabled (0).
fn round_deadline(statement_timeout_ms: u64, queries: usize) -> Option<Duration> {
    if statement_timeout_ms == 0 {
        return None;
    }
    let per_query = Duration::from_millis(statement_timeout_ms);
    let queries = u32::try_from(queries.max(1)).unwrap_or(u32::MAX);
    Some(
        per_query
            .saturating_mul(queries)
            .saturating_add(CLIENT_GRACE),
    )
}

/// The first query's row, or which of BEGIN, SET LOCAL or the query failed.
fn read_first_round(
    results: Vec<Result<Vec<Row>, tokio_postgres::Error>>,
) -> Result<Row, CollectError> {
    let mut results = results.into_iter();
    next_result(&mut results).map_err(|e| CollectError::Transaction {
        action: "start",
        detail: describe(&e),
    })?;
    next_result(&mut results).map_err(|e| CollectError::Transaction {
        action: "set the statement timeout of",
        detail: describe(&e),
    })?;
    next_result(&mut results).map_err(|e| CollectError::Transaction {
        action: "switch off JIT for",
        detail: describe(&e),
    })?;
    let rows = next_result(&mut results).map_err(|e| CollectError::Identity {
        detail: describe(&e),
    })?;
    rows.into_iter().next().ok_or(CollectError::Identity {
        detail: "the query returned no row".into(),
    })
}

/// The savepoint of the query sent with the final ROLLBACK.
const LAST_SAVEPOINT: &str = "pgsafeguard_last";

/// The last query's outcome (after a failed SAVEPOINT, that failure), then
/// whether ROLLBACK succeeded. A failed RELEASE only follows a failed query.
fn read_last_round(
    results: Vec<Result<Vec<Row>, tokio_postgres::Error>>,
    with_query: bool,
) -> Result<Option<PartOutcome>, CollectError> {
    let mut results = results.into_iter();
    let outcome = if with_query {
        let opened = next_result(&mut results);
        let queried = next_result(&mut results);
        let _released = next_result(&mut results);
        Some(opened.and(queried).map_err(|error| part_failure(&error)))
    } else {
        None
    };
    next_result(&mut results).map_err(|e| CollectError::Transaction {
        action: "end",
        detail: describe(&e),
    })?;
    Ok(outcome)
}

/// The savepoint name of part `index`.
fn savepoint(index: usize) -> String {
    format!("pgsafeguard_part_{index}")
}

/// `[ROLLBACK TO SAVEPOINT sk;] SAVEPOINT si; Qi; RELEASE SAVEPOINT si; …` from `start`.
fn part_round(queries: &[String], start: usize, rollback_to: Option<usize>) -> Vec<Statement> {
    let mut statements = Vec::with_capacity(1 + 3 * (queries.len() - start));
    if let Some(failed) = rollback_to {
        statements.push(Statement::Control(format!(
            "ROLLBACK TO SAVEPOINT {}",
            savepoint(failed)
        )));
    }
    for (index, query) in queries.iter().enumerate().skip(start) {
        statements.push(Statement::Control(format!(
            "SAVEPOINT {}",
            savepoint(index)
        )));
        statements.push(Statement::Query(query.clone()));
        statements.push(Statement::Control(format!(
            "RELEASE SAVEPOINT {}",
            savepoint(index)
        )));
    }
    statements
}

/// Appends the outcomes of one part round; returns the index of the part
/// that failed (everything after it must be sent again), if any.
fn read_part_round(
    results: Vec<Result<Vec<Row>, tokio_postgres::Error>>,
    start: usize,
    rolled_back: bool,
    outcomes: &mut Vec<PartOutcome>,
) -> Result<Option<usize>, CollectError> {
    let mut results = results.into_iter();
    if rolled_back {
        next_result(&mut results).map_err(|e| savepoint_error(&e))?;
    }
    let mut index = start;
    while let Some(opened) = results.next() {
        opened.map_err(|e| savepoint_error(&e))?;
        match next_result(&mut results) {
            Ok(rows) => outcomes.push(Ok(rows)),
            Err(error) => {
                outcomes.push(Err(part_failure(&error)));
                return Ok(Some(index));
            }
        }
        next_result(&mut results).map_err(|e| savepoint_error(&e))?;
        index += 1;
    }
    Ok(None)
}

fn next_result(
    results: &mut impl Iterator<Item = Result<Vec<Row>, tokio_postgres::Error>>,
) -> Result<Vec<Row>, tokio_postgres::Error> {
    // A missing reply cannot happen (one reply per statement); treat it as empty.
    results.next().unwrap_or(Ok(Vec::new()))
}

fn savepoint_error(error: &tokio_postgres::Error) -> CollectError {
    CollectError::Transaction {
        action: "isolate a part in a savepoint of",
        detail: describe(error),
    }
}

fn part_failure(error: &tokio_postgres::Error) -> PartFailure {
    match error.as_db_error() {
        Some(db) => PartFailure {
            sqlstate: Some(db.code().code().to_string()),
            message: db.message().to_string(),
        },
        None => PartFailure {
            sqlstate: error.code().map(|c| c.code().to_string()),
            message: error.to_string(),
        },
    }
}

/// The server's own message when there is one, else the client's.
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}

/// A closed connection or an error that is not the server's answer to a
/// statement (I/O, protocol) means the session can no longer be trusted.
fn check_connection(
    client: &Client,
    results: &[Result<Vec<Row>, tokio_postgres::Error>],
) -> Result<(), CollectError> {
    let broken = results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .find(|e| e.is_closed() || e.as_db_error().is_none());
    match broken {
        Some(error) => Err(CollectError::ConnectionLost {
            detail: error.to_string(),
        }),
        None if client.is_closed() => Err(CollectError::ConnectionLost {
            detail: "the server closed the connection".into(),
        }),
        None => Ok(()),
    }
}

/// The future that writes one statement and collects its reply.
fn send(
    client: &Client,
    statement: Statement,
) -> BoxFuture<'_, Result<Vec<Row>, tokio_postgres::Error>> {
    match statement {
        Statement::Control(sql) => {
            Box::pin(async move { client.batch_execute(&sql).await.map(|()| Vec::new()) })
        }
        Statement::Query(sql) => Box::pin(async move { client.query_typed(&sql, &[]).await }),
    }
}

/// Polls the futures in list order until all are done and returns their
/// outputs in that order.
///
/// Unlike `futures_util::future::join_all`, which hands more than 30 futures
/// to `FuturesOrdered`, the first poll here is guaranteed to follow list
/// order, and with it the order in which requests reach the server.
pub(super) async fn join_in_order<F: Future + Unpin>(mut futures: Vec<F>) -> Vec<F::Output> {
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match std::pin::Pin::new(future).poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn first_polls_follow_list_order_for_many_futures() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let futures: Vec<BoxFuture<'static, usize>> = (0..100usize)
            .map(|i| {
                let log = Arc::clone(&log);
                Box::pin(async move {
                    log.lock().unwrap().push(i);
                    tokio::task::yield_now().await;
                    i * 2
                }) as BoxFuture<'static, usize>
            })
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let outputs = runtime.block_on(join_in_order(futures));
        assert_eq!(*log.lock().unwrap(), (0..100).collect::<Vec<_>>());
        assert_eq!(outputs, (0..100).map(|i| i * 2).collect::<Vec<_>>());
    }

    fn sql_of(statements: &[Statement]) -> Vec<String> {
        statements
            .iter()
            .map(|s| match s {
                Statement::Control(sql) => sql.clone(),
                Statement::Query(sql) => format!("Q:{sql}"),
            })
            .collect()
    }

    #[test]
    fn first_round_wraps_each_part_in_a_savepoint() {
        let queries = vec!["a".to_string(), "b".to_string()];
        assert_eq!(
            sql_of(&part_round(&queries, 0, None)),
            [
                "SAVEPOINT pgsafeguard_part_0",
                "Q:a",
                "RELEASE SAVEPOINT pgsafeguard_part_0",
                "SAVEPOINT pgsafeguard_part_1",
                "Q:b",
                "RELEASE SAVEPOINT pgsafeguard_part_1",
            ]
        );
    }

    #[test]
    fn retry_round_rolls_back_the_failed_part_then_resumes() {
        let queries = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        assert_eq!(
            sql_of(&part_round(&queries, 2, Some(1))),
            [
                "ROLLBACK TO SAVEPOINT pgsafeguard_part_1",
                "SAVEPOINT pgsafeguard_part_2",
                "Q:c",
                "RELEASE SAVEPOINT pgsafeguard_part_2",
            ]
        );
    }

    #[test]
    fn round_deadline_allows_one_timeout_per_query() {
        assert_eq!(round_deadline(0, 5), None);
        assert_eq!(
            round_deadline(30_000, 3),
            Some(Duration::from_secs(90) + CLIENT_GRACE)
        );
        assert_eq!(
            round_deadline(1_000, 0),
            Some(Duration::from_secs(1) + CLIENT_GRACE)
        );
    }
}

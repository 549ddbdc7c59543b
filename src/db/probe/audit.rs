//! The audit probe (issue 15): one harmless, tagged read of a PHI table must
//! reach the server log as a pgAudit `AUDIT:` line (AUD-003, and the read
//! class of AUD-002).
//!
//! # Behavior
//!
//! 1. Skipped when pgAudit is not loaded, or the connected database has no
//!    PHI table (the model's PHI name rule under the policy's lists, as the
//!    checks decide it: [`ProbeOptions::phi_columns`](super::ProbeOptions::phi_columns)).
//! 2. The log must tie a line to a session: `%a` in `log_line_prefix`, or a
//!    csvlog / jsonlog file, with the logging collector on
//!    ([`log::format_to_read`]). Otherwise both proofs are inconclusive, and
//!    no read is made.
//! 3. A session named `pgsafeguard-probe-audit` finds the current log file:
//!    through `pg_current_logfile()` and `pg_read_file()` where the scanner
//!    may EXECUTE them, else from this machine's files when the server runs
//!    here. A log it cannot read makes both proofs inconclusive, naming the
//!    grant; no read is made.
//! 4. A second session, named `pgsafeguard-probe-<random nonce>`, runs
//!    `SELECT * FROM <table> LIMIT 0` (the first PHI table the scanner may
//!    SELECT) in a read-only transaction that is rolled back: no row is
//!    read, nothing is written, and pgAudit logs the read if it audits it.
//! 5. The end of the log is polled for up to `audit_wait` for an `AUDIT:`
//!    line carrying the nonce. Found: both proofs hold, with the line as the
//!    answer. Not found: both are broken ("an audited read did not reach the
//!    log"); a `statement:` line of the session, if logged, is shown.
//!
//! What it leaves behind: the probe session's connection lines and its audit
//! line (and its statement line under `log_statement = all`).
//!
//! Part of `db::probe`.

pub mod log;
pub mod reader;

use super::sql_session::{self, error_text};
use super::{ProbeContext, ProbeResult};
use crate::model::proof::{CheckProof, Effect, Outcome, Probe, ProbeSkipped, Proof};
use crate::model::snapshot::Relation;
use log::Format;
use postgres_protocol::escape::escape_identifier;
use reader::LogSource;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

/// How often the log is read while waiting for the line.
const POLL_EVERY: Duration = Duration::from_millis(200);

/// Longest log line kept in an answer.
const MAX_LINE: usize = 4000;

pub async fn probe(ctx: &ProbeContext<'_>) -> ProbeResult {
    log::pgaudit_loaded(ctx.snapshot).map_err(|reason| skipped(reason, None))?;
    let dbname = ctx.params.dbname.as_str();
    let tables: Vec<&Relation> = ctx
        .snapshot
        .databases
        .iter()
        .filter(|d| d.name == dbname)
        .flat_map(|d| d.relations.iter().flatten())
        .filter(|r| matches!(r.kind.as_str(), "r" | "p") && !r.is_partition)
        .filter(|r| !ctx.options.phi_columns(r).is_empty())
        .collect();
    if tables.is_empty() {
        return Err(skipped(
            format!(
                "database {dbname:?} has no PHI table to read (scan the database that holds \
                 PHI)"
            ),
            None,
        ));
    }
    let mut attempt = Attempt {
        ctx,
        table: tables[0].qualified_name(),
        tag: String::new(),
        from: "this machine".into(),
        read_via: String::new(),
        statement: String::new(),
    };
    let format = match log::format_to_read(ctx.snapshot) {
        Ok(format) => format,
        Err(why) => return Ok(attempt.inconclusive("(no read made)".into(), why, None)),
    };
    let reader = match sql_session::open(ctx, dbname, ctx.application_name("audit")).await {
        Ok(open) => open,
        Err(why) => {
            return Ok(attempt.inconclusive(
                String::new(),
                format!("no session to database {dbname:?}: {why}"),
                None,
            ))
        }
    };
    attempt.from = reader.from.clone();
    let proofs = attempt.run(&reader.session.client, &tables, format).await;
    reader.session.close().await;
    Ok(proofs)
}

fn skipped(reason: String, grant: Option<String>) -> ProbeSkipped {
    ProbeSkipped {
        probe: Probe::Audit,
        reason,
        grant,
    }
}

/// One tagged read and the search for its line.
struct Attempt<'c, 'a> {
    ctx: &'c ProbeContext<'a>,
    table: String,
    /// The tagged session's application_name, once chosen.
    tag: String,
    from: String,
    /// How the log was read, once known.
    read_via: String,
    /// The tagged read's SQL, once made.
    statement: String,
}

impl Attempt<'_, '_> {
    async fn run(
        &mut self,
        client: &Client,
        tables: &[&Relation],
        format: Format,
    ) -> Vec<CheckProof> {
        let scanner = self.ctx.params.user.clone();
        let table = match first_readable(client, tables).await {
            Ok(Some(table)) => table,
            Ok(None) => {
                let grant = format!(
                    "GRANT SELECT ON {}.{} TO {}",
                    escape_identifier(&tables[0].schema),
                    escape_identifier(&tables[0].name),
                    escape_identifier(&scanner)
                );
                let why = format!(
                    "the scanner may SELECT none of the PHI tables of database {:?}, so it \
                     cannot make the read that pgAudit should log",
                    self.ctx.params.dbname
                );
                return self.inconclusive("(no read made)".into(), why, Some(grant));
            }
            Err(why) => return self.inconclusive(String::new(), why, None),
        };
        self.table = table.qualified_name();
        let mut source = match reader::locate(client, self.ctx.snapshot, format).await {
            Ok(source) => source,
            Err(why) => {
                let why = format!("the server log cannot be read from here: {why}");
                return self.inconclusive(
                    "(no read made)".into(),
                    why,
                    Some(reader::grant(&scanner, format)),
                );
            }
        };
        self.read_via = format!("{} ({})", source.describe(), format.id());
        if let Err(why) = self.tagged_read(table).await {
            return self.inconclusive(String::new(), why, None);
        }
        self.search(client, &mut source).await
    }

    /// `SELECT * FROM t LIMIT 0` on a session tagged with a fresh nonce.
    async fn tagged_read(&mut self, table: &Relation) -> Result<(), String> {
        let nonce = nonce()?;
        self.tag = self.ctx.application_name(&nonce);
        let dbname = &self.ctx.params.dbname;
        let tagged = sql_session::open(self.ctx, dbname, self.tag.clone())
            .await
            .map_err(|why| format!("no tagged session to database {dbname:?}: {why}"))?;
        self.from = tagged.from.clone();
        let client = &tagged.session.client;
        let select = format!(
            "SELECT * FROM {}.{} LIMIT 0",
            escape_identifier(&table.schema),
            escape_identifier(&table.name)
        );
        self.statement.clone_from(&select);
        let timeout_ms = self.ctx.options.attempt_timeout.as_millis().max(1);
        let outcome = async {
            client
                .batch_execute(&format!(
                    "BEGIN READ ONLY; SET LOCAL statement_timeout = {timeout_ms}"
                ))
                .await?;
            client.batch_execute(&select).await?;
            client.batch_execute("ROLLBACK").await
        }
        .await
        .map_err(|e| format!("the tagged read failed: {}", error_text(&e)));
        tagged.session.close().await;
        outcome
    }

    /// Poll the log for the tagged session's audit line.
    async fn search(&self, client: &Client, source: &mut LogSource) -> Vec<CheckProof> {
        let wait = self.ctx.options.audit_wait;
        let started = Instant::now();
        let mut last_text: String;
        loop {
            last_text = match reader::tail(client, source).await {
                Ok(text) => text,
                Err(why) => {
                    return self.inconclusive(
                        String::new(),
                        format!("reading the log failed: {why}"),
                        None,
                    )
                }
            };
            if let Some(line) = log::audit_line(&last_text, &self.tag) {
                let note = format!(
                    "the tagged read of {} reached the log as a pgAudit line ({})",
                    self.table,
                    if line.contains("AUDIT: OBJECT") {
                        "object audit"
                    } else {
                        "session audit"
                    }
                );
                return self.proofs(Outcome::Holds, bounded(line), note, None);
            }
            if started.elapsed() >= wait {
                break;
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
        let mut answer = format!(
            "no AUDIT line carrying {:?} in the last {} KiB of the log after {} ms",
            self.tag,
            reader::TAIL_BYTES / 1024,
            wait.as_millis()
        );
        if let Some(line) = log::statement_line(&last_text, &self.tag, &self.statement) {
            answer.push_str(&format!("; logged instead: {}", bounded(line)));
        }
        let note = format!(
            "an audited read did not reach the log: SELECT … LIMIT 0 on {} left no AUDIT line \
             (read is not in pgaudit.log, and pgaudit.role has no SELECT on the table)",
            self.table
        );
        self.proofs(Outcome::Broken, answer, note, None)
    }

    fn attempted(&self) -> String {
        let tag = if self.tag.is_empty() {
            "pgsafeguard-probe-<nonce>"
        } else {
            &self.tag
        };
        let mut text = format!(
            "a tagged read of {} (SELECT * … LIMIT 0 in a read-only transaction rolled back, \
             application_name {tag:?}), then a search of the server log for its AUDIT line for \
             up to {} ms",
            self.table,
            self.ctx.options.audit_wait.as_millis()
        );
        if !self.read_via.is_empty() {
            text.push_str(&format!(", read through {}", self.read_via));
        }
        text
    }

    fn inconclusive(&self, answer: String, why: String, grant: Option<String>) -> Vec<CheckProof> {
        self.proofs(Outcome::Inconclusive, answer, why, grant)
    }

    /// The same proof for both checks. AUD-003: part of the check (it also
    /// asks for SELECT on every PHI table and names definer functions).
    /// AUD-002: a warning only, since its threshold (ddl, role, write) does
    /// not ask for the read class; a read that leaves no line is still worth
    /// saying.
    fn proofs(
        &self,
        outcome: Outcome,
        answer: String,
        note: String,
        grant: Option<String>,
    ) -> Vec<CheckProof> {
        let proof = Proof {
            probe: Probe::Audit,
            attempted: self.attempted(),
            from: self.from.clone(),
            answer,
            at: (self.ctx.clock)(),
            outcome,
            note,
            grant,
        };
        [("AUD-003", Effect::Part), ("AUD-002", Effect::Warns)]
            .into_iter()
            .map(|(check, effect)| CheckProof {
                check: check.into(),
                effect,
                source_ip: None,
                proof: proof.clone(),
            })
            .collect()
    }
}

/// The first of `tables` the scanner may SELECT as a whole.
async fn first_readable<'r>(
    client: &Client,
    tables: &[&'r Relation],
) -> Result<Option<&'r Relation>, String> {
    for table in tables {
        let row = client
            .query_one(
                "SELECT coalesce(has_table_privilege($1::oid, 'SELECT'), false)",
                &[&table.oid],
            )
            .await
            .map_err(|e| {
                format!(
                    "the scanner's rights on {}: {}",
                    table.qualified_name(),
                    error_text(&e)
                )
            })?;
        if row.get::<_, bool>(0) {
            return Ok(Some(table));
        }
    }
    Ok(None)
}

/// A random tag: 16 hex digits.
fn nonce() -> Result<String, String> {
    let mut bytes = [0u8; 8];
    openssl::rand::rand_bytes(&mut bytes).map_err(|e| format!("no random nonce: {e}"))?;
    Ok(hex::encode(bytes))
}

/// A log line, cut at [`MAX_LINE`] characters.
fn bounded(line: &str) -> String {
    match line.char_indices().nth(MAX_LINE) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_fresh_hex() {
        let (a, b) = (nonce().unwrap(), nonce().unwrap());
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn long_lines_are_cut() {
        assert_eq!(bounded("short"), "short");
        let long = "é".repeat(MAX_LINE + 5);
        assert_eq!(bounded(&long).chars().count(), MAX_LINE + 1);
    }
}

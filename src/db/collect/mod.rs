//! The snapshot collector: every fact a scan needs, read in one read-only
//! transaction in a constant number of round trips.
//!
//! Owns the catalog queries and their decoding into [`crate::model::snapshot`]
//! types. Must not import `checks`, `ui` or `report`, and never writes: the
//! session is read-only, the transaction is `READ ONLY` and ends in ROLLBACK.
//!
//! # Behavior
//!
//! 1. Round 1 opens `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`, sets
//!    `statement_timeout` for the transaction and reads who the scanner is
//!    (version, `current_user`, whether it may see all settings and sessions,
//!    where it may read password verifier kinds from — see [`passwords`] —,
//!    its own TLS state, the databases that accept connections) and whether
//!    the server really made the transaction read-only (if not, the scan
//!    stops there).
//! 2. Round 2 sends every part (one catalog query per snapshot field), each
//!    under its own SAVEPOINT, pipelined. A part the scanner may not read
//!    becomes a [`Gap`] with the GRANT that would allow it, and costs one
//!    more round for the parts after it (see [`pipeline`]).
//! 3. The last round sends ROLLBACK. With `--sample-phi` the value sample
//!    ([`phi`]), built from round 2's list of text columns, goes in the same
//!    flight under its own savepoint.
//!
//! So a scan takes 3 rounds, plus one per failing part (other than the
//! last), whatever the number of tables, roles or functions. The number of
//! statements is constant too; only the text of the sample statement grows
//! with the schema, up to a cap. A lost connection, a server that stops
//! answering or a transaction that cannot start are errors
//! ([`CollectError`]), not gaps; after one the client should be dropped.
//! The client-side deadline needs a tokio runtime with its timer enabled
//! (`enable_all`).
//!
//! Secrets stay on the server: password verifiers are classified there
//! (`password_kinds`, from pg_authid or from `pgsafeguard.password_kinds()`
//! of `assets/sql/scanner-role.sql`), function bodies and view definitions are matched
//! there (`literal_key_in_body`; for SECURITY DEFINER functions, the names of
//! the relations a body reads), the query text of sessions is never read,
//! the password in `primary_conninfo` is redacted ([`redact`]), and stored
//! outbound credentials (user mappings, foreign servers, subscriptions) are
//! tested there: only option names or a yes/no come back ([`outbound`]).
//!
//! # Example
//!
//! ```no_run
//! # async fn scan(client: &tokio_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use pgsafeguard::db::collect::{collect_all, CollectOptions};
//! use pgsafeguard::model::snapshot::Snapshot;
//!
//! let collected = collect_all(client, &CollectOptions::default()).await?;
//! let mut snapshot = Snapshot::default();
//! collected.fill(&mut snapshot);
//! # Ok(()) }
//! ```

mod acl;
mod cluster;
mod database;
mod gaps;
mod identity;
mod node_tree;
mod outbound;
mod part;
mod passwords;
mod phi;
mod pipeline;
mod redact;

pub use acl::{parse_acl, parse_acl_item, AclParseError};
pub use passwords::SCANNER_ROLE_SCRIPT;
pub use redact::redact_conninfo;

use crate::model::snapshot::{
    Archiver, DatabaseAccess, DatabaseFacts, DatabaseStat, FileSettingProblem, Gap, HbaRule,
    IdentMapping, Membership, PasswordKind, ReplicationSlot, Role, RoleSetting, Session, Setting,
    Snapshot, Subscription, TlsInfo,
};
use identity::Identity;
use part::{Part, Staging};
use pipeline::PartOutcome;
use std::collections::BTreeMap;
use tokio_postgres::Client;

/// How the scan runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectOptions {
    /// `statement_timeout` for every scan statement, in milliseconds; 0 = none.
    pub statement_timeout_ms: u64,
    /// Count SSN-shaped values in a bounded sample of the text columns
    /// (EAR-005). Reads table contents, so off by default; see [`phi`].
    pub sample_phi: bool,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            statement_timeout_ms: 30_000,
            sample_phi: false,
        }
    }
}

/// What the scan cost on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollectStats {
    /// Pipelined batches sent and awaited.
    pub round_trips: usize,
    /// Statements sent, transaction control and savepoints included.
    pub statements: usize,
}

/// Cluster-wide facts, as the snapshot holds them (`None` = not collected).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterFacts {
    pub settings: Option<BTreeMap<String, Setting>>,
    pub file_setting_problems: Option<Vec<FileSettingProblem>>,
    pub hba_rules: Option<Vec<HbaRule>>,
    pub ident_mappings: Option<Vec<IdentMapping>>,
    pub roles: Option<Vec<Role>>,
    pub password_kinds: Option<BTreeMap<String, PasswordKind>>,
    pub memberships: Option<Vec<Membership>>,
    pub role_settings: Option<Vec<RoleSetting>>,
    pub database_access: Option<Vec<DatabaseAccess>>,
    pub sessions: Option<Vec<Session>>,
    pub archiver: Option<Archiver>,
    pub database_stats: Option<Vec<DatabaseStat>>,
    pub subscriptions: Option<Vec<Subscription>>,
    pub replication_slots: Option<Vec<ReplicationSlot>>,
}

/// Everything [`collect_all`] read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Collected {
    pub server_version: Option<String>,
    pub server_version_num: Option<u32>,
    pub system_identifier: Option<String>,
    /// `clock_timestamp()` at the start of the scan, RFC 3339 UTC.
    pub server_time: Option<String>,
    /// The role the scan ran as (`current_user`).
    pub current_user: String,
    /// The server's `transaction_read_only` inside the scan transaction
    /// (always true: the scan stops otherwise).
    pub transaction_read_only: bool,
    /// TLS of the scanner's own backend as the server sees it (`pg_stat_ssl`);
    /// `None` when the connection is not encrypted.
    pub own_tls: Option<TlsInfo>,
    /// Databases that accept connections and are not templates, by name
    /// (for `--all-databases`).
    pub databases_allowing_connections: Vec<String>,
    pub cluster: ClusterFacts,
    /// The connected database's facts.
    pub database: DatabaseFacts,
    /// Parts not collected (or collected incompletely), in part order.
    pub gaps: Vec<Gap>,
    pub stats: CollectStats,
}

impl Collected {
    /// Writes everything into the snapshot: the target's version and
    /// identifier, the cluster facts, `databases = [connected database]`,
    /// and the gaps (added to any already there). Own TLS facts only fill
    /// what the client side left empty; `target.user` is set when empty.
    pub fn fill(self, snapshot: &mut Snapshot) {
        let target = &mut snapshot.target;
        target.server_version = self.server_version;
        target.server_version_num = self.server_version_num;
        target.system_identifier = self.system_identifier;
        if target.user.is_empty() {
            target.user = self.current_user;
        }
        if let Some(own) = self.own_tls {
            let tls = target.tls.get_or_insert_with(TlsInfo::default);
            tls.version = tls.version.take().or(own.version);
            tls.cipher = tls.cipher.take().or(own.cipher);
            tls.bits = tls.bits.or(own.bits);
        }
        snapshot.server_time = self.server_time;
        let cluster = self.cluster;
        snapshot.settings = cluster.settings;
        snapshot.file_setting_problems = cluster.file_setting_problems;
        snapshot.hba_rules = cluster.hba_rules;
        snapshot.ident_mappings = cluster.ident_mappings;
        snapshot.roles = cluster.roles;
        snapshot.password_kinds = cluster.password_kinds;
        snapshot.memberships = cluster.memberships;
        snapshot.role_settings = cluster.role_settings;
        snapshot.database_access = cluster.database_access;
        snapshot.sessions = cluster.sessions;
        snapshot.archiver = cluster.archiver;
        snapshot.database_stats = cluster.database_stats;
        snapshot.subscriptions = cluster.subscriptions;
        snapshot.replication_slots = cluster.replication_slots;
        snapshot.databases = vec![self.database];
        snapshot.gaps.extend(self.gaps);
        snapshot.gaps.sort();
        snapshot.gaps.dedup();
    }
}

/// Failures that end the scan (as opposed to a part's [`Gap`]).
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("the connection to the server was lost during the scan: {detail}")]
    ConnectionLost { detail: String },
    #[error(
        "the server did not answer the scan within {seconds} s; check the network \
         or raise the statement timeout"
    )]
    Timeout { seconds: u64 },
    #[error("could not {action} the read-only scan transaction: {detail}")]
    Transaction {
        action: &'static str,
        detail: String,
    },
    #[error("could not read the server version and the scanner's role: {detail}")]
    Identity { detail: String },
}

/// Reads the cluster-wide facts and the connected database's facts.
///
/// Runs inside one `BEGIN READ ONLY` transaction on `client`, which must
/// not already be in a transaction. See the module docs for the rounds.
pub async fn collect_all(
    client: &Client,
    opts: &CollectOptions,
) -> Result<Collected, CollectError> {
    let mut session = pipeline::ScanTransaction::new(client, opts.statement_timeout_ms);
    let identity = start(&mut session).await?;
    let version = identity.server_version_num;
    // Parts that may be denied go last: a failure resends only what follows it.
    let mut parts = cluster::public_parts(version, identity.sees_all_sessions);
    parts.extend(outbound::public_parts());
    parts.extend(database_parts(&identity, opts));
    parts.extend(cluster::restricted_parts(version));
    parts.extend(outbound::restricted_parts(&identity));
    parts.extend(passwords::part(identity.password_source()));
    let mut staging = Staging::default();
    let mut gaps = visibility_gaps(&identity);
    gaps.extend(run(&mut session, &parts, &mut staging, &identity).await?);
    let mut database = database::assemble(&mut staging);
    database.name = identity.database;
    Ok(Collected {
        server_version: Some(identity.server_version),
        server_version_num: Some(version),
        system_identifier: staging.system_identifier,
        server_time: identity.server_time,
        current_user: identity.current_user,
        transaction_read_only: identity.transaction_read_only,
        own_tls: identity.own_tls,
        databases_allowing_connections: identity.databases_allowing_connections,
        cluster: staging.cluster,
        database,
        gaps,
        stats: session.stats(),
    })
}

/// Reads only the connected database's facts (for `--all-databases`, on a
/// session connected to another database). Same transaction and rounds as
/// [`collect_all`]; gaps name the part (`relations`, …), not the database.
pub async fn collect_database(
    client: &Client,
    opts: &CollectOptions,
) -> Result<(DatabaseFacts, Vec<Gap>), CollectError> {
    Ok(collect_database_with_stats(client, opts).await?.0)
}

/// [`collect_database`] plus what it cost on the wire.
pub async fn collect_database_with_stats(
    client: &Client,
    opts: &CollectOptions,
) -> Result<((DatabaseFacts, Vec<Gap>), CollectStats), CollectError> {
    let mut session = pipeline::ScanTransaction::new(client, opts.statement_timeout_ms);
    let identity = start(&mut session).await?;
    let parts = database_parts(&identity, opts);
    let mut staging = Staging::default();
    let gaps = run(&mut session, &parts, &mut staging, &identity).await?;
    let mut database = database::assemble(&mut staging);
    database.name = identity.database;
    Ok(((database, gaps), session.stats()))
}

/// The per-database parts, with the list of text columns when sampling.
fn database_parts(identity: &Identity, opts: &CollectOptions) -> Vec<Part> {
    let mut parts = database::parts(identity.server_version_num);
    parts.extend(outbound::database_parts(identity));
    if opts.sample_phi {
        parts.push(phi::candidates_part());
    }
    parts
}

/// Round 1: the transaction and the scanner's identity. A transaction the
/// server does not call read-only ends the scan before any part runs.
async fn start(session: &mut pipeline::ScanTransaction<'_>) -> Result<Identity, CollectError> {
    let row = session.begin(&identity::identity_sql()).await?;
    let checked = Identity::from_row(&row).and_then(|identity| {
        if identity.transaction_read_only {
            Ok(identity)
        } else {
            Err(CollectError::Transaction {
                action: "start",
                detail: "the server reports transaction_read_only = off".into(),
            })
        }
    });
    if checked.is_err() {
        session.abandon().await;
    }
    checked
}

/// The parts' rounds, then the last round: the PHI sample, if the parts
/// asked for one, and ROLLBACK. Stores what the parts read and returns the
/// gaps. An error that leaves the connection usable still ends the
/// transaction.
async fn run(
    session: &mut pipeline::ScanTransaction<'_>,
    parts: &[Part],
    staging: &mut Staging,
    identity: &Identity,
) -> Result<Vec<Gap>, CollectError> {
    let queries: Vec<String> = parts.iter().map(|p| p.sql.clone()).collect();
    let outcomes = match session.run_parts(&queries).await {
        Ok(outcomes) => outcomes,
        Err(error @ CollectError::Transaction { .. }) => {
            session.abandon().await;
            return Err(error);
        }
        Err(error) => return Err(error),
    };
    let mut gaps = store_all(parts, outcomes, staging, &identity.current_user);
    let candidates = staging.phi_candidates.take();
    let plan = candidates.as_ref().and_then(phi::plan);
    let outcome = session
        .finish(plan.as_ref().map(|p| p.sql.as_str()))
        .await?;
    if let Some(candidates) = candidates {
        let (sample, found) = phi::settle(
            &candidates,
            plan.as_ref(),
            outcome,
            &identity.current_user,
            identity.server_version_num,
        );
        staging.database.phi_sample = sample;
        gaps.extend(found);
    }
    Ok(gaps)
}

/// Stores each part's rows; returns a gap for each part that failed or
/// could not be decoded.
fn store_all(
    parts: &[Part],
    outcomes: Vec<PartOutcome>,
    staging: &mut Staging,
    role: &str,
) -> Vec<Gap> {
    let mut found = Vec::new();
    for (part, outcome) in parts.iter().zip(outcomes) {
        match outcome {
            Ok(rows) => {
                if let Err(error) = (part.store)(&rows, staging) {
                    found.push(gaps::undecodable_part(part.name, &error));
                }
            }
            Err(failure) => found.push(gaps::failed_part(part.name, failure, role)),
        }
    }
    found
}

/// Gaps known from the identity alone: hidden settings and sessions, and
/// password kinds the scanner has no way to read.
fn visibility_gaps(identity: &Identity) -> Vec<Gap> {
    let mut found = Vec::new();
    if !identity.sees_all_settings {
        found.push(gaps::hidden_settings(&identity.current_user));
    }
    if !identity.sees_all_sessions {
        found.push(gaps::hidden_sessions(&identity.current_user));
    }
    if let passwords::Source::Unavailable(function) = identity.password_source() {
        found.push(passwords::unavailable_gap(function, &identity.current_user));
    }
    found.extend(outbound::unavailable_gap(identity));
    found
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn collected() -> Collected {
        Collected {
            server_version: Some("15.18".into()),
            server_version_num: Some(150_018),
            system_identifier: Some("7000".into()),
            server_time: Some("2026-01-01T00:00:00.000000Z".into()),
            current_user: "scanner".into(),
            own_tls: Some(TlsInfo {
                version: Some("TLSv1.3".into()),
                cipher: Some("TLS_AES_256_GCM_SHA384".into()),
                bits: Some(256),
                server_certificate: None,
            }),
            database: DatabaseFacts {
                name: "clinic".into(),
                ..DatabaseFacts::default()
            },
            gaps: vec![gaps::hidden_sessions("scanner")],
            ..Collected::default()
        }
    }

    #[test]
    fn fill_sets_target_and_primary_database() {
        let mut snapshot = Snapshot::default();
        collected().fill(&mut snapshot);
        assert_eq!(snapshot.target.server_version_num, Some(150_018));
        assert_eq!(snapshot.target.system_identifier.as_deref(), Some("7000"));
        assert_eq!(snapshot.target.user, "scanner");
        assert_eq!(snapshot.databases.len(), 1);
        assert_eq!(snapshot.databases[0].name, "clinic");
        assert!(snapshot.gap("sessions").is_some());
    }

    #[test]
    fn fill_keeps_client_side_tls_facts() {
        let mut snapshot = Snapshot::default();
        snapshot.target.user = "alice".into();
        snapshot.target.tls = Some(TlsInfo {
            version: Some("TLSv1.2".into()),
            ..TlsInfo::default()
        });
        collected().fill(&mut snapshot);
        let tls = snapshot.target.tls.unwrap();
        assert_eq!(tls.version.as_deref(), Some("TLSv1.2"));
        assert_eq!(tls.cipher.as_deref(), Some("TLS_AES_256_GCM_SHA384"));
        assert_eq!(snapshot.target.user, "alice");
    }

    #[test]
    fn fill_adds_to_existing_gaps_without_duplicates() {
        let mut snapshot = Snapshot::default();
        snapshot.gaps.push(gaps::hidden_sessions("scanner"));
        snapshot.gaps.push(Gap {
            part: "host".into(),
            sqlstate: None,
            message: "not on the database host".into(),
            grant: None,
        });
        collected().fill(&mut snapshot);
        let parts: Vec<&str> = snapshot.gaps.iter().map(|g| g.part.as_str()).collect();
        assert_eq!(parts, ["host", "sessions"]);
    }

    #[test]
    fn privileged_role_has_no_visibility_gaps() {
        let identity = Identity {
            current_user: "postgres".into(),
            server_version: "15.18".into(),
            server_version_num: 150_018,
            database: "postgres".into(),
            server_time: None,
            sees_all_settings: true,
            sees_all_sessions: true,
            own_tls: None,
            databases_allowing_connections: vec![],
            transaction_read_only: true,
            reads_pg_authid: true,
            password_kinds_function: passwords::FunctionState::Missing,
            reads_subconninfo: true,
            stored_credentials_function: passwords::FunctionState::Missing,
        };
        assert!(visibility_gaps(&identity).is_empty());
        let limited = Identity {
            sees_all_settings: false,
            sees_all_sessions: false,
            reads_pg_authid: false,
            reads_subconninfo: false,
            ..identity.clone()
        };
        let parts: Vec<String> = visibility_gaps(&limited)
            .into_iter()
            .map(|g| g.part)
            .collect();
        assert_eq!(
            parts,
            ["settings", "sessions", "password_kinds", "subscriptions"]
        );
        let with_function = Identity {
            password_kinds_function: passwords::FunctionState::Usable,
            stored_credentials_function: passwords::FunctionState::Usable,
            ..limited
        };
        let parts: Vec<String> = visibility_gaps(&with_function)
            .into_iter()
            .map(|g| g.part)
            .collect();
        assert_eq!(parts, ["settings", "sessions"]);
    }
}

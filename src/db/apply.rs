//! The apply session: a separate, writable session opened with the
//! credentials the DBA gives for applying fixes. The scan session stays
//! read-only; nothing here is used by a scan.
//!
//! Owns the SQL the apply step itself needs: who the session is and how it
//! is connected, what the configuration files will hold after the next
//! reload or restart (`pg_file_settings`), whether a preload library exists
//! on the server, running one statement and reporting the server's answer,
//! transaction control, the state of the session's own role (for the guards
//! that run before COMMIT), `pg_reload_conf()` and waiting until new sessions
//! see new settings. It decides nothing: the order of statements, the guards
//! and the change log belong to `crate::apply`. Must not import `checks`,
//! `apply`, `ui` or `report`.
//!
//! # Behavior
//!
//! The session starts with `lock_timeout = 10s`, so a fix never waits
//! unboundedly behind an application's locks, and `application_name =
//! pgsafeguard-apply` unless the connection string names one, so the server
//! log shows which session changed what.

use crate::db::connect::{self, ConnectError, Session};
use crate::db::conninfo::ConnParams;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio_postgres::SimpleQueryMessage;

/// `application_name` of apply sessions when the connection string names none.
pub const APPLY_APPLICATION_NAME: &str = "pgsafeguard-apply";

/// How often waits poll the server.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

pub use crate::model::changelog::ServerError;

impl From<tokio_postgres::Error> for ServerError {
    fn from(error: tokio_postgres::Error) -> Self {
        match error.as_db_error() {
            Some(db) => ServerError {
                sqlstate: Some(db.code().code().to_string()),
                message: db.message().to_string(),
                detail: db.detail().map(str::to_string),
                hint: db.hint().map(str::to_string),
            },
            None => ServerError {
                sqlstate: error.code().map(|c| c.code().to_string()),
                message: error.to_string(),
                detail: None,
                hint: None,
            },
        }
    }
}

/// How the apply session is connected, for the guards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionFacts {
    /// The role that logged in (`session_user`).
    pub session_user: String,
    pub database: String,
    /// `inet_client_addr()`; `None` on a Unix socket.
    pub client_addr: Option<String>,
    /// `inet_server_addr()`; `None` on a Unix socket.
    pub server_addr: Option<String>,
    pub ssl: bool,
    pub superuser: bool,
    pub server_version_num: u32,
}

impl ConnectionFacts {
    /// True for a Unix-socket session.
    pub fn is_local(&self) -> bool {
        self.client_addr.is_none()
    }
}

/// A setting's value as the configuration files hold it now: what the
/// server will use after the next reload (or restart, for restart-only settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredValue {
    pub value: String,
    pub sourcefile: String,
}

impl ConfiguredValue {
    /// True when ALTER SYSTEM wrote it.
    pub fn from_auto_conf(&self) -> bool {
        self.sourcefile.ends_with("postgresql.auto.conf")
    }
}

/// A row of `pg_settings` as a fresh session sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveSetting {
    pub name: String,
    pub setting: Option<String>,
    pub unit: Option<String>,
    pub source: String,
    pub sourcefile: Option<String>,
    pub pending_restart: bool,
    pub context: String,
    pub vartype: String,
}

/// The session role's state, read inside the fix's transaction before COMMIT.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoleState {
    /// False when the fix dropped the role.
    pub exists: bool,
    pub can_login: bool,
    pub superuser: bool,
    /// `rolvaliduntil` is in the past.
    pub expired: bool,
    pub connection_limit: i32,
    /// Superusers that can still log in (LOGIN, not expired), the role included.
    pub login_superusers: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyDbError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("could not {during}: {error}")]
    Server { during: String, error: ServerError },
}

/// The writable session fixes run on.
pub struct ApplySession {
    session: Session,
    facts: ConnectionFacts,
}

impl std::fmt::Debug for ApplySession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplySession")
            .field("facts", &self.facts)
            .finish()
    }
}

const FACTS_SQL: &str = "SELECT session_user::text AS session_user, \
    pg_catalog.current_database()::text AS database, \
    pg_catalog.host(pg_catalog.inet_client_addr()) AS client_addr, \
    pg_catalog.host(pg_catalog.inet_server_addr()) AS server_addr, \
    coalesce((SELECT s.ssl FROM pg_catalog.pg_stat_ssl s \
              WHERE s.pid = pg_catalog.pg_backend_pid()), false) AS ssl, \
    coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r \
              WHERE r.rolname = session_user), false) AS superuser, \
    pg_catalog.current_setting('server_version_num')::int4 AS server_version_num";

const ROLE_STATE_SQL: &str = "SELECT r.rolcanlogin, r.rolsuper, \
    coalesce(r.rolvaliduntil <= pg_catalog.now(), false) AS expired, r.rolconnlimit, \
    (SELECT pg_catalog.count(*) FROM pg_catalog.pg_roles s WHERE s.rolsuper AND s.rolcanlogin \
       AND (s.rolvaliduntil IS NULL OR s.rolvaliduntil > pg_catalog.now())) AS login_superusers \
    FROM (SELECT 1) AS one \
    LEFT JOIN pg_catalog.pg_roles r ON r.rolname = session_user";

const CONFIGURED_SQL: &str = "SELECT DISTINCT ON (pg_catalog.lower(name)) \
    pg_catalog.lower(name) AS name, setting, sourcefile \
    FROM pg_catalog.pg_file_settings WHERE pg_catalog.lower(name) = ANY($1) \
    ORDER BY pg_catalog.lower(name), seqno DESC";

const SETTINGS_SQL: &str = "SELECT name, setting, unit, source, sourcefile, pending_restart, \
    context, vartype FROM pg_catalog.pg_settings WHERE name = ANY($1) ORDER BY name";

impl ApplySession {
    /// Opens the apply session and reads how it is connected.
    pub async fn open(params: &ConnParams) -> Result<ApplySession, ApplyDbError> {
        let mut params = params.clone();
        if params.application_name.is_none() {
            params.application_name = Some(APPLY_APPLICATION_NAME.to_string());
        }
        let session = connect::connect_with(&params, &[("lock_timeout", "10s")]).await?;
        let row = session
            .client
            .query_one(FACTS_SQL, &[])
            .await
            .map_err(|e| server("read who the apply session is", e))?;
        let version: i32 = row.get("server_version_num");
        let facts = ConnectionFacts {
            session_user: row.get("session_user"),
            database: row.get("database"),
            client_addr: row.get("client_addr"),
            server_addr: row.get("server_addr"),
            ssl: row.get("ssl"),
            superuser: row.get("superuser"),
            server_version_num: u32::try_from(version).unwrap_or(0),
        };
        Ok(ApplySession { session, facts })
    }

    pub fn facts(&self) -> &ConnectionFacts {
        &self.facts
    }

    /// Ends the session.
    pub async fn close(self) {
        self.session.close().await;
    }

    /// Runs one statement on its own and returns the server's answer
    /// (`ok`, or `ok, N rows`).
    pub async fn execute(&self, sql: &str) -> Result<String, ServerError> {
        let messages = self.session.client.simple_query(sql).await?;
        let rows: u64 = messages
            .iter()
            .map(|m| match m {
                SimpleQueryMessage::CommandComplete(n) => *n,
                _ => 0,
            })
            .sum();
        Ok(if rows == 0 {
            "ok".to_string()
        } else {
            format!("ok, {rows} rows")
        })
    }

    pub async fn begin(&self) -> Result<(), ServerError> {
        Ok(self.session.client.batch_execute("BEGIN").await?)
    }

    pub async fn commit(&self) -> Result<(), ServerError> {
        Ok(self.session.client.batch_execute("COMMIT").await?)
    }

    pub async fn rollback(&self) -> Result<(), ServerError> {
        Ok(self.session.client.batch_execute("ROLLBACK").await?)
    }

    /// The session role's state as the current transaction sees it.
    pub async fn role_state(&self) -> Result<RoleState, ServerError> {
        let row = self.session.client.query_one(ROLE_STATE_SQL, &[]).await?;
        let can_login: Option<bool> = row.get("rolcanlogin");
        Ok(RoleState {
            exists: can_login.is_some(),
            can_login: can_login.unwrap_or(false),
            superuser: row.get::<_, Option<bool>>("rolsuper").unwrap_or(false),
            expired: row.get("expired"),
            connection_limit: row.get::<_, Option<i32>>("rolconnlimit").unwrap_or(-1),
            login_superusers: row.get("login_superusers"),
        })
    }

    /// The values the configuration files hold for `names` (lower case),
    /// the last line of each winning, as the next reload or restart will
    /// read them. Needs the right to read `pg_file_settings` (superuser by default).
    pub async fn configured_values(
        &self,
        names: &[String],
    ) -> Result<BTreeMap<String, ConfiguredValue>, ServerError> {
        let lower: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
        let rows = self.session.client.query(CONFIGURED_SQL, &[&lower]).await?;
        Ok(rows
            .iter()
            .map(|row| {
                let value: Option<String> = row.get("setting");
                let file: Option<String> = row.get("sourcefile");
                (
                    row.get::<_, String>("name"),
                    ConfiguredValue {
                        value: value.unwrap_or_default(),
                        sourcefile: file.unwrap_or_default(),
                    },
                )
            })
            .collect())
    }

    /// Which of `libraries` (as written in `shared_preload_libraries`) the
    /// server cannot find: each is looked up as PostgreSQL does, along
    /// `dynamic_library_path` with `$libdir` expanded, with and without the
    /// platform suffix, using `pg_stat_file` on the server (so it also works
    /// when the server is remote). Needs superuser (or the grants named in
    /// the error).
    pub async fn missing_libraries(
        &self,
        libraries: &[String],
    ) -> Result<Vec<String>, ServerError> {
        if libraries.is_empty() {
            return Ok(Vec::new());
        }
        let row = self
            .session
            .client
            .query_one(
                "SELECT (SELECT setting FROM pg_catalog.pg_config WHERE name = 'PKGLIBDIR') \
                 AS libdir, pg_catalog.current_setting('dynamic_library_path') AS path",
                &[],
            )
            .await?;
        let libdir: Option<String> = row.get("libdir");
        let path: String = row.get("path");
        let libdir = libdir.unwrap_or_default();
        let mut missing = Vec::new();
        for library in libraries {
            if !self.library_exists(library, &libdir, &path).await? {
                missing.push(library.clone());
            }
        }
        Ok(missing)
    }

    async fn library_exists(
        &self,
        library: &str,
        libdir: &str,
        path: &str,
    ) -> Result<bool, ServerError> {
        for candidate in library_candidates(library, libdir, path) {
            let row = self
                .session
                .client
                .query_one(
                    "SELECT (pg_catalog.pg_stat_file($1, true)).isdir AS isdir",
                    &[&candidate],
                )
                .await?;
            if row.get::<_, Option<bool>>("isdir") == Some(false) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// `pg_conf_load_time()` as text: it changes once this backend has
    /// re-read the configuration files.
    pub async fn conf_load_time(&self) -> Result<String, ServerError> {
        let row = self
            .session
            .client
            .query_one("SELECT pg_catalog.pg_conf_load_time()::text AS t", &[])
            .await?;
        Ok(row.get("t"))
    }

    /// `SELECT pg_reload_conf()`, then waits until this backend has
    /// re-read the files (the postmaster has by then, so new sessions see
    /// the new values). Returns false when `timeout` ran out first.
    pub async fn reload_and_wait(&self, timeout: Duration) -> Result<bool, ServerError> {
        let before = self.conf_load_time().await?;
        self.session
            .client
            .batch_execute("SELECT pg_catalog.pg_reload_conf()")
            .await?;
        let deadline = Instant::now() + timeout;
        loop {
            if self.conf_load_time().await? != before {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

/// The files PostgreSQL would try for a `shared_preload_libraries` entry.
fn library_candidates(library: &str, libdir: &str, path: &str) -> Vec<String> {
    let expand = |text: &str| text.replacen("$libdir", libdir, 1);
    let bases: Vec<String> = if library.contains('/') {
        vec![expand(library)]
    } else {
        path.split(':')
            .map(str::trim)
            .filter(|dir| !dir.is_empty())
            .map(|dir| format!("{}/{library}", expand(dir)))
            .collect()
    };
    bases
        .into_iter()
        .flat_map(|base| {
            ["", ".so", ".dylib", ".dll"]
                .into_iter()
                .map(move |suffix| format!("{base}{suffix}"))
        })
        .collect()
}

/// Reads `pg_settings` rows for `names` on a new session (settings that
/// apply per session, such as `log_connections`, show only there).
pub async fn read_settings_fresh(
    params: &ConnParams,
    names: &[String],
) -> Result<Vec<LiveSetting>, ApplyDbError> {
    let session = connect::connect_with(params, &[("default_transaction_read_only", "on")]).await?;
    let rows = session.client.query(SETTINGS_SQL, &[&names]).await;
    session.close().await;
    let rows = rows.map_err(|e| server("read pg_settings", e))?;
    Ok(rows
        .iter()
        .map(|row| LiveSetting {
            name: row.get("name"),
            setting: row.get("setting"),
            unit: row.get("unit"),
            source: row.get("source"),
            sourcefile: row.get("sourcefile"),
            pending_restart: row.get("pending_restart"),
            context: row.get("context"),
            vartype: row.get("vartype"),
        })
        .collect())
}

/// Polls [`read_settings_fresh`] until `settled` accepts the rows or
/// `timeout` runs out; returns the last rows read and whether they settled.
pub async fn wait_for_settings(
    params: &ConnParams,
    names: &[String],
    timeout: Duration,
    settled: impl Fn(&[LiveSetting]) -> bool,
) -> Result<(Vec<LiveSetting>, bool), ApplyDbError> {
    let deadline = Instant::now() + timeout;
    loop {
        let rows = read_settings_fresh(params, names).await?;
        if settled(&rows) {
            return Ok((rows, true));
        }
        if Instant::now() >= deadline {
            return Ok((rows, false));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Whether a new session with these parameters is admitted (after a
/// pg_hba.conf change).
pub async fn probe_login(params: &ConnParams) -> Result<(), ConnectError> {
    let session = connect::connect(params).await?;
    session.close().await;
    Ok(())
}

fn server(during: &str, error: tokio_postgres::Error) -> ApplyDbError {
    ApplyDbError::Server {
        during: during.to_string(),
        error: error.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_candidates_follow_the_library_path() {
        let found = library_candidates("pgaudit", "/usr/lib/pg", "$libdir:/opt/ext");
        assert!(found.contains(&"/usr/lib/pg/pgaudit.so".to_string()));
        assert!(found.contains(&"/opt/ext/pgaudit".to_string()));
        let found = library_candidates("$libdir/plugins/x", "/usr/lib/pg", "$libdir");
        assert!(found.contains(&"/usr/lib/pg/plugins/x.so".to_string()));
        assert!(found.iter().all(|c| !c.contains("$libdir")));
    }

    #[test]
    fn server_error_names_the_sqlstate() {
        let e = ServerError {
            sqlstate: Some("42501".into()),
            message: "permission denied to alter role".into(),
            detail: None,
            hint: None,
        };
        assert_eq!(
            e.to_string(),
            "permission denied to alter role (SQLSTATE 42501)"
        );
    }
}

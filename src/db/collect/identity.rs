//! Round 1's query: who the scanner is, what it may see, and what the
//! server is. Its answers choose the version-specific SQL of the parts and
//! the gaps known before any part runs.

use super::part::{get, text_list, DecodeError};
use super::passwords::{self, FunctionState};
use super::CollectError;
use crate::model::snapshot::TlsInfo;
use tokio_postgres::Row;

/// Who the scanner is and what it may see, read in round 1.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Identity {
    pub current_user: String,
    pub server_version: String,
    pub server_version_num: u32,
    pub database: String,
    pub server_time: Option<String>,
    pub sees_all_settings: bool,
    pub sees_all_sessions: bool,
    pub own_tls: Option<TlsInfo>,
    pub databases_allowing_connections: Vec<String>,
    /// `transaction_read_only` as the server sees it inside the scan transaction.
    pub transaction_read_only: bool,
    /// Whether the scanner may read `rolname` and `rolpassword` of pg_authid.
    pub reads_pg_authid: bool,
    /// What `pgsafeguard.password_kinds()` is to the scanner in this database.
    pub password_kinds_function: FunctionState,
    /// Whether the scanner may read `pg_subscription.subconninfo`.
    pub reads_subconninfo: bool,
    /// What `pgsafeguard.stored_credentials()` is to the scanner in this database.
    pub stored_credentials_function: FunctionState,
}

impl Identity {
    /// Where the `password_kinds` part can read from.
    pub fn password_source(&self) -> passwords::Source {
        passwords::choose(self.reads_pg_authid, self.password_kinds_function)
    }
}

/// `pg_has_role(…, 'USAGE')` and the privilege functions also answer true for
/// superusers. The scanner-role script's functions are looked up in the catalogs, not
/// with `to_regprocedure`, which raises an error when their schema exists but is not
/// usable; see `passwords` for why owner and SECURITY DEFINER matter.
pub(super) fn identity_sql() -> String {
    format!(
        "SELECT current_user::text AS current_user, \
         pg_catalog.current_setting('server_version') AS server_version, \
         pg_catalog.current_setting('server_version_num')::int4 AS server_version_num, \
         pg_catalog.current_database()::text AS database, \
         pg_catalog.current_setting('transaction_read_only')::bool AS transaction_read_only, \
         pg_catalog.to_char(pg_catalog.clock_timestamp() AT TIME ZONE 'UTC', \
                            'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS server_time, \
         pg_catalog.pg_has_role(current_user, 'pg_read_all_settings', 'USAGE') AS sees_all_settings, \
         pg_catalog.pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS sees_all_sessions, \
         s.version AS tls_version, s.cipher AS tls_cipher, s.bits AS tls_bits, \
         ARRAY(SELECT datname::text FROM pg_catalog.pg_database \
               WHERE datallowconn AND NOT datistemplate ORDER BY datname) AS databases, \
         pg_catalog.has_column_privilege('pg_catalog.pg_authid', 'rolname', 'SELECT') \
           AND pg_catalog.has_column_privilege('pg_catalog.pg_authid', 'rolpassword', 'SELECT') \
           AS reads_pg_authid, \
         pg_catalog.has_column_privilege('pg_catalog.pg_subscription', 'subconninfo', 'SELECT') \
           AS reads_subconninfo, \
         {} AS password_kinds_function, \
         {} AS stored_credentials_function \
         FROM (SELECT 1) AS one \
         LEFT JOIN pg_catalog.pg_stat_ssl s ON s.pid = pg_catalog.pg_backend_pid() AND s.ssl",
        function_state("password_kinds"),
        function_state("stored_credentials")
    )
}

/// What `pgsafeguard.<name>()` (no arguments) is to the scanner: missing,
/// untrusted (not a superuser's SECURITY DEFINER function), denied or usable.
fn function_state(name: &str) -> String {
    format!(
        "coalesce((SELECT CASE WHEN NOT (o.rolsuper AND p.prosecdef) THEN 'untrusted' \
                               WHEN pg_catalog.has_schema_privilege(p.pronamespace, 'USAGE') \
                                AND pg_catalog.has_function_privilege(p.oid, 'EXECUTE') \
                               THEN 'usable' ELSE 'denied' END \
                   FROM pg_catalog.pg_proc p \
                   JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
                   JOIN pg_catalog.pg_roles o ON o.oid = p.proowner \
                   WHERE n.nspname = 'pgsafeguard' AND p.proname = '{name}' \
                     AND p.pronargs = 0 LIMIT 1), 'missing')"
    )
}

impl Identity {
    pub fn from_row(row: &Row) -> Result<Self, CollectError> {
        Self::decode(row).map_err(|e| CollectError::Identity {
            detail: e.to_string(),
        })
    }

    fn decode(row: &Row) -> Result<Self, DecodeError> {
        let tls_version: Option<String> = get(row, "tls_version")?;
        let own_tls = match tls_version {
            Some(version) => Some(TlsInfo {
                version: Some(version),
                cipher: get(row, "tls_cipher")?,
                bits: get(row, "tls_bits")?,
                server_certificate: None,
            }),
            None => None,
        };
        let version_num: i32 = get(row, "server_version_num")?;
        Ok(Identity {
            current_user: get(row, "current_user")?,
            server_version: get(row, "server_version")?,
            server_version_num: u32::try_from(version_num).unwrap_or(0),
            database: get(row, "database")?,
            server_time: get(row, "server_time")?,
            sees_all_settings: get(row, "sees_all_settings")?,
            sees_all_sessions: get(row, "sees_all_sessions")?,
            own_tls,
            databases_allowing_connections: text_list(row, "databases")?,
            transaction_read_only: get(row, "transaction_read_only")?,
            reads_pg_authid: get(row, "reads_pg_authid")?,
            password_kinds_function: FunctionState::from_column(&get::<String>(
                row,
                "password_kinds_function",
            )?),
            reads_subconninfo: get(row, "reads_subconninfo")?,
            stored_credentials_function: FunctionState::from_column(&get::<String>(
                row,
                "stored_credentials_function",
            )?),
        })
    }
}

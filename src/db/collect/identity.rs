//! Round 1's query: who the scanner is, what it may see, and what the
//! server is. Its answers choose the version-specific SQL of the parts and
//! the gaps known before any part runs.

use super::part::{get, text_list, DecodeError};
use super::CollectError;
use crate::snapshot::TlsInfo;
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
}

/// `pg_has_role(…, 'USAGE')` also answers true for superusers.
pub(super) const IDENTITY: &str = "SELECT current_user::text AS current_user, \
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
           WHERE datallowconn AND NOT datistemplate ORDER BY datname) AS databases \
     FROM (SELECT 1) AS one \
     LEFT JOIN pg_catalog.pg_stat_ssl s ON s.pid = pg_catalog.pg_backend_pid() AND s.ssl";

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
        })
    }
}

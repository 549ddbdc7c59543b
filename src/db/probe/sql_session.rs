//! A SQL session for the probes that need one (rls, audit): opened from the
//! scan's connection parameters in a chosen database, announcing the probe in
//! `application_name`, read-only from its first statement
//! (`default_transaction_read_only`) and bounded by the attempt timeout; with
//! the route it took, for a proof's `from`, and the server's error text, for
//! a proof's `answer`.
//!
//! Part of `db::probe`; must not import `checks`, `ui` or `report`.

use super::ProbeContext;
use crate::db::connect::{connect_with, Session};
use std::net::{IpAddr, SocketAddr};

/// An open probe session and where it runs.
pub struct ProbeSession {
    pub session: Session,
    /// `client → server:port` as the server saw it, or the Unix socket.
    pub from: String,
}

/// Open a read-only session to `dbname` as the scan's user, named `application_name`.
pub async fn open(
    ctx: &ProbeContext<'_>,
    dbname: &str,
    application_name: String,
) -> Result<ProbeSession, String> {
    let mut params = ctx.params.with_dbname(dbname);
    params.application_name = Some(application_name);
    let limit = ctx.options.attempt_timeout;
    params.connect_timeout = Some(params.connect_timeout.map_or(limit, |own| own.min(limit)));
    let session = connect_with(&params, &[("default_transaction_read_only", "on")])
        .await
        .map_err(|e| e.to_string())?;
    let from = route_of(&session, &params.host, params.port).await;
    Ok(ProbeSession { session, from })
}

/// The route as the server saw it (`inet_client_addr`, `inet_server_addr`):
/// the addresses that matter to pg_hba.conf, whatever name we dialled.
async fn route_of(session: &Session, host: &str, port: u16) -> String {
    let row = session
        .client
        .query_one(
            "SELECT host(inet_client_addr()), host(inet_server_addr()), inet_server_port()",
            &[],
        )
        .await;
    let addresses = row.ok().and_then(|row| {
        let client: Option<String> = row.get(0);
        let server: Option<String> = row.get(1);
        let server_port: Option<i32> = row.get(2);
        Some((client?, server?, server_port?))
    });
    match addresses {
        Some((client, server, server_port)) => {
            let client = client.parse::<IpAddr>().ok();
            let server = server.parse::<IpAddr>().ok();
            let server_port = u16::try_from(server_port).ok();
            match (client, server, server_port) {
                (Some(client), Some(server), Some(port)) => super::route(
                    Some(SocketAddr::new(client, 0)),
                    SocketAddr::new(server, port),
                ),
                _ => format!("this machine → {host}:{port}"),
            }
        }
        None => format!("Unix socket {host}/.s.PGSQL.{port}"),
    }
}

/// The server's words for a failed statement (`ERROR 42501: permission
/// denied …`), or the client's when the server said nothing.
pub fn error_text(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
        None => error.to_string(),
    }
}

/// The SQLSTATE of a failed statement, when the server sent one.
pub fn sqlstate(error: &tokio_postgres::Error) -> Option<&str> {
    error.code().map(|code| code.code())
}

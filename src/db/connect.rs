//! Opening a session to PostgreSQL and recording what the connection really was.
//!
//! Owns: building tokio-postgres's `Config` from [`ConnParams`], name
//! resolution, libpq's sslmode fallbacks (allow, prefer), the spawned
//! connection task, the [`Target`] record (host, port, database, user, the
//! sslmode asked for, and the TLS version, cipher and server certificate
//! actually in use) and [`ConnectError`]. Must not import `checks`, `ui` or
//! `report`.
//!
//! # Behavior
//!
//! - `disable`: plain connection.
//! - `allow`: plain first; if the server's pg_hba.conf rejects it, again with TLS.
//! - `prefer`: TLS if the server offers it, else plain; if the TLS attempt
//!   fails in the handshake or pg_hba.conf rejects it, again without TLS.
//! - `require`, `verify-ca`, `verify-full`: TLS or nothing; what is verified
//!   is described in [`crate::db::tls`].
//! - Unix sockets never use TLS: PostgreSQL does not offer it there and libpq
//!   ignores sslmode for them. The sslmode asked for is still recorded, and
//!   `tls` stays `None`, so the report shows what happened.
//!
//! Unlike libpq, a wrong password (SQLSTATE 28P01) is not retried with the
//! other transport: it would only log a second failed login on the server.
//!
//! `connect_timeout` bounds each attempt as a whole (name resolution, TCP,
//! handshake and authentication), per resolved address.

use crate::db::conninfo::{ConnParams, SslMode};
use crate::db::tls::{describe_certificate, CapturedCertificate, MakePgTls, PgTlsStream, TlsError};
use crate::model::snapshot::{Target, TlsInfo};
use std::error::Error as _;
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_postgres::config::SslMode as WireSslMode;
use tokio_postgres::error::{DbError, SqlState};
use tokio_postgres::{Client, Config, Connection, Socket};

/// `application_name` sent when the connection string names none.
pub const DEFAULT_APPLICATION_NAME: &str = "pgsafeguard";

/// Why a session could not be opened. Messages never contain the password.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "hostaddr \"{value}\" is not an IP address: give a numeric address, or use host for a name"
    )]
    InvalidHostaddr { value: String },

    #[error("could not resolve host \"{host}\": check the host name")]
    UnknownHost { host: String },

    #[error("connection refused at {target}: is the server running and listening there?")]
    Refused { target: String },

    #[error(
        "no server socket at {target}: is the server running, and are the socket directory and port right?"
    )]
    SocketMissing { target: String },

    #[error(
        "timed out connecting to {target}{}: check the host, port and firewall, or raise connect_timeout",
        after_seconds(.seconds)
    )]
    Timeout {
        target: String,
        /// The connect_timeout that ran out; `None` when the system gave up.
        seconds: Option<u64>,
    },

    #[error("could not connect to {target} ({detail}): check the host, port and network")]
    Network { target: String, detail: String },

    #[error(
        "the connection to {target} closed during startup ({detail}): \
         is a PostgreSQL server listening there, with no proxy or firewall cutting it off?"
    )]
    ClosedDuringStartup { target: String, detail: String },

    #[error(
        "the server does not accept TLS connections (sslmode={sslmode}): enable ssl on the server or use sslmode=prefer"
    )]
    ServerWithoutTls { sslmode: String },

    #[error(transparent)]
    Tls(#[from] TlsError),

    #[error(
        "the server asks for a password for user \"{user}\" and none was given: put it in ~/.pgpass or PGPASSWORD"
    )]
    PasswordMissing { user: String },

    #[error("password authentication failed for user \"{user}\": check the password or ~/.pgpass")]
    AuthFailed { user: String },

    #[error("the server's pg_hba.conf does not allow this connection ({message}): {hint}")]
    NoHbaEntry { message: String, hint: String },

    #[error("database \"{dbname}\" does not exist: check dbname")]
    DatabaseMissing { dbname: String },

    #[error("the server refused the connection: {message} (SQLSTATE {sqlstate})")]
    Rejected { sqlstate: String, message: String },

    #[error("could not connect to {target}: {detail}")]
    Other { target: String, detail: String },
}

fn after_seconds(seconds: &Option<u64>) -> String {
    seconds
        .map(|seconds| format!(" after {seconds} s"))
        .unwrap_or_default()
}

impl ConnectError {
    /// The SQLSTATE the server sent, when the server refused the session.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            ConnectError::AuthFailed { .. } => Some(SqlState::INVALID_PASSWORD.code()),
            ConnectError::NoHbaEntry { .. } => {
                Some(SqlState::INVALID_AUTHORIZATION_SPECIFICATION.code())
            }
            ConnectError::DatabaseMissing { .. } => Some(SqlState::INVALID_CATALOG_NAME.code()),
            ConnectError::Rejected { sqlstate, .. } => Some(sqlstate),
            _ => None,
        }
    }

    /// A failure of the TLS handshake itself (certificate or protocol), which
    /// sslmode=prefer answers by trying without TLS, as libpq does.
    fn is_tls_handshake_failure(&self) -> bool {
        matches!(
            self,
            ConnectError::Tls(
                TlsError::HostNameMismatch { .. }
                    | TlsError::CertificateUntrusted { .. }
                    | TlsError::Handshake { .. }
            )
        )
    }
}

/// An open session and what it really is.
pub struct Session {
    pub client: Client,
    /// Host, port, database, user, the sslmode asked for and the TLS really
    /// in use. `server_version` and `system_identifier` are left for the
    /// collector to fill.
    pub target: Target,
    connection: JoinHandle<Result<(), tokio_postgres::Error>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("target", &self.target)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Session {
    /// True once the connection to the server is gone.
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Ends the session and waits for the connection task to finish.
    pub async fn close(self) {
        let Session {
            client, connection, ..
        } = self;
        drop(client);
        // The task ends once the client is gone; how it ended no longer matters.
        let _ = connection.await;
    }
}

/// Opens a session as libpq would for these parameters.
///
/// Must run inside a tokio runtime: the connection task is spawned on it.
pub async fn connect(params: &ConnParams) -> Result<Session, ConnectError> {
    connect_with(params, &[]).await
}

/// Like [`connect`], with extra settings for the session, sent at startup as
/// `-c name=value` (e.g. `default_transaction_read_only=on`).
pub async fn connect_with(
    params: &ConnParams,
    session_options: &[(&str, &str)],
) -> Result<Session, ConnectError> {
    let tls = MakePgTls::from_params(params)?;
    let route = within_timeout(params, 1, resolve_route(params)).await?;
    let base = base_config(params, session_options);
    let established = connect_following_sslmode(params, &route, &base, &tls).await?;
    let connection = tokio::spawn(established.connection);
    let tls_info = read_tls_info(
        &established.client,
        established.certificate,
        params.connect_timeout,
    )
    .await;
    Ok(Session {
        client: established.client,
        target: Target {
            host: target_host(params),
            port: params.port,
            dbname: params.dbname.clone(),
            user: params.user.clone(),
            sslmode: params.sslmode.as_str().to_owned(),
            tls: tls_info,
            ..Target::default()
        },
        connection,
    })
}

/// Whether an attempt uses TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Plain,
    /// TLS if the server answers the SSL request with yes, else plain.
    TlsIfOffered,
    TlsRequired,
}

impl Transport {
    fn wire_mode(self) -> WireSslMode {
        match self {
            Transport::Plain => WireSslMode::Disable,
            Transport::TlsIfOffered => WireSslMode::Prefer,
            Transport::TlsRequired => WireSslMode::Require,
        }
    }
}

fn first_transport(params: &ConnParams) -> Transport {
    if params.is_unix_socket() {
        return Transport::Plain;
    }
    match params.sslmode {
        SslMode::Disable | SslMode::Allow => Transport::Plain,
        SslMode::Prefer => Transport::TlsIfOffered,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Transport::TlsRequired,
    }
}

/// libpq's second try: allow adds TLS after a pg_hba.conf rejection; prefer
/// drops TLS after a failed handshake or a pg_hba.conf rejection.
fn fallback_transport(params: &ConnParams, failure: &ConnectError) -> Option<Transport> {
    if params.is_unix_socket() {
        return None;
    }
    let rejected_by_hba = matches!(failure, ConnectError::NoHbaEntry { .. });
    match params.sslmode {
        SslMode::Allow if rejected_by_hba => Some(Transport::TlsRequired),
        SslMode::Prefer if rejected_by_hba || failure.is_tls_handshake_failure() => {
            Some(Transport::Plain)
        }
        _ => None,
    }
}

struct Established {
    client: Client,
    connection: Connection<Socket, PgTlsStream<Socket>>,
    certificate: Option<Vec<u8>>,
}

async fn connect_following_sslmode(
    params: &ConnParams,
    route: &Route,
    base: &Config,
    tls: &MakePgTls,
) -> Result<Established, ConnectError> {
    let first = first_transport(params);
    let first_failure = match attempt(params, route, base, tls, first).await {
        Ok(established) => return Ok(established),
        Err(failure) => failure,
    };
    let Some(second) = fallback_transport(params, &first_failure) else {
        return Err(first_failure);
    };
    match attempt(params, route, base, tls, second).await {
        Ok(established) => Ok(established),
        // A pg_hba.conf rejection of the retry says less than the first failure.
        Err(ConnectError::NoHbaEntry { .. }) => Err(first_failure),
        Err(second_failure) => Err(second_failure),
    }
}

async fn attempt(
    params: &ConnParams,
    route: &Route,
    base: &Config,
    tls: &MakePgTls,
    transport: Transport,
) -> Result<Established, ConnectError> {
    let config = config_for(base, route, params.port, transport);
    let tls = tls.fresh_attempt();
    let captured: CapturedCertificate = tls.captured();
    let connecting = async {
        config
            .connect(tls)
            .await
            .map_err(|error| classify(error, params))
    };
    let (client, connection) = within_timeout(params, route.address_count(), connecting).await?;
    Ok(Established {
        client,
        connection,
        certificate: captured.get(),
    })
}

/// Runs `work` under `connect_timeout` (times `attempts`), if one is set.
async fn within_timeout<T>(
    params: &ConnParams,
    attempts: usize,
    work: impl std::future::Future<Output = Result<T, ConnectError>>,
) -> Result<T, ConnectError> {
    let Some(limit) = params.connect_timeout else {
        return work.await;
    };
    let factor = u32::try_from(attempts.max(1)).unwrap_or(u32::MAX);
    let total = limit.saturating_mul(factor);
    tokio::time::timeout(total, work)
        .await
        .unwrap_or_else(|_| Err(timeout_error(params, limit)))
}

fn timeout_error(params: &ConnParams, limit: Duration) -> ConnectError {
    ConnectError::Timeout {
        target: network_target(params),
        seconds: Some(limit.as_secs().max(1)),
    }
}

/// Where the socket goes. For TCP, `name` is what the certificate must
/// match and `addresses` are tried in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Socket(PathBuf),
    Tcp {
        name: String,
        addresses: Vec<IpAddr>,
    },
}

impl Route {
    fn address_count(&self) -> usize {
        match self {
            Route::Socket(_) => 1,
            Route::Tcp { addresses, .. } => addresses.len(),
        }
    }
}

/// Resolves the host ourselves so that an unknown name gets its own message;
/// tokio-postgres then connects to each address while checking the
/// certificate against the name.
async fn resolve_route(params: &ConnParams) -> Result<Route, ConnectError> {
    if params.is_unix_socket() {
        return Ok(Route::Socket(PathBuf::from(&params.host)));
    }
    let name = certificate_name(params);
    if let Some(hostaddr) = &params.hostaddr {
        let address = hostaddr
            .parse::<IpAddr>()
            .map_err(|_| ConnectError::InvalidHostaddr {
                value: hostaddr.clone(),
            })?;
        return Ok(Route::Tcp {
            name,
            addresses: vec![address],
        });
    }
    if let Ok(address) = name.parse::<IpAddr>() {
        return Ok(Route::Tcp {
            name,
            addresses: vec![address],
        });
    }
    let unknown = || ConnectError::UnknownHost { host: name.clone() };
    let resolved = tokio::net::lookup_host((name.as_str(), params.port))
        .await
        .map_err(|_| unknown())?;
    let mut addresses: Vec<IpAddr> = Vec::new();
    for address in resolved.map(|socket| socket.ip()) {
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    if addresses.is_empty() {
        return Err(unknown());
    }
    Ok(Route::Tcp { name, addresses })
}

/// The name the server certificate must carry: the host as typed, or the
/// hostaddr when no host name was given (conninfo then copies hostaddr into
/// host) or when host names a socket directory that hostaddr overrides.
fn certificate_name(params: &ConnParams) -> String {
    match &params.hostaddr {
        Some(hostaddr) if params.host.is_empty() || params.host.starts_with('/') => {
            hostaddr.clone()
        }
        _ => params.host.clone(),
    }
}

fn target_host(params: &ConnParams) -> String {
    if params.is_unix_socket() {
        params.host.clone()
    } else {
        certificate_name(params)
    }
}

/// Everything but the route and the transport.
fn base_config(params: &ConnParams, session_options: &[(&str, &str)]) -> Config {
    let mut config = Config::new();
    config
        .user(&params.user)
        .dbname(&params.dbname)
        .application_name(
            params
                .application_name
                .as_deref()
                .unwrap_or(DEFAULT_APPLICATION_NAME),
        );
    if let Some(password) = &params.password {
        config.password(password.expose());
    }
    if let Some(limit) = params.connect_timeout {
        config.connect_timeout(limit);
    }
    if let Some(options) = startup_options(params.options.as_deref(), session_options) {
        config.options(options);
    }
    config
}

fn config_for(base: &Config, route: &Route, port: u16, transport: Transport) -> Config {
    let mut config = base.clone();
    match route {
        Route::Socket(directory) => {
            config.host_path(directory);
        }
        Route::Tcp { name, addresses } => {
            // tokio-postgres pairs the n-th host with the n-th hostaddr: the
            // name is used for the certificate, the address for the socket.
            for address in addresses {
                config.host(name.as_str()).hostaddr(*address);
            }
        }
    }
    config.port(port).ssl_mode(transport.wire_mode());
    config
}

/// The `options` startup parameter: the user's options, then one
/// `-c name=value` per session setting, escaped as the server splits them.
fn startup_options(user_options: Option<&str>, session_options: &[(&str, &str)]) -> Option<String> {
    let mut parts: Vec<String> = user_options
        .map(str::trim)
        .filter(|options| !options.is_empty())
        .map(str::to_owned)
        .into_iter()
        .collect();
    for (name, value) in session_options {
        parts.push(format!(
            "-c {}={}",
            escape_option(name),
            escape_option(value)
        ));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The server splits `options` on unescaped white space; a backslash
/// escapes the next character.
fn escape_option(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if character == '\\' || character.is_ascii_whitespace() {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

/// What pg_stat_ssl says about our own backend, with the certificate the
/// handshake captured. `None` when the session is not encrypted.
/// A server that does not answer within `limit` gives no row, not a hang.
async fn read_tls_info(
    client: &Client,
    certificate: Option<Vec<u8>>,
    limit: Option<Duration>,
) -> Option<TlsInfo> {
    let server_certificate = certificate
        .as_deref()
        .and_then(|der| describe_certificate(der).ok());
    let query = client.query_opt(
        "SELECT ssl, version, cipher, bits FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        &[],
    );
    let answer = match limit {
        Some(limit) => tokio::time::timeout(limit, query).await.ok(),
        None => Some(query.await),
    };
    let row = answer.and_then(Result::ok).flatten();
    let server_says_ssl = row
        .as_ref()
        .and_then(|row| row.try_get::<_, bool>(0).ok())
        .unwrap_or(false);
    if !server_says_ssl && certificate.is_none() {
        return None;
    }
    let column = |index: usize| {
        row.as_ref()
            .and_then(|row| row.try_get::<_, Option<String>>(index).ok().flatten())
    };
    Some(TlsInfo {
        version: column(1),
        cipher: column(2),
        bits: row
            .as_ref()
            .and_then(|row| row.try_get::<_, Option<i32>>(3).ok().flatten()),
        server_certificate,
    })
}

/// Turns a tokio-postgres connection error into one that says what to do.
fn classify(error: tokio_postgres::Error, params: &ConnParams) -> ConnectError {
    if let Some(db_error) = error.as_db_error() {
        return from_server_error(db_error, params);
    }
    let summary = error.to_string();
    if let Some(io_error) = error.source().and_then(|s| s.downcast_ref::<io::Error>()) {
        // tokio-postgres says "error connecting to server" while opening the
        // socket and "error communicating with the server" afterwards.
        let during_startup = summary != "error connecting to server";
        return from_io_error(io_error, params, during_startup);
    }
    let cause = error.source().map(ToString::to_string).unwrap_or_default();
    if let Some(source) = error.into_source() {
        if let Ok(tls_error) = source.downcast::<TlsError>() {
            return ConnectError::Tls(*tls_error);
        }
    }
    // tokio-postgres reports these two with fixed texts and no error type.
    match cause.as_str() {
        "server does not support TLS" => ConnectError::ServerWithoutTls {
            sslmode: params.sslmode.as_str().to_owned(),
        },
        "password missing" => ConnectError::PasswordMissing {
            user: params.user.clone(),
        },
        "" if summary == "connection closed" => ConnectError::ClosedDuringStartup {
            target: network_target(params),
            detail: summary,
        },
        "" => ConnectError::Other {
            target: params.display_target(),
            detail: summary,
        },
        _ => ConnectError::Other {
            target: params.display_target(),
            detail: format!("{summary}: {cause}"),
        },
    }
}

fn from_server_error(db_error: &DbError, params: &ConnParams) -> ConnectError {
    let code = db_error.code();
    let message = db_error.message().to_owned();
    if *code == SqlState::INVALID_PASSWORD {
        ConnectError::AuthFailed {
            user: params.user.clone(),
        }
    } else if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        && message.starts_with("no pg_hba.conf entry")
    {
        let hint = hba_hint(&message).to_owned();
        ConnectError::NoHbaEntry { message, hint }
    } else if *code == SqlState::INVALID_CATALOG_NAME {
        ConnectError::DatabaseMissing {
            dbname: params.dbname.clone(),
        }
    } else {
        ConnectError::Rejected {
            sqlstate: code.code().to_owned(),
            message,
        }
    }
}

/// The server's message ends with "no encryption" or "SSL encryption"
/// (in English); it tells which kind of pg_hba.conf line was missing.
fn hba_hint(message: &str) -> &'static str {
    if message.ends_with("no encryption") {
        "connect with TLS (sslmode=require or stronger), or ask the DBA for a pg_hba.conf line for this user, database and address"
    } else {
        "ask the DBA for a hostssl line in pg_hba.conf for this user, database and address"
    }
}

/// Where the socket goes, for network-level messages: `host:port` (with the
/// hostaddr actually dialled) or the socket file.
fn network_target(params: &ConnParams) -> String {
    if params.is_unix_socket() {
        return format!(
            "\"{}\"",
            PathBuf::from(&params.host)
                .join(format!(".s.PGSQL.{}", params.port))
                .display()
        );
    }
    let host = if params.host.contains(':') {
        format!("[{}]", params.host)
    } else {
        params.host.clone()
    };
    match &params.hostaddr {
        Some(hostaddr) if *hostaddr != params.host => {
            format!("{host}:{} (address {hostaddr})", params.port)
        }
        _ => format!("{host}:{}", params.port),
    }
}

/// `during_startup`: the socket was open and the server (or whatever
/// listens there) stopped talking before the session was ready.
fn from_io_error(io_error: &io::Error, params: &ConnParams, during_startup: bool) -> ConnectError {
    let target = network_target(params);
    match io_error.kind() {
        io::ErrorKind::ConnectionRefused => ConnectError::Refused { target },
        io::ErrorKind::NotFound if params.is_unix_socket() => {
            ConnectError::SocketMissing { target }
        }
        io::ErrorKind::TimedOut => ConnectError::Timeout {
            target,
            seconds: params.connect_timeout.map(|limit| limit.as_secs().max(1)),
        },
        _ if during_startup => ConnectError::ClosedDuringStartup {
            target,
            detail: io_error.to_string(),
        },
        _ => ConnectError::Network {
            target,
            detail: io_error.to_string(),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly on purpose
mod tests {
    use super::*;
    use tokio_postgres::config::Host;

    fn params(conninfo: &str) -> ConnParams {
        ConnParams::from_conninfo_with_env(conninfo, &|_| None).unwrap()
    }

    const SECRET: &str = "hunter2-Secret";

    #[test]
    fn builds_the_config_from_the_parameters() {
        let params = params(&format!(
            "host=db.example.org port=6543 user=scanner dbname=clinic password={SECRET} \
             options='-c search_path=audit' connect_timeout=7"
        ));
        let base = base_config(
            &params,
            &[
                ("default_transaction_read_only", "on"),
                ("statement_timeout", "30s"),
            ],
        );
        let addresses: Vec<IpAddr> =
            vec!["192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap()];
        let route = Route::Tcp {
            name: "db.example.org".to_owned(),
            addresses: addresses.clone(),
        };

        let config = config_for(&base, &route, params.port, Transport::TlsRequired);

        assert_eq!(config.get_user(), Some("scanner"));
        assert_eq!(config.get_dbname(), Some("clinic"));
        assert_eq!(config.get_password(), Some(SECRET.as_bytes()));
        assert_eq!(
            config.get_application_name(),
            Some(DEFAULT_APPLICATION_NAME)
        );
        assert_eq!(
            config.get_options(),
            Some(
                "-c search_path=audit -c default_transaction_read_only=on -c statement_timeout=30s"
            )
        );
        assert_eq!(config.get_connect_timeout(), Some(&Duration::from_secs(7)));
        assert_eq!(
            config.get_hosts(),
            &[
                Host::Tcp("db.example.org".to_owned()),
                Host::Tcp("db.example.org".to_owned())
            ]
        );
        assert_eq!(config.get_hostaddrs(), addresses.as_slice());
        assert_eq!(config.get_ports(), &[6543]);
        assert_eq!(config.get_ssl_mode(), WireSslMode::Require);
    }

    #[test]
    fn a_socket_route_uses_the_directory_and_never_tls() {
        let params = params("host=/run/pg port=5433 sslmode=require application_name=audit");
        let base = base_config(&params, &[]);
        let route = Route::Socket(PathBuf::from("/run/pg"));
        let config = config_for(&base, &route, params.port, first_transport(&params));

        assert_eq!(config.get_hosts(), &[Host::Unix(PathBuf::from("/run/pg"))]);
        assert_eq!(config.get_ssl_mode(), WireSslMode::Disable);
        assert_eq!(config.get_application_name(), Some("audit"));
        assert_eq!(config.get_options(), None);
    }

    #[test]
    fn session_settings_are_escaped_for_the_server() {
        assert_eq!(escape_option("a b\\c"), "a\\ b\\\\c");
        assert_eq!(
            startup_options(None, &[("search_path", "my schema")]),
            Some("-c search_path=my\\ schema".to_owned())
        );
        assert_eq!(startup_options(Some("  "), &[]), None);
    }

    #[test]
    fn sslmode_chooses_the_attempts() {
        let hba = ConnectError::NoHbaEntry {
            message: "no pg_hba.conf entry".to_owned(),
            hint: String::new(),
        };
        let untrusted = ConnectError::Tls(TlsError::CertificateUntrusted {
            trusted: String::new(),
            reason: String::new(),
            hint: String::new(),
        });
        let wrong_password = ConnectError::AuthFailed {
            user: "u".to_owned(),
        };
        let at = |mode: &str| params(&format!("host=h sslmode={mode}"));

        assert_eq!(first_transport(&at("disable")), Transport::Plain);
        assert_eq!(first_transport(&at("allow")), Transport::Plain);
        assert_eq!(first_transport(&at("prefer")), Transport::TlsIfOffered);
        assert_eq!(first_transport(&at("require")), Transport::TlsRequired);

        assert_eq!(
            fallback_transport(&at("allow"), &hba),
            Some(Transport::TlsRequired)
        );
        assert_eq!(
            fallback_transport(&at("prefer"), &hba),
            Some(Transport::Plain)
        );
        assert_eq!(
            fallback_transport(&at("prefer"), &untrusted),
            Some(Transport::Plain)
        );
        assert_eq!(fallback_transport(&at("prefer"), &wrong_password), None);
        assert_eq!(fallback_transport(&at("require"), &untrusted), None);
        assert_eq!(fallback_transport(&at("disable"), &hba), None);
        assert_eq!(
            fallback_transport(&params("host=/tmp sslmode=allow"), &hba),
            None
        );
    }

    #[test]
    fn the_certificate_name_is_the_host_as_typed() {
        assert_eq!(
            certificate_name(&params("host=db.example.org hostaddr=192.0.2.7")),
            "db.example.org"
        );
        assert_eq!(certificate_name(&params("hostaddr=192.0.2.7")), "192.0.2.7");
    }

    #[tokio::test]
    async fn resolves_routes() {
        let by_address = resolve_route(&params("host=db.example.org hostaddr=192.0.2.7"))
            .await
            .unwrap();
        assert_eq!(
            by_address,
            Route::Tcp {
                name: "db.example.org".to_owned(),
                addresses: vec!["192.0.2.7".parse().unwrap()],
            }
        );
        let literal = resolve_route(&params("host=::1")).await.unwrap();
        assert_eq!(literal.address_count(), 1);
        let socket = resolve_route(&params("host=/run/pg")).await.unwrap();
        assert_eq!(socket, Route::Socket(PathBuf::from("/run/pg")));

        let unknown = resolve_route(&params("host=no-such-host.invalid"))
            .await
            .unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "could not resolve host \"no-such-host.invalid\": check the host name"
        );
    }

    #[tokio::test]
    async fn a_refused_connection_says_so_without_the_password() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let params = params(&format!(
            "host=127.0.0.1 port={port} user=scanner password={SECRET} sslmode=disable"
        ));

        let error = connect(&params).await.unwrap_err();

        assert!(matches!(error, ConnectError::Refused { .. }), "{error:?}");
        let message = error.to_string();
        assert_eq!(
            message,
            format!(
                "connection refused at 127.0.0.1:{port}: is the server running and listening there?"
            )
        );
        assert!(!message.contains(SECRET), "{message}");
        assert!(!format!("{error:?}").contains(SECRET));
    }

    #[tokio::test]
    async fn a_missing_socket_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let params = params(&format!("host={} port=5999", dir.path().display()));
        let error = connect(&params).await.unwrap_err();
        assert!(
            matches!(error, ConnectError::SocketMissing { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn server_errors_keep_their_sqlstate() {
        let rejected = ConnectError::Rejected {
            sqlstate: "53300".to_owned(),
            message: "sorry, too many clients already".to_owned(),
        };
        assert_eq!(rejected.sqlstate(), Some("53300"));
        let auth = ConnectError::AuthFailed {
            user: "u".to_owned(),
        };
        assert_eq!(auth.sqlstate(), Some("28P01"));
        assert_eq!(
            auth.to_string(),
            "password authentication failed for user \"u\": check the password or ~/.pgpass"
        );
        assert_eq!(
            ConnectError::Refused {
                target: "x".to_owned()
            }
            .sqlstate(),
            None
        );
    }

    #[test]
    fn connecting_can_run_on_any_runtime_thread() {
        fn assert_send<T: Send>(_: &T) {}
        let params = params("host=localhost");
        assert_send(&connect(&params));
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        // The kernel completes the TCP handshake for a listener that never
        // accepts, so the attempt stalls waiting for the server's answer.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let params = params(&format!(
            "host=127.0.0.1 port={port} user=u password={SECRET} connect_timeout=2"
        ));
        let started = std::time::Instant::now();

        let error = connect(&params).await.unwrap_err();

        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(matches!(error, ConnectError::Timeout { .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            format!(
                "timed out connecting to 127.0.0.1:{port} after 2 s: \
                 check the host, port and firewall, or raise connect_timeout"
            )
        );
    }

    #[tokio::test]
    async fn a_peer_that_hangs_up_is_not_a_postgresql_server() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                drop(socket);
            }
        });
        for mode in ["disable", "prefer"] {
            let params = params(&format!(
                "host=127.0.0.1 port={port} user=u password={SECRET} sslmode={mode}"
            ));
            let error = connect(&params).await.unwrap_err();
            assert!(
                matches!(error, ConnectError::ClosedDuringStartup { .. }),
                "{mode}: {error:?}"
            );
            assert!(!error.to_string().contains(SECRET));
        }
    }
}

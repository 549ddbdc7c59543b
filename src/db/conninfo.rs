//! libpq-compatible connection parameters.
//!
//! This module owns turning what a DBA would hand to `psql` — a URI such as
//! `postgresql://alice@db.example.com/clinic?sslmode=verify-full` or a
//! key=value list such as `host=db port=5432 sslmode=require` — into
//! [`ConnParams`], the single description of a target that the rest of `db`
//! connects with. It applies libpq's rules in libpq's order: the connection
//! string, then the PG* environment variables, then libpq's defaults, then the
//! password file ([`super::pgpass`]). It opens no connection; its only I/O is
//! checking whether libpq's default certificate files exist and reading the
//! password file.
//!
//! Must not import `checks`, `ui`, `report`, nor `db::connect`, `db::collect`
//! or `db::tls` (those depend on this module, not the reverse).
//!
//! # Where pgsafeguard differs from libpq, on purpose
//!
//! - **One host.** libpq accepts lists (`host=a,b`, `postgresql://a:1,b:2/db`)
//!   and tries them in turn. We take the first host, the first port and the
//!   first hostaddr and ignore the rest: a scan must say exactly which server
//!   it checked, and a failover list would make that evidence ambiguous.
//!   [`parse_raw`] still returns the lists as libpq stores them.
//! - **Refused options.** Options that would ask for a protection we do not
//!   implement (`sslcrl`, `require_auth`, `channel_binding=require`, …) are an
//!   error, not silently ignored: a hardening tool must not connect more
//!   weakly than the user asked. Options that only tune liveness or cosmetics
//!   (`keepalives`, `client_encoding`, …) are accepted and ignored.
//! - **Default host** is `/var/run/postgresql`, the socket directory Debian's
//!   libpq is built with ([`DEFAULT_SOCKET_DIR`]). libpq does not probe
//!   directories either; it uses its compiled-in default.
//! - **Default user** is `USER`, then `LOGNAME`, else `postgres` (libpq asks
//!   the operating system for the effective user, which needs unsafe code).
//! - **Root certificate.** With `sslmode=verify-ca`/`verify-full` and no
//!   `sslrootcert`, `~/.postgresql/root.crt` is used if it exists, and it is an
//!   error if it does not (as in libpq). libpq also quietly upgrades
//!   `sslmode=require` to a CA check when that file exists; we do not fill in
//!   `sslrootcert` for `require`, so `require` means "encrypt" unless the user
//!   names a root certificate. `sslrootcert=system` ([`SYSTEM_ROOT_STORE`],
//!   libpq 16+) is kept as the literal path `system` and means "the operating
//!   system's CA store"; it implies `verify-full`, and weaker modes are refused.
//! - **Empty values** (`sslmode=''`, `PGPORT=`) mean "not set" everywhere. As in
//!   libpq, a key present in the connection string, even empty, hides its
//!   environment variable.
//! - **Not supported:** `service` (pg_service.conf) is refused; a `dbname` that
//!   is itself a connection string is not expanded.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::pgpass::{self, PgpassError};

/// libpq's default port.
pub const DEFAULT_PORT: u16 = 5432;

/// The unix-socket directory used when neither host nor hostaddr is given:
/// Debian's libpq default (upstream builds use `/tmp`).
pub const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// The `sslrootcert` value that means "trust the operating system's CA store"
/// (libpq 16+). It is kept in [`ConnParams::sslrootcert`] as this literal path.
pub const SYSTEM_ROOT_STORE: &str = "system";

/// The user name when the connection string, PGUSER, USER and LOGNAME give none.
const FALLBACK_USER: &str = "postgres";

/// Where libpq looks for certificates when none are named: `$HOME/.postgresql/…`.
const CLIENT_CONFIG_DIR: &str = ".postgresql";
const DEFAULT_ROOT_CERT: &str = "root.crt";
const DEFAULT_CLIENT_CERT: &str = "postgresql.crt";
const DEFAULT_CLIENT_KEY: &str = "postgresql.key";

const URI_PREFIXES: [&str; 2] = ["postgresql://", "postgres://"];

/// libpq's `sslmode`: how much the client insists on TLS and on checking the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    /// Every mode, weakest first.
    pub const ALL: [SslMode; 6] = [
        SslMode::Disable,
        SslMode::Allow,
        SslMode::Prefer,
        SslMode::Require,
        SslMode::VerifyCa,
        SslMode::VerifyFull,
    ];

    /// libpq's spelling, e.g. `verify-full`.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// Parses libpq's spelling (case-sensitive, as libpq is).
    pub fn parse(s: &str) -> Result<SslMode, ConnInfoError> {
        Self::parse_from(s, Origin::ConnInfo)
    }

    fn parse_from(s: &str, origin: Origin) -> Result<SslMode, ConnInfoError> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.as_str() == s)
            .ok_or_else(|| ConnInfoError::InvalidSslMode {
                value: s.to_owned(),
                origin,
            })
    }

    /// One line saying what the mode protects against, for the UI and reports.
    pub fn explanation(self) -> &'static str {
        match self {
            SslMode::Disable => "no encryption: passwords and data cross the network in clear text",
            SslMode::Allow => "encrypt only if the server insists, otherwise clear text",
            SslMode::Prefer => {
                "encrypt if the server offers it, without checking who the server is"
            }
            SslMode::Require => "always encrypt, but do not check who the server is",
            SslMode::VerifyCa => {
                "encrypt, and verify that a trusted CA signed the server certificate"
            }
            SslMode::VerifyFull => "encrypt, and verify the CA and the host name",
        }
    }

    /// verify-ca and verify-full: the server certificate must chain to a trusted root.
    pub fn verifies_certificate(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }

    /// require and stronger: the connection fails rather than fall back to clear text.
    pub fn requires_encryption(self) -> bool {
        matches!(
            self,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        )
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SslMode {
    type Err = ConnInfoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SslMode::parse(s)
    }
}

/// A password that never prints: `Debug` and `Display` show `********`.
/// Read it only where it is sent, with [`Password::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

const PASSWORD_MASK: &str = "********";

impl Password {
    pub fn new(s: impl Into<String>) -> Self {
        Password(s.into())
    }

    /// The secret itself; call it only to hand the password to the protocol.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PASSWORD_MASK)
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PASSWORD_MASK)
    }
}

/// Where a setting came from, so that an error can point at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The connection string (prints nothing: the user just typed it).
    ConnInfo,
    /// An environment variable such as `PGPORT`.
    Env(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::ConnInfo => Ok(()),
            Origin::Env(name) => write!(f, " (from environment variable {name})"),
        }
    }
}

/// Why a connection string or environment could not be turned into [`ConnParams`].
/// Messages are one lowercase line and never contain a password: values are
/// echoed only for options that cannot hold one.
#[derive(Debug, thiserror::Error)]
pub enum ConnInfoError {
    #[error("missing \"=\" after {keyword:?} in the connection string: write keyword=value")]
    MissingEquals { keyword: String },
    #[error("invalid connection option {keyword:?}: check its spelling against libpq's keywords")]
    UnknownKeyword { keyword: String },
    #[error("malformed connection string at character {position}: expected keyword=value")]
    Malformed { position: usize },
    #[error(
        "the password value seems to continue past a space or \"&\": \
         quote it ('...') in key=value form or percent-encode it in a URI"
    )]
    PasswordSpillover,
    #[error("unterminated quoted value for {keyword:?}: close it with a single quote (write \\' for a quote inside)")]
    UnterminatedQuote { keyword: String },
    #[error("unsupported URI scheme {scheme:?}: use postgresql:// or postgres://")]
    UnsupportedScheme { scheme: String },
    #[error(
        "invalid percent-encoding in the URI {part}: write %XX with two hex digits, and never %00"
    )]
    InvalidPercentEncoding { part: String },
    #[error("the percent-decoded URI {part} is not valid UTF-8")]
    NotUtf8 { part: String },
    #[error("unterminated IPv6 address in the URI: close it with \"]\"")]
    UnterminatedIpv6,
    #[error("empty IPv6 address \"[]\" in the URI")]
    EmptyIpv6,
    #[error("unexpected {found:?} after an IPv6 address in the URI: expected \":\", \"/\", \"?\" or \",\"")]
    AfterIpv6 { found: char },
    #[error("\"@\" in the URI host: percent-encode \"@\" as %40 in the user name or password")]
    AtSignInHost,
    #[error("missing \"=\" in URI query parameter {param:?}: write ?keyword=value")]
    QueryMissingEquals { param: String },
    #[error("malformed URI query parameter number {number}: write ?keyword=value")]
    MalformedQueryParameter { number: usize },
    #[error(
        "extra \"=\" in the value of URI query parameter {keyword:?}: percent-encode it as %3D"
    )]
    QueryExtraEquals { keyword: String },
    #[error("invalid port {value:?}{origin}: use a number from 1 to 65535")]
    InvalidPort { value: String, origin: Origin },
    #[error("invalid hostaddr {value:?}{origin}: use a numeric IPv4 or IPv6 address (put host names in host)")]
    InvalidHostaddr { value: String, origin: Origin },
    #[error(
        "invalid sslmode {value:?}{origin}: use one of disable, allow, prefer, require, verify-ca, verify-full"
    )]
    InvalidSslMode { value: String, origin: Origin },
    #[error("invalid connect_timeout {value:?}{origin}: use a whole number of seconds (0 waits forever)")]
    InvalidConnectTimeout { value: String, origin: Origin },
    #[error("invalid requiressl {value:?}{origin}: use 1 or 0, or better sslmode=require")]
    InvalidRequireSsl { value: String, origin: Origin },
    #[error(
        "connection option {keyword:?}{origin} is not supported by pgsafeguard ({why}); remove it"
    )]
    Unsupported {
        keyword: &'static str,
        origin: Origin,
        why: &'static str,
    },
    #[error("{keyword}={value:?}{origin} is not supported by pgsafeguard (it accepts {accepted}); change or remove it")]
    UnsupportedValue {
        keyword: &'static str,
        value: String,
        origin: Origin,
        accepted: String,
    },
    #[error("sslrootcert=system needs sslmode=verify-full, not {sslmode}: the system CA store is only safe with host name checks")]
    WeakSslModeWithSystemRoots { sslmode: SslMode },
    #[error(
        "sslmode={sslmode} needs a root certificate: set sslrootcert=FILE \
         (or sslrootcert=system for the system CA store), or put it in ~/.postgresql/root.crt"
    )]
    MissingRootCert { sslmode: SslMode },
    #[error(transparent)]
    Pgpass(#[from] PgpassError),
}

/// What pgsafeguard does with a libpq keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handling {
    /// Read into [`ConnParams`].
    Used,
    /// Accepted and ignored: affects only liveness or cosmetics, never safety.
    Ignored,
    /// Accepted and ignored at these values (compared ignoring ASCII case),
    /// which ask for nothing beyond what pgsafeguard does anyway; refused otherwise.
    IgnoredIf(&'static [&'static str]),
    /// Refused with the reason: it asks for something pgsafeguard does not do.
    Refused(&'static str),
}

/// One libpq connection keyword and its environment variable.
#[derive(Debug)]
struct Keyword {
    name: &'static str,
    env: Option<&'static str>,
    handling: Handling,
}

const fn kw(name: &'static str, env: Option<&'static str>, handling: Handling) -> Keyword {
    Keyword {
        name,
        env,
        handling,
    }
}

/// libpq's keywords (up to PostgreSQL 18, plus `requiressl` from 15 and older).
static KEYWORDS: &[Keyword] = &[
    kw("host", Some("PGHOST"), Handling::Used),
    kw("hostaddr", Some("PGHOSTADDR"), Handling::Used),
    kw("port", Some("PGPORT"), Handling::Used),
    kw("dbname", Some("PGDATABASE"), Handling::Used),
    kw("user", Some("PGUSER"), Handling::Used),
    kw("password", Some("PGPASSWORD"), Handling::Used),
    kw("passfile", Some("PGPASSFILE"), Handling::Used),
    kw("sslmode", Some("PGSSLMODE"), Handling::Used),
    kw("requiressl", Some("PGREQUIRESSL"), Handling::Used),
    kw("sslrootcert", Some("PGSSLROOTCERT"), Handling::Used),
    kw("sslcert", Some("PGSSLCERT"), Handling::Used),
    kw("sslkey", Some("PGSSLKEY"), Handling::Used),
    kw("application_name", Some("PGAPPNAME"), Handling::Used),
    kw("fallback_application_name", None, Handling::Used),
    kw("connect_timeout", Some("PGCONNECT_TIMEOUT"), Handling::Used),
    kw("options", Some("PGOPTIONS"), Handling::Used),
    // tokio-postgres always speaks UTF-8; the rest tune liveness only.
    kw("client_encoding", Some("PGCLIENTENCODING"), Handling::Ignored),
    kw("keepalives", None, Handling::Ignored),
    kw("keepalives_idle", None, Handling::Ignored),
    kw("keepalives_interval", None, Handling::Ignored),
    kw("keepalives_count", None, Handling::Ignored),
    kw("tcp_user_timeout", None, Handling::Ignored),
    // TLS compression is off in every current TLS library.
    kw("sslcompression", Some("PGSSLCOMPRESSION"), Handling::Ignored),
    kw("sslsni", Some("PGSSLSNI"), Handling::Ignored),
    // A maximum only ever lowers the protocol; ignoring it keeps the newest.
    kw("ssl_max_protocol_version", Some("PGSSLMAXPROTOCOLVERSION"), Handling::Ignored),
    kw("max_protocol_version", Some("PGMAXPROTOCOLVERSION"), Handling::Ignored),
    // Only one host is used.
    kw("load_balance_hosts", Some("PGLOADBALANCEHOSTS"), Handling::Ignored),
    // GSSAPI is never used, so nothing is ever delegated.
    kw("krbsrvname", Some("PGKRBSRVNAME"), Handling::Ignored),
    kw("gsslib", Some("PGGSSLIB"), Handling::Ignored),
    kw("gssdelegation", Some("PGGSSDELEGATION"), Handling::Ignored),
    // Read only together with `service`, which is refused.
    kw("servicefile", Some("PGSERVICEFILE"), Handling::Ignored),
    // TLS keys are never written to disk.
    kw("sslkeylogfile", None, Handling::Ignored),
    kw(
        "channel_binding",
        Some("PGCHANNELBINDING"),
        Handling::IgnoredIf(&["disable", "prefer"]),
    ),
    kw(
        "gssencmode",
        Some("PGGSSENCMODE"),
        Handling::IgnoredIf(&["disable", "prefer"]),
    ),
    kw(
        "sslnegotiation",
        Some("PGSSLNEGOTIATION"),
        Handling::IgnoredIf(&["postgres"]),
    ),
    kw(
        "sslcertmode",
        Some("PGSSLCERTMODE"),
        Handling::IgnoredIf(&["disable", "allow"]),
    ),
    kw(
        "ssl_min_protocol_version",
        Some("PGSSLMINPROTOCOLVERSION"),
        Handling::IgnoredIf(&["TLSv1", "TLSv1.1", "TLSv1.2"]),
    ),
    kw(
        "min_protocol_version",
        Some("PGMINPROTOCOLVERSION"),
        Handling::IgnoredIf(&["3.0"]),
    ),
    kw(
        "target_session_attrs",
        Some("PGTARGETSESSIONATTRS"),
        Handling::IgnoredIf(&["any"]),
    ),
    kw(
        "sslpassword",
        None,
        Handling::Refused("encrypted client keys are not supported; use an unencrypted key file readable only by you"),
    ),
    kw(
        "sslcrl",
        Some("PGSSLCRL"),
        Handling::Refused("certificate revocation lists are not checked"),
    ),
    kw(
        "sslcrldir",
        Some("PGSSLCRLDIR"),
        Handling::Refused("certificate revocation lists are not checked"),
    ),
    kw(
        "requirepeer",
        Some("PGREQUIREPEER"),
        Handling::Refused("the server process owner is not checked"),
    ),
    kw(
        "require_auth",
        Some("PGREQUIREAUTH"),
        Handling::Refused("the authentication method is not restricted"),
    ),
    kw(
        "service",
        Some("PGSERVICE"),
        Handling::Refused("pg_service.conf is not read; give host, port, dbname and user directly"),
    ),
    kw(
        "replication",
        None,
        Handling::Refused("a scan needs a normal session"),
    ),
    kw("oauth_issuer", None, Handling::Refused("OAuth is not supported")),
    kw("oauth_client_id", None, Handling::Refused("OAuth is not supported")),
    kw("oauth_client_secret", None, Handling::Refused("OAuth is not supported")),
    kw("oauth_scope", None, Handling::Refused("OAuth is not supported")),
    kw(
        "scram_client_key",
        None,
        Handling::Refused("SCRAM key pass-through is not supported"),
    ),
    kw(
        "scram_server_key",
        None,
        Handling::Refused("SCRAM key pass-through is not supported"),
    ),
];

fn keyword(name: &str) -> Option<&'static Keyword> {
    KEYWORDS.iter().find(|k| k.name == name)
}

/// The fully resolved description of one target server. Build it with
/// [`ConnParams::from_conninfo`]; its `Debug` never shows the password.
///
/// # Example
/// ```
/// use pgsafeguard::db::conninfo::{ConnParams, SslMode};
/// let no_env = |_: &str| None;
/// let params = ConnParams::from_conninfo_with_env(
///     "postgresql://scanner@db.example.com:6543/clinic?sslmode=require",
///     &no_env,
/// )
/// .unwrap();
/// assert_eq!(params.port, 6543);
/// assert_eq!(params.sslmode, SslMode::Require);
/// assert_eq!(params.display_target(), "scanner@db.example.com:6543/clinic (sslmode=require)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnParams {
    /// Host name, IP address, or unix-socket directory (starts with '/').
    /// When only `hostaddr` was given, this is that address.
    pub host: String,
    /// Numeric address to connect to instead of resolving `host`.
    pub hostaddr: Option<String>,
    pub port: u16,
    pub user: String,
    pub dbname: String,
    pub password: Option<Password>,
    pub sslmode: SslMode,
    /// Root certificate file, or the literal path [`SYSTEM_ROOT_STORE`] for the system CA store.
    pub sslrootcert: Option<PathBuf>,
    pub sslcert: Option<PathBuf>,
    pub sslkey: Option<PathBuf>,
    pub application_name: Option<String>,
    /// `None` waits forever; libpq raises 1 s to 2 s.
    pub connect_timeout: Option<Duration>,
    /// libpq "options" (e.g. `-c statement_timeout=5s`).
    pub options: Option<String>,
}

impl ConnParams {
    /// Parses a URI or key=value conninfo (`""` takes everything from the
    /// environment and defaults), applies the PG* environment variables of this
    /// process and libpq's defaults, then looks up the password file (`passfile`,
    /// PGPASSFILE or ~/.pgpass) if no password was given.
    pub fn from_conninfo(conninfo: &str) -> Result<ConnParams, ConnInfoError> {
        Self::from_conninfo_with_env(conninfo, &|name| std::env::var(name).ok())
    }

    /// Same as [`ConnParams::from_conninfo`], with the environment read through
    /// `env` (also for `HOME`, `USER` and `LOGNAME`), so tests never touch the real one.
    pub fn from_conninfo_with_env(
        conninfo: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ConnParams, ConnInfoError> {
        let raw = parse_raw(conninfo)?;
        let settings = Settings { raw: &raw, env };
        refuse_unsupported(&settings)?;
        let mut params = resolve_without_password(&settings)?;
        params.password = resolve_password(&settings, &params)?;
        Ok(params)
    }

    /// True when the connection goes through a unix-domain socket.
    pub fn is_unix_socket(&self) -> bool {
        self.hostaddr.is_none() && self.host.starts_with('/')
    }

    /// `user@host:port/dbname (sslmode=...)` — never the password.
    pub fn display_target(&self) -> String {
        let host = if self.host.contains(':') && !self.host.starts_with('/') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let via = match &self.hostaddr {
            Some(addr) if *addr != self.host => format!(", hostaddr={addr}"),
            _ => String::new(),
        };
        format!(
            "{}@{}:{}/{} (sslmode={}{via})",
            self.user, host, self.port, self.dbname, self.sslmode
        )
    }

    /// The same parameters for another database (used by `--all-databases`).
    /// The password is kept: PostgreSQL passwords belong to the role, not the database.
    pub fn with_dbname(&self, dbname: &str) -> ConnParams {
        ConnParams {
            dbname: dbname.to_owned(),
            ..self.clone()
        }
    }

    /// A key=value conninfo that resolves back to these parameters, without the
    /// password: safe to save in a profile or show. Hosts containing ',' do not
    /// survive (libpq reads them as lists).
    pub fn conninfo_without_password(&self) -> String {
        let mut pairs: Vec<(&str, String)> = vec![("host", self.host.clone())];
        if let Some(addr) = &self.hostaddr {
            pairs.push(("hostaddr", addr.clone()));
        }
        pairs.push(("port", self.port.to_string()));
        pairs.push(("user", self.user.clone()));
        pairs.push(("dbname", self.dbname.clone()));
        pairs.push(("sslmode", self.sslmode.as_str().to_owned()));
        let files = [
            ("sslrootcert", &self.sslrootcert),
            ("sslcert", &self.sslcert),
            ("sslkey", &self.sslkey),
        ];
        for (name, path) in files {
            if let Some(path) = path {
                pairs.push((name, path.to_string_lossy().into_owned()));
            }
        }
        if let Some(name) = &self.application_name {
            pairs.push(("application_name", name.clone()));
        }
        if let Some(timeout) = self.connect_timeout {
            pairs.push(("connect_timeout", timeout.as_secs().to_string()));
        }
        if let Some(options) = &self.options {
            pairs.push(("options", options.clone()));
        }
        pairs
            .iter()
            .map(|(name, value)| format!("{name}={}", quote_value(value)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Quotes a value for a key=value conninfo when it needs it (empty, or holding
/// whitespace, `'` or `\`), escaping `'` and `\` as libpq expects.
pub fn quote_value(value: &str) -> String {
    let needs_quotes = value.is_empty()
        || value
            .chars()
            .any(|c| is_conninfo_space(c) || c == '\'' || c == '\\');
    if !needs_quotes {
        return value.to_owned();
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

/// Raw key/value pairs of a conninfo string (URI or key=value), keys validated
/// against libpq's known keywords. Later keys override earlier ones; in a URI,
/// query parameters override the parts before `?`. Hosts and ports of a URI
/// are joined with ',' as libpq stores them, and `ssl=true` becomes
/// `sslmode=require` (libpq's JDBC compatibility).
pub fn parse_raw(conninfo: &str) -> Result<BTreeMap<String, String>, ConnInfoError> {
    let trimmed = conninfo.trim_start();
    let pairs = match URI_PREFIXES.iter().find_map(|p| trimmed.strip_prefix(p)) {
        Some(body) => parse_uri(body)?,
        None => {
            if let Some(scheme) = foreign_scheme(trimmed) {
                return Err(ConnInfoError::UnsupportedScheme {
                    scheme: scheme.to_owned(),
                });
            }
            parse_key_values(conninfo)?
        }
    };
    Ok(pairs.into_iter().collect())
}

/// The scheme of a URI that is not ours (`mysql://…`), so we can say so
/// instead of reporting the whole URI, password included, as a bad keyword.
fn foreign_scheme(s: &str) -> Option<&str> {
    let end = s.find("://")?;
    let scheme = &s[..end];
    let plausible = !scheme.is_empty()
        && scheme.len() <= 32
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    plausible.then_some(scheme)
}

/// C's isspace in the "C" locale, which libpq uses to separate pairs.
fn is_conninfo_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// A word we can echo in an error: it cannot be a fragment of a password URI or value.
fn looks_like_keyword(word: &str) -> bool {
    !word.is_empty()
        && word.len() <= 64
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Resolves a word used as a keyword, choosing an error that never echoes what
/// may be a piece of a password.
fn known_keyword(
    word: &str,
    after_password: bool,
    malformed: impl FnOnce() -> ConnInfoError,
) -> Result<&'static Keyword, ConnInfoError> {
    if let Some(found) = keyword(word) {
        return Ok(found);
    }
    if after_password {
        Err(ConnInfoError::PasswordSpillover)
    } else if looks_like_keyword(word) {
        Err(ConnInfoError::UnknownKeyword {
            keyword: word.to_owned(),
        })
    } else {
        Err(malformed())
    }
}

/// A cursor over the characters of a key=value conninfo.
struct Cursor {
    chars: Vec<char>,
    pos: usize,
}

impl Cursor {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(is_conninfo_space) {
            self.pos += 1;
        }
    }

    fn word(&mut self) -> String {
        let mut word = String::new();
        while let Some(c) = self.peek().filter(|c| *c != '=' && !is_conninfo_space(*c)) {
            word.push(c);
            self.pos += 1;
        }
        word
    }

    /// An unquoted value: up to the next whitespace; `\` takes the next character literally.
    fn bare_value(&mut self) -> String {
        let mut value = String::new();
        while let Some(c) = self.peek().filter(|c| !is_conninfo_space(*c)) {
            self.pos += 1;
            if c == '\\' {
                if let Some(escaped) = self.bump() {
                    value.push(escaped);
                }
            } else {
                value.push(c);
            }
        }
        value
    }

    /// A value after its opening quote; `None` if the closing quote is missing.
    fn quoted_value(&mut self) -> Option<String> {
        let mut value = String::new();
        loop {
            match self.bump()? {
                '\'' => return Some(value),
                '\\' => value.push(self.bump()?),
                c => value.push(c),
            }
        }
    }
}

/// libpq's `keyword = value` syntax. As in libpq, whitespace after `=` is
/// skipped, so `host= port=5` sets host to `port=5`.
fn parse_key_values(conninfo: &str) -> Result<Vec<(String, String)>, ConnInfoError> {
    let mut cursor = Cursor {
        chars: conninfo.chars().collect(),
        pos: 0,
    };
    let mut pairs = Vec::new();
    let mut after_password = false;
    loop {
        cursor.skip_spaces();
        if cursor.peek().is_none() {
            return Ok(pairs);
        }
        let position = cursor.pos + 1;
        let word = cursor.word();
        cursor.skip_spaces();
        if cursor.bump() != Some('=') {
            return Err(if after_password {
                ConnInfoError::PasswordSpillover
            } else if looks_like_keyword(&word) {
                ConnInfoError::MissingEquals { keyword: word }
            } else {
                ConnInfoError::Malformed { position }
            });
        }
        let found = known_keyword(&word, after_password, || ConnInfoError::Malformed {
            position,
        })?;
        cursor.skip_spaces();
        let value = if cursor.peek() == Some('\'') {
            cursor.pos += 1;
            cursor
                .quoted_value()
                .ok_or_else(|| ConnInfoError::UnterminatedQuote {
                    keyword: found.name.to_owned(),
                })?
        } else {
            cursor.bare_value()
        };
        after_password = found.name == "password";
        pairs.push((found.name.to_owned(), value));
    }
}

/// libpq's URI syntax after the `postgresql://` prefix:
/// `[user[:password]@][host][:port][,...][/dbname][?keyword=value&...]`.
fn parse_uri(body: &str) -> Result<Vec<(String, String)>, ConnInfoError> {
    let mut pairs = Vec::new();
    let mut rest = body;
    // libpq looks for '@' up to the first '/', so a password may hold '?' or ':'.
    if let Some(at) = rest
        .find(['@', '/'])
        .filter(|i| rest.as_bytes()[*i] == b'@')
    {
        parse_userinfo(&rest[..at], &mut pairs)?;
        rest = &rest[at + 1..];
    }
    let (hosts, ports, after_hosts) = parse_hosts(rest)?;
    push_if_non_empty(&mut pairs, "host", hosts.join(","));
    push_if_non_empty(&mut pairs, "port", ports.join(","));
    rest = after_hosts;
    if let Some(path) = rest.strip_prefix('/') {
        let end = path.find('?').unwrap_or(path.len());
        push_if_non_empty(
            &mut pairs,
            "dbname",
            percent_decode(&path[..end], "database name")?,
        );
        rest = &path[end..];
    }
    if let Some(query) = rest.strip_prefix('?') {
        parse_query(query, &mut pairs)?;
    }
    Ok(pairs)
}

fn push_if_non_empty(pairs: &mut Vec<(String, String)>, name: &str, value: String) {
    if !value.is_empty() {
        pairs.push((name.to_owned(), value));
    }
}

fn parse_userinfo(userinfo: &str, pairs: &mut Vec<(String, String)>) -> Result<(), ConnInfoError> {
    let (user, password) = match userinfo.split_once(':') {
        Some((user, password)) => (user, Some(password)),
        None => (userinfo, None),
    };
    push_if_non_empty(pairs, "user", percent_decode(user, "user name")?);
    if let Some(password) = password {
        push_if_non_empty(pairs, "password", percent_decode(password, "password")?);
    }
    Ok(())
}

/// The comma-separated `host[:port]` list; returns hosts, ports (empty where
/// absent) and the text after the list, which starts with '/', '?' or is empty.
type HostList<'a> = (Vec<String>, Vec<String>, &'a str);

fn parse_hosts(s: &str) -> Result<HostList<'_>, ConnInfoError> {
    let mut hosts = Vec::new();
    let mut ports = Vec::new();
    let mut rest = s;
    loop {
        let (host, after_host) = split_host(rest)?;
        hosts.push(host);
        let port = match after_host.strip_prefix(':') {
            Some(after_colon) => {
                let end = after_colon
                    .find(['/', '?', ','])
                    .unwrap_or(after_colon.len());
                rest = &after_colon[end..];
                &after_colon[..end]
            }
            None => {
                rest = after_host;
                ""
            }
        };
        ports.push(percent_decode(port, "port")?);
        match rest.strip_prefix(',') {
            Some(next) => rest = next,
            None => return Ok((hosts, ports, rest)),
        }
    }
}

/// One host (a name, an address, `[IPv6]` or a percent-encoded socket path)
/// and the text after it.
fn split_host(s: &str) -> Result<(String, &str), ConnInfoError> {
    if let Some(inside) = s.strip_prefix('[') {
        let close = inside.find(']').ok_or(ConnInfoError::UnterminatedIpv6)?;
        if close == 0 {
            return Err(ConnInfoError::EmptyIpv6);
        }
        let after = &inside[close + 1..];
        if let Some(found) = after.chars().next().filter(|c| !":/?,".contains(*c)) {
            return Err(ConnInfoError::AfterIpv6 { found });
        }
        return Ok((inside[..close].to_owned(), after));
    }
    let end = s.find([':', '/', '?', ',']).unwrap_or(s.len());
    let raw = &s[..end];
    // A second '@' means a user name or password with an unencoded '@'.
    if raw.contains('@') {
        return Err(ConnInfoError::AtSignInHost);
    }
    Ok((percent_decode(raw, "host")?, &s[end..]))
}

fn parse_query(query: &str, pairs: &mut Vec<(String, String)>) -> Result<(), ConnInfoError> {
    let mut after_password = false;
    for (index, param) in query.split('&').enumerate() {
        if param.is_empty() {
            continue;
        }
        let number = index + 1;
        let malformed = || ConnInfoError::MalformedQueryParameter { number };
        let Some((raw_name, raw_value)) = param.split_once('=') else {
            return Err(if after_password {
                ConnInfoError::PasswordSpillover
            } else if looks_like_keyword(param) {
                ConnInfoError::QueryMissingEquals {
                    param: param.to_owned(),
                }
            } else {
                malformed()
            });
        };
        let name = percent_decode(raw_name, "query parameter name")?;
        let (name, raw_value) = if name == "ssl" && raw_value == "true" {
            ("sslmode".to_owned(), "require")
        } else {
            (name, raw_value)
        };
        let found = known_keyword(&name, after_password, malformed)?;
        if raw_value.contains('=') {
            return Err(ConnInfoError::QueryExtraEquals {
                keyword: found.name.to_owned(),
            });
        }
        let part = format!("value of query parameter {:?}", found.name);
        pairs.push((found.name.to_owned(), percent_decode(raw_value, &part)?));
        after_password = found.name == "password";
    }
    Ok(())
}

/// RFC 3986 percent-decoding as libpq does it: `+` stays `+`, `%00` is refused.
fn percent_decode(raw: &str, part: &str) -> Result<String, ConnInfoError> {
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            decoded.push(bytes[i]);
            i += 1;
            continue;
        }
        let hex = |offset: usize| {
            bytes
                .get(i + offset)
                .and_then(|b| char::from(*b).to_digit(16))
        };
        let byte = match (hex(1), hex(2)) {
            (Some(high), Some(low)) => u8::try_from(high * 16 + low).ok().filter(|b| *b != 0),
            _ => None,
        };
        decoded.push(byte.ok_or_else(|| ConnInfoError::InvalidPercentEncoding {
            part: part.to_owned(),
        })?);
        i += 3;
    }
    String::from_utf8(decoded).map_err(|_| ConnInfoError::NotUtf8 {
        part: part.to_owned(),
    })
}

/// A value and where it came from.
struct Setting {
    value: String,
    origin: Origin,
}

/// The parsed conninfo plus the environment, read with libpq's precedence.
struct Settings<'a> {
    raw: &'a BTreeMap<String, String>,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Settings<'_> {
    fn in_conninfo(&self, name: &str) -> Option<Setting> {
        self.raw.get(name).map(|value| Setting {
            value: value.clone(),
            origin: Origin::ConnInfo,
        })
    }

    fn in_env(&self, name: &str) -> Option<Setting> {
        let var = keyword(name)?.env?;
        (self.env)(var).map(|value| Setting {
            value,
            origin: Origin::Env(var),
        })
    }

    /// The connection string's value, else the environment's. A key present in
    /// the string, even empty, hides the variable, as in libpq.
    fn get(&self, name: &str) -> Option<Setting> {
        self.in_conninfo(name).or_else(|| self.in_env(name))
    }

    /// [`Settings::get`] with an empty value treated as "not set".
    fn non_empty(&self, name: &str) -> Option<Setting> {
        self.get(name).filter(|s| !s.value.is_empty())
    }

    fn non_empty_value(&self, name: &str) -> Option<String> {
        self.non_empty(name).map(|s| s.value)
    }

    /// A plain environment variable such as HOME or USER, empty meaning unset.
    fn env_var(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.is_empty())
    }

    /// `$HOME/.postgresql/<file>` if it exists: libpq's default certificate files.
    fn default_client_file(&self, file: &str) -> Option<PathBuf> {
        let path = Path::new(&self.env_var("HOME")?)
            .join(CLIENT_CONFIG_DIR)
            .join(file);
        path.is_file().then_some(path)
    }
}

/// Fails on any refused option, or an option at a value we would not honour.
fn refuse_unsupported(settings: &Settings) -> Result<(), ConnInfoError> {
    for keyword in KEYWORDS {
        let Some(setting) = settings.non_empty(keyword.name) else {
            continue;
        };
        match keyword.handling {
            Handling::Used | Handling::Ignored => {}
            Handling::IgnoredIf(accepted) => {
                let value = setting.value.trim();
                if !accepted.iter().any(|a| a.eq_ignore_ascii_case(value)) {
                    return Err(ConnInfoError::UnsupportedValue {
                        keyword: keyword.name,
                        value: setting.value,
                        origin: setting.origin,
                        accepted: accepted.join(", "),
                    });
                }
            }
            Handling::Refused(why) => {
                return Err(ConnInfoError::Unsupported {
                    keyword: keyword.name,
                    origin: setting.origin,
                    why,
                })
            }
        }
    }
    Ok(())
}

fn resolve_without_password(settings: &Settings) -> Result<ConnParams, ConnInfoError> {
    let (host, hostaddr) = resolve_host(settings)?;
    let user = resolve_user(settings);
    let dbname = settings
        .non_empty_value("dbname")
        .unwrap_or_else(|| user.clone());
    let (sslmode, sslrootcert) = resolve_tls_trust(settings)?;
    let (sslcert, sslkey) = resolve_client_cert(settings, sslmode);
    Ok(ConnParams {
        host,
        hostaddr,
        port: resolve_port(settings)?,
        user,
        dbname,
        password: None,
        sslmode,
        sslrootcert,
        sslcert,
        sslkey,
        application_name: settings
            .non_empty_value("application_name")
            .or_else(|| {
                settings
                    .in_conninfo("fallback_application_name")
                    .map(|s| s.value)
            })
            .filter(|name| !name.is_empty()),
        connect_timeout: resolve_connect_timeout(settings)?,
        options: settings.non_empty_value("options"),
    })
}

/// The first element of a libpq comma-separated list.
fn first_of_list(value: &str) -> &str {
    value.split(',').next().unwrap_or_default()
}

/// Host (the first of a list), defaulting to hostaddr, then the socket directory.
fn resolve_host(settings: &Settings) -> Result<(String, Option<String>), ConnInfoError> {
    let hostaddr = match settings.non_empty("hostaddr") {
        Some(setting) => {
            let first = first_of_list(&setting.value).trim();
            if !first.is_empty() && first.parse::<IpAddr>().is_err() {
                return Err(ConnInfoError::InvalidHostaddr {
                    value: first.to_owned(),
                    origin: setting.origin,
                });
            }
            Some(first.to_owned()).filter(|addr| !addr.is_empty())
        }
        None => None,
    };
    let host = settings
        .non_empty_value("host")
        .map(|hosts| first_of_list(&hosts).to_owned())
        .filter(|host| !host.is_empty())
        .or_else(|| hostaddr.clone())
        .unwrap_or_else(|| DEFAULT_SOCKET_DIR.to_owned());
    Ok((host, hostaddr))
}

fn resolve_port(settings: &Settings) -> Result<u16, ConnInfoError> {
    let Some(setting) = settings.non_empty("port") else {
        return Ok(DEFAULT_PORT);
    };
    let first = first_of_list(&setting.value);
    if first.is_empty() {
        return Ok(DEFAULT_PORT);
    }
    first
        .trim()
        .parse::<u16>()
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| ConnInfoError::InvalidPort {
            value: first.to_owned(),
            origin: setting.origin,
        })
}

fn resolve_user(settings: &Settings) -> String {
    settings
        .non_empty_value("user")
        .or_else(|| settings.env_var("USER"))
        .or_else(|| settings.env_var("LOGNAME"))
        .unwrap_or_else(|| FALLBACK_USER.to_owned())
}

/// sslmode and the root certificate decide together: `sslrootcert=system`
/// implies verify-full, and the verify modes need a root certificate.
fn resolve_tls_trust(settings: &Settings) -> Result<(SslMode, Option<PathBuf>), ConnInfoError> {
    let explicit_mode = resolve_sslmode(settings)?;
    let rootcert = settings.non_empty_value("sslrootcert").map(PathBuf::from);
    let system_roots = rootcert
        .as_deref()
        .is_some_and(|path| path == Path::new(SYSTEM_ROOT_STORE));
    let sslmode = match explicit_mode {
        Some(mode) if system_roots && mode != SslMode::VerifyFull => {
            return Err(ConnInfoError::WeakSslModeWithSystemRoots { sslmode: mode })
        }
        Some(mode) => mode,
        None if system_roots => SslMode::VerifyFull,
        None => SslMode::Prefer,
    };
    let rootcert = match rootcert {
        Some(path) => Some(path),
        None if sslmode.verifies_certificate() => Some(
            settings
                .default_client_file(DEFAULT_ROOT_CERT)
                .ok_or(ConnInfoError::MissingRootCert { sslmode })?,
        ),
        None => None,
    };
    Ok((sslmode, rootcert))
}

/// The sslmode the user asked for, if any: sslmode, then the old requiressl,
/// each from the connection string before the environment.
fn resolve_sslmode(settings: &Settings) -> Result<Option<SslMode>, ConnInfoError> {
    let candidates = [
        settings.in_conninfo("sslmode"),
        settings.in_conninfo("requiressl"),
        settings.in_env("sslmode"),
        settings.in_env("requiressl"),
    ];
    for (index, candidate) in candidates.into_iter().enumerate() {
        let Some(setting) = candidate.filter(|s| !s.value.is_empty()) else {
            continue;
        };
        let is_requiressl = index % 2 == 1;
        if !is_requiressl {
            return SslMode::parse_from(&setting.value, setting.origin).map(Some);
        }
        match setting.value.trim() {
            "1" => return Ok(Some(SslMode::Require)),
            "0" => {}
            _ => {
                return Err(ConnInfoError::InvalidRequireSsl {
                    value: setting.value,
                    origin: setting.origin,
                })
            }
        }
    }
    Ok(None)
}

/// Client certificate and key. Without TLS nothing is sent, so libpq's default
/// files are looked up only when TLS may be used; a default key only with a certificate.
fn resolve_client_cert(
    settings: &Settings,
    sslmode: SslMode,
) -> (Option<PathBuf>, Option<PathBuf>) {
    let default_file = |file| {
        if sslmode == SslMode::Disable {
            None
        } else {
            settings.default_client_file(file)
        }
    };
    let cert = settings
        .non_empty_value("sslcert")
        .map(PathBuf::from)
        .or_else(|| default_file(DEFAULT_CLIENT_CERT));
    let key = settings
        .non_empty_value("sslkey")
        .map(PathBuf::from)
        .or_else(|| cert.as_ref().and_then(|_| default_file(DEFAULT_CLIENT_KEY)));
    (cert, key)
}

/// libpq: zero or negative waits forever; 1 second is raised to 2.
fn resolve_connect_timeout(settings: &Settings) -> Result<Option<Duration>, ConnInfoError> {
    let Some(setting) = settings.non_empty("connect_timeout") else {
        return Ok(None);
    };
    let seconds: i64 =
        setting
            .value
            .trim()
            .parse()
            .map_err(|_| ConnInfoError::InvalidConnectTimeout {
                value: setting.value.clone(),
                origin: setting.origin,
            })?;
    Ok(u64::try_from(seconds)
        .ok()
        .filter(|s| *s > 0)
        .map(|s| Duration::from_secs(s.max(2))))
}

/// The given password (conninfo or PGPASSWORD), else the password file's.
fn resolve_password(
    settings: &Settings,
    params: &ConnParams,
) -> Result<Option<Password>, ConnInfoError> {
    if let Some(password) = settings.non_empty_value("password") {
        return Ok(Some(Password::new(password)));
    }
    let path = settings
        .non_empty_value("passfile")
        .map(PathBuf::from)
        .or_else(|| pgpass::default_path(settings.env));
    let Some(path) = path else {
        return Ok(None);
    };
    Ok(pgpass::lookup(
        &path,
        &params.host,
        params.port,
        &params.dbname,
        &params.user,
    )?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn resolve(conninfo: &str, env: &[(&str, &str)]) -> Result<ConnParams, ConnInfoError> {
        ConnParams::from_conninfo_with_env(conninfo, &env_of(env))
    }

    fn ok(conninfo: &str) -> ConnParams {
        resolve(conninfo, &[]).unwrap()
    }

    fn err(conninfo: &str) -> ConnInfoError {
        resolve(conninfo, &[]).unwrap_err()
    }

    fn raw(conninfo: &str) -> BTreeMap<String, String> {
        parse_raw(conninfo).unwrap()
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A HOME with optional ~/.postgresql files and ~/.pgpass.
    fn home_with(files: &[&str], pgpass: Option<&str>) -> tempfile::TempDir {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(CLIENT_CONFIG_DIR);
        fs::create_dir(&dir).unwrap();
        for file in files {
            fs::write(dir.join(file), "pem").unwrap();
        }
        if let Some(contents) = pgpass {
            write_private(&home.path().join(".pgpass"), contents);
        }
        home
    }

    fn write_private(path: &Path, contents: &str) {
        fs::write(path, contents).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
    }

    fn home_str(home: &tempfile::TempDir) -> &str {
        home.path().to_str().unwrap()
    }

    // ---- SslMode and Password ----

    #[test]
    fn sslmode_spellings_round_trip() {
        for mode in SslMode::ALL {
            assert_eq!(SslMode::parse(mode.as_str()).unwrap(), mode);
            assert_eq!(mode.as_str().parse::<SslMode>().unwrap(), mode);
            assert_eq!(mode.to_string(), mode.as_str());
            let json = serde_json::to_string(&mode).unwrap();
            assert_eq!(json, format!("\"{}\"", mode.as_str()));
            assert_eq!(serde_json::from_str::<SslMode>(&json).unwrap(), mode);
            let explanation = mode.explanation();
            assert!(!explanation.is_empty() && !explanation.contains('\n'));
        }
        assert_eq!(SslMode::VerifyFull.as_str(), "verify-full");
        assert_eq!(
            SslMode::VerifyFull.explanation(),
            "encrypt, and verify the CA and the host name"
        );
    }

    #[test]
    fn sslmode_parse_is_case_sensitive_and_lists_valid_values() {
        let message = SslMode::parse("Verify-Full").unwrap_err().to_string();
        for mode in SslMode::ALL {
            assert!(message.contains(mode.as_str()), "{message}");
        }
        assert!(SslMode::parse("").is_err());
    }

    #[test]
    fn sslmode_strength_helpers() {
        assert!(!SslMode::Prefer.requires_encryption());
        assert!(SslMode::Require.requires_encryption());
        assert!(!SslMode::Require.verifies_certificate());
        assert!(SslMode::VerifyCa.verifies_certificate());
    }

    #[test]
    fn password_never_prints() {
        let password = Password::new("hunter2");
        assert_eq!(format!("{password:?}"), "********");
        assert_eq!(format!("{password}"), "********");
        assert_eq!(format!("{:?}", Some(password.clone())), "Some(********)");
        assert_eq!(password.expose(), "hunter2");
        let params = ok("password=hunter2 host=db");
        assert!(!format!("{params:?}").contains("hunter2"));
        assert!(!format!("{params:#?}").contains("hunter2"));
    }

    // ---- URIs ----

    #[test]
    fn uri_full() {
        let params = ok("postgresql://alice:s3cret@db.example.com:6543/clinic\
             ?sslmode=verify-full&sslrootcert=/etc/ca.crt&application_name=scan\
             &connect_timeout=10&options=-c%20statement_timeout%3D5s");
        assert_eq!(params.host, "db.example.com");
        assert_eq!(params.hostaddr, None);
        assert_eq!(params.port, 6543);
        assert_eq!(params.user, "alice");
        assert_eq!(params.dbname, "clinic");
        assert_eq!(params.password, Some(Password::new("s3cret")));
        assert_eq!(params.sslmode, SslMode::VerifyFull);
        assert_eq!(params.sslrootcert, Some(PathBuf::from("/etc/ca.crt")));
        assert_eq!(params.application_name.as_deref(), Some("scan"));
        assert_eq!(params.connect_timeout, Some(Duration::from_secs(10)));
        assert_eq!(params.options.as_deref(), Some("-c statement_timeout=5s"));
        assert!(!params.is_unix_socket());
    }

    #[test]
    fn uri_minimal_takes_defaults() {
        for uri in [
            "postgresql://",
            "postgres://",
            "postgresql:///",
            "postgresql://?",
        ] {
            assert_eq!(raw(uri), BTreeMap::new(), "{uri}");
            let params = resolve(uri, &[("USER", "carol")]).unwrap();
            assert_eq!(params.host, DEFAULT_SOCKET_DIR);
            assert_eq!(params.port, 5432);
            assert_eq!(params.user, "carol");
            assert_eq!(params.dbname, "carol");
            assert_eq!(params.sslmode, SslMode::Prefer);
            assert!(params.is_unix_socket());
        }
    }

    #[test]
    fn uri_short_prefix_and_leading_space() {
        assert_eq!(
            raw("  postgres://h/db"),
            map(&[("host", "h"), ("dbname", "db")])
        );
    }

    #[test]
    fn uri_ipv6() {
        let params = ok("postgresql://[::1]:5433/db");
        assert_eq!(params.host, "::1");
        assert_eq!(params.port, 5433);
        assert_eq!(
            params.display_target(),
            "postgres@[::1]:5433/db (sslmode=prefer)"
        );
        assert_eq!(ok("postgresql://[2001:db8::7]/db").host, "2001:db8::7");
        assert_eq!(
            ok("postgresql://u@[fe80::1]?sslmode=require").host,
            "fe80::1"
        );
    }

    #[test]
    fn uri_percent_decoding() {
        let params = ok("postgresql://al%40ice:p%3Ass%2Fw%20rd@h/my%20db?application_name=a%2Bb+c");
        assert_eq!(params.user, "al@ice");
        assert_eq!(params.password.unwrap().expose(), "p:ss/w rd");
        assert_eq!(params.dbname, "my db");
        // '+' is not a space in libpq.
        assert_eq!(params.application_name.as_deref(), Some("a+b+c"));
        assert_eq!(ok("postgresql://h/caf%C3%A9").dbname, "café");
    }

    #[test]
    fn uri_socket_paths() {
        let params = ok("postgresql://%2Fvar%2Flib%2Fpostgresql/db");
        assert_eq!(params.host, "/var/lib/postgresql");
        assert!(params.is_unix_socket());
        let params = ok("postgresql:///db?host=/tmp/sock&port=5499");
        assert_eq!(params.host, "/tmp/sock");
        assert_eq!(params.port, 5499);
        assert!(params.is_unix_socket());
    }

    #[test]
    fn uri_query_overrides_earlier_parts() {
        let params = ok("postgresql://u@h:1/d?host=other&port=2&dbname=e&user=v");
        assert_eq!(
            (
                params.host.as_str(),
                params.port,
                params.dbname.as_str(),
                params.user.as_str()
            ),
            ("other", 2, "e", "v")
        );
    }

    #[test]
    fn uri_ssl_true_means_require() {
        assert_eq!(ok("postgresql://h/db?ssl=true").sslmode, SslMode::Require);
        assert!(matches!(
            err("postgresql://h/db?ssl=false"),
            ConnInfoError::UnknownKeyword { .. }
        ));
    }

    #[test]
    fn uri_multiple_hosts_keep_the_first() {
        assert_eq!(
            raw("postgresql://h1:1,h2/db"),
            map(&[("host", "h1,h2"), ("port", "1,"), ("dbname", "db")])
        );
        let params = ok("postgresql://h1:5433,h2:5434/db");
        assert_eq!((params.host.as_str(), params.port), ("h1", 5433));
        let params = ok("postgresql://[::1]:7,[::2]:8/db");
        assert_eq!((params.host.as_str(), params.port), ("::1", 7));
    }

    #[test]
    fn uri_userinfo_follows_libpq() {
        // The password runs to the '@' and may hold ':' and '?'.
        let params = ok("postgresql://u:a:b?c@h/db");
        assert_eq!(params.password.unwrap().expose(), "a:b?c");
        // An empty user or password is "not given".
        assert_eq!(
            raw("postgresql://u:@h"),
            map(&[("user", "u"), ("host", "h")])
        );
        assert_eq!(raw("postgresql://:5433"), map(&[("port", "5433")]));
        assert_eq!(
            raw("postgresql://h:/d"),
            map(&[("host", "h"), ("dbname", "d")])
        );
    }

    #[test]
    fn uri_trailing_and_doubled_ampersands_are_skipped() {
        assert_eq!(
            raw("postgresql://h?sslmode=require&&port=5&"),
            map(&[("host", "h"), ("sslmode", "require"), ("port", "5")])
        );
    }

    // ---- key=value ----

    #[test]
    fn key_values_basic_and_whitespace() {
        assert_eq!(
            raw("host=localhost port=5432 dbname=mydb"),
            map(&[("host", "localhost"), ("port", "5432"), ("dbname", "mydb")])
        );
        assert_eq!(
            raw("  host =\tdb\n\x0bport\r= 6000  "),
            map(&[("host", "db"), ("port", "6000")])
        );
        assert_eq!(raw(""), BTreeMap::new());
        assert_eq!(raw("   "), BTreeMap::new());
    }

    #[test]
    fn key_values_quoting_and_escapes() {
        assert_eq!(
            raw(r"password='it\'s a \\ secret' user=''"),
            map(&[("password", r"it's a \ secret"), ("user", "")])
        );
        assert_eq!(raw(r"options=-c\ a=b"), map(&[("options", "-c a=b")]));
        assert_eq!(raw(r"user=o\'brien"), map(&[("user", "o'brien")]));
        assert_eq!(raw("user=a'b"), map(&[("user", "a'b")]));
        assert_eq!(
            raw("application_name='é ü'"),
            map(&[("application_name", "é ü")])
        );
    }

    #[test]
    fn key_values_later_keys_win() {
        assert_eq!(raw("port=1 port=2"), map(&[("port", "2")]));
    }

    #[test]
    fn key_values_skip_space_after_equals_like_libpq() {
        assert_eq!(raw("host= port=5"), map(&[("host", "port=5")]));
        assert_eq!(raw("host="), map(&[("host", "")]));
    }

    #[test]
    fn key_values_multiple_hosts_keep_the_first() {
        let params = ok("host=a,b port=6000,6001 hostaddr=10.0.0.1,10.0.0.2");
        assert_eq!(params.host, "a");
        assert_eq!(params.port, 6000);
        assert_eq!(params.hostaddr.as_deref(), Some("10.0.0.1"));
    }

    // ---- errors ----

    #[test]
    fn error_missing_equals() {
        assert!(matches!(
            err("host localhost"),
            ConnInfoError::MissingEquals { keyword } if keyword == "host"
        ));
        assert!(matches!(
            err("host=a b"),
            ConnInfoError::MissingEquals { keyword } if keyword == "b"
        ));
        assert!(matches!(
            err("=x"),
            ConnInfoError::Malformed { position: 1 }
        ));
        assert!(matches!(
            err("host=a p@ss"),
            ConnInfoError::Malformed { position: 8 }
        ));
    }

    #[test]
    fn error_unknown_keyword_names_it() {
        let error = err("hots=db");
        assert!(matches!(&error, ConnInfoError::UnknownKeyword { keyword } if keyword == "hots"));
        assert!(error.to_string().contains("\"hots\""));
        assert!(matches!(
            err("postgresql://h/db?colour=blue"),
            ConnInfoError::UnknownKeyword { keyword } if keyword == "colour"
        ));
    }

    #[test]
    fn error_unterminated_quote() {
        assert!(matches!(
            err("user='abc"),
            ConnInfoError::UnterminatedQuote { keyword } if keyword == "user"
        ));
        assert!(matches!(
            err(r"user='abc\'"),
            ConnInfoError::UnterminatedQuote { .. }
        ));
    }

    #[test]
    fn error_foreign_scheme() {
        assert!(matches!(
            err("mysql://root:pw@h/db"),
            ConnInfoError::UnsupportedScheme { scheme } if scheme == "mysql"
        ));
        assert!(matches!(
            err("postgresq://u:pw@h"),
            ConnInfoError::UnsupportedScheme { .. }
        ));
    }

    #[test]
    fn error_bad_percent_encoding() {
        for uri in [
            "postgresql://h/d%zz",
            "postgresql://h/d%4",
            "postgresql://h/d%",
            "postgresql://h/d%00",
            "postgresql://u%g1@h",
            "postgresql://h?application_name=%x",
        ] {
            assert!(
                matches!(err(uri), ConnInfoError::InvalidPercentEncoding { .. }),
                "{uri}"
            );
        }
        assert!(matches!(
            err("postgresql://h/%ff"),
            ConnInfoError::NotUtf8 { .. }
        ));
    }

    #[test]
    fn error_ipv6_forms() {
        assert!(matches!(
            err("postgresql://[::1/db"),
            ConnInfoError::UnterminatedIpv6
        ));
        assert!(matches!(
            err("postgresql://[]/db"),
            ConnInfoError::EmptyIpv6
        ));
        assert!(matches!(
            err("postgresql://[::1]x"),
            ConnInfoError::AfterIpv6 { found: 'x' }
        ));
    }

    #[test]
    fn error_unencoded_at_sign() {
        let error = err("postgresql://u:p@Zq9@h/db");
        assert!(matches!(error, ConnInfoError::AtSignInHost));
        assert!(!error.to_string().contains("Zq9"));
    }

    #[test]
    fn error_query_syntax() {
        assert!(matches!(
            err("postgresql://h?sslmode"),
            ConnInfoError::QueryMissingEquals { param } if param == "sslmode"
        ));
        assert!(matches!(
            err("postgresql://h?a%2Fb"),
            ConnInfoError::MalformedQueryParameter { number: 1 }
        ));
        assert!(matches!(
            err("postgresql://h/d?options=a=b"),
            ConnInfoError::QueryExtraEquals { keyword } if keyword == "options"
        ));
    }

    #[test]
    fn error_bad_port() {
        for (conninfo, value) in [
            ("port=abc", "abc"),
            ("port=0", "0"),
            ("port=65536", "65536"),
            ("port=-1", "-1"),
            ("postgresql://h:99999/db", "99999"),
            ("postgresql://h:x/db", "x"),
        ] {
            let error = err(conninfo);
            assert!(
                matches!(&error, ConnInfoError::InvalidPort { value: v, .. } if v == value),
                "{conninfo}: {error}"
            );
        }
        assert_eq!(ok("port=65535").port, 65535);
        assert_eq!(ok("port=''").port, DEFAULT_PORT);
        let error = resolve("", &[("PGPORT", "nope")]).unwrap_err();
        assert!(error.to_string().contains("PGPORT"), "{error}");
    }

    #[test]
    fn error_bad_sslmode_lists_valid_values() {
        let message = err("sslmode=strict").to_string();
        assert!(message.contains("\"strict\""), "{message}");
        for mode in SslMode::ALL {
            assert!(message.contains(mode.as_str()), "{message}");
        }
        let message = resolve("", &[("PGSSLMODE", "on")]).unwrap_err().to_string();
        assert!(message.contains("PGSSLMODE"), "{message}");
    }

    #[test]
    fn error_bad_values_of_other_options() {
        assert!(matches!(
            err("connect_timeout=soon"),
            ConnInfoError::InvalidConnectTimeout { .. }
        ));
        assert!(matches!(
            err("hostaddr=db.example.com"),
            ConnInfoError::InvalidHostaddr { .. }
        ));
        assert!(matches!(
            err("requiressl=yes"),
            ConnInfoError::InvalidRequireSsl { .. }
        ));
    }

    #[test]
    fn refused_options_say_why() {
        let error = err("host=h sslcrl=/etc/crl.pem");
        assert!(matches!(
            error,
            ConnInfoError::Unsupported {
                keyword: "sslcrl",
                ..
            }
        ));
        assert!(error.to_string().contains("revocation"), "{error}");
        let error = resolve("host=h", &[("PGSERVICE", "prod")]).unwrap_err();
        assert!(error.to_string().contains("PGSERVICE"), "{error}");
        assert!(matches!(
            err("sslpassword=topsecret"),
            ConnInfoError::Unsupported {
                keyword: "sslpassword",
                ..
            }
        ));
        assert!(!err("sslpassword=topsecret")
            .to_string()
            .contains("topsecret"));
    }

    #[test]
    fn options_accepted_only_at_weak_values() {
        assert!(resolve("channel_binding=prefer gssencmode=disable", &[]).is_ok());
        assert!(resolve(
            "ssl_min_protocol_version=tlsv1.2 target_session_attrs=any",
            &[]
        )
        .is_ok());
        let error = err("channel_binding=require");
        assert!(matches!(
            &error,
            ConnInfoError::UnsupportedValue {
                keyword: "channel_binding",
                ..
            }
        ));
        assert!(error.to_string().contains("disable, prefer"), "{error}");
        assert!(resolve("", &[("PGGSSENCMODE", "require")]).is_err());
        assert!(err("ssl_min_protocol_version=TLSv1.3")
            .to_string()
            .contains("TLSv1.2"));
    }

    #[test]
    fn ignored_options_are_accepted() {
        let params =
            ok("host=h keepalives=1 keepalives_idle=30 client_encoding=LATIN1 sslcompression=1");
        assert_eq!(params.host, "h");
    }

    #[test]
    fn errors_never_echo_password_fragments() {
        let secret = "Zq9secret";
        let cases = [
            format!("password={secret} x{secret}"),
            format!("password=a {secret}"),
            format!("password=a {secret}=b"),
            format!("password=a {secret} host=h"),
            format!("postgresql://u:{secret}@x@h/db"),
            format!("postgresql://u:{secret}%zz@h/db"),
            format!("postgresql://u:{secret}%ff@h/db"),
            format!("postgresql://h/db?password=a&{secret}"),
            format!("postgresql://h/db?password=a&{secret}=b"),
            format!("postgresql://h/db?password={secret}=b"),
            format!("postgresql://h/db?password={secret}%00"),
            format!("mysql://u:{secret}@h"),
            format!("postgresq://u:{secret}@h"),
            format!("foo:{secret}@h"),
            format!("sslpassword={secret}"),
            format!("oauth_client_secret={secret}"),
        ];
        for conninfo in &cases {
            let error = err(conninfo);
            let message = error.to_string();
            assert!(!message.contains(secret), "{conninfo} -> {message}");
            assert!(
                !format!("{error:?}").contains(secret),
                "{conninfo} -> {error:?}"
            );
        }
    }

    #[test]
    fn error_messages_are_one_lowercase_line() {
        let cases = [
            "host x",
            "hots=1",
            "=x",
            "user='a",
            "mysql://h",
            "postgresql://h/%zz",
            "postgresql://h/%ff",
            "postgresql://[::1",
            "postgresql://[]",
            "postgresql://[::1]x",
            "postgresql://u:p@s@h",
            "postgresql://h?port",
            "postgresql://h?%2F",
            "postgresql://h?options=a=b",
            "port=x",
            "hostaddr=x",
            "sslmode=x",
            "connect_timeout=x",
            "requiressl=x",
            "sslcrl=x",
            "channel_binding=require",
            "sslmode=require sslrootcert=system",
            "sslmode=verify-full",
            "password=a b",
            "user=a\nb\nc=d",
        ];
        for conninfo in cases {
            let message = err(conninfo).to_string();
            let first = message.chars().next().unwrap();
            assert!(!first.is_uppercase(), "{conninfo} -> {message}");
            assert!(!message.contains('\n'), "{conninfo} -> {message}");
        }
    }

    // ---- environment and defaults ----

    #[test]
    fn defaults_without_environment() {
        let params = ok("");
        assert_eq!(params.host, "/var/run/postgresql");
        assert_eq!(params.hostaddr, None);
        assert_eq!(params.port, 5432);
        assert_eq!(params.user, "postgres");
        assert_eq!(params.dbname, "postgres");
        assert_eq!(params.password, None);
        assert_eq!(params.sslmode, SslMode::Prefer);
        assert_eq!(params.sslrootcert, None);
        assert_eq!(params.sslcert, None);
        assert_eq!(params.application_name, None);
        assert_eq!(params.connect_timeout, None);
        assert_eq!(params.options, None);
        assert!(params.is_unix_socket());
    }

    #[test]
    fn default_user_comes_from_user_then_logname() {
        assert_eq!(resolve("", &[("LOGNAME", "lo")]).unwrap().user, "lo");
        assert_eq!(
            resolve("", &[("USER", "us"), ("LOGNAME", "lo")])
                .unwrap()
                .user,
            "us"
        );
        let params = resolve("", &[("USER", "us"), ("PGUSER", "pg")]).unwrap();
        assert_eq!((params.user.as_str(), params.dbname.as_str()), ("pg", "pg"));
    }

    #[test]
    fn environment_fills_what_the_conninfo_leaves_out() {
        let env = [
            ("PGHOST", "envhost"),
            ("PGPORT", "7000"),
            ("PGUSER", "envuser"),
            ("PGDATABASE", "envdb"),
            ("PGPASSWORD", "envpw"),
            ("PGSSLMODE", "require"),
            ("PGAPPNAME", "envapp"),
            ("PGCONNECT_TIMEOUT", "1"),
            ("PGOPTIONS", "-c work_mem=1MB"),
            ("PGSSLCERT", "/c.crt"),
            ("PGSSLKEY", "/c.key"),
            ("PGSSLROOTCERT", "/ca.crt"),
            ("PGHOSTADDR", "192.0.2.1"),
        ];
        let params = resolve("", &env).unwrap();
        assert_eq!(params.host, "envhost");
        assert_eq!(params.hostaddr.as_deref(), Some("192.0.2.1"));
        assert_eq!(params.port, 7000);
        assert_eq!(params.user, "envuser");
        assert_eq!(params.dbname, "envdb");
        assert_eq!(params.password.unwrap().expose(), "envpw");
        assert_eq!(params.sslmode, SslMode::Require);
        assert_eq!(params.application_name.as_deref(), Some("envapp"));
        assert_eq!(params.connect_timeout, Some(Duration::from_secs(2)));
        assert_eq!(params.options.as_deref(), Some("-c work_mem=1MB"));
        assert_eq!(params.sslcert, Some(PathBuf::from("/c.crt")));
        assert_eq!(params.sslkey, Some(PathBuf::from("/c.key")));
        assert_eq!(params.sslrootcert, Some(PathBuf::from("/ca.crt")));

        let params = resolve(
            "host=h port=1 user=u dbname=d password=p sslmode=disable application_name=a",
            &env,
        )
        .unwrap();
        assert_eq!(params.host, "h");
        assert_eq!(params.port, 1);
        assert_eq!(params.user, "u");
        assert_eq!(params.dbname, "d");
        assert_eq!(params.password.unwrap().expose(), "p");
        assert_eq!(params.sslmode, SslMode::Disable);
        assert_eq!(params.application_name.as_deref(), Some("a"));
    }

    #[test]
    fn empty_conninfo_value_hides_the_environment() {
        let params = resolve("host=''", &[("PGHOST", "envhost")]).unwrap();
        assert_eq!(params.host, DEFAULT_SOCKET_DIR);
        let params = resolve("", &[("PGHOST", ""), ("PGSSLMODE", "")]).unwrap();
        assert_eq!(params.host, DEFAULT_SOCKET_DIR);
        assert_eq!(params.sslmode, SslMode::Prefer);
    }

    #[test]
    fn hostaddr_without_host_becomes_the_host() {
        let params = ok("hostaddr=192.0.2.10");
        assert_eq!(params.host, "192.0.2.10");
        assert!(!params.is_unix_socket());
        let params = ok("host=/tmp hostaddr=::1");
        assert!(!params.is_unix_socket(), "hostaddr means TCP");
        assert_eq!(
            params.display_target(),
            "postgres@/tmp:5432/postgres (sslmode=prefer, hostaddr=::1)"
        );
    }

    #[test]
    fn connect_timeout_follows_libpq() {
        assert_eq!(ok("connect_timeout=0").connect_timeout, None);
        assert_eq!(ok("connect_timeout=-5").connect_timeout, None);
        assert_eq!(
            ok("connect_timeout=1").connect_timeout,
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            ok("connect_timeout=30").connect_timeout,
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            ok("connect_timeout=' 7 '").connect_timeout,
            Some(Duration::from_secs(7))
        );
    }

    #[test]
    fn application_name_falls_back() {
        assert_eq!(
            ok("fallback_application_name=fb")
                .application_name
                .as_deref(),
            Some("fb")
        );
        let params = resolve("fallback_application_name=fb", &[("PGAPPNAME", "env")]).unwrap();
        assert_eq!(params.application_name.as_deref(), Some("env"));
    }

    #[test]
    fn requiressl_is_an_old_spelling_of_require() {
        assert_eq!(ok("requiressl=1").sslmode, SslMode::Require);
        assert_eq!(ok("requiressl=0").sslmode, SslMode::Prefer);
        assert_eq!(ok("requiressl=1 sslmode=allow").sslmode, SslMode::Allow);
        assert_eq!(
            resolve("requiressl=1", &[("PGSSLMODE", "disable")])
                .unwrap()
                .sslmode,
            SslMode::Require
        );
        assert_eq!(
            resolve("", &[("PGREQUIRESSL", "1")]).unwrap().sslmode,
            SslMode::Require
        );
        assert_eq!(
            resolve("", &[("PGREQUIRESSL", "1"), ("PGSSLMODE", "allow")])
                .unwrap()
                .sslmode,
            SslMode::Allow
        );
    }

    // ---- certificates ----

    #[test]
    fn system_root_store_implies_verify_full() {
        let params = ok("host=h sslrootcert=system");
        assert_eq!(params.sslmode, SslMode::VerifyFull);
        assert_eq!(params.sslrootcert, Some(PathBuf::from(SYSTEM_ROOT_STORE)));
        assert_eq!(
            ok("sslrootcert=system sslmode=verify-full").sslmode,
            SslMode::VerifyFull
        );
        for weak in ["disable", "allow", "prefer", "require", "verify-ca"] {
            let error = err(&format!("sslrootcert=system sslmode={weak}"));
            assert!(
                matches!(error, ConnInfoError::WeakSslModeWithSystemRoots { .. }),
                "{weak}"
            );
        }
    }

    #[test]
    fn verify_modes_need_a_root_certificate() {
        for mode in ["verify-ca", "verify-full"] {
            let error = err(&format!("host=h sslmode={mode}"));
            assert!(
                matches!(error, ConnInfoError::MissingRootCert { .. }),
                "{mode}"
            );
            assert!(error.to_string().contains("sslrootcert"), "{error}");
        }
        let home = home_with(&[DEFAULT_ROOT_CERT], None);
        let params = resolve("host=h sslmode=verify-full", &[("HOME", home_str(&home))]).unwrap();
        assert_eq!(
            params.sslrootcert,
            Some(home.path().join(".postgresql/root.crt"))
        );
        let params = resolve(
            "host=h sslmode=verify-ca sslrootcert=/ca.pem",
            &[("HOME", home_str(&home))],
        )
        .unwrap();
        assert_eq!(params.sslrootcert, Some(PathBuf::from("/ca.pem")));
    }

    #[test]
    fn default_root_certificate_is_not_used_for_require() {
        let home = home_with(&[DEFAULT_ROOT_CERT], None);
        let params = resolve("host=h sslmode=require", &[("HOME", home_str(&home))]).unwrap();
        assert_eq!(params.sslrootcert, None);
    }

    #[test]
    fn default_client_certificate_and_key() {
        let home = home_with(&[DEFAULT_CLIENT_CERT, DEFAULT_CLIENT_KEY], None);
        let env = [("HOME", home_str(&home))];
        let params = resolve("host=h", &env).unwrap();
        assert_eq!(
            params.sslcert,
            Some(home.path().join(".postgresql/postgresql.crt"))
        );
        assert_eq!(
            params.sslkey,
            Some(home.path().join(".postgresql/postgresql.key"))
        );
        let params = resolve("host=h sslcert=/mine.crt", &env).unwrap();
        assert_eq!(params.sslcert, Some(PathBuf::from("/mine.crt")));
        assert_eq!(
            params.sslkey,
            Some(home.path().join(".postgresql/postgresql.key"))
        );
        let params = resolve("host=h sslmode=disable", &env).unwrap();
        assert_eq!((params.sslcert, params.sslkey), (None, None));

        let key_only = home_with(&[DEFAULT_CLIENT_KEY], None);
        let params = resolve("host=h", &[("HOME", home_str(&key_only))]).unwrap();
        assert_eq!((params.sslcert, params.sslkey), (None, None));
    }

    // ---- password file ----

    #[test]
    fn pgpass_supplies_the_password() {
        let home = home_with(&[], Some("db.example.com:5432:clinic:alice:from-pgpass\n"));
        let env = [("HOME", home_str(&home))];
        let params = resolve("host=db.example.com user=alice dbname=clinic", &env).unwrap();
        assert_eq!(params.password.unwrap().expose(), "from-pgpass");
        let params = resolve("host=db.example.com user=bob dbname=clinic", &env).unwrap();
        assert_eq!(params.password, None);
    }

    #[test]
    fn pgpass_matches_the_default_socket_as_localhost() {
        let home = home_with(&[], Some("localhost:5432:*:alice:sock-pw\n"));
        let params = resolve("user=alice", &[("HOME", home_str(&home))]).unwrap();
        assert!(params.is_unix_socket());
        assert_eq!(params.password.unwrap().expose(), "sock-pw");
    }

    #[test]
    fn password_sources_in_libpq_order() {
        let home = home_with(&[], Some("*:*:*:*:home-file\n"));
        let other = tempfile::tempdir().unwrap();
        let pgpassfile = other.path().join("env-file");
        write_private(&pgpassfile, "*:*:*:*:env-file\n");
        let passfile = other.path().join("kw-file");
        write_private(&passfile, "*:*:*:*:keyword-file\n");
        let home_env = ("HOME", home_str(&home));
        let pgpassfile_env = ("PGPASSFILE", pgpassfile.to_str().unwrap());

        let password = |conninfo: &str, env: &[(&str, &str)]| {
            resolve(conninfo, env)
                .unwrap()
                .password
                .map(|p| p.expose().to_owned())
        };
        assert_eq!(password("", &[home_env]).as_deref(), Some("home-file"));
        assert_eq!(
            password("", &[home_env, pgpassfile_env]).as_deref(),
            Some("env-file")
        );
        let with_passfile = format!("passfile={}", quote_value(passfile.to_str().unwrap()));
        assert_eq!(
            password(&with_passfile, &[home_env, pgpassfile_env]).as_deref(),
            Some("keyword-file")
        );
        assert_eq!(
            password("", &[home_env, ("PGPASSWORD", "env-pw")]).as_deref(),
            Some("env-pw")
        );
        assert_eq!(
            password("password=given", &[home_env, ("PGPASSWORD", "env-pw")]).as_deref(),
            Some("given")
        );
        // An empty password is "none given": the file is consulted.
        assert_eq!(
            password("password=''", &[home_env]).as_deref(),
            Some("home-file")
        );
    }

    #[test]
    fn pgpass_with_loose_permissions_is_an_error() {
        let home = home_with(&[], Some("*:*:*:*:pw\n"));
        let path = home.path().join(".pgpass");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let error = resolve("host=h", &[("HOME", home_str(&home))]).unwrap_err();
        assert!(matches!(error, ConnInfoError::Pgpass(_)));
        let message = error.to_string();
        assert!(message.contains("chmod 0600"), "{message}");
        assert!(message.contains(path.to_str().unwrap()), "{message}");
        // A given password means the file is never read.
        assert!(resolve("host=h password=x", &[("HOME", home_str(&home))]).is_ok());
    }

    // ---- display and derived params ----

    #[test]
    fn display_target_never_shows_the_password() {
        let params = ok("postgresql://alice:hunter2@db:6000/clinic?sslmode=require");
        let shown = params.display_target();
        assert_eq!(shown, "alice@db:6000/clinic (sslmode=require)");
        assert!(!shown.contains("hunter2"));
        assert!(!params.conninfo_without_password().contains("hunter2"));
    }

    #[test]
    fn display_target_for_sockets() {
        assert_eq!(
            ok("user=u dbname=d").display_target(),
            "u@/var/run/postgresql:5432/d (sslmode=prefer)"
        );
    }

    #[test]
    fn with_dbname_changes_only_the_database() {
        let params = ok("host=h user=u dbname=one password=pw sslmode=require");
        let other = params.with_dbname("two");
        assert_eq!(other.dbname, "two");
        assert_eq!(
            ConnParams {
                dbname: "one".into(),
                ..other
            },
            params
        );
    }

    #[test]
    fn conninfo_without_password_round_trips_an_example() {
        let params = ok(
            "postgresql://alice:pw@[::1]:6000/my%20db?options=-c%20a%3Db&connect_timeout=9\
             &sslmode=verify-ca&sslrootcert=/ca%20dir/ca.pem&application_name=o'neil%5C",
        );
        let text = params.conninfo_without_password();
        let again = ok(&text);
        assert_eq!(
            again,
            ConnParams {
                password: None,
                ..params
            }
        );
    }

    // ---- keyword table ----

    #[test]
    fn keyword_table_is_consistent() {
        let mut names: Vec<&str> = KEYWORDS.iter().map(|k| k.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KEYWORDS.len(), "duplicate keyword");
        let mut envs: Vec<&str> = KEYWORDS.iter().filter_map(|k| k.env).collect();
        let count = envs.len();
        envs.sort_unstable();
        envs.dedup();
        assert_eq!(envs.len(), count, "duplicate environment variable");
        for name in [
            "host",
            "hostaddr",
            "port",
            "dbname",
            "user",
            "password",
            "passfile",
            "sslmode",
            "sslrootcert",
            "sslcert",
            "sslkey",
            "application_name",
            "fallback_application_name",
            "connect_timeout",
            "options",
            "requiressl",
        ] {
            assert_eq!(
                keyword(name).map(|k| k.handling),
                Some(Handling::Used),
                "{name}"
            );
        }
        for k in KEYWORDS {
            assert!(parse_raw(&format!("{}=x", k.name)).is_ok(), "{}", k.name);
        }
    }

    // ---- properties ----

    fn percent_encode_all(value: &str) -> String {
        value.bytes().map(|b| format!("%{b:02X}")).collect()
    }

    proptest! {
        #[test]
        fn quoted_values_round_trip(value in "[^\u{0}]*") {
            let parsed = parse_raw(&format!("application_name={} port=5", quote_value(&value))).unwrap();
            prop_assert_eq!(parsed.get("application_name"), Some(&value));
            prop_assert_eq!(parsed.get("port").map(String::as_str), Some("5"));
        }

        #[test]
        fn percent_encoded_passwords_round_trip(value in "[^\u{0}]+") {
            let uri = format!("postgresql://u:{}@h/db", percent_encode_all(&value));
            let parsed = parse_raw(&uri).unwrap();
            prop_assert_eq!(parsed.get("password"), Some(&value));
        }

        #[test]
        fn parse_raw_never_panics(input in "\\PC{0,60}") {
            let _ = parse_raw(&input);
            let _ = parse_raw(&format!("postgresql://{input}"));
        }

        #[test]
        fn resolved_params_round_trip_through_conninfo(
            host in "[a-z][a-z0-9.-]{0,20}|/[a-z/ ]{1,20}",
            port in 1u16..,
            user in "[^,\u{0}]{1,12}",
            dbname in "\\PC{1,12}",
            mode_index in 0usize..6,
            options in proptest::option::of("-c [a-z_]{1,10}=[a-z0-9 ']{1,8}"),
            timeout in proptest::option::of(2u64..1000),
            rootcert in proptest::option::of("/[a-z ]{1,10}\\.pem"),
        ) {
            let sslmode = SslMode::ALL[mode_index];
            let sslrootcert = match (sslmode.verifies_certificate(), rootcert) {
                (true, None) => Some(PathBuf::from("/ca.pem")),
                (_, other) => other.map(PathBuf::from),
            };
            let params = ConnParams {
                host, hostaddr: None, port, user, dbname, password: None, sslmode, sslrootcert,
                sslcert: None, sslkey: None, application_name: Some("pgsafeguard".into()),
                connect_timeout: timeout.map(Duration::from_secs), options,
            };
            let again = ConnParams::from_conninfo_with_env(&params.conninfo_without_password(), &|_| None).unwrap();
            prop_assert_eq!(again, params);
        }
    }
}

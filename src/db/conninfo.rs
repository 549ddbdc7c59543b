//! libpq-compatible connection parameters: resolution.
//!
//! This module owns turning what a DBA would hand to `psql` — a URI such as
//! `postgresql://alice@db.example.com/clinic?sslmode=verify-full` or a
//! key=value list such as `host=db port=5432 sslmode=require` — into
//! [`ConnParams`], the single description of a target that the rest of `db`
//! connects with. The text itself is read by [`crate::model::conninfo`] (the
//! one parser); this module applies libpq's rules in libpq's order: the
//! connection string, then the PG* environment variables, then libpq's
//! defaults, then the password file ([`super::pgpass`]), with a named
//! service's options ([`super::service`]) between the string and the
//! environment. It opens no connection; its only I/O is reading the
//! environment, checking whether libpq's default certificate files exist, and
//! reading the service and password files.
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
//! - **Service files** (`service=`, PGSERVICE, pg_service.conf) are read by
//!   [`super::service`] with libpq's precedence: the service's options fill
//!   what the connection string left unset, before the environment.
//! - **Not supported:** a `dbname` that is itself a connection string is not
//!   expanded.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::pgpass::{self, PgpassError};
use super::service::{self, ServiceError};
use crate::model::conninfo::{keyword, parse_raw, SyntaxError, KEYWORDS};

// The plain types live in the model (the GUI builds them without `db`); they
// are re-exported so that `db::conninfo::ConnParams` keeps working.
pub use crate::model::conninfo::{ConnParams, Password, SslMode, SYSTEM_ROOT_STORE};

/// libpq's default port.
pub const DEFAULT_PORT: u16 = 5432;

/// The unix-socket directory used when neither host nor hostaddr is given:
/// Debian's libpq default (upstream builds use `/tmp`).
pub const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// The user name when the connection string, PGUSER, USER and LOGNAME give none.
const FALLBACK_USER: &str = "postgres";

/// Where libpq looks for certificates when none are named: `$HOME/.postgresql/…`.
const CLIENT_CONFIG_DIR: &str = ".postgresql";
const DEFAULT_ROOT_CERT: &str = "root.crt";
const DEFAULT_CLIENT_CERT: &str = "postgresql.crt";
const DEFAULT_CLIENT_KEY: &str = "postgresql.key";

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
    /// The text itself could not be read.
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    #[error("invalid port {value:?}{origin}: use a number from 1 to 65535")]
    InvalidPort { value: String, origin: Origin },
    #[error("invalid hostaddr {value:?}{origin}: use a numeric IPv4 or IPv6 address (put host names in host)")]
    InvalidHostaddr { value: String, origin: Origin },
    #[error("invalid sslmode {value:?}{origin}: use one of {}", SslMode::choices())]
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
    #[error(transparent)]
    Service(#[from] ServiceError),
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

/// The reason given for a keyword of libpq's table that [`handling`] does not
/// name (a test keeps the two in step).
const NOT_REVIEWED: &str = "pgsafeguard does not know what it asks for";

/// What pgsafeguard does with each of libpq's keywords
/// ([`crate::model::conninfo::KEYWORDS`]).
fn handling(name: &str) -> Handling {
    const REVOCATION: &str = "certificate revocation lists are not checked";
    const OAUTH: &str = "OAuth is not supported";
    const SCRAM_KEYS: &str = "SCRAM key pass-through is not supported";
    match name {
        "host" | "hostaddr" | "port" | "dbname" | "user" | "password" | "passfile" | "sslmode"
        | "requiressl" | "sslrootcert" | "sslcert" | "sslkey" | "application_name"
        | "fallback_application_name" | "connect_timeout" | "options" => Handling::Used,
        // Read by `service::apply` before anything else, and removed there.
        "service" | "servicefile" => Handling::Used,
        // tokio-postgres always speaks UTF-8; the rest tune liveness only.
        "client_encoding" | "keepalives" | "keepalives_idle" | "keepalives_interval"
        | "keepalives_count" | "tcp_user_timeout" => Handling::Ignored,
        // TLS compression is off in every current TLS library.
        "sslcompression" | "sslsni" => Handling::Ignored,
        // A maximum only ever lowers the protocol; ignoring it keeps the newest.
        "ssl_max_protocol_version" | "max_protocol_version" => Handling::Ignored,
        // Only one host is used.
        "load_balance_hosts" => Handling::Ignored,
        // GSSAPI is never used, so nothing is ever delegated.
        "krbsrvname" | "gsslib" | "gssdelegation" => Handling::Ignored,
        // TLS keys are never written to disk.
        "sslkeylogfile" => Handling::Ignored,
        "channel_binding" | "gssencmode" => Handling::IgnoredIf(&["disable", "prefer"]),
        "sslnegotiation" => Handling::IgnoredIf(&["postgres"]),
        "sslcertmode" => Handling::IgnoredIf(&["disable", "allow"]),
        "ssl_min_protocol_version" => Handling::IgnoredIf(&["TLSv1", "TLSv1.1", "TLSv1.2"]),
        "min_protocol_version" => Handling::IgnoredIf(&["3.0"]),
        "target_session_attrs" => Handling::IgnoredIf(&["any"]),
        "sslpassword" => Handling::Refused(
            "encrypted client keys are not supported; use an unencrypted key file readable only by you",
        ),
        "sslcrl" | "sslcrldir" => Handling::Refused(REVOCATION),
        "requirepeer" => Handling::Refused("the server process owner is not checked"),
        "require_auth" => Handling::Refused("the authentication method is not restricted"),
        "replication" => Handling::Refused("a scan needs a normal session"),
        "oauth_issuer" | "oauth_client_id" | "oauth_client_secret" | "oauth_scope" => {
            Handling::Refused(OAUTH)
        }
        "scram_client_key" | "scram_server_key" => Handling::Refused(SCRAM_KEYS),
        _ => Handling::Refused(NOT_REVIEWED),
    }
}

/// Builds [`ConnParams`] from a connection string, the environment, libpq's
/// defaults and the password file.
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
        let mut raw = parse_raw(conninfo)?;
        service::apply(&mut raw, env)?;
        let settings = Settings { raw: &raw, env };
        refuse_unsupported(&settings)?;
        let mut params = resolve_without_password(&settings)?;
        params.password = resolve_password(&settings, &params)?;
        Ok(params)
    }
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
        match handling(keyword.name) {
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
            return SslMode::parse(&setting.value).map(Some).map_err(|_| {
                ConnInfoError::InvalidSslMode {
                    value: setting.value,
                    origin: setting.origin,
                }
            });
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
    use crate::model::conninfo::quote_value;
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

    // ---- Password ----

    #[test]
    fn params_debug_never_shows_the_password() {
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
            ConnInfoError::Syntax(SyntaxError::UnknownKeyword { .. })
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

    // ---- key=value ----

    #[test]
    fn key_values_multiple_hosts_keep_the_first() {
        let params = ok("host=a,b port=6000,6001 hostaddr=10.0.0.1,10.0.0.2");
        assert_eq!(params.host, "a");
        assert_eq!(params.port, 6000);
        assert_eq!(params.hostaddr.as_deref(), Some("10.0.0.1"));
    }

    // ---- errors ----

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
    fn a_service_fills_what_the_string_left_unset_before_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("services.conf");
        fs::write(
            &file,
            "[clinic]\nhost=svc-host\nport=6001\ndbname=clinic\nuser=auditor\n",
        )
        .unwrap();
        let env = [
            ("PGSERVICEFILE", file.to_str().unwrap()),
            ("PGHOST", "env-host"),
            ("PGUSER", "env-user"),
        ];
        let params = resolve("service=clinic user=given", &env).unwrap();
        assert_eq!(params.host, "svc-host", "the service wins over PGHOST");
        assert_eq!(params.port, 6001);
        assert_eq!(params.user, "given", "the string wins over the service");
        assert_eq!(params.dbname, "clinic");
        let from_env = resolve("", &[env[0], ("PGSERVICE", "clinic")]).unwrap();
        assert_eq!(from_env.host, "svc-host");
        let with_keyword = format!(
            "service=clinic servicefile={}",
            quote_value(file.to_str().unwrap())
        );
        assert_eq!(resolve(&with_keyword, &[]).unwrap().port, 6001);

        let error = resolve("service=prod", &env).unwrap_err();
        assert!(matches!(error, ConnInfoError::Service(_)), "{error}");
        assert!(error.to_string().contains("\"prod\" not found"), "{error}");
        fs::write(&file, "[clinic]\nsslcrl=/crl.pem\n").unwrap();
        let error = resolve("service=clinic", &env).unwrap_err();
        assert!(error.to_string().contains("revocation"), "{error}");
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
        // The syntax cases are in model::conninfo's tests; these are refused options.
        let secret = "Zq9secret";
        let cases = [
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
    fn syntax_errors_pass_through_unchanged() {
        let conninfo = "postgresql://h/db?password=a&Zq9secret";
        let error = err(conninfo);
        let syntax = parse_raw(conninfo).unwrap_err();
        assert_eq!(error.to_string(), syntax.to_string());
        assert!(matches!(error, ConnInfoError::Syntax(e) if e == syntax));
    }

    #[test]
    fn error_messages_are_one_lowercase_line() {
        // The syntax cases are in model::conninfo's tests.
        let cases = [
            "port=x",
            "hostaddr=x",
            "sslmode=x",
            "connect_timeout=x",
            "requiressl=x",
            "sslcrl=x",
            "channel_binding=require",
            "sslmode=require sslrootcert=system",
            "sslmode=verify-full",
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
    fn every_libpq_keyword_has_a_handling() {
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
            assert!(keyword(name).is_some(), "{name}");
            assert_eq!(handling(name), Handling::Used, "{name}");
        }
        for k in KEYWORDS {
            assert_ne!(
                handling(k.name),
                Handling::Refused(NOT_REVIEWED),
                "{} has no handling",
                k.name
            );
        }
    }

    // ---- properties ----

    proptest! {
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

//! libpq connection strings as text: the key=value and URI syntax, the quoting
//! of a value, libpq's keywords with their environment variables, the
//! `sslmode` vocabulary, [`Password`], and [`ConnParams`], the plain
//! description of one target that the rest of the program connects with.
//!
//! There is one parser, used both for the strings a user hands us and for the
//! strings a scan finds on a server (`primary_conninfo`). It follows libpq's
//! rules and never echoes a password in an error. Turning a string into
//! [`ConnParams`] (the PG* environment variables, libpq's defaults, the
//! password file, and which options pgsafeguard refuses) is `db::conninfo`'s
//! job, because it reads the environment and files.
//!
//! Pure: no I/O, and no import from any module above `model`.
//!
//! # Syntax (libpq's)
//!
//! - key=value: pairs separated by whitespace (C's `isspace`); whitespace
//!   around `=` is skipped; a value is bare (up to whitespace, `\` takes the
//!   next character literally) or single-quoted (`\'` and `\\` inside).
//! - URI: `postgresql://[user[:password]@][host][:port][,...][/dbname][?keyword=value&...]`
//!   (or `postgres://`), percent-encoded; `+` is not a space, `%00` is refused,
//!   and `ssl=true` means `sslmode=require` (libpq's JDBC compatibility).
//!   Hosts and ports of a list are joined with `,` as libpq stores them.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use percent_encoding::percent_decode_str;

/// The `sslrootcert` value that means "trust the operating system's CA store"
/// (libpq 16+). It is kept in [`ConnParams::sslrootcert`] as this literal path.
pub const SYSTEM_ROOT_STORE: &str = "system";

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
    pub fn parse(s: &str) -> Result<SslMode, UnknownSslMode> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.as_str() == s)
            .ok_or_else(|| UnknownSslMode {
                value: s.to_owned(),
            })
    }

    /// Every spelling, weakest first, for messages: `disable, allow, …`.
    pub fn choices() -> String {
        Self::ALL.map(SslMode::as_str).join(", ")
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
    type Err = UnknownSslMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SslMode::parse(s)
    }
}

/// A word that is not one of libpq's sslmode spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid sslmode {value:?}: use one of {}", SslMode::choices())]
pub struct UnknownSslMode {
    pub value: String,
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

/// The fully resolved description of one target server. `db::conninfo`
/// builds it from a connection string (`ConnParams::from_conninfo`); the GUI
/// may also fill it in directly. Its `Debug` never shows the password.
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
        render(pairs.iter().map(|(name, value)| (*name, value.as_str())))
    }
}

/// One libpq connection keyword and its environment variable.
#[derive(Debug)]
pub struct Keyword {
    pub name: &'static str,
    pub env: Option<&'static str>,
}

const fn kw(name: &'static str, env: Option<&'static str>) -> Keyword {
    Keyword { name, env }
}

/// libpq's keywords (up to PostgreSQL 18, plus `requiressl` from 15 and older).
/// What pgsafeguard's own client does with each is decided in `db::conninfo`.
pub static KEYWORDS: &[Keyword] = &[
    kw("host", Some("PGHOST")),
    kw("hostaddr", Some("PGHOSTADDR")),
    kw("port", Some("PGPORT")),
    kw("dbname", Some("PGDATABASE")),
    kw("user", Some("PGUSER")),
    kw("password", Some("PGPASSWORD")),
    kw("passfile", Some("PGPASSFILE")),
    kw("sslmode", Some("PGSSLMODE")),
    kw("requiressl", Some("PGREQUIRESSL")),
    kw("sslrootcert", Some("PGSSLROOTCERT")),
    kw("sslcert", Some("PGSSLCERT")),
    kw("sslkey", Some("PGSSLKEY")),
    kw("application_name", Some("PGAPPNAME")),
    kw("fallback_application_name", None),
    kw("connect_timeout", Some("PGCONNECT_TIMEOUT")),
    kw("options", Some("PGOPTIONS")),
    kw("client_encoding", Some("PGCLIENTENCODING")),
    kw("keepalives", None),
    kw("keepalives_idle", None),
    kw("keepalives_interval", None),
    kw("keepalives_count", None),
    kw("tcp_user_timeout", None),
    kw("sslcompression", Some("PGSSLCOMPRESSION")),
    kw("sslsni", Some("PGSSLSNI")),
    kw("ssl_max_protocol_version", Some("PGSSLMAXPROTOCOLVERSION")),
    kw("max_protocol_version", Some("PGMAXPROTOCOLVERSION")),
    kw("load_balance_hosts", Some("PGLOADBALANCEHOSTS")),
    kw("krbsrvname", Some("PGKRBSRVNAME")),
    kw("gsslib", Some("PGGSSLIB")),
    kw("gssdelegation", Some("PGGSSDELEGATION")),
    kw("servicefile", Some("PGSERVICEFILE")),
    kw("sslkeylogfile", None),
    kw("channel_binding", Some("PGCHANNELBINDING")),
    kw("gssencmode", Some("PGGSSENCMODE")),
    kw("sslnegotiation", Some("PGSSLNEGOTIATION")),
    kw("sslcertmode", Some("PGSSLCERTMODE")),
    kw("ssl_min_protocol_version", Some("PGSSLMINPROTOCOLVERSION")),
    kw("min_protocol_version", Some("PGMINPROTOCOLVERSION")),
    kw("target_session_attrs", Some("PGTARGETSESSIONATTRS")),
    kw("sslpassword", None),
    kw("sslcrl", Some("PGSSLCRL")),
    kw("sslcrldir", Some("PGSSLCRLDIR")),
    kw("requirepeer", Some("PGREQUIREPEER")),
    kw("require_auth", Some("PGREQUIREAUTH")),
    kw("service", Some("PGSERVICE")),
    kw("replication", None),
    kw("oauth_issuer", None),
    kw("oauth_client_id", None),
    kw("oauth_client_secret", None),
    kw("oauth_scope", None),
    kw("scram_client_key", None),
    kw("scram_server_key", None),
];

/// The keyword spelled `name`, if libpq knows it.
pub fn keyword(name: &str) -> Option<&'static Keyword> {
    KEYWORDS.iter().find(|k| k.name == name)
}

/// Which keywords a parse accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keywords {
    /// Only [`KEYWORDS`]: a string for our own client, where a misspelt
    /// option must be an error, as it is in libpq.
    Libpq,
    /// Any word: a string read from a server (`primary_conninfo`), whose own
    /// libpq decides which keywords it knows.
    Any,
}

/// Why a connection string could not be read. Messages are one lowercase
/// line and never contain a password: only words that look like keywords are
/// echoed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
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
}

/// Whether the string is a URI (`postgresql://` or `postgres://`, leading
/// whitespace allowed) rather than key=value pairs.
pub fn is_uri(conninfo: &str) -> bool {
    let trimmed = conninfo.trim_start();
    URI_PREFIXES.iter().any(|p| trimmed.starts_with(p))
}

/// Raw key/value pairs of a conninfo string (URI or key=value), keys validated
/// against libpq's known keywords. Later keys override earlier ones; in a URI,
/// query parameters override the parts before `?`.
pub fn parse_raw(conninfo: &str) -> Result<BTreeMap<String, String>, SyntaxError> {
    Ok(parse_pairs(conninfo, Keywords::Libpq)?
        .into_iter()
        .collect())
}

/// The keyword/value pairs of a conninfo string (URI or key=value) in the
/// order written, repeats included (libpq lets the last one win). A URI gives
/// `user`, `password`, `host`, `port` and `dbname` (when not empty), then its
/// query parameters.
pub fn parse_pairs(
    conninfo: &str,
    keywords: Keywords,
) -> Result<Vec<(String, String)>, SyntaxError> {
    let trimmed = conninfo.trim_start();
    match URI_PREFIXES.iter().find_map(|p| trimmed.strip_prefix(p)) {
        Some(body) => parse_uri(body, keywords),
        None => {
            if let Some(scheme) = foreign_scheme(trimmed) {
                return Err(SyntaxError::UnsupportedScheme {
                    scheme: scheme.to_owned(),
                });
            }
            parse_key_values(conninfo, keywords)
        }
    }
}

/// Quotes a value for a key=value conninfo unless it is plainly safe bare
/// (letters, digits and `._-/:,[]@`), escaping `'` and `\` as libpq expects.
pub fn quote_value(value: &str) -> String {
    let bare = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:,[]@".contains(c));
    if bare {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

/// Pairs written as a key=value conninfo: `key=value` with [`quote_value`],
/// separated by single spaces.
pub fn render<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(name, value)| format!("{name}={}", quote_value(value)))
        .collect::<Vec<_>>()
        .join(" ")
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

/// Accepts a word used as a keyword, choosing an error that never echoes what
/// may be a piece of a password.
fn accept_keyword(
    word: &str,
    keywords: Keywords,
    after_password: bool,
    malformed: impl FnOnce() -> SyntaxError,
) -> Result<String, SyntaxError> {
    let known = match keywords {
        Keywords::Libpq => keyword(word).map(|k| k.name),
        Keywords::Any => Some(word).filter(|w| !w.is_empty()),
    };
    if let Some(name) = known {
        return Ok(name.to_owned());
    }
    if after_password {
        Err(SyntaxError::PasswordSpillover)
    } else if looks_like_keyword(word) {
        Err(SyntaxError::UnknownKeyword {
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
fn parse_key_values(
    conninfo: &str,
    keywords: Keywords,
) -> Result<Vec<(String, String)>, SyntaxError> {
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
                SyntaxError::PasswordSpillover
            } else if looks_like_keyword(&word) {
                SyntaxError::MissingEquals { keyword: word }
            } else {
                SyntaxError::Malformed { position }
            });
        }
        let name = accept_keyword(&word, keywords, after_password, || SyntaxError::Malformed {
            position,
        })?;
        cursor.skip_spaces();
        let value = if cursor.peek() == Some('\'') {
            cursor.pos += 1;
            cursor
                .quoted_value()
                .ok_or_else(|| SyntaxError::UnterminatedQuote {
                    keyword: name.clone(),
                })?
        } else {
            cursor.bare_value()
        };
        after_password = name == "password";
        pairs.push((name, value));
    }
}

/// libpq's URI syntax after the `postgresql://` prefix:
/// `[user[:password]@][host][:port][,...][/dbname][?keyword=value&...]`.
fn parse_uri(body: &str, keywords: Keywords) -> Result<Vec<(String, String)>, SyntaxError> {
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
        parse_query(query, keywords, &mut pairs)?;
    }
    Ok(pairs)
}

fn push_if_non_empty(pairs: &mut Vec<(String, String)>, name: &str, value: String) {
    if !value.is_empty() {
        pairs.push((name.to_owned(), value));
    }
}

fn parse_userinfo(userinfo: &str, pairs: &mut Vec<(String, String)>) -> Result<(), SyntaxError> {
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

fn parse_hosts(s: &str) -> Result<HostList<'_>, SyntaxError> {
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
fn split_host(s: &str) -> Result<(String, &str), SyntaxError> {
    if let Some(inside) = s.strip_prefix('[') {
        let close = inside.find(']').ok_or(SyntaxError::UnterminatedIpv6)?;
        if close == 0 {
            return Err(SyntaxError::EmptyIpv6);
        }
        let after = &inside[close + 1..];
        if let Some(found) = after.chars().next().filter(|c| !":/?,".contains(*c)) {
            return Err(SyntaxError::AfterIpv6 { found });
        }
        return Ok((inside[..close].to_owned(), after));
    }
    let end = s.find([':', '/', '?', ',']).unwrap_or(s.len());
    let raw = &s[..end];
    // A second '@' means a user name or password with an unencoded '@'.
    if raw.contains('@') {
        return Err(SyntaxError::AtSignInHost);
    }
    Ok((percent_decode(raw, "host")?, &s[end..]))
}

fn parse_query(
    query: &str,
    keywords: Keywords,
    pairs: &mut Vec<(String, String)>,
) -> Result<(), SyntaxError> {
    let mut after_password = false;
    for (index, param) in query.split('&').enumerate() {
        if param.is_empty() {
            continue;
        }
        let number = index + 1;
        let malformed = || SyntaxError::MalformedQueryParameter { number };
        let Some((raw_name, raw_value)) = param.split_once('=') else {
            return Err(if after_password {
                SyntaxError::PasswordSpillover
            } else if looks_like_keyword(param) {
                SyntaxError::QueryMissingEquals {
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
        let name = accept_keyword(&name, keywords, after_password, malformed)?;
        if raw_value.contains('=') {
            return Err(SyntaxError::QueryExtraEquals { keyword: name });
        }
        let part = format!("value of query parameter {name:?}");
        let value = percent_decode(raw_value, &part)?;
        after_password = name == "password";
        pairs.push((name, value));
    }
    Ok(())
}

/// RFC 3986 percent-decoding as libpq does it: every `%` starts two hex
/// digits, `%00` is refused, `+` stays `+`, and the result must be UTF-8.
fn percent_decode(raw: &str, part: &str) -> Result<String, SyntaxError> {
    let well_formed = raw.match_indices('%').all(|(i, _)| {
        raw.get(i + 1..i + 3)
            .is_some_and(|hex| hex != "00" && hex.bytes().all(|b| b.is_ascii_hexdigit()))
    });
    if !well_formed {
        return Err(SyntaxError::InvalidPercentEncoding {
            part: part.to_owned(),
        });
    }
    percent_decode_str(raw)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| SyntaxError::NotUtf8 {
            part: part.to_owned(),
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose
mod tests {
    use super::*;
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    use proptest::prelude::*;

    fn raw(conninfo: &str) -> BTreeMap<String, String> {
        parse_raw(conninfo).unwrap()
    }

    fn err(conninfo: &str) -> SyntaxError {
        parse_raw(conninfo).unwrap_err()
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn pairs(conninfo: &str) -> Vec<(String, String)> {
        parse_pairs(conninfo, Keywords::Any).unwrap()
    }

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
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
    }

    // ---- URIs ----

    #[test]
    fn uri_short_prefix_and_leading_space() {
        assert_eq!(
            raw("  postgres://h/db"),
            map(&[("host", "h"), ("dbname", "db")])
        );
        assert!(is_uri("  postgres://h/db"));
        assert!(!is_uri("host=h"));
    }

    #[test]
    fn uri_trailing_and_doubled_ampersands_are_skipped() {
        assert_eq!(
            raw("postgresql://h?sslmode=require&&port=5&"),
            map(&[("host", "h"), ("sslmode", "require"), ("port", "5")])
        );
    }

    #[test]
    fn uri_pairs_keep_their_order_and_the_host_list() {
        assert_eq!(
            pairs("postgresql://repl:p%40ss@h1:5433,[::1]/db?ssl=true&application_name=x"),
            owned(&[
                ("user", "repl"),
                ("password", "p@ss"),
                ("host", "h1,::1"),
                ("port", "5433,"),
                ("dbname", "db"),
                ("sslmode", "require"),
                ("application_name", "x"),
            ])
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
        assert_eq!(
            pairs("port=1 port=2"),
            owned(&[("port", "1"), ("port", "2")])
        );
    }

    #[test]
    fn key_values_skip_space_after_equals_like_libpq() {
        assert_eq!(raw("host= port=5"), map(&[("host", "port=5")]));
        assert_eq!(raw("host="), map(&[("host", "")]));
    }

    #[test]
    fn any_keyword_is_read_when_asked() {
        assert_eq!(
            pairs("host=h future_option=1"),
            owned(&[("host", "h"), ("future_option", "1")])
        );
        assert_eq!(
            pairs("postgresql://h?future_option=1"),
            owned(&[("host", "h"), ("future_option", "1")])
        );
        assert!(matches!(
            parse_pairs("=x", Keywords::Any),
            Err(SyntaxError::Malformed { position: 1 })
        ));
        assert!(matches!(
            parse_pairs("host=h future_option=1", Keywords::Libpq),
            Err(SyntaxError::UnknownKeyword { .. })
        ));
    }

    #[test]
    fn values_are_quoted_unless_plainly_safe() {
        assert_eq!(quote_value("verify-full"), "verify-full");
        assert_eq!(quote_value("/var/run/postgresql"), "/var/run/postgresql");
        assert_eq!(quote_value("[::1]:5432,h@x"), "[::1]:5432,h@x");
        assert_eq!(quote_value(""), "''");
        assert_eq!(quote_value("a b"), "'a b'");
        assert_eq!(quote_value("a=b"), "'a=b'");
        assert_eq!(quote_value("é"), "'é'");
        assert_eq!(quote_value(r"o'neil\"), r"'o\'neil\\'");
        assert_eq!(
            render([("host", "h"), ("application_name", "my app")]),
            "host=h application_name='my app'"
        );
    }

    // ---- errors ----

    #[test]
    fn error_missing_equals() {
        assert!(matches!(
            err("host localhost"),
            SyntaxError::MissingEquals { keyword } if keyword == "host"
        ));
        assert!(matches!(
            err("host=a b"),
            SyntaxError::MissingEquals { keyword } if keyword == "b"
        ));
        assert!(matches!(err("=x"), SyntaxError::Malformed { position: 1 }));
        assert!(matches!(
            err("host=a p@ss"),
            SyntaxError::Malformed { position: 8 }
        ));
    }

    #[test]
    fn error_unknown_keyword_names_it() {
        let error = err("hots=db");
        assert!(matches!(&error, SyntaxError::UnknownKeyword { keyword } if keyword == "hots"));
        assert!(error.to_string().contains("\"hots\""));
        assert!(matches!(
            err("postgresql://h/db?colour=blue"),
            SyntaxError::UnknownKeyword { keyword } if keyword == "colour"
        ));
    }

    #[test]
    fn error_unterminated_quote() {
        assert!(matches!(
            err("user='abc"),
            SyntaxError::UnterminatedQuote { keyword } if keyword == "user"
        ));
        assert!(matches!(
            err(r"user='abc\'"),
            SyntaxError::UnterminatedQuote { .. }
        ));
    }

    #[test]
    fn error_foreign_scheme() {
        assert!(matches!(
            err("mysql://root:pw@h/db"),
            SyntaxError::UnsupportedScheme { scheme } if scheme == "mysql"
        ));
        assert!(matches!(
            err("postgresq://u:pw@h"),
            SyntaxError::UnsupportedScheme { .. }
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
            "postgresql://h/d%+1",
            "postgresql://h/d%é",
        ] {
            assert!(
                matches!(err(uri), SyntaxError::InvalidPercentEncoding { .. }),
                "{uri}"
            );
        }
        assert!(matches!(
            err("postgresql://h/%ff"),
            SyntaxError::NotUtf8 { .. }
        ));
        assert_eq!(raw("postgresql://h/%25%41")["dbname"], "%A");
    }

    #[test]
    fn error_ipv6_forms() {
        assert!(matches!(
            err("postgresql://[::1/db"),
            SyntaxError::UnterminatedIpv6
        ));
        assert!(matches!(err("postgresql://[]/db"), SyntaxError::EmptyIpv6));
        assert!(matches!(
            err("postgresql://[::1]x"),
            SyntaxError::AfterIpv6 { found: 'x' }
        ));
    }

    #[test]
    fn error_unencoded_at_sign() {
        let error = err("postgresql://u:p@Zq9@h/db");
        assert!(matches!(error, SyntaxError::AtSignInHost));
        assert!(!error.to_string().contains("Zq9"));
    }

    #[test]
    fn error_query_syntax() {
        assert!(matches!(
            err("postgresql://h?sslmode"),
            SyntaxError::QueryMissingEquals { param } if param == "sslmode"
        ));
        assert!(matches!(
            err("postgresql://h?a%2Fb"),
            SyntaxError::MalformedQueryParameter { number: 1 }
        ));
        assert!(matches!(
            err("postgresql://h/d?options=a=b"),
            SyntaxError::QueryExtraEquals { keyword } if keyword == "options"
        ));
    }

    #[test]
    fn syntax_errors_never_echo_password_fragments() {
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
    fn syntax_error_messages_are_one_lowercase_line() {
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
        for k in KEYWORDS {
            assert!(parse_raw(&format!("{}=x", k.name)).is_ok(), "{}", k.name);
        }
    }

    // ---- properties ----

    proptest! {
        #[test]
        fn quoted_values_round_trip(value in "[^\u{0}]*") {
            let parsed = parse_raw(&format!("application_name={} port=5", quote_value(&value))).unwrap();
            prop_assert_eq!(parsed.get("application_name"), Some(&value));
            prop_assert_eq!(parsed.get("port").map(String::as_str), Some("5"));
        }

        #[test]
        fn percent_encoded_passwords_round_trip(value in "[^\u{0}]+") {
            let encoded = utf8_percent_encode(&value, NON_ALPHANUMERIC);
            let uri = format!("postgresql://u:{encoded}@h/db");
            let parsed = parse_raw(&uri).unwrap();
            prop_assert_eq!(parsed.get("password"), Some(&value));
        }

        #[test]
        fn parse_raw_never_panics(input in "\\PC{0,60}") {
            let _ = parse_raw(&input);
            let _ = parse_raw(&format!("postgresql://{input}"));
            let _ = parse_pairs(&input, Keywords::Any);
        }
    }
}

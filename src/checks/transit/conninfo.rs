//! Reads a libpq connection string held in a setting (`primary_conninfo`,
//! TLS-007): its parameters, a copy with the password removed for evidence,
//! and a rewritten copy with a stronger `sslmode`. Both forms (`key=value`
//! and `postgresql://` URIs) are read with the one libpq parser,
//! [`crate::model::conninfo`], accepting any keyword: the server's own libpq
//! decides which keywords it knows. Pure code; the snapshot's copy is already
//! redacted by the collector, and this module redacts again so that an older
//! or hand-made snapshot cannot leak a password into evidence.

use crate::model::conninfo::{self as libpq, Keywords};
use crate::model::redact::MASK;
use percent_encoding::percent_decode_str;

/// Parameters whose values are secrets.
const SECRETS: &[&str] = &["password", "sslpassword"];

/// One `key=value` pair, in order.
pub type Param = (String, String);

/// The parameters of a connection string, or `None` if it cannot be read.
/// A URI is read without the whitespace around it.
pub fn params(raw: &str) -> Option<Vec<Param>> {
    let text = if libpq::is_uri(raw) { raw.trim() } else { raw };
    libpq::parse_pairs(text, Keywords::Any).ok()
}

/// The value of one parameter (the last one wins, as in libpq).
pub fn get<'a>(params: &'a [Param], key: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The string with every secret replaced by [`MASK`]. A URI keeps its own
/// text, with the password of the user part and of the query hidden; a
/// key=value string is written again. A string that cannot be read is hidden
/// whole: it might be nothing but a password.
pub fn redact(raw: &str) -> String {
    if libpq::is_uri(raw) {
        return redact_uri(raw);
    }
    match params(raw) {
        Some(params) => render(
            &params
                .into_iter()
                .map(|(k, v)| {
                    let secret = SECRETS.contains(&k.as_str());
                    (k, if secret { MASK.to_string() } else { v })
                })
                .collect::<Vec<_>>(),
        ),
        None => MASK.to_string(),
    }
}

/// The URI's text with `user:secret@` and secret query values masked. It
/// reads no more of the URI than it must, so that even a URI the parser
/// refuses is shown without its password.
fn redact_uri(uri: &str) -> String {
    let Some(scheme_end) = uri.find("://").map(|i| i + 3) else {
        return MASK.to_string();
    };
    let (head, rest) = uri.split_at(scheme_end);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:{MASK}@{hosts}"),
            None => format!("{userinfo}@{hosts}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if is_secret_name(k) => format!("{k}={MASK}"),
                    _ => pair.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{head}{authority}{tail}")
}

/// Whether a (percent-encoded) URI query name names a secret.
fn is_secret_name(encoded: &str) -> bool {
    let name = percent_decode_str(encoded).decode_utf8_lossy();
    SECRETS.contains(&name.as_ref())
}

/// The string as `key='value'` pairs with `sslmode` set to `mode` and every
/// secret left out (passwords belong in the standby's ~/.pgpass).
pub fn with_sslmode(raw: &str, mode: &str) -> Option<String> {
    let mut params: Vec<Param> = params(raw)?
        .into_iter()
        .filter(|(k, _)| k != "sslmode" && !SECRETS.contains(&k.as_str()))
        .collect();
    params.push(("sslmode".to_string(), mode.to_string()));
    Some(render(&params))
}

/// Whether the string holds a secret (redacted or not).
pub fn has_secret(raw: &str) -> bool {
    match params(raw) {
        Some(params) => params.iter().any(|(k, _)| SECRETS.contains(&k.as_str())),
        None => true,
    }
}

fn render(params: &[Param]) -> String {
    libpq::render(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_pairs_with_quotes_and_escapes() {
        let p = params("host=primary user = repl password='s3 cr\\'et' sslmode=prefer")
            .unwrap_or_default();
        assert_eq!(get(&p, "user"), Some("repl"));
        assert_eq!(get(&p, "password"), Some("s3 cr'et"));
        assert_eq!(get(&p, "sslmode"), Some("prefer"));
        // `''` is no escape in libpq: the value ends and a stray quote follows.
        assert_eq!(params("password='it''s'"), None);
        assert_eq!(params("host"), None);
    }

    #[test]
    fn redaction_covers_both_forms() {
        let kv = redact("host=primary user=repl password='s3 cr\\'et' sslmode=prefer");
        assert_eq!(
            kv,
            "host=primary user=repl password=[redacted] sslmode=prefer"
        );
        let uri =
            redact("postgresql://repl:hunter2@primary:5432/postgres?sslmode=require&password=x");
        assert_eq!(
            uri,
            "postgresql://repl:[redacted]@primary:5432/postgres?sslmode=require&password=[redacted]"
        );
        assert_eq!(redact("password='unterminated"), "[redacted]");
    }

    #[test]
    fn uri_parameters_are_read() {
        let p =
            params("postgres://repl@[::1]:5432/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.crt")
                .unwrap_or_default();
        assert_eq!(get(&p, "host"), Some("::1"));
        assert_eq!(get(&p, "sslmode"), Some("verify-full"));
        assert_eq!(get(&p, "sslrootcert"), Some("/etc/ca.crt"));
    }

    #[test]
    fn rewrite_sets_sslmode_and_drops_secrets() {
        let new = with_sslmode(
            "host=primary user=repl password=[redacted] sslmode=prefer",
            "verify-full",
        );
        assert_eq!(
            new.as_deref(),
            Some("host=primary user=repl sslmode=verify-full")
        );
        let quoted = with_sslmode("application_name='it\\'s' host=h", "verify-full");
        assert_eq!(
            quoted.as_deref(),
            Some("application_name='it\\'s' host=h sslmode=verify-full")
        );
    }

    #[test]
    fn uri_rewrite_keeps_hosts_port_and_database() {
        let new = with_sslmode(
            "postgresql://repl:[redacted]@primary:5433,standby2/postgres?ssl=true&application_name=s1",
            "verify-full",
        );
        assert_eq!(
            new.as_deref(),
            Some(
                "user=repl host=primary,standby2 port=5433, dbname=postgres \
                 application_name=s1 sslmode=verify-full"
            )
        );
        let p = params("postgresql://h/db?ssl=true").unwrap_or_default();
        assert_eq!(get(&p, "sslmode"), Some("require"));
    }

    #[test]
    fn uri_redaction_does_not_need_a_readable_uri() {
        assert_eq!(params("postgresql://repl:p%zz@h/db"), None);
        assert_eq!(
            redact("postgresql://repl:p%zz@h/db"),
            "postgresql://repl:[redacted]@h/db"
        );
        assert_eq!(
            redact("postgresql://h/db?pass%77ord=x"),
            "postgresql://h/db?pass%77ord=[redacted]"
        );
    }
}

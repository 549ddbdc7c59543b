//! Reads a libpq connection string held in a setting (`primary_conninfo`,
//! TLS-007): its parameters, a copy with the password removed for evidence,
//! and a rewritten copy with a stronger `sslmode`. Both forms are read:
//! `key=value` (values may be single-quoted with backslash escapes) and
//! `postgresql://` URIs. Pure code; the snapshot's copy is already redacted
//! by the collector, and this module redacts again so that an older or
//! hand-made snapshot cannot leak a password into evidence.

/// What a removed secret is shown as.
pub const REDACTED: &str = "[redacted]";

/// Parameters whose values are secrets.
const SECRETS: &[&str] = &["password", "sslpassword"];

/// One `key=value` pair, in order.
pub type Param = (String, String);

/// Whether the string is a URI rather than `key=value` pairs.
fn is_uri(raw: &str) -> bool {
    let t = raw.trim_start();
    t.starts_with("postgresql://") || t.starts_with("postgres://")
}

/// The parameters of a connection string, or `None` if it cannot be read.
pub fn params(raw: &str) -> Option<Vec<Param>> {
    if is_uri(raw) {
        uri_params(raw.trim())
    } else {
        key_value_params(raw)
    }
}

/// The value of one parameter (the last one wins, as in libpq).
pub fn get<'a>(params: &'a [Param], key: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn key_value_params(raw: &str) -> Option<Vec<Param>> {
    let mut out = Vec::new();
    let mut chars = raw.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(out);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') || key.is_empty() {
            return None;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            loop {
                match chars.next()? {
                    '\\' => value.push(chars.next()?),
                    '\'' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                if c == '\\' {
                    value.push(chars.next()?);
                } else {
                    value.push(c);
                }
            }
        }
        out.push((key, value));
    }
}

/// The parts of a URI that matter here: `host`, `user`, `password` and the
/// query parameters (percent-decoding only what it needs).
fn uri_params(uri: &str) -> Option<Vec<Param>> {
    let rest = &uri[uri.find("://")? + 3..];
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority = before_query.split('/').next().unwrap_or("");
    let mut out = Vec::new();
    let hosts = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            out.push(("user".to_string(), percent_decode(user)));
            if let Some(p) = password {
                out.push(("password".to_string(), percent_decode(p)));
            }
            hosts
        }
        None => authority,
    };
    let first_host = hosts.split(',').next().unwrap_or("");
    let host = if let Some(bracketed) = first_host.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or("")
    } else {
        first_host.split(':').next().unwrap_or("")
    };
    if !host.is_empty() {
        out.push(("host".to_string(), percent_decode(host)));
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.push((percent_decode(k), percent_decode(v)));
    }
    Some(out)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The string with every secret replaced by [`REDACTED`]. A string that
/// cannot be read is hidden whole: it might be nothing but a password.
pub fn redact(raw: &str) -> String {
    match params(raw) {
        Some(params) if !is_uri(raw) => render(
            &params
                .into_iter()
                .map(|(k, v)| {
                    let secret = SECRETS.contains(&k.as_str());
                    (k, if secret { REDACTED.to_string() } else { v })
                })
                .collect::<Vec<_>>(),
        ),
        Some(_) => redact_uri(raw),
        None => REDACTED.to_string(),
    }
}

fn redact_uri(uri: &str) -> String {
    let Some(scheme_end) = uri.find("://").map(|i| i + 3) else {
        return REDACTED.to_string();
    };
    let (head, rest) = uri.split_at(scheme_end);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:{REDACTED}@{hosts}"),
            None => format!("{userinfo}@{hosts}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if SECRETS.contains(&percent_decode(k).as_str()) => {
                        format!("{k}={REDACTED}")
                    }
                    _ => pair.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{head}{authority}{tail}")
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
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", quote(v)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A value as libpq reads it: bare when safe, else single-quoted with
/// backslash escapes.
fn quote(value: &str) -> String {
    let bare = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:,[]@".contains(c));
    if bare {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
    }
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
        assert_eq!(redact("password='unterminated"), REDACTED);
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
}

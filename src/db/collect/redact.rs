//! Keeping credentials out of collected settings.
//!
//! `primary_conninfo` may carry the replication password and the archive and
//! restore commands may carry storage keys, and the snapshot is saved to disk
//! and embedded in reports. Secrets are replaced before they are stored; the
//! rest of the value (host, sslmode, the command itself) stays, because checks
//! read it. Pure code.

use crate::model::redact::redact_command;
use crate::model::snapshot::Setting;

/// What a removed password is replaced with.
pub const REDACTED: &str = crate::model::redact::MASK;

/// Settings whose values are connection strings.
const CONNINFO_SETTINGS: &[&str] = &["primary_conninfo"];

/// Settings whose values are shell commands.
const COMMAND_SETTINGS: &[&str] = &[
    "archive_command",
    "restore_command",
    "archive_cleanup_command",
    "recovery_end_command",
];

/// Redacts credentials in a connection-string or command setting, in every
/// value column.
pub fn redact_setting(name: &str, setting: &mut Setting) {
    let redact: fn(&str) -> String = if CONNINFO_SETTINGS.contains(&name) {
        redact_conninfo
    } else if COMMAND_SETTINGS.contains(&name) {
        redact_command
    } else {
        return;
    };
    for value in [
        &mut setting.setting,
        &mut setting.boot_val,
        &mut setting.reset_val,
    ]
    .into_iter()
    .flatten()
    {
        *value = redact(value);
    }
}

/// Replaces the password of a libpq connection string, URI or key=value form.
pub fn redact_conninfo(conninfo: &str) -> String {
    let trimmed = conninfo.trim_start();
    if trimmed.starts_with("postgresql://") || trimmed.starts_with("postgres://") {
        redact_uri(conninfo)
    } else {
        redact_key_values(conninfo)
    }
}

/// `postgresql://user:secret@host/db?password=secret&…`
fn redact_uri(uri: &str) -> String {
    let Some(scheme_end) = uri.find("://").map(|i| i + 3) else {
        return uri.to_string();
    };
    let authority_end = uri[scheme_end..]
        .find(['/', '?'])
        .map_or(uri.len(), |i| scheme_end + i);
    let mut out = String::from(&uri[..scheme_end]);
    let authority = &uri[scheme_end..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..=colon]);
                    out.push_str(REDACTED);
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let rest = &uri[authority_end..];
    match rest.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((key, _)) if key == "password" => format!("{key}={REDACTED}"),
                    _ => param.to_string(),
                })
                .collect();
            out.push_str(&params.join("&"));
        }
        None => out.push_str(rest),
    }
    out
}

/// `host=db password='it''s secret' sslmode=require`
fn redact_key_values(conninfo: &str) -> String {
    let mut out = String::with_capacity(conninfo.len());
    let mut rest = conninfo;
    loop {
        let spaces = rest.len() - rest.trim_start().len();
        out.push_str(&rest[..spaces]);
        rest = &rest[spaces..];
        if rest.is_empty() {
            return out;
        }
        let key_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        let after_key = &rest[key_end..];
        let Some(eq) = after_key.trim_start().strip_prefix('=') else {
            // Not key=value syntax: keep the remainder as it is.
            out.push_str(rest);
            return out;
        };
        let value_start = eq.len() - eq.trim_start().len();
        let value_text = &eq[value_start..];
        let value_len = value_length(value_text);
        out.push_str(&rest[..rest.len() - eq.len() + value_start]);
        if key == "password" {
            out.push_str(REDACTED);
        } else {
            out.push_str(&value_text[..value_len]);
        }
        rest = &value_text[value_len..];
    }
}

/// Length of a value: quoted with backslash escapes, or up to whitespace.
fn value_length(text: &str) -> usize {
    let Some(quoted) = text.strip_prefix('\'') else {
        return text.find(char::is_whitespace).unwrap_or(text.len());
    };
    let mut escaped = false;
    for (index, c) in quoted.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '\'' => return index + 2,
            _ => {}
        }
    }
    text.len()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn key_value_password_is_replaced() {
        assert_eq!(
            redact_conninfo("host=db port=5432 password=s3cret sslmode=verify-full"),
            "host=db port=5432 password=[redacted] sslmode=verify-full"
        );
    }

    #[test]
    fn quoted_password_with_spaces_and_escapes() {
        assert_eq!(
            redact_conninfo(r"user=rep password = 'a b\' c' host=x"),
            "user=rep password = [redacted] host=x"
        );
    }

    #[test]
    fn conninfo_without_password_is_unchanged() {
        let text = "host=db user=replicator application_name='my app' sslmode=require";
        assert_eq!(redact_conninfo(text), text);
    }

    #[test]
    fn uri_userinfo_and_query_password() {
        assert_eq!(
            redact_conninfo("postgresql://rep:pw@db:5432/postgres?password=x&sslmode=require"),
            "postgresql://rep:[redacted]@db:5432/postgres?password=[redacted]&sslmode=require"
        );
        assert_eq!(
            redact_conninfo("postgres://rep@db"),
            "postgres://rep@db",
            "no password, nothing to redact"
        );
    }

    #[test]
    fn only_conninfo_settings_are_touched() {
        let mut setting = Setting {
            setting: Some("password=x".into()),
            ..Setting::default()
        };
        redact_setting("application_name", &mut setting);
        assert_eq!(setting.setting.as_deref(), Some("password=x"));
        redact_setting("primary_conninfo", &mut setting);
        assert_eq!(setting.setting.as_deref(), Some("password=[redacted]"));
    }

    #[test]
    fn unterminated_quote_hides_the_rest() {
        assert_eq!(
            redact_conninfo("password='abc host=x"),
            "password=[redacted]"
        );
    }
}

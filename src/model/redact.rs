//! Redaction of credentials in text pgSafeguard stores or shows: shell
//! commands (`archive_command`, `restore_command`, …) and anything that quotes
//! them. Used by the collector before a value enters the snapshot (which is
//! saved to disk and embedded in reports) and by checks that quote evidence;
//! over-redaction is preferred to a leak. Pure string functions, no imports
//! from the rest of the crate.

use std::borrow::Cow;
use std::ops::Range;

/// What a removed credential is replaced with, everywhere.
pub const MASK: &str = "[redacted]";

/// A shell command with credentials replaced by `[redacted]`: the password part of
/// URLs (`s3://KEY:SECRET@bucket`), `name=value` pairs whose name looks
/// secret (`PGPASSWORD=…`, `--password=…`, `AWS_SECRET_ACCESS_KEY=…`,
/// `--repo1-s3-key-secret=…`, `sig=…` in URLs, `password=…` inside a
/// conninfo), and the word after a secret flag or an HTTP auth scheme
/// (`--password hunter2`, `Bearer abc`). Over-redaction is preferred to a leak.
pub fn redact_command(command: &str) -> String {
    let mut hidden = url_userinfo(command);
    hidden.extend(secret_assignments(command));
    hidden.extend(secret_flag_values(command));
    mask(command, hidden)
}

fn is_secret_name(name: &str) -> bool {
    let name = name
        .trim_start_matches('-')
        .trim_matches(['"', '\''])
        .to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "pass",
        "pwd",
        "secret",
        "token",
        "credential",
        "auth",
        "private",
        "signature",
    ];
    WORDS.iter().any(|w| name.contains(w)) || name == "sig" || name.ends_with("key")
}

/// The user:password part of every `scheme://user:password@host`.
fn url_userinfo(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("://") {
        let start = from + found + 3;
        let end = text[start..]
            .find(|c: char| matches!(c, '/' | '?' | '#' | '"' | '\'') || c.is_whitespace())
            .map_or(text.len(), |i| start + i);
        if let Some(at) = text[start..end].rfind('@') {
            ranges.push(start..start + at);
        }
        from = end.max(start);
    }
    ranges
}

/// Values of `name=value` pairs whose name looks secret.
fn secret_assignments(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let is_name_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
    let mut ranges = Vec::new();
    for (eq, _) in text.match_indices('=') {
        let name_start = bytes[..eq]
            .iter()
            .rposition(|b| !is_name_byte(*b))
            .map_or(0, |i| i + 1);
        if name_start == eq || !is_secret_name(&text[name_start..eq]) {
            continue;
        }
        if let Some(range) = value_at(text, eq + 1) {
            ranges.push(range);
        }
    }
    ranges
}

/// The value starting at `start`: a quoted run (quotes kept) or a bare word.
fn value_at(text: &str, start: usize) -> Option<Range<usize>> {
    let rest = &text[start..];
    let first = rest.chars().next()?;
    let range = if first == '\'' || first == '"' {
        let close = rest[1..].find(first).map_or(rest.len(), |i| i + 1);
        start + 1..start + close
    } else {
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '&' | ';' | ',' | '\'' | '"' | ')'))
            .unwrap_or(rest.len());
        start..start + end
    };
    (!range.is_empty()).then_some(range)
}

/// The word after `--password`, `--secret …`, `Bearer`, `Basic`.
fn secret_flag_values(text: &str) -> Vec<Range<usize>> {
    let words = word_ranges(text);
    let mut ranges = Vec::new();
    for pair in words.windows(2) {
        let word = text[pair[0].clone()].trim_matches(['"', '\'']);
        let lower = word.to_ascii_lowercase();
        let flag = word.starts_with('-') && !word.contains('=') && is_secret_name(word);
        if flag || lower == "bearer" || lower == "basic" {
            let next = pair[1].clone();
            let quoted = text[next.clone()].trim_matches(['"', '\'']);
            if quoted.is_empty() {
                continue;
            }
            let offset = text[next.clone()].find(quoted).unwrap_or(0);
            ranges.push(next.start + offset..next.start + offset + quoted.len());
        }
    }
    ranges
}

fn word_ranges(text: &str) -> Vec<Range<usize>> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                words.push(s..i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push(s..text.len());
    }
    words
}

fn mask(text: &str, mut hidden: Vec<Range<usize>>) -> String {
    hidden.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for range in hidden {
        if range.end <= pos {
            continue;
        }
        let start = range.start.max(pos);
        out.push_str(&text[pos..start]);
        out.push_str(MASK);
        pos = range.end;
    }
    out.push_str(&text[pos..]);
    out
}

/// pg_hba.conf option keys whose values are secrets: the LDAP bind password and the
/// RADIUS shared secrets.
pub const HBA_SECRET_OPTIONS: &[&str] = &["ldapbindpasswd", "radiussecrets"];

/// A pg_hba option as `pg_hba_file_rules` lists it (`key=value`), with the value of
/// a secret key (in any case) replaced by [`MASK`].
pub fn hba_option(option: &str) -> Cow<'_, str> {
    match option.split_once('=') {
        Some((key, _))
            if HBA_SECRET_OPTIONS
                .iter()
                .any(|secret| key.trim().eq_ignore_ascii_case(secret)) =>
        {
            Cow::Owned(format!("{key}={MASK}"))
        }
        _ => Cow::Borrowed(option),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hba_options_hide_only_secret_values() {
        assert_eq!(
            hba_option("ldapbindpasswd=hunter2"),
            "ldapbindpasswd=[redacted]"
        );
        assert_eq!(hba_option("RadiusSecrets=a,b"), "RadiusSecrets=[redacted]");
        assert_eq!(
            hba_option("ldapserver=ldap.example.org"),
            "ldapserver=ldap.example.org"
        );
        assert_eq!(hba_option("clientcert"), "clientcert");
    }

    #[test]
    fn redaction_hides_credentials_in_common_shapes() {
        let cases = [
            (
                "PGPASSWORD=hunter2 pg_receivewal -h backup",
                "PGPASSWORD=[redacted] pg_receivewal -h backup",
            ),
            (
                "PGPASSWORD='two words' cp %p /x",
                "PGPASSWORD='[redacted]' cp %p /x",
            ),
            (
                "wal-g --password=s3cr3t wal-push %p",
                "wal-g --password=[redacted] wal-push %p",
            ),
            (
                "tool --password s3cr3t push %p",
                "tool --password [redacted] push %p",
            ),
            (
                "AWS_SECRET_ACCESS_KEY=abc/DEF+g AWS_ACCESS_KEY_ID=AKIA1 aws s3 cp %p s3://b/%f",
                "AWS_SECRET_ACCESS_KEY=[redacted] AWS_ACCESS_KEY_ID=AKIA1 aws s3 cp %p s3://b/%f",
            ),
            (
                "rclone copy %p s3://AKIA123:wJalrXUtnFEMI@bucket/wal/",
                "rclone copy %p s3://[redacted]@bucket/wal/",
            ),
            (
                "pgbackrest --repo1-s3-key=AKIA --repo1-s3-key-secret=xyz archive-push %p",
                "pgbackrest --repo1-s3-key=[redacted] --repo1-s3-key-secret=[redacted] archive-push %p",
            ),
            (
                "curl -T %p 'https://acct.blob.core.windows.net/c/%f?sv=2024&sig=AbC%2Bd'",
                "curl -T %p 'https://acct.blob.core.windows.net/c/%f?sv=2024&sig=[redacted]'",
            ),
            (
                "curl -H \"Authorization: Bearer eyJhbGci\" -T %p https://h/%f",
                "curl -H \"Authorization: Bearer [redacted]\" -T %p https://h/%f",
            ),
            (
                "pg_receivewal -d \"host=db user=r password=pw sslmode=verify-full\"",
                "pg_receivewal -d \"host=db user=r password=[redacted] sslmode=verify-full\"",
            ),
            (
                "pgbackrest --stanza=main archive-push %p",
                "pgbackrest --stanza=main archive-push %p",
            ),
            ("", ""),
            ("ünï=cödé x=ä", "ünï=cödé x=ä"),
            ("päss=ä --tökén ä", "päss=ä --tökén ä"),
        ];
        for (raw, want) in cases {
            assert_eq!(redact_command(raw), want, "{raw}");
        }
    }

    #[test]
    fn redaction_survives_odd_input() {
        for raw in [
            "=",
            "password=",
            "://@",
            "a://b@",
            "--password",
            "x='unclosed",
            "Bearer",
        ] {
            let out = redact_command(raw);
            assert!(!out.is_empty() || raw.is_empty(), "{raw}");
        }
        assert_eq!(redact_command("password='unclosed"), "password='[redacted]");
    }
}

//! libpq's password file: `~/.pgpass`, or the file named by PGPASSFILE or the
//! `passfile` connection option.
//!
//! This module owns reading that file, refusing one that other users can
//! read, and finding the password for a connection. It must not import
//! anything outside `db::conninfo` (for [`Password`] and the default socket
//! directory), and it never logs or returns anything but the one password.
//!
//! # Format (libpq's)
//!
//! One entry per line, `hostname:port:database:username:password`. The first
//! line whose four fields match wins. A field of exactly `*` matches anything;
//! `\:` and `\\` stand for a literal `:` and `\`. Empty lines and lines
//! starting with `#` are skipped. The password runs to the end of the line or
//! to the next unescaped `:`.
//!
//! # Host names
//!
//! The hostname field is compared with the connection's host as written
//! (a name, an address, or a socket directory). As in libpq, a connection to
//! the default socket directory ([`DEFAULT_SOCKET_DIR`]) or with no host at all
//! is looked up as `localhost`; a socket in another directory must be written
//! as its path (e.g. `/tmp:5432:*:*:secret`).
//!
//! # Permissions
//!
//! libpq warns about and ignores a file that group or others may access. We
//! refuse it with an error instead, so the DBA fixes it (`chmod 0600`), since
//! such a file leaks every password in it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::conninfo::{Password, DEFAULT_SOCKET_DIR};

const FILE_NAME: &str = ".pgpass";

/// Why the password file could not be used. Messages never contain a password.
#[derive(Debug, thiserror::Error)]
pub enum PgpassError {
    #[error(
        "password file {} can be accessed by group or others (mode {mode:04o}); run chmod 0600 {}",
        path.display(),
        path.display()
    )]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error("cannot read password file {}: {error}", path.display())]
    Read { path: PathBuf, error: io::Error },
    #[error("password file {} line {line}: the password is not valid UTF-8", path.display())]
    NotUtf8 { path: PathBuf, line: usize },
}

/// The password file libpq would read: PGPASSFILE, else `$HOME/.pgpass`
/// (empty variables count as unset). The `passfile` connection option, when
/// given, takes precedence over both; that is the caller's business.
pub fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let non_empty = |name: &str| env(name).filter(|v| !v.is_empty());
    non_empty("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| Path::new(&home).join(FILE_NAME)))
}

/// libpq's lookup: the password of the first line of `path` that matches
/// `host`, `port`, `dbname` and `user`.
///
/// # Behavior
/// - A missing file, or a path that is not a regular file (e.g. `/dev/null`),
///   gives `Ok(None)`, as in libpq.
/// - A file that group or others may access is an error naming the file and
///   saying `chmod 0600` (libpq only warns).
/// - `host` equal to [`DEFAULT_SOCKET_DIR`], or empty, matches lines for `localhost`.
/// - A matching line with an empty password ends the search with `None`.
pub fn lookup(
    path: &Path,
    host: &str,
    port: u16,
    dbname: &str,
    user: &str,
) -> Result<Option<Password>, PgpassError> {
    let Some(metadata) = metadata_if_present(path)? else {
        return Ok(None);
    };
    if !metadata.is_file() {
        return Ok(None);
    }
    refuse_if_shared(path, &metadata)?;
    let contents = fs::read(path).map_err(|error| PgpassError::Read {
        path: path.to_owned(),
        error,
    })?;
    let port = port.to_string();
    let wanted = [host_to_match(host), port.as_str(), dbname, user];
    let Some((line, password)) = first_matching_password(&contents, &wanted) else {
        return Ok(None);
    };
    if password.is_empty() {
        return Ok(None);
    }
    String::from_utf8(password)
        .map(|p| Some(Password::new(p)))
        .map_err(|_| PgpassError::NotUtf8 {
            path: path.to_owned(),
            line,
        })
}

fn metadata_if_present(path: &Path) -> Result<Option<fs::Metadata>, PgpassError> {
    match fs::metadata(path) {
        Ok(metadata) => Ok(Some(metadata)),
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(error) => Err(PgpassError::Read {
            path: path.to_owned(),
            error,
        }),
    }
}

#[cfg(unix)]
fn refuse_if_shared(path: &Path, metadata: &fs::Metadata) -> Result<(), PgpassError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o077 == 0 {
        Ok(())
    } else {
        Err(PgpassError::InsecurePermissions {
            path: path.to_owned(),
            mode,
        })
    }
}

#[cfg(not(unix))]
fn refuse_if_shared(_path: &Path, _metadata: &fs::Metadata) -> Result<(), PgpassError> {
    Ok(())
}

/// The host name a line must carry: libpq looks up `localhost` for its default
/// socket directory and when no host is known.
fn host_to_match(host: &str) -> &str {
    if host.is_empty() || host == DEFAULT_SOCKET_DIR {
        "localhost"
    } else {
        host
    }
}

/// The 1-based line number and unescaped password of the first matching line.
fn first_matching_password(contents: &[u8], wanted: &[&str; 4]) -> Option<(usize, Vec<u8>)> {
    contents
        .split(|b| *b == b'\n')
        .enumerate()
        .find_map(|(index, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            password_if_matches(line, wanted).map(|password| (index + 1, password))
        })
}

fn password_if_matches(line: &[u8], wanted: &[&str; 4]) -> Option<Vec<u8>> {
    if line.is_empty() || line.starts_with(b"#") {
        return None;
    }
    let mut rest = line;
    for field in wanted {
        rest = strip_matching_field(rest, field.as_bytes())?;
    }
    Some(unescape_password(rest))
}

/// If `line` starts with a field equal to `wanted` (or `*`) and its `:`, the
/// text after that colon.
fn strip_matching_field<'a>(line: &'a [u8], wanted: &[u8]) -> Option<&'a [u8]> {
    if let Some(rest) = line.strip_prefix(b"*:") {
        return Some(rest);
    }
    let mut expected = wanted;
    let mut i = 0;
    while i < line.len() {
        let escaped = line[i] == b'\\' && i + 1 < line.len();
        if escaped {
            i += 1;
        }
        let byte = line[i];
        if byte == b':' && !escaped {
            return expected.is_empty().then(|| &line[i + 1..]);
        }
        expected = expected.strip_prefix(&[byte])?;
        i += 1;
    }
    None
}

/// The password field: up to the end or an unescaped `:`, with `\x` read as `x`.
fn unescape_password(field: &[u8]) -> Vec<u8> {
    let mut password = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b':' {
            break;
        }
        if field[i] == b'\\' && i + 1 < field.len() {
            i += 1;
        }
        password.push(field[i]);
        i += 1;
    }
    password
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::os::unix::fs::PermissionsExt;

    struct File {
        _dir: tempfile::TempDir,
        path: PathBuf,
    }

    fn pgpass_file(contents: &[u8], mode: u32) -> File {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".pgpass");
        fs::write(&path, contents).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        File { _dir: dir, path }
    }

    /// The password for a connection, or None, from a 0600 file with `contents`.
    fn find(contents: &str, host: &str, port: u16, dbname: &str, user: &str) -> Option<String> {
        let file = pgpass_file(contents.as_bytes(), 0o600);
        lookup(&file.path, host, port, dbname, user)
            .unwrap()
            .map(|p| p.expose().to_owned())
    }

    #[test]
    fn exact_match() {
        let contents = "db.example.com:5432:clinic:alice:s3cret\n";
        assert_eq!(
            find(contents, "db.example.com", 5432, "clinic", "alice").as_deref(),
            Some("s3cret")
        );
        assert_eq!(
            find(contents, "db.example.com", 5433, "clinic", "alice"),
            None
        );
        assert_eq!(
            find(contents, "db.example.com", 5432, "other", "alice"),
            None
        );
        assert_eq!(
            find(contents, "db.example.com", 5432, "clinic", "bob"),
            None
        );
        assert_eq!(
            find(contents, "db.example.co", 5432, "clinic", "alice"),
            None
        );
        assert_eq!(
            find(contents, "db.example.comm", 5432, "clinic", "alice"),
            None
        );
    }

    #[test]
    fn wildcards() {
        let contents = "*:*:*:alice:any-alice\n*:*:*:*:anyone\n";
        assert_eq!(
            find(contents, "h", 1, "d", "alice").as_deref(),
            Some("any-alice")
        );
        assert_eq!(
            find(contents, "h", 1, "d", "bob").as_deref(),
            Some("anyone")
        );
        // Only a whole field of '*' is a wildcard.
        let contents = "h*:5432:*:*:pw\n";
        assert_eq!(find(contents, "hx", 5432, "d", "u"), None);
        assert_eq!(find(contents, "h*", 5432, "d", "u").as_deref(), Some("pw"));
    }

    #[test]
    fn first_match_wins() {
        let contents = "h:5432:d:u:first\nh:5432:d:u:second\n*:*:*:*:third\n";
        assert_eq!(
            find(contents, "h", 5432, "d", "u").as_deref(),
            Some("first")
        );
        let contents = "*:*:*:*:broad\nh:5432:d:u:narrow\n";
        assert_eq!(
            find(contents, "h", 5432, "d", "u").as_deref(),
            Some("broad")
        );
    }

    #[test]
    fn escapes_in_fields_and_password() {
        let contents = r"h:5432:my\:db:dom\\user:pa\:ss\\word";
        assert_eq!(
            find(contents, "h", 5432, "my:db", r"dom\user").as_deref(),
            Some(r"pa:ss\word")
        );
        // An escaped '*' is a literal star, not a wildcard.
        assert_eq!(find(r"h:5432:\*:u:pw", "h", 5432, "d", "u"), None);
        assert_eq!(
            find(r"h:5432:\*:u:pw", "h", 5432, "*", "u").as_deref(),
            Some("pw")
        );
    }

    #[test]
    fn password_ends_at_an_unescaped_colon() {
        assert_eq!(
            find("h:1:d:u:pw:extra", "h", 1, "d", "u").as_deref(),
            Some("pw")
        );
    }

    #[test]
    fn comments_blank_lines_and_crlf() {
        let contents = "# h:1:d:u:commented\n\n   \r\nh:1:d:u:real\r\n";
        assert_eq!(find(contents, "h", 1, "d", "u").as_deref(), Some("real"));
        // A '#' later in the line is not a comment.
        assert_eq!(
            find("h:1:d:u:p#w", "h", 1, "d", "u").as_deref(),
            Some("p#w")
        );
        // No trailing newline is fine.
        assert_eq!(
            find("h:1:d:u:last", "h", 1, "d", "u").as_deref(),
            Some("last")
        );
    }

    #[test]
    fn short_lines_never_match() {
        let contents = "h:1:d:u\nh:1:d\n*:*:*:*\nh:1:d:u:ok\n";
        assert_eq!(find(contents, "h", 1, "d", "u").as_deref(), Some("ok"));
    }

    #[test]
    fn empty_password_ends_the_search() {
        assert_eq!(find("h:1:d:u:\nh:1:d:u:later", "h", 1, "d", "u"), None);
    }

    #[test]
    fn default_socket_directory_is_localhost() {
        let contents = "localhost:5432:*:u:local\n";
        assert_eq!(
            find(contents, DEFAULT_SOCKET_DIR, 5432, "d", "u").as_deref(),
            Some("local")
        );
        assert_eq!(find(contents, "", 5432, "d", "u").as_deref(), Some("local"));
        assert_eq!(
            find(contents, "localhost", 5432, "d", "u").as_deref(),
            Some("local")
        );
        // Another socket directory is matched by its path, as in libpq.
        assert_eq!(find(contents, "/tmp", 5432, "d", "u"), None);
        assert_eq!(
            find("/tmp:5432:*:u:tmp-sock", "/tmp", 5432, "d", "u").as_deref(),
            Some("tmp-sock")
        );
    }

    #[test]
    fn missing_file_or_not_a_file_gives_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(lookup(&dir.path().join("absent"), "h", 1, "d", "u")
            .unwrap()
            .is_none());
        assert!(lookup(dir.path(), "h", 1, "d", "u").unwrap().is_none());
        assert!(lookup(Path::new("/dev/null"), "h", 1, "d", "u")
            .unwrap()
            .is_none());
        let file = pgpass_file(b"x", 0o600);
        assert!(lookup(&file.path.join("below-a-file"), "h", 1, "d", "u")
            .unwrap()
            .is_none());
    }

    #[test]
    fn loose_permissions_are_refused() {
        for mode in [0o644, 0o640, 0o604, 0o660, 0o606, 0o700 | 0o010] {
            let file = pgpass_file(b"*:*:*:*:secret-pw\n", mode);
            let error = lookup(&file.path, "h", 1, "d", "u").unwrap_err();
            assert!(
                matches!(error, PgpassError::InsecurePermissions { .. }),
                "{mode:o}"
            );
            let message = error.to_string();
            assert!(message.contains("chmod 0600"), "{message}");
            assert!(message.contains(file.path.to_str().unwrap()), "{message}");
            assert!(message.contains(&format!("{mode:04o}")), "{message}");
            assert!(!message.contains("secret-pw"));
            assert!(!message.contains('\n'));
        }
        for mode in [0o600, 0o400, 0o700] {
            let file = pgpass_file(b"*:*:*:*:pw\n", mode);
            assert!(
                lookup(&file.path, "h", 1, "d", "u").unwrap().is_some(),
                "{mode:o}"
            );
        }
    }

    #[test]
    fn non_utf8_password_is_an_error_only_when_it_matches() {
        let file = pgpass_file(b"other:1:d:u:\xff\xfe\nh:1:d:u:fine\n", 0o600);
        let password = lookup(&file.path, "h", 1, "d", "u").unwrap().unwrap();
        assert_eq!(password.expose(), "fine");
        let error = lookup(&file.path, "other", 1, "d", "u").unwrap_err();
        assert!(matches!(error, PgpassError::NotUtf8 { line: 1, .. }));
    }

    #[test]
    fn unicode_fields_match() {
        assert_eq!(
            find("h:1:café:josé:pässwörd", "h", 1, "café", "josé").as_deref(),
            Some("pässwörd")
        );
    }

    #[test]
    fn default_path_prefers_pgpassfile() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            default_path(&env(&[("PGPASSFILE", "/etc/pw"), ("HOME", "/home/a")])),
            Some(PathBuf::from("/etc/pw"))
        );
        assert_eq!(
            default_path(&env(&[("HOME", "/home/a")])),
            Some(PathBuf::from("/home/a/.pgpass"))
        );
        assert_eq!(
            default_path(&env(&[("PGPASSFILE", ""), ("HOME", "/home/a")])),
            Some(PathBuf::from("/home/a/.pgpass"))
        );
        assert_eq!(default_path(&env(&[])), None);
        assert_eq!(default_path(&env(&[("HOME", "")])), None);
    }

    /// Escapes a value for a pgpass field.
    fn escape(value: &str) -> String {
        value.replace('\\', "\\\\").replace(':', "\\:")
    }

    proptest! {
        #[test]
        fn escaped_fields_round_trip(
            host in "[^\n\r]{1,12}",
            dbname in "[^\n\r]{1,12}",
            user in "[^\n\r]{1,12}",
            password in "[^\n\r]{1,12}",
        ) {
            // A lone "*" is a wildcard, which also matches, so any value works;
            // a line starting with '#' is a comment.
            prop_assume!(!host.starts_with('#') && host != DEFAULT_SOCKET_DIR);
            let contents = format!(
                "{}:5432:{}:{}:{}\n",
                escape(&host), escape(&dbname), escape(&user), escape(&password)
            );
            let found = find(&contents, &host, 5432, &dbname, &user);
            prop_assert_eq!(found, Some(password));
        }
    }
}

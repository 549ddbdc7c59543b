//! Configuration files SQL cannot write (pg_hba.conf, pg_ident.conf): the
//! local write with a backup copy, the restore from it, and reading proposed
//! pg_hba lines back into rules for the lockout guard.
//!
//! The server validates a file only once it is on disk (`pg_hba_file_rules`,
//! `pg_ident_file_mappings` and their `error` columns); the flow that writes,
//! validates, reloads or restores is in [`super::run`]. This module does the
//! file work only: a new file replaces the old one atomically (temporary
//! file beside it, same mode and owner, fsync, rename), and the backup is a
//! new file that never overwrites another.

use crate::model::snapshot::HbaRule;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct FileError {
    pub path: String,
    pub reason: String,
}

fn file_error(path: &Path, reason: impl std::fmt::Display) -> FileError {
    FileError {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub backup_path: PathBuf,
    pub sha256_before: String,
    pub sha256_after: String,
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Why pgSafeguard cannot write `path` here, or `None` when it can (the file
/// exists, is a regular file and opens for writing).
pub fn not_writable_reason(path: &Path) -> Option<String> {
    match fs::metadata(path) {
        Err(e) => return Some(format!("cannot read {}: {e}", path.display())),
        Ok(m) if !m.is_file() => return Some(format!("{} is not a regular file", path.display())),
        Ok(_) => {}
    }
    match fs::OpenOptions::new().append(true).open(path) {
        Ok(_) => None,
        Err(e) => Some(format!("cannot write {}: {e}", path.display())),
    }
}

/// The text of a file written from lines.
pub fn text_of(lines: &[String]) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// Copies the current file to a new backup beside it, then replaces the
/// file with `text`.
pub fn write_with_backup(path: &Path, text: &str, stamp: &str) -> Result<Written, FileError> {
    let old = fs::read(path).map_err(|e| file_error(path, e))?;
    let backup_path = new_backup_path(path, stamp);
    write_new_like(&backup_path, &old, path)?;
    replace_like(path, text.as_bytes())?;
    Ok(Written {
        backup_path,
        sha256_before: sha256_hex(&old),
        sha256_after: sha256_hex(text.as_bytes()),
    })
}

/// Puts `backup` back in place of `path` (the backup stays).
pub fn restore(path: &Path, backup: &Path) -> Result<(), FileError> {
    let old = fs::read(backup).map_err(|e| file_error(backup, e))?;
    replace_like(path, &old)
}

/// The lines of a file (for a rollback preview).
pub fn read_lines(path: &Path) -> Result<Vec<String>, FileError> {
    let text = fs::read_to_string(path).map_err(|e| file_error(path, e))?;
    Ok(text.lines().map(str::to_string).collect())
}

fn new_backup_path(path: &Path, stamp: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    let stamp: String = stamp
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut candidate = dir.join(format!("{name}.pgsafeguard-{stamp}.bak"));
    let mut n = 1;
    while candidate.exists() {
        n += 1;
        candidate = dir.join(format!("{name}.pgsafeguard-{stamp}-{n}.bak"));
    }
    candidate
}

/// A new file (never overwriting) with the mode and owner of `like`.
fn write_new_like(target: &Path, bytes: &[u8], like: &Path) -> Result<(), FileError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(target)
        .map_err(|e| file_error(target, e))?;
    copy_mode_and_owner(target, like)?;
    file.write_all(bytes).map_err(|e| file_error(target, e))?;
    file.sync_all().map_err(|e| file_error(target, e))
}

/// Replaces `target` atomically, keeping its mode and owner.
fn replace_like(target: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".pgsafeguard-")
        .tempfile_in(dir)
        .map_err(|e| file_error(target, e))?;
    copy_mode_and_owner(temp.path(), target)?;
    temp.write_all(bytes).map_err(|e| file_error(target, e))?;
    temp.as_file()
        .sync_all()
        .map_err(|e| file_error(target, e))?;
    temp.persist(target)
        .map_err(|e| file_error(target, e.error))?;
    Ok(())
}

#[cfg(unix)]
fn copy_mode_and_owner(target: &Path, like: &Path) -> Result<(), FileError> {
    use std::os::unix::fs::MetadataExt;
    let wanted = fs::metadata(like).map_err(|e| file_error(like, e))?;
    fs::set_permissions(target, wanted.permissions()).map_err(|e| file_error(target, e))?;
    let current = fs::metadata(target).map_err(|e| file_error(target, e))?;
    if current.uid() != wanted.uid() || current.gid() != wanted.gid() {
        std::os::unix::fs::chown(target, Some(wanted.uid()), Some(wanted.gid())).map_err(|e| {
            file_error(
                target,
                format!("cannot give it the owner of {}: {e}", like.display()),
            )
        })?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn copy_mode_and_owner(target: &Path, like: &Path) -> Result<(), FileError> {
    let wanted = fs::metadata(like).map_err(|e| file_error(like, e))?;
    fs::set_permissions(target, wanted.permissions()).map_err(|e| file_error(target, e))
}

/// pg_hba options whose values are secrets.
const SECRET_OPTIONS: &[&str] = &["ldapbindpasswd", "radiussecrets"];

/// The lines with secret option values replaced by `marker`, for showing
/// and for the change log (the file itself keeps them).
pub fn redact_secrets(lines: &[String], marker: &str) -> Vec<String> {
    lines.iter().map(|line| redact_line(line, marker)).collect()
}

fn redact_line(line: &str, marker: &str) -> String {
    let lower = line.to_lowercase();
    if !SECRET_OPTIONS.iter().any(|o| lower.contains(o)) {
        return line.to_string();
    }
    let Some(tokens) = hba_tokens(line.split('#').next().unwrap_or("")) else {
        return format!("# (a line with a secret option, not shown) {marker}");
    };
    tokens
        .iter()
        .map(|token| match token.split_once('=') {
            Some((key, _))
                if SECRET_OPTIONS.contains(&key.trim_matches('"').to_lowercase().as_str()) =>
            {
                format!("{key}={marker}")
            }
            _ => token.clone(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Lines that make a proposal unfit for writing as is: redacted secrets and
/// rules the proposal could not reproduce.
pub fn incomplete_lines(lines: &[String], redacted_marker: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.contains(redacted_marker) || l.contains("cannot be written back"))
        .cloned()
        .collect()
}

/// Reads proposed pg_hba.conf lines into rules as `pg_hba_file_rules` would
/// show them (line numbers of the new file). `None` when a line is not in
/// the simple form the proposals use (includes, continuation lines, …):
/// the server's own reading after saving is then the only check.
pub fn parse_hba_lines(lines: &[String]) -> Option<Vec<HbaRule>> {
    let mut rules = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let tokens = hba_tokens(content)?;
        let line_number = i32::try_from(index + 1).ok()?;
        rules.push(hba_rule(&tokens, line_number)?);
    }
    Some(rules)
}

fn hba_rule(tokens: &[String], line_number: i32) -> Option<HbaRule> {
    let conn_type = tokens.first()?.clone();
    let list = |t: &String| -> Vec<String> {
        t.split(',')
            .map(|s| s.trim_matches('"').to_string())
            .collect()
    };
    let database = list(tokens.get(1)?);
    let user_name = list(tokens.get(2)?);
    let mut rest = tokens.get(3..)?.iter();
    let (address, netmask) = if conn_type == "local" {
        (None, None)
    } else {
        let address = rest.next()?;
        match address.split_once('/') {
            Some((ip, bits)) => {
                let ip: IpAddr = ip.parse().ok()?;
                let mask = prefix_mask(ip, bits.parse().ok()?)?;
                (Some(ip.to_string()), Some(mask.to_string()))
            }
            None => match address.parse::<IpAddr>() {
                Ok(ip) => {
                    let mask: IpAddr = rest.next()?.parse().ok()?;
                    (Some(ip.to_string()), Some(mask.to_string()))
                }
                Err(_) => (Some(address.clone()), None),
            },
        }
    };
    let method = rest.next()?.clone();
    if !matches!(
        conn_type.as_str(),
        "local" | "host" | "hostssl" | "hostnossl" | "hostgssenc" | "hostnogssenc"
    ) || method.starts_with('@')
    {
        return None;
    }
    Some(HbaRule {
        line_number,
        file_name: None,
        conn_type: Some(conn_type),
        database,
        user_name,
        address,
        netmask,
        auth_method: Some(method),
        options: rest.cloned().collect(),
        error: None,
    })
}

fn prefix_mask(ip: IpAddr, bits: u32) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(_) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            Some(IpAddr::V4(Ipv4Addr::from(mask)))
        }
        IpAddr::V6(_) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            Some(IpAddr::V6(Ipv6Addr::from(mask)))
        }
        _ => None,
    }
}

/// Whitespace-separated fields; double quotes keep spaces and commas in one
/// field. `None` for continuation lines and include directives.
fn hba_tokens(content: &str) -> Option<Vec<String>> {
    if content.ends_with('\\') || content.starts_with("include") {
        return None;
    }
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in content.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if quoted {
        return None;
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    Some(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposed_lines_read_back_like_pg_hba_file_rules() {
        let lines: Vec<String> = [
            "# comment",
            "local all all peer",
            "hostssl clinic,postgres \"Mixed Case\" 127.0.0.1/32 scram-sha-256",
            "host all all ::1/128 md5",
            "hostnossl all all all reject",
            "host all all 10.0.0.0 255.0.0.0 cert clientcert=verify-full",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let rules = parse_hba_lines(&lines).expect("parsed");
        assert_eq!(rules.len(), 5);
        assert_eq!(rules[0].line_number, 2);
        assert_eq!(rules[1].database, ["clinic", "postgres"]);
        assert_eq!(rules[1].user_name, ["Mixed Case"]);
        assert_eq!(rules[1].netmask.as_deref(), Some("255.255.255.255"));
        assert_eq!(
            rules[2].netmask.as_deref(),
            Some("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
        );
        assert_eq!(rules[3].address.as_deref(), Some("all"));
        assert_eq!(rules[4].options, ["clientcert=verify-full"]);
        assert!(parse_hba_lines(&["include other.conf".to_string()]).is_none());
    }

    #[test]
    fn secret_options_are_not_shown() {
        let lines = vec![
            "host all all 10.0.0.0/8 ldap ldapserver=x ldapbindpasswd=\"s3 cret\"".to_string(),
            "local all all peer".to_string(),
        ];
        let shown = redact_secrets(&lines, crate::model::redact::MASK);
        assert_eq!(
            shown[0],
            "host all all 10.0.0.0/8 ldap ldapserver=x ldapbindpasswd=[redacted]"
        );
        assert_eq!(shown[1], "local all all peer");
    }

    #[test]
    fn write_keeps_a_backup_and_restore_puts_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pg_hba.conf");
        fs::write(&path, "old\n").unwrap();
        assert!(not_writable_reason(&path).is_none());
        let written = write_with_backup(&path, "new\n", "2026-11-27T10:00:00Z").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(fs::read_to_string(&written.backup_path).unwrap(), "old\n");
        assert_eq!(written.sha256_before, sha256_hex(b"old\n"));
        let again = write_with_backup(&path, "newer\n", "2026-11-27T10:00:00Z").unwrap();
        assert_ne!(again.backup_path, written.backup_path);
        restore(&path, &written.backup_path).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "old\n");
        assert!(not_writable_reason(&dir.path().join("missing")).is_some());
    }
}

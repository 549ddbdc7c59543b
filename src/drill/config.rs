//! The drill's own configuration, written into the throwaway copy: nothing
//! of production's configuration may act. A base backup carries
//! production's `postgresql.auto.conf` (its `archive_command` would push the
//! drill's new timeline into the production archive) and maybe a
//! `postgresql.conf` with includes, certificates and preload libraries;
//! Debian keeps those outside the data directory anyway.
//!
//! So: `postgresql.conf` is replaced, `postgresql.auto.conf` emptied,
//! `standby.signal`/`recovery.conf` removed, and the drill's own
//! `pg_hba.conf` lets only the private socket in.

use super::restore::hand_over;
use super::DrillError;
use crate::demo::binaries::ServerUser;
use crate::demo::owner::DemoFolder;
use std::fs;
use std::path::Path;

/// The port only names the socket file: nothing listens on TCP.
pub const DRILL_PORT: u16 = 5432;

/// How far recovery goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryGoal {
    Latest,
    /// `YYYY-MM-DD HH:MM:SS+00`.
    Time(String),
}

/// Files a copy may carry that would make the drill a standby or an old-style recovery.
const REMOVED: [&str; 4] = [
    "standby.signal",
    "recovery.conf",
    "postmaster.pid",
    "postmaster.opts",
];

/// Writes the drill's configuration into `folder.data`.
pub fn write(
    folder: &DemoFolder,
    wal_source: &Path,
    goal: &RecoveryGoal,
    user: &ServerUser,
) -> Result<(), DrillError> {
    let data = &folder.data;
    for name in REMOVED {
        let _ = fs::remove_file(data.join(name));
    }
    let hba = folder.root.join("drill_hba.conf");
    let ident = folder.root.join("drill_ident.conf");
    put(
        &hba,
        "# pgSafeguard restore drill: the private socket only\nlocal all all trust\n",
    )?;
    put(&ident, "")?;
    put(
        &data.join("postgresql.conf"),
        &settings(folder, wal_source, goal),
    )?;
    put(
        &data.join("postgresql.auto.conf"),
        "# Emptied by pgSafeguard's restore drill: the backup's ALTER SYSTEM settings \
         (archive_command, primary_conninfo, preload libraries) must not act here.\n",
    )?;
    put(&data.join("recovery.signal"), "")?;
    for file in [&hba, &ident] {
        hand_over(file, user)?;
    }
    for name in ["postgresql.conf", "postgresql.auto.conf", "recovery.signal"] {
        hand_over(&data.join(name), user)?;
    }
    Ok(())
}

fn put(path: &Path, text: &str) -> Result<(), DrillError> {
    fs::write(path, text).map_err(|e| DrillError::Folder(format!("{}: {e}", path.display())))
}

/// The configuration file's text.
pub fn settings(folder: &DemoFolder, wal_source: &Path, goal: &RecoveryGoal) -> String {
    let path = |p: &Path| guc_literal(&p.to_string_lossy());
    let restore = format!(
        "cp {} \"%p\"",
        shell_quote(&format!(
            "{}/%f",
            percent_escaped(&wal_source.to_string_lossy())
        ))
    );
    let mut lines = vec![
        "# Written by pgSafeguard's restore drill; the copy is removed afterwards.".to_string(),
        "listen_addresses = ''".into(),
        format!("port = {DRILL_PORT}"),
        format!("unix_socket_directories = {}", path(&folder.socket)),
        "unix_socket_permissions = 0700".into(),
        "archive_mode = off".into(),
        "archive_command = ''".into(),
        "shared_preload_libraries = ''".into(),
        "primary_conninfo = ''".into(),
        "primary_slot_name = ''".into(),
        format!("hba_file = {}", path(&folder.root.join("drill_hba.conf"))),
        format!(
            "ident_file = {}",
            path(&folder.root.join("drill_ident.conf"))
        ),
        "ssl = off".into(),
        // No connections until recovery is over: "ready" then means promoted,
        // and the primary's connection limits need not be matched.
        "hot_standby = off".into(),
        // A throwaway copy: durability is not needed, speed is.
        "fsync = off".into(),
        "autovacuum = off".into(),
        "logging_collector = off".into(),
        "log_destination = 'stderr'".into(),
        "timezone = 'UTC'".into(),
        "log_timezone = 'UTC'".into(),
        "cluster_name = 'pgsafeguard-drill'".into(),
        format!("restore_command = {}", guc_literal(&restore)),
        "recovery_target_timeline = 'latest'".into(),
        // Without a target, recovery ends at the end of the archive and promotes.
        "recovery_target_action = 'promote'".into(),
    ];
    if let RecoveryGoal::Time(at) = goal {
        lines.push(format!("recovery_target_time = {}", guc_literal(at)));
    }
    lines.join("\n") + "\n"
}

/// A value in single quotes for postgresql.conf.
fn guc_literal(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

/// A word for /bin/sh in single quotes.
fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// `%` in a path written into restore_command must be doubled.
fn percent_escaped(path: &str) -> String {
    path.replace('%', "%%")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn production_settings_are_forced_off_and_quotes_survive() {
        let folder = DemoFolder::at(PathBuf::from("/tmp/d/1-2-0"));
        let text = settings(
            &folder,
            Path::new("/arch'ive/50%"),
            &RecoveryGoal::Time("2026-12-07 10:00:00+00".into()),
        );
        for line in [
            "archive_mode = off",
            "archive_command = ''",
            "listen_addresses = ''",
            "shared_preload_libraries = ''",
            "primary_conninfo = ''",
            "primary_slot_name = ''",
            "recovery_target_action = 'promote'",
            "recovery_target_time = '2026-12-07 10:00:00+00'",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
        // The shell sees '/arch'\''ive/50%%/%f'; the GUC doubles each quote.
        assert!(
            text.contains(r#"restore_command = 'cp ''/arch''\\''''ive/50%%/%f'' "%p"'"#),
            "{text}"
        );
        let latest = settings(&folder, Path::new("/a"), &RecoveryGoal::Latest);
        // `recovery_target_timeline` stays; only the time target goes.
        assert!(
            !latest
                .lines()
                .any(|l| l.starts_with("recovery_target_time ")),
            "{latest}"
        );
    }
}

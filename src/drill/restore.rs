//! Making the throwaway copy: from a base-backup folder (copied file by
//! file), from a tar backup (extracted with the system `tar`, which also
//! reads gzip, lz4 and zstd tars), or with `pgbackrest restore`.
//!
//! Tablespaces never point outside the throwaway folder: a copied
//! `pg_tblspc/<oid>` link gets its tablespace copied to `<root>/tblspc/<oid>`
//! and the link re-pointed; a tar backup's `<oid>.tar` is extracted there
//! and its `tablespace_map` rewritten; pgbackrest gets
//! `--tablespace-map-all=<root>/tblspc`. The source is only read.

use super::tools::{run_tool, Tool};
use super::{Cancel, DrillError};
use crate::demo::binaries::ServerUser;
use crate::demo::owner::{server_owned, DemoFolder};
use crate::model::untrusted;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

/// What `--base-backup` points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupForm {
    /// A plain copy of a data directory with its backup_label.
    Dir(PathBuf),
    /// `base.tar[.gz|.lz4|.zst]`, with `pg_wal.tar*` and `<oid>.tar*` beside it.
    Tar {
        base: PathBuf,
        wal: Option<PathBuf>,
        tablespaces: Vec<(u32, PathBuf)>,
    },
}

impl BackupForm {
    /// Looks at the path; a missing or unrecognisable backup is bad input.
    pub fn classify(path: &Path) -> Result<BackupForm, DrillError> {
        let meta = fs::metadata(path).map_err(|e| {
            DrillError::Input(format!(
                "the base backup {} cannot be read: {e}",
                path.display()
            ))
        })?;
        if meta.is_file() {
            let folder = path.parent().unwrap_or(Path::new("."));
            return Ok(tar_set(path.to_path_buf(), folder));
        }
        if path.join("backup_label").is_file() {
            return Ok(BackupForm::Dir(path.to_path_buf()));
        }
        let base = tar_named(path, "base");
        match base {
            Some(base) => Ok(tar_set(base, path)),
            None if path.join("PG_VERSION").is_file() => Err(DrillError::Input(format!(
                "the base backup {} has no backup_label: it is a data directory, not a base \
                 backup (take one with pg_basebackup)",
                path.display()
            ))),
            None => Err(DrillError::Input(format!(
                "{} holds neither a backup_label nor a base.tar: give a pg_basebackup folder or tar",
                path.display()
            ))),
        }
    }
}

/// `<stem>.tar`, `<stem>.tar.gz`, … in `folder`.
fn tar_named(folder: &Path, stem: &str) -> Option<PathBuf> {
    ["tar", "tar.gz", "tgz", "tar.lz4", "tar.zst"]
        .iter()
        .map(|ext| folder.join(format!("{stem}.{ext}")))
        .find(|p| p.is_file())
}

fn tar_set(base: PathBuf, folder: &Path) -> BackupForm {
    let mut tablespaces: Vec<(u32, PathBuf)> = fs::read_dir(folder)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let oid: u32 = name.split('.').next()?.parse().ok()?;
                    name.contains(".tar").then(|| (oid, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    tablespaces.sort();
    BackupForm::Tar {
        wal: tar_named(folder, "pg_wal"),
        base,
        tablespaces,
    }
}

/// Where relocated tablespaces go.
pub fn tablespace_root(folder: &DemoFolder) -> PathBuf {
    folder.root.join("tblspc")
}

/// Copies or extracts `form` into `folder.data`, tablespaces relocated, the
/// whole copy owned by the server's OS user.
pub fn restore(
    form: &BackupForm,
    folder: &DemoFolder,
    user: &ServerUser,
    tar: &Tool,
    cancel: &Cancel,
) -> Result<(), DrillError> {
    make_dir(&folder.data, user)?;
    make_dir(&tablespace_root(folder), user)?;
    match form {
        BackupForm::Dir(source) => {
            let copier = Copier { user, cancel };
            copier.copy_data_dir(source, folder)?;
            if folder.data.join("tablespace_map").exists() {
                return Err(DrillError::Input(format!(
                    "the base backup {} has a tablespace_map but no tablespace copies: the \
                     drill cannot tell where their backup is (take the backup with \
                     pg_basebackup -Ft, or plain format with -T)",
                    source.display()
                )));
            }
        }
        BackupForm::Tar {
            base,
            wal,
            tablespaces,
        } => {
            extract(tar, base, &folder.data)?;
            if let Some(wal) = wal {
                let pg_wal = folder.data.join("pg_wal");
                fs::create_dir_all(&pg_wal).map_err(|e| io(&pg_wal, e))?;
                extract(tar, wal, &pg_wal)?;
            }
            let mut map = String::new();
            for (oid, file) in tablespaces {
                let place = tablespace_root(folder).join(oid.to_string());
                fs::create_dir_all(&place).map_err(|e| io(&place, e))?;
                extract(tar, file, &place)?;
                map.push_str(&format!("{oid} {}\n", place.display()));
            }
            let map_file = folder.data.join("tablespace_map");
            if map_file.exists() || !map.is_empty() {
                fs::write(&map_file, map).map_err(|e| io(&map_file, e))?;
            }
            hand_over(&folder.root, user)?;
        }
    }
    Ok(())
}

/// Extracts one tar (any compression GNU tar recognises) into `into`.
fn extract(tar: &Tool, file: &Path, into: &Path) -> Result<(), DrillError> {
    let args = [
        "-x".as_ref(),
        "-f".as_ref(),
        file.as_os_str(),
        "-C".as_ref(),
        into.as_os_str(),
    ];
    let out = run_tool(tar, &args)?;
    if !out.success {
        return Err(DrillError::Input(format!(
            "cannot extract {}: {}",
            file.display(),
            untrusted::shown(out.stderr.trim(), 300)
        )));
    }
    Ok(())
}

/// A new folder, 0700, owned by the server's OS user.
pub fn make_dir(path: &Path, user: &ServerUser) -> Result<(), DrillError> {
    fs::create_dir_all(path).map_err(|e| io(path, e))?;
    server_owned(path, 0o700, user).map_err(|e| DrillError::Folder(e.to_string()))
}

/// Gives every file below `root` to the server's OS user (as root).
pub fn hand_over(root: &Path, user: &ServerUser) -> Result<(), DrillError> {
    if !user.is_switched() {
        return Ok(());
    }
    std::os::unix::fs::lchown(root, Some(user.uid), Some(user.gid)).map_err(|e| io(root, e))?;
    let meta = fs::symlink_metadata(root).map_err(|e| io(root, e))?;
    if meta.is_dir() {
        for entry in fs::read_dir(root).map_err(|e| io(root, e))? {
            let entry = entry.map_err(|e| io(root, e))?;
            hand_over(&entry.path(), user)?;
        }
    }
    Ok(())
}

fn io(path: &Path, e: std::io::Error) -> DrillError {
    DrillError::Folder(format!("{}: {e}", path.display()))
}

/// Copies a data directory file by file.
struct Copier<'a> {
    user: &'a ServerUser,
    cancel: &'a Cancel,
}

/// Files a running server leaves that a copy must not carry.
const SKIPPED_AT_TOP: [&str; 2] = ["postmaster.pid", "postmaster.opts"];

impl Copier<'_> {
    fn copy_data_dir(&self, source: &Path, folder: &DemoFolder) -> Result<(), DrillError> {
        for entry in fs::read_dir(source).map_err(|e| io(source, e))? {
            let entry = entry.map_err(|e| io(source, e))?;
            let name = entry.file_name();
            if SKIPPED_AT_TOP.iter().any(|s| name == *s) {
                continue;
            }
            let to = folder.data.join(&name);
            if name == "pg_tblspc" {
                self.relocate_tablespaces(&entry.path(), &to, folder)?;
            } else {
                self.copy_any(&entry.path(), &to)?;
            }
        }
        Ok(())
    }

    /// Each `pg_tblspc/<oid>` link: its target copied under the throwaway
    /// folder, and a new link to the copy.
    fn relocate_tablespaces(
        &self,
        source: &Path,
        to: &Path,
        folder: &DemoFolder,
    ) -> Result<(), DrillError> {
        make_dir(to, self.user)?;
        for entry in fs::read_dir(source).map_err(|e| io(source, e))? {
            let entry = entry.map_err(|e| io(source, e))?;
            let name = entry.file_name();
            let place = tablespace_root(folder).join(&name);
            self.copy_any(&entry.path(), &place)?;
            let link = to.join(&name);
            symlink(&place, &link).map_err(|e| io(&link, e))?;
            if self.user.is_switched() {
                std::os::unix::fs::lchown(&link, Some(self.user.uid), Some(self.user.gid))
                    .map_err(|e| io(&link, e))?;
            }
        }
        Ok(())
    }

    /// A file or folder (symlinks followed: the copy holds real files).
    fn copy_any(&self, from: &Path, to: &Path) -> Result<(), DrillError> {
        if self.cancel.is_cancelled() {
            return Err(DrillError::Cancelled);
        }
        let meta = fs::metadata(from).map_err(|e| io(from, e))?;
        if meta.is_dir() {
            fs::create_dir(to).map_err(|e| io(to, e))?;
            fs::set_permissions(to, fs::Permissions::from_mode(0o700)).map_err(|e| io(to, e))?;
            for entry in fs::read_dir(from).map_err(|e| io(from, e))? {
                let entry = entry.map_err(|e| io(from, e))?;
                self.copy_any(&entry.path(), &to.join(entry.file_name()))?;
            }
        } else if meta.is_file() {
            fs::copy(from, to).map_err(|e| io(from, e))?;
        } else {
            return Ok(());
        }
        if self.user.is_switched() {
            std::os::unix::fs::chown(to, Some(self.user.uid), Some(self.user.gid))
                .map_err(|e| io(to, e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backups_are_told_apart_and_bad_paths_are_input_errors() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        fs::create_dir(&plain).unwrap();
        fs::write(plain.join("backup_label"), "x").unwrap();
        assert_eq!(
            BackupForm::classify(&plain).unwrap(),
            BackupForm::Dir(plain.clone())
        );
        let tars = dir.path().join("tars");
        fs::create_dir(&tars).unwrap();
        for name in ["base.tar.gz", "pg_wal.tar", "16385.tar", "notes.txt"] {
            fs::write(tars.join(name), "x").unwrap();
        }
        match BackupForm::classify(&tars).unwrap() {
            BackupForm::Tar {
                base,
                wal,
                tablespaces,
            } => {
                assert!(base.ends_with("base.tar.gz"));
                assert!(wal.unwrap().ends_with("pg_wal.tar"));
                assert_eq!(tablespaces.len(), 1);
                assert_eq!(tablespaces[0].0, 16385);
            }
            other => panic!("{other:?}"),
        }
        let data = dir.path().join("data");
        fs::create_dir(&data).unwrap();
        fs::write(data.join("PG_VERSION"), "15\n").unwrap();
        let err = BackupForm::classify(&data).unwrap_err().to_string();
        assert!(err.contains("no backup_label"), "{err}");
        let err = BackupForm::classify(&dir.path().join("missing")).unwrap_err();
        assert!(matches!(err, DrillError::Input(_)));
    }
}

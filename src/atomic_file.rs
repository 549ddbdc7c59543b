//! Writing output files so that a failure never leaves a half-written file:
//! the content goes to a temporary file beside the target, which is renamed
//! over the target only when complete.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct WriteError {
    path: String,
    source: std::io::Error,
}

/// A reserved output path. Created before the slow work starts, so that an
/// unwritable destination is reported before anything else happens.
#[derive(Debug)]
pub struct PendingFile {
    target: PathBuf,
    temp: Option<tempfile::NamedTempFile>,
}

impl PendingFile {
    /// Check the destination is writable by creating the temporary file now.
    pub fn reserve(target: &Path) -> Result<PendingFile, WriteError> {
        let err = |source| WriteError {
            path: target.display().to_string(),
            source,
        };
        if target.is_dir() {
            return Err(err(std::io::Error::other("it is a directory")));
        }
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".pgsafeguard-")
            .suffix(".partial")
            .tempfile_in(&dir)
            .map_err(err)?;
        Ok(PendingFile {
            target: target.to_path_buf(),
            temp: Some(temp),
        })
    }

    /// Write all bytes, flush to disk and move into place.
    pub fn commit(mut self, bytes: &[u8]) -> Result<(), WriteError> {
        let target = self.target.clone();
        let err = |source| WriteError {
            path: target.display().to_string(),
            source,
        };
        let Some(mut temp) = self.temp.take() else {
            return Err(err(std::io::Error::other("already written")));
        };
        temp.write_all(bytes).map_err(err)?;
        // Temporary files are private (0600); the result gets the target's
        // existing mode, or the usual 0644 for a new file.
        let mode = std::fs::metadata(&self.target)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644);
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(err)?;
        temp.as_file().sync_all().map_err(err)?;
        temp.persist(&self.target).map_err(|e| err(e.error))?;
        Ok(())
    }
}

/// Write a whole file atomically.
pub fn write_atomically(target: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    PendingFile::reserve(target)?.commit(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_reservation_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.json");
        let pending = PendingFile::reserve(&target).unwrap();
        drop(pending);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn commit_replaces_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.json");
        std::fs::write(&target, "old").unwrap();
        write_atomically(&target, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn new_files_are_0644_and_existing_modes_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("report.pdf");
        write_atomically(&fresh, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&fresh), 0o644);
        std::fs::set_permissions(&fresh, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomically(&fresh, b"y").unwrap();
        assert_eq!(mode(&fresh), 0o600);
    }

    #[test]
    fn missing_directory_is_an_error() {
        let e = PendingFile::reserve(Path::new("/nonexistent-dir/x.json")).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("cannot write /nonexistent-dir/x.json"));
    }
}

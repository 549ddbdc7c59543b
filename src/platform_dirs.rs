//! Where pgSafeguard keeps its own files on this machine: the one place that
//! names the application to `directories`, so the signing identity, the
//! change log, the evidence store and the preferences always agree.

use directories::ProjectDirs;
use std::path::PathBuf;

/// The platform folders of pgSafeguard, when the platform has a home folder.
pub fn project_dirs() -> Option<ProjectDirs> {
    ProjectDirs::from("org", "pgSafeguard", "pgsafeguard")
}

/// The data folder (e.g. `~/.local/share/pgsafeguard` on Linux).
pub fn data_dir() -> Option<PathBuf> {
    project_dirs().map(|dirs| dirs.data_dir().to_path_buf())
}

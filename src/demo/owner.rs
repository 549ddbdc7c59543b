//! Which demo folders belong to whom, and removing the ones nobody owns.
//!
//! Every demo lives in `<base>/pgsafeguard-demo-<uid>/<pid>-<starttime>-<n>/`.
//! The folder name is the owner record: the app's pid and that process's
//! start time (field 22 of `/proc/<pid>/stat`), so a reused pid does not
//! keep a dead app's demo alive, and there is no moment where a folder
//! exists without its owner written down. A folder whose owner is gone is
//! stale: its server is stopped (only after checking that the process is a
//! `postgres` working in that folder's data directory) and the folder removed.
//!
//! The restore drill keeps its throwaway copies the same way, under
//! `pgsafeguard-drill-<uid>/` ([`base_dir_in`]).

use super::binaries::{effective_uid, ServerUser};
use super::DemoError;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// A socket path must fit in 107 bytes; longer TMPDIRs fall back to /tmp.
const MAX_BASE_LEN: usize = 60;

/// The folders of one demo.
#[derive(Debug, Clone)]
pub struct DemoFolder {
    pub root: PathBuf,
    pub data: PathBuf,
    pub socket: PathBuf,
    pub server_log: PathBuf,
}

impl DemoFolder {
    pub fn at(root: PathBuf) -> DemoFolder {
        DemoFolder {
            data: root.join("data"),
            socket: root.join("sock"),
            server_log: root.join("server.log"),
            root,
        }
    }
}

/// This user's folder of demos, made traversable (0711) so that the server's
/// OS user can reach its own demo below it. Refuses a folder someone else
/// owns or a symlink (the base is a shared temp dir).
pub fn base_dir(user: &ServerUser) -> Result<PathBuf, DemoError> {
    base_dir_in(&temp_parent(user), "demo")
}

/// The temp folder throwaway clusters go under: TMPDIR, or /tmp when the
/// server runs as another user or TMPDIR is too long for a socket path.
pub fn temp_parent(user: &ServerUser) -> PathBuf {
    let tmp = std::env::temp_dir();
    if user.is_switched() || tmp.as_os_str().len() > MAX_BASE_LEN {
        PathBuf::from("/tmp")
    } else {
        tmp
    }
}

/// `<parent>/pgsafeguard-<kind>-<uid>`, made and checked like [`base_dir`].
pub fn base_dir_in(parent: &Path, kind: &str) -> Result<PathBuf, DemoError> {
    let uid = effective_uid().unwrap_or(u32::MAX);
    let base = parent.join(format!("pgsafeguard-{kind}-{uid}"));
    let folder_error = |source| DemoError::Folder {
        path: base.clone(),
        source,
    };
    match fs::create_dir(&base) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(folder_error(e)),
    }
    let meta = fs::symlink_metadata(&base).map_err(folder_error)?;
    if !meta.is_dir() || meta.uid() != uid {
        return Err(folder_error(std::io::Error::other(
            "it is not a folder owned by this user: remove it",
        )));
    }
    fs::set_permissions(&base, fs::Permissions::from_mode(0o711)).map_err(folder_error)?;
    Ok(base)
}

/// Makes a new demo folder owned by this process (and by the server's OS
/// user, who must write in it), with `sock/` inside.
pub fn claim(base: &Path, user: &ServerUser) -> Result<DemoFolder, DemoError> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let me = std::process::id();
    let started = start_time(me).unwrap_or_default();
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let folder = DemoFolder::at(base.join(format!("{me}-{started}-{n}")));
        match fs::create_dir(&folder.root) {
            Ok(()) => {
                server_owned(&folder.root, 0o700, user)?;
                fs::create_dir(&folder.socket).map_err(|source| DemoError::Folder {
                    path: folder.socket.clone(),
                    source,
                })?;
                server_owned(&folder.socket, 0o700, user)?;
                return Ok(folder);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => {
                return Err(DemoError::Folder {
                    path: folder.root,
                    source,
                })
            }
        }
    }
}

/// Sets the mode and hands the path to the server's OS user.
pub fn server_owned(path: &Path, mode: u32, user: &ServerUser) -> Result<(), DemoError> {
    let folder_error = |source| DemoError::Folder {
        path: path.to_path_buf(),
        source,
    };
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(folder_error)?;
    if user.is_switched() {
        std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid)).map_err(folder_error)?;
    }
    Ok(())
}

/// Removes every demo under `base` whose owning process is gone; returns
/// the folders removed. Demos of live apps (this one included) stay.
pub fn remove_stale(base: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(base) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some((pid, started)) = name.to_str().and_then(owner_of) else {
            continue;
        };
        if start_time(pid) == Some(started) {
            continue;
        }
        let folder = DemoFolder::at(entry.path());
        stop_stale_server(&folder.data);
        if fs::remove_dir_all(&folder.root).is_ok() {
            removed.push(folder.root);
        }
    }
    removed
}

/// `<pid>-<starttime>-<n>` → (pid, starttime).
fn owner_of(name: &str) -> Option<(u32, u64)> {
    let mut parts = name.splitn(3, '-');
    let pid = parts.next()?.parse().ok()?;
    let started = parts.next()?.parse().ok()?;
    parts.next()?.parse::<u32>().ok()?;
    Some((pid, started))
}

/// The start time of a live process (clock ticks since boot), or None when
/// it is gone or a zombie.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from
    // the last ')'. After it: state (3) … starttime (22).
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// True while `pid` is a live process (a zombie counts as gone).
pub fn process_alive(pid: u32) -> bool {
    start_time(pid).is_some()
}

/// The postmaster pid recorded in a data directory, if its process is a
/// `postgres` working in exactly that directory (a recycled pid is not).
pub fn postmaster_of(data_dir: &Path) -> Option<u32> {
    let pid_file = fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let pid: u32 = pid_file.lines().next()?.trim().parse().ok()?;
    let cwd = fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
    let exe = fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let same_dir = fs::canonicalize(data_dir).is_ok_and(|dir| dir == cwd);
    let is_postgres = exe.file_name().is_some_and(|name| name == "postgres");
    (same_dir && is_postgres && process_alive(pid)).then_some(pid)
}

fn stop_stale_server(data_dir: &Path) {
    let Some(pid) = postmaster_of(data_dir) else {
        return;
    };
    // SIGQUIT: immediate shutdown (the data is thrown away anyway); SIGKILL
    // if it does not go within a few seconds.
    for signal in [super::server::Signal::QUIT, super::server::Signal::KILL] {
        super::server::send_signal(pid, signal);
        if wait_until_gone(pid, Duration::from_secs(5)) {
            return;
        }
    }
}

/// Waits for `pid` to exit; true when it did within `limit`.
pub fn wait_until_gone(pid: u32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while process_alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_is_read_from_the_folder_name() {
        assert_eq!(owner_of("123-456789-0"), Some((123, 456_789)));
        assert_eq!(owner_of("123-456789"), None);
        assert_eq!(owner_of("notes.txt"), None);
        assert_eq!(owner_of("1-2-x"), None);
    }

    #[test]
    fn this_process_is_alive_with_a_start_time() {
        let me = std::process::id();
        assert!(start_time(me).is_some_and(|t| t > 0));
        assert!(process_alive(me));
        assert!(!process_alive(u32::MAX));
    }
}

//! Where the PostgreSQL server programs are, and which OS user runs them.
//!
//! One discovery shared by the demo and the live-test harness
//! (`tests/support/host.rs`), so "the tests found a server" and "the demo
//! finds a server" mean the same. Its inputs (the bindir variable, PATH, the
//! Debian package root) are plain values, so a test can hide every binary.

use super::DemoError;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Environment variable naming a folder that holds initdb, pg_ctl and postgres.
pub const BINDIR_ENV: &str = "PGSAFEGUARD_PG_BINDIR";

/// What to install when no server is found (Debian and Ubuntu package names).
pub const INSTALL_HINT: &str = "apt-get install postgresql postgresql-<major>-pgaudit \
     (Debian/Ubuntu; e.g. postgresql-15-pgaudit for the audit section)";

/// Where Debian and Ubuntu install each major's server (`<root>/<major>/bin`).
pub const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

const SERVER_PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// The folder holding initdb, pg_ctl and postgres.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBinaries {
    pub bindir: PathBuf,
}

impl PgBinaries {
    pub fn program(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }

    /// The server's major version (`postgres -V`), or None when it does not run.
    pub fn major(&self) -> Option<u32> {
        server_major(&self.bindir)
    }
}

/// The inputs of a discovery; [`Discovery::from_env`] reads the real ones.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// The value of [`BINDIR_ENV`], if set.
    pub bindir_env: Option<OsString>,
    /// The PATH to search for `pg_config` and the server programs.
    pub path: Option<OsString>,
    /// Normally [`DEBIAN_ROOT`].
    pub debian_root: PathBuf,
}

impl Discovery {
    pub fn from_env() -> Discovery {
        Discovery {
            bindir_env: std::env::var_os(BINDIR_ENV),
            path: std::env::var_os("PATH"),
            debian_root: PathBuf::from(DEBIAN_ROOT),
        }
    }

    /// In order: [`BINDIR_ENV`] (when set it must be right), `pg_config
    /// --bindir`, a PATH folder holding the programs, the highest
    /// `<debian_root>/<major>/bin`.
    pub fn find(&self) -> Result<PgBinaries, DemoError> {
        if let Some(dir) = &self.bindir_env {
            let dir = PathBuf::from(dir);
            if has_server_programs(&dir) {
                return Ok(PgBinaries { bindir: dir });
            }
            return Err(DemoError::NoBinaries {
                hint: format!(
                    "{BINDIR_ENV}={} does not hold initdb, pg_ctl and postgres: fix or unset \
                     it, or install PostgreSQL: {INSTALL_HINT}",
                    dir.display()
                ),
            });
        }
        self.via_pg_config()
            .or_else(|| self.on_path())
            .or_else(|| highest_debian_bindir(&self.debian_root))
            .map(|bindir| PgBinaries { bindir })
            .ok_or_else(|| DemoError::NoBinaries {
                hint: format!(
                    "PostgreSQL server programs (initdb, pg_ctl, postgres) not found via \
                     {BINDIR_ENV}, pg_config, PATH or {}/*/bin: install them with `{INSTALL_HINT}`",
                    self.debian_root.display()
                ),
            })
    }

    /// The server programs of one major version (a restore drill must run
    /// the backup's major): the places [`Discovery::find`] looks, keeping the
    /// first whose `postgres -V` says `major`. The error names what was found
    /// and the package to install.
    pub fn find_major(&self, major: u32) -> Result<PgBinaries, DemoError> {
        let candidates = [
            self.bindir_env.as_ref().map(PathBuf::from),
            self.via_pg_config(),
            self.on_path(),
            Some(self.debian_root.join(major.to_string()).join("bin")),
        ];
        let mut found = Vec::new();
        for bindir in candidates.into_iter().flatten() {
            if !has_server_programs(&bindir) {
                continue;
            }
            match server_major(&bindir) {
                Some(m) if m == major => return Ok(PgBinaries { bindir }),
                Some(m) => found.push(format!("{m} in {}", bindir.display())),
                None => {}
            }
        }
        let found = match found.is_empty() {
            true => String::from("no PostgreSQL server programs"),
            false => format!("only PostgreSQL {}", found.join(", ")),
        };
        Err(DemoError::NoBinaries {
            hint: format!(
                "the backup is PostgreSQL {major} and a restore needs the same major, but this \
                 machine has {found}: install postgresql-{major} (Debian/Ubuntu: apt-get \
                 install postgresql-{major}) or set {BINDIR_ENV} to its bin folder"
            ),
        })
    }

    fn path_dirs(&self) -> Vec<PathBuf> {
        self.path
            .as_deref()
            .map(|path| std::env::split_paths(path).collect())
            .unwrap_or_default()
    }

    fn via_pg_config(&self) -> Option<PathBuf> {
        let pg_config = self
            .path_dirs()
            .into_iter()
            .map(|dir| dir.join("pg_config"))
            .find(|file| file.is_file())?;
        command_stdout(Command::new(pg_config).arg("--bindir"))
            .map(PathBuf::from)
            .filter(|dir| has_server_programs(dir))
    }

    /// A PATH folder with initdb; symlinks (e.g. /usr/bin/initdb) are
    /// followed to the folder that also holds postgres.
    fn on_path(&self) -> Option<PathBuf> {
        self.path_dirs().into_iter().find_map(|dir| {
            let initdb = fs::canonicalize(dir.join("initdb")).ok()?;
            let bindir = initdb.parent()?.to_path_buf();
            has_server_programs(&bindir).then_some(bindir)
        })
    }
}

fn highest_debian_bindir(root: &Path) -> Option<PathBuf> {
    fs::read_dir(root)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let major: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bindir = entry.path().join("bin");
            has_server_programs(&bindir).then_some((major, bindir))
        })
        .max_by_key(|(major, _)| *major)
        .map(|(_, bindir)| bindir)
}

fn has_server_programs(dir: &Path) -> bool {
    SERVER_PROGRAMS.iter().all(|name| dir.join(name).is_file())
}

/// The library folder of the server in `bindir` (where pgaudit.so must be):
/// what its own `pg_config` says, else `../lib/postgresql` when that exists
/// (relocatable builds without pg_config, such as npm's embedded-postgres),
/// else what `pg_config` on PATH says.
pub fn pkglibdir_of(bindir: &Path) -> Option<PathBuf> {
    let pg_config = bindir.join("pg_config");
    if pg_config.is_file() {
        return command_stdout(Command::new(pg_config).arg("--pkglibdir")).map(PathBuf::from);
    }
    let relocatable = bindir.join("../lib/postgresql");
    if relocatable.is_dir() {
        return Some(relocatable);
    }
    command_stdout(Command::new("pg_config").arg("--pkglibdir")).map(PathBuf::from)
}

/// The major version of the `postgres` in `bindir`: the leading digits of
/// the last word of `postgres -V` ("… 13.23", "… 18beta1").
pub fn server_major(bindir: &Path) -> Option<u32> {
    let banner = command_stdout(Command::new(bindir.join("postgres")).arg("-V"))?;
    let version = banner.split_whitespace().last()?;
    let digits: String = version.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Who runs initdb and the server: initdb refuses root, so as root that is
/// the `postgres` OS user; otherwise the current user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUser {
    /// `Some("postgres")` when this process runs as root.
    pub run_as: Option<String>,
    pub uid: u32,
    pub gid: u32,
}

/// The OS user the server runs as when this process is root.
pub const SERVER_OS_USER: &str = "postgres";

impl ServerUser {
    /// The user for this process (looked up with `id`).
    pub fn find() -> Result<ServerUser, DemoError> {
        let missing = || DemoError::NoBinaries {
            hint: format!(
                "the `{SERVER_OS_USER}` OS user is missing; as root the server runs as that \
                 user: `{INSTALL_HINT}` creates it (or run as an unprivileged user)"
            ),
        };
        let uid = effective_uid().ok_or_else(missing)?;
        if uid != 0 {
            let gid = id_number("-g", None).ok_or_else(missing)?;
            return Ok(ServerUser {
                run_as: None,
                uid,
                gid,
            });
        }
        Ok(ServerUser {
            run_as: Some(SERVER_OS_USER.to_string()),
            uid: id_number("-u", Some(SERVER_OS_USER)).ok_or_else(missing)?,
            gid: id_number("-g", Some(SERVER_OS_USER)).ok_or_else(missing)?,
        })
    }

    /// True when the server runs as another user than this process.
    pub fn is_switched(&self) -> bool {
        self.run_as.is_some()
    }
}

/// The effective uid of this process, read from /proc.
pub fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
}

fn id_number(flag: &str, user: Option<&str>) -> Option<u32> {
    let mut id = Command::new("id");
    id.arg(flag);
    if let Some(user) = user {
        id.arg(user);
    }
    command_stdout(&mut id).and_then(|text| text.parse().ok())
}

/// Trimmed stdout of a command that succeeded, or None.
fn command_stdout(command: &mut Command) -> Option<String> {
    let output = command.output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

//! What the test machine provides: the PostgreSQL server binaries, `psql`, and the OS user
//! that may run the server.
//!
//! Owns discovery only (looked up once per test binary); it starts nothing. Missing
//! binaries are a hard failure with the install command, never a silent skip, because a
//! skipped live test would read as a pass.

use std::collections::HashMap;
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// Environment variable naming a directory that holds initdb, pg_ctl and postgres.
pub const BINDIR_ENV: &str = "PGSAFEGUARD_PG_BINDIR";

/// What to install on Debian 12 when the binaries are missing.
pub const INSTALL_HINT: &str = "apt-get install postgresql-15 postgresql-15-pgaudit";

const SERVER_BINARIES: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// Paths of the PostgreSQL programs the harness runs.
#[derive(Debug)]
pub struct PgBinaries {
    pub bindir: PathBuf,
    pub psql: PathBuf,
}

impl PgBinaries {
    pub fn program(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }

    /// The server's library directory (where pgaudit.so must be); see [`pkglibdir_of`].
    pub fn pkglibdir(&self) -> Option<PathBuf> {
        pkglibdir_of(&self.bindir)
    }
}

/// The library directory of the server in `bindir`: what its own `pg_config` says, else
/// `../lib/postgresql` when that exists (relocatable builds without pg_config, such as
/// npm's embedded-postgres), else what `pg_config` on PATH says.
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

/// The major version of the `postgres` in `bindir` (`postgres -V`), looked up once per
/// folder. Panics when the program does not run.
pub fn server_major(bindir: &Path) -> u32 {
    static MAJORS: OnceLock<Mutex<HashMap<PathBuf, u32>>> = OnceLock::new();
    let majors = MAJORS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut majors = majors.lock().unwrap_or_else(|poison| poison.into_inner());
    *majors
        .entry(bindir.to_path_buf())
        .or_insert_with(|| read_server_major(bindir))
}

fn read_server_major(bindir: &Path) -> u32 {
    let postgres = bindir.join("postgres");
    let banner = command_stdout(Command::new(&postgres).arg("-V"))
        .unwrap_or_else(|| panic!("`{} -V` did not run", postgres.display()));
    // "postgres (PostgreSQL) 13.23" or "... 18beta1": the leading digits of the last word.
    banner
        .split_whitespace()
        .last()
        .map(|version| {
            version
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("no version in `{} -V`: {banner}", postgres.display()))
}

/// Who runs initdb and the server. As root that is the `postgres` OS user via `runuser`
/// (initdb refuses root); otherwise the current user runs them directly.
#[derive(Debug)]
pub struct ServerUser {
    /// `Some("postgres")` when the tests run as root.
    pub run_as: Option<String>,
    pub uid: u32,
    pub gid: u32,
}

impl ServerUser {
    pub fn is_switched(&self) -> bool {
        self.run_as.is_some()
    }
}

/// The binaries, found once: `$PGSAFEGUARD_PG_BINDIR`, then `pg_config --bindir`, then the
/// highest `/usr/lib/postgresql/*/bin`. Panics with the install command when none works.
pub fn pg_binaries() -> &'static PgBinaries {
    static BINARIES: OnceLock<PgBinaries> = OnceLock::new();
    BINARIES.get_or_init(find_binaries)
}

/// The OS user for the server, found once.
pub fn server_user() -> &'static ServerUser {
    static USER: OnceLock<ServerUser> = OnceLock::new();
    USER.get_or_init(find_server_user)
}

/// The effective uid of this process, read from /proc (no libc dependency).
pub fn effective_uid() -> u32 {
    let status = fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .expect("/proc/self/status has a Uid line")
}

/// True while `pid` is a live process (a zombie counts as gone).
pub fn process_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/status")) {
        Ok(status) => !status
            .lines()
            .any(|line| line.starts_with("State:") && line.contains('Z')),
        Err(_) => false,
    }
}

fn find_binaries() -> PgBinaries {
    let bindir = find_bindir();
    let bundled_psql = bindir.join("psql");
    let psql = if bundled_psql.is_file() {
        bundled_psql
    } else {
        PathBuf::from("psql")
    };
    PgBinaries { bindir, psql }
}

fn find_bindir() -> PathBuf {
    if let Ok(dir) = env::var(BINDIR_ENV) {
        let dir = PathBuf::from(dir);
        if has_server_binaries(&dir) {
            return dir;
        }
        panic!(
            "{BINDIR_ENV}={} does not hold initdb, pg_ctl and postgres; fix the variable or \
             unset it and install the server: {INSTALL_HINT}",
            dir.display()
        );
    }
    let from_pg_config = command_stdout(Command::new("pg_config").arg("--bindir"))
        .map(PathBuf::from)
        .filter(|dir| has_server_binaries(dir));
    from_pg_config
        .or_else(highest_debian_bindir)
        .unwrap_or_else(|| {
            panic!(
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found via \
                 {BINDIR_ENV}, `pg_config --bindir` or /usr/lib/postgresql/*/bin; \
                 install them with `{INSTALL_HINT}` (tests/run-all.sh does this)"
            )
        })
}

fn highest_debian_bindir() -> Option<PathBuf> {
    let entries = fs::read_dir("/usr/lib/postgresql").ok()?;
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let major: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bindir = entry.path().join("bin");
            has_server_binaries(&bindir).then_some((major, bindir))
        })
        .max_by_key(|(major, _)| *major)
        .map(|(_, bindir)| bindir)
}

fn has_server_binaries(dir: &Path) -> bool {
    SERVER_BINARIES.iter().all(|name| dir.join(name).is_file())
}

fn find_server_user() -> ServerUser {
    if effective_uid() != 0 {
        return ServerUser {
            run_as: None,
            uid: effective_uid(),
            gid: id_number("-g", None),
        };
    }
    ServerUser {
        run_as: Some("postgres".to_string()),
        uid: id_number("-u", Some("postgres")),
        gid: id_number("-g", Some("postgres")),
    }
}

fn id_number(flag: &str, user: Option<&str>) -> u32 {
    let mut id = Command::new("id");
    id.arg(flag);
    if let Some(user) = user {
        id.arg(user);
    }
    command_stdout(&mut id)
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "the `postgres` OS user is missing; as root the tests run the server as that \
                 user: `{INSTALL_HINT}` creates it (or run the tests as an unprivileged user)"
            )
        })
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

//! What the test machine provides: the PostgreSQL server binaries, `psql`, and the OS user
//! that may run the server.
//!
//! Owns the harness's view of discovery only (looked up once per test binary); it starts
//! nothing. The discovery itself is the library's (`pgsafeguard::demo::binaries`), so the
//! tests and the app's demo find the same server; this is the one place where the harness
//! imports the crate under test. Missing binaries are a hard failure with the install
//! command, never a silent skip, because a skipped live test would read as a pass.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use pgsafeguard::demo::binaries::{self, Discovery};
pub use pgsafeguard::demo::binaries::{pkglibdir_of, ServerUser, BINDIR_ENV};

/// What to install on Debian 12 when the binaries are missing.
pub const INSTALL_HINT: &str = "apt-get install postgresql-15 postgresql-15-pgaudit";

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

/// The major version of the `postgres` in `bindir` (`postgres -V`), looked up once per
/// folder. Panics when the program does not run.
pub fn server_major(bindir: &Path) -> u32 {
    static MAJORS: OnceLock<Mutex<HashMap<PathBuf, u32>>> = OnceLock::new();
    let majors = MAJORS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut majors = majors.lock().unwrap_or_else(|poison| poison.into_inner());
    *majors.entry(bindir.to_path_buf()).or_insert_with(|| {
        binaries::server_major(bindir).unwrap_or_else(|| {
            panic!(
                "`{}/postgres -V` did not run or named no version",
                bindir.display()
            )
        })
    })
}

/// The binaries, found once: `$PGSAFEGUARD_PG_BINDIR`, then `pg_config --bindir`, then a PATH
/// folder with initdb, then the highest `/usr/lib/postgresql/*/bin`. Panics with the install
/// command when none works.
pub fn pg_binaries() -> &'static PgBinaries {
    static BINARIES: OnceLock<PgBinaries> = OnceLock::new();
    BINARIES.get_or_init(|| {
        let found = Discovery::from_env().find().unwrap_or_else(|err| {
            panic!("{err} (tests: `{INSTALL_HINT}`; tests/run-all.sh does this)")
        });
        let bundled_psql = found.program("psql");
        let psql = if bundled_psql.is_file() {
            bundled_psql
        } else {
            PathBuf::from("psql")
        };
        PgBinaries {
            bindir: found.bindir,
            psql,
        }
    })
}

/// The OS user for the server, found once: as root the `postgres` OS user (initdb refuses
/// root), otherwise the current user.
pub fn server_user() -> &'static ServerUser {
    static USER: OnceLock<ServerUser> = OnceLock::new();
    USER.get_or_init(|| {
        ServerUser::find().unwrap_or_else(|err| panic!("{err} (tests: `{INSTALL_HINT}`)"))
    })
}

/// The effective uid of this process.
pub fn effective_uid() -> u32 {
    binaries::effective_uid().expect("/proc/self/status has a Uid line")
}

/// True while `pid` is a live process (a zombie counts as gone).
pub fn process_alive(pid: u32) -> bool {
    pgsafeguard::demo::process_alive(pid)
}

//! Live test harness: throwaway PostgreSQL clusters for integration tests.
//!
//! Use it from any `tests/*.rs` file with `mod support;`:
//!
//! ```ignore
//! mod support;
//! use support::{create_scanner, hardened, CLINIC_DB};
//!
//! #[test]
//! fn scanner_sees_tls_on() {
//!     let cluster = hardened();
//!     let (user, password) = create_scanner(&cluster);
//!     let conninfo = cluster.conninfo_tcp(&user, &password, CLINIC_DB, &cluster.verify_full());
//!     // ... scan `conninfo` ...
//! }
//! ```
//!
//! Each cluster lives in its own temp dir with its own port and socket directory, so tests in
//! one binary may run in parallel. Dropping the `Cluster` (also during a panic) stops the
//! server and removes the directory. Missing PostgreSQL binaries panic with the install
//! command: a live test is never skipped silently.
//!
//! Modules: `host` finds binaries and the server's OS user; `certs` makes the test CA and
//! certificates; `cluster` runs one cluster; `pg_env` keeps the caller's PG* variables
//! out of every child process; `scenarios` fills clusters with fixtures;
//! `traps` and `outbound` hold trap fixtures; `golden` saves snapshots for tests/golden.rs.
//! Only `host` imports the crate under test: binary discovery is the library's, shared with
//! the demo, so tests and the app find PostgreSQL the same way.

// Each test binary uses a different part of the harness.
#![allow(dead_code, unused_imports)]
// Fixture set-up failures are fatal to the test by design: panicking with a message is the
// error handling here.
#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod certs;
pub mod cluster;
pub mod golden;
pub mod host;
pub mod majors;
pub mod outbound;
pub mod pg_env;
pub mod scenarios;
pub mod traps;

pub use certs::{PemPair, TestPki, SERVER_CERT_NAMES};
pub use cluster::{
    conninfo_value, random_password, Cluster, ClusterBuilder, Credentials, TlsFiles,
    CLIENT_CERT_ROLE, CONF_MARKER, SUPERUSER,
};
pub use host::{pg_binaries, process_alive, server_user, BINDIR_ENV, INSTALL_HINT};
pub use majors::{
    hardened_on, insecure_on, major_server, majors_dir, MajorServer, MAJORS_DIR_ENV,
    MAJORS_INSTALL_HINT,
};
pub use outbound::{outbound_secrets, outbound_traps};
pub use pg_env::without_libpq_env;
pub use scenarios::{
    create_scanner, hardened, insecure, plain, AUDITOR_ROLE, CLINIC_DB, FIXTURE_PGCRYPTO_KEY,
    HARDENED_APP_ROLE, INSECURE_APP_ROLE, PHI_OWNER_ROLE, SCANNER_ROLE,
};
pub use traps::{
    archive_traps, conf_traps, flagged_hba_rules, hba_include_traps, hba_traps, trap_hba_rules,
};

//! Fleet scans: many servers in one run, from the lists DBAs already keep.
//!
//! ```text
//! inventory (TOML or pg_service.conf) ─► select (--group, --tag) ─► shard (K/N)
//!     ─► run (bounded concurrency, per-target timeouts) ─► each finished target:
//!            output (DIR/targets/NAME.json) · the caller (evidence store) · a summary row
//!     ─► summary (pgsafeguard.fleet/1: the target × section matrix, exit code) ─► merge
//! ```
//!
//! - [`inventory`]: reading and checking the inventory; every error names
//!   the file and line, and nothing is scanned or written before it passes.
//! - [`shard`]: `--shard K/N` by a stable hash of the target name.
//! - [`run`]: the bounded-concurrency runner.
//! - [`output`]: the output folder, written as results come in.
//! - [`summary`]: the summary document, its text matrix, exit codes, merging.
//!
//! May import `db` (conninfo and service files, to check an inventory),
//! `scan`, `checks`, `policy`, `output`, `atomic_file` and `model`; never
//! `store`, `report`, `ui` or `cli` — they call the fleet, not the reverse.
//! The CLI records each finished scan in the evidence store; the GUI shows
//! the matrix; the report prints it.

pub mod inventory;
pub mod output;
pub mod run;
pub mod shard;
pub mod summary;

//! pgSafeguard: checks a PostgreSQL server against the HIPAA hardening guide,
//! shows the evidence, previews fixes and exports signed evidence.
//!
//! # Data flow (one way)
//!
//! ```text
//! conninfo ─► db::connect ─► db::collect ─► Snapshot ─► checks::evaluate_all ─► Vec<Finding>
//!                                                                  ├─► cli (text / json)
//!                                                                  ├─► ui (egui walkthrough)
//!                                                                  └─► report (PDF)
//! ```
//!
//! `db` is the only module that talks to the server, and the scan session is
//! read-only. `checks` are pure functions of the snapshot. Failures surface as
//! typed errors in library modules (`thiserror`) and are turned into one line
//! on stderr with exit code 2 by the binary. A part the scanner could not read
//! becomes a [`model::snapshot::Gap`] and its checks say `unknown`, never `pass`.
//!
//! [`demo`] runs the app-owned throwaway demo cluster (training mode); it is
//! the only module that starts server processes. [`drill`] (the restore
//! drill) starts its private recovery server through the demo's supervisor.

pub mod apply;
pub mod atomic_file;
pub mod checks;
pub mod cli;
pub mod db;
pub mod demo;
pub mod drift;
pub mod drill;
pub mod fleet;
pub mod model;
pub mod output;
pub mod platform_dirs;
pub mod policy;
pub mod report;
pub mod scan;
pub mod session;
pub mod store;
pub mod ui;

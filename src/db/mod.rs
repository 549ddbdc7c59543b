//! The only module that talks to PostgreSQL.
//!
//! - [`conninfo`] resolves a connection string (read by `model::conninfo`
//!   with libpq's rules), PG* environment variables, defaults and pgpass into
//!   [`conninfo::ConnParams`].
//! - [`pgpass`] finds a password in ~/.pgpass / PGPASSFILE as libpq does.
//! - [`service`] reads libpq's connection service files (pg_service.conf).
//! - [`tls`] is our `TlsConnect` over native-tls: libpq's sslmode semantics and
//!   capture of the server certificate.
//! - [`connect`] opens a session and records what the connection really was.
//! - [`collect`] reads every fact into a [`crate::model::snapshot::Snapshot`] in a
//!   read-only transaction, in a constant number of round trips.
//! - [`discover`] finds PHI columns for `pgsafeguard discover`: names,
//!   comments, types, and a bounded sample validated in memory (counts only).
//!
//! Must not import `checks`, `ui` or `report`.

pub mod apply;
pub mod collect;
pub mod connect;
pub mod conninfo;
pub mod discover;
pub mod host;
pub mod pgpass;
pub mod probe;
pub mod service;
pub mod tls;

//! The ground floor: the vocabulary every other room shares — what a scan saw
//! ([`snapshot`]), what a check concluded ([`finding`]), how secrets are hidden
//! ([`redact`]) and the HIPAA citations ([`hipaa`]).
//!
//! Pure data and pure functions: no I/O, and no import from any module above it
//! (`db`, `checks`, `apply`, `ui`, `report`, `cli`); tests/architecture.rs holds that.

pub mod finding;
pub mod hipaa;
pub mod redact;
pub mod settings;
pub mod snapshot;
pub mod statement;

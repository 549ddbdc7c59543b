//! The ground floor: the vocabulary every other room shares — what a scan saw
//! ([`snapshot`]), what a check concluded ([`finding`]), how secrets are hidden
//! ([`redact`]), the HIPAA citations ([`hipaa`]), libpq connection strings
//! ([`conninfo`]), what a pg_hba rule matches ([`hba`]), typed fix statements
//! ([`statement`]), the change log's entries ([`changelog`]), what active probes proved
//! ([`proof`]), a restore drill's record ([`drill`]), the PHI name rule ([`phi_names`]),
//! PHI discovery's categories and value validators ([`phi_categories`],
//! [`phi_validators`]) and how server
//! strings are shown ([`untrusted`]).
//!
//! Pure data and pure functions: no I/O, and no import from any module above it
//! (`db`, `checks`, `apply`, `ui`, `report`, `cli`); tests/architecture.rs holds that.

pub mod changelog;
pub mod conninfo;
pub mod drill;
pub mod finding;
pub mod hba;
pub mod hipaa;
pub mod phi_categories;
pub mod phi_map;
pub mod phi_names;
pub mod phi_validators;
pub mod plan;
pub mod proof;
pub mod redact;
pub mod settings;
pub mod snapshot;
pub mod statement;
pub mod untrusted;

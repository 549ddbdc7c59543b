//! Guide section 1: HIPAA safeguards mapped to database controls: the
//! administrative and physical safeguards a person attests (ADM-*), then the
//! platform and integrity checks (GEN-*).
//!
//! The ten ADM attestations are one table of declarations in
//! `adm_attestations.rs`; every GEN check has its own file
//! (`gen_NNN_<name>.rs`: declaration, evaluate fn, fix builder, fixtures and
//! unit tests). This module keeps the `CHECKS` list and gathers the fixtures.
//!
//! The check files import the snapshot, the policy, `facts`, `expect` (which
//! judges the role- and database-settable GEN-003 parameters in every scope),
//! `redact` and the bundled release table in `versions`; never `db`, `ui` or
//! another section.

mod adm_attestations;
mod gen_001_supported_version;
mod gen_002_approved_extensions;
mod gen_003_integrity_settings;
mod gen_004_socket_permissions;
mod gen_005_fips_mode;
mod gen_006_settings_applied;
mod gen_007_no_plaintext_passwords_on_host;

use super::Check;
use adm_attestations::{
    ACCESS_REVIEW, BUSINESS_ASSOCIATES, KEY_MANAGEMENT, MONITORING_AND_RESPONSE,
    NETWORK_SEPARATION, OFFSITE_BACKUPS, PHI_MINIMIZED, PHYSICAL_ACCESS, RISK_ANALYSIS,
    SECURITY_POLICIES,
};
use gen_001_supported_version::SUPPORTED_VERSION;
use gen_002_approved_extensions::APPROVED_EXTENSIONS;
use gen_003_integrity_settings::INTEGRITY_SETTINGS;
use gen_004_socket_permissions::SOCKET_PERMISSIONS;
use gen_005_fips_mode::FIPS_MODE;
use gen_006_settings_applied::SETTINGS_APPLIED;
use gen_007_no_plaintext_passwords_on_host::NO_PLAINTEXT_PASSWORDS_ON_HOST;

pub static CHECKS: &[&Check] = &[
    &RISK_ANALYSIS,
    &BUSINESS_ASSOCIATES,
    &ACCESS_REVIEW,
    &SECURITY_POLICIES,
    &PHI_MINIMIZED,
    &NETWORK_SEPARATION,
    &KEY_MANAGEMENT,
    &MONITORING_AND_RESPONSE,
    &PHYSICAL_ACCESS,
    &OFFSITE_BACKUPS,
    &SUPPORTED_VERSION,
    &APPROVED_EXTENSIONS,
    &INTEGRITY_SETTINGS,
    &SOCKET_PERMISSIONS,
    &FIPS_MODE,
    &SETTINGS_APPLIED,
    &NO_PLAINTEXT_PASSWORDS_ON_HOST,
];

// ---------------------------------------------------------------------------
// Tests

/// Evaluates one check under the default policy (for the files' unit tests).
#[cfg(test)]
fn eval(check: &Check, s: &crate::model::snapshot::Snapshot) -> super::Verdict {
    (check.evaluate)(s, &crate::policy::Policy::default())
}

/// Every check's passing and failing fixtures, in the order they had when
/// the section was one file (the attestations first).
#[cfg(test)]
pub fn cases() -> Vec<super::testkit::Case> {
    [
        adm_attestations::cases(),
        gen_005_fips_mode::cases(),
        gen_007_no_plaintext_passwords_on_host::cases(),
        gen_001_supported_version::cases(),
        gen_002_approved_extensions::cases(),
        gen_003_integrity_settings::cases(),
        gen_004_socket_permissions::cases(),
        gen_006_settings_applied::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

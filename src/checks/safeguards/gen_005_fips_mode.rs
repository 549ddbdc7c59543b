//! GEN-005: an attestation that the host's OpenSSL runs in FIPS mode where
//! a contract or policy requires it (SQL cannot read it).

use crate::checks::facts::{attestation_required, describe};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static FIPS_MODE: Check = Check {
    id: "GEN-005",
    section: Section::Safeguards,
    title: "FIPS-validated cryptography is used where required",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(2)(iv)"],
    cis: Some("6.7"),
    rationale: "Some covered entities (federal contracts, state rules) must use FIPS 140 \
        validated cryptography. FIPS mode is a property of the host's OpenSSL, which SQL \
        cannot read; PostgreSQL 18's pgcrypto fips_mode() reports it but is not collected \
        by this scan. So a person attests it. Medium: required only where the contract or \
        policy says so.",
    reproduce_sql: "SELECT name, setting FROM pg_settings WHERE name = 'ssl_library';\n\
        -- PostgreSQL 18+ with pgcrypto: SELECT fips_mode();",
    evaluate: fips_mode,
    fix: Fix::Instructions {
        apply: &[ApplyClass::Os],
        note: "enable the OS FIPS mode (e.g. `fips-mode-setup --enable` on RHEL, Ubuntu Pro \
            FIPS packages), reboot, confirm with `cat /proc/sys/crypto/fips_enabled`, then \
            attest",
    },
};

fn fips_mode(s: &Snapshot, _: &Policy) -> Verdict {
    let library = s
        .setting("ssl_library")
        .map(|l| format!("; {}", describe("ssl_library", l)))
        .unwrap_or_default();
    attestation_required(&format!(
        "the host's OpenSSL runs in FIPS mode where your contracts or policy require it \
         (not readable over SQL{library})"
    ))
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{base, Case};

    vec![Case::attestation("GEN-005", base(), base())]
}

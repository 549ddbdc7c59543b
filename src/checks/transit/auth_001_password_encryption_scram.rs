//! AUTH-001: whether new passwords are hashed with SCRAM-SHA-256 at every scope
//! that sets password_encryption.

use super::with_md5_deprecation;
use crate::checks::expect::{expect_all, fix_settings, Expect};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity, Status};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static PASSWORD_ENCRYPTION_SCRAM: Check = Check {
    id: "AUTH-001",
    section: Section::Transit,
    title: "New passwords are hashed with SCRAM-SHA-256",
    severity: Severity::High,
    hipaa: &["164.312(d)", "164.308(a)(5)(ii)(D)"],
    cis: None,
    rationale: "MD5 verifiers can be replayed by anyone who reads them and are cheap to \
        brute-force; SCRAM-SHA-256 resists both. Weak credential storage for a PHI system \
        is rated high. Before PostgreSQL 14 the default was md5 (and `on` meant md5); \
        PostgreSQL 18 deprecates md5 passwords and a later major will refuse them, which the \
        evidence notes on 18 and later.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings WHERE name = 'password_encryption';",
    evaluate: password_encryption_scram,
    fix: Fix::Build(|s, v| {
        fix_settings(
            s,
            v,
            SCRAM_RULES,
            &[ApplyClass::Reload],
            "existing md5 hashes stay md5 until each password is set again (AUTH-002)",
        )
    }),
};

/// A role or database setting of md5 hashes that role's next password as
/// md5 whatever the server-wide value, so every scope is judged.
const SCRAM_RULES: &[Expect] = &[Expect {
    name: "password_encryption",
    wanted: "scram-sha-256",
    ok: |v| v == "scram-sha-256",
    fix_value: "scram-sha-256",
}];

fn password_encryption_scram(s: &Snapshot, _: &Policy) -> Verdict {
    let verdict = expect_all(s, SCRAM_RULES);
    if verdict.status == Status::Fail {
        return with_md5_deprecation(s, verdict);
    }
    verdict
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
    vec![Case::new(
        "AUTH-001",
        with_settings(&[("password_encryption", "scram-sha-256")]),
        with_settings(&[("password_encryption", "md5")]),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::with_settings;

    #[test]
    fn old_on_value_of_password_encryption_means_md5() {
        let s = with_settings(&[("password_encryption", "on")]);
        assert_eq!(
            password_encryption_scram(&s, &Policy::default()).status,
            Status::Fail
        );
    }
}

//! Guide section 3: encryption in transit and authentication (TLS-*, AUTH-*).

use super::facts::{describe, need_setting, value};
use super::{Check, Fix, Verdict};
use crate::finding::{ApplyClass, Section, Severity};
use crate::policy::Policy;
use crate::snapshot::Snapshot;

pub static CHECKS: &[&Check] = &[&SSL_ON, &PASSWORD_ENCRYPTION_SCRAM];

pub static SSL_ON: Check = Check {
    id: "TLS-001",
    section: Section::Transit,
    title: "TLS is enabled on the server",
    severity: Severity::Critical,
    hipaa: &["164.312(e)(1)", "164.312(e)(2)(ii)"],
    cis: Some("6.8"),
    rationale: "With ssl off every byte between clients and the server, PHI rows and \
        password exchanges included, crosses the network readable by anyone on the path. \
        Plaintext transport of PHI is rated critical.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings WHERE name = 'ssl';",
    evaluate: ssl_on,
    fix: Fix::SetParameter {
        name: "ssl",
        value: "on",
        apply: &[ApplyClass::Reload],
        note: "install server.crt and server.key (ssl_cert_file, ssl_key_file) before reloading",
    },
};

fn ssl_on(s: &Snapshot, _: &Policy) -> Verdict {
    let setting = match need_setting(s, "ssl") {
        Ok(v) => v,
        Err(unknown) => return unknown,
    };
    let seen = describe("ssl", setting);
    if value(setting) == "on" {
        Verdict::pass(seen)
    } else {
        Verdict::fail(seen)
    }
}

pub static PASSWORD_ENCRYPTION_SCRAM: Check = Check {
    id: "AUTH-001",
    section: Section::Transit,
    title: "New passwords are hashed with SCRAM-SHA-256",
    severity: Severity::High,
    hipaa: &["164.312(d)", "164.308(a)(5)(ii)(D)"],
    cis: None,
    rationale: "MD5 verifiers can be replayed by anyone who reads them and are cheap to \
        brute-force; SCRAM-SHA-256 resists both. Weak credential storage for a PHI system \
        is rated high. Before PostgreSQL 14 the default was md5 (and `on` meant md5).",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings WHERE name = 'password_encryption';",
    evaluate: password_encryption_scram,
    fix: Fix::SetParameter {
        name: "password_encryption",
        value: "scram-sha-256",
        apply: &[ApplyClass::Reload],
        note: "existing md5 hashes stay md5 until each password is set again (AUTH-002)",
    },
};

fn password_encryption_scram(s: &Snapshot, _: &Policy) -> Verdict {
    let setting = match need_setting(s, "password_encryption") {
        Ok(v) => v,
        Err(unknown) => return unknown,
    };
    let seen = describe("password_encryption", setting);
    if value(setting) == "scram-sha-256" {
        Verdict::pass(seen)
    } else {
        Verdict::fail(seen)
    }
}

#[cfg(test)]
pub fn cases() -> Vec<super::testkit::Case> {
    use super::testkit::{with_settings, Case};
    vec![
        Case::new("TLS-001", with_settings(&[("ssl", "on")]), with_settings(&[("ssl", "off")])),
        Case::new(
            "AUTH-001",
            with_settings(&[("password_encryption", "scram-sha-256")]),
            with_settings(&[("password_encryption", "md5")]),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Status;
    use crate::snapshot::Snapshot;

    #[test]
    fn hidden_setting_is_unknown_with_a_grant_never_pass() {
        let mut s = super::super::testkit::base();
        s.settings = None;
        let v = ssl_on(&s, &Policy::default());
        assert_eq!(v.status, Status::Unknown);
        assert!(v.grant.unwrap_or_default().contains("pg_read_all_settings"));
        let v = ssl_on(&Snapshot::default(), &Policy::default());
        assert_eq!(v.status, Status::Unknown);
    }

    #[test]
    fn old_on_value_of_password_encryption_means_md5() {
        let s = super::super::testkit::with_settings(&[("password_encryption", "on")]);
        assert_eq!(password_encryption_scram(&s, &Policy::default()).status, Status::Fail);
    }
}

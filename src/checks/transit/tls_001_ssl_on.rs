//! TLS-001: whether the server has TLS switched on (`ssl = on`).

use crate::checks::facts::{describe, need_setting, settle, value};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

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
    settle(equals(s, "ssl", "on"))
}

/// Pass when the live value equals `expected`, fail otherwise.
fn equals(s: &Snapshot, name: &str, expected: &str) -> Result<Verdict, Verdict> {
    let setting = need_setting(s, name)?;
    let seen = describe(name, setting);
    Ok(if value(setting) == expected {
        Verdict::pass(seen)
    } else {
        Verdict::fail(seen)
    })
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
    vec![Case::new(
        "TLS-001",
        with_settings(&[("ssl", "on")]),
        with_settings(&[("ssl", "off")]),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::base;
    use crate::model::finding::Status;

    #[test]
    fn hidden_setting_is_unknown_with_a_grant_never_pass() {
        let mut s = base();
        s.settings = None;
        let v = ssl_on(&s, &Policy::default());
        assert_eq!(v.status, Status::Unknown);
        assert!(v.grant.unwrap_or_default().contains("pg_read_all_settings"));
        let v = ssl_on(&Snapshot::default(), &Policy::default());
        assert_eq!(v.status, Status::Unknown);
    }
}

//! TLS-003: whether `ssl_ciphers` admits a weak cipher family, read the way
//! OpenSSL reads it (`ciphers`).

use super::ciphers;
use crate::checks::facts::{describe, need_setting, settle, value};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static STRONG_CIPHERS: Check = Check {
    id: "TLS-003",
    section: Section::Transit,
    title: "Weak cipher suites are excluded",
    severity: Severity::High,
    hipaa: &["164.312(e)(2)(ii)"],
    cis: Some("6.10"),
    rationale: "ssl_ciphers is an OpenSSL expression, read here the way OpenSSL reads it \
        (a `!X` excludes X for good, `+X` only reorders). Suites without encryption (NULL), \
        without authentication (aNULL), export-grade, RC4, DES, 3DES or MD5-based let an \
        attacker read or tamper with PHI in transit, so high. Families follow OpenSSL \
        1.1.1/3.x (3DES is MEDIUM); PostgreSQL's own default HIGH:MEDIUM:+3DES:!aNULL admits \
        3DES and fails. When ssl_min_protocol_version is TLSv1.3 the setting governs \
        nothing (TLS 1.3 suites are all strong) and the check passes.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings \
        WHERE name IN ('ssl_ciphers', 'ssl_min_protocol_version');",
    evaluate: |s, p| settle(strong_ciphers(s, p)),
    fix: Fix::SetParameter {
        name: "ssl_ciphers",
        value: "HIGH:!aNULL:!MD5:!3DES:!RC4",
        apply: &[ApplyClass::Reload],
        note: "TLS 1.3 suites are not affected by ssl_ciphers",
    },
};

fn strong_ciphers(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let setting = need_setting(s, "ssl_ciphers")?;
    let seen = describe("ssl_ciphers", setting);
    let tls13_only = s
        .setting("ssl_min_protocol_version")
        .is_some_and(|m| value(m) == "TLSv1.3");
    if tls13_only {
        return Ok(Verdict::pass(format!(
            "{seen}; ssl_min_protocol_version = TLSv1.3, whose suites ssl_ciphers does not govern"
        )));
    }
    let weak = ciphers::weak_families(value(setting));
    if weak.is_empty() {
        return Ok(Verdict::pass(format!("{seen}; admits no weak family")));
    }
    let shown: Vec<String> = weak
        .iter()
        .map(|a| format!("{} (via {})", a.family, a.via))
        .collect();
    Ok(Verdict::fail(format!(
        "{seen}; admits weak families: {}",
        shown.join(", ")
    ))
    .with_objects(weak.iter().map(|a| a.family.to_string())))
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
    vec![Case::new(
        "TLS-003",
        with_settings(&[("ssl_ciphers", "HIGH:!aNULL:!MD5:!3DES:!RC4")]),
        with_settings(&[("ssl_ciphers", "HIGH:MEDIUM:+3DES:!aNULL")]),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::with_settings;
    use crate::checks::transit::fixtures::*;
    use crate::model::finding::Status;

    #[test]
    fn tls13_minimum_makes_cipher_list_moot() {
        let s = with_settings(&[
            ("ssl_ciphers", "HIGH:MEDIUM:+3DES:!aNULL"),
            ("ssl_min_protocol_version", "TLSv1.3"),
        ]);
        assert_eq!(run(&STRONG_CIPHERS, &s).status, Status::Pass);
        let v = run(
            &STRONG_CIPHERS,
            &with_settings(&[("ssl_ciphers", "HIGH:MEDIUM:+3DES:!aNULL")]),
        );
        assert!(v.evidence.contains("3DES (via MEDIUM)"));
    }
}

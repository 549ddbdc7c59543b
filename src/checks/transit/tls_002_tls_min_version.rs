//! TLS-002: whether the server refuses TLS 1.0 and 1.1
//! (`ssl_min_protocol_version`, which PostgreSQL 11 and older cannot set).

use super::tls_rank;
use crate::checks::facts::{describe, major_version, need_setting, settle, value};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static TLS_MIN_VERSION: Check = Check {
    id: "TLS-002",
    section: Section::Transit,
    title: "TLS 1.0 and 1.1 are refused",
    severity: Severity::High,
    hipaa: &["164.312(e)(2)(ii)"],
    cis: Some("6.9"),
    rationale: "TLS 1.0 and 1.1 are deprecated (RFC 8996) and open to downgrade and \
        padding attacks that can expose PHI in transit, so high. TLSv1.2 passes: it is \
        what NIST SP 800-52r2 requires and what older clinical clients still speak; the \
        evidence notes that CIS PostgreSQL 17 (6.9) prefers TLSv1.3. Before PostgreSQL 13 \
        the default minimum was TLSv1, and PostgreSQL 11 and older cannot set one at all.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings \
        WHERE name IN ('ssl_min_protocol_version', 'ssl_max_protocol_version');",
    evaluate: |s, p| settle(tls_min_version(s, p)),
    fix: Fix::SetParameter {
        name: "ssl_min_protocol_version",
        value: "TLSv1.2",
        apply: &[ApplyClass::Reload],
        note: "clients older than TLS 1.2 (very old drivers) can no longer connect; use \
            TLSv1.3 where every client supports it",
    },
};

fn tls_min_version(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let major = major_version(s);
    if s.settings.is_some()
        && s.setting("ssl_min_protocol_version").is_none()
        && major.is_some_and(|m| m < 12)
    {
        return Ok(Verdict::fail(format!(
            "PostgreSQL {} has no ssl_min_protocol_version: the server accepts every protocol \
             its OpenSSL library allows, TLS 1.0 included (upgrade, GEN-001)",
            major.unwrap_or_default()
        )));
    }
    let setting = need_setting(s, "ssl_min_protocol_version")?;
    let seen = describe("ssl_min_protocol_version", setting);
    Ok(match tls_rank(value(setting)) {
        Some(13) => Verdict::pass(seen),
        Some(12) => Verdict::pass(format!(
            "{seen}; CIS PostgreSQL 17 (6.9) recommends TLSv1.3 where every client supports it"
        )),
        Some(_) => Verdict::fail(format!("{seen}; TLS 1.0 and 1.1 are deprecated (RFC 8996)")),
        None => Verdict::unknown(
            format!("{seen}: not a protocol version pgSafeguard knows"),
            None,
        ),
    })
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
    vec![Case::new(
        "TLS-002",
        with_settings(&[("ssl_min_protocol_version", "TLSv1.2")]),
        with_settings(&[("ssl_min_protocol_version", "TLSv1")]),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::base;
    use crate::checks::transit::fixtures::*;
    use crate::model::finding::Status;

    #[test]
    fn auto_conf_overrides_are_judged_live_and_rolled_back_to_the_seen_value() {
        let mut s = base();
        auto_conf(&mut s, "ssl_min_protocol_version", "TLSv1.1");
        let v = run(&TLS_MIN_VERSION, &s);
        assert_eq!(v.status, Status::Fail);
        assert!(v.evidence.contains("postgresql.auto.conf"));
        let plan = TLS_MIN_VERSION.plan(&s, &v);
        assert_eq!(
            plan.rollback,
            vec!["ALTER SYSTEM SET \"ssl_min_protocol_version\" = 'TLSv1.1'"]
        );
    }
}

//! AUTH-005: whether hostssl lines authenticate with SCRAM, certificates or
//! Kerberos; lines that only hand the credential to a directory give `warn`.

use super::hba_lines::{method_plan, reachable_rules, rule_verdict, scram};
use crate::checks::facts::settle;
use crate::checks::hba;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{FixPlan, Section, Severity, Status};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static HOSTSSL_STRONG_METHODS: Check = Check {
    id: "AUTH-005",
    section: Section::Transit,
    title: "hostssl rules use SCRAM, certificates or Kerberos",
    severity: Severity::Medium,
    hipaa: &["164.312(d)"],
    cis: None,
    rationale: "TLS protects the channel, not the credential check: a hostssl line should \
        still authenticate with scram-sha-256, cert, gss or sspi. trust, password, md5 or \
        ident on it fail. ldap, radius, pam and bsd hand the password to the server (inside \
        TLS here) for a directory to check, and oauth (PostgreSQL 18+) hands a bearer token \
        to a validator library whose checks the scan cannot see: acceptable where identities \
        are managed centrally, weaker than SCRAM or certificates, so they give `warn`. \
        Medium: the transport is already encrypted.",
    reproduce_sql: "SELECT line_number, database, user_name, address, netmask, auth_method \
        FROM pg_hba_file_rules WHERE type = 'hostssl' \
        AND auth_method NOT IN ('scram-sha-256', 'cert', 'gss', 'sspi', 'reject') ORDER BY line_number;",
    evaluate: |s, p| settle(hostssl_strong_methods(s, p)),
    fix: Fix::Build(hostssl_strong_methods_plan),
};

const STRONG_METHODS: &[&str] = &["scram-sha-256", "cert", "gss", "sspi"];
/// Methods that hand the credential to something outside PostgreSQL to
/// check: a directory, PAM, or (PostgreSQL 18+) an OAuth validator library.
const DIRECTORY_METHODS: &[&str] = &["ldap", "radius", "pam", "bsd", "oauth"];

fn hostssl_strong_methods(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let rules = hba::rules(s)?;
    let picked = reachable_rules(rules, |r| {
        hba::conn_type(r) == "hostssl" && !STRONG_METHODS.contains(&hba::method(r))
    });
    let verdict = rule_verdict(rules, &picked, "on hostssl use a weaker method");
    let only_directory = !picked.is_empty()
        && picked
            .iter()
            .all(|&i| DIRECTORY_METHODS.contains(&hba::method(&rules[i])));
    Ok(if only_directory {
        Verdict {
            status: Status::Warn,
            evidence: format!(
                "{}; directory methods are acceptable where identities are managed centrally",
                verdict.evidence
            ),
            ..verdict
        }
    } else {
        verdict
    })
}

fn hostssl_strong_methods_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    method_plan(
        s,
        verdict,
        "AUTH-005",
        scram,
        "sets scram-sha-256 on the listed hostssl lines (or choose cert); roles that \
         authenticated against a directory need database passwords first",
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::{hba_case, NET};
    use crate::checks::testkit::hba;
    vec![hba_case(
        "AUTH-005",
        hba(3, "hostssl", "all", "all", NET, "password"),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::hba;
    use crate::checks::transit::fixtures::*;

    #[test]
    fn directory_methods_on_hostssl_warn() {
        let mut ldap = hba(1, "hostssl", "all", "all", NET, "ldap");
        ldap.options = vec!["ldapserver=dc1".into(), "ldapbindpasswd=hunter2".into()];
        let s = rules(vec![ldap]);
        let v = run(&HOSTSSL_STRONG_METHODS, &s);
        assert_eq!(v.status, Status::Warn);
        assert!(!v.evidence.contains("hunter2"));
        let plan = HOSTSSL_STRONG_METHODS.plan(&s, &v);
        assert!(!format!("{plan:?}").contains("hunter2"));
    }
}

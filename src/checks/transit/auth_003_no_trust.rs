//! AUTH-003: whether a reachable pg_hba line uses trust; the fix puts peer on
//! local lines and scram-sha-256 on TCP lines.

use super::hba_lines::{method_plan, reachable_rules, rule_verdict};
use crate::checks::facts::settle;
use crate::checks::hba;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{FixPlan, Section, Severity};
use crate::model::snapshot::{HbaRule, Snapshot};
use crate::policy::Policy;

pub static NO_TRUST: Check = Check {
    id: "AUTH-003",
    section: Section::Transit,
    title: "No pg_hba rule trusts without authentication",
    severity: Severity::Critical,
    hipaa: &["164.312(d)"],
    cis: Some("5.3–5.4"),
    rationale: "`trust` lets anyone who can reach the socket or port log in as any role the \
        line names, superusers included, with no credential at all: no person or entity \
        authentication, so critical. Local (Unix-socket) trust counts too: every OS account \
        on the host becomes a database superuser. Lines behind an earlier reject are not \
        counted.",
    reproduce_sql: "SELECT line_number, type, database, user_name, address, netmask \
        FROM pg_hba_file_rules WHERE auth_method = 'trust' ORDER BY line_number;",
    evaluate: |s, p| settle(no_trust(s, p)),
    fix: Fix::Build(no_trust_plan),
};

fn no_trust(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let rules = hba::rules(s)?;
    let picked = reachable_rules(rules, |r| hba::method(r) == "trust");
    Ok(rule_verdict(rules, &picked, "use trust"))
}

fn no_trust_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    method_plan(
        s,
        verdict,
        "AUTH-003",
        scram_or_peer,
        "replaces trust with peer on local lines (the OS user must match the role, or add a \
         map) and scram-sha-256 on TCP lines (roles need passwords)",
    )
}

fn scram_or_peer(rule: &HbaRule) -> &'static str {
    if hba::kinds(rule) == hba::LOCAL {
        "peer"
    } else {
        "scram-sha-256"
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::{hba_case, LOOPBACK};
    use crate::checks::testkit::hba;
    vec![hba_case(
        "AUTH-003",
        hba(3, "host", "all", "all", LOOPBACK, "trust"),
    )]
}

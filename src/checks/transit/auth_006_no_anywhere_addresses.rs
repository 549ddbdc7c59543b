//! AUTH-006: whether a reachable TCP pg_hba line admits every client address.

use super::hba_lines::{hba_advice_plan, reachable_rules, rule_verdict};
use crate::checks::facts::settle;
use crate::checks::hba;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{FixPlan, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static NO_ANYWHERE_ADDRESSES: Check = Check {
    id: "AUTH-006",
    section: Section::Transit,
    title: "No pg_hba rule admits every client address",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "A line for `all`, 0.0.0.0/0 or ::/0 (in pg_hba_file_rules: address 0.0.0.0 \
        with netmask 0.0.0.0) lets any host that reaches the port try to log in, so PHI \
        access rests on passwords alone. Restricting the source network is an access \
        control in its own right; authentication still stands behind it, so medium. reject \
        lines are protective and never counted.",
    reproduce_sql: "SELECT line_number, type, database, user_name, address, netmask, auth_method \
        FROM pg_hba_file_rules WHERE type LIKE 'host%' AND auth_method <> 'reject' \
        AND (address = 'all' OR netmask IN ('0.0.0.0', '::')) ORDER BY line_number;",
    evaluate: |s, p| settle(no_anywhere(s, p)),
    fix: Fix::Build(no_anywhere_plan),
};

fn no_anywhere(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let rules = hba::rules(s)?;
    let picked = reachable_rules(rules, |r| hba::is_network(r) && hba::is_anywhere(r));
    Ok(rule_verdict(rules, &picked, "admit every client address"))
}

fn no_anywhere_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    hba_advice_plan(
        s,
        verdict,
        "replace the address with the application subnets and bastion hosts that need \
         access (e.g. 10.20.0.0/16); pgSafeguard cannot know them"
            .into(),
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::{hba_case, ANYWHERE};
    use crate::checks::testkit::hba;
    vec![hba_case(
        "AUTH-006",
        hba(
            3,
            "hostssl",
            "clinic",
            "+clinic_app",
            ANYWHERE,
            "scram-sha-256",
        ),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::hba;
    use crate::checks::transit::fixtures::*;
    use crate::model::finding::Status;

    #[test]
    fn zero_netmask_is_anywhere() {
        let s = rules(vec![hba(
            1,
            "hostssl",
            "all",
            "app",
            Some(("192.168.0.0", "0.0.0.0")),
            "scram-sha-256",
        )]);
        assert_eq!(run(&NO_ANYWHERE_ADDRESSES, &s).status, Status::Fail);
        let v6 = rules(vec![hba(
            1,
            "hostssl",
            "all",
            "app",
            Some(("::", "::")),
            "scram-sha-256",
        )]);
        assert_eq!(run(&NO_ANYWHERE_ADDRESSES, &v6).status, Status::Fail);
    }
}

//! AUTH-007: whether reachable TCP pg_hba lines name their databases and roles
//! rather than `all`.

use super::hba_lines::{hba_advice_plan, reachable_rules, rule_verdict};
use crate::checks::facts::settle;
use crate::checks::hba;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{FixPlan, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static NAMED_DATABASES_AND_USERS: Check = Check {
    id: "AUTH-007",
    section: Section::Transit,
    title: "Network pg_hba rules name databases and roles",
    severity: Severity::Low,
    hipaa: &["164.308(a)(4)(ii)(B)"],
    cis: None,
    rationale: "`all` in the database or user column of a TCP line admits every current and \
        future database or role from that network, so access is authorised by default \
        rather than by decision. Grants still apply behind it, so low. Local (Unix-socket) \
        lines are not counted: they are bound to OS accounts on the host. Accepted lines \
        are listed in the policy one by one (the object is the rule as shown) or as a whole.",
    reproduce_sql: "SELECT line_number, type, database, user_name, address, netmask, auth_method \
        FROM pg_hba_file_rules WHERE type LIKE 'host%' AND auth_method <> 'reject' \
        AND ('all' = ANY (database) OR 'all' = ANY (user_name)) ORDER BY line_number;",
    evaluate: |s, p| settle(named_databases_and_users(s, p)),
    fix: Fix::Build(named_databases_plan),
};

fn named_databases_and_users(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let rules = hba::rules(s)?;
    let picked = reachable_rules(rules, |r| {
        hba::is_network(r)
            && (r.database.iter().any(|d| d == "all") || r.user_name.iter().any(|u| u == "all"))
    });
    Ok(rule_verdict(
        rules,
        &picked,
        "on TCP use all for databases or roles",
    ))
}

fn named_databases_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    hba_advice_plan(
        s,
        verdict,
        "name the databases and a group role per application (+clinic_app) instead of all, \
         or record the line as an accepted risk"
            .into(),
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::{hba_case, NET};
    use crate::checks::testkit::hba;
    vec![hba_case(
        "AUTH-007",
        hba(3, "hostssl", "all", "all", NET, "scram-sha-256"),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::hba;
    use crate::checks::transit::fixtures::*;
    use crate::model::finding::Status;

    #[test]
    fn per_line_acceptance_of_all() {
        let line = hba(1, "hostssl", "all", "all", NET, "scram-sha-256");
        let s = rules(vec![line.clone()]);
        let policy = Policy {
            accepted_risks: vec![crate::policy::PolicyAcceptedRisk {
                id: "AUTH-007".into(),
                object: Some(hba::display(&line)),
                by: "CISO".into(),
                reason: "single-tenant subnet".into(),
                expires: "2027-01-01".into(),
                ..Default::default()
            }],
            ..Policy::default()
        };
        let finding = crate::checks::evaluate_one(
            &NAMED_DATABASES_AND_USERS,
            &s,
            &policy,
            &Default::default(),
        );
        assert_eq!(finding.status, Status::Accepted);
        assert!(finding.evidence.contains("accepted in the policy: line 1"));
        assert_eq!(finding.accepted.map(|a| a.by), Some("CISO".to_string()));
        let local = rules(vec![hba(1, "local", "all", "all", None, "peer")]);
        assert_eq!(run(&NAMED_DATABASES_AND_USERS, &local).status, Status::Pass);
    }
}

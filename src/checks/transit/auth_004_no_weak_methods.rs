//! AUTH-004: whether a reachable pg_hba line uses password, md5, or ident over
//! TCP.

use super::hba_lines::{method_plan, reachable_rules, rule_verdict, scram};
use crate::checks::facts::settle;
use crate::checks::hba;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{FixPlan, Section, Severity};
use crate::model::snapshot::{HbaRule, Snapshot};
use crate::policy::Policy;

pub static NO_WEAK_METHODS: Check = Check {
    id: "AUTH-004",
    section: Section::Transit,
    title: "No pg_hba rule uses password, md5 or ident",
    severity: Severity::High,
    hipaa: &["164.312(d)", "164.312(e)(2)(ii)"],
    cis: None,
    rationale: "`password` sends the password in clear text; `md5` accepts replayable md5 \
        verifiers (AUTH-002); `ident` over TCP believes whatever the client's ident daemon \
        says. Each weakens person authentication for PHI access, so high. `ident` on a \
        local line is peer authentication (PostgreSQL converts it) and is not counted.",
    reproduce_sql: "SELECT line_number, type, database, user_name, address, netmask, auth_method \
        FROM pg_hba_file_rules WHERE auth_method IN ('password', 'md5', 'ident') ORDER BY line_number;",
    evaluate: |s, p| settle(no_weak_methods(s, p)),
    fix: Fix::Build(no_weak_methods_plan),
};

fn is_weak_method(rule: &HbaRule) -> bool {
    match hba::method(rule) {
        "password" | "md5" => true,
        "ident" => hba::is_network(rule),
        _ => false,
    }
}

fn no_weak_methods(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let rules = hba::rules(s)?;
    let picked = reachable_rules(rules, is_weak_method);
    Ok(rule_verdict(rules, &picked, "use password, md5 or ident"))
}

fn no_weak_methods_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    method_plan(
        s,
        verdict,
        "AUTH-004",
        scram,
        "replaces password, md5 and ident with scram-sha-256",
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::{hba_case, NET};
    use crate::checks::testkit::hba;
    vec![hba_case(
        "AUTH-004",
        hba(3, "hostssl", "all", "all", NET, "md5"),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::hba;
    use crate::checks::transit::fixtures::*;
    use crate::model::finding::Status;

    #[test]
    fn local_ident_is_peer_and_not_weak() {
        let s = rules(vec![hba(1, "local", "all", "all", None, "ident")]);
        assert_eq!(run(&NO_WEAK_METHODS, &s).status, Status::Pass);
        let tcp = rules(vec![hba(1, "hostssl", "all", "all", NET, "ident")]);
        assert_eq!(run(&NO_WEAK_METHODS, &tcp).status, Status::Fail);
    }

    #[test]
    fn method_plans_drop_options_the_new_method_refuses() {
        let s = rules(vec![with_option(
            hba(1, "hostssl", "all", "all", NET, "ident"),
            "map=ops",
        )]);
        let v = run(&NO_WEAK_METHODS, &s);
        let plan = NO_WEAK_METHODS.plan(&s, &v);
        let lines = plan.config_edit.unwrap_or_default().lines;
        assert!(lines.contains(&"hostssl all all 10.0.0.0/8 scram-sha-256".to_string()));
        assert!(lines
            .iter()
            .any(|l| l.starts_with("# AUTH-004 changed line 1")));
    }
}

//! AUTH-011: whether a login role without a password is reached only by pg_hba
//! lines that ask for one, leaving it an account nobody can use.

use super::{named_roles, password_kinds, role_plan, roles};
use crate::checks::facts::{listing, settle};
use crate::checks::hba::{self, Groups, Who};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{FixPlan, Section, Severity};
use crate::model::snapshot::{HbaRule, PasswordKind, Role, Snapshot};
use crate::model::statement::{RoleOption, Statement};
use crate::policy::Policy;

pub static PASSWORDLESS_LOGINS: Check = Check {
    id: "AUTH-011",
    section: Section::Transit,
    title: "No login role without a password depends on password rules",
    severity: Severity::Low,
    hipaa: &["164.312(d)"],
    cis: None,
    rationale: "A login role with no password cannot pass a password, md5 or scram-sha-256 \
        line. If every pg_hba line that reaches it asks for a password, the role is an \
        enabled account with no working credential: a stale login that invites someone to \
        'fix' it with trust. Roles that another line authenticates (peer, cert, gss, ldap …) \
        are fine, like the bootstrap superuser on peer. Account hygiene rather than an \
        opening, so low.",
    reproduce_sql: "SELECT rolname FROM pg_authid WHERE rolcanlogin AND rolpassword IS NULL; \
        SELECT line_number, type, database, user_name, address, auth_method \
        FROM pg_hba_file_rules ORDER BY line_number;",
    evaluate: |s, p| settle(passwordless_logins(s, p)),
    fix: Fix::Build(passwordless_plan),
};

/// What the rules that can reach one role ask of it.
#[derive(Default)]
struct RuleMix {
    password: bool,
    other: bool,
    undecided: bool,
}

fn rule_mix(rules: &[HbaRule], role: &str, groups: &Groups) -> RuleMix {
    let mut mix = RuleMix::default();
    let who = Who::Role(role, groups);
    for (i, rule) in rules.iter().enumerate() {
        if !hba::admits(rule) {
            continue;
        }
        match hba::user_matches(&rule.user_name, role, groups) {
            Some(true) if !hba::shadowed(rules, i, hba::kinds(rule), &who) => {
                if hba::PASSWORD_METHODS.contains(&hba::method(rule)) {
                    mix.password = true;
                } else {
                    mix.other = true;
                }
            }
            None => mix.undecided = true,
            _ => {}
        }
    }
    mix
}

fn passwordless_logins(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let rules = hba::rules(s)?;
    let kinds = password_kinds(s)?;
    let roles = roles(s)?;
    let groups = Groups::new(s.memberships.as_deref());
    let mut stranded = Vec::new();
    let mut undecided = Vec::new();
    let passwordless: Vec<&Role> = roles
        .iter()
        .filter(|r| r.can_login && kinds.get(&r.name) == Some(&PasswordKind::None))
        .collect();
    for role in &passwordless {
        let mix = rule_mix(rules, &role.name, &groups);
        if mix.password && !mix.other {
            if mix.undecided {
                undecided.push(role.name.clone());
            } else {
                stranded.push(role.name.clone());
            }
        }
    }
    if !stranded.is_empty() {
        return Ok(Verdict::fail(format!(
            "{} login role(s) without a password meet only password rules: {}",
            stranded.len(),
            listing(&stranded)
        ))
        .with_objects(stranded));
    }
    if !undecided.is_empty() {
        return Err(Verdict::unknown(
            format!(
                "role memberships were not collected, so +group lines cannot be resolved for: {}",
                listing(&undecided)
            ),
            None,
        ));
    }
    Ok(Verdict::pass(format!(
        "{} login role(s) without a password; each is served by a non-password rule or by none",
        passwordless.len()
    )))
}

fn passwordless_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let names: Vec<String> = named_roles(s, verdict)
        .iter()
        .map(|r| r.name.clone())
        .collect();
    role_plan(
        names
            .iter()
            .map(|r| Statement::alter_role(r, RoleOption::Login(false)))
            .collect(),
        names
            .iter()
            .map(|r| Statement::alter_role(r, RoleOption::Login(true)))
            .collect(),
        "disables login for roles that cannot authenticate; if a role is in use, give it a \
         password from psql (\\password) instead",
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::{add_role, hardened, rules, NET};
    use crate::checks::testkit::{hba, role, Case};
    let mut stranded = rules(vec![hba(1, "hostssl", "all", "all", NET, "scram-sha-256")]);
    add_role(
        &mut stranded,
        role("app", |r| r.can_login = true),
        PasswordKind::None,
    );
    vec![Case::new("AUTH-011", rules(hardened()), stranded)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::hba;
    use crate::checks::transit::fixtures::*;
    use crate::model::finding::Status;

    #[test]
    fn passwordless_roles_served_by_peer_or_cert_are_fine() {
        let mut s = rules(vec![
            hba(1, "local", "all", "postgres", None, "peer"),
            hba(2, "hostssl", "all", "all", NET, "scram-sha-256"),
        ]);
        if let Some(k) = s.password_kinds.as_mut() {
            k.insert("postgres".into(), PasswordKind::None);
        }
        assert_eq!(run(&PASSWORDLESS_LOGINS, &s).status, Status::Pass);
    }
}

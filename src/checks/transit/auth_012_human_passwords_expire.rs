//! AUTH-012: whether personal login roles have a password expiry (VALID UNTIL).

use super::{is_human, named_roles, role_plan, roles};
use crate::checks::facts::{listing, parse_instant, settle};
use crate::checks::managed;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{FixPlan, Section, Severity};
use crate::model::snapshot::{Role, Snapshot};
use crate::model::statement::{RoleOption, Statement};
use crate::policy::Policy;

pub static HUMAN_PASSWORDS_EXPIRE: Check = Check {
    id: "AUTH-012",
    section: Section::Transit,
    title: "Personal login roles have a password expiry",
    severity: Severity::Low,
    hipaa: &["164.308(a)(5)(ii)(D)"],
    cis: None,
    rationale: "Password management calls for credentials that do not live forever: a \
        personal login with VALID UNTIL unset or 'infinity' keeps a leaked password useful \
        indefinitely. Personal means a login role that is not a policy service account and \
        not the bootstrap superuser; without a policy file every other login counts. VALID \
        UNTIL governs passwords only (not peer or cert). A procedural control, so low.",
    reproduce_sql: "SELECT rolname, rolvaliduntil FROM pg_roles WHERE rolcanlogin \
        AND (rolvaliduntil IS NULL OR rolvaliduntil = 'infinity') ORDER BY 1;",
    evaluate: |s, p| settle(human_passwords_expire(s, p)),
    fix: Fix::Build(password_expiry_plan),
};

const EXPIRY_DAYS: i64 = 90;

fn never_expires(role: &Role) -> bool {
    role.valid_until
        .as_deref()
        .is_none_or(|v| v.eq_ignore_ascii_case("infinity"))
}

fn human_passwords_expire(s: &Snapshot, policy: &Policy) -> Result<Verdict, Verdict> {
    let roles = roles(s)?;
    let provider = managed::detect(s);
    let humans: Vec<&Role> = roles
        .iter()
        .filter(|r| is_human(r, policy, provider))
        .collect();
    let open: Vec<String> = humans
        .iter()
        .filter(|r| never_expires(r))
        .map(|r| r.name.clone())
        .collect();
    let scope = format!(
        "{} personal login role(s) (service accounts from the policy: {})",
        humans.len(),
        policy.service_accounts.len()
    );
    Ok(if open.is_empty() {
        Verdict::pass(format!("{scope}; each has VALID UNTIL set"))
    } else {
        Verdict::fail(format!("{scope}; without expiry: {}", listing(&open))).with_objects(open)
    })
}

fn password_expiry_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let until = parse_instant(&s.collected_at)
        .map(|t| (t + time::Duration::days(EXPIRY_DAYS)).date().to_string());
    let Some(until) = until else {
        return role_plan(
            Vec::new(),
            Vec::new(),
            "set VALID UNTIL on each listed role",
        );
    };
    let names: Vec<String> = named_roles(s, verdict)
        .iter()
        .map(|r| r.name.clone())
        .collect();
    role_plan(
        names
            .iter()
            .map(|r| Statement::alter_role(r, RoleOption::ValidUntil(until.clone())))
            .collect(),
        names
            .iter()
            .map(|r| Statement::alter_role(r, RoleOption::ValidUntil("infinity".into())))
            .collect(),
        &format!(
            "passwords expire {EXPIRY_DAYS} days after the scan; set up a renewal routine so \
             people change them before that date"
        ),
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::person;
    use crate::checks::testkit::{base, Case};
    let mut expiring = base();
    person(&mut expiring, "alice", |r| {
        r.valid_until = Some("2027-01-01 00:00:00+00".into())
    });
    let mut forever = base();
    person(&mut forever, "alice", |_| {});
    vec![Case::new("AUTH-012", expiring, forever)]
}

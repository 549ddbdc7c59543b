//! Guide section 4: least privilege and row-level security (PRIV-*).

use super::facts::part_missing;
use super::{Check, Fix, Verdict};
use crate::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::policy::Policy;
use crate::snapshot::Snapshot;
use postgres_protocol::escape::escape_identifier;

pub static CHECKS: &[&Check] = &[&SUPERUSERS_APPROVED];

/// The bootstrap superuser always has oid 10.
const BOOTSTRAP_ROLE_OID: u32 = 10;

pub static SUPERUSERS_APPROVED: Check = Check {
    id: "PRIV-001",
    section: Section::Access,
    title: "Only approved administrators are superusers",
    severity: Severity::Critical,
    hipaa: &["164.308(a)(4)(ii)(B)", "164.312(a)(1)"],
    cis: Some("4.3"),
    rationale: "A superuser bypasses every grant and row-level policy and can read any PHI \
        table, change audit settings and run programs on the host. An application or \
        person holding it unnecessarily is the widest possible exposure, so critical. \
        Without a policy file only the bootstrap superuser counts as approved.",
    reproduce_sql: "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolsuper ORDER BY 1;",
    evaluate: superusers_approved,
    fix: Fix::Build(revoke_superuser),
};

fn superusers_approved(s: &Snapshot, policy: &Policy) -> Verdict {
    let Some(roles) = &s.roles else {
        return part_missing(s, "roles", "GRANT pg_read_all_settings TO scanner".into());
    };
    let bootstrap = roles
        .iter()
        .find(|r| r.oid == BOOTSTRAP_ROLE_OID)
        .map(|r| r.name.as_str())
        .unwrap_or("postgres");
    let supers: Vec<&str> = roles
        .iter()
        .filter(|r| r.superuser)
        .map(|r| r.name.as_str())
        .collect();
    let unapproved: Vec<String> = supers
        .iter()
        .filter(|r| !policy.is_approved_superuser(r, bootstrap))
        .map(|r| (*r).to_string())
        .collect();
    let seen = format!(
        "{} superuser role(s): {}; approved: {bootstrap}{}",
        supers.len(),
        supers.join(", "),
        policy
            .approved_superusers
            .iter()
            .map(|r| format!(", {r}"))
            .collect::<String>()
    );
    if unapproved.is_empty() {
        Verdict::pass(seen)
    } else {
        Verdict::fail(format!("{seen}; not approved: {}", unapproved.join(", ")))
            .with_objects(unapproved)
    }
}

fn revoke_superuser(_: &Snapshot, verdict: &Verdict) -> FixPlan {
    let roles: Vec<String> = verdict.objects.iter().map(|r| escape_identifier(r)).collect();
    FixPlan {
        apply: vec![ApplyClass::Immediate],
        statements: roles
            .iter()
            .map(|r| format!("ALTER ROLE {r} NOSUPERUSER"))
            .collect(),
        rollback: roles
            .iter()
            .map(|r| format!("ALTER ROLE {r} SUPERUSER"))
            .collect(),
        needs: "superuser".into(),
        note: "grant the role only the table privileges its work needs before removing SUPERUSER"
            .into(),
        ..FixPlan::default()
    }
}

#[cfg(test)]
pub fn cases() -> Vec<super::testkit::Case> {
    use super::testkit::{base, role, Case};
    let good = base();
    let mut bad = base();
    if let Some(roles) = bad.roles.as_mut() {
        roles.push(role("app", |r| {
            r.superuser = true;
            r.can_login = true;
        }));
    }
    vec![Case::new("PRIV-001", good, bad)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Status;

    #[test]
    fn policy_can_approve_a_second_superuser() {
        let mut s = super::super::testkit::base();
        if let Some(roles) = s.roles.as_mut() {
            roles.push(super::super::testkit::role("dba_alice", |r| r.superuser = true));
        }
        let policy = Policy {
            approved_superusers: vec!["dba_alice".into()],
            ..Policy::default()
        };
        assert_eq!(superusers_approved(&s, &policy).status, Status::Pass);
        let v = superusers_approved(&s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.objects, vec!["dba_alice".to_string()]);
        let plan = revoke_superuser(&s, &v);
        assert_eq!(plan.statements, vec!["ALTER ROLE \"dba_alice\" NOSUPERUSER"]);
    }
}

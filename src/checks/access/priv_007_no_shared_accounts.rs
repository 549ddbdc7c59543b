//! PRIV-007: each login belongs to one person: no generic names outside the
//! service accounts, no role in use from many addresses at once.

use super::approved::Approved;
use super::role_fixes::{attribute_plan, LOGIN};
use super::{need_roles, sorted};
use crate::checks::facts::{part_missing, sample, scanner_role};
use crate::checks::phi;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{FixPlan, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;
use postgres_protocol::escape::escape_identifier;
use std::collections::{BTreeMap, BTreeSet};

/// Words that name a function or a team rather than a person.
const GENERIC_WORDS: &[&str] = &[
    "admin",
    "administrator",
    "anon",
    "anonymous",
    "api",
    "app",
    "application",
    "backup",
    "common",
    "db",
    "dba",
    "default",
    "demo",
    "dev",
    "developer",
    "generic",
    "guest",
    "login",
    "ops",
    "public",
    "readonly",
    "readwrite",
    "report",
    "reporting",
    "reports",
    "ro",
    "root",
    "rw",
    "sa",
    "service",
    "shared",
    "staff",
    "support",
    "svc",
    "team",
    "temp",
    "test",
    "tester",
    "testing",
    "tmp",
    "user",
    "users",
    "web",
];

/// Distinct client addresses from which one role counts as shared.
const SHARED_ADDRESSES: usize = 3;

pub static NO_SHARED_ACCOUNTS: Check = Check {
    id: "PRIV-007",
    section: Section::Access,
    title: "Each person logs in with their own role",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(2)(i)"],
    cis: None,
    rationale: "HIPAA requires a unique user identification: audit records are only evidence \
        when each login belongs to one person. A login named only with generic words (app, \
        admin, test, readonly, shared_user …) is a shared account unless the policy lists it \
        in service_accounts, so it fails; the bootstrap superuser is exempt (PRIV-001). A \
        non-service login seen in current sessions from 3 or more distinct client addresses \
        is probably shared: that is a warning, since one person may use several machines. \
        Medium: it weakens accountability rather than exposing PHI by itself.",
    reproduce_sql: "SELECT rolname FROM pg_roles WHERE rolcanlogin ORDER BY 1;\nSELECT usename, \
        count(DISTINCT client_addr) AS addresses FROM pg_stat_activity WHERE client_addr IS \
        NOT NULL GROUP BY 1 ORDER BY 2 DESC;",
    evaluate: no_shared_accounts,
    fix: Fix::Build(disable_shared_logins),
};

fn no_shared_accounts(s: &Snapshot, policy: &Policy) -> Verdict {
    let roles = match need_roles(s) {
        Ok(r) => r,
        Err(v) => return v,
    };
    let approved = Approved::new(s, roles, policy);
    let is_service = |name: &str| policy.service_accounts.iter().any(|a| a == name);
    let generic: Vec<String> = sorted(
        roles
            .iter()
            .filter(|r| r.can_login && r.name != approved.bootstrap && !is_service(&r.name))
            .filter(|r| is_generic_name(&r.name))
            .map(|r| r.name.clone()),
    );
    let shared = s.sessions.as_deref().map(|sessions| {
        let mut addresses: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for session in sessions.iter().filter(|x| !x.is_self) {
            if let (Some(user), Some(addr)) = (&session.usename, &session.client_addr) {
                addresses.entry(user).or_default().insert(addr);
            }
        }
        addresses
            .into_iter()
            .filter(|(user, addrs)| addrs.len() >= SHARED_ADDRESSES && !is_service(user))
            .map(|(user, addrs)| (user.to_string(), addrs.len()))
            .collect::<Vec<_>>()
    });
    let shared_text = |list: &[(String, usize)]| -> String {
        let shown: Vec<String> = list
            .iter()
            .map(|(u, n)| format!("{u} from {n} addresses"))
            .collect();
        sample(&shown)
    };
    let logins = roles.iter().filter(|r| r.can_login).count();
    if !generic.is_empty() {
        let mut text = format!(
            "{} of {logins} login role(s) have generic names and are not listed as service \
             accounts: {}",
            generic.len(),
            sample(&generic)
        );
        if let Some(list) = shared.as_deref().filter(|l| !l.is_empty()) {
            text.push_str(&format!(
                "; seen from many addresses: {}",
                shared_text(list)
            ));
        }
        return Verdict::fail(text).with_objects(generic);
    }
    match shared {
        None => part_missing(
            s,
            "sessions",
            format!(
                "GRANT pg_read_all_stats TO {}",
                escape_identifier(&scanner_role(s))
            ),
        ),
        Some(list) if !list.is_empty() => Verdict::warn(format!(
            "no generic login names; current sessions show non-service role(s) used from \
             {SHARED_ADDRESSES} or more client addresses: {}",
            shared_text(&list)
        ))
        .with_objects(list.into_iter().map(|(u, _)| u)),
        Some(_) => Verdict::pass(format!(
            "{logins} login role(s), none with a generic name outside the service accounts; \
             no role seen from {SHARED_ADDRESSES} or more client addresses in current sessions"
        )),
    }
}

/// A name made only of generic words (and numbers), e.g. `app_user2`.
fn is_generic_name(name: &str) -> bool {
    let mut any_generic = false;
    for word in phi::words(name) {
        if word.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if !GENERIC_WORDS.iter().any(|g| word.eq_ignore_ascii_case(g)) {
            return false;
        }
        any_generic = true;
    }
    any_generic
}

fn disable_shared_logins(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    attribute_plan(
        s,
        verdict,
        &[LOGIN],
        "first create one LOGIN role per person and GRANT the shared role to each, so the \
         shared role becomes a NOLOGIN group; software accounts belong in the policy's \
         service_accounts instead",
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::*;
    use crate::checks::testkit::Case;

    vec![Case::new(
        "PRIV-007",
        with_role(login("alice.smith")),
        with_role(login("app_user")),
    )]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::checks::testkit::base;
    use crate::model::finding::Status;

    #[test]
    fn generic_names_and_shared_sessions() {
        for name in ["app", "app_user", "test1", "READONLY", "shared-svc"] {
            assert!(is_generic_name(name), "{name}");
        }
        for name in ["alice", "alice_admin", "dr_smith", "", "42"] {
            assert!(!is_generic_name(name), "{name}");
        }
        let mut s = base();
        add_roles(&mut s, vec![login("app"), login("bob")]);
        let service = Policy {
            service_accounts: vec!["app".into()],
            ..Policy::default()
        };
        assert_eq!(eval(&NO_SHARED_ACCOUNTS, &s, &service).status, Status::Pass);
        let session = |addr: &str| crate::model::snapshot::Session {
            usename: Some("bob".into()),
            client_addr: Some(addr.into()),
            ..crate::model::snapshot::Session::default()
        };
        s.sessions = Some(vec![
            session("10.0.0.1"),
            session("10.0.0.2"),
            session("10.0.0.2"),
        ]);
        assert_eq!(eval(&NO_SHARED_ACCOUNTS, &s, &service).status, Status::Pass);
        s.sessions
            .get_or_insert_with(Vec::new)
            .push(session("10.0.0.3"));
        let v = eval(&NO_SHARED_ACCOUNTS, &s, &service);
        assert_eq!(v.status, Status::Warn);
        assert_eq!(v.objects, vec!["bob".to_string()]);
    }
}

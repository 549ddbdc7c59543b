//! PRIV-008: a person reviews the logins for the inactivity period (always
//! manual: last login times are only in the server's logs).

use super::{none_if_empty, sorted};
use crate::checks::facts::sample;
use crate::checks::managed;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static INACTIVE_LOGINS_REVIEWED: Check = Check {
    id: "PRIV-008",
    section: Section::Access,
    title: "Logins unused for the inactivity period are disabled",
    severity: Severity::Medium,
    hipaa: &["164.308(a)(3)(ii)(C)"],
    cis: Some("4.4"),
    rationale: "Accounts of people who left or changed duties must stop working. PostgreSQL \
        keeps no last-login time in its catalogs: it is only in the connection logs \
        (log_connections), which the scanner does not read. So this check is always manual: \
        a person compares the login roles listed here with the logs over the policy's \
        inactivity_days (90 when the policy does not say) and attests. Medium: stale \
        accounts are an entry point, not an exposure by themselves.",
    reproduce_sql: "SELECT rolname, rolvaliduntil FROM pg_roles WHERE rolcanlogin ORDER BY 1;",
    evaluate: inactive_logins_reviewed,
    fix: Fix::Instructions {
        apply: &[ApplyClass::Manual, ApplyClass::Immediate],
        note: "search the connection logs (log_connections = on) for each login role; for \
            every role without a connection in the inactivity period run \
            ALTER ROLE <role> NOLOGIN (undo: ALTER ROLE <role> LOGIN), then attest the review",
    },
};

/// Days of inactivity used when the policy does not state them.
const DEFAULT_INACTIVITY_DAYS: u32 = 90;

fn inactive_logins_reviewed(s: &Snapshot, policy: &Policy) -> Verdict {
    let days = policy.inactivity_days.unwrap_or(DEFAULT_INACTIVITY_DAYS);
    let provider = managed::detect(s);
    let logins = s.roles.as_deref().map(|roles| {
        sorted(
            roles
                .iter()
                .filter(|r| r.can_login && !managed::owned_by_provider(provider, &r.name))
                .map(|r| r.name.clone()),
        )
    });
    match logins {
        Some(list) => Verdict::manual(format!(
            "last login times are only in the connection logs, which the scanner does not \
             read: review {} login role(s) for {days} days of inactivity: {}",
            list.len(),
            none_if_empty(&sample(&list))
        ))
        .with_objects(list),
        None => Verdict::manual(format!(
            "last login times are only in the connection logs, which the scanner does not \
             read; roles were not collected either: review every login role for {days} days \
             of inactivity"
        )),
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::*;
    use crate::checks::testkit::Case;

    // Manual without an attestation, attested with one.
    vec![Case::attestation(
        "PRIV-008",
        with_role(login("alice")),
        with_role(login("alice")),
    )]
}

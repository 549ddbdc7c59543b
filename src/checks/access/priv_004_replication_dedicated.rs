//! PRIV-004: replication runs through one dedicated login, over TLS, from
//! named addresses.

use super::approved::Approved;
use super::role_fixes::{attribute_plan, REPLICATION};
use super::{need_roles, none_if_empty, sorted};
use crate::checks::facts::{self, sample};
use crate::checks::hba;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{FixPlan, Section, Severity};
use crate::model::snapshot::{HbaRule, Snapshot};
use crate::policy::Policy;

pub static REPLICATION_DEDICATED: Check = Check {
    id: "PRIV-004",
    section: Section::Access,
    title: "Replication uses one dedicated role over TLS from specific addresses",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(1)"],
    cis: Some("7.1"),
    rationale: "A replication connection streams every page of the cluster, PHI included, so \
        the attribute belongs to one dedicated, non-superuser login whose credential is used \
        only by standbys and backup tools, reachable only over hostssl from named addresses. \
        Medium: it matters once a credential or network path is compromised. Decisions: \
        superusers can always replicate and are PRIV-001's concern, so they are not counted; \
        NOLOGIN roles with REPLICATION are inert (attributes are never inherited) and are \
        ignored; roles in the policy's approved_admins do not count against the limit of one; \
        pg_hba lines for the `replication` database must be hostssl (or hostgssenc) with an \
        address narrower than everywhere.",
    reproduce_sql: "SELECT rolname, rolsuper, rolcanlogin FROM pg_roles WHERE rolreplication \
        ORDER BY 1;\nSELECT line_number, type, database, user_name, address, netmask, auth_method \
        FROM pg_hba_file_rules WHERE 'replication' = ANY(database) ORDER BY line_number;",
    evaluate: replication_dedicated,
    fix: Fix::Build(revoke_replication),
};

fn replication_dedicated(s: &Snapshot, policy: &Policy) -> Verdict {
    let roles = match need_roles(s) {
        Ok(r) => r,
        Err(v) => return v,
    };
    let approved = Approved::new(s, roles, policy);
    let dedicated: Vec<String> = sorted(
        roles
            .iter()
            .filter(|r| r.replication && r.can_login && !r.superuser)
            .map(|r| r.name.clone()),
    );
    let unapproved: Vec<String> = dedicated
        .iter()
        .filter(|r| !approved.admin(r))
        .cloned()
        .collect();
    let mut seen = format!(
        "{} non-superuser login role(s) with REPLICATION: {}",
        dedicated.len(),
        none_if_empty(&sample(&dedicated))
    );
    let mut objects: Vec<String> = Vec::new();
    if unapproved.len() > 1 {
        seen.push_str(&format!(
            "; {} are not approved administrators, at most one dedicated role is expected",
            unapproved.len()
        ));
        objects.extend(unapproved);
    }
    match hba::rules(s) {
        Ok(rules) => {
            let broad = broad_replication_rules(rules);
            if broad.is_empty() {
                seen.push_str("; pg_hba replication lines are encrypted and address-specific");
            } else {
                let shown: Vec<String> = broad.iter().map(|(_, d)| d.clone()).collect();
                seen.push_str(&format!(
                    "; pg_hba replication lines without TLS or open to every address: {}",
                    sample(&shown)
                ));
                objects.extend(broad.into_iter().map(|(key, _)| key));
            }
        }
        Err(absent) if facts::is_not_applicable(&absent) => {
            seen.push_str(&format!("; {}", absent.evidence));
        }
        Err(unknown) if objects.is_empty() => return unknown,
        Err(_) => seen.push_str("; pg_hba rules were not collected"),
    }
    if objects.is_empty() {
        Verdict::pass(seen)
    } else {
        Verdict::fail(seen).with_objects(objects)
    }
}

/// Loaded, non-reject pg_hba lines for physical replication that accept
/// unencrypted TCP or every client address, as `(key, display)`.
fn broad_replication_rules(rules: &[HbaRule]) -> Vec<(String, String)> {
    let mut broad: Vec<(String, String)> = rules
        .iter()
        .filter(|r| hba::admits(r) && hba::is_network(r))
        .filter(|r| r.database.iter().any(|d| d == "replication"))
        .filter(|r| hba::kinds(r) & hba::PLAIN != 0 || hba::is_anywhere(r))
        .map(|r| (hba_key(r), hba::display(r)))
        .collect();
    broad.sort();
    broad
}

fn hba_key(rule: &HbaRule) -> String {
    let file = rule
        .file_name
        .as_deref()
        .and_then(|f| f.rsplit('/').next())
        .unwrap_or("pg_hba.conf");
    format!("{file}:{}", rule.line_number)
}

fn revoke_replication(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let mut plan = attribute_plan(
        s,
        verdict,
        &[REPLICATION],
        "this removes REPLICATION from every listed role: first choose the one dedicated \
         replication role, delete its statement or add it to approved_admins in the policy; \
         pg_hba lines listed in the evidence need `hostssl` and a specific address",
    );
    plan.needs = "superuser".into();
    plan
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::*;
    use crate::checks::testkit::{hba, role, Case};

    let replicator = |name: &str| {
        role(name, |r| {
            r.can_login = true;
            r.replication = true;
        })
    };
    let mut good = with_role(replicator("replicator"));
    good.hba_rules = Some(vec![hba(
        1,
        "hostssl",
        "replication",
        "replicator",
        Some(("10.0.0.5", "255.255.255.255")),
        "scram-sha-256",
    )]);
    let mut bad = good.clone();
    add_roles(&mut bad, vec![replicator("app")]);
    vec![Case::new("PRIV-004", good, bad)]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::checks::testkit::{base, hba, role};
    use crate::model::finding::Status;

    #[test]
    fn replication_rules_reject_lines_and_netmasks() {
        let mut s = base();
        add_roles(
            &mut s,
            vec![role("replicator", |r| {
                r.can_login = true;
                r.replication = true;
            })],
        );
        // A reject line is protective; a local line is not network-reachable.
        s.hba_rules = Some(vec![
            hba(
                1,
                "host",
                "replication",
                "all",
                Some(("0.0.0.0", "0.0.0.0")),
                "reject",
            ),
            hba(2, "local", "replication", "all", None, "peer"),
            hba(
                3,
                "hostssl",
                "replication",
                "replicator",
                Some(("10.1.2.3", "255.255.255.255")),
                "scram-sha-256",
            ),
        ]);
        assert_eq!(status(&REPLICATION_DEDICATED, &s), Status::Pass);
        // 0.0.0.0 with netmask 0.0.0.0 is everywhere, even over TLS.
        s.hba_rules = Some(vec![hba(
            4,
            "hostssl",
            "replication",
            "replicator",
            Some(("0.0.0.0", "0.0.0.0")),
            "scram-sha-256",
        )]);
        let v = eval(&REPLICATION_DEDICATED, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.objects, vec!["pg_hba.conf:4".to_string()]);
        // `all` in the database column does not match replication connections.
        s.hba_rules = Some(vec![hba(
            5,
            "host",
            "all",
            "all",
            Some(("0.0.0.0", "0.0.0.0")),
            "scram-sha-256",
        )]);
        assert_eq!(status(&REPLICATION_DEDICATED, &s), Status::Pass);
        // Superusers and NOLOGIN roles do not count; approved admins do not count.
        add_roles(
            &mut s,
            vec![
                role("old_repl", |r| r.replication = true),
                role("barman", |r| {
                    r.can_login = true;
                    r.replication = true;
                }),
            ],
        );
        assert_eq!(status(&REPLICATION_DEDICATED, &s), Status::Fail);
        let policy = Policy {
            approved_admins: vec!["barman".into()],
            ..Policy::default()
        };
        assert_eq!(
            eval(&REPLICATION_DEDICATED, &s, &policy).status,
            Status::Pass
        );
    }
}

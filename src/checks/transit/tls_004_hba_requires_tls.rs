//! TLS-004: whether a reachable pg_hba line takes TCP connections without TLS;
//! the fix makes those lines hostssl.

use super::hba_lines::flagged_rules;
use crate::checks::facts::{listing, settle};
use crate::checks::hba::{self, Line, Who};
use crate::checks::{Check, Fix, Prerequisites, Verdict};
use crate::model::finding::{FixPlan, Section, Severity};
use crate::model::snapshot::{HbaRule, Snapshot};
use crate::policy::Policy;

pub static HBA_REQUIRES_TLS: Check = Check {
    id: "TLS-004",
    section: Section::Transit,
    title: "pg_hba admits TCP connections only over TLS",
    severity: Severity::High,
    hipaa: &["164.312(e)(1)"],
    cis: None,
    rationale: "A `host`, `hostnossl` or `hostnogssenc` line lets a client connect without \
        encryption even when the server offers TLS, so PHI can cross the network in clear \
        text: high. pg_hba is first match wins, so a line that an earlier `hostnossl … \
        reject` already covers is not counted, and `reject` lines never are. Loopback lines \
        (127.0.0.0/8, ::1, samehost, localhost) never leave the machine: without a policy \
        they give `warn`; `allow_loopback_without_tls` in the policy accepts (true) or \
        forbids (false) them.",
    reproduce_sql: "SELECT line_number, type, database, user_name, address, netmask, auth_method \
        FROM pg_hba_file_rules WHERE type IN ('host', 'hostnossl', 'hostnogssenc') \
        AND auth_method <> 'reject' ORDER BY line_number;",
    evaluate: |s, p| settle(hba_requires_tls(s, p)),
    fix: Fix::After(
        Prerequisites {
            needs_first: &["TLS-001"],
            restart_between: false,
            needs_input: None,
        },
        &Fix::Build(require_tls_plan),
    ),
};

/// Rules that would take a plaintext TCP connection.
fn plaintext_rules(rules: &[HbaRule]) -> Vec<usize> {
    (0..rules.len())
        .filter(|&i| {
            hba::admits(&rules[i])
                && hba::kinds(&rules[i]) & hba::PLAIN != 0
                && !hba::shadowed(rules, i, hba::PLAIN, &Who::Anyone)
        })
        .collect()
}

fn hba_requires_tls(s: &Snapshot, policy: &Policy) -> Result<Verdict, Verdict> {
    let rules = hba::rules(s)?;
    let (loopback, remote): (Vec<usize>, Vec<usize>) = plaintext_rules(rules)
        .into_iter()
        .partition(|&i| hba::is_loopback(&rules[i]));
    let shown =
        |ix: &[usize]| -> Vec<String> { ix.iter().map(|&i| hba::display(&rules[i])).collect() };
    let allow_loopback = policy.allow_loopback_without_tls;
    let mut flagged = shown(&remote);
    if allow_loopback == Some(false) {
        flagged.extend(shown(&loopback));
    }
    if !flagged.is_empty() {
        return Ok(Verdict::fail(format!(
            "{} pg_hba rule(s) accept TCP connections without TLS: {}",
            flagged.len(),
            listing(&flagged)
        ))
        .with_objects(flagged));
    }
    let loopback = shown(&loopback);
    Ok(match (loopback.is_empty(), allow_loopback) {
        (true, _) => Verdict::pass(format!(
            "{} pg_hba rule(s) read; none admits a TCP connection without TLS",
            rules.len()
        )),
        (false, Some(true)) => Verdict::pass(format!(
            "only loopback rules admit connections without TLS, as the policy allows: {}",
            listing(&loopback)
        )),
        (false, _) => Verdict::warn(format!(
            "only loopback rules admit connections without TLS: {}; loopback traffic stays on \
             the host; set allow_loopback_without_tls in the policy to accept or forbid this",
            listing(&loopback)
        ))
        .with_objects(loopback),
    })
}

fn require_tls_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let rules = s.hba_rules.as_deref().unwrap_or(&[]);
    let flagged = flagged_rules(rules, verdict);
    // The catch-all reject goes below the plaintext lines that stay (allowed
    // loopback lines), else at the top of the TCP rules.
    let kept_plaintext = plaintext_rules(rules)
        .into_iter()
        .filter(|i| !flagged.contains(i))
        .max();
    let insert_at = kept_plaintext
        .map(|i| i + 1)
        .or_else(|| rules.iter().position(hba::is_network))
        .unwrap_or(rules.len());
    let mut inserted = false;
    let reject = || {
        vec![
            Line::Text("# TLS-004: refuse every TCP connection without TLS".into()),
            Line::Text("hostnossl all all all reject".into()),
        ]
    };
    let mut proposal = hba::propose(s, "TLS-004", |i, rule| {
        let mut out = Vec::new();
        if !inserted && i >= insert_at {
            inserted = true;
            out.extend(reject());
        }
        if flagged.contains(&i) {
            let mut new = rule.clone();
            new.conn_type = Some("hostssl".into());
            out.extend(hba::changed("TLS-004", rule, new));
        } else {
            out.extend(hba::keep(rule));
        }
        out
    });
    if !inserted {
        proposal
            .lines
            .push("# TLS-004: refuse every TCP connection without TLS".into());
        proposal.lines.push("hostnossl all all all reject".into());
    }
    hba::plan(
        s,
        proposal,
        "rewrites the listed lines as hostssl and adds `hostnossl all all all reject`; clients \
         must then connect with sslmode=verify-full (or at least require)",
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::{hba_case, NET};
    use crate::checks::testkit::hba;
    vec![hba_case(
        "TLS-004",
        hba(3, "host", "all", "all", NET, "scram-sha-256"),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::{hba, set};
    use crate::checks::transit::fixtures::*;
    use crate::model::finding::{ApplyClass, Status};

    #[test]
    fn host_line_behind_a_hostnossl_reject_is_not_plaintext() {
        let s = rules(vec![
            hba(1, "hostnossl", "all", "all", ANYWHERE, "reject"),
            hba(2, "host", "clinic", "app", NET, "scram-sha-256"),
        ]);
        assert_eq!(run(&HBA_REQUIRES_TLS, &s).status, Status::Pass);
        let after = rules(vec![
            hba(1, "host", "clinic", "app", NET, "scram-sha-256"),
            hba(2, "hostnossl", "all", "all", ANYWHERE, "reject"),
        ]);
        assert_eq!(run(&HBA_REQUIRES_TLS, &after).status, Status::Fail);
        let nogss = rules(vec![hba(
            1,
            "hostnogssenc",
            "all",
            "app",
            NET,
            "scram-sha-256",
        )]);
        assert_eq!(run(&HBA_REQUIRES_TLS, &nogss).status, Status::Fail);
    }

    #[test]
    fn loopback_plaintext_follows_the_policy() {
        let s = rules(vec![hba(
            1,
            "host",
            "all",
            "all",
            LOOPBACK,
            "scram-sha-256",
        )]);
        assert_eq!(run(&HBA_REQUIRES_TLS, &s).status, Status::Warn);
        let allow = Policy {
            allow_loopback_without_tls: Some(true),
            ..Policy::default()
        };
        assert_eq!(run_with(&HBA_REQUIRES_TLS, &s, &allow).status, Status::Pass);
        let forbid = Policy {
            allow_loopback_without_tls: Some(false),
            ..Policy::default()
        };
        assert_eq!(
            run_with(&HBA_REQUIRES_TLS, &s, &forbid).status,
            Status::Fail
        );
    }

    #[test]
    fn tls_plan_rewrites_to_hostssl_and_keeps_allowed_loopback_above_the_reject() {
        let mut s = rules(vec![
            hba(1, "local", "all", "postgres", None, "peer"),
            hba(2, "host", "all", "all", LOOPBACK, "scram-sha-256"),
            hba(3, "host", "clinic", "app", NET, "scram-sha-256"),
        ]);
        set(&mut s, "hba_file", "/etc/postgresql/15/main/pg_hba.conf");
        let allow = Policy {
            allow_loopback_without_tls: Some(true),
            ..Policy::default()
        };
        let v = run_with(&HBA_REQUIRES_TLS, &s, &allow);
        assert_eq!(v.status, Status::Fail);
        let plan = HBA_REQUIRES_TLS.plan(&s, &v);
        assert_eq!(plan.apply, vec![ApplyClass::ConfigFile]);
        let edit = plan.config_edit.unwrap_or_default();
        assert_eq!(edit.file, "hba_file");
        assert!(edit.validate.contains("error IS NOT NULL"));
        let rules: Vec<&String> = edit.lines.iter().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            rules,
            vec![
                "local all postgres peer",
                "host all all 127.0.0.1/32 scram-sha-256",
                "hostnossl all all all reject",
                "hostssl clinic app 10.0.0.0/8 scram-sha-256",
            ]
        );
        assert!(plan.note.contains("/etc/postgresql/15/main/pg_hba.conf"));
        // The proposal passes its own check.
        let mut after = s.clone();
        after.hba_rules = Some(vec![
            hba(1, "local", "all", "postgres", None, "peer"),
            hba(2, "host", "all", "all", LOOPBACK, "scram-sha-256"),
            hba(3, "hostnossl", "all", "all", None, "reject"),
            hba(4, "hostssl", "clinic", "app", NET, "scram-sha-256"),
        ]);
        if let Some(r) = after.hba_rules.as_mut() {
            r[2].address = Some("all".into());
        }
        assert_eq!(
            run_with(&HBA_REQUIRES_TLS, &after, &allow).status,
            Status::Pass
        );
    }
}

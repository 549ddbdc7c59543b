//! PRIV-019: who reads other sessions' query text.
//!
//! Members of `pg_read_all_stats` (directly, through `pg_monitor`, or any
//! chain of groups; SET ROLE counts) see the full query text of every
//! session in `pg_stat_activity` and `pg_stat_statements`, and query text
//! carries PHI literals (`WHERE ssn = '…'`). Superusers and approved
//! administrators are PRIV-001's concern. The documented scanner
//! (assets/sql/scanner-role.sql grants it pg_monitor) is the one stated
//! exception. It is recognised by the comment the script puts on it, not
//! by being the role this scan ran as: the verdict must not depend on who
//! scans (a superuser's scan and the scanner's own must agree), and only a
//! superuser or a role with CREATEROLE/ADMIN on it can set that comment.

use super::approved::Approved;
use super::keys::Listed;
use super::role_fixes::membership_plan;
use super::{missing_facts_plan, need_graph, sorted};
use crate::checks::facts::{sample, scanner_role};
use crate::checks::privileges::{Reach, RoleGraph};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{FixPlan, Section, Severity};
use crate::model::snapshot::{Membership, Snapshot};
use crate::policy::Policy;

const READ_ALL_STATS: &str = "pg_read_all_stats";

/// The comment assets/sql/scanner-role.sql sets on its role.
pub const SCANNER_MARKER: &str = "pgSafeguard scanner role (assets/sql/scanner-role.sql)";

pub static QUERY_TEXT_LIMITED: Check = Check {
    id: "PRIV-019",
    section: Section::Access,
    title: "Only administrators read other sessions' query text",
    severity: Severity::High,
    hipaa: &["164.312(a)(1)", "164.502(b)"],
    cis: None,
    rationale: "Members of pg_read_all_stats, directly or through pg_monitor or any other \
        group, read the full query text of every session in pg_stat_activity and \
        pg_stat_statements. Applications put PHI into that text as literals (names, SSNs, \
        diagnoses), so such a login reads PHI it holds no grant for, past row-level \
        security: high, and against the minimum-necessary standard. Every membership path \
        counts, because SET ROLE works without INHERIT. Superusers, approved superusers and \
        approved_admins are not reported. The documented scanner (assets/sql/scanner-role.sql \
        grants it pg_monitor so that TLS-005 can see every session, and marks it with a role \
        comment) is the one exception, named in the evidence.",
    reproduce_sql: "SELECT r.rolname FROM pg_roles r WHERE r.rolcanlogin AND NOT r.rolsuper \
        AND pg_has_role(r.oid, 'pg_read_all_stats', 'MEMBER') ORDER BY 1;",
    evaluate: query_text_limited,
    fix: Fix::Build(revoke_stats_memberships),
};

fn query_text_limited(s: &Snapshot, policy: &Policy) -> Verdict {
    let graph = match need_graph(s) {
        Ok(g) => g,
        Err(v) => return v,
    };
    let roles = s.roles.as_deref().unwrap_or(&[]);
    let approved = Approved::new(s, roles, policy);
    let mut readers = graph
        .members(READ_ALL_STATS, Reach::SetRole)
        .cloned()
        .unwrap_or_else(|| graph.no_roles());
    readers.intersect_with(&approved.ordinary_logins(&graph, roles));
    let is_marked = |name: &str| {
        roles
            .iter()
            .any(|r| r.name == name && r.comment.as_deref() == Some(SCANNER_MARKER))
    };
    let (exceptions, offenders): (Vec<&str>, Vec<&str>) = graph
        .names_of(&readers)
        .into_iter()
        .partition(|n| is_marked(n));
    let offenders = sorted(offenders.into_iter().map(String::from));
    let mut seen = if exceptions.is_empty() {
        "no role is marked as the documented scanner".to_string()
    } else {
        format!(
            "{} (the documented scanner: marked by assets/sql/scanner-role.sql, which grants \
             it pg_monitor) is the stated exception",
            exceptions.join(", ")
        )
    };
    let own = scanner_role(s);
    if offenders.contains(&own) {
        seen.push_str(&format!(
            "; {own}, the role this scan ran as, is not marked: run \
             assets/sql/scanner-role.sql for it if it is the scanner"
        ));
    }
    seen.push_str(&format!("; {}", approved.describe_admins()));
    // Snapshots before schema 4 hold no role comments: the scanner's mark
    // cannot be seen, so the scan's own role alone is not a finding.
    if s.schema_version < 4 && offenders == [own.clone()] {
        return Verdict::unknown(
            format!(
                "only {own}, the role this scan ran as, reads other sessions' query text, and \
                 this snapshot (schema {}) predates the scanner's mark: scan again",
                s.schema_version
            ),
            None,
        );
    }
    if offenders.is_empty() {
        return Verdict::pass(format!(
            "no non-administrator login but the documented scanner is a member of \
             {READ_ALL_STATS} (directly or through pg_monitor or other groups); {seen}"
        ));
    }
    let shown: Vec<String> = offenders
        .iter()
        .map(|name| format!("{name} (via {})", via(graph.direct_groups(name), &graph)))
        .collect();
    Verdict::fail(format!(
        "{} non-administrator login(s) read every session's query text: {}; {seen}",
        offenders.len(),
        sample(&shown)
    ))
    .with_objects(offenders)
}

/// The direct groups of a login through which it reaches pg_read_all_stats.
fn via(groups: &[&Membership], graph: &RoleGraph<'_>) -> String {
    let reaching = reaching_groups(groups, graph);
    if reaching.is_empty() {
        READ_ALL_STATS.to_string()
    } else {
        reaching.join(", ")
    }
}

fn reaching_groups<'m>(groups: &[&'m Membership], graph: &RoleGraph<'_>) -> Vec<&'m str> {
    let Some(members) = graph.members(READ_ALL_STATS, Reach::SetRole) else {
        return Vec::new();
    };
    let mut names: Vec<&str> = groups
        .iter()
        .filter(|m| graph.index_of(&m.role).is_some_and(|i| members.contains(i)))
        .map(|m| m.role.as_str())
        .collect();
    names.sort_unstable();
    names
}

/// Revoke each listed login's direct memberships that lead to
/// pg_read_all_stats (pg_monitor, the role itself, or a group that holds it).
fn revoke_stats_memberships(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let (roles, memberships) = match (s.roles.as_deref(), s.memberships.as_deref()) {
        (Some(r), Some(m)) => (r, m),
        _ => return missing_facts_plan("roles and memberships"),
    };
    let graph = RoleGraph::new(roles, memberships);
    let listed = Listed::new(verdict);
    let cut: Vec<&Membership> = memberships
        .iter()
        .filter(|m| listed.contains(m.member.as_str()))
        .filter(|m| !reaching_groups(&[*m], &graph).is_empty())
        .collect();
    membership_plan(
        &cut,
        "a monitoring agent that needs pg_stat_activity can be given a view that leaves out \
         the query column instead; a listed login that reaches pg_read_all_stats through a \
         group it shares with others loses it only when it leaves that group",
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::{add_memberships, add_roles, group, login};
    use crate::checks::testkit::{base, Case};
    let setup = |member: &str| {
        let mut s = base();
        add_roles(
            &mut s,
            vec![
                group("pg_read_all_stats"),
                group("pg_monitor"),
                group("ops"),
                login("alice"),
                {
                    let mut scanner = login("pgsafeguard_scanner");
                    scanner.comment = Some(SCANNER_MARKER.into());
                    scanner
                },
            ],
        );
        add_memberships(
            &mut s,
            &[
                ("pg_read_all_stats", "pg_monitor"),
                ("pg_monitor", "pgsafeguard_scanner"),
                ("pg_monitor", "ops"),
                ("ops", member),
            ],
        );
        s
    };
    // The marked scanner is the exception; alice reaches it through ops → pg_monitor.
    vec![Case::new(
        "PRIV-019",
        setup("pgsafeguard_scanner"),
        setup("alice"),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::judge;
    use crate::model::finding::Status;

    #[test]
    fn chains_are_followed_and_the_scanner_is_named() {
        let bad = cases().remove(0).bad;
        let f = judge("PRIV-019", &bad);
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.objects, vec!["alice".to_string()]);
        assert!(f.evidence.contains("alice (via ops)"), "{}", f.evidence);
        assert!(f
            .evidence
            .contains("pgsafeguard_scanner (the documented scanner"));
        let plan = f.fix.unwrap_or_default();
        assert_eq!(plan.statements, vec!["REVOKE \"ops\" FROM \"alice\""]);
        assert_eq!(plan.rollback, vec!["GRANT \"ops\" TO \"alice\""]);
    }

    #[test]
    fn only_the_marked_scanner_is_excepted_whoever_scans() {
        let mut s = cases().remove(0).good;
        // The role the scan ran as gets no exception without the script's mark.
        s.target.user = "alice".into();
        if let Some(m) = s.memberships.as_mut() {
            m.push(crate::checks::access::fixtures::membership(
                "pg_monitor",
                "alice",
            ));
        }
        let f = judge("PRIV-019", &s);
        assert_eq!(f.status, Status::Fail);
        assert!(f
            .evidence
            .contains("alice, the role this scan ran as, is not marked"));
        if let Some(roles) = s.roles.as_mut() {
            for r in roles.iter_mut().filter(|r| r.name == "pgsafeguard_scanner") {
                r.comment = Some("something else".into());
            }
        }
        assert_eq!(judge("PRIV-019", &s).objects.len(), 2);
        // An older snapshot cannot show the mark: the scan's own role alone is undecided.
        let mut old = cases().remove(0).good;
        old.schema_version = 3;
        if let Some(roles) = old.roles.as_mut() {
            roles.iter_mut().for_each(|r| r.comment = None);
        }
        old.target.user = "pgsafeguard_scanner".into();
        assert_eq!(judge("PRIV-019", &old).status, Status::Unknown);
        let script = include_str!("../../../assets/sql/scanner-role.sql");
        assert!(script.contains(&format!("IS '{SCANNER_MARKER}'")));
    }

    #[test]
    fn missing_memberships_are_unknown() {
        let mut s = cases().remove(0).good;
        s.memberships = None;
        assert_eq!(judge("PRIV-019", &s).status, Status::Unknown);
    }
}

//! AUTH-008: whether a login superuser can log in through a non-loopback TCP
//! pg_hba line, following +group memberships and first-match order.

use super::roles;
use crate::checks::facts::{listing, settle};
use crate::checks::hba::{self, Groups, Line, Who};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{FixPlan, Section, Severity};
use crate::model::snapshot::{HbaRule, Role, Snapshot};
use crate::policy::Policy;

pub static SUPERUSERS_LOCAL_ONLY: Check = Check {
    id: "AUTH-008",
    section: Section::Transit,
    title: "Superusers cannot log in from the network",
    severity: Severity::High,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "A superuser reads every PHI table and can switch auditing off; if a TCP line \
        from another host lets it log in, one stolen password is total exposure, so high. \
        A line reaches a superuser when its user column is all, the name, or a +group it \
        belongs to (through any chain of memberships). pg_hba is first match wins: a \
        superuser stopped by an earlier reject line for it is not reachable by later lines. \
        Loopback lines are local and not counted.",
    reproduce_sql: "SELECT rolname FROM pg_roles WHERE rolsuper AND rolcanlogin; \
        SELECT line_number, type, database, user_name, address, netmask, auth_method \
        FROM pg_hba_file_rules WHERE type LIKE 'host%' ORDER BY line_number;",
    evaluate: |s, p| settle(superusers_local_only(s, p)),
    fix: Fix::Build(superusers_local_plan),
};

/// Per login superuser, the indexes of non-loopback TCP rules that can admit
/// it; and the superusers that a `+group` left undecided.
struct SuperuserReach<'a> {
    reached: Vec<(&'a str, Vec<usize>)>,
    undecided: Vec<&'a str>,
}

fn superuser_reach<'a>(
    rules: &[HbaRule],
    roles: &'a [Role],
    groups: &Groups,
) -> SuperuserReach<'a> {
    let mut reach = SuperuserReach {
        reached: Vec::new(),
        undecided: Vec::new(),
    };
    for su in roles.iter().filter(|r| r.superuser && r.can_login) {
        let name = su.name.as_str();
        let who = Who::Role(name, groups);
        let mut lines = Vec::new();
        let mut undecided = false;
        for (i, rule) in rules.iter().enumerate() {
            if !hba::admits(rule) || !hba::is_network(rule) || hba::is_loopback(rule) {
                continue;
            }
            match hba::user_matches(&rule.user_name, name, groups) {
                Some(true) if !hba::shadowed(rules, i, hba::TCP, &who) => lines.push(i),
                None => undecided = true,
                _ => {}
            }
        }
        if !lines.is_empty() {
            reach.reached.push((name, lines));
        } else if undecided {
            reach.undecided.push(name);
        }
    }
    reach
}

fn reach_objects(rules: &[HbaRule], reach: &SuperuserReach) -> Vec<String> {
    reach
        .reached
        .iter()
        .flat_map(|(name, lines)| {
            lines
                .iter()
                .map(move |&i| format!("{name} via {}", hba::display(&rules[i])))
        })
        .collect()
}

fn superusers_local_only(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let rules = hba::rules(s)?;
    let roles = roles(s)?;
    let groups = Groups::new(s.memberships.as_deref());
    let reach = superuser_reach(rules, roles, &groups);
    let objects = reach_objects(rules, &reach);
    if !objects.is_empty() {
        return Ok(Verdict::fail(format!(
            "{} superuser(s) can log in from the network: {}",
            reach.reached.len(),
            listing(&objects)
        ))
        .with_objects(objects));
    }
    if !reach.undecided.is_empty() {
        return Err(Verdict::unknown(
            format!(
                "role memberships were not collected, so +group lines cannot be resolved for: {}",
                reach.undecided.join(", ")
            ),
            None,
        ));
    }
    let supers = roles.iter().filter(|r| r.superuser && r.can_login).count();
    Ok(Verdict::pass(format!(
        "{supers} login superuser(s); no non-loopback TCP rule admits them"
    )))
}

fn superusers_local_plan(s: &Snapshot, _: &Verdict) -> FixPlan {
    let rules = s.hba_rules.as_deref().unwrap_or(&[]);
    let roles = s.roles.as_deref().unwrap_or(&[]);
    let groups = Groups::new(s.memberships.as_deref());
    let reach = superuser_reach(rules, roles, &groups);
    let first = reach
        .reached
        .iter()
        .filter_map(|(_, lines)| lines.first().copied())
        .min()
        .unwrap_or(0);
    let mut unwritable = Vec::new();
    let mut rejects = vec![Line::Text(
        "# AUTH-008: superusers log in only locally".to_string(),
    )];
    for (name, _) in &reach.reached {
        match hba::name_token(name) {
            // `all` does not match replication connections: they need their own line.
            Some(token) => rejects.extend(
                ["all", "replication"]
                    .map(|db| Line::Text(format!("host {db} {token} all reject"))),
            ),
            None => unwritable.push((*name).to_string()),
        }
    }
    let mut rejects = Some(rejects);
    let proposal = hba::propose(s, "AUTH-008", |i, rule| {
        let mut out = Vec::new();
        if i >= first {
            if let Some(lines) = rejects.take() {
                out.extend(lines);
            }
        }
        out.extend(hba::keep(rule));
        out
    });
    let mut advice = String::from(
        "adds `host all <superuser> all reject` and `host replication <superuser> all reject` \
         above the first line that admitted a superuser; loopback lines for superusers below \
         them stop working for TCP: use the Unix socket",
    );
    if !unwritable.is_empty() {
        advice.push_str(&format!(
            "; these names cannot be written in pg_hba.conf and need a NOLOGIN/SUPERUSER review \
             instead: {}",
            unwritable.join(", ")
        ));
    }
    hba::plan(s, proposal, &advice)
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::{hba_case, NET};
    use crate::checks::testkit::hba;
    vec![hba_case(
        "AUTH-008",
        hba(3, "hostssl", "all", "postgres", NET, "scram-sha-256"),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::{hba, role};
    use crate::checks::transit::fixtures::*;
    use crate::model::finding::Status;
    use crate::model::snapshot::Membership;

    #[test]
    fn superuser_reach_follows_groups_order_and_loopback() {
        let mut s = rules(vec![
            hba(1, "host", "all", "all", LOOPBACK, "scram-sha-256"),
            hba(2, "hostssl", "all", "+dba", NET, "scram-sha-256"),
        ]);
        s.memberships = Some(vec![Membership {
            role: "dba".into(),
            member: "postgres".into(),
            admin_option: false,
            inherit_option: None,
            set_option: None,
        }]);
        let v = run(&SUPERUSERS_LOCAL_ONLY, &s);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.objects.len(), 1);
        assert!(v.objects[0].starts_with("postgres via line 2"));

        let mut blocked = s.clone();
        if let Some(r) = blocked.hba_rules.as_mut() {
            r.insert(0, hba(0, "host", "all", "postgres", ANYWHERE, "reject"));
        }
        assert_eq!(run(&SUPERUSERS_LOCAL_ONLY, &blocked).status, Status::Pass);

        let mut blind = s.clone();
        blind.memberships = None;
        assert_eq!(run(&SUPERUSERS_LOCAL_ONLY, &blind).status, Status::Unknown);

        let plan = SUPERUSERS_LOCAL_ONLY.plan(&s, &v);
        let lines = plan.config_edit.unwrap_or_default().lines;
        let reject = lines
            .iter()
            .position(|l| l == "host all postgres all reject");
        let second = lines.iter().position(|l| l.starts_with("hostssl all +dba"));
        assert!(reject.is_some() && reject < second);
        let loopback = lines
            .iter()
            .position(|l| l.starts_with("host all all 127.0.0.1/32"));
        assert!(loopback < reject, "loopback line stays above the reject");
    }

    /// `all` in the database column does not match replication connections:
    /// the fix must stop those too, or the check keeps failing after it.
    #[test]
    fn the_fix_also_rejects_superuser_replication_from_the_network() {
        let s = rules(vec![hba(1, "host", "replication", "all", ANYWHERE, "md5")]);
        let v = run(&SUPERUSERS_LOCAL_ONLY, &s);
        assert_eq!(v.status, Status::Fail);
        let lines = SUPERUSERS_LOCAL_ONLY
            .plan(&s, &v)
            .config_edit
            .unwrap_or_default()
            .lines;
        assert!(lines.contains(&"host replication postgres all reject".to_string()));
        let mut fixed = s.clone();
        if let Some(r) = fixed.hba_rules.as_mut() {
            r.insert(0, hba(0, "host", "all", "postgres", ANYWHERE, "reject"));
            r.insert(
                1,
                hba(0, "host", "replication", "postgres", ANYWHERE, "reject"),
            );
        }
        assert_eq!(run(&SUPERUSERS_LOCAL_ONLY, &fixed).status, Status::Pass);
        let mut only_all = s.clone();
        if let Some(r) = only_all.hba_rules.as_mut() {
            r.insert(0, hba(0, "host", "all", "postgres", ANYWHERE, "reject"));
        }
        assert_eq!(run(&SUPERUSERS_LOCAL_ONLY, &only_all).status, Status::Fail);
    }

    #[test]
    fn superuser_reject_lines_quote_hostile_names() {
        for name in HOSTILE {
            let mut s = rules(vec![hba(1, "hostssl", "all", "all", NET, "scram-sha-256")]);
            if let Some(roles) = s.roles.as_mut() {
                roles.push(role(name, |r| {
                    r.superuser = true;
                    r.can_login = true;
                }));
            }
            let v = run(&SUPERUSERS_LOCAL_ONLY, &s);
            let plan = SUPERUSERS_LOCAL_ONLY.plan(&s, &v);
            let lines = plan.config_edit.unwrap_or_default().lines;
            for line in &lines {
                assert!(!line.contains('\n'), "{line:?}");
            }
            if name.contains('\n') {
                assert!(plan.note.contains("cannot be written"));
            } else {
                let expected = format!("host all \"{}\" all reject", name.replace('"', "\"\""));
                assert!(lines.contains(&expected), "{lines:?}");
            }
        }
    }
}

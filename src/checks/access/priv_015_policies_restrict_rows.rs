//! PRIV-015: permissive row-level policies read the row they judge, and every
//! table with RLS has a policy.

use super::keys::rel_key;
use super::scoped::per_database;
use super::{need_graph, policy_counts, sorted, RLS_KINDS};
use crate::checks::facts::{annotated_sample, sample};
use crate::checks::privileges::{FastMap, RoleGraph, PUBLIC};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::{Policy as RlsPolicy, Snapshot};
use crate::policy::Policy;
use postgres_protocol::escape::escape_identifier;

pub static POLICIES_RESTRICT_ROWS: Check = Check {
    id: "PRIV-015",
    section: Section::Access,
    title: "Row-level security policies actually restrict rows",
    severity: Severity::High,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "Permissive policies are ORed: one whose USING or WITH CHECK expression \
        reads nothing of the row it judges (`true`, `current_user IS NOT NULL`, a setting \
        test) gives the same answer for every row, so each session it admits reads or \
        writes every row, and the table looks protected and is not. RLS enabled without \
        any policy is either a forgotten policy or a table nobody but its owner can use. \
        Both are reported on every table, PHI or not. High: a vacuous policy on a PHI \
        table is the same exposure as no RLS, hidden from review. Decisions: what an \
        expression reads comes from its stored tree (a column, a system column or the \
        whole row of the judged row; a column of another scan of the table inside a \
        subquery does not count), branch by branch for a top-level OR (a branch such as \
        `current_user = 'admin'` admits every row to the sessions where it holds, like a \
        separate permissive policy); every command is judged (an UPDATE or DELETE policy \
        that reads no row lets its roles change every row), each expression the policy \
        has (an INSERT policy has only WITH CHECK); constant false admits nothing and is \
        not reported; a restrictive policy for the same roles and command whose \
        expression reads the row narrows it, so it is not reported either. A policy for \
        PUBLIC or for roles that more than one login can act as fails; one for a single \
        login's role (an auditor) warns, naming it. Restrictive policies alone narrow \
        nothing and widen nothing, so they are not reported.",
    reproduce_sql: "SELECT schemaname, tablename, policyname, permissive, cmd, roles, qual, \
        with_check FROM pg_policies ORDER BY 1, 2, 3;\n-- which expressions read the row: \
        a VAR at the outer query level of pg_policy.polqual / polwithcheck\nSELECT \
        polname, polqual, polwithcheck FROM pg_policy;\nSELECT c.oid::regclass FROM \
        pg_class c WHERE c.relrowsecurity AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE \
        p.polrelid = c.oid);",
    evaluate: policies_restrict_rows,
    fix: Fix::Instructions {
        apply: &[ApplyClass::Immediate],
        note: "rewrite each listed policy with an expression that reads the row, e.g. \
            ALTER POLICY p ON t USING (clinic_id = current_setting('app.clinic_id')::int); \
            or limit it to the one role it is for (ALTER POLICY p ON t TO auditor); or add \
            a restrictive policy that reads the row for the same roles and command; for \
            tables with RLS and no policy, CREATE POLICY for the roles that use them. \
            Needs the table owner. Undo: ALTER POLICY back to the expression and roles \
            shown in pg_policies.",
    },
};

/// An expression of a policy.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Clause {
    Using,
    WithCheck,
}

impl Clause {
    fn label(self) -> &'static str {
        match self {
            Clause::Using => "USING",
            Clause::WithCheck => "WITH CHECK",
        }
    }
}

/// Whether the policy's `clause` reads the row: `Some(false)` for
/// expressions that admit every row (or every row for some sessions),
/// `None` when not known (a snapshot before schema 4, an unreadable
/// tree) or the policy has no such expression. Constant false admits
/// nothing, so it counts as restricting.
fn clause_reads_row(p: &RlsPolicy, clause: Clause) -> Option<bool> {
    let (text, reads) = match clause {
        Clause::Using => (p.using.as_deref()?, p.reads_row.map(|r| r.using)),
        Clause::WithCheck => (p.with_check.as_deref()?, p.reads_row.map(|r| r.with_check)),
    };
    if is_constant(text, &["true", "1=1", "'t'::boolean", "'true'::boolean"]) {
        Some(false)
    } else if is_constant(text, &["false", "1=0", "'f'::boolean", "'false'::boolean"]) {
        Some(true)
    } else {
        reads
    }
}

/// Whether a restrictive policy on the same table narrows `clause` of the
/// permissive `p`: it applies to every role of `p` (or PUBLIC) and to its
/// command, and its own expression for that clause reads the row. Without a
/// WITH CHECK, an ALL or UPDATE policy checks new rows with its USING.
fn narrowed(p: &RlsPolicy, clause: Clause, restrictive: &[&RlsPolicy]) -> bool {
    restrictive.iter().any(|r| {
        let roles =
            r.roles.iter().any(|x| is_public(x)) || p.roles.iter().all(|x| r.roles.contains(x));
        let command = r.command == "ALL" || r.command == p.command;
        let own = match clause {
            Clause::WithCheck if r.with_check.is_none() && r.command != "INSERT" => Clause::Using,
            other => other,
        };
        roles && command && clause_reads_row(r, own) == Some(true)
    })
}

fn is_public(role: &str) -> bool {
    role.eq_ignore_ascii_case(PUBLIC)
}

/// Whether at most one login can act as the policy's roles (with SET ROLE
/// or inherited), so a finding on it is a warning naming that role. PUBLIC
/// never is; without memberships every named role counts as a group.
fn single_login_policy(p: &RlsPolicy, graph: Option<&RoleGraph>) -> bool {
    if p.roles.iter().any(|r| is_public(r)) {
        return false;
    }
    let Some(graph) = graph else {
        return false;
    };
    let mut logins = graph.settable_union(p.roles.iter().map(String::as_str));
    logins.intersect_with(graph.logins());
    logins.len() <= 1
}

/// A permissive policy whose expressions do not all read the row.
struct Vacuous<'a> {
    policy: &'a RlsPolicy,
    clauses: Vec<Clause>,
    single: bool,
}

impl Vacuous<'_> {
    fn describe(&self) -> String {
        let clauses: Vec<&str> = self.clauses.iter().map(|c| c.label()).collect();
        format!(
            "FOR {} TO {}: {} (or an OR branch of it) reads nothing of the row",
            self.policy.command,
            self.policy.roles.join(", "),
            clauses.join(" and ")
        )
    }
}

fn policies_restrict_rows(s: &Snapshot, _: &Policy) -> Verdict {
    let scoped = per_database(s, |d| {
        Some((d.relations.as_deref()?, d.policies.as_deref()?))
    });
    let graph = need_graph(s).ok();
    let mut vacuous: Vec<(String, Vacuous)> = Vec::new();
    let mut not_judged = Vec::new();
    let mut without_policy = Vec::new();
    let mut policy_total = 0usize;
    for part in &scoped.found {
        let (relations, policies) = part.part;
        policy_total += policies.len();
        let mut restrictive: FastMap<(&str, &str), Vec<&RlsPolicy>> = FastMap::default();
        for p in policies.iter().filter(|p| !p.permissive) {
            restrictive
                .entry((p.schema.as_str(), p.table.as_str()))
                .or_default()
                .push(p);
        }
        for p in policies.iter().filter(|p| p.permissive) {
            let narrowing = restrictive
                .get(&(p.schema.as_str(), p.table.as_str()))
                .map_or(&[][..], Vec::as_slice);
            let mut clauses = Vec::new();
            let mut unknown = false;
            for clause in [Clause::Using, Clause::WithCheck] {
                if !clause_present(p, clause) || narrowed(p, clause, narrowing) {
                    continue;
                }
                match clause_reads_row(p, clause) {
                    Some(false) => clauses.push(clause),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            if clauses.is_empty() && !unknown {
                continue;
            }
            let key = part.key(format!(
                "policy {} on {}",
                escape_identifier(&p.name),
                rel_key(&p.schema, &p.table)
            ));
            if clauses.is_empty() {
                not_judged.push(key);
            } else {
                let single = single_login_policy(p, graph.as_ref());
                vacuous.push((
                    key,
                    Vacuous {
                        single,
                        policy: p,
                        clauses,
                    },
                ));
            }
        }
        let counts = policy_counts(policies);
        for rel in relations
            .iter()
            .filter(|r| r.rls_enabled && RLS_KINDS.contains(&r.kind.as_str()))
            .filter(|r| !counts.contains_key(&(r.schema.as_str(), r.name.as_str())))
        {
            without_policy.push(part.key(format!(
                "{} (RLS enabled, no policy)",
                rel_key(&rel.schema, &rel.name)
            )));
        }
    }
    let (mut single, mut broad): (Vec<_>, Vec<_>) =
        vacuous.into_iter().partition(|(_, v)| v.single);
    let mut parts = Vec::new();
    if !broad.is_empty() {
        parts.push(format!(
            "{} permissive polic(ies) for PUBLIC or a group of logins read nothing of the \
             row: {}",
            broad.len(),
            annotated_sample(&mut broad, Vacuous::describe)
        ));
    }
    if !without_policy.is_empty() {
        parts.push(format!(
            "{} table(s) with RLS and no policy: {}",
            without_policy.len(),
            sample(&without_policy)
        ));
    }
    let failing = !parts.is_empty();
    if !single.is_empty() {
        parts.push(format!(
            "{} permissive polic(ies) for a single login's role read nothing of the row: {}",
            single.len(),
            annotated_sample(&mut single, Vacuous::describe)
        ));
    }
    let mut objects: Vec<String> = broad.into_iter().chain(single).map(|(k, _)| k).collect();
    objects.extend(without_policy);
    let seen = parts.join("; ");
    if failing {
        return scoped.conclude(s, "policies", objects, |_| seen, String::new());
    }
    if !not_judged.is_empty() {
        let not_judged = sorted(not_judged);
        let mut reason = format!(
            "whether {} permissive polic(ies) read the row is not known (a snapshot from \
             before schema 4, or an expression tree that could not be read; scan again): {}",
            not_judged.len(),
            sample(&not_judged)
        );
        if !seen.is_empty() {
            reason.push_str(&format!("; {seen}"));
        }
        return Verdict::unknown(reason, None).with_objects(not_judged);
    }
    if !objects.is_empty() {
        return Verdict::warn(format!(
            "{policy_total} polic(ies), none for PUBLIC or a group that reads nothing of the \
             row; {seen}"
        ))
        .with_objects(objects);
    }
    scoped.conclude(
        s,
        "policies",
        Vec::new(),
        |_| String::new(),
        format!(
            "{policy_total} polic(ies); every permissive expression reads the row it judges \
             or is narrowed by a restrictive one that does; every table with RLS has a policy"
        ),
    )
}

fn clause_present(p: &RlsPolicy, clause: Clause) -> bool {
    match clause {
        Clause::Using => p.using.is_some(),
        Clause::WithCheck => p.with_check.is_some(),
    }
}

/// Whether `expr`, without outer brackets, spaces and case, is one of `forms`.
/// Runs over every policy, so it compares in place without allocating.
fn is_constant(expr: &str, forms: &[&str]) -> bool {
    let mut inner = expr.trim();
    while let Some(stripped) = inner.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        inner = stripped.trim();
    }
    forms
        .iter()
        .any(|form| same_ignoring_space_and_case(inner, form))
}

fn same_ignoring_space_and_case(text: &str, form: &str) -> bool {
    text.bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|b| b.to_ascii_lowercase())
        .eq(form.bytes())
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::*;
    use crate::checks::testkit::{db, Case};
    use crate::model::finding::Status;
    use crate::model::snapshot::PolicyReadsRow;
    let mut cases = Vec::new();
    let mut bad = protected();
    db(&mut bad).policies = Some(vec![rls_policy("true")]);
    cases.push(Case::new("PRIV-015", protected(), bad));
    // Row-independent (reads nothing of the row): fails for PUBLIC, warns for one login.
    let session_gate = |roles: &[&str]| {
        let mut s = protected();
        add_roles(&mut s, vec![login("auditor")]);
        let mut p = rls_policy("(CURRENT_USER IS NOT NULL)");
        p.roles = roles.iter().map(|r| (*r).to_string()).collect();
        p.reads_row = Some(PolicyReadsRow::default());
        db(&mut s).policies = Some(vec![p]);
        s
    };
    cases.push(Case::new(
        "PRIV-015",
        protected(),
        session_gate(&["PUBLIC"]),
    ));
    cases.push(
        Case::new("PRIV-015", protected(), session_gate(&["auditor"]))
            .expect(Status::Pass, Status::Warn),
    );
    cases
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::checks::testkit::db;
    use crate::model::finding::Status;
    use crate::model::snapshot::PolicyReadsRow;

    #[test]
    fn constant_expressions() {
        let truth = ["true", "1=1", "'t'::boolean", "'true'::boolean"];
        for expr in ["true", "(true)", " ( ( TRUE ) ) ", "(1 = 1)"] {
            assert!(is_constant(expr, &truth), "{expr}");
        }
        for expr in [
            "(clinic_id = 7)",
            "(true AND (owner = CURRENT_USER))",
            "false",
        ] {
            assert!(!is_constant(expr, &truth), "{expr}");
        }
    }

    #[test]
    fn vacuous_policies() {
        let mut s = with_relations(vec![rls(patients("phi_owner"))]);
        let mut restrictive = rls_policy("true");
        restrictive.permissive = false;
        let mut check_true = rls_policy("(clinic_id = 7)");
        check_true.with_check = Some("(true)".into());
        db(&mut s).policies = Some(vec![restrictive.clone()]);
        assert_eq!(status(&POLICIES_RESTRICT_ROWS, &s), Status::Pass);
        db(&mut s).policies = Some(vec![restrictive, check_true]);
        assert_eq!(status(&POLICIES_RESTRICT_ROWS, &s), Status::Fail);
        db(&mut s).policies = Some(Vec::new());
        let v = eval(&POLICIES_RESTRICT_ROWS, &s, &Policy::default());
        assert_eq!(
            v.objects,
            vec!["\"public\".\"patients\" (RLS enabled, no policy)".to_string()]
        );
    }

    /// A policy on patients with `using` that reads the row or not.
    fn session_policy(roles: &[&str], reads: bool) -> crate::model::snapshot::Policy {
        let mut p = rls_policy("(CURRENT_USER IS NOT NULL)");
        p.roles = roles.iter().map(|r| (*r).to_string()).collect();
        p.reads_row = Some(PolicyReadsRow {
            using: reads,
            with_check: false,
        });
        p
    }

    fn with_policies(policies: Vec<crate::model::snapshot::Policy>) -> Snapshot {
        let mut s = with_relations(vec![rls(patients("phi_owner"))]);
        add_roles(
            &mut s,
            vec![
                login("auditor"),
                group("clinicians"),
                login("kim"),
                login("lee"),
            ],
        );
        add_memberships(&mut s, &[("clinicians", "kim"), ("clinicians", "lee")]);
        db(&mut s).policies = Some(policies);
        s
    }

    #[test]
    fn row_independent_policies_fail_for_groups_and_warn_for_one_login() {
        let key = "policy \"by_clinic\" on \"public\".\"patients\"";
        for roles in [&["PUBLIC"][..], &["clinicians"], &["auditor", "kim"]] {
            let v = eval(
                &POLICIES_RESTRICT_ROWS,
                &with_policies(vec![session_policy(roles, false)]),
                &Policy::default(),
            );
            assert_eq!(v.status, Status::Fail, "{roles:?}: {}", v.evidence);
            assert_eq!(v.objects, [key]);
            assert!(
                v.evidence
                    .contains("USING (or an OR branch of it) reads nothing of the row"),
                "{}",
                v.evidence
            );
        }
        let v = eval(
            &POLICIES_RESTRICT_ROWS,
            &with_policies(vec![session_policy(&["auditor"], false)]),
            &Policy::default(),
        );
        assert_eq!(v.status, Status::Warn, "{}", v.evidence);
        assert!(v.evidence.contains("TO auditor"), "{}", v.evidence);
        assert_eq!(v.objects, [key]);
        // The same expressions reading the row pass.
        let s = with_policies(vec![session_policy(&["PUBLIC"], true)]);
        assert_eq!(status(&POLICIES_RESTRICT_ROWS, &s), Status::Pass);
        // Without memberships a named group cannot be counted: it fails.
        let mut s = with_policies(vec![session_policy(&["auditor"], false)]);
        s.memberships = None;
        assert_eq!(status(&POLICIES_RESTRICT_ROWS, &s), Status::Fail);
    }

    #[test]
    fn commands_and_clauses_are_judged_by_what_each_expression_reads() {
        // An INSERT policy has only WITH CHECK: judged on it, not failed for a missing USING.
        let mut insert = session_policy(&["PUBLIC"], true);
        insert.command = "INSERT".into();
        insert.using = None;
        insert.with_check = Some("(clinic_id = 7)".into());
        insert.reads_row = Some(PolicyReadsRow {
            using: false,
            with_check: true,
        });
        assert_eq!(
            status(
                &POLICIES_RESTRICT_ROWS,
                &with_policies(vec![insert.clone()])
            ),
            Status::Pass
        );
        insert.with_check = Some("(CURRENT_USER = 'ingest'::name)".into());
        insert.reads_row = Some(PolicyReadsRow::default());
        let v = eval(
            &POLICIES_RESTRICT_ROWS,
            &with_policies(vec![insert]),
            &Policy::default(),
        );
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.evidence
                .contains("FOR INSERT TO PUBLIC: WITH CHECK (or an OR branch of it) reads"),
            "{}",
            v.evidence
        );
        // A DELETE policy that reads no row lets its roles delete every row.
        let mut delete = session_policy(&["PUBLIC"], false);
        delete.command = "DELETE".into();
        assert_eq!(
            status(&POLICIES_RESTRICT_ROWS, &with_policies(vec![delete])),
            Status::Fail
        );
        // Constant false admits nothing.
        let mut never = session_policy(&["PUBLIC"], false);
        never.using = Some("false".into());
        assert_eq!(
            status(&POLICIES_RESTRICT_ROWS, &with_policies(vec![never])),
            Status::Pass
        );
    }

    #[test]
    fn a_restrictive_policy_that_reads_the_row_narrows_a_row_independent_one() {
        let mut narrowing = session_policy(&["PUBLIC"], true);
        narrowing.name = "own_clinic".into();
        narrowing.permissive = false;
        narrowing.command = "ALL".into();
        let open = session_policy(&["clinicians"], false);
        let s = with_policies(vec![open.clone(), narrowing.clone()]);
        assert_eq!(status(&POLICIES_RESTRICT_ROWS, &s), Status::Pass);
        // Narrowing SELECT only leaves a permissive ALL policy open for writes.
        let mut all = open;
        all.command = "ALL".into();
        narrowing.command = "SELECT".into();
        let s = with_policies(vec![all, narrowing.clone()]);
        assert_eq!(status(&POLICIES_RESTRICT_ROWS, &s), Status::Fail);
        // A restrictive policy that reads no row narrows nothing.
        let mut vacuous = narrowing;
        vacuous.command = "ALL".into();
        vacuous.reads_row = Some(PolicyReadsRow::default());
        let s = with_policies(vec![session_policy(&["PUBLIC"], false), vacuous]);
        assert_eq!(status(&POLICIES_RESTRICT_ROWS, &s), Status::Fail);
    }

    #[test]
    fn policies_from_older_snapshots_are_unknown_unless_plainly_true() {
        let mut old = session_policy(&["PUBLIC"], false);
        old.reads_row = None;
        let v = eval(
            &POLICIES_RESTRICT_ROWS,
            &with_policies(vec![old.clone()]),
            &Policy::default(),
        );
        assert_eq!(v.status, Status::Unknown, "{}", v.evidence);
        assert!(v.evidence.contains("schema 4"), "{}", v.evidence);
        old.using = Some("true".into());
        assert_eq!(
            status(&POLICIES_RESTRICT_ROWS, &with_policies(vec![old])),
            Status::Fail
        );
    }
}

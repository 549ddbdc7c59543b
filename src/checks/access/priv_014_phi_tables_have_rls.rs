//! PRIV-014: PHI tables enforce row-level security (enabled, forced, with a
//! policy), and no view reads them as an owner who bypasses it.

use super::keys::{rel_key, Listed};
use super::scoped::{per_database, primary_part, with_other_databases};
use super::{missing_facts_plan, policy_counts, RLS_KINDS};
use crate::checks::facts::{self, annotated_sample, sample};
use crate::checks::phi;
use crate::checks::views;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::{Relation, Snapshot};
use crate::model::statement::{QualifiedName, RowSecurity, Statement};
use crate::policy::Policy;
use postgres_protocol::escape::escape_identifier;

pub static PHI_TABLES_HAVE_RLS: Check = Check {
    id: "PRIV-014",
    section: Section::Access,
    title: "PHI tables enforce row-level security with policies",
    severity: Severity::High,
    hipaa: &["164.312(a)(1)", "164.308(a)(4)(ii)(B)"],
    cis: Some("4.7"),
    rationale: "Grants decide who may read a PHI table at all; row-level security decides \
        which patients' rows each role sees. A PHI table needs RLS enabled, FORCEd (otherwise \
        the owner, often the application's login, sees every row) and at least one policy. \
        High: without it any role with SELECT reads every patient. Decisions: PHI tables are \
        found by column names and the policy's phi_tables (minus not_phi_tables); a partition \
        is checked on its own, because policies on the partitioned parent bind queries \
        through the parent only and a partition queried directly uses its own settings; \
        a view without security_invoker (PG15+) reads its tables as its owner, so a view \
        over an RLS-protected PHI table whose owner bypasses RLS (superuser, BYPASSRLS, or \
        the table's owner while the table is not FORCEd) and that other roles may SELECT \
        defeats the policies and is listed here too; who may read views at all is PRIV-017.",
    reproduce_sql: "SELECT c.oid::regclass, c.relkind, c.relispartition, c.relrowsecurity, \
        c.relforcerowsecurity, (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS \
        policies FROM pg_class c WHERE c.relkind IN ('r', 'p') AND c.relnamespace NOT IN \
        ('pg_catalog'::regnamespace, 'information_schema'::regnamespace) ORDER BY 1;\n\
        SELECT DISTINCT v.oid::regclass AS view, pg_get_userbyid(v.relowner) AS owner, \
        v.reloptions, t.oid::regclass AS reads FROM pg_class v JOIN pg_rewrite rw ON \
        rw.ev_class = v.oid JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid \
        = rw.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'n' AND d.refobjid <> \
        v.oid JOIN pg_class t ON t.oid = d.refobjid WHERE v.relkind = 'v' AND t.relrowsecurity \
        ORDER BY 1, 4;",
    evaluate: phi_tables_have_rls,
    fix: Fix::Build(enable_and_force_rls),
};

/// Which parts of RLS a table lacks.
struct RlsGap {
    not_enabled: bool,
    not_forced: bool,
    no_policy: bool,
}

impl RlsGap {
    fn of(rel: &Relation, policies: usize) -> Option<RlsGap> {
        let gap = RlsGap {
            not_enabled: !rel.rls_enabled,
            not_forced: !rel.rls_forced,
            no_policy: policies == 0,
        };
        (gap.not_enabled || gap.not_forced || gap.no_policy).then_some(gap)
    }

    fn describe(&self, rel: &Relation) -> String {
        let mut parts = Vec::new();
        if self.not_enabled {
            parts.push("RLS off");
        }
        if self.not_forced {
            parts.push("not forced");
        }
        if self.no_policy {
            parts.push("no policy");
        }
        let mut text = parts.join(", ");
        if rel.is_partition {
            text.push_str(", partition queried directly");
        }
        text
    }
}

/// What PRIV-014 lists: a PHI table lacking RLS, or a view bypassing it.
enum RlsFinding<'a> {
    Table(RlsGap, &'a Relation),
    View(views::BypassingView<'a>),
}

impl RlsFinding<'_> {
    fn describe(&self) -> String {
        match self {
            RlsFinding::Table(gap, rel) => gap.describe(rel),
            RlsFinding::View(v) => {
                let tables: Vec<String> = v
                    .tables
                    .iter()
                    .map(|t| rel_key(&t.schema, &t.name))
                    .collect();
                format!(
                    "view reads {} as {}, bypassing RLS",
                    tables.join(", "),
                    escape_identifier(&v.view.owner)
                )
            }
        }
    }
}

fn is_rls_phi_table(rel: &Relation, policy: &Policy) -> bool {
    RLS_KINDS.contains(&rel.kind.as_str()) && phi::is_phi_table(rel, policy)
}

fn phi_tables_have_rls(s: &Snapshot, policy: &Policy) -> Verdict {
    let scoped = per_database(s, |d| {
        Some((d.relations.as_deref()?, d.policies.as_deref()?))
    });
    let mut found = Vec::new();
    let mut shown = Vec::new();
    let (mut phi_count, mut view_count, mut undecided) = (0usize, 0usize, 0usize);
    for part in &scoped.found {
        let (relations, policies) = part.part;
        let counts = policy_counts(policies);
        let phi_tables = relations.iter().filter(|r| is_rls_phi_table(r, policy));
        for rel in phi_tables {
            phi_count += 1;
            let n = counts
                .get(&(rel.schema.as_str(), rel.name.as_str()))
                .copied()
                .unwrap_or(0);
            if let Some(gap) = RlsGap::of(rel, n) {
                let key = part.key(rel_key(&rel.schema, &rel.name));
                shown.push((key.clone(), RlsFinding::Table(gap, rel)));
                found.push(key);
            }
        }
        let judged = views::bypassing_views(relations, s.roles.as_deref(), policy, |r| {
            is_rls_phi_table(r, policy)
        });
        undecided += judged.undecided;
        for v in judged.bypassing {
            view_count += 1;
            let key = part.key(rel_key(&v.view.schema, &v.view.name));
            shown.push((key.clone(), RlsFinding::View(v)));
            found.push(key);
        }
    }
    if found.is_empty() && scoped.missing.is_empty() && phi_count == 0 && !s.databases.is_empty() {
        return Verdict::not_applicable(
            "no PHI table found by column names or the policy's phi_tables",
        );
    }
    if found.is_empty() && undecided > 0 {
        return Verdict::unknown(
            format!(
                "{undecided} view(s) over PHI could not be judged: the snapshot lacks the views' \
                 security_invoker and read tables (saved by an older version: rescan) or the \
                 roles' attributes"
            ),
            None,
        );
    }
    scoped.conclude(
        s,
        "relations",
        found,
        |f| {
            let mut counts = Vec::new();
            let tables = f.len() - view_count;
            if tables > 0 {
                counts.push(format!(
                    "{tables} of {phi_count} PHI table(s) lack enforced row-level security"
                ));
            }
            if view_count > 0 {
                counts.push(format!(
                    "{view_count} view(s) read PHI tables as an owner who bypasses their \
                     row-level security"
                ));
            }
            format!(
                "{}: {}",
                counts.join("; "),
                annotated_sample(&mut shown, RlsFinding::describe)
            )
        },
        format!("{phi_count} PHI table(s) have RLS enabled and forced, each with a policy"),
    )
}

fn enable_and_force_rls(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let Some((relations, policies)) = primary_part(s, |d| {
        Some((d.relations.as_deref()?, d.policies.as_deref()?))
    }) else {
        return missing_facts_plan("relations and policies");
    };
    let counts = policy_counts(policies);
    let listed = Listed::new(verdict);
    let mut plan = FixPlan {
        apply: vec![ApplyClass::Immediate],
        needs: "owner of each table and listed view (or superuser)".into(),
        ..FixPlan::default()
    };
    let mut without_policy = Vec::new();
    for rel in relations
        .iter()
        .filter(|r| RLS_KINDS.contains(&r.kind.as_str()))
    {
        if !listed.relation(rel) {
            continue;
        }
        let n = counts
            .get(&(rel.schema.as_str(), rel.name.as_str()))
            .copied()
            .unwrap_or(0);
        if n == 0 {
            // Enabling RLS without a policy hides every row from the application.
            without_policy.push(rel_key(&rel.schema, &rel.name));
            continue;
        }
        let row_security = |change| Statement::RowSecurity {
            table: QualifiedName::of(rel),
            change,
        };
        if !rel.rls_enabled {
            plan.statements.push(row_security(RowSecurity::Enable));
            plan.rollback.push(row_security(RowSecurity::Disable));
        }
        if !rel.rls_forced {
            plan.statements.push(row_security(RowSecurity::Force));
            plan.rollback.push(row_security(RowSecurity::NoForce));
        }
    }
    let mut view_note = String::new();
    let bypassing: Vec<&Relation> = relations
        .iter()
        .filter(|r| r.kind == "v" && listed.relation(r))
        .collect();
    if facts::major_version(s).is_some_and(|m| m < 15) {
        if !bypassing.is_empty() {
            let keys: Vec<String> = bypassing
                .iter()
                .map(|r| rel_key(&r.schema, &r.name))
                .collect();
            view_note = format!(
                "; PostgreSQL before 15 has no security_invoker: change the owner of these \
                 views (ALTER VIEW … OWNER TO) to a role that neither owns the tables nor is \
                 superuser or BYPASSRLS: {}",
                sample(&keys)
            );
        }
    } else {
        for view in bypassing {
            // Callers' own rights (and so the tables' policies) then bind.
            let invoker = |on| Statement::ViewSecurityInvoker {
                view: QualifiedName::of(view),
                on,
            };
            plan.statements.push(invoker(true));
            plan.rollback.push(invoker(false));
        }
    }
    plan.rollback.reverse();
    let mut note = String::from(
        "FORCE makes the owner obey the policies too: check that the application still sees \
         its rows",
    );
    if !without_policy.is_empty() {
        note.push_str(&format!(
            "; write CREATE POLICY … USING (…) for these tables first (no statement is \
             proposed: RLS without a policy hides every row): {}",
            sample(&without_policy)
        ));
    }
    note.push_str(&view_note);
    plan.note = with_other_databases(s, &note);
    plan
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::*;
    use crate::checks::testkit::{db, Case};

    let mut cases = Vec::new();
    let mut bad = protected();
    relation_mut(&mut bad, 0).rls_forced = false;
    cases.push(Case::new("PRIV-014", protected(), bad));
    // A superuser's view over the FORCEd table, granted to a group: only
    // security_invoker makes the table's policy bind its readers.
    let through_view = |invoker: bool| {
        let mut s = protected();
        add_roles(&mut s, vec![group("clinician")]);
        let view = patients_view("postgres", Some(invoker));
        db(&mut s).relations.get_or_insert_with(Vec::new).push(view);
        s
    };
    cases.push(Case::new(
        "PRIV-014",
        through_view(true),
        through_view(false),
    ));
    cases
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::checks::testkit::{db, role};
    use crate::model::finding::Status;

    #[test]
    fn rls_must_be_forced_and_partitions_are_checked_directly() {
        let mut parent = rls(patients("phi_owner"));
        parent.kind = "p".into();
        let mut partition = patients("phi_owner");
        partition.name = "patients_2026".into();
        partition.parent = Some("public.patients".into());
        partition.is_partition = true;
        let mut s = with_relations(vec![parent, partition]);
        db(&mut s).policies = Some(vec![rls_policy("(clinic_id = 7)")]);
        let v = eval(&PHI_TABLES_HAVE_RLS, &s, &Policy::default());
        assert_eq!(v.objects, vec!["\"public\".\"patients_2026\"".to_string()]);
        assert!(
            v.evidence.contains("partition queried directly"),
            "{}",
            v.evidence
        );
        // No policy on the partition: no statement (it would hide every row).
        let plan = PHI_TABLES_HAVE_RLS.plan(&s, &v);
        assert!(plan.statements.is_empty());
        assert!(plan.note.contains("patients_2026"));
        // Enabled but not forced: the fix forces it and the rollback undoes it.
        let mut s = with_relations(vec![rls(patients("phi_owner"))]);
        relation_mut(&mut s, 0).rls_forced = false;
        db(&mut s).policies = Some(vec![rls_policy("(clinic_id = 7)")]);
        let v = eval(&PHI_TABLES_HAVE_RLS, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        let plan = PHI_TABLES_HAVE_RLS.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["ALTER TABLE \"public\".\"patients\" FORCE ROW LEVEL SECURITY"]
        );
        assert_eq!(
            plan.rollback,
            vec!["ALTER TABLE \"public\".\"patients\" NO FORCE ROW LEVEL SECURITY"]
        );
        // Policy overrides: not PHI → not applicable.
        let not_phi = Policy {
            not_phi_tables: vec!["public.patients".into()],
            ..Policy::default()
        };
        assert_eq!(
            eval(&PHI_TABLES_HAVE_RLS, &s, &not_phi).status,
            Status::NotApplicable
        );
    }

    #[test]
    fn views_bypassing_rls_fail_until_security_invoker() {
        let with_view = |owner: &str, invoker: Option<bool>, forced: bool| {
            let mut table = rls(patients("phi_owner"));
            table.rls_forced = forced;
            let mut s = with_relations(vec![table, patients_view(owner, invoker)]);
            add_roles(&mut s, vec![group("phi_owner"), group("clinician")]);
            db(&mut s).policies = Some(vec![rls_policy("(clinic_id = 7)")]);
            s
        };
        // The table's owner owns the view: bypasses unless the table is FORCEd.
        let s = with_view("phi_owner", Some(false), true);
        assert_eq!(status(&PHI_TABLES_HAVE_RLS, &s), Status::Pass);
        let s = with_view("postgres", Some(false), true);
        let v = eval(&PHI_TABLES_HAVE_RLS, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.objects, vec!["\"public\".\"patients_v\"".to_string()]);
        assert!(
            v.evidence.contains(
                "\"public\".\"patients_v\" (view reads \"public\".\"patients\" as \
                 \"postgres\", bypassing RLS)"
            ),
            "{}",
            v.evidence
        );
        let plan = PHI_TABLES_HAVE_RLS.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["ALTER VIEW \"public\".\"patients_v\" SET (security_invoker = on)"]
        );
        assert_eq!(
            plan.rollback,
            vec!["ALTER VIEW \"public\".\"patients_v\" RESET (security_invoker)"]
        );
        // Before 15 there is no security_invoker: the note says to change the owner.
        let mut old_server = s.clone();
        old_server.target.server_version_num = Some(140010);
        let plan = PHI_TABLES_HAVE_RLS.plan(&old_server, &v);
        assert!(plan.statements.is_empty());
        assert!(plan.note.contains("OWNER TO"), "{}", plan.note);
        // Owner of the table with the table not FORCEd: the table and the view fail.
        let s = with_view("phi_owner", Some(false), false);
        let v = eval(&PHI_TABLES_HAVE_RLS, &s, &Policy::default());
        assert_eq!(v.objects.len(), 2, "{:?}", v.objects);
        // Nobody but the owner may read the view: nothing is bypassed for anyone.
        let mut s = with_view("postgres", Some(false), true);
        relation_mut(&mut s, 1)
            .acl
            .retain(|a| a.grantee != "clinician");
        assert_eq!(status(&PHI_TABLES_HAVE_RLS, &s), Status::Pass);
        // A BYPASSRLS owner bypasses as a superuser does.
        let mut s = with_view("etl", Some(false), true);
        add_roles(&mut s, vec![role("etl", |r| r.bypass_rls = true)]);
        assert_eq!(status(&PHI_TABLES_HAVE_RLS, &s), Status::Fail);
        // A snapshot saved before views were judged: unknown, never pass.
        let s = with_view("postgres", None, true);
        let v = eval(&PHI_TABLES_HAVE_RLS, &s, &Policy::default());
        assert_eq!(v.status, Status::Unknown, "{}", v.evidence);
    }
}

//! EAR-003: whether pgcrypto is installed in every database that holds PHI
//! tables.

use super::{databases, not_collected, stores_rows};
use crate::checks::facts::{listing, settle};
use crate::checks::phi;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::{Relation, Snapshot};
use crate::model::statement::Statement;
use crate::policy::Policy;
use postgres_protocol::escape::escape_identifier;

pub static PGCRYPTO_AVAILABLE: Check = Check {
    id: "EAR-003",
    section: Section::AtRest,
    title: "pgcrypto is installed where PHI tables live",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(2)(iv)"],
    cis: Some("6.11"),
    rationale: "Column-level encryption inside the database needs pgcrypto in each database \
        that holds PHI tables (found by column names or listed in the policy). Having it \
        installed encrypts nothing by itself (EAR-004 judges the columns), so medium. A \
        scan that found no PHI table is not applicable; with --all-databases every \
        database is judged, otherwise only the connected one.",
    reproduce_sql: "SELECT extname, extversion FROM pg_extension WHERE extname = 'pgcrypto';",
    evaluate: |s, p| settle(pgcrypto_available(s, p)),
    fix: Fix::Build(pgcrypto_plan),
};

fn phi_table_count(rels: &[Relation], policy: &Policy) -> usize {
    rels.iter()
        .filter(|r| stores_rows(r) && phi::is_phi_table(r, policy))
        .count()
}

fn pgcrypto_available(s: &Snapshot, policy: &Policy) -> Result<Verdict, Verdict> {
    let mut missing = Vec::new();
    let mut shown = Vec::new();
    let mut uncollected = Vec::new();
    let mut with_phi = Vec::new();
    for db in databases(s)? {
        let Some(relations) = &db.relations else {
            uncollected.push(db.name.clone());
            continue;
        };
        let tables = phi_table_count(relations, policy);
        if tables == 0 {
            continue;
        }
        with_phi.push(format!("{} ({tables} PHI table(s))", db.name));
        match &db.extensions {
            None => uncollected.push(db.name.clone()),
            Some(ext) if !ext.iter().any(|e| e.name == "pgcrypto") => {
                missing.push(db.name.clone());
                shown.push(format!("{} ({tables} PHI table(s))", db.name));
            }
            Some(_) => {}
        }
    }
    if !missing.is_empty() {
        return Ok(Verdict::fail(format!(
            "pgcrypto is missing in {} database(s) with PHI tables: {}",
            missing.len(),
            listing(&shown)
        ))
        .with_objects(missing));
    }
    if !uncollected.is_empty() {
        return Err(not_collected("relations or extensions", &uncollected));
    }
    let scanned: Vec<&str> = s.databases.iter().map(|d| d.name.as_str()).collect();
    Ok(if with_phi.is_empty() {
        Verdict::not_applicable(format!(
            "no PHI table found by column names or the policy in: {}",
            scanned.join(", ")
        ))
    } else {
        Verdict::pass(format!("pgcrypto is installed in {}", with_phi.join(", ")))
    })
}

fn pgcrypto_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let primary = s.primary_database().map(|d| d.name.as_str());
    let here = primary.is_some_and(|p| verdict.objects.iter().any(|o| o == p));
    let elsewhere: Vec<String> = verdict
        .objects
        .iter()
        .filter(|o| Some(o.as_str()) != primary)
        .map(|o| escape_identifier(o))
        .collect();
    let mut note = String::from("pgcrypto is a trusted extension: CREATE on the database suffices");
    if !elsewhere.is_empty() {
        note.push_str(&format!(
            "; connect to each of these databases and run the same statement: {}",
            elsewhere.join(", ")
        ));
    }
    FixPlan {
        apply: vec![ApplyClass::Immediate],
        statements: if here {
            vec![Statement::CreateExtension {
                name: "pgcrypto".into(),
            }]
        } else {
            Vec::new()
        },
        rollback: if here {
            vec![Statement::DropExtension {
                name: "pgcrypto".into(),
                if_exists: true,
            }]
        } else {
            Vec::new()
        },
        needs: "CREATE on the database".into(),
        note,
        ..FixPlan::default()
    }
}

#[cfg(test)]
fn with_pgcrypto(mut s: Snapshot) -> Snapshot {
    use crate::checks::testkit::db;
    use crate::model::snapshot::Extension;

    db(&mut s).extensions = Some(vec![Extension {
        name: "pgcrypto".into(),
        version: "1.3".into(),
        schema: "public".into(),
    }]);
    s
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::{patients, with_tables};
    use crate::checks::testkit::Case;

    vec![Case::new(
        "EAR-003",
        with_pgcrypto(with_tables(vec![patients("bytea")])),
        with_tables(vec![patients("bytea")]),
    )]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{patients, run, with_tables};
    use super::*;
    use crate::checks::testkit::table;
    use crate::model::finding::Status;
    use crate::model::snapshot::DatabaseFacts;

    #[test]
    fn no_phi_tables_means_pgcrypto_is_not_applicable() {
        let s = with_tables(vec![table("settings", "app", &[("key", "text")])]);
        assert_eq!(run(&PGCRYPTO_AVAILABLE, &s).status, Status::NotApplicable);
        let policy = Policy {
            phi_tables: vec!["public.settings".into()],
            ..Policy::default()
        };
        assert_eq!(
            (PGCRYPTO_AVAILABLE.evaluate)(&s, &policy).status,
            Status::Fail
        );
    }

    #[test]
    fn pgcrypto_plan_runs_here_and_names_other_databases() {
        let mut s = with_tables(vec![patients("bytea")]);
        s.databases.push(DatabaseFacts {
            name: "bil\"ling".into(),
            relations: Some(vec![patients("bytea")]),
            extensions: Some(Vec::new()),
            ..DatabaseFacts::default()
        });
        let v = run(&PGCRYPTO_AVAILABLE, &s);
        assert_eq!(v.status, Status::Fail);
        let plan = PGCRYPTO_AVAILABLE.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["CREATE EXTENSION IF NOT EXISTS pgcrypto"]
        );
        assert!(plan.note.contains("\"bil\"\"ling\""));
    }
}

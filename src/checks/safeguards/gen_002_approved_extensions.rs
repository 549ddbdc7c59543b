//! GEN-002: whether every installed extension is in the policy's
//! approved_extensions (without that list, the inventory is manual).

use crate::checks::facts::{connect_grant, part_missing};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::{Extension, Snapshot};
use crate::model::statement::Statement;
use crate::policy::Policy;

pub static APPROVED_EXTENSIONS: Check = Check {
    id: "GEN-002",
    section: Section::Safeguards,
    title: "Only approved extensions are installed",
    severity: Severity::Medium,
    hipaa: &["164.308(a)(1)(ii)(B)"],
    cis: None,
    rationale: "Every extension is code running inside the server with its privileges; \
        some (dblink, file_fdw, adminpack) reach the network or the file system. The \
        policy's approved_extensions decides: anything else fails. Without that list the \
        inventory is shown for a person to approve (manual), never passed silently; \
        plpgsql, installed in every database by default, is always accepted. Every \
        collected database is checked. Medium.",
    reproduce_sql:
        "SELECT extname, extversion, extnamespace::regnamespace FROM pg_extension ORDER BY 1;",
    evaluate: approved_extensions,
    fix: Fix::Build(drop_unapproved_extensions),
};

/// Installed in every database by default; approving it adds nothing.
const BUILT_IN_EXTENSIONS: &[&str] = &["plpgsql"];

/// `database:extension` labels of every non-built-in extension, or unknown
/// when the connected database's extensions were not collected.
fn extension_inventory(s: &Snapshot) -> Result<Vec<(String, &Extension)>, Verdict> {
    let Some(primary) = s.primary_database() else {
        return Err(part_missing(
            s,
            "extensions",
            connect_grant(s, &s.target.dbname),
        ));
    };
    if primary.extensions.is_none() {
        return Err(part_missing(
            s,
            "extensions",
            connect_grant(s, &primary.name),
        ));
    }
    Ok(s.databases
        .iter()
        .flat_map(|db| {
            db.extensions
                .iter()
                .flatten()
                .filter(|e| !BUILT_IN_EXTENSIONS.contains(&e.name.as_str()))
                .map(move |e| (format!("{}:{}", db.name, e.name), e))
        })
        .collect())
}

fn approved_extensions(s: &Snapshot, policy: &Policy) -> Verdict {
    let inventory = match extension_inventory(s) {
        Ok(found) => found,
        Err(unknown) => return unknown,
    };
    let labels: Vec<String> = inventory.iter().map(|(label, _)| label.clone()).collect();
    if labels.is_empty() {
        return Verdict::pass("no extensions besides plpgsql are installed");
    }
    let Some(approved) = &policy.approved_extensions else {
        return Verdict::manual(format!(
            "no approved_extensions in the policy; approve or remove these {}: {}",
            labels.len(),
            labels.join(", ")
        ))
        .with_objects(labels);
    };
    let unapproved: Vec<String> = inventory
        .iter()
        .filter(|(_, e)| !approved.iter().any(|a| a == &e.name))
        .map(|(label, _)| label.clone())
        .collect();
    if unapproved.is_empty() {
        Verdict::pass(format!(
            "all {} installed extension(s) are approved: {}",
            labels.len(),
            labels.join(", ")
        ))
    } else {
        Verdict::fail(format!(
            "{} extension(s) not in the policy's approved_extensions: {}",
            unapproved.len(),
            unapproved.join(", ")
        ))
        .with_objects(unapproved)
    }
}

/// DROP EXTENSION for the listed extensions of the connected database.
fn drop_unapproved_extensions(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let primary = s.primary_database();
    let prefix = primary.map(|d| format!("{}:", d.name)).unwrap_or_default();
    let here: Vec<&Extension> = primary
        .and_then(|d| d.extensions.as_deref())
        .unwrap_or_default()
        .iter()
        .filter(|e| verdict.objects.contains(&format!("{prefix}{}", e.name)))
        .collect();
    let elsewhere: Vec<&str> = verdict
        .objects
        .iter()
        .filter(|o| !o.starts_with(&prefix))
        .map(String::as_str)
        .collect();
    let mut note = String::from(
        "DROP EXTENSION discards objects the extension owns and fails while other objects \
         depend on it (no CASCADE on purpose); the rollback recreates the extension but not \
         data it held",
    );
    if !elsewhere.is_empty() {
        note.push_str(&format!(
            "; connect to each other database and drop there too: {}",
            elsewhere.join(", ")
        ));
    }
    FixPlan {
        apply: vec![ApplyClass::Immediate],
        statements: here
            .iter()
            .map(|e| Statement::DropExtension {
                name: e.name.clone(),
                if_exists: false,
            })
            .collect(),
        rollback: here
            .iter()
            .map(|e| Statement::RecreateExtension {
                name: e.name.clone(),
                schema: e.schema.clone(),
                version: e.version.clone(),
                with: true,
            })
            .collect(),
        needs: "superuser or the extension owner".into(),
        note,
        irreversible: !here.is_empty(),
        ..FixPlan::default()
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{base, db, Case};

    let mut with_dblink = base();
    db(&mut with_dblink).extensions = Some(vec![Extension {
        name: "dblink".into(),
        version: "1.2".into(),
        schema: "public".into(),
    }]);
    let approving = Policy {
        approved_extensions: Some(vec!["pgcrypto".into()]),
        ..Policy::default()
    };

    vec![Case::new("GEN-002", base(), with_dblink).with_policy(approving)]
}

#[cfg(test)]
mod tests {
    use super::super::eval;
    use super::*;
    use crate::checks::testkit::{base, db};
    use crate::model::finding::Status;
    use postgres_protocol::escape::escape_identifier;

    #[test]
    fn extensions_without_a_policy_are_manual_with_the_inventory() {
        let mut s = base();
        db(&mut s).extensions = Some(vec![
            Extension {
                name: "plpgsql".into(),
                version: "1.0".into(),
                schema: "pg_catalog".into(),
            },
            Extension {
                name: "pgcrypto".into(),
                version: "1.3".into(),
                schema: "public".into(),
            },
        ]);
        let v = eval(&APPROVED_EXTENSIONS, &s);
        assert_eq!(v.status, Status::Manual);
        assert_eq!(v.objects, vec!["clinic:pgcrypto"]);
        let policy = Policy {
            approved_extensions: Some(vec!["pgcrypto".into()]),
            ..Policy::default()
        };
        assert_eq!(
            (APPROVED_EXTENSIONS.evaluate)(&s, &policy).status,
            Status::Pass
        );
        db(&mut s).extensions = None;
        assert_eq!(eval(&APPROVED_EXTENSIONS, &s).status, Status::Unknown);
    }

    #[test]
    fn extension_drop_fix_quotes_hostile_names() {
        for hostile in ["a\"; DROP ROLE x; --", "new\nline", "ünïcødé"] {
            let mut s = base();
            db(&mut s).extensions = Some(vec![Extension {
                name: hostile.into(),
                version: "1'0".into(),
                schema: hostile.into(),
            }]);
            let policy = Policy {
                approved_extensions: Some(Vec::new()),
                ..Policy::default()
            };
            let v = (APPROVED_EXTENSIONS.evaluate)(&s, &policy);
            assert_eq!(v.status, Status::Fail);
            let plan = APPROVED_EXTENSIONS.plan(&s, &v);
            let ident = escape_identifier(hostile);
            assert_eq!(plan.statements, vec![format!("DROP EXTENSION {ident}")]);
            assert_eq!(
                plan.rollback,
                vec![format!(
                    "CREATE EXTENSION {ident} WITH SCHEMA {ident} VERSION '1''0'"
                )]
            );
            assert!(plan.irreversible);
        }
    }
}

//! PRIV-013: untrusted languages and file or network extensions are installed
//! only when the policy approves them.

use super::keys::Listed;
use super::missing_facts_plan;
use super::scoped::{per_database, primary_part, with_other_databases};
use crate::checks::facts::sample;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::model::statement::Statement;
use crate::policy::Policy;
use postgres_protocol::escape::escape_identifier;
use std::collections::BTreeSet;

/// Extensions that reach the server's files or other servers.
const RISKY_EXTENSIONS: &[&str] = &["adminpack", "dblink", "file_fdw", "postgres_fdw"];

pub static UNTRUSTED_CODE_APPROVED: Check = Check {
    id: "PRIV-013",
    section: Section::Access,
    title: "No unapproved untrusted languages or file and network extensions",
    severity: Severity::High,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "Untrusted languages (plpython3u, plperlu, pltclu …) run functions as the \
        server's operating-system user, outside every database privilege; adminpack writes \
        server files, file_fdw reads them, dblink and postgres_fdw open connections to other \
        servers (a path for PHI to leave, and with dblink a way to reconnect as another \
        role). Each is a way around database access control, so high unless the policy's \
        approved_extensions lists it (a language counts as approved when listed by name). \
        c and internal are built in and not reported. Without approved_extensions none is \
        approved.",
    reproduce_sql: "SELECT lanname FROM pg_language WHERE NOT lanpltrusted AND lanname NOT IN \
        ('c', 'internal');\nSELECT extname, extversion FROM pg_extension WHERE extname IN \
        ('adminpack', 'dblink', 'file_fdw', 'postgres_fdw');",
    evaluate: untrusted_code_approved,
    fix: Fix::Build(drop_untrusted_code),
};

fn untrusted_code_approved(s: &Snapshot, policy: &Policy) -> Verdict {
    let approved: Vec<&str> = policy
        .approved_extensions
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .map(String::as_str)
        .collect();
    let scoped = per_database(s, |d| {
        Some((d.languages.as_deref()?, d.extensions.as_deref()?))
    });
    let mut found = Vec::new();
    for part in &scoped.found {
        for key in untrusted_code(part.part.0, part.part.1) {
            if !approved.contains(&key.name) {
                found.push(part.key(key.label()));
            }
        }
    }
    let stated = match &policy.approved_extensions {
        Some(list) if !list.is_empty() => format!("approved: {}", list.join(", ")),
        Some(_) => "the policy approves no extensions".into(),
        None => "the policy states no approved_extensions, so none is approved".into(),
    };
    scoped.conclude(
        s,
        "languages",
        found,
        |f| {
            format!(
                "{} unapproved untrusted language(s) or extension(s): {}; {stated}",
                f.len(),
                sample(f)
            )
        },
        format!("no unapproved untrusted language or file/network extension; {stated}"),
    )
}

/// An untrusted language or a risky extension installed in one database.
struct CodeItem<'a> {
    name: &'a str,
    language: bool,
}

impl CodeItem<'_> {
    fn label(&self) -> String {
        let kind = if self.language {
            "language"
        } else {
            "extension"
        };
        format!("{kind} {}", escape_identifier(self.name))
    }
}

fn untrusted_code<'a>(
    languages: &'a [crate::model::snapshot::Language],
    extensions: &'a [crate::model::snapshot::Extension],
) -> Vec<CodeItem<'a>> {
    let langs = languages
        .iter()
        .filter(|l| !l.trusted && !matches!(l.name.as_str(), "c" | "internal"))
        .map(|l| CodeItem {
            name: &l.name,
            language: true,
        });
    let exts = extensions
        .iter()
        .filter(|e| RISKY_EXTENSIONS.contains(&e.name.as_str()))
        .map(|e| CodeItem {
            name: &e.name,
            language: false,
        });
    langs.chain(exts).collect()
}

fn drop_untrusted_code(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let Some((languages, extensions)) = primary_part(s, |d| {
        Some((d.languages.as_deref()?, d.extensions.as_deref()?))
    }) else {
        return missing_facts_plan("languages and extensions");
    };
    let listed = Listed::new(verdict);
    let mut dropped: BTreeSet<&str> = BTreeSet::new();
    let mut plan = FixPlan {
        apply: vec![ApplyClass::Immediate],
        needs: "superuser".into(),
        ..FixPlan::default()
    };
    for item in untrusted_code(languages, extensions) {
        if !listed.contains(item.label().as_str()) || !dropped.insert(item.name) {
            continue;
        }
        match extensions.iter().find(|e| e.name == item.name) {
            Some(ext) => {
                plan.statements.push(Statement::DropExtension {
                    name: ext.name.clone(),
                    if_exists: false,
                });
                plan.rollback.push(Statement::RecreateExtension {
                    name: ext.name.clone(),
                    schema: ext.schema.clone(),
                    version: ext.version.clone(),
                    with: false,
                });
            }
            None => {
                // Languages stay text: this check alone drops and creates them.
                let name = escape_identifier(item.name);
                plan.statements
                    .push(Statement::other(format!("DROP LANGUAGE {name}")));
                plan.rollback
                    .push(Statement::other(format!("CREATE LANGUAGE {name}")));
            }
        }
    }
    let mut note = String::from(
        "without CASCADE a DROP fails while functions, foreign tables or servers use the \
         extension or language: review and remove those first; or approve the item in the \
         policy's approved_extensions",
    );
    // Same judgement as GEN-002's drop: the rollback recreates the extension
    // but not the objects and data it owned, nor grants on them.
    plan.irreversible = plan
        .statements
        .iter()
        .any(|s| matches!(s, Statement::DropExtension { .. }));
    if plan.irreversible {
        note.push_str(
            "; cannot be fully undone: DROP EXTENSION discards the objects it owns, and the \
             rollback recreates the extension but not data those objects held",
        );
    }
    plan.note = with_other_databases(s, &note);
    plan
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{base, db, Case};

    let language = |name: &str, trusted: bool| crate::model::snapshot::Language {
        name: name.into(),
        trusted,
        owner: "postgres".into(),
        acl: Vec::new(),
    };
    let mut good = base();
    db(&mut good).languages = Some(vec![language("c", false), language("plpgsql", true)]);
    let mut bad = base();
    db(&mut bad).languages = Some(vec![
        language("plpgsql", true),
        language("plpython3u", false),
    ]);
    vec![Case::new("PRIV-013", good, bad)]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::checks::testkit::{base, db};
    use crate::model::finding::Status;

    #[test]
    fn untrusted_code_can_be_approved_and_dropped() {
        let mut s = base();
        db(&mut s).languages = Some(vec![crate::model::snapshot::Language {
            name: "plpython3u".into(),
            trusted: false,
            owner: "postgres".into(),
            acl: Vec::new(),
        }]);
        db(&mut s).extensions = Some(vec![
            crate::model::snapshot::Extension {
                name: "plpython3u".into(),
                version: "1.0".into(),
                schema: "pg_catalog".into(),
            },
            crate::model::snapshot::Extension {
                name: "dblink".into(),
                version: "1.2".into(),
                schema: "public".into(),
            },
            crate::model::snapshot::Extension {
                name: "pgcrypto".into(),
                version: "1.3".into(),
                schema: "public".into(),
            },
        ]);
        let v = eval(&UNTRUSTED_CODE_APPROVED, &s, &Policy::default());
        assert_eq!(
            v.objects,
            vec![
                "extension \"dblink\"".to_string(),
                "language \"plpython3u\"".to_string()
            ]
        );
        let plan = UNTRUSTED_CODE_APPROVED.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["DROP EXTENSION \"plpython3u\"", "DROP EXTENSION \"dblink\""]
        );
        assert_eq!(
            plan.rollback[1],
            "CREATE EXTENSION \"dblink\" SCHEMA \"public\" VERSION '1.2'"
        );
        assert!(plan.irreversible, "{plan:?}");
        assert!(
            plan.note.contains("cannot be fully undone"),
            "{}",
            plan.note
        );
        let approved = Policy {
            approved_extensions: Some(vec!["dblink".into(), "plpython3u".into()]),
            ..Policy::default()
        };
        assert_eq!(
            eval(&UNTRUSTED_CODE_APPROVED, &s, &approved).status,
            Status::Pass
        );
    }
}

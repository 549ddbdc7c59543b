//! AUD-001: pgAudit is in shared_preload_libraries and its extension exists
//! in every collected database.

use super::pgaudit_preload;
use crate::checks::facts::{
    connect_grant, describe, library_listed, part_missing, preload_statement, restore_list, value,
};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::model::statement::Statement;
use crate::policy::Policy;

pub static PGAUDIT_LOADED: Check = Check {
    id: "AUD-001",
    section: Section::Audit,
    title: "pgAudit is preloaded and created in each database",
    severity: Severity::High,
    hipaa: &["164.312(b)"],
    cis: Some("3.2"),
    rationale: "Plain PostgreSQL logging cannot say which role read or changed which PHI \
        object; pgAudit can. It only works when it is in shared_preload_libraries (read at \
        start) and the extension exists in the database (its event triggers record DDL \
        objects). Without it there is no activity record for the audit-controls standard, \
        so high. Every collected database is checked, the connected one first.",
    reproduce_sql: "SELECT setting, pending_restart FROM pg_settings WHERE name = 'shared_preload_libraries';\n\
        SELECT extname, extversion FROM pg_extension WHERE extname = 'pgaudit';",
    evaluate: pgaudit_loaded,
    fix: Fix::Build(load_pgaudit),
};

fn pgaudit_loaded(s: &Snapshot, _: &Policy) -> Verdict {
    let (spl, loaded) = match pgaudit_preload(s) {
        Ok(found) => found,
        Err(unknown) => return unknown,
    };
    let seen = describe("shared_preload_libraries", spl);
    if !loaded {
        return Verdict::fail(format!("pgaudit is not in {seen}"));
    }
    let Some(primary) = s.primary_database() else {
        return part_missing(s, "extensions", connect_grant(s, &s.target.dbname));
    };
    if primary.extensions.is_none() {
        return part_missing(s, "extensions", connect_grant(s, &primary.name));
    }
    let missing = databases_without_pgaudit(s);
    if missing.is_empty() {
        Verdict::pass(format!(
            "{seen}; extension pgaudit exists in {}",
            checked_databases(s).join(", ")
        ))
    } else {
        Verdict::fail(format!(
            "{seen}, but extension pgaudit is missing in {} database(s): {}",
            missing.len(),
            missing.join(", ")
        ))
        .with_objects(missing)
    }
}

/// Databases whose extensions were collected.
fn checked_databases(s: &Snapshot) -> Vec<String> {
    s.databases
        .iter()
        .filter(|d| d.extensions.is_some())
        .map(|d| d.name.clone())
        .collect()
}

fn databases_without_pgaudit(s: &Snapshot) -> Vec<String> {
    s.databases
        .iter()
        .filter(|d| {
            d.extensions
                .as_ref()
                .is_some_and(|exts| !exts.iter().any(|e| e.name == "pgaudit"))
        })
        .map(|d| d.name.clone())
        .collect()
}

fn load_pgaudit(s: &Snapshot, _: &Verdict) -> FixPlan {
    let mut plan = FixPlan {
        needs: "superuser".into(),
        ..FixPlan::default()
    };
    let mut notes = Vec::new();
    let current = s.setting("shared_preload_libraries");
    let raw = current.map(value).unwrap_or("");
    if !library_listed(raw, "pgaudit") {
        plan.statements.push(preload_statement(s, "pgaudit"));
        plan.apply.push(ApplyClass::Restart);
        notes.push(format!(
            "keeps the libraries already listed ({}); restart the server before CREATE EXTENSION, \
             which fails until pgaudit is preloaded",
            if raw.is_empty() { "none" } else { raw }
        ));
    }
    let missing = databases_without_pgaudit(s);
    if !missing.is_empty() || plan.statements.is_empty() {
        plan.statements.push(Statement::CreateExtension {
            name: "pgaudit".into(),
        });
        plan.rollback.push(Statement::DropExtension {
            name: "pgaudit".into(),
            if_exists: true,
        });
        plan.apply.push(ApplyClass::Immediate);
        if !missing.is_empty() {
            notes.push(format!(
                "run CREATE EXTENSION in each of: {}",
                missing.join(", ")
            ));
        }
    }
    if plan.apply.contains(&ApplyClass::Restart) {
        plan.rollback
            .push(restore_list(s, "shared_preload_libraries"));
    }
    plan.note = notes.join("; ");
    plan
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::pgaudit_ready;
    use crate::checks::testkit::{db, Case};
    let mut no_extension = pgaudit_ready(&[]);
    db(&mut no_extension).extensions = Some(Vec::new());
    vec![Case::new("AUD-001", pgaudit_ready(&[]), no_extension)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::audit::eval;
    use crate::checks::testkit::{base, db, set_from, with_settings};
    use crate::model::finding::Status;
    use crate::model::settings::split_list;
    use crate::model::statement::set_list_statement;

    #[test]
    fn lists_keep_case_and_quotes_and_find_libraries() {
        assert_eq!(
            split_list(r#" pg_stat_statements, "My Lib", "a""b" ,, "#),
            vec!["pg_stat_statements", "My Lib", "a\"b"]
        );
        assert!(split_list("").is_empty());
        assert!(library_listed("$libdir/pgaudit.so", "pgaudit"));
        assert!(library_listed("\"PGAUDIT\"", "pgaudit"));
        assert!(!library_listed("pgaudit_extra, set_user", "pgaudit"));
    }

    #[test]
    fn preload_fix_appends_one_literal_per_library() {
        let s = with_settings(&[("shared_preload_libraries", "pg_stat_statements, \"My Lib\"")]);
        let v = eval(&PGAUDIT_LOADED, &s);
        assert_eq!(v.status, Status::Fail);
        let plan = PGAUDIT_LOADED.plan(&s, &v);
        assert_eq!(
            plan.statements[0],
            "ALTER SYSTEM SET \"shared_preload_libraries\" = 'pg_stat_statements', 'My Lib', 'pgaudit'"
        );
        assert!(plan
            .statements
            .iter()
            .any(|st| st == "CREATE EXTENSION IF NOT EXISTS pgaudit"));
        assert!(plan.apply.contains(&ApplyClass::Restart));
        assert_eq!(
            plan.rollback,
            vec![
                "DROP EXTENSION IF EXISTS pgaudit".to_string(),
                "ALTER SYSTEM RESET \"shared_preload_libraries\"".to_string()
            ]
        );
    }

    /// Read back the literals of `ALTER SYSTEM SET name = 'a', E'b\\c'`.
    fn literals_of(statement: &str) -> Option<Vec<String>> {
        let (_, list) = statement.split_once(" = ")?;
        let mut items = Vec::new();
        let mut chars = list.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
                chars.next();
            }
            let Some(first) = chars.next() else {
                return Some(items);
            };
            let backslashes = first == 'E';
            if backslashes && chars.next() != Some('\'') || !backslashes && first != '\'' {
                return None;
            }
            let mut item = String::new();
            loop {
                match chars.next()? {
                    '\'' if chars.peek() == Some(&'\'') => {
                        chars.next();
                        item.push('\'');
                    }
                    '\'' => break,
                    '\\' if backslashes => item.push(chars.next()?),
                    c => item.push(c),
                }
            }
            items.push(item);
        }
    }

    proptest::proptest! {
        #[test]
        fn list_statements_quote_every_element(items in proptest::collection::vec(".+", 1..5)) {
            let statement = set_list_statement("shared_preload_libraries", &items);
            proptest::prop_assert_eq!(literals_of(&statement.to_string()), Some(items));
        }
    }

    #[test]
    fn hostile_library_names_stay_inside_literals() {
        let s = with_settings(&[(
            "shared_preload_libraries",
            "\"a'; DROP ROLE x; --\", \"new\nline\", ünï\\code",
        )]);
        let plan = load_pgaudit(&s, &eval(&PGAUDIT_LOADED, &s));
        assert_eq!(
            literals_of(&plan.statements[0].to_string()),
            Some(vec![
                "a'; DROP ROLE x; --".to_string(),
                "new\nline".to_string(),
                "ünï\\code".to_string(),
                "pgaudit".to_string()
            ])
        );
    }

    #[test]
    fn preload_rollback_restores_auto_conf_list() {
        let mut s = base();
        set_from(
            &mut s,
            "shared_preload_libraries",
            "pg_stat_statements",
            "configuration file",
            Some("/d/postgresql.auto.conf"),
        );
        let plan = load_pgaudit(&s, &eval(&PGAUDIT_LOADED, &s));
        assert!(
            plan.rollback
                .iter()
                .any(|st| st
                    == "ALTER SYSTEM SET \"shared_preload_libraries\" = 'pg_stat_statements'")
        );
    }

    #[test]
    fn extensions_not_collected_is_unknown() {
        let mut s = with_settings(&[("shared_preload_libraries", "pgaudit")]);
        db(&mut s).extensions = None;
        assert_eq!(eval(&PGAUDIT_LOADED, &s).status, Status::Unknown);
        let mut hidden = base();
        hidden.settings = None;
        assert_eq!(eval(&PGAUDIT_LOADED, &hidden).status, Status::Unknown);
    }
}

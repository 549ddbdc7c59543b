//! EAR-006: whether a function body or view definition calls pgcrypto with
//! the key written in as a literal.

use super::{databases, in_database, not_collected};
use crate::checks::facts::{listing, settle};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static NO_LITERAL_KEYS: Check = Check {
    id: "EAR-006",
    section: Section::AtRest,
    title: "No encryption key is written into functions or views",
    severity: Severity::High,
    hipaa: &["164.312(a)(2)(iv)"],
    cis: None,
    rationale: "A pgp_sym_encrypt/decrypt call with the key as a literal puts the key in \
        pg_proc.prosrc or the view definition, which every role that can connect may read, \
        and into every dump and backup: the encrypted PHI is then as good as plain text, so \
        high. The key must come from the application or a key store at run time. Function \
        bodies are matched by the collector; they are never copied into evidence.",
    reproduce_sql:
        "SELECT n.nspname, p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
        WHERE p.prosrc ~* 'pgp_(sym|pub)_(en|de)crypt(_bytea)?\\s*\\([^,]+,\\s*(E?''|\\$)'; \
        SELECT schemaname, viewname FROM pg_views \
        WHERE definition ~* 'pgp_(sym|pub)_(en|de)crypt(_bytea)?\\s*\\([^,]+,\\s*''';",
    evaluate: |s, p| settle(no_literal_keys(s, p)),
    fix: Fix::Instructions {
        apply: &[ApplyClass::Immediate],
        note: "rewrite each listed function or view to take the key from the caller (a \
            parameter, or current_setting('app.phi_key') set by the application from its key \
            store) with CREATE OR REPLACE; then rotate the key: the old one has been readable \
            in the catalog and in every dump, so re-encrypt the data under a new key",
    },
};

fn no_literal_keys(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let mut found = Vec::new();
    let mut uncollected = Vec::new();
    let mut functions_read = 0;
    for db in databases(s)? {
        match (&db.functions, &db.views_with_literal_keys) {
            (Some(functions), Some(views)) => {
                functions_read += functions.len();
                found.extend(functions.iter().filter(|f| f.literal_key_in_body).map(|f| {
                    in_database(s, db, &format!("function {}.{}", f.schema, f.signature))
                }));
                found.extend(
                    views
                        .iter()
                        .map(|v| in_database(s, db, &format!("view {v}"))),
                );
            }
            _ => uncollected.push(db.name.clone()),
        }
    }
    if !found.is_empty() {
        return Ok(Verdict::fail(format!(
            "{} function(s) or view(s) call pgcrypto with a literal key: {}",
            found.len(),
            listing(&found)
        ))
        .with_objects(found));
    }
    if !uncollected.is_empty() {
        return Err(not_collected("functions or views", &uncollected));
    }
    Ok(Verdict::pass(format!(
        "{functions_read} function(s) and the views read; none calls pgcrypto with a literal key"
    )))
}

#[cfg(test)]
fn function(signature: &str, literal: bool) -> crate::model::snapshot::Function {
    use crate::model::snapshot::Function;

    Function {
        schema: "public".into(),
        signature: signature.into(),
        owner: "phi_owner".into(),
        language: "plpgsql".into(),
        literal_key_in_body: literal,
        ..Function::default()
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{base, db, Case};

    let mut literal = base();
    db(&mut literal).functions = Some(vec![
        function("decrypt_ssn(bytea)", true),
        function("audit_stamp()", false),
    ]);
    let mut clean = base();
    db(&mut clean).functions = Some(vec![function("audit_stamp()", false)]);

    vec![Case::new("EAR-006", clean, literal)]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::run;
    use super::*;
    use crate::checks::testkit::{base, db};
    use crate::model::finding::Status;

    #[test]
    fn literal_keys_in_views_count_too() {
        let mut s = base();
        db(&mut s).views_with_literal_keys = Some(vec!["public.patient_view".into()]);
        let v = run(&NO_LITERAL_KEYS, &s);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.objects, vec!["view public.patient_view".to_string()]);
    }
}

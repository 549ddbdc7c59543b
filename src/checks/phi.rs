//! Which tables and columns hold PHI under the organisation's policy,
//! shared by every section that asks.
//!
//! The name rule itself (word matching, link keys, the `phi_tables` list
//! syntax) lives in `model::phi_names`, which the drift comparison and the
//! active probes use too; this module adds the policy (`phi_tables`,
//! `not_phi_tables`, and the columns a person confirmed or rejected after
//! discovery, `policy::phi`) and never computes privileges or verdicts.

use crate::model::phi_categories::{name_category, Category, Tier};
pub use crate::model::phi_names::{
    is_encrypted_column, is_patient_link_key, is_phi_name, phi_columns, plaintext_candidates,
    words, Words,
};
use crate::model::phi_names::{phi_columns_listed, table_listed};
use crate::model::snapshot::{Column, Relation};
use crate::policy::phi::Decision;
use crate::policy::Policy;

/// A person's decision about a column of `rel` (or of its parent, whose
/// rows a partition holds). `database` known: that database's decision
/// exactly; unknown: see `Policy::phi_decision`.
fn decision(
    database: Option<&str>,
    rel: &Relation,
    col: &Column,
    policy: &Policy,
) -> Option<Decision> {
    if policy.phi_columns.is_empty() {
        return None;
    }
    let of = |schema: &str, table: &str| match database {
        Some(db) => policy
            .phi_decision_in(db, schema, table, &col.name)
            .map(|d| d.decision),
        None => policy.phi_decision(schema, table, &col.name),
    };
    of(&rel.schema, &rel.name).or_else(|| {
        rel.parent.as_deref().and_then(|p| {
            let (schema, name) = p.split_once('.').unwrap_or(("public", p));
            of(schema, name)
        })
    })
}

/// Whether the table holds PHI. Precedence, most specific first: a column
/// a person confirmed makes the table PHI; otherwise `not_phi_tables`
/// clears it; otherwise `phi_tables`, or a PHI-named column nobody
/// rejected, makes it PHI. A partition or inheritance child follows its
/// parent's listing and decisions: it holds the same rows. Entries are
/// `schema.table`; an entry without a dot means `public.table`.
pub fn is_phi_table(rel: &Relation, policy: &Policy) -> bool {
    is_phi_table_with(None, rel, policy)
}

/// [`is_phi_table`] for a relation of `database`: decisions of other
/// databases do not count.
pub fn is_phi_table_in(database: &str, rel: &Relation, policy: &Policy) -> bool {
    is_phi_table_with(Some(database), rel, policy)
}

fn is_phi_table_with(database: Option<&str>, rel: &Relation, policy: &Policy) -> bool {
    let decided = |c: &Column| decision(database, rel, c, policy);
    if rel
        .columns
        .iter()
        .any(|c| decided(c) == Some(Decision::Confirmed))
    {
        return true;
    }
    if table_listed(rel, &policy.not_phi_tables) {
        return false;
    }
    table_listed(rel, &policy.phi_tables)
        || rel
            .columns
            .iter()
            .any(|c| is_phi_name(&c.name) && decided(c) != Some(Decision::Rejected))
}

/// The PHI relations among `relations`, in their order.
pub fn phi_relations<'a>(
    relations: &'a [Relation],
    policy: &'a Policy,
) -> impl Iterator<Item = &'a Relation> + 'a {
    relations.iter().filter(move |r| is_phi_table(r, policy))
}

/// Whether `policy.phi_tables` names the relation (or its parent) and
/// `policy.not_phi_tables` does not: then every column counts as PHI,
/// because the policy says the table holds PHI that names do not reveal.
pub fn listed_as_phi(rel: &Relation, policy: &Policy) -> bool {
    table_listed(rel, &policy.phi_tables) && !table_listed(rel, &policy.not_phi_tables)
}

/// The columns to treat as PHI, in one pass: confirmed columns always,
/// rejected ones never; of the rest, none when the policy's not_phi_tables
/// lists the table, all of them when its phi_tables does, otherwise those
/// whose names look like PHI. Non-empty exactly when [`is_phi_table`] holds
/// (for tables with at least one undecided or confirmed column).
pub fn phi_columns_under<'r>(rel: &'r Relation, policy: &Policy) -> Vec<&'r Column> {
    if policy.phi_columns.is_empty() {
        return phi_columns_listed(rel, &policy.phi_tables, &policy.not_phi_tables);
    }
    let listed = phi_columns_listed(rel, &policy.phi_tables, &policy.not_phi_tables);
    rel.columns
        .iter()
        .filter(|c| match decision(None, rel, c, policy) {
            Some(Decision::Confirmed) => true,
            Some(Decision::Rejected) => false,
            None => listed.iter().any(|l| std::ptr::eq(*l, *c)),
        })
        .collect()
}

/// A PHI column stored as plain text, with its tier and category for
/// EAR-004.
pub struct PlaintextPhi<'r> {
    pub column: &'r Column,
    pub tier: Tier,
    /// `None` when neither a decision nor the name says which.
    pub category: Option<Category>,
    /// Whether a person confirmed it (rather than the name rule).
    pub confirmed: bool,
}

/// The PHI columns of `rel` (in `database`) not stored as ciphertext:
/// confirmed columns, and name-matched candidates (see
/// [`plaintext_candidates`]) nobody rejected, in a table that holds PHI.
/// The tier comes from the confirmed category, else from the name; a
/// confirmed column of no stated category counts as a direct identifier.
pub fn plaintext_phi_in<'r>(
    database: &str,
    rel: &'r Relation,
    policy: &Policy,
) -> Vec<PlaintextPhi<'r>> {
    if !is_phi_table_in(database, rel, policy) {
        return Vec::new();
    }
    let named = plaintext_candidates(rel);
    rel.columns
        .iter()
        .filter(|c| !is_encrypted_column(c))
        .filter_map(|c| {
            let by_name = name_category(&c.name).map(|m| m.category);
            match decision(Some(database), rel, c, policy) {
                Some(Decision::Rejected) => None,
                Some(Decision::Confirmed) => {
                    let category = confirmed_category(database, rel, c, policy).or(by_name);
                    Some(PlaintextPhi {
                        column: c,
                        tier: category.map_or(Tier::Direct, Category::tier),
                        category,
                        confirmed: true,
                    })
                }
                None if named.iter().any(|n| std::ptr::eq(*n, c)) => Some(PlaintextPhi {
                    column: c,
                    tier: by_name.map_or(Tier::Other, Category::tier),
                    category: by_name,
                    confirmed: false,
                }),
                None => None,
            }
        })
        .collect()
}

fn confirmed_category(
    database: &str,
    rel: &Relation,
    col: &Column,
    policy: &Policy,
) -> Option<Category> {
    policy
        .phi_decision_in(database, &rel.schema, &rel.name, &col.name)
        .and_then(|d| d.category())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::snapshot::Column;

    fn rel(schema: &str, name: &str, cols: &[&str]) -> Relation {
        Relation {
            schema: schema.into(),
            name: name.into(),
            kind: "r".into(),
            columns: cols
                .iter()
                .map(|c| Column {
                    name: (*c).into(),
                    type_name: "text".into(),
                    acl: Vec::new(),
                })
                .collect(),
            ..Relation::default()
        }
    }

    #[test]
    fn policy_lists_override_names_and_follow_parents() {
        let policy = Policy {
            phi_tables: vec!["billing.claims".into()],
            not_phi_tables: vec!["public.patient_lookup".into()],
            ..Policy::default()
        };
        assert!(is_phi_table(
            &rel("billing", "claims", &["amount"]),
            &policy
        ));
        assert!(!is_phi_table(
            &rel("public", "patient_lookup", &["ssn"]),
            &policy
        ));
        assert!(is_phi_table(&rel("public", "people", &["dob"]), &policy));
        assert!(!is_phi_table(&rel("public", "people", &["name"]), &policy));
        let mut part = rel("billing", "claims_2026", &["amount"]);
        part.parent = Some("billing.claims".into());
        part.is_partition = true;
        assert!(is_phi_table(&part, &policy));
        let bare = Policy {
            phi_tables: vec!["visits".into()],
            ..Policy::default()
        };
        assert!(is_phi_table(&rel("public", "visits", &["x"]), &bare));
        assert!(!is_phi_table(&rel("other", "visits", &["x"]), &bare));
    }

    fn typed(schema: &str, name: &str, cols: &[(&str, &str)]) -> Relation {
        let mut r = rel(schema, name, &[]);
        r.columns = cols
            .iter()
            .map(|(n, t)| Column {
                name: (*n).into(),
                type_name: (*t).into(),
                acl: Vec::new(),
            })
            .collect();
        r
    }

    #[test]
    fn integer_and_uuid_patient_keys_are_not_plaintext_phi() {
        let visits = typed(
            "public",
            "visits",
            &[
                ("id", "integer"),
                ("patient_id", "integer"),
                ("PatientUUID", "uuid"),
                ("source_patient_id", "bigint"),
                ("diagnosis", "text"),
            ],
        );
        let names =
            |cols: Vec<&Column>| -> Vec<String> { cols.iter().map(|c| c.name.clone()).collect() };
        assert_eq!(names(plaintext_candidates(&visits)), vec!["diagnosis"]);
        // The table stays PHI for the access checks, key included.
        assert!(is_phi_table(&visits, &Policy::default()));
        assert_eq!(phi_columns_under(&visits, &Policy::default()).len(), 4);
        // Only an integer patient_id: still rows about a patient, so PHI,
        // but nothing to encrypt.
        let only_key = typed("public", "visits", &[("patient_id", "integer")]);
        assert!(is_phi_table(&only_key, &Policy::default()));
        assert!(plaintext_candidates(&only_key).is_empty());
        // Text keys and other identifiers stay candidates whatever their type.
        let texts = typed(
            "public",
            "claims",
            &[
                ("patient_id", "text"),
                ("mrn", "bigint"),
                ("member_id", "text"),
                ("insurance_id", "character varying(20)"),
                ("patient_number", "integer"),
            ],
        );
        assert_eq!(plaintext_candidates(&texts).len(), 5);
    }

    #[test]
    fn phi_columns_and_encryption() {
        let r = rel("public", "patients", &["id", "ssn", "dob", "note"]);
        let names: Vec<&str> = phi_columns(&r).iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["ssn", "dob"]);
        let mut c = r.columns[1].clone();
        assert!(!is_encrypted_column(&c));
        c.type_name = "bytea".into();
        assert!(is_encrypted_column(&c));
        assert_eq!(
            phi_relations(std::slice::from_ref(&r), &Policy::default()).count(),
            1
        );
    }
}

//! The policy's PHI decisions: columns a person confirmed or rejected as
//! PHI after discovery (`[[phi_columns]]`, keyed by
//! `database.schema.table.column`), the categories of "other PHI" the
//! organisation wants encrypted too (`encrypt_phi_categories`, EAR-004), and
//! its own value patterns for discovery (`[[phi_patterns]]`).
//!
//! Precedence (most specific wins): a column decision beats the table lists,
//! which beat the name rule. A confirmed column is PHI even in a table of
//! `not_phi_tables`; a rejected column is not PHI even in a table of
//! `phi_tables` (the table itself stays PHI). Imports `model` only.

use crate::model::phi_categories::Category;
use crate::model::phi_validators::CustomPattern;
use serde::{Deserialize, Serialize};

/// What a person decided about one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Confirmed,
    Rejected,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Confirmed => "confirmed",
            Decision::Rejected => "rejected",
        }
    }
}

/// One reviewed column (`[[phi_columns]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhiDecision {
    /// `database.schema.table.column`.
    pub column: String,
    pub decision: Decision,
    /// The category (as `pgsafeguard discover` names it), for confirmed
    /// columns: it sets the column's tier in EAR-004.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub by: String,
    /// When it was decided (RFC 3339 or ISO date).
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The four parts of a column key, or why it is not one.
pub fn split_column_key(key: &str) -> Result<[&str; 4], String> {
    let parts: Vec<&str> = key.split('.').collect();
    match parts.as_slice() {
        [d, s, t, c] if [d, s, t, c].iter().all(|p| !p.trim().is_empty()) => Ok([d, s, t, c]),
        _ => Err(format!(
            "{:?} is not database.schema.table.column (names with dots cannot be decided here)",
            crate::model::untrusted::name(key)
        )),
    }
}

impl PhiDecision {
    /// Why this decision cannot be used, if it cannot.
    pub fn problem(&self) -> Option<String> {
        if let Err(e) = split_column_key(&self.column) {
            return Some(format!("phi_columns: {e}"));
        }
        let what = format!("phi_columns {}", self.column);
        if self.by.trim().is_empty() {
            return Some(format!("{what}: `by` is empty (say who decided)"));
        }
        if !super::is_date_or_time(&self.at) {
            return Some(format!(
                "{what}: at = {:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 time",
                self.at
            ));
        }
        if let Some(c) = self
            .category
            .as_deref()
            .filter(|c| Category::parse(c).is_none())
        {
            return Some(format!(
                "{what}: category {c:?} is not a discovery category"
            ));
        }
        None
    }

    /// The parsed category.
    pub fn category(&self) -> Option<Category> {
        self.category.as_deref().and_then(Category::parse)
    }

    fn names(&self, schema: &str, table: &str, column: &str) -> bool {
        split_column_key(&self.column)
            .is_ok_and(|[_, s, t, c]| s == schema && t == table && c == column)
    }
}

/// An organisation-defined value pattern (`[[phi_patterns]]`): a regular
/// expression (Rust `regex` syntax) that marks a value as PHI of a category,
/// e.g. the MRN format of the organisation's EHR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhiPattern {
    pub name: String,
    pub category: String,
    pub regex: String,
}

impl PhiPattern {
    pub fn problem(&self) -> Option<String> {
        if Category::parse(&self.category).is_none() {
            return Some(format!(
                "phi_patterns {}: category {:?} is not a discovery category",
                self.name, self.category
            ));
        }
        CustomPattern::new(&self.name, &self.regex).err()
    }
}

impl super::Policy {
    /// The decision about `database.schema.table.column`, exactly.
    pub fn phi_decision_in(
        &self,
        database: &str,
        schema: &str,
        table: &str,
        column: &str,
    ) -> Option<&PhiDecision> {
        self.phi_columns.iter().find(|d| {
            split_column_key(&d.column).is_ok_and(|[db, s, t, c]| {
                db == database && s == schema && t == table && c == column
            })
        })
    }

    /// The decision about `schema.table.column` when the database is not
    /// known to the caller: a confirmation in any database counts (erring
    /// towards PHI); a rejection counts only when no database confirmed it.
    pub fn phi_decision(&self, schema: &str, table: &str, column: &str) -> Option<Decision> {
        let mut found = None;
        for d in self
            .phi_columns
            .iter()
            .filter(|d| d.names(schema, table, column))
        {
            if d.decision == Decision::Confirmed {
                return Some(Decision::Confirmed);
            }
            found = Some(Decision::Rejected);
        }
        found
    }

    /// Whether the policy asks for encryption of `category` even when it is
    /// not a direct identifier.
    pub fn encrypts_category(&self, category: Category) -> bool {
        self.encrypt_phi_categories
            .iter()
            .any(|c| c == category.as_str())
    }

    /// The organisation's patterns, compiled (already validated on load).
    pub fn custom_patterns(&self) -> Vec<CustomPattern> {
        self.phi_patterns
            .iter()
            .filter_map(|p| CustomPattern::new(&p.name, &p.regex).ok())
            .collect()
    }

    /// Problems in the PHI keys, for [`super::Policy::parse`].
    pub(super) fn phi_problem(&self) -> Option<String> {
        if let Some(p) = self.phi_columns.iter().find_map(PhiDecision::problem) {
            return Some(p);
        }
        if let Some(p) = self.phi_patterns.iter().find_map(PhiPattern::problem) {
            return Some(p);
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(d) = self
            .phi_columns
            .iter()
            .find(|d| !seen.insert(d.column.as_str()))
        {
            return Some(format!(
                "two phi_columns decisions for {}: keep one",
                d.column
            ));
        }
        self.encrypt_phi_categories
            .iter()
            .find(|c| Category::parse(c).is_none())
            .map(|c| format!("encrypt_phi_categories: {c:?} is not a discovery category"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Policy;
    use super::*;

    fn policy(text: &str) -> Result<Policy, String> {
        Policy::parse(text, "p.toml").map_err(|e| e.to_string())
    }

    #[test]
    fn decisions_parse_and_are_looked_up() {
        let p = policy(
            r#"
            encrypt_phi_categories = ["birth_date"]
            [[phi_columns]]
            column = "clinic.public.patients.ssn"
            decision = "confirmed"
            category = "ssn"
            by = "privacy officer"
            at = "2026-12-01"
            [[phi_columns]]
            column = "clinic.public.patients.note"
            decision = "rejected"
            by = "privacy officer"
            at = "2026-12-01"
            [[phi_columns]]
            column = "other.public.patients.note"
            decision = "confirmed"
            by = "privacy officer"
            at = "2026-12-01"
            [[phi_patterns]]
            name = "epic mrn"
            category = "mrn"
            regex = "^E[0-9]{7}$"
            "#,
        )
        .unwrap();
        assert_eq!(
            p.phi_decision_in("clinic", "public", "patients", "ssn")
                .map(|d| d.category()),
            Some(Some(Category::Ssn))
        );
        assert_eq!(
            p.phi_decision("public", "patients", "ssn"),
            Some(Decision::Confirmed)
        );
        // Confirmed in another database wins where the database is unknown.
        assert_eq!(
            p.phi_decision("public", "patients", "note"),
            Some(Decision::Confirmed)
        );
        assert_eq!(
            p.phi_decision_in("clinic", "public", "patients", "note")
                .map(|d| d.decision),
            Some(Decision::Rejected)
        );
        assert!(p.encrypts_category(Category::BirthDate));
        assert_eq!(p.custom_patterns().len(), 1);
    }

    #[test]
    fn bad_decisions_are_refused() {
        for (text, says) in [
            ("[[phi_columns]]\ncolumn = \"a.b.c\"\ndecision = \"confirmed\"\nby = \"x\"\nat = \"2026-01-01\"", "not database.schema.table.column"),
            ("[[phi_columns]]\ncolumn = \"a.b.c.d\"\ndecision = \"confirmed\"\nby = \"\"\nat = \"2026-01-01\"", "`by` is empty"),
            ("[[phi_columns]]\ncolumn = \"a.b.c.d\"\ndecision = \"confirmed\"\ncategory = \"x\"\nby = \"y\"\nat = \"2026-01-01\"", "not a discovery category"),
            ("[[phi_patterns]]\nname = \"m\"\ncategory = \"mrn\"\nregex = \"(\"", "not a valid regular expression"),
            ("encrypt_phi_categories = [\"secrets\"]", "not a discovery category"),
        ] {
            let e = policy(text).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }
}

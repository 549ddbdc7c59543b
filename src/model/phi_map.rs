//! The PHI map of `pgsafeguard discover`: what discovery saw of each column
//! (name, type, comments, JSON keys, validator counts) and what it
//! concludes (category, confidence, tier, reasons), per candidate column,
//! plus the tables it could not read.
//!
//! `db::discover` fills the raw facts ([`Seen`]); [`build`] turns them into
//! the map, purely. Nothing here holds a sampled value: tallies are counts,
//! and JSON keys that look like values are masked before they get here.
//! Imports `model::phi_categories` and `model::phi_validators`.

use crate::model::phi_categories::{
    assess, has_context, name_category, Category, Confidence, Reasons, Tier,
};
use crate::model::phi_validators::Tally;
use serde::Serialize;

/// The shown form of a JSON key that itself looks like a value.
pub const MASKED_KEY: &str = "(key masked: looks like a value)";

/// The sampling budget discovery ran with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Budget {
    pub rows_per_table: u32,
    pub max_rows: u64,
    pub table_ms: u64,
    /// `--no-sample`: names, comments and types only.
    pub sample: bool,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            rows_per_table: 200,
            max_rows: 1_000_000,
            table_ms: 200,
            sample: true,
        }
    }
}

/// One column as discovery saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeenColumn {
    pub name: String,
    pub type_name: String,
    pub comment: Option<String>,
    /// Keys found in sampled JSON values (masked when value-like), sorted.
    pub json_keys: Vec<String>,
    /// Validator counts; `None` when the column was not sampled.
    pub tally: Option<Tally>,
}

/// One table as discovery saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeenTable {
    pub schema: String,
    pub name: String,
    pub comment: Option<String>,
    pub schema_comment: Option<String>,
    pub columns: Vec<SeenColumn>,
    /// Rows sampled (0 for an empty table that was read).
    pub rows_read: u64,
    /// Why nothing could be read, when sampling was asked for and failed.
    pub unreadable: Option<Unreadable>,
}

/// Why a table could not be sampled, and the grant that would allow it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unreadable {
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
}

/// Everything discovery saw in one database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seen {
    pub database: String,
    pub tables: Vec<SeenTable>,
}

/// One candidate column of the map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MapColumn {
    /// `database.schema.table.column`, the key of policy decisions.
    pub column: String,
    pub type_name: String,
    pub category: Category,
    pub confidence: Confidence,
    pub tier: Tier,
    pub reasons: Reasons,
    /// JSON keys that named a category (masked when value-like).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub json_keys: Vec<String>,
    /// What the policy already decided (`confirmed`, `rejected`), if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
}

/// A table of which nothing could be read: unknown, never clean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownTable {
    /// `database.schema.table`.
    pub table: String,
    #[serde(flatten)]
    pub why: Unreadable,
}

/// The PHI map (`pgsafeguard.phi_map/1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhiMap {
    pub format: &'static str,
    pub database: String,
    pub budget: Budget,
    pub tables_seen: u64,
    pub columns_seen: u64,
    pub rows_read: u64,
    pub candidates: Vec<MapColumn>,
    pub unknown: Vec<UnknownTable>,
}

/// The map of what was seen; `decision` gives the policy's decision about
/// a `database.schema.table.column` key, if any.
pub fn build(seen: &Seen, budget: Budget, decision: impl Fn(&str) -> Option<String>) -> PhiMap {
    let mut candidates = Vec::new();
    let mut unknown = Vec::new();
    let mut columns_seen = 0u64;
    let mut rows_read = 0u64;
    let empty = Tally::default();
    for table in &seen.tables {
        rows_read += table.rows_read;
        columns_seen += table.columns.len() as u64;
        if let Some(why) = &table.unreadable {
            unknown.push(UnknownTable {
                table: format!("{}.{}.{}", seen.database, table.schema, table.name),
                why: why.clone(),
            });
        }
        let table_context = has_context(&table.name)
            || table.comment.as_deref().is_some_and(has_context)
            || table.schema_comment.as_deref().is_some_and(has_context)
            || has_context(&table.schema);
        // Once per table: wide tables would otherwise cost columns².
        let column_context: Vec<bool> =
            table.columns.iter().map(|c| has_context(&c.name)).collect();
        let context_columns = column_context.iter().filter(|c| **c).count();
        for (i, col) in table.columns.iter().enumerate() {
            let name = name_category(&col.name);
            let comment = col.comment.as_deref().and_then(name_category);
            let key_match = col
                .json_keys
                .iter()
                .filter(|k| k.as_str() != MASKED_KEY)
                .find_map(|k| name_category(k));
            let neighbours = context_columns - usize::from(column_context[i]) > 0;
            let context = table_context || neighbours;
            let tally = col.tally.as_ref().unwrap_or(&empty);
            let Some(assessment) = assess(name.or(key_match), comment, context, tally) else {
                continue;
            };
            let key = format!(
                "{}.{}.{}.{}",
                seen.database, table.schema, table.name, col.name
            );
            let json_keys = col
                .json_keys
                .iter()
                .filter(|k| k.as_str() == MASKED_KEY || name_category(k).is_some())
                .cloned()
                .collect();
            candidates.push(MapColumn {
                decision: decision(&key),
                column: key,
                type_name: col.type_name.clone(),
                category: assessment.category,
                confidence: assessment.confidence,
                tier: assessment.tier,
                reasons: Reasons {
                    name: name.is_some(),
                    comment: comment.is_some(),
                    context,
                    validator_hits: tally.clone(),
                },
                json_keys,
            });
        }
    }
    candidates
        .sort_by(|a, b| (b.confidence, a.tier, &a.column).cmp(&(a.confidence, b.tier, &b.column)));
    PhiMap {
        format: "pgsafeguard.phi_map/1",
        database: seen.database.clone(),
        budget,
        tables_seen: seen.tables.len() as u64,
        columns_seen,
        rows_read,
        candidates,
        unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::phi_validators::Kind;

    fn col(name: &str) -> SeenColumn {
        SeenColumn {
            name: name.into(),
            type_name: "text".into(),
            ..SeenColumn::default()
        }
    }

    #[test]
    fn names_comments_hits_and_unknown_tables() {
        let hits = Tally {
            values: 4,
            hits: [(Kind::Ssn, 4)].into(),
            ..Tally::default()
        };
        let mut hidden = col("ref");
        hidden.tally = Some(hits);
        let mut commented = col("c7");
        commented.comment = Some("the member's date of birth".into());
        let seen = Seen {
            database: "clinic".into(),
            tables: vec![
                SeenTable {
                    schema: "public".into(),
                    name: "patients".into(),
                    columns: vec![col("id"), col("socsec"), hidden, commented],
                    rows_read: 4,
                    ..SeenTable::default()
                },
                SeenTable {
                    schema: "public".into(),
                    name: "locked".into(),
                    columns: vec![col("x")],
                    unreadable: Some(Unreadable {
                        reason: "no SELECT".into(),
                        grant: Some("GRANT SELECT ON public.locked TO s".into()),
                    }),
                    ..SeenTable::default()
                },
            ],
        };
        let map = build(&seen, Budget::default(), |k| {
            (k == "clinic.public.patients.socsec").then(|| "confirmed".to_string())
        });
        let got: Vec<(&str, Category, Confidence)> = map
            .candidates
            .iter()
            .map(|c| (c.column.as_str(), c.category, c.confidence))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "clinic.public.patients.ref",
                    Category::Ssn,
                    Confidence::High
                ),
                (
                    "clinic.public.patients.socsec",
                    Category::Ssn,
                    Confidence::High
                ),
                (
                    "clinic.public.patients.c7",
                    Category::BirthDate,
                    Confidence::High
                ),
            ]
        );
        assert_eq!(map.candidates[1].decision.as_deref(), Some("confirmed"));
        assert_eq!(map.unknown.len(), 1);
        assert_eq!(map.unknown[0].table, "clinic.public.locked");
        assert_eq!(map.rows_read, 4);
    }
}

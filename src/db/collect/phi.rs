//! Value sampling of text columns for SSN-shaped values (EAR-005,
//! `--sample-phi`). Off by default: it reads table contents, PHI included.
//!
//! Values never leave the server: the sample statement returns, per table,
//! how many rows it read and how many values of each column matched, and
//! nothing else. Must not import `checks` (it chooses its columns by type,
//! not by the PHI-name heuristics of the checks).
//!
//! # Behavior
//!
//! 1. The part `phi_sample`, sent in the parts round, lists the candidate
//!    columns: every column of a string type (`typcategory = 'S'`: text,
//!    varchar, char, citext and domains over them, since SSNs hide in notes
//!    fields too) of ordinary tables and partitioned roots outside the
//!    system schemas, with whether the scanner may SELECT it. Partitions are
//!    skipped (their root is read), and plain tables are read with `ONLY`, so
//!    no row is counted twice through inheritance.
//! 2. At most [`COLUMN_CAP`] readable columns are sampled, names that look
//!    like identifiers or free text first. Columns the scanner may not read
//!    are left out of the statement (a query on them would fail as a whole)
//!    and reported as a gap with the grant that would allow them.
//! 3. The sample statement is built here, one `UNION ALL` branch per table,
//!    and sent in the same flight as the final ROLLBACK under its own
//!    savepoint: sampling adds statements but no round trip. It is the one
//!    statement whose text grows with the schema, bounded by the cap.
//!
//! Per table at most [`ROWS_PER_TABLE`] rows are read. Tables estimated at
//! [`BLOCK_SAMPLE_MIN_ROWS`] rows or more are read through
//! `TABLESAMPLE SYSTEM (1)` (random 1 % of the pages, so the rows are not
//! just the oldest ones); smaller tables, never-analysed ones (`reltuples`
//! -1) and partitioned roots are read with a plain `LIMIT`, because a 1 %
//! block sample of a small table usually reads no row at all. Each value is
//! matched on its first [`MAX_CHARS`] characters.
//!
//! A sample that could not cover every text column (some unreadable) and
//! found nothing is withheld (`phi_sample = None`, with the gap), so the
//! check cannot pass on the columns it did not see. Hits are kept: a hit is
//! a finding whatever was left out.

use super::part::{get, user_schema, DecodeError, Part, Staging};
use super::pipeline::PartOutcome;
use crate::model::snapshot::{Gap, PhiSample};
use postgres_protocol::escape::{escape_identifier, escape_literal};
use std::collections::BTreeMap;
use tokio_postgres::Row;

/// The snapshot field this module fills, and the part name of its gaps.
pub(super) const PART: &str = "phi_sample";

/// Most columns one sample statement reads.
pub(super) const COLUMN_CAP: usize = 200;

/// Most rows read from one table.
pub(super) const ROWS_PER_TABLE: u32 = 1000;

/// From this estimated size on, a table is read through a 1 % block sample.
pub(super) const BLOCK_SAMPLE_MIN_ROWS: f64 = 100_000.0;

/// Characters of each value that are matched.
pub(super) const MAX_CHARS: u32 = 16_384;

/// An SSN-shaped value: the whole value as `123-45-6789` or `123456789`, or
/// `123-45-6789` anywhere in free text between non-digits. PostgreSQL ARE
/// syntax; `[0-9]` rather than `\d`, which would also match other scripts'
/// digits.
pub(super) const SSN_PATTERN: &str = "^[0-9]{3}-?[0-9]{2}-?[0-9]{4}$\
     |(^|[^0-9])[0-9]{3}-[0-9]{2}-[0-9]{4}([^0-9]|$)";

/// Column names sampled first when there are more columns than the cap.
const LIKELY_NAMES: &str = "ssn|social|tax|note|comment|remark|memo|desc|narrat|message|text";

/// One text column that may be sampled.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Candidate {
    pub table_oid: u32,
    pub schema: String,
    pub table: String,
    /// `r` ordinary table, `p` partitioned root.
    pub kind: String,
    pub column: String,
    /// `pg_class.reltuples`: -1 when never analysed.
    pub estimated_rows: f64,
}

/// What the `phi_sample` part found.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Candidates {
    /// Readable columns chosen for the sample (at most [`COLUMN_CAP`]).
    pub columns: Vec<Candidate>,
    /// Readable text columns in the database.
    pub readable: u64,
    /// Text columns the scanner may not SELECT, and their tables.
    pub unreadable: u64,
    pub unreadable_tables: u64,
}

/// The list of candidate columns; always at least one row (the totals).
pub(super) fn candidates_part() -> Part {
    Part::new(PART, candidates_sql(), store_candidates)
}

fn candidates_sql() -> String {
    format!(
        "WITH col AS ( \
           SELECT c.oid, n.nspname::text AS schema, c.relname::text AS table_name, \
                  c.relkind::text AS kind, a.attname::text AS column_name, a.attnum, \
                  c.reltuples::float8 AS reltuples, \
                  pg_catalog.has_column_privilege(c.oid, a.attnum, 'SELECT') AS readable, \
                  a.attname::text ~* {likely} AS likely \
           FROM pg_catalog.pg_attribute a \
           JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
           JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
           WHERE a.attnum > 0 AND NOT a.attisdropped AND t.typcategory = 'S' \
           AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND {schemas}), \
         picked AS ( \
           SELECT * FROM col WHERE readable \
           ORDER BY likely DESC, schema, table_name, attnum LIMIT {COLUMN_CAP}) \
         SELECT p.oid, p.schema, p.table_name, p.kind, p.column_name, p.reltuples, \
                (SELECT count(*) FROM col WHERE readable) AS readable_total, \
                (SELECT count(*) FROM col WHERE NOT readable) AS unreadable_total, \
                (SELECT count(DISTINCT oid) FROM col WHERE NOT readable) AS unreadable_tables \
         FROM (SELECT 1) AS one LEFT JOIN picked p ON true \
         ORDER BY p.schema, p.table_name, p.attnum",
        likely = escape_literal(LIKELY_NAMES),
        schemas = user_schema("n.nspname"),
    )
}

fn store_candidates(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let mut found = Candidates::default();
    for row in rows {
        found.readable = count(row, "readable_total")?;
        found.unreadable = count(row, "unreadable_total")?;
        found.unreadable_tables = count(row, "unreadable_tables")?;
        // The totals row of an empty list has no column.
        let Some(table_oid) = get::<Option<u32>>(row, "oid")? else {
            continue;
        };
        found.columns.push(Candidate {
            table_oid,
            schema: get(row, "schema")?,
            table: get(row, "table_name")?,
            kind: get(row, "kind")?,
            column: get(row, "column_name")?,
            estimated_rows: get(row, "reltuples")?,
        });
    }
    staging.phi_candidates = Some(found);
    Ok(())
}

fn count(row: &Row, column: &str) -> Result<u64, DecodeError> {
    Ok(u64::try_from(get::<i64>(row, column)?).unwrap_or(0))
}

/// The sample statement and the columns its rows answer for.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SamplePlan {
    pub sql: String,
    /// Per `UNION ALL` branch, in order: `schema.table.column` of each
    /// column, in the order of its `hits` array.
    tables: Vec<Vec<String>>,
}

/// The statement sampling the chosen columns; `None` when there are none.
pub(super) fn plan(candidates: &Candidates) -> Option<SamplePlan> {
    let mut by_table: BTreeMap<(&str, &str, u32), Vec<&Candidate>> = BTreeMap::new();
    for candidate in candidates.columns.iter().take(COLUMN_CAP) {
        by_table
            .entry((&candidate.schema, &candidate.table, candidate.table_oid))
            .or_default()
            .push(candidate);
    }
    if by_table.is_empty() {
        return None;
    }
    let pattern = escape_literal(SSN_PATTERN);
    let mut branches = Vec::with_capacity(by_table.len());
    let mut tables = Vec::with_capacity(by_table.len());
    for (index, columns) in by_table.values().enumerate() {
        branches.push(table_branch(index, columns, &pattern));
        tables.push(
            columns
                .iter()
                .map(|c| format!("{}.{}.{}", c.schema, c.table, c.column))
                .collect(),
        );
    }
    Some(SamplePlan {
        sql: branches.join(" UNION ALL "),
        tables,
    })
}

/// `SELECT i, rows read, ARRAY[hits per column] FROM (bounded sample) s`.
fn table_branch(index: usize, columns: &[&Candidate], pattern: &str) -> String {
    let Some(first) = columns.first() else {
        return String::new();
    };
    let values: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "pg_catalog.substr({}::text, 1, {MAX_CHARS}) AS c{i}",
                escape_identifier(&c.column)
            )
        })
        .collect();
    let hits: Vec<String> = (0..columns.len())
        .map(|i| format!("count(*) FILTER (WHERE s.c{i} ~ {pattern})"))
        .collect();
    let only = if first.kind == "p" { "" } else { "ONLY " };
    let sampling = if first.estimated_rows >= BLOCK_SAMPLE_MIN_ROWS {
        " TABLESAMPLE SYSTEM (1)"
    } else {
        ""
    };
    format!(
        "SELECT {index}::int4 AS t, count(*)::int8 AS rows_read, ARRAY[{hits}]::int8[] AS hits \
         FROM (SELECT {values} FROM {only}{schema}.{table}{sampling} LIMIT {ROWS_PER_TABLE}) AS s",
        hits = hits.join(", "),
        values = values.join(", "),
        schema = escape_identifier(&first.schema),
        table = escape_identifier(&first.table),
    )
}

/// Turns the sample's rows into counts; `columns_with_hits` sorted.
pub(super) fn read_sample(plan: &SamplePlan, rows: &[Row]) -> Result<PhiSample, DecodeError> {
    let mut sample = PhiSample {
        columns_sampled: u32::try_from(plan.tables.iter().map(Vec::len).sum::<usize>())
            .unwrap_or(u32::MAX),
        ..PhiSample::default()
    };
    for row in rows {
        let index: i32 = get(row, "t")?;
        let rows_read: i64 = get(row, "rows_read")?;
        let hits: Vec<i64> = get(row, "hits")?;
        let columns = usize::try_from(index)
            .ok()
            .and_then(|i| plan.tables.get(i))
            .filter(|columns| columns.len() == hits.len())
            .ok_or(DecodeError::RowCount(hits.len()))?;
        sample.rows_read += u64::try_from(rows_read).unwrap_or(0);
        for (name, hit) in columns.iter().zip(hits) {
            let hit = u64::try_from(hit).unwrap_or(0);
            if hit > 0 {
                sample.ssn_like_hits += hit;
                sample.columns_with_hits.push(name.clone());
            }
        }
    }
    sample.columns_with_hits.sort();
    Ok(sample)
}

/// The sample as the snapshot should hold it, and the gaps that qualify it.
///
/// `outcome` is the sample statement's result (`None` when nothing was
/// sent). `role` is the scanner; `version` chooses the grant.
pub(super) fn settle(
    candidates: &Candidates,
    plan: Option<&SamplePlan>,
    outcome: Option<PartOutcome>,
    role: &str,
    version: u32,
) -> (Option<PhiSample>, Vec<Gap>) {
    let mut gaps = Vec::new();
    let sample = match (plan, outcome) {
        (None, _) => Some(PhiSample::default()),
        (Some(plan), Some(Ok(rows))) => match read_sample(plan, &rows) {
            Ok(sample) => Some(sample),
            Err(error) => {
                gaps.push(super::gaps::undecodable_part(PART, &error));
                None
            }
        },
        (Some(_), Some(Err(failure))) => {
            gaps.push(super::gaps::failed_part(PART, failure, role));
            None
        }
        (Some(_), None) => None,
    };
    if candidates.readable > candidates.columns.len() as u64 {
        gaps.push(capped(candidates));
    }
    if candidates.unreadable == 0 {
        return (sample, gaps);
    }
    gaps.push(unreadable(candidates, role, version));
    // A partial sample may only speak when it found something.
    let sample = sample.filter(|s| s.ssn_like_hits > 0);
    (sample, gaps)
}

/// More readable text columns than the cap: the rest were not read.
fn capped(candidates: &Candidates) -> Gap {
    Gap {
        part: PART.into(),
        sqlstate: None,
        message: format!(
            "sampled {} of {} readable text columns (the cap per scan); the others were \
             not read",
            candidates.columns.len(),
            candidates.readable
        ),
        grant: None,
    }
}

/// Text columns the scanner may not SELECT were left out of the sample.
fn unreadable(candidates: &Candidates, role: &str, version: u32) -> Gap {
    let role = escape_identifier(role);
    let (hint, grant) = if version >= 140_000 {
        ("", Some(format!("GRANT pg_read_all_data TO {role}")))
    } else {
        (
            "; grant SELECT on those tables or scan as their owner",
            None,
        )
    };
    Gap {
        part: PART.into(),
        sqlstate: Some("42501".into()),
        message: format!(
            "the scanner may not read {} text columns in {} tables, so they were not \
             sampled{hint}",
            candidates.unreadable, candidates.unreadable_tables
        ),
        grant,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::db::collect::pipeline::PartFailure;

    fn candidate(table: &str, column: &str, rows: f64) -> Candidate {
        Candidate {
            table_oid: table.len() as u32,
            schema: "public".into(),
            table: table.into(),
            kind: "r".into(),
            column: column.into(),
            estimated_rows: rows,
        }
    }

    fn candidates(columns: Vec<Candidate>) -> Candidates {
        Candidates {
            readable: columns.len() as u64,
            columns,
            ..Candidates::default()
        }
    }

    #[test]
    fn one_branch_per_table_with_quoted_names() {
        let found = candidates(vec![
            candidate("patients", "ssn", 10.0),
            candidate("patients", "notes", 10.0),
            candidate("visits\"; DROP TABLE x; --", "free text", 10.0),
        ]);
        let plan = plan(&found).unwrap();
        assert_eq!(plan.sql.matches(" UNION ALL ").count(), 1, "{}", plan.sql);
        assert!(plan
            .sql
            .contains("FROM ONLY \"public\".\"patients\" LIMIT 1000"));
        assert!(plan
            .sql
            .contains("\"public\".\"visits\"\"; DROP TABLE x; --\""));
        assert!(plan.sql.contains("\"free text\"::text"));
        assert_eq!(
            plan.tables[0],
            ["public.patients.ssn", "public.patients.notes"]
        );
    }

    #[test]
    fn block_sample_only_for_large_tables() {
        let small = plan(&candidates(vec![candidate("a", "x", 99_999.0)])).unwrap();
        assert!(!small.sql.contains("TABLESAMPLE"));
        let never_analysed = plan(&candidates(vec![candidate("a", "x", -1.0)])).unwrap();
        assert!(!never_analysed.sql.contains("TABLESAMPLE"));
        let large = plan(&candidates(vec![candidate("a", "x", 100_000.0)])).unwrap();
        assert!(large.sql.contains("TABLESAMPLE SYSTEM (1) LIMIT 1000"));
    }

    #[test]
    fn partitioned_roots_are_read_with_their_partitions() {
        let mut root = candidate("events", "note", 0.0);
        root.kind = "p".into();
        let plan = plan(&candidates(vec![root])).unwrap();
        assert!(plan.sql.contains("FROM \"public\".\"events\""));
        assert!(!plan.sql.contains("ONLY"));
    }

    #[test]
    fn the_statement_returns_counts_only() {
        let plan = plan(&candidates(vec![candidate("p", "ssn", 1.0)])).unwrap();
        let outer = plan.sql.split(" FROM (").next().unwrap();
        assert_eq!(
            outer,
            format!(
                "SELECT 0::int4 AS t, count(*)::int8 AS rows_read, \
                 ARRAY[count(*) FILTER (WHERE s.c0 ~ {})]::int8[] AS hits",
                escape_literal(SSN_PATTERN)
            )
        );
    }

    #[test]
    fn no_columns_means_no_statement_and_an_empty_sample() {
        let found = Candidates::default();
        assert_eq!(plan(&found), None);
        let (sample, gaps) = settle(&found, None, None, "scanner", 150_000);
        assert_eq!(sample, Some(PhiSample::default()));
        assert!(gaps.is_empty());
    }

    #[test]
    fn unreadable_columns_withhold_a_clean_sample() {
        let mut found = candidates(vec![candidate("a", "x", 1.0)]);
        found.unreadable = 3;
        found.unreadable_tables = 1;
        let plan = plan(&found).unwrap();
        let (sample, gaps) = settle(&found, Some(&plan), Some(Ok(vec![])), "scan er", 150_000);
        assert_eq!(sample, None);
        assert_eq!(gaps.len(), 1);
        assert_eq!(gaps[0].part, "phi_sample");
        assert_eq!(
            gaps[0].grant.as_deref(),
            Some("GRANT pg_read_all_data TO \"scan er\"")
        );
        assert!(gaps[0].message.contains("3 text columns in 1 tables"));
        let (_, old) = settle(&found, Some(&plan), Some(Ok(vec![])), "s", 130_000);
        assert_eq!(old[0].grant, None);
    }

    #[test]
    fn failed_sample_is_a_gap_not_a_pass() {
        let found = candidates(vec![candidate("a", "x", 1.0)]);
        let plan = plan(&found).unwrap();
        let failure = PartFailure {
            sqlstate: Some("57014".into()),
            message: "canceling statement due to statement timeout".into(),
        };
        let (sample, gaps) = settle(&found, Some(&plan), Some(Err(failure)), "s", 150_000);
        assert_eq!(sample, None);
        assert_eq!(gaps[0].sqlstate.as_deref(), Some("57014"));
    }

    #[test]
    fn more_columns_than_the_cap_is_said() {
        let mut found = candidates(vec![candidate("a", "x", 1.0)]);
        found.readable = 500;
        let plan = plan(&found).unwrap();
        let (_, gaps) = settle(&found, Some(&plan), Some(Ok(vec![])), "s", 150_000);
        assert!(gaps[0].message.contains("sampled 1 of 500"), "{gaps:?}");
    }

    #[test]
    fn cap_bounds_the_statement() {
        let many: Vec<Candidate> = (0..COLUMN_CAP + 50)
            .map(|i| Candidate {
                table_oid: i as u32,
                table: format!("t{i}"),
                ..candidate("t", "c", 1.0)
            })
            .collect();
        let plan = plan(&candidates(many)).unwrap();
        assert_eq!(plan.tables.len(), COLUMN_CAP);
    }
}

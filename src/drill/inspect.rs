//! What the recovered server shows: where replay ended, the last replayed
//! transaction's time, the databases and the row counts of tables that look
//! like PHI (counts only: no row is ever read); and the drill server's log,
//! read for the damage PostgreSQL reports only as a LOG line.

use super::wal::{Lsn, Segment};
use crate::db::connect::connect;
use crate::db::conninfo::ConnParams;
use crate::model::drill::{RestoredDatabase, TableCount};
use crate::model::phi_names::is_phi_name;
use crate::model::untrusted;
use postgres_protocol::escape::escape_identifier;

/// The recovered server's answers.
#[derive(Debug, Clone, Default)]
pub struct Inspection {
    pub replay_end: Option<Lsn>,
    /// RFC 3339, UTC.
    pub last_xact: Option<String>,
    pub databases: Vec<RestoredDatabase>,
    /// Tables whose count failed, with the reason.
    pub uncounted: Vec<String>,
}

const STATE_SQL: &str = "SELECT pg_last_wal_replay_lsn()::text, \
     to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', \
             'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";

const DATABASES_SQL: &str = "SELECT datname::text FROM pg_database \
     WHERE datallowconn AND NOT datistemplate ORDER BY 1";

/// Tables (plain and partitioned parents) with their column names.
const TABLES_SQL: &str = "SELECT n.nspname::text, c.relname::text, \
       array_agg(a.attname::text ORDER BY a.attnum) \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
       AND n.nspname NOT LIKE 'pg\\_toast%' \
     GROUP BY 1, 2 ORDER BY 1, 2";

/// Asks the recovered server where replay ended and which databases it has (no counts yet:
/// see [`count`]); `Err` when it cannot be reached at all.
pub async fn state(admin: &ConnParams) -> Result<Inspection, String> {
    let session = connect(admin)
        .await
        .map_err(|e| format!("cannot connect to the recovered server: {e}"))?;
    let row = session
        .client
        .query_one(STATE_SQL, &[])
        .await
        .map_err(|e| format!("cannot read the recovery state: {e}"))?;
    let mut found = Inspection {
        replay_end: row
            .get::<_, Option<String>>(0)
            .as_deref()
            .and_then(Lsn::parse),
        last_xact: row.get(1),
        ..Inspection::default()
    };
    let names: Vec<String> = session
        .client
        .query(DATABASES_SQL, &[])
        .await
        .map_err(|e| format!("cannot list the databases: {e}"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    session.close().await;
    found.databases = names
        .into_iter()
        .map(|name| RestoredDatabase {
            name,
            phi_tables: Vec::new(),
        })
        .collect();
    Ok(found)
}

/// Counts the rows of the tables that look like PHI in each database of `found`. Reading a
/// freshly restored table sets hint bits on its pages (with checksums, a full-page image in
/// the WAL each): the caller discards the server afterwards rather than checkpointing them.
pub async fn count(admin: &ConnParams, found: &mut Inspection) {
    for database in &mut found.databases {
        let name = database.name.clone();
        let params = ConnParams {
            dbname: name.clone(),
            ..admin.clone()
        };
        if let Err(e) = count_phi_tables(&params, &mut database.phi_tables).await {
            found
                .uncounted
                .push(format!("{}: {e}", untrusted::name(&name)));
        }
    }
}

async fn count_phi_tables(params: &ConnParams, out: &mut Vec<TableCount>) -> Result<(), String> {
    let session = connect(params).await.map_err(|e| e.to_string())?;
    let tables = session
        .client
        .query(TABLES_SQL, &[])
        .await
        .map_err(|e| e.to_string())?;
    for table in tables {
        let (schema, name, columns): (String, String, Vec<String>) =
            (table.get(0), table.get(1), table.get(2));
        if !is_phi_name(&name) && !columns.iter().any(|c| is_phi_name(c)) {
            continue;
        }
        let sql = format!(
            "SELECT count(*) FROM {}.{}",
            escape_identifier(&schema),
            escape_identifier(&name)
        );
        let rows: i64 = session
            .client
            .query_one(&sql, &[])
            .await
            .map_err(|e| format!("{schema}.{name}: {e}"))?
            .get(0);
        out.push(TableCount {
            schema,
            table: name,
            rows,
        });
    }
    session.close().await;
    Ok(())
}

/// Log messages that mean WAL was damaged or unreadable (PostgreSQL 12–18
/// wordings), or that a data page failed its checksum.
const DAMAGE: [&str; 10] = [
    "invalid record length",
    "invalid magic number",
    "invalid resource manager id",
    "incorrect resource manager data checksum",
    "record with incorrect prev-link",
    "invalid contrecord",
    "invalid record offset",
    "there is no contrecord flag",
    "page verification failed",
    "invalid page in block",
];

/// The first log line that reports damage before the archive's end, as
/// (the file it names or points into, the line). PostgreSQL writes
/// `invalid record length … got 0` where WAL simply ends; such a line at or
/// past the archive's last record is the normal end, not damage.
pub fn first_damage(
    log: &str,
    last_record: Lsn,
    timeline: u32,
    segment_size: u64,
) -> Option<(String, String)> {
    for line in log.lines() {
        let lower = line.to_ascii_lowercase();
        if !DAMAGE.iter().any(|d| lower.contains(d)) {
            continue;
        }
        let named_segment = line
            .split(|c: char| !c.is_ascii_hexdigit())
            .find_map(|w| Segment::parse(w, segment_size));
        let position = line
            .split_whitespace()
            .filter_map(|w| Lsn::parse(w.trim_end_matches([':', ',', ')'])))
            .next()
            .or_else(|| named_segment.map(|s| s.start(segment_size)));
        if position.is_some_and(|at| at > last_record) {
            continue;
        }
        let file = named_segment
            .or_else(|| {
                position.map(|at| Segment {
                    timeline,
                    segno: at.segno(segment_size),
                })
            })
            .map(|s| s.file_name(segment_size))
            .unwrap_or_else(|| String::from("(no file named)"));
        return Some((file, untrusted::shown(line.trim(), 300)));
    }
    None
}

/// Why the server stopped before it was ready, in our words where we know
/// PostgreSQL's.
pub fn why_recovery_stopped(log: &str) -> String {
    let fatal = log
        .lines()
        .rev()
        .find(|l| l.contains("FATAL") || l.contains("PANIC"))
        .unwrap_or("")
        .trim();
    let ours = if fatal.contains("recovery ended before configured recovery target was reached") {
        "the archive ends before the target time: recovery could not reach it"
    } else if fatal.contains("before consistent recovery point") {
        "the target time is before the end of the base backup"
    } else if fatal.contains("could not locate required checkpoint record")
        || fatal.contains("could not locate a valid checkpoint record")
    {
        "the backup's start checkpoint is not in the archive or the copy's pg_wal"
    } else {
        "recovery stopped"
    };
    match fatal.is_empty() {
        true => ours.to_string(),
        false => format!("{ours} (server log: {})", untrusted::shown(fatal, 300)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: u64 = 16 * 1024 * 1024;

    #[test]
    fn the_end_of_wal_is_not_damage_but_a_checksum_before_it_is() {
        let end = Lsn::parse("0/5000060").unwrap();
        let normal = "LOG:  invalid record length at 0/6000110: wanted 24, got 0\n";
        assert_eq!(first_damage(normal, end, 1, SIZE), None);
        let bad = "LOG:  incorrect resource manager data checksum in record at 0/3000A28\n";
        let (file, line) = first_damage(bad, end, 1, SIZE).unwrap();
        assert_eq!(file, "000000010000000000000003");
        assert!(line.contains("checksum"));
        let magic =
            "LOG:  invalid magic number 0000 in log segment 000000010000000000000004, offset 0";
        assert_eq!(
            first_damage(magic, end, 1, SIZE).unwrap().0,
            "000000010000000000000004"
        );
        assert_eq!(
            first_damage("LOG:  redo done at 0/5000060\n", end, 1, SIZE),
            None
        );
    }

    #[test]
    fn known_fatals_are_said_in_our_words() {
        let log = "LOG:  x\nFATAL:  recovery ended before configured recovery target was reached\n";
        assert!(why_recovery_stopped(log).starts_with("the archive ends before the target time"));
        assert_eq!(why_recovery_stopped(""), "recovery stopped");
    }
}

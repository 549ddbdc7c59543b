//! The embedded evidence store: one SQLite file (WAL mode) in the platform
//! data folder, or where `--store PATH` says.
//!
//! Appends run in `BEGIN IMMEDIATE` with a busy timeout, so two writers (the
//! desktop app and a CLI run) queue instead of forking the chain; a writer
//! killed mid-append leaves an uncommitted transaction that SQLite rolls back.

use super::record::{seal, ChainHead, Draft, Record, RecordKind};
use super::{Backend, RecordFilter, StoreError};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

/// `PRAGMA application_id` of our stores ("pgsg"): another program's SQLite
/// file is refused instead of being written into.
const APPLICATION_ID: i64 = 0x7067_7367;

/// The layout this build writes. Each step of [`MIGRATIONS`] brings a store
/// one version up; a new store runs them all.
pub const SCHEMA_VERSION: i64 = 2;

const MIGRATIONS: [&str; 2] = [
    // 1: records chained by hash, parts addressed by their SHA-256.
    // (A rowid table: parts are appended in order and pack densely; keyed by
    // the random-looking hash they would scatter over half-full pages.)
    "CREATE TABLE parts (id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, body BLOB NOT NULL);
     CREATE TABLE records (
         seq INTEGER PRIMARY KEY,
         kind TEXT NOT NULL,
         target TEXT NOT NULL,
         at TEXT NOT NULL,
         body TEXT NOT NULL,
         prev TEXT NOT NULL,
         hash TEXT NOT NULL UNIQUE);
     CREATE INDEX records_by_target ON records (target, seq);",
    // 2: audit-period reports select by kind and time.
    "CREATE INDEX records_by_kind_time ON records (kind, at);",
];

pub struct SqliteBackend {
    conn: Connection,
}

impl SqliteBackend {
    /// Open (creating when missing) the store at `path`, migrating an older
    /// layout and refusing a newer one.
    pub fn open(path: &Path) -> Result<SqliteBackend, StoreError> {
        let shown = path.display().to_string();
        let open_error = |message: String| StoreError::Open {
            location: shown.clone(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_error(e.to_string()))?;
        }
        // Create the file ourselves so it is private from the first byte.
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| open_error(e.to_string()))?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_error(e.to_string()))?;
        conn.busy_timeout(Duration::from_secs(15))
            .map_err(|e| open_error(e.to_string()))?;
        let mut backend = SqliteBackend { conn };
        backend.prepare().map_err(|e| match e {
            StoreError::Database(message) => open_error(message),
            other => other,
        })?;
        Ok(backend)
    }

    fn prepare(&mut self) -> Result<(), StoreError> {
        let app_id: i64 = self
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))?;
        let tables: i64 = self.conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?;
        if app_id != APPLICATION_ID && (app_id != 0 || tables > 0) {
            return Err(StoreError::Database(
                "it is an SQLite file of another program, not a pgSafeguard evidence store".into(),
            ));
        }
        // Refuse a newer layout before anything (even the journal mode) changes the file.
        let found = self.schema_version()?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::Newer {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        self.conn
            .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        self.migrate()
    }

    /// Bring the layout up to [`SCHEMA_VERSION`] in one transaction.
    fn migrate(&mut self) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::Newer {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        for step in MIGRATIONS.iter().skip(found.max(0) as usize) {
            tx.execute_batch(step)?;
        }
        if found < SCHEMA_VERSION {
            tx.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
            ))?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The layout version on disk (for tests of migration).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }
}

fn head_of(conn: &Connection) -> Result<Option<ChainHead>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1",
            [],
            |r| {
                Ok(ChainHead {
                    seq: r.get::<_, i64>(0)? as u64,
                    hash: r.get(1)?,
                })
            },
        )
        .optional()?)
}

impl Backend for SqliteBackend {
    fn append(&mut self, draft: &Draft) -> Result<Record, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let record = seal(head_of(&tx)?.as_ref(), draft);
        {
            let mut insert_part =
                tx.prepare_cached("INSERT OR IGNORE INTO parts (hash, body) VALUES (?1, ?2)")?;
            for (address, bytes) in &draft.parts {
                insert_part.execute(params![address, bytes])?;
            }
        }
        tx.execute(
            "INSERT INTO records (seq, kind, target, at, body, prev, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                record.seq as i64,
                record.kind.as_str(),
                record.target,
                record.at,
                record.body,
                record.prev,
                record.hash
            ],
        )?;
        tx.commit()?;
        Ok(record)
    }

    fn head(&mut self) -> Result<Option<ChainHead>, StoreError> {
        head_of(&self.conn)
    }

    fn records(&mut self, filter: &RecordFilter) -> Result<Vec<Record>, StoreError> {
        // Two statements, so that "the newest" walks the (target, seq) index
        // backwards instead of sorting every record.
        let sql = if filter.newest && filter.target.is_some() {
            "SELECT seq, kind, target, at, body, prev, hash FROM records
             WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR seq = ?2) AND target = ?3
             ORDER BY target DESC, seq DESC LIMIT 1"
        } else if filter.newest {
            "SELECT seq, kind, target, at, body, prev, hash FROM records
             WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR seq = ?2) AND ?3 IS NULL
             ORDER BY seq DESC LIMIT 1"
        } else {
            "SELECT seq, kind, target, at, body, prev, hash FROM records
             WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR seq = ?2)
               AND (?3 IS NULL OR target = ?3)
             ORDER BY seq"
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let kind = filter.kind.map(RecordKind::as_str);
        let seq = filter.seq.map(|s| s as i64);
        let rows = stmt.query_map(params![kind, seq, filter.target], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?;
        let mut records = Vec::new();
        for row in rows {
            let (seq, kind, target, at, body, prev, hash) = row?;
            let kind = RecordKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("record #{seq} has an unknown kind")))?;
            records.push(Record {
                seq: seq as u64,
                kind,
                target,
                at,
                body,
                prev,
                hash,
            });
        }
        Ok(records)
    }

    fn part(&mut self, address: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT body FROM parts WHERE hash = ?1")?;
        Ok(stmt.query_row([address], |r| r.get(0)).optional()?)
    }

    fn each_part(&mut self, visit: &mut dyn FnMut(&str, &[u8])) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare("SELECT hash, body FROM parts")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let address: String = row.get(0)?;
            let bytes = row.get_ref(1)?.as_bytes().map_err(rusqlite::Error::from)?;
            visit(&address, bytes);
        }
        Ok(())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_one_store_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = 1;"
            ))
            .unwrap();
        }
        let backend = SqliteBackend::open(&path).unwrap();
        assert_eq!(backend.schema_version().unwrap(), SCHEMA_VERSION);
        let index: i64 = backend
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'records_by_kind_time'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(index, 1);
    }

    #[test]
    fn a_newer_store_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = 99;"
            ))
            .unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let err = SqliteBackend::open(&path).err().unwrap();
        assert!(matches!(err, StoreError::Newer { found: 99, .. }), "{err}");
        assert!(err.to_string().contains("newer"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn another_programs_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.sqlite");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE songs (title TEXT)")
            .unwrap();
        let err = SqliteBackend::open(&path).err().unwrap();
        assert!(err.to_string().contains("another program"), "{err}");
    }

    #[test]
    fn the_store_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        SqliteBackend::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o}");
    }
}

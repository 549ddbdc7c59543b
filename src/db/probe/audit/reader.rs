//! Reading the end of the server's current log file, two ways:
//!
//! - through the server: `pg_current_logfile(format)` and
//!   `pg_read_file(path, offset, length)`, where the scanner may EXECUTE both
//!   (superusers may; others need the grant, see [`grant`]);
//! - from this machine's files, when the server runs here (the snapshot has
//!   host facts): the data directory's `current_logfiles` names the file.
//!
//! Only the last [`TAIL_BYTES`] of the file are read on each poll: the
//! probe's line is written moments before. Part of `db::probe`.

use super::log::Format;
use crate::db::probe::sql_session::{error_text, sqlstate};
use crate::model::snapshot::Snapshot;
use postgres_protocol::escape::escape_identifier;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use tokio_postgres::Client;

/// How much of the end of the log one poll reads.
pub const TAIL_BYTES: i64 = 1 << 20;

/// Where the log is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSource {
    /// `pg_read_file` of this path (as the server names it).
    Server { path: String, whole_file: bool },
    /// A file on this machine.
    Host { path: PathBuf },
}

impl LogSource {
    /// For a proof: how the log was read.
    pub fn describe(&self) -> String {
        match self {
            LogSource::Server { path, .. } => format!("pg_read_file({path:?})"),
            LogSource::Host { path } => format!("the file {} on this machine", path.display()),
        }
    }
}

/// What to grant so the log can be read through SQL.
pub fn grant(scanner: &str, format: Format) -> String {
    let current = match format {
        Format::Stderr => "pg_current_logfile()",
        Format::Csv | Format::Json => "pg_current_logfile(), pg_current_logfile(text)",
    };
    format!(
        "GRANT EXECUTE ON FUNCTION {current}, pg_read_file(text,bigint,bigint) TO {}",
        escape_identifier(scanner)
    )
}

/// Find the current log file of `format`; `Err` says why it cannot be read.
pub async fn locate(
    client: &Client,
    snapshot: &Snapshot,
    format: Format,
) -> Result<LogSource, String> {
    let through_sql = match on_server(client, format).await {
        Ok(source) => return Ok(source),
        Err(why) => why,
    };
    match on_host(snapshot, format) {
        Ok(source) => Ok(source),
        Err(why) => Err(format!("{through_sql}; {why}")),
    }
}

async fn on_server(client: &Client, format: Format) -> Result<LogSource, String> {
    let current = match format {
        Format::Stderr => "pg_catalog.pg_current_logfile()",
        Format::Csv | Format::Json => "pg_catalog.pg_current_logfile(text)",
    };
    let row = client
        .query_one(
            &format!(
                "SELECT has_function_privilege('{current}', 'EXECUTE') \
                 AND has_function_privilege('pg_catalog.pg_read_file(text,bigint,bigint)', \
                 'EXECUTE')"
            ),
            &[],
        )
        .await
        .map_err(|e| {
            format!(
                "the scanner's rights on the log functions: {}",
                error_text(&e)
            )
        })?;
    if !row.get::<_, bool>(0) {
        return Err(format!(
            "the scanner may not EXECUTE {current} and pg_read_file(text,bigint,bigint)"
        ));
    }
    let path: Option<String> = client
        .query_one("SELECT pg_catalog.pg_current_logfile($1)", &[&format.id()])
        .await
        .map_err(|e| format!("pg_current_logfile: {}", error_text(&e)))?
        .get(0);
    let path = path.ok_or_else(|| {
        format!(
            "pg_current_logfile({:?}) is NULL: the server writes no {} file",
            format.id(),
            format.id()
        )
    })?;
    // Read from the start until the file is seen to be long: a negative
    // offset into a shorter file is an error, which the server would log.
    Ok(LogSource::Server {
        path,
        whole_file: true,
    })
}

fn on_host(snapshot: &Snapshot, format: Format) -> Result<LogSource, String> {
    let host = snapshot.host.as_ref().ok_or(
        "the server does not run on this machine (or its data directory is not readable here)",
    )?;
    let data = PathBuf::from(&host.data_directory);
    let listing = data.join("current_logfiles");
    let text = std::fs::read_to_string(&listing)
        .map_err(|e| format!("cannot read {}: {e}", listing.display()))?;
    let named = text
        .lines()
        .find_map(|line| line.strip_prefix(format.id())?.strip_prefix(' '))
        .ok_or_else(|| format!("{} names no {} file", listing.display(), format.id()))?;
    Ok(LogSource::Host {
        path: data.join(named.trim_end()),
    })
}

/// The last [`TAIL_BYTES`] of the log (the whole file when it is smaller).
pub async fn tail(client: &Client, source: &mut LogSource) -> Result<String, String> {
    match source {
        LogSource::Server { path, whole_file } => server_tail(client, path, whole_file).await,
        LogSource::Host { path } => host_tail(path),
    }
}

/// A file not yet seen to be longer than [`TAIL_BYTES`] is read from its
/// start. A longer one through a negative offset, which reads from the end;
/// that fails on a file shorter than the offset (then the start is read
/// again) and on a cut through a multibyte character (then the cut moves by
/// a byte).
async fn server_tail(client: &Client, path: &str, whole_file: &mut bool) -> Result<String, String> {
    let read = |offset: i64| async move {
        client
            .query_one(
                "SELECT pg_catalog.pg_read_file($1, $2, $3)",
                &[&path, &offset, &TAIL_BYTES],
            )
            .await
            .map(|row| row.get::<_, Option<String>>(0).unwrap_or_default())
    };
    if *whole_file {
        let text = read(0).await.map_err(|e| error_text(&e))?;
        if (text.len() as i64) < TAIL_BYTES {
            return Ok(text);
        }
        *whole_file = false;
    }
    let mut last_error = String::new();
    for shift in 0..4 {
        match read(shift - TAIL_BYTES).await {
            Ok(text) => return Ok(text),
            // 22021: the cut split a character.
            Err(e) if sqlstate(&e) == Some("22021") => last_error = error_text(&e),
            Err(_) => {
                let text = read(0).await.map_err(|e| error_text(&e))?;
                *whole_file = (text.len() as i64) < TAIL_BYTES;
                return Ok(text);
            }
        }
    }
    Err(last_error)
}

fn host_tail(path: &PathBuf) -> Result<String, String> {
    let describe = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut file = std::fs::File::open(path).map_err(describe)?;
    let length = file.metadata().map_err(describe)?.len();
    let start = length.saturating_sub(TAIL_BYTES.unsigned_abs());
    file.seek(SeekFrom::Start(start)).map_err(describe)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(describe)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::snapshot::HostFacts;

    #[test]
    fn the_grant_names_the_functions_the_format_needs() {
        assert_eq!(
            grant("scanner", Format::Stderr),
            "GRANT EXECUTE ON FUNCTION pg_current_logfile(), pg_read_file(text,bigint,bigint) \
             TO \"scanner\""
        );
        assert!(grant("Odd\"Name", Format::Json).contains("pg_current_logfile(text)"));
        assert!(grant("Odd\"Name", Format::Json).ends_with("TO \"Odd\"\"Name\""));
    }

    #[test]
    fn on_this_machine_current_logfiles_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("current_logfiles"),
            "stderr log/postgresql.log\njsonlog /var/log/pg/postgresql.json\n",
        )
        .unwrap();
        let snapshot = Snapshot {
            host: Some(HostFacts {
                data_directory: dir.path().to_string_lossy().into_owned(),
                files: Vec::new(),
            }),
            ..Snapshot::default()
        };
        assert_eq!(
            on_host(&snapshot, Format::Stderr),
            Ok(LogSource::Host {
                path: dir.path().join("log/postgresql.log")
            })
        );
        assert_eq!(
            on_host(&snapshot, Format::Json),
            Ok(LogSource::Host {
                path: PathBuf::from("/var/log/pg/postgresql.json")
            })
        );
        assert!(on_host(&snapshot, Format::Csv).is_err());
        assert!(on_host(&Snapshot::default(), Format::Csv).is_err());
    }

    #[test]
    fn a_host_tail_reads_the_end_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, "first line\nsecond line\n").unwrap();
        assert_eq!(host_tail(&path).unwrap(), "first line\nsecond line\n");
        assert!(host_tail(&dir.path().join("missing")).is_err());
    }
}

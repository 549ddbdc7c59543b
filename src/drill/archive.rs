//! The archive walk, before anything is restored: PostgreSQL does not fail
//! on a gap or a damaged WAL file (recovery ends early, promotes and starts
//! without the later transactions), so the drill looks for itself.
//!
//! - every segment from the backup label's start WAL to the newest archived
//!   one, on the timelines the newest timeline's history file names, must be
//!   there and be one segment long;
//! - `pg_waldump --quiet` reads every record of that range (per timeline);
//!   its first error names the damaged file;
//! - the last record's position is kept, to compare with the replay end.
//!
//! Read-only: files are listed and read, never written or moved.

use super::tools::{run_tool, Tool};
use super::wal::{self, BackupLabel, Lsn, Segment};
use super::DrillError;
use crate::model::untrusted;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::SystemTime;

/// What the walk found (a complete, readable range).
#[derive(Debug, Clone)]
pub struct Walk {
    pub segments: Vec<Segment>,
    pub target_timeline: u32,
    pub timelines: Vec<u32>,
    /// Where the archive's last WAL record starts.
    pub last_record: Lsn,
    pub newest_archived_at: SystemTime,
    pub segment_size: u64,
}

impl Walk {
    pub fn first_name(&self, segment_size: u64) -> String {
        self.segments
            .first()
            .map(|s| s.file_name(segment_size))
            .unwrap_or_default()
    }

    pub fn last_name(&self, segment_size: u64) -> String {
        self.segments
            .last()
            .map(|s| s.file_name(segment_size))
            .unwrap_or_default()
    }
}

/// Why the archive cannot carry a restore: the first missing or bad file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveFault {
    /// The file to name (a segment or history file).
    pub file: String,
    pub detail: String,
}

/// What the archive folder holds.
struct Listing {
    /// Segment → (size, modified).
    segments: BTreeMap<Segment, (u64, SystemTime)>,
    histories: Vec<u32>,
    compressed: Option<String>,
}

fn list(archive: &Path, segment_size: u64) -> Result<Listing, DrillError> {
    let entries = fs::read_dir(archive).map_err(|e| {
        DrillError::Input(format!(
            "cannot read the WAL archive {}: {e}",
            archive.display()
        ))
    })?;
    let mut listing = Listing {
        segments: BTreeMap::new(),
        histories: Vec::new(),
        compressed: None,
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(segment) = Segment::parse(&name, segment_size) {
            let meta = entry.metadata().ok();
            let size = meta.as_ref().map_or(0, |m| m.len());
            let modified = meta
                .and_then(|m| m.modified().ok())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            listing.segments.insert(segment, (size, modified));
        } else if let Some(tli) = name
            .strip_suffix(".history")
            .filter(|t| t.len() == 8)
            .and_then(|t| u32::from_str_radix(t, 16).ok())
        {
            listing.histories.push(tli);
        } else if [".gz", ".zst", ".lz4", ".bz2", ".xz"]
            .iter()
            .any(|ext| name.ends_with(ext))
            && name
                .get(..24)
                .is_some_and(|n| Segment::parse(n, segment_size).is_some())
        {
            listing.compressed.get_or_insert(name);
        }
    }
    Ok(listing)
}

/// Walks the archive from the label's start; `Ok(Err(fault))` when the
/// archive has a gap or a damaged file, `Err` when the walk could not run.
pub fn walk(
    archive: &Path,
    label: &BackupLabel,
    segment_size: u64,
    waldump: &Tool,
) -> Result<Result<Walk, ArchiveFault>, DrillError> {
    let listing = list(archive, segment_size)?;
    if listing.segments.is_empty() {
        if let Some(name) = listing.compressed {
            return Err(DrillError::Input(format!(
                "the WAL archive {} holds compressed segments ({}): the drill reads plain \
                 segments; point --wal-archive at uncompressed WAL or use --pgbackrest",
                archive.display(),
                untrusted::name(&name)
            )));
        }
    }
    let fault = |file: String, detail: String| Ok(Err(ArchiveFault { file, detail }));

    // The newest timeline with WAL decides the chain recovery will follow.
    let target_timeline = listing
        .segments
        .keys()
        .map(|s| s.timeline)
        .chain(listing.histories.iter().copied())
        .filter(|t| *t >= label.start_timeline)
        .max()
        .unwrap_or(label.start_timeline);
    let branches = if target_timeline == label.start_timeline {
        Vec::new()
    } else {
        let name = wal::history_file_name(target_timeline);
        let text = match fs::read_to_string(archive.join(&name)) {
            Ok(text) => text,
            Err(_) => {
                return fault(
                    name.clone(),
                    format!(
                        "the timeline history file {name} is missing: the archive has WAL of \
                         timeline {target_timeline} but not its history"
                    ),
                )
            }
        };
        match wal::parse_history(&text) {
            Ok(branches) => branches,
            Err(e) => {
                return fault(
                    name.clone(),
                    format!("the history file {name} is damaged: {e}"),
                )
            }
        }
    };
    if target_timeline != label.start_timeline
        && !branches.iter().any(|b| b.parent == label.start_timeline)
    {
        let name = wal::history_file_name(target_timeline);
        return fault(
            name.clone(),
            format!(
                "timeline {target_timeline}'s history ({name}) does not descend from the \
                 backup's timeline {}",
                label.start_timeline
            ),
        );
    }
    let on_chain = |s: &Segment| {
        s.timeline == target_timeline || branches.iter().any(|b| b.parent == s.timeline)
    };

    let first = label.start_lsn.segno(segment_size);
    let start_name = label.start_wal_file.clone();
    let Some(last) = listing
        .segments
        .keys()
        .filter(|s| on_chain(s))
        .map(|s| s.segno)
        .max()
        .filter(|last| *last >= first)
    else {
        return fault(
            start_name.clone(),
            format!("the backup's start WAL file {start_name} is missing from the archive"),
        );
    };
    let expected = wal::expected_segments(first, last, target_timeline, &branches, segment_size);
    let mut newest_archived_at = SystemTime::UNIX_EPOCH;
    for segment in &expected {
        let name = segment.file_name(segment_size);
        match listing.segments.get(segment) {
            None => {
                return fault(
                    name.clone(),
                    format!(
                        "WAL segment {name} is missing from the archive (needed between {} and \
                         {}); recovery would stop there silently",
                        expected[0].file_name(segment_size),
                        expected[expected.len() - 1].file_name(segment_size)
                    ),
                )
            }
            Some((size, _)) if *size != segment_size => {
                return fault(
                    name.clone(),
                    format!(
                    "WAL segment {name} is {size} bytes, not {segment_size}: truncated or damaged"
                ),
                )
            }
            Some((_, modified)) => newest_archived_at = newest_archived_at.max(*modified),
        }
    }

    // pg_waldump, one run per timeline stretch.
    let mut timelines = Vec::new();
    for stretch in expected.chunk_by(|a, b| a.timeline == b.timeline) {
        let (from, to) = (stretch[0], stretch[stretch.len() - 1]);
        timelines.push(from.timeline);
        let args = [
            "--quiet".to_string(),
            format!("--path={}", archive.display()),
            from.file_name(segment_size),
            to.file_name(segment_size),
        ];
        let out = run_tool(waldump, &args)?;
        if !out.success {
            return Ok(Err(damaged(&out.stderr, from, to, segment_size)));
        }
    }
    let last_segment = expected[expected.len() - 1];
    let last_record = last_record_in(archive, last_segment, segment_size, waldump)?;
    Ok(Ok(Walk {
        segments: expected,
        target_timeline,
        timelines,
        last_record,
        newest_archived_at,
        segment_size,
    }))
}

/// The start of the last record `pg_waldump` lists in one segment.
fn last_record_in(
    archive: &Path,
    segment: Segment,
    segment_size: u64,
    waldump: &Tool,
) -> Result<Lsn, DrillError> {
    let args = [
        format!("--path={}", archive.display()),
        segment.file_name(segment_size),
    ];
    let out = run_tool(waldump, &args)?;
    Ok(out
        .stdout
        .lines()
        .rev()
        .find_map(|line| {
            let rest = line.split_once("lsn: ")?.1;
            Lsn::parse(rest.split(',').next()?)
        })
        .unwrap_or(segment.start(segment_size)))
}

/// Names the damaged file from pg_waldump's error: the segment of the
/// first position the message gives, within the stretch read.
fn damaged(stderr: &str, from: Segment, to: Segment, segment_size: u64) -> ArchiveFault {
    let message = stderr
        .lines()
        .find(|l| l.contains("error"))
        .unwrap_or(stderr)
        .trim();
    let at = message
        .split_whitespace()
        .filter_map(|w| Lsn::parse(w.trim_end_matches([':', ',', ')'])))
        .next();
    let segment = at
        .map(|lsn| Segment {
            timeline: from.timeline,
            segno: lsn.segno(segment_size).clamp(from.segno, to.segno),
        })
        .unwrap_or(from);
    let file = segment.file_name(segment_size);
    ArchiveFault {
        detail: format!(
            "WAL file {file} is damaged: pg_waldump says {}",
            untrusted::shown(message, 300)
        ),
        file,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_damaged_file_is_the_one_the_error_points_at() {
        let size = 16 * 1024 * 1024;
        let from = Segment {
            timeline: 1,
            segno: 2,
        };
        let to = Segment {
            timeline: 1,
            segno: 5,
        };
        let fault = damaged(
            "pg_waldump: error: error in WAL record at 0/4000A28: incorrect resource manager \
             data checksum in record at 0/4000A28\n",
            from,
            to,
            size,
        );
        assert_eq!(fault.file, "000000010000000000000004");
        assert!(fault.detail.contains("checksum"), "{}", fault.detail);
        let unknown = damaged("pg_waldump: fatal\n", from, to, size);
        assert_eq!(unknown.file, "000000010000000000000002");
    }
}

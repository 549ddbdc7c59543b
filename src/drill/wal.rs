//! WAL names and positions, the backup label and timeline history files:
//! the pure arithmetic the archive walk and the checks share.
//!
//! A segment file is named `TTTTTTTTXXXXXXXXYYYYYYYY`: the timeline, then
//! the segment number split into "log" (`segno / segments_per_4GB`) and
//! "seg" (`segno % segments_per_4GB`). All text read here comes from files
//! (hostile): it is parsed strictly and never echoed unescaped.

use std::fmt;

/// A WAL position (`X/Y` in PostgreSQL's spelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// `16/B374D848` → Lsn.
    pub fn parse(text: &str) -> Option<Lsn> {
        let (hi, lo) = text.trim().split_once('/')?;
        let hi = u64::from_str_radix(hi, 16).ok()?;
        let lo = u64::from_str_radix(lo, 16).ok()?;
        (hi <= u64::from(u32::MAX) && lo <= u64::from(u32::MAX)).then_some(Lsn((hi << 32) | lo))
    }

    /// The segment number holding this position.
    pub fn segno(self, segment_size: u64) -> u64 {
        self.0 / segment_size.max(1)
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// One WAL segment of one timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Segment {
    pub timeline: u32,
    pub segno: u64,
}

impl Segment {
    /// The file name, for a segment size in bytes.
    pub fn file_name(self, segment_size: u64) -> String {
        let per_log = segments_per_log(segment_size);
        format!(
            "{:08X}{:08X}{:08X}",
            self.timeline,
            self.segno / per_log,
            self.segno % per_log
        )
    }

    /// A segment file name (exactly 24 hex digits) → Segment.
    pub fn parse(name: &str, segment_size: u64) -> Option<Segment> {
        if name.len() != 24 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let field = |range: std::ops::Range<usize>| u64::from_str_radix(name.get(range)?, 16).ok();
        let timeline = u32::try_from(field(0..8)?).ok()?;
        let (log, seg) = (field(8..16)?, field(16..24)?);
        let per_log = segments_per_log(segment_size);
        (seg < per_log).then_some(Segment {
            timeline,
            segno: log * per_log + seg,
        })
    }

    /// The position where this segment starts.
    pub fn start(self, segment_size: u64) -> Lsn {
        Lsn(self.segno * segment_size)
    }
}

fn segments_per_log(segment_size: u64) -> u64 {
    0x1_0000_0000 / segment_size.max(1)
}

/// The name of a timeline's history file (`00000002.history`).
pub fn history_file_name(timeline: u32) -> String {
    format!("{timeline:08X}.history")
}

/// What a `backup_label` says (the fields the drill needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupLabel {
    pub start_lsn: Lsn,
    pub start_wal_file: String,
    pub start_timeline: u32,
    /// `START TIME: 2026-12-07 23:50:01 UTC`, as written.
    pub start_time: String,
    pub label: String,
}

impl BackupLabel {
    /// Parses the label; the error says which line is missing or wrong.
    pub fn parse(text: &str) -> Result<BackupLabel, String> {
        let field = |key: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(key))
                .map(|rest| rest.trim().to_string())
        };
        // START WAL LOCATION: 0/2000028 (file 000000010000000000000002)
        let location = field("START WAL LOCATION:")
            .ok_or("the backup label has no START WAL LOCATION line")?;
        let (lsn, file) = location
            .split_once(" (file ")
            .ok_or("the backup label's START WAL LOCATION is not readable")?;
        let start_lsn =
            Lsn::parse(lsn).ok_or("the backup label's START WAL LOCATION is not an LSN")?;
        let start_wal_file = file.trim_end_matches(')').trim().to_string();
        if start_wal_file.len() != 24 || !start_wal_file.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("the backup label's start WAL file is not a WAL file name".into());
        }
        // Labels before PostgreSQL 11 have no START TIMELINE: the file says it.
        let start_timeline = match field("START TIMELINE:") {
            Some(t) => t
                .parse()
                .map_err(|_| "the backup label's START TIMELINE is not a number")?,
            None => u32::from_str_radix(start_wal_file.get(0..8).unwrap_or("0"), 16)
                .map_err(|_| "the backup label's start WAL file has no timeline")?,
        };
        Ok(BackupLabel {
            start_lsn,
            start_wal_file,
            start_timeline,
            start_time: field("START TIME:").unwrap_or_default(),
            label: field("LABEL:").unwrap_or_default(),
        })
    }
}

/// One line of a timeline history file: the parent timeline and where the
/// child branched off it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Branch {
    pub parent: u32,
    pub switchpoint: Lsn,
}

/// Parses a history file (`1\t0/3000000\tno recovery target specified`);
/// comments and blank lines are skipped, anything else wrong is an error.
pub fn parse_history(text: &str) -> Result<Vec<Branch>, String> {
    let mut branches = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let parent = words.next().and_then(|w| w.parse().ok());
        let switchpoint = words.next().and_then(Lsn::parse);
        match (parent, switchpoint) {
            (Some(parent), Some(switchpoint)) => branches.push(Branch {
                parent,
                switchpoint,
            }),
            _ => return Err("a line is not `timeline<TAB>switchpoint`".into()),
        }
    }
    Ok(branches)
}

/// Which timeline each segment from `first` to `last` (inclusive) is read
/// from, following `branches` (the target timeline's history) as recovery
/// does: a segment holding a switchpoint is read from the child timeline.
pub fn expected_segments(
    first: u64,
    last: u64,
    target_timeline: u32,
    branches: &[Branch],
    segment_size: u64,
) -> Vec<Segment> {
    (first..=last)
        .map(|segno| {
            let timeline = branches
                .iter()
                .find(|b| segno < b.switchpoint.segno(segment_size))
                .map_or(target_timeline, |b| b.parent);
            Segment { timeline, segno }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIXTEEN_MB: u64 = 16 * 1024 * 1024;

    #[test]
    fn segment_names_round_trip() {
        let seg = Segment::parse("000000010000000000000002", SIXTEEN_MB).unwrap();
        assert_eq!(
            seg,
            Segment {
                timeline: 1,
                segno: 2
            }
        );
        let far = Segment {
            timeline: 3,
            segno: 0x1FF,
        };
        assert_eq!(far.file_name(SIXTEEN_MB), "0000000300000001000000FF");
        assert_eq!(
            Segment::parse(&far.file_name(SIXTEEN_MB), SIXTEEN_MB),
            Some(far)
        );
        assert_eq!(Segment::parse("00000001000000000000000", SIXTEEN_MB), None);
        assert_eq!(Segment::parse("000000010000000000000100", SIXTEEN_MB), None);
        assert_eq!(Segment::parse("00000001000000000000000G", SIXTEEN_MB), None);
    }

    #[test]
    fn lsns_parse_and_print_like_postgres() {
        let lsn = Lsn::parse("16/B374D848").unwrap();
        assert_eq!(lsn.to_string(), "16/B374D848");
        assert_eq!(Lsn::parse("0/2000028").unwrap().segno(SIXTEEN_MB), 2);
        assert_eq!(Lsn::parse("x/1"), None);
    }

    #[test]
    fn backup_labels_parse_and_say_what_is_missing() {
        let label = BackupLabel::parse(
            "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n\
             CHECKPOINT LOCATION: 0/2000060\nBACKUP METHOD: streamed\n\
             START TIME: 2026-12-07 23:50:01 UTC\nLABEL: nightly\nSTART TIMELINE: 1\n",
        )
        .unwrap();
        assert_eq!(label.start_lsn, Lsn(0x2000028));
        assert_eq!(label.start_wal_file, "000000010000000000000002");
        assert_eq!((label.start_timeline, label.label.as_str()), (1, "nightly"));
        let err = BackupLabel::parse("LABEL: x\n").unwrap_err();
        assert!(err.contains("START WAL LOCATION"), "{err}");
    }

    #[test]
    fn segments_follow_the_timeline_history() {
        let history = parse_history("1\t0/3000000\tno recovery target specified\n\n").unwrap();
        let segs = expected_segments(2, 4, 2, &history, SIXTEEN_MB);
        let timelines: Vec<u32> = segs.iter().map(|s| s.timeline).collect();
        assert_eq!(timelines, vec![1, 2, 2]);
        // A switchpoint inside segment 3: that segment comes from the child.
        let history = parse_history("1\t0/30000A0\treason\n").unwrap();
        let timelines: Vec<u32> = expected_segments(2, 4, 2, &history, SIXTEEN_MB)
            .iter()
            .map(|s| s.timeline)
            .collect();
        assert_eq!(timelines, vec![1, 2, 2]);
        assert!(parse_history("garbage\n").is_err());
    }
}

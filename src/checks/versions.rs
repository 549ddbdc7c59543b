//! The bundled PostgreSQL support table used by GEN-001: one row per major
//! version with its first release, its final release (end of life) and the
//! newest minor release we know of.
//!
//! Owns the data and its lookups only; it imports nothing but `std` and
//! makes no verdicts. The scan never goes to the Internet, so this table is
//! the only source of truth about releases: **last updated 2026-11**
//! ([`TABLE_UPDATED`]). PostgreSQL ships minor releases every quarter (the
//! second Thursday of February, May, August and November, plus the odd
//! out-of-cycle fix), so the table must be refreshed each quarter from
//! <https://www.postgresql.org/support/versioning/> and the release
//! announcements.
//!
//! End-of-life dates follow the project's policy: a major is supported for
//! five years and its final minor comes out at the November release after
//! its fifth anniversary. Latest minors were confirmed up to the August 2026
//! release (18.5, 17.11, 16.15, 15.19, 14.24); later releases may exist, so
//! every supported row is marked `minor_is_floor` ("at least this minor").

/// When the table below was last checked against postgresql.org (YYYY-MM).
pub const TABLE_UPDATED: &str = "2026-11";

/// One PostgreSQL major version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MajorRelease {
    /// 10, 11, …; pre-10 majors are all past end of life and not listed.
    pub major: u32,
    /// Date of the x.0 release, `YYYY-MM-DD`.
    pub first_release: &'static str,
    /// Date of the final minor release: no fixes after it, `YYYY-MM-DD`.
    pub final_release: &'static str,
    /// The newest minor release known when the table was updated.
    pub latest_minor: u32,
    /// True when newer minors may exist than `latest_minor` (not yet confirmed).
    pub minor_is_floor: bool,
}

/// Majors 10 and later, oldest first.
pub static MAJORS: &[MajorRelease] = &[
    release(10, "2017-10-05", "2022-11-10", 23, false),
    release(11, "2018-10-18", "2023-11-09", 22, false),
    release(12, "2019-10-03", "2024-11-21", 22, false),
    release(13, "2020-09-24", "2025-11-13", 23, false),
    release(14, "2021-09-30", "2026-11-12", 24, true),
    release(15, "2022-10-13", "2027-11-11", 19, true),
    release(16, "2023-09-14", "2028-11-09", 15, true),
    release(17, "2024-09-26", "2029-11-08", 11, true),
    release(18, "2025-09-25", "2030-11-14", 5, true),
];

const fn release(
    major: u32,
    first_release: &'static str,
    final_release: &'static str,
    latest_minor: u32,
    minor_is_floor: bool,
) -> MajorRelease {
    MajorRelease {
        major,
        first_release,
        final_release,
        latest_minor,
        minor_is_floor,
    }
}

/// The row for a major version, if the table knows it.
pub fn lookup(major: u32) -> Option<&'static MajorRelease> {
    MAJORS.iter().find(|m| m.major == major)
}

/// The newest major the table knows.
pub fn newest_major() -> u32 {
    MAJORS.iter().map(|m| m.major).max().unwrap_or(0)
}

/// The oldest major the table lists (everything older is long unsupported).
pub fn oldest_major() -> u32 {
    MAJORS.iter().map(|m| m.major).min().unwrap_or(0)
}

/// `(major, minor)` from `server_version_num` (e.g. 150019 → (15, 19);
/// 90624 → (9, 624) where the "minor" mixes 9.6 and .24, good enough to
/// say "older than the table").
pub fn split_version_num(num: u32) -> (u32, u32) {
    (num / 10000, num % 10000)
}

impl MajorRelease {
    /// Whether the major is past its final release on `date` (`YYYY-MM-DD`).
    /// ISO dates compare correctly as text.
    pub fn is_end_of_life_on(&self, date: &str) -> bool {
        date >= self.final_release
    }

    /// `15.19`, or `15.19 or later` when newer minors may exist.
    pub fn latest_label(&self) -> String {
        if self.minor_is_floor {
            format!("at least {}.{}", self.major, self.latest_minor)
        } else {
            format!("{}.{} (final)", self.major, self.latest_minor)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_ordered_and_dates_are_iso() {
        for pair in MAJORS.windows(2) {
            assert_eq!(pair[0].major + 1, pair[1].major);
            assert!(pair[0].final_release < pair[1].final_release);
        }
        for m in MAJORS {
            for date in [m.first_release, m.final_release] {
                assert_eq!(date.len(), 10, "{date}");
                assert_eq!(&date[4..5], "-");
                assert_eq!(&date[7..8], "-");
            }
            // Five years of support, ending in November.
            let first: u32 = m.first_release[..4].parse().unwrap_or(0);
            let last: u32 = m.final_release[..4].parse().unwrap_or(0);
            assert_eq!(last, first + 5, "major {}", m.major);
            assert_eq!(&m.final_release[5..7], "11");
        }
    }

    #[test]
    fn end_of_life_is_judged_on_the_given_date() {
        let pg14 = lookup(14).unwrap();
        assert!(!pg14.is_end_of_life_on("2026-11-11"));
        assert!(pg14.is_end_of_life_on("2026-11-12"));
        assert!(pg14.is_end_of_life_on("2026-11-27"));
        assert!(lookup(9).is_none());
        assert_eq!(split_version_num(150019), (15, 19));
        assert_eq!(newest_major(), 18);
        assert_eq!(oldest_major(), 10);
        assert_eq!(lookup(15).unwrap().latest_label(), "at least 15.19");
        assert_eq!(lookup(13).unwrap().latest_label(), "13.23 (final)");
    }
}

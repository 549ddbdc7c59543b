//! The calendar of an audit period: the period itself (inclusive UTC dates),
//! which of its days had at least one scan, the runs of days with and
//! without scans, and the longest gap between two scans.
//!
//! Pure date arithmetic over the scans' `collected_at`; no clock.

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, UtcOffset};

/// An audit period: from and to, both days included, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Date,
    pub to: Date,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("--period must be FROM..TO with ISO dates, e.g. 2026-01-01..2026-12-31 (got {0:?})")]
    Shape(String),
    #[error("--period: {0:?} is not a date (YYYY-MM-DD)")]
    Date(String),
    #[error("--period: {from} is after {to}; FROM must not be later than TO")]
    Reversed { from: String, to: String },
}

impl Period {
    /// `2026-01-01..2026-12-31`.
    pub fn parse(text: &str) -> Result<Period, PeriodError> {
        let (from, to) = text
            .trim()
            .split_once("..")
            .ok_or_else(|| PeriodError::Shape(text.to_string()))?;
        let (from, to) = (parse_date(from)?, parse_date(to)?);
        if from > to {
            return Err(PeriodError::Reversed {
                from: iso(from),
                to: iso(to),
            });
        }
        Ok(Period { from, to })
    }

    /// How many days the period holds, both ends included.
    pub fn days(&self) -> i64 {
        (self.to - self.from).whole_days() + 1
    }

    /// Whether the UTC date of `at` falls in the period.
    pub fn contains(&self, at: OffsetDateTime) -> bool {
        let day = utc_date(at);
        self.from <= day && day <= self.to
    }

    /// `2026-01-01 to 2026-12-31`.
    pub fn label(&self) -> String {
        format!("{} to {}", iso(self.from), iso(self.to))
    }
}

fn parse_date(text: &str) -> Result<Date, PeriodError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), format).map_err(|_| PeriodError::Date(text.trim().to_string()))
}

/// `YYYY-MM-DD`.
pub fn iso(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// An RFC 3339 time (`collected_at`, an event's `at`), or `None` when it does not read as one.
pub fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

pub fn utc_date(at: OffsetDateTime) -> Date {
    at.to_offset(UtcOffset::UTC).date()
}

/// A run of consecutive days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRun {
    pub first: Date,
    pub last: Date,
}

impl DayRun {
    pub fn days(&self) -> i64 {
        (self.last - self.first).whole_days() + 1
    }

    /// `2026-03-02` or `2026-03-02 – 2026-03-09 (8 days)`.
    pub fn label(&self) -> String {
        if self.first == self.last {
            iso(self.first)
        } else {
            format!(
                "{} – {} ({} days)",
                iso(self.first),
                iso(self.last),
                self.days()
            )
        }
    }
}

/// The longest time between two consecutive scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    pub after: OffsetDateTime,
    pub before: OffsetDateTime,
}

impl Gap {
    pub fn length(&self) -> Duration {
        self.before - self.after
    }
}

/// Which days of the period scans cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    pub days_in_period: i64,
    /// Distinct UTC dates with at least one scan, in order.
    pub days_covered: Vec<Date>,
    pub covered: Vec<DayRun>,
    pub uncovered: Vec<DayRun>,
    /// `None` with fewer than two scans.
    pub longest_gap: Option<Gap>,
}

impl Coverage {
    /// `times` are the scans' times in the period, in any order.
    pub fn of(period: &Period, times: &[OffsetDateTime]) -> Coverage {
        let mut sorted = times.to_vec();
        sorted.sort();
        let mut days: Vec<Date> = sorted.iter().map(|t| utc_date(*t)).collect();
        days.dedup();
        let covered = runs(&days);
        let uncovered = gaps_between(period, &covered);
        let longest_gap = sorted
            .windows(2)
            .map(|w| Gap {
                after: w[0],
                before: w[1],
            })
            // The first of equally long gaps: ties go to the earlier one.
            .fold(None, |best: Option<Gap>, gap| match best {
                Some(b) if b.length() >= gap.length() => Some(b),
                _ => Some(gap),
            });
        Coverage {
            days_in_period: period.days(),
            days_covered: days,
            covered,
            uncovered,
            longest_gap,
        }
    }
}

/// Consecutive dates grouped into runs; `days` sorted and distinct.
fn runs(days: &[Date]) -> Vec<DayRun> {
    let mut out: Vec<DayRun> = Vec::new();
    for day in days {
        match out.last_mut() {
            Some(run) if run.last.next_day() == Some(*day) => run.last = *day,
            _ => out.push(DayRun {
                first: *day,
                last: *day,
            }),
        }
    }
    out
}

/// The days of the period outside `covered`.
fn gaps_between(period: &Period, covered: &[DayRun]) -> Vec<DayRun> {
    let mut out = Vec::new();
    let mut next = Some(period.from);
    for run in covered {
        if let Some(start) = next.filter(|d| *d < run.first) {
            if let Some(last) = run.first.previous_day() {
                out.push(DayRun { first: start, last });
            }
        }
        next = run.last.next_day();
    }
    if let Some(start) = next.filter(|d| *d <= period.to) {
        out.push(DayRun {
            first: start,
            last: period.to,
        });
    }
    out
}

/// `9 days 4 hours`, `5 hours 12 minutes`, `40 minutes`.
pub fn human_duration(d: Duration) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let (days, hours, minutes) = (d.whole_days(), d.whole_hours() % 24, d.whole_minutes() % 60);
    match (days, hours) {
        (0, 0) => plural(minutes, "minute"),
        (0, h) => format!("{} {}", plural(h, "hour"), plural(minutes, "minute")),
        (n, 0) => plural(n, "day"),
        (n, h) => format!("{} {}", plural(n, "day"), plural(h, "hour")),
    }
}

/// The JSON view of the coverage (dates as `YYYY-MM-DD`, times as RFC 3339).
#[derive(Debug, Serialize)]
pub struct CoverageJson {
    pub days_in_period: i64,
    pub days_covered: usize,
    pub dates_covered: Vec<String>,
    pub days_without_scan: Vec<[String; 2]>,
    pub longest_gap: Option<GapJson>,
}

#[derive(Debug, Serialize)]
pub struct GapJson {
    pub after: String,
    pub before: String,
    pub seconds: i64,
}

impl From<&Coverage> for CoverageJson {
    fn from(c: &Coverage) -> CoverageJson {
        let rfc = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
        CoverageJson {
            days_in_period: c.days_in_period,
            days_covered: c.days_covered.len(),
            dates_covered: c.days_covered.iter().map(|d| iso(*d)).collect(),
            days_without_scan: c
                .uncovered
                .iter()
                .map(|r| [iso(r.first), iso(r.last)])
                .collect(),
            longest_gap: c.longest_gap.map(|g| GapJson {
                after: rfc(g.after),
                before: rfc(g.before),
                seconds: g.length().whole_seconds(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn periods_parse_and_refuse_bad_input() {
        let p = Period::parse("2026-01-01..2026-12-31").unwrap();
        assert_eq!(
            (p.from, p.to, p.days()),
            (date!(2026 - 01 - 01), date!(2026 - 12 - 31), 365)
        );
        assert_eq!(Period::parse("2026-03-01..2026-03-01").unwrap().days(), 1);
        assert!(matches!(
            Period::parse("2026-01-01"),
            Err(PeriodError::Shape(_))
        ));
        assert!(matches!(
            Period::parse("2026-13-01..2026-12-31"),
            Err(PeriodError::Date(_))
        ));
        assert!(matches!(
            Period::parse("2026-02-30..2026-12-31"),
            Err(PeriodError::Date(_))
        ));
        assert!(matches!(
            Period::parse("01/01/2026..2026-12-31"),
            Err(PeriodError::Date(_))
        ));
        assert!(matches!(
            Period::parse("2026-12-31..2026-01-01"),
            Err(PeriodError::Reversed { .. })
        ));
    }

    #[test]
    fn the_period_is_in_utc_and_inclusive() {
        let p = Period::parse("2026-03-01..2026-03-31").unwrap();
        assert!(p.contains(datetime!(2026-03-31 23:59:59 UTC)));
        assert!(!p.contains(datetime!(2026-04-01 00:00:00 UTC)));
        // 2026-04-01 01:00 in UTC+02:00 is still March 31st in UTC.
        assert!(p.contains(datetime!(2026-04-01 01:00:00 +02:00)));
        assert!(
            p.contains(datetime!(2026-02-28 23:00:00 -02:00)),
            "that is March 1st 01:00 UTC"
        );
    }

    #[test]
    fn coverage_names_the_days_with_and_without_scans() {
        let p = Period::parse("2026-03-01..2026-03-10").unwrap();
        let times = [
            datetime!(2026-03-02 08:00 UTC),
            datetime!(2026-03-02 20:00 UTC),
            datetime!(2026-03-03 08:00 UTC),
            datetime!(2026-03-08 08:00 UTC),
        ];
        let c = Coverage::of(&p, &times);
        assert_eq!(c.days_in_period, 10);
        assert_eq!(c.days_covered.len(), 3);
        let labels = |runs: &[DayRun]| runs.iter().map(DayRun::label).collect::<Vec<_>>();
        assert_eq!(
            labels(&c.covered),
            ["2026-03-02 – 2026-03-03 (2 days)", "2026-03-08"]
        );
        assert_eq!(
            labels(&c.uncovered),
            [
                "2026-03-01",
                "2026-03-04 – 2026-03-07 (4 days)",
                "2026-03-09 – 2026-03-10 (2 days)"
            ]
        );
        let gap = c.longest_gap.unwrap();
        assert_eq!((gap.after, gap.before), (times[2], times[3]));
        assert_eq!(human_duration(gap.length()), "5 days");
    }

    #[test]
    fn one_scan_has_no_gap_and_durations_read_naturally() {
        let p = Period::parse("2026-03-01..2026-03-01").unwrap();
        let c = Coverage::of(&p, &[datetime!(2026-03-01 08:00 UTC)]);
        assert!(c.longest_gap.is_none() && c.uncovered.is_empty());
        assert_eq!(human_duration(Duration::minutes(40)), "40 minutes");
        assert_eq!(human_duration(Duration::minutes(61)), "1 hour 1 minute");
        assert_eq!(human_duration(Duration::hours(49)), "2 days 1 hour");
    }
}

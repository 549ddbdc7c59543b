//! The History chart's data: for each guide section, its failing and its
//! passing checks at every recorded scan of one target, placed at the time
//! the scan was collected (so that a month without scans shows as a gap,
//! not as one step).
//!
//! Pure: recorded scan entries in, points out. Imports the model, the store's
//! scan entry and `time`; drawing (egui_plot) is `history_ui`'s.

use crate::model::finding::Section;
use crate::store::ScanEntry;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// One section's lines: `[seconds since 1970, count]`, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct SectionSeries {
    pub section: Section,
    pub fail: Vec<[f64; 2]>,
    pub pass: Vec<[f64; 2]>,
}

/// The series of every section, in guide order, from `scans` (any order).
/// A scan whose time does not read as RFC 3339 is left out of the chart
/// (the table still lists it).
pub fn section_series<'a>(scans: impl IntoIterator<Item = &'a ScanEntry>) -> Vec<SectionSeries> {
    let mut timed: Vec<(f64, &ScanEntry)> = scans
        .into_iter()
        .filter_map(|scan| Some((seconds(&scan.collected_at)?, scan)))
        .collect();
    timed.sort_by(|a, b| a.0.total_cmp(&b.0));
    Section::ALL
        .into_iter()
        .map(|section| {
            let counts = |pick: fn(&crate::model::finding::Summary) -> usize| {
                timed
                    .iter()
                    .map(|(x, scan)| {
                        let n = scan.sections.get(&section).map_or(0, pick);
                        [*x, n as f64]
                    })
                    .collect()
            };
            SectionSeries {
                section,
                fail: counts(|s| s.fail),
                pass: counts(|s| s.pass),
            }
        })
        .collect()
}

/// Seconds since 1970 of an RFC 3339 time.
pub fn seconds(rfc3339: &str) -> Option<f64> {
    OffsetDateTime::parse(rfc3339, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp() as f64)
}

/// An axis label for `x` seconds: the date, with the time of day when the
/// chart spans less than three days.
pub fn axis_label(x: f64, span_seconds: f64) -> String {
    let Ok(at) = OffsetDateTime::from_unix_timestamp(x.round() as i64) else {
        return String::new();
    };
    let date = format!("{}-{:02}-{:02}", at.year(), u8::from(at.month()), at.day());
    if span_seconds < 3.0 * 86_400.0 {
        format!("{date} {:02}:{:02}", at.hour(), at.minute())
    } else {
        date
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::finding::Summary;
    use crate::store::scan_record::ScanSource;
    use crate::store::target::TargetIdentity;
    use std::collections::BTreeMap;

    fn scan(at: &str, transit_fail: usize, transit_pass: usize) -> ScanEntry {
        let mut sections = BTreeMap::new();
        sections.insert(
            Section::Transit,
            Summary {
                fail: transit_fail,
                pass: transit_pass,
                ..Summary::default()
            },
        );
        ScanEntry {
            seq: 1,
            target: TargetIdentity {
                system_identifier: None,
                host: "db1".into(),
                port: 5432,
                dbname: "clinic".into(),
            },
            collected_at: at.into(),
            source: ScanSource::Gui,
            summary: Summary::default(),
            sections,
        }
    }

    #[test]
    fn each_section_gets_fail_and_pass_lines_in_time_order() {
        let scans = [
            scan("2026-12-08T10:00:00Z", 1, 9),
            scan("2026-12-01T10:00:00Z", 4, 6),
            scan("not a time", 99, 99),
        ];
        let series = section_series(&scans);
        assert_eq!(series.len(), Section::ALL.len());
        let transit = series
            .iter()
            .find(|s| s.section == Section::Transit)
            .unwrap();
        let first = seconds("2026-12-01T10:00:00Z").unwrap();
        let second = seconds("2026-12-08T10:00:00Z").unwrap();
        assert_eq!(transit.fail, vec![[first, 4.0], [second, 1.0]]);
        assert_eq!(transit.pass, vec![[first, 6.0], [second, 9.0]]);
        // A section without counts in a scan reads as zero, not as missing.
        let other = &series[0];
        assert_eq!(other.fail, vec![[first, 0.0], [second, 0.0]]);
    }

    #[test]
    fn axis_labels_show_the_time_of_day_only_for_short_spans() {
        let x = seconds("2026-12-08T10:05:00Z").unwrap();
        assert_eq!(axis_label(x, 3600.0), "2026-12-08 10:05");
        assert_eq!(axis_label(x, 30.0 * 86_400.0), "2026-12-08");
    }
}

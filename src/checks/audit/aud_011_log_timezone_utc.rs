//! AUD-011: log_timezone is UTC or one of its aliases.

use crate::checks::expect::{expect_all, Expect};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static LOG_TIMEZONE_UTC: Check = Check {
    id: "AUD-011",
    section: Section::Audit,
    title: "Log timestamps are in UTC",
    severity: Severity::Low,
    hipaa: &["164.312(b)"],
    cis: Some("3.1.26"),
    rationale: "Correlating database logs with application, firewall and OS logs during an \
        investigation needs one time zone without daylight-saving jumps. UTC and its \
        aliases (Etc/UTC, UCT, Zulu, GMT, Etc/GMT+0 …) pass; an organisation that \
        standardises on another zone records that as an accepted risk. Low.",
    reproduce_sql:
        "SELECT setting, source, sourcefile FROM pg_settings WHERE name = 'log_timezone';",
    evaluate: log_timezone_utc,
    fix: Fix::SetParameter {
        name: "log_timezone",
        value: "UTC",
        apply: &[ApplyClass::Reload],
        note: "",
    },
};

fn is_utc_zone(zone: &str) -> bool {
    let zone = zone.trim().to_ascii_lowercase();
    let zone = zone.strip_prefix("etc/").unwrap_or(&zone);
    matches!(
        zone,
        "utc" | "uct" | "zulu" | "universal" | "gmt" | "gmt0" | "gmt+0" | "gmt-0" | "greenwich"
    )
}

fn log_timezone_utc(s: &Snapshot, _: &Policy) -> Verdict {
    expect_all(
        s,
        &[Expect {
            name: "log_timezone",
            wanted: "UTC",
            ok: is_utc_zone,
            fix_value: "UTC",
        }],
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
    vec![Case::new(
        "AUD-011",
        with_settings(&[("log_timezone", "Etc/UTC")]),
        with_settings(&[("log_timezone", "America/New_York")]),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_aliases() {
        for z in [
            "UTC",
            "Etc/UTC",
            "etc/uct",
            "Zulu",
            "GMT",
            "Etc/GMT+0",
            "Universal",
        ] {
            assert!(is_utc_zone(z), "{z}");
        }
        for z in ["Europe/London", "EST", "Etc/GMT+5", ""] {
            assert!(!is_utc_zone(z), "{z}");
        }
    }
}

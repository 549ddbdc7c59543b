//! AUD-012: the server clock is within a second of the scanner's clock.

use crate::checks::facts::parse_instant;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static CLOCK_SKEW: Check = Check {
    id: "AUD-012",
    section: Section::Audit,
    title: "The server clock agrees with the scanner's clock",
    severity: Severity::Medium,
    hipaa: &["164.312(b)"],
    cis: None,
    rationale: "Audit records are only evidence if their times can be trusted and matched \
        with other systems. The server's clock_timestamp() is compared with the scanner's \
        UTC clock read when the scan starts: a skew of 1 s or more fails, less passes; a \
        scanner time without fractional seconds is taken as any instant of that second, so \
        truncation alone never fails. \
        Both clocks are compared, so run the scanner on an NTP-synchronised machine. \
        Whether the database host itself is NTP-synchronised is an OS fact the scan cannot \
        see; attest it separately. Medium.",
    reproduce_sql: "SELECT clock_timestamp(), now() - clock_timestamp() AS in_transaction_for;",
    evaluate: clock_skew,
    fix: Fix::Instructions {
        apply: &[ApplyClass::Os, ApplyClass::Manual],
        note: "enable time synchronisation on the database host (chrony or \
            systemd-timesyncd: `timedatectl set-ntp true`, check `chronyc tracking`) and on \
            the machine running the scan, then re-scan",
    },
};

/// Skew at or above this many seconds fails.
const MAX_SKEW_SECONDS: f64 = 1.0;

fn clock_skew(s: &Snapshot, _: &Policy) -> Verdict {
    let Some(server_text) = s.server_time.as_deref() else {
        return Verdict::unknown("the server clock was not read in this snapshot", None);
    };
    let (Some(server), Some(client)) = (parse_instant(server_text), parse_instant(&s.collected_at))
    else {
        return Verdict::unknown(
            format!(
                "cannot read the times: server {server_text:?}, scanner {:?}",
                s.collected_at
            ),
            None,
        );
    };
    // A time written without a fraction was truncated: the scanner's clock
    // read anywhere in [client, client + 1 s). Judge the smallest skew that
    // fits, so truncation alone never fails the check.
    let resolution = if has_fraction(&s.collected_at) {
        0.0
    } else {
        1.0
    };
    let offset = (server - client).as_seconds_f64();
    let (least, most) = skew_bounds(offset, resolution);
    let range = if resolution > 0.0 {
        format!("{least:.3}–{most:.3} s (the scanner time has whole-second resolution)")
    } else {
        format!("{least:.3} s")
    };
    let seen = format!(
        "server clock {server_text}, scanner clock {}: skew {range}",
        s.collected_at
    );
    if least < MAX_SKEW_SECONDS {
        Verdict::pass(format!(
            "{seen}; NTP synchronisation of the host must still be attested"
        ))
    } else {
        Verdict::fail(format!(
            "{seen}; server {}",
            if offset > 0.0 { "ahead" } else { "behind" }
        ))
    }
}

/// The smallest and largest |server - scanner| when the scanner's clock lies
/// in `[client, client + resolution]` and `offset` = server - client.
fn skew_bounds(offset: f64, resolution: f64) -> (f64, f64) {
    let least = if offset < 0.0 {
        -offset
    } else {
        (offset - resolution).max(0.0)
    };
    let most = offset.abs().max((offset - resolution).abs());
    (least, most)
}

fn has_fraction(rfc3339: &str) -> bool {
    rfc3339
        .split_once('T')
        .is_some_and(|(_, time)| time.contains('.'))
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{base, Case};
    let mut skewed = base();
    skewed.server_time = Some("2026-11-27T10:00:03Z".into());
    vec![Case::new("AUD-012", base(), skewed)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::audit::eval;
    use crate::checks::testkit::base;
    use crate::model::finding::Status;

    #[test]
    fn clock_skew_reads_both_formats_and_is_unknown_without_times() {
        assert!(parse_instant("2026-11-27 09:55:00.123+00").is_some());
        assert!(parse_instant("2026-11-27 15:25:00+05:30").is_some());
        assert!(parse_instant("2026-11-27 15:25:00+0530").is_some());
        assert!(parse_instant("2026-11-27 04:25:00-0530").is_some());
        assert!(parse_instant("yesterday").is_none());
        let mut s = base();
        s.server_time = Some("2026-11-27 09:59:59.5+00".into());
        let v = eval(&CLOCK_SKEW, &s);
        assert_eq!(v.status, Status::Pass);
        assert!(v.evidence.contains("skew 0.500–1.500 s"), "{}", v.evidence);
        s.server_time = Some("2026-11-27T10:00:01.9Z".into());
        assert_eq!(eval(&CLOCK_SKEW, &s).status, Status::Pass);
        s.collected_at = "2026-11-27T10:00:00.000Z".into();
        let v = eval(&CLOCK_SKEW, &s);
        assert_eq!(v.status, Status::Fail);
        assert!(v.evidence.contains("skew 1.900 s"), "{}", v.evidence);
        s.collected_at = "2026-11-27T10:00:00Z".into();
        s.server_time = Some("2026-11-27T09:59:58Z".into());
        assert_eq!(eval(&CLOCK_SKEW, &s).status, Status::Fail);
        s.server_time = None;
        assert_eq!(eval(&CLOCK_SKEW, &s).status, Status::Unknown);
        s.server_time = Some("2026-11-27T10:00:00Z".into());
        s.collected_at = String::new();
        assert_eq!(eval(&CLOCK_SKEW, &s).status, Status::Unknown);
    }
}

//! GEN-001: whether the server runs a supported major on a current minor,
//! judged offline against the bundled release table on the scan date.

use crate::checks::versions::{self, MajorRelease};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static SUPPORTED_VERSION: Check = Check {
    id: "GEN-001",
    section: Section::Safeguards,
    title: "PostgreSQL is a supported major on a current minor release",
    severity: Severity::High,
    hipaa: &["164.308(a)(1)(ii)(B)"],
    cis: Some("1.5"),
    rationale: "Minor releases carry the security fixes; a major past its final release \
        gets none. Judged offline against the bundled release table (see \
        checks::versions, refreshed quarterly) on the scan date: a major at or past its \
        final release, a pre-release build, or a minor four or more releases behind the \
        newest known (about a year of missed security fixes) fails; one to three behind \
        warns, as does a major within 180 days of its final release. The table's newest \
        minors are lower bounds, so a server newer than the table passes. A major newer \
        than the table is unknown until the table is refreshed. High.",
    reproduce_sql:
        "SELECT current_setting('server_version'), current_setting('server_version_num')::int;",
    evaluate: supported_version,
    fix: Fix::Instructions {
        apply: &[ApplyClass::Os, ApplyClass::Restart],
        note: "install the newest minor release of this major from your distribution or the \
            PGDG repository and restart (no dump/restore needed); for a major near or past \
            its final release, plan a pg_upgrade to a supported major",
    },
};

/// Minors this far behind the newest known fail; fewer warn.
const MINORS_BEHIND_TO_FAIL: u32 = 4;
/// Days before the final release at which an otherwise current server warns.
const EOL_WARNING_DAYS: i64 = 180;

fn supported_version(s: &Snapshot, _: &Policy) -> Verdict {
    let Some(num) = s.target.server_version_num else {
        return Verdict::unknown("the server version was not read", None);
    };
    let shown = s
        .target
        .server_version
        .clone()
        .unwrap_or_else(|| num.to_string());
    let (major, minor) = versions::split_version_num(num);
    let seen = format!(
        "server_version {shown} (server_version_num {num}); release table of {}",
        versions::TABLE_UPDATED
    );
    if is_prerelease(&shown) {
        return Verdict::fail(format!(
            "{seen}: a pre-release build gets no security releases"
        ));
    }
    if major > versions::newest_major() {
        return Verdict::unknown(
            format!(
                "{seen}: major {major} is newer than the bundled table knows; update pgSafeguard"
            ),
            None,
        );
    }
    let Some(release) = versions::lookup(major) else {
        return Verdict::fail(format!(
            "{seen}: major {major} is long past its end of life"
        ));
    };
    let Some(today) = s.collected_at.get(..10).filter(|d| is_iso_date(d)) else {
        return Verdict::unknown(
            format!("{seen}: the scan date is missing, so end of life cannot be judged"),
            None,
        );
    };
    judge_release(release, minor, today, &seen)
}

fn judge_release(release: &MajorRelease, minor: u32, today: &str, seen: &str) -> Verdict {
    let major = release.major;
    if release.is_end_of_life_on(today) {
        return Verdict::fail(format!(
            "{seen}: PostgreSQL {major} reached end of life on {} and gets no more fixes",
            release.final_release
        ));
    }
    let latest = release.latest_label();
    let behind = release.latest_minor.saturating_sub(minor);
    let support = format!(
        "PostgreSQL {major} is supported until {}",
        release.final_release
    );
    if behind >= MINORS_BEHIND_TO_FAIL {
        return Verdict::fail(format!(
            "{seen}: {support}, but {major}.{minor} is {behind} minor releases behind {latest}"
        ));
    }
    if behind > 0 {
        return Verdict::warn(format!(
            "{seen}: {support}; {major}.{minor} is {behind} minor release(s) behind {latest}"
        ));
    }
    match days_between(today, release.final_release) {
        Some(days) if days <= EOL_WARNING_DAYS => Verdict::warn(format!(
            "{seen}: {major}.{minor} is current ({latest}), but support ends in {days} days \
             ({}): plan the major upgrade",
            release.final_release
        )),
        _ => Verdict::pass(format!(
            "{seen}: {support}; {major}.{minor} is current (newest known: {latest})"
        )),
    }
}

fn is_prerelease(version: &str) -> bool {
    let v = version.to_ascii_lowercase();
    ["devel", "beta", "rc", "alpha"]
        .iter()
        .any(|tag| v.contains(tag))
}

fn parse_date(text: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format).ok()
}

fn is_iso_date(text: &str) -> bool {
    parse_date(text).is_some()
}

fn days_between(from: &str, to: &str) -> Option<i64> {
    Some((parse_date(to)? - parse_date(from)?).whole_days())
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{base, Case};

    let mut current = base();
    current.target.server_version = Some("15.19".into());
    current.target.server_version_num = Some(150019);
    let mut end_of_life = base();
    end_of_life.target.server_version = Some("13.23".into());
    end_of_life.target.server_version_num = Some(130023);

    vec![Case::new("GEN-001", current, end_of_life)]
}

#[cfg(test)]
mod tests {
    use super::super::eval;
    use super::*;
    use crate::checks::testkit::base;
    use crate::model::finding::Status;

    fn on_version(version: &str, num: u32, date: &str) -> Snapshot {
        let mut s = base();
        s.target.server_version = Some(version.into());
        s.target.server_version_num = Some(num);
        s.collected_at = format!("{date}T10:00:00Z");
        s
    }

    #[test]
    fn version_rules() {
        let cases = [
            ("15.19", 150019, "2026-11-27", Status::Pass),
            ("15.20", 150020, "2026-11-27", Status::Pass),
            ("15.18", 150018, "2026-11-27", Status::Warn),
            ("15.16", 150016, "2026-11-27", Status::Warn),
            ("15.15", 150015, "2026-11-27", Status::Fail),
            ("14.24", 140024, "2026-11-11", Status::Warn),
            ("14.24", 140024, "2026-11-12", Status::Fail),
            ("15.19", 150019, "2027-06-01", Status::Warn),
            ("13.23", 130023, "2026-11-27", Status::Fail),
            ("9.6.24", 90624, "2026-11-27", Status::Fail),
            ("19beta1", 190000, "2026-11-27", Status::Fail),
            ("19.1", 190001, "2026-11-27", Status::Unknown),
            ("18.5", 180005, "", Status::Unknown),
        ];
        for (version, num, date, want) in cases {
            let mut s = on_version(version, num, date);
            if date.is_empty() {
                s.collected_at.clear();
            }
            let v = eval(&SUPPORTED_VERSION, &s);
            assert_eq!(v.status, want, "{version} on {date}: {}", v.evidence);
        }
        let mut s = base();
        s.target.server_version_num = None;
        assert_eq!(eval(&SUPPORTED_VERSION, &s).status, Status::Unknown);
    }
}

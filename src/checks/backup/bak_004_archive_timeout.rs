//! BAK-004: archive_timeout is above 0 and at most the recovery point
//! objective.

use crate::checks::facts::{describe, need_setting, value};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static ARCHIVE_TIMEOUT: Check = Check {
    id: "BAK-004",
    section: Section::Backup,
    title: "archive_timeout bounds data loss to the RPO",
    severity: Severity::Medium,
    hipaa: &["164.308(a)(7)(ii)(B)"],
    cis: None,
    rationale: "A WAL segment is archived when it fills; on a quiet server that can take \
        hours, and a crash loses everything in the unfilled segment. archive_timeout forces \
        a switch, so it must be above 0 and at most the recovery point objective: the \
        policy's rpo_seconds, or 5 minutes without one. Medium: it bounds loss on top of \
        working archiving (BAK-001..003).",
    reproduce_sql:
        "SELECT setting, unit, source, sourcefile FROM pg_settings WHERE name = 'archive_timeout';",
    evaluate: archive_timeout,
    fix: Fix::SetParameter {
        name: "archive_timeout",
        value: "5min",
        apply: &[ApplyClass::Reload],
        note: "use the policy's RPO instead when it is shorter than 5 minutes; each forced \
            switch archives a full 16 MB segment",
    },
};

/// Without `rpo_seconds` in the policy, archive_timeout must be at most this.
const DEFAULT_RPO_SECONDS: u64 = 300;

fn archive_timeout(s: &Snapshot, policy: &Policy) -> Verdict {
    let setting = match need_setting(s, "archive_timeout") {
        Ok(v) => v,
        Err(unknown) => return unknown,
    };
    let seen = describe("archive_timeout", setting);
    let (rpo, basis) = match policy.rpo_seconds {
        Some(rpo) => (rpo, "policy RPO"),
        None => (DEFAULT_RPO_SECONDS, "default RPO, no policy"),
    };
    match value(setting).trim().parse::<u64>() {
        Ok(0) => Verdict::fail(format!(
            "{seen}: segments are archived only when full, so loss is unbounded"
        )),
        Ok(seconds) if seconds <= rpo => Verdict::pass(format!("{seen}; ≤ {rpo} s ({basis})")),
        Ok(_) => Verdict::fail(format!("{seen}; more than {rpo} s ({basis})")),
        Err(_) => Verdict::unknown(format!("{seen}: not a number of seconds"), None),
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
    vec![Case::new(
        "BAK-004",
        with_settings(&[("archive_timeout", "300")]),
        with_settings(&[("archive_timeout", "0")]),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::backup::eval;
    use crate::checks::testkit::with_settings;
    use crate::model::finding::Status;

    #[test]
    fn archive_timeout_against_default_and_policy_rpo() {
        let s = with_settings(&[("archive_timeout", "600")]);
        assert_eq!(eval(&ARCHIVE_TIMEOUT, &s).status, Status::Fail);
        let policy = Policy {
            rpo_seconds: Some(900),
            ..Policy::default()
        };
        assert_eq!((ARCHIVE_TIMEOUT.evaluate)(&s, &policy).status, Status::Pass);
    }
}

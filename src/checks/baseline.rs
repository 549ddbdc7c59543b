//! Baselines: a check's result rows approved as they were (`[[baselines]]`
//! in the policy, with who, why and when). A later scan compares the rows it
//! finds with the approved ones, exactly as the finding lists them in
//! `objects`: rows "not in baseline" keep the finding failing and stay in
//! `objects` (the fix acts on them only); approved rows that are gone are
//! named "only in baseline" but fail nothing. When every current row is
//! approved, the finding is `accepted` with `baseline: true` and no expiry.
//!
//! Pure. Imports `model`, `policy` and [`super::facts`]; called from
//! [`super::acceptance`], which applies the policy around every check.

use super::{facts, Verdict};
use crate::model::finding::AcceptedRisk;
use crate::policy::Baseline;
use std::collections::BTreeSet;

/// Set the approved rows of a verdict aside and say in its evidence what
/// matched, what is new and what is gone. Returns the acceptance the
/// baseline stands for when it covered any current row.
pub(super) fn compare(baseline: &Baseline, verdict: &mut Verdict) -> Option<AcceptedRisk> {
    let approved: BTreeSet<&str> = baseline.rows.iter().map(String::as_str).collect();
    let gone: Vec<String> = {
        let present: BTreeSet<&str> = verdict.objects.iter().map(String::as_str).collect();
        approved
            .difference(&present)
            .map(|row| (*row).to_string())
            .collect()
    };
    let found = verdict.objects.len();
    let matched = verdict.set_aside(|row| approved.contains(row));
    let source = format!("baseline approved by {} on {}", baseline.by, baseline.at);
    let mut notes = vec![if verdict.objects.is_empty() {
        format!("{source}: all {found} row(s) match")
    } else {
        format!(
            "{source}: {} of {found} row(s) not in baseline: {}",
            verdict.objects.len(),
            facts::listing(&verdict.objects)
        )
    }];
    if !gone.is_empty() {
        notes.push(format!(
            "{} row(s) only in baseline (approved, no longer present): {}",
            gone.len(),
            facts::listing(&gone)
        ));
    }
    verdict.evidence = format!("{}; {}", verdict.evidence, notes.join("; "));
    (!matched.is_empty()).then(|| baseline.to_accepted())
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{self, judge_with};
    use super::*;
    use crate::model::finding::Status;
    use crate::model::snapshot::Snapshot;
    use crate::policy::Policy;

    /// The bootstrap superuser plus these unapproved superusers: PRIV-001
    /// fails and lists exactly them.
    fn superusers(names: &[&str]) -> Snapshot {
        let mut s = testkit::base();
        if let Some(roles) = s.roles.as_mut() {
            for name in names {
                roles.push(testkit::role(name, |r| {
                    r.superuser = true;
                    r.can_login = true;
                }));
            }
        }
        s
    }

    fn with_baseline(rows: &[&str]) -> Policy {
        Policy {
            baselines: vec![Baseline {
                id: "PRIV-001".into(),
                rows: rows.iter().map(|r| (*r).to_string()).collect(),
                by: "Jane Roe".into(),
                reason: "break-glass accounts".into(),
                at: "2026-11-20".into(),
            }],
            ..Policy::default()
        }
    }

    #[test]
    fn every_row_in_the_baseline_is_accepted_without_expiry() {
        let s = superusers(&["file_admin", "night_admin"]);
        let f = judge_with(
            "PRIV-001",
            &s,
            &with_baseline(&["night_admin", "file_admin"]),
        );
        assert_eq!(f.status, Status::Accepted, "{}", f.evidence);
        assert!(f.objects.is_empty());
        assert!(
            f.evidence
                .ends_with("; baseline approved by Jane Roe on 2026-11-20: all 2 row(s) match"),
            "{}",
            f.evidence
        );
        let accepted = f.accepted.unwrap_or_else(|| panic!("accepted"));
        assert!(accepted.baseline);
        assert_eq!(accepted.expires, None);
        assert_eq!(accepted.at.as_deref(), Some("2026-11-20"));
        assert_eq!(accepted.by, "Jane Roe");
        assert_eq!(accepted.reason, "break-glass accounts");
        // The JSON contract: expires null, baseline true.
        let json = serde_json::to_value(&accepted).unwrap_or_default();
        assert_eq!(json["expires"], serde_json::Value::Null);
        assert_eq!(json["baseline"], serde_json::Value::Bool(true));
    }

    #[test]
    fn a_new_row_keeps_failing_and_only_it_is_left_to_fix() {
        let s = superusers(&["file_admin", "night_admin"]);
        let f = judge_with("PRIV-001", &s, &with_baseline(&["file_admin"]));
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.accepted, None);
        assert_eq!(f.objects, ["night_admin"]);
        assert!(
            f.evidence.ends_with(
                "; baseline approved by Jane Roe on 2026-11-20: 1 of 2 row(s) not in baseline: night_admin"
            ),
            "{}",
            f.evidence
        );
        let fix = f.fix.unwrap_or_default();
        let statements: Vec<String> = fix.statements.iter().map(ToString::to_string).collect();
        assert_eq!(statements, ["ALTER ROLE \"night_admin\" NOSUPERUSER"]);
    }

    #[test]
    fn gone_rows_are_named_but_fail_nothing() {
        let s = superusers(&["file_admin"]);
        let f = judge_with("PRIV-001", &s, &with_baseline(&["file_admin", "old_admin"]));
        assert_eq!(f.status, Status::Accepted, "{}", f.evidence);
        assert!(
            f.evidence.ends_with(
                "all 1 row(s) match; 1 row(s) only in baseline (approved, no longer present): old_admin"
            ),
            "{}",
            f.evidence
        );
    }

    #[test]
    fn no_current_row_in_the_baseline_names_them_all() {
        let s = superusers(&["file_admin", "night_admin"]);
        let f = judge_with("PRIV-001", &s, &with_baseline(&["old_admin"]));
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.objects, ["file_admin", "night_admin"]);
        assert!(
            f.evidence.contains(
                "2 of 2 row(s) not in baseline: file_admin; night_admin; 1 row(s) only in baseline"
            ),
            "{}",
            f.evidence
        );
    }

    #[test]
    fn a_passing_check_is_unaffected() {
        let plain = judge_with("PRIV-001", &superusers(&[]), &Policy::default());
        let f = judge_with("PRIV-001", &superusers(&[]), &with_baseline(&["old_admin"]));
        assert_eq!(f.status, Status::Pass);
        assert_eq!(f, plain);
    }

    #[test]
    fn another_checks_baseline_does_not_apply() {
        let s = superusers(&["file_admin"]);
        let mut policy = with_baseline(&["file_admin"]);
        policy.baselines[0].id = "PRIV-002".into();
        let f = judge_with("PRIV-001", &s, &policy);
        assert_eq!(f.status, Status::Fail);
        assert!(!f.evidence.contains("baseline"), "{}", f.evidence);
    }
}

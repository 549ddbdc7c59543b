//! What the policy decided about a failing or warning verdict, applied once
//! around every check: the check's baseline ([`super::baseline`]),
//! acceptances of single objects, an acceptance of the whole check, and
//! acceptances that have expired.
//!
//! Rows the policy covers leave the verdict's `objects` (so the fix leaves
//! them alone) and are named in the evidence; when none is left, the finding
//! is `accepted`. An expired acceptance never disappears silently: the finding
//! keeps failing and its evidence says whose acceptance lapsed and when.
//!
//! Pure: "now" is the snapshot's `collected_at`. Imports `model`, `policy`
//! and its sibling modules; nothing else.

use super::{baseline, facts, Verdict};
use crate::model::finding::{AcceptedRisk, Status};
use crate::policy::{Policy, PolicyAcceptedRisk};

/// Apply the policy of check `id` to its verdict as of `now`. Returns the
/// verdict (status `accepted` when the policy covers it whole) and the
/// acceptance the finding shows.
pub(super) fn apply(
    id: &str,
    mut verdict: Verdict,
    policy: &Policy,
    now: &str,
) -> (Verdict, Option<AcceptedRisk>) {
    if !matches!(verdict.status, Status::Fail | Status::Warn) {
        return (verdict, None);
    }
    let had_rows = !verdict.objects.is_empty();
    let mut grounds = Vec::new();
    if had_rows {
        // The baseline first: it judges the rows as the check found them
        // (an approved row that is also accepted for a while is approved).
        grounds.extend(
            policy
                .baseline(id)
                .and_then(|b| baseline::compare(b, &mut verdict)),
        );
        grounds.extend(accept_objects(id, &mut verdict, policy, now));
    }
    let all_rows_covered = had_rows && verdict.objects.is_empty();
    let accepted = policy
        .accepted_risk(id, now)
        .or_else(|| all_rows_covered.then(|| combined(&grounds)));
    match accepted {
        Some(risk) => {
            verdict.status = Status::Accepted;
            (verdict, Some(risk))
        }
        None => {
            note_expired(id, &mut verdict, policy, now);
            (verdict, None)
        }
    }
}

/// Take the objects the policy accepts one by one out of the verdict and
/// name them in the evidence with who accepted them until when; returns the
/// acceptances used, one per object.
fn accept_objects(
    id: &str,
    verdict: &mut Verdict,
    policy: &Policy,
    now: &str,
) -> Vec<AcceptedRisk> {
    let accepted = verdict.set_aside(|object| policy.accepted_object(id, object, now).is_some());
    let risks: Vec<&PolicyAcceptedRisk> = accepted
        .iter()
        .filter_map(|object| policy.accepted_object(id, object, now))
        .collect();
    if risks.is_empty() {
        return Vec::new();
    }
    let shown: Vec<String> = accepted
        .iter()
        .zip(&risks)
        .map(|(object, r)| format!("{object} (by {} until {})", r.by, r.expires))
        .collect();
    verdict.evidence = format!(
        "{}; accepted in the policy: {}",
        verdict.evidence,
        facts::listing(&shown)
    );
    risks
        .into_iter()
        .map(PolicyAcceptedRisk::to_accepted)
        .collect()
}

/// One acceptance standing for several: every person, reason and ticket,
/// the latest date of decision, and the earliest expiry (the finding is open
/// again once any acceptance lapses; a baseline alone never expires).
fn combined(grounds: &[AcceptedRisk]) -> AcceptedRisk {
    fn joined<'a>(values: impl Iterator<Item = &'a str>, separator: &str) -> String {
        let mut values: Vec<&str> = values.collect();
        values.sort_unstable();
        values.dedup();
        values.join(separator)
    }
    let tickets = joined(grounds.iter().filter_map(|g| g.ticket.as_deref()), ", ");
    AcceptedRisk {
        by: joined(grounds.iter().map(|g| g.by.as_str()), ", "),
        reason: joined(grounds.iter().map(|g| g.reason.as_str()), "; "),
        ticket: (!tickets.is_empty()).then_some(tickets),
        at: grounds.iter().filter_map(|g| g.at.clone()).max(),
        expires: grounds.iter().filter_map(|g| g.expires.clone()).min(),
        baseline: grounds.iter().any(|g| g.baseline),
    }
}

/// Name the expired acceptances that would have covered what is still open:
/// of the whole check, or of an object the finding still lists.
fn note_expired(id: &str, verdict: &mut Verdict, policy: &Policy, now: &str) {
    let lapsed: Vec<String> = policy
        .accepted_risks
        .iter()
        .filter(|r| r.id == id && r.has_expired(now))
        .filter_map(|r| {
            let what = match &r.object {
                None => String::new(),
                Some(object) if verdict.objects.contains(object) => format!(" for {object}"),
                Some(_) => return None,
            };
            Some(format!(
                "accepted risk{what} by {} ({}) expired on {}",
                r.by, r.reason, r.expires
            ))
        })
        .collect();
    if !lapsed.is_empty() {
        verdict.evidence = format!("{}; {}", verdict.evidence, facts::listing(&lapsed));
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{self, judge_with};
    use super::*;
    use crate::policy::Baseline;

    /// Two unapproved superusers (PRIV-001 fails naming both).
    fn two_superusers() -> crate::model::snapshot::Snapshot {
        let mut s = testkit::base();
        if let Some(roles) = s.roles.as_mut() {
            for name in ["night_admin", "file_admin"] {
                roles.push(testkit::role(name, |r| {
                    r.superuser = true;
                    r.can_login = true;
                }));
            }
        }
        s
    }

    fn acceptance(object: Option<&str>, expires: &str) -> PolicyAcceptedRisk {
        PolicyAcceptedRisk {
            id: "PRIV-001".into(),
            object: object.map(Into::into),
            by: "Jane Roe".into(),
            reason: "migration window".into(),
            expires: expires.into(),
            ticket: Some("CHG-7".into()),
            at: Some("2026-11-01".into()),
        }
    }

    #[test]
    fn fixture_fails_on_both_superusers() {
        let f = judge_with("PRIV-001", &two_superusers(), &Policy::default());
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.objects, ["file_admin", "night_admin"]);
    }

    #[test]
    fn an_expired_whole_check_acceptance_fails_and_says_so() {
        let policy = Policy {
            accepted_risks: vec![acceptance(None, "2026-11-26")],
            ..Policy::default()
        };
        // testkit's snapshots are collected on 2026-11-27.
        let f = judge_with("PRIV-001", &two_superusers(), &policy);
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.accepted, None);
        assert_eq!(f.objects, ["file_admin", "night_admin"]);
        assert!(
            f.evidence
                .ends_with("; accepted risk by Jane Roe (migration window) expired on 2026-11-26"),
            "{}",
            f.evidence
        );
        // The day it expires it still holds, and says nothing about expiry.
        let policy = Policy {
            accepted_risks: vec![acceptance(None, "2026-11-27")],
            ..Policy::default()
        };
        let f = judge_with("PRIV-001", &two_superusers(), &policy);
        assert_eq!(f.status, Status::Accepted);
        assert!(!f.evidence.contains("expired"), "{}", f.evidence);
        let accepted = f.accepted.unwrap_or_else(|| panic!("accepted"));
        assert_eq!(accepted.ticket.as_deref(), Some("CHG-7"));
        assert_eq!(accepted.at.as_deref(), Some("2026-11-01"));
        assert_eq!(accepted.expires.as_deref(), Some("2026-11-27"));
        assert!(!accepted.baseline);
    }

    #[test]
    fn an_expired_object_acceptance_names_its_object() {
        let policy = Policy {
            accepted_risks: vec![
                acceptance(Some("night_admin"), "2026-10-31"),
                // Expired too, but for a row the finding no longer lists.
                acceptance(Some("old_admin"), "2026-10-31"),
            ],
            ..Policy::default()
        };
        let f = judge_with("PRIV-001", &two_superusers(), &policy);
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.objects, ["file_admin", "night_admin"]);
        assert!(
            f.evidence.ends_with(
                "; accepted risk for night_admin by Jane Roe (migration window) expired on 2026-10-31"
            ),
            "{}",
            f.evidence
        );
        assert!(!f.evidence.contains("old_admin"), "{}", f.evidence);
    }

    #[test]
    fn a_renewed_acceptance_hides_the_lapsed_one() {
        let policy = Policy {
            accepted_risks: vec![
                acceptance(None, "2026-10-31"),
                acceptance(None, "2027-01-31"),
            ],
            ..Policy::default()
        };
        let f = judge_with("PRIV-001", &two_superusers(), &policy);
        assert_eq!(f.status, Status::Accepted);
        assert!(!f.evidence.contains("expired"), "{}", f.evidence);
    }

    #[test]
    fn a_passing_check_ignores_expired_acceptances() {
        let policy = Policy {
            accepted_risks: vec![acceptance(None, "2026-10-31")],
            ..Policy::default()
        };
        let f = judge_with("PRIV-001", &testkit::base(), &policy);
        assert_eq!(f.status, Status::Pass);
        assert!(!f.evidence.contains("expired"), "{}", f.evidence);
    }

    #[test]
    fn baseline_and_object_acceptance_together_accept_the_finding() {
        let policy = Policy {
            accepted_risks: vec![acceptance(Some("night_admin"), "2027-01-31")],
            baselines: vec![Baseline {
                id: "PRIV-001".into(),
                rows: vec!["file_admin".into()],
                by: "John Doe".into(),
                reason: "break-glass account".into(),
                at: "2026-11-20T09:00:00Z".into(),
            }],
            ..Policy::default()
        };
        let f = judge_with("PRIV-001", &two_superusers(), &policy);
        assert_eq!(f.status, Status::Accepted, "{}", f.evidence);
        assert!(f.objects.is_empty());
        assert_eq!(
            f.accepted,
            Some(AcceptedRisk {
                by: "Jane Roe, John Doe".into(),
                reason: "break-glass account; migration window".into(),
                ticket: Some("CHG-7".into()),
                at: Some("2026-11-20T09:00:00Z".into()),
                expires: Some("2027-01-31".into()),
                baseline: true,
            })
        );
    }
}

//! How proofs change a verdict (issue 15), decided once for every check.
//!
//! - A broken proof turns the settings' verdict into `fail` (a [`Effect::Warns`]
//!   proof: a `pass` into `warn`), with the proof named in the evidence:
//!   settings alone never hide what the server was seen to accept.
//! - Holding proofs upgrade `unknown` to `pass` only when the probe fully
//!   decides the check ([`Effect::Decides`]) and every deciding attempt held.
//!   They never turn a settings `fail` into `pass`: the settings cover lines,
//!   roles and addresses the probe did not try.
//! - A restore drill ([`Effect::Attests`]) stands in for an attestation: when
//!   every such proof holds, a `manual` check becomes `pass`.
//! - Inconclusive proofs change nothing; they are listed with their reason.
//! - A broken plaintext startup from a loopback address follows the policy's
//!   `allow_loopback_without_tls`, as TLS-004 does for loopback lines: `true`
//!   excuses it, unstated makes it a warning, `false` a failure.
//!
//! Pure: reads the snapshot's [`ProbeRun`] and the policy.

use super::Verdict;
use crate::model::finding::Status;
use crate::model::proof::{CheckProof, Effect, Outcome, Proof};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;
use std::net::IpAddr;

/// The verdict after the check's proofs, and the proofs to attach to its finding.
pub(super) fn apply(
    check_id: &str,
    mut verdict: Verdict,
    snapshot: &Snapshot,
    policy: &Policy,
) -> (Verdict, Vec<Proof>) {
    let Some(run) = &snapshot.probes else {
        return (verdict, Vec::new());
    };
    let attached: Vec<&CheckProof> = run.for_check(check_id).collect();
    if attached.is_empty() {
        return (verdict, Vec::new());
    }
    let weight_of = |p: &CheckProof| broken_weight(p, policy);
    let worst_broken = attached
        .iter()
        .filter(|p| p.proof.outcome == Outcome::Broken)
        .filter_map(|p| weight_of(p).map(|w| (w, *p)))
        .max_by_key(|(w, _)| *w);

    if let Some((weight, proof)) = worst_broken {
        let proven = match weight {
            Weight::Fail => Status::Fail,
            Weight::Warn => Status::Warn,
        };
        if rank(proven) > rank(verdict.status) {
            let settings_said = std::mem::take(&mut verdict.evidence);
            verdict.status = proven;
            verdict.reason = None;
            verdict.grant = None;
            verdict.evidence = format!(
                "Proven by test: {} — {}. (The settings alone said: {settings_said})",
                proof.proof.attempted, proof.proof.note
            );
        }
    } else if verdict.status == Status::Manual {
        let attesting: Vec<&&CheckProof> = attached
            .iter()
            .filter(|p| p.effect == Effect::Attests)
            .collect();
        if !attesting.is_empty() && attesting.iter().all(|p| p.proof.outcome == Outcome::Holds) {
            verdict = Verdict::pass(format!("Proven by test: {}", attesting[0].proof.note))
                .with_objects(std::mem::take(&mut verdict.objects));
        }
    } else if verdict.status == Status::Unknown {
        let deciding: Vec<&&CheckProof> = attached
            .iter()
            .filter(|p| p.effect == Effect::Decides)
            .collect();
        if !deciding.is_empty() && deciding.iter().all(|p| p.proof.outcome == Outcome::Holds) {
            verdict = Verdict::pass(format!(
                "Proven by test ({} attempt{}): {}",
                deciding.len(),
                if deciding.len() == 1 { "" } else { "s" },
                deciding[0].proof.note
            ))
            .with_objects(std::mem::take(&mut verdict.objects));
        }
    }
    let proofs = attached.into_iter().map(|p| p.proof.clone()).collect();
    (verdict, proofs)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Weight {
    Warn,
    Fail,
}

/// What a broken proof weighs for the verdict; `None` when the policy excuses it.
fn broken_weight(p: &CheckProof, policy: &Policy) -> Option<Weight> {
    if p.effect == Effect::Warns {
        return Some(Weight::Warn);
    }
    let from_loopback = p
        .source_ip
        .as_deref()
        .and_then(|ip| ip.parse::<IpAddr>().ok())
        .is_some_and(|ip| ip.is_loopback());
    if !from_loopback {
        return Some(Weight::Fail);
    }
    match policy.allow_loopback_without_tls {
        Some(true) => None,
        None => Some(Weight::Warn),
        Some(false) => Some(Weight::Fail),
    }
}

/// Order of severity a proof may raise a verdict to.
fn rank(status: Status) -> u8 {
    match status {
        Status::Fail => 3,
        Status::Warn => 2,
        Status::Unknown => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::proof::{Probe, ProbeRun};

    fn proof(check: &str, effect: Effect, outcome: Outcome, source: Option<&str>) -> CheckProof {
        CheckProof {
            check: check.into(),
            effect,
            source_ip: source.map(Into::into),
            proof: Proof {
                probe: Probe::Transport,
                attempted: "startup without TLS as role \"app\" to database \"clinic\"".into(),
                from: "10.0.0.5 → 10.0.0.7:5432".into(),
                answer: "AuthenticationCleartextPassword".into(),
                at: "2026-12-07T10:00:00Z".into(),
                outcome,
                note: "the server asked for a password in clear text".into(),
                grant: None,
            },
        }
    }

    fn snapshot_with(proofs: Vec<CheckProof>) -> Snapshot {
        Snapshot {
            probes: Some(ProbeRun {
                asked: vec![Probe::Transport],
                proofs,
                ..ProbeRun::default()
            }),
            ..Snapshot::default()
        }
    }

    fn after(verdict: Verdict, proofs: Vec<CheckProof>, policy: &Policy) -> (Verdict, Vec<Proof>) {
        apply("TLS-004", verdict, &snapshot_with(proofs), policy)
    }

    #[test]
    fn no_probe_run_changes_nothing_and_attaches_nothing() {
        let (v, proofs) = apply(
            "TLS-004",
            Verdict::pass("ok"),
            &Snapshot::default(),
            &Policy::default(),
        );
        assert_eq!(v, Verdict::pass("ok"));
        assert!(proofs.is_empty());
    }

    #[test]
    fn a_broken_proof_fails_a_settings_pass_and_says_both() {
        let (v, proofs) = after(
            Verdict::pass("every host line is hostssl"),
            vec![proof(
                "TLS-004",
                Effect::Part,
                Outcome::Broken,
                Some("10.0.0.5"),
            )],
            &Policy::default(),
        );
        assert_eq!(v.status, Status::Fail);
        assert!(v.evidence.starts_with("Proven by test"), "{}", v.evidence);
        assert!(v.evidence.contains("every host line is hostssl"));
        assert_eq!(proofs.len(), 1);
    }

    #[test]
    fn holding_proofs_upgrade_unknown_only_when_they_decide() {
        let unknown = Verdict::unknown(
            "no pg_hba access",
            Some("GRANT pg_read_all_settings".into()),
        );
        let (v, _) = after(
            unknown.clone(),
            vec![proof("TLS-004", Effect::Decides, Outcome::Holds, None)],
            &Policy::default(),
        );
        assert_eq!(v.status, Status::Pass);
        let (v, _) = after(
            unknown.clone(),
            vec![proof("TLS-004", Effect::Part, Outcome::Holds, None)],
            &Policy::default(),
        );
        assert_eq!(v.status, Status::Unknown);
        let (v, _) = after(
            unknown,
            vec![
                proof("TLS-004", Effect::Decides, Outcome::Holds, None),
                proof("TLS-004", Effect::Decides, Outcome::Inconclusive, None),
            ],
            &Policy::default(),
        );
        assert_eq!(v.status, Status::Unknown, "one attempt could not decide");
    }

    #[test]
    fn holding_proofs_never_turn_a_settings_fail_into_pass() {
        let (v, proofs) = after(
            Verdict::fail("line 3 is host"),
            vec![proof("TLS-004", Effect::Decides, Outcome::Holds, None)],
            &Policy::default(),
        );
        assert_eq!(v, Verdict::fail("line 3 is host"));
        assert_eq!(proofs.len(), 1);
    }

    #[test]
    fn inconclusive_changes_nothing() {
        let (v, _) = after(
            Verdict::pass("ok"),
            vec![proof(
                "TLS-004",
                Effect::Decides,
                Outcome::Inconclusive,
                None,
            )],
            &Policy::default(),
        );
        assert_eq!(v, Verdict::pass("ok"));
    }

    #[test]
    fn warning_proofs_never_fail() {
        let (v, _) = after(
            Verdict::pass("ciphers ok"),
            vec![proof("TLS-004", Effect::Warns, Outcome::Broken, None)],
            &Policy::default(),
        );
        assert_eq!(v.status, Status::Warn);
        let (v, _) = after(
            Verdict::fail("bad"),
            vec![proof("TLS-004", Effect::Warns, Outcome::Broken, None)],
            &Policy::default(),
        );
        assert_eq!(v, Verdict::fail("bad"), "a warning never softens a fail");
    }

    #[test]
    fn loopback_plaintext_follows_the_policy() {
        let broken = || {
            vec![proof(
                "TLS-004",
                Effect::Part,
                Outcome::Broken,
                Some("127.0.0.1"),
            )]
        };
        let with = |allow| Policy {
            allow_loopback_without_tls: allow,
            ..Policy::default()
        };
        assert_eq!(
            after(Verdict::pass("ok"), broken(), &with(Some(true)))
                .0
                .status,
            Status::Pass
        );
        assert_eq!(
            after(Verdict::pass("ok"), broken(), &with(None)).0.status,
            Status::Warn
        );
        assert_eq!(
            after(Verdict::pass("ok"), broken(), &with(Some(false)))
                .0
                .status,
            Status::Fail
        );
    }

    #[test]
    fn proofs_attach_only_to_their_own_check() {
        let (_, proofs) = apply(
            "TLS-001",
            Verdict::pass("ok"),
            &snapshot_with(vec![proof("TLS-004", Effect::Part, Outcome::Broken, None)]),
            &Policy::default(),
        );
        assert!(proofs.is_empty());
    }

    #[test]
    fn a_restore_drill_settles_a_manual_check_or_fails_it() {
        let drill = |outcome| proof("BAK-008", Effect::Attests, outcome, None);
        let manual = || Verdict::manual("attestation required");
        let (v, proofs) = apply(
            "BAK-008",
            manual(),
            &snapshot_with(vec![drill(Outcome::Holds)]),
            &Policy::default(),
        );
        assert_eq!(v.status, Status::Pass, "{}", v.evidence);
        assert_eq!(proofs.len(), 1);
        let (v, _) = apply(
            "BAK-008",
            manual(),
            &snapshot_with(vec![drill(Outcome::Broken)]),
            &Policy::default(),
        );
        assert_eq!(v.status, Status::Fail);
        let (v, _) = apply(
            "BAK-008",
            manual(),
            &snapshot_with(vec![drill(Outcome::Inconclusive)]),
            &Policy::default(),
        );
        assert_eq!(v.status, Status::Manual);
    }
}

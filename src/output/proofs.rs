//! Proofs in the scan result: the probe run's summary in the JSON contract
//! (`probes`), a finding's transcript in text, and the `prove` command's
//! report, which shows only the checks the asked probes give proofs for.
//!
//! Server answers are hostile text: shown through [`untrusted`] only.

use super::{badge, ScanReport};
use crate::model::finding::Finding;
use crate::model::proof::{Outcome, Probe, ProbeRun, ProbeSkipped, Proof};
use crate::model::untrusted;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// What a `--prove` run did, beside the proofs each finding carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeSummary {
    pub asked: Vec<Probe>,
    pub started_at: String,
    pub finished_at: String,
    pub holds: usize,
    pub broken: usize,
    pub inconclusive: usize,
    /// Asked-for probes that could not run at all, and why.
    pub skipped: Vec<ProbeSkipped>,
}

impl ProbeSummary {
    pub fn of(run: &ProbeRun) -> ProbeSummary {
        let count = |outcome| {
            run.proofs
                .iter()
                .filter(|p| p.proof.outcome == outcome)
                .count()
        };
        ProbeSummary {
            asked: run.asked.clone(),
            started_at: run.started_at.clone(),
            finished_at: run.finished_at.clone(),
            holds: count(Outcome::Holds),
            broken: count(Outcome::Broken),
            inconclusive: count(Outcome::Inconclusive),
            skipped: run.skipped.clone(),
        }
    }
}

/// Whether a finding's status rests on the server's behaviour: at least one
/// attempt held or broke (inconclusive ones prove nothing).
pub fn proven_by_test(proofs: &[Proof]) -> bool {
    proofs.iter().any(|p| p.outcome != Outcome::Inconclusive)
}

/// The label shown next to a status ("proven by test"), or nothing.
pub fn proof_label(finding: &Finding) -> Option<&'static str> {
    proven_by_test(&finding.proofs).then_some("proven by test")
}

/// One transcript line per attempt, indented under a finding.
pub(super) fn write_transcript(out: &mut String, proofs: &[Proof], indent: &str) {
    for p in proofs {
        let _ = writeln!(
            out,
            "{indent}{} [{}] {} ({}, {}): {}",
            p.probe,
            p.outcome,
            untrusted::text(&p.attempted),
            untrusted::text(&p.from),
            untrusted::name(&p.at),
            untrusted::text(&p.note)
        );
        let _ = writeln!(
            out,
            "{indent}    server answered: {}",
            untrusted::text(&p.answer)
        );
        if let Some(grant) = &p.grant {
            let _ = writeln!(out, "{indent}    to decide: {}", untrusted::text(grant));
        }
    }
}

/// A scan's closing lines on its probe run: counts, and the probes that did not run.
pub(super) fn write_run_summary(out: &mut String, summary: &ProbeSummary) {
    let asked: Vec<&str> = summary.asked.iter().map(|p| p.id()).collect();
    let _ = writeln!(
        out,
        "\nProbes ({}), {} .. {}: {} held, {} broken, {} inconclusive",
        asked.join(", "),
        untrusted::name(&summary.started_at),
        untrusted::name(&summary.finished_at),
        summary.holds,
        summary.broken,
        summary.inconclusive
    );
    for skipped in &summary.skipped {
        let _ = writeln!(
            out,
            "  {} not run: {}{}",
            skipped.probe,
            untrusted::text(&skipped.reason),
            skipped
                .grant
                .as_deref()
                .map(|g| format!(" — {}", untrusted::text(g)))
                .unwrap_or_default()
        );
    }
}

/// The scan result cut down to the checks the asked probes prove, for `prove`.
pub fn proved_only(mut report: ScanReport) -> ScanReport {
    let asked: Vec<Probe> = report
        .probes
        .as_ref()
        .map(|p| p.asked.clone())
        .unwrap_or_default();
    report
        .findings
        .retain(|f| Probe::for_check(&f.id).is_some_and(|p| asked.contains(&p)));
    report.summary = crate::model::finding::Summary::of(&report.findings);
    report
}

/// `prove` in text: per probe what it leaves behind, then each of its checks
/// with the status, "proven by test" and the transcript.
pub fn prove_text(report: &ScanReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "pgSafeguard {} — proofs for {}",
        report.tool.version,
        report.target.shown()
    );
    let Some(summary) = &report.probes else {
        let _ = writeln!(out, "no probe ran");
        return out;
    };
    write_run_summary(&mut out, summary);
    for probe in &summary.asked {
        let _ = writeln!(out, "\n{}", probe.title());
        let _ = writeln!(out, "  leaves behind: {}", probe.leaves_behind());
        for f in report
            .findings
            .iter()
            .filter(|f| probe.checks().contains(&f.id.as_str()))
        {
            let label = proof_label(f).unwrap_or("not proven");
            let _ = writeln!(
                out,
                "  [{:<7}] {:<8} {} — {label}",
                badge(f.status),
                f.id,
                f.title
            );
            let _ = writeln!(out, "            {}", untrusted::text(&f.evidence));
            write_transcript(&mut out, &f.proofs, "            ");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::proof::CheckProof;
    use crate::model::proof::Effect;

    fn proof(outcome: Outcome, answer: &str) -> Proof {
        Proof {
            probe: Probe::Transport,
            attempted: "startup without TLS".into(),
            from: "127.0.0.1 → 127.0.0.1:5432".into(),
            answer: answer.into(),
            at: "2026-12-07T10:00:00Z".into(),
            outcome,
            note: "reached authentication".into(),
            grant: None,
        }
    }

    #[test]
    fn only_holding_or_broken_attempts_prove_anything() {
        assert!(!proven_by_test(&[]));
        assert!(!proven_by_test(&[proof(Outcome::Inconclusive, "timeout")]));
        assert!(proven_by_test(&[proof(
            Outcome::Broken,
            "AuthenticationOk"
        )]));
    }

    #[test]
    fn a_forged_answer_cannot_start_a_line_of_ours() {
        let mut out = String::new();
        write_transcript(
            &mut out,
            &[proof(
                Outcome::Holds,
                "no\n  [PASS   ] TLS-004 forged\u{1b}[2J",
            )],
            "  ",
        );
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(!out.contains('\u{1b}'));
        assert!(out.contains("\\n"), "{out}");
    }

    #[test]
    fn the_summary_counts_outcomes() {
        let attach = |outcome| CheckProof {
            check: "TLS-004".into(),
            effect: Effect::Part,
            source_ip: None,
            proof: proof(outcome, "x"),
        };
        let run = ProbeRun {
            asked: vec![Probe::Transport],
            proofs: vec![
                attach(Outcome::Holds),
                attach(Outcome::Broken),
                attach(Outcome::Holds),
            ],
            ..ProbeRun::default()
        };
        let s = ProbeSummary::of(&run);
        assert_eq!((s.holds, s.broken, s.inconclusive), (2, 1, 0));
    }
}

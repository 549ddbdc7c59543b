//! "Prove it": which probes a check or a section asks for, what they leave
//! behind on the server (shown before anything runs), whether the
//! connection allows probing, and how a finding's proofs read at a glance.
//!
//! The probes themselves run in a live scan with `ScanOptions::prove`
//! (`jobs`); a refused connection (`crate::scan::probe_refusal`: TCP without
//! verify-ca/verify-full) is probed only after an explicit "probe anyway
//! (insecure)". Plain data and pure rules; may import the model and the
//! catalogue (for a check's section); no other ui module.

use crate::model::finding::{Finding, Section};
use crate::model::proof::{Outcome, Probe};

/// What a "Prove it" button is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProveScope {
    /// One check ("Prove it").
    Check(String),
    /// Every check of a section that a probe can prove ("Prove this section").
    Section(Section),
}

impl ProveScope {
    /// The probes to run, in [`Probe::ALL`] order (empty: nothing to prove).
    pub fn probes(&self) -> Vec<Probe> {
        match self {
            ProveScope::Check(id) => Probe::for_check(id).into_iter().collect(),
            ProveScope::Section(section) => section_probes(*section),
        }
    }

    /// The section to return to after the scan.
    pub fn section(&self) -> Option<Section> {
        match self {
            ProveScope::Check(id) => crate::checks::find(id).map(|c| c.section),
            ProveScope::Section(section) => Some(*section),
        }
    }

    /// For people: "TLS-004" or "section 3, Transmission security".
    pub fn label(&self) -> String {
        match self {
            ProveScope::Check(id) => id.clone(),
            ProveScope::Section(section) => {
                format!("section {}, {}", section.number(), section.title())
            }
        }
    }
}

/// The probes that prove at least one check of `section`.
pub fn section_probes(section: Section) -> Vec<Probe> {
    Probe::ALL
        .into_iter()
        .filter(|probe| {
            probe
                .checks()
                .iter()
                .any(|id| crate::checks::find(id).is_some_and(|c| c.section == section))
        })
        .collect()
}

/// Whether "Prove it" can run from here, and if not, why (the tooltip).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProveAvailability {
    /// A live connection: the probes run on the server.
    Live,
    /// A scan (or a probe run) is in flight.
    Busy,
    /// A recorded scan from the evidence store, shown read-only.
    ReadOnly,
    /// The offline sample or a saved session: no server to probe.
    Offline,
}

impl ProveAvailability {
    /// Why the button is disabled, for its tooltip.
    pub fn disabled_hint(self) -> &'static str {
        match self {
            ProveAvailability::Live => "",
            ProveAvailability::Busy => "A scan is running: wait for it to finish",
            ProveAvailability::ReadOnly => {
                "This is a recorded scan, shown read-only: a probe proves what the server does                  now, so press Back to live first"
            }
            ProveAvailability::Offline => {
                "Proving needs a live connection: the offline sample and saved sessions are                  snapshots, and a probe must talk to the server"
            }
        }
    }
}

/// The buttons' labels. Test API.
pub const PROVE_IT: &str = "Prove it";
pub const PROVE_SECTION: &str = "Prove this section";

/// The confirmation shown before probing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvePrompt {
    pub scope: ProveScope,
    pub probes: Vec<Probe>,
    /// Why probing this connection is refused unless the user insists.
    pub refusal: Option<String>,
}

/// The prompt's title, also its accessible label. Test API.
pub fn prompt_title(scope: &ProveScope) -> String {
    format!("Prove {}", scope.label())
}

/// The buttons of the prompt. Test API.
pub const RUN_PROBES: &str = "Run the probes";
pub const PROBE_ANYWAY: &str = "Probe anyway (insecure)";

/// "proven by test": a proof that decided something (holds or broken), not
/// only inconclusive attempts.
pub fn proven_by_test(finding: &Finding) -> bool {
    finding
        .proofs
        .iter()
        .any(|p| matches!(p.outcome, Outcome::Holds | Outcome::Broken))
}

/// What the probe run showed over `findings`: holds, broken, inconclusive.
pub fn tally(findings: &[Finding]) -> [usize; 3] {
    let mut counts = [0; 3];
    for proof in findings.iter().flat_map(|f| &f.proofs) {
        counts[match proof.outcome {
            Outcome::Holds => 0,
            Outcome::Broken => 1,
            Outcome::Inconclusive => 2,
        }] += 1;
    }
    counts
}

/// The notice after a probe run, e.g. "proved TLS-004: 3 attempts — 2 holds,
/// 1 broken, 0 inconclusive".
pub fn tally_text(scope: &ProveScope, findings: &[Finding]) -> String {
    let [holds, broken, inconclusive] = tally(findings);
    let attempts = holds + broken + inconclusive;
    if attempts == 0 {
        return format!(
            "probed {}: no attempt was possible here (each check says why)",
            scope.label()
        );
    }
    format!(
        "probed {}: {attempts} attempt(s) — {holds} holds, {broken} broken, {inconclusive} inconclusive",
        scope.label()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_asks_for_its_probe_and_a_section_for_every_probe_of_its_checks() {
        assert_eq!(ProveScope::Check("AUTH-003".into()).probes(), [Probe::Auth]);
        assert!(ProveScope::Check("BAK-001".into()).probes().is_empty());
        let auth_section = crate::checks::find("AUTH-003").unwrap().section;
        assert!(section_probes(auth_section).contains(&Probe::Auth));
        let audit = crate::checks::find("AUD-003").unwrap().section;
        assert!(section_probes(audit).contains(&Probe::Audit));
        assert!(section_probes(Section::Backup).is_empty());
    }
}

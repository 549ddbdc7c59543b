//! Proofs: what an active probe tried against the server and what the server
//! answered (issue 15). A setting is a claim; a proof is the server's
//! behaviour, recorded as evidence.
//!
//! The probes themselves live in `db::probe`; their results travel in the
//! snapshot ([`ProbeRun`]) so that checks stay pure functions of the snapshot,
//! and each finding carries the proofs of its check (`proofs` in the JSON
//! contract, absent when no probe ran). How a proof changes a verdict is
//! decided once, in `checks::proofs`.
//!
//! Pure data; imports nothing above `model`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A family of probes, chosen with `--probe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Probe {
    /// Startup without TLS, TLS versions, cipher offers, direct TLS, certificate.
    Transport,
    /// The server's first answer to a startup message, per role and database.
    Auth,
    /// Visible row counts per login role under row-level security.
    Rls,
    /// A tagged read of a PHI table, looked for in the server log.
    Audit,
    /// A restore drill (`pgsafeguard drill`): not an active probe of the
    /// server, so not in [`Probe::ALL`] or `--probe`; a recorded drill rides
    /// along with a scan as BAK-008's proof.
    RestoreDrill,
}

impl Probe {
    /// The active probes `--probe` runs.
    pub const ALL: [Probe; 4] = [Probe::Transport, Probe::Auth, Probe::Rls, Probe::Audit];

    /// The name used on the command line and in JSON.
    pub fn id(self) -> &'static str {
        match self {
            Probe::Transport => "transport",
            Probe::Auth => "auth",
            Probe::Rls => "rls",
            Probe::Audit => "audit",
            Probe::RestoreDrill => "restore_drill",
        }
    }

    /// What the probe does, for people.
    pub fn title(self) -> &'static str {
        match self {
            Probe::Transport => "Transport: plaintext startup, TLS versions, ciphers, certificate",
            Probe::Auth => "Authentication exchange (no password is sent)",
            Probe::Rls => "Row-level security: rows each login role can see",
            Probe::Audit => "Audit: a tagged read must reach the log",
            Probe::RestoreDrill => "Restore drill: a backup restored and recovered",
        }
    }

    /// What running the probe leaves behind on the server.
    pub fn leaves_behind(self) -> &'static str {
        match self {
            Probe::Transport => {
                "connection lines and failed TLS handshakes in the server log (e.g. \
                 'could not accept SSL connection: unsupported protocol'); no session is opened"
            }
            Probe::Auth => {
                "connection lines in the server log, and a session under trust \
                 (closed at once); never a password attempt"
            }
            Probe::Rls => "nothing (a read-only transaction that is rolled back)",
            Probe::Audit => {
                "one audit line for a SELECT … LIMIT 0 (application_name pgsafeguard-probe-<nonce>)"
            }
            Probe::RestoreDrill => {
                "nothing on the server: a throwaway copy on this machine, removed afterwards"
            }
        }
    }

    /// The checks this probe gives proofs for (issue 15's table).
    pub fn checks(self) -> &'static [&'static str] {
        match self {
            Probe::Transport => &["TLS-001", "TLS-002", "TLS-003", "TLS-004", "TLS-006"],
            Probe::Auth => &["AUTH-003", "AUTH-004", "AUTH-005", "AUTH-008"],
            Probe::Rls => &["PRIV-014", "PRIV-015"],
            Probe::Audit => &["AUD-002", "AUD-003"],
            Probe::RestoreDrill => &["BAK-008"],
        }
    }

    /// The probe that can prove a check, if any ("Prove it" in the app).
    pub fn for_check(check: &str) -> Option<Probe> {
        Probe::ALL.into_iter().find(|p| p.checks().contains(&check))
    }

    /// Parse a comma-separated list (`transport,auth`); every name must be known.
    pub fn parse_list(list: &str) -> Result<Vec<Probe>, String> {
        let mut probes = Vec::new();
        for word in list.split(',').map(str::trim) {
            let probe = Probe::ALL
                .into_iter()
                .find(|p| p.id() == word)
                .ok_or_else(|| {
                    format!("unknown probe {word:?}: choose from transport, auth, rls, audit")
                })?;
            if !probes.contains(&probe) {
                probes.push(probe);
            }
        }
        probes.sort();
        Ok(probes)
    }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// What an attempt showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The server behaved as the safeguard requires (e.g. refused plaintext).
    Holds,
    /// The server accepted what the safeguard forbids.
    Broken,
    /// The attempt could not decide (a local error, a timeout, no permission).
    Inconclusive,
}

impl Outcome {
    pub fn id(self) -> &'static str {
        match self {
            Outcome::Holds => "holds",
            Outcome::Broken => "broken",
            Outcome::Inconclusive => "inconclusive",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One attempt and the server's answer: an element of a finding's `proofs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    pub probe: Probe,
    /// What was attempted, in our words, e.g. `startup without TLS as role
    /// "app" to database "clinic"`.
    pub attempted: String,
    /// Where from and where to: the local address and the server address,
    /// e.g. `127.0.0.1 → 127.0.0.1:5432`.
    pub from: String,
    /// The server's answer, verbatim but redacted (server text: hostile; see
    /// `model::untrusted` before showing it).
    pub answer: String,
    /// When the attempt was made (client clock, UTC, RFC 3339).
    pub at: String,
    pub outcome: Outcome,
    /// What the outcome means for the check; for `inconclusive`, why.
    pub note: String,
    /// For `inconclusive` for lack of rights: what to grant so the probe can decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
}

/// How a check takes a proof attached to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// The probe fully decides the check: if every such proof holds, an
    /// `unknown` becomes `pass`; a broken one makes it `fail`.
    Decides,
    /// Part of the check: a broken proof makes it `fail`; holding proofs
    /// upgrade nothing (the settings cover more than the probe tried).
    Part,
    /// Warning evidence only: a broken proof makes a `pass` a `warn`, never a `fail`.
    Warns,
    /// Stands in for a person's attestation (a restore drill for BAK-008):
    /// if every such proof holds, a `manual` check becomes `pass`; a broken
    /// one makes it `fail`.
    Attests,
}

/// A proof and the check it is evidence for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckProof {
    /// The check id, e.g. `TLS-004`.
    pub check: String,
    pub effect: Effect,
    /// The source address of the attempt when it matters to the policy
    /// (`allow_loopback_without_tls`): an IP address without port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    pub proof: Proof,
}

/// A probe that did not run, and why (not asked is not listed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeSkipped {
    pub probe: Probe,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
}

/// Everything one `--prove` run found; kept in the snapshot (`probes`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeRun {
    /// The probes that were asked for, in [`Probe::ALL`] order.
    pub asked: Vec<Probe>,
    pub started_at: String,
    pub finished_at: String,
    /// Every attempt, in the order made, with the check it is evidence for.
    pub proofs: Vec<CheckProof>,
    /// Asked-for probes that could not run at all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<ProbeSkipped>,
}

impl ProbeRun {
    /// The proofs attached to one check, in the order made.
    pub fn for_check<'a>(&'a self, check: &'a str) -> impl Iterator<Item = &'a CheckProof> + 'a {
        self.proofs.iter().filter(move |p| p.check == check)
    }
}

/// The application name every probe session announces, so a DBA can tell probe
/// traffic from anything else in the server log.
pub const PROBE_APPLICATION_NAME: &str = "pgsafeguard-probe";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_lists_parse_sort_and_dedupe() {
        assert_eq!(
            Probe::parse_list("audit, transport,audit").unwrap(),
            vec![Probe::Transport, Probe::Audit]
        );
        let err = Probe::parse_list("transport,tls").unwrap_err();
        assert!(err.contains("\"tls\""), "{err}");
        assert!(Probe::parse_list("").is_err());
    }

    #[test]
    fn every_proven_check_has_one_probe() {
        assert_eq!(Probe::for_check("TLS-004"), Some(Probe::Transport));
        assert_eq!(Probe::for_check("AUD-003"), Some(Probe::Audit));
        assert_eq!(Probe::for_check("BAK-001"), None);
        let all: Vec<&str> = Probe::ALL
            .iter()
            .flat_map(|p| p.checks().iter().copied())
            .collect();
        let mut unique = all.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(all.len(), unique.len());
    }

    #[test]
    fn outcomes_serialise_in_the_contract_spelling() {
        let json = serde_json::to_string(&[Outcome::Holds, Outcome::Broken, Outcome::Inconclusive])
            .unwrap();
        assert_eq!(json, r#"["holds","broken","inconclusive"]"#);
    }
}

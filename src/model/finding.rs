//! Findings: what a check concluded, in the shape of the JSON contract
//! (DESIGN.md). Owns the vocabulary shared by checks, the CLI, the GUI and the
//! report; imports nothing from them.

use super::statement::Statement;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Guide sections, in guide order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    Safeguards,
    AtRest,
    Transit,
    Access,
    Audit,
    Backup,
}

impl Section {
    pub const ALL: [Section; 6] = [
        Section::Safeguards,
        Section::AtRest,
        Section::Transit,
        Section::Access,
        Section::Audit,
        Section::Backup,
    ];

    /// The JSON id of the section.
    pub fn id(self) -> &'static str {
        match self {
            Section::Safeguards => "safeguards",
            Section::AtRest => "at_rest",
            Section::Transit => "transit",
            Section::Access => "access",
            Section::Audit => "audit",
            Section::Backup => "backup",
        }
    }

    /// The heading shown to people.
    pub fn title(self) -> &'static str {
        match self {
            Section::Safeguards => "HIPAA safeguards and database controls",
            Section::AtRest => "Encryption at rest",
            Section::Transit => "Encryption in transit and authentication",
            Section::Access => "Least privilege and row-level security",
            Section::Audit => "Audit trails",
            Section::Backup => "Backups and point-in-time recovery",
        }
    }

    /// 1-based position in the guide.
    pub fn number(self) -> usize {
        Section::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Fail,
    Warn,
    Unknown,
    Manual,
    Pass,
    NotApplicable,
    Attested,
    Accepted,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Pass,
        Status::Fail,
        Status::Warn,
        Status::Unknown,
        Status::NotApplicable,
        Status::Manual,
        Status::Attested,
        Status::Accepted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Unknown => "unknown",
            Status::NotApplicable => "not_applicable",
            Status::Manual => "manual",
            Status::Attested => "attested",
            Status::Accepted => "accepted",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a fix takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApplyClass {
    /// Takes effect when the statement commits.
    Immediate,
    /// ALTER SYSTEM, then `pg_reload_conf()`.
    Reload,
    /// Needs a server restart.
    Restart,
    /// An edit of pg_hba.conf / pg_ident.conf, then a reload.
    ConfigFile,
    /// A tool run with the cluster stopped.
    Offline,
    /// Done on the operating system.
    Os,
    /// A person does it and attests.
    Manual,
}

/// A proposed edit of a configuration file that SQL cannot write.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigEdit {
    /// Which file: `hba_file` or `ident_file`, and its path when known.
    pub file: String,
    /// The proposed complete set of lines.
    pub lines: Vec<String>,
    /// How to validate before reloading.
    pub validate: String,
    /// The same edit rule by rule, so that a file readable here can be edited
    /// in place (comments, blank lines, order and includes kept). Built with
    /// the plan, never part of the JSON contract.
    #[serde(skip)]
    pub rule_edits: Vec<RuleEdit>,
}

/// How one rule of the current file changes: the lines that replace it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleEdit {
    /// Where the rule is (`pg_hba_file_rules.line_number`, `file_name`).
    pub line_number: i32,
    pub file_name: Option<String>,
    /// The replacement, in order; `None` is the rule's own line as written.
    pub lines: Vec<Option<String>>,
}

/// The plan to close a gap. Statements are the fix itself; the apply step adds
/// `pg_reload_conf()` for the reload class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixPlan {
    pub apply: Vec<ApplyClass>,
    pub statements: Vec<Statement>,
    pub rollback: Vec<Statement>,
    /// What privilege applying needs: `superuser`, `owner`, `CREATE on database` …
    pub needs: String,
    pub note: String,
    /// True when the fix cannot be undone (re-hashing, dropping plaintext).
    #[serde(default)]
    pub irreversible: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_edit: Option<ConfigEdit>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    pub by: String,
    /// Date or timestamp, as the person gave it (ISO 8601).
    pub at: String,
    pub note: String,
}

/// Why a failing or warning check is `accepted`: an accepted risk of the
/// policy (with an expiry date) or a baseline of approved rows (none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedRisk {
    pub by: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// When it was accepted (RFC 3339 or ISO date), when the policy says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// The last day it holds (ISO date); `null` for a baseline, which does
    /// not expire.
    pub expires: Option<String>,
    /// Whether (part of) the acceptance is a baseline of approved rows.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub baseline: bool,
}

impl AcceptedRisk {
    /// The expiry for a table column: the date, or why there is none.
    pub fn expiry_label(&self) -> &str {
        match (&self.expires, self.baseline) {
            (Some(date), _) => date,
            (None, true) => "no expiry (baseline)",
            (None, false) => "no expiry",
        }
    }

    /// The expiry in a sentence: "until 2027-06-30", or "with no expiry (baseline)".
    pub fn expiry_phrase(&self) -> String {
        match &self.expires {
            Some(date) => format!("until {date}"),
            None => format!("with {}", self.expiry_label()),
        }
    }
}

/// One check's result, as it appears in every output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub section: Section,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    pub hipaa: Vec<String>,
    pub cis: Option<String>,
    pub evidence: String,
    /// Every matching object, sorted (text and PDF show the first 20).
    pub objects: Vec<String>,
    pub reason: Option<String>,
    pub grant: Option<String>,
    pub attestation: Option<Attestation>,
    pub accepted: Option<AcceptedRisk>,
    pub fix: Option<FixPlan>,
    pub rationale: String,
    /// SQL a DBA can run to see the same facts.
    pub reproduce_sql: String,
    /// What active probes showed for this check, one entry per attempt
    /// (absent when no probe ran).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proofs: Vec<super::proof::Proof>,
}

/// Counts by status, in contract order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub warn: usize,
    pub unknown: usize,
    pub not_applicable: usize,
    pub manual: usize,
    pub attested: usize,
    pub accepted: usize,
}

impl Summary {
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Self {
        let mut s = Summary::default();
        for f in findings {
            *s.slot(f.status) += 1;
        }
        s
    }

    fn slot(&mut self, status: Status) -> &mut usize {
        match status {
            Status::Pass => &mut self.pass,
            Status::Fail => &mut self.fail,
            Status::Warn => &mut self.warn,
            Status::Unknown => &mut self.unknown,
            Status::NotApplicable => &mut self.not_applicable,
            Status::Manual => &mut self.manual,
            Status::Attested => &mut self.attested,
            Status::Accepted => &mut self.accepted,
        }
    }

    pub fn count(&self, status: Status) -> usize {
        let mut copy = self.clone();
        *copy.slot(status)
    }
}

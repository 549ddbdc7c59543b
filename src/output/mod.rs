//! The scan result as the outside world sees it: the JSON contract of
//! DESIGN.md (`pgsafeguard.scan/1`) and the plain-text rendering.
//!
//! Pure formatting: no I/O, no clock. [`proofs`] renders what active probes
//! proved (`probes` in the contract, `proofs` on each finding); [`formats`]
//! writes the exchange formats other tools read (SARIF, JUnit, HDF, OSCAL, CSV).

pub mod formats;
pub mod proofs;

use crate::model::finding::{Finding, Section, Status, Summary};
use crate::model::snapshot::{Gap, Snapshot};
use crate::model::untrusted;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

pub const SCAN_SCHEMA: &str = "pgsafeguard.scan/1";

/// How many objects text and PDF show before summarising.
pub const OBJECTS_SHOWN: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    pub schema: String,
    pub tool: Tool,
    pub target: ReportTarget,
    pub collected_at: String,
    pub gaps: Vec<Gap>,
    pub findings: Vec<Finding>,
    pub summary: Summary,
    /// What a `--prove` run did; absent when no probe ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probes: Option<proofs::ProbeSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportTarget {
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub user: String,
    pub server_version: Option<String>,
    pub system_identifier: Option<String>,
    pub sslmode: String,
    pub tls: Option<ReportTls>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportTls {
    pub version: Option<String>,
    pub cipher: Option<String>,
    pub server_certificate_sha256: Option<String>,
}

impl ReportTarget {
    /// `user@host:port/dbname`, each server-chosen part shown escaped.
    pub fn shown(&self) -> String {
        format!(
            "{}@{}:{}/{}",
            untrusted::name(&self.user),
            untrusted::name(&self.host),
            self.port,
            untrusted::name(&self.dbname)
        )
    }
}

impl ScanReport {
    pub fn new(snapshot: &Snapshot, findings: Vec<Finding>) -> ScanReport {
        let t = &snapshot.target;
        ScanReport {
            schema: SCAN_SCHEMA.into(),
            tool: Tool {
                name: "pgsafeguard".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            target: ReportTarget {
                host: t.host.clone(),
                port: t.port,
                dbname: t.dbname.clone(),
                user: t.user.clone(),
                server_version: t.server_version.clone(),
                system_identifier: t.system_identifier.clone(),
                sslmode: t.sslmode.clone(),
                tls: t.tls.as_ref().map(|tls| ReportTls {
                    version: tls.version.clone(),
                    cipher: tls.cipher.clone(),
                    server_certificate_sha256: tls
                        .server_certificate
                        .as_ref()
                        .map(|c| c.sha256.clone()),
                }),
            },
            collected_at: snapshot.collected_at.clone(),
            gaps: snapshot.gaps.clone(),
            summary: Summary::of(&findings),
            findings,
            probes: snapshot.probes.as_ref().map(proofs::ProbeSummary::of),
        }
    }

    /// Pretty JSON with a trailing newline; deterministic for the same input.
    /// Names stay exact; bidi and C1 characters are `\u` escapes (see
    /// [`untrusted::json_safe`]).
    pub fn to_json(&self) -> String {
        let mut text = untrusted::json_safe(serde_json::to_string_pretty(self).unwrap_or_default());
        text.push('\n');
        text
    }

    /// Human-readable report, grouped by guide section, failing first.
    /// Every string that came from the server goes through [`untrusted`], so
    /// no line of it can pass for one of ours and nothing drives a terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let t = &self.target;
        let _ = writeln!(
            out,
            "pgSafeguard {} — {} (PostgreSQL {}, sslmode={}{})",
            self.tool.version,
            t.shown(),
            untrusted::name(t.server_version.as_deref().unwrap_or("?")),
            untrusted::name(&t.sslmode),
            match &t.tls {
                Some(tls) => format!(
                    ", {}",
                    untrusted::name(tls.version.as_deref().unwrap_or("TLS"))
                ),
                None => ", not encrypted".into(),
            }
        );
        let _ = writeln!(out, "collected at {}", untrusted::name(&self.collected_at));
        for section in Section::ALL {
            let mut in_section: Vec<&Finding> = self
                .findings
                .iter()
                .filter(|f| f.section == section)
                .collect();
            if in_section.is_empty() {
                continue;
            }
            in_section.sort_by_key(|f| (f.status, f.severity));
            let _ = writeln!(out, "\n{}. {}", section.number(), section.title());
            for f in in_section {
                write_finding(&mut out, f);
            }
        }
        if !self.gaps.is_empty() {
            let _ = writeln!(
                out,
                "\nNot read (grant these to the scanner role) or not scanned:"
            );
            for g in &self.gaps {
                let _ = writeln!(
                    out,
                    "  {}: {}{}",
                    untrusted::name(&g.part),
                    untrusted::text(&g.message),
                    g.grant
                        .as_deref()
                        .map(|s| format!(" — {}", untrusted::text(s)))
                        .unwrap_or_default()
                );
            }
        }
        if let Some(probes) = &self.probes {
            proofs::write_run_summary(&mut out, probes);
        }
        let s = &self.summary;
        let _ = writeln!(
            out,
            "\n{} checks: {} pass, {} fail, {} warn, {} unknown, {} manual, {} attested, {} accepted, {} not applicable",
            self.findings.len(),
            s.pass,
            s.fail,
            s.warn,
            s.unknown,
            s.manual,
            s.attested,
            s.accepted,
            s.not_applicable
        );
        out
    }
}

fn write_finding(out: &mut String, f: &Finding) {
    let _ = writeln!(
        out,
        "  [{:<7}] {:<8} {} ({}){}",
        badge(f.status),
        f.id,
        f.title,
        f.severity.as_str(),
        proofs::proof_label(f)
            .map(|label| format!(" — {label}"))
            .unwrap_or_default()
    );
    let _ = writeln!(out, "            {}", untrusted::text(&f.evidence));
    proofs::write_transcript(out, &f.proofs, "            ");
    if !f.objects.is_empty() {
        let _ = writeln!(out, "            {}", summarise_objects(&f.objects));
    }
    if let Some(grant) = &f.grant {
        let _ = writeln!(out, "            to decide: {}", untrusted::text(grant));
    }
    if let Some(a) = &f.accepted {
        let ticket = a
            .ticket
            .as_deref()
            .map(|t| format!(" (ticket {})", untrusted::text(t)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "            accepted by {} {}{ticket}: {}",
            untrusted::text(&a.by),
            untrusted::text(&a.expiry_phrase()),
            untrusted::text(&a.reason)
        );
    }
    if matches!(f.status, Status::Fail | Status::Warn) {
        if let Some(fix) = &f.fix {
            for st in &fix.statements {
                let _ = writeln!(out, "            fix: {}", untrusted::text(&st.to_string()));
            }
            if fix.statements.is_empty() && !fix.note.is_empty() {
                let _ = writeln!(out, "            fix: {}", untrusted::text(&fix.note));
            }
        }
    }
}

pub(crate) fn badge(status: Status) -> &'static str {
    match status {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Warn => "WARN",
        Status::Unknown => "UNKNOWN",
        Status::NotApplicable => "N/A",
        Status::Manual => "MANUAL",
        Status::Attested => "ATTEST",
        Status::Accepted => "ACCEPT",
    }
}

/// "N objects: a, b, … (and M more)": the count and the first [`OBJECTS_SHOWN`],
/// each shown by [`untrusted::name`].
pub fn summarise_objects(objects: &[String]) -> String {
    let shown: Vec<String> = objects
        .iter()
        .take(OBJECTS_SHOWN)
        .map(|o| untrusted::name(o))
        .collect();
    let more = objects.len().saturating_sub(OBJECTS_SHOWN);
    let mut text = format!("{} object(s): {}", objects.len(), shown.join(", "));
    if more > 0 {
        let _ = write!(text, " … and {more} more");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::finding::{FixPlan, Severity};
    use crate::model::statement::Statement;
    use proptest::prelude::*;

    /// Strings an attacker with CREATE ROLE or CREATE TABLE could choose.
    fn hostile() -> impl Strategy<Value = String> {
        let pieces = prop_oneof![
            Just("\n  [PASS   ] TLS-001  TLS is enabled on the server (critical)".to_string()),
            Just("\u{1b}[2J\u{1b}[32m".to_string()),
            Just("\u{202e}\u{2066}\u{200b}\u{feff}".to_string()),
            Just("\"'\\; DROP ROLE x; --".to_string()),
            Just("\r\t\u{85}\u{9b}\u{2028}".to_string()),
            Just("x".repeat(10_000)),
            "\\PC{0,6}",
            any::<char>().prop_map(String::from),
        ];
        proptest::collection::vec(pieces, 1..6).prop_map(|v| v.concat())
    }

    fn finding_with(name: &str) -> Finding {
        Finding {
            id: "PRIV-001".into(),
            section: Section::Access,
            title: "Only approved roles are superusers".into(),
            severity: Severity::Critical,
            status: Status::Fail,
            hipaa: vec!["164.312(a)(1)".into()],
            cis: None,
            evidence: format!("unapproved superusers: {name}"),
            objects: vec![name.to_string(), "postgres".into()],
            reason: None,
            grant: Some(format!("GRANT pg_read_all_settings TO {name}")),
            attestation: None,
            accepted: None,
            fix: Some(FixPlan {
                statements: vec![Statement::other(format!(
                    "ALTER ROLE \"{name}\" NOSUPERUSER"
                ))],
                note: format!("note about {name}"),
                ..FixPlan::default()
            }),
            rationale: String::new(),
            reproduce_sql: String::new(),
            proofs: Vec::new(),
        }
    }

    fn report_with(name: &str) -> ScanReport {
        let mut snapshot = Snapshot::default();
        snapshot.target.user = name.into();
        snapshot.target.dbname = name.into();
        snapshot.gaps.push(Gap {
            part: "roles".into(),
            sqlstate: Some("42501".into()),
            message: format!("permission denied for {name}"),
            grant: None,
        });
        ScanReport::new(&snapshot, vec![finding_with(name)])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the server's names hold, the text output has no raw
        /// control, escape or bidi character, and every line that starts with
        /// a status marker is one we wrote (one per finding).
        #[test]
        fn server_strings_cannot_forge_text_output(name in hostile()) {
            let report = report_with(&name);
            let text = report.to_text();
            let raw: Vec<char> = text
                .chars()
                .filter(|c| *c != '\n' && crate::model::untrusted::needs_escape(*c))
                .collect();
            prop_assert!(raw.is_empty(), "raw characters {raw:?}");
            let markers = text
                .lines()
                .filter(|l| l.trim_start().starts_with('['))
                .count();
            prop_assert_eq!(markers, report.findings.len(), "{}", text);
            // JSON keeps the exact name.
            let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
            prop_assert_eq!(json["findings"][0]["objects"][0].as_str(), Some(name.as_str()));
        }
    }

    #[test]
    fn forged_lines_are_shown_escaped_and_quoted() {
        let name = "evil\n  [PASS   ] TLS-001  TLS is enabled on the server (critical)";
        let text = report_with(name).to_text();
        assert!(
            text.contains(
                "\"evil\\n \\u{20}[PASS \\u{20}\\u{20}] TLS-001 \\u{20}TLS is enabled on the server (critical)\""
            ),
            "{text}"
        );
        assert!(
            !text.lines().any(|l| l.trim_start().starts_with("[PASS")),
            "{text}"
        );
    }

    #[test]
    fn overlong_names_are_cut_with_their_length() {
        let name = "n".repeat(10_000);
        let text = report_with(&name).to_text();
        assert!(text.contains("… (10000 characters)"), "{text}");
        assert!(!text.contains(&"n".repeat(untrusted::TEXT_LIMIT + 1)));
    }

    #[test]
    fn long_object_lists_are_summarised() {
        let objects: Vec<String> = (0..25).map(|i| format!("t{i:02}")).collect();
        let text = summarise_objects(&objects);
        assert!(text.starts_with("25 object(s): t00, t01"));
        assert!(text.ends_with("… and 5 more"));
        assert!(!text.contains("t20"));
    }
}

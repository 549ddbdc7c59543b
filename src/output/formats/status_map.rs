//! The one mapping of our eight statuses onto the five exchange formats, so
//! that no format drifts from the others. README.md ("Exporting to other
//! tools") shows the same table; a test below keeps the two in step.
//!
//! The rules it encodes (issue 18):
//! - `unknown` is never "passed" or "satisfied" anywhere: it is SARIF `open`
//!   (the tool lacked information), a JUnit `error`, an HDF `error` (Heimdall:
//!   "Profile Error") and an OSCAL not-satisfied finding;
//! - `accepted` is still a failure that someone documented: SARIF `fail` with
//!   an external suppression carrying the justification, HDF `failed` with
//!   `waiver_data`, OSCAL not-satisfied with a risk whose status is
//!   `deviation-approved`; JUnit calls it `skipped` with the acceptance as the
//!   message, as test runners do for an expected failure;
//! - `not_applicable` is SARIF `notApplicable` and HDF "Not Applicable"
//!   (Heimdall reads impact 0.0 as exactly that);
//! - a SARIF `level` other than `none` only where the kind is `fail`;
//! - `warn` (weaker than recommended) is a finding in every format: none of
//!   them has "acceptable but weaker", and calling it passed would hide it.
//!
//! Pure data; imports only `model`.

use crate::model::finding::{Severity, Status};

/// What a JUnit test case holds for a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JunitOutcome {
    /// No child element: the case passed.
    Passed,
    /// `<failure>` with the evidence.
    Failure,
    /// `<error>`: the check could not decide.
    Error,
    /// `<skipped>` with the reason.
    Skipped,
}

impl JunitOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            JunitOutcome::Passed => "passed",
            JunitOutcome::Failure => "failure",
            JunitOutcome::Error => "error",
            JunitOutcome::Skipped => "skipped",
        }
    }
}

/// One row of the table: how one of our statuses reads in each format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusMapping {
    pub status: Status,
    /// SARIF `result.kind`.
    pub sarif_kind: &'static str,
    /// Whether the SARIF result carries `suppressions: [{kind: external, …}]`.
    pub sarif_suppressed: bool,
    pub junit: JunitOutcome,
    /// HDF result `status` (`passed`, `failed`, `skipped`, `error`).
    pub hdf_result: &'static str,
    /// The control status Heimdall shows (inspecjs' `ContextualizedControl.hdf.status`).
    pub heimdall: &'static str,
    /// Whether the HDF control carries `waiver_data`.
    pub hdf_waiver: bool,
    /// OSCAL finding `target.status.state`.
    pub oscal_state: &'static str,
    /// OSCAL finding `target.status.reason`.
    pub oscal_reason: &'static str,
    /// Whether the OSCAL finding has a risk with status `deviation-approved`.
    pub oscal_risk: bool,
}

impl StatusMapping {
    /// The `status` cell of the CSV: ours, unchanged, for auditors.
    pub fn csv(&self) -> &'static str {
        self.status.as_str()
    }
}

/// The table, in the contract's status order.
#[rustfmt::skip]
pub const STATUS_MAP: [StatusMapping; 8] = [
    row(Status::Pass, "pass", false, JunitOutcome::Passed, "passed", "Passed", false, "satisfied", "pass", false),
    row(Status::Fail, "fail", false, JunitOutcome::Failure, "failed", "Failed", false, "not-satisfied", "fail", false),
    row(Status::Warn, "fail", false, JunitOutcome::Failure, "failed", "Failed", false, "not-satisfied", "fail", false),
    row(Status::Unknown, "open", false, JunitOutcome::Error, "error", "Profile Error", false, "not-satisfied", "other", false),
    row(Status::NotApplicable, "notApplicable", false, JunitOutcome::Skipped, "skipped", "Not Applicable", false, "not-satisfied", "other", false),
    row(Status::Manual, "review", false, JunitOutcome::Skipped, "skipped", "Not Reviewed", false, "not-satisfied", "other", false),
    row(Status::Attested, "pass", false, JunitOutcome::Passed, "passed", "Passed", false, "satisfied", "pass", false),
    row(Status::Accepted, "fail", true, JunitOutcome::Skipped, "failed", "Failed", true, "not-satisfied", "fail", true),
];

#[allow(clippy::too_many_arguments)]
const fn row(
    status: Status,
    sarif_kind: &'static str,
    sarif_suppressed: bool,
    junit: JunitOutcome,
    hdf_result: &'static str,
    heimdall: &'static str,
    hdf_waiver: bool,
    oscal_state: &'static str,
    oscal_reason: &'static str,
    oscal_risk: bool,
) -> StatusMapping {
    StatusMapping {
        status,
        sarif_kind,
        sarif_suppressed,
        junit,
        hdf_result,
        heimdall,
        hdf_waiver,
        oscal_state,
        oscal_reason,
        oscal_risk,
    }
}

/// The row for a status.
pub fn mapping(status: Status) -> &'static StatusMapping {
    match STATUS_MAP.iter().find(|m| m.status == status) {
        Some(m) => m,
        // Every status has a row (tested); were one missing, it would read
        // as unknown, never as passed.
        None => &STATUS_MAP[3],
    }
}

/// SARIF `level`: from the severity where the kind is `fail`, else `none`.
/// `warn` is at most a warning whatever the check's severity.
pub fn sarif_level(status: Status, severity: Severity) -> &'static str {
    if mapping(status).sarif_kind != "fail" {
        return "none";
    }
    match (status, severity) {
        (Status::Warn, Severity::Critical | Severity::High | Severity::Medium) => "warning",
        (_, Severity::Critical | Severity::High) => "error",
        (_, Severity::Medium) => "warning",
        (_, Severity::Low | Severity::Info) => "note",
    }
}

/// SARIF rule `defaultConfiguration.level`: what a failure of the check is.
pub fn sarif_default_level(severity: Severity) -> &'static str {
    sarif_level(Status::Fail, severity)
}

/// GitHub code scanning's `security-severity` (a CVSS-like score as text).
pub fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

/// HDF `impact` from our severity (InSpec's bands: critical ≥ 0.9, high ≥ 0.7,
/// medium ≥ 0.4, low ≥ 0.1). `info` is 0.1, the bottom of "low": 0.0 would
/// tell Heimdall the control is not applicable. Only `not_applicable` gets 0.0.
pub fn hdf_impact(status: Status, severity: Severity) -> f64 {
    if status == Status::NotApplicable {
        return 0.0;
    }
    match severity {
        Severity::Critical => 0.9,
        Severity::High => 0.7,
        Severity::Medium => 0.5,
        Severity::Low => 0.3,
        Severity::Info => 0.1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_exactly_one_row_in_contract_order() {
        let statuses: Vec<Status> = STATUS_MAP.iter().map(|m| m.status).collect();
        assert_eq!(statuses, Status::ALL.to_vec());
        for status in Status::ALL {
            assert_eq!(mapping(status).status, status);
        }
    }

    #[test]
    fn unknown_is_never_passed_or_satisfied() {
        let m = mapping(Status::Unknown);
        assert_ne!(m.sarif_kind, "pass");
        assert_ne!(m.junit, JunitOutcome::Passed);
        assert_ne!(m.hdf_result, "passed");
        assert_ne!(m.heimdall, "Passed");
        assert_ne!(m.oscal_state, "satisfied");
    }

    #[test]
    fn only_pass_and_attested_are_passed_anywhere() {
        for m in STATUS_MAP {
            let passes = matches!(m.status, Status::Pass | Status::Attested);
            assert_eq!(m.sarif_kind == "pass", passes, "{:?}", m.status);
            assert_eq!(m.junit == JunitOutcome::Passed, passes, "{:?}", m.status);
            assert_eq!(m.hdf_result == "passed", passes, "{:?}", m.status);
            assert_eq!(m.oscal_state == "satisfied", passes, "{:?}", m.status);
        }
    }

    #[test]
    fn level_is_none_unless_the_kind_is_fail() {
        let severities = [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
            Severity::Info,
        ];
        for m in STATUS_MAP {
            for severity in severities {
                let level = sarif_level(m.status, severity);
                assert_eq!(
                    level == "none",
                    m.sarif_kind != "fail",
                    "{:?} {severity:?}",
                    m.status
                );
            }
        }
    }

    #[test]
    fn info_is_not_impact_zero_and_not_applicable_is() {
        assert!(hdf_impact(Status::Fail, Severity::Info) >= 0.1);
        assert_eq!(hdf_impact(Status::NotApplicable, Severity::Critical), 0.0);
    }

    #[test]
    fn accepted_is_a_suppressed_waived_approved_failure() {
        let m = mapping(Status::Accepted);
        assert_eq!((m.sarif_kind, m.sarif_suppressed), ("fail", true));
        assert!(m.hdf_waiver && m.oscal_risk);
    }

    /// README.md's table says the same as the code.
    #[test]
    fn readme_table_matches() {
        let readme = include_str!("../../../README.md");
        for m in STATUS_MAP {
            let line = readme_row(m);
            assert!(readme.contains(&line), "README.md lacks the row:\n{line}");
        }
    }

    fn readme_row(m: StatusMapping) -> String {
        let sarif = if m.sarif_suppressed {
            format!("`{}` + suppression (external)", m.sarif_kind)
        } else {
            format!("`{}`", m.sarif_kind)
        };
        let level = if m.sarif_kind == "fail" {
            "by severity"
        } else {
            "`none`"
        };
        let hdf = if m.hdf_waiver {
            format!("`{}` + `waiver_data` ({})", m.hdf_result, m.heimdall)
        } else {
            format!("`{}` ({})", m.hdf_result, m.heimdall)
        };
        let oscal = if m.oscal_risk {
            format!(
                "`{}` / `{}` + risk `deviation-approved`",
                m.oscal_state, m.oscal_reason
            )
        } else {
            format!("`{}` / `{}`", m.oscal_state, m.oscal_reason)
        };
        format!(
            "| `{}` | {sarif} | {level} | `{}` | {hdf} | {oscal} | `{}` |",
            m.status.as_str(),
            m.junit.as_str(),
            m.csv()
        )
    }
}

//! AUD-004: statement and parameter logging that copies PHI into the server
//! log is on (warn) or off (pass).

use crate::checks::expect::{fix_settings, judge_settings, Expect};
use crate::checks::facts::is_off;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static PHI_IN_LOGS: Check = Check {
    id: "AUD-004",
    section: Section::Audit,
    title: "Statement logging that copies PHI into the logs is known",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(2)(iv)", "164.312(b)"],
    cis: None,
    rationale: "pgaudit.log_parameter = on, log_statement = all and \
        log_min_duration_statement >= 0 write statement text and bound values, and so \
        patient data, into the server log. That is acceptable only when the logs are \
        protected like PHI (0600 files, encrypted volume, restricted shipping), which the \
        scanner cannot see: so the result is warn, not fail, when any is on, and pass when \
        all are off. pgaudit.log_parameter counts as off when pgAudit is not loaded. Medium: \
        it widens where PHI lives rather than opening it to anyone.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings WHERE name IN \
        ('pgaudit.log_parameter', 'log_statement', 'log_min_duration_statement');",
    evaluate: phi_in_logs,
    fix: Fix::Build(quiet_phi_logging),
};

const PHI_LOGGING_RULES: &[Expect] = &[
    Expect {
        name: "pgaudit.log_parameter",
        wanted: "off",
        ok: is_off,
        fix_value: "off",
    },
    Expect {
        name: "log_statement",
        wanted: "not all",
        ok: |v| v.trim() != "all",
        fix_value: "ddl",
    },
    Expect {
        name: "log_min_duration_statement",
        wanted: "-1",
        ok: |v| v.trim().parse::<i64>().is_ok_and(|ms| ms < 0),
        fix_value: "-1",
    },
];

/// The PHI-logging rules for settings this server has (pgAudit's only when loaded).
fn phi_logging_rules(s: &Snapshot) -> Vec<Expect> {
    PHI_LOGGING_RULES
        .iter()
        .filter(|r| !r.name.starts_with("pgaudit.") || s.setting(r.name).is_some())
        .copied()
        .collect()
}

fn phi_in_logs(s: &Snapshot, _: &Policy) -> Verdict {
    let rules = phi_logging_rules(s);
    let judged = judge_settings(s, &rules);
    let mut seen = judged.seen.join("; ");
    if rules.len() < PHI_LOGGING_RULES.len() {
        seen.push_str("; pgaudit.log_parameter absent (pgAudit not loaded)");
    }
    if !judged.bad.is_empty() {
        // Role, database and function settings that log PHI, named by scope.
        let scoped: Vec<&str> = judged
            .bad
            .iter()
            .filter(|(object, _)| !rules.iter().any(|r| r.name == object))
            .map(|(_, wording)| wording.as_str())
            .collect();
        if !scoped.is_empty() {
            seen = format!("{}; {seen}", scoped.join("; "));
        }
        let names = judged.bad.iter().map(|(n, _)| n.clone());
        return Verdict::warn(format!(
            "logs may contain PHI; handle the log files as PHI: {seen}"
        ))
        .with_objects(names);
    }
    match judged.hidden {
        Some(unknown) => unknown,
        None => Verdict::pass(seen),
    }
}

fn quiet_phi_logging(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let rules = phi_logging_rules(s);
    fix_settings(
        s,
        verdict,
        &rules,
        &[ApplyClass::Reload],
        "or keep them and protect the logs as PHI (log_file_mode 0600, encrypted log \
         volume, access-controlled shipping), then record an accepted risk in the policy",
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::pgaudit_ready;
    use crate::checks::testkit::Case;
    use crate::model::finding::Status;
    vec![Case::new(
        "AUD-004",
        pgaudit_ready(&[
            ("pgaudit.log_parameter", "off"),
            ("log_statement", "ddl"),
            ("log_min_duration_statement", "-1"),
        ]),
        pgaudit_ready(&[
            ("pgaudit.log_parameter", "on"),
            ("log_statement", "ddl"),
            ("log_min_duration_statement", "-1"),
        ]),
    )
    .expect(Status::Pass, Status::Warn)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::audit::eval;
    use crate::checks::testkit::with_settings;
    use crate::model::finding::Status;

    #[test]
    fn phi_logging_warns_per_setting_and_ignores_absent_pgaudit() {
        let s = with_settings(&[
            ("log_statement", "ddl"),
            ("log_min_duration_statement", "-1"),
        ]);
        let v = eval(&PHI_IN_LOGS, &s);
        assert_eq!(v.status, Status::Pass);
        assert!(v.evidence.contains("pgAudit not loaded"));
        let s = with_settings(&[
            ("log_statement", "all"),
            ("log_min_duration_statement", "0"),
        ]);
        let v = eval(&PHI_IN_LOGS, &s);
        assert_eq!(v.status, Status::Warn);
        assert_eq!(
            v.objects,
            vec!["log_min_duration_statement", "log_statement"]
        );
        let plan = PHI_IN_LOGS.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec![
                "ALTER SYSTEM SET \"log_statement\" = 'ddl'",
                "ALTER SYSTEM SET \"log_min_duration_statement\" = '-1'"
            ]
        );
        let s = with_settings(&[("log_statement", "ddl")]);
        assert_eq!(eval(&PHI_IN_LOGS, &s).status, Status::Unknown);
    }
}

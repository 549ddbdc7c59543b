//! AUD-010: log levels keep warnings, failing statements and detail, and no
//! debug_print_* setting dumps query trees into the log.

use super::level_rank;
use crate::checks::expect::{expect_all, fix_settings, Expect};
use crate::checks::facts::is_off;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static LOG_LEVELS: Check = Check {
    id: "AUD-010",
    section: Section::Audit,
    title: "Log levels keep warnings, failing statements and detail",
    severity: Severity::Low,
    hipaa: &["164.312(b)"],
    cis: Some("3.1.14–3.1.19"),
    rationale: "log_min_messages above warning hides warnings; log_min_error_statement above \
        error drops the text of failing statements (probing attempts); terse verbosity drops \
        DETAIL and HINT; the debug_print_* settings dump parse trees and plans, with \
        literal values, into the log. Every bad setting is listed. Low: they weaken the \
        trail rather than remove it.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings WHERE name IN \
        ('log_min_messages', 'log_min_error_statement', 'log_error_verbosity', \
        'debug_print_parse', 'debug_print_rewritten', 'debug_print_plan');",
    evaluate: log_levels,
    fix: Fix::Build(fix_log_levels),
};

fn at_most(level: &str, limit: &str) -> bool {
    matches!((level_rank(level), level_rank(limit)), (Some(a), Some(b)) if a <= b)
}

const LOG_LEVEL_RULES: &[Expect] = &[
    Expect {
        name: "log_min_messages",
        wanted: "warning or more verbose",
        ok: |v| at_most(v, "warning"),
        fix_value: "warning",
    },
    Expect {
        name: "log_min_error_statement",
        wanted: "error or more verbose",
        ok: |v| at_most(v, "error"),
        fix_value: "error",
    },
    Expect {
        name: "log_error_verbosity",
        wanted: "default or verbose",
        ok: |v| !v.trim().eq_ignore_ascii_case("terse"),
        fix_value: "default",
    },
    Expect {
        name: "debug_print_parse",
        wanted: "off",
        ok: is_off,
        fix_value: "off",
    },
    Expect {
        name: "debug_print_rewritten",
        wanted: "off",
        ok: is_off,
        fix_value: "off",
    },
    Expect {
        name: "debug_print_plan",
        wanted: "off",
        ok: is_off,
        fix_value: "off",
    },
];

fn log_levels(s: &Snapshot, _: &Policy) -> Verdict {
    expect_all(s, LOG_LEVEL_RULES)
}

fn fix_log_levels(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    fix_settings(s, verdict, LOG_LEVEL_RULES, &[ApplyClass::Reload], "")
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
    vec![Case::new(
        "AUD-010",
        with_settings(&[
            ("log_min_messages", "warning"),
            ("log_min_error_statement", "error"),
            ("log_error_verbosity", "default"),
            ("debug_print_parse", "off"),
            ("debug_print_rewritten", "off"),
            ("debug_print_plan", "off"),
        ]),
        with_settings(&[
            ("log_min_messages", "fatal"),
            ("log_min_error_statement", "error"),
            ("log_error_verbosity", "terse"),
            ("debug_print_parse", "off"),
            ("debug_print_rewritten", "off"),
            ("debug_print_plan", "on"),
        ]),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::audit::eval;
    use crate::checks::testkit::with_settings;

    #[test]
    fn log_levels_list_every_bad_setting() {
        let s = with_settings(&[
            ("log_min_messages", "log"),
            ("log_min_error_statement", "fatal"),
            ("log_error_verbosity", "verbose"),
            ("debug_print_parse", "on"),
            ("debug_print_rewritten", "off"),
            ("debug_print_plan", "off"),
        ]);
        let v = eval(&LOG_LEVELS, &s);
        assert_eq!(
            v.objects,
            vec![
                "debug_print_parse",
                "log_min_error_statement",
                "log_min_messages"
            ]
        );
        assert!(v.evidence.starts_with("3 of 6"));
        assert!(at_most("DEBUG", "warning"));
        assert!(!at_most("log", "error"));
        assert!(!at_most("bogus", "error"));
    }
}

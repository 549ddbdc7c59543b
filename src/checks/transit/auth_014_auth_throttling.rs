//! AUTH-014: whether failed logins are delayed by a loaded auth_delay or
//! credcheck and authentication_timeout is at most 60 s.

use super::to_ms;
use crate::checks::facts::{
    describe, library_listed, major_version, need_setting, preload_statement, settle, value,
};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::{Setting, Snapshot};
use crate::model::statement::{alter_system_set, restore_parameter};
use crate::policy::Policy;

pub static AUTH_THROTTLING: Check = Check {
    id: "AUTH-014",
    section: Section::Transit,
    title: "Failed logins are slowed and half-open logins time out",
    severity: Severity::Medium,
    hipaa: &["164.308(a)(5)(ii)(C)"],
    cis: None,
    rationale: "Without a delay after each failed authentication, a password can be guessed \
        as fast as the network allows; auth_delay (auth_delay.milliseconds) or credcheck \
        (credcheck.auth_delay_ms) adds one. authentication_timeout above 60 s lets half-open \
        logins hold connection slots. Login monitoring and brute-force resistance, so medium. \
        A delay setting counts only when its library is in shared_preload_libraries.",
    reproduce_sql: "SELECT name, setting, unit, source FROM pg_settings WHERE name IN \
        ('authentication_timeout', 'shared_preload_libraries', 'auth_delay.milliseconds', \
        'credcheck.auth_delay_ms');",
    evaluate: |s, p| settle(auth_throttling(s, p)),
    fix: Fix::Build(auth_throttling_plan),
};

const MAX_AUTH_TIMEOUT_MS: f64 = 60_000.0;

/// The configured failed-login delay: the setting that gives it and its value.
fn login_delay(s: &Snapshot, preloaded: &str) -> Option<(String, f64)> {
    [
        ("auth_delay", "auth_delay.milliseconds"),
        ("credcheck", "credcheck.auth_delay_ms"),
    ]
    .into_iter()
    .filter(|(library, _)| library_listed(preloaded, library))
    .find_map(|(_, name)| {
        let setting = s.setting(name)?;
        let ms = to_ms(value(setting), setting.unit.as_deref().unwrap_or("ms"))?;
        (ms > 0.0).then(|| (describe(name, setting), ms))
    })
}

fn auth_timeout_ms(setting: &Setting) -> Option<f64> {
    to_ms(value(setting), setting.unit.as_deref().unwrap_or("s"))
}

fn auth_throttling(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let timeout = need_setting(s, "authentication_timeout")?;
    let libraries = need_setting(s, "shared_preload_libraries")?;
    let mut seen = vec![describe("authentication_timeout", timeout)];
    let mut problems = Vec::new();
    if auth_timeout_ms(timeout).is_none_or(|ms| ms > MAX_AUTH_TIMEOUT_MS) {
        problems.push("authentication_timeout".to_string());
    }
    match login_delay(s, value(libraries)) {
        Some((shown, _)) => seen.push(shown),
        None => {
            seen.push(describe("shared_preload_libraries", libraries));
            problems.push("failed-login delay".to_string());
        }
    }
    let seen = seen.join("; ");
    Ok(if problems.is_empty() {
        Verdict::pass(seen)
    } else {
        Verdict::fail(format!("{seen}; missing: {}", problems.join(", "))).with_objects(problems)
    })
}

fn auth_throttling_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let mut plan = FixPlan {
        needs: "superuser (ALTER SYSTEM)".into(),
        ..FixPlan::default()
    };
    let mut notes = Vec::new();
    if verdict
        .objects
        .iter()
        .any(|o| o == "authentication_timeout")
    {
        plan.statements
            .push(alter_system_set("authentication_timeout", "30s"));
        plan.rollback
            .push(restore_parameter(s, "authentication_timeout"));
        plan.apply.push(ApplyClass::Reload);
    }
    if verdict.objects.iter().any(|o| o == "failed-login delay") {
        let raw = s
            .setting("shared_preload_libraries")
            .map(value)
            .unwrap_or_default();
        if !library_listed(raw, "auth_delay") {
            plan.statements.push(preload_statement(s, "auth_delay"));
            plan.rollback
                .push(restore_parameter(s, "shared_preload_libraries"));
            plan.apply.insert(0, ApplyClass::Restart);
            notes.push(
                "auth_delay is a contrib module: install the package first, a missing library \
                 stops the server from starting",
            );
            if major_version(s).is_some_and(|m| m < 17) {
                notes.push(
                    "before PostgreSQL 17, ALTER SYSTEM accepts auth_delay.milliseconds only \
                     once the library is loaded: run that statement after the restart",
                );
            }
        }
        plan.statements
            .push(alter_system_set("auth_delay.milliseconds", "500"));
        plan.rollback
            .push(restore_parameter(s, "auth_delay.milliseconds"));
        if !plan.apply.contains(&ApplyClass::Reload) {
            plan.apply.push(ApplyClass::Reload);
        }
    }
    notes.push("a 500 ms delay slows guessing without bothering people");
    plan.note = notes.join("; ");
    plan
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
    vec![Case::new(
        "AUTH-014",
        with_settings(&[
            ("authentication_timeout", "30"),
            ("shared_preload_libraries", "auth_delay"),
            ("auth_delay.milliseconds", "500"),
        ]),
        with_settings(&[
            ("authentication_timeout", "60"),
            ("shared_preload_libraries", ""),
        ]),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::with_settings;
    use crate::checks::transit::fixtures::*;
    use crate::model::finding::Status;

    #[test]
    fn auth_delay_setting_counts_only_when_loaded() {
        let s = with_settings(&[
            ("authentication_timeout", "30"),
            ("shared_preload_libraries", "pgaudit"),
            ("auth_delay.milliseconds", "500"),
        ]);
        assert_eq!(run(&AUTH_THROTTLING, &s).status, Status::Fail);
    }
}

//! AUTH-013: whether passwordcheck or credcheck is in shared_preload_libraries.

use crate::checks::facts::{
    describe, library_listed, need_setting, preload_statement, settle, value,
};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::model::statement::restore_parameter;
use crate::policy::Policy;

pub static PASSWORD_QUALITY_LIBRARY: Check = Check {
    id: "AUTH-013",
    section: Section::Transit,
    title: "A password-quality library is loaded",
    severity: Severity::Medium,
    hipaa: &["164.308(a)(5)(ii)(D)"],
    cis: Some("5.6"),
    rationale: "passwordcheck (contrib) or credcheck rejects trivially guessable passwords \
        when they are set. Its reach is limited: a password that psql hashes on the client \
        cannot be judged. A password-management safeguard that narrows guessing attacks, so \
        medium.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings \
        WHERE name = 'shared_preload_libraries';",
    evaluate: |s, p| settle(password_quality_library(s, p)),
    fix: Fix::Build(password_quality_plan),
};

fn password_quality_library(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let setting = need_setting(s, "shared_preload_libraries")?;
    let seen = describe("shared_preload_libraries", setting);
    let raw = value(setting);
    Ok(
        if library_listed(raw, "passwordcheck") || library_listed(raw, "credcheck") {
            Verdict::pass(seen)
        } else {
            Verdict::fail(format!(
                "{seen}; neither passwordcheck nor credcheck is loaded"
            ))
        },
    )
}

fn password_quality_plan(s: &Snapshot, _: &Verdict) -> FixPlan {
    FixPlan {
        apply: vec![ApplyClass::Restart],
        statements: vec![preload_statement(s, "passwordcheck")],
        rollback: vec![restore_parameter(s, "shared_preload_libraries")],
        needs: "superuser (ALTER SYSTEM)".into(),
        note: "install the contrib package first (a library that is missing stops the server \
            from starting); credcheck is a richer alternative; takes effect after a restart"
            .into(),
        ..FixPlan::default()
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
    vec![Case::new(
        "AUTH-013",
        with_settings(&[("shared_preload_libraries", "pgaudit,passwordcheck")]),
        with_settings(&[("shared_preload_libraries", "pgaudit")]),
    )]
}

//! PRIV-018: the optional set_user extension is preloaded, so that escalation
//! to superuser is logged.

use crate::checks::facts::{
    describe, library_listed, need_setting, preload_statement, restore_list, value,
};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static SET_USER_LOADED: Check = Check {
    id: "PRIV-018",
    section: Section::Access,
    title: "set_user logs privilege escalation (optional)",
    severity: Severity::Low,
    hipaa: &["164.312(b)"],
    cis: Some("4.8"),
    rationale: "The set_user extension replaces direct superuser logins with an audited \
        escalation: who became superuser, when, and what they ran is logged. The catalogue \
        marks it optional, so its absence is a warning, not a failure, and low: pgAudit and \
        per-person logins (AUD-*, PRIV-007) cover the core audit duty.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings WHERE name = \
        'shared_preload_libraries';",
    evaluate: set_user_loaded,
    fix: Fix::Build(preload_set_user),
};

fn set_user_loaded(s: &Snapshot, _: &Policy) -> Verdict {
    let setting = match need_setting(s, "shared_preload_libraries") {
        Ok(v) => v,
        Err(unknown) => return unknown,
    };
    let seen = describe("shared_preload_libraries", setting);
    if library_listed(value(setting), "set_user") {
        Verdict::pass(seen)
    } else {
        Verdict::warn(format!("{seen}; set_user is not loaded"))
    }
}

/// Append set_user to the current list: replacing the list would unload
/// pgaudit or anything else already there. One literal per element, so the
/// server does not read the whole list as a single library name.
fn preload_set_user(s: &Snapshot, _: &Verdict) -> FixPlan {
    FixPlan {
        apply: vec![ApplyClass::Os, ApplyClass::Restart],
        statements: vec![preload_statement(s, "set_user")],
        rollback: vec![restore_list(s, "shared_preload_libraries")],
        needs: "superuser (ALTER SYSTEM) and the operating system (package, restart)".into(),
        note: "install the set_user package for this PostgreSQL major first: a preload \
            library that is missing stops the server from starting; then restart, and \
            CREATE EXTENSION set_user in the administration database"
            .into(),
        ..FixPlan::default()
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{base, set, Case};
    use crate::model::finding::Status;

    let mut good = base();
    set(&mut good, "shared_preload_libraries", "pgaudit,set_user");
    let mut bad = base();
    set(&mut bad, "shared_preload_libraries", "pgaudit");
    vec![Case::new("PRIV-018", good, bad).expect(Status::Pass, Status::Warn)]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::checks::testkit::{base, set};
    use crate::model::finding::Status;

    #[test]
    fn set_user_fix_appends_to_the_existing_list() {
        let mut s = base();
        set(
            &mut s,
            "shared_preload_libraries",
            "pgaudit, \"$libdir/set_user.so\"",
        );
        assert_eq!(status(&SET_USER_LOADED, &s), Status::Pass);
        set(&mut s, "shared_preload_libraries", "pgaudit");
        let v = eval(&SET_USER_LOADED, &s, &Policy::default());
        assert_eq!(v.status, Status::Warn);
        let plan = SET_USER_LOADED.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["ALTER SYSTEM SET \"shared_preload_libraries\" = 'pgaudit', 'set_user'"]
        );
        assert_eq!(
            plan.rollback,
            vec!["ALTER SYSTEM RESET \"shared_preload_libraries\""]
        );
        assert!(plan.apply.contains(&ApplyClass::Restart));
    }
}

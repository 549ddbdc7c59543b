//! AUTH-015: whether personal non-superuser login roles have a connection
//! limit.

use super::{is_human, named_roles, role_plan, roles};
use crate::checks::facts::{listing, settle};
use crate::checks::managed;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{FixPlan, Section, Severity};
use crate::model::snapshot::{Role, Snapshot};
use crate::model::statement::{RoleOption, Statement};
use crate::policy::Policy;

pub static CONNECTION_LIMITS: Check = Check {
    id: "AUTH-015",
    section: Section::Transit,
    title: "Personal login roles have a connection limit",
    severity: Severity::Low,
    hipaa: &["164.312(a)(1)"],
    cis: Some("5.5"),
    rationale: "An unlimited role can exhaust max_connections (denial of service to clinical \
        systems) and hides a shared or stolen account behind many parallel sessions. \
        Judged for personal login roles: superusers are left out because PostgreSQL does \
        not enforce the limit on them, and policy service accounts because their pool size \
        is the application's decision. Availability and misuse signal rather than \
        exposure, so low.",
    reproduce_sql: "SELECT rolname, rolconnlimit FROM pg_roles WHERE rolcanlogin \
        AND NOT rolsuper AND rolconnlimit = -1 ORDER BY 1;",
    evaluate: |s, p| settle(connection_limits(s, p)),
    fix: Fix::Build(connection_limits_plan),
};

const PERSONAL_CONNECTION_LIMIT: i32 = 5;

fn connection_limits(s: &Snapshot, policy: &Policy) -> Result<Verdict, Verdict> {
    let roles = roles(s)?;
    let provider = managed::detect(s);
    let judged: Vec<&Role> = roles
        .iter()
        .filter(|r| is_human(r, policy, provider) && !r.superuser)
        .collect();
    let open: Vec<String> = judged
        .iter()
        .filter(|r| r.conn_limit < 0)
        .map(|r| r.name.clone())
        .collect();
    let scope = format!("{} personal non-superuser login role(s)", judged.len());
    Ok(if open.is_empty() {
        Verdict::pass(format!("{scope}; each has a connection limit"))
    } else {
        Verdict::fail(format!("{scope}; unlimited: {}", listing(&open))).with_objects(open)
    })
}

fn connection_limits_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let names: Vec<String> = named_roles(s, verdict)
        .iter()
        .map(|r| r.name.clone())
        .collect();
    let limit = RoleOption::ConnectionLimit(PERSONAL_CONNECTION_LIMIT.into());
    role_plan(
        names
            .iter()
            .map(|r| Statement::alter_role(r, limit.clone()))
            .collect(),
        names
            .iter()
            .map(|r| Statement::alter_role(r, RoleOption::ConnectionLimit(-1)))
            .collect(),
        "five sessions suit a person; list roles used by software as service_accounts in the \
         policy and size their limit to the pool",
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::person;
    use crate::checks::testkit::{base, Case};
    let mut limited = base();
    person(&mut limited, "alice", |r| r.conn_limit = 5);
    let mut forever = base();
    person(&mut forever, "alice", |_| {});
    vec![Case::new("AUTH-015", limited, forever)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::base;
    use crate::checks::transit::fixtures::*;
    use crate::model::finding::Status;

    #[test]
    fn superusers_are_exempt_from_connection_limits() {
        let mut s = base();
        person(&mut s, "dba_alice", |r| r.superuser = true);
        assert_eq!(run(&CONNECTION_LIMITS, &s).status, Status::Pass);
    }

    proptest::proptest! {
        #[test]
        fn any_role_name_stays_inside_its_quotes(name in "\\PC{1,20}") {
            let mut s = base();
            person(&mut s, &name, |_| {});
            let v = run(&CONNECTION_LIMITS, &s);
            let plan = CONNECTION_LIMITS.plan(&s, &v);
            for statement in plan.statements.iter().chain(&plan.rollback) {
                let bare = crate::checks::testkit::outside_quotes(&statement.to_string());
                proptest::prop_assert!(!bare.contains(';'), "{}", statement);
            }
        }
    }
}

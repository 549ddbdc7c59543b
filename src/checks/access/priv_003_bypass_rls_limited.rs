//! PRIV-003: only administrators hold BYPASSRLS.

use super::non_admins_holding;
use super::role_fixes::{attribute_plan, BYPASSRLS};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{FixPlan, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static BYPASS_RLS_LIMITED: Check = Check {
    id: "PRIV-003",
    section: Section::Access,
    title: "Only administrators bypass row-level security",
    severity: Severity::High,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "BYPASSRLS switches off every row-level policy for the role, so a PHI table's \
        per-patient or per-clinic filtering stops applying to it. Outside administration \
        and backup tooling this silently undoes PRIV-014, so high. Administrators are the \
        approved superusers and the policy's approved_admins.",
    reproduce_sql: "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolbypassrls ORDER BY 1;",
    evaluate: bypass_rls_limited,
    fix: Fix::Build(revoke_bypass_rls),
};

fn bypass_rls_limited(s: &Snapshot, policy: &Policy) -> Verdict {
    non_admins_holding(s, policy, "BYPASSRLS", |r| r.bypass_rls)
}

fn revoke_bypass_rls(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    attribute_plan(
        s,
        verdict,
        &[BYPASSRLS],
        "a backup tool that needs every row can run as an approved administrator instead",
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::*;
    use crate::checks::testkit::{role, Case};

    vec![Case::new(
        "PRIV-003",
        with_role(login("alice")),
        with_role(role("app", |r| {
            r.can_login = true;
            r.bypass_rls = true;
        })),
    )]
}

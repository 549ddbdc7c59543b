//! Fix builders shared by the role checks: switching role attributes off and
//! revoking memberships, each with the statement that restores it. Imports
//! `super::keys` and `crate::model` only.

use super::keys::Listed;
use crate::checks::Verdict;
use crate::model::finding::{ApplyClass, FixPlan};
use crate::model::snapshot::{Membership, Role, Snapshot};
use crate::model::statement::{MembershipOptions, RoleOption, RoleRef, Statement};

/// A role attribute a fix can switch off (and the rollback back on).
pub(super) struct Attribute {
    option: fn(bool) -> RoleOption,
    held: fn(&Role) -> bool,
}

pub(super) const SUPERUSER: Attribute = Attribute {
    option: RoleOption::Superuser,
    held: |r| r.superuser,
};
pub(super) const CREATEDB: Attribute = Attribute {
    option: RoleOption::CreateDb,
    held: |r| r.create_db,
};
pub(super) const CREATEROLE: Attribute = Attribute {
    option: RoleOption::CreateRole,
    held: |r| r.create_role,
};
pub(super) const BYPASSRLS: Attribute = Attribute {
    option: RoleOption::BypassRls,
    held: |r| r.bypass_rls,
};
pub(super) const REPLICATION: Attribute = Attribute {
    option: RoleOption::Replication,
    held: |r| r.replication,
};
pub(super) const LOGIN: Attribute = Attribute {
    option: RoleOption::Login,
    held: |r| r.can_login,
};

/// `ALTER ROLE r NO<attr> …` for each listed role, switching off only the
/// attributes the snapshot saw it hold; rollback switches them back on.
pub(super) fn attribute_plan(
    s: &Snapshot,
    verdict: &Verdict,
    attributes: &[Attribute],
    note: &str,
) -> FixPlan {
    let listed = Listed::new(verdict);
    let mut plan = FixPlan {
        apply: vec![ApplyClass::Immediate],
        needs: "superuser".into(),
        note: note.into(),
        ..FixPlan::default()
    };
    for role in s
        .roles
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .filter(|r| listed.contains(r.name.as_str()))
    {
        let held: Vec<fn(bool) -> RoleOption> = attributes
            .iter()
            .filter(|a| (a.held)(role))
            .map(|a| a.option)
            .collect();
        if held.is_empty() {
            continue;
        }
        let alter = |on: bool| Statement::AlterRole {
            role: RoleRef::named(&role.name),
            options: held.iter().map(|option| option(on)).collect(),
        };
        plan.statements.push(alter(false));
        plan.rollback.push(alter(true));
    }
    plan
}

pub(super) fn revoke_membership(m: &Membership) -> Statement {
    Statement::Membership {
        grant: false,
        group: m.role.clone(),
        member: m.member.clone(),
        with: None,
    }
}

/// The GRANT that recreates a membership as the snapshot saw it, with its
/// admin option and, on PostgreSQL 16+, its inherit option.
pub(super) fn grant_membership(m: &Membership) -> Statement {
    Statement::Membership {
        grant: true,
        group: m.role.clone(),
        member: m.member.clone(),
        with: match (m.inherit_option, m.admin_option) {
            (None, false) => None,
            (None, true) => Some(MembershipOptions::AdminOption),
            (Some(inherit), admin) => Some(MembershipOptions::AdminInherit { admin, inherit }),
        },
    }
}

pub(super) fn membership_plan(cut: &[&Membership], note: &str) -> FixPlan {
    FixPlan {
        apply: vec![ApplyClass::Immediate],
        statements: cut.iter().map(|m| revoke_membership(m)).collect(),
        rollback: cut.iter().map(|m| grant_membership(m)).collect(),
        needs: "superuser, or a role with ADMIN OPTION on each group".into(),
        note: format!(
            "{note}; on PostgreSQL 16+ a membership granted by a non-superuser must be revoked \
             with GRANTED BY that role"
        ),
        ..FixPlan::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_rollback_restores_pg16_options() {
        let m = Membership {
            role: "g".into(),
            member: "m".into(),
            admin_option: true,
            inherit_option: Some(false),
            set_option: None,
        };
        assert_eq!(
            grant_membership(&m),
            "GRANT \"g\" TO \"m\" WITH ADMIN TRUE, INHERIT FALSE"
        );
        let old = Membership {
            inherit_option: None,
            set_option: None,
            ..m
        };
        assert_eq!(
            grant_membership(&old),
            "GRANT \"g\" TO \"m\" WITH ADMIN OPTION"
        );
    }
}

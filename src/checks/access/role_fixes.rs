//! Fix builders shared by the role checks: switching role attributes off and
//! revoking memberships, each with the statement that restores it. Imports
//! `super::keys` and `crate::model` only.

use super::keys::Listed;
use crate::checks::Verdict;
use crate::model::finding::{ApplyClass, FixPlan};
use crate::model::snapshot::{Membership, Role, Snapshot};
use postgres_protocol::escape::escape_identifier;

/// A role attribute a fix can switch off (and the rollback back on).
pub(super) struct Attribute {
    keyword: &'static str,
    held: fn(&Role) -> bool,
}

pub(super) const SUPERUSER: Attribute = Attribute {
    keyword: "SUPERUSER",
    held: |r| r.superuser,
};
pub(super) const CREATEDB: Attribute = Attribute {
    keyword: "CREATEDB",
    held: |r| r.create_db,
};
pub(super) const CREATEROLE: Attribute = Attribute {
    keyword: "CREATEROLE",
    held: |r| r.create_role,
};
pub(super) const BYPASSRLS: Attribute = Attribute {
    keyword: "BYPASSRLS",
    held: |r| r.bypass_rls,
};
pub(super) const REPLICATION: Attribute = Attribute {
    keyword: "REPLICATION",
    held: |r| r.replication,
};
pub(super) const LOGIN: Attribute = Attribute {
    keyword: "LOGIN",
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
        let held: Vec<&str> = attributes
            .iter()
            .filter(|a| (a.held)(role))
            .map(|a| a.keyword)
            .collect();
        if held.is_empty() {
            continue;
        }
        let name = escape_identifier(&role.name);
        let off: Vec<String> = held.iter().map(|k| format!("NO{k}")).collect();
        plan.statements
            .push(format!("ALTER ROLE {name} {}", off.join(" ")));
        plan.rollback
            .push(format!("ALTER ROLE {name} {}", held.join(" ")));
    }
    plan
}

pub(super) fn revoke_membership(m: &Membership) -> String {
    format!(
        "REVOKE {} FROM {}",
        escape_identifier(&m.role),
        escape_identifier(&m.member)
    )
}

/// The GRANT that recreates a membership as the snapshot saw it, with its
/// admin option and, on PostgreSQL 16+, its inherit option.
pub(super) fn grant_membership(m: &Membership) -> String {
    let base = format!(
        "GRANT {} TO {}",
        escape_identifier(&m.role),
        escape_identifier(&m.member)
    );
    let flag = |b: bool| if b { "TRUE" } else { "FALSE" };
    match (m.inherit_option, m.admin_option) {
        (None, false) => base,
        (None, true) => format!("{base} WITH ADMIN OPTION"),
        (Some(inherit), admin) => format!(
            "{base} WITH ADMIN {}, INHERIT {}",
            flag(admin),
            flag(inherit)
        ),
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

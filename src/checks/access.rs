//! Guide section 4: least privilege and row-level security (PRIV-*).
//!
//! Owns the PRIV checks, their evidence and their fix builders. Privilege
//! facts (memberships, who can read what) come from [`super::privileges`],
//! PHI detection from [`super::phi`]. Must not import `db`, `ui` or `report`.
//!
//! Conventions shared by the checks of the section:
//! - Role objects are role names as PostgreSQL spells them. Relation, routine
//!   and path objects use quoted SQL names (`"public"."patients"`), prefixed
//!   with the quoted database name when they come from a database other than
//!   the connected one (`"billing"."public"."claims"`): quoting keeps keys
//!   unambiguous whatever the names contain.
//! - Fix builders never parse objects back. They rebuild candidate keys from
//!   the snapshot with the same functions and act on those the verdict lists,
//!   in the connected database only (other databases need a fix run there).
//! - Per-database parts: a finding anywhere fails; otherwise a database whose
//!   part was not collected makes the verdict unknown, never pass.
//! - "Can read" and "can become" follow every membership (SET ROLE works
//!   whatever the INHERIT setting), see
//!   [`Reach::SetRole`](super::privileges::Reach::SetRole).
//!
//! Layout: one file per check in `access/` (`priv_001_superusers_approved.rs`
//! …), each with its declaration, evaluation, fix builder and, at the bottom,
//! its passing and failing fixtures and unit tests. This module keeps the
//! `CHECKS` list (its order shows in the output), the small helpers that
//! several checks share and the shared test fixtures; larger shared helpers
//! have a module each: `approved` (who counts as an administrator),
//! `keys` (object keys and finding them again), `role_fixes` (attribute
//! and membership statements) and `scoped` (per-database parts). The check
//! files import these (`super`), the shared check modules (`crate::checks`),
//! `crate::model` and the policy, nothing above them.

// Helpers shared by several checks, one job each.
mod approved;
mod keys;
mod role_fixes;
mod scoped;

// The checks, in catalogue order.
mod priv_001_superusers_approved;
mod priv_002_create_attributes_limited;
mod priv_003_bypass_rls_limited;
mod priv_004_replication_dedicated;
mod priv_005_no_path_to_superuser;
mod priv_006_server_access_roles_limited;
mod priv_007_no_shared_accounts;
mod priv_008_inactive_logins_reviewed;
mod priv_009_no_public_table_grants;
mod priv_010_no_public_schema_create;
mod priv_011_default_privileges_tight;
mod priv_012_security_definer_safe;
mod priv_013_untrusted_code_approved;
mod priv_014_phi_tables_have_rls;
mod priv_015_policies_restrict_rows;
mod priv_016_phi_owners_cannot_log_in;
mod priv_017_phi_columns_least_privilege;
mod priv_018_set_user_loaded;
mod priv_019_query_text_limited;
mod priv_020_replication_phi;

use super::facts::{part_missing, sample, scanner_role};
use super::privileges::{FastMap, RoleGraph, RoleSet, PUBLIC};
use super::{Check, Verdict};
use crate::model::finding::{ApplyClass, FixPlan};
use crate::model::snapshot::{Policy as RlsPolicy, Role, Snapshot};
use crate::model::statement::{Grantee, PrivilegeList};
use crate::policy::Policy;
use approved::Approved;
use postgres_protocol::escape::escape_identifier;

pub static CHECKS: &[&Check] = &[
    &priv_001_superusers_approved::SUPERUSERS_APPROVED,
    &priv_002_create_attributes_limited::CREATE_ATTRIBUTES_LIMITED,
    &priv_003_bypass_rls_limited::BYPASS_RLS_LIMITED,
    &priv_004_replication_dedicated::REPLICATION_DEDICATED,
    &priv_005_no_path_to_superuser::NO_PATH_TO_SUPERUSER,
    &priv_006_server_access_roles_limited::SERVER_ACCESS_ROLES_LIMITED,
    &priv_007_no_shared_accounts::NO_SHARED_ACCOUNTS,
    &priv_008_inactive_logins_reviewed::INACTIVE_LOGINS_REVIEWED,
    &priv_009_no_public_table_grants::NO_PUBLIC_TABLE_GRANTS,
    &priv_010_no_public_schema_create::NO_PUBLIC_SCHEMA_CREATE,
    &priv_011_default_privileges_tight::DEFAULT_PRIVILEGES_TIGHT,
    &priv_012_security_definer_safe::SECURITY_DEFINER_SAFE,
    &priv_013_untrusted_code_approved::UNTRUSTED_CODE_APPROVED,
    &priv_014_phi_tables_have_rls::PHI_TABLES_HAVE_RLS,
    &priv_015_policies_restrict_rows::POLICIES_RESTRICT_ROWS,
    &priv_016_phi_owners_cannot_log_in::PHI_OWNERS_CANNOT_LOG_IN,
    &priv_017_phi_columns_least_privilege::PHI_COLUMNS_LEAST_PRIVILEGE,
    &priv_018_set_user_loaded::SET_USER_LOADED,
    &priv_019_query_text_limited::QUERY_TEXT_LIMITED,
    &priv_020_replication_phi::REPLICATION_PHI,
];

/// Relation kinds that carry row-level security.
const RLS_KINDS: &[&str] = &["r", "p"];

// ------------------------------------------------------- shared helpers

/// Roles holding an attribute that only administrators should hold.
fn non_admins_holding(
    s: &Snapshot,
    policy: &Policy,
    what: &str,
    holds: fn(&Role) -> bool,
) -> Verdict {
    let roles = match need_roles(s) {
        Ok(r) => r,
        Err(v) => return v,
    };
    let approved = Approved::new(s, roles, policy);
    let holders: Vec<String> = sorted(roles.iter().filter(|r| holds(r)).map(|r| r.name.clone()));
    let offenders: Vec<String> = holders
        .iter()
        .filter(|r| !approved.admin(r))
        .cloned()
        .collect();
    let seen = format!(
        "{} role(s) hold {what}: {}; {}",
        holders.len(),
        none_if_empty(&sample(&holders)),
        approved.describe_admins()
    );
    if offenders.is_empty() {
        Verdict::pass(seen)
    } else {
        Verdict::fail(format!("{seen}; not approved: {}", sample(&offenders)))
            .with_objects(offenders)
    }
}

/// Policies per table, keyed by `(schema, table)`.
fn policy_counts(policies: &[RlsPolicy]) -> FastMap<(&str, &str), usize> {
    let mut counts = FastMap::default();
    for p in policies {
        *counts
            .entry((p.schema.as_str(), p.table.as_str()))
            .or_insert(0) += 1;
    }
    counts
}

fn intersection(a: &RoleSet, b: &RoleSet) -> RoleSet {
    let mut out = a.clone();
    out.intersect_with(b);
    out
}

fn catalog_grant(s: &Snapshot, catalog: &str) -> String {
    format!(
        "GRANT SELECT ON pg_catalog.{catalog} TO {}",
        escape_identifier(&scanner_role(s))
    )
}

fn need_roles(s: &Snapshot) -> Result<&[Role], Verdict> {
    s.roles
        .as_deref()
        .ok_or_else(|| part_missing(s, "roles", catalog_grant(s, "pg_roles")))
}

fn need_graph(s: &Snapshot) -> Result<RoleGraph<'_>, Verdict> {
    let roles = need_roles(s)?;
    let memberships = s
        .memberships
        .as_deref()
        .ok_or_else(|| part_missing(s, "memberships", catalog_grant(s, "pg_auth_members")))?;
    Ok(RoleGraph::new(roles, memberships))
}

fn missing_facts_plan(what: &str) -> FixPlan {
    FixPlan {
        apply: vec![ApplyClass::Manual],
        needs: "a snapshot with the facts".into(),
        note: format!("{what} were not collected: scan again with access to them"),
        ..FixPlan::default()
    }
}

/// `SELECT, INSERT` or, for a column, `SELECT ("c"), INSERT ("c")`.
fn privilege_list(letters: &str, column: Option<&str>) -> PrivilegeList {
    PrivilegeList {
        keywords: letters
            .chars()
            .filter_map(crate::model::snapshot::privilege_keyword)
            .collect(),
        column: column.map(str::to_string),
    }
}

/// An ACL item's grantee as a statement names it.
fn grantee(name: &str) -> Grantee {
    if name == PUBLIC {
        Grantee::Public
    } else {
        Grantee::Role(name.to_string())
    }
}

fn sorted(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = items.into_iter().collect();
    v.sort();
    v.dedup();
    v
}

fn none_if_empty(text: &str) -> &str {
    if text.is_empty() {
        "none"
    } else {
        text
    }
}

#[cfg(test)]
pub fn cases() -> Vec<super::testkit::Case> {
    [
        priv_001_superusers_approved::cases(),
        priv_002_create_attributes_limited::cases(),
        priv_003_bypass_rls_limited::cases(),
        priv_004_replication_dedicated::cases(),
        priv_005_no_path_to_superuser::cases(),
        priv_006_server_access_roles_limited::cases(),
        priv_007_no_shared_accounts::cases(),
        priv_008_inactive_logins_reviewed::cases(),
        priv_009_no_public_table_grants::cases(),
        priv_010_no_public_schema_create::cases(),
        priv_011_default_privileges_tight::cases(),
        priv_012_security_definer_safe::cases(),
        priv_013_untrusted_code_approved::cases(),
        priv_014_phi_tables_have_rls::cases(),
        priv_015_policies_restrict_rows::cases(),
        priv_016_phi_owners_cannot_log_in::cases(),
        priv_017_phi_columns_least_privilege::cases(),
        priv_018_set_user_loaded::cases(),
        priv_019_query_text_limited::cases(),
        priv_020_replication_phi::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Snapshot builders and judging shortcuts shared by the check files'
/// `cases()` and unit tests.
#[cfg(test)]
mod fixtures {
    use super::super::testkit::{base, db, role, table};
    use crate::checks::{Check, Verdict};
    use crate::model::finding::Status;
    use crate::model::snapshot::{
        AclItem, DatabaseFacts, Function, FunctionReads, Membership, Policy, PolicyReadsRow,
        Relation, Role, Snapshot,
    };

    pub fn login(name: &str) -> Role {
        role(name, |r| r.can_login = true)
    }

    pub fn group(name: &str) -> Role {
        role(name, |_| {})
    }

    pub fn add_roles(s: &mut Snapshot, roles: Vec<Role>) {
        s.roles.get_or_insert_with(Vec::new).extend(roles);
    }

    pub fn membership(group: &str, member: &str) -> Membership {
        Membership {
            role: group.into(),
            member: member.into(),
            admin_option: false,
            inherit_option: None,
            set_option: None,
        }
    }

    pub fn add_memberships(s: &mut Snapshot, pairs: &[(&str, &str)]) {
        let list = s.memberships.get_or_insert_with(Vec::new);
        list.extend(pairs.iter().map(|(g, m)| membership(g, m)));
    }

    pub fn acl(grantee: &str, privileges: &str) -> AclItem {
        AclItem {
            grantee: grantee.into(),
            grantor: "phi_owner".into(),
            privileges: privileges.into(),
            grantable: String::new(),
        }
    }

    /// `public.patients(id, ssn, clinic_id)`.
    pub fn patients(owner: &str) -> Relation {
        table(
            "patients",
            owner,
            &[("id", "bigint"), ("ssn", "text"), ("clinic_id", "integer")],
        )
    }

    /// `public.patients_v` reading `public.patients`, SELECT granted to
    /// `clinician`; `security_invoker` `None` as in snapshots before it was collected.
    pub fn patients_view(owner: &str, security_invoker: Option<bool>) -> Relation {
        let mut view = table("patients_v", owner, &[("id", "bigint"), ("ssn", "text")]);
        view.kind = "v".into();
        view.acl.push(acl("clinician", "r"));
        view.security_invoker = security_invoker;
        view.reads = security_invoker.map(|_| vec!["public.patients".into()]);
        view
    }

    /// RLS enabled and forced.
    pub fn rls(mut rel: Relation) -> Relation {
        rel.rls_enabled = true;
        rel.rls_forced = true;
        rel
    }

    pub fn rls_policy(using: &str) -> Policy {
        Policy {
            schema: "public".into(),
            table: "patients".into(),
            name: "by_clinic".into(),
            permissive: true,
            command: "SELECT".into(),
            roles: vec!["public".into()],
            using: Some(using.into()),
            with_check: None,
            // Fixtures judge `true` by its text; any other expression reads the row.
            reads_row: Some(PolicyReadsRow {
                using: !using.contains("true"),
                with_check: false,
            }),
        }
    }

    pub fn with_relations(relations: Vec<Relation>) -> Snapshot {
        let mut s = base();
        db(&mut s).relations = Some(relations);
        s
    }

    pub fn relation_mut(s: &mut Snapshot, i: usize) -> &mut Relation {
        let rels = db(s).relations.get_or_insert_with(Vec::new);
        &mut rels[i]
    }

    pub fn definer(config: &[&str], public_execute: bool) -> Function {
        let mut acl = vec![acl("app_owner", "X")];
        if public_execute {
            acl.push(self::acl(crate::checks::privileges::PUBLIC, "X"));
        }
        Function {
            schema: "app".into(),
            signature: "lookup_patient(bigint)".into(),
            owner: "app_owner".into(),
            language: "plpgsql".into(),
            security_definer: true,
            config: config.iter().map(|c| (*c).to_string()).collect(),
            acl,
            from_extension: false,
            literal_key_in_body: false,
            reads: Some(FunctionReads::default()),
        }
    }

    /// A second database with the given relations.
    pub fn second_database(s: &mut Snapshot, relations: Option<Vec<Relation>>) {
        let mut other: DatabaseFacts = s.databases[0].clone();
        other.name = "billing".into();
        other.relations = relations;
        s.databases.push(other);
    }

    /// A snapshot whose only extra role is `r`.
    pub fn with_role(r: Role) -> Snapshot {
        let mut s = base();
        add_roles(&mut s, vec![r]);
        s
    }

    /// `patients` with RLS enabled and forced, its owner `phi_owner` and one
    /// policy that reads the row.
    pub fn protected() -> Snapshot {
        let mut s = with_relations(vec![rls(patients("phi_owner"))]);
        add_roles(&mut s, vec![group("phi_owner")]);
        db(&mut s).policies = Some(vec![rls_policy("(clinic_id = 7)")]);
        s
    }

    /// A policy naming `clinician` the one clinical role.
    pub fn clinical() -> crate::policy::Policy {
        crate::policy::Policy {
            clinical_roles: vec!["clinician".into()],
            ..crate::policy::Policy::default()
        }
    }

    /// Names that every fix must quote.
    pub const HOSTILE: &[&str] = &["a\"; DROP ROLE x; --", "line\nbreak", "pätiënt_ü"];

    /// The check's verdict under `policy`.
    pub fn eval(check: &Check, s: &Snapshot, policy: &crate::policy::Policy) -> Verdict {
        (check.evaluate)(s, policy)
    }

    /// The check's status under the default policy.
    pub fn status(check: &Check, s: &Snapshot) -> Status {
        eval(check, s, &crate::policy::Policy::default()).status
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::priv_001_superusers_approved::SUPERUSERS_APPROVED;
    use super::priv_002_create_attributes_limited::CREATE_ATTRIBUTES_LIMITED;
    use super::priv_003_bypass_rls_limited::BYPASS_RLS_LIMITED;
    use super::priv_004_replication_dedicated::REPLICATION_DEDICATED;
    use super::priv_005_no_path_to_superuser::NO_PATH_TO_SUPERUSER;
    use super::priv_006_server_access_roles_limited::SERVER_ACCESS_ROLES_LIMITED;
    use super::priv_007_no_shared_accounts::NO_SHARED_ACCOUNTS;
    use super::priv_009_no_public_table_grants::NO_PUBLIC_TABLE_GRANTS;
    use super::priv_010_no_public_schema_create::NO_PUBLIC_SCHEMA_CREATE;
    use super::priv_011_default_privileges_tight::DEFAULT_PRIVILEGES_TIGHT;
    use super::priv_012_security_definer_safe::SECURITY_DEFINER_SAFE;
    use super::priv_013_untrusted_code_approved::UNTRUSTED_CODE_APPROVED;
    use super::priv_014_phi_tables_have_rls::PHI_TABLES_HAVE_RLS;
    use super::priv_015_policies_restrict_rows::POLICIES_RESTRICT_ROWS;
    use super::priv_016_phi_owners_cannot_log_in::PHI_OWNERS_CANNOT_LOG_IN;
    use super::priv_017_phi_columns_least_privilege::PHI_COLUMNS_LEAST_PRIVILEGE;
    use super::priv_018_set_user_loaded::SET_USER_LOADED;
    use super::*;
    use crate::checks::privileges::PUBLIC;
    use crate::checks::testkit::{base, db, role, table};
    use crate::model::finding::Status;
    use crate::model::snapshot::{DatabaseFacts, Relation};

    #[test]
    fn missing_parts_are_unknown_never_pass() {
        let role_checks: &[&Check] = &[
            &SUPERUSERS_APPROVED,
            &CREATE_ATTRIBUTES_LIMITED,
            &BYPASS_RLS_LIMITED,
            &REPLICATION_DEDICATED,
            &NO_PATH_TO_SUPERUSER,
            &SERVER_ACCESS_ROLES_LIMITED,
            &NO_SHARED_ACCOUNTS,
            &DEFAULT_PRIVILEGES_TIGHT,
            &PHI_OWNERS_CANNOT_LOG_IN,
            &PHI_COLUMNS_LEAST_PRIVILEGE,
        ];
        let mut s = with_relations(vec![rls(patients("phi_owner"))]);
        s.roles = None;
        for check in role_checks {
            let v = eval(check, &s, &Policy::default());
            assert_eq!(v.status, Status::Unknown, "{}", check.id);
            assert!(v.grant.is_some(), "{} gives no grant", check.id);
        }
        let mut s = base();
        s.memberships = None;
        for check in [
            &NO_PATH_TO_SUPERUSER,
            &SERVER_ACCESS_ROLES_LIMITED,
            &PHI_COLUMNS_LEAST_PRIVILEGE,
        ] {
            assert_eq!(status(check, &s), Status::Unknown, "{}", check.id);
        }
        let mut s = base();
        s.hba_rules = None;
        assert_eq!(status(&REPLICATION_DEDICATED, &s), Status::Unknown);
        s.sessions = None;
        assert_eq!(status(&NO_SHARED_ACCOUNTS, &s), Status::Unknown);
        let mut s = base();
        s.settings = None;
        assert_eq!(status(&SET_USER_LOADED, &s), Status::Unknown);
    }

    #[test]
    fn missing_per_database_parts_are_unknown_and_findings_still_fail() {
        let db_checks: &[&Check] = &[
            &NO_PUBLIC_TABLE_GRANTS,
            &NO_PUBLIC_SCHEMA_CREATE,
            &DEFAULT_PRIVILEGES_TIGHT,
            &SECURITY_DEFINER_SAFE,
            &UNTRUSTED_CODE_APPROVED,
            &PHI_TABLES_HAVE_RLS,
            &POLICIES_RESTRICT_ROWS,
            &PHI_OWNERS_CANNOT_LOG_IN,
            &PHI_COLUMNS_LEAST_PRIVILEGE,
        ];
        let mut none = base();
        none.databases.clear();
        for check in db_checks {
            assert_eq!(
                status(check, &none),
                Status::Unknown,
                "{} without databases",
                check.id
            );
        }
        let mut s = base();
        *db(&mut s) = DatabaseFacts {
            name: "clinic".into(),
            ..DatabaseFacts::default()
        };
        for check in db_checks {
            assert_eq!(
                status(check, &s),
                Status::Unknown,
                "{} without parts",
                check.id
            );
        }
        // A second database that was not collected: unknown, named in the reason.
        let mut s = with_relations(vec![patients("phi_owner")]);
        second_database(&mut s, None);
        let v = eval(&NO_PUBLIC_TABLE_GRANTS, &s, &Policy::default());
        assert_eq!(v.status, Status::Unknown);
        assert!(v.reason.unwrap_or_default().contains("billing"));
        // A finding in the primary database still fails.
        relation_mut(&mut s, 0).acl.push(acl(PUBLIC, "r"));
        let v = eval(&NO_PUBLIC_TABLE_GRANTS, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        assert!(v.evidence.contains("not collected in database(s): billing"));
    }

    #[test]
    fn objects_in_other_databases_carry_the_database_name_and_get_no_statements() {
        let mut s = with_relations(vec![patients("phi_owner")]);
        let mut exposed = patients("phi_owner");
        exposed.acl.push(acl(PUBLIC, "r"));
        second_database(&mut s, Some(vec![exposed]));
        let v = eval(&NO_PUBLIC_TABLE_GRANTS, &s, &Policy::default());
        assert_eq!(
            v.objects,
            vec!["\"billing\".\"public\".\"patients\"".to_string()]
        );
        let plan = NO_PUBLIC_TABLE_GRANTS.plan(&s, &v);
        assert!(plan.statements.is_empty());
        assert!(plan.note.contains("each other listed database"));
    }

    #[test]
    fn hostile_role_names_are_quoted_in_every_role_fix() {
        for name in HOSTILE {
            let mut s = base();
            add_roles(
                &mut s,
                vec![
                    role(name, |r| {
                        r.can_login = true;
                        r.superuser = true;
                        r.bypass_rls = true;
                    }),
                    group("ops"),
                ],
            );
            add_memberships(&mut s, &[("ops", name), ("postgres", "ops")]);
            let quoted = escape_identifier(name);
            for check in [&SUPERUSERS_APPROVED, &BYPASS_RLS_LIMITED] {
                let v = eval(check, &s, &Policy::default());
                let plan = check.plan(&s, &v);
                assert_eq!(plan.statements.len(), 1, "{}", check.id);
                assert!(plan.statements[0]
                    .to_string()
                    .starts_with(&format!("ALTER ROLE {quoted} NO")));
            }
            if let Some(r) = s
                .roles
                .as_mut()
                .and_then(|r| r.iter_mut().find(|r| r.name == *name))
            {
                r.superuser = false;
            }
            let v = eval(&NO_PATH_TO_SUPERUSER, &s, &Policy::default());
            let plan = NO_PATH_TO_SUPERUSER.plan(&s, &v);
            assert_eq!(
                plan.statements,
                vec![format!("REVOKE \"ops\" FROM {quoted}")]
            );
        }
    }

    #[test]
    fn privilege_letters_become_keywords() {
        assert_eq!(
            privilege_list("arwdDxtm", None).to_string(),
            "INSERT, SELECT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, MAINTAIN"
        );
        assert_eq!(
            privilege_list("r?", Some("a\"b")).to_string(),
            "SELECT (\"a\"\"b\")"
        );
    }

    /// 1,000 roles and 10,000 tables through every check of the section.
    #[test]
    fn the_section_scales_to_large_catalogs() {
        let mut s = base();
        let mut roles: Vec<Role> = (0..1000)
            .map(|i| role(&format!("role_{i}"), |r| r.can_login = i % 3 == 0))
            .collect();
        roles.push(group("clinician"));
        add_roles(&mut s, roles);
        let pairs: Vec<(String, String)> = (1..1000)
            .map(|i| (format!("role_{}", i / 10), format!("role_{i}")))
            .collect();
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        add_memberships(&mut s, &pairs);
        let relations: Vec<Relation> = (0..10_000)
            .map(|i| {
                let mut rel = if i % 4 == 0 {
                    patients(&format!("role_{}", i % 1000))
                } else {
                    table(
                        &format!("t{i}"),
                        "phi_owner",
                        &[("id", "bigint"), ("note", "text")],
                    )
                };
                rel.name = format!("t{i}");
                rel.acl.push(acl(&format!("role_{}", i % 97), "r"));
                rel
            })
            .collect();
        db(&mut s).relations = Some(relations);
        let policy = clinical();
        let started = std::time::Instant::now();
        for check in CHECKS {
            let v = eval(check, &s, &policy);
            if v.status != Status::Pass {
                let _ = check.plan(&s, &v);
            }
        }
        let spent = started.elapsed();
        eprintln!("access section on 1,000 roles and 10,000 tables: {spent:?}");
        assert!(spent.as_secs() < 10, "took {spent:?}");
    }
}

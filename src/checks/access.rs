//! Guide section 4: least privilege and row-level security (PRIV-*).
//!
//! Owns the PRIV checks, their evidence and their fix builders. Privilege
//! facts (memberships, who can read what) come from [`super::privileges`],
//! PHI detection from [`super::phi`]. Must not import `db`, `ui` or `report`.
//!
//! Conventions shared by the checks below:
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
//!   whatever the INHERIT setting), see [`Reach::SetRole`].

mod query_text;
mod replication;

use super::definers::{self, routine_key};
use super::facts;
use super::facts::{
    annotated_sample, bootstrap_name, describe, library_listed, major_version, need_setting,
    part_missing, preload_statement, push_identifier, restore_list, sample, scanner_role,
    split_list, value,
};
use super::managed::{self, Provider};
use super::privileges::{FastMap, FastSet, Reach, RoleGraph, RoleSet, PUBLIC, READ_ALL_DATA};
use super::{hba, phi, views};
use super::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::{
    AclItem, DatabaseFacts, DefaultAcl, Function, HbaRule, Membership, Policy as RlsPolicy,
    Relation, Role, Snapshot,
};
use crate::model::statement::{MembershipOptions, RoleOption, RoleRef, Statement};
use crate::policy::Policy;
use postgres_protocol::escape::escape_identifier;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

pub static CHECKS: &[&Check] = &[
    &SUPERUSERS_APPROVED,
    &CREATE_ATTRIBUTES_LIMITED,
    &BYPASS_RLS_LIMITED,
    &REPLICATION_DEDICATED,
    &NO_PATH_TO_SUPERUSER,
    &SERVER_ACCESS_ROLES_LIMITED,
    &NO_SHARED_ACCOUNTS,
    &INACTIVE_LOGINS_REVIEWED,
    &NO_PUBLIC_TABLE_GRANTS,
    &NO_PUBLIC_SCHEMA_CREATE,
    &DEFAULT_PRIVILEGES_TIGHT,
    &SECURITY_DEFINER_SAFE,
    &UNTRUSTED_CODE_APPROVED,
    &PHI_TABLES_HAVE_RLS,
    &POLICIES_RESTRICT_ROWS,
    &PHI_OWNERS_CANNOT_LOG_IN,
    &PHI_COLUMNS_LEAST_PRIVILEGE,
    &SET_USER_LOADED,
    &query_text::QUERY_TEXT_LIMITED,
    &replication::REPLICATION_PHI,
];

/// Relation kinds that carry row-level security.
const RLS_KINDS: &[&str] = &["r", "p"];

// ---------------------------------------------------------------- PRIV-001

pub static SUPERUSERS_APPROVED: Check = Check {
    id: "PRIV-001",
    section: Section::Access,
    title: "Only approved administrators are superusers",
    severity: Severity::Critical,
    hipaa: &["164.308(a)(4)(ii)(B)", "164.312(a)(1)"],
    cis: Some("4.3"),
    rationale: "A superuser bypasses every grant and row-level policy and can read any PHI \
        table, change audit settings and run programs on the host. An application or \
        person holding it unnecessarily is the widest possible exposure, so critical. \
        Without a policy file only the bootstrap superuser counts as approved. On a managed \
        service (RDS, Aurora, Azure, Cloud SQL) the superusers belong to the provider and are \
        left out; the customer's highest privilege is membership in the provider's \
        administrator group (rds_superuser, azure_pg_admin, cloudsqlsuperuser), so its login \
        members are judged like superusers: approved are the master user created with the \
        instance (its lowest-oid login member) and the policy's approved superusers and \
        administrators.",
    reproduce_sql: "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolsuper ORDER BY 1;",
    evaluate: superusers_approved,
    fix: Fix::Build(revoke_superuser),
};

fn superusers_approved(s: &Snapshot, policy: &Policy) -> Verdict {
    let roles = match need_roles(s) {
        Ok(r) => r,
        Err(v) => return v,
    };
    let approved = Approved::new(s, roles, policy);
    let supers: Vec<&str> = roles
        .iter()
        .filter(|r| r.superuser)
        .map(|r| r.name.as_str())
        .collect();
    let mut unapproved: Vec<String> = supers
        .iter()
        .filter(|r| !approved.superuser(r))
        .map(|r| (*r).to_string())
        .collect();
    let mut seen = format!(
        "{} superuser role(s): {}; {}",
        supers.len(),
        supers.join(", "),
        approved.describe_superusers()
    );
    if let Some(provider) = approved.provider {
        match provider_admins(s, roles, provider) {
            Some(members) => {
                let group = provider.admin_group();
                seen.push_str(&format!(
                    "; {group} (the provider's administrator group, not a superuser) has {}                      login member(s): {}",
                    members.len(),
                    none_if_empty(&sample(&members))
                ));
                unapproved.extend(members.into_iter().filter(|m| !approved.admin(m)));
            }
            None if unapproved.is_empty() => {
                return part_missing(s, "memberships", catalog_grant(s, "pg_auth_members"))
            }
            None => {}
        }
    }
    let unapproved = sorted(unapproved);
    if unapproved.is_empty() {
        Verdict::pass(seen)
    } else {
        Verdict::fail(format!("{seen}; not approved: {}", unapproved.join(", ")))
            .with_objects(unapproved)
    }
}

/// Login roles that can act as the provider's administrator group (any
/// membership path, SET ROLE included), leaving out the provider's own
/// roles; `None` when memberships were not collected. On a managed service
/// this group is the most a customer's role can hold, so PRIV-001 judges
/// its members as it judges superusers.
fn provider_admins(s: &Snapshot, roles: &[Role], provider: Provider) -> Option<Vec<String>> {
    let graph = RoleGraph::new(roles, s.memberships.as_deref()?);
    let members = match graph.members(provider.admin_group(), Reach::SetRole) {
        Some(set) => graph.names_of(set),
        None => Vec::new(),
    };
    Some(sorted(
        members
            .into_iter()
            .filter(|name| *name != provider.admin_group() && !provider.owns_role(name))
            .filter(|name| {
                graph
                    .index_of(name)
                    .and_then(|i| graph.role(i))
                    .is_some_and(|r| r.can_login)
            })
            .map(str::to_string),
    ))
}

/// NOSUPERUSER for listed superusers; on a managed service, also the
/// listed roles' direct memberships in the provider's administrator group.
fn revoke_superuser(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let advice = "grant the role only the table privileges its work needs before removing \
        SUPERUSER or its administrator-group membership";
    let mut plan = attribute_plan(s, verdict, &[SUPERUSER], advice);
    let group = managed::detect(s).map(|p| p.admin_group());
    let listed = Listed::new(verdict);
    let cut: Vec<&Membership> = s
        .memberships
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .filter(|m| Some(m.role.as_str()) == group && listed.contains(m.member.as_str()))
        .collect();
    if !cut.is_empty() {
        let revoke = membership_plan(&cut, advice);
        plan.statements.extend(revoke.statements);
        plan.rollback.extend(revoke.rollback);
        plan.note = format!(
            "{}; a listed role that reaches the group through another group leaves that group \
             instead",
            revoke.note
        );
        plan.needs = revoke.needs;
    }
    plan
}

// ---------------------------------------------------------------- PRIV-002

pub static CREATE_ATTRIBUTES_LIMITED: Check = Check {
    id: "PRIV-002",
    section: Section::Access,
    title: "Only administrators can create databases or roles",
    severity: Severity::High,
    hipaa: &["164.308(a)(4)(ii)(B)"],
    cis: Some("4.3"),
    rationale: "CREATEROLE lets a role create logins and, before PostgreSQL 16, grant itself \
        membership in any non-superuser role, including pg_read_all_data and \
        pg_execute_server_program; CREATEDB lets it create databases outside the reviewed \
        ones. Both are administration, not application work, and open a short path to PHI, \
        so high. Administrators are the approved superusers (the bootstrap superuser \
        without a policy) and the policy's approved_admins. On a managed service the \
        provider's own roles are left out and the master user created with the instance \
        stands in for the bootstrap superuser.",
    reproduce_sql: "SELECT rolname, rolcreatedb, rolcreaterole FROM pg_roles \
        WHERE rolcreatedb OR rolcreaterole ORDER BY 1;",
    evaluate: create_attributes_limited,
    fix: Fix::Build(revoke_create_attributes),
};

fn create_attributes_limited(s: &Snapshot, policy: &Policy) -> Verdict {
    non_admins_holding(s, policy, "CREATEDB or CREATEROLE", |r| {
        r.create_db || r.create_role
    })
}

fn revoke_create_attributes(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    attribute_plan(
        s,
        verdict,
        &[CREATEDB, CREATEROLE],
        "let an approved administrator create databases and roles on request",
    )
}

// ---------------------------------------------------------------- PRIV-003

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

// ---------------------------------------------------------------- PRIV-004

pub static REPLICATION_DEDICATED: Check = Check {
    id: "PRIV-004",
    section: Section::Access,
    title: "Replication uses one dedicated role over TLS from specific addresses",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(1)"],
    cis: Some("7.1"),
    rationale: "A replication connection streams every page of the cluster, PHI included, so \
        the attribute belongs to one dedicated, non-superuser login whose credential is used \
        only by standbys and backup tools, reachable only over hostssl from named addresses. \
        Medium: it matters once a credential or network path is compromised. Decisions: \
        superusers can always replicate and are PRIV-001's concern, so they are not counted; \
        NOLOGIN roles with REPLICATION are inert (attributes are never inherited) and are \
        ignored; roles in the policy's approved_admins do not count against the limit of one; \
        pg_hba lines for the `replication` database must be hostssl (or hostgssenc) with an \
        address narrower than everywhere.",
    reproduce_sql: "SELECT rolname, rolsuper, rolcanlogin FROM pg_roles WHERE rolreplication \
        ORDER BY 1;\nSELECT line_number, type, database, user_name, address, netmask, auth_method \
        FROM pg_hba_file_rules WHERE 'replication' = ANY(database) ORDER BY line_number;",
    evaluate: replication_dedicated,
    fix: Fix::Build(revoke_replication),
};

fn replication_dedicated(s: &Snapshot, policy: &Policy) -> Verdict {
    let roles = match need_roles(s) {
        Ok(r) => r,
        Err(v) => return v,
    };
    let approved = Approved::new(s, roles, policy);
    let dedicated: Vec<String> = sorted(
        roles
            .iter()
            .filter(|r| r.replication && r.can_login && !r.superuser)
            .map(|r| r.name.clone()),
    );
    let unapproved: Vec<String> = dedicated
        .iter()
        .filter(|r| !approved.admin(r))
        .cloned()
        .collect();
    let mut seen = format!(
        "{} non-superuser login role(s) with REPLICATION: {}",
        dedicated.len(),
        none_if_empty(&sample(&dedicated))
    );
    let mut objects: Vec<String> = Vec::new();
    if unapproved.len() > 1 {
        seen.push_str(&format!(
            "; {} are not approved administrators, at most one dedicated role is expected",
            unapproved.len()
        ));
        objects.extend(unapproved);
    }
    match hba::rules(s) {
        Ok(rules) => {
            let broad = broad_replication_rules(rules);
            if broad.is_empty() {
                seen.push_str("; pg_hba replication lines are encrypted and address-specific");
            } else {
                let shown: Vec<String> = broad.iter().map(|(_, d)| d.clone()).collect();
                seen.push_str(&format!(
                    "; pg_hba replication lines without TLS or open to every address: {}",
                    sample(&shown)
                ));
                objects.extend(broad.into_iter().map(|(key, _)| key));
            }
        }
        Err(absent) if facts::is_not_applicable(&absent) => {
            seen.push_str(&format!("; {}", absent.evidence));
        }
        Err(unknown) if objects.is_empty() => return unknown,
        Err(_) => seen.push_str("; pg_hba rules were not collected"),
    }
    if objects.is_empty() {
        Verdict::pass(seen)
    } else {
        Verdict::fail(seen).with_objects(objects)
    }
}

/// Loaded, non-reject pg_hba lines for physical replication that accept
/// unencrypted TCP or every client address, as `(key, display)`.
fn broad_replication_rules(rules: &[HbaRule]) -> Vec<(String, String)> {
    let mut broad: Vec<(String, String)> = rules
        .iter()
        .filter(|r| hba::admits(r) && hba::is_network(r))
        .filter(|r| r.database.iter().any(|d| d == "replication"))
        .filter(|r| hba::kinds(r) & hba::PLAIN != 0 || hba::is_anywhere(r))
        .map(|r| (hba_key(r), hba::display(r)))
        .collect();
    broad.sort();
    broad
}

fn hba_key(rule: &HbaRule) -> String {
    let file = rule
        .file_name
        .as_deref()
        .and_then(|f| f.rsplit('/').next())
        .unwrap_or("pg_hba.conf");
    format!("{file}:{}", rule.line_number)
}

fn revoke_replication(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let mut plan = attribute_plan(
        s,
        verdict,
        &[REPLICATION],
        "this removes REPLICATION from every listed role: first choose the one dedicated \
         replication role, delete its statement or add it to approved_admins in the policy; \
         pg_hba lines listed in the evidence need `hostssl` and a specific address",
    );
    plan.needs = "superuser".into();
    plan
}

// ---------------------------------------------------------------- PRIV-005

pub static NO_PATH_TO_SUPERUSER: Check = Check {
    id: "PRIV-005",
    section: Section::Access,
    title: "No login role can become a superuser through memberships",
    severity: Severity::Critical,
    hipaa: &["164.308(a)(4)(ii)(B)"],
    cis: None,
    rationale: "Superuser is never inherited, but any member of a superuser role can run \
        SET ROLE and become it, whatever its INHERIT setting, directly or through nested \
        groups. Such a login is a superuser in all but name and escapes PRIV-001, so \
        critical. Decisions: approved superusers (the bootstrap superuser and the policy's \
        approved_superusers) and roles that are superusers themselves (PRIV-001) are not \
        reported; on PostgreSQL 16+ a grant WITH SET FALSE would block the path, which the \
        snapshot does not record, so such paths are still reported.",
    reproduce_sql: "WITH RECURSIVE up(login, role, path) AS (\n  SELECT oid, oid, \
        ARRAY[rolname::text] FROM pg_roles WHERE rolcanlogin AND NOT rolsuper\n  UNION ALL\n  \
        SELECT up.login, m.roleid, up.path || m.roleid::regrole::text\n  FROM up JOIN \
        pg_auth_members m ON m.member = up.role)\nSELECT array_to_string(path, ' -> ') FROM up \
        JOIN pg_roles s ON s.oid = up.role WHERE s.rolsuper;",
    evaluate: no_path_to_superuser,
    fix: Fix::Build(cut_superuser_paths),
};

fn no_path_to_superuser(s: &Snapshot, policy: &Policy) -> Verdict {
    let graph = match need_graph(s) {
        Ok(g) => g,
        Err(v) => return v,
    };
    let roles = s.roles.as_deref().unwrap_or(&[]);
    let approved = Approved::new(s, roles, policy);
    let mut paths: BTreeMap<String, String> = BTreeMap::new();
    for role in roles.iter().filter(|r| r.can_login && !r.superuser) {
        if approved.superuser(&role.name) {
            continue;
        }
        if let Some(path) = graph.superuser_path(&role.name) {
            paths.insert(role.name.clone(), path.join(" → "));
        }
    }
    let logins = roles.iter().filter(|r| r.can_login && !r.superuser).count();
    if paths.is_empty() {
        return Verdict::pass(format!(
            "none of {logins} non-superuser login role(s) is a member, directly or through \
             groups, of a superuser role"
        ));
    }
    let shown: Vec<String> = paths.values().cloned().collect();
    Verdict::fail(format!(
        "{} login role(s) can SET ROLE to a superuser: {}",
        paths.len(),
        sample(&shown)
    ))
    .with_objects(paths.into_keys())
}

/// Revoke every direct membership of a listed login that leads to a
/// superuser role: every path starts with one of them.
fn cut_superuser_paths(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let (roles, memberships) = match (s.roles.as_deref(), s.memberships.as_deref()) {
        (Some(r), Some(m)) => (r, m),
        _ => return missing_facts_plan("roles and memberships"),
    };
    let graph = RoleGraph::new(roles, memberships);
    let listed = Listed::new(verdict);
    let cut: Vec<&Membership> = memberships
        .iter()
        .filter(|m| listed.contains(m.member.as_str()) && graph.reaches_superuser(&m.role))
        .collect();
    membership_plan(
        &cut,
        "grant the login the table privileges its work needs instead of the administrator \
         group",
    )
}

// ---------------------------------------------------------------- PRIV-006

/// Predefined roles that reach the server's files, programs or every table.
const SERVER_ACCESS_ROLES: &[&str] = &[
    "pg_execute_server_program",
    "pg_read_all_data",
    "pg_read_server_files",
    "pg_write_all_data",
    "pg_write_server_files",
];

pub static SERVER_ACCESS_ROLES_LIMITED: Check = Check {
    id: "PRIV-006",
    section: Section::Access,
    title: "Only administrators hold server-file, program or all-data roles",
    severity: Severity::High,
    hipaa: &["164.308(a)(4)(ii)(B)"],
    cis: Some("4.9"),
    rationale: "pg_read_server_files, pg_write_server_files and pg_execute_server_program \
        give COPY access to the host's files and shell; pg_read_all_data and \
        pg_write_all_data read or change every table, ignoring grants (not RLS). For an \
        application these undo least privilege on PHI, so high. Every membership path \
        counts, because SET ROLE works without INHERIT. Roles that are superusers, approved \
        superusers or approved_admins are not reported.",
    reproduce_sql: "SELECT g.rolname AS predefined, m.rolname AS member FROM pg_auth_members a \
        JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member WHERE g.rolname \
        IN ('pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program', \
        'pg_read_all_data', 'pg_write_all_data') ORDER BY 1, 2;",
    evaluate: server_access_roles_limited,
    fix: Fix::Build(revoke_server_access_roles),
};

fn server_access_roles_limited(s: &Snapshot, policy: &Policy) -> Verdict {
    let graph = match need_graph(s) {
        Ok(g) => g,
        Err(v) => return v,
    };
    let roles = s.roles.as_deref().unwrap_or(&[]);
    let approved = Approved::new(s, roles, policy);
    let mut found: Vec<String> = Vec::new();
    for predefined in SERVER_ACCESS_ROLES {
        let Some(members) = graph.members(predefined, Reach::SetRole) else {
            continue;
        };
        for member in graph.names_of(members) {
            let is_superuser = graph
                .index_of(member)
                .and_then(|i| graph.role(i))
                .is_some_and(|r| r.superuser);
            if member != *predefined && !is_superuser && !approved.admin(member) {
                found.push(server_access_key(predefined, member));
            }
        }
    }
    if found.is_empty() {
        Verdict::pass(format!(
            "no role outside the approved administrators can reach {}; {}",
            SERVER_ACCESS_ROLES.join(", "),
            approved.describe_admins()
        ))
    } else {
        let found = sorted(found);
        Verdict::fail(format!(
            "{} membership(s) outside the approved administrators: {}",
            found.len(),
            sample(&found)
        ))
        .with_objects(found)
    }
}

fn server_access_key(predefined: &str, member: &str) -> String {
    format!("{predefined}: {member}")
}

fn revoke_server_access_roles(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let Some(memberships) = s.memberships.as_deref() else {
        return missing_facts_plan("memberships");
    };
    let listed = Listed::new(verdict);
    let direct: Vec<&Membership> = memberships
        .iter()
        .filter(|m| SERVER_ACCESS_ROLES.contains(&m.role.as_str()))
        .filter(|m| listed.contains(server_access_key(&m.role, &m.member).as_str()))
        .collect();
    membership_plan(
        &direct,
        "revokes direct memberships only; a listed role that reaches the predefined role \
         through a group loses it when the group does, or must leave that group",
    )
}

// ---------------------------------------------------------------- PRIV-007

/// Words that name a function or a team rather than a person.
const GENERIC_WORDS: &[&str] = &[
    "admin",
    "administrator",
    "anon",
    "anonymous",
    "api",
    "app",
    "application",
    "backup",
    "common",
    "db",
    "dba",
    "default",
    "demo",
    "dev",
    "developer",
    "generic",
    "guest",
    "login",
    "ops",
    "public",
    "readonly",
    "readwrite",
    "report",
    "reporting",
    "reports",
    "ro",
    "root",
    "rw",
    "sa",
    "service",
    "shared",
    "staff",
    "support",
    "svc",
    "team",
    "temp",
    "test",
    "tester",
    "testing",
    "tmp",
    "user",
    "users",
    "web",
];

/// Distinct client addresses from which one role counts as shared.
const SHARED_ADDRESSES: usize = 3;

pub static NO_SHARED_ACCOUNTS: Check = Check {
    id: "PRIV-007",
    section: Section::Access,
    title: "Each person logs in with their own role",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(2)(i)"],
    cis: None,
    rationale: "HIPAA requires a unique user identification: audit records are only evidence \
        when each login belongs to one person. A login named only with generic words (app, \
        admin, test, readonly, shared_user …) is a shared account unless the policy lists it \
        in service_accounts, so it fails; the bootstrap superuser is exempt (PRIV-001). A \
        non-service login seen in current sessions from 3 or more distinct client addresses \
        is probably shared: that is a warning, since one person may use several machines. \
        Medium: it weakens accountability rather than exposing PHI by itself.",
    reproduce_sql: "SELECT rolname FROM pg_roles WHERE rolcanlogin ORDER BY 1;\nSELECT usename, \
        count(DISTINCT client_addr) AS addresses FROM pg_stat_activity WHERE client_addr IS \
        NOT NULL GROUP BY 1 ORDER BY 2 DESC;",
    evaluate: no_shared_accounts,
    fix: Fix::Build(disable_shared_logins),
};

fn no_shared_accounts(s: &Snapshot, policy: &Policy) -> Verdict {
    let roles = match need_roles(s) {
        Ok(r) => r,
        Err(v) => return v,
    };
    let approved = Approved::new(s, roles, policy);
    let is_service = |name: &str| policy.service_accounts.iter().any(|a| a == name);
    let generic: Vec<String> = sorted(
        roles
            .iter()
            .filter(|r| r.can_login && r.name != approved.bootstrap && !is_service(&r.name))
            .filter(|r| is_generic_name(&r.name))
            .map(|r| r.name.clone()),
    );
    let shared = s.sessions.as_deref().map(|sessions| {
        let mut addresses: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for session in sessions.iter().filter(|x| !x.is_self) {
            if let (Some(user), Some(addr)) = (&session.usename, &session.client_addr) {
                addresses.entry(user).or_default().insert(addr);
            }
        }
        addresses
            .into_iter()
            .filter(|(user, addrs)| addrs.len() >= SHARED_ADDRESSES && !is_service(user))
            .map(|(user, addrs)| (user.to_string(), addrs.len()))
            .collect::<Vec<_>>()
    });
    let shared_text = |list: &[(String, usize)]| -> String {
        let shown: Vec<String> = list
            .iter()
            .map(|(u, n)| format!("{u} from {n} addresses"))
            .collect();
        sample(&shown)
    };
    let logins = roles.iter().filter(|r| r.can_login).count();
    if !generic.is_empty() {
        let mut text = format!(
            "{} of {logins} login role(s) have generic names and are not listed as service \
             accounts: {}",
            generic.len(),
            sample(&generic)
        );
        if let Some(list) = shared.as_deref().filter(|l| !l.is_empty()) {
            text.push_str(&format!(
                "; seen from many addresses: {}",
                shared_text(list)
            ));
        }
        return Verdict::fail(text).with_objects(generic);
    }
    match shared {
        None => part_missing(
            s,
            "sessions",
            format!(
                "GRANT pg_read_all_stats TO {}",
                escape_identifier(&scanner_role(s))
            ),
        ),
        Some(list) if !list.is_empty() => Verdict::warn(format!(
            "no generic login names; current sessions show non-service role(s) used from \
             {SHARED_ADDRESSES} or more client addresses: {}",
            shared_text(&list)
        ))
        .with_objects(list.into_iter().map(|(u, _)| u)),
        Some(_) => Verdict::pass(format!(
            "{logins} login role(s), none with a generic name outside the service accounts; \
             no role seen from {SHARED_ADDRESSES} or more client addresses in current sessions"
        )),
    }
}

/// A name made only of generic words (and numbers), e.g. `app_user2`.
fn is_generic_name(name: &str) -> bool {
    let mut any_generic = false;
    for word in phi::words(name) {
        if word.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if !GENERIC_WORDS.iter().any(|g| word.eq_ignore_ascii_case(g)) {
            return false;
        }
        any_generic = true;
    }
    any_generic
}

fn disable_shared_logins(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    attribute_plan(
        s,
        verdict,
        &[LOGIN],
        "first create one LOGIN role per person and GRANT the shared role to each, so the \
         shared role becomes a NOLOGIN group; software accounts belong in the policy's \
         service_accounts instead",
    )
}

// ---------------------------------------------------------------- PRIV-008

pub static INACTIVE_LOGINS_REVIEWED: Check = Check {
    id: "PRIV-008",
    section: Section::Access,
    title: "Logins unused for the inactivity period are disabled",
    severity: Severity::Medium,
    hipaa: &["164.308(a)(3)(ii)(C)"],
    cis: Some("4.4"),
    rationale: "Accounts of people who left or changed duties must stop working. PostgreSQL \
        keeps no last-login time in its catalogs: it is only in the connection logs \
        (log_connections), which the scanner does not read. So this check is always manual: \
        a person compares the login roles listed here with the logs over the policy's \
        inactivity_days (90 when the policy does not say) and attests. Medium: stale \
        accounts are an entry point, not an exposure by themselves.",
    reproduce_sql: "SELECT rolname, rolvaliduntil FROM pg_roles WHERE rolcanlogin ORDER BY 1;",
    evaluate: inactive_logins_reviewed,
    fix: Fix::Instructions {
        apply: &[ApplyClass::Manual, ApplyClass::Immediate],
        note: "search the connection logs (log_connections = on) for each login role; for \
            every role without a connection in the inactivity period run \
            ALTER ROLE <role> NOLOGIN (undo: ALTER ROLE <role> LOGIN), then attest the review",
    },
};

/// Days of inactivity used when the policy does not state them.
const DEFAULT_INACTIVITY_DAYS: u32 = 90;

fn inactive_logins_reviewed(s: &Snapshot, policy: &Policy) -> Verdict {
    let days = policy.inactivity_days.unwrap_or(DEFAULT_INACTIVITY_DAYS);
    let provider = managed::detect(s);
    let logins = s.roles.as_deref().map(|roles| {
        sorted(
            roles
                .iter()
                .filter(|r| r.can_login && !managed::owned_by_provider(provider, &r.name))
                .map(|r| r.name.clone()),
        )
    });
    match logins {
        Some(list) => Verdict::manual(format!(
            "last login times are only in the connection logs, which the scanner does not \
             read: review {} login role(s) for {days} days of inactivity: {}",
            list.len(),
            none_if_empty(&sample(&list))
        ))
        .with_objects(list),
        None => Verdict::manual(format!(
            "last login times are only in the connection logs, which the scanner does not \
             read; roles were not collected either: review every login role for {days} days \
             of inactivity"
        )),
    }
}

// ---------------------------------------------------------------- PRIV-009

pub static NO_PUBLIC_TABLE_GRANTS: Check = Check {
    id: "PRIV-009",
    section: Section::Access,
    title: "No table or view grants privileges to PUBLIC",
    severity: Severity::High,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "A grant to PUBLIC reaches every role that exists now or later, including \
        logins created for unrelated work, so nobody decided who may use the table. Any \
        privilege counts (table or column level, tables, views, materialized views and \
        foreign tables), because write and TRUNCATE grants damage PHI integrity as much as \
        SELECT exposes it. High: direct, standing access to PHI by anyone who can log in.",
    reproduce_sql:
        "SELECT c.oid::regclass, a.privilege_type FROM pg_class c, \
        aclexplode(c.relacl) a WHERE a.grantee = 0 AND c.relkind IN ('r','p','v','m','f') \
        AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, \
        'information_schema'::regnamespace) ORDER BY 1;\nSELECT attrelid::regclass, attname, \
        a.privilege_type FROM pg_attribute, aclexplode(attacl) a WHERE a.grantee = 0 ORDER BY 1, 2;",
    evaluate: no_public_table_grants,
    fix: Fix::Build(revoke_public_table_grants),
};

fn no_public_table_grants(s: &Snapshot, _: &Policy) -> Verdict {
    let scoped = per_database(s, |d| d.relations.as_deref());
    let mut found = Vec::new();
    for part in &scoped.found {
        for rel in part.part.iter().filter(|r| has_public_grant(r)) {
            found.push(part.key(rel_key(&rel.schema, &rel.name)));
        }
    }
    let total: usize = scoped.found.iter().map(|p| p.part.len()).sum();
    scoped.conclude(
        s,
        "relations",
        found,
        |f| {
            format!(
                "{} relation(s) grant privileges to PUBLIC: {}",
                f.len(),
                sample(f)
            )
        },
        format!("none of {total} relation(s) grants a privilege to PUBLIC"),
    )
}

fn has_public_grant(rel: &Relation) -> bool {
    let public = |acl: &[AclItem]| {
        acl.iter()
            .any(|a| a.grantee == PUBLIC && !a.privileges.is_empty())
    };
    public(&rel.acl) || rel.columns.iter().any(|c| public(&c.acl))
}

/// PUBLIC's privileges on a relation: `(column, letters)`, column `None`
/// for the table level.
fn public_grants(rel: &Relation) -> Vec<(Option<&str>, &str)> {
    let table = rel
        .acl
        .iter()
        .filter(|a| a.grantee == PUBLIC && !a.privileges.is_empty())
        .map(|a| (None, a.privileges.as_str()));
    let columns = rel.columns.iter().flat_map(|c| {
        c.acl
            .iter()
            .filter(|a| a.grantee == PUBLIC && !a.privileges.is_empty())
            .map(move |a| (Some(c.name.as_str()), a.privileges.as_str()))
    });
    table.chain(columns).collect()
}

fn revoke_public_table_grants(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let Some(relations) = primary_part(s, |d| d.relations.as_deref()) else {
        return missing_facts_plan("relations");
    };
    let listed = Listed::new(verdict);
    let flagged: Vec<&Relation> = relations.iter().filter(|r| listed.relation(r)).collect();
    let schemas: BTreeSet<&str> = flagged.iter().map(|r| r.schema.as_str()).collect();
    let statements = schemas
        .iter()
        .map(|schema| {
            Statement::other(format!(
                "REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM PUBLIC",
                escape_identifier(schema)
            ))
        })
        .collect();
    let rollback = flagged
        .iter()
        .flat_map(|rel| {
            public_grants(rel).into_iter().map(|(column, letters)| {
                Statement::other(format!(
                    "GRANT {} ON TABLE {} TO PUBLIC",
                    privilege_list(letters, column),
                    rel_key(&rel.schema, &rel.name)
                ))
            })
        })
        .collect();
    FixPlan {
        apply: vec![ApplyClass::Immediate],
        statements,
        rollback,
        needs: "owner of each table (or superuser)".into(),
        note: with_other_databases(
            s,
            "revoking table privileges also revokes the same column privileges; grant the \
             roles that need a table their own privileges before applying, and run it as the \
             tables' owner (a non-owner's REVOKE only removes its own grants)",
        ),
        ..FixPlan::default()
    }
}

// ---------------------------------------------------------------- PRIV-010

pub static NO_PUBLIC_SCHEMA_CREATE: Check = Check {
    id: "PRIV-010",
    section: Section::Access,
    title: "PUBLIC cannot create objects in schemas",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "When every role may create objects in a schema that others search (public, \
        before PostgreSQL 15 by default), any login can plant a function or operator that \
        shadows a built-in and runs with the privileges of whoever calls it, a privileged \
        DBA or a SECURITY DEFINER function included. Every schema is checked, not only \
        public. Medium: it needs a login and a victim, but leads to escalation.",
    reproduce_sql: "SELECT n.nspname, a.privilege_type FROM pg_namespace n, \
        aclexplode(n.nspacl) a WHERE a.grantee = 0 AND a.privilege_type = 'CREATE';",
    evaluate: no_public_schema_create,
    fix: Fix::Build(revoke_public_schema_create),
};

fn no_public_schema_create(s: &Snapshot, _: &Policy) -> Verdict {
    let scoped = per_database(s, |d| d.schemas.as_deref());
    let mut found = Vec::new();
    for part in &scoped.found {
        for schema in part.part.iter().filter(|x| public_can_create(&x.acl)) {
            found.push(part.key(escape_identifier(&schema.name)));
        }
    }
    let default_note = match major_version(s) {
        Some(v) if v < 15 => {
            "; before PostgreSQL 15 the public schema grants CREATE to PUBLIC by default"
        }
        _ => "",
    };
    scoped.conclude(
        s,
        "schemas",
        found,
        |f| {
            format!(
                "{} schema(s) let PUBLIC create objects: {}{default_note}",
                f.len(),
                sample(f)
            )
        },
        format!("no schema grants CREATE to PUBLIC{default_note}"),
    )
}

fn public_can_create(acl: &[AclItem]) -> bool {
    acl.iter()
        .any(|a| a.grantee == PUBLIC && a.privileges.contains('C'))
}

fn revoke_public_schema_create(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let Some(schemas) = primary_part(s, |d| d.schemas.as_deref()) else {
        return missing_facts_plan("schemas");
    };
    let listed = Listed::new(verdict);
    let names: Vec<String> = schemas
        .iter()
        .map(|x| escape_identifier(&x.name))
        .filter(|n| listed.contains(n.as_str()))
        .collect();
    FixPlan {
        apply: vec![ApplyClass::Immediate],
        statements: names
            .iter()
            .map(|n| Statement::other(format!("REVOKE CREATE ON SCHEMA {n} FROM PUBLIC")))
            .collect(),
        rollback: names
            .iter()
            .map(|n| Statement::other(format!("GRANT CREATE ON SCHEMA {n} TO PUBLIC")))
            .collect(),
        needs: "owner of each schema (or superuser)".into(),
        note: with_other_databases(
            s,
            "roles that deploy objects need their own GRANT CREATE ON SCHEMA; USAGE stays",
        ),
        ..FixPlan::default()
    }
}

// ---------------------------------------------------------------- PRIV-011

pub static DEFAULT_PRIVILEGES_TIGHT: Check = Check {
    id: "PRIV-011",
    section: Section::Access,
    title: "Default privileges grant nothing to PUBLIC and no grant options to non-admins",
    severity: Severity::Medium,
    hipaa: &["164.308(a)(4)(ii)(B)"],
    cis: None,
    rationale: "Default privileges apply to every table created later, so a grant to PUBLIC \
        there exposes tables nobody has reviewed yet; a grant option lets its holder hand \
        the privilege on without the administrators. Decisions: default privileges to PUBLIC \
        are reported for tables, sequences and schemas; EXECUTE on functions and USAGE on \
        types are PostgreSQL's own defaults (stored only because the entry was altered) and \
        are left to PRIV-012. Grant options on tables and columns are reported when held by \
        a role that is not the owner, a superuser or an approved administrator. Medium: \
        they widen access over time rather than at once.",
    reproduce_sql: "SELECT d.defaclrole::regrole, d.defaclnamespace::regnamespace, \
        d.defaclobjtype, a.grantee::regrole, a.privilege_type, a.is_grantable FROM \
        pg_default_acl d, aclexplode(d.defaclacl) a ORDER BY 1, 2, 3;\nSELECT c.oid::regclass, \
        a.grantee::regrole, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a WHERE \
        a.is_grantable AND a.grantee <> c.relowner ORDER BY 1, 2;",
    evaluate: default_privileges_tight,
    fix: Fix::Build(tighten_default_privileges),
};

/// One default-ACL or relation-ACL item this check may report.
struct GrantIssue<'a> {
    key: String,
    kind: IssueKind<'a>,
}

enum IssueKind<'a> {
    /// Default privileges granting to PUBLIC.
    DefaultToPublic(&'a DefaultAcl, &'a AclItem),
    /// Default privileges granting WITH GRANT OPTION.
    DefaultGrantable(&'a DefaultAcl, &'a AclItem),
    /// A table or column privilege held WITH GRANT OPTION.
    Grantable(&'a Relation, Option<&'a str>, &'a AclItem),
}

impl IssueKind<'_> {
    /// The role holding the item (for the admin exemption).
    fn holder(&self) -> &str {
        match self {
            IssueKind::DefaultToPublic(_, a)
            | IssueKind::DefaultGrantable(_, a)
            | IssueKind::Grantable(_, _, a) => &a.grantee,
        }
    }
}

/// Every item of one database that could be an issue, before the policy
/// exempts administrators: grants to PUBLIC and grant options not held by
/// the object's owner.
fn grant_issues<'a>(defaults: &'a [DefaultAcl], relations: &'a [Relation]) -> Vec<GrantIssue<'a>> {
    let mut issues = Vec::new();
    for d in defaults {
        for item in &d.acl {
            if item.grantee == PUBLIC && ["r", "S", "n"].contains(&d.object_type.as_str()) {
                issues.push(GrantIssue {
                    key: format!("{}: PUBLIC", default_acl_label(d)),
                    kind: IssueKind::DefaultToPublic(d, item),
                });
            } else if !item.grantable.is_empty() && item.grantee != d.role {
                issues.push(GrantIssue {
                    key: format!(
                        "{}: {} WITH GRANT OPTION",
                        default_acl_label(d),
                        escape_identifier(&item.grantee)
                    ),
                    kind: IssueKind::DefaultGrantable(d, item),
                });
            }
        }
    }
    for rel in relations {
        let table = rel.acl.iter().map(|a| (None, a));
        let columns = rel
            .columns
            .iter()
            .flat_map(|c| c.acl.iter().map(move |a| (Some(c.name.as_str()), a)));
        for (column, item) in table.chain(columns) {
            if item.grantable.is_empty() || item.grantee == rel.owner || item.grantee == PUBLIC {
                continue;
            }
            let mut object = rel_key(&rel.schema, &rel.name);
            if let Some(c) = column {
                object = format!("{object}.{}", escape_identifier(c));
            }
            issues.push(GrantIssue {
                key: format!(
                    "{object}: {} WITH GRANT OPTION",
                    escape_identifier(&item.grantee)
                ),
                kind: IssueKind::Grantable(rel, column, item),
            });
        }
    }
    issues
}

fn default_acl_label(d: &DefaultAcl) -> String {
    let scope = match &d.schema {
        Some(schema) => format!(" in schema {}", escape_identifier(schema)),
        None => String::new(),
    };
    format!(
        "default privileges of {}{scope} on {}",
        escape_identifier(&d.role),
        default_object_keyword(&d.object_type).to_ascii_lowercase()
    )
}

fn default_object_keyword(object_type: &str) -> &'static str {
    match object_type {
        "r" => "TABLES",
        "S" => "SEQUENCES",
        "f" => "FUNCTIONS",
        "T" => "TYPES",
        "n" => "SCHEMAS",
        _ => "TABLES",
    }
}

fn default_privileges_tight(s: &Snapshot, policy: &Policy) -> Verdict {
    let roles = match need_roles(s) {
        Ok(r) => r,
        Err(v) => return v,
    };
    let approved = Approved::new(s, roles, policy);
    let superusers: BTreeSet<&str> = roles
        .iter()
        .filter(|r| r.superuser)
        .map(|r| r.name.as_str())
        .collect();
    let exempt = |holder: &str| superusers.contains(holder) || approved.admin(holder);
    let scoped = per_database(s, |d| {
        Some((d.default_acls.as_deref()?, d.relations.as_deref()?))
    });
    let mut found = Vec::new();
    for part in &scoped.found {
        let (defaults, relations) = part.part;
        for issue in grant_issues(defaults, relations) {
            let reported = match issue.kind {
                IssueKind::DefaultToPublic(..) => true,
                _ => !exempt(issue.kind.holder()),
            };
            if reported {
                found.push(part.key(issue.key));
            }
        }
    }
    scoped.conclude(
        s,
        "default_acls",
        found,
        |f| {
            format!(
                "{} default privilege(s) or grant option(s) to review: {}",
                f.len(),
                sample(f)
            )
        },
        format!(
            "no default privileges grant to PUBLIC; grant options are held only by owners, \
             superusers and approved administrators ({})",
            approved.describe_admins()
        ),
    )
}

fn tighten_default_privileges(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let Some((defaults, relations)) = primary_part(s, |d| {
        Some((d.default_acls.as_deref()?, d.relations.as_deref()?))
    }) else {
        return missing_facts_plan("default privileges and relations");
    };
    let listed = Listed::new(verdict);
    let mut statements = Vec::new();
    let mut rollback = Vec::new();
    for issue in grant_issues(defaults, relations) {
        if !listed.contains(issue.key.as_str()) {
            continue;
        }
        let (undo, redo) = issue_statements(&issue.kind);
        statements.push(Statement::other(undo));
        rollback.push(Statement::other(redo));
    }
    FixPlan {
        apply: vec![ApplyClass::Immediate],
        statements,
        rollback,
        needs: "the role whose default privileges change, the table owner, or superuser".into(),
        note: with_other_databases(
            s,
            "REVOKE GRANT OPTION fails while the holder's own grants depend on it: review \
             those first; the rollback re-grants as the role applying it, so the recorded \
             grantor may differ",
        ),
        ..FixPlan::default()
    }
}

/// The statement that removes an issue and the one that restores it.
fn issue_statements(kind: &IssueKind<'_>) -> (String, String) {
    match kind {
        IssueKind::DefaultToPublic(d, item) => {
            let (prefix, on) = default_acl_sql(d);
            let privileges = privilege_list(&item.privileges, None);
            (
                format!("{prefix} REVOKE {privileges} ON {on} FROM PUBLIC"),
                format!("{prefix} GRANT {privileges} ON {on} TO PUBLIC"),
            )
        }
        IssueKind::DefaultGrantable(d, item) => {
            let (prefix, on) = default_acl_sql(d);
            let privileges = privilege_list(&item.grantable, None);
            let grantee = escape_identifier(&item.grantee);
            (
                format!("{prefix} REVOKE GRANT OPTION FOR {privileges} ON {on} FROM {grantee}"),
                format!("{prefix} GRANT {privileges} ON {on} TO {grantee} WITH GRANT OPTION"),
            )
        }
        IssueKind::Grantable(rel, column, item) => {
            let privileges = privilege_list(&item.grantable, *column);
            let table = rel_key(&rel.schema, &rel.name);
            let grantee = escape_identifier(&item.grantee);
            (
                format!("REVOKE GRANT OPTION FOR {privileges} ON TABLE {table} FROM {grantee}"),
                format!("GRANT {privileges} ON TABLE {table} TO {grantee} WITH GRANT OPTION"),
            )
        }
    }
}

/// `ALTER DEFAULT PRIVILEGES FOR ROLE r [IN SCHEMA s]` and the object keyword.
fn default_acl_sql(d: &DefaultAcl) -> (String, &'static str) {
    let mut prefix = format!(
        "ALTER DEFAULT PRIVILEGES FOR ROLE {}",
        escape_identifier(&d.role)
    );
    if let Some(schema) = &d.schema {
        prefix.push_str(&format!(" IN SCHEMA {}", escape_identifier(schema)));
    }
    (prefix, default_object_keyword(&d.object_type))
}

// ---------------------------------------------------------------- PRIV-012

pub static SECURITY_DEFINER_SAFE: Check = Check {
    id: "PRIV-012",
    section: Section::Access,
    title:
        "SECURITY DEFINER functions pin search_path and lend no owner's power to ordinary logins",
    severity: Severity::High,
    hipaa: &["164.312(a)(1)"],
    cis: Some("4.5"),
    rationale: "A SECURITY DEFINER function runs with its owner's privileges. Unless its own \
        search_path ends with an explicit pg_temp, names resolve through schemas its caller \
        controls: without one, the caller's path; with one that omits pg_temp, the caller's \
        temporary schema first, so a temporary view shadowing a table runs the caller's \
        code as the owner. Executable by PUBLIC, every login can call it. And whoever may \
        call it acts as its owner: when the owner is a superuser (anything the body does, \
        RLS bypassed), has BYPASSRLS, or owns the PHI tables it reads (owners bypass RLS, \
        and policies on current_user see the owner) while a login that is neither a \
        superuser nor an approved administrator can execute it (its ACL, PUBLIC's default \
        included, through any membership), that login reads PHI past grants and RLS. \
        High: each is an escalation path. Decisions: a superuser owner fails whatever the \
        body reads (superuser code can do more than read); for the others, what the body \
        reads comes from pg_depend for SQL-standard bodies and from the relation names in \
        the text otherwise, and a body in another language, with dynamic SQL or calling \
        other user functions counts as reading every PHI table; logins that can SET ROLE \
        to the owner gain nothing and are left out; schema USAGE is not considered (a \
        revoked USAGE is easily granted back). The policy's \
        approved_security_definer_functions exempt a function from the owner test only; \
        so do the documented scanner functions pgsafeguard.password_kinds() and \
        pgsafeguard.stored_credentials() (assets/sql/scanner-role.sql) while they read no \
        user relation. Functions that \
        belong to an extension are the extension's responsibility and are skipped.",
    reproduce_sql: "SELECT p.oid::regprocedure, pg_get_userbyid(p.proowner), p.proconfig, \
        p.proacl FROM pg_proc p WHERE p.prosecdef AND p.pronamespace NOT IN \
        ('pg_catalog'::regnamespace, 'information_schema'::regnamespace) AND NOT EXISTS \
        (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid \
        AND d.deptype = 'e') ORDER BY 1;\nSELECT d.objid::regprocedure, \
        d.refobjid::regclass FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND \
        d.refclassid = 'pg_class'::regclass ORDER BY 1, 2;",
    evaluate: security_definer_safe,
    fix: Fix::Build(secure_definer_functions),
};

/// The functions `assets/sql/scanner-role.sql` installs: superuser-owned by
/// design (they read pg_authid and the catalogs of stored credentials, and
/// return only classifications) and executable by the scanner login only.
const SCANNER_FUNCTIONS: [(&str, &str); 2] = [
    ("pgsafeguard", "password_kinds()"),
    ("pgsafeguard", "stored_credentials()"),
];

/// The function's own `search_path` (elements unquoted); `None` when unset.
fn definer_search_path(f: &Function) -> Option<Vec<String>> {
    f.config.iter().find_map(|c| {
        let (name, value) = c.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("search_path")
            .then(|| split_list(value))
    })
}

/// `Some(path)` when the search_path does not end with an explicit pg_temp
/// (`Some(None)`: none set), `None` when it does.
fn path_problem(f: &Function) -> Option<Option<Vec<String>>> {
    match definer_search_path(f) {
        Some(path) if path.last().is_some_and(|p| p == "pg_temp") => None,
        other => Some(other),
    }
}

fn public_executes(f: &Function) -> bool {
    f.acl
        .iter()
        .any(|a| a.grantee == PUBLIC && a.privileges.contains('X'))
}

/// Ordinary logins calling a function as an owner who bypasses RLS.
struct Escalation {
    /// Why the owner's rights matter.
    why: String,
    /// The ordinary logins that can call it, sorted.
    logins: Vec<String>,
    /// The ACL grantees (PUBLIC included) through which they can.
    via: Vec<String>,
}

/// What PRIV-012 needs to judge owners and callers, once per scan.
struct DefinerJudge<'a> {
    graph: RoleGraph<'a>,
    roles: FastMap<&'a str, &'a Role>,
    ordinary: RoleSet,
    policy: &'a Policy,
}

impl<'a> DefinerJudge<'a> {
    fn new(s: &'a Snapshot, policy: &'a Policy) -> Result<Self, Verdict> {
        let graph = need_graph(s)?;
        let roles = s.roles.as_deref().unwrap_or(&[]);
        let ordinary = Approved::new(s, roles, policy).ordinary_logins(&graph, roles);
        Ok(DefinerJudge {
            graph,
            roles: roles.iter().map(|r| (r.name.as_str(), r)).collect(),
            ordinary,
            policy,
        })
    }

    fn approved(&self, f: &Function) -> bool {
        let name = format!("{}.{}", f.schema, f.signature);
        self.policy
            .approved_security_definer_functions
            .contains(&name)
    }

    /// `Ok(None)`: no escalation; `Err`: what is missing to tell.
    fn escalation(
        &self,
        f: &Function,
        phi_tables: Option<&FastMap<String, &Relation>>,
    ) -> Result<Option<Escalation>, &'static str> {
        let mut callers = definers::callers_outside_owner(&self.graph, f, Reach::SetRole);
        callers.intersect_with(&self.ordinary);
        if callers.is_empty() || self.approved(f) {
            return Ok(None);
        }
        let owner = *self
            .roles
            .get(f.owner.as_str())
            .ok_or("its owner's attributes were not read")?;
        let why = if owner.superuser {
            let scanner_function =
                SCANNER_FUNCTIONS.contains(&(f.schema.as_str(), f.signature.as_str()));
            if scanner_function && reads_no_relation(f)? {
                return Ok(None);
            }
            format!("owner {} is a superuser", owner.name)
        } else {
            let phi_tables = phi_tables.ok_or("the relations of its database were not read")?;
            let reads = definers::phi_reads(f, phi_tables).ok_or(NO_READS)?;
            // PostgreSQL lets a table's owner, and any role holding the owner's
            // privileges, bypass its RLS (unless FORCEd) and grant anything on it.
            let owner_index = self.graph.index_of(&owner.name);
            let owns = |r: &&Relation| {
                self.graph
                    .members(&r.owner, Reach::Inherited)
                    .zip(owner_index)
                    .is_some_and(|(m, i)| m.contains(i))
            };
            if reads.tables.is_empty() {
                return Ok(None);
            } else if owner.bypass_rls {
                format!(
                    "owner {} has BYPASSRLS; it reads {}",
                    owner.name,
                    reads.describe(f)
                )
            } else if reads.tables.iter().any(owns) {
                format!(
                    "owner {} owns PHI it reads: {}",
                    owner.name,
                    reads.describe(f)
                )
            } else {
                return Ok(None);
            }
        };
        let via = f
            .acl
            .iter()
            .filter(|a| a.privileges.contains('X'))
            .filter(|a| {
                a.grantee == PUBLIC
                    || self
                        .graph
                        .members(&a.grantee, Reach::SetRole)
                        .is_some_and(|m| m.intersects(&callers))
            })
            .map(|a| a.grantee.clone())
            .collect();
        Ok(Some(Escalation {
            why,
            logins: self
                .graph
                .names_of(&callers)
                .into_iter()
                .map(str::to_string)
                .collect(),
            via,
        }))
    }
}

const NO_READS: &str = "what it reads is not in this snapshot (before schema 4)";

/// Whether the body reads no user relation and hides nothing.
fn reads_no_relation(f: &Function) -> Result<bool, &'static str> {
    let reads = f.reads.as_ref().ok_or(NO_READS)?;
    Ok(reads.relations.is_empty() && reads.unseen.is_none())
}

/// `<routine> via "grantee"` (or `via PUBLIC`): an object of PRIV-012 whose
/// fix revokes that grantee's EXECUTE.
fn definer_via_key(routine: &str, grantee: &str) -> String {
    let mut key = format!("{routine} via ");
    if grantee == PUBLIC {
        key.push_str(PUBLIC);
    } else {
        push_identifier(&mut key, grantee);
    }
    key
}

fn security_definer_safe(s: &Snapshot, policy: &Policy) -> Verdict {
    let scoped = per_database(s, |d| d.functions.as_deref());
    let judge = DefinerJudge::new(s, policy);
    let mut found: Vec<(String, Vec<String>)> = Vec::new();
    let mut objects = Vec::new();
    let mut undecided = Vec::new();
    let mut approved = Vec::new();
    let mut total = 0usize;
    for part in &scoped.found {
        let phi_tables = part
            .db
            .relations
            .as_deref()
            .map(|r| definers::phi_by_name(r, policy));
        for f in definers::definers(part.part) {
            total += 1;
            let key = part.key(routine_key(f));
            let mut problems = Vec::new();
            match path_problem(f) {
                Some(None) => problems.push("no search_path of its own".to_string()),
                Some(Some(path)) => problems.push(format!(
                    "search_path {} does not end with pg_temp",
                    path.join(", ")
                )),
                None => {}
            }
            if public_executes(f) {
                problems.push("PUBLIC may execute it".into());
            }
            if !problems.is_empty() {
                objects.push(key.clone());
            }
            match &judge {
                Ok(judge) => match judge.escalation(f, phi_tables.as_ref()) {
                    Ok(Some(e)) => {
                        problems.push(format!(
                            "{}, and ordinary logins can execute it: {}",
                            e.why,
                            sample(&e.logins)
                        ));
                        objects.extend(e.via.iter().map(|g| definer_via_key(&key, g)));
                    }
                    Ok(None) if judge.approved(f) => approved.push(key.clone()),
                    Ok(None) => {}
                    Err(why) => undecided.push(format!("{key} ({why})")),
                },
                Err(_) => undecided.push(key.clone()),
            }
            if !problems.is_empty() {
                found.push((key, problems));
            }
        }
    }
    let approved_note = if approved.is_empty() {
        String::new()
    } else {
        format!("; approved by the policy: {}", sample(&sorted(approved)))
    };
    if found.is_empty() && !undecided.is_empty() {
        if let Err(unknown) = judge {
            return unknown;
        }
        return Verdict::unknown(
            format!(
                "whether ordinary logins reach an owner's rights through {} SECURITY DEFINER \
                 function(s) is not known: {}",
                undecided.len(),
                sample(&sorted(undecided))
            ),
            None,
        );
    }
    let seen = annotated_sample(&mut found, |p| p.join("; "));
    let undecided_note = if undecided.is_empty() {
        String::new()
    } else {
        format!(
            "; owner test not decided for: {}",
            sample(&sorted(undecided))
        )
    };
    scoped.conclude(
        s,
        "functions",
        objects,
        |_| {
            format!(
                "{} of {total} SECURITY DEFINER function(s) are unsafe: \
                 {seen}{approved_note}{undecided_note}",
                found.len()
            )
        },
        format!(
            "{total} SECURITY DEFINER function(s) outside extensions: each pins a search_path \
             ending with pg_temp, none is executable by PUBLIC, and none lends an owner's \
             rights over PHI to ordinary logins{approved_note}"
        ),
    )
}

/// `"a", "b"` for `SET search_path = …`; `''` for an empty path.
fn search_path_sql(path: &[String]) -> String {
    if path.iter().all(String::is_empty) {
        return "''".into();
    }
    path.iter()
        .map(|p| escape_identifier(p))
        .collect::<Vec<_>>()
        .join(", ")
}

fn secure_definer_functions(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let Some(functions) = primary_part(s, |d| d.functions.as_deref()) else {
        return missing_facts_plan("functions");
    };
    let listed = Listed::new(verdict);
    let mut plan = FixPlan {
        apply: vec![ApplyClass::Immediate],
        needs: "owner of each function (or superuser)".into(),
        ..FixPlan::default()
    };
    let mut skipped = Vec::new();
    for f in definers::definers(functions) {
        let key = routine_key(f);
        let own_key = listed.contains(&key);
        let via: Vec<&AclItem> = f
            .acl
            .iter()
            .filter(|a| a.privileges.contains('X'))
            .filter(|a| listed.contains(&definer_via_key(&key, &a.grantee)))
            .collect();
        if !own_key && via.is_empty() {
            continue;
        }
        let Some(routine) = routine_sql(&f.schema, &f.signature) else {
            skipped.push(key);
            continue;
        };
        let mut revoke_public = false;
        if own_key {
            if let Some(old) = path_problem(f) {
                plan.statements.push(Statement::other(format!(
                    "ALTER ROUTINE {routine} SET search_path = pg_catalog, pg_temp"
                )));
                plan.rollback.push(Statement::other(match old {
                    None => format!("ALTER ROUTINE {routine} RESET search_path"),
                    Some(path) => format!(
                        "ALTER ROUTINE {routine} SET search_path = {}",
                        search_path_sql(&path)
                    ),
                }));
            }
            revoke_public = public_executes(f);
        }
        for item in via {
            if item.grantee == PUBLIC {
                revoke_public = true;
                continue;
            }
            let grantee = escape_identifier(&item.grantee);
            let option = if item.grantable.contains('X') {
                " WITH GRANT OPTION"
            } else {
                ""
            };
            plan.statements.push(Statement::other(format!(
                "REVOKE EXECUTE ON ROUTINE {routine} FROM {grantee}"
            )));
            plan.rollback.push(Statement::other(format!(
                "GRANT EXECUTE ON ROUTINE {routine} TO {grantee}{option}"
            )));
        }
        if revoke_public {
            plan.statements.push(Statement::other(format!(
                "REVOKE EXECUTE ON ROUTINE {routine} FROM PUBLIC"
            )));
            plan.rollback.push(Statement::other(format!(
                "GRANT EXECUTE ON ROUTINE {routine} TO PUBLIC"
            )));
        }
    }
    plan.rollback.reverse();
    let mut note = String::from(
        "with search_path = pg_catalog, pg_temp the body must schema-qualify its own tables \
         and functions; EXECUTE is revoked from the grantees through which ordinary logins \
         reach the owner's rights: grant it to the roles that must call it, or approve the \
         function in the policy (approved_security_definer_functions), or make it \
         SECURITY INVOKER (ALTER ROUTINE … SECURITY INVOKER) if it needs no elevated \
         privileges, or give it a less privileged owner",
    );
    if !skipped.is_empty() {
        note.push_str(&format!(
            "; no statement was built for signatures that are not plain argument lists: {}",
            sample(&skipped)
        ));
    }
    plan.note = with_other_databases(s, &note);
    plan
}

/// `"schema"."name"(args)` from a `name(argument types)` signature, or
/// `None` when the argument list holds anything but type names, argument
/// names, modes, commas, brackets and quoted identifiers (a snapshot is data
/// and may be hostile; the name itself is always quoted).
fn routine_sql(schema: &str, signature: &str) -> Option<String> {
    let (name, args) = split_signature(signature)?;
    if !safe_argument_list(args) {
        return None;
    }
    Some(format!(
        "{}.{}({args})",
        escape_identifier(schema),
        escape_identifier(name)
    ))
}

/// Split at the `(` that matches the final `)`, skipping quoted identifiers.
fn split_signature(signature: &str) -> Option<(&str, &str)> {
    let body = signature.strip_suffix(')')?;
    let mut depth = 1usize;
    let mut quoted = false;
    for (i, c) in body.char_indices().rev() {
        match c {
            '"' => quoted = !quoted,
            ')' if !quoted => depth += 1,
            '(' if !quoted => {
                depth -= 1;
                if depth == 0 {
                    return Some((&body[..i], &body[i + 1..]));
                }
            }
            _ => {}
        }
    }
    None
}

fn safe_argument_list(args: &str) -> bool {
    let mut quoted = false;
    let mut depth = 0i32;
    for c in args.chars() {
        if c == '"' {
            quoted = !quoted;
            continue;
        }
        if quoted {
            continue;
        }
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            c if c.is_alphanumeric() || matches!(c, '_' | ' ' | ',' | '.' | '[' | ']') => {}
            _ => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    !quoted && depth == 0
}

// ---------------------------------------------------------------- PRIV-013

/// Extensions that reach the server's files or other servers.
const RISKY_EXTENSIONS: &[&str] = &["adminpack", "dblink", "file_fdw", "postgres_fdw"];

pub static UNTRUSTED_CODE_APPROVED: Check = Check {
    id: "PRIV-013",
    section: Section::Access,
    title: "No unapproved untrusted languages or file and network extensions",
    severity: Severity::High,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "Untrusted languages (plpython3u, plperlu, pltclu …) run functions as the \
        server's operating-system user, outside every database privilege; adminpack writes \
        server files, file_fdw reads them, dblink and postgres_fdw open connections to other \
        servers (a path for PHI to leave, and with dblink a way to reconnect as another \
        role). Each is a way around database access control, so high unless the policy's \
        approved_extensions lists it (a language counts as approved when listed by name). \
        c and internal are built in and not reported. Without approved_extensions none is \
        approved.",
    reproduce_sql: "SELECT lanname FROM pg_language WHERE NOT lanpltrusted AND lanname NOT IN \
        ('c', 'internal');\nSELECT extname, extversion FROM pg_extension WHERE extname IN \
        ('adminpack', 'dblink', 'file_fdw', 'postgres_fdw');",
    evaluate: untrusted_code_approved,
    fix: Fix::Build(drop_untrusted_code),
};

fn untrusted_code_approved(s: &Snapshot, policy: &Policy) -> Verdict {
    let approved: Vec<&str> = policy
        .approved_extensions
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .map(String::as_str)
        .collect();
    let scoped = per_database(s, |d| {
        Some((d.languages.as_deref()?, d.extensions.as_deref()?))
    });
    let mut found = Vec::new();
    for part in &scoped.found {
        for key in untrusted_code(part.part.0, part.part.1) {
            if !approved.contains(&key.name) {
                found.push(part.key(key.label()));
            }
        }
    }
    let stated = match &policy.approved_extensions {
        Some(list) if !list.is_empty() => format!("approved: {}", list.join(", ")),
        Some(_) => "the policy approves no extensions".into(),
        None => "the policy states no approved_extensions, so none is approved".into(),
    };
    scoped.conclude(
        s,
        "languages",
        found,
        |f| {
            format!(
                "{} unapproved untrusted language(s) or extension(s): {}; {stated}",
                f.len(),
                sample(f)
            )
        },
        format!("no unapproved untrusted language or file/network extension; {stated}"),
    )
}

/// An untrusted language or a risky extension installed in one database.
struct CodeItem<'a> {
    name: &'a str,
    language: bool,
}

impl CodeItem<'_> {
    fn label(&self) -> String {
        let kind = if self.language {
            "language"
        } else {
            "extension"
        };
        format!("{kind} {}", escape_identifier(self.name))
    }
}

fn untrusted_code<'a>(
    languages: &'a [crate::model::snapshot::Language],
    extensions: &'a [crate::model::snapshot::Extension],
) -> Vec<CodeItem<'a>> {
    let langs = languages
        .iter()
        .filter(|l| !l.trusted && !matches!(l.name.as_str(), "c" | "internal"))
        .map(|l| CodeItem {
            name: &l.name,
            language: true,
        });
    let exts = extensions
        .iter()
        .filter(|e| RISKY_EXTENSIONS.contains(&e.name.as_str()))
        .map(|e| CodeItem {
            name: &e.name,
            language: false,
        });
    langs.chain(exts).collect()
}

fn drop_untrusted_code(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let Some((languages, extensions)) = primary_part(s, |d| {
        Some((d.languages.as_deref()?, d.extensions.as_deref()?))
    }) else {
        return missing_facts_plan("languages and extensions");
    };
    let listed = Listed::new(verdict);
    let mut dropped: BTreeSet<&str> = BTreeSet::new();
    let mut plan = FixPlan {
        apply: vec![ApplyClass::Immediate],
        needs: "superuser".into(),
        ..FixPlan::default()
    };
    for item in untrusted_code(languages, extensions) {
        if !listed.contains(item.label().as_str()) || !dropped.insert(item.name) {
            continue;
        }
        let name = escape_identifier(item.name);
        match extensions.iter().find(|e| e.name == item.name) {
            Some(ext) => {
                plan.statements
                    .push(Statement::other(format!("DROP EXTENSION {name}")));
                plan.rollback.push(Statement::other(format!(
                    "CREATE EXTENSION {name} SCHEMA {} VERSION {}",
                    escape_identifier(&ext.schema),
                    postgres_protocol::escape::escape_literal(&ext.version)
                )));
            }
            None => {
                plan.statements
                    .push(Statement::other(format!("DROP LANGUAGE {name}")));
                plan.rollback
                    .push(Statement::other(format!("CREATE LANGUAGE {name}")));
            }
        }
    }
    let mut note = String::from(
        "without CASCADE a DROP fails while functions, foreign tables or servers use the \
         extension or language: review and remove those first; or approve the item in the \
         policy's approved_extensions",
    );
    // Same judgement as GEN-002's drop: the rollback recreates the extension
    // but not the objects and data it owned, nor grants on them.
    plan.irreversible = plan
        .statements
        .iter()
        .any(|s| s.to_string().starts_with("DROP EXTENSION"));
    if plan.irreversible {
        note.push_str(
            "; cannot be fully undone: DROP EXTENSION discards the objects it owns, and the \
             rollback recreates the extension but not data those objects held",
        );
    }
    plan.note = with_other_databases(s, &note);
    plan
}

// ---------------------------------------------------------------- PRIV-014

pub static PHI_TABLES_HAVE_RLS: Check = Check {
    id: "PRIV-014",
    section: Section::Access,
    title: "PHI tables enforce row-level security with policies",
    severity: Severity::High,
    hipaa: &["164.312(a)(1)", "164.308(a)(4)(ii)(B)"],
    cis: Some("4.7"),
    rationale: "Grants decide who may read a PHI table at all; row-level security decides \
        which patients' rows each role sees. A PHI table needs RLS enabled, FORCEd (otherwise \
        the owner, often the application's login, sees every row) and at least one policy. \
        High: without it any role with SELECT reads every patient. Decisions: PHI tables are \
        found by column names and the policy's phi_tables (minus not_phi_tables); a partition \
        is checked on its own, because policies on the partitioned parent bind queries \
        through the parent only and a partition queried directly uses its own settings; \
        a view without security_invoker (PG15+) reads its tables as its owner, so a view \
        over an RLS-protected PHI table whose owner bypasses RLS (superuser, BYPASSRLS, or \
        the table's owner while the table is not FORCEd) and that other roles may SELECT \
        defeats the policies and is listed here too; who may read views at all is PRIV-017.",
    reproduce_sql: "SELECT c.oid::regclass, c.relkind, c.relispartition, c.relrowsecurity, \
        c.relforcerowsecurity, (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS \
        policies FROM pg_class c WHERE c.relkind IN ('r', 'p') AND c.relnamespace NOT IN \
        ('pg_catalog'::regnamespace, 'information_schema'::regnamespace) ORDER BY 1;\n\
        SELECT DISTINCT v.oid::regclass AS view, pg_get_userbyid(v.relowner) AS owner, \
        v.reloptions, t.oid::regclass AS reads FROM pg_class v JOIN pg_rewrite rw ON \
        rw.ev_class = v.oid JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid \
        = rw.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'n' AND d.refobjid <> \
        v.oid JOIN pg_class t ON t.oid = d.refobjid WHERE v.relkind = 'v' AND t.relrowsecurity \
        ORDER BY 1, 4;",
    evaluate: phi_tables_have_rls,
    fix: Fix::Build(enable_and_force_rls),
};

/// Which parts of RLS a table lacks.
struct RlsGap {
    not_enabled: bool,
    not_forced: bool,
    no_policy: bool,
}

impl RlsGap {
    fn of(rel: &Relation, policies: usize) -> Option<RlsGap> {
        let gap = RlsGap {
            not_enabled: !rel.rls_enabled,
            not_forced: !rel.rls_forced,
            no_policy: policies == 0,
        };
        (gap.not_enabled || gap.not_forced || gap.no_policy).then_some(gap)
    }

    fn describe(&self, rel: &Relation) -> String {
        let mut parts = Vec::new();
        if self.not_enabled {
            parts.push("RLS off");
        }
        if self.not_forced {
            parts.push("not forced");
        }
        if self.no_policy {
            parts.push("no policy");
        }
        let mut text = parts.join(", ");
        if rel.is_partition {
            text.push_str(", partition queried directly");
        }
        text
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

/// What PRIV-014 lists: a PHI table lacking RLS, or a view bypassing it.
enum RlsFinding<'a> {
    Table(RlsGap, &'a Relation),
    View(views::BypassingView<'a>),
}

impl RlsFinding<'_> {
    fn describe(&self) -> String {
        match self {
            RlsFinding::Table(gap, rel) => gap.describe(rel),
            RlsFinding::View(v) => {
                let tables: Vec<String> = v
                    .tables
                    .iter()
                    .map(|t| rel_key(&t.schema, &t.name))
                    .collect();
                format!(
                    "view reads {} as {}, bypassing RLS",
                    tables.join(", "),
                    escape_identifier(&v.view.owner)
                )
            }
        }
    }
}

fn is_rls_phi_table(rel: &Relation, policy: &Policy) -> bool {
    RLS_KINDS.contains(&rel.kind.as_str()) && phi::is_phi_table(rel, policy)
}

fn phi_tables_have_rls(s: &Snapshot, policy: &Policy) -> Verdict {
    let scoped = per_database(s, |d| {
        Some((d.relations.as_deref()?, d.policies.as_deref()?))
    });
    let mut found = Vec::new();
    let mut shown = Vec::new();
    let (mut phi_count, mut view_count, mut undecided) = (0usize, 0usize, 0usize);
    for part in &scoped.found {
        let (relations, policies) = part.part;
        let counts = policy_counts(policies);
        let phi_tables = relations.iter().filter(|r| is_rls_phi_table(r, policy));
        for rel in phi_tables {
            phi_count += 1;
            let n = counts
                .get(&(rel.schema.as_str(), rel.name.as_str()))
                .copied()
                .unwrap_or(0);
            if let Some(gap) = RlsGap::of(rel, n) {
                let key = part.key(rel_key(&rel.schema, &rel.name));
                shown.push((key.clone(), RlsFinding::Table(gap, rel)));
                found.push(key);
            }
        }
        let judged = views::bypassing_views(relations, s.roles.as_deref(), policy, |r| {
            is_rls_phi_table(r, policy)
        });
        undecided += judged.undecided;
        for v in judged.bypassing {
            view_count += 1;
            let key = part.key(rel_key(&v.view.schema, &v.view.name));
            shown.push((key.clone(), RlsFinding::View(v)));
            found.push(key);
        }
    }
    if found.is_empty() && scoped.missing.is_empty() && phi_count == 0 && !s.databases.is_empty() {
        return Verdict::not_applicable(
            "no PHI table found by column names or the policy's phi_tables",
        );
    }
    if found.is_empty() && undecided > 0 {
        return Verdict::unknown(
            format!(
                "{undecided} view(s) over PHI could not be judged: the snapshot lacks the views' \
                 security_invoker and read tables (saved by an older version: rescan) or the \
                 roles' attributes"
            ),
            None,
        );
    }
    scoped.conclude(
        s,
        "relations",
        found,
        |f| {
            let mut counts = Vec::new();
            let tables = f.len() - view_count;
            if tables > 0 {
                counts.push(format!(
                    "{tables} of {phi_count} PHI table(s) lack enforced row-level security"
                ));
            }
            if view_count > 0 {
                counts.push(format!(
                    "{view_count} view(s) read PHI tables as an owner who bypasses their \
                     row-level security"
                ));
            }
            format!(
                "{}: {}",
                counts.join("; "),
                annotated_sample(&mut shown, RlsFinding::describe)
            )
        },
        format!("{phi_count} PHI table(s) have RLS enabled and forced, each with a policy"),
    )
}

fn enable_and_force_rls(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let Some((relations, policies)) = primary_part(s, |d| {
        Some((d.relations.as_deref()?, d.policies.as_deref()?))
    }) else {
        return missing_facts_plan("relations and policies");
    };
    let counts = policy_counts(policies);
    let listed = Listed::new(verdict);
    let mut plan = FixPlan {
        apply: vec![ApplyClass::Immediate],
        needs: "owner of each table and listed view (or superuser)".into(),
        ..FixPlan::default()
    };
    let mut without_policy = Vec::new();
    for rel in relations
        .iter()
        .filter(|r| RLS_KINDS.contains(&r.kind.as_str()))
    {
        if !listed.relation(rel) {
            continue;
        }
        let key = rel_key(&rel.schema, &rel.name);
        let n = counts
            .get(&(rel.schema.as_str(), rel.name.as_str()))
            .copied()
            .unwrap_or(0);
        if n == 0 {
            // Enabling RLS without a policy hides every row from the application.
            without_policy.push(key);
            continue;
        }
        if !rel.rls_enabled {
            plan.statements.push(Statement::other(format!(
                "ALTER TABLE {key} ENABLE ROW LEVEL SECURITY"
            )));
            plan.rollback.push(Statement::other(format!(
                "ALTER TABLE {key} DISABLE ROW LEVEL SECURITY"
            )));
        }
        if !rel.rls_forced {
            plan.statements.push(Statement::other(format!(
                "ALTER TABLE {key} FORCE ROW LEVEL SECURITY"
            )));
            plan.rollback.push(Statement::other(format!(
                "ALTER TABLE {key} NO FORCE ROW LEVEL SECURITY"
            )));
        }
    }
    let mut view_note = String::new();
    let bypassing: Vec<String> = relations
        .iter()
        .filter(|r| r.kind == "v" && listed.relation(r))
        .map(|r| rel_key(&r.schema, &r.name))
        .collect();
    if facts::major_version(s).is_some_and(|m| m < 15) {
        if !bypassing.is_empty() {
            view_note = format!(
                "; PostgreSQL before 15 has no security_invoker: change the owner of these \
                 views (ALTER VIEW … OWNER TO) to a role that neither owns the tables nor is \
                 superuser or BYPASSRLS: {}",
                sample(&bypassing)
            );
        }
    } else {
        for key in bypassing {
            // Callers' own rights (and so the tables' policies) then bind.
            plan.statements.push(Statement::other(format!(
                "ALTER VIEW {key} SET (security_invoker = on)"
            )));
            plan.rollback.push(Statement::other(format!(
                "ALTER VIEW {key} RESET (security_invoker)"
            )));
        }
    }
    plan.rollback.reverse();
    let mut note = String::from(
        "FORCE makes the owner obey the policies too: check that the application still sees \
         its rows",
    );
    if !without_policy.is_empty() {
        note.push_str(&format!(
            "; write CREATE POLICY … USING (…) for these tables first (no statement is \
             proposed: RLS without a policy hides every row): {}",
            sample(&without_policy)
        ));
    }
    note.push_str(&view_note);
    plan.note = with_other_databases(s, &note);
    plan
}

// ---------------------------------------------------------------- PRIV-015

pub static POLICIES_RESTRICT_ROWS: Check = Check {
    id: "PRIV-015",
    section: Section::Access,
    title: "Row-level security policies actually restrict rows",
    severity: Severity::High,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "Permissive policies are ORed: one whose USING or WITH CHECK expression \
        reads nothing of the row it judges (`true`, `current_user IS NOT NULL`, a setting \
        test) gives the same answer for every row, so each session it admits reads or \
        writes every row, and the table looks protected and is not. RLS enabled without \
        any policy is either a forgotten policy or a table nobody but its owner can use. \
        Both are reported on every table, PHI or not. High: a vacuous policy on a PHI \
        table is the same exposure as no RLS, hidden from review. Decisions: what an \
        expression reads comes from its stored tree (a column, a system column or the \
        whole row of the judged row; a column of another scan of the table inside a \
        subquery does not count), branch by branch for a top-level OR (a branch such as \
        `current_user = 'admin'` admits every row to the sessions where it holds, like a \
        separate permissive policy); every command is judged (an UPDATE or DELETE policy \
        that reads no row lets its roles change every row), each expression the policy \
        has (an INSERT policy has only WITH CHECK); constant false admits nothing and is \
        not reported; a restrictive policy for the same roles and command whose \
        expression reads the row narrows it, so it is not reported either. A policy for \
        PUBLIC or for roles that more than one login can act as fails; one for a single \
        login's role (an auditor) warns, naming it. Restrictive policies alone narrow \
        nothing and widen nothing, so they are not reported.",
    reproduce_sql: "SELECT schemaname, tablename, policyname, permissive, cmd, roles, qual, \
        with_check FROM pg_policies ORDER BY 1, 2, 3;\n-- which expressions read the row: \
        a VAR at the outer query level of pg_policy.polqual / polwithcheck\nSELECT \
        polname, polqual, polwithcheck FROM pg_policy;\nSELECT c.oid::regclass FROM \
        pg_class c WHERE c.relrowsecurity AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE \
        p.polrelid = c.oid);",
    evaluate: policies_restrict_rows,
    fix: Fix::Instructions {
        apply: &[ApplyClass::Immediate],
        note: "rewrite each listed policy with an expression that reads the row, e.g. \
            ALTER POLICY p ON t USING (clinic_id = current_setting('app.clinic_id')::int); \
            or limit it to the one role it is for (ALTER POLICY p ON t TO auditor); or add \
            a restrictive policy that reads the row for the same roles and command; for \
            tables with RLS and no policy, CREATE POLICY for the roles that use them. \
            Needs the table owner. Undo: ALTER POLICY back to the expression and roles \
            shown in pg_policies.",
    },
};

/// An expression of a policy.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Clause {
    Using,
    WithCheck,
}

impl Clause {
    fn label(self) -> &'static str {
        match self {
            Clause::Using => "USING",
            Clause::WithCheck => "WITH CHECK",
        }
    }
}

/// Whether the policy's `clause` reads the row: `Some(false)` for
/// expressions that admit every row (or every row for some sessions),
/// `None` when not known (a snapshot before schema 4, an unreadable
/// tree) or the policy has no such expression. Constant false admits
/// nothing, so it counts as restricting.
fn clause_reads_row(p: &RlsPolicy, clause: Clause) -> Option<bool> {
    let (text, reads) = match clause {
        Clause::Using => (p.using.as_deref()?, p.reads_row.map(|r| r.using)),
        Clause::WithCheck => (p.with_check.as_deref()?, p.reads_row.map(|r| r.with_check)),
    };
    if is_constant(text, &["true", "1=1", "'t'::boolean", "'true'::boolean"]) {
        Some(false)
    } else if is_constant(text, &["false", "1=0", "'f'::boolean", "'false'::boolean"]) {
        Some(true)
    } else {
        reads
    }
}

/// Whether a restrictive policy on the same table narrows `clause` of the
/// permissive `p`: it applies to every role of `p` (or PUBLIC) and to its
/// command, and its own expression for that clause reads the row. Without a
/// WITH CHECK, an ALL or UPDATE policy checks new rows with its USING.
fn narrowed(p: &RlsPolicy, clause: Clause, restrictive: &[&RlsPolicy]) -> bool {
    restrictive.iter().any(|r| {
        let roles =
            r.roles.iter().any(|x| is_public(x)) || p.roles.iter().all(|x| r.roles.contains(x));
        let command = r.command == "ALL" || r.command == p.command;
        let own = match clause {
            Clause::WithCheck if r.with_check.is_none() && r.command != "INSERT" => Clause::Using,
            other => other,
        };
        roles && command && clause_reads_row(r, own) == Some(true)
    })
}

fn is_public(role: &str) -> bool {
    role.eq_ignore_ascii_case(PUBLIC)
}

/// Whether at most one login can act as the policy's roles (with SET ROLE
/// or inherited), so a finding on it is a warning naming that role. PUBLIC
/// never is; without memberships every named role counts as a group.
fn single_login_policy(p: &RlsPolicy, graph: Option<&RoleGraph>) -> bool {
    if p.roles.iter().any(|r| is_public(r)) {
        return false;
    }
    let Some(graph) = graph else {
        return false;
    };
    let mut logins = graph.settable_union(p.roles.iter().map(String::as_str));
    logins.intersect_with(graph.logins());
    logins.len() <= 1
}

/// A permissive policy whose expressions do not all read the row.
struct Vacuous<'a> {
    policy: &'a RlsPolicy,
    clauses: Vec<Clause>,
    single: bool,
}

impl Vacuous<'_> {
    fn describe(&self) -> String {
        let clauses: Vec<&str> = self.clauses.iter().map(|c| c.label()).collect();
        format!(
            "FOR {} TO {}: {} (or an OR branch of it) reads nothing of the row",
            self.policy.command,
            self.policy.roles.join(", "),
            clauses.join(" and ")
        )
    }
}

fn policies_restrict_rows(s: &Snapshot, _: &Policy) -> Verdict {
    let scoped = per_database(s, |d| {
        Some((d.relations.as_deref()?, d.policies.as_deref()?))
    });
    let graph = need_graph(s).ok();
    let mut vacuous: Vec<(String, Vacuous)> = Vec::new();
    let mut not_judged = Vec::new();
    let mut without_policy = Vec::new();
    let mut policy_total = 0usize;
    for part in &scoped.found {
        let (relations, policies) = part.part;
        policy_total += policies.len();
        let mut restrictive: FastMap<(&str, &str), Vec<&RlsPolicy>> = FastMap::default();
        for p in policies.iter().filter(|p| !p.permissive) {
            restrictive
                .entry((p.schema.as_str(), p.table.as_str()))
                .or_default()
                .push(p);
        }
        for p in policies.iter().filter(|p| p.permissive) {
            let narrowing = restrictive
                .get(&(p.schema.as_str(), p.table.as_str()))
                .map_or(&[][..], Vec::as_slice);
            let mut clauses = Vec::new();
            let mut unknown = false;
            for clause in [Clause::Using, Clause::WithCheck] {
                if !clause_present(p, clause) || narrowed(p, clause, narrowing) {
                    continue;
                }
                match clause_reads_row(p, clause) {
                    Some(false) => clauses.push(clause),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            if clauses.is_empty() && !unknown {
                continue;
            }
            let key = part.key(format!(
                "policy {} on {}",
                escape_identifier(&p.name),
                rel_key(&p.schema, &p.table)
            ));
            if clauses.is_empty() {
                not_judged.push(key);
            } else {
                let single = single_login_policy(p, graph.as_ref());
                vacuous.push((
                    key,
                    Vacuous {
                        single,
                        policy: p,
                        clauses,
                    },
                ));
            }
        }
        let counts = policy_counts(policies);
        for rel in relations
            .iter()
            .filter(|r| r.rls_enabled && RLS_KINDS.contains(&r.kind.as_str()))
            .filter(|r| !counts.contains_key(&(r.schema.as_str(), r.name.as_str())))
        {
            without_policy.push(part.key(format!(
                "{} (RLS enabled, no policy)",
                rel_key(&rel.schema, &rel.name)
            )));
        }
    }
    let (mut single, mut broad): (Vec<_>, Vec<_>) =
        vacuous.into_iter().partition(|(_, v)| v.single);
    let mut parts = Vec::new();
    if !broad.is_empty() {
        parts.push(format!(
            "{} permissive polic(ies) for PUBLIC or a group of logins read nothing of the \
             row: {}",
            broad.len(),
            annotated_sample(&mut broad, Vacuous::describe)
        ));
    }
    if !without_policy.is_empty() {
        parts.push(format!(
            "{} table(s) with RLS and no policy: {}",
            without_policy.len(),
            sample(&without_policy)
        ));
    }
    let failing = !parts.is_empty();
    if !single.is_empty() {
        parts.push(format!(
            "{} permissive polic(ies) for a single login's role read nothing of the row: {}",
            single.len(),
            annotated_sample(&mut single, Vacuous::describe)
        ));
    }
    let mut objects: Vec<String> = broad.into_iter().chain(single).map(|(k, _)| k).collect();
    objects.extend(without_policy);
    let seen = parts.join("; ");
    if failing {
        return scoped.conclude(s, "policies", objects, |_| seen, String::new());
    }
    if !not_judged.is_empty() {
        let not_judged = sorted(not_judged);
        let mut reason = format!(
            "whether {} permissive polic(ies) read the row is not known (a snapshot from \
             before schema 4, or an expression tree that could not be read; scan again): {}",
            not_judged.len(),
            sample(&not_judged)
        );
        if !seen.is_empty() {
            reason.push_str(&format!("; {seen}"));
        }
        return Verdict::unknown(reason, None).with_objects(not_judged);
    }
    if !objects.is_empty() {
        return Verdict::warn(format!(
            "{policy_total} polic(ies), none for PUBLIC or a group that reads nothing of the \
             row; {seen}"
        ))
        .with_objects(objects);
    }
    scoped.conclude(
        s,
        "policies",
        Vec::new(),
        |_| String::new(),
        format!(
            "{policy_total} polic(ies); every permissive expression reads the row it judges \
             or is narrowed by a restrictive one that does; every table with RLS has a policy"
        ),
    )
}

fn clause_present(p: &RlsPolicy, clause: Clause) -> bool {
    match clause {
        Clause::Using => p.using.is_some(),
        Clause::WithCheck => p.with_check.is_some(),
    }
}

/// Whether `expr`, without outer brackets, spaces and case, is one of `forms`.
/// Runs over every policy, so it compares in place without allocating.
fn is_constant(expr: &str, forms: &[&str]) -> bool {
    let mut inner = expr.trim();
    while let Some(stripped) = inner.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        inner = stripped.trim();
    }
    forms
        .iter()
        .any(|form| same_ignoring_space_and_case(inner, form))
}

fn same_ignoring_space_and_case(text: &str, form: &str) -> bool {
    text.bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|b| b.to_ascii_lowercase())
        .eq(form.bytes())
}

// ---------------------------------------------------------------- PRIV-016

/// The NOLOGIN role the fix makes owner of PHI tables.
const PHI_OWNER_ROLE: &str = "phi_owner";

pub static PHI_OWNERS_CANNOT_LOG_IN: Check = Check {
    id: "PRIV-016",
    section: Section::Access,
    title: "PHI tables are owned by NOLOGIN roles",
    severity: Severity::High,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "The owner of a table bypasses its row-level security unless RLS is FORCEd, \
        and can switch FORCE off again, drop policies and grant access, so an application \
        login that owns PHI tables is never really bound by RLS. The same holds for any \
        login that can SET ROLE to the owner. High: it defeats PRIV-014 for the account \
        most exposed to the network. Decisions: every LOGIN owner is reported, the bootstrap \
        superuser included (a superuser bypasses RLS anyway, but should not own application \
        data); logins that can act as the owner are reported unless they are superusers or \
        approved administrators (who run migrations).",
    reproduce_sql: "SELECT c.oid::regclass, r.rolname, r.rolcanlogin FROM pg_class c JOIN \
        pg_roles r ON r.oid = c.relowner WHERE c.relkind IN ('r', 'p') AND \
        c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace) \
        ORDER BY 1;",
    evaluate: phi_owners_cannot_log_in,
    fix: Fix::Build(move_phi_ownership),
};

fn phi_owners_cannot_log_in(s: &Snapshot, policy: &Policy) -> Verdict {
    let graph = match need_graph(s) {
        Ok(g) => g,
        Err(v) => return v,
    };
    let roles = s.roles.as_deref().unwrap_or(&[]);
    let approved = Approved::new(s, roles, policy);
    let can_act = approved.ordinary_logins(&graph, roles);
    let scoped = per_database(s, |d| d.relations.as_deref());
    let mut found = BTreeSet::new();
    let mut shown: Vec<(String, &str)> = Vec::new();
    let mut owners_seen: FastSet<&str> = FastSet::default();
    let mut phi_count = 0usize;
    for part in &scoped.found {
        let phi_tables = part
            .part
            .iter()
            .filter(|r| RLS_KINDS.contains(&r.kind.as_str()))
            .filter(|r| phi::is_phi_table(r, policy));
        for rel in phi_tables {
            phi_count += 1;
            let Some(owner) = graph.index_of(&rel.owner) else {
                continue;
            };
            if graph.logins().contains(owner) {
                let key = part.key(rel_key(&rel.schema, &rel.name));
                shown.push((key.clone(), rel.owner.as_str()));
                found.insert(key);
            }
            // Who can act as an owner does not depend on the table.
            if !owners_seen.insert(rel.owner.as_str()) {
                continue;
            }
            let Some(members) = graph.members(&rel.owner, Reach::SetRole) else {
                continue;
            };
            if members.intersects(&can_act) {
                let mut acting = intersection(members, &can_act);
                acting.remove(owner);
                for login in graph.names_of(&acting) {
                    let key = acting_owner_key(login, &rel.owner);
                    shown.push((key.clone(), ""));
                    found.insert(key);
                }
            }
        }
    }
    scoped.conclude(
        s,
        "relations",
        found.into_iter().collect(),
        |f| {
            format!(
                "{} PHI ownership issue(s) among {phi_count} PHI table(s): {}",
                f.len(),
                annotated_sample(&mut shown, |owner| match *owner {
                    "" => String::new(),
                    owner => format!("owner {owner}"),
                })
            )
        },
        format!(
            "{phi_count} PHI table(s), all owned by NOLOGIN roles that no other login can act as"
        ),
    )
}

fn acting_owner_key(login: &str, owner: &str) -> String {
    format!(
        "{} can act as owner {}",
        escape_identifier(login),
        escape_identifier(owner)
    )
}

fn move_phi_ownership(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let (Some(roles), Some(memberships), Some(relations)) = (
        s.roles.as_deref(),
        s.memberships.as_deref(),
        primary_part(s, |d| d.relations.as_deref()),
    ) else {
        return missing_facts_plan("roles, memberships and relations");
    };
    let listed = Listed::new(verdict);
    let logins: BTreeSet<&str> = roles
        .iter()
        .filter(|r| r.can_login)
        .map(|r| r.name.as_str())
        .collect();
    let new_owner = nologin_owner_name(roles);
    let target = escape_identifier(&new_owner);
    let mut plan = FixPlan {
        apply: vec![ApplyClass::Immediate],
        needs: "superuser".into(),
        ..FixPlan::default()
    };
    let moved: Vec<&Relation> = relations
        .iter()
        .filter(|r| RLS_KINDS.contains(&r.kind.as_str()) && logins.contains(r.owner.as_str()))
        .filter(|r| listed.relation(r))
        .collect();
    let create_role = !moved.is_empty() && !roles.iter().any(|r| r.name == new_owner);
    if create_role {
        plan.statements
            .push(Statement::other(format!("CREATE ROLE {target} NOLOGIN")));
        plan.rollback.push(Statement::DropRole {
            role: new_owner.clone(),
            if_exists: false,
        });
    }
    for rel in &moved {
        let table = rel_key(&rel.schema, &rel.name);
        let old = escape_identifier(&rel.owner);
        plan.statements.push(Statement::other(format!(
            "ALTER TABLE {table} OWNER TO {target}"
        )));
        plan.statements.push(Statement::other(format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {table} TO {old}"
        )));
        plan.rollback.push(Statement::other(format!(
            "ALTER TABLE {table} OWNER TO {old}"
        )));
        plan.rollback.push(Statement::other(format!(
            "REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLE {table} FROM {old}"
        )));
    }
    let cut: Vec<&Membership> = memberships
        .iter()
        .filter(|m| listed.contains(acting_owner_key(&m.member, &m.role).as_str()))
        .collect();
    for m in &cut {
        plan.statements.push(revoke_membership(m));
        plan.rollback.push(grant_membership(m));
    }
    // Inverses were pushed in statement order: undo them last-first.
    plan.rollback.reverse();
    plan.note = with_other_databases(
        s,
        &format!(
            "ownership moves to the NOLOGIN role {new_owner}; the former owner keeps SELECT, \
             INSERT, UPDATE and DELETE and from then on is bound by RLS; sequences owned by \
             the tables' columns follow the table; logins that act as the owner only through \
             nested groups must leave those groups by hand"
        ),
    );
    plan
}

/// `phi_owner`, or a free variant when a LOGIN role already has that name.
fn nologin_owner_name(roles: &[Role]) -> String {
    let taken_by_login = |name: &str| roles.iter().any(|r| r.name == name && r.can_login);
    let mut name = PHI_OWNER_ROLE.to_string();
    let mut n = 2;
    while taken_by_login(&name) {
        name = format!("{PHI_OWNER_ROLE}{n}");
        n += 1;
    }
    name
}

// ---------------------------------------------------------------- PRIV-017

pub static PHI_COLUMNS_LEAST_PRIVILEGE: Check = Check {
    id: "PRIV-017",
    section: Section::Access,
    title: "Only clinical roles can read PHI columns",
    severity: Severity::High,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "Minimum necessary access means PHI columns are readable only by roles whose \
        work needs them. Readers are computed from table and column ACLs, PUBLIC, \
        membership in the owner role and pg_read_all_data, following every membership \
        (SET ROLE works without INHERIT). A login role reading a PHI column fails unless it \
        owns the table, is a superuser or approved administrator, or is (a member of) a role \
        in the policy's clinical_roles. Safe default: without clinical_roles every other \
        login counts as non-clinical, because nobody has said who may read PHI. A grant to \
        PUBLIC always fails, since it reaches future roles. Tables listed in the policy's \
        phi_tables count as PHI in every column. Escalation to superuser is PRIV-005's. High: \
        standing PHI access beyond need.",
    reproduce_sql: "SELECT c.oid::regclass, a.grantee::regrole, a.privilege_type FROM pg_class \
        c, aclexplode(c.relacl) a WHERE a.privilege_type = 'SELECT' ORDER BY 1, 2;\nSELECT \
        attrelid::regclass, attname, a.grantee::regrole FROM pg_attribute, aclexplode(attacl) \
        a WHERE a.privilege_type = 'SELECT' ORDER BY 1, 2;\nSELECT roleid::regrole, \
        member::regrole FROM pg_auth_members ORDER BY 1, 2;",
    evaluate: phi_columns_least_privilege,
    fix: Fix::Build(revoke_phi_read_paths),
};

/// How a role reaches a PHI relation.
enum Via<'r> {
    /// A table-level or PHI-column grant to a role or PUBLIC.
    Grant {
        column: Option<&'r str>,
        item: &'r AclItem,
    },
    /// Membership in the owning role.
    Owner,
    /// Membership in pg_read_all_data.
    ReadAllData,
}

/// One way non-clinical logins read PHI in one relation.
struct ReadPath<'r> {
    via: Via<'r>,
    readers: RoleSet,
}

/// `"schema"."table"[."column"] via <grantee | owner "o" | pg_read_all_data>`,
/// given the relation's key `table`.
fn read_path_key(table: &str, rel: &Relation, via: &Via<'_>) -> String {
    let mut key = String::new();
    push_read_path_key(&mut key, table, rel, via);
    key
}

/// [`read_path_key`] appended to `out`, so that the fix can test thousands of
/// candidate paths with one buffer.
fn push_read_path_key(out: &mut String, table: &str, rel: &Relation, via: &Via<'_>) {
    out.push_str(table);
    match via {
        Via::Grant { column, item } => {
            if let Some(c) = column {
                out.push('.');
                push_identifier(out, c);
            }
            out.push_str(" via ");
            if item.grantee == PUBLIC {
                out.push_str(PUBLIC);
            } else {
                push_identifier(out, &item.grantee);
            }
        }
        Via::Owner => {
            out.push_str(" via owner ");
            push_identifier(out, &rel.owner);
        }
        Via::ReadAllData => {
            out.push_str(" via ");
            out.push_str(READ_ALL_DATA);
        }
    }
}

/// Every path through which a role in `suspects` (or PUBLIC) reads the PHI
/// columns of `rel`. Cost: one bitset test per ACL item.
fn phi_read_paths<'r>(
    graph: &RoleGraph<'_>,
    rel: &'r Relation,
    phi_columns: &[&'r crate::model::snapshot::Column],
    suspects: &RoleSet,
) -> Vec<ReadPath<'r>> {
    let mut suspects = suspects.clone();
    if let Some(owner) = graph.index_of(&rel.owner) {
        suspects.remove(owner);
    }
    let mut paths = Vec::new();
    let table_grants = rel.acl.iter().map(|item| (None, item));
    let column_grants = phi_columns
        .iter()
        .flat_map(|c| c.acl.iter().map(move |item| (Some(c.name.as_str()), item)));
    for (column, item) in table_grants.chain(column_grants) {
        // The owner's own entry is covered by the owner path below.
        if !item.privileges.contains('r') || item.grantee == rel.owner {
            continue;
        }
        let readers = if item.grantee == PUBLIC {
            Some(suspects.clone())
        } else {
            graph
                .members(&item.grantee, Reach::SetRole)
                .filter(|m| m.intersects(&suspects))
                .map(|m| intersection(m, &suspects))
        };
        if let Some(readers) = readers {
            paths.push(ReadPath {
                via: Via::Grant { column, item },
                readers,
            });
        }
    }
    for (via, role) in [
        (Via::Owner, rel.owner.as_str()),
        (Via::ReadAllData, READ_ALL_DATA),
    ] {
        if let Some(members) = graph
            .members(role, Reach::SetRole)
            .filter(|m| m.intersects(&suspects))
        {
            paths.push(ReadPath {
                via,
                readers: intersection(members, &suspects),
            });
        }
    }
    paths
}

fn intersection(a: &RoleSet, b: &RoleSet) -> RoleSet {
    let mut out = a.clone();
    out.intersect_with(b);
    out
}

fn phi_columns_least_privilege(s: &Snapshot, policy: &Policy) -> Verdict {
    let graph = match need_graph(s) {
        Ok(g) => g,
        Err(v) => return v,
    };
    let roles = s.roles.as_deref().unwrap_or(&[]);
    let approved = Approved::new(s, roles, policy);
    let mut suspects = approved.ordinary_logins(&graph, roles);
    suspects.subtract(&graph.settable_union(policy.clinical_roles.iter().map(String::as_str)));
    let scoped = per_database(s, |d| d.relations.as_deref());
    let mut found = Vec::new();
    let mut readers = graph.no_roles();
    let mut phi_count = 0usize;
    for part in &scoped.found {
        for rel in part.part {
            let columns = phi::phi_columns_under(rel, policy);
            if columns.is_empty() {
                continue;
            }
            phi_count += 1;
            let paths = phi_read_paths(&graph, rel, &columns, &suspects);
            if paths.is_empty() {
                continue;
            }
            let table = rel_key(&rel.schema, &rel.name);
            for path in paths {
                readers.union_with(&path.readers);
                found.push(part.key(read_path_key(&table, rel, &path.via)));
            }
        }
    }
    let clinical = if policy.clinical_roles.is_empty() {
        "the policy lists no clinical_roles, so every login other than owners, superusers and \
         approved administrators counts as non-clinical"
            .to_string()
    } else {
        format!("clinical roles: {}", policy.clinical_roles.join(", "))
    };
    let reader_names: Vec<String> = graph
        .names_of(&readers)
        .into_iter()
        .map(str::to_string)
        .collect();
    scoped.conclude(
        s,
        "relations",
        found,
        |f| {
            format!(
                "{} read path(s) to PHI for non-clinical login roles ({}): {}; {clinical}",
                f.len(),
                none_if_empty(&sample(&reader_names)),
                sample(f)
            )
        },
        format!(
            "{phi_count} PHI relation(s); no non-clinical login role can read their PHI \
             columns; {clinical}"
        ),
    )
}

fn revoke_phi_read_paths(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let Some(relations) = primary_part(s, |d| d.relations.as_deref()) else {
        return missing_facts_plan("relations");
    };
    let listed = Listed::new(verdict);
    let mut plan = FixPlan {
        apply: vec![ApplyClass::Immediate],
        needs: "owner of each table (or superuser)".into(),
        ..FixPlan::default()
    };
    let mut by_membership = Vec::new();
    // One buffer for every candidate key; only listed ones are kept.
    let mut key = String::new();
    let mut listed_key = |table: &str, rel: &Relation, via: &Via<'_>| {
        key.clear();
        push_read_path_key(&mut key, table, rel, via);
        listed.contains(&key).then(|| key.clone())
    };
    for rel in relations.iter().filter(|r| listed.relates_to(r)) {
        let table = rel_key(&rel.schema, &rel.name);
        for via in [Via::Owner, Via::ReadAllData] {
            by_membership.extend(listed_key(&table, rel, &via));
        }
        let table_grants = rel.acl.iter().map(|item| (None, item));
        let column_grants = rel
            .columns
            .iter()
            .flat_map(|c| c.acl.iter().map(move |item| (Some(c.name.as_str()), item)));
        for (column, item) in table_grants.chain(column_grants) {
            if !item.privileges.contains('r')
                || listed_key(&table, rel, &Via::Grant { column, item }).is_none()
            {
                continue;
            }
            let select = privilege_list("r", column);
            let grantee = grantee_sql(&item.grantee);
            let option = if item.grantable.contains('r') {
                " WITH GRANT OPTION"
            } else {
                ""
            };
            plan.statements.push(Statement::other(format!(
                "REVOKE {select} ON TABLE {table} FROM {grantee}"
            )));
            plan.rollback.push(Statement::other(format!(
                "GRANT {select} ON TABLE {table} TO {grantee}{option}"
            )));
            if column.is_none() {
                // Revoking table-level SELECT also drops the grantee's column-level SELECT.
                plan.rollback
                    .extend(column_select_grants(rel, &item.grantee));
            }
        }
    }
    let mut note = String::from(
        "a grantee that also serves clinical roles keeps its grant if instead the \
         non-clinical members listed in the evidence leave it (REVOKE group FROM member); a \
         grantee that needs the non-PHI columns gets GRANT SELECT (those columns)",
    );
    if !by_membership.is_empty() {
        note.push_str(&format!(
            "; paths through the owner role or pg_read_all_data need the member removed from \
             that role (no statement proposed): {}",
            sample(&by_membership)
        ));
    }
    plan.note = with_other_databases(s, &note);
    plan
}

/// Re-grants of `grantee`'s column-level SELECT on `rel`, as the snapshot saw them.
fn column_select_grants(rel: &Relation, grantee: &str) -> Vec<Statement> {
    rel.columns
        .iter()
        .flat_map(|c| {
            c.acl
                .iter()
                .filter(|a| a.grantee == grantee && a.privileges.contains('r'))
                .map(|a| {
                    let option = if a.grantable.contains('r') {
                        " WITH GRANT OPTION"
                    } else {
                        ""
                    };
                    Statement::other(format!(
                        "GRANT {} ON TABLE {} TO {}{option}",
                        privilege_list("r", Some(&c.name)),
                        rel_key(&rel.schema, &rel.name),
                        grantee_sql(grantee)
                    ))
                })
        })
        .collect()
}

// ---------------------------------------------------------------- PRIV-018

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

// ------------------------------------------------------- shared helpers

/// Who the policy approves, with the bootstrap superuser always approved.
///
/// On a managed service the bootstrap superuser belongs to the provider, so
/// the customer's master user (see [`managed::master_user`]) stands in for
/// it, and every role the provider runs counts as approved: those roles are
/// not the customer's to change, and the evidence names them.
struct Approved<'a> {
    bootstrap: &'a str,
    policy: &'a Policy,
    provider: Option<Provider>,
    /// The provider's roles present on this server, sorted.
    provider_roles: Vec<&'a str>,
}

impl<'a> Approved<'a> {
    fn new(s: &'a Snapshot, roles: &'a [Role], policy: &'a Policy) -> Self {
        let provider = managed::detect(s);
        let master = provider
            .and_then(|p| managed::master_user(p, roles, s.memberships.as_deref()))
            .map(|r| r.name.as_str());
        let mut provider_roles: Vec<&str> = roles
            .iter()
            .map(|r| r.name.as_str())
            .filter(|name| managed::owned_by_provider(provider, name))
            .collect();
        provider_roles.sort_unstable();
        Approved {
            bootstrap: master.unwrap_or_else(|| bootstrap_name(roles)),
            policy,
            provider,
            provider_roles,
        }
    }

    fn superuser(&self, name: &str) -> bool {
        self.policy.is_approved_superuser(name, self.bootstrap) || self.provider_owned(name)
    }

    /// Approved superusers and approved administrators.
    fn admin(&self, name: &str) -> bool {
        self.superuser(name) || self.policy.approved_admins.iter().any(|a| a == name)
    }

    /// Login roles that are neither superusers nor approved administrators.
    fn ordinary_logins(&self, graph: &RoleGraph, roles: &[Role]) -> RoleSet {
        let mut logins = graph.logins().clone();
        logins.subtract(graph.superusers());
        logins.subtract(
            &graph.set_of(
                roles
                    .iter()
                    .filter(|r| self.admin(&r.name))
                    .map(|r| r.name.as_str()),
            ),
        );
        logins
    }

    /// A role the managed service's provider runs.
    fn provider_owned(&self, name: &str) -> bool {
        managed::owned_by_provider(self.provider, name)
    }

    /// The bootstrap superuser, or on a managed service its master user.
    fn bootstrap_label(&self) -> String {
        match self.provider {
            Some(p) => format!("{} (master user of {})", self.bootstrap, p.name()),
            None => self.bootstrap.to_string(),
        }
    }

    /// "; left out as Amazon RDS for PostgreSQL's own roles: …", or nothing.
    fn provider_note(&self) -> String {
        match self.provider {
            Some(p) if !self.provider_roles.is_empty() => format!(
                "; left out as {}'s own roles, not the customer's to change: {}",
                p.name(),
                sample(
                    &self
                        .provider_roles
                        .iter()
                        .map(|r| r.to_string())
                        .collect::<Vec<_>>()
                )
            ),
            _ => String::new(),
        }
    }

    fn describe_superusers(&self) -> String {
        let mut names = vec![self.bootstrap_label()];
        names.extend(self.policy.approved_superusers.iter().cloned());
        format!("approved: {}{}", names.join(", "), self.provider_note())
    }

    fn describe_admins(&self) -> String {
        let mut names = vec![self.bootstrap_label()];
        names.extend(self.policy.approved_superusers.iter().cloned());
        names.extend(self.policy.approved_admins.iter().cloned());
        format!(
            "approved administrators: {}{}",
            names.join(", "),
            self.provider_note()
        )
    }
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

/// A role attribute a fix can switch off (and the rollback back on).
struct Attribute {
    option: fn(bool) -> RoleOption,
    held: fn(&Role) -> bool,
}

const SUPERUSER: Attribute = Attribute {
    option: RoleOption::Superuser,
    held: |r| r.superuser,
};
const CREATEDB: Attribute = Attribute {
    option: RoleOption::CreateDb,
    held: |r| r.create_db,
};
const CREATEROLE: Attribute = Attribute {
    option: RoleOption::CreateRole,
    held: |r| r.create_role,
};
const BYPASSRLS: Attribute = Attribute {
    option: RoleOption::BypassRls,
    held: |r| r.bypass_rls,
};
const REPLICATION: Attribute = Attribute {
    option: RoleOption::Replication,
    held: |r| r.replication,
};
const LOGIN: Attribute = Attribute {
    option: RoleOption::Login,
    held: |r| r.can_login,
};

/// `ALTER ROLE r NO<attr> …` for each listed role, switching off only the
/// attributes the snapshot saw it hold; rollback switches them back on.
fn attribute_plan(
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

fn revoke_membership(m: &Membership) -> Statement {
    Statement::Membership {
        grant: false,
        group: m.role.clone(),
        member: m.member.clone(),
        with: None,
    }
}

/// The GRANT that recreates a membership as the snapshot saw it, with its
/// admin option and, on PostgreSQL 16+, its inherit option.
fn grant_membership(m: &Membership) -> Statement {
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

fn membership_plan(cut: &[&Membership], note: &str) -> FixPlan {
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

fn missing_facts_plan(what: &str) -> FixPlan {
    FixPlan {
        apply: vec![ApplyClass::Manual],
        needs: "a snapshot with the facts".into(),
        note: format!("{what} were not collected: scan again with access to them"),
        ..FixPlan::default()
    }
}

/// A per-database part of the snapshot, as found in each database.
struct Scoped<'a, T> {
    found: Vec<InDatabase<'a, T>>,
    /// Databases whose part was not collected.
    missing: Vec<&'a str>,
}

struct InDatabase<'a, T> {
    db: &'a DatabaseFacts,
    primary: bool,
    part: T,
}

impl<T> InDatabase<'_, T> {
    /// An object key, qualified by the database when it is not the connected one.
    fn key(&self, local: String) -> String {
        if self.primary {
            local
        } else {
            format!("{}.{local}", escape_identifier(&self.db.name))
        }
    }
}

fn per_database<'a, T>(
    s: &'a Snapshot,
    get: impl Fn(&'a DatabaseFacts) -> Option<T>,
) -> Scoped<'a, T> {
    let mut scoped = Scoped {
        found: Vec::new(),
        missing: Vec::new(),
    };
    for (i, db) in s.databases.iter().enumerate() {
        match get(db) {
            Some(part) => scoped.found.push(InDatabase {
                db,
                primary: i == 0,
                part,
            }),
            None => scoped.missing.push(&db.name),
        }
    }
    scoped
}

impl<T> Scoped<'_, T> {
    /// Fail when anything was found; otherwise unknown when a database's part
    /// (or every database) is missing; otherwise pass.
    fn conclude(
        &self,
        s: &Snapshot,
        part: &str,
        found: Vec<String>,
        fail: impl FnOnce(&[String]) -> String,
        pass: String,
    ) -> Verdict {
        let found = sorted(found);
        let missing_note = if self.missing.is_empty() {
            String::new()
        } else {
            format!(
                "; {part} not collected in database(s): {}",
                self.missing.join(", ")
            )
        };
        if !found.is_empty() {
            return Verdict::fail(format!("{}{missing_note}", fail(&found))).with_objects(found);
        }
        if self.missing.is_empty() && !s.databases.is_empty() {
            return Verdict::pass(pass);
        }
        let catalog = match part {
            "schemas" => "pg_namespace",
            "default_acls" => "pg_default_acl",
            "functions" => "pg_proc",
            "languages" => "pg_language",
            "policies" => "pg_policy",
            _ => "pg_class",
        };
        let mut verdict = part_missing(s, part, catalog_grant(s, catalog));
        if !missing_note.is_empty() {
            verdict.evidence.push_str(&missing_note);
            verdict.reason = verdict.reason.map(|r| format!("{r}{missing_note}"));
        }
        verdict
    }
}

/// The connected database's part, for fix builders.
fn primary_part<'a, T>(s: &'a Snapshot, get: impl Fn(&'a DatabaseFacts) -> Option<T>) -> Option<T> {
    s.databases.first().and_then(get)
}

fn with_other_databases(s: &Snapshot, note: &str) -> String {
    if s.databases.len() > 1 {
        format!(
            "{note}; statements cover the connected database only: run the fix connected to \
             each other listed database"
        )
    } else {
        note.to_string()
    }
}

/// The objects of a verdict, for fix builders: exact keys, plus the
/// relations named at the start of relation keys (`"schema"."name"…`) as a
/// cheap filter, so that a builder formats keys only for relations involved.
struct Listed<'v> {
    keys: FastSet<&'v str>,
    relations: FastMap<Cow<'v, str>, FastSet<Cow<'v, str>>>,
}

impl<'v> Listed<'v> {
    fn new(verdict: &'v Verdict) -> Self {
        let mut relations: FastMap<Cow<'v, str>, FastSet<Cow<'v, str>>> = FastMap::default();
        for key in &verdict.objects {
            if let Some((schema, rest)) = leading_identifier(key) {
                if let Some((name, _)) = rest.strip_prefix('.').and_then(leading_identifier) {
                    relations.entry(schema).or_default().insert(name);
                }
            }
        }
        Listed {
            keys: verdict.objects.iter().map(String::as_str).collect(),
            relations,
        }
    }

    fn contains(&self, key: &str) -> bool {
        self.keys.contains(key)
    }

    /// Whether some key starts with this relation's name.
    fn relates_to(&self, rel: &Relation) -> bool {
        self.relations
            .get(rel.schema.as_str())
            .is_some_and(|names| names.contains(rel.name.as_str()))
    }

    /// Whether the relation's own key is listed.
    fn relation(&self, rel: &Relation) -> bool {
        self.relates_to(rel) && self.contains(&rel_key(&rel.schema, &rel.name))
    }
}

/// A double-quoted identifier at the start of `text`, unquoted, and the rest.
/// Borrowed unless the identifier holds a doubled quote.
fn leading_identifier(text: &str) -> Option<(Cow<'_, str>, &str)> {
    let body = text.strip_prefix('"')?;
    let end = body.find('"')?;
    if !body[end + 1..].starts_with('"') {
        return Some((Cow::Borrowed(&body[..end]), &body[end + 1..]));
    }
    let mut name = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '"' {
            name.push(c);
        } else if chars.peek().is_some_and(|(_, n)| *n == '"') {
            name.push('"');
            chars.next();
        } else {
            return Some((Cow::Owned(name), &body[i + 1..]));
        }
    }
    None
}

/// `"schema"."name"`: a key and a valid SQL name at once.
fn rel_key(schema: &str, name: &str) -> String {
    let mut key = String::with_capacity(schema.len() + name.len() + 5);
    push_identifier(&mut key, schema);
    key.push('.');
    push_identifier(&mut key, name);
    key
}

fn grantee_sql(grantee: &str) -> String {
    if grantee == PUBLIC {
        PUBLIC.to_string()
    } else {
        escape_identifier(grantee)
    }
}

/// The SQL keyword for an `aclitem` privilege letter.
fn privilege_keyword(letter: char) -> Option<&'static str> {
    Some(match letter {
        'r' => "SELECT",
        'a' => "INSERT",
        'w' => "UPDATE",
        'd' => "DELETE",
        'D' => "TRUNCATE",
        'x' => "REFERENCES",
        't' => "TRIGGER",
        'm' => "MAINTAIN",
        'X' => "EXECUTE",
        'U' => "USAGE",
        'C' => "CREATE",
        'c' => "CONNECT",
        'T' => "TEMPORARY",
        's' => "SET",
        'A' => "ALTER SYSTEM",
        _ => return None,
    })
}

/// `SELECT, INSERT` or, for a column, `SELECT ("c"), INSERT ("c")`.
fn privilege_list(letters: &str, column: Option<&str>) -> String {
    let suffix = column
        .map(|c| format!(" ({})", escape_identifier(c)))
        .unwrap_or_default();
    letters
        .chars()
        .filter_map(privilege_keyword)
        .map(|k| format!("{k}{suffix}"))
        .collect::<Vec<_>>()
        .join(", ")
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
    use super::testkit::{base, db, hba, role, set, Case};
    use crate::model::finding::Status;
    use crate::model::snapshot::{FunctionReads, PolicyReadsRow};
    use fixtures::*;

    let with_role = |r: Role| {
        let mut s = base();
        add_roles(&mut s, vec![r]);
        s
    };
    let mut cases = Vec::new();

    // PRIV-001
    cases.push(Case::new(
        "PRIV-001",
        base(),
        with_role(role("app", |r| {
            r.superuser = true;
            r.can_login = true;
        })),
    ));

    // PRIV-002 / PRIV-003
    cases.push(Case::new(
        "PRIV-002",
        with_role(login("alice")),
        with_role(role("app", |r| {
            r.can_login = true;
            r.create_db = true;
        })),
    ));
    cases.push(Case::new(
        "PRIV-003",
        with_role(login("alice")),
        with_role(role("app", |r| {
            r.can_login = true;
            r.bypass_rls = true;
        })),
    ));

    // PRIV-004
    let replicator = |name: &str| {
        role(name, |r| {
            r.can_login = true;
            r.replication = true;
        })
    };
    let mut good = with_role(replicator("replicator"));
    good.hba_rules = Some(vec![hba(
        1,
        "hostssl",
        "replication",
        "replicator",
        Some(("10.0.0.5", "255.255.255.255")),
        "scram-sha-256",
    )]);
    let mut bad = good.clone();
    add_roles(&mut bad, vec![replicator("app")]);
    cases.push(Case::new("PRIV-004", good, bad));

    // PRIV-005
    let mut good = base();
    add_roles(&mut good, vec![login("app"), group("readers")]);
    add_memberships(&mut good, &[("readers", "app")]);
    let mut bad = good.clone();
    add_roles(&mut bad, vec![group("admins")]);
    add_memberships(&mut bad, &[("postgres", "admins"), ("admins", "app")]);
    cases.push(Case::new("PRIV-005", good, bad));

    // PRIV-006
    let mut good = base();
    add_roles(&mut good, vec![login("app"), group("pg_read_server_files")]);
    let mut bad = good.clone();
    add_memberships(&mut bad, &[("pg_read_server_files", "app")]);
    cases.push(Case::new("PRIV-006", good, bad));

    // PRIV-007
    cases.push(Case::new(
        "PRIV-007",
        with_role(login("alice.smith")),
        with_role(login("app_user")),
    ));

    // PRIV-008: manual without an attestation, attested with one.
    cases.push(Case::attestation(
        "PRIV-008",
        with_role(login("alice")),
        with_role(login("alice")),
    ));

    // PRIV-009
    let good = with_relations(vec![patients("phi_owner")]);
    let mut bad = good.clone();
    relation_mut(&mut bad, 0).acl.push(acl(PUBLIC, "r"));
    cases.push(Case::new("PRIV-009", good, bad));

    // PRIV-010
    let schema = |public: &str| crate::model::snapshot::Schema {
        name: "public".into(),
        owner: "pg_database_owner".into(),
        acl: vec![acl("pg_database_owner", "UC"), acl(PUBLIC, public)],
    };
    let mut good = base();
    db(&mut good).schemas = Some(vec![schema("U")]);
    let mut bad = base();
    db(&mut bad).schemas = Some(vec![schema("UC")]);
    cases.push(Case::new("PRIV-010", good, bad));

    // PRIV-011
    let default_acl = |grantee: &str| DefaultAcl {
        role: "app_owner".into(),
        schema: Some("clinic".into()),
        object_type: "r".into(),
        acl: vec![acl(grantee, "r")],
    };
    let mut good = base();
    db(&mut good).default_acls = Some(vec![default_acl("app")]);
    let mut bad = base();
    db(&mut bad).default_acls = Some(vec![default_acl(PUBLIC)]);
    cases.push(Case::new("PRIV-011", good, bad));

    // PRIV-012
    let mut good = base();
    db(&mut good).functions = Some(vec![definer(&["search_path=pg_catalog, pg_temp"], false)]);
    let mut bad = base();
    db(&mut bad).functions = Some(vec![definer(&[], false)]);
    cases.push(Case::new("PRIV-012", good.clone(), bad));
    let mut bad = base();
    db(&mut bad).functions = Some(vec![definer(&["search_path=pg_catalog, public"], false)]);
    cases.push(Case::new("PRIV-012", good, bad));
    // A superuser's definer reading PHI, executable by a group of two logins.
    let mut bad = with_relations(vec![patients("phi_owner")]);
    add_roles(
        &mut bad,
        vec![group("clinicians"), login("kim"), login("lee")],
    );
    add_memberships(&mut bad, &[("clinicians", "kim"), ("clinicians", "lee")]);
    let mut f = definer(&["search_path=pg_catalog, pg_temp"], false);
    f.owner = "postgres".into();
    f.acl = vec![acl("postgres", "X"), acl("clinicians", "X")];
    f.reads = Some(FunctionReads {
        relations: vec!["public.patients".into()],
        from_dependencies: true,
        unseen: None,
    });
    db(&mut bad).functions = Some(vec![f.clone()]);
    let mut good = bad.clone();
    f.acl.pop();
    db(&mut good).functions = Some(vec![f]);
    cases.push(Case::new("PRIV-012", good, bad));

    // PRIV-013
    let language = |name: &str, trusted: bool| crate::model::snapshot::Language {
        name: name.into(),
        trusted,
        owner: "postgres".into(),
        acl: Vec::new(),
    };
    let mut good = base();
    db(&mut good).languages = Some(vec![language("c", false), language("plpgsql", true)]);
    let mut bad = base();
    db(&mut bad).languages = Some(vec![
        language("plpgsql", true),
        language("plpython3u", false),
    ]);
    cases.push(Case::new("PRIV-013", good, bad));

    // PRIV-014 / PRIV-015 / PRIV-016
    let protected = || {
        let mut s = with_relations(vec![rls(patients("phi_owner"))]);
        add_roles(&mut s, vec![group("phi_owner")]);
        db(&mut s).policies = Some(vec![rls_policy("(clinic_id = 7)")]);
        s
    };
    let mut bad = protected();
    relation_mut(&mut bad, 0).rls_forced = false;
    cases.push(Case::new("PRIV-014", protected(), bad));
    // A superuser's view over the FORCEd table, granted to a group: only
    // security_invoker makes the table's policy bind its readers.
    let through_view = |invoker: bool| {
        let mut s = protected();
        add_roles(&mut s, vec![group("clinician")]);
        let view = patients_view("postgres", Some(invoker));
        db(&mut s).relations.get_or_insert_with(Vec::new).push(view);
        s
    };
    cases.push(Case::new(
        "PRIV-014",
        through_view(true),
        through_view(false),
    ));
    let mut bad = protected();
    db(&mut bad).policies = Some(vec![rls_policy("true")]);
    cases.push(Case::new("PRIV-015", protected(), bad));
    // Row-independent (reads nothing of the row): fails for PUBLIC, warns for one login.
    let session_gate = |roles: &[&str]| {
        let mut s = protected();
        add_roles(&mut s, vec![login("auditor")]);
        let mut p = rls_policy("(CURRENT_USER IS NOT NULL)");
        p.roles = roles.iter().map(|r| (*r).to_string()).collect();
        p.reads_row = Some(PolicyReadsRow::default());
        db(&mut s).policies = Some(vec![p]);
        s
    };
    cases.push(Case::new(
        "PRIV-015",
        protected(),
        session_gate(&["PUBLIC"]),
    ));
    cases.push(
        Case::new("PRIV-015", protected(), session_gate(&["auditor"]))
            .expect(Status::Pass, Status::Warn),
    );
    let mut bad = protected();
    add_roles(&mut bad, vec![login("app")]);
    relation_mut(&mut bad, 0).owner = "app".into();
    cases.push(Case::new("PRIV-016", protected(), bad));

    // PRIV-017
    let clinical = Policy {
        clinical_roles: vec!["clinician".into()],
        ..Policy::default()
    };
    let mut good = protected();
    add_roles(
        &mut good,
        vec![group("clinician"), login("nurse_kim"), login("billing")],
    );
    add_memberships(&mut good, &[("clinician", "nurse_kim")]);
    relation_mut(&mut good, 0).acl.push(acl("clinician", "r"));
    let mut bad = good.clone();
    relation_mut(&mut bad, 0).acl.push(acl("billing", "r"));
    cases.push(Case::new("PRIV-017", good, bad).with_policy(clinical));

    // PRIV-018
    let mut good = base();
    set(&mut good, "shared_preload_libraries", "pgaudit,set_user");
    let mut bad = base();
    set(&mut bad, "shared_preload_libraries", "pgaudit");
    cases.push(Case::new("PRIV-018", good, bad).expect(Status::Pass, Status::Warn));

    cases.extend(query_text::cases());
    cases.extend(replication::cases());
    cases
}

/// Snapshot builders shared by `cases()` and the unit tests.
#[cfg(test)]
mod fixtures {
    use super::super::testkit::{base, db, role, table};
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
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::checks::testkit::{base, db, hba, role, set, table};
    use crate::model::finding::Status;
    use crate::model::snapshot::{FunctionReads, PolicyReadsRow};

    const HOSTILE: &[&str] = &["a\"; DROP ROLE x; --", "line\nbreak", "pätiënt_ü"];

    fn eval(check: &Check, s: &Snapshot, policy: &Policy) -> Verdict {
        (check.evaluate)(s, policy)
    }

    fn status(check: &Check, s: &Snapshot) -> Status {
        eval(check, s, &Policy::default()).status
    }

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
    fn attribute_fixes_touch_only_held_attributes_and_restore_them() {
        let mut s = base();
        add_roles(
            &mut s,
            vec![role("app", |r| {
                r.can_login = true;
                r.create_role = true;
            })],
        );
        let v = eval(&CREATE_ATTRIBUTES_LIMITED, &s, &Policy::default());
        assert_eq!(v.objects, vec!["app".to_string()]);
        let plan = CREATE_ATTRIBUTES_LIMITED.plan(&s, &v);
        assert_eq!(plan.statements, vec!["ALTER ROLE \"app\" NOCREATEROLE"]);
        assert_eq!(plan.rollback, vec!["ALTER ROLE \"app\" CREATEROLE"]);
        let approved = Policy {
            approved_admins: vec!["app".into()],
            ..Policy::default()
        };
        assert_eq!(
            eval(&CREATE_ATTRIBUTES_LIMITED, &s, &approved).status,
            Status::Pass
        );
    }

    #[test]
    fn policy_can_approve_a_second_superuser() {
        let mut s = base();
        add_roles(&mut s, vec![role("dba_alice", |r| r.superuser = true)]);
        let policy = Policy {
            approved_superusers: vec!["dba_alice".into()],
            ..Policy::default()
        };
        assert_eq!(eval(&SUPERUSERS_APPROVED, &s, &policy).status, Status::Pass);
        let v = eval(&SUPERUSERS_APPROVED, &s, &Policy::default());
        assert_eq!(v.objects, vec!["dba_alice".to_string()]);
        let plan = SUPERUSERS_APPROVED.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["ALTER ROLE \"dba_alice\" NOSUPERUSER"]
        );
    }

    #[test]
    fn replication_rules_reject_lines_and_netmasks() {
        let mut s = base();
        add_roles(
            &mut s,
            vec![role("replicator", |r| {
                r.can_login = true;
                r.replication = true;
            })],
        );
        // A reject line is protective; a local line is not network-reachable.
        s.hba_rules = Some(vec![
            hba(
                1,
                "host",
                "replication",
                "all",
                Some(("0.0.0.0", "0.0.0.0")),
                "reject",
            ),
            hba(2, "local", "replication", "all", None, "peer"),
            hba(
                3,
                "hostssl",
                "replication",
                "replicator",
                Some(("10.1.2.3", "255.255.255.255")),
                "scram-sha-256",
            ),
        ]);
        assert_eq!(status(&REPLICATION_DEDICATED, &s), Status::Pass);
        // 0.0.0.0 with netmask 0.0.0.0 is everywhere, even over TLS.
        s.hba_rules = Some(vec![hba(
            4,
            "hostssl",
            "replication",
            "replicator",
            Some(("0.0.0.0", "0.0.0.0")),
            "scram-sha-256",
        )]);
        let v = eval(&REPLICATION_DEDICATED, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.objects, vec!["pg_hba.conf:4".to_string()]);
        // `all` in the database column does not match replication connections.
        s.hba_rules = Some(vec![hba(
            5,
            "host",
            "all",
            "all",
            Some(("0.0.0.0", "0.0.0.0")),
            "scram-sha-256",
        )]);
        assert_eq!(status(&REPLICATION_DEDICATED, &s), Status::Pass);
        // Superusers and NOLOGIN roles do not count; approved admins do not count.
        add_roles(
            &mut s,
            vec![
                role("old_repl", |r| r.replication = true),
                role("barman", |r| {
                    r.can_login = true;
                    r.replication = true;
                }),
            ],
        );
        assert_eq!(status(&REPLICATION_DEDICATED, &s), Status::Fail);
        let policy = Policy {
            approved_admins: vec!["barman".into()],
            ..Policy::default()
        };
        assert_eq!(
            eval(&REPLICATION_DEDICATED, &s, &policy).status,
            Status::Pass
        );
    }

    #[test]
    fn noinherit_does_not_hide_a_path_to_superuser_and_the_fix_cuts_it() {
        let mut s = base();
        add_roles(
            &mut s,
            vec![
                role("app", |r| {
                    r.can_login = true;
                    r.inherit = false;
                }),
                group("ops"),
                group("readers"),
            ],
        );
        add_memberships(
            &mut s,
            &[("ops", "app"), ("readers", "app"), ("postgres", "ops")],
        );
        let v = eval(&NO_PATH_TO_SUPERUSER, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.evidence.contains("app → ops → postgres"),
            "{}",
            v.evidence
        );
        let plan = NO_PATH_TO_SUPERUSER.plan(&s, &v);
        assert_eq!(plan.statements, vec!["REVOKE \"ops\" FROM \"app\""]);
        assert_eq!(plan.rollback, vec!["GRANT \"ops\" TO \"app\""]);
        let approved = Policy {
            approved_superusers: vec!["app".into()],
            ..Policy::default()
        };
        assert_eq!(
            eval(&NO_PATH_TO_SUPERUSER, &s, &approved).status,
            Status::Pass
        );
    }

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

    #[test]
    fn server_access_roles_are_found_through_groups() {
        let mut s = base();
        add_roles(
            &mut s,
            vec![
                login("app"),
                group("etl"),
                group("pg_execute_server_program"),
            ],
        );
        add_memberships(
            &mut s,
            &[("pg_execute_server_program", "etl"), ("etl", "app")],
        );
        let v = eval(&SERVER_ACCESS_ROLES_LIMITED, &s, &Policy::default());
        assert_eq!(
            v.objects,
            vec![
                "pg_execute_server_program: app".to_string(),
                "pg_execute_server_program: etl".to_string()
            ]
        );
        let plan = SERVER_ACCESS_ROLES_LIMITED.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["REVOKE \"pg_execute_server_program\" FROM \"etl\""]
        );
        let approved = Policy {
            approved_admins: vec!["etl".into(), "app".into()],
            ..Policy::default()
        };
        assert_eq!(
            eval(&SERVER_ACCESS_ROLES_LIMITED, &s, &approved).status,
            Status::Pass
        );
    }

    #[test]
    fn generic_names_and_shared_sessions() {
        for name in ["app", "app_user", "test1", "READONLY", "shared-svc"] {
            assert!(is_generic_name(name), "{name}");
        }
        for name in ["alice", "alice_admin", "dr_smith", "", "42"] {
            assert!(!is_generic_name(name), "{name}");
        }
        let mut s = base();
        add_roles(&mut s, vec![login("app"), login("bob")]);
        let service = Policy {
            service_accounts: vec!["app".into()],
            ..Policy::default()
        };
        assert_eq!(eval(&NO_SHARED_ACCOUNTS, &s, &service).status, Status::Pass);
        let session = |addr: &str| crate::model::snapshot::Session {
            usename: Some("bob".into()),
            client_addr: Some(addr.into()),
            ..crate::model::snapshot::Session::default()
        };
        s.sessions = Some(vec![
            session("10.0.0.1"),
            session("10.0.0.2"),
            session("10.0.0.2"),
        ]);
        assert_eq!(eval(&NO_SHARED_ACCOUNTS, &s, &service).status, Status::Pass);
        s.sessions
            .get_or_insert_with(Vec::new)
            .push(session("10.0.0.3"));
        let v = eval(&NO_SHARED_ACCOUNTS, &s, &service);
        assert_eq!(v.status, Status::Warn);
        assert_eq!(v.objects, vec!["bob".to_string()]);
    }

    #[test]
    fn public_grants_fix_revokes_per_schema_and_restores_each_object() {
        let mut rel = patients("phi_owner");
        rel.schema = HOSTILE[0].into();
        rel.acl.push(acl(PUBLIC, "arw"));
        rel.columns[1].acl.push(acl(PUBLIC, "r"));
        let s = with_relations(vec![rel]);
        let v = eval(&NO_PUBLIC_TABLE_GRANTS, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        let plan = NO_PUBLIC_TABLE_GRANTS.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["REVOKE ALL ON ALL TABLES IN SCHEMA \"a\"\"; DROP ROLE x; --\" FROM PUBLIC"]
        );
        assert_eq!(
            plan.rollback,
            vec![
                "GRANT INSERT, SELECT, UPDATE ON TABLE \"a\"\"; DROP ROLE x; --\".\"patients\" TO PUBLIC",
                "GRANT SELECT (\"ssn\") ON TABLE \"a\"\"; DROP ROLE x; --\".\"patients\" TO PUBLIC",
            ]
        );
    }

    #[test]
    fn public_schema_create_notes_the_old_default() {
        let mut s = base();
        s.target.server_version_num = Some(140010);
        db(&mut s).schemas = Some(vec![crate::model::snapshot::Schema {
            name: "public".into(),
            owner: "postgres".into(),
            acl: vec![acl("postgres", "UC"), acl(PUBLIC, "UC")],
        }]);
        let v = eval(&NO_PUBLIC_SCHEMA_CREATE, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        assert!(v.evidence.contains("before PostgreSQL 15"));
        let plan = NO_PUBLIC_SCHEMA_CREATE.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["REVOKE CREATE ON SCHEMA \"public\" FROM PUBLIC"]
        );
        assert_eq!(
            plan.rollback,
            vec!["GRANT CREATE ON SCHEMA \"public\" TO PUBLIC"]
        );
    }

    #[test]
    fn grant_options_and_default_privileges() {
        let mut rel = patients("phi_owner");
        let mut item = acl("clerk", "r");
        item.grantable = "r".into();
        rel.acl.push(item);
        let mut owner_item = acl("phi_owner", "arwdDxt");
        owner_item.grantable = "arwdDxt".into();
        rel.acl.push(owner_item);
        let mut s = with_relations(vec![rel]);
        add_roles(&mut s, vec![login("clerk")]);
        db(&mut s).default_acls = Some(vec![
            DefaultAcl {
                role: "app_owner".into(),
                schema: None,
                object_type: "f".into(),
                acl: vec![acl(PUBLIC, "X"), acl("app_owner", "X")],
            },
            DefaultAcl {
                role: "app_owner".into(),
                schema: Some("clinic".into()),
                object_type: "r".into(),
                acl: vec![acl(PUBLIC, "r")],
            },
        ]);
        let v = eval(&DEFAULT_PRIVILEGES_TIGHT, &s, &Policy::default());
        assert_eq!(
            v.objects,
            vec![
                "\"public\".\"patients\": \"clerk\" WITH GRANT OPTION".to_string(),
                "default privileges of \"app_owner\" in schema \"clinic\" on tables: PUBLIC"
                    .to_string(),
            ]
        );
        let plan = DEFAULT_PRIVILEGES_TIGHT.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec![
                "ALTER DEFAULT PRIVILEGES FOR ROLE \"app_owner\" IN SCHEMA \"clinic\" REVOKE SELECT ON TABLES FROM PUBLIC",
                "REVOKE GRANT OPTION FOR SELECT ON TABLE \"public\".\"patients\" FROM \"clerk\"",
            ]
        );
        assert_eq!(
            plan.rollback[1],
            "GRANT SELECT ON TABLE \"public\".\"patients\" TO \"clerk\" WITH GRANT OPTION"
        );
        let approved = Policy {
            approved_admins: vec!["clerk".into()],
            ..Policy::default()
        };
        assert_eq!(
            eval(&DEFAULT_PRIVILEGES_TIGHT, &s, &approved).objects.len(),
            1
        );
    }

    #[test]
    fn security_definer_functions() {
        let mut s = base();
        let mut from_ext = definer(&[], true);
        from_ext.from_extension = true;
        db(&mut s).functions = Some(vec![
            from_ext,
            definer(&["search_path=pg_catalog, pg_temp"], false),
        ]);
        assert_eq!(status(&SECURITY_DEFINER_SAFE, &s), Status::Pass);
        db(&mut s).functions = Some(vec![definer(&["search_path=pg_catalog, pg_temp"], true)]);
        let v = eval(&SECURITY_DEFINER_SAFE, &s, &Policy::default());
        assert_eq!(
            v.objects,
            vec!["\"app\".lookup_patient(bigint)".to_string()]
        );
        let plan = SECURITY_DEFINER_SAFE.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["REVOKE EXECUTE ON ROUTINE \"app\".\"lookup_patient\"(bigint) FROM PUBLIC"]
        );
        db(&mut s).functions = Some(vec![definer(&[], false)]);
        let v = eval(&SECURITY_DEFINER_SAFE, &s, &Policy::default());
        let plan = SECURITY_DEFINER_SAFE.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["ALTER ROUTINE \"app\".\"lookup_patient\"(bigint) SET search_path = pg_catalog, pg_temp"]
        );
        assert_eq!(
            plan.rollback,
            vec!["ALTER ROUTINE \"app\".\"lookup_patient\"(bigint) RESET search_path"]
        );
    }

    #[test]
    fn a_search_path_must_end_with_pg_temp_and_the_rollback_restores_it() {
        let mut s = base();
        let path = "search_path=pg_catalog, \"$user\", public";
        db(&mut s).functions = Some(vec![definer(&[path], false)]);
        let v = eval(&SECURITY_DEFINER_SAFE, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.evidence
                .contains("search_path pg_catalog, $user, public does not end with pg_temp"),
            "{}",
            v.evidence
        );
        let plan = SECURITY_DEFINER_SAFE.plan(&s, &v);
        assert_eq!(
            plan.rollback,
            vec![
                "ALTER ROUTINE \"app\".\"lookup_patient\"(bigint) SET search_path = \
                  \"pg_catalog\", \"$user\", \"public\""
            ]
        );
        // pg_temp first (or only implied) is what the hijack uses; an empty path too.
        for path in ["search_path=pg_temp, pg_catalog", "search_path=\"\""] {
            db(&mut s).functions = Some(vec![definer(&[path], false)]);
            assert_eq!(status(&SECURITY_DEFINER_SAFE, &s), Status::Fail, "{path}");
        }
        assert_eq!(search_path_sql(&[String::new()]), "''");
    }

    /// A superuser-owned definer with a pinned path, reading patients, that
    /// the group `clinicians` (logins kim and lee) may execute, not PUBLIC.
    fn escalating() -> Snapshot {
        let mut s = with_relations(vec![rls(patients("phi_owner"))]);
        add_roles(
            &mut s,
            vec![
                group("phi_owner"),
                group("clinicians"),
                login("kim"),
                login("lee"),
                role("etl", |r| r.bypass_rls = true),
            ],
        );
        add_memberships(&mut s, &[("clinicians", "kim"), ("clinicians", "lee")]);
        let mut f = definer(&["search_path=pg_catalog, pg_temp"], false);
        f.owner = "postgres".into();
        f.acl = vec![acl("postgres", "X"), acl("clinicians", "X")];
        f.reads = Some(FunctionReads {
            relations: vec!["public.patients".into()],
            from_dependencies: true,
            unseen: None,
        });
        db(&mut s).functions = Some(vec![f]);
        s
    }

    fn definer_mut(s: &mut Snapshot) -> &mut Function {
        &mut db(s).functions.get_or_insert_with(Vec::new)[0]
    }

    #[test]
    fn a_superuser_owned_definer_executable_by_a_login_group_fails_and_is_revoked() {
        let s = escalating();
        let v = eval(&SECURITY_DEFINER_SAFE, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail, "{}", v.evidence);
        assert_eq!(
            v.objects,
            ["\"app\".lookup_patient(bigint) via \"clinicians\""]
        );
        assert!(
            v.evidence.contains("owner postgres is a superuser") && v.evidence.contains("kim, lee"),
            "{}",
            v.evidence
        );
        let plan = SECURITY_DEFINER_SAFE.plan(&s, &v);
        let routine = "\"app\".\"lookup_patient\"(bigint)";
        assert_eq!(
            plan.statements,
            [format!(
                "REVOKE EXECUTE ON ROUTINE {routine} FROM \"clinicians\""
            )]
        );
        assert_eq!(
            plan.rollback,
            [format!(
                "GRANT EXECUTE ON ROUTINE {routine} TO \"clinicians\""
            )]
        );
        // The policy approves it: the owner test is skipped, and said.
        let approved = Policy {
            approved_security_definer_functions: vec!["app.lookup_patient(bigint)".into()],
            ..Policy::default()
        };
        let v = eval(&SECURITY_DEFINER_SAFE, &s, &approved);
        assert_eq!(v.status, Status::Pass, "{}", v.evidence);
        assert!(
            v.evidence.contains("approved by the policy"),
            "{}",
            v.evidence
        );
        // Approval covers the owner only: an unpinned path still fails.
        let mut unpinned = s.clone();
        definer_mut(&mut unpinned).config = vec!["search_path=pg_catalog, public".into()];
        assert_eq!(
            eval(&SECURITY_DEFINER_SAFE, &unpinned, &approved).status,
            Status::Fail
        );
        // Logins that are approved administrators gain nothing.
        let admins = Policy {
            approved_admins: vec!["kim".into(), "lee".into()],
            ..Policy::default()
        };
        assert_eq!(
            eval(&SECURITY_DEFINER_SAFE, &s, &admins).status,
            Status::Pass
        );
    }

    #[test]
    fn hostile_grantee_names_are_quoted_in_the_revoke_and_its_rollback() {
        for name in HOSTILE {
            let mut s = escalating();
            add_roles(&mut s, vec![group(name)]);
            add_memberships(&mut s, &[(name, "kim"), (name, "lee")]);
            definer_mut(&mut s).acl = vec![acl("postgres", "X"), acl(name, "X")];
            let v = eval(&SECURITY_DEFINER_SAFE, &s, &Policy::default());
            assert_eq!(v.status, Status::Fail, "{}", v.evidence);
            let plan = SECURITY_DEFINER_SAFE.plan(&s, &v);
            let grantee = escape_identifier(name);
            assert_eq!(
                plan.statements,
                [format!(
                    "REVOKE EXECUTE ON ROUTINE \"app\".\"lookup_patient\"(bigint) FROM {grantee}"
                )]
            );
            assert_eq!(
                plan.rollback,
                [format!(
                    "GRANT EXECUTE ON ROUTINE \"app\".\"lookup_patient\"(bigint) TO {grantee}"
                )]
            );
        }
    }

    #[test]
    fn bypassrls_and_table_owners_fail_only_for_the_phi_they_may_read() {
        let mut s = escalating();
        definer_mut(&mut s).owner = "etl".into();
        assert_eq!(status(&SECURITY_DEFINER_SAFE, &s), Status::Fail);
        definer_mut(&mut s).reads = Some(FunctionReads::default());
        assert_eq!(status(&SECURITY_DEFINER_SAFE, &s), Status::Pass);
        // A body that runs dynamic SQL may read anything.
        definer_mut(&mut s).reads = Some(FunctionReads {
            unseen: Some("runs dynamic SQL (EXECUTE)".into()),
            ..FunctionReads::default()
        });
        let v = eval(&SECURITY_DEFINER_SAFE, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        assert!(v.evidence.contains("may read any"), "{}", v.evidence);
        // The owner of the PHI table it names (string body) fails; another role passes.
        let mut s = escalating();
        definer_mut(&mut s).owner = "phi_owner".into();
        definer_mut(&mut s).reads = Some(FunctionReads {
            relations: vec!["public.patients".into()],
            from_dependencies: false,
            unseen: None,
        });
        let v = eval(&SECURITY_DEFINER_SAFE, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        assert!(v.evidence.contains("names in its body"), "{}", v.evidence);
        add_roles(&mut s, vec![group("reporting")]);
        definer_mut(&mut s).owner = "reporting".into();
        assert_eq!(status(&SECURITY_DEFINER_SAFE, &s), Status::Pass);
        // What it reads is not in an older snapshot: unknown, never pass.
        definer_mut(&mut s).reads = None;
        let v = eval(&SECURITY_DEFINER_SAFE, &s, &Policy::default());
        assert_eq!(v.status, Status::Unknown, "{}", v.evidence);
        assert!(v.evidence.contains("schema 4"), "{}", v.evidence);
    }

    #[test]
    fn without_memberships_the_owner_test_is_unknown_and_said_beside_other_failures() {
        let mut s = escalating();
        s.memberships = None;
        assert_eq!(status(&SECURITY_DEFINER_SAFE, &s), Status::Unknown);
        definer_mut(&mut s).config = Vec::new();
        let v = eval(&SECURITY_DEFINER_SAFE, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.evidence.contains("owner test not decided for"),
            "{}",
            v.evidence
        );
    }

    #[test]
    fn the_documented_scanner_functions_are_the_superuser_exceptions() {
        for signature in ["password_kinds()", "stored_credentials()"] {
            let mut s = escalating();
            add_roles(&mut s, vec![login("pgsafeguard_scanner")]);
            let f = definer_mut(&mut s);
            f.schema = "pgsafeguard".into();
            f.signature = signature.into();
            f.acl = vec![acl("postgres", "X"), acl("pgsafeguard_scanner", "X")];
            f.reads = Some(FunctionReads::default());
            assert_eq!(
                status(&SECURITY_DEFINER_SAFE, &s),
                Status::Pass,
                "{signature}"
            );
            definer_mut(&mut s).reads = Some(FunctionReads {
                relations: vec!["public.audit_log".into()],
                ..FunctionReads::default()
            });
            assert_eq!(
                status(&SECURITY_DEFINER_SAFE, &s),
                Status::Fail,
                "{signature}"
            );
        }
        // Any other function of that schema is judged like every other.
        let mut s = escalating();
        add_roles(&mut s, vec![login("pgsafeguard_scanner")]);
        let f = definer_mut(&mut s);
        f.schema = "pgsafeguard".into();
        f.signature = "anything_else()".into();
        f.acl = vec![acl("postgres", "X"), acl("pgsafeguard_scanner", "X")];
        f.reads = Some(FunctionReads::default());
        assert_eq!(status(&SECURITY_DEFINER_SAFE, &s), Status::Fail);
    }

    #[test]
    fn routine_names_are_quoted_and_hostile_argument_lists_refused() {
        assert_eq!(
            routine_sql("s", "f(x) ; DROP TABLE t; --(integer, \"odd (name\" text)").as_deref(),
            Some("\"s\".\"f(x) ; DROP TABLE t; --\"(integer, \"odd (name\" text)")
        );
        assert_eq!(routine_sql("s", "f()").as_deref(), Some("\"s\".\"f\"()"));
        assert_eq!(
            routine_sql("s", "f(numeric(10,2)[], character varying)").as_deref(),
            Some("\"s\".\"f\"(numeric(10,2)[], character varying)")
        );
        assert_eq!(routine_sql("s", "f(int); DROP TABLE t; --)"), None);
        assert_eq!(routine_sql("s", "f(int) DROP"), None);
        assert_eq!(routine_sql("s", "f(text '\\x')"), None);
        for name in HOSTILE {
            let sql = routine_sql(name, &format!("{name}(integer)")).unwrap_or_default();
            assert!(sql.starts_with(&escape_identifier(name)), "{sql}");
        }
    }

    #[test]
    fn untrusted_code_can_be_approved_and_dropped() {
        let mut s = base();
        db(&mut s).languages = Some(vec![crate::model::snapshot::Language {
            name: "plpython3u".into(),
            trusted: false,
            owner: "postgres".into(),
            acl: Vec::new(),
        }]);
        db(&mut s).extensions = Some(vec![
            crate::model::snapshot::Extension {
                name: "plpython3u".into(),
                version: "1.0".into(),
                schema: "pg_catalog".into(),
            },
            crate::model::snapshot::Extension {
                name: "dblink".into(),
                version: "1.2".into(),
                schema: "public".into(),
            },
            crate::model::snapshot::Extension {
                name: "pgcrypto".into(),
                version: "1.3".into(),
                schema: "public".into(),
            },
        ]);
        let v = eval(&UNTRUSTED_CODE_APPROVED, &s, &Policy::default());
        assert_eq!(
            v.objects,
            vec![
                "extension \"dblink\"".to_string(),
                "language \"plpython3u\"".to_string()
            ]
        );
        let plan = UNTRUSTED_CODE_APPROVED.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["DROP EXTENSION \"plpython3u\"", "DROP EXTENSION \"dblink\""]
        );
        assert_eq!(
            plan.rollback[1],
            "CREATE EXTENSION \"dblink\" SCHEMA \"public\" VERSION '1.2'"
        );
        assert!(plan.irreversible, "{plan:?}");
        assert!(
            plan.note.contains("cannot be fully undone"),
            "{}",
            plan.note
        );
        let approved = Policy {
            approved_extensions: Some(vec!["dblink".into(), "plpython3u".into()]),
            ..Policy::default()
        };
        assert_eq!(
            eval(&UNTRUSTED_CODE_APPROVED, &s, &approved).status,
            Status::Pass
        );
    }

    #[test]
    fn rls_must_be_forced_and_partitions_are_checked_directly() {
        let mut parent = rls(patients("phi_owner"));
        parent.kind = "p".into();
        let mut partition = patients("phi_owner");
        partition.name = "patients_2026".into();
        partition.parent = Some("public.patients".into());
        partition.is_partition = true;
        let mut s = with_relations(vec![parent, partition]);
        db(&mut s).policies = Some(vec![rls_policy("(clinic_id = 7)")]);
        let v = eval(&PHI_TABLES_HAVE_RLS, &s, &Policy::default());
        assert_eq!(v.objects, vec!["\"public\".\"patients_2026\"".to_string()]);
        assert!(
            v.evidence.contains("partition queried directly"),
            "{}",
            v.evidence
        );
        // No policy on the partition: no statement (it would hide every row).
        let plan = PHI_TABLES_HAVE_RLS.plan(&s, &v);
        assert!(plan.statements.is_empty());
        assert!(plan.note.contains("patients_2026"));
        // Enabled but not forced: the fix forces it and the rollback undoes it.
        let mut s = with_relations(vec![rls(patients("phi_owner"))]);
        relation_mut(&mut s, 0).rls_forced = false;
        db(&mut s).policies = Some(vec![rls_policy("(clinic_id = 7)")]);
        let v = eval(&PHI_TABLES_HAVE_RLS, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        let plan = PHI_TABLES_HAVE_RLS.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["ALTER TABLE \"public\".\"patients\" FORCE ROW LEVEL SECURITY"]
        );
        assert_eq!(
            plan.rollback,
            vec!["ALTER TABLE \"public\".\"patients\" NO FORCE ROW LEVEL SECURITY"]
        );
        // Policy overrides: not PHI → not applicable.
        let not_phi = Policy {
            not_phi_tables: vec!["public.patients".into()],
            ..Policy::default()
        };
        assert_eq!(
            eval(&PHI_TABLES_HAVE_RLS, &s, &not_phi).status,
            Status::NotApplicable
        );
    }

    #[test]
    fn views_bypassing_rls_fail_until_security_invoker() {
        let with_view = |owner: &str, invoker: Option<bool>, forced: bool| {
            let mut table = rls(patients("phi_owner"));
            table.rls_forced = forced;
            let mut s = with_relations(vec![table, patients_view(owner, invoker)]);
            add_roles(&mut s, vec![group("phi_owner"), group("clinician")]);
            db(&mut s).policies = Some(vec![rls_policy("(clinic_id = 7)")]);
            s
        };
        // The table's owner owns the view: bypasses unless the table is FORCEd.
        let s = with_view("phi_owner", Some(false), true);
        assert_eq!(status(&PHI_TABLES_HAVE_RLS, &s), Status::Pass);
        let s = with_view("postgres", Some(false), true);
        let v = eval(&PHI_TABLES_HAVE_RLS, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.objects, vec!["\"public\".\"patients_v\"".to_string()]);
        assert!(
            v.evidence.contains(
                "\"public\".\"patients_v\" (view reads \"public\".\"patients\" as \
                 \"postgres\", bypassing RLS)"
            ),
            "{}",
            v.evidence
        );
        let plan = PHI_TABLES_HAVE_RLS.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["ALTER VIEW \"public\".\"patients_v\" SET (security_invoker = on)"]
        );
        assert_eq!(
            plan.rollback,
            vec!["ALTER VIEW \"public\".\"patients_v\" RESET (security_invoker)"]
        );
        // Before 15 there is no security_invoker: the note says to change the owner.
        let mut old_server = s.clone();
        old_server.target.server_version_num = Some(140010);
        let plan = PHI_TABLES_HAVE_RLS.plan(&old_server, &v);
        assert!(plan.statements.is_empty());
        assert!(plan.note.contains("OWNER TO"), "{}", plan.note);
        // Owner of the table with the table not FORCEd: the table and the view fail.
        let s = with_view("phi_owner", Some(false), false);
        let v = eval(&PHI_TABLES_HAVE_RLS, &s, &Policy::default());
        assert_eq!(v.objects.len(), 2, "{:?}", v.objects);
        // Nobody but the owner may read the view: nothing is bypassed for anyone.
        let mut s = with_view("postgres", Some(false), true);
        relation_mut(&mut s, 1)
            .acl
            .retain(|a| a.grantee != "clinician");
        assert_eq!(status(&PHI_TABLES_HAVE_RLS, &s), Status::Pass);
        // A BYPASSRLS owner bypasses as a superuser does.
        let mut s = with_view("etl", Some(false), true);
        add_roles(&mut s, vec![role("etl", |r| r.bypass_rls = true)]);
        assert_eq!(status(&PHI_TABLES_HAVE_RLS, &s), Status::Fail);
        // A snapshot saved before views were judged: unknown, never pass.
        let s = with_view("postgres", None, true);
        let v = eval(&PHI_TABLES_HAVE_RLS, &s, &Policy::default());
        assert_eq!(v.status, Status::Unknown, "{}", v.evidence);
    }

    #[test]
    fn constant_expressions() {
        let truth = ["true", "1=1", "'t'::boolean", "'true'::boolean"];
        for expr in ["true", "(true)", " ( ( TRUE ) ) ", "(1 = 1)"] {
            assert!(is_constant(expr, &truth), "{expr}");
        }
        for expr in [
            "(clinic_id = 7)",
            "(true AND (owner = CURRENT_USER))",
            "false",
        ] {
            assert!(!is_constant(expr, &truth), "{expr}");
        }
    }

    #[test]
    fn vacuous_policies() {
        let mut s = with_relations(vec![rls(patients("phi_owner"))]);
        let mut restrictive = rls_policy("true");
        restrictive.permissive = false;
        let mut check_true = rls_policy("(clinic_id = 7)");
        check_true.with_check = Some("(true)".into());
        db(&mut s).policies = Some(vec![restrictive.clone()]);
        assert_eq!(status(&POLICIES_RESTRICT_ROWS, &s), Status::Pass);
        db(&mut s).policies = Some(vec![restrictive, check_true]);
        assert_eq!(status(&POLICIES_RESTRICT_ROWS, &s), Status::Fail);
        db(&mut s).policies = Some(Vec::new());
        let v = eval(&POLICIES_RESTRICT_ROWS, &s, &Policy::default());
        assert_eq!(
            v.objects,
            vec!["\"public\".\"patients\" (RLS enabled, no policy)".to_string()]
        );
    }

    /// A policy on patients with `using` that reads the row or not.
    fn session_policy(roles: &[&str], reads: bool) -> crate::model::snapshot::Policy {
        let mut p = rls_policy("(CURRENT_USER IS NOT NULL)");
        p.roles = roles.iter().map(|r| (*r).to_string()).collect();
        p.reads_row = Some(PolicyReadsRow {
            using: reads,
            with_check: false,
        });
        p
    }

    fn with_policies(policies: Vec<crate::model::snapshot::Policy>) -> Snapshot {
        let mut s = with_relations(vec![rls(patients("phi_owner"))]);
        add_roles(
            &mut s,
            vec![
                login("auditor"),
                group("clinicians"),
                login("kim"),
                login("lee"),
            ],
        );
        add_memberships(&mut s, &[("clinicians", "kim"), ("clinicians", "lee")]);
        db(&mut s).policies = Some(policies);
        s
    }

    #[test]
    fn row_independent_policies_fail_for_groups_and_warn_for_one_login() {
        let key = "policy \"by_clinic\" on \"public\".\"patients\"";
        for roles in [&["PUBLIC"][..], &["clinicians"], &["auditor", "kim"]] {
            let v = eval(
                &POLICIES_RESTRICT_ROWS,
                &with_policies(vec![session_policy(roles, false)]),
                &Policy::default(),
            );
            assert_eq!(v.status, Status::Fail, "{roles:?}: {}", v.evidence);
            assert_eq!(v.objects, [key]);
            assert!(
                v.evidence
                    .contains("USING (or an OR branch of it) reads nothing of the row"),
                "{}",
                v.evidence
            );
        }
        let v = eval(
            &POLICIES_RESTRICT_ROWS,
            &with_policies(vec![session_policy(&["auditor"], false)]),
            &Policy::default(),
        );
        assert_eq!(v.status, Status::Warn, "{}", v.evidence);
        assert!(v.evidence.contains("TO auditor"), "{}", v.evidence);
        assert_eq!(v.objects, [key]);
        // The same expressions reading the row pass.
        let s = with_policies(vec![session_policy(&["PUBLIC"], true)]);
        assert_eq!(status(&POLICIES_RESTRICT_ROWS, &s), Status::Pass);
        // Without memberships a named group cannot be counted: it fails.
        let mut s = with_policies(vec![session_policy(&["auditor"], false)]);
        s.memberships = None;
        assert_eq!(status(&POLICIES_RESTRICT_ROWS, &s), Status::Fail);
    }

    #[test]
    fn commands_and_clauses_are_judged_by_what_each_expression_reads() {
        // An INSERT policy has only WITH CHECK: judged on it, not failed for a missing USING.
        let mut insert = session_policy(&["PUBLIC"], true);
        insert.command = "INSERT".into();
        insert.using = None;
        insert.with_check = Some("(clinic_id = 7)".into());
        insert.reads_row = Some(PolicyReadsRow {
            using: false,
            with_check: true,
        });
        assert_eq!(
            status(
                &POLICIES_RESTRICT_ROWS,
                &with_policies(vec![insert.clone()])
            ),
            Status::Pass
        );
        insert.with_check = Some("(CURRENT_USER = 'ingest'::name)".into());
        insert.reads_row = Some(PolicyReadsRow::default());
        let v = eval(
            &POLICIES_RESTRICT_ROWS,
            &with_policies(vec![insert]),
            &Policy::default(),
        );
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.evidence
                .contains("FOR INSERT TO PUBLIC: WITH CHECK (or an OR branch of it) reads"),
            "{}",
            v.evidence
        );
        // A DELETE policy that reads no row lets its roles delete every row.
        let mut delete = session_policy(&["PUBLIC"], false);
        delete.command = "DELETE".into();
        assert_eq!(
            status(&POLICIES_RESTRICT_ROWS, &with_policies(vec![delete])),
            Status::Fail
        );
        // Constant false admits nothing.
        let mut never = session_policy(&["PUBLIC"], false);
        never.using = Some("false".into());
        assert_eq!(
            status(&POLICIES_RESTRICT_ROWS, &with_policies(vec![never])),
            Status::Pass
        );
    }

    #[test]
    fn a_restrictive_policy_that_reads_the_row_narrows_a_row_independent_one() {
        let mut narrowing = session_policy(&["PUBLIC"], true);
        narrowing.name = "own_clinic".into();
        narrowing.permissive = false;
        narrowing.command = "ALL".into();
        let open = session_policy(&["clinicians"], false);
        let s = with_policies(vec![open.clone(), narrowing.clone()]);
        assert_eq!(status(&POLICIES_RESTRICT_ROWS, &s), Status::Pass);
        // Narrowing SELECT only leaves a permissive ALL policy open for writes.
        let mut all = open;
        all.command = "ALL".into();
        narrowing.command = "SELECT".into();
        let s = with_policies(vec![all, narrowing.clone()]);
        assert_eq!(status(&POLICIES_RESTRICT_ROWS, &s), Status::Fail);
        // A restrictive policy that reads no row narrows nothing.
        let mut vacuous = narrowing;
        vacuous.command = "ALL".into();
        vacuous.reads_row = Some(PolicyReadsRow::default());
        let s = with_policies(vec![session_policy(&["PUBLIC"], false), vacuous]);
        assert_eq!(status(&POLICIES_RESTRICT_ROWS, &s), Status::Fail);
    }

    #[test]
    fn policies_from_older_snapshots_are_unknown_unless_plainly_true() {
        let mut old = session_policy(&["PUBLIC"], false);
        old.reads_row = None;
        let v = eval(
            &POLICIES_RESTRICT_ROWS,
            &with_policies(vec![old.clone()]),
            &Policy::default(),
        );
        assert_eq!(v.status, Status::Unknown, "{}", v.evidence);
        assert!(v.evidence.contains("schema 4"), "{}", v.evidence);
        old.using = Some("true".into());
        assert_eq!(
            status(&POLICIES_RESTRICT_ROWS, &with_policies(vec![old])),
            Status::Fail
        );
    }

    #[test]
    fn login_owner_is_moved_to_a_nologin_role_with_an_exact_rollback() {
        let mut s = with_relations(vec![rls(patients(HOSTILE[0]))]);
        add_roles(&mut s, vec![login(HOSTILE[0])]);
        let v = eval(&PHI_OWNERS_CANNOT_LOG_IN, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        let plan = PHI_OWNERS_CANNOT_LOG_IN.plan(&s, &v);
        let owner = escape_identifier(HOSTILE[0]);
        assert_eq!(
            plan.statements,
            vec![
                "CREATE ROLE \"phi_owner\" NOLOGIN".to_string(),
                "ALTER TABLE \"public\".\"patients\" OWNER TO \"phi_owner\"".to_string(),
                format!("GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE \"public\".\"patients\" TO {owner}"),
            ]
        );
        assert_eq!(
            plan.rollback,
            vec![
                format!("REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLE \"public\".\"patients\" FROM {owner}"),
                format!("ALTER TABLE \"public\".\"patients\" OWNER TO {owner}"),
                "DROP ROLE \"phi_owner\"".to_string(),
            ]
        );
    }

    #[test]
    fn logins_that_can_act_as_the_owner_are_reported() {
        let mut s = with_relations(vec![rls(patients("phi_owner"))]);
        add_roles(
            &mut s,
            vec![group("phi_owner"), login("app"), login("dba_dan")],
        );
        add_memberships(&mut s, &[("phi_owner", "app"), ("phi_owner", "dba_dan")]);
        let policy = Policy {
            approved_admins: vec!["dba_dan".into()],
            ..Policy::default()
        };
        let v = eval(&PHI_OWNERS_CANNOT_LOG_IN, &s, &policy);
        assert_eq!(
            v.objects,
            vec!["\"app\" can act as owner \"phi_owner\"".to_string()]
        );
        let plan = PHI_OWNERS_CANNOT_LOG_IN.plan(&s, &v);
        assert_eq!(plan.statements, vec!["REVOKE \"phi_owner\" FROM \"app\""]);
        assert_eq!(plan.rollback, vec!["GRANT \"phi_owner\" TO \"app\""]);
    }

    /// patients owned by phi_owner, roles clinician (group), nurse (member), billing.
    fn phi_world() -> Snapshot {
        let mut s = with_relations(vec![rls(patients("phi_owner"))]);
        add_roles(
            &mut s,
            vec![
                group("phi_owner"),
                group("clinician"),
                login("nurse"),
                login("billing"),
            ],
        );
        add_memberships(&mut s, &[("clinician", "nurse")]);
        s
    }

    fn clinical() -> Policy {
        Policy {
            clinical_roles: vec!["clinician".into()],
            ..Policy::default()
        }
    }

    #[test]
    fn phi_readers_follow_groups_columns_and_public() {
        let mut s = phi_world();
        relation_mut(&mut s, 0).acl.push(acl("clinician", "r"));
        assert_eq!(
            eval(&PHI_COLUMNS_LEAST_PRIVILEGE, &s, &clinical()).status,
            Status::Pass
        );
        // Safe default without clinical_roles: the nurse counts as non-clinical.
        let v = eval(&PHI_COLUMNS_LEAST_PRIVILEGE, &s, &Policy::default());
        assert_eq!(v.status, Status::Fail);
        assert!(v.evidence.contains("lists no clinical_roles"));
        // A column grant on a non-PHI column is fine, on the PHI column it is not.
        relation_mut(&mut s, 0).columns[2]
            .acl
            .push(acl("billing", "r"));
        assert_eq!(
            eval(&PHI_COLUMNS_LEAST_PRIVILEGE, &s, &clinical()).status,
            Status::Pass
        );
        relation_mut(&mut s, 0).columns[1]
            .acl
            .push(acl("billing", "r"));
        let v = eval(&PHI_COLUMNS_LEAST_PRIVILEGE, &s, &clinical());
        assert_eq!(
            v.objects,
            vec!["\"public\".\"patients\".\"ssn\" via \"billing\"".to_string()]
        );
        let plan = PHI_COLUMNS_LEAST_PRIVILEGE.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["REVOKE SELECT (\"ssn\") ON TABLE \"public\".\"patients\" FROM \"billing\""]
        );
        // PUBLIC always fails, even with no one else to blame.
        let mut s = phi_world();
        relation_mut(&mut s, 0).acl.push(acl(PUBLIC, "r"));
        let v = eval(&PHI_COLUMNS_LEAST_PRIVILEGE, &s, &clinical());
        assert_eq!(
            v.objects,
            vec!["\"public\".\"patients\" via PUBLIC".to_string()]
        );
    }

    #[test]
    fn phi_read_fix_restores_column_grants_dropped_with_the_table_grant() {
        let mut s = phi_world();
        let rel = relation_mut(&mut s, 0);
        rel.acl.push(acl("billing", "r"));
        rel.columns[2].acl.push(acl("billing", "r"));
        let v = eval(&PHI_COLUMNS_LEAST_PRIVILEGE, &s, &clinical());
        assert_eq!(
            v.objects,
            vec!["\"public\".\"patients\" via \"billing\"".to_string()]
        );
        let plan = PHI_COLUMNS_LEAST_PRIVILEGE.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["REVOKE SELECT ON TABLE \"public\".\"patients\" FROM \"billing\""]
        );
        assert_eq!(
            plan.rollback,
            vec![
                "GRANT SELECT ON TABLE \"public\".\"patients\" TO \"billing\"",
                "GRANT SELECT (\"clinic_id\") ON TABLE \"public\".\"patients\" TO \"billing\"",
            ]
        );
    }

    #[test]
    fn phi_readers_through_noinherit_owner_membership_and_policy_tables() {
        let mut s = phi_world();
        add_roles(
            &mut s,
            vec![role("etl", |r| {
                r.can_login = true;
                r.inherit = false;
            })],
        );
        add_memberships(&mut s, &[("phi_owner", "etl")]);
        let v = eval(&PHI_COLUMNS_LEAST_PRIVILEGE, &s, &clinical());
        assert_eq!(
            v.objects,
            vec!["\"public\".\"patients\" via owner \"phi_owner\"".to_string()]
        );
        // A table listed in phi_tables counts as PHI in every column.
        let mut s = phi_world();
        let mut visits = table("visits", "phi_owner", &[("note", "text")]);
        visits.columns[0].acl.push(acl("billing", "r"));
        db(&mut s)
            .relations
            .get_or_insert_with(Vec::new)
            .push(visits);
        assert_eq!(
            eval(&PHI_COLUMNS_LEAST_PRIVILEGE, &s, &clinical()).status,
            Status::Pass
        );
        let listed = Policy {
            phi_tables: vec!["public.visits".into()],
            ..clinical()
        };
        assert_eq!(
            eval(&PHI_COLUMNS_LEAST_PRIVILEGE, &s, &listed).status,
            Status::Fail
        );
    }

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
            privilege_list("arwdDxtm", None),
            "INSERT, SELECT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, MAINTAIN"
        );
        assert_eq!(privilege_list("r?", Some("a\"b")), "SELECT (\"a\"\"b\")");
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

//! AUD-003: pgaudit.role may SELECT every PHI table of every scanned
//! database, and no SECURITY DEFINER function reads PHI past it.

use super::{pgaudit_not_loaded, pgaudit_preload};
use crate::checks::definers;
use crate::checks::facts::{
    annotated_sample, connect_grant, describe, part_missing, sample, settings_grant, value,
};
use crate::checks::login_settings::{base_setting, failing, reset_listed, SCOPE_NOTE};
use crate::checks::phi::phi_relations;
use crate::checks::privileges::{Reach, RoleGraph};
use crate::checks::{Check, Fix, Prerequisites, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity, Status};
use crate::model::snapshot::{Relation, Snapshot};
use crate::model::statement::{
    alter_system_set, restore_parameter, Grantee, PrivilegeList, PrivilegeObject, QualifiedName,
    RoleOption, Statement,
};
use crate::policy::Policy;

pub static PGAUDIT_OBJECT_ROLE: Check = Check {
    id: "AUD-003",
    section: Section::Audit,
    title: "pgAudit object auditing covers every PHI table",
    severity: Severity::Medium,
    hipaa: &["164.312(b)"],
    cis: None,
    rationale: "Session logging with the read class floods the log; object auditing logs \
        reads of exactly the tables its audit role (pgaudit.role) may SELECT, which is how \
        reads of PHI are recorded without logging everything. pgAudit asks PostgreSQL's \
        own privilege check, so grants inherited from groups, PUBLIC, ownership, \
        pg_read_all_data and superuser all count. PHI tables are found by column names and the \
        policy's phi_tables in every scanned database (the connected one, and each of \
        --all-databases: grants are per database); partitions follow their parent and \
        views their base tables. Medium: the write and DDL trail (AUD-002) exists without \
        it, but reads of PHI would go unrecorded. pgAudit does not object-audit what a \
        SECURITY DEFINER function reads when its caller is not a member of the function's \
        owner, whatever pgaudit.role may read: each such function that reads (or, with a \
        body the catalog does not show, may read) a PHI table and that a login outside the \
        owner's role can execute is named, as a warning when the audit role covers every \
        PHI table.",
    reproduce_sql: "SELECT setting FROM pg_settings WHERE name = 'pgaudit.role';\n\
        SELECT c.oid::regclass, a.grantee::regrole, a.privilege_type \
        FROM pg_class c CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a \
        WHERE c.relkind IN ('r','p','m','f') AND a.privilege_type = 'SELECT' ORDER BY 1, 2;",
    evaluate: pgaudit_object_role,
    fix: Fix::After(
        Prerequisites {
            needs_first: &["AUD-001"],
            restart_between: true,
            needs_input: None,
        },
        &Fix::Build(grant_audit_role),
    ),
};

const AUDITED_KINDS: &[&str] = &["r", "p", "m", "f"];

fn pgaudit_object_role(s: &Snapshot, policy: &Policy) -> Verdict {
    let verdict = object_role_coverage(s, policy);
    if !matches!(verdict.status, Status::Pass | Status::Fail) {
        return verdict;
    }
    let found = match unaudited_definers(s, policy) {
        Ok(found) if found.is_empty() => return verdict,
        Ok(found) => found,
        Err(_) if verdict.status == Status::Fail => return verdict,
        Err(unknown) => return unknown,
    };
    let keys: Vec<String> = found.iter().map(|(k, _)| k.clone()).collect();
    let mut found = found;
    let note = format!(
        "; {} SECURITY DEFINER function(s) read PHI for logins outside their owner's role, \
         and pgAudit does not object-audit reads inside them: {}",
        keys.len(),
        annotated_sample(&mut found, String::clone)
    );
    if verdict.status == Status::Fail {
        Verdict {
            evidence: format!("{}{note}", verdict.evidence),
            ..verdict
        }
    } else {
        Verdict::warn(format!("{}{note}", verdict.evidence)).with_objects(keys)
    }
}

/// SECURITY DEFINER functions of the connected database that read PHI and
/// that a login outside the owner's role can execute, with what they read
/// and who can call them. `Err` (unknown) when that cannot be told.
fn unaudited_definers(s: &Snapshot, policy: &Policy) -> Result<Vec<(String, String)>, Verdict> {
    let Some(db) = s.primary_database() else {
        return Ok(Vec::new());
    };
    let (Some(relations), Some(functions)) = (&db.relations, &db.functions) else {
        return Err(part_missing(s, "functions", connect_grant(s, &db.name)));
    };
    let phi_tables = definers::phi_by_name(relations, policy);
    let mut candidates = definers::definers(functions).peekable();
    if phi_tables.is_empty() || candidates.peek().is_none() {
        return Ok(Vec::new());
    }
    let (Some(roles), Some(memberships)) = (&s.roles, &s.memberships) else {
        return Err(part_missing(s, "memberships", settings_grant(s)));
    };
    let graph = RoleGraph::new(roles, memberships);
    let mut found = Vec::new();
    for f in candidates {
        let key = definers::routine_key(f);
        let reads = definers::phi_reads(f, &phi_tables).ok_or_else(|| {
            Verdict::unknown(
                format!(
                    "what SECURITY DEFINER function {key} reads is not in this snapshot \
                     (taken before schema 4): scan again"
                ),
                None,
            )
        })?;
        if reads.tables.is_empty() {
            continue;
        }
        // Superusers count as members of every role (pgAudit audits them as the owner).
        let mut callers = definers::callers_outside_owner(&graph, f, Reach::Inherited);
        callers.intersect_with(graph.logins());
        callers.subtract(graph.superusers());
        if callers.is_empty() {
            continue;
        }
        let callers: Vec<String> = graph
            .names_of(&callers)
            .into_iter()
            .map(str::to_string)
            .collect();
        found.push((
            key,
            format!(
                "owner {}; reads {}; callable by {}",
                f.owner,
                reads.describe(f),
                sample(&callers)
            ),
        ));
    }
    Ok(found)
}

/// Whether pgaudit.role may SELECT every PHI table of the connected database.
fn object_role_coverage(s: &Snapshot, policy: &Policy) -> Verdict {
    let (spl, loaded) = match pgaudit_preload(s) {
        Ok(found) => found,
        Err(unknown) => return unknown,
    };
    if !loaded {
        return pgaudit_not_loaded(spl);
    }
    // Sessions whose login defaults name another audit role (or none) are
    // judged like the server-wide value; each failing one is an object.
    let base = base_setting(s, "pgaudit.role");
    let base_role = base.as_ref().ok().map(|b| value(b).trim());
    let scoped = match failing(s, "pgaudit.role", &|v| Some(v.trim()) == base_role) {
        Ok(found) => found,
        Err(unknown) => return unknown,
    };
    let mut bad: Vec<(String, Verdict)> = Vec::new();
    for o in &scoped {
        let verdict = audit_role_verdict(s, policy, o.value.trim(), o.object());
        if verdict.status != Status::Pass {
            bad.push((o.object(), verdict));
        }
    }
    let verdict = match base {
        Ok(setting) => {
            let role_name = value(setting).trim();
            audit_role_verdict(s, policy, role_name, describe("pgaudit.role", setting))
        }
        Err(unknown) if bad.is_empty() => return unknown,
        Err(unknown) => unknown,
    };
    if bad.is_empty() {
        return match verdict.status {
            Status::Pass => Verdict::pass(format!("{}; {SCOPE_NOTE}", verdict.evidence)),
            _ => verdict,
        };
    }
    let status = if bad.iter().any(|(_, v)| v.status == Status::Fail) {
        Status::Fail
    } else {
        bad[0].1.status
    };
    let shown: Vec<String> = bad.iter().map(|(_, v)| v.evidence.clone()).collect();
    let mut objects = verdict.objects.clone();
    objects.extend(bad.iter().map(|(o, _)| o.clone()));
    let mut combined = Verdict::fail(format!(
        "{}; sessions with other login defaults: {}",
        verdict.evidence,
        shown.join("; ")
    ))
    .with_objects(objects);
    combined.status = if verdict.status == Status::Fail {
        Status::Fail
    } else {
        status
    };
    combined
}

/// The verdict for sessions whose pgaudit.role is `role_name`; `seen` says
/// where that value comes from.
fn audit_role_verdict(s: &Snapshot, policy: &Policy, role_name: &str, seen: String) -> Verdict {
    let found = scanned_phi_tables(s, policy);
    if role_name.is_empty() {
        let off = format!("{seen}: object-level auditing is off");
        return match found {
            Ok((db, phi)) => Verdict::fail(format!(
                "{off}; reads of {} PHI table(s) in {db} are not audited",
                phi.len()
            ))
            .with_objects(phi.iter().map(|(_, key)| key.clone())),
            Err(_) => Verdict::fail(off),
        };
    }
    let Some(roles) = &s.roles else {
        return part_missing(s, "roles", settings_grant(s));
    };
    let (db, phi) = match found {
        Ok(found) => found,
        Err(unknown) => return unknown,
    };
    if !roles.iter().any(|r| r.name == role_name) {
        return Verdict::fail(format!(
            "{seen}: pgaudit.role names {role_name}, which does not exist"
        ))
        .with_objects(phi.iter().map(|(_, key)| key.clone()));
    }
    if phi.is_empty() {
        return Verdict::pass(format!(
            "pgaudit.role = {role_name}; no PHI tables detected in {} (column names and policy)",
            db
        ));
    }
    let Some(memberships) = &s.memberships else {
        return part_missing(s, "memberships", settings_grant(s));
    };
    let graph = RoleGraph::new(roles, memberships);
    let Some(audit_role) = graph.index_of(role_name) else {
        return Verdict::unknown(
            format!("role {role_name} is missing from the role graph"),
            None,
        );
    };
    let can_select = |rel: &Relation| {
        graph
            .who_can_select(rel, None, Reach::Inherited)
            .contains(audit_role)
    };
    let missing: Vec<String> = phi
        .iter()
        .filter(|(rel, _)| !can_select(rel))
        .map(|(_, key)| key.clone())
        .collect();
    if missing.is_empty() {
        Verdict::pass(format!(
            "pgaudit.role = {role_name} can SELECT all {} PHI table(s) in {db}",
            phi.len()
        ))
    } else {
        Verdict::fail(format!(
            "{seen}: cannot SELECT {} of {} PHI table(s) in {db}, so reads of them are not \
             audited: {}",
            missing.len(),
            phi.len(),
            sample(&missing)
        ))
        .with_objects(missing)
    }
}

/// A PHI table and its object key.
type KeyedTable<'a> = (&'a Relation, String);

/// The PHI tables object auditing must cover in every scanned database (the
/// audit role's grants are per database, and under --all-databases a check
/// must not pass where a direct scan of one of them fails), with the names
/// of those databases. Each table comes with its object key: `schema.name`
/// in the connected database (the fix grants there), `db: schema.name` in
/// the others.
fn scanned_phi_tables<'a>(
    s: &'a Snapshot,
    policy: &'a Policy,
) -> Result<(String, Vec<KeyedTable<'a>>), Verdict> {
    if s.primary_database().is_none() {
        return Err(part_missing(
            s,
            "relations",
            connect_grant(s, &s.target.dbname),
        ));
    }
    let mut names = Vec::new();
    let mut phi = Vec::new();
    for db in &s.databases {
        let Some(relations) = &db.relations else {
            return Err(part_missing(s, "relations", connect_grant(s, &db.name)));
        };
        names.push(db.name.as_str());
        let connected = db.name == s.target.dbname;
        phi.extend(audited_phi_tables(relations, policy).map(|rel| {
            let key = if connected {
                rel.qualified_name()
            } else {
                format!("{}: {}", db.name, rel.qualified_name())
            };
            (rel, key)
        }));
    }
    Ok((names.join(", "), phi))
}

fn audited_phi_tables<'a>(
    relations: &'a [Relation],
    policy: &'a Policy,
) -> impl Iterator<Item = &'a Relation> + 'a {
    phi_relations(relations, policy)
        .filter(|r| AUDITED_KINDS.contains(&r.kind.as_str()) && !r.is_partition)
}

const DEFAULT_AUDIT_ROLE: &str = "auditor";

fn grant_audit_role(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let configured = s
        .setting("pgaudit.role")
        .map(value)
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let role = configured.unwrap_or(DEFAULT_AUDIT_ROLE);
    let mut plan = FixPlan {
        apply: vec![ApplyClass::Immediate],
        needs: "superuser".into(),
        note: format!(
            "the audit role must stay NOLOGIN: its SELECT grants only choose what pgAudit logs; \
             the grants apply in database {}",
            s.primary_database()
                .map_or("(unknown)", |d| d.name.as_str())
        ),
        ..FixPlan::default()
    };
    let exists = s
        .roles
        .as_ref()
        .is_some_and(|roles| roles.iter().any(|r| r.name == role));
    let mut undo = Vec::new();
    if !exists {
        plan.statements.push(Statement::CreateRole {
            role: role.to_string(),
            options: vec![RoleOption::Login(false)],
        });
        undo.push(Statement::DropRole {
            role: role.to_string(),
            if_exists: true,
        });
    }
    if configured.is_none() {
        plan.statements.push(alter_system_set("pgaudit.role", role));
        plan.apply.push(ApplyClass::Reload);
        undo.push(restore_parameter(s, "pgaudit.role"));
    }
    let select = || PrivilegeList::of(&["SELECT"]);
    let audit_role = || Grantee::Role(role.to_string());
    for rel in relations_named(s, &verdict.objects) {
        let on_table = || PrivilegeObject::Table(QualifiedName::of(rel));
        plan.statements
            .push(Statement::grant(select(), on_table(), audit_role(), false));
        undo.push(Statement::revoke(select(), on_table(), audit_role()));
    }
    undo.reverse();
    plan.rollback = undo;
    let functions: Vec<String> = s
        .primary_database()
        .and_then(|d| d.functions.as_deref())
        .map(|f| definers::definers(f).map(definers::routine_key).collect())
        .unwrap_or_default();
    let named: Vec<String> = functions
        .into_iter()
        .filter(|key| verdict.objects.contains(key))
        .collect();
    if !named.is_empty() {
        plan.note.push_str(&format!(
            "; no grant to the audit role covers reads inside these SECURITY DEFINER \
             functions: make them SECURITY INVOKER, or let only members of their owner's role \
             execute them (see PRIV-012): {}",
            sample(&named)
        ));
    }
    // Tables of other scanned databases need the same grants there.
    let elsewhere: Vec<String> = verdict
        .objects
        .iter()
        .filter(|o| {
            s.databases
                .iter()
                .any(|d| d.name != s.target.dbname && o.starts_with(&format!("{}: ", d.name)))
        })
        .cloned()
        .collect();
    if !elsewhere.is_empty() {
        plan.note.push_str(&format!(
            "; grant SELECT to the audit role in each other database too (connect there to \
             apply): {}",
            sample(&elsewhere)
        ));
    }
    let resets = reset_listed(s, &verdict.objects, &["pgaudit.role"]);
    if !resets.statements.is_empty() || !resets.elsewhere.is_empty() {
        plan.note = format!("{}; {}", plan.note, resets.note());
    }
    plan.statements.extend(resets.statements);
    plan.rollback.extend(resets.rollback);
    plan
}

/// The connected database's relations whose `schema.name` is listed.
fn relations_named<'a>(s: &'a Snapshot, names: &'a [String]) -> impl Iterator<Item = &'a Relation> {
    s.primary_database()
        .and_then(|d| d.relations.as_deref())
        .unwrap_or_default()
        .iter()
        .filter(move |r| names.contains(&r.qualified_name()))
}

/// `public.patient_count()`: SECURITY DEFINER, owned by `phi_owner`, reads
/// `public.patients` (pg_depend), executable by PUBLIC (the default ACL).
#[cfg(test)]
fn phi_definer() -> crate::model::snapshot::Function {
    use crate::model::snapshot::{AclItem, Function, FunctionReads};
    let execute = |grantee: &str| AclItem {
        grantee: grantee.into(),
        grantor: "phi_owner".into(),
        privileges: "X".into(),
        grantable: String::new(),
    };
    Function {
        schema: "public".into(),
        signature: "patient_count()".into(),
        owner: "phi_owner".into(),
        language: "sql".into(),
        security_definer: true,
        config: vec!["search_path=pg_catalog, pg_temp".into()],
        acl: vec![execute("PUBLIC"), execute("phi_owner")],
        reads: Some(FunctionReads {
            relations: vec!["public.patients".into()],
            from_dependencies: true,
            unseen: None,
        }),
        ..Function::default()
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::pgaudit_ready;
    use crate::checks::testkit::{db, role, table, Case};
    use crate::model::finding::Status;
    use crate::model::snapshot::AclItem;
    let mut audited = pgaudit_ready(&[("pgaudit.role", "auditor")]);
    let mut unaudited = audited.clone();
    if let Some(roles) = audited.roles.as_mut() {
        roles.push(role("auditor", |_| {}));
    }
    if let Some(roles) = unaudited.roles.as_mut() {
        roles.push(role("auditor", |_| {}));
    }
    let patients = table("patients", "phi_owner", &[("id", "int"), ("ssn", "text")]);
    let mut granted = patients.clone();
    granted.acl.push(AclItem {
        grantee: "auditor".into(),
        grantor: "phi_owner".into(),
        privileges: "r".into(),
        grantable: String::new(),
    });
    db(&mut audited).relations = Some(vec![granted]);
    db(&mut unaudited).relations = Some(vec![patients]);
    let mut definer_read = audited.clone();
    db(&mut definer_read).functions = Some(vec![phi_definer()]);
    if let Some(roles) = definer_read.roles.as_mut() {
        roles.push(role("clerk", |r| r.can_login = true));
    }
    vec![
        Case::new("AUD-003", audited.clone(), unaudited),
        Case::new("AUD-003", audited, definer_read).expect(Status::Pass, Status::Warn),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::audit::eval;
    use crate::checks::testkit::{db, role, set, table, with_settings};
    use crate::model::finding::Status;
    use crate::model::snapshot::{AclItem, Membership};
    use postgres_protocol::escape::escape_identifier;

    /// pgaudit.role = auditor reads patients; clerk (a login) may call
    /// [`phi_definer`], which reads patients as phi_owner.
    fn audited_with_definer() -> Snapshot {
        let mut s = with_settings(&[
            ("shared_preload_libraries", "pgaudit"),
            ("pgaudit.role", "auditor"),
        ]);
        db(&mut s).extensions = Some(vec![crate::model::snapshot::Extension {
            name: "pgaudit".into(),
            version: "1.7".into(),
            schema: "public".into(),
        }]);
        if let Some(roles) = s.roles.as_mut() {
            roles.push(role("auditor", |_| {}));
            roles.push(role("phi_owner", |_| {}));
            roles.push(role("clerk", |r| r.can_login = true));
        }
        let mut patients = table("patients", "phi_owner", &[("id", "int"), ("ssn", "text")]);
        patients.acl.push(AclItem {
            grantee: "auditor".into(),
            grantor: "phi_owner".into(),
            privileges: "r".into(),
            grantable: String::new(),
        });
        db(&mut s).relations = Some(vec![patients]);
        db(&mut s).functions = Some(vec![super::phi_definer()]);
        s
    }

    /// Issue 13, consistency: under --all-databases every scanned database is
    /// judged, as a direct scan of it would be; the fix grants only where it
    /// connects and names the rest.
    #[test]
    fn phi_tables_of_every_scanned_database_must_be_covered() {
        let mut s = audited_with_definer();
        db(&mut s).functions = Some(Vec::new());
        assert_eq!(eval(&PGAUDIT_OBJECT_ROLE, &s).status, Status::Pass);
        let mut archive = db(&mut s).clone();
        archive.name = "archive_2019".into();
        archive.relations = Some(vec![table(
            "old_patients",
            "phi_owner",
            &[("id", "int"), ("ssn", "text")],
        )]);
        s.databases.push(archive);
        let v = eval(&PGAUDIT_OBJECT_ROLE, &s);
        assert_eq!(v.status, Status::Fail, "{}", v.evidence);
        assert_eq!(v.objects, ["archive_2019: public.old_patients"]);
        let plan = PGAUDIT_OBJECT_ROLE.plan(&s, &v);
        assert!(
            !plan
                .statements
                .iter()
                .any(|st| st.to_string().contains("old_patients")),
            "{:?}",
            plan.statements
        );
        assert!(
            plan.note.contains("archive_2019: public.old_patients"),
            "{}",
            plan.note
        );
    }

    #[test]
    fn definer_functions_reading_phi_for_outside_callers_are_named() {
        let s = audited_with_definer();
        let v = eval(&PGAUDIT_OBJECT_ROLE, &s);
        assert_eq!(v.status, Status::Warn, "{}", v.evidence);
        assert_eq!(v.objects, ["\"public\".patient_count()"]);
        assert!(
            v.evidence.contains("pgAudit does not object-audit")
                && v.evidence.contains("callable by clerk"),
            "{}",
            v.evidence
        );
        let plan = PGAUDIT_OBJECT_ROLE.plan(&s, &v);
        assert!(plan.statements.is_empty(), "{:?}", plan.statements);
        assert!(
            plan.note.contains("SECURITY INVOKER") && plan.note.contains("patient_count()"),
            "{}",
            plan.note
        );
        // Only members of the owner's role can call it: audited as usual.
        let mut inside = s.clone();
        if let Some(f) = db(&mut inside).functions.as_mut() {
            f[0].acl.retain(|a| a.grantee != "PUBLIC");
        }
        inside.memberships = Some(vec![Membership {
            role: "phi_owner".into(),
            member: "clerk".into(),
            admin_option: false,
            inherit_option: None,
            set_option: None,
        }]);
        assert_eq!(eval(&PGAUDIT_OBJECT_ROLE, &inside).status, Status::Pass);
        // A function that reads no PHI is not named.
        let mut harmless = s.clone();
        if let Some(f) = db(&mut harmless).functions.as_mut() {
            f[0].reads = Some(crate::model::snapshot::FunctionReads::default());
        }
        assert_eq!(eval(&PGAUDIT_OBJECT_ROLE, &harmless).status, Status::Pass);
        // An older snapshot does not say what it reads: unknown, never pass.
        let mut old = s;
        if let Some(f) = db(&mut old).functions.as_mut() {
            f[0].reads = None;
        }
        assert_eq!(eval(&PGAUDIT_OBJECT_ROLE, &old).status, Status::Unknown);
    }

    fn audit_role_snapshot(role_name: &str, grantee: &str) -> Snapshot {
        let mut s = with_settings(&[
            ("shared_preload_libraries", "pgaudit"),
            ("pgaudit.role", role_name),
        ]);
        if let Some(roles) = s.roles.as_mut() {
            roles.push(role(role_name, |_| {}));
            roles.push(role("audit_group", |_| {}));
        }
        let mut t = table(role_name, "owner", &[("patient_dob", "date")]);
        t.schema = "ward".into();
        t.acl.push(AclItem {
            grantee: grantee.into(),
            grantor: "owner".into(),
            privileges: "r".into(),
            grantable: String::new(),
        });
        let mut not_phi = table("lookup", "owner", &[("code", "text")]);
        not_phi.acl.clear();
        db(&mut s).relations = Some(vec![t, not_phi]);
        s
    }

    #[test]
    fn audit_role_inherits_through_groups_unless_noinherit() {
        let mut s = audit_role_snapshot("auditor", "audit_group");
        assert_eq!(eval(&PGAUDIT_OBJECT_ROLE, &s).status, Status::Fail);
        s.memberships = Some(vec![Membership {
            role: "audit_group".into(),
            member: "auditor".into(),
            admin_option: false,
            inherit_option: Some(true),
            set_option: None,
        }]);
        assert_eq!(eval(&PGAUDIT_OBJECT_ROLE, &s).status, Status::Pass);
        if let Some(m) = s.memberships.as_mut() {
            m[0].inherit_option = Some(false);
        }
        assert_eq!(eval(&PGAUDIT_OBJECT_ROLE, &s).status, Status::Fail);
        s.memberships = None;
        assert_eq!(eval(&PGAUDIT_OBJECT_ROLE, &s).status, Status::Unknown);
    }

    #[test]
    fn audit_role_unset_or_missing_fails_and_relations_missing_is_unknown() {
        let mut s = audit_role_snapshot("auditor", "auditor");
        assert_eq!(eval(&PGAUDIT_OBJECT_ROLE, &s).status, Status::Pass);
        set(&mut s, "pgaudit.role", "");
        assert_eq!(eval(&PGAUDIT_OBJECT_ROLE, &s).status, Status::Fail);
        set(&mut s, "pgaudit.role", "ghost");
        assert!(eval(&PGAUDIT_OBJECT_ROLE, &s)
            .evidence
            .contains("does not exist"));
        let mut s = audit_role_snapshot("auditor", "auditor");
        db(&mut s).relations = None;
        assert_eq!(eval(&PGAUDIT_OBJECT_ROLE, &s).status, Status::Unknown);
    }

    #[test]
    fn audit_grant_fix_quotes_hostile_names() {
        for hostile in ["a\"; DROP ROLE x; --", "new\nline", "pätiënt_ünï"] {
            let s = audit_role_snapshot(hostile, "nobody");
            let v = eval(&PGAUDIT_OBJECT_ROLE, &s);
            assert_eq!(v.status, Status::Fail, "{hostile}");
            let plan = PGAUDIT_OBJECT_ROLE.plan(&s, &v);
            let ident = escape_identifier(hostile);
            assert_eq!(
                plan.statements,
                vec![format!("GRANT SELECT ON TABLE \"ward\".{ident} TO {ident}")]
            );
            assert_eq!(
                plan.rollback,
                vec![format!(
                    "REVOKE SELECT ON TABLE \"ward\".{ident} FROM {ident}"
                )]
            );
        }
    }

    #[test]
    fn audit_grant_fix_creates_role_and_sets_parameter_when_unset() {
        let mut s = audit_role_snapshot("auditor", "nobody");
        set(&mut s, "pgaudit.role", "");
        if let Some(roles) = s.roles.as_mut() {
            roles.retain(|r| r.name != "auditor");
        }
        let plan = PGAUDIT_OBJECT_ROLE.plan(&s, &eval(&PGAUDIT_OBJECT_ROLE, &s));
        assert_eq!(
            plan.statements,
            vec![
                "CREATE ROLE \"auditor\" NOLOGIN".to_string(),
                "ALTER SYSTEM SET \"pgaudit.role\" = 'auditor'".to_string(),
                "GRANT SELECT ON TABLE \"ward\".\"auditor\" TO \"auditor\"".to_string(),
            ]
        );
        assert_eq!(
            plan.rollback.last().map(ToString::to_string).as_deref(),
            Some("DROP ROLE IF EXISTS \"auditor\"")
        );
    }
}

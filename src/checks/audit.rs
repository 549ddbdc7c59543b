//! Guide section 5: audit trails with pgAudit and PostgreSQL logging (AUD-*).
//!
//! Owns the AUD checks, their evidence and their fix builders. Settings are
//! judged with [`super::expect`], and every role- or database-settable one
//! through [`super::login_settings`]; imports only the snapshot, the policy,
//! `facts`, `expect`, `login_settings`, `definers`, `phi` and `privileges`;
//! never `db`, `ui` or a section file.

use super::definers;
use super::expect::{expect_all, fix_settings, judge_settings, Expect};
use super::facts::{
    alter_system_set, annotated_sample, connect_grant, describe, is_off, is_on, library_listed,
    major_version, need_setting, parse_instant, part_missing, preload_statement, restore_list,
    restore_parameter, sample, settings_grant, split_list, value,
};
use super::login_settings::{
    base_setting, failing, reset_listed, sessions, Origin, SessionKind, SCOPE_NOTE,
};
use super::phi::phi_relations;
use super::privileges::{Reach, RoleGraph};
use super::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity, Status};
use crate::model::snapshot::{Relation, Setting, Snapshot};
use crate::model::statement::Statement;
use crate::policy::Policy;
use postgres_protocol::escape::escape_identifier;
use std::collections::BTreeSet;

pub static CHECKS: &[&Check] = &[
    &PGAUDIT_LOADED,
    &PGAUDIT_LOG_CLASSES,
    &PGAUDIT_OBJECT_ROLE,
    &PHI_IN_LOGS,
    &LOGGING_COLLECTOR,
    &STRUCTURED_LOG_DESTINATION,
    &SESSION_LOGGING,
    &LOG_LINE_PREFIX,
    &LOG_STATEMENT_DDL,
    &LOG_LEVELS,
    &LOG_TIMEZONE_UTC,
    &CLOCK_SKEW,
    &LOG_FILES_OUTSIDE_PGDATA,
    &LOG_REPLICATION_COMMANDS,
];

// ---------------------------------------------------------------------------
// Helpers

/// `shared_preload_libraries` and whether it loads pgaudit, or unknown.
fn pgaudit_preload(s: &Snapshot) -> Result<(&Setting, bool), Verdict> {
    let spl = need_setting(s, "shared_preload_libraries")?;
    Ok((spl, library_listed(value(spl), "pgaudit")))
}

/// Evidence that pgaudit is not loaded, so its settings mean nothing.
fn pgaudit_not_loaded(spl: &Setting) -> Verdict {
    Verdict::fail(format!(
        "pgaudit not loaded: {}; fix AUD-001 first",
        describe("shared_preload_libraries", spl)
    ))
}

// ---------------------------------------------------------------------------
// AUD-001

pub static PGAUDIT_LOADED: Check = Check {
    id: "AUD-001",
    section: Section::Audit,
    title: "pgAudit is preloaded and created in each database",
    severity: Severity::High,
    hipaa: &["164.312(b)"],
    cis: Some("3.2"),
    rationale: "Plain PostgreSQL logging cannot say which role read or changed which PHI \
        object; pgAudit can. It only works when it is in shared_preload_libraries (read at \
        start) and the extension exists in the database (its event triggers record DDL \
        objects). Without it there is no activity record for the audit-controls standard, \
        so high. Every collected database is checked, the connected one first.",
    reproduce_sql: "SELECT setting, pending_restart FROM pg_settings WHERE name = 'shared_preload_libraries';\n\
        SELECT extname, extversion FROM pg_extension WHERE extname = 'pgaudit';",
    evaluate: pgaudit_loaded,
    fix: Fix::Build(load_pgaudit),
};

fn pgaudit_loaded(s: &Snapshot, _: &Policy) -> Verdict {
    let (spl, loaded) = match pgaudit_preload(s) {
        Ok(found) => found,
        Err(unknown) => return unknown,
    };
    let seen = describe("shared_preload_libraries", spl);
    if !loaded {
        return Verdict::fail(format!("pgaudit is not in {seen}"));
    }
    let Some(primary) = s.primary_database() else {
        return part_missing(s, "extensions", connect_grant(s, &s.target.dbname));
    };
    if primary.extensions.is_none() {
        return part_missing(s, "extensions", connect_grant(s, &primary.name));
    }
    let missing = databases_without_pgaudit(s);
    if missing.is_empty() {
        Verdict::pass(format!(
            "{seen}; extension pgaudit exists in {}",
            checked_databases(s).join(", ")
        ))
    } else {
        Verdict::fail(format!(
            "{seen}, but extension pgaudit is missing in {} database(s): {}",
            missing.len(),
            missing.join(", ")
        ))
        .with_objects(missing)
    }
}

/// Databases whose extensions were collected.
fn checked_databases(s: &Snapshot) -> Vec<String> {
    s.databases
        .iter()
        .filter(|d| d.extensions.is_some())
        .map(|d| d.name.clone())
        .collect()
}

fn databases_without_pgaudit(s: &Snapshot) -> Vec<String> {
    s.databases
        .iter()
        .filter(|d| {
            d.extensions
                .as_ref()
                .is_some_and(|exts| !exts.iter().any(|e| e.name == "pgaudit"))
        })
        .map(|d| d.name.clone())
        .collect()
}

fn load_pgaudit(s: &Snapshot, _: &Verdict) -> FixPlan {
    let mut plan = FixPlan {
        needs: "superuser".into(),
        ..FixPlan::default()
    };
    let mut notes = Vec::new();
    let current = s.setting("shared_preload_libraries");
    let raw = current.map(value).unwrap_or("");
    if !library_listed(raw, "pgaudit") {
        plan.statements.push(preload_statement(s, "pgaudit"));
        plan.apply.push(ApplyClass::Restart);
        notes.push(format!(
            "keeps the libraries already listed ({}); restart the server before CREATE EXTENSION, \
             which fails until pgaudit is preloaded",
            if raw.is_empty() { "none" } else { raw }
        ));
    }
    let missing = databases_without_pgaudit(s);
    if !missing.is_empty() || plan.statements.is_empty() {
        plan.statements.push(Statement::CreateExtension {
            name: "pgaudit".into(),
        });
        plan.rollback
            .push(Statement::other("DROP EXTENSION IF EXISTS pgaudit"));
        plan.apply.push(ApplyClass::Immediate);
        if !missing.is_empty() {
            notes.push(format!(
                "run CREATE EXTENSION in each of: {}",
                missing.join(", ")
            ));
        }
    }
    if plan.apply.contains(&ApplyClass::Restart) {
        plan.rollback
            .push(restore_list(s, "shared_preload_libraries"));
    }
    plan.note = notes.join("; ");
    plan
}

// ---------------------------------------------------------------------------
// AUD-002

pub static PGAUDIT_LOG_CLASSES: Check = Check {
    id: "AUD-002",
    section: Section::Audit,
    title: "pgAudit logs DDL, role changes and writes",
    severity: Severity::High,
    hipaa: &["164.312(b)", "164.308(a)(1)(ii)(D)"],
    cis: Some("3.2"),
    rationale: "A loaded pgAudit with pgaudit.log = none (the default) records nothing. The \
        classes ddl, role and write record schema changes, privilege changes and every \
        change to data, the minimum an activity review needs; `all` with exclusions \
        (`all,-misc`) counts when those three survive. When pgAudit is not preloaded its \
        settings do not appear in pg_settings at all; that is a fail, not unknown, \
        because shared_preload_libraries shows it is absent. Every role, database and \
        function setting is judged too, together with log_min_messages and \
        pgaudit.log_client / pgaudit.log_level, which can drop a scope's audit lines before \
        they reach the log. High: without it changes to PHI leave no trace.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings \
        WHERE name IN ('shared_preload_libraries', 'pgaudit.log');",
    evaluate: pgaudit_log_classes,
    fix: Fix::Build(widen_pgaudit_log),
};

/// pgaudit.log classes as bits, in pgAudit's own vocabulary.
const AUDIT_CLASSES: &[(&str, u8)] = &[
    ("read", 1),
    ("write", 2),
    ("function", 4),
    ("role", 8),
    ("ddl", 16),
    ("misc", 32),
    ("misc_set", 64),
];
const ALL_CLASSES: u8 = 127;
const REQUIRED_CLASSES: &[&str] = &["ddl", "role", "write"];

/// The classes a pgaudit.log value enables, applied left to right as
/// pgAudit does: `all` adds every class, `-x` removes one, `none` adds none.
fn audit_classes(raw: &str) -> u8 {
    raw.split(',').fold(0u8, |bits, item| {
        let item = item.trim().to_ascii_lowercase();
        let (remove, name) = match item.strip_prefix('-') {
            Some(rest) => (true, rest.trim().to_string()),
            None => (false, item),
        };
        let class = if name == "all" {
            ALL_CLASSES
        } else {
            AUDIT_CLASSES
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(0, |(_, bit)| *bit)
        };
        if remove {
            bits & !class
        } else {
            bits | class
        }
    })
}

fn missing_classes(raw: &str) -> Vec<&'static str> {
    let bits = audit_classes(raw);
    REQUIRED_CLASSES
        .iter()
        .copied()
        .filter(|name| {
            AUDIT_CLASSES
                .iter()
                .any(|(n, bit)| n == name && bits & bit == 0)
        })
        .collect()
}

/// What decides whether a session's audit lines reach the server log: the
/// classes it audits, and the level its lines are written at (`log`, or
/// pgaudit.log_level when pgaudit.log_client is on) against log_min_messages.
const AUDIT_LINE: [&str; 4] = [
    "pgaudit.log",
    "log_min_messages",
    "pgaudit.log_client",
    "pgaudit.log_level",
];

/// What the settings after pgaudit.log are when a hand-made snapshot leaves
/// them out (the server and pgAudit defaults); a collected snapshot with
/// pgAudit loaded always has them.
const AUDIT_LINE_DEFAULTS: [&str; 4] = ["none", "warning", "off", "log"];

fn pgaudit_log_classes(s: &Snapshot, _: &Policy) -> Verdict {
    let (spl, loaded) = match pgaudit_preload(s) {
        Ok(found) => found,
        Err(unknown) => return unknown,
    };
    if !loaded {
        return pgaudit_not_loaded(spl);
    }
    let base = base_setting(s, "pgaudit.log");
    let kinds = match sessions(s, &AUDIT_LINE) {
        Ok(kinds) => kinds,
        Err(unknown) => return unknown,
    };
    // (object, wording), in the order found: the server-wide value first.
    let mut gaps: Vec<(String, String)> = Vec::new();
    let mut undecided = false;
    for kind in &kinds {
        match audit_line_gaps(s, kind) {
            Some(found) => {
                for gap in found {
                    if !gaps.iter().any(|(o, _)| *o == gap.0) {
                        gaps.push(gap);
                    }
                }
            }
            None => undecided = true,
        }
    }
    if !gaps.is_empty() {
        let wording: Vec<&str> = gaps.iter().map(|(_, w)| w.as_str()).collect();
        return Verdict::fail(wording.join("; ")).with_objects(gaps.into_iter().map(|(o, _)| o));
    }
    match base {
        Err(unknown) => unknown,
        Ok(_) if undecided => Verdict::unknown(
            "a setting that decides whether audit lines reach the log (log_min_messages, \
             pgaudit.log_client, pgaudit.log_level) is hidden by the scanner's own role or \
             database settings; scan as a role without such settings",
            None,
        ),
        Ok(setting) => Verdict::pass(format!(
            "{}; {SCOPE_NOTE}",
            describe("pgaudit.log", setting)
        )),
    }
}

/// Why one kind of session leaves no usable audit trail, as (object,
/// wording) pairs; `None` when a value it needs is hidden.
fn audit_line_gaps(s: &Snapshot, kind: &SessionKind) -> Option<Vec<(String, String)>> {
    let mut values = [""; 4];
    for (i, origin) in kind.values.iter().enumerate() {
        values[i] = match origin.value() {
            Some(v) => v,
            // pgaudit.log itself is never guessed (its absence is a gap).
            None if i > 0 && s.setting(AUDIT_LINE[i]).is_none() => AUDIT_LINE_DEFAULTS[i],
            None => return None,
        };
    }
    let [log, min_messages, client, level] = values;
    let culprit = |i: usize| match kind.values[i] {
        Origin::Override(o) => (o.object(), o.object()),
        Origin::Base(setting) => (AUDIT_LINE[i].to_string(), describe(AUDIT_LINE[i], setting)),
        Origin::Hidden => (
            AUDIT_LINE[i].to_string(),
            format!("{} = {}", AUDIT_LINE[i], values[i]),
        ),
    };
    let mut gaps = Vec::new();
    let missing = missing_classes(log);
    if audit_classes(log) == 0 {
        let (object, seen) = culprit(0);
        gaps.push((
            object,
            format!("{seen}: pgAudit is loaded but logs nothing"),
        ));
    } else if !missing.is_empty() {
        let (object, seen) = culprit(0);
        gaps.push((
            object,
            format!("{seen}: missing class(es) {}", missing.join(", ")),
        ));
    }
    // Lines are written at `log`, or at pgaudit.log_level when
    // pgaudit.log_client is on; below log_min_messages they are dropped.
    let below = |line: &str| {
        matches!(
            (level_rank(line), level_rank(min_messages)),
            (Some(line), Some(min)) if line < min
        )
    };
    let mut culprits = Vec::new();
    if below("log") {
        culprits.push(1);
    }
    if is_on(client) && below(level) {
        culprits.extend([2, 3]);
    }
    let line_level = if is_on(client) { level } else { "log" };
    for i in culprits {
        let (object, seen) = culprit(i);
        gaps.push((
            object,
            format!(
                "{seen}: audit lines (level {line_level}) fall below log_min_messages = \
                 {min_messages} and never reach the server log"
            ),
        ));
    }
    Some(gaps)
}

/// Keep the classes already logged and add the missing ones (items apply in
/// order, so appending also undoes an earlier `-ddl`); put server-wide
/// settings that silence audit lines back to their defaults; reset the
/// role, database and function settings the verdict lists.
fn widen_pgaudit_log(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let raw = s.setting("pgaudit.log").map(value).unwrap_or("");
    let new_value = if audit_classes(raw) == 0 {
        REQUIRED_CLASSES.join(",")
    } else {
        let mut items: Vec<&str> = vec![raw.trim()];
        items.extend(missing_classes(raw));
        items.join(",")
    };
    let listed =
        |name: &str| verdict.objects.is_empty() || verdict.objects.iter().any(|o| o == name);
    let mut plan = FixPlan {
        apply: vec![ApplyClass::Reload],
        needs: "superuser (ALTER SYSTEM)".into(),
        ..FixPlan::default()
    };
    for (name, fixed) in [
        ("pgaudit.log", new_value.as_str()),
        ("log_min_messages", "warning"),
        ("pgaudit.log_client", "off"),
    ] {
        if listed(name) && (name == "pgaudit.log" || !verdict.objects.is_empty()) {
            plan.statements.push(alter_system_set(name, fixed));
            plan.rollback.push(restore_parameter(s, name));
        }
    }
    let resets = reset_listed(s, &verdict.objects, &AUDIT_LINE);
    let mut notes = vec![
        "pgAudit must be preloaded first (AUD-001): ALTER SYSTEM rejects pgaudit.* settings \
         the server does not know"
            .to_string(),
    ];
    notes.push(resets.note());
    notes.retain(|n| !n.is_empty());
    plan.note = notes.join("; ");
    plan.statements.extend(resets.statements);
    plan.rollback.extend(resets.rollback);
    plan
}

// ---------------------------------------------------------------------------
// AUD-003

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
    fix: Fix::Build(grant_audit_role),
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
    let quoted_role = escape_identifier(role);
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
        plan.statements.push(Statement::other(format!(
            "CREATE ROLE {quoted_role} NOLOGIN"
        )));
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
    for rel in relations_named(s, &verdict.objects) {
        let table = format!(
            "{}.{}",
            escape_identifier(&rel.schema),
            escape_identifier(&rel.name)
        );
        plan.statements.push(Statement::other(format!(
            "GRANT SELECT ON TABLE {table} TO {quoted_role}"
        )));
        undo.push(Statement::other(format!(
            "REVOKE SELECT ON TABLE {table} FROM {quoted_role}"
        )));
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

// ---------------------------------------------------------------------------
// AUD-004

pub static PHI_IN_LOGS: Check = Check {
    id: "AUD-004",
    section: Section::Audit,
    title: "Statement logging that copies PHI into the logs is known",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(2)(iv)", "164.312(b)"],
    cis: None,
    rationale: "pgaudit.log_parameter = on, log_statement = all and \
        log_min_duration_statement >= 0 write statement text and bound values, and so \
        patient data, into the server log. That is acceptable only when the logs are \
        protected like PHI (0600 files, encrypted volume, restricted shipping), which the \
        scanner cannot see: so the result is warn, not fail, when any is on, and pass when \
        all are off. pgaudit.log_parameter counts as off when pgAudit is not loaded. Medium: \
        it widens where PHI lives rather than opening it to anyone.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings WHERE name IN \
        ('pgaudit.log_parameter', 'log_statement', 'log_min_duration_statement');",
    evaluate: phi_in_logs,
    fix: Fix::Build(quiet_phi_logging),
};

const PHI_LOGGING_RULES: &[Expect] = &[
    Expect {
        name: "pgaudit.log_parameter",
        wanted: "off",
        ok: is_off,
        fix_value: "off",
    },
    Expect {
        name: "log_statement",
        wanted: "not all",
        ok: |v| v.trim() != "all",
        fix_value: "ddl",
    },
    Expect {
        name: "log_min_duration_statement",
        wanted: "-1",
        ok: |v| v.trim().parse::<i64>().is_ok_and(|ms| ms < 0),
        fix_value: "-1",
    },
];

/// The PHI-logging rules for settings this server has (pgAudit's only when loaded).
fn phi_logging_rules(s: &Snapshot) -> Vec<Expect> {
    PHI_LOGGING_RULES
        .iter()
        .filter(|r| !r.name.starts_with("pgaudit.") || s.setting(r.name).is_some())
        .copied()
        .collect()
}

fn phi_in_logs(s: &Snapshot, _: &Policy) -> Verdict {
    let rules = phi_logging_rules(s);
    let judged = judge_settings(s, &rules);
    let mut seen = judged.seen.join("; ");
    if rules.len() < PHI_LOGGING_RULES.len() {
        seen.push_str("; pgaudit.log_parameter absent (pgAudit not loaded)");
    }
    if !judged.bad.is_empty() {
        // Role, database and function settings that log PHI, named by scope.
        let scoped: Vec<&str> = judged
            .bad
            .iter()
            .filter(|(object, _)| !rules.iter().any(|r| r.name == object))
            .map(|(_, wording)| wording.as_str())
            .collect();
        if !scoped.is_empty() {
            seen = format!("{}; {seen}", scoped.join("; "));
        }
        let names = judged.bad.iter().map(|(n, _)| n.clone());
        return Verdict::warn(format!(
            "logs may contain PHI; handle the log files as PHI: {seen}"
        ))
        .with_objects(names);
    }
    match judged.hidden {
        Some(unknown) => unknown,
        None => Verdict::pass(seen),
    }
}

fn quiet_phi_logging(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let rules = phi_logging_rules(s);
    fix_settings(
        s,
        verdict,
        &rules,
        &[ApplyClass::Reload],
        "or keep them and protect the logs as PHI (log_file_mode 0600, encrypted log \
         volume, access-controlled shipping), then record an accepted risk in the policy",
    )
}

// ---------------------------------------------------------------------------
// AUD-005

pub static LOGGING_COLLECTOR: Check = Check {
    id: "AUD-005",
    section: Section::Audit,
    title: "Server logs are captured (logging collector or syslog)",
    severity: Severity::Medium,
    hipaa: &["164.312(b)"],
    cis: Some("3.1.3"),
    rationale: "Without the logging collector, stderr output goes wherever the service \
        manager sends it and may be lost on restart; csvlog and jsonlog are not written at \
        all. Sending logs to syslog (or the Windows event log) is an accepted alternative. \
        Medium: audit records exist only if they are kept.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings \
        WHERE name IN ('logging_collector', 'log_destination');",
    evaluate: logging_collector,
    fix: Fix::SetParameter {
        name: "logging_collector",
        value: "on",
        apply: &[ApplyClass::Restart],
        note: "set log_directory outside the data directory as well (AUD-013)",
    },
};

/// Destinations that leave the host's PostgreSQL process (kept by the OS).
fn system_log_destination(destinations: &str) -> bool {
    split_list(destinations)
        .iter()
        .any(|d| d.eq_ignore_ascii_case("syslog") || d.eq_ignore_ascii_case("eventlog"))
}

fn logging_collector(s: &Snapshot, _: &Policy) -> Verdict {
    let collector = match need_setting(s, "logging_collector") {
        Ok(v) => v,
        Err(unknown) => return unknown,
    };
    let seen = describe("logging_collector", collector);
    if is_on(value(collector)) {
        return Verdict::pass(seen);
    }
    match need_setting(s, "log_destination") {
        Ok(dest) if system_log_destination(value(dest)) => Verdict::pass(format!(
            "{seen}; logs go to the system logger: {}",
            describe("log_destination", dest)
        )),
        Ok(dest) => Verdict::fail(format!(
            "{seen} and {}: log output is not kept by PostgreSQL",
            describe("log_destination", dest)
        )),
        Err(_) => Verdict::fail(format!("{seen} (log_destination not visible)")),
    }
}

// ---------------------------------------------------------------------------
// AUD-006

pub static STRUCTURED_LOG_DESTINATION: Check = Check {
    id: "AUD-006",
    section: Section::Audit,
    title: "Logs are written in a machine-readable form or to syslog",
    severity: Severity::Low,
    hipaa: &["164.312(b)", "164.308(a)(1)(ii)(D)"],
    cis: Some("3.1.2"),
    rationale: "Activity review means searching logs by user, database and time. csvlog and \
        jsonlog (PostgreSQL 15+) keep fields apart; syslog hands records to the host's log \
        pipeline. csvlog and jsonlog are written only by the logging collector, so they \
        count only when it is on. Low: plain stderr logs still hold the facts, just less \
        reliably parsed.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings \
        WHERE name IN ('log_destination', 'logging_collector');",
    evaluate: structured_log_destination,
    fix: Fix::Build(add_structured_destination),
};

fn structured_log_destination(s: &Snapshot, _: &Policy) -> Verdict {
    let dest = match need_setting(s, "log_destination") {
        Ok(v) => v,
        Err(unknown) => return unknown,
    };
    let seen = describe("log_destination", dest);
    if system_log_destination(value(dest)) {
        return Verdict::pass(seen);
    }
    let structured = split_list(value(dest))
        .iter()
        .any(|d| d.eq_ignore_ascii_case("csvlog") || d.eq_ignore_ascii_case("jsonlog"));
    if !structured {
        return Verdict::fail(format!("{seen}: no csvlog, jsonlog or syslog"));
    }
    match need_setting(s, "logging_collector") {
        Ok(c) if is_on(value(c)) => {
            Verdict::pass(format!("{seen}; {}", describe("logging_collector", c)))
        }
        Ok(c) => Verdict::fail(format!(
            "{seen}, but {}: csvlog/jsonlog files are not written without the collector",
            describe("logging_collector", c)
        )),
        Err(unknown) => unknown,
    }
}

fn add_structured_destination(s: &Snapshot, _: &Verdict) -> FixPlan {
    let format = if major_version(s).is_some_and(|m| m < 15) {
        "csvlog"
    } else {
        "jsonlog"
    };
    let mut destinations = s
        .setting("log_destination")
        .map(|d| split_list(value(d)))
        .unwrap_or_default();
    if destinations.is_empty() {
        destinations.push("stderr".into());
    }
    if !destinations.iter().any(|d| d == format) {
        destinations.push(format.into());
    }
    FixPlan {
        apply: vec![ApplyClass::Reload],
        statements: vec![alter_system_set("log_destination", &destinations.join(","))],
        rollback: vec![restore_parameter(s, "log_destination")],
        needs: "superuser (ALTER SYSTEM)".into(),
        note: format!("{format} needs logging_collector = on (AUD-005, restart)"),
        ..FixPlan::default()
    }
}

// ---------------------------------------------------------------------------
// AUD-007

pub static SESSION_LOGGING: Check = Check {
    id: "AUD-007",
    section: Section::Audit,
    title: "Connections and disconnections are logged",
    severity: Severity::Medium,
    hipaa: &["164.308(a)(5)(ii)(C)", "164.312(b)"],
    cis: Some("3.1.20–21"),
    rationale: "Log-in monitoring needs a record of who connected from where, as which role, \
        and when the session ended. Before PostgreSQL 18 log_connections is on/off; from 18 \
        it is a list of aspects (receipt, authentication, authorization, setup_durations, \
        all), where `on` still means the first three and an empty list means off. Each of \
        receipt, authentication and authorization must be logged. Medium: failed log-ins \
        are logged anyway, successful ones are not.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings \
        WHERE name IN ('log_connections', 'log_disconnections');",
    evaluate: session_logging,
    fix: Fix::Build(log_sessions),
};

/// The aspects of PostgreSQL 18's log_connections that pre-18 `on` logged.
const CONNECTION_ASPECTS: &[&str] = &["receipt", "authentication", "authorization"];

/// Whether log_connections records receipt, authentication and
/// authorization, whichever version's syntax the value uses.
fn connections_logged(v: &str) -> bool {
    if is_on(v) {
        return true;
    }
    let aspects: Vec<String> = split_list(v)
        .iter()
        .map(|a| a.to_ascii_lowercase())
        .collect();
    aspects.iter().any(|a| a == "all")
        || CONNECTION_ASPECTS
            .iter()
            .all(|wanted| aspects.iter().any(|a| a == wanted))
}

fn session_rules(s: &Snapshot) -> [Expect; 2] {
    let list_syntax = major_version(s).is_some_and(|m| m >= 18);
    [
        Expect {
            name: "log_connections",
            wanted: if list_syntax {
                "receipt,authentication,authorization"
            } else {
                "on"
            },
            ok: connections_logged,
            fix_value: if list_syntax {
                "receipt,authentication,authorization"
            } else {
                "on"
            },
        },
        Expect {
            name: "log_disconnections",
            wanted: "on",
            ok: is_on,
            fix_value: "on",
        },
    ]
}

fn session_logging(s: &Snapshot, _: &Policy) -> Verdict {
    expect_all(s, &session_rules(s))
}

fn log_sessions(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    fix_settings(
        s,
        verdict,
        &session_rules(s),
        &[ApplyClass::Reload],
        "applies to sessions started after the reload",
    )
}

// ---------------------------------------------------------------------------
// AUD-008

pub static LOG_LINE_PREFIX: Check = Check {
    id: "AUD-008",
    section: Section::Audit,
    title: "Each log line says when, which process, who, where and from which application",
    severity: Severity::Medium,
    hipaa: &["164.312(b)"],
    cis: Some("3.1.24"),
    rationale: "A log line without user, database, client and time cannot be tied to a \
        person or replayed in order during an investigation. Required escapes: a \
        millisecond timestamp (%m, or %n), the process (%p, or the session id %c), user \
        (%u), database (%d), application (%a) and client host (%h, or %r with the port). \
        Padding such as %-10u counts. Medium: the audit trail exists but is hard to use.",
    reproduce_sql:
        "SELECT setting, source, sourcefile FROM pg_settings WHERE name = 'log_line_prefix';",
    evaluate: log_line_prefix,
    fix: Fix::SetParameter {
        name: "log_line_prefix",
        value: "%m [%p] %q%u@%d app=%a client=%h ",
        apply: &[ApplyClass::Reload],
        note: "keep any extra escapes your log shipper parses",
    },
};

/// Each required field and the escapes that provide it.
const PREFIX_FIELDS: &[(&str, &[char])] = &[
    ("%m", &['m', 'n']),
    ("%p", &['p', 'c']),
    ("%u", &['u']),
    ("%d", &['d']),
    ("%a", &['a']),
    ("%h", &['h', 'r']),
];

/// The escape letters used in a log_line_prefix (`%%` is a literal percent;
/// `%-10u` is `u` with padding).
fn prefix_escapes(prefix: &str) -> BTreeSet<char> {
    let mut found = BTreeSet::new();
    let mut chars = prefix.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        let escape = chars.find(|c| *c != '-' && !c.is_ascii_digit());
        match escape {
            Some('%') | None => {}
            Some(letter) => {
                found.insert(letter);
            }
        }
    }
    found
}

fn log_line_prefix(s: &Snapshot, _: &Policy) -> Verdict {
    let setting = match need_setting(s, "log_line_prefix") {
        Ok(v) => v,
        Err(unknown) => return unknown,
    };
    let seen = describe("log_line_prefix", setting);
    let escapes = prefix_escapes(value(setting));
    let missing: Vec<&str> = PREFIX_FIELDS
        .iter()
        .filter(|(_, accepted)| !accepted.iter().any(|c| escapes.contains(c)))
        .map(|(name, _)| *name)
        .collect();
    if missing.is_empty() {
        Verdict::pass(seen)
    } else {
        Verdict::fail(format!("{seen}: missing {}", missing.join(", ")))
    }
}

// ---------------------------------------------------------------------------
// AUD-009

pub static LOG_STATEMENT_DDL: Check = Check {
    id: "AUD-009",
    section: Section::Audit,
    title: "Schema changes are logged (log_statement)",
    severity: Severity::Medium,
    hipaa: &["164.312(b)"],
    cis: Some("3.1.25"),
    rationale: "log_statement = ddl records every CREATE, ALTER and DROP, so a dropped audit \
        trigger or a widened table is visible even where pgAudit is absent; mod adds data \
        changes. `all` also records DDL and passes here; the PHI it copies into logs is \
        AUD-004's concern. none fails. Medium: DDL is how controls get switched off.",
    reproduce_sql:
        "SELECT setting, source, sourcefile FROM pg_settings WHERE name = 'log_statement';",
    evaluate: |s, _| expect_all(s, LOG_STATEMENT_RULES),
    fix: Fix::Build(|s, v| fix_settings(s, v, LOG_STATEMENT_RULES, &[ApplyClass::Reload], "")),
};

const LOG_STATEMENT_RULES: &[Expect] = &[Expect {
    name: "log_statement",
    wanted: "ddl or mod",
    ok: |v| matches!(v.trim(), "ddl" | "mod" | "all"),
    fix_value: "ddl",
}];

// ---------------------------------------------------------------------------
// AUD-010

pub static LOG_LEVELS: Check = Check {
    id: "AUD-010",
    section: Section::Audit,
    title: "Log levels keep warnings, failing statements and detail",
    severity: Severity::Low,
    hipaa: &["164.312(b)"],
    cis: Some("3.1.14–3.1.19"),
    rationale: "log_min_messages above warning hides warnings; log_min_error_statement above \
        error drops the text of failing statements (probing attempts); terse verbosity drops \
        DETAIL and HINT; the debug_print_* settings dump parse trees and plans, with \
        literal values, into the log. Every bad setting is listed. Low: they weaken the \
        trail rather than remove it.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings WHERE name IN \
        ('log_min_messages', 'log_min_error_statement', 'log_error_verbosity', \
        'debug_print_parse', 'debug_print_rewritten', 'debug_print_plan');",
    evaluate: log_levels,
    fix: Fix::Build(fix_log_levels),
};

/// Message levels from most to least verbose, as log_min_messages orders them.
const MESSAGE_LEVELS: &[&str] = &[
    "debug5", "debug4", "debug3", "debug2", "debug1", "info", "notice", "warning", "error", "log",
    "fatal", "panic",
];

fn level_rank(level: &str) -> Option<usize> {
    let level = level.trim().to_ascii_lowercase();
    let level = if level == "debug" {
        "debug2".to_string()
    } else {
        level
    };
    MESSAGE_LEVELS.iter().position(|l| *l == level)
}

fn at_most(level: &str, limit: &str) -> bool {
    matches!((level_rank(level), level_rank(limit)), (Some(a), Some(b)) if a <= b)
}

const LOG_LEVEL_RULES: &[Expect] = &[
    Expect {
        name: "log_min_messages",
        wanted: "warning or more verbose",
        ok: |v| at_most(v, "warning"),
        fix_value: "warning",
    },
    Expect {
        name: "log_min_error_statement",
        wanted: "error or more verbose",
        ok: |v| at_most(v, "error"),
        fix_value: "error",
    },
    Expect {
        name: "log_error_verbosity",
        wanted: "default or verbose",
        ok: |v| !v.trim().eq_ignore_ascii_case("terse"),
        fix_value: "default",
    },
    Expect {
        name: "debug_print_parse",
        wanted: "off",
        ok: is_off,
        fix_value: "off",
    },
    Expect {
        name: "debug_print_rewritten",
        wanted: "off",
        ok: is_off,
        fix_value: "off",
    },
    Expect {
        name: "debug_print_plan",
        wanted: "off",
        ok: is_off,
        fix_value: "off",
    },
];

fn log_levels(s: &Snapshot, _: &Policy) -> Verdict {
    expect_all(s, LOG_LEVEL_RULES)
}

fn fix_log_levels(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    fix_settings(s, verdict, LOG_LEVEL_RULES, &[ApplyClass::Reload], "")
}

// ---------------------------------------------------------------------------
// AUD-011

pub static LOG_TIMEZONE_UTC: Check = Check {
    id: "AUD-011",
    section: Section::Audit,
    title: "Log timestamps are in UTC",
    severity: Severity::Low,
    hipaa: &["164.312(b)"],
    cis: Some("3.1.26"),
    rationale: "Correlating database logs with application, firewall and OS logs during an \
        investigation needs one time zone without daylight-saving jumps. UTC and its \
        aliases (Etc/UTC, UCT, Zulu, GMT, Etc/GMT+0 …) pass; an organisation that \
        standardises on another zone records that as an accepted risk. Low.",
    reproduce_sql:
        "SELECT setting, source, sourcefile FROM pg_settings WHERE name = 'log_timezone';",
    evaluate: log_timezone_utc,
    fix: Fix::SetParameter {
        name: "log_timezone",
        value: "UTC",
        apply: &[ApplyClass::Reload],
        note: "",
    },
};

fn is_utc_zone(zone: &str) -> bool {
    let zone = zone.trim().to_ascii_lowercase();
    let zone = zone.strip_prefix("etc/").unwrap_or(&zone);
    matches!(
        zone,
        "utc" | "uct" | "zulu" | "universal" | "gmt" | "gmt0" | "gmt+0" | "gmt-0" | "greenwich"
    )
}

fn log_timezone_utc(s: &Snapshot, _: &Policy) -> Verdict {
    expect_all(
        s,
        &[Expect {
            name: "log_timezone",
            wanted: "UTC",
            ok: is_utc_zone,
            fix_value: "UTC",
        }],
    )
}

// ---------------------------------------------------------------------------
// AUD-012

pub static CLOCK_SKEW: Check = Check {
    id: "AUD-012",
    section: Section::Audit,
    title: "The server clock agrees with the scanner's clock",
    severity: Severity::Medium,
    hipaa: &["164.312(b)"],
    cis: None,
    rationale: "Audit records are only evidence if their times can be trusted and matched \
        with other systems. The server's clock_timestamp() is compared with the scanner's \
        UTC clock read when the scan starts: a skew of 1 s or more fails, less passes; a \
        scanner time without fractional seconds is taken as any instant of that second, so \
        truncation alone never fails. \
        Both clocks are compared, so run the scanner on an NTP-synchronised machine. \
        Whether the database host itself is NTP-synchronised is an OS fact the scan cannot \
        see; attest it separately. Medium.",
    reproduce_sql: "SELECT clock_timestamp(), now() - clock_timestamp() AS in_transaction_for;",
    evaluate: clock_skew,
    fix: Fix::Instructions {
        apply: &[ApplyClass::Os, ApplyClass::Manual],
        note: "enable time synchronisation on the database host (chrony or \
            systemd-timesyncd: `timedatectl set-ntp true`, check `chronyc tracking`) and on \
            the machine running the scan, then re-scan",
    },
};

/// Skew at or above this many seconds fails.
const MAX_SKEW_SECONDS: f64 = 1.0;

fn clock_skew(s: &Snapshot, _: &Policy) -> Verdict {
    let Some(server_text) = s.server_time.as_deref() else {
        return Verdict::unknown("the server clock was not read in this snapshot", None);
    };
    let (Some(server), Some(client)) = (parse_instant(server_text), parse_instant(&s.collected_at))
    else {
        return Verdict::unknown(
            format!(
                "cannot read the times: server {server_text:?}, scanner {:?}",
                s.collected_at
            ),
            None,
        );
    };
    // A time written without a fraction was truncated: the scanner's clock
    // read anywhere in [client, client + 1 s). Judge the smallest skew that
    // fits, so truncation alone never fails the check.
    let resolution = if has_fraction(&s.collected_at) {
        0.0
    } else {
        1.0
    };
    let offset = (server - client).as_seconds_f64();
    let (least, most) = skew_bounds(offset, resolution);
    let range = if resolution > 0.0 {
        format!("{least:.3}–{most:.3} s (the scanner time has whole-second resolution)")
    } else {
        format!("{least:.3} s")
    };
    let seen = format!(
        "server clock {server_text}, scanner clock {}: skew {range}",
        s.collected_at
    );
    if least < MAX_SKEW_SECONDS {
        Verdict::pass(format!(
            "{seen}; NTP synchronisation of the host must still be attested"
        ))
    } else {
        Verdict::fail(format!(
            "{seen}; server {}",
            if offset > 0.0 { "ahead" } else { "behind" }
        ))
    }
}

/// The smallest and largest |server - scanner| when the scanner's clock lies
/// in `[client, client + resolution]` and `offset` = server - client.
fn skew_bounds(offset: f64, resolution: f64) -> (f64, f64) {
    let least = if offset < 0.0 {
        -offset
    } else {
        (offset - resolution).max(0.0)
    };
    let most = offset.abs().max((offset - resolution).abs());
    (least, most)
}

fn has_fraction(rfc3339: &str) -> bool {
    rfc3339
        .split_once('T')
        .is_some_and(|(_, time)| time.contains('.'))
}

// ---------------------------------------------------------------------------
// AUD-013

pub static LOG_FILES_OUTSIDE_PGDATA: Check = Check {
    id: "AUD-013",
    section: Section::Audit,
    title: "Log files live outside the data directory and rotate",
    severity: Severity::Medium,
    hipaa: &["164.312(b)", "164.316(b)(2)(i)"],
    cis: Some("3.1.4–9"),
    rationale: "Logs inside PGDATA (a relative log_directory, or an absolute one under \
        data_directory) are copied into every base backup, share the data volume's space \
        and can be read by anyone who can read a backup. Outside it, they must also rotate \
        (log_rotation_age or log_rotation_size > 0) so they can be shipped and retained. \
        Shipping off-host and keeping them for the retention period (six years is the \
        common documentation basis) happen outside PostgreSQL and need an attestation. \
        Not applicable when the collector is off (no PostgreSQL log files). Medium.",
    reproduce_sql: "SELECT name, setting, unit, source, sourcefile FROM pg_settings WHERE name IN \
        ('logging_collector', 'log_directory', 'data_directory', 'log_rotation_age', 'log_rotation_size');",
    evaluate: log_files_outside_pgdata,
    fix: Fix::Build(move_and_rotate_logs),
};

const SUGGESTED_LOG_DIRECTORY: &str = "/var/log/postgresql";

/// True when `path` is `base` or inside it (textually, trailing slashes ignored).
fn is_within(path: &str, base: &str) -> bool {
    let path = path.trim_end_matches('/');
    let base = base.trim_end_matches('/');
    !base.is_empty() && (path == base || path.starts_with(&format!("{base}/")))
}

/// Why log files end up inside PGDATA, or `Ok(None)` when they do not.
fn logs_inside_pgdata(s: &Snapshot, log_dir: &Setting) -> Result<Option<String>, Verdict> {
    let dir = value(log_dir).trim();
    if !dir.starts_with('/') && !is_windows_absolute(dir) {
        return Ok(Some(format!(
            "{} is relative, so the files are inside the data directory",
            describe("log_directory", log_dir)
        )));
    }
    let data = need_setting(s, "data_directory")?;
    if is_within(dir, value(data)) {
        return Ok(Some(format!(
            "{} is inside {}",
            describe("log_directory", log_dir),
            describe("data_directory", data)
        )));
    }
    Ok(None)
}

fn is_windows_absolute(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.len() > 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

fn positive(setting: &Setting) -> bool {
    value(setting).trim().parse::<i64>().is_ok_and(|n| n > 0)
}

fn log_files_outside_pgdata(s: &Snapshot, _: &Policy) -> Verdict {
    let collector = match need_setting(s, "logging_collector") {
        Ok(v) => v,
        Err(unknown) => return unknown,
    };
    if !is_on(value(collector)) {
        return Verdict::not_applicable(format!(
            "{}: PostgreSQL writes no log files of its own (see AUD-005); shipping and \
             retention of stderr/syslog output are OS matters",
            describe("logging_collector", collector)
        ));
    }
    let log_dir = match need_setting(s, "log_directory") {
        Ok(v) => v,
        Err(unknown) => return unknown,
    };
    let mut problems = Vec::new();
    let mut objects = Vec::new();
    match logs_inside_pgdata(s, log_dir) {
        Err(unknown) => return unknown,
        Ok(Some(why)) => {
            problems.push(why);
            objects.push("log_directory".to_string());
        }
        Ok(None) => {}
    }
    let rotation = need_setting(s, "log_rotation_age")
        .and_then(|age| need_setting(s, "log_rotation_size").map(|size| (age, size)));
    let (age, size) = match rotation {
        Ok(found) => found,
        Err(_) if !problems.is_empty() => {
            return Verdict::fail(problems.join("; ")).with_objects(objects)
        }
        Err(unknown) => return unknown,
    };
    let rotation_seen = format!(
        "{}; {}",
        describe("log_rotation_age", age),
        describe("log_rotation_size", size)
    );
    if !positive(age) && !positive(size) {
        problems.push(format!("{rotation_seen}: logs never rotate"));
        objects.push("log_rotation_age".to_string());
    }
    if problems.is_empty() {
        Verdict::pass(format!(
            "{}; {rotation_seen}; off-host shipping and retention per policy must be attested",
            describe("log_directory", log_dir)
        ))
    } else {
        Verdict::fail(problems.join("; ")).with_objects(objects)
    }
}

fn move_and_rotate_logs(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let rules = [
        Expect {
            name: "log_directory",
            wanted: "an absolute path outside the data directory",
            ok: |_| true,
            fix_value: SUGGESTED_LOG_DIRECTORY,
        },
        Expect {
            name: "log_rotation_age",
            wanted: "> 0",
            ok: |_| true,
            fix_value: "1d",
        },
    ];
    let mut plan = fix_settings(
        s,
        verdict,
        &rules,
        &[ApplyClass::Os, ApplyClass::Reload],
        "",
    );
    plan.note = format!(
        "first create {SUGGESTED_LOG_DIRECTORY} owned by the postgres OS user with mode 0700 \
         (or choose another absolute path outside the data directory); ship the logs off-host \
         (syslog or an agent) and keep them for the retention period in your policy"
    );
    plan
}

// ---------------------------------------------------------------------------
// AUD-014

pub static LOG_REPLICATION_COMMANDS: Check = Check {
    id: "AUD-014",
    section: Section::Audit,
    title: "Replication commands are logged",
    severity: Severity::Low,
    hipaa: &["164.312(b)"],
    cis: Some("7.2"),
    rationale: "A replication connection can copy the whole cluster, PHI included \
        (pg_basebackup, a rogue standby). log_replication_commands records each \
        replication command and who ran it. Low: replication roles are rare and \
        covered by PRIV-004, this is the trail behind them.",
    reproduce_sql: "SELECT setting, source, sourcefile FROM pg_settings WHERE name = 'log_replication_commands';",
    evaluate: |s, _| expect_all(s, REPLICATION_LOGGING_RULES),
    fix: Fix::Build(|s, v| {
        fix_settings(s, v, REPLICATION_LOGGING_RULES, &[ApplyClass::Reload], "")
    }),
};

/// Physical walsenders use the server-wide value; logical walsenders start
/// in a database as a role, so role and database settings reach them.
const REPLICATION_LOGGING_RULES: &[Expect] = &[Expect {
    name: "log_replication_commands",
    wanted: "on",
    ok: is_on,
    fix_value: "on",
}];

// ---------------------------------------------------------------------------
// Tests

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
pub fn cases() -> Vec<super::testkit::Case> {
    use super::testkit::{base, db, role, set, table, with_settings, Case};
    use crate::model::finding::Status;
    use crate::model::snapshot::{AclItem, Extension};

    fn pgaudit_ready(extra: &[(&str, &str)]) -> Snapshot {
        let mut s = with_settings(&[("shared_preload_libraries", "pg_stat_statements,pgaudit")]);
        for (n, v) in extra {
            set(&mut s, n, v);
        }
        db(&mut s).extensions = Some(vec![Extension {
            name: "pgaudit".into(),
            version: "1.7".into(),
            schema: "public".into(),
        }]);
        s
    }

    let mut no_extension = pgaudit_ready(&[]);
    db(&mut no_extension).extensions = Some(Vec::new());

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

    let mut skewed = base();
    skewed.server_time = Some("2026-11-27T10:00:03Z".into());

    vec![
        Case::new("AUD-001", pgaudit_ready(&[]), no_extension),
        Case::new(
            "AUD-002",
            pgaudit_ready(&[("pgaudit.log", "all,-misc")]),
            pgaudit_ready(&[("pgaudit.log", "none")]),
        ),
        Case::new("AUD-003", audited.clone(), unaudited),
        Case::new("AUD-003", audited, definer_read).expect(Status::Pass, Status::Warn),
        Case::new(
            "AUD-004",
            pgaudit_ready(&[
                ("pgaudit.log_parameter", "off"),
                ("log_statement", "ddl"),
                ("log_min_duration_statement", "-1"),
            ]),
            pgaudit_ready(&[
                ("pgaudit.log_parameter", "on"),
                ("log_statement", "ddl"),
                ("log_min_duration_statement", "-1"),
            ]),
        )
        .expect(Status::Pass, Status::Warn),
        Case::new(
            "AUD-005",
            with_settings(&[("logging_collector", "on")]),
            with_settings(&[("logging_collector", "off"), ("log_destination", "stderr")]),
        ),
        Case::new(
            "AUD-006",
            with_settings(&[
                ("log_destination", "stderr,jsonlog"),
                ("logging_collector", "on"),
            ]),
            with_settings(&[("log_destination", "stderr"), ("logging_collector", "on")]),
        ),
        Case::new(
            "AUD-007",
            with_settings(&[("log_connections", "on"), ("log_disconnections", "on")]),
            with_settings(&[("log_connections", "off"), ("log_disconnections", "on")]),
        ),
        Case::new(
            "AUD-008",
            with_settings(&[("log_line_prefix", "%m [%p] %q%u@%d app=%a client=%h ")]),
            with_settings(&[("log_line_prefix", "%m [%p] ")]),
        ),
        Case::new(
            "AUD-009",
            with_settings(&[("log_statement", "ddl")]),
            with_settings(&[("log_statement", "none")]),
        ),
        Case::new(
            "AUD-010",
            with_settings(&[
                ("log_min_messages", "warning"),
                ("log_min_error_statement", "error"),
                ("log_error_verbosity", "default"),
                ("debug_print_parse", "off"),
                ("debug_print_rewritten", "off"),
                ("debug_print_plan", "off"),
            ]),
            with_settings(&[
                ("log_min_messages", "fatal"),
                ("log_min_error_statement", "error"),
                ("log_error_verbosity", "terse"),
                ("debug_print_parse", "off"),
                ("debug_print_rewritten", "off"),
                ("debug_print_plan", "on"),
            ]),
        ),
        Case::new(
            "AUD-011",
            with_settings(&[("log_timezone", "Etc/UTC")]),
            with_settings(&[("log_timezone", "America/New_York")]),
        ),
        Case::new("AUD-012", base(), skewed),
        Case::new(
            "AUD-013",
            with_settings(&[
                ("logging_collector", "on"),
                ("log_directory", "/var/log/postgresql"),
                ("data_directory", "/var/lib/postgresql/15/main"),
                ("log_rotation_age", "1440"),
                ("log_rotation_size", "0"),
            ]),
            with_settings(&[
                ("logging_collector", "on"),
                ("log_directory", "log"),
                ("data_directory", "/var/lib/postgresql/15/main"),
                ("log_rotation_age", "1440"),
                ("log_rotation_size", "0"),
            ]),
        ),
        Case::new(
            "AUD-014",
            with_settings(&[("log_replication_commands", "on")]),
            with_settings(&[("log_replication_commands", "off")]),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{base, db, role, set, table, with_settings};
    use super::*;
    use crate::checks::facts::set_list_statement;
    use crate::model::finding::Status;
    use crate::model::snapshot::{AclItem, Membership};

    fn eval(check: &Check, s: &Snapshot) -> Verdict {
        (check.evaluate)(s, &Policy::default())
    }

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

    #[test]
    fn lists_keep_case_and_quotes_and_find_libraries() {
        assert_eq!(
            split_list(r#" pg_stat_statements, "My Lib", "a""b" ,, "#),
            vec!["pg_stat_statements", "My Lib", "a\"b"]
        );
        assert!(split_list("").is_empty());
        assert!(library_listed("$libdir/pgaudit.so", "pgaudit"));
        assert!(library_listed("\"PGAUDIT\"", "pgaudit"));
        assert!(!library_listed("pgaudit_extra, set_user", "pgaudit"));
    }

    #[test]
    fn preload_fix_appends_one_literal_per_library() {
        let s = with_settings(&[("shared_preload_libraries", "pg_stat_statements, \"My Lib\"")]);
        let v = eval(&PGAUDIT_LOADED, &s);
        assert_eq!(v.status, Status::Fail);
        let plan = PGAUDIT_LOADED.plan(&s, &v);
        assert_eq!(
            plan.statements[0],
            "ALTER SYSTEM SET \"shared_preload_libraries\" = 'pg_stat_statements', 'My Lib', 'pgaudit'"
        );
        assert!(plan
            .statements
            .iter()
            .any(|st| st == "CREATE EXTENSION IF NOT EXISTS pgaudit"));
        assert!(plan.apply.contains(&ApplyClass::Restart));
        assert_eq!(
            plan.rollback,
            vec![
                "DROP EXTENSION IF EXISTS pgaudit".to_string(),
                "ALTER SYSTEM RESET \"shared_preload_libraries\"".to_string()
            ]
        );
    }

    /// Read back the literals of `ALTER SYSTEM SET name = 'a', E'b\\c'`.
    fn literals_of(statement: &str) -> Option<Vec<String>> {
        let (_, list) = statement.split_once(" = ")?;
        let mut items = Vec::new();
        let mut chars = list.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
                chars.next();
            }
            let Some(first) = chars.next() else {
                return Some(items);
            };
            let backslashes = first == 'E';
            if backslashes && chars.next() != Some('\'') || !backslashes && first != '\'' {
                return None;
            }
            let mut item = String::new();
            loop {
                match chars.next()? {
                    '\'' if chars.peek() == Some(&'\'') => {
                        chars.next();
                        item.push('\'');
                    }
                    '\'' => break,
                    '\\' if backslashes => item.push(chars.next()?),
                    c => item.push(c),
                }
            }
            items.push(item);
        }
    }

    proptest::proptest! {
        #[test]
        fn list_statements_quote_every_element(items in proptest::collection::vec(".+", 1..5)) {
            let statement = set_list_statement("shared_preload_libraries", &items);
            proptest::prop_assert_eq!(literals_of(&statement.to_string()), Some(items));
        }
    }

    #[test]
    fn hostile_library_names_stay_inside_literals() {
        let s = with_settings(&[(
            "shared_preload_libraries",
            "\"a'; DROP ROLE x; --\", \"new\nline\", ünï\\code",
        )]);
        let plan = load_pgaudit(&s, &eval(&PGAUDIT_LOADED, &s));
        assert_eq!(
            literals_of(&plan.statements[0].to_string()),
            Some(vec![
                "a'; DROP ROLE x; --".to_string(),
                "new\nline".to_string(),
                "ünï\\code".to_string(),
                "pgaudit".to_string()
            ])
        );
    }

    #[test]
    fn preload_rollback_restores_auto_conf_list() {
        let mut s = base();
        super::super::testkit::set_from(
            &mut s,
            "shared_preload_libraries",
            "pg_stat_statements",
            "configuration file",
            Some("/d/postgresql.auto.conf"),
        );
        let plan = load_pgaudit(&s, &eval(&PGAUDIT_LOADED, &s));
        assert!(
            plan.rollback
                .iter()
                .any(|st| st
                    == "ALTER SYSTEM SET \"shared_preload_libraries\" = 'pg_stat_statements'")
        );
    }

    #[test]
    fn extensions_not_collected_is_unknown() {
        let mut s = with_settings(&[("shared_preload_libraries", "pgaudit")]);
        db(&mut s).extensions = None;
        assert_eq!(eval(&PGAUDIT_LOADED, &s).status, Status::Unknown);
        let mut hidden = base();
        hidden.settings = None;
        assert_eq!(eval(&PGAUDIT_LOADED, &hidden).status, Status::Unknown);
    }

    #[test]
    fn pgaudit_log_class_arithmetic() {
        assert!(missing_classes("ddl,role,write").is_empty());
        assert!(missing_classes("ALL").is_empty());
        assert!(missing_classes("all, -misc, -read").is_empty());
        assert_eq!(missing_classes("all,-ddl"), vec!["ddl"]);
        assert_eq!(missing_classes("none"), vec!["ddl", "role", "write"]);
        assert_eq!(missing_classes("read,ddl"), vec!["role", "write"]);
        assert_eq!(missing_classes("all,-ddl,ddl"), Vec::<&str>::new());
    }

    #[test]
    fn pgaudit_settings_without_the_library_fail_not_unknown() {
        // pg_settings shows no pgaudit.* rows when pgAudit is not preloaded.
        let s = with_settings(&[("shared_preload_libraries", "")]);
        let v = eval(&PGAUDIT_LOG_CLASSES, &s);
        assert_eq!(v.status, Status::Fail);
        assert!(v.evidence.contains("pgaudit not loaded"));
        // Loaded but the row is hidden: unknown with a grant.
        let s = with_settings(&[("shared_preload_libraries", "pgaudit")]);
        let v = eval(&PGAUDIT_LOG_CLASSES, &s);
        assert_eq!(v.status, Status::Unknown);
        assert!(v.grant.is_some());
        // Loaded and logging nothing.
        let s = with_settings(&[
            ("shared_preload_libraries", "pgaudit"),
            ("pgaudit.log", "none"),
        ]);
        assert!(eval(&PGAUDIT_LOG_CLASSES, &s)
            .evidence
            .contains("logs nothing"));
    }

    #[test]
    fn pgaudit_log_fix_keeps_existing_classes() {
        let s = with_settings(&[
            ("shared_preload_libraries", "pgaudit"),
            ("pgaudit.log", "read,-x"),
        ]);
        let plan = widen_pgaudit_log(&s, &eval(&PGAUDIT_LOG_CLASSES, &s));
        assert_eq!(
            plan.statements,
            vec!["ALTER SYSTEM SET \"pgaudit.log\" = 'read,-x,ddl,role,write'"]
        );
        let s = with_settings(&[
            ("shared_preload_libraries", "pgaudit"),
            ("pgaudit.log", "none"),
        ]);
        let plan = widen_pgaudit_log(&s, &eval(&PGAUDIT_LOG_CLASSES, &s));
        assert_eq!(
            plan.statements,
            vec!["ALTER SYSTEM SET \"pgaudit.log\" = 'ddl,role,write'"]
        );
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

    #[test]
    fn phi_logging_warns_per_setting_and_ignores_absent_pgaudit() {
        let s = with_settings(&[
            ("log_statement", "ddl"),
            ("log_min_duration_statement", "-1"),
        ]);
        let v = eval(&PHI_IN_LOGS, &s);
        assert_eq!(v.status, Status::Pass);
        assert!(v.evidence.contains("pgAudit not loaded"));
        let s = with_settings(&[
            ("log_statement", "all"),
            ("log_min_duration_statement", "0"),
        ]);
        let v = eval(&PHI_IN_LOGS, &s);
        assert_eq!(v.status, Status::Warn);
        assert_eq!(
            v.objects,
            vec!["log_min_duration_statement", "log_statement"]
        );
        let plan = PHI_IN_LOGS.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec![
                "ALTER SYSTEM SET \"log_statement\" = 'ddl'",
                "ALTER SYSTEM SET \"log_min_duration_statement\" = '-1'"
            ]
        );
        let s = with_settings(&[("log_statement", "ddl")]);
        assert_eq!(eval(&PHI_IN_LOGS, &s).status, Status::Unknown);
    }

    #[test]
    fn csvlog_without_collector_writes_nothing() {
        let s = with_settings(&[("log_destination", "csvlog"), ("logging_collector", "off")]);
        assert_eq!(eval(&STRUCTURED_LOG_DESTINATION, &s).status, Status::Fail);
        let s = with_settings(&[("log_destination", "syslog"), ("logging_collector", "off")]);
        assert_eq!(eval(&STRUCTURED_LOG_DESTINATION, &s).status, Status::Pass);
        assert_eq!(eval(&LOGGING_COLLECTOR, &s).status, Status::Pass);
        let mut old = with_settings(&[("log_destination", "stderr")]);
        old.target.server_version_num = Some(140010);
        let plan = add_structured_destination(&old, &eval(&STRUCTURED_LOG_DESTINATION, &old));
        assert_eq!(
            plan.statements,
            vec!["ALTER SYSTEM SET \"log_destination\" = 'stderr,csvlog'"]
        );
    }

    #[test]
    fn pg18_log_connections_is_a_list() {
        for (v, ok) in [
            ("on", true),
            ("off", false),
            ("", false),
            ("all", true),
            ("receipt,authentication,authorization", true),
            (
                "authentication, receipt, authorization,setup_durations",
                true,
            ),
            ("authentication", false),
            ("receipt,authorization", false),
        ] {
            assert_eq!(connections_logged(v), ok, "{v:?}");
        }
        let mut s = with_settings(&[
            ("log_connections", "authentication"),
            ("log_disconnections", "on"),
        ]);
        s.target.server_version_num = Some(180001);
        let v = eval(&SESSION_LOGGING, &s);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(
            SESSION_LOGGING.plan(&s, &v).statements,
            vec!["ALTER SYSTEM SET \"log_connections\" = 'receipt,authentication,authorization'"]
        );
    }

    #[test]
    fn log_line_prefix_escapes_are_parsed() {
        let e = prefix_escapes("%%m %-10u %5d %a %r %c %n");
        assert!(!e.contains(&'m'));
        for c in ['u', 'd', 'a', 'r', 'c', 'n'] {
            assert!(e.contains(&c), "{c}");
        }
        let s = with_settings(&[("log_line_prefix", "%n %c %-10u %d %a %r ")]);
        assert_eq!(eval(&LOG_LINE_PREFIX, &s).status, Status::Pass);
        let s = with_settings(&[("log_line_prefix", "%%m %p %u %d %a %h")]);
        let v = eval(&LOG_LINE_PREFIX, &s);
        assert!(v.evidence.ends_with("missing %m"), "{}", v.evidence);
    }

    #[test]
    fn log_levels_list_every_bad_setting() {
        let s = with_settings(&[
            ("log_min_messages", "log"),
            ("log_min_error_statement", "fatal"),
            ("log_error_verbosity", "verbose"),
            ("debug_print_parse", "on"),
            ("debug_print_rewritten", "off"),
            ("debug_print_plan", "off"),
        ]);
        let v = eval(&LOG_LEVELS, &s);
        assert_eq!(
            v.objects,
            vec![
                "debug_print_parse",
                "log_min_error_statement",
                "log_min_messages"
            ]
        );
        assert!(v.evidence.starts_with("3 of 6"));
        assert!(at_most("DEBUG", "warning"));
        assert!(!at_most("log", "error"));
        assert!(!at_most("bogus", "error"));
    }

    #[test]
    fn clock_skew_reads_both_formats_and_is_unknown_without_times() {
        assert!(parse_instant("2026-11-27 09:55:00.123+00").is_some());
        assert!(parse_instant("2026-11-27 15:25:00+05:30").is_some());
        assert!(parse_instant("2026-11-27 15:25:00+0530").is_some());
        assert!(parse_instant("2026-11-27 04:25:00-0530").is_some());
        assert!(parse_instant("yesterday").is_none());
        let mut s = base();
        s.server_time = Some("2026-11-27 09:59:59.5+00".into());
        let v = eval(&CLOCK_SKEW, &s);
        assert_eq!(v.status, Status::Pass);
        assert!(v.evidence.contains("skew 0.500–1.500 s"), "{}", v.evidence);
        s.server_time = Some("2026-11-27T10:00:01.9Z".into());
        assert_eq!(eval(&CLOCK_SKEW, &s).status, Status::Pass);
        s.collected_at = "2026-11-27T10:00:00.000Z".into();
        let v = eval(&CLOCK_SKEW, &s);
        assert_eq!(v.status, Status::Fail);
        assert!(v.evidence.contains("skew 1.900 s"), "{}", v.evidence);
        s.collected_at = "2026-11-27T10:00:00Z".into();
        s.server_time = Some("2026-11-27T09:59:58Z".into());
        assert_eq!(eval(&CLOCK_SKEW, &s).status, Status::Fail);
        s.server_time = None;
        assert_eq!(eval(&CLOCK_SKEW, &s).status, Status::Unknown);
        s.server_time = Some("2026-11-27T10:00:00Z".into());
        s.collected_at = String::new();
        assert_eq!(eval(&CLOCK_SKEW, &s).status, Status::Unknown);
    }

    #[test]
    fn log_directory_under_data_directory_fails() {
        let mut s = with_settings(&[
            ("logging_collector", "on"),
            ("log_directory", "/var/lib/postgresql/15/main/pg_log/"),
            ("data_directory", "/var/lib/postgresql/15/main"),
            ("log_rotation_age", "0"),
            ("log_rotation_size", "0"),
        ]);
        assert_eq!(eval(&LOG_FILES_OUTSIDE_PGDATA, &s).status, Status::Fail);
        set(&mut s, "log_directory", "/var/lib/postgresql/15/main2");
        let v = eval(&LOG_FILES_OUTSIDE_PGDATA, &s);
        assert!(v.evidence.contains("never rotate"), "{}", v.evidence);
        set(&mut s, "log_rotation_size", "10240");
        assert_eq!(eval(&LOG_FILES_OUTSIDE_PGDATA, &s).status, Status::Pass);
        set(&mut s, "logging_collector", "off");
        assert_eq!(
            eval(&LOG_FILES_OUTSIDE_PGDATA, &s).status,
            Status::NotApplicable
        );
        let s = with_settings(&[("logging_collector", "on"), ("log_directory", "/srv/log")]);
        assert_eq!(eval(&LOG_FILES_OUTSIDE_PGDATA, &s).status, Status::Unknown);
    }

    #[test]
    fn utc_aliases() {
        for z in [
            "UTC",
            "Etc/UTC",
            "etc/uct",
            "Zulu",
            "GMT",
            "Etc/GMT+0",
            "Universal",
        ] {
            assert!(is_utc_zone(z), "{z}");
        }
        for z in ["Europe/London", "EST", "Etc/GMT+5", ""] {
            assert!(!is_utc_zone(z), "{z}");
        }
    }
}

//! PRIV-012: SECURITY DEFINER functions pin a search_path ending with pg_temp,
//! are not executable by PUBLIC and lend no owner's rights over PHI to ordinary logins.

use super::approved::Approved;
use super::keys::Listed;
use super::scoped::{per_database, primary_part, with_other_databases};
use super::{missing_facts_plan, need_graph, sorted};
use crate::checks::definers::{self, routine_key};
use crate::checks::facts::{annotated_sample, push_identifier, sample};
use crate::checks::privileges::{FastMap, Reach, RoleGraph, RoleSet, PUBLIC};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::settings::split_list;
use crate::model::snapshot::{AclItem, Function, Relation, Role, Snapshot};
use crate::model::statement::{
    routine_signature, Grantee, PrivilegeList, PrivilegeObject, SearchPath, Statement,
};
use crate::policy::Policy;

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
                plan.statements.push(Statement::RoutineSearchPath {
                    routine: routine.clone(),
                    path: Some(SearchPath::Safe),
                });
                plan.rollback.push(Statement::RoutineSearchPath {
                    routine: routine.clone(),
                    path: old.map(SearchPath::Schemas),
                });
            }
            revoke_public = public_executes(f);
        }
        let execute = || PrivilegeList::of(&["EXECUTE"]);
        let on_routine = || PrivilegeObject::Routine(routine.clone());
        for item in via {
            if item.grantee == PUBLIC {
                revoke_public = true;
                continue;
            }
            let grantee = Grantee::Role(item.grantee.clone());
            let option = item.grantable.contains('X');
            plan.statements
                .push(Statement::revoke(execute(), on_routine(), grantee.clone()));
            plan.rollback
                .push(Statement::grant(execute(), on_routine(), grantee, option));
        }
        if revoke_public {
            plan.statements
                .push(Statement::revoke(execute(), on_routine(), Grantee::Public));
            plan.rollback.push(Statement::grant(
                execute(),
                on_routine(),
                Grantee::Public,
                false,
            ));
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
    safe_argument_list(args).then(|| routine_signature(schema, name, args))
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

/// A safe-path definer owned by postgres that `clinicians` may execute and
/// that reads `public.patients` (seen through its dependencies).
#[cfg(test)]
fn clinicians_read_patients() -> crate::model::snapshot::Function {
    use super::fixtures::{acl, definer};
    use crate::model::snapshot::FunctionReads;
    let mut f = definer(&["search_path=pg_catalog, pg_temp"], false);
    f.owner = "postgres".into();
    f.acl = vec![acl("postgres", "X"), acl("clinicians", "X")];
    f.reads = Some(FunctionReads {
        relations: vec!["public.patients".into()],
        from_dependencies: true,
        unseen: None,
    });
    f
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::*;
    use crate::checks::testkit::{base, db, Case};

    let mut cases = Vec::new();
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
    let mut f = clinicians_read_patients();
    db(&mut bad).functions = Some(vec![f.clone()]);
    let mut good = bad.clone();
    f.acl.pop();
    db(&mut good).functions = Some(vec![f]);
    cases.push(Case::new("PRIV-012", good, bad));
    cases
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::checks::testkit::{base, db, role};
    use crate::model::finding::Status;
    use crate::model::snapshot::FunctionReads;
    use postgres_protocol::escape::escape_identifier;

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
        assert_eq!(SearchPath::Schemas(vec![String::new()]).to_string(), "''");
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
        let f = clinicians_read_patients();
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
}

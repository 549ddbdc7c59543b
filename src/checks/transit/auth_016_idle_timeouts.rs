//! AUTH-016: whether every personal login role ends up with non-zero idle
//! timeouts, resolved per role and database the way PostgreSQL resolves them.

use super::{is_human, role_plan, roles, to_ms};
use crate::checks::facts::{describe, is_not_applicable, listing, major_version, settle, value};
use crate::checks::login_settings::{self, Layer, Origin, PerRole};
use crate::checks::managed;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::{Role, Snapshot};
use crate::model::statement::{
    alter_system_set, restore_parameter, DefaultScope, RoleRef, Statement,
};
use crate::policy::Policy;

pub static IDLE_TIMEOUTS: Check = Check {
    id: "AUTH-016",
    section: Section::Transit,
    title: "Idle personal sessions are logged off",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(2)(iii)"],
    cis: None,
    rationale: "Automatic logoff: a session left open on an unattended workstation gives the \
        next person PHI access under someone else's name. idle_session_timeout (PostgreSQL \
        14+) and idle_in_transaction_session_timeout must be above zero for every personal \
        login role, as resolved the way PostgreSQL does: role-in-database, then role, then \
        database, then ALTER ROLE ALL, then server setting, counting only databases the \
        role can connect to. Service accounts are left out (pools keep idle \
        connections on purpose). Before 14 idle sessions cannot be ended by the server, \
        which gives `warn` at best. An addressable specification, so medium.",
    reproduce_sql:
        "SELECT name, setting, source FROM pg_settings WHERE name IN \
        ('idle_session_timeout', 'idle_in_transaction_session_timeout'); \
        SELECT d.datname, r.rolname, s.setconfig FROM pg_db_role_setting s \
        LEFT JOIN pg_database d ON d.oid = s.setdatabase LEFT JOIN pg_roles r ON r.oid = s.setrole;",
    evaluate: |s, p| settle(idle_timeouts(s, p)),
    fix: Fix::Build(idle_timeouts_plan),
};

const IDLE_PARAMETERS: [&str; 2] = [
    "idle_in_transaction_session_timeout",
    "idle_session_timeout",
];
const IDLE_FIX_VALUE: &str = "15min";

/// One role whose effective timeout is zero, and where that zero comes from.
struct IdleGap {
    role: String,
    parameter: &'static str,
    /// Fix in this database only (the zero is a role-in-database setting).
    database: Option<String>,
    /// The role-level value the fix replaces, to restore on rollback.
    previous: Option<String>,
    object: String,
}

/// The zero timeouts `role` ends up with, one per scope that gives it one,
/// resolved by [`login_settings::PerRole`].
fn idle_gaps(resolver: &PerRole, parameter: &'static str, role: &str) -> Vec<IdleGap> {
    let mut gaps: Vec<IdleGap> = Vec::new();
    for (database, origin) in resolver.values(role) {
        let value = origin.value().unwrap_or_default();
        if to_ms(value, "ms").is_some_and(|ms| ms > 0.0) {
            continue;
        }
        let (source, fix_db, previous) = match origin {
            Origin::Override(o) => (
                o.layer.source(),
                o.database.filter(|_| o.layer == Layer::DatabaseUser),
                matches!(o.layer, Layer::DatabaseUser | Layer::User).then_some(value),
            ),
            _ => ("server-wide", None, None),
        };
        let object = format!(
            "role={role} database={} {parameter}={value} ({source})",
            database.unwrap_or("*")
        );
        if gaps.iter().any(|g| g.object == object) {
            continue;
        }
        gaps.push(IdleGap {
            role: role.to_string(),
            parameter,
            database: fix_db.map(str::to_string),
            previous: previous.map(str::to_string),
            object,
        });
    }
    gaps
}

/// The parameters this server has, with their server-wide values.
fn idle_parameters(s: &Snapshot) -> Result<Vec<(&'static str, &str, String)>, Verdict> {
    let mut found = Vec::new();
    for parameter in IDLE_PARAMETERS {
        // idle_session_timeout does not exist before 14: judge what exists.
        let setting = match login_settings::base_setting(s, parameter) {
            Err(absent) if is_not_applicable(&absent) => continue,
            found => found?,
        };
        found.push((parameter, value(setting), describe(parameter, setting)));
    }
    Ok(found)
}

/// A server-wide idle parameter: name, live value and its description.
type ServerIdle<'a> = (&'static str, &'a str, String);

fn all_idle_gaps<'a>(
    s: &'a Snapshot,
    people: &[&'a Role],
) -> Result<(Vec<IdleGap>, Vec<ServerIdle<'a>>), Verdict> {
    let parameters = idle_parameters(s)?;
    let mut gaps = Vec::new();
    for (parameter, _, _) in &parameters {
        let resolver = PerRole::new(s, parameter)?;
        for role in people {
            gaps.extend(idle_gaps(&resolver, parameter, &role.name));
        }
    }
    Ok((gaps, parameters))
}

/// Marker object: no personal role exists and a server-wide value is zero.
const SERVER_WIDE: &str = "server-wide";

fn idle_timeouts(s: &Snapshot, policy: &Policy) -> Result<Verdict, Verdict> {
    let roles = roles(s)?;
    let provider = managed::detect(s);
    let people: Vec<&Role> = roles
        .iter()
        .filter(|r| is_human(r, policy, provider))
        .collect();
    let (gaps, parameters) = all_idle_gaps(s, &people)?;
    let seen = parameters
        .iter()
        .map(|(_, _, d)| d.clone())
        .collect::<Vec<_>>()
        .join("; ");
    if people.is_empty() {
        // No personal role yet: judge the server-wide values future roles inherit.
        let zero = parameters
            .iter()
            .any(|(_, v, _)| to_ms(v, "ms").is_none_or(|ms| ms <= 0.0));
        return Ok(if zero {
            Verdict::fail(format!("no personal login roles yet; {seen}"))
                .with_objects(vec![SERVER_WIDE.to_string()])
        } else {
            Verdict::pass(format!("no personal login roles yet; {seen}"))
        });
    }
    let objects: Vec<String> = gaps.into_iter().map(|g| g.object).collect();
    if !objects.is_empty() {
        return Ok(Verdict::fail(format!(
            "{seen}; {} personal role setting(s) never time out: {}",
            objects.len(),
            listing(&objects)
        ))
        .with_objects(objects));
    }
    if let Some(major) = major_version(s).filter(|m| *m < 14) {
        return Ok(Verdict::warn(format!(
            "{seen}; PostgreSQL {major} cannot end idle sessions (idle_session_timeout arrived in 14)"
        )));
    }
    Ok(Verdict::pass(format!(
        "{seen}; all {} personal login role(s) time out; {}",
        people.len(),
        login_settings::SCOPE_NOTE
    )))
}

fn idle_timeouts_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    if verdict.objects.iter().any(|o| o == SERVER_WIDE) {
        let mut plan = FixPlan {
            apply: vec![ApplyClass::Reload],
            needs: "superuser (ALTER SYSTEM)".into(),
            note: "sets the server-wide values; give service accounts their own value with \
                ALTER ROLE … SET"
                .into(),
            ..FixPlan::default()
        };
        for parameter in IDLE_PARAMETERS {
            if s.setting(parameter).is_some() {
                plan.statements
                    .push(alter_system_set(parameter, IDLE_FIX_VALUE));
                plan.rollback.push(restore_parameter(s, parameter));
            }
        }
        return plan;
    }
    let everyone: Vec<&Role> = s
        .roles
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .filter(|r| r.can_login)
        .collect();
    let gaps = all_idle_gaps(s, &everyone)
        .map(|(g, _)| g)
        .unwrap_or_default();
    let mut statements = Vec::new();
    let mut rollback = Vec::new();
    let listed = verdict.object_set();
    for gap in gaps.iter().filter(|g| listed.contains(g.object.as_str())) {
        let setting = |value: Option<&str>| Statement::SessionDefault {
            scope: DefaultScope::Role {
                role: RoleRef::named(&gap.role),
                database: gap.database.clone(),
            },
            parameter: gap.parameter.to_string(),
            value: value.map(str::to_string),
        };
        statements.push(setting(Some(IDLE_FIX_VALUE)));
        rollback.push(setting(gap.previous.as_deref()));
    }
    statements.dedup();
    rollback.dedup();
    role_plan(
        statements,
        rollback,
        "applies to sessions started afterwards; 15 minutes matches common workstation \
         lock policies",
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::with_idle;
    use crate::checks::testkit::Case;
    vec![Case::new(
        "AUTH-016",
        with_idle(&[
            ("idle_session_timeout", "900000"),
            ("idle_in_transaction_session_timeout", "900000"),
        ]),
        with_idle(&[
            ("idle_session_timeout", "0"),
            ("idle_in_transaction_session_timeout", "900000"),
        ]),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::transit::fixtures::*;
    use crate::model::finding::Status;
    use crate::model::snapshot::RoleSetting;

    #[test]
    fn idle_timeouts_resolve_role_and_database_layers() {
        let mut s = with_idle(&[
            ("idle_session_timeout", "900000"),
            ("idle_in_transaction_session_timeout", "900000"),
        ]);
        s.role_settings = Some(vec![
            RoleSetting {
                database: Some("reports".into()),
                role: Some("alice".into()),
                config: vec!["idle_session_timeout=0".into()],
            },
            RoleSetting {
                database: Some("clinic".into()),
                role: None,
                config: vec!["idle_in_transaction_session_timeout=0".into()],
            },
            RoleSetting {
                database: None,
                role: Some("alice".into()),
                config: vec!["idle_in_transaction_session_timeout=5min".into()],
            },
        ]);
        let v = run(&IDLE_TIMEOUTS, &s);
        assert_eq!(v.status, Status::Fail);
        // The role setting overrides the database-wide zero; the role-in-database zero wins.
        assert_eq!(
            v.objects,
            vec!["role=alice database=reports idle_session_timeout=0 (database user)".to_string()]
        );
        let plan = IDLE_TIMEOUTS.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["ALTER ROLE \"alice\" IN DATABASE \"reports\" SET \"idle_session_timeout\" = '15min'"]
        );
        assert_eq!(
            plan.rollback,
            vec!["ALTER ROLE \"alice\" IN DATABASE \"reports\" SET \"idle_session_timeout\" = '0'"]
        );
    }
}

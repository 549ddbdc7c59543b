//! Login defaults: the value a parameter has when a session starts, for
//! every kind of session the cluster's login roles can start, resolved the
//! way PostgreSQL resolves it. Every check that judges a parameter a role, a
//! database or a function can override decides through this module, so that
//! `ALTER ROLE app SET pgaudit.log = 'none'` cannot hide behind a good
//! `postgresql.conf`.
//!
//! PostgreSQL applies, highest first: a function's `SET` clause while it runs
//! (`pg_proc.proconfig`); `ALTER ROLE r IN DATABASE d SET`; `ALTER ROLE r
//! SET`; `ALTER DATABASE d SET`; `ALTER ROLE ALL SET` (source `global`, which
//! also beats postgresql.auto.conf, so an ALTER SYSTEM fix cannot clear it);
//! then the configuration files (the *base*). Role settings apply only when
//! that role logs in: not through SET ROLE, not to members of a group.
//! Physical walsenders and background processes use the base alone, which
//! is why the base is always judged.
//!
//! A stored override counts only where some login role can start a session
//! it reaches: `rolcanlogin`, `datallowconn`, and CONNECT (through the ACL,
//! PUBLIC, membership, or being a superuser). Where those facts were not
//! collected (older snapshots) every override counts: a missing fact can
//! make a verdict stricter, never a pass.
//!
//! The catalog is shared, so the same overrides are seen from whatever
//! database the scan connects to. The one thing the connected database
//! changes is pg_settings: the scanner's own role and database settings
//! replace the base there, and then the base is `unknown` ([`base_setting`]).
//!
//! Pure functions over the snapshot; imports `facts` and `privileges` only;
//! must not import `db`, `ui`, `report` or a section file.

use super::facts::{missing_part, need_setting};
use super::privileges::{Reach, RoleGraph, RoleSet};
use super::Verdict;
use crate::model::snapshot::{Function, RoleSetting, Setting, Snapshot};
use crate::model::statement::{DefaultScope, RoleRef, Statement};
use postgres_protocol::escape::escape_identifier;
use std::collections::BTreeSet;

/// Parameters the checks judge that ALTER ROLE / ALTER DATABASE / a
/// function's SET clause can change (context `user` or `superuser`).
/// `log_connections` and `log_disconnections` are not among them: they are
/// read before role and database settings are applied.
pub const SETTABLE: &[&str] = &[
    "password_encryption",
    "idle_session_timeout",
    "idle_in_transaction_session_timeout",
    "debug_print_parse",
    "debug_print_rewritten",
    "debug_print_plan",
    "log_min_messages",
    "log_min_error_statement",
    "log_error_verbosity",
    "pgaudit.log",
    "pgaudit.role",
    "pgaudit.log_parameter",
    "pgaudit.log_client",
    "pgaudit.log_level",
    "log_statement",
    "log_min_duration_statement",
    "log_replication_commands",
    "zero_damaged_pages",
    "allow_system_table_mods",
];

/// A function's SET clause is undone when it returns, before its session can
/// be idle, so function settings of these never reach an idle session.
const NOT_FROM_FUNCTIONS: &[&str] = &[
    "idle_session_timeout",
    "idle_in_transaction_session_timeout",
];

/// pg_settings sources that show the scanner's own session instead of the
/// configuration files.
const SESSION_SOURCES: &[&str] = &[
    "user",
    "database",
    "database user",
    "global",
    "session",
    "client",
];

/// What the evidence of a check judging login defaults says about its scope.
pub const SCOPE_NOTE: &str = "judged as login defaults of every role, database and function \
    setting; a session can still change user-settable values with SET or PGOPTIONS";

pub fn is_settable(name: &str) -> bool {
    SETTABLE.contains(&name)
}

/// The configuration-file value of a parameter, or the verdict to return
/// instead: `unknown` when the scanner's own role, database or session
/// settings hide it (pg_settings then shows the override, not the base).
pub fn base_setting<'a>(s: &'a Snapshot, name: &str) -> Result<&'a Setting, Verdict> {
    let setting = need_setting(s, name)?;
    if is_settable(name) && SESSION_SOURCES.contains(&setting.source.as_str()) {
        return Err(Verdict::unknown(
            format!(
                "{name} is overridden for the scanner's own session (source: {}), which hides \
                 the configuration-file value; scan as a role without such settings, in a \
                 database without them",
                setting.source
            ),
            Some(format!(
                "ALTER ROLE {} RESET {}",
                escape_identifier(&super::facts::scanner_role(s)),
                escape_identifier(name)
            )),
        ));
    }
    Ok(setting)
}

/// Where an override is stored, in PostgreSQL's precedence order (highest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    Function,
    DatabaseUser,
    User,
    Database,
    Global,
}

impl Layer {
    /// As pg_settings.source names it (`function` for a SET clause).
    pub fn source(self) -> &'static str {
        match self {
            Layer::Function => "function",
            Layer::DatabaseUser => "database user",
            Layer::User => "user",
            Layer::Database => "database",
            Layer::Global => "global",
        }
    }
}

/// One stored value that replaces the base for some sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Override<'a> {
    pub layer: Layer,
    /// `None`: every role.
    pub role: Option<&'a str>,
    /// `None`: every database.
    pub database: Option<&'a str>,
    /// A function's schema and `name(argument types)`.
    pub function: Option<(&'a str, &'a str)>,
    pub name: &'a str,
    pub value: &'a str,
}

impl Override<'_> {
    /// `role=R database=D [function=F] name=value (source)`, `*` for every
    /// role or database: the stable form evidence objects and accepted risks use.
    pub fn object(&self) -> String {
        let function = self
            .function
            .map(|(schema, signature)| format!(" function={schema}.{signature}"))
            .unwrap_or_default();
        format!(
            "role={} database={}{function} {}={} ({})",
            self.role.unwrap_or("*"),
            self.database.unwrap_or("*"),
            self.name,
            self.value,
            self.layer.source()
        )
    }

    /// Whose login default the statements that change this override change.
    fn scope(&self) -> DefaultScope {
        match (self.layer, self.role, self.database, self.function) {
            (Layer::Function, _, _, Some((schema, signature))) => {
                let (name, args) = signature.split_once('(').unwrap_or((signature, ")"));
                DefaultScope::Function {
                    signature: format!(
                        "{}.{}({args}",
                        escape_identifier(schema),
                        escape_identifier(name)
                    ),
                }
            }
            (_, Some(role), database, _) => DefaultScope::Role {
                role: RoleRef::named(role),
                database: database.map(str::to_string),
            },
            (_, None, Some(database), _) => DefaultScope::Database(database.to_string()),
            _ => DefaultScope::Role {
                role: RoleRef::All,
                database: None,
            },
        }
    }

    /// The statement that removes the override (the base or a lower layer applies again).
    pub fn reset(&self) -> Statement {
        Statement::SessionDefault {
            scope: self.scope(),
            parameter: self.name.to_string(),
            value: None,
        }
    }

    /// The statement that puts the override back (the rollback of [`Self::reset`]).
    pub fn restore(&self) -> Statement {
        Statement::SessionDefault {
            scope: self.scope(),
            parameter: self.name.to_string(),
            value: Some(self.value.to_string()),
        }
    }
}

/// A value a kind of session starts with, and where it comes from.
#[derive(Debug, Clone, Copy)]
pub enum Origin<'a> {
    Override(Override<'a>),
    /// The configuration files (or the default), as pg_settings shows them.
    Base(&'a Setting),
    /// The base is hidden by the scanner's own settings, or not visible.
    Hidden,
}

impl<'a> Origin<'a> {
    pub fn value(&self) -> Option<&'a str> {
        match self {
            Origin::Override(o) => Some(o.value),
            Origin::Base(s) => Some(super::facts::value(s)),
            Origin::Hidden => None,
        }
    }
}

/// One kind of session: a login role (`None`: any role without a setting
/// of its own) in a database (`None`: any other database), maybe inside a
/// function; `values` in the order of the parameters asked for.
#[derive(Debug, Clone)]
pub struct SessionKind<'a> {
    pub role: Option<&'a str>,
    pub database: Option<&'a str>,
    pub function: Option<(&'a str, &'a str)>,
    pub values: Vec<Origin<'a>>,
}

/// Every kind of session that can start with its own values for `names`:
/// first the base (what physical walsenders and background processes use),
/// then each combination of a named role and a named database that some login
/// role can actually start, then the same inside each
/// function with a SET clause. `unknown` when role settings were not collected.
pub fn sessions<'a>(s: &'a Snapshot, names: &[&'a str]) -> Result<Vec<SessionKind<'a>>, Verdict> {
    let stored = s
        .role_settings
        .as_deref()
        .ok_or_else(|| missing_part(s, "role_settings"))?;
    let base: Vec<Origin<'a>> = names
        .iter()
        .map(|n| base_setting(s, n).map_or(Origin::Hidden, Origin::Base))
        .collect();
    let mut kinds = vec![SessionKind {
        role: None,
        database: None,
        function: None,
        values: base.clone(),
    }];
    let relevant: Vec<&RoleSetting> = stored
        .iter()
        .filter(|x| names.iter().any(|n| config_value(&x.config, n).is_some()))
        .collect();
    let functions: Vec<(&'a str, &'a Function)> = s
        .databases
        .iter()
        .flat_map(|d| {
            d.functions
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(move |f| (d.name.as_str(), f))
        })
        .filter(|(_, f)| {
            names
                .iter()
                .any(|n| !NOT_FROM_FUNCTIONS.contains(n) && config_value(&f.config, n).is_some())
        })
        .collect();
    if relevant.is_empty() && functions.is_empty() {
        return Ok(kinds);
    }
    let mut roles: BTreeSet<Option<&str>> = relevant.iter().map(|x| x.role.as_deref()).collect();
    roles.insert(None);
    let mut databases: BTreeSet<Option<&str>> =
        relevant.iter().map(|x| x.database.as_deref()).collect();
    databases.extend(functions.iter().map(|(d, _)| Some(*d)));
    databases.insert(None);
    let access = Access::new(s, &roles, &databases);
    for role in &roles {
        for database in &databases {
            if !access.can_start(*role, *database) {
                continue;
            }
            let values: Vec<Origin<'a>> = names
                .iter()
                .zip(&base)
                .map(|(name, base)| resolve(&relevant, *role, *database, name, *base))
                .collect();
            for (fdb, f) in functions.iter().filter(|(d, _)| Some(*d) == *database) {
                let function = Some((f.schema.as_str(), f.signature.as_str()));
                let inside = names
                    .iter()
                    .zip(&values)
                    .map(|(name, outside)| match config_value(&f.config, name) {
                        Some(value) if !NOT_FROM_FUNCTIONS.contains(name) => {
                            Origin::Override(Override {
                                layer: Layer::Function,
                                role: None,
                                database: Some(*fdb),
                                function,
                                name,
                                value,
                            })
                        }
                        _ => *outside,
                    })
                    .collect();
                kinds.push(SessionKind {
                    role: *role,
                    database: *database,
                    function,
                    values: inside,
                });
            }
            kinds.push(SessionKind {
                role: *role,
                database: *database,
                function: None,
                values,
            });
        }
    }
    Ok(kinds)
}

/// Resolves one parameter for one role at a time (checks that judge roles
/// one by one, such as AUTH-016's personal logins).
pub struct PerRole<'a> {
    name: &'a str,
    base: Origin<'a>,
    relevant: Vec<&'a RoleSetting>,
    databases: BTreeSet<Option<&'a str>>,
    access: Access<'a>,
}

impl<'a> PerRole<'a> {
    /// `unknown` when role settings were not collected. A hidden base
    /// resolves to [`Origin::Hidden`].
    pub fn new(s: &'a Snapshot, name: &'a str) -> Result<Self, Verdict> {
        let stored = s
            .role_settings
            .as_deref()
            .ok_or_else(|| missing_part(s, "role_settings"))?;
        let relevant: Vec<&RoleSetting> = stored
            .iter()
            .filter(|x| config_value(&x.config, name).is_some())
            .collect();
        let mut databases: BTreeSet<Option<&str>> =
            relevant.iter().map(|x| x.database.as_deref()).collect();
        databases.insert(None);
        let roles: BTreeSet<Option<&str>> = relevant.iter().map(|x| x.role.as_deref()).collect();
        Ok(PerRole {
            name,
            base: base_setting(s, name).map_or(Origin::Hidden, Origin::Base),
            access: Access::new(s, &roles, &databases),
            relevant,
            databases,
        })
    }

    /// The values `role`'s sessions start with: in databases without a
    /// setting of their own (`None`), then in each database with one,
    /// wherever the role can connect.
    pub fn values(&self, role: &str) -> Vec<(Option<&'a str>, Origin<'a>)> {
        self.databases
            .iter()
            .filter(|d| self.access.can_start(Some(role), **d))
            .map(|d| {
                (
                    *d,
                    resolve(&self.relevant, Some(role), *d, self.name, self.base),
                )
            })
            .collect()
    }
}

/// The value sessions of `role` in `database` start with (`None` stands for
/// roles and databases without a setting of their own).
fn resolve<'a>(
    stored: &[&'a RoleSetting],
    role: Option<&str>,
    database: Option<&str>,
    name: &'a str,
    base: Origin<'a>,
) -> Origin<'a> {
    let mut layers = Vec::new();
    if role.is_some() && database.is_some() {
        layers.push((Layer::DatabaseUser, role, database));
    }
    if role.is_some() {
        layers.push((Layer::User, role, None));
    }
    if database.is_some() {
        layers.push((Layer::Database, None, database));
    }
    layers.push((Layer::Global, None, None));
    layers
        .into_iter()
        .find_map(|(layer, r, d)| {
            stored
                .iter()
                .filter(|x| x.role.as_deref() == r && x.database.as_deref() == d)
                .find_map(|x| {
                    config_value(&x.config, name).map(|value| {
                        Origin::Override(Override {
                            layer,
                            role: x.role.as_deref(),
                            database: x.database.as_deref(),
                            function: None,
                            name,
                            value,
                        })
                    })
                })
        })
        .unwrap_or(base)
}

/// The stored overrides of `name` that some login role starts a session with, sorted. The base is not among them (judge it
/// with [`base_setting`]).
pub fn overrides<'a>(s: &'a Snapshot, name: &'a str) -> Result<Vec<Override<'a>>, Verdict> {
    let mut found: Vec<Override<'a>> = sessions(s, &[name])?
        .into_iter()
        .filter_map(|kind| match kind.values.first() {
            Some(Origin::Override(o)) => Some(*o),
            _ => None,
        })
        .collect();
    found.sort();
    found.dedup();
    Ok(found)
}

/// The [`overrides`] of `name` that `ok` rejects: the failing scopes.
pub fn failing<'a>(
    s: &'a Snapshot,
    name: &'a str,
    ok: &dyn Fn(&str) -> bool,
) -> Result<Vec<Override<'a>>, Verdict> {
    let mut found = overrides(s, name)?;
    found.retain(|o| !ok(o.value));
    Ok(found)
}

/// The statements that reset the overrides of `names` the verdict's
/// objects list (accepted ones have left them), with the rollback that sets
/// each back; functions of other databases than the connected one become a
/// note (their statement must run there).
pub fn reset_listed(s: &Snapshot, objects: &[String], names: &[&str]) -> Resets {
    let mut resets = Resets::default();
    let primary = s.primary_database().map(|d| d.name.as_str());
    for name in names {
        let Ok(bad) = overrides(s, name) else {
            continue;
        };
        for o in bad.iter().filter(|o| objects.contains(&o.object())) {
            if o.layer == Layer::Function && o.database != primary {
                resets.elsewhere.push(format!(
                    "in database {}: {}",
                    o.database.unwrap_or("?"),
                    o.reset()
                ));
                continue;
            }
            resets.statements.push(o.reset());
            resets.rollback.push(o.restore());
        }
    }
    resets
}

/// What [`reset_listed`] builds.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Resets {
    pub statements: Vec<Statement>,
    pub rollback: Vec<Statement>,
    /// Statements to run connected to another database.
    pub elsewhere: Vec<String>,
}

impl Resets {
    /// A note for the plan: what resetting does, and what must run elsewhere.
    pub fn note(&self) -> String {
        let mut parts = Vec::new();
        if !self.statements.is_empty() {
            parts.push(
                "resetting a role, database or function setting lets the server-wide value \
                 apply again, for sessions started afterwards"
                    .to_string(),
            );
        }
        if !self.elsewhere.is_empty() {
            parts.push(format!(
                "run connected to the function's database: {}",
                self.elsewhere.join("; ")
            ));
        }
        parts.join("; ")
    }
}

/// The last `parameter=value` in a setting list.
pub fn config_value<'a>(config: &'a [String], parameter: &str) -> Option<&'a str> {
    config.iter().rev().find_map(|entry| {
        entry
            .split_once('=')
            .filter(|(k, _)| k.trim() == parameter)
            .map(|(_, v)| v.trim())
    })
}

/// Who can start sessions where: login roles, databases
/// that allow connections, CONNECT. Built only when an override exists.
struct Access<'a> {
    /// `None`: roles or memberships not collected (everyone may count).
    graph: Option<RoleGraph<'a>>,
    /// Login roles; `None` when roles were not collected.
    logins: Option<RoleSet>,
    /// Per database in pg_database: who may connect; `None` when not collected.
    connectors: Option<Vec<(&'a str, RoleSet)>>,
    named_roles: Vec<&'a str>,
    named_databases: Vec<&'a str>,
}

impl<'a> Access<'a> {
    fn new(
        s: &'a Snapshot,
        roles: &BTreeSet<Option<&'a str>>,
        databases: &BTreeSet<Option<&'a str>>,
    ) -> Self {
        let graph = match (s.roles.as_deref(), s.memberships.as_deref()) {
            (Some(r), Some(m)) => Some(RoleGraph::new(r, m)),
            _ => None,
        };
        let logins = graph.as_ref().map(|g| {
            let mut set = g.no_roles();
            for i in 0..g.len() {
                if g.role(i).is_some_and(|r| r.can_login) {
                    set.insert(i);
                }
            }
            set
        });
        let connectors = match (&graph, s.database_access.as_deref()) {
            (Some(g), Some(list)) => Some(
                list.iter()
                    .map(|d| {
                        let mut set = g.no_roles();
                        if d.allow_connections {
                            set = g.holders(&d.acl, 'c', Reach::Inherited);
                            set.union_with(g.superusers());
                        }
                        (d.name.as_str(), set)
                    })
                    .collect(),
            ),
            _ => None,
        };
        Access {
            graph,
            logins,
            connectors,
            named_roles: roles.iter().flatten().copied().collect(),
            named_databases: databases.iter().flatten().copied().collect(),
        }
    }

    /// Whether some login role can start a session as
    /// `role` (`None`: a role not named) in `database` (`None`: a database
    /// not named). Unknown facts answer yes.
    fn can_start(&self, role: Option<&str>, database: Option<&str>) -> bool {
        let (Some(graph), Some(logins)) = (&self.graph, &self.logins) else {
            return true;
        };
        let mut candidates = graph.no_roles();
        match role {
            Some(name) => match graph.index_of(name) {
                Some(i) if logins.contains(i) => candidates.insert(i),
                Some(_) => return false,
                None => return true,
            },
            None => {
                candidates.union_with(logins);
                for name in &self.named_roles {
                    if let Some(i) = graph.index_of(name) {
                        candidates.remove(i);
                    }
                }
            }
        }
        let Some(connectors) = &self.connectors else {
            return !candidates.is_empty();
        };
        match database {
            Some(name) => match connectors.iter().find(|(d, _)| *d == name) {
                Some((_, who)) => who.intersects(&candidates),
                None => true,
            },
            None => connectors
                .iter()
                .filter(|(d, _)| !self.named_databases.contains(d))
                .any(|(_, who)| who.intersects(&candidates)),
        }
    }
}

#[cfg(test)]
mod tests {
    //! For every check that judges a settable parameter: the same override
    //! in each scope, the scopes that must be ignored, and the fix.
    use super::*;
    use crate::checks::testkit::{all_cases, judge, role, set_from};
    use crate::model::finding::Status::{self, Fail, Warn};
    use crate::model::snapshot::{AclItem, DatabaseAccess};

    /// (check, parameter, a bad value, a good value, the status the bad value gives).
    const TRAPS: &[(&str, &str, &str, &str, Status)] = &[
        (
            "AUTH-001",
            "password_encryption",
            "md5",
            "scram-sha-256",
            Fail,
        ),
        ("AUTH-016", "idle_session_timeout", "0", "5min", Fail),
        (
            "AUTH-016",
            "idle_in_transaction_session_timeout",
            "0",
            "1h",
            Fail,
        ),
        ("AUD-002", "pgaudit.log", "none", "all", Fail),
        ("AUD-002", "log_min_messages", "panic", "warning", Fail),
        ("AUD-003", "pgaudit.role", "", "auditor", Fail),
        ("AUD-004", "log_statement", "all", "ddl", Warn),
        ("AUD-004", "log_min_duration_statement", "0", "-1", Warn),
        ("AUD-004", "pgaudit.log_parameter", "on", "off", Warn),
        ("AUD-009", "log_statement", "none", "mod", Fail),
        ("AUD-010", "log_min_messages", "fatal", "notice", Fail),
        ("AUD-010", "log_min_error_statement", "panic", "error", Fail),
        ("AUD-010", "log_error_verbosity", "terse", "verbose", Fail),
        ("AUD-010", "debug_print_plan", "on", "off", Fail),
        ("AUD-014", "log_replication_commands", "off", "on", Fail),
        ("GEN-003", "zero_damaged_pages", "on", "off", Fail),
        ("GEN-003", "allow_system_table_mods", "on", "off", Fail),
    ];

    /// The check's passing fixture with a login role `app`, a NOLOGIN group
    /// `grp` and databases `clinic` (PUBLIC may connect), `restricted` (only
    /// `postgres`) and `closed` (datallowconn off).
    fn good(id: &str) -> Snapshot {
        let mut s = all_cases()
            .into_iter()
            .find(|c| c.id == id)
            .map(|c| c.good)
            .unwrap_or_default();
        if let Some(roles) = s.roles.as_mut() {
            roles.push(role("app", |r| r.can_login = true));
            roles.push(role("grp", |_| {}));
        }
        let connect = |grantee: &str| AclItem {
            grantee: grantee.into(),
            grantor: "postgres".into(),
            privileges: "c".into(),
            grantable: String::new(),
        };
        s.database_access = Some(vec![
            DatabaseAccess {
                name: "clinic".into(),
                allow_connections: true,
                acl: vec![connect("PUBLIC")],
            },
            DatabaseAccess {
                name: "closed".into(),
                allow_connections: false,
                acl: vec![connect("PUBLIC")],
            },
            DatabaseAccess {
                name: "restricted".into(),
                allow_connections: true,
                acl: vec![connect("postgres")],
            },
        ]);
        s
    }

    fn with_override(
        mut s: Snapshot,
        role: Option<&str>,
        database: Option<&str>,
        entry: String,
    ) -> Snapshot {
        s.role_settings
            .get_or_insert_with(Vec::new)
            .push(RoleSetting {
                database: database.map(Into::into),
                role: role.map(Into::into),
                config: vec![entry],
            });
        s
    }

    #[test]
    fn every_scope_that_sessions_start_with_is_judged() {
        for (id, name, bad, good_value, status) in TRAPS {
            let entry = format!("{name}={bad}");
            assert_eq!(judge(id, &good(id)).status, Status::Pass, "{id} base");
            for (role, database, source) in [
                (Some("app"), None, "(user)"),
                (None, Some("clinic"), "(database)"),
                (Some("app"), Some("clinic"), "(database user)"),
                (None, None, "(global)"),
            ] {
                let s = with_override(good(id), role, database, entry.clone());
                let f = judge(id, &s);
                let context = format!("{id} {entry} role={role:?} database={database:?}");
                assert_eq!(f.status, *status, "{context}: {}", f.evidence);
                let scope = f
                    .objects
                    .iter()
                    .find(|o| o.ends_with(&format!(" {name}={bad} {source}")))
                    .unwrap_or_else(|| panic!("{context}: objects {:?}", f.objects));
                assert!(
                    f.evidence.contains(scope.as_str()),
                    "{context}: {}",
                    f.evidence
                );
                let plan = f.fix.unwrap_or_default();
                assert!(
                    plan.statements
                        .iter()
                        .any(|st| st.to_string().contains(&escape_identifier(name))),
                    "{context}: {:?}",
                    plan.statements
                );
                if *id != "AUTH-016" {
                    let o = overrides(&s, name).unwrap_or_default();
                    assert!(
                        plan.statements.contains(&o[0].reset()),
                        "{context}: {plan:?}"
                    );
                    assert!(
                        plan.rollback.contains(&o[0].restore()),
                        "{context}: {plan:?}"
                    );
                }
            }
            for (role, database, why) in [
                (Some("grp"), None, "a NOLOGIN role"),
                (Some("app"), Some("restricted"), "a role without CONNECT"),
                (None, Some("closed"), "a database without connections"),
            ] {
                let s = with_override(good(id), role, database, entry.clone());
                let f = judge(id, &s);
                assert_eq!(
                    f.status,
                    Status::Pass,
                    "{id} {entry} on {why}: {}",
                    f.evidence
                );
            }
            for (role, database) in [(Some("app"), None), (None, Some("clinic")), (None, None)] {
                let s = with_override(good(id), role, database, format!("{name}={good_value}"));
                let f = judge(id, &s);
                assert_eq!(
                    f.status,
                    Status::Pass,
                    "{id} {name}={good_value}: {}",
                    f.evidence
                );
            }
        }
    }

    #[test]
    fn a_role_setting_beats_a_bad_database_setting_and_loses_to_role_in_database() {
        let s = with_override(
            good("AUD-009"),
            Some("app"),
            None,
            "log_statement=ddl".into(),
        );
        let s = with_override(s, None, Some("clinic"), "log_statement=none".into());
        // Other roles in clinic still get none.
        let f = judge("AUD-009", &s);
        assert_eq!(f.status, Status::Fail);
        assert_eq!(
            f.objects,
            vec!["role=* database=clinic log_statement=none (database)".to_string()]
        );
        // With app the only other login besides the bootstrap superuser, who
        // also gets it, the database setting still counts.
        let s = with_override(s, Some("app"), Some("clinic"), "log_statement=none".into());
        let f = judge("AUD-009", &s);
        assert!(f
            .objects
            .contains(&"role=app database=clinic log_statement=none (database user)".to_string()));
    }

    #[test]
    fn connect_through_a_group_counts_and_superusers_always_connect() {
        let mut s = good("AUD-009");
        if let Some(m) = s.memberships.as_mut() {
            m.push(crate::model::snapshot::Membership {
                role: "postgres".into(),
                member: "app".into(),
                admin_option: false,
                inherit_option: None,
                set_option: None,
            });
        }
        let s = with_override(
            s,
            Some("app"),
            Some("restricted"),
            "log_statement=none".into(),
        );
        assert_eq!(judge("AUD-009", &s).status, Status::Fail);
        // The bootstrap superuser reaches a database override anywhere it is allowed.
        let s = with_override(
            good("AUD-009"),
            None,
            Some("restricted"),
            "log_statement=none".into(),
        );
        assert_eq!(judge("AUD-009", &s).status, Status::Fail);
    }

    #[test]
    fn missing_facts_count_the_override_or_say_unknown() {
        let mut s = with_override(
            good("AUD-009"),
            Some("grp"),
            Some("restricted"),
            "log_statement=none".into(),
        );
        assert_eq!(judge("AUD-009", &s).status, Status::Pass);
        s.database_access = None;
        s.memberships = None;
        // Without memberships nobody's reach is known: the override counts.
        assert_eq!(judge("AUD-009", &s).status, Status::Fail);
        s.role_settings = None;
        assert_eq!(judge("AUD-009", &s).status, Status::Unknown);
    }

    #[test]
    fn the_scanners_own_overrides_hide_the_base() {
        let mut s = good("AUD-009");
        set_from(&mut s, "log_statement", "ddl", "database", None);
        let f = judge("AUD-009", &s);
        assert_eq!(f.status, Status::Unknown, "{}", f.evidence);
        assert!(f
            .grant
            .unwrap_or_default()
            .contains("RESET \"log_statement\""));
        // A known failing scope still fails.
        let s = with_override(s, None, Some("clinic"), "log_statement=none".into());
        assert_eq!(judge("AUD-009", &s).status, Status::Fail);
    }

    #[test]
    fn function_settings_are_one_more_scope() {
        let mut s = good("AUD-002");
        if let Some(functions) = crate::checks::testkit::db(&mut s).functions.as_mut() {
            functions.push(Function {
                schema: "public".into(),
                signature: "quiet(integer)".into(),
                owner: "postgres".into(),
                language: "sql".into(),
                config: vec!["pgaudit.log=none".into()],
                ..Function::default()
            });
        }
        let f = judge("AUD-002", &s);
        assert_eq!(f.status, Status::Fail, "{}", f.evidence);
        let object =
            "role=* database=clinic function=public.quiet(integer) pgaudit.log=none (function)";
        assert_eq!(f.objects, vec![object.to_string()]);
        let plan = f.fix.unwrap_or_default();
        assert_eq!(
            plan.statements,
            vec!["ALTER FUNCTION \"public\".\"quiet\"(integer) RESET \"pgaudit.log\"".to_string()]
        );
        assert_eq!(
            plan.rollback,
            vec![
                "ALTER FUNCTION \"public\".\"quiet\"(integer) SET \"pgaudit.log\" = 'none'"
                    .to_string()
            ]
        );
    }

    #[test]
    fn a_function_in_another_database_is_fixed_there_not_here() {
        let mut s = good("AUD-002");
        let mut archive = s.databases[0].clone();
        archive.name = "archive".into();
        archive.functions = Some(vec![Function {
            schema: "public".into(),
            signature: "quiet()".into(),
            config: vec!["pgaudit.log=none".into()],
            ..Function::default()
        }]);
        s.databases.push(archive);
        let f = judge("AUD-002", &s);
        assert_eq!(f.status, Fail, "{}", f.evidence);
        let plan = f.fix.unwrap_or_default();
        assert!(plan.statements.is_empty(), "{plan:?}");
        assert!(
            plan.note.contains(
                "in database archive: ALTER FUNCTION \"public\".\"quiet\"() RESET \"pgaudit.log\""
            ),
            "{}",
            plan.note
        );
    }

    #[test]
    fn audit_lines_silenced_by_the_client_level_fail_aud_002() {
        let s = with_override(
            good("AUD-002"),
            Some("app"),
            None,
            "pgaudit.log_client=on".into(),
        );
        let s = with_override(s, Some("app"), None, "pgaudit.log_level=notice".into());
        let f = judge("AUD-002", &s);
        assert_eq!(f.status, Status::Fail, "{}", f.evidence);
        assert!(f
            .objects
            .contains(&"role=app database=* pgaudit.log_level=notice (user)".to_string()));
        // At warning the lines still reach the log.
        let s = with_override(
            good("AUD-002"),
            Some("app"),
            None,
            "pgaudit.log_client=on".into(),
        );
        let s = with_override(s, Some("app"), None, "pgaudit.log_level=warning".into());
        assert_eq!(judge("AUD-002", &s).status, Status::Pass);
    }

    #[test]
    fn alter_role_all_survives_an_alter_system_fix() {
        let s = with_override(
            good("AUTH-001"),
            None,
            None,
            "password_encryption=md5".into(),
        );
        let f = judge("AUTH-001", &s);
        let plan = f.fix.unwrap_or_default();
        assert_eq!(
            plan.statements,
            vec!["ALTER ROLE ALL RESET \"password_encryption\"".to_string()]
        );
        assert_eq!(
            plan.rollback,
            vec!["ALTER ROLE ALL SET \"password_encryption\" = 'md5'".to_string()]
        );
    }

    #[test]
    fn hostile_names_stay_inside_their_quotes() {
        for name in ["a\"; DROP ROLE x; --", "new\nline", "ünï'code"] {
            let s = with_override(
                good("AUD-009"),
                None,
                Some(name),
                "log_statement=none".into(),
            );
            let mut s = with_override(s, Some(name), Some(name), "log_statement=none".into());
            if let Some(roles) = s.roles.as_mut() {
                roles.push(role(name, |r| r.can_login = true));
            }
            let f = judge("AUD-009", &s);
            let plan = f.fix.unwrap_or_default();
            assert_eq!(plan.statements.len(), 2, "{plan:?}");
            for statement in plan.statements.iter().chain(&plan.rollback) {
                let bare = crate::checks::testkit::outside_quotes(&statement.to_string());
                assert!(!bare.contains(';') && !bare.contains('\n'), "{statement:?}");
            }
        }
    }
}

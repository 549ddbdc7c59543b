//! Guards: what may never be applied, and what needs the stronger
//! confirmation (typing the database name).
//!
//! - Never lock out the session's own role: no NOLOGIN, DROP, expiry in the
//!   past, CONNECTION LIMIT 0 or loss of SUPERUSER for the role the apply
//!   session logged in as; no pg_hba.conf that would refuse this session; no
//!   `listen_addresses` without the address this session reached.
//! - Never remove the last superuser that can log in.
//! - High impact: the fix touches the connected role (`ALTER ROLE ALL`
//!   included) or the login defaults of the connected database, edits
//!   pg_hba.conf or pg_ident.conf, or changes a setting that needs a restart.
//!
//! The checks here are pure functions of the snapshot, the typed statements
//! and [`ConnectionFacts`]; the definitive role check also runs inside the
//! fix's transaction before COMMIT (see [`role_state_refusals`]), so a
//! statement no variant describes (a `DO` block) is still caught.

use crate::db::apply::{ConnectionFacts, RoleState};
use crate::model::hba::{self, Connection, FirstMatch, Groups};
use crate::model::snapshot::{HbaRule, PasswordKind, Role, Snapshot};
use crate::model::statement::{DefaultScope, RoleOption, RoleRef, Statement};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, ToSocketAddrs};

/// Which guard refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Guard {
    OwnRole,
    LastSuperuser,
    ListenAddresses,
    HbaLockout,
    HbaErrors,
    MissingLibrary,
    NothingToApply,
}

/// Why a fix may not be applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub guard: Guard,
    pub message: String,
}

impl Refusal {
    pub fn new(guard: Guard, message: impl Into<String>) -> Self {
        Refusal {
            guard,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What the guards know about the apply session beyond the server's view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionContext {
    pub facts: ConnectionFacts,
    /// The connection string (or ~/.pgpass) supplies a password.
    pub has_password: bool,
    /// The connection string names a client certificate.
    pub has_client_cert: bool,
    /// The operating-system user this program runs as.
    pub os_user: Option<String>,
    /// The host name the connection string names (for `listen_addresses`).
    pub host: String,
}

impl SessionContext {
    fn user(&self) -> &str {
        &self.facts.session_user
    }
}

// ---------------------------------------------------------------------------
// Roles, judged from the statements before anything runs

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RoleFlags {
    login: bool,
    superuser: bool,
    expired: bool,
    connection_limit: i32,
}

/// Own-role and last-superuser refusals for statements, simulated on the
/// snapshot's roles. `today` is `YYYY-MM-DD` (a VALID UNTIL before it has expired).
pub fn role_refusals(
    snapshot: &Snapshot,
    ctx: &SessionContext,
    statements: &[Statement],
    today: &str,
) -> Vec<Refusal> {
    let mut roles: BTreeMap<String, RoleFlags> = snapshot
        .roles
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .map(|r| (r.name.clone(), flags(r, today)))
        .collect();
    let before = roles.clone();
    for statement in statements {
        simulate(&mut roles, statement, ctx.user(), today);
    }
    let mut refusals = Vec::new();
    if let Some(own) = before.get(ctx.user()) {
        let after = roles.get(ctx.user()).copied();
        refusals.extend(own_role_change(ctx.user(), own, after.as_ref()));
    }
    let count = |m: &BTreeMap<String, RoleFlags>| {
        m.values()
            .filter(|r| r.superuser && r.login && !r.expired)
            .count()
    };
    if count(&before) > 0 && count(&roles) == 0 {
        refusals.push(last_superuser());
    }
    refusals
}

fn flags(role: &Role, today: &str) -> RoleFlags {
    RoleFlags {
        login: role.can_login,
        superuser: role.superuser,
        expired: role
            .valid_until
            .as_deref()
            .is_some_and(|v| is_past(v, today)),
        connection_limit: role.conn_limit,
    }
}

/// A VALID UNTIL text before today (`infinity` never is).
fn is_past(valid_until: &str, today: &str) -> bool {
    let v = valid_until.trim();
    if v.eq_ignore_ascii_case("infinity") {
        return false;
    }
    if v.eq_ignore_ascii_case("-infinity") {
        return true;
    }
    v.get(..10).is_some_and(|date| date < today)
}

fn simulate(
    roles: &mut BTreeMap<String, RoleFlags>,
    statement: &Statement,
    user: &str,
    today: &str,
) {
    let resolve = |r: &RoleRef| match r {
        RoleRef::Named(name) => Some(name.clone()),
        RoleRef::Connected => Some(user.to_string()),
        RoleRef::All => None,
    };
    match statement {
        Statement::AlterRole { role, options } => {
            if let Some(name) = resolve(role) {
                if let Some(flags) = roles.get_mut(&name) {
                    apply_options(flags, options, today);
                }
            }
        }
        Statement::DropRole { role, .. } => {
            roles.remove(role);
        }
        _ => {}
    }
}

fn apply_options(flags: &mut RoleFlags, options: &[RoleOption], today: &str) {
    for option in options {
        match option {
            RoleOption::Login(on) => flags.login = *on,
            RoleOption::Superuser(on) => flags.superuser = *on,
            RoleOption::ValidUntil(until) => flags.expired = is_past(until, today),
            RoleOption::ConnectionLimit(limit) => {
                flags.connection_limit = i32::try_from(*limit).unwrap_or(i32::MAX);
            }
            RoleOption::CreateDb(_)
            | RoleOption::CreateRole(_)
            | RoleOption::Inherit(_)
            | RoleOption::Replication(_)
            | RoleOption::BypassRls(_) => {}
        }
    }
}

fn own_role_change(user: &str, before: &RoleFlags, after: Option<&RoleFlags>) -> Vec<Refusal> {
    let own = |what: &str| {
        Refusal::new(
            Guard::OwnRole,
            format!(
                "the fix would {what} the role this session is connected as ({user}): apply it \
                 as another administrator"
            ),
        )
    };
    let Some(after) = after else {
        return vec![own("drop")];
    };
    let mut refusals = Vec::new();
    if before.login && !after.login {
        refusals.push(own("take LOGIN from"));
    }
    if before.superuser && !after.superuser {
        refusals.push(own("take SUPERUSER from"));
    }
    if !before.expired && after.expired {
        refusals.push(own("expire the password of"));
    }
    if before.connection_limit != 0 && after.connection_limit == 0 {
        refusals.push(own("set CONNECTION LIMIT 0 on"));
    }
    refusals
}

fn last_superuser() -> Refusal {
    Refusal::new(
        Guard::LastSuperuser,
        "the fix would leave no superuser that can log in (the last superuser would lose \
         SUPERUSER or LOGIN): keep at least one administrator",
    )
}

/// The definitive check, on the session role as the fix's transaction sees
/// it before COMMIT.
pub fn role_state_refusals(user: &str, before: &RoleState, after: &RoleState) -> Vec<Refusal> {
    let as_flags = |s: &RoleState| RoleFlags {
        login: s.can_login,
        superuser: s.superuser,
        expired: s.expired,
        connection_limit: s.connection_limit,
    };
    let mut refusals = if before.exists {
        let after_flags = after.exists.then(|| as_flags(after));
        own_role_change(user, &as_flags(before), after_flags.as_ref())
    } else {
        Vec::new()
    };
    if before.login_superusers > 0 && after.login_superusers == 0 {
        refusals.push(last_superuser());
    }
    refusals
}

// ---------------------------------------------------------------------------
// listen_addresses

/// Refuses a `listen_addresses` value that leaves out the address this
/// (TCP) session reached; a Unix-socket session is not affected.
pub fn listen_addresses_refusal(ctx: &SessionContext, new_value: &[String]) -> Option<Refusal> {
    let server_addr = ctx.facts.server_addr.as_deref()?;
    let reached: IpAddr = server_addr.parse().ok()?;
    let items: Vec<String> = new_value
        .iter()
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    let covers = |item: &str| -> bool {
        match item {
            "*" => true,
            "0.0.0.0" => reached.is_ipv4(),
            "::" => true,
            "localhost" => reached.is_loopback(),
            other => match other.parse::<IpAddr>() {
                Ok(ip) => ip == reached,
                Err(_) => resolves_to(other, reached),
            },
        }
    };
    if items.iter().any(|item| covers(item)) {
        return None;
    }
    Some(Refusal::new(
        Guard::ListenAddresses,
        format!(
            "listen_addresses = '{}' leaves out {server_addr}, the address this session reached \
             (as {}): after the restart this session could not connect; add it to the list",
            items.join(","),
            ctx.host
        ),
    ))
}

fn resolves_to(name: &str, wanted: IpAddr) -> bool {
    (name, 0)
        .to_socket_addrs()
        .map(|mut addrs| addrs.any(|a| a.ip() == wanted))
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------
// pg_hba.conf

/// How a set of pg_hba rules treats the apply session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The first matching rule (line number) admits the session.
    Admitted {
        line: i32,
    },
    Refused {
        why: String,
    },
    /// A rule this module cannot judge (host names, samenet, …) comes first.
    Undecided {
        line: i32,
        why: String,
    },
}

/// Refuses a proposed pg_hba.conf that would not admit the apply session.
/// `before` are the rules the server uses now (one of them admitted this
/// session); a rule with the same method and options as that one is
/// trusted to work again.
pub fn hba_refusal(
    snapshot: &Snapshot,
    ctx: &SessionContext,
    before: &[HbaRule],
    after: &[HbaRule],
) -> Option<Refusal> {
    let judge = Judge::new(snapshot, ctx);
    let now = judge.first_match(before);
    let next = judge.first_match(after);
    let refuse = |why: String| {
        Some(Refusal::new(
            Guard::HbaLockout,
            format!(
                "the new pg_hba.conf would refuse this session ({} to {} {}): {why}; apply it \
                 over a connection the new rules admit",
                ctx.user(),
                ctx.facts.database,
                judge.route()
            ),
        ))
    };
    match next {
        FirstMatch::None => refuse("no line matches it".into()),
        FirstMatch::Undecided { line, why } => refuse(format!(
            "line {line} comes first and cannot be judged here ({why})"
        )),
        FirstMatch::Rule(new_rule) => {
            let same_as_now = matches!(&now, FirstMatch::Rule(old)
                if old.auth_method == new_rule.auth_method && old.options == new_rule.options);
            if same_as_now {
                return None;
            }
            match judge.method_admits(new_rule) {
                Decision::Yes => None,
                Decision::No(why) => refuse(format!("line {} {why}", new_rule.line_number)),
                Decision::Unknown(why) => refuse(format!(
                    "line {} changes the method to {} and {why}",
                    new_rule.line_number,
                    new_rule.auth_method.as_deref().unwrap_or("?")
                )),
            }
        }
    }
}

/// Which rule of a set takes the apply session.
pub fn admission(snapshot: &Snapshot, ctx: &SessionContext, rules: &[HbaRule]) -> Admission {
    let judge = Judge::new(snapshot, ctx);
    match judge.first_match(rules) {
        FirstMatch::None => Admission::Refused {
            why: "no line matches".into(),
        },
        FirstMatch::Undecided { line, why } => Admission::Undecided { line, why },
        FirstMatch::Rule(rule) => match judge.method_admits(rule) {
            Decision::No(why) => Admission::Refused { why },
            _ => Admission::Admitted {
                line: rule.line_number,
            },
        },
    }
}

enum Decision {
    Yes,
    No(String),
    Unknown(String),
}

struct Judge<'a> {
    ctx: &'a SessionContext,
    client: Option<IpAddr>,
    /// Memberships that were not collected count as none: a `+group` or
    /// `samerole` line then passes this session over instead of leaving it
    /// undecided (the checks, unlike this guard, call such a line unknown).
    groups: Groups<'a>,
    password: Option<PasswordKind>,
}

impl<'a> Judge<'a> {
    fn new(snapshot: &'a Snapshot, ctx: &'a SessionContext) -> Self {
        Judge {
            ctx,
            client: ctx
                .facts
                .client_addr
                .as_deref()
                .and_then(|a| a.parse().ok()),
            groups: Groups::new(Some(snapshot.memberships.as_deref().unwrap_or(&[]))),
            password: snapshot
                .password_kinds
                .as_ref()
                .and_then(|k| k.get(ctx.user()).copied()),
        }
    }

    fn route(&self) -> String {
        match &self.ctx.facts.client_addr {
            None => "over the Unix socket".into(),
            Some(addr) => format!(
                "from {addr} over TCP {}",
                if self.ctx.facts.ssl {
                    "with TLS"
                } else {
                    "without TLS"
                }
            ),
        }
    }

    /// The session as pg_hba sees it: a normal connection over the socket,
    /// or over TCP with or without TLS (this client never uses GSSAPI).
    fn connection(&self) -> Connection<'_> {
        let kind = if self.ctx.facts.is_local() {
            hba::LOCAL
        } else if self.ctx.facts.ssl {
            hba::SSL
        } else {
            hba::PLAIN
        };
        Connection {
            kind,
            database: &self.ctx.facts.database,
            user: self.ctx.user(),
            client: self.client,
        }
    }

    fn first_match<'r>(&self, rules: &'r [HbaRule]) -> FirstMatch<'r> {
        hba::first_match(rules, &self.connection(), &self.groups)
    }

    fn method_admits(&self, rule: &HbaRule) -> Decision {
        let method = rule.auth_method.as_deref().unwrap_or("");
        let has_password = self.ctx.has_password;
        let no_password =
            || Decision::No("asks for a password and the connection gives none".into());
        match method {
            "trust" => Decision::Yes,
            "reject" => Decision::No("rejects it".into()),
            "password" if has_password => Decision::Yes,
            "password" => no_password(),
            "md5" | "scram-sha-256" if !has_password => no_password(),
            "md5" => match self.password {
                Some(PasswordKind::Md5 | PasswordKind::Scram) => Decision::Yes,
                Some(_) => Decision::No("needs a stored password and the role has none".into()),
                None => Decision::Unknown("the role's password kind is not visible".into()),
            },
            "scram-sha-256" => match self.password {
                Some(PasswordKind::Scram) => Decision::Yes,
                Some(PasswordKind::Md5) => Decision::No(
                    "uses scram-sha-256 and the role's password is stored as md5 (set the \
                     password again first)"
                        .into(),
                ),
                Some(_) => Decision::No("needs a stored password and the role has none".into()),
                None => Decision::Unknown("the role's password kind is not visible".into()),
            },
            "cert" if self.ctx.facts.ssl && self.ctx.has_client_cert => Decision::Yes,
            "cert" => {
                Decision::No("needs a client certificate this connection does not send".into())
            }
            "peer" => {
                let mapped = rule.options.iter().any(|o| o.starts_with("map="));
                match &self.ctx.os_user {
                    Some(os) if !mapped && os == self.ctx.user() => Decision::Yes,
                    Some(os) if !mapped => Decision::No(format!(
                        "uses peer and this program runs as OS user {os}, not {}",
                        self.ctx.user()
                    )),
                    _ => Decision::Unknown("peer with a user map cannot be judged here".into()),
                }
            }
            other => Decision::Unknown(format!("method {other} cannot be judged here")),
        }
    }
}

// ---------------------------------------------------------------------------
// High impact

/// Why a fix needs the database name typed to confirm; empty when it does not.
pub fn high_impact_reasons(
    ctx: &SessionContext,
    statements: &[Statement],
    restart_settings: &[String],
    config_file: Option<&str>,
) -> Vec<String> {
    let mut reasons = Vec::new();
    let touches_self = statements
        .iter()
        .flat_map(Statement::roles_touched)
        .any(|r| r.is(ctx.user()));
    if touches_self {
        reasons.push(format!(
            "it changes the role this session is connected as ({})",
            ctx.user()
        ));
    }
    let own_database = statements.iter().any(|s| {
        matches!(s, Statement::SessionDefault { scope: DefaultScope::Database(database), .. }
            if *database == ctx.facts.database)
    });
    if own_database {
        reasons.push(format!(
            "it changes the login defaults of the database this session is connected to ({})",
            ctx.facts.database
        ));
    }
    if let Some(file) = config_file {
        reasons.push(format!(
            "it edits {}: a wrong line can lock everyone out",
            if file == "ident_file" {
                "pg_ident.conf"
            } else {
                "pg_hba.conf"
            }
        ));
    }
    if !restart_settings.is_empty() {
        reasons.push(format!(
            "it changes settings that take effect only after a server restart ({}); a bad \
             value can stop the server from starting",
            restart_settings.join(", ")
        ));
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::statement::MembershipOptions;

    fn role(name: &str, superuser: bool) -> Role {
        Role {
            name: name.into(),
            superuser,
            can_login: true,
            conn_limit: -1,
            ..Role::default()
        }
    }

    fn ctx(user: &str) -> SessionContext {
        SessionContext {
            facts: ConnectionFacts {
                session_user: user.into(),
                database: "clinic".into(),
                client_addr: Some("127.0.0.1".into()),
                server_addr: Some("127.0.0.1".into()),
                ssl: false,
                superuser: true,
                server_version_num: 150000,
            },
            has_password: true,
            host: "localhost".into(),
            ..SessionContext::default()
        }
    }

    fn snapshot(roles: Vec<Role>) -> Snapshot {
        Snapshot {
            roles: Some(roles),
            ..Snapshot::default()
        }
    }

    fn alter(role: RoleRef, option: RoleOption) -> Statement {
        Statement::AlterRole {
            role,
            options: vec![option],
        }
    }

    fn named(role: &str) -> RoleRef {
        RoleRef::named(role)
    }

    fn reset(scope: DefaultScope) -> Statement {
        Statement::SessionDefault {
            scope,
            parameter: "pgaudit.log".into(),
            value: None,
        }
    }

    fn of_role(role: RoleRef, database: Option<&str>) -> DefaultScope {
        DefaultScope::Role {
            role,
            database: database.map(str::to_string),
        }
    }

    #[test]
    fn login_default_resets_of_the_own_role_or_database_are_high_impact() {
        let reasons = |st: &Statement| {
            high_impact_reasons(&ctx("postgres"), std::slice::from_ref(st), &[], None)
        };
        for st in [
            reset(of_role(RoleRef::All, None)),
            reset(of_role(named("postgres"), Some("phi"))),
            reset(DefaultScope::Database("clinic".into())),
        ] {
            assert_eq!(reasons(&st).len(), 1, "{st}");
        }
        for st in [
            reset(of_role(named("app"), None)),
            reset(of_role(named("app"), Some("clinic"))),
            reset(DefaultScope::Database("phi".into())),
            reset(DefaultScope::Function {
                signature: "\"public\".\"f\"(integer)".into(),
            }),
        ] {
            assert!(reasons(&st).is_empty(), "{st}");
        }
    }

    /// A membership's member, and a role whose settings change, are touched:
    /// a rollback that grants the connected role back into a group is high
    /// impact as much as the revoke was.
    #[test]
    fn memberships_and_settings_of_the_own_role_are_high_impact() {
        let membership = |grant: bool, member: &str| Statement::Membership {
            grant,
            group: "admins".into(),
            member: member.into(),
            with: grant.then_some(MembershipOptions::AdminOption),
        };
        let setting = |role: &str| Statement::SessionDefault {
            scope: of_role(named(role), None),
            parameter: "idle_session_timeout".into(),
            value: Some("15min".into()),
        };
        let reasons = |st: &Statement| {
            high_impact_reasons(&ctx("postgres"), std::slice::from_ref(st), &[], None)
        };
        for st in [
            membership(false, "postgres"),
            membership(true, "postgres"),
            setting("postgres"),
            alter(RoleRef::Connected, RoleOption::ConnectionLimit(5)),
            Statement::DropRole {
                role: "postgres".into(),
                if_exists: true,
            },
        ] {
            assert_eq!(reasons(&st).len(), 1, "{st}");
        }
        for st in [
            membership(false, "app"),
            membership(true, "app"),
            setting("app"),
            Statement::CreateRole {
                role: "postgres2".into(),
                options: vec![RoleOption::Login(false)],
            },
            Statement::other(
                "ALTER USER MAPPING FOR \"postgres\" SERVER \"s\" OPTIONS (DROP \"password\")",
            ),
        ] {
            assert!(reasons(&st).is_empty(), "{st}");
        }
    }

    #[test]
    fn own_role_changes_are_refused() {
        let s = snapshot(vec![role("postgres", true), role("app", true)]);
        for st in [
            alter(named("app"), RoleOption::Superuser(false)),
            alter(named("app"), RoleOption::Login(false)),
            alter(
                RoleRef::Connected,
                RoleOption::ValidUntil("2001-01-01".into()),
            ),
            alter(named("app"), RoleOption::ConnectionLimit(0)),
            Statement::DropRole {
                role: "app".into(),
                if_exists: true,
            },
        ] {
            let refusals = role_refusals(&s, &ctx("app"), std::slice::from_ref(&st), "2026-11-27");
            assert!(
                refusals.iter().any(|r| r.guard == Guard::OwnRole),
                "{st}: {refusals:?}"
            );
        }
        let fine = role_refusals(
            &s,
            &ctx("postgres"),
            &[alter(named("app"), RoleOption::Superuser(false))],
            "2026-11-27",
        );
        assert!(fine.is_empty(), "{fine:?}");
        let later = role_refusals(
            &s,
            &ctx("app"),
            &[alter(
                named("app"),
                RoleOption::ValidUntil("2027-02-25".into()),
            )],
            "2026-11-27",
        );
        assert!(later.is_empty(), "{later:?}");
        // Attributes the guards do not judge change nothing.
        let other = role_refusals(
            &s,
            &ctx("app"),
            &[alter(named("app"), RoleOption::BypassRls(false))],
            "2026-11-27",
        );
        assert!(other.is_empty(), "{other:?}");
    }

    #[test]
    fn the_last_login_superuser_stays() {
        let s = snapshot(vec![role("postgres", true), role("app", true)]);
        let statements = [
            alter(named("postgres"), RoleOption::Login(false)),
            alter(named("app"), RoleOption::Superuser(false)),
        ];
        let refusals = role_refusals(&s, &ctx("alice"), &statements, "2026-11-27");
        assert_eq!(refusals.len(), 1, "{refusals:?}");
        assert_eq!(refusals[0].guard, Guard::LastSuperuser);
        let before = RoleState {
            exists: true,
            can_login: true,
            superuser: true,
            login_superusers: 1,
            connection_limit: -1,
            ..RoleState::default()
        };
        let after = RoleState {
            superuser: false,
            login_superusers: 0,
            ..before
        };
        let guards: Vec<Guard> = role_state_refusals("app", &before, &after)
            .iter()
            .map(|r| r.guard)
            .collect();
        assert_eq!(guards, vec![Guard::OwnRole, Guard::LastSuperuser]);
    }

    /// Hostile role names through the role fix builders: every statement is
    /// one ALTER ROLE of exactly the intended role, and its text reads back
    /// as that same statement.
    mod hostile_names {
        use super::*;
        use crate::checks;
        use crate::model::snapshot::Target;
        use crate::policy::{Attestations, Policy};
        use proptest::prelude::*;

        fn name() -> impl Strategy<Value = String> {
            let hostile = prop_oneof![
                Just('"'),
                Just(';'),
                Just('\''),
                Just('\\'),
                Just('\n'),
                Just('$'),
                Just('-'),
                Just(' '),
                Just('é'),
                Just('☃'),
                any::<char>(),
            ];
            proptest::collection::vec(hostile, 1..40).prop_map(|chars| {
                let mut name = String::new();
                for c in chars.into_iter().filter(|c| *c != '\0') {
                    if name.len() + c.len_utf8() > 63 {
                        break;
                    }
                    name.push(c);
                }
                name
            })
        }

        fn role(oid: u32, name: &str, superuser: bool) -> Role {
            Role {
                oid,
                name: name.into(),
                superuser,
                can_login: true,
                create_db: !superuser,
                bypass_rls: !superuser,
                replication: !superuser,
                conn_limit: -1,
                ..Role::default()
            }
        }

        fn snapshot(superuser: &str, user: &str) -> Snapshot {
            Snapshot {
                schema_version: crate::model::snapshot::SCHEMA_VERSION,
                collected_at: "2026-11-27T10:00:00Z".into(),
                target: Target {
                    user: "postgres".into(),
                    server_version_num: Some(150_000),
                    ..Target::default()
                },
                roles: Some(vec![
                    role(10, "postgres", true),
                    role(20_000, superuser, true),
                    role(20_001, user, false),
                ]),
                memberships: Some(Vec::new()),
                ..Snapshot::default()
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]
            #[test]
            fn role_fixes_name_exactly_the_intended_role(su in name(), user in name()) {
                prop_assume!(!su.is_empty() && !user.is_empty() && su != user);
                prop_assume!(![&su, &user].iter().any(|n| n.as_str() == "postgres" || n.starts_with("pg_")));
                let findings = checks::evaluate_all(
                    &snapshot(&su, &user),
                    &Policy::default(),
                    &Attestations::default(),
                );
                for (id, wanted) in [("PRIV-001", &su), ("PRIV-002", &user), ("PRIV-003", &user), ("AUTH-015", &user), ("PRIV-020", &user)] {
                    let finding = findings.iter().find(|f| f.id == id).expect("finding");
                    let plan = finding.fix.as_ref().expect("a failing check has a plan");
                    prop_assert!(!plan.statements.is_empty(), "{} built nothing", id);
                    for statement in plan.statements.iter().chain(&plan.rollback) {
                        let Statement::AlterRole { role: RoleRef::Named(named), .. } = statement else {
                            return Err(TestCaseError::fail(format!("{id}: {statement:?}")));
                        };
                        prop_assert_eq!(named, wanted, "{}: {}", id, statement);
                        let read = statement.to_string().parse::<Statement>();
                        prop_assert!(
                            matches!(&read, Ok(Statement::AlterRole { role: RoleRef::Named(n), .. }) if n == wanted),
                            "{}: {} read back as {:?}", id, statement, read
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn listen_addresses_must_keep_the_reached_address() {
        let c = ctx("postgres");
        assert!(listen_addresses_refusal(&c, &["localhost".into()]).is_none());
        assert!(listen_addresses_refusal(&c, &["127.0.0.1,10.0.0.5".into()]).is_none());
        assert!(listen_addresses_refusal(&c, &["10.0.0.5".into()]).is_some());
        let mut socket = c.clone();
        socket.facts.client_addr = None;
        socket.facts.server_addr = None;
        assert!(listen_addresses_refusal(&socket, &["10.0.0.5".into()]).is_none());
    }

    fn rule(
        line: i32,
        kind: &str,
        user: &str,
        address: Option<(&str, &str)>,
        method: &str,
    ) -> HbaRule {
        HbaRule {
            line_number: line,
            conn_type: Some(kind.into()),
            database: vec!["all".into()],
            user_name: vec![user.into()],
            address: address.map(|a| a.0.into()),
            netmask: address.map(|a| a.1.into()),
            auth_method: Some(method.into()),
            ..HbaRule::default()
        }
    }

    #[test]
    fn hba_changes_that_refuse_this_session_are_refused() {
        let mut s = snapshot(vec![role("postgres", true)]);
        s.password_kinds = Some(BTreeMap::from([("postgres".into(), PasswordKind::Scram)]));
        let c = ctx("postgres");
        let now = vec![rule(1, "host", "all", Some(("0.0.0.0", "0.0.0.0")), "md5")];
        let tls_only = vec![
            rule(1, "hostssl", "all", Some(("0.0.0.0", "0.0.0.0")), "md5"),
            rule(
                2,
                "hostnossl",
                "all",
                Some(("0.0.0.0", "0.0.0.0")),
                "reject",
            ),
        ];
        let refusal = hba_refusal(&s, &c, &now, &tls_only).expect("refused");
        assert_eq!(refusal.guard, Guard::HbaLockout);
        assert!(refusal.message.contains("line 2 rejects it"), "{refusal}");
        let mut with_tls = c.clone();
        with_tls.facts.ssl = true;
        assert!(hba_refusal(&s, &with_tls, &now, &tls_only).is_none());
        let scram = vec![rule(
            1,
            "host",
            "all",
            Some(("127.0.0.1", "255.255.255.255")),
            "scram-sha-256",
        )];
        assert!(hba_refusal(&s, &c, &now, &scram).is_none());
        s.password_kinds = Some(BTreeMap::from([("postgres".into(), PasswordKind::Md5)]));
        assert!(hba_refusal(&s, &c, &now, &scram).is_some());
        let superuser_reject = vec![
            rule(
                1,
                "host",
                "postgres",
                Some(("0.0.0.0", "0.0.0.0")),
                "reject",
            ),
            now[0].clone(),
        ];
        assert!(hba_refusal(&s, &c, &now, &superuser_reject).is_some());
        let mut local = c.clone();
        local.facts.client_addr = None;
        assert!(hba_refusal(
            &s,
            &local,
            &[rule(1, "local", "all", None, "trust")],
            &superuser_reject
        )
        .is_some());
    }

    #[test]
    fn group_lines_pass_the_session_over_when_memberships_were_not_collected() {
        let mut s = snapshot(vec![role("postgres", true)]);
        s.memberships = None;
        let c = ctx("postgres");
        let rules = vec![
            rule(1, "host", "+admins", None, "reject"),
            rule(2, "host", "all", None, "trust"),
        ];
        assert_eq!(admission(&s, &c, &rules), Admission::Admitted { line: 2 });
    }
}

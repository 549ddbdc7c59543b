//! A fix statement as data.
//!
//! Checks build [`Statement`]s; the apply engine matches on the variant to
//! decide how to run one (ALTER SYSTEM outside a transaction block, LOAD
//! before settings of a library not loaded yet, the rest inside one
//! transaction) and what it touches (roles for the guards, parameters for the
//! captured undo). Nobody parses our own SQL back. `Display` writes the exact
//! text that runs and that every output shows; all quoting happens here, with
//! `postgres-protocol`'s escaping.
//!
//! In JSON a statement is its text, so the contract keeps its strings. Files
//! written before statements were typed are read back through
//! [`read`](self::read) at the deserialisation boundary only.
//!
//! Pure data: imports nothing of ours above `model`.

mod read;

use super::settings::{is_list_quoted, split_list};
use super::snapshot::{Relation, Snapshot};
use postgres_protocol::escape::{escape_identifier, escape_literal};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A role as a statement names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleRef {
    Named(String),
    /// `CURRENT_USER`, `CURRENT_ROLE` or `SESSION_USER`: the connected role
    /// (only ever read from files, never built).
    Connected,
    /// `ALL` (`ALTER ROLE ALL SET …`).
    All,
}

impl RoleRef {
    pub fn named(role: impl Into<String>) -> RoleRef {
        RoleRef::Named(role.into())
    }

    /// True when this names `user` (or the connected role, which is `user`).
    pub fn is(&self, user: &str) -> bool {
        match self {
            RoleRef::Named(name) => name == user,
            RoleRef::Connected | RoleRef::All => true,
        }
    }
}

impl fmt::Display for RoleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoleRef::Named(name) => f.write_str(&escape_identifier(name)),
            RoleRef::Connected => f.write_str("CURRENT_USER"),
            RoleRef::All => f.write_str("ALL"),
        }
    }
}

/// One `ALTER ROLE` / `CREATE ROLE` option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleOption {
    Login(bool),
    Superuser(bool),
    CreateDb(bool),
    CreateRole(bool),
    Inherit(bool),
    Replication(bool),
    BypassRls(bool),
    /// `VALID UNTIL 'value'` (a timestamp or `infinity`).
    ValidUntil(String),
    /// `CONNECTION LIMIT n`; -1 means no limit.
    ConnectionLimit(i64),
}

impl fmt::Display for RoleOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flag = |f: &mut fmt::Formatter<'_>, on: bool, keyword: &str| {
            write!(f, "{}{keyword}", if on { "" } else { "NO" })
        };
        match self {
            RoleOption::Login(on) => flag(f, *on, "LOGIN"),
            RoleOption::Superuser(on) => flag(f, *on, "SUPERUSER"),
            RoleOption::CreateDb(on) => flag(f, *on, "CREATEDB"),
            RoleOption::CreateRole(on) => flag(f, *on, "CREATEROLE"),
            RoleOption::Inherit(on) => flag(f, *on, "INHERIT"),
            RoleOption::Replication(on) => flag(f, *on, "REPLICATION"),
            RoleOption::BypassRls(on) => flag(f, *on, "BYPASSRLS"),
            RoleOption::ValidUntil(value) => write!(f, "VALID UNTIL {}", escape_literal(value)),
            RoleOption::ConnectionLimit(limit) => write!(f, "CONNECTION LIMIT {limit}"),
        }
    }
}

/// Whose session default an `ALTER … SET/RESET parameter` changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultScope {
    /// `ALTER ROLE r [IN DATABASE d]`, or `ALTER ROLE ALL [IN DATABASE d]`.
    Role {
        role: RoleRef,
        database: Option<String>,
    },
    /// `ALTER DATABASE d`.
    Database(String),
    /// `ALTER FUNCTION name(args)`: `signature` is the already-quoted
    /// `"schema"."name"(argument types)` the catalog gives.
    Function { signature: String },
}

impl fmt::Display for DefaultScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DefaultScope::Role { role, database } => {
                write!(f, "ALTER ROLE {role}")?;
                match database {
                    Some(db) => write!(f, " IN DATABASE {}", escape_identifier(db)),
                    None => Ok(()),
                }
            }
            DefaultScope::Database(db) => write!(f, "ALTER DATABASE {}", escape_identifier(db)),
            DefaultScope::Function { signature } => write!(f, "ALTER FUNCTION {signature}"),
        }
    }
}

/// What `ALTER TABLE … ROW LEVEL SECURITY` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowSecurity {
    Enable,
    Disable,
    Force,
    NoForce,
}

impl fmt::Display for RowSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RowSecurity::Enable => "ENABLE",
            RowSecurity::Disable => "DISABLE",
            RowSecurity::Force => "FORCE",
            RowSecurity::NoForce => "NO FORCE",
        })
    }
}

/// A table or other relation: schema and name, quoted when shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualifiedName {
    pub schema: String,
    pub name: String,
}

impl QualifiedName {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> QualifiedName {
        QualifiedName {
            schema: schema.into(),
            name: name.into(),
        }
    }

    /// The name of a relation the snapshot lists.
    pub fn of(relation: &Relation) -> QualifiedName {
        QualifiedName::new(&relation.schema, &relation.name)
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}",
            escape_identifier(&self.schema),
            escape_identifier(&self.name)
        )
    }
}

/// Who receives or loses a privilege.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    Public,
    Role(String),
}

impl fmt::Display for Grantee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grantee::Public => f.write_str("PUBLIC"),
            Grantee::Role(role) => f.write_str(&escape_identifier(role)),
        }
    }
}

/// The privileges a `GRANT`/`REVOKE` names: keywords as PostgreSQL spells
/// them (`SELECT`, `ALL`, `EXECUTE`, `ALTER SYSTEM` …), on the whole object
/// or, with `column`, each on that one column (`SELECT ("c"), INSERT ("c")`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivilegeList {
    pub keywords: Vec<&'static str>,
    pub column: Option<String>,
}

impl PrivilegeList {
    /// Privileges on the whole object.
    pub fn of(keywords: &[&'static str]) -> PrivilegeList {
        PrivilegeList {
            keywords: keywords.to_vec(),
            column: None,
        }
    }
}

impl fmt::Display for PrivilegeList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let column = self.column.as_deref().map(escape_identifier);
        for (i, keyword) in self.keywords.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(keyword)?;
            if let Some(column) = &column {
                write!(f, " ({column})")?;
            }
        }
        Ok(())
    }
}

/// The object of a `GRANT`/`REVOKE` of privileges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrivilegeObject {
    Table(QualifiedName),
    Schema(String),
    Database(String),
    /// `ROUTINE "schema"."name"(argument types)`, the signature already quoted.
    Routine(String),
    /// `ALL TABLES IN SCHEMA s`.
    AllTablesInSchema(String),
}

impl fmt::Display for PrivilegeObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrivilegeObject::Table(table) => write!(f, "TABLE {table}"),
            PrivilegeObject::Schema(schema) => write!(f, "SCHEMA {}", escape_identifier(schema)),
            PrivilegeObject::Database(db) => write!(f, "DATABASE {}", escape_identifier(db)),
            PrivilegeObject::Routine(signature) => write!(f, "ROUTINE {signature}"),
            PrivilegeObject::AllTablesInSchema(schema) => {
                write!(f, "ALL TABLES IN SCHEMA {}", escape_identifier(schema))
            }
        }
    }
}

/// The `search_path` an `ALTER ROUTINE … SET search_path` pins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchPath {
    /// `pg_catalog, pg_temp`: the path that lets no caller's schema in.
    Safe,
    /// These schemas, quoted (`''` when none has a name): a path restored.
    Schemas(Vec<String>),
}

impl fmt::Display for SearchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SearchPath::Safe => f.write_str("pg_catalog, pg_temp"),
            SearchPath::Schemas(schemas) if schemas.iter().all(String::is_empty) => {
                f.write_str("''")
            }
            SearchPath::Schemas(schemas) => {
                for (i, schema) in schemas.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&escape_identifier(schema))?;
                }
                Ok(())
            }
        }
    }
}

/// Whose stored options an `ALTER … OPTIONS (DROP …)` removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionsOf {
    /// `ALTER SERVER s`.
    Server(String),
    /// `ALTER USER MAPPING FOR user SERVER s`.
    UserMapping { user: Grantee, server: String },
}

impl fmt::Display for OptionsOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionsOf::Server(server) => write!(f, "ALTER SERVER {}", escape_identifier(server)),
            OptionsOf::UserMapping { user, server } => write!(
                f,
                "ALTER USER MAPPING FOR {user} SERVER {}",
                escape_identifier(server)
            ),
        }
    }
}

/// The `WITH …` of a membership GRANT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipOptions {
    /// `WITH ADMIN OPTION` (the form before PostgreSQL 16).
    AdminOption,
    /// `WITH ADMIN TRUE|FALSE, INHERIT TRUE|FALSE` (PostgreSQL 16+).
    AdminInherit { admin: bool, inherit: bool },
}

impl fmt::Display for MembershipOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flag = |on: bool| if on { "TRUE" } else { "FALSE" };
        match self {
            MembershipOptions::AdminOption => f.write_str("WITH ADMIN OPTION"),
            MembershipOptions::AdminInherit { admin, inherit } => {
                write!(f, "WITH ADMIN {}, INHERIT {}", flag(*admin), flag(*inherit))
            }
        }
    }
}

/// One fix statement. See the module documentation. Two statements are
/// equal when they run the same text (a file read back may hold as
/// [`Statement::Other`] what a check builds typed).
#[derive(Debug, Clone, Eq)]
pub enum Statement {
    /// `ALTER SYSTEM SET "name" = 'v1', 'v2' …`: one literal per element, so
    /// that list settings are stored as lists.
    SetSystem {
        parameter: String,
        values: Vec<String>,
    },
    /// `ALTER SYSTEM RESET "name"`.
    ResetSystem { parameter: String },
    /// `LOAD 'library'`: makes a library's settings known to this session.
    Load { library: String },
    /// `ALTER ROLE r option …`.
    AlterRole {
        role: RoleRef,
        options: Vec<RoleOption>,
    },
    /// `CREATE ROLE r option …`.
    CreateRole {
        role: String,
        options: Vec<RoleOption>,
    },
    /// `DROP ROLE [IF EXISTS] r`.
    DropRole { role: String, if_exists: bool },
    /// `GRANT group TO member [WITH …]` / `REVOKE group FROM member`
    /// (membership).
    Membership {
        grant: bool,
        group: String,
        member: String,
        /// The options a GRANT gives (a rollback recreates a membership as
        /// the catalog recorded it); `None` for REVOKE and the defaults.
        with: Option<MembershipOptions>,
    },
    /// `<scope> SET "name" = 'value'`, or `<scope> RESET "name"` when
    /// `value` is `None`: a login default of roles, databases or a function.
    SessionDefault {
        scope: DefaultScope,
        parameter: String,
        value: Option<String>,
    },
    /// `GRANT privileges ON object TO grantee [WITH GRANT OPTION]` or
    /// `REVOKE [GRANT OPTION FOR] privileges ON object FROM grantee`;
    Privileges {
        grant: bool,
        privileges: PrivilegeList,
        object: PrivilegeObject,
        grantee: Grantee,
        /// GRANT: `WITH GRANT OPTION`; REVOKE: `GRANT OPTION FOR` only.
        grant_option: bool,
    },
    /// `ALTER TABLE t ENABLE | DISABLE | FORCE | NO FORCE ROW LEVEL SECURITY`.
    RowSecurity {
        table: QualifiedName,
        change: RowSecurity,
    },
    /// `ALTER TABLE t OWNER TO r`.
    TableOwner { table: QualifiedName, owner: String },
    /// `CREATE EXTENSION IF NOT EXISTS name` (the name as PostgreSQL folds
    /// it: lower case, written bare).
    CreateExtension { name: String },
    /// `DROP EXTENSION "name"` of an installed extension; with `if_exists`,
    /// `DROP EXTENSION IF EXISTS name`, the undo of
    /// [`Statement::CreateExtension`], the name written bare as there.
    DropExtension { name: String, if_exists: bool },
    /// `CREATE EXTENSION "name" [WITH] SCHEMA "schema" VERSION 'version'`:
    /// an extension dropped by a fix, recreated as the catalog recorded it.
    /// `with` writes the optional noise word; fixes differ in it, and saved
    /// outputs keep both spellings.
    RecreateExtension {
        name: String,
        schema: String,
        version: String,
        with: bool,
    },
    /// `ALTER VIEW v SET (security_invoker = on)`, or with `on` false
    /// `ALTER VIEW v RESET (security_invoker)` (back to the owner's rights).
    ViewSecurityInvoker { view: QualifiedName, on: bool },
    /// `ALTER ROUTINE r SET search_path = …`, or `RESET search_path` when
    /// `path` is `None`; `routine` as in [`PrivilegeObject::Routine`].
    RoutineSearchPath {
        routine: String,
        path: Option<SearchPath>,
    },
    /// `ALTER SERVER … OPTIONS (DROP "a", DROP "b")` or the same of a user
    /// mapping: stored options (credentials) removed.
    DropOptions { of: OptionsOf, options: Vec<String> },
    /// `ALTER TABLE t ADD COLUMN "c" type`; `data_type` is a type name of
    /// ours, written as given.
    AddColumn {
        table: QualifiedName,
        column: String,
        data_type: &'static str,
    },
    /// `ALTER TABLE t DROP COLUMN "c"`.
    DropColumn {
        table: QualifiedName,
        column: String,
    },
    /// Any other statement a check writes. It runs inside the fix's
    /// transaction and is judged by the in-transaction guard. Its text is
    /// built by the check with the quoting functions of this module.
    Other(String),
}

impl Statement {
    /// `ALTER SYSTEM SET "name" = 'value'`.
    pub fn set_system(parameter: impl Into<String>, value: impl Into<String>) -> Statement {
        Statement::SetSystem {
            parameter: parameter.into(),
            values: vec![value.into()],
        }
    }

    /// `ALTER SYSTEM SET` of a list, one literal per element; an empty list
    /// is `ALTER SYSTEM RESET` (an empty literal would be one empty element).
    pub fn set_system_list(parameter: impl Into<String>, values: Vec<String>) -> Statement {
        let parameter = parameter.into();
        if values.is_empty() {
            Statement::ResetSystem { parameter }
        } else {
            Statement::SetSystem { parameter, values }
        }
    }

    pub fn reset_system(parameter: impl Into<String>) -> Statement {
        Statement::ResetSystem {
            parameter: parameter.into(),
        }
    }

    /// `ALTER ROLE "role" option`.
    pub fn alter_role(role: impl Into<String>, option: RoleOption) -> Statement {
        Statement::AlterRole {
            role: RoleRef::Named(role.into()),
            options: vec![option],
        }
    }

    /// `GRANT privileges ON object TO grantee [WITH GRANT OPTION]`.
    pub fn grant(
        privileges: PrivilegeList,
        object: PrivilegeObject,
        grantee: Grantee,
        grant_option: bool,
    ) -> Statement {
        Statement::Privileges {
            grant: true,
            privileges,
            object,
            grantee,
            grant_option,
        }
    }

    /// `REVOKE privileges ON object FROM grantee`.
    pub fn revoke(
        privileges: PrivilegeList,
        object: PrivilegeObject,
        grantee: Grantee,
    ) -> Statement {
        Statement::Privileges {
            grant: false,
            privileges,
            object,
            grantee,
            grant_option: false,
        }
    }

    /// Text a check wrote for a statement no variant describes.
    pub fn other(sql: impl Into<String>) -> Statement {
        Statement::Other(sql.into())
    }

    /// The setting an `ALTER SYSTEM` statement changes.
    pub fn system_parameter(&self) -> Option<&str> {
        match self {
            Statement::SetSystem { parameter, .. } | Statement::ResetSystem { parameter } => {
                Some(parameter)
            }
            _ => None,
        }
    }

    /// Roles whose attributes, settings or memberships the statement changes.
    pub fn roles_touched(&self) -> Vec<RoleRef> {
        match self {
            Statement::AlterRole { role, .. } => vec![role.clone()],
            Statement::SessionDefault {
                scope: DefaultScope::Role { role, .. },
                ..
            } => vec![role.clone()],
            Statement::DropRole { role, .. } => vec![RoleRef::Named(role.clone())],
            Statement::Membership { member, .. } => vec![RoleRef::Named(member.clone())],
            _ => Vec::new(),
        }
    }

    /// The attribute changes of an `ALTER ROLE` (none for other statements).
    pub fn role_options(&self) -> &[RoleOption] {
        match self {
            Statement::AlterRole { options, .. } => options,
            _ => &[],
        }
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statement::SetSystem { parameter, values } => {
                write!(f, "ALTER SYSTEM SET {} = ", escape_identifier(parameter))?;
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&escape_literal(value))?;
                }
                Ok(())
            }
            Statement::ResetSystem { parameter } => {
                write!(f, "ALTER SYSTEM RESET {}", escape_identifier(parameter))
            }
            Statement::Load { library } => write!(f, "LOAD {}", escape_literal(library)),
            Statement::AlterRole { role, options } => {
                write!(f, "ALTER ROLE {role}")?;
                options.iter().try_for_each(|o| write!(f, " {o}"))
            }
            Statement::CreateRole { role, options } => {
                write!(f, "CREATE ROLE {}", escape_identifier(role))?;
                options.iter().try_for_each(|o| write!(f, " {o}"))
            }
            Statement::DropRole { role, if_exists } => write!(
                f,
                "DROP ROLE {}{}",
                if *if_exists { "IF EXISTS " } else { "" },
                escape_identifier(role)
            ),
            Statement::Membership {
                grant,
                group,
                member,
                with,
            } => {
                let (verb, preposition) = if *grant {
                    ("GRANT", "TO")
                } else {
                    ("REVOKE", "FROM")
                };
                write!(
                    f,
                    "{verb} {} {preposition} {}",
                    escape_identifier(group),
                    escape_identifier(member)
                )?;
                match with {
                    Some(options) => write!(f, " {options}"),
                    None => Ok(()),
                }
            }
            Statement::SessionDefault {
                scope,
                parameter,
                value,
            } => match value {
                Some(value) => write!(
                    f,
                    "{scope} SET {} = {}",
                    escape_identifier(parameter),
                    escape_literal(value)
                ),
                None => write!(f, "{scope} RESET {}", escape_identifier(parameter)),
            },
            Statement::Privileges {
                grant: true,
                privileges,
                object,
                grantee,
                grant_option,
            } => {
                write!(f, "GRANT {privileges} ON {object} TO {grantee}")?;
                if *grant_option {
                    f.write_str(" WITH GRANT OPTION")?;
                }
                Ok(())
            }
            Statement::Privileges {
                grant: false,
                privileges,
                object,
                grantee,
                grant_option,
            } => write!(
                f,
                "REVOKE {}{privileges} ON {object} FROM {grantee}",
                if *grant_option {
                    "GRANT OPTION FOR "
                } else {
                    ""
                }
            ),
            Statement::RowSecurity { table, change } => {
                write!(f, "ALTER TABLE {table} {change} ROW LEVEL SECURITY")
            }
            Statement::TableOwner { table, owner } => {
                write!(
                    f,
                    "ALTER TABLE {table} OWNER TO {}",
                    escape_identifier(owner)
                )
            }
            Statement::CreateExtension { name } => {
                write!(f, "CREATE EXTENSION IF NOT EXISTS {name}")
            }
            Statement::DropExtension {
                name,
                if_exists: true,
            } => write!(f, "DROP EXTENSION IF EXISTS {name}"),
            Statement::DropExtension {
                name,
                if_exists: false,
            } => write!(f, "DROP EXTENSION {}", escape_identifier(name)),
            Statement::RecreateExtension {
                name,
                schema,
                version,
                with,
            } => write!(
                f,
                "CREATE EXTENSION {} {}SCHEMA {} VERSION {}",
                escape_identifier(name),
                if *with { "WITH " } else { "" },
                escape_identifier(schema),
                escape_literal(version)
            ),
            Statement::ViewSecurityInvoker { view, on: true } => {
                write!(f, "ALTER VIEW {view} SET (security_invoker = on)")
            }
            Statement::ViewSecurityInvoker { view, on: false } => {
                write!(f, "ALTER VIEW {view} RESET (security_invoker)")
            }
            Statement::RoutineSearchPath { routine, path } => match path {
                Some(path) => write!(f, "ALTER ROUTINE {routine} SET search_path = {path}"),
                None => write!(f, "ALTER ROUTINE {routine} RESET search_path"),
            },
            Statement::DropOptions { of, options } => {
                write!(f, "{of} OPTIONS (")?;
                for (i, option) in options.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "DROP {}", escape_identifier(option))?;
                }
                f.write_str(")")
            }
            Statement::AddColumn {
                table,
                column,
                data_type,
            } => write!(
                f,
                "ALTER TABLE {table} ADD COLUMN {} {data_type}",
                escape_identifier(column)
            ),
            Statement::DropColumn { table, column } => write!(
                f,
                "ALTER TABLE {table} DROP COLUMN {}",
                escape_identifier(column)
            ),
            Statement::Other(sql) => f.write_str(sql),
        }
    }
}

impl PartialEq for Statement {
    fn eq(&self, other: &Statement) -> bool {
        writes(self, &other.to_string())
    }
}

/// Compares the text, so that tests and lookups can name a statement as
/// it is shown.
impl PartialEq<str> for Statement {
    fn eq(&self, other: &str) -> bool {
        writes(self, other)
    }
}

impl PartialEq<&str> for Statement {
    fn eq(&self, other: &&str) -> bool {
        writes(self, other)
    }
}

impl PartialEq<String> for Statement {
    fn eq(&self, other: &String) -> bool {
        writes(self, other)
    }
}

/// Whether `statement` shows as exactly `text`, compared piece by piece as
/// `Display` writes it (no copy of the text is built).
fn writes(statement: &Statement, text: &str) -> bool {
    struct Rest<'a>(&'a str);
    impl fmt::Write for Rest<'_> {
        fn write_str(&mut self, piece: &str) -> fmt::Result {
            let rest = self.0.strip_prefix(piece).ok_or(fmt::Error)?;
            self.0 = rest;
            Ok(())
        }
    }
    let mut rest = Rest(text);
    fmt::write(&mut rest, format_args!("{statement}")).is_ok() && rest.0.is_empty()
}

/// Reads a statement from a file written by any version: see [`read`].
impl std::str::FromStr for Statement {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Statement, Self::Err> {
        Ok(read::statement(text))
    }
}

impl Serialize for Statement {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Statement {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Statement, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(read::statement(&text))
    }
}

/// `ALTER SYSTEM SET name = value`, with `value` as postgresql.conf would
/// hold it: a list setting gets one literal per element.
pub fn alter_system_set(name: &str, value: &str) -> Statement {
    if is_list_quoted(name) {
        Statement::set_system_list(name, split_list(value))
    } else {
        Statement::set_system(name, value)
    }
}

/// `ALTER SYSTEM SET name = 'a', 'b'` (RESET for an empty list).
pub fn set_list_statement(name: &str, items: &[String]) -> Statement {
    Statement::set_system_list(name, items.to_vec())
}

/// The undo of a parameter change that restores what the snapshot saw: a
/// value from postgresql.auto.conf is set back; anything else is RESET so
/// that postgresql.conf or the default applies again.
pub fn restore_parameter(snapshot: &Snapshot, name: &str) -> Statement {
    match snapshot.setting(name) {
        Some(s) if s.from_auto_conf() => alter_system_set(name, s.value()),
        _ => Statement::reset_system(name),
    }
}

/// `"schema"."name"(arguments)`: a routine as [`PrivilegeObject::Routine`]
/// and [`Statement::RoutineSearchPath`] name it. `arguments` is written as
/// given; the caller has made sure it holds only an argument list.
pub fn routine_signature(schema: &str, name: &str, arguments: &str) -> String {
    format!(
        "{}.{}({arguments})",
        escape_identifier(schema),
        escape_identifier(name)
    )
}

/// The texts of `statements`, as every output shows them.
pub fn texts(statements: &[Statement]) -> Vec<String> {
    statements.iter().map(Statement::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> QualifiedName {
        QualifiedName::new("public", "patients")
    }

    /// The exact texts the fix builders wrote before statements were typed
    /// (tests/fixtures/golden holds them in context).
    #[test]
    fn display_is_the_text_that_runs() {
        let cases: Vec<(Statement, &str)> = vec![
            (
                Statement::set_system("ssl", "on"),
                "ALTER SYSTEM SET \"ssl\" = 'on'",
            ),
            (
                Statement::set_system_list(
                    "shared_preload_libraries",
                    vec!["pgaudit".into(), "auth_delay".into()],
                ),
                "ALTER SYSTEM SET \"shared_preload_libraries\" = 'pgaudit', 'auth_delay'",
            ),
            (
                Statement::set_system_list("shared_preload_libraries", vec![]),
                "ALTER SYSTEM RESET \"shared_preload_libraries\"",
            ),
            (Statement::set_system("x", "it's"), "ALTER SYSTEM SET \"x\" = 'it''s'"),
            (
                Statement::alter_role("alice", RoleOption::ValidUntil("2027-03-07".into())),
                "ALTER ROLE \"alice\" VALID UNTIL '2027-03-07'",
            ),
            (
                Statement::alter_role("alice", RoleOption::ConnectionLimit(-1)),
                "ALTER ROLE \"alice\" CONNECTION LIMIT -1",
            ),
            (
                Statement::alter_role("a\"b", RoleOption::Login(false)),
                "ALTER ROLE \"a\"\"b\" NOLOGIN",
            ),
            (
                Statement::SessionDefault {
                    scope: DefaultScope::Role {
                        role: RoleRef::named("app"),
                        database: Some("phi".into()),
                    },
                    parameter: "log_min_messages".into(),
                    value: None,
                },
                "ALTER ROLE \"app\" IN DATABASE \"phi\" RESET \"log_min_messages\"",
            ),
            (
                Statement::SessionDefault {
                    scope: DefaultScope::Role {
                        role: RoleRef::All,
                        database: None,
                    },
                    parameter: "log_replication_commands".into(),
                    value: Some("off".into()),
                },
                "ALTER ROLE ALL SET \"log_replication_commands\" = 'off'",
            ),
            (
                Statement::SessionDefault {
                    scope: DefaultScope::Database("phi".into()),
                    parameter: "log_statement".into(),
                    value: Some("none".into()),
                },
                "ALTER DATABASE \"phi\" SET \"log_statement\" = 'none'",
            ),
            (
                Statement::SessionDefault {
                    scope: DefaultScope::Function {
                        signature: "\"public\".\"quiet\"(integer)".into(),
                    },
                    parameter: "pgaudit.log".into(),
                    value: None,
                },
                "ALTER FUNCTION \"public\".\"quiet\"(integer) RESET \"pgaudit.log\"",
            ),
            (
                Statement::DropRole {
                    role: "auditor".into(),
                    if_exists: true,
                },
                "DROP ROLE IF EXISTS \"auditor\"",
            ),
            (
                Statement::CreateRole {
                    role: "phi_owner".into(),
                    options: vec![RoleOption::Login(false)],
                },
                "CREATE ROLE \"phi_owner\" NOLOGIN",
            ),
            (
                Statement::Membership {
                    grant: false,
                    group: "admins".into(),
                    member: "carol".into(),
                    with: None,
                },
                "REVOKE \"admins\" FROM \"carol\"",
            ),
            (
                Statement::Membership {
                    grant: true,
                    group: "admins".into(),
                    member: "carol".into(),
                    with: Some(MembershipOptions::AdminOption),
                },
                "GRANT \"admins\" TO \"carol\" WITH ADMIN OPTION",
            ),
            (
                Statement::Membership {
                    grant: true,
                    group: "admins".into(),
                    member: "carol".into(),
                    with: Some(MembershipOptions::AdminInherit {
                        admin: false,
                        inherit: true,
                    }),
                },
                "GRANT \"admins\" TO \"carol\" WITH ADMIN FALSE, INHERIT TRUE",
            ),
            (
                Statement::grant(
                    PrivilegeList::of(&["SELECT", "INSERT", "UPDATE", "DELETE"]),
                    PrivilegeObject::Table(table()),
                    Grantee::Role("postgres".into()),
                    false,
                ),
                "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE \"public\".\"patients\" TO \"postgres\"",
            ),
            (
                Statement::grant(
                    PrivilegeList {
                        keywords: vec!["SELECT", "UPDATE"],
                        column: Some("s\"sn".into()),
                    },
                    PrivilegeObject::Table(table()),
                    Grantee::Public,
                    true,
                ),
                "GRANT SELECT (\"s\"\"sn\"), UPDATE (\"s\"\"sn\") ON TABLE \"public\".\"patients\" TO PUBLIC WITH GRANT OPTION",
            ),
            (
                Statement::revoke(
                    PrivilegeList::of(&["CREATE"]),
                    PrivilegeObject::Schema("public".into()),
                    Grantee::Public,
                ),
                "REVOKE CREATE ON SCHEMA \"public\" FROM PUBLIC",
            ),
            (
                Statement::revoke(
                    PrivilegeList::of(&["EXECUTE"]),
                    PrivilegeObject::Routine(routine_signature("public", "f", "integer, text")),
                    Grantee::Role("app".into()),
                ),
                "REVOKE EXECUTE ON ROUTINE \"public\".\"f\"(integer, text) FROM \"app\"",
            ),
            (
                Statement::Privileges {
                    grant: false,
                    privileges: PrivilegeList::of(&["SELECT"]),
                    object: PrivilegeObject::Table(table()),
                    grantee: Grantee::Role("erin".into()),
                    grant_option: true,
                },
                "REVOKE GRANT OPTION FOR SELECT ON TABLE \"public\".\"patients\" FROM \"erin\"",
            ),
            (
                Statement::Privileges {
                    grant: false,
                    privileges: PrivilegeList::of(&["ALL"]),
                    object: PrivilegeObject::AllTablesInSchema("public".into()),
                    grantee: Grantee::Public,
                    grant_option: false,
                },
                "REVOKE ALL ON ALL TABLES IN SCHEMA \"public\" FROM PUBLIC",
            ),
            (
                Statement::RowSecurity {
                    table: table(),
                    change: RowSecurity::NoForce,
                },
                "ALTER TABLE \"public\".\"patients\" NO FORCE ROW LEVEL SECURITY",
            ),
            (
                Statement::TableOwner {
                    table: table(),
                    owner: "phi_owner".into(),
                },
                "ALTER TABLE \"public\".\"patients\" OWNER TO \"phi_owner\"",
            ),
            (
                Statement::CreateExtension {
                    name: "pgaudit".into(),
                },
                "CREATE EXTENSION IF NOT EXISTS pgaudit",
            ),
            (
                Statement::Load {
                    library: "pgaudit".into(),
                },
                "LOAD 'pgaudit'",
            ),
            (
                Statement::DropExtension {
                    name: "pgaudit".into(),
                    if_exists: true,
                },
                "DROP EXTENSION IF EXISTS pgaudit",
            ),
            (
                Statement::DropExtension {
                    name: "db\"link".into(),
                    if_exists: false,
                },
                "DROP EXTENSION \"db\"\"link\"",
            ),
            (
                Statement::RecreateExtension {
                    name: "dblink".into(),
                    schema: "public".into(),
                    version: "1.2".into(),
                    with: true,
                },
                "CREATE EXTENSION \"dblink\" WITH SCHEMA \"public\" VERSION '1.2'",
            ),
            (
                Statement::RecreateExtension {
                    name: "postgres_fdw".into(),
                    schema: "public".into(),
                    version: "it's".into(),
                    with: false,
                },
                "CREATE EXTENSION \"postgres_fdw\" SCHEMA \"public\" VERSION 'it''s'",
            ),
            (
                Statement::ViewSecurityInvoker {
                    view: table(),
                    on: true,
                },
                "ALTER VIEW \"public\".\"patients\" SET (security_invoker = on)",
            ),
            (
                Statement::ViewSecurityInvoker {
                    view: table(),
                    on: false,
                },
                "ALTER VIEW \"public\".\"patients\" RESET (security_invoker)",
            ),
            (
                Statement::RoutineSearchPath {
                    routine: routine_signature("public", "f", ""),
                    path: Some(SearchPath::Safe),
                },
                "ALTER ROUTINE \"public\".\"f\"() SET search_path = pg_catalog, pg_temp",
            ),
            (
                Statement::RoutineSearchPath {
                    routine: routine_signature("public", "f", ""),
                    path: Some(SearchPath::Schemas(vec!["My App".into(), "pg_temp".into()])),
                },
                "ALTER ROUTINE \"public\".\"f\"() SET search_path = \"My App\", \"pg_temp\"",
            ),
            (
                Statement::RoutineSearchPath {
                    routine: routine_signature("public", "f", ""),
                    path: Some(SearchPath::Schemas(vec![String::new()])),
                },
                "ALTER ROUTINE \"public\".\"f\"() SET search_path = ''",
            ),
            (
                Statement::RoutineSearchPath {
                    routine: routine_signature("public", "f", ""),
                    path: None,
                },
                "ALTER ROUTINE \"public\".\"f\"() RESET search_path",
            ),
            (
                Statement::DropOptions {
                    of: OptionsOf::UserMapping {
                        user: Grantee::Public,
                        server: "remote".into(),
                    },
                    options: vec!["password".into(), "user".into()],
                },
                "ALTER USER MAPPING FOR PUBLIC SERVER \"remote\" OPTIONS (DROP \"password\", DROP \"user\")",
            ),
            (
                Statement::DropOptions {
                    of: OptionsOf::Server("remote".into()),
                    options: vec!["password".into()],
                },
                "ALTER SERVER \"remote\" OPTIONS (DROP \"password\")",
            ),
            (
                Statement::AddColumn {
                    table: table(),
                    column: "ssn_encrypted".into(),
                    data_type: "bytea",
                },
                "ALTER TABLE \"public\".\"patients\" ADD COLUMN \"ssn_encrypted\" bytea",
            ),
            (
                Statement::DropColumn {
                    table: table(),
                    column: "ssn".into(),
                },
                "ALTER TABLE \"public\".\"patients\" DROP COLUMN \"ssn\"",
            ),
        ];
        for (statement, text) in cases {
            assert_eq!(statement.to_string(), text);
            // What we write, we read back as the same typed value.
            assert_eq!(text.parse::<Statement>(), Ok(statement), "{text}");
        }
    }

    #[test]
    fn parameter_statements_read_back_exactly() {
        let hostile = [
            "plain",
            "it's",
            "back\\slash",
            "new\nline",
            "zoë \"quoted\"",
            "",
            "a, b",
        ];
        for value in hostile {
            for name in ["log_statement", "weird \"name\"", "ünï"] {
                let text = alter_system_set(name, value).to_string();
                match text.parse::<Statement>() {
                    Ok(Statement::SetSystem { parameter, values }) => {
                        assert_eq!(
                            (parameter.as_str(), values),
                            (name, vec![value.to_string()])
                        );
                    }
                    other => panic!("{text}: {other:?}"),
                }
            }
        }
        let items = vec!["pgaudit".to_string(), "My Lib".into(), "it's".into()];
        let list = set_list_statement("shared_preload_libraries", &items).to_string();
        assert!(matches!(list.parse(), Ok(Statement::SetSystem { values, .. }) if values == items));
        for other in [
            "ALTER SYSTEM SET \"x\" = 'a'; DROP ROLE y",
            "ALTER SYSTEM SET \"x\" = 'unclosed",
        ] {
            assert!(matches!(other.parse(), Ok(Statement::Other(_))), "{other}");
        }
    }

    #[test]
    fn json_keeps_the_text() {
        let plan = vec![Statement::reset_system("ssl"), Statement::other("SELECT 1")];
        let json = serde_json::to_string(&plan).unwrap();
        assert_eq!(json, r#"["ALTER SYSTEM RESET \"ssl\"","SELECT 1"]"#);
        let back: Vec<Statement> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, plan);
    }
}

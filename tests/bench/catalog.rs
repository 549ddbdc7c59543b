//! A large, deterministic catalog for scale tests and benchmarks: N tables and M roles laid
//! out by fixed rules, the SQL script that creates them, and the objects each check must
//! report for them.
//!
//! One [`Layout`] is the single source of truth: the live generator runs [`Layout::sql`],
//! the synthetic snapshot of the benchmarks is built from the same layout (`synthetic.rs`),
//! and `tests/scale_live.rs` compares the scanner's verdicts with [`Layout::expected`]. The
//! rules (all by index, no randomness):
//!
//! - tables `t_NNNNN` spread over schemas `sch_NN` (250 per schema); every tenth is PHI
//!   (`patient_name text`, `date_of_birth date`, `ssn_encrypted bytea`, `diagnosis_code`),
//!   the others hold `label`, `amount` and `created_at`;
//! - PHI tables cycle through four RLS states: enabled + forced + policy, no FORCE, no
//!   policy, RLS off; some other tables have RLS without a policy or a vacuous policy;
//! - every table is granted to two group roles; PHI tables grant two non-PHI columns to a
//!   third; some tables, one column and some views grant SELECT to PUBLIC;
//! - N/200 partitioned PHI tables with four partitions each (parent and partitions with
//!   their own RLS settings), N/500 inheritance parents with two children, N/100 views
//!   (half `security_invoker`) and N/500 materialized views over PHI tables, one foreign
//!   table (file_fdw), N/100 functions (some SECURITY DEFINER without `search_path`);
//! - roles: six privileged ones (superusers, CREATEROLE, BYPASSRLS, REPLICATION, the
//!   NOLOGIN table owner), a tenth of the rest NOLOGIN groups (nested), the others logins
//!   in two groups each; a tenth of the logins have SCRAM verifiers, one in fifty md5;
//!   one login can SET ROLE to a superuser group, one holds `pg_read_all_data`.
//!
//! Pure: no I/O, no server. Must not import the test harness, so benches that need no
//! server can use it.

// Each consumer (bench, live test) uses a different part of the layout.
#![allow(dead_code)]

use postgres_protocol::escape::{escape_identifier, escape_literal};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// How big a catalog to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    /// Plain tables `t_NNNNN`; partitions, children, views and the rest come on top
    /// (about 4 % more relations).
    pub tables: usize,
    /// Roles created (predefined roles and the bootstrap superuser come on top); at least 10.
    pub roles: usize,
}

/// The database the generator fills.
pub const DATABASE: &str = "scale";

/// The NOLOGIN role that owns every generated relation.
pub const OWNER: &str = "data_owner";

/// The grantee name ACLs use for everyone.
pub const PUBLIC: &str = "PUBLIC";

const TABLES_PER_SCHEMA: usize = 250;
/// Statements per transaction of the script: bounds the locks one transaction holds.
const RELATIONS_PER_TRANSACTION: usize = 400;
/// Relations named in one GRANT statement.
const GRANT_BATCH: usize = 400;
/// The password behind every generated verifier (throwaway clusters only).
const FIXTURE_PASSWORD: &[u8] = b"scale-fixture-password";

/// Column name and type as `format_type` prints it.
pub type ColumnSpec = (&'static str, &'static str);

const PHI_COLUMNS: &[ColumnSpec] = &[
    ("id", "bigint"),
    ("clinic_id", "integer"),
    ("patient_name", "text"),
    ("date_of_birth", "date"),
    ("ssn_encrypted", "bytea"),
    ("diagnosis_code", "text"),
];
const PLAIN_COLUMNS: &[ColumnSpec] = &[
    ("id", "bigint"),
    ("clinic_id", "integer"),
    ("label", "text"),
    ("amount", "numeric(12,2)"),
    ("created_at", "timestamp with time zone"),
];
const VISIT_COLUMNS: &[ColumnSpec] = &[
    ("id", "bigint"),
    ("clinic_id", "integer"),
    ("patient_name", "text"),
    ("visit_date", "date"),
    ("diagnosis_code", "text"),
];
const PEOPLE_COLUMNS: &[ColumnSpec] = &[
    ("id", "bigint"),
    ("clinic_id", "integer"),
    ("patient_name", "text"),
    ("date_of_birth", "date"),
];
const VIEW_COLUMNS: &[ColumnSpec] = &[
    ("id", "bigint"),
    ("clinic_id", "integer"),
    ("patient_name", "text"),
    ("date_of_birth", "date"),
];
const FOREIGN_COLUMNS: &[ColumnSpec] = &[
    ("patient_name", "text"),
    ("ssn", "text"),
    ("date_of_birth", "date"),
];
/// Non-PHI columns of PHI tables that a non-clinical group may read.
const SAFE_COLUMNS: &[&str] = &["id", "clinic_id"];

/// Table privileges the owner holds on PostgreSQL 15 (`arwdDxt`).
pub const OWNER_LETTERS: &str = "arwdDxt";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Table,
    Partitioned,
    Partition,
    InheritanceChild,
    View,
    MatView,
    Foreign,
}

impl Kind {
    /// `pg_class.relkind`.
    pub fn relkind(self) -> &'static str {
        match self {
            Kind::Table | Kind::Partition | Kind::InheritanceChild => "r",
            Kind::Partitioned => "p",
            Kind::View => "v",
            Kind::MatView => "m",
            Kind::Foreign => "f",
        }
    }

    /// Kinds on which row-level security binds (what PRIV-014 judges).
    pub fn takes_rls(self) -> bool {
        matches!(
            self,
            Kind::Table | Kind::Partitioned | Kind::Partition | Kind::InheritanceChild
        )
    }
}

/// Row-level security as planted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rls {
    pub enabled: bool,
    pub forced: bool,
}

impl Rls {
    const OFF: Rls = Rls {
        enabled: false,
        forced: false,
    };
    const ENFORCED: Rls = Rls {
        enabled: true,
        forced: true,
    };
    const NOT_FORCED: Rls = Rls {
        enabled: true,
        forced: false,
    };
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySpec {
    pub name: String,
    /// `USING (true)`: admits every row.
    pub vacuous: bool,
}

impl PolicySpec {
    /// The USING expression as `pg_get_expr` prints it.
    pub fn using(&self) -> &'static str {
        if self.vacuous {
            "true"
        } else {
            "(clinic_id = (NULLIF(current_setting('app.clinic_id'::text, true), ''::text))::integer)"
        }
    }

    fn sql_using(&self) -> &'static str {
        if self.vacuous {
            "true"
        } else {
            "clinic_id = nullif(current_setting('app.clinic_id', true), '')::integer"
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// A role name or [`PUBLIC`].
    pub grantee: String,
    /// SQL privilege keywords, e.g. `SELECT, INSERT`.
    pub privileges: &'static str,
    /// The same as `aclitem` letters, e.g. `ar`.
    pub letters: &'static str,
    /// Column-level grant on these columns; empty for a table-level grant.
    pub columns: &'static [&'static str],
}

impl Grant {
    fn table(grantee: &str, privileges: &'static str, letters: &'static str) -> Grant {
        Grant {
            grantee: grantee.to_string(),
            privileges,
            letters,
            columns: &[],
        }
    }

    fn columns(grantee: &str, columns: &'static [&'static str]) -> Grant {
        Grant {
            grantee: grantee.to_string(),
            privileges: "SELECT",
            letters: "r",
            columns,
        }
    }

    fn to_public(&self) -> bool {
        self.grantee == PUBLIC
    }

    /// `SELECT` or `SELECT (a, b)`, for a GRANT statement.
    fn privilege_sql(&self) -> String {
        if self.columns.is_empty() {
            return self.privileges.to_string();
        }
        let columns: Vec<String> = self.columns.iter().map(|c| escape_identifier(c)).collect();
        format!("{} ({})", self.privileges, columns.join(", "))
    }

    fn grantee_sql(&self) -> String {
        if self.to_public() {
            PUBLIC.to_string()
        } else {
            escape_identifier(&self.grantee)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationSpec {
    pub schema: String,
    pub name: String,
    pub kind: Kind,
    /// Holds PHI by its column names (what the checks' heuristics must find).
    pub phi: bool,
    pub columns: &'static [ColumnSpec],
    /// `schema.name` of the partitioned parent or inheritance parent.
    pub parent: Option<String>,
    pub rls: Rls,
    pub policies: Vec<PolicySpec>,
    pub grants: Vec<Grant>,
    /// Views and materialized views: the relation they select from (`schema.name`).
    pub source: Option<String>,
    /// Partitions: the year their range covers.
    pub partition_year: Option<u32>,
    /// Views: created `WITH (security_invoker = true)`.
    pub security_invoker: bool,
}

impl RelationSpec {
    fn new(schema: &str, name: String, kind: Kind, columns: &'static [ColumnSpec]) -> Self {
        RelationSpec {
            schema: schema.to_string(),
            name,
            kind,
            phi: columns.iter().any(|(c, _)| is_planted_phi_column(c)),
            columns,
            parent: None,
            rls: Rls::OFF,
            policies: Vec::new(),
            grants: Vec::new(),
            source: None,
            partition_year: None,
            security_invoker: false,
        }
    }

    /// `"schema"."name"`: the object key the checks report.
    pub fn key(&self) -> String {
        key(&self.schema, &self.name)
    }

    /// `schema.name` unquoted, as the snapshot's `parent` field holds it.
    pub fn dotted(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    fn sql_name(&self) -> String {
        key(&self.schema, &self.name)
    }

    /// Whether RLS binds queries on this relation: enabled, forced and with a policy.
    pub fn rls_enforced(&self) -> bool {
        self.rls.enabled && self.rls.forced && !self.policies.is_empty()
    }

    fn with_rls(mut self, rls: Rls, policy: Option<bool>) -> Self {
        self.rls = rls;
        if let Some(vacuous) = policy {
            self.policies.push(PolicySpec {
                name: format!("{}_rows", self.name),
                vacuous,
            });
        }
        self
    }
}

/// The planted PHI column names (the checks' heuristics must agree).
fn is_planted_phi_column(name: &str) -> bool {
    matches!(
        name,
        "patient_name" | "date_of_birth" | "ssn_encrypted" | "diagnosis_code" | "ssn"
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Password {
    None,
    Scram,
    Md5,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSpec {
    pub name: String,
    pub login: bool,
    pub superuser: bool,
    pub create_role: bool,
    pub bypass_rls: bool,
    pub replication: bool,
    pub password: Password,
}

impl RoleSpec {
    fn new(name: impl Into<String>, login: bool) -> Self {
        RoleSpec {
            name: name.into(),
            login,
            superuser: false,
            create_role: false,
            bypass_rls: false,
            replication: false,
            password: Password::None,
        }
    }
}

/// A role granted to a member.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MembershipSpec {
    pub group: String,
    pub member: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    pub schema: String,
    pub name: String,
    pub security_definer: bool,
    /// `SET search_path = pg_catalog, pg_temp`.
    pub pinned_search_path: bool,
}

impl FunctionSpec {
    /// `name(integer)`, as the collector writes signatures.
    pub fn signature(&self) -> String {
        format!("{}(integer)", self.name)
    }
}

/// The whole generated catalog.
#[derive(Debug, Clone)]
pub struct Layout {
    pub scale: Scale,
    pub schemas: Vec<String>,
    pub roles: Vec<RoleSpec>,
    pub memberships: Vec<MembershipSpec>,
    pub relations: Vec<RelationSpec>,
    pub functions: Vec<FunctionSpec>,
}

/// What the checks must report for a layout (object keys as the checks write them, sorted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// PRIV-009: relations with a table- or column-level grant to PUBLIC.
    pub public_grants: Vec<String>,
    /// PRIV-014: PHI tables (partitions and children each on their own) whose RLS is not
    /// enabled, forced and backed by a policy.
    pub phi_without_rls: Vec<String>,
    /// PRIV-015: vacuous permissive policies and RLS tables without a policy.
    pub rls_policy_problems: Vec<String>,
    /// AUTH-002: roles with an md5 verifier.
    pub md5_roles: Vec<String>,
    /// PRIV-001: superusers besides the bootstrap superuser.
    pub extra_superusers: Vec<String>,
}

fn key(schema: &str, name: &str) -> String {
    format!("{}.{}", escape_identifier(schema), escape_identifier(name))
}

fn at_least(value: usize, floor: usize) -> usize {
    value.max(floor)
}

/// Fixed privileged roles, in creation order.
const SUPERUSER_LOGIN: &str = "adm_dba";
const SUPERUSER_GROUP: &str = "grp_super";
const ROLE_ADMIN: &str = "adm_roles";
const RLS_BYPASSER: &str = "svc_etl";
const REPLICATOR: &str = "svc_repl";
const PRIVILEGED_ROLES: usize = 6;

impl Layout {
    /// The layout for `scale` (tables ≥ 1, roles ≥ 10).
    pub fn new(scale: Scale) -> Layout {
        let scale = Scale {
            tables: at_least(scale.tables, 1),
            roles: at_least(scale.roles, 10),
        };
        let (roles, memberships, groups) = plan_roles(scale.roles);
        let schemas: Vec<String> = (0..scale.tables.div_ceil(TABLES_PER_SCHEMA))
            .map(|s| format!("sch_{s:02}"))
            .collect();
        let mut relations = Vec::new();
        plan_tables(scale.tables, &schemas, &groups, &mut relations);
        plan_partitioned(scale.tables, &schemas, &groups, &mut relations);
        plan_inheritance(scale.tables, &schemas, &groups, &mut relations);
        plan_views(scale.tables, &schemas, &groups, &mut relations);
        plan_foreign_table(&schemas, &groups, &mut relations);
        let functions = plan_functions(scale.tables, &schemas);
        Layout {
            scale,
            schemas,
            roles,
            memberships,
            relations,
            functions,
        }
    }

    /// Group roles (NOLOGIN, not privileged), in creation order.
    pub fn groups(&self) -> impl Iterator<Item = &RoleSpec> {
        self.roles.iter().filter(|r| r.name.starts_with("grp_g"))
    }

    /// What the checks must report.
    pub fn expected(&self) -> Expected {
        let sorted = |mut items: Vec<String>| {
            items.sort();
            items.dedup();
            items
        };
        let public_grants = self
            .relations
            .iter()
            .filter(|r| r.grants.iter().any(Grant::to_public))
            .map(RelationSpec::key)
            .collect();
        let mut phi_without_rls: Vec<String> = self
            .relations
            .iter()
            .filter(|r| r.kind.takes_rls() && r.phi && !r.rls_enforced())
            .map(RelationSpec::key)
            .collect();
        // Views without security_invoker read as their owner, who owns the PHI table too:
        // unless the table is FORCEd, its RLS binds nobody reading through the view.
        let rls_bypassed = |source: &str| {
            self.relations.iter().any(|t| {
                format!("{}.{}", t.schema, t.name) == source
                    && t.kind.takes_rls()
                    && t.phi
                    && t.rls.enabled
                    && !t.rls.forced
            })
        };
        phi_without_rls.extend(
            self.relations
                .iter()
                .filter(|r| r.kind == Kind::View && !r.security_invoker && !r.grants.is_empty())
                .filter(|r| r.source.as_deref().is_some_and(rls_bypassed))
                .map(RelationSpec::key),
        );
        let mut rls_policy_problems = Vec::new();
        for rel in self.relations.iter().filter(|r| r.kind.takes_rls()) {
            for policy in rel.policies.iter().filter(|p| p.vacuous) {
                rls_policy_problems.push(format!(
                    "policy {} on {}",
                    escape_identifier(&policy.name),
                    rel.key()
                ));
            }
            if rel.rls.enabled && rel.policies.is_empty() {
                rls_policy_problems.push(format!("{} (RLS enabled, no policy)", rel.key()));
            }
        }
        let md5_roles = self
            .roles
            .iter()
            .filter(|r| r.password == Password::Md5)
            .map(|r| r.name.clone())
            .collect();
        let extra_superusers = self
            .roles
            .iter()
            .filter(|r| r.superuser)
            .map(|r| r.name.clone())
            .collect();
        Expected {
            public_grants: sorted(public_grants),
            phi_without_rls: sorted(phi_without_rls),
            rls_policy_problems: sorted(rls_policy_problems),
            md5_roles: sorted(md5_roles),
            extra_superusers: sorted(extra_superusers),
        }
    }

    /// The script that builds the layout in an empty database [`DATABASE`], run by a
    /// superuser (psql, `ON_ERROR_STOP`). Transactions are bounded so that no transaction
    /// holds more locks than a default server allows.
    pub fn sql(&self) -> String {
        let mut sql = String::with_capacity(self.relations.len() * 700);
        sql.push_str("SET client_min_messages = warning;\n");
        sql.push_str("CREATE EXTENSION IF NOT EXISTS file_fdw;\n");
        sql.push_str("CREATE SERVER bench_files FOREIGN DATA WRAPPER file_fdw;\n");
        self.write_roles(&mut sql);
        self.write_schemas(&mut sql);
        self.write_foreign_tables(&mut sql);
        let _ = writeln!(sql, "SET ROLE {};", escape_identifier(OWNER));
        self.write_relations(&mut sql);
        self.write_rls(&mut sql);
        self.write_grants(&mut sql);
        self.write_functions(&mut sql);
        sql.push_str("RESET ROLE;\n");
        sql
    }

    fn write_roles(&self, sql: &mut String) {
        let scram = postgres_protocol::password::scram_sha_256(FIXTURE_PASSWORD);
        sql.push_str("BEGIN;\n");
        for role in &self.roles {
            let mut attributes = vec![if role.login { "LOGIN" } else { "NOLOGIN" }];
            for (on, word) in [
                (role.superuser, "SUPERUSER"),
                (role.create_role, "CREATEROLE"),
                (role.bypass_rls, "BYPASSRLS"),
                (role.replication, "REPLICATION"),
            ] {
                if on {
                    attributes.push(word);
                }
            }
            let password = match role.password {
                Password::None => String::new(),
                Password::Scram => format!(" PASSWORD {}", escape_literal(&scram)),
                Password::Md5 => format!(
                    " PASSWORD {}",
                    escape_literal(&postgres_protocol::password::md5(
                        FIXTURE_PASSWORD,
                        &role.name
                    ))
                ),
            };
            let _ = writeln!(
                sql,
                "CREATE ROLE {} {}{password};",
                escape_identifier(&role.name),
                attributes.join(" ")
            );
        }
        let mut by_group: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for m in &self.memberships {
            by_group
                .entry(&m.group)
                .or_default()
                .push(escape_identifier(&m.member));
        }
        for (group, members) in by_group {
            for chunk in members.chunks(GRANT_BATCH) {
                let _ = writeln!(
                    sql,
                    "GRANT {} TO {};",
                    escape_identifier(group),
                    chunk.join(", ")
                );
            }
        }
        sql.push_str("COMMIT;\n");
    }

    fn write_schemas(&self, sql: &mut String) {
        let groups: Vec<String> = self.groups().map(|g| escape_identifier(&g.name)).collect();
        sql.push_str("BEGIN;\n");
        for schema in &self.schemas {
            let _ = writeln!(
                sql,
                "CREATE SCHEMA {} AUTHORIZATION {};",
                escape_identifier(schema),
                escape_identifier(OWNER)
            );
            let _ = writeln!(
                sql,
                "GRANT USAGE ON SCHEMA {} TO {};",
                escape_identifier(schema),
                groups.join(", ")
            );
        }
        sql.push_str("COMMIT;\n");
    }

    /// Foreign tables need a superuser for file_fdw's `filename`; they are handed to the
    /// owner afterwards.
    fn write_foreign_tables(&self, sql: &mut String) {
        for rel in self.relations.iter().filter(|r| r.kind == Kind::Foreign) {
            let _ = writeln!(
                sql,
                "CREATE FOREIGN TABLE {} ({}) SERVER bench_files \
                 OPTIONS (filename '/dev/null', format 'csv');",
                rel.sql_name(),
                column_list(rel.columns)
            );
            let _ = writeln!(
                sql,
                "ALTER FOREIGN TABLE {} OWNER TO {};",
                rel.sql_name(),
                escape_identifier(OWNER)
            );
        }
    }

    fn write_relations(&self, sql: &mut String) {
        let mut in_transaction = 0usize;
        sql.push_str("BEGIN;\n");
        for rel in self.relations.iter().filter(|r| r.kind != Kind::Foreign) {
            if in_transaction == RELATIONS_PER_TRANSACTION {
                sql.push_str("COMMIT;\nBEGIN;\n");
                in_transaction = 0;
            }
            in_transaction += 1;
            write_create(sql, rel);
        }
        sql.push_str("COMMIT;\n");
    }

    fn write_rls(&self, sql: &mut String) {
        let mut in_transaction = 0usize;
        sql.push_str("BEGIN;\n");
        for rel in self.relations.iter().filter(|r| r.kind.takes_rls()) {
            if rel.rls == Rls::OFF && rel.policies.is_empty() {
                continue;
            }
            if in_transaction == RELATIONS_PER_TRANSACTION {
                sql.push_str("COMMIT;\nBEGIN;\n");
                in_transaction = 0;
            }
            in_transaction += 1;
            let name = rel.sql_name();
            if rel.rls.enabled {
                let _ = writeln!(sql, "ALTER TABLE {name} ENABLE ROW LEVEL SECURITY;");
            }
            if rel.rls.forced {
                let _ = writeln!(sql, "ALTER TABLE {name} FORCE ROW LEVEL SECURITY;");
            }
            for policy in &rel.policies {
                let _ = writeln!(
                    sql,
                    "CREATE POLICY {} ON {name} USING ({});",
                    escape_identifier(&policy.name),
                    policy.sql_using()
                );
            }
        }
        sql.push_str("COMMIT;\n");
    }

    /// Grants batched by (privileges, grantee): a few hundred statements for 10,000 tables.
    fn write_grants(&self, sql: &mut String) {
        let mut batches: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for rel in &self.relations {
            for grant in &rel.grants {
                batches
                    .entry((grant.privilege_sql(), grant.grantee_sql()))
                    .or_default()
                    .push(rel.sql_name());
            }
        }
        let mut statements = 0usize;
        sql.push_str("BEGIN;\n");
        for ((privileges, grantee), relations) in batches {
            for chunk in relations.chunks(GRANT_BATCH) {
                if statements == 4 {
                    sql.push_str("COMMIT;\nBEGIN;\n");
                    statements = 0;
                }
                statements += 1;
                let _ = writeln!(
                    sql,
                    "GRANT {privileges} ON TABLE {} TO {grantee};",
                    chunk.join(", ")
                );
            }
        }
        sql.push_str("COMMIT;\n");
    }

    fn write_functions(&self, sql: &mut String) {
        sql.push_str("BEGIN;\n");
        for f in &self.functions {
            let security = if f.security_definer {
                " SECURITY DEFINER"
            } else {
                ""
            };
            let search_path = if f.pinned_search_path {
                " SET search_path = pg_catalog, pg_temp"
            } else {
                ""
            };
            let _ = writeln!(
                sql,
                "CREATE FUNCTION {}.{}(integer) RETURNS integer LANGUAGE sql{security}{search_path} \
                 AS 'SELECT $1 + 1';",
                escape_identifier(&f.schema),
                escape_identifier(&f.name)
            );
        }
        sql.push_str("COMMIT;\n");
    }
}

fn column_list(columns: &[ColumnSpec]) -> String {
    columns
        .iter()
        .map(|(name, ty)| format!("{} {ty}", escape_identifier(name)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn qualified(dotted: &str) -> String {
    let (schema, name) = dotted.split_once('.').unwrap_or(("public", dotted));
    key(schema, name)
}

fn write_create(sql: &mut String, rel: &RelationSpec) {
    let name = rel.sql_name();
    let _ = match rel.kind {
        Kind::Table => writeln!(
            sql,
            "CREATE TABLE {name} ({}, PRIMARY KEY (id));",
            column_list(rel.columns)
        ),
        Kind::Partitioned => writeln!(
            sql,
            "CREATE TABLE {name} ({}) PARTITION BY RANGE (visit_date);",
            column_list(rel.columns)
        ),
        Kind::Partition => {
            let year = rel.partition_year.unwrap_or(2000);
            writeln!(
                sql,
                "CREATE TABLE {name} PARTITION OF {} FOR VALUES FROM ('{year}-01-01') TO ('{}-01-01');",
                qualified(rel.parent.as_deref().unwrap_or_default()),
                year + 1
            )
        }
        Kind::InheritanceChild => writeln!(
            sql,
            "CREATE TABLE {name} () INHERITS ({});",
            qualified(rel.parent.as_deref().unwrap_or_default())
        ),
        Kind::View => {
            let options = if rel.security_invoker {
                " WITH (security_invoker = true)"
            } else {
                ""
            };
            writeln!(
                sql,
                "CREATE VIEW {name}{options} AS SELECT {} FROM {};",
                select_list(rel.columns),
                qualified(rel.source.as_deref().unwrap_or_default())
            )
        }
        Kind::MatView => writeln!(
            sql,
            "CREATE MATERIALIZED VIEW {name} AS SELECT {} FROM {};",
            select_list(rel.columns),
            qualified(rel.source.as_deref().unwrap_or_default())
        ),
        Kind::Foreign => Ok(()),
    };
}

fn select_list(columns: &[ColumnSpec]) -> String {
    columns
        .iter()
        .map(|(name, _)| escape_identifier(name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Roles, memberships and the names of the ordinary groups.
fn plan_roles(total: usize) -> (Vec<RoleSpec>, Vec<MembershipSpec>, Vec<String>) {
    let mut roles = Vec::with_capacity(total);
    let mut superuser_login = RoleSpec::new(SUPERUSER_LOGIN, true);
    superuser_login.superuser = true;
    superuser_login.password = Password::Scram;
    let mut superuser_group = RoleSpec::new(SUPERUSER_GROUP, false);
    superuser_group.superuser = true;
    let mut role_admin = RoleSpec::new(ROLE_ADMIN, true);
    role_admin.create_role = true;
    let mut bypasser = RoleSpec::new(RLS_BYPASSER, true);
    bypasser.bypass_rls = true;
    let mut replicator = RoleSpec::new(REPLICATOR, true);
    replicator.replication = true;
    replicator.password = Password::Scram;
    roles.extend([
        superuser_login,
        superuser_group,
        role_admin,
        bypasser,
        replicator,
        RoleSpec::new(OWNER, false),
    ]);
    let rest = total - PRIVILEGED_ROLES;
    let group_count = at_least(rest / 10, 2);
    let login_count = rest.saturating_sub(group_count);
    let groups: Vec<String> = (0..group_count).map(|g| format!("grp_g{g:03}")).collect();
    roles.extend(groups.iter().map(|g| RoleSpec::new(g.clone(), false)));
    let mut memberships = Vec::new();
    // Groups form a tree four wide, so memberships nest a few levels deep.
    for (g, group) in groups.iter().enumerate().skip(1) {
        memberships.push(MembershipSpec {
            group: groups[(g - 1) / 4].clone(),
            member: group.clone(),
        });
    }
    for k in 0..login_count {
        let mut login = RoleSpec::new(format!("usr_{k:05}"), true);
        login.password = match (k % 10, k % 50) {
            (_, 2) => Password::Md5,
            (1, _) => Password::Scram,
            _ => Password::None,
        };
        let (first, second) = (k % group_count, (k * 7 + 1) % group_count);
        let picked = if first == second {
            vec![first]
        } else {
            vec![first, second]
        };
        for g in picked {
            memberships.push(MembershipSpec {
                group: groups[g].clone(),
                member: login.name.clone(),
            });
        }
        match k {
            3 => memberships.push(MembershipSpec {
                group: SUPERUSER_GROUP.into(),
                member: login.name.clone(),
            }),
            5 => memberships.push(MembershipSpec {
                group: "pg_read_all_data".into(),
                member: login.name.clone(),
            }),
            _ => {}
        }
        roles.push(login);
    }
    memberships.sort();
    (roles, memberships, groups)
}

fn group_for(groups: &[String], i: usize) -> &str {
    &groups[i % groups.len()]
}

fn plan_tables(count: usize, schemas: &[String], groups: &[String], out: &mut Vec<RelationSpec>) {
    for i in 0..count {
        let schema = &schemas[i / TABLES_PER_SCHEMA];
        let phi = i % 10 == 0;
        let columns = if phi { PHI_COLUMNS } else { PLAIN_COLUMNS };
        let mut rel = RelationSpec::new(schema, format!("t_{i:05}"), Kind::Table, columns);
        rel = if phi {
            match (i / 10) % 4 {
                0 => rel.with_rls(Rls::ENFORCED, Some(false)),
                1 => rel.with_rls(Rls::NOT_FORCED, Some(false)),
                2 => rel.with_rls(Rls::ENFORCED, None),
                _ => rel,
            }
        } else {
            match i % 20 {
                5 => rel.with_rls(Rls::NOT_FORCED, None),
                15 => rel.with_rls(Rls::ENFORCED, Some(true)),
                _ => rel,
            }
        };
        rel.grants
            .push(Grant::table(group_for(groups, i), "SELECT", "r"));
        rel.grants.push(Grant::table(
            group_for(groups, i * 7 + 3),
            "SELECT, INSERT, UPDATE",
            "arw",
        ));
        if phi {
            rel.grants
                .push(Grant::columns(group_for(groups, i + 1), SAFE_COLUMNS));
        }
        if i % 50 == 7 || i % 100 == 30 {
            rel.grants.push(Grant::table(PUBLIC, "SELECT", "r"));
        }
        if i % 200 == 13 {
            rel.grants.push(Grant::columns(PUBLIC, &["label"]));
        }
        out.push(rel);
    }
}

/// Partitioned PHI tables: the parent's RLS binds queries through the parent only, so
/// partitions are planted with and without their own.
fn plan_partitioned(
    tables: usize,
    schemas: &[String],
    groups: &[String],
    out: &mut Vec<RelationSpec>,
) {
    for p in 0..at_least(tables / 200, 1) {
        let schema = &schemas[p % schemas.len()];
        let parent_name = format!("visits_{p:03}");
        let (parent_rls, partitions_rls) = match p % 3 {
            0 => (true, false),
            1 => (true, true),
            _ => (false, false),
        };
        let mut parent = RelationSpec::new(
            schema,
            parent_name.clone(),
            Kind::Partitioned,
            VISIT_COLUMNS,
        );
        if parent_rls {
            parent = parent.with_rls(Rls::ENFORCED, Some(false));
        }
        parent
            .grants
            .push(Grant::table(group_for(groups, p), "SELECT", "r"));
        let dotted = parent.dotted();
        out.push(parent);
        for year in 2023..2027u32 {
            let mut part = RelationSpec::new(
                schema,
                format!("{parent_name}_y{year}"),
                Kind::Partition,
                VISIT_COLUMNS,
            );
            part.parent = Some(dotted.clone());
            part.partition_year = Some(year);
            if partitions_rls || (parent_rls && year == 2026) {
                part = part.with_rls(Rls::ENFORCED, Some(false));
            }
            out.push(part);
        }
    }
}

fn plan_inheritance(
    tables: usize,
    schemas: &[String],
    groups: &[String],
    out: &mut Vec<RelationSpec>,
) {
    for h in 0..at_least(tables / 500, 1) {
        let schema = &schemas[h % schemas.len()];
        let parent_name = format!("people_{h:03}");
        let mut parent =
            RelationSpec::new(schema, parent_name.clone(), Kind::Table, PEOPLE_COLUMNS)
                .with_rls(Rls::ENFORCED, Some(false));
        parent
            .grants
            .push(Grant::table(group_for(groups, h + 1), "SELECT", "r"));
        let dotted = parent.dotted();
        out.push(parent);
        for (suffix, protected) in [("a", false), ("b", true)] {
            let mut child = RelationSpec::new(
                schema,
                format!("{parent_name}_{suffix}"),
                Kind::InheritanceChild,
                PEOPLE_COLUMNS,
            );
            child.parent = Some(dotted.clone());
            if protected {
                child = child.with_rls(Rls::ENFORCED, Some(false));
            }
            out.push(child);
        }
    }
}

/// Views and materialized views over PHI tables (the first PHI tables, round robin).
fn plan_views(tables: usize, schemas: &[String], groups: &[String], out: &mut Vec<RelationSpec>) {
    let phi_tables = tables.div_ceil(10);
    let source = |k: usize| {
        let i = (k % phi_tables) * 10;
        format!("{}.t_{i:05}", schemas[i / TABLES_PER_SCHEMA])
    };
    for k in 0..at_least(tables / 100, 2) {
        let schema = &schemas[k % schemas.len()];
        let mut view = RelationSpec::new(schema, format!("v_{k:04}"), Kind::View, VIEW_COLUMNS);
        view.source = Some(source(k));
        view.security_invoker = k % 2 == 1;
        view.grants
            .push(Grant::table(group_for(groups, k + 2), "SELECT", "r"));
        if k % 25 == 0 {
            view.grants.push(Grant::table(PUBLIC, "SELECT", "r"));
        }
        out.push(view);
    }
    for k in 0..at_least(tables / 500, 1) {
        let schema = &schemas[k % schemas.len()];
        let mut matview =
            RelationSpec::new(schema, format!("mv_{k:03}"), Kind::MatView, VIEW_COLUMNS);
        matview.source = Some(source(k + 1));
        matview
            .grants
            .push(Grant::table(group_for(groups, k + 3), "SELECT", "r"));
        out.push(matview);
    }
}

fn plan_foreign_table(schemas: &[String], groups: &[String], out: &mut Vec<RelationSpec>) {
    let mut foreign = RelationSpec::new(
        &schemas[0],
        "patient_import".into(),
        Kind::Foreign,
        FOREIGN_COLUMNS,
    );
    foreign
        .grants
        .push(Grant::table(group_for(groups, 0), "SELECT", "r"));
    out.push(foreign);
}

fn plan_functions(tables: usize, schemas: &[String]) -> Vec<FunctionSpec> {
    (0..at_least(tables / 100, 2))
        .map(|k| FunctionSpec {
            schema: schemas[k % schemas.len()].clone(),
            name: format!("fn_{k:04}"),
            security_definer: k % 10 < 2,
            pinned_search_path: k % 10 == 1,
        })
        .collect()
}

/// Counts by kind, for reports.
pub fn describe(layout: &Layout) -> String {
    let count = |kind: Kind| layout.relations.iter().filter(|r| r.kind == kind).count();
    format!(
        "{} relations ({} tables, {} partitioned with {} partitions, {} inheritance children, \
         {} views, {} matviews, {} foreign), {} PHI; {} roles, {} memberships, {} schemas, \
         {} functions",
        layout.relations.len(),
        count(Kind::Table),
        count(Kind::Partitioned),
        count(Kind::Partition),
        count(Kind::InheritanceChild),
        count(Kind::View),
        count(Kind::MatView),
        count(Kind::Foreign),
        layout.relations.iter().filter(|r| r.phi).count(),
        layout.roles.len(),
        layout.memberships.len(),
        layout.schemas.len(),
        layout.functions.len()
    )
}

//! The snapshot: every fact a scan collected, as plain serde data.
//!
//! Owns the data model only. It must not import `db`, `checks` or `ui`: the
//! collector fills it, the checks read it, and a saved file can be re-evaluated
//! offline. Each collected part is an `Option`: `None` means the part was not
//! collected (a [`Gap`] says why), which checks turn into `unknown`, never `pass`.
//! Collections are sorted so the same server state gives byte-identical JSON.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped whenever a field is added or its meaning changes.
pub const SCHEMA_VERSION: u32 = 4;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub schema_version: u32,
    /// Client clock, UTC, RFC 3339: the single moment time enters the scan.
    pub collected_at: String,
    pub target: Target,
    /// Parts that could not be collected, with the grant that would allow them.
    pub gaps: Vec<Gap>,
    /// Server clock (`clock_timestamp()`) read in the same round trip, RFC 3339.
    pub server_time: Option<String>,
    /// Every row of `pg_settings`, by name.
    pub settings: Option<BTreeMap<String, Setting>>,
    /// Rows of `pg_file_settings` that have an error or were not applied.
    pub file_setting_problems: Option<Vec<FileSettingProblem>>,
    pub hba_rules: Option<Vec<HbaRule>>,
    /// `pg_ident_file_mappings`; `None` before PostgreSQL 15 or without access.
    pub ident_mappings: Option<Vec<IdentMapping>>,
    pub roles: Option<Vec<Role>>,
    /// Password verifier kind per role name (from `pg_authid`, superuser-only
    /// unless granted). Never the verifier itself.
    pub password_kinds: Option<BTreeMap<String, PasswordKind>>,
    pub memberships: Option<Vec<Membership>>,
    /// `pg_db_role_setting`: per-role and per-database settings.
    pub role_settings: Option<Vec<RoleSetting>>,
    /// `pg_database`: who may connect to which database, for judging whose
    /// sessions a per-role or per-database setting reaches. `None` when not
    /// collected and in snapshots before schema 4.
    #[serde(default)]
    pub database_access: Option<Vec<DatabaseAccess>>,
    /// `pg_stat_ssl` joined to `pg_stat_activity` (client backends only).
    pub sessions: Option<Vec<Session>>,
    pub archiver: Option<Archiver>,
    /// `pg_stat_database` rows with their checksum failure counts.
    pub database_stats: Option<Vec<DatabaseStat>>,
    /// Per-database facts: the connected database first, then (with
    /// `--all-databases`) the others in name order.
    pub databases: Vec<DatabaseFacts>,
    /// File facts, only when the scanner runs on the database host.
    pub host: Option<HostFacts>,
    /// `pg_subscription` (shared catalog; `subconninfo` is superuser-only):
    /// whether each subscription stores a password, tested on the server.
    /// `None` when not collected or in snapshots before schema 4.
    #[serde(default)]
    pub subscriptions: Option<Vec<Subscription>>,
    /// `pg_replication_slots`. `None` when not collected or before schema 4.
    #[serde(default)]
    pub replication_slots: Option<Vec<ReplicationSlot>>,
    /// What active probes proved (`--prove`); `None` when no probe ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probes: Option<super::proof::ProbeRun>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub user: String,
    pub server_version: Option<String>,
    pub server_version_num: Option<u32>,
    pub system_identifier: Option<String>,
    /// The sslmode the connection was asked for (libpq spelling).
    pub sslmode: String,
    /// Present when the connection is encrypted.
    pub tls: Option<TlsInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TlsInfo {
    pub version: Option<String>,
    pub cipher: Option<String>,
    pub bits: Option<i32>,
    pub server_certificate: Option<CertificateInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CertificateInfo {
    pub subject: String,
    pub issuer: String,
    /// DNS names and IP addresses from subjectAltName.
    pub san: Vec<String>,
    /// RFC 3339 UTC.
    pub not_before: String,
    pub not_after: String,
    pub self_signed: bool,
    /// Lower-case hex SHA-256 of the DER certificate.
    pub sha256: String,
}

/// The [`Gap::part`] that names the databases a scan of one database left
/// out: they may hold PHI that no check saw.
pub const UNSCANNED_DATABASES: &str = "unscanned_databases";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Gap {
    /// The collector part, e.g. `hba_rules`.
    pub part: String,
    pub sqlstate: Option<String>,
    pub message: String,
    /// A statement that would let the scanner read this part.
    pub grant: Option<String>,
}

impl Gap {
    /// The gap for connectable databases that this scan did not visit.
    pub fn unscanned_databases(names: &[String]) -> Gap {
        Gap {
            part: UNSCANNED_DATABASES.into(),
            sqlstate: None,
            message: format!("not scanned: {}; use --all-databases", names.join(", ")),
            grant: None,
        }
    }

    /// True for [`Gap::unscanned_databases`]: a scope gap, not a read failure.
    pub fn is_unscanned_databases(&self) -> bool {
        self.part == UNSCANNED_DATABASES
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Setting {
    pub setting: Option<String>,
    pub unit: Option<String>,
    /// `pg_settings.source`: default, configuration file, override, …
    pub source: String,
    pub sourcefile: Option<String>,
    pub sourceline: Option<i32>,
    pub pending_restart: bool,
    pub context: String,
    pub vartype: String,
    pub boot_val: Option<String>,
    pub reset_val: Option<String>,
}

impl Setting {
    /// The live value, or "" when it is NULL.
    pub fn value(&self) -> &str {
        self.setting.as_deref().unwrap_or("")
    }

    /// True when the live value was set by ALTER SYSTEM.
    pub fn from_auto_conf(&self) -> bool {
        self.sourcefile
            .as_deref()
            .is_some_and(|f| f.ends_with("postgresql.auto.conf"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileSettingProblem {
    pub sourcefile: Option<String>,
    pub sourceline: Option<i32>,
    pub name: Option<String>,
    pub applied: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HbaRule {
    pub line_number: i32,
    pub file_name: Option<String>,
    /// local, host, hostssl, hostnossl, hostgssenc, hostnogssenc
    pub conn_type: Option<String>,
    pub database: Vec<String>,
    pub user_name: Vec<String>,
    pub address: Option<String>,
    pub netmask: Option<String>,
    pub auth_method: Option<String>,
    pub options: Vec<String>,
    pub error: Option<String>,
}

/// A pg_hba rule for tests: `conn_type database user address netmask method`.
#[cfg(test)]
pub(crate) fn hba_rule(
    line: i32,
    conn_type: &str,
    db: &str,
    user: &str,
    addr: Option<(&str, &str)>,
    method: &str,
) -> HbaRule {
    HbaRule {
        line_number: line,
        conn_type: Some(conn_type.into()),
        database: vec![db.into()],
        user_name: vec![user.into()],
        address: addr.map(|a| a.0.into()),
        netmask: addr.map(|a| a.1.into()),
        auth_method: Some(method.into()),
        ..HbaRule::default()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentMapping {
    pub line_number: i32,
    pub map_name: Option<String>,
    pub sys_name: Option<String>,
    pub pg_username: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub oid: u32,
    pub name: String,
    pub superuser: bool,
    pub inherit: bool,
    pub create_role: bool,
    pub create_db: bool,
    pub can_login: bool,
    pub replication: bool,
    pub bypass_rls: bool,
    /// -1 = unlimited.
    pub conn_limit: i32,
    /// `rolvaliduntil` as text; `None` = never expires, `infinity` kept as text.
    pub valid_until: Option<String>,
    /// `rolconfig` entries, `name=value`.
    pub config: Vec<String>,
    /// `COMMENT ON ROLE` (`pg_shdescription`); the scanner-role script marks
    /// its role with one. `None` without a comment or before schema 4.
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordKind {
    None,
    Md5,
    Scram,
    /// Stored in plain text (only possible on very old servers).
    Plain,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Membership {
    /// The group role granted.
    pub role: String,
    /// The role that received it.
    pub member: String,
    pub admin_option: bool,
    /// PG16+: whether the member inherits the group's privileges.
    /// `None` before 16 (then the member's `rolinherit` decides).
    pub inherit_option: Option<bool>,
    /// PG16+: whether the member may `SET ROLE` to the group. `None` before
    /// 16 (any membership allows it) and in schema-1 snapshots.
    #[serde(default)]
    pub set_option: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RoleSetting {
    /// `None` = applies in every database.
    pub database: Option<String>,
    /// `None` = applies to every role.
    pub role: Option<String>,
    pub config: Vec<String>,
}

/// One row of `pg_database`, as far as connecting to it goes.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DatabaseAccess {
    pub name: String,
    /// `datallowconn`: false refuses every connection, superusers' too.
    pub allow_connections: bool,
    /// Effective ACL (`acldefault` when `datacl` is NULL: PUBLIC may CONNECT).
    pub acl: Vec<AclItem>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Session {
    pub pid: i32,
    pub usename: Option<String>,
    pub datname: Option<String>,
    /// `None` for unix-socket sessions.
    pub client_addr: Option<String>,
    pub application_name: Option<String>,
    pub ssl: bool,
    pub version: Option<String>,
    pub cipher: Option<String>,
    /// True for the scanner's own backend.
    pub is_self: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Archiver {
    pub archived_count: i64,
    pub last_archived_wal: Option<String>,
    pub last_archived_time: Option<String>,
    pub failed_count: i64,
    pub last_failed_wal: Option<String>,
    pub last_failed_time: Option<String>,
    pub stats_reset: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DatabaseStat {
    pub datname: String,
    pub checksum_failures: Option<i64>,
    pub checksum_last_failure: Option<String>,
}

/// Facts read inside one database.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DatabaseFacts {
    pub name: String,
    pub relations: Option<Vec<Relation>>,
    pub policies: Option<Vec<Policy>>,
    pub schemas: Option<Vec<Schema>>,
    pub default_acls: Option<Vec<DefaultAcl>>,
    pub extensions: Option<Vec<Extension>>,
    pub languages: Option<Vec<Language>>,
    /// Functions outside pg_catalog / information_schema.
    pub functions: Option<Vec<Function>>,
    /// Views whose definition calls `pgp_sym_encrypt/decrypt` with a literal key.
    pub views_with_literal_keys: Option<Vec<String>>,
    /// Value sampling of text columns (`--sample-phi`); `None` when not run.
    #[serde(default)]
    pub phi_sample: Option<PhiSample>,
    /// `pg_user_mappings` with the names of options that hold a credential.
    /// `None` when not collected or before schema 4.
    #[serde(default)]
    pub user_mappings: Option<Vec<UserMapping>>,
    /// `pg_foreign_server` with the names of options that hold a credential.
    #[serde(default)]
    pub foreign_servers: Option<Vec<ForeignServer>>,
    /// `pg_publication` with the tables each one publishes.
    #[serde(default)]
    pub publications: Option<Vec<Publication>>,
    /// `pg_largeobject_metadata`: how many large objects each role owns.
    #[serde(default)]
    pub large_objects: Option<Vec<LargeObjectOwner>>,
}

/// Option names that look like a credential (`password`, `passwd`,
/// `secret`, …). Only the names: the values never leave the server.
pub type CredentialOptions = Vec<String>;

/// A user mapping: which role's outbound connection through which server.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserMapping {
    pub server: String,
    /// `None` = the mapping `FOR PUBLIC`.
    pub role: Option<String>,
    /// Credential option names; `None` when PostgreSQL hides this mapping's
    /// options from the scanner (only superusers, the mapped role and the
    /// server's owner see them).
    pub credential_options: Option<CredentialOptions>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ForeignServer {
    pub name: String,
    pub owner: String,
    pub wrapper: String,
    pub credential_options: CredentialOptions,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Subscription {
    pub name: String,
    /// The database the subscription lives in.
    pub database: String,
    pub owner: String,
    /// `subconninfo` names a password (tested on the server; never copied).
    pub stores_password: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReplicationSlot {
    pub name: String,
    /// `physical` or `logical`.
    pub slot_type: String,
    /// Output plugin of a logical slot.
    pub plugin: Option<String>,
    /// Database of a logical slot.
    pub database: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Publication {
    pub name: String,
    pub owner: String,
    /// `FOR ALL TABLES`: every table, present and future.
    pub all_tables: bool,
    /// Published tables (`schema.table`, sorted), as `pg_publication_tables`
    /// expands them.
    pub tables: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LargeObjectOwner {
    pub owner: String,
    pub count: i64,
}

/// What sampling text columns for SSN-shaped values found: counts and
/// column names only, never a value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhiSample {
    /// Text columns read.
    pub columns_sampled: u32,
    /// Rows the sample read, summed over the sampled tables.
    pub rows_read: u64,
    /// Values that looked like an SSN.
    pub ssn_like_hits: u64,
    /// `schema.table.column` of each column with at least one hit, sorted.
    pub columns_with_hits: Vec<String>,
}

/// A table-like relation outside the system schemas.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Relation {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    /// `pg_class.relkind`: r table, p partitioned, v view, m matview, f foreign.
    pub kind: String,
    pub owner: String,
    pub rls_enabled: bool,
    pub rls_forced: bool,
    /// Parent for partitions and inheritance children (`schema.name`).
    pub parent: Option<String>,
    pub is_partition: bool,
    /// Effective ACL (`acldefault` when `relacl` is NULL).
    pub acl: Vec<AclItem>,
    pub columns: Vec<Column>,
    /// `reltuples`, -1 when never analysed.
    pub estimated_rows: f64,
    /// Views only: the `security_invoker` reloption (PG15+; always false
    /// before 15). `None` for other kinds and in snapshots that predate it.
    #[serde(default)]
    pub security_invoker: Option<bool>,
    /// Views only: the relations the view's rule reads directly
    /// (`schema.name`, sorted), from `pg_rewrite` + `pg_depend`. `None` for
    /// other kinds and in snapshots that predate it.
    #[serde(default)]
    pub reads: Option<Vec<String>>,
}

impl Relation {
    /// `schema.name`, quoted only where PostgreSQL would need it.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// `format_type(atttypid, atttypmod)`.
    pub type_name: String,
    /// Column-level grants (`attacl`), empty when none.
    pub acl: Vec<AclItem>,
}

/// One grantee's privileges from an ACL, as PostgreSQL prints `aclitem`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AclItem {
    /// Role name, or `PUBLIC`.
    pub grantee: String,
    pub grantor: String,
    /// Privilege letters as in `aclitem` (`arwdDxtm` for tables, `UC` for schemas, `X` …).
    pub privileges: String,
    /// Letters held WITH GRANT OPTION.
    pub grantable: String,
}

/// The SQL keyword for one of `aclitem`'s privilege letters (`r` → `SELECT`),
/// `None` for a letter PostgreSQL does not print.
pub fn privilege_keyword(letter: char) -> Option<&'static str> {
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

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub schema: String,
    pub table: String,
    pub name: String,
    pub permissive: bool,
    /// ALL, SELECT, INSERT, UPDATE, DELETE
    pub command: String,
    pub roles: Vec<String>,
    pub using: Option<String>,
    pub with_check: Option<String>,
    /// Whether each expression reads the row it judges. `None` in snapshots
    /// that predate it (schema 4).
    #[serde(default)]
    pub reads_row: Option<PolicyReadsRow>,
}

/// Whether a policy's expressions read the row being judged: one of its
/// columns, a system column or the whole row, at the expression's own level
/// (a column read inside a subquery over another scan of the table does not
/// count), in every branch of a top-level OR. An expression (or OR branch)
/// that reads no part of the row gives the same answer for every row: it
/// admits all of them or none. `false` for an expression the policy does
/// not have.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PolicyReadsRow {
    pub using: bool,
    pub with_check: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    pub name: String,
    pub owner: String,
    pub acl: Vec<AclItem>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultAcl {
    pub role: String,
    pub schema: Option<String>,
    /// r table, S sequence, f function, T type, n schema
    pub object_type: String,
    pub acl: Vec<AclItem>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    pub name: String,
    pub version: String,
    pub schema: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Language {
    pub name: String,
    pub trusted: bool,
    pub owner: String,
    pub acl: Vec<AclItem>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    pub schema: String,
    /// `name(argument types)`.
    pub signature: String,
    pub owner: String,
    pub language: String,
    pub security_definer: bool,
    /// `proconfig`, `name=value`.
    pub config: Vec<String>,
    /// Effective ACL (`acldefault` when `proacl` is NULL: PUBLIC may EXECUTE).
    pub acl: Vec<AclItem>,
    /// Owned by an extension (`pg_depend` deptype `e`).
    pub from_extension: bool,
    /// Body calls `pgp_sym_encrypt/decrypt` with a literal key. The body
    /// itself is never collected.
    pub literal_key_in_body: bool,
    /// SECURITY DEFINER functions only: what the body reads. `None` for
    /// other functions and in snapshots that predate it (schema 4).
    #[serde(default)]
    pub reads: Option<FunctionReads>,
}

/// The relations a function body reads, as far as the catalog shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionReads {
    /// `schema.name` of user relations, sorted.
    pub relations: Vec<String>,
    /// `true`: from `pg_depend` (a SQL-standard `BEGIN ATOMIC` body, exact).
    /// `false`: relations whose name appears in the body text (a string
    /// body has no dependencies; this may list too many, never too few of
    /// the relations it names).
    pub from_dependencies: bool,
    /// Why the body may read more than `relations`: another language,
    /// dynamic SQL, or calls of other user functions (not followed).
    pub unseen: Option<String>,
}

/// File facts read with `stat` on the database host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostFacts {
    pub data_directory: String,
    pub files: Vec<FileFact>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFact {
    /// What the file is: data_directory, hba_file, config_file, ident_file, ssl_key_file …
    pub role: String,
    pub path: String,
    pub mode: Option<u32>,
    pub owner: Option<String>,
    /// Why the fact could not be read, if it could not.
    pub error: Option<String>,
}

impl Snapshot {
    /// A live setting by name, if settings were collected and it exists.
    pub fn setting(&self, name: &str) -> Option<&Setting> {
        self.settings.as_ref()?.get(name)
    }

    /// The connected database's facts.
    pub fn primary_database(&self) -> Option<&DatabaseFacts> {
        self.databases.first()
    }

    /// The gap recorded for a part, if it was not collected.
    pub fn gap(&self, part: &str) -> Option<&Gap> {
        self.gaps.iter().find(|g| g.part == part)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Schema 2 only added `Membership::set_option`, schema 3 only the
    /// views' `security_invoker` and `reads`, schema 4 only optional facts
    /// (stored credentials, publications, slots, large objects, role
    /// comments, policies' `reads_row`, definer functions' `reads`,
    /// `database_access`; all serde defaults), so a schema-1 file written by
    /// an older pgSafeguard still loads.
    #[test]
    fn schema_one_snapshots_still_load() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/report/snapshot.json");
        let snapshot = crate::cli::load_snapshot(&path).unwrap();
        assert_eq!(snapshot.schema_version, 1);
        assert!(SCHEMA_VERSION > snapshot.schema_version);
        let memberships = snapshot.memberships.unwrap();
        assert!(!memberships.is_empty());
        assert!(memberships.iter().all(|m| m.set_option.is_none()));
        assert!(snapshot.subscriptions.is_none() && snapshot.replication_slots.is_none());
        assert!(snapshot.databases.iter().all(|d| d.user_mappings.is_none()
            && d.foreign_servers.is_none()
            && d.publications.is_none()
            && d.large_objects.is_none()));
        assert!(snapshot.database_access.is_none());
    }

    #[test]
    fn set_option_round_trips() {
        let m = Membership {
            role: "g".into(),
            member: "m".into(),
            admin_option: false,
            inherit_option: Some(true),
            set_option: Some(false),
        };
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Membership>(&text).unwrap(), m);
    }
}

//! Trap scenarios: clusters that look wrong but are right, or look right but are wrong, one
//! for each false-positive class of ../shared/checks-catalogue.md. Real scanners get these
//! wrong; `tests/traps_live.rs` asserts that pgSafeguard does not.
//!
//! Four scenarios hold every trap, grouped so that no trap decides another trap's check:
//! - [`hba_traps`]: pg_hba rules only (`reject` lines, samehost/samenet, host names,
//!   `+group`, `@file`), swapped for the ones that must be flagged with
//!   [`flagged_hba_rules`] (the `0.0.0.0 0.0.0.0` netmask form).
//! - [`conf_traps`]: settings and catalog objects (postgresql.auto.conf overrides, a
//!   pending restart, an md5 verifier under scram, RLS not forced / vacuous / app-owned,
//!   pgaudit logging nothing, a socket mode outside 0770, a cipher expression that
//!   excludes weak families, PUBLIC CREATE on `public` as before 15, a literal pgcrypto key).
//! - [`hba_include_traps`] (PostgreSQL 16+): rules that come from an included file.
//! - [`archive_traps`]: archive_mode on with an empty, then a discarding, then a
//!   credential-bearing archive_command; a password in primary_conninfo.
//!
//! Owns the trap fixtures and their names; clusters and processes belong to `cluster.rs`.
//! Like the rest of the harness it does not import the crate under test. Every secret
//! here is fictitious and exists only to prove it never reaches any output.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use postgres_protocol::escape::{escape_identifier, escape_literal};
use postgres_protocol::password;

use super::cluster::{random_password, Cluster};
use super::host::server_user;
use super::scenarios::{plain, CLINIC_DB};

/// Superuser that reaches the network only through `+clinicians` (a group it belongs to).
pub const GROUP_SUPERUSER: &str = "night_admin";
/// The group named with `+` in pg_hba.
pub const CLINICIANS_GROUP: &str = "clinicians";
/// Superuser named only inside the `@file` of a pg_hba line.
pub const FILE_SUPERUSER: &str = "file_admin";
/// The file a pg_hba line includes with `@`, relative to the data directory.
pub const HBA_USER_FILE: &str = "hba-admins.txt";
/// Ordinary login used by the application rules of the traps.
pub const TRAP_APP_ROLE: &str = "clinic_app";

/// Role created with an md5 verifier while password_encryption is scram-sha-256.
pub const MD5_ROLE: &str = "legacy_md5";
/// NOLOGIN owner of the trap PHI tables (except the app-owned one).
pub const TRAP_PHI_OWNER: &str = "phi_owner";
/// RLS enabled, a real policy, but not FORCEd.
pub const UNFORCED_TABLE: &str = "public.patients_unforced";
/// RLS enabled and forced, but its only policy is `USING (true)`.
pub const VACUOUS_TABLE: &str = "public.patients_vacuous";
/// The vacuous policy's name.
pub const VACUOUS_POLICY: &str = "anyone_sees_everything";
/// RLS enabled and forced with a real policy, but owned by the application login.
pub const APP_OWNED_TABLE: &str = "public.patients_app_owned";
/// A function that calls pgp_sym_decrypt with a key written into its body.
pub const LITERAL_KEY_FUNCTION: &str = "reveal_ssn";
/// The key in that body: must never appear in any output.
pub const LITERAL_KEY: &str = "trap-literal-key-5150";
/// A credential inside archive_command: must never appear in any output.
pub const ARCHIVE_SECRET: &str = "TrapArchiveSecret0xC0FFEE";
/// The replication password inside primary_conninfo: must never appear in any output.
pub const REPLICATION_SECRET: &str = "TrapReplicationSecret0xBEEF";

/// A cipher expression that starts from ALL and removes every weak family with `!`: the
/// weak names appear in the text, yet none is admitted.
pub const STRONG_CIPHERS: &str =
    "ALL:!aNULL:!eNULL:!EXPORT:!LOW:!MEDIUM:!3DES:!DES:!RC4:!MD5:!SEED:!IDEA:!PSK:!SRP";
/// A cipher expression that lets MEDIUM (and with it 3DES) back in.
pub const WEAK_CIPHERS: &str = "ECDHE+AESGCM:MEDIUM:3DES:!aNULL";

/// pg_hba rules that look broad, plaintext or unnamed but are not, plus two lines that
/// reach superusers only through a `+group` and an `@file` (see [`hba_traps`]). pg_hba is
/// first match wins, so the catch-all rejects come last: first they would stop every line.
pub fn trap_hba_rules() -> Vec<String> {
    vec![
        // A reject line protects: never "plaintext" or "all".
        "hostnossl all           all            all             reject".into(),
        // Special address words and host names are not "anywhere".
        format!("hostssl   {CLINIC_DB}        {TRAP_APP_ROLE}     samehost        scram-sha-256"),
        format!("hostssl   {CLINIC_DB}        {TRAP_APP_ROLE}     samenet         scram-sha-256"),
        format!("hostssl   {CLINIC_DB}        {TRAP_APP_ROLE}     app1.example.com scram-sha-256"),
        format!("hostssl   {CLINIC_DB}        {TRAP_APP_ROLE}     .example.com    scram-sha-256"),
        // A named group and a user file: each reaches a superuser.
        format!(
            "hostssl   {CLINIC_DB}        +{CLINICIANS_GROUP}     10.0.0.0/8      scram-sha-256"
        ),
        format!("hostssl   {CLINIC_DB}        @{HBA_USER_FILE} 10.1.0.0/16  scram-sha-256"),
        // Catch-all rejects: never "anywhere".
        "host      all           all            0.0.0.0/0       reject".into(),
        "host      all           all            ::/0            reject".into(),
    ]
}

/// pg_hba rules that must be flagged: "anywhere" written as address + netmask, beside a
/// netmask-form line that is narrow.
pub fn flagged_hba_rules() -> Vec<String> {
    vec![
        "host      all           all            0.0.0.0  0.0.0.0        scram-sha-256".into(),
        format!("hostssl   {CLINIC_DB}        {TRAP_APP_ROLE}     10.0.0.0 255.0.0.0      scram-sha-256"),
    ]
}

/// The file a PostgreSQL 16+ pg_hba.conf includes, relative to the data directory.
pub const HBA_INCLUDED_FILE: &str = "hba-included.conf";
/// The rule inside [`HBA_INCLUDED_FILE`], as pg_hba lines are shown.
pub const INCLUDED_ANYWHERE_RULE: &str = "host all all 0.0.0.0/0 scram-sha-256";

/// A cluster of the server in `bindir` (PostgreSQL 16 or later: pg_hba include
/// directives) whose pg_hba.conf holds only `include_if_exists` of a missing file and
/// `include` of [`HBA_INCLUDED_FILE`], which holds [`INCLUDED_ANYWHERE_RULE`]. The rules
/// of an included file must be judged like any other and named by their file.
pub fn hba_include_traps(bindir: &Path) -> Cluster {
    let mut cluster = plain().bindir(bindir).start();
    write_readable(
        &cluster,
        HBA_INCLUDED_FILE,
        &format!("# included by pg_hba.conf\n{INCLUDED_ANYWHERE_RULE}\n"),
    );
    let include = format!("include {HBA_INCLUDED_FILE}");
    cluster.set_hba(&["include_if_exists hba-not-there.conf", &include]);
    cluster
}

/// A cluster (ssl on, otherwise [`plain`]) whose pg_hba.conf holds [`trap_hba_rules`].
/// Roles: [`TRAP_APP_ROLE`]; superusers [`GROUP_SUPERUSER`] (member of
/// [`CLINICIANS_GROUP`]) and [`FILE_SUPERUSER`] (listed in [`HBA_USER_FILE`]); every login
/// has a scram password. The database [`CLINIC_DB`] exists. Scan it over the socket as the
/// superuser: no TCP rule admits `postgres`.
pub fn hba_traps() -> Cluster {
    let mut cluster = plain().ssl(true).start();
    cluster.psql_unlogged(
        "postgres",
        &[
            &format!("CREATE DATABASE {CLINIC_DB}"),
            &format!("CREATE ROLE {CLINICIANS_GROUP} NOLOGIN"),
            &format!(
                "CREATE ROLE {TRAP_APP_ROLE} LOGIN PASSWORD {} IN ROLE {CLINICIANS_GROUP}",
                escape_literal(&any_scram_verifier())
            ),
            &format!(
                "CREATE ROLE {GROUP_SUPERUSER} LOGIN SUPERUSER PASSWORD {} IN ROLE {CLINICIANS_GROUP}",
                escape_literal(&any_scram_verifier())
            ),
            &format!(
                "CREATE ROLE {FILE_SUPERUSER} LOGIN SUPERUSER PASSWORD {}",
                escape_literal(&any_scram_verifier())
            ),
        ],
    );
    write_readable(
        &cluster,
        HBA_USER_FILE,
        &format!("# users for the @file trap\n{TRAP_APP_ROLE}\n{FILE_SUPERUSER}\n"),
    );
    let rules = trap_hba_rules();
    let rules: Vec<&str> = rules.iter().map(String::as_str).collect();
    cluster.set_hba(&rules);
    cluster
}

/// The socket mode of [`conf_traps`]: 0707 has no bit in the group column yet grants the
/// world everything; numerically it is below 0770. As root the harness still connects
/// (root ignores the owner bits); otherwise 0757 keeps the owner's access and is the same
/// trap (numerically below 0770, world bits set).
pub fn trap_socket_permissions() -> &'static str {
    if server_user().is_switched() {
        "0707"
    } else {
        "0757"
    }
}

/// A cluster of setting and catalog traps (see the module docs). Start state:
/// - postgresql.conf: `password_encryption = md5` and `log_connections = on`, both
///   overridden in postgresql.auto.conf (to scram-sha-256 and off); `logging_collector`
///   set to on in postgresql.auto.conf and waiting for a restart;
/// - pgaudit preloaded, its extension in `postgres` and [`CLINIC_DB`], `pgaudit.log = none`;
/// - [`trap_socket_permissions`], `ssl_ciphers` = [`STRONG_CIPHERS`], `log_timezone = Etc/UTC`;
/// - role [`MD5_ROLE`] with an md5 verifier; `GRANT CREATE ON SCHEMA public TO PUBLIC`
///   (the default before PostgreSQL 15) in [`CLINIC_DB`];
/// - in [`CLINIC_DB`], empty PHI tables [`UNFORCED_TABLE`], [`VACUOUS_TABLE`] (owned by
///   NOLOGIN [`TRAP_PHI_OWNER`]) and [`APP_OWNED_TABLE`] (owned by [`TRAP_APP_ROLE`]), and
///   the function [`LITERAL_KEY_FUNCTION`] with [`LITERAL_KEY`] in its body.
pub fn conf_traps() -> Cluster {
    let cluster = plain()
        .ssl(true)
        .pgaudit(true)
        .conf("password_encryption = md5")
        .conf("log_connections = on")
        .conf("pgaudit.log = 'none'")
        .conf(&format!(
            "unix_socket_permissions = {}",
            trap_socket_permissions()
        ))
        .conf(&format!("ssl_ciphers = '{STRONG_CIPHERS}'"))
        .conf("log_timezone = 'Etc/UTC'")
        .start();
    cluster.psql_unlogged(
        "postgres",
        &[
            "ALTER SYSTEM SET password_encryption = 'scram-sha-256'",
            "ALTER SYSTEM SET log_connections = off",
            "ALTER SYSTEM SET logging_collector = on",
        ],
    );
    cluster.reload();
    create_trap_roles(&cluster);
    create_trap_tables(&cluster);
    cluster
}

/// A cluster that archives nothing although `archive_mode = on`: the `archive_command` is
/// empty (switch it with [`discarding_archive_command`] and [`secret_archive_command`]).
/// `primary_conninfo` holds [`REPLICATION_SECRET`] (ignored: no standby.signal). The
/// database [`CLINIC_DB`] exists, empty.
pub fn archive_traps() -> Cluster {
    let cluster = plain()
        .conf("archive_mode = on")
        .conf("archive_command = ''")
        .conf(&format!(
            "primary_conninfo = 'host=primary.invalid user=replicator \
             password={REPLICATION_SECRET} sslmode=verify-full'"
        ))
        .start();
    cluster.psql("postgres", &format!("CREATE DATABASE {CLINIC_DB}"));
    cluster
}

/// Reports success and keeps nothing: pg_stat_archiver counts it as archived.
pub const DISCARDING_ARCHIVE_COMMAND: &str = "/bin/true";

/// An archive_command holding [`ARCHIVE_SECRET`]. It would fail (nothing answers for the
/// reserved `.invalid` domain, and no aws CLI is needed), which no trap depends on.
pub fn secret_archive_command() -> String {
    format!("AWS_SECRET_ACCESS_KEY={ARCHIVE_SECRET} aws s3 cp %p s3://trap-bucket.invalid/wal/%f")
}

fn any_scram_verifier() -> String {
    password::scram_sha_256(random_password().as_bytes())
}

fn create_trap_roles(cluster: &Cluster) {
    let md5_verifier = password::md5(random_password().as_bytes(), MD5_ROLE);
    cluster.psql_unlogged(
        "postgres",
        &[
            &format!(
                "CREATE ROLE {MD5_ROLE} LOGIN CONNECTION LIMIT 2 PASSWORD {}",
                escape_literal(&md5_verifier)
            ),
            &format!("CREATE ROLE {TRAP_PHI_OWNER} NOLOGIN"),
            &format!(
                "CREATE ROLE {TRAP_APP_ROLE} LOGIN CONNECTION LIMIT 10 PASSWORD {}",
                escape_literal(&any_scram_verifier())
            ),
            &format!("CREATE DATABASE {CLINIC_DB}"),
        ],
    );
}

fn create_trap_tables(cluster: &Cluster) {
    let real_policy = "clinic_id = nullif(current_setting('app.clinic_id', true), '')::integer";
    let app = escape_identifier(TRAP_APP_ROLE);
    cluster.psql_unlogged(
        CLINIC_DB,
        &[
            "CREATE EXTENSION pgcrypto",
            "CREATE EXTENSION pgaudit",
            "GRANT CREATE ON SCHEMA public TO PUBLIC",
            // RLS on but not forced: the owner still reads every row.
            &format!("CREATE TABLE {UNFORCED_TABLE} (id int, clinic_id int, ssn text)"),
            &format!("ALTER TABLE {UNFORCED_TABLE} OWNER TO {TRAP_PHI_OWNER}"),
            &format!("ALTER TABLE {UNFORCED_TABLE} ENABLE ROW LEVEL SECURITY"),
            &format!("CREATE POLICY same_clinic ON {UNFORCED_TABLE} USING ({real_policy})"),
            // RLS forced, but the policy lets everyone see everything.
            &format!("CREATE TABLE {VACUOUS_TABLE} (id int, clinic_id int, mrn text)"),
            &format!("ALTER TABLE {VACUOUS_TABLE} OWNER TO {TRAP_PHI_OWNER}"),
            &format!("ALTER TABLE {VACUOUS_TABLE} ENABLE ROW LEVEL SECURITY"),
            &format!("ALTER TABLE {VACUOUS_TABLE} FORCE ROW LEVEL SECURITY"),
            &format!("CREATE POLICY {VACUOUS_POLICY} ON {VACUOUS_TABLE} USING (true)"),
            // RLS forced with a real policy, but the application login owns the table.
            &format!("CREATE TABLE {APP_OWNED_TABLE} (id int, clinic_id int, diagnosis text)"),
            &format!("ALTER TABLE {APP_OWNED_TABLE} OWNER TO {app}"),
            &format!("ALTER TABLE {APP_OWNED_TABLE} ENABLE ROW LEVEL SECURITY"),
            &format!("ALTER TABLE {APP_OWNED_TABLE} FORCE ROW LEVEL SECURITY"),
            &format!("CREATE POLICY same_clinic ON {APP_OWNED_TABLE} USING ({real_policy})"),
            // A key written into a function body.
            &format!(
                "CREATE FUNCTION public.{LITERAL_KEY_FUNCTION}(secret bytea) RETURNS text \
                 LANGUAGE sql AS $body$ SELECT pgp_sym_decrypt(secret, {}) $body$",
                escape_literal(LITERAL_KEY)
            ),
        ],
    );
}

/// Writes a file into the data directory that the server's OS user can read.
fn write_readable(cluster: &Cluster, name: &str, contents: &str) {
    let path = cluster.data_dir().join(name);
    fs::write(&path, contents).unwrap_or_else(|err| panic!("write {}: {err}", path.display()));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644))
        .unwrap_or_else(|err| panic!("chmod {}: {err}", path.display()));
}

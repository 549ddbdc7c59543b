//! Cluster-wide parts: settings, pg_hba, roles, sessions, statistics. The
//! password-kinds part, whose source depends on the scanner, is `passwords`.
//!
//! Each part is one catalog query whose SQL depends only on the server
//! version, and a store function. Two lists: parts every role may read, and
//! parts that are superuser-only unless granted (they come last in the
//! pipeline, where a failure costs the fewest resent statements).

use super::acl::parse_acl;
use super::part::{get, single_row, text_list, utc_text, DecodeError, Part, Staging};
use super::redact::redact_setting;
use crate::model::snapshot::{
    Archiver, DatabaseAccess, DatabaseStat, FileSettingProblem, HbaRule, IdentMapping, Membership,
    Role, RoleSetting, Session, Setting,
};
use std::collections::BTreeMap;
use tokio_postgres::Row;

/// Name shown for `pg_stat_database`'s row of shared catalogs (NULL datname).
pub(super) const SHARED_OBJECTS: &str = "(shared objects)";

/// Parts any role may read. `sessions` only when the scanner can see other
/// roles' sessions: otherwise the list would look complete and be wrong.
pub(super) fn public_parts(version: u32, sees_all_sessions: bool) -> Vec<Part> {
    let mut parts = vec![
        Part::new("settings", SETTINGS, store_settings),
        Part::new("roles", roles_sql(), store_roles),
        Part::new("memberships", memberships_sql(version), store_memberships),
        Part::new("role_settings", ROLE_SETTINGS, store_role_settings),
        Part::new("database_access", DATABASE_ACCESS, store_database_access),
        Part::new("archiver", archiver_sql(), store_archiver),
        Part::new(
            "database_stats",
            database_stats_sql(version),
            store_database_stats,
        ),
        Part::new(
            "system_identifier",
            SYSTEM_IDENTIFIER,
            store_system_identifier,
        ),
    ];
    if sees_all_sessions {
        parts.push(Part::new("sessions", SESSIONS, store_sessions));
    }
    parts
}

/// Parts that are superuser-only unless granted.
pub(super) fn restricted_parts(version: u32) -> Vec<Part> {
    let mut parts = vec![
        Part::new(
            "file_setting_problems",
            FILE_SETTING_PROBLEMS,
            store_file_setting_problems,
        ),
        Part::new("hba_rules", hba_rules_sql(version), store_hba_rules),
    ];
    // pg_ident_file_mappings exists from PostgreSQL 15; before that the part
    // is not asked for and stays None without a gap (as the snapshot documents).
    if version >= 150_000 {
        parts.push(Part::new(
            "ident_mappings",
            IDENT_MAPPINGS,
            store_ident_mappings,
        ));
    }
    parts
}

const SETTINGS: &str = "SELECT name, setting, unit, source, sourcefile, sourceline, \
     pending_restart, context, vartype, boot_val, reset_val \
     FROM pg_catalog.pg_settings ORDER BY name";

fn store_settings(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let mut settings = BTreeMap::new();
    for row in rows {
        let name: String = get(row, "name")?;
        let mut setting = Setting {
            setting: get(row, "setting")?,
            unit: get(row, "unit")?,
            source: get::<Option<String>>(row, "source")?.unwrap_or_default(),
            sourcefile: get(row, "sourcefile")?,
            sourceline: get(row, "sourceline")?,
            pending_restart: get::<Option<bool>>(row, "pending_restart")?.unwrap_or(false),
            context: get::<Option<String>>(row, "context")?.unwrap_or_default(),
            vartype: get::<Option<String>>(row, "vartype")?.unwrap_or_default(),
            boot_val: get(row, "boot_val")?,
            reset_val: get(row, "reset_val")?,
        };
        redact_setting(&name, &mut setting);
        settings.insert(name, setting);
    }
    staging.cluster.settings = Some(settings);
    Ok(())
}

const FILE_SETTING_PROBLEMS: &str = "SELECT sourcefile, sourceline, name, applied, error \
     FROM pg_catalog.pg_file_settings WHERE error IS NOT NULL OR NOT applied";

fn store_file_setting_problems(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let mut problems = rows
        .iter()
        .map(|row| {
            Ok(FileSettingProblem {
                sourcefile: get(row, "sourcefile")?,
                sourceline: get(row, "sourceline")?,
                name: get(row, "name")?,
                applied: get::<Option<bool>>(row, "applied")?.unwrap_or(false),
                error: get(row, "error")?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    problems.sort();
    staging.cluster.file_setting_problems = Some(problems);
    Ok(())
}

/// pg_hba rules in file order, which is the order the server matches them
/// in (hence no ORDER BY). `file_name` exists from PostgreSQL 16.
fn hba_rules_sql(version: u32) -> String {
    let file_name = if version >= 160_000 {
        "file_name"
    } else {
        "NULL::text AS file_name"
    };
    format!(
        "SELECT line_number, {file_name}, type, database, user_name, address, netmask, \
         auth_method, options, error FROM pg_catalog.pg_hba_file_rules"
    )
}

fn store_hba_rules(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let rules = rows
        .iter()
        .map(|row| {
            Ok(HbaRule {
                line_number: get::<Option<i32>>(row, "line_number")?.unwrap_or(0),
                file_name: get(row, "file_name")?,
                conn_type: get(row, "type")?,
                database: text_list(row, "database")?,
                user_name: text_list(row, "user_name")?,
                address: get(row, "address")?,
                netmask: get(row, "netmask")?,
                auth_method: get(row, "auth_method")?,
                options: text_list(row, "options")?,
                error: get(row, "error")?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    staging.cluster.hba_rules = Some(rules);
    Ok(())
}

/// In file order, like pg_hba.
const IDENT_MAPPINGS: &str = "SELECT line_number, map_name, sys_name, pg_username, error \
     FROM pg_catalog.pg_ident_file_mappings";

fn store_ident_mappings(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let mappings = rows
        .iter()
        .map(|row| {
            Ok(IdentMapping {
                line_number: get::<Option<i32>>(row, "line_number")?.unwrap_or(0),
                map_name: get(row, "map_name")?,
                sys_name: get(row, "sys_name")?,
                pg_username: get(row, "pg_username")?,
                error: get(row, "error")?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    staging.cluster.ident_mappings = Some(mappings);
    Ok(())
}

fn roles_sql() -> String {
    format!(
        "SELECT oid, rolname::text AS name, rolsuper, rolinherit, rolcreaterole, \
         rolcreatedb, rolcanlogin, rolreplication, rolbypassrls, rolconnlimit, \
         {} AS valid_until, rolconfig, \
         pg_catalog.shobj_description(oid, 'pg_authid') AS comment \
         FROM pg_catalog.pg_roles ORDER BY rolname",
        utc_text("rolvaliduntil")
    )
}

fn store_roles(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let roles = rows
        .iter()
        .map(|row| {
            Ok(Role {
                oid: get(row, "oid")?,
                name: get(row, "name")?,
                superuser: get(row, "rolsuper")?,
                inherit: get(row, "rolinherit")?,
                create_role: get(row, "rolcreaterole")?,
                create_db: get(row, "rolcreatedb")?,
                can_login: get(row, "rolcanlogin")?,
                replication: get(row, "rolreplication")?,
                bypass_rls: get(row, "rolbypassrls")?,
                conn_limit: get(row, "rolconnlimit")?,
                valid_until: get(row, "valid_until")?,
                config: text_list(row, "rolconfig")?,
                comment: get(row, "comment")?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    staging.cluster.roles = Some(roles);
    Ok(())
}

/// `inherit_option` and `set_option` exist from PostgreSQL 16.
fn memberships_sql(version: u32) -> String {
    let options = if version >= 160_000 {
        "a.inherit_option, a.set_option"
    } else {
        "NULL::bool AS inherit_option, NULL::bool AS set_option"
    };
    format!(
        "SELECT r.rolname::text AS role, m.rolname::text AS member, a.admin_option, {options} \
         FROM pg_catalog.pg_auth_members a \
         JOIN pg_catalog.pg_roles r ON r.oid = a.roleid \
         JOIN pg_catalog.pg_roles m ON m.oid = a.member"
    )
}

fn store_memberships(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let mut memberships = rows
        .iter()
        .map(|row| {
            Ok(Membership {
                role: get(row, "role")?,
                member: get(row, "member")?,
                admin_option: get(row, "admin_option")?,
                inherit_option: get(row, "inherit_option")?,
                set_option: get(row, "set_option")?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    // From 16 the same role can be granted to a member by several grantors.
    memberships.sort();
    memberships.dedup();
    staging.cluster.memberships = Some(memberships);
    Ok(())
}

const ROLE_SETTINGS: &str = "SELECT d.datname::text AS database, r.rolname::text AS role, \
     s.setconfig FROM pg_catalog.pg_db_role_setting s \
     LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase \
     LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.setrole";

fn store_role_settings(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let mut settings = rows
        .iter()
        .map(|row| {
            Ok(RoleSetting {
                database: get(row, "database")?,
                role: get(row, "role")?,
                config: text_list(row, "setconfig")?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    settings.sort();
    staging.cluster.role_settings = Some(settings);
    Ok(())
}

/// Every database with what decides who may connect to it (pg_database is
/// readable by every role).
const DATABASE_ACCESS: &str = "SELECT datname::text AS name, datallowconn, \
     coalesce(datacl, pg_catalog.acldefault('d', datdba))::text[] AS acl \
     FROM pg_catalog.pg_database ORDER BY 1";

fn store_database_access(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let mut databases = rows
        .iter()
        .map(|row| {
            Ok(DatabaseAccess {
                name: get(row, "name")?,
                allow_connections: get(row, "datallowconn")?,
                acl: parse_acl(get(row, "acl")?)?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    // Byte order, whatever the database's collation.
    databases.sort();
    staging.cluster.database_access = Some(databases);
    Ok(())
}

/// Client backends with their TLS state; never the query text.
const SESSIONS: &str = "SELECT a.pid, a.usename::text AS usename, a.datname::text AS datname, \
     host(a.client_addr) AS client_addr, a.application_name, \
     coalesce(s.ssl, false) AS ssl, s.version, s.cipher, \
     a.pid = pg_catalog.pg_backend_pid() AS is_self \
     FROM pg_catalog.pg_stat_activity a \
     LEFT JOIN pg_catalog.pg_stat_ssl s ON s.pid = a.pid \
     WHERE a.backend_type = 'client backend' ORDER BY a.pid";

fn store_sessions(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let sessions = rows
        .iter()
        .map(|row| {
            Ok(Session {
                pid: get(row, "pid")?,
                usename: get(row, "usename")?,
                datname: get(row, "datname")?,
                client_addr: get(row, "client_addr")?,
                application_name: get(row, "application_name")?,
                ssl: get(row, "ssl")?,
                version: get(row, "version")?,
                cipher: get(row, "cipher")?,
                is_self: get(row, "is_self")?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    staging.cluster.sessions = Some(sessions);
    Ok(())
}

fn archiver_sql() -> String {
    format!(
        "SELECT archived_count, last_archived_wal, {} AS last_archived_time, \
         failed_count, last_failed_wal, {} AS last_failed_time, {} AS stats_reset \
         FROM pg_catalog.pg_stat_archiver",
        utc_text("last_archived_time"),
        utc_text("last_failed_time"),
        utc_text("stats_reset")
    )
}

fn store_archiver(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let row = single_row(rows)?;
    staging.cluster.archiver = Some(Archiver {
        archived_count: get(row, "archived_count")?,
        last_archived_wal: get(row, "last_archived_wal")?,
        last_archived_time: get(row, "last_archived_time")?,
        failed_count: get(row, "failed_count")?,
        last_failed_wal: get(row, "last_failed_wal")?,
        last_failed_time: get(row, "last_failed_time")?,
        stats_reset: get(row, "stats_reset")?,
    });
    Ok(())
}

/// Checksum failure counters exist from PostgreSQL 12 (NULL there when data
/// checksums are off). The NULL-datname row counts shared catalogs.
fn database_stats_sql(version: u32) -> String {
    let (failures, last_failure) = if version >= 120_000 {
        (
            "checksum_failures".to_string(),
            utc_text("checksum_last_failure"),
        )
    } else {
        ("NULL::int8".to_string(), "NULL::text".to_string())
    };
    format!(
        "SELECT coalesce(datname::text, '{SHARED_OBJECTS}') AS datname, \
         {failures} AS checksum_failures, {last_failure} AS checksum_last_failure \
         FROM pg_catalog.pg_stat_database"
    )
}

fn store_database_stats(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let mut stats = rows
        .iter()
        .map(|row| {
            Ok(DatabaseStat {
                datname: get(row, "datname")?,
                checksum_failures: get(row, "checksum_failures")?,
                checksum_last_failure: get(row, "checksum_last_failure")?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    stats.sort();
    staging.cluster.database_stats = Some(stats);
    Ok(())
}

const SYSTEM_IDENTIFIER: &str =
    "SELECT system_identifier::text AS system_identifier FROM pg_catalog.pg_control_system()";

fn store_system_identifier(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    staging.system_identifier = get(single_row(rows)?, "system_identifier")?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn names(parts: &[Part]) -> Vec<&str> {
        parts.iter().map(|p| p.name).collect()
    }

    #[test]
    fn sessions_are_asked_for_only_when_all_are_visible() {
        assert!(names(&public_parts(150_000, true)).contains(&"sessions"));
        assert!(!names(&public_parts(150_000, false)).contains(&"sessions"));
    }

    #[test]
    fn ident_mappings_only_from_15() {
        assert!(!names(&restricted_parts(140_000)).contains(&"ident_mappings"));
        assert!(names(&restricted_parts(150_000)).contains(&"ident_mappings"));
    }

    #[test]
    fn version_dependent_columns() {
        assert!(memberships_sql(160_000).contains("a.inherit_option"));
        assert!(memberships_sql(150_000).contains("NULL::bool AS inherit_option"));
        assert!(memberships_sql(160_000).contains("a.set_option"));
        assert!(memberships_sql(150_000).contains("NULL::bool AS set_option"));
        assert!(hba_rules_sql(160_000).contains(" file_name,"));
        assert!(hba_rules_sql(150_000).contains("NULL::text AS file_name"));
        assert!(database_stats_sql(110_000).contains("NULL::int8"));
        assert!(database_stats_sql(120_000).contains("checksum_failures AS"));
    }

    #[test]
    fn sessions_never_select_the_query_text() {
        assert!(!SESSIONS.contains("query"));
    }
}

//! Parts about data and credentials that leave the server: credentials
//! stored for outbound connections (user mappings, foreign servers,
//! subscriptions), logical replication (publications, slots) and large
//! objects (their owners, since `lo_compat_privileges` can open them all).
//!
//! Secrets never leave the server: option values and connection strings
//! are tested there and only option *names* (or a yes/no) are returned, so
//! nothing secret can reach the snapshot, evidence or a report.
//!
//! Another role's user-mapping options and `pg_subscription.subconninfo`
//! are hidden from a least-privilege scanner. `pgsafeguard.stored_credentials()`
//! of `assets/sql/scanner-role.sql` (a superuser's SECURITY DEFINER function,
//! trusted on the same terms as `password_kinds()`) answers for it; without
//! it, hidden mappings stay undecided and subscriptions become a gap.

use super::identity::Identity;
use super::part::{get, text_list, DecodeError, Part, Staging};
use super::passwords::{shell_word, FunctionState, SCANNER_ROLE_SCRIPT};
use crate::model::snapshot::{
    ForeignServer, Gap, LargeObjectOwner, Publication, ReplicationSlot, Subscription, UserMapping,
};
use postgres_protocol::escape::escape_literal;
use tokio_postgres::Row;

/// Part names; a failing part's gap carries the name.
pub(super) const SUBSCRIPTIONS: &str = "subscriptions";

/// Option names that hold a credential (`password`, `passwd`, `pwd`,
/// `sslpassword`, `secret`, `token` …); `passfile` names a file, not a secret.
const CREDENTIAL_OPTION: &str = "(pass(word|wd)|pwd|secret|token)";

/// A libpq connection string that carries a password: `password=` in
/// key/value form or a URI query, or `user:password@` in a URI.
const CONNINFO_PASSWORD: &str =
    r"(^|[\s?&])(ssl)?password\s*=|^\s*postgres(ql)?://[^/@?]*:[^/@?]*@";

/// The scanner-role script's function, with its owner's view of the catalogs.
const FUNCTION: &str = "pgsafeguard.stored_credentials()";

fn function_usable(identity: &Identity) -> bool {
    identity.stored_credentials_function == FunctionState::Usable
}

/// Per-database parts.
pub(super) fn database_parts(identity: &Identity) -> Vec<Part> {
    let user_mappings = if function_usable(identity) {
        format!(
            "SELECT name AS server, role, credential_options FROM {FUNCTION} \
             WHERE kind = 'user_mapping' ORDER BY 1, 2 NULLS FIRST"
        )
    } else {
        user_mappings_sql()
    };
    vec![
        Part::new("user_mappings", user_mappings, store_user_mappings),
        Part::new(
            "foreign_servers",
            foreign_servers_sql(),
            store_foreign_servers,
        ),
        Part::new("publications", PUBLICATIONS, store_publications),
        Part::new("large_objects", LARGE_OBJECTS, store_large_objects),
    ]
}

/// Cluster-wide parts any role may read.
pub(super) fn public_parts() -> Vec<Part> {
    vec![Part::new(
        "replication_slots",
        REPLICATION_SLOTS,
        store_replication_slots,
    )]
}

/// Cluster-wide parts that are superuser-only unless granted:
/// `pg_subscription.subconninfo` is revoked from PUBLIC. Without the column
/// or the function the part is not sent (it could only fail and leave a
/// permission error in the server log): [`unavailable_gap`] says why.
pub(super) fn restricted_parts(identity: &Identity) -> Vec<Part> {
    let sql = if identity.reads_subconninfo {
        subscriptions_sql()
    } else if function_usable(identity) {
        format!(
            "SELECT name, database, role AS owner, stores_password FROM {FUNCTION} \
             WHERE kind = 'subscription' ORDER BY 2, 1"
        )
    } else {
        return Vec::new();
    };
    vec![Part::new(SUBSCRIPTIONS, sql, store_subscriptions)]
}

/// The gap for a scanner that can read subscriptions neither way.
pub(super) fn unavailable_gap(identity: &Identity) -> Option<Gap> {
    if !restricted_parts(identity).is_empty() {
        return None;
    }
    let role = &identity.current_user;
    Some(Gap {
        part: SUBSCRIPTIONS.into(),
        sqlstate: Some("42501".into()),
        message: format!(
            "the scanner may not read pg_subscription.subconninfo (superuser-only) and \
             {FUNCTION} is not usable here ({})",
            match identity.stored_credentials_function {
                FunctionState::Missing => "missing",
                FunctionState::Denied => "not executable by the scanner",
                FunctionState::Untrusted => "not a superuser's SECURITY DEFINER function",
                FunctionState::Usable => "unusable",
            }
        ),
        grant: Some(grant(role)),
    })
}

/// The script first (it reveals only yes/no), the column grant as the
/// alternative (it reveals the connection strings with their passwords).
pub(super) fn grant(role: &str) -> String {
    format!(
        "run {SCANNER_ROLE_SCRIPT} as a superuser in this database \
         (psql -v scanner_role={} -f {SCANNER_ROLE_SCRIPT}), which creates {FUNCTION}; or \
         GRANT SELECT (subconninfo) ON pg_catalog.pg_subscription TO {}, which also exposes \
         the connection strings and their passwords",
        shell_word(role),
        postgres_protocol::escape::escape_identifier(role)
    )
}

/// The credential option names among `options` (a `text[]` of `name=value`).
fn credential_names(options: &str) -> String {
    format!(
        "ARRAY(SELECT o.option_name FROM pg_catalog.pg_options_to_table({options}) o \
         WHERE o.option_name ~* {} ORDER BY 1)",
        escape_literal(CREDENTIAL_OPTION)
    )
}

/// `pg_user_mappings` shows a mapping's options only to superusers, to the
/// mapped role and to members of the server's owner; otherwise they read as
/// NULL, like a mapping without options. The same condition as the view's
/// tells the two apart, so a hidden mapping is `None` (unknown), never "no
/// password".
fn user_mappings_sql() -> String {
    format!(
        "SELECT m.srvname::text AS server, \
         CASE WHEN m.umuser = '0'::oid THEN NULL ELSE m.usename::text END AS role, \
         CASE WHEN (m.umuser <> '0'::oid AND m.usename = current_user \
                    AND (pg_catalog.pg_has_role(s.srvowner, 'USAGE') \
                         OR pg_catalog.has_server_privilege(s.oid, 'USAGE'))) \
                OR (m.umuser = '0'::oid AND pg_catalog.pg_has_role(s.srvowner, 'USAGE')) \
                OR coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r \
                             WHERE r.rolname = current_user), false) \
              THEN {} END AS credential_options \
         FROM pg_catalog.pg_user_mappings m \
         JOIN pg_catalog.pg_foreign_server s ON s.oid = m.srvid \
         ORDER BY 1, 2 NULLS FIRST",
        credential_names("m.umoptions")
    )
}

fn store_user_mappings(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let mut mappings = rows
        .iter()
        .map(|row| {
            let visible: Option<Vec<Option<String>>> = get(row, "credential_options")?;
            Ok(UserMapping {
                server: get(row, "server")?,
                role: get(row, "role")?,
                credential_options: visible.map(|names| names.into_iter().flatten().collect()),
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    mappings.sort();
    staging.database.user_mappings = Some(mappings);
    Ok(())
}

fn foreign_servers_sql() -> String {
    format!(
        "SELECT s.srvname::text AS name, pg_catalog.pg_get_userbyid(s.srvowner)::text AS owner, \
         w.fdwname::text AS wrapper, {} AS credential_options \
         FROM pg_catalog.pg_foreign_server s \
         JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw ORDER BY 1",
        credential_names("s.srvoptions")
    )
}

fn store_foreign_servers(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let mut servers = rows
        .iter()
        .map(|row| {
            Ok(ForeignServer {
                name: get(row, "name")?,
                owner: get(row, "owner")?,
                wrapper: get(row, "wrapper")?,
                credential_options: text_list(row, "credential_options")?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    servers.sort();
    staging.database.foreign_servers = Some(servers);
    Ok(())
}

/// `pg_publication_tables` expands FOR ALL TABLES and FOR TABLES IN SCHEMA.
const PUBLICATIONS: &str = "SELECT p.pubname::text AS name, \
     pg_catalog.pg_get_userbyid(p.pubowner)::text AS owner, p.puballtables AS all_tables, \
     ARRAY(SELECT t.schemaname::text || '.' || t.tablename::text \
           FROM pg_catalog.pg_publication_tables t WHERE t.pubname = p.pubname \
           ORDER BY 1) AS tables \
     FROM pg_catalog.pg_publication p ORDER BY 1";

fn store_publications(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let mut publications = rows
        .iter()
        .map(|row| {
            let mut tables = text_list(row, "tables")?;
            tables.sort();
            Ok(Publication {
                name: get(row, "name")?,
                owner: get(row, "owner")?,
                all_tables: get(row, "all_tables")?,
                tables,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    publications.sort();
    staging.database.publications = Some(publications);
    Ok(())
}

/// Counts only: `pg_largeobject` (the contents) is never read.
const LARGE_OBJECTS: &str = "SELECT pg_catalog.pg_get_userbyid(lomowner)::text AS owner, \
     count(*)::int8 AS count FROM pg_catalog.pg_largeobject_metadata GROUP BY 1 ORDER BY 1";

fn store_large_objects(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let mut owners = rows
        .iter()
        .map(|row| {
            Ok(LargeObjectOwner {
                owner: get(row, "owner")?,
                count: get(row, "count")?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    owners.sort();
    staging.database.large_objects = Some(owners);
    Ok(())
}

const REPLICATION_SLOTS: &str = "SELECT slot_name::text AS name, slot_type AS slot_type, \
     plugin::text AS plugin, database::text AS database, active \
     FROM pg_catalog.pg_replication_slots ORDER BY 1";

fn store_replication_slots(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let mut slots = rows
        .iter()
        .map(|row| {
            Ok(ReplicationSlot {
                name: get(row, "name")?,
                slot_type: get::<Option<String>>(row, "slot_type")?.unwrap_or_default(),
                plugin: get(row, "plugin")?,
                database: get(row, "database")?,
                active: get::<Option<bool>>(row, "active")?.unwrap_or(false),
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    slots.sort();
    staging.cluster.replication_slots = Some(slots);
    Ok(())
}

/// The connection string is tested on the server; only the answer returns.
fn subscriptions_sql() -> String {
    format!(
        "SELECT s.subname::text AS name, coalesce(d.datname::text, '') AS database, \
         pg_catalog.pg_get_userbyid(s.subowner)::text AS owner, \
         coalesce(s.subconninfo ~* {}, false) AS stores_password \
         FROM pg_catalog.pg_subscription s \
         LEFT JOIN pg_catalog.pg_database d ON d.oid = s.subdbid ORDER BY 2, 1",
        escape_literal(CONNINFO_PASSWORD)
    )
}

fn store_subscriptions(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let mut subscriptions = rows
        .iter()
        .map(|row| {
            Ok(Subscription {
                name: get(row, "name")?,
                database: get(row, "database")?,
                owner: get(row, "owner")?,
                stores_password: get(row, "stores_password")?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    subscriptions.sort();
    staging.cluster.subscriptions = Some(subscriptions);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_tested_on_the_server_and_never_selected() {
        for sql in [
            user_mappings_sql(),
            foreign_servers_sql(),
            subscriptions_sql(),
        ] {
            // Options and conninfo appear only inside a test, never as a column.
            assert!(!sql.contains("umoptions AS"), "{sql}");
            assert!(!sql.contains("srvoptions AS"), "{sql}");
            assert!(!sql.contains("subconninfo AS"), "{sql}");
            assert!(!sql.contains("option_value"), "{sql}");
        }
    }

    /// The script's function repeats the patterns (it cannot take them as
    /// arguments, see the script): they must not drift apart.
    #[test]
    fn the_scanner_script_uses_the_same_patterns() {
        let script = include_str!("../../../assets/sql/scanner-role.sql");
        assert!(script.contains(&format!("~* '{CREDENTIAL_OPTION}'")));
        assert!(script.contains(&format!("~* '{CONNINFO_PASSWORD}'")));
    }

    #[test]
    fn hidden_user_mapping_options_are_not_an_empty_list() {
        let sql = user_mappings_sql();
        assert!(sql.contains("CASE WHEN"), "{sql}");
        assert!(sql.contains("THEN ARRAY("), "{sql}");
    }
}

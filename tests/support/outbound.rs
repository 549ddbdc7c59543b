//! Trap fixtures for the classes where data or credentials leave the server: passwords
//! stored in catalogs for outbound connections (AUTH-017), logical replication of PHI
//! (PRIV-020), other sessions' query text through pg_monitor (PRIV-019) and large objects
//! open to everyone (GEN-003, `lo_compat_privileges`).
//!
//! Every secret here is fictitious and exists only to prove that it never reaches any
//! output; the statements that carry one run with statement logging off. Like the rest of
//! the harness it does not import the crate under test.

use postgres_protocol::escape::{escape_identifier, escape_literal};

use super::cluster::Cluster;
use super::scenarios::{plain, CLINIC_DB};

/// The password in the user mapping of [`MAPPED_ROLE`] on [`FDW_SERVER`].
pub const USER_MAPPING_SECRET: &str = "TrapUserMappingSecret0xFACE";
/// The password in the options of [`LEGACY_SERVER`].
pub const SERVER_SECRET: &str = "TrapServerOptionSecret0xD00D";
/// The password in the connection string of [`SUBSCRIPTION`].
pub const SUBSCRIPTION_SECRET: &str = "TrapSubscriptionSecret0xCAFE";

/// A postgres_fdw server; its user mapping for [`MAPPED_ROLE`] stores a password.
pub const FDW_SERVER: &str = "billing_archive";
/// The login whose user mapping stores the password.
pub const MAPPED_ROLE: &str = "clinic_app";
/// A server of a wrapper without validator, so its options may hold a password.
pub const LEGACY_SERVER: &str = "legacy_lab";
/// A subscription created without connecting (`connect = false`): no second cluster.
pub const SUBSCRIPTION: &str = "from_lab";
/// A PHI table, published.
pub const PHI_TABLE: &str = "public.patients";
/// The publication of [`PHI_TABLE`].
pub const PUBLICATION: &str = "to_reporting";
/// A logical slot for the publication (needs `wal_level = logical`).
pub const LOGICAL_SLOT: &str = "reporting_slot";
/// A login with REPLICATION that no policy lists as a service account.
pub const REPLICATION_LOGIN: &str = "etl_stream";
/// A non-administrator login in pg_monitor: it reads every session's query text.
pub const MONITOR_LOGIN: &str = "night_monitor";
/// How many large objects the fixture stores (owned by the superuser).
pub const LARGE_OBJECTS: usize = 2;

/// A cluster with `wal_level = logical` and `lo_compat_privileges = on`, and in
/// [`CLINIC_DB`]: a postgres_fdw user mapping with a password, a foreign server with a
/// password option, a publication of a PHI table with a logical slot, a REPLICATION login,
/// a pg_monitor login and large objects. With `subscription`, also a subscription whose
/// connection string holds a password (it has no fix: AUTH-017 keeps failing with it).
pub fn outbound_traps(subscription: bool) -> Cluster {
    let cluster = plain()
        .conf("wal_level = logical")
        .conf("lo_compat_privileges = on")
        .start();
    cluster.psql_unlogged(
        "postgres",
        &[
            &format!("CREATE DATABASE {CLINIC_DB}"),
            &format!("CREATE ROLE {MAPPED_ROLE} LOGIN"),
            &format!("CREATE ROLE {REPLICATION_LOGIN} LOGIN REPLICATION"),
            &format!("CREATE ROLE {MONITOR_LOGIN} LOGIN"),
            &format!("GRANT pg_monitor TO {MONITOR_LOGIN}"),
        ],
    );
    let mut statements = vec![
        "CREATE EXTENSION postgres_fdw".to_string(),
        format!(
            "CREATE SERVER {FDW_SERVER} FOREIGN DATA WRAPPER postgres_fdw \
             OPTIONS (host 'billing.invalid', dbname 'billing')"
        ),
        format!(
            "CREATE USER MAPPING FOR {MAPPED_ROLE} SERVER {FDW_SERVER} \
             OPTIONS (user 'remote_reader', password {})",
            escape_literal(USER_MAPPING_SECRET)
        ),
        // A wrapper without validator accepts any option, as many third-party ones do.
        "CREATE FOREIGN DATA WRAPPER legacy_wrapper".to_string(),
        format!(
            "CREATE SERVER {LEGACY_SERVER} FOREIGN DATA WRAPPER legacy_wrapper \
             OPTIONS (host 'lab.invalid', password {})",
            escape_literal(SERVER_SECRET)
        ),
        format!("CREATE TABLE {PHI_TABLE} (id int PRIMARY KEY, ssn text, diagnosis text)"),
        format!("CREATE PUBLICATION {PUBLICATION} FOR TABLE {PHI_TABLE}"),
        format!(
            "SELECT pg_create_logical_replication_slot({}, 'pgoutput')",
            escape_literal(LOGICAL_SLOT)
        ),
    ];
    for i in 0..LARGE_OBJECTS {
        statements.push(format!(
            "SELECT lo_from_bytea(0, {})",
            escape_literal(&format!("scanned referral letter {i}"))
        ));
    }
    if subscription {
        statements.push(format!(
            "CREATE SUBSCRIPTION {SUBSCRIPTION} CONNECTION {} PUBLICATION {} \
             WITH (connect = false)",
            escape_literal(&format!(
                "host=lab.invalid dbname=lab user=replicator password={SUBSCRIPTION_SECRET}"
            )),
            escape_identifier("lab_pub")
        ));
    }
    let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
    cluster.psql_unlogged(CLINIC_DB, &statements);
    cluster
}

/// Every secret of [`outbound_traps`], named.
pub fn outbound_secrets() -> [(&'static str, &'static str); 3] {
    [
        ("user mapping password", USER_MAPPING_SECRET),
        ("foreign server password", SERVER_SECRET),
        ("subscription password", SUBSCRIPTION_SECRET),
    ]
}

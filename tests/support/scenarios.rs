//! Ready-made clusters for live tests: a hurried default install (`insecure`), a cluster set
//! up the way the hardening guide asks (`hardened`), a minimal builder (`plain`), and a
//! least-privilege scanner role (`create_scanner`).
//!
//! Owns the fixture content (roles, the `clinic` database, PHI rows — all fictitious, SSNs in
//! the never-issued 9xx range). Server processes and files belong to `cluster.rs`.

use postgres_protocol::escape::{escape_identifier, escape_literal};
use postgres_protocol::password;
use time::{Duration, OffsetDateTime};

use super::cluster::{random_password, Cluster, ClusterBuilder, Credentials, CLIENT_CERT_ROLE};

/// The database holding the PHI fixture table `public.patients`.
pub const CLINIC_DB: &str = "clinic";

/// The login role made by [`create_scanner`]; the hardened pg_hba.conf already admits it.
pub const SCANNER_ROLE: &str = "scanner";

/// The comment assets/sql/scanner-role.sql sets on its role (the crate's
/// `SCANNER_MARKER`; the harness does not import the crate).
pub const SCANNER_MARKER: &str = "pgSafeguard scanner role (assets/sql/scanner-role.sql)";

/// The application role of [`insecure`] (a superuser with an md5 password).
pub const INSECURE_APP_ROLE: &str = "app";

/// The application role of [`hardened`] (no special attributes, scram password).
pub const HARDENED_APP_ROLE: &str = "clinic_portal";

/// NOLOGIN owner of the hardened `patients` table.
pub const PHI_OWNER_ROLE: &str = "phi_owner";

/// NOLOGIN role named by `pgaudit.role` in the hardened scenario.
pub const AUDITOR_ROLE: &str = "auditor";

/// The pgcrypto passphrase of the hardened fixture rows. Test data only; it is passed at
/// insert time and never stored in a function body or view.
pub const FIXTURE_PGCRYPTO_KEY: &str = "fixture-key-for-tests-only";

/// (full_name, ssn, date_of_birth, phone, clinic_id) — fictitious people.
const PATIENTS: [(&str, &str, &str, &str, i32); 4] = [
    ("Ada Testperson", "900-12-0001", "1961-04-12", "555-0101", 1),
    (
        "Bruno Placeholder",
        "912-34-0002",
        "1978-09-30",
        "555-0102",
        1,
    ),
    ("Chiara Fixture", "987-65-0003", "1990-01-05", "555-0103", 2),
    ("Dov Example", "999-01-0004", "2004-12-24", "555-0104", 2),
];

/// A cluster left the way a hurried default install is left: ssl off (the certificate
/// files are in place), `local all all trust`, `host all all 0.0.0.0/0 md5` and `::/0 md5`,
/// `password_encryption = md5`, listen on localhost, the app role `app` is a SUPERUSER with
/// an md5 password and owns `clinic` and `public.patients` (plaintext PHI, no RLS). No
/// pgaudit, no archiving, no data checksums, default logging.
pub fn insecure() -> Cluster {
    let mut cluster = ClusterBuilder::new()
        .listen_addresses("localhost")
        .conf("ssl = off")
        .conf("password_encryption = md5")
        // `local all all trust` already lets the harness in.
        .harness_hba_line(None)
        .hba("local   all             all                                     trust")
        .hba("host    all             all             0.0.0.0/0               md5")
        .hba("host    all             all             ::/0                    md5")
        .start();
    let app = Credentials {
        user: INSECURE_APP_ROLE.to_string(),
        password: random_password(),
    };
    let md5_hash = password::md5(app.password.as_bytes(), &app.user);
    cluster.psql_unlogged(
        "postgres",
        &[
            &format!(
                "CREATE ROLE {} LOGIN SUPERUSER PASSWORD {}",
                escape_identifier(&app.user),
                escape_literal(&md5_hash)
            ),
            &format!("CREATE DATABASE {CLINIC_DB} OWNER {}", app.user),
        ],
    );
    let create_table = "CREATE TABLE public.patients (id serial PRIMARY KEY, full_name text, \
                        ssn text, date_of_birth date, phone text)";
    let insert = format!(
        "INSERT INTO public.patients (full_name, ssn, date_of_birth, phone) VALUES {}",
        plaintext_rows()
    );
    let owner = format!("ALTER TABLE public.patients OWNER TO {}", app.user);
    cluster.psql_unlogged(CLINIC_DB, &[create_table, &insert, &owner]);
    cluster.app = Some(app);
    cluster
}

/// A cluster set up as the guide asks. Highlights (exact lines in the source):
/// data checksums; ssl on with the test CA's certificate, `ssl_ca_file = 'ca.crt'`,
/// TLSv1.2 minimum, strong ciphers; scram-sha-256 everywhere; pg_hba: the superuser only on
/// the socket for named databases, `hostssl` rules for named roles from 127.0.0.1/32, a
/// `cert clientcert=verify-full` rule for [`CLIENT_CERT_ROLE`], `hostnossl all all all reject`;
/// preloaded pgaudit (extension in `postgres` and `clinic`), auth_delay and passwordcheck;
/// logging collector to a folder outside PGDATA (stderr + jsonlog, mode 0600, UTC, full
/// prefix, connections/disconnections, `log_statement = ddl`); WAL archiving with a real
/// `cp` into [`Cluster::archive_dir`] (one segment is archived before this returns);
/// `public.patients` with pgcrypto-encrypted bytea PHI columns, owned by NOLOGIN
/// [`PHI_OWNER_ROLE`], RLS enabled and forced with a real policy; app role
/// [`HARDENED_APP_ROLE`] (no special attributes, VALID UNTIL, CONNECTION LIMIT).
pub fn hardened() -> Cluster {
    let builder = hardened_conf(
        ClusterBuilder::new()
            .data_checksums(true)
            .ssl(true)
            .pgaudit(true)
            .preload("auth_delay")
            .preload("passwordcheck"),
    );
    let mut cluster = hardened_hba(builder).start();
    let app = Credentials {
        user: HARDENED_APP_ROLE.to_string(),
        password: random_password(),
    };
    create_hardened_roles(&cluster, &app);
    create_hardened_clinic(&cluster, &app);
    cluster.force_wal_archive();
    cluster.app = Some(app);
    cluster
}

/// A minimal builder: no checksums, ssl off (certificates installed), listen on 127.0.0.1,
/// pg_hba: the harness line plus `host all all 127.0.0.1/32 scram-sha-256`. Chain builder
/// methods for precise fixtures, then `.start()`.
pub fn plain() -> ClusterBuilder {
    ClusterBuilder::new().hba("host    all    all    127.0.0.1/32    scram-sha-256")
}

/// Makes (or resets the password of) the login role [`SCANNER_ROLE`] with only `pg_monitor`
/// (which includes pg_read_all_settings and pg_read_all_stats) and CONNECT on every database
/// that allows connections: no superuser, no pg_authid or pg_hba_file_rules access; marked
/// with [`SCANNER_MARKER`] as the script marks its role. Returns
/// `(user, password)`. The cluster's pg_hba.conf must admit it over TCP (insecure, hardened
/// and plain do).
pub fn create_scanner(cluster: &Cluster) -> (String, String) {
    let password = random_password();
    let exists = cluster.psql(
        "postgres",
        &format!(
            "SELECT count(*) FROM pg_roles WHERE rolname = {}",
            escape_literal(SCANNER_ROLE)
        ),
    ) == "1";
    let verb = if exists { "ALTER" } else { "CREATE" };
    let mut statements = vec![
        format!(
            "{verb} ROLE {SCANNER_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE \
             PASSWORD {} CONNECTION LIMIT 5 VALID UNTIL {}",
            escape_literal(&password::scram_sha_256(password.as_bytes())),
            escape_literal(&days_from_now(90)),
        ),
        format!("GRANT pg_monitor TO {SCANNER_ROLE}"),
        // The mark assets/sql/scanner-role.sql puts on its role: the documented scanner is
        // the one login PRIV-019 lets read other sessions' query text.
        format!(
            "COMMENT ON ROLE {SCANNER_ROLE} IS {}",
            escape_literal(SCANNER_MARKER)
        ),
    ];
    let databases = cluster.psql(
        "postgres",
        "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1",
    );
    for db in databases.lines().filter(|db| !db.is_empty()) {
        statements.push(format!(
            "GRANT CONNECT ON DATABASE {} TO {SCANNER_ROLE}",
            escape_identifier(db)
        ));
    }
    let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
    cluster.psql_unlogged("postgres", &statements);
    (SCANNER_ROLE.to_string(), password)
}

fn hardened_conf(builder: ClusterBuilder) -> ClusterBuilder {
    [
        "ssl_ca_file = 'ca.crt'",
        "ssl_min_protocol_version = 'TLSv1.2'",
        "ssl_ciphers = 'HIGH:!aNULL:!MD5:!3DES:!RC4'",
        "password_encryption = 'scram-sha-256'",
        "authentication_timeout = '30s'",
        "auth_delay.milliseconds = 200",
        "unix_socket_permissions = 0770",
        "idle_in_transaction_session_timeout = '5min'",
        "idle_session_timeout = '15min'",
        "pgaudit.log = 'ddl,role,write'",
        "pgaudit.role = 'auditor'",
        "pgaudit.log_parameter = off",
        "logging_collector = on",
        "log_destination = 'stderr,jsonlog'",
        "log_directory = '@LOG_DIR@'",
        "log_filename = 'postgresql-%Y-%m-%d_%H%M%S.log'",
        "log_file_mode = 0600",
        "log_rotation_age = '1d'",
        "log_rotation_size = '100MB'",
        "log_connections = on",
        "log_disconnections = on",
        "log_line_prefix = '%m [%p] %q%u@%d app=%a client=%h '",
        "log_statement = 'ddl'",
        "log_timezone = 'UTC'",
        "log_replication_commands = on",
        "log_min_messages = warning",
        "log_min_error_statement = error",
        "archive_mode = on",
        "archive_command = 'test ! -f @ARCHIVE_DIR@/%f && cp %p @ARCHIVE_DIR@/%f'",
        "archive_timeout = '5min'",
    ]
    .into_iter()
    .fold(builder, ClusterBuilder::conf)
}

fn hardened_hba(builder: ClusterBuilder) -> ClusterBuilder {
    builder
        .harness_hba_line(Some(
            "local   postgres,template1,clinic  postgres                       scram-sha-256",
        ))
        .hba("hostssl clinic             clinic_portal   127.0.0.1/32  scram-sha-256")
        .hba("hostssl postgres,clinic    scanner         127.0.0.1/32  scram-sha-256")
        .hba("hostssl clinic             clinic_cert     127.0.0.1/32  cert clientcert=verify-full")
        .hba("hostnossl all              all             all           reject")
}

pub(super) fn create_hardened_roles(cluster: &Cluster, app: &Credentials) {
    let valid_until = escape_literal(&days_from_now(90));
    cluster.psql_unlogged(
        "postgres",
        &[
            &format!("CREATE ROLE {PHI_OWNER_ROLE} NOLOGIN"),
            &format!("CREATE ROLE {AUDITOR_ROLE} NOLOGIN"),
            &format!(
                "CREATE ROLE {} LOGIN PASSWORD {} VALID UNTIL {valid_until} CONNECTION LIMIT 20",
                escape_identifier(&app.user),
                escape_literal(&password::scram_sha_256(app.password.as_bytes())),
            ),
            &format!(
                "CREATE ROLE {CLIENT_CERT_ROLE} LOGIN VALID UNTIL {valid_until} CONNECTION LIMIT 5"
            ),
            &format!("CREATE DATABASE {CLINIC_DB}"),
            &format!("REVOKE ALL ON DATABASE {CLINIC_DB} FROM PUBLIC"),
            &format!(
                "GRANT CONNECT ON DATABASE {CLINIC_DB} TO {}, {CLIENT_CERT_ROLE}",
                escape_identifier(&app.user)
            ),
        ],
    );
}

fn create_hardened_clinic(cluster: &Cluster, app: &Credentials) {
    let app_role = escape_identifier(&app.user);
    let same_clinic = "clinic_id = nullif(current_setting('app.clinic_id', true), '')::integer";
    cluster.psql_unlogged(
        CLINIC_DB,
        &[
            "CREATE EXTENSION pgcrypto",
            "CREATE EXTENSION pgaudit",
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
            "CREATE TABLE public.patients (id serial PRIMARY KEY, clinic_id integer NOT NULL, \
             full_name text NOT NULL, ssn bytea NOT NULL, date_of_birth bytea, phone bytea)",
            &format!(
                "INSERT INTO public.patients (clinic_id, full_name, ssn, date_of_birth, phone) \
                 VALUES {}",
                encrypted_rows()
            ),
            &format!("ALTER TABLE public.patients OWNER TO {PHI_OWNER_ROLE}"),
            "ALTER TABLE public.patients ENABLE ROW LEVEL SECURITY",
            "ALTER TABLE public.patients FORCE ROW LEVEL SECURITY",
            &format!(
                "CREATE POLICY patients_same_clinic ON public.patients \
                 USING ({same_clinic}) WITH CHECK ({same_clinic})"
            ),
            "REVOKE ALL ON public.patients FROM PUBLIC",
            &format!("GRANT USAGE ON SCHEMA public TO {app_role}, {CLIENT_CERT_ROLE}"),
            &format!("GRANT SELECT, INSERT, UPDATE ON public.patients TO {app_role}"),
            &format!("GRANT USAGE ON SEQUENCE public.patients_id_seq TO {app_role}"),
            &format!("GRANT SELECT ON public.patients TO {AUDITOR_ROLE}"),
        ],
    );
}

fn plaintext_rows() -> String {
    PATIENTS
        .iter()
        .map(|(name, ssn, born, phone, _)| {
            format!(
                "({}, {}, {}, {})",
                escape_literal(name),
                escape_literal(ssn),
                escape_literal(born),
                escape_literal(phone)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn encrypted_rows() -> String {
    let key = escape_literal(FIXTURE_PGCRYPTO_KEY);
    let encrypt = |value: &str| format!("pgp_sym_encrypt({}, {key})", escape_literal(value));
    PATIENTS
        .iter()
        .map(|(name, ssn, born, phone, clinic)| {
            format!(
                "({clinic}, {}, {}, {}, {})",
                escape_literal(name),
                encrypt(ssn),
                encrypt(born),
                encrypt(phone)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A date `days` from today (UTC), as `YYYY-MM-DD`, for VALID UNTIL.
pub(super) fn days_from_now(days: i64) -> String {
    (OffsetDateTime::now_utc() + Duration::days(days))
        .date()
        .to_string()
}

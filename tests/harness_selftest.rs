//! Proves the live test harness itself: clusters start in each scenario, psql works, the
//! test certificates verify (and the wrong CA or a wrong host name does not), pgaudit and
//! archiving are live in the hardened scenario, and a cluster is stopped and deleted on
//! drop, also when the test panics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Mutex;

use support::{
    create_scanner, hardened, insecure, plain, process_alive, Cluster, CLINIC_DB,
    HARDENED_APP_ROLE, INSECURE_APP_ROLE, PHI_OWNER_ROLE,
};

#[test]
fn insecure_cluster_is_left_like_a_hurried_install() {
    let cluster = insecure();
    assert_eq!(cluster.psql("postgres", "SELECT 1"), "1");
    assert_eq!(cluster.setting("ssl"), "off");
    assert_eq!(cluster.setting("password_encryption"), "md5");
    assert_eq!(cluster.setting("data_checksums"), "off");
    assert_eq!(cluster.setting("archive_mode"), "off");
    assert_eq!(cluster.setting("shared_preload_libraries"), "");
    assert!(cluster.data_dir().join("server.crt").is_file());
    assert!(cluster.data_dir().join("server.key").is_file());

    let app = cluster.app();
    assert_eq!(app.user, INSECURE_APP_ROLE);
    let app_row = cluster.psql(
        "postgres",
        "SELECT rolsuper, left(rolpassword, 3) FROM pg_authid WHERE rolname = 'app'",
    );
    assert_eq!(app_row, "t|md5");
    assert_eq!(
        cluster.psql(
            CLINIC_DB,
            "SELECT count(*) FROM public.patients WHERE ssn LIKE '9%'"
        ),
        "4"
    );
    assert_eq!(
        cluster.psql(
            CLINIC_DB,
            "SELECT relrowsecurity, pg_get_userbyid(relowner) FROM pg_class \
             WHERE oid = 'public.patients'::regclass"
        ),
        "f|app"
    );
    let hba = cluster.hba_text();
    assert!(hba.contains("local   all             all"), "{hba}");
    assert!(hba.contains("0.0.0.0/0"), "{hba}");

    let over_tcp = cluster.conninfo_tcp(&app.user, &app.password, CLINIC_DB, "sslmode=disable");
    assert_eq!(
        cluster.psql_with(&over_tcp, "SELECT current_user").unwrap(),
        "app"
    );
    let wrong_password = cluster.conninfo_tcp(&app.user, "nope", CLINIC_DB, "sslmode=disable");
    assert!(cluster.psql_with(&wrong_password, "SELECT 1").is_err());
}

#[test]
fn hardened_cluster_is_configured_as_the_guide_asks() {
    let cluster = hardened();
    let expected = [
        ("ssl", "on"),
        ("data_checksums", "on"),
        ("password_encryption", "scram-sha-256"),
        ("ssl_min_protocol_version", "TLSv1.2"),
        ("logging_collector", "on"),
        ("log_connections", "on"),
        ("log_disconnections", "on"),
        ("log_timezone", "UTC"),
        ("log_file_mode", "0600"),
        ("archive_mode", "on"),
        ("pgaudit.log", "ddl,role,write"),
        ("pgaudit.role", "auditor"),
        ("fsync", "on"),
        ("listen_addresses", "127.0.0.1"),
    ];
    for (name, value) in expected {
        assert_eq!(cluster.setting(name), value, "setting {name}");
    }
    assert!(cluster
        .setting("shared_preload_libraries")
        .contains("pgaudit"));
    assert_eq!(
        cluster.psql(
            "postgres",
            "SELECT source, sourcefile LIKE '%postgresql.conf' FROM pg_settings WHERE name = 'ssl'"
        ),
        "configuration file|t"
    );
    let config_problems = "SELECT (SELECT count(*) FROM pg_file_settings \
                           WHERE error IS NOT NULL OR NOT applied) \
                           + (SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL) \
                           + (SELECT count(*) FROM pg_settings WHERE pending_restart)";
    assert_eq!(cluster.psql("postgres", config_problems), "0");
    for db in ["postgres", CLINIC_DB] {
        let audit = "SELECT count(*) FROM pg_extension WHERE extname = 'pgaudit'";
        assert_eq!(cluster.psql(db, audit), "1", "pgaudit extension in {db}");
    }
    let archived: u64 = cluster
        .psql("postgres", "SELECT archived_count FROM pg_stat_archiver")
        .parse()
        .unwrap();
    assert!(archived >= 1);
    assert!(std::fs::read_dir(cluster.archive_dir()).unwrap().count() >= 1);

    let table = cluster.psql(
        CLINIC_DB,
        "SELECT relrowsecurity, relforcerowsecurity, pg_get_userbyid(relowner), \
         (SELECT count(*) FROM pg_policies WHERE tablename = 'patients') \
         FROM pg_class WHERE oid = 'public.patients'::regclass",
    );
    assert_eq!(table, format!("t|t|{PHI_OWNER_ROLE}|1"));
    assert_eq!(
        cluster.psql(
            CLINIC_DB,
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
             WHERE attrelid = 'public.patients'::regclass AND attname = 'ssn'"
        ),
        "bytea"
    );
    let app_row = cluster.psql(
        "postgres",
        &format!(
            "SELECT rolsuper, left(rolpassword, 13), rolvaliduntil IS NOT NULL, rolconnlimit \
             FROM pg_authid WHERE rolname = '{HARDENED_APP_ROLE}'"
        ),
    );
    assert_eq!(app_row, "f|SCRAM-SHA-256|t|20");
    let logs = cluster.read_server_logs();
    assert!(
        logs.contains("connection authorized"),
        "collector log: {logs}"
    );
    assert!(
        !logs.contains("fixture-key"),
        "the pgcrypto key leaked into the log"
    );
}

#[test]
fn hardened_cluster_accepts_only_verified_tls_logins() {
    let cluster = hardened();
    let app = cluster.app();
    let verified =
        cluster.conninfo_tcp(&app.user, &app.password, CLINIC_DB, &cluster.verify_full());
    let session = cluster
        .psql_with(
            &verified,
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        )
        .unwrap();
    assert!(session.starts_with("t|TLSv1."), "{session}");

    // RLS binds the app role: nothing visible without the clinic set, rows of one clinic with it.
    assert_eq!(
        cluster
            .psql_with(&verified, "SELECT count(*) FROM public.patients")
            .unwrap(),
        "0"
    );
    let scoped = "SET app.clinic_id = '1'; SELECT count(*) FROM public.patients";
    assert_eq!(cluster.psql_with(&verified, scoped).unwrap(), "2");

    let wrong_ca = format!(
        "sslmode=verify-full sslrootcert={}",
        cluster.wrong_ca_cert().display()
    );
    let with_wrong_ca = cluster.conninfo_tcp(&app.user, &app.password, CLINIC_DB, &wrong_ca);
    let error = cluster.psql_with(&with_wrong_ca, "SELECT 1").unwrap_err();
    assert!(error.contains("certificate verify failed"), "{error}");

    let other_name = format!(
        "host=not-in-the-cert.invalid hostaddr=127.0.0.1 port={} user={} password={} \
         dbname={CLINIC_DB} {}",
        cluster.port(),
        app.user,
        app.password,
        cluster.verify_full()
    );
    let error = cluster.psql_with(&other_name, "SELECT 1").unwrap_err();
    assert!(error.contains("does not match host name"), "{error}");

    let plaintext = cluster.conninfo_tcp(&app.user, &app.password, CLINIC_DB, "sslmode=disable");
    let error = cluster.psql_with(&plaintext, "SELECT 1").unwrap_err();
    assert!(error.contains("no encryption"), "{error}");

    let tls = cluster.tls();
    let client_cert = format!(
        "{} sslcert={} sslkey={}",
        cluster.verify_full(),
        tls.client_cert.display(),
        tls.client_key.display()
    );
    let by_certificate = cluster.conninfo_tcp(&tls.client_role, "", CLINIC_DB, &client_cert);
    assert_eq!(
        cluster
            .psql_with(&by_certificate, "SELECT current_user")
            .unwrap(),
        tls.client_role
    );
}

#[test]
fn scanner_role_reads_settings_but_not_secrets() {
    let cluster = hardened();
    let (user, password) = create_scanner(&cluster);
    let conninfo = cluster.conninfo_tcp(&user, &password, CLINIC_DB, &cluster.verify_full());
    assert_eq!(cluster.psql_with(&conninfo, "SHOW ssl").unwrap(), "on");
    assert_eq!(
        cluster.psql_with(&conninfo, "SHOW data_directory").unwrap(),
        cluster.data_dir().display().to_string()
    );
    assert_eq!(
        cluster
            .psql_with(
                &conninfo,
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            )
            .unwrap(),
        "f"
    );
    for forbidden in [
        "SELECT count(*) FROM pg_authid",
        "SELECT count(*) FROM pg_hba_file_rules",
    ] {
        let error = cluster.psql_with(&conninfo, forbidden).unwrap_err();
        assert!(error.contains("permission denied"), "{forbidden}: {error}");
    }
}

#[test]
fn builder_options_reload_and_restart() {
    let mut cluster = plain()
        .data_checksums(true)
        .conf("log_connections = on")
        .start();
    assert_eq!(cluster.setting("data_checksums"), "on");
    assert_eq!(cluster.setting("log_connections"), "on");
    assert_eq!(cluster.setting("ssl"), "off");

    cluster.append_conf(&["ssl = on", "log_timezone = 'UTC'"]);
    cluster.reload();
    assert_eq!(cluster.setting("ssl"), "on");
    assert_eq!(cluster.setting("log_timezone"), "UTC");

    let port = cluster.port();
    cluster.restart();
    assert_eq!(cluster.port(), port);
    assert_eq!(cluster.setting("ssl"), "on");

    cluster.set_hba(&["hostssl all all 127.0.0.1/32 scram-sha-256"]);
    let rules = cluster.psql(
        "postgres",
        "SELECT string_agg(type, ',' ORDER BY line_number) FROM pg_hba_file_rules",
    );
    assert_eq!(rules, "local,hostssl");

    cluster.stop();
    assert!(!cluster.is_running());
    assert!(cluster.try_psql("postgres", "SELECT 1").is_err());
    cluster.start();
    assert_eq!(cluster.psql("postgres", "SELECT 1"), "1");
}

#[test]
fn insecure_cluster_admits_the_scanner_over_plain_tcp() {
    let cluster = insecure();
    let (user, password) = create_scanner(&cluster);
    let conninfo = cluster.conninfo_tcp(&user, &password, CLINIC_DB, "sslmode=disable");
    assert_eq!(cluster.psql_with(&conninfo, "SHOW ssl").unwrap(), "off");
    let socket = cluster.conninfo_socket(&user, &password, CLINIC_DB, "");
    assert_eq!(
        cluster.psql_with(&socket, "SELECT current_user").unwrap(),
        user
    );
}

#[test]
fn drop_stops_the_server_and_removes_the_temp_dir() {
    let cluster = plain().start();
    let pid = cluster
        .postmaster_pid()
        .expect("postmaster.pid while running");
    let root = cluster.root_dir().to_path_buf();
    assert!(process_alive(pid));
    assert!(root.exists());
    drop(cluster);
    assert!(!process_alive(pid), "postmaster {pid} outlived its cluster");
    assert!(!root.exists(), "{} was not removed", root.display());
}

#[test]
fn a_panicking_test_still_cleans_up() {
    let seen: Mutex<Option<(u32, PathBuf)>> = Mutex::new(None);
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        let cluster: Cluster = plain().start();
        let pid = cluster.postmaster_pid().unwrap();
        *seen.lock().unwrap() = Some((pid, cluster.root_dir().to_path_buf()));
        panic!("deliberate panic while a cluster runs");
    }));
    assert!(outcome.is_err());
    let (pid, root) = seen
        .lock()
        .unwrap()
        .take()
        .expect("the cluster had started");
    assert!(!process_alive(pid), "postmaster {pid} survived the panic");
    assert!(!root.exists(), "{} survived the panic", root.display());
}

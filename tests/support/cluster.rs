//! One throwaway PostgreSQL cluster per test: initdb into a temp dir, a free loopback port, a
//! private unix socket directory, test certificates, chosen postgresql.conf lines and a chosen
//! pg_hba.conf. Dropping the [`Cluster`] stops the server and deletes everything, also while a
//! test panics.
//!
//! Owns processes and files of the cluster; knows no scenario (see `scenarios.rs`) and does
//! not import the crate under test, so a bug there cannot break the fixtures.
//!
//! How the harness itself logs in: the bootstrap superuser `postgres` gets a random password
//! at initdb, and psql reads it from a private passfile (PGPASSFILE, mode 0600) over the unix
//! socket. pg_hba.conf therefore starts with a `local ... postgres scram-sha-256` line unless
//! the scenario's own rules already let the superuser in (see
//! [`ClusterBuilder::harness_hba_line`]). No trust, peer or ident mapping is added for the
//! harness, so checks judge only what the scenario chose.

use std::collections::HashSet;
use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::certs::{PemPair, TestPki};
use super::host::{
    pg_binaries, pkglibdir_of, process_alive, server_major, server_user, INSTALL_HINT,
};
use super::pg_env::without_libpq_env;

/// The bootstrap superuser's name (initdb -U).
pub const SUPERUSER: &str = "postgres";

/// The role the prepared client certificate is issued to (CN).
pub const CLIENT_CERT_ROLE: &str = "clinic_cert";

/// The comment after which the harness appends its lines to postgresql.conf.
pub const CONF_MARKER: &str = "# --- pgsafeguard test harness ---";

const START_ATTEMPTS: usize = 5;
const WAIT_LIMIT: Duration = Duration::from_secs(30);

/// A role name and its password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

/// Client-side TLS files, readable by the test process (not inside the data directory).
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The CA that signed the server certificate (use as `sslrootcert`).
    pub ca_cert: PathBuf,
    /// An unrelated CA: `verify-ca`/`verify-full` with it must fail.
    pub wrong_ca_cert: PathBuf,
    /// The role named in the client certificate's CN ([`CLIENT_CERT_ROLE`]).
    pub client_role: String,
    pub client_cert: PathBuf,
    /// Mode 0600, as libpq demands.
    pub client_key: PathBuf,
}

/// How to build a cluster. Defaults: the binaries [`pg_binaries`] finds, no data checksums,
/// ssl off (certificate files are installed anyway), listen on 127.0.0.1, no extra conf
/// lines, and pg_hba.conf holding only the harness's own `local` line for the superuser.
#[derive(Clone, Debug)]
pub struct ClusterBuilder {
    bindir: Option<PathBuf>,
    data_checksums: bool,
    ssl: bool,
    pgaudit: bool,
    listen_addresses: String,
    preload: Vec<String>,
    conf_lines: Vec<String>,
    hba_lines: Vec<String>,
    harness_hba_line: Option<String>,
}

impl Default for ClusterBuilder {
    fn default() -> Self {
        ClusterBuilder {
            bindir: None,
            data_checksums: false,
            ssl: false,
            pgaudit: false,
            listen_addresses: "127.0.0.1".to_string(),
            preload: Vec::new(),
            conf_lines: Vec::new(),
            hba_lines: Vec::new(),
            harness_hba_line: Some(format!("local all {SUPERUSER} scram-sha-256")),
        }
    }
}

impl ClusterBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs initdb, pg_ctl and postgres from `dir` instead of the machine's default server,
    /// so tests in one binary can start clusters of different majors side by side. The
    /// harness keeps using the system's psql for its own SQL.
    pub fn bindir(mut self, dir: &Path) -> Self {
        self.bindir = Some(dir.to_path_buf());
        self
    }

    /// initdb `--data-checksums` (off: `--no-data-checksums` on 18+, where on is the default).
    pub fn data_checksums(mut self, on: bool) -> Self {
        self.data_checksums = on;
        self
    }

    /// Writes `ssl = on` (server.crt/server.key signed by the test CA are always installed).
    pub fn ssl(mut self, on: bool) -> Self {
        self.ssl = on;
        self
    }

    /// Preloads pgaudit and runs `CREATE EXTENSION pgaudit` in the `postgres` database.
    pub fn pgaudit(mut self, on: bool) -> Self {
        self.pgaudit = on;
        self
    }

    /// The `listen_addresses` value. Keep it on loopback: checks judge the text, not reach.
    pub fn listen_addresses(mut self, value: &str) -> Self {
        self.listen_addresses = value.to_string();
        self
    }

    /// Adds a library to `shared_preload_libraries` (pgaudit is added by [`Self::pgaudit`]).
    pub fn preload(mut self, library: &str) -> Self {
        self.preload.push(library.to_string());
        self
    }

    /// Appends one line to postgresql.conf, after the harness's own lines (so it wins).
    /// `@ROOT_DIR@`, `@DATA_DIR@`, `@ARCHIVE_DIR@`, `@LOG_DIR@` and `@SOCKET_DIR@` are
    /// replaced by the cluster's paths.
    pub fn conf(mut self, line: &str) -> Self {
        self.conf_lines.push(line.to_string());
        self
    }

    /// Appends one rule to pg_hba.conf, after the harness line.
    pub fn hba(mut self, line: &str) -> Self {
        self.hba_lines.push(line.to_string());
        self
    }

    /// Replaces the harness's first pg_hba.conf line (`local all postgres scram-sha-256`);
    /// `None` drops it, for scenarios whose own rules already admit the superuser on the
    /// socket with its password (or with trust).
    pub fn harness_hba_line(mut self, line: Option<&str>) -> Self {
        self.harness_hba_line = line.map(str::to_string);
        self
    }

    /// initdb, configure and start. Panics with the server log when anything fails; the
    /// half-built cluster is still cleaned up.
    pub fn start(self) -> Cluster {
        let mut cluster = Cluster::create(self);
        cluster.initdb();
        cluster.install_certificates();
        cluster.write_hba();
        cluster.start_on_free_port();
        if cluster.builder.pgaudit {
            cluster.psql("postgres", "CREATE EXTENSION IF NOT EXISTS pgaudit");
        }
        cluster
    }
}

/// A running (or stopped) throwaway cluster. See the module docs for how the harness logs in.
pub struct Cluster {
    root: Option<TempDir>,
    builder: ClusterBuilder,
    port: u16,
    base_conf: String,
    superuser_password: String,
    pki: TestPki,
    tls: TlsFiles,
    running: bool,
    /// The scenario's application login role, if it made one.
    pub app: Option<Credentials>,
}

impl Cluster {
    /// The same as [`ClusterBuilder::new`].
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::new()
    }

    // ----- facts tests need -----

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The temp dir holding everything below; gone after drop.
    pub fn root_dir(&self) -> &Path {
        self.root
            .as_ref()
            .map(TempDir::path)
            .expect("the cluster's temp dir exists until drop")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root_dir().join("data")
    }

    pub fn socket_dir(&self) -> PathBuf {
        self.root_dir().join("sock")
    }

    /// Where `archive_command` of the hardened scenario copies WAL.
    pub fn archive_dir(&self) -> PathBuf {
        self.root_dir().join("archive")
    }

    /// `log_directory` for scenarios with `logging_collector = on` (outside PGDATA).
    pub fn log_dir(&self) -> PathBuf {
        self.root_dir().join("log")
    }

    /// The `pg_ctl -l` file: everything the server logs before (or without) the collector.
    pub fn server_log_path(&self) -> PathBuf {
        self.root_dir().join("server.log")
    }

    /// Every server log line so far: the pg_ctl log, then the collector's files by name.
    pub fn read_server_logs(&self) -> String {
        let mut text = fs::read_to_string(self.server_log_path()).unwrap_or_default();
        let mut collector_files: Vec<PathBuf> = fs::read_dir(self.log_dir())
            .map(|dir| dir.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        collector_files.sort();
        for file in collector_files {
            text.push_str(&fs::read_to_string(file).unwrap_or_default());
        }
        text
    }

    pub fn superuser(&self) -> &str {
        SUPERUSER
    }

    /// The folder holding the initdb, pg_ctl and postgres this cluster runs.
    pub fn bindir(&self) -> PathBuf {
        self.builder
            .bindir
            .clone()
            .unwrap_or_else(|| pg_binaries().bindir.clone())
    }

    pub fn superuser_password(&self) -> &str {
        &self.superuser_password
    }

    /// The scenario's application role; panics for clusters that have none.
    pub fn app(&self) -> &Credentials {
        self.app
            .as_ref()
            .expect("this cluster's scenario made no application role")
    }

    pub fn tls(&self) -> &TlsFiles {
        &self.tls
    }

    pub fn ca_cert(&self) -> &Path {
        &self.tls.ca_cert
    }

    pub fn wrong_ca_cert(&self) -> &Path {
        &self.tls.wrong_ca_cert
    }

    /// The CAs used for this cluster, to issue more certificates (expired, other names).
    pub fn pki(&self) -> &TestPki {
        &self.pki
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    /// The postmaster's pid from `postmaster.pid`, while the server runs.
    pub fn postmaster_pid(&self) -> Option<u32> {
        let text = fs::read_to_string(self.data_dir().join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    // ----- connection strings -----

    /// `host=localhost port=… user=… [password=…] dbname=… extra` (empty password: omitted).
    pub fn conninfo_tcp(&self, user: &str, password: &str, db: &str, extra: &str) -> String {
        self.conninfo("localhost", user, password, db, extra)
    }

    /// Like [`Self::conninfo_tcp`] but over the cluster's unix socket directory.
    pub fn conninfo_socket(&self, user: &str, password: &str, db: &str, extra: &str) -> String {
        let socket_dir = self.socket_dir();
        self.conninfo(&socket_dir.to_string_lossy(), user, password, db, extra)
    }

    /// `sslmode=verify-full sslrootcert=<test CA>`, to pass as `extra`.
    pub fn verify_full(&self) -> String {
        format!(
            "sslmode=verify-full sslrootcert={}",
            conninfo_value(&self.tls.ca_cert.to_string_lossy())
        )
    }

    fn conninfo(&self, host: &str, user: &str, password: &str, db: &str, extra: &str) -> String {
        let mut parts = vec![
            format!("host={}", conninfo_value(host)),
            format!("port={}", self.port),
            format!("user={}", conninfo_value(user)),
        ];
        if !password.is_empty() {
            parts.push(format!("password={}", conninfo_value(password)));
        }
        parts.push(format!("dbname={}", conninfo_value(db)));
        if !extra.trim().is_empty() {
            parts.push(extra.trim().to_string());
        }
        parts.join(" ")
    }

    // ----- SQL -----

    /// Runs `sql` as the superuser in `db`; returns stdout (`-At`, trailing newline trimmed).
    /// Panics with psql's stderr on failure.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        self.try_psql(db, sql)
            .unwrap_or_else(|stderr| panic!("psql in {db} failed: {stderr}\nSQL: {sql}"))
    }

    /// Like [`Self::psql`] but returns psql's stderr as the error.
    pub fn try_psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let conninfo = self.superuser_conninfo(db);
        self.run_psql(&conninfo, &[sql], &self.root_dir().join("pgpass"))
    }

    /// Runs each statement on its own (autocommit, so `CREATE DATABASE` works) as the
    /// superuser in one session, with statement logging and auditing switched off for it so
    /// that fixture data (keys, password hashes) stays out of the server log.
    pub fn psql_unlogged(&self, db: &str, statements: &[&str]) -> String {
        let conninfo = self.superuser_conninfo(db);
        let mut all = vec!["SET log_statement = 'none'", "SET pgaudit.log = 'none'"];
        all.extend_from_slice(statements);
        self.run_psql(&conninfo, &all, &self.root_dir().join("pgpass"))
            .unwrap_or_else(|stderr| panic!("psql in {db} failed: {stderr}\nSQL: {statements:?}"))
    }

    /// Runs `sql` over any connection string (no passfile: put the password in it).
    pub fn psql_with(&self, conninfo: &str, sql: &str) -> Result<String, String> {
        self.run_psql(conninfo, &[sql], &self.root_dir().join("no-pgpass"))
    }

    /// The live value of a setting (`SHOW`).
    pub fn setting(&self, name: &str) -> String {
        self.psql("postgres", &format!("SELECT current_setting('{name}')"))
    }

    fn superuser_conninfo(&self, db: &str) -> String {
        self.conninfo_socket(SUPERUSER, "", db, "")
    }

    fn run_psql(
        &self,
        conninfo: &str,
        statements: &[&str],
        passfile: &Path,
    ) -> Result<String, String> {
        let mut psql = Command::new(&pg_binaries().psql);
        without_libpq_env(&mut psql);
        psql.env("PGPASSFILE", passfile)
            .env("PGCONNECT_TIMEOUT", "10")
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                conninfo,
            ]);
        for statement in statements {
            psql.arg("-c").arg(statement);
        }
        let output = psql
            .output()
            .unwrap_or_else(|err| panic!("could not run psql ({err}); install: {INSTALL_HINT}"));
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout)
                .trim_end_matches('\n')
                .to_string())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
        }
    }

    // ----- server control -----

    /// Starts a stopped cluster on its port.
    pub fn start(&mut self) {
        if let Err(log) = self.try_start() {
            panic!("the test cluster did not start:\n{log}");
        }
    }

    /// `pg_ctl stop -m fast`.
    pub fn stop(&mut self) {
        let data_dir = self.data_dir();
        let output = self.pg_ctl(
            &["stop", "-m", "fast", "-w", "-t", "60", "-s", "-D"],
            &data_dir,
        );
        self.running = false;
        if !output.status.success() {
            panic!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.start();
    }

    /// Re-reads postgresql.conf and pg_hba.conf, and waits until new sessions see it.
    pub fn reload(&self) {
        let loaded_before = self.psql("postgres", "SELECT pg_conf_load_time()");
        self.psql("postgres", "SELECT pg_reload_conf()");
        let deadline = Instant::now() + WAIT_LIMIT;
        while self.psql("postgres", "SELECT pg_conf_load_time()") == loaded_before {
            assert!(
                Instant::now() < deadline,
                "the server did not reload its configuration"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Appends lines to postgresql.conf (after the earlier ones, so they win). Does not
    /// reload or restart: call [`Self::reload`] or [`Self::restart`] as the setting needs.
    pub fn append_conf(&mut self, lines: &[&str]) {
        self.builder
            .conf_lines
            .extend(lines.iter().map(|line| line.to_string()));
        self.write_conf();
    }

    /// Replaces the scenario's pg_hba.conf rules (the harness line stays first) and reloads
    /// when the server runs.
    pub fn set_hba(&mut self, lines: &[&str]) {
        self.builder.hba_lines = lines.iter().map(|line| line.to_string()).collect();
        self.write_hba();
        if self.running {
            self.reload();
        }
    }

    /// The current pg_hba.conf text.
    pub fn hba_text(&self) -> String {
        fs::read_to_string(self.data_dir().join("pg_hba.conf")).expect("read pg_hba.conf")
    }

    /// Installs another server certificate (e.g. expired or for other names) and reloads
    /// when the server runs.
    pub fn install_server_cert(&self, pair: &PemPair) {
        self.write_server_file("server.crt", &pair.cert_pem, 0o644);
        self.write_server_file("server.key", &pair.key_pem, 0o600);
        if self.running {
            self.reload();
        }
    }

    /// Switches WAL and waits until the archiver reports a success (archiving scenarios).
    pub fn force_wal_archive(&self) {
        let archived = |cluster: &Cluster| -> u64 {
            let count = cluster.psql("postgres", "SELECT archived_count FROM pg_stat_archiver");
            count.parse().unwrap_or(0)
        };
        let before = archived(self);
        self.psql(
            "postgres",
            "CREATE TEMP TABLE harness_wal_nudge AS SELECT 1 AS x; SELECT pg_switch_wal()",
        );
        let deadline = Instant::now() + WAIT_LIMIT;
        while archived(self) <= before {
            assert!(
                Instant::now() < deadline,
                "WAL was not archived; pg_stat_archiver: {}",
                self.psql("postgres", "SELECT row_to_json(a) FROM pg_stat_archiver a")
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    // ----- building -----

    fn create(builder: ClusterBuilder) -> Cluster {
        let root = make_root_dir();
        let pki = TestPki::new();
        let tls_dir = root.path().join("tls");
        let tls = TlsFiles {
            ca_cert: tls_dir.join("ca.crt"),
            wrong_ca_cert: tls_dir.join("wrong-ca.crt"),
            client_role: CLIENT_CERT_ROLE.to_string(),
            client_cert: tls_dir.join("client.crt"),
            client_key: tls_dir.join("client.key"),
        };
        let cluster = Cluster {
            root: Some(root),
            builder,
            port: 0,
            base_conf: String::new(),
            superuser_password: random_password(),
            pki,
            tls,
            running: false,
            app: None,
        };
        for server_dir in ["sock", "archive", "log"] {
            cluster.make_server_dir(&cluster.root_dir().join(server_dir));
        }
        fs::create_dir(&tls_dir).expect("create the tls dir");
        write_private(
            &cluster.root_dir().join("pgpass"),
            &format!("*:*:*:{SUPERUSER}:{}\n", cluster.superuser_password),
        );
        cluster
    }

    fn initdb(&mut self) {
        let pwfile = self.root_dir().join("initdb-password");
        self.write_server_owned(&pwfile, &self.superuser_password, 0o600);
        let data_dir = self.data_dir();
        let mut initdb = self.server_command("initdb");
        initdb
            .arg("-D")
            .arg(&data_dir)
            .args(["-U", SUPERUSER, "--auth=scram-sha-256", "--no-sync"])
            .args(["--encoding=UTF8", "--locale=C"])
            .arg(format!("--pwfile={}", pwfile.display()));
        if self.builder.data_checksums {
            initdb.arg("--data-checksums");
        } else if server_major(&self.bindir()) >= 18 {
            initdb.arg("--no-data-checksums");
        }
        let output = run(&mut initdb);
        let _ = fs::remove_file(&pwfile);
        if !output.status.success() {
            panic!(
                "initdb failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        self.base_conf =
            fs::read_to_string(data_dir.join("postgresql.conf")).expect("read postgresql.conf");
    }

    fn install_certificates(&self) {
        let server = self.pki.server_cert();
        let ca_pem = self.pki.ca_pem();
        self.write_server_file("server.crt", &server.cert_pem, 0o644);
        self.write_server_file("server.key", &server.key_pem, 0o600);
        self.write_server_file("ca.crt", &ca_pem, 0o644);
        let client = self.pki.client_cert(CLIENT_CERT_ROLE);
        fs::write(&self.tls.ca_cert, &ca_pem).expect("write ca.crt");
        fs::write(&self.tls.wrong_ca_cert, self.pki.wrong_ca_pem()).expect("write wrong-ca.crt");
        fs::write(&self.tls.client_cert, &client.cert_pem).expect("write client.crt");
        write_private(&self.tls.client_key, &client.key_pem);
    }

    fn write_hba(&self) {
        let mut text = String::from("# pg_hba.conf written by the pgsafeguard test harness\n");
        for line in self.builder.harness_hba_line.iter() {
            text.push_str(line);
            text.push('\n');
        }
        for line in &self.builder.hba_lines {
            text.push_str(line);
            text.push('\n');
        }
        self.write_server_file("pg_hba.conf", &text, 0o600);
    }

    /// initdb's postgresql.conf, with its active lines for parameters the harness sets
    /// commented out (a superseded duplicate shows as "not applied" in pg_file_settings),
    /// then the harness block.
    fn write_conf(&self) {
        let mut ours: Vec<String> = self.harness_conf_lines();
        ours.extend(
            self.builder
                .conf_lines
                .iter()
                .map(|line| self.expand_placeholders(line)),
        );
        let overridden: HashSet<String> = ours.iter().filter_map(|l| conf_parameter(l)).collect();
        let mut text = String::new();
        for line in self.base_conf.lines() {
            if conf_parameter(line).is_some_and(|name| overridden.contains(&name)) {
                text.push_str("#(set below by the test harness) ");
            }
            text.push_str(line);
            text.push('\n');
        }
        text.push_str(CONF_MARKER);
        text.push('\n');
        for line in ours {
            text.push_str(&line);
            text.push('\n');
        }
        self.write_server_file("postgresql.conf", &text, 0o600);
    }

    /// Conf lines may name the cluster's own folders before they exist:
    /// `@ROOT_DIR@`, `@DATA_DIR@`, `@ARCHIVE_DIR@`, `@LOG_DIR@`, `@SOCKET_DIR@`.
    fn expand_placeholders(&self, line: &str) -> String {
        line.replace("@ROOT_DIR@", &self.root_dir().to_string_lossy())
            .replace("@DATA_DIR@", &self.data_dir().to_string_lossy())
            .replace("@ARCHIVE_DIR@", &self.archive_dir().to_string_lossy())
            .replace("@LOG_DIR@", &self.log_dir().to_string_lossy())
            .replace("@SOCKET_DIR@", &self.socket_dir().to_string_lossy())
    }

    fn harness_conf_lines(&self) -> Vec<String> {
        let builder = &self.builder;
        let mut lines = vec![
            format!("port = {}", self.port),
            format!("listen_addresses = '{}'", builder.listen_addresses),
            format!(
                "unix_socket_directories = '{}'",
                self.socket_dir().display()
            ),
        ];
        if builder.ssl {
            lines.push("ssl = on".to_string());
        }
        let mut preload = builder.preload.clone();
        if builder.pgaudit && !preload.iter().any(|lib| lib == "pgaudit") {
            preload.insert(0, "pgaudit".to_string());
        }
        if !preload.is_empty() {
            lines.push(format!(
                "shared_preload_libraries = '{}'",
                preload.join(",")
            ));
        }
        lines
    }

    fn start_on_free_port(&mut self) {
        if self.builder.pgaudit || self.builder.preload.iter().any(|lib| lib == "pgaudit") {
            require_pgaudit(&self.bindir());
        }
        let mut last_log = String::new();
        for _ in 0..START_ATTEMPTS {
            self.port = reserve_free_port();
            self.write_conf();
            match self.try_start() {
                Ok(()) => return,
                Err(log) if port_was_taken(&log) => last_log = log,
                Err(log) => panic!("the test cluster did not start:\n{log}"),
            }
        }
        panic!("no free port after {START_ATTEMPTS} attempts:\n{last_log}");
    }

    fn try_start(&mut self) -> Result<(), String> {
        let data_dir = self.data_dir();
        let log = self.server_log_path();
        let mut pg_ctl = self.server_command("pg_ctl");
        pg_ctl
            .args(["start", "-w", "-t", "60", "-s", "-D"])
            .arg(&data_dir)
            .arg("-l")
            .arg(&log);
        let output = run(&mut pg_ctl);
        if output.status.success() {
            self.running = true;
            return Ok(());
        }
        Err(format!(
            "{}{}\n--- server log ---\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            self.read_server_logs()
        ))
    }

    /// Immediate stop for Drop; falls back to SIGKILL so no server outlives its test.
    fn stop_for_good(&mut self) {
        let pid = self.postmaster_pid();
        if !self.running && !pid.is_some_and(process_alive) {
            return;
        }
        let data_dir = self.data_dir();
        let _ = self.pg_ctl(
            &["stop", "-m", "immediate", "-w", "-t", "30", "-s", "-D"],
            &data_dir,
        );
        if let Some(pid) = pid.filter(|pid| process_alive(*pid)) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .output();
        }
        self.running = false;
    }

    fn pg_ctl(&self, args: &[&str], data_dir: &Path) -> Output {
        let mut pg_ctl = self.server_command("pg_ctl");
        pg_ctl.args(args).arg(data_dir);
        run(&mut pg_ctl)
    }

    /// A command for a server program, run as the server's OS user, from the temp dir (the
    /// test's own working directory may be closed to that user).
    fn server_command(&self, program: &str) -> Command {
        let path = self.bindir().join(program);
        let mut command = match &server_user().run_as {
            Some(user) => {
                let mut runuser = Command::new("runuser");
                runuser.args(["-u", user, "--"]).arg(path);
                runuser
            }
            None => Command::new(path),
        };
        without_libpq_env(&mut command);
        command.current_dir(self.root_dir());
        command
    }

    fn make_server_dir(&self, dir: &Path) {
        fs::create_dir(dir).unwrap_or_else(|err| panic!("create {}: {err}", dir.display()));
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .unwrap_or_else(|err| panic!("chmod {}: {err}", dir.display()));
        give_to_server_user(dir);
    }

    fn write_server_file(&self, name: &str, contents: &str, mode: u32) {
        self.write_server_owned(&self.data_dir().join(name), contents, mode);
    }

    fn write_server_owned(&self, path: &Path, contents: &str, mode: u32) {
        fs::write(path, contents).unwrap_or_else(|err| panic!("write {}: {err}", path.display()));
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .unwrap_or_else(|err| panic!("chmod {}: {err}", path.display()));
        give_to_server_user(path);
    }

    fn dump_logs_for_failing_test(&self) {
        let logs = self.read_server_logs();
        let tail: Vec<&str> = logs.lines().rev().take(60).collect();
        eprintln!(
            "--- last server log lines of the test cluster on port {} ---",
            self.port
        );
        for line in tail.iter().rev() {
            eprintln!("{line}");
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.root.is_none() {
            return;
        }
        if thread::panicking() {
            self.dump_logs_for_failing_test();
        }
        self.stop_for_good();
        // TempDir's own drop removes the directory tree.
        self.root.take();
    }
}

/// A password with letters and digits (passes `passwordcheck`), from std's random hasher
/// seeds: fine for throwaway clusters, not for anything real.
pub fn random_password() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default(),
    );
    let high = hasher.finish();
    let low = RandomState::new().build_hasher().finish();
    format!("Pw{high:016x}{low:08x}9z")
}

/// Quotes a conninfo value when it needs it (libpq rules: single quotes, backslash escapes).
pub fn conninfo_value(value: &str) -> String {
    let plain = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c == '\'' || c == '\\' || c == '=');
    if plain {
        return value.to_string();
    }
    let escaped = value.replace('\\', "\\\\").replace('\'', "\\'");
    format!("'{escaped}'")
}

fn make_root_dir() -> TempDir {
    // As root the server user must traverse the parent, and socket paths must stay short
    // (107 bytes), so root uses /tmp; others honour TMPDIR when it is short.
    let base = if server_user().is_switched() {
        PathBuf::from("/tmp")
    } else {
        let tmp = std::env::temp_dir();
        if tmp.as_os_str().len() <= 60 {
            tmp
        } else {
            PathBuf::from("/tmp")
        }
    };
    let root = tempfile::Builder::new()
        .prefix("pgsg-")
        .tempdir_in(&base)
        .unwrap_or_else(|err| panic!("create a temp dir in {}: {err}", base.display()));
    give_to_server_user(root.path());
    root
}

fn give_to_server_user(path: &Path) {
    let user = server_user();
    if user.is_switched() {
        std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid))
            .unwrap_or_else(|err| panic!("chown {} to postgres: {err}", path.display()));
    }
}

/// Writes a file only the test process may read (mode 0600, owned by the test user).
fn write_private(path: &Path, contents: &str) {
    fs::write(path, contents).unwrap_or_else(|err| panic!("write {}: {err}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
        .unwrap_or_else(|err| panic!("chmod {}: {err}", path.display()));
}

/// A loopback port nobody listens on and this process has not handed out before.
fn reserve_free_port() -> u16 {
    static HANDED_OUT: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let handed_out = HANDED_OUT.get_or_init(|| Mutex::new(HashSet::new()));
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener
            .local_addr()
            .expect("a bound socket has an address")
            .port();
        let mut ports = handed_out
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if ports.insert(port) {
            return port;
        }
    }
}

/// The parameter an active postgresql.conf line sets (lowercase), or None for comments,
/// blank lines and include directives.
fn conf_parameter(line: &str) -> Option<String> {
    let line = line.trim_start();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name: String = line
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .collect();
    let is_include = matches!(
        name.as_str(),
        "include" | "include_if_exists" | "include_dir"
    );
    (!name.is_empty() && !is_include).then(|| name.to_ascii_lowercase())
}

fn port_was_taken(log: &str) -> bool {
    log.contains("could not bind") || log.contains("Address already in use")
}

fn require_pgaudit(bindir: &Path) {
    let Some(libdir) = pkglibdir_of(bindir) else {
        return;
    };
    if !libdir.join("pgaudit.so").is_file() {
        panic!(
            "pgaudit is not installed in {}; install it with `{INSTALL_HINT}`",
            libdir.display()
        );
    }
}

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|err| panic!("could not run {command:?}: {err}; install: {INSTALL_HINT}"))
}

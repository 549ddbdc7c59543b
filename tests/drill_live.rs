//! Live restore drills (issue 20), through the built `pgsafeguard drill`.
//!
//! One archiving cluster and one `pg_basebackup` serve every step of
//! [`drills_on_one_archiving_cluster`] (run in order: the steps share the
//! backup, the archive and a work folder): rows written after the backup are
//! found by a drill to the end of the archive and not by one to an earlier
//! target time; a segment removed from the middle of a copy of the archive,
//! and a flipped byte in another copy, fail the drill naming the file; the
//! production archive is byte-identical afterwards; SIGTERM mid-drill leaves
//! no process or folder; after SIGKILL the server dies with the app and the
//! next run removes the stale folder; bad input is one line and exit 2; a
//! recorded drill settles BAK-008 in a scan. The pgBackRest path has a
//! cluster of its own ([`pgbackrest_stanza_drill`]).

// Test code: a failed set-up step should panic with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};
use support::{server_user, without_libpq_env, Cluster, SUPERUSER};

const SEGMENT: u64 = 16 * 1024 * 1024;

/// A cluster that archives into its archive folder, with checksums, whose
/// superuser may log in and replicate over the socket without a password.
fn archiving(builder: support::ClusterBuilder) -> Cluster {
    builder
        .data_checksums(true)
        .harness_hba_line(Some("local all postgres trust"))
        .hba("local replication postgres trust")
        .start()
}

fn pgsafeguard(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgsafeguard"));
    cmd.args(args);
    without_libpq_env(&mut cmd);
    cmd
}

fn run(args: &[&str]) -> Output {
    pgsafeguard(args).output().expect("run pgsafeguard")
}

fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The row count the drill found for `clinic`'s `public.patients`.
fn patients_rows(record: &serde_json::Value) -> i64 {
    record["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "clinic")
        .and_then(|d| {
            d["phi_tables"]
                .as_array()?
                .iter()
                .find(|t| t["table"] == "patients")
        })
        .and_then(|t| t["rows"].as_i64())
        .unwrap_or_else(|| panic!("no patients count in {record:#}"))
}

/// SHA-256 of every file in a folder, by name.
fn hash_dir(dir: &Path) -> BTreeMap<String, String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let bytes = fs::read(e.path()).unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                hex::encode(Sha256::digest(bytes)),
            )
        })
        .collect()
}

/// A copy of the archive the server's OS user can read (as the real one).
fn copy_archive(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        fs::copy(entry.path(), &target).unwrap();
        give_away(&target);
    }
    give_away(to);
}

fn give_away(path: &Path) {
    let user = server_user();
    if user.is_switched() {
        std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid)).unwrap();
    }
}

/// The archived segments at or after the backup's start, in order.
fn segments_from(archive: &Path, start: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(archive)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.len() == 24 && n.as_str() >= start)
        .collect();
    names.sort();
    names
}

/// The drill folders under a work folder (`pgsafeguard-drill-<uid>/*`).
fn drill_folders(work: &Path) -> Vec<PathBuf> {
    fs::read_dir(work)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("pgsafeguard-drill-")
        })
        .flat_map(|base| fs::read_dir(base.path()).into_iter().flatten())
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect()
}

/// Live postgres processes working below `dir`.
fn postgres_under(dir: &Path) -> Vec<u32> {
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let exe = fs::read_link(format!("/proc/{pid}/exe")).ok();
            let cwd = fs::read_link(format!("/proc/{pid}/cwd")).ok();
            exe.is_some_and(|e| e.ends_with("postgres")) && cwd.is_some_and(|c| c.starts_with(dir))
        })
        .collect()
}

fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Until no finished segment waits for the archiver: the archive then stays
/// as it is (nothing switches segments while the tests run).
fn wait_until_archived(cluster: &Cluster) {
    wait_for("the archiver to catch up", Duration::from_secs(60), || {
        let ready = cluster.psql(
            "postgres",
            "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'",
        );
        (ready == "0").then_some(())
    });
}

/// What the shared steps work on.
struct Fixture {
    cluster: Cluster,
    backup: PathBuf,
    tar: PathBuf,
    archive: PathBuf,
    start_wal: String,
    /// After the backup, before the later rows (RFC 3339).
    target: String,
    /// Right after the backup, before any commit reached the archive.
    quiet_target: String,
    work: PathBuf,
    store: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let cluster = archiving(
            Cluster::builder()
                .conf("archive_mode = on")
                .conf("archive_command = 'test ! -f @ARCHIVE_DIR@/%f && cp %p @ARCHIVE_DIR@/%f'"),
        );
        cluster.psql("postgres", "CREATE DATABASE clinic");
        cluster.psql(
            "clinic",
            "CREATE TABLE patients (id int, patient_name text, ssn text); \
             INSERT INTO patients SELECT g, 'p' || g, 'x' FROM generate_series(1, 100) g",
        );
        let root = cluster.root_dir().to_path_buf();
        let backup = root.join("backup");
        let status = Command::new(cluster.bindir().join("pg_basebackup"))
            .arg("-h")
            .arg(cluster.socket_dir())
            .args(["-p", &cluster.port().to_string(), "-U", SUPERUSER])
            .arg("-D")
            .arg(&backup)
            .args(["-X", "stream", "-c", "fast", "--no-sync"])
            .stdin(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_basebackup failed");
        let quiet_target = cluster.psql(
            "postgres",
            "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
        );
        // One commit between the backup and the target time, so that a drill to the target
        // replays a transaction and can date its recovery point (a quiet database would
        // leave nothing to replay, and the RPO check rightly says it cannot date it).
        cluster.psql(
            "clinic",
            "CREATE TABLE drill_marker AS SELECT clock_timestamp() AS at",
        );
        let target = cluster.psql(
            "postgres",
            "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
        );
        cluster.psql(
            "clinic",
            "INSERT INTO patients SELECT g, 'p' || g, 'x' FROM generate_series(101, 150) g",
        );
        // A few full segments of WAL after the backup, for the gap and the flipped byte.
        cluster.psql(
            "clinic",
            "CREATE TABLE filler AS SELECT g, repeat('x', 400) AS pad FROM generate_series(1, 90000) g",
        );
        cluster.force_wal_archive();
        wait_until_archived(&cluster);
        let tar_dir = root.join("tar");
        fs::create_dir(&tar_dir).unwrap();
        let tar = tar_dir.join("base.tar.gz");
        let status = Command::new("tar")
            .arg("-czf")
            .arg(&tar)
            .arg("-C")
            .arg(&backup)
            .arg(".")
            .status()
            .unwrap();
        assert!(status.success());
        let label = fs::read_to_string(backup.join("backup_label")).unwrap();
        let start_wal = label
            .lines()
            .find_map(|l| l.split("(file ").nth(1))
            .unwrap()
            .trim_end_matches(')')
            .to_string();
        let work = root.join("work");
        fs::create_dir(&work).unwrap();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        Fixture {
            archive: cluster.archive_dir(),
            backup,
            tar,
            start_wal,
            target,
            quiet_target,
            store: root.join("evidence.sqlite"),
            work,
            cluster,
        }
    }

    fn drill(&self, source: &[&str], extra: &[&str]) -> Output {
        let mut args = vec!["drill"];
        args.extend_from_slice(source);
        args.extend_from_slice(&[
            "--work-dir",
            self.work.to_str().unwrap(),
            "--format",
            "json",
        ]);
        args.extend_from_slice(extra);
        run(&args)
    }

    fn source_dir_args(&self) -> Vec<&str> {
        vec![
            "--base-backup",
            self.backup.to_str().unwrap(),
            "--wal-archive",
            self.archive.to_str().unwrap(),
        ]
    }
}

#[test]
fn drills_on_one_archiving_cluster() {
    let f = Fixture::new();
    let archive_before = hash_dir(&f.archive);

    bad_input_is_one_line_and_exit_2(&f);
    sigkill_leaves_a_stale_folder_whose_server_died(&f);
    let stale = drill_folders(&f.work);
    latest_finds_the_later_rows_and_removes_the_stale_folder(&f);
    for folder in stale {
        assert!(
            !folder.exists(),
            "stale drill folder {} was not removed",
            folder.display()
        );
    }
    an_earlier_target_time_does_not_find_them(&f);
    a_target_before_any_archived_commit_holds(&f);
    a_target_after_the_archive_fails(&f);
    sigterm_mid_drill_leaves_nothing(&f);
    a_missing_segment_fails_naming_it(&f);
    a_flipped_byte_fails_naming_the_file(&f);
    a_recorded_drill_settles_bak_008(&f);

    assert_eq!(
        hash_dir(&f.archive),
        archive_before,
        "the production archive changed during the drills"
    );
    assert!(
        drill_folders(&f.work).is_empty(),
        "a drill folder was left behind"
    );
    assert!(
        postgres_under(&f.work).is_empty(),
        "a drill server was left running"
    );
}

fn bad_input_is_one_line_and_exit_2(f: &Fixture) {
    let one_line = |out: &Output, mention: &str| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}", describe(out));
        assert_eq!(stderr.lines().count(), 1, "{}", describe(out));
        assert!(stderr.contains(mention), "{}", describe(out));
        assert!(out.stdout.is_empty(), "{}", describe(out));
    };
    let no_label = f.work.join("no-label");
    fs::create_dir_all(&no_label).unwrap();
    fs::write(no_label.join("PG_VERSION"), "15\n").unwrap();
    let out = f.drill(
        &[
            "--base-backup",
            no_label.to_str().unwrap(),
            "--wal-archive",
            f.archive.to_str().unwrap(),
        ],
        &["--no-store"],
    );
    one_line(&out, "no backup_label");
    fs::remove_dir_all(&no_label).unwrap();
    let out = f.drill(
        &[
            "--base-backup",
            f.backup.to_str().unwrap(),
            "--wal-archive",
            "/nonexistent/archive",
        ],
        &["--no-store"],
    );
    one_line(&out, "/nonexistent/archive");
    let out = f.drill(
        &f.source_dir_args(),
        &["--target-time", "2001-01-01T00:00:00Z", "--no-store"],
    );
    one_line(&out, "before the backup started");
    let out = f.drill(
        &f.source_dir_args(),
        &["--target-time", "yesterday", "--no-store"],
    );
    one_line(&out, "RFC 3339");
}

fn sigkill_leaves_a_stale_folder_whose_server_died(f: &Fixture) {
    let mut args = vec!["drill"];
    let source = f.source_dir_args();
    args.extend_from_slice(&source);
    args.extend_from_slice(&["--work-dir", f.work.to_str().unwrap(), "--no-store"]);
    let mut child = pgsafeguard(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let postmaster = wait_for("the drill's server", Duration::from_secs(60), || {
        drill_folders(&f.work).iter().find_map(|folder| {
            let pid: u32 = fs::read_to_string(folder.join("data/postmaster.pid"))
                .ok()?
                .lines()
                .next()?
                .trim()
                .parse()
                .ok()?;
            Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
        })
    });
    child.kill().unwrap();
    child.wait().unwrap();
    wait_for(
        "the drill server to die with the app",
        Duration::from_secs(15),
        || (!Path::new(&format!("/proc/{postmaster}/exe")).exists()).then_some(()),
    );
    assert!(
        !drill_folders(&f.work).is_empty(),
        "the killed drill left no folder to clean"
    );
}

fn latest_finds_the_later_rows_and_removes_the_stale_folder(f: &Fixture) {
    let tar = f.tar.to_str().unwrap();
    let out = f.drill(
        &[
            "--base-backup",
            tar,
            "--wal-archive",
            f.archive.to_str().unwrap(),
        ],
        &["--latest", "--store", f.store.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let record = json_of(&out);
    assert_eq!(record["outcome"], "passed", "{record:#}");
    assert_eq!(patients_rows(&record), 150, "{record:#}");
    assert!(record["timings"]["rto_ms"].as_u64().unwrap() > 0);
    assert!(
        record["timings"]["checksums_ms"].is_u64(),
        "checksums are on: {record:#}"
    );
    let ids: Vec<&str> = record["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    for id in [
        "archive",
        "recovery",
        "replay_end",
        "recovery_log",
        "rpo",
        "databases",
        "data_checksums",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
}

fn an_earlier_target_time_does_not_find_them(f: &Fixture) {
    let out = f.drill(
        &f.source_dir_args(),
        &["--target-time", &f.target, "--no-store"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let record = json_of(&out);
    assert_eq!(patients_rows(&record), 100, "{record:#}");
    assert_eq!(record["rpo"]["reference_kind"], "target", "{record:#}");
}

/// Nothing committed between the backup and the target: nothing archived is missing, and
/// the drill says so rather than calling the recovery point undecidable.
fn a_target_before_any_archived_commit_holds(f: &Fixture) {
    let out = f.drill(
        &f.source_dir_args(),
        &["--target-time", &f.quiet_target, "--no-store"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let record = json_of(&out);
    assert_eq!(patients_rows(&record), 100, "{record:#}");
    let rpo = record["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "rpo")
        .unwrap();
    assert_eq!(rpo["outcome"], "holds", "{record:#}");
    assert!(
        rpo["detail"]
            .as_str()
            .unwrap()
            .contains("every archived transaction"),
        "{record:#}"
    );
}

fn a_target_after_the_archive_fails(f: &Fixture) {
    let out = f.drill(
        &f.source_dir_args(),
        &["--target-time", "2099-01-01T00:00:00Z", "--no-store"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let record = json_of(&out);
    assert!(
        record["failure"]
            .as_str()
            .unwrap()
            .contains("archive ends before the target time"),
        "{record:#}"
    );
}

fn sigterm_mid_drill_leaves_nothing(f: &Fixture) {
    let mut args = vec!["drill"];
    let source = f.source_dir_args();
    args.extend_from_slice(&source);
    args.extend_from_slice(&["--work-dir", f.work.to_str().unwrap(), "--no-store"]);
    let mut child = pgsafeguard(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the drill's folder", Duration::from_secs(60), || {
        (!drill_folders(&f.work).is_empty()).then_some(())
    });
    signal(&child, "TERM");
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(130), "stderr: {stderr}");
    assert!(stderr.contains("cancelled"), "{stderr}");
    assert!(
        drill_folders(&f.work).is_empty(),
        "SIGTERM left a drill folder"
    );
    assert!(
        postgres_under(&f.work).is_empty(),
        "SIGTERM left a drill server"
    );
}

fn a_missing_segment_fails_naming_it(f: &Fixture) {
    drill_over_spoiled_archive(f, "archive-with-gap", "missing", |copy, segments| {
        assert!(
            segments.len() >= 3,
            "too little WAL for a gap: {segments:?}"
        );
        let missing = segments[segments.len() / 2].clone();
        fs::remove_file(copy.join(&missing)).unwrap();
        missing
    });
}

fn a_flipped_byte_fails_naming_the_file(f: &Fixture) {
    drill_over_spoiled_archive(f, "archive-with-damage", "damaged", |copy, segments| {
        // A segment full of the filler table's records.
        let damaged = segments[segments.len() / 2].clone();
        let path = copy.join(&damaged);
        let mut bytes = fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, SEGMENT);
        let at = (SEGMENT / 2 + 1000) as usize;
        bytes[at] ^= 0xFF;
        fs::write(&path, bytes).unwrap();
        damaged
    });
}

/// Drills over a copy of the archive that `spoil` damages (given the copy and its segments
/// from the backup's start, it returns the file it spoiled): the drill fails (exit 1) and
/// its failure names that file with `word`.
fn drill_over_spoiled_archive(
    f: &Fixture,
    copy_name: &str,
    word: &str,
    spoil: impl FnOnce(&Path, &[String]) -> String,
) {
    let copy = f.work.join(copy_name);
    copy_archive(&f.archive, &copy);
    let segments = segments_from(&copy, &f.start_wal);
    let spoiled = spoil(&copy, &segments);
    let out = f.drill(
        &[
            "--base-backup",
            f.backup.to_str().unwrap(),
            "--wal-archive",
            copy.to_str().unwrap(),
        ],
        &["--no-store"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let failure = json_of(&out)["failure"].as_str().unwrap().to_string();
    assert!(
        failure.contains(spoiled.as_str()) && failure.contains(word),
        "{failure}"
    );
    fs::remove_dir_all(&copy).unwrap();
}

fn a_recorded_drill_settles_bak_008(f: &Fixture) {
    let conninfo =
        f.cluster
            .conninfo_socket(SUPERUSER, f.cluster.superuser_password(), "clinic", "");
    let out = run(&[
        "scan",
        &conninfo,
        "--format",
        "json",
        "--store",
        f.store.to_str().unwrap(),
    ]);
    let scan = json_of(&out);
    let bak = scan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "BAK-008")
        .unwrap();
    assert_eq!(bak["status"], "pass", "{bak:#}");
    assert_eq!(bak["proofs"][0]["probe"], "restore_drill", "{bak:#}");
}

#[test]
fn pgbackrest_stanza_drill() {
    let Some(program) = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("pgbackrest"))
        .find(|p| p.is_file())
    else {
        panic!("pgbackrest is not installed: tests/run-all.sh installs it (its packages array)");
    };
    let mut cluster = archiving(Cluster::builder());
    let root = cluster.root_dir().to_path_buf();
    fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
    let repo = root.join("pgbackrest");
    for dir in ["repo", "log", "lock"] {
        fs::create_dir_all(repo.join(dir)).unwrap();
        give_away(&repo.join(dir));
    }
    give_away(&repo);
    let config = repo.join("pgbackrest.conf");
    fs::write(
        &config,
        format!(
            "[global]\nrepo1-path={r}/repo\nlog-path={r}/log\nlock-path={r}/lock\nstart-fast=y\n\
             repo1-retention-full=1\n\n[drill]\npg1-path={data}\npg1-socket-path={sock}\n\
             pg1-port={port}\npg1-user={SUPERUSER}\n",
            r = repo.display(),
            data = cluster.data_dir().display(),
            sock = cluster.socket_dir().display(),
            port = cluster.port()
        ),
    )
    .unwrap();
    fs::set_permissions(&config, fs::Permissions::from_mode(0o644)).unwrap();
    let push = format!(
        "archive_command = '{} --config={} --stanza=drill archive-push %p'",
        program.display(),
        config.display()
    );
    cluster.append_conf(&["archive_mode = on", &push]);
    cluster.restart();
    let backrest = |args: &[&str]| {
        let mut cmd = if server_user().is_switched() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        cmd.arg(format!("--config={}", config.display()))
            .arg("--stanza=drill")
            .args(args);
        without_libpq_env(&mut cmd);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "pgbackrest {args:?}: {}",
            describe(&out)
        );
    };
    backrest(&["stanza-create"]);
    cluster.psql("postgres", "CREATE DATABASE clinic");
    cluster.psql(
        "clinic",
        "CREATE TABLE patients (id int, patient_name text); \
         INSERT INTO patients SELECT g, 'p' || g FROM generate_series(1, 10) g",
    );
    backrest(&["backup", "--type=full"]);
    cluster.psql(
        "clinic",
        "INSERT INTO patients SELECT g, 'p' || g FROM generate_series(11, 25) g",
    );
    cluster.force_wal_archive();
    wait_until_archived(&cluster);
    let work = root.join("work");
    fs::create_dir(&work).unwrap();
    let out = run(&[
        "drill",
        "--pgbackrest",
        "drill",
        "--pgbackrest-config",
        config.to_str().unwrap(),
        "--work-dir",
        work.to_str().unwrap(),
        "--format",
        "json",
        "--no-store",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let record = json_of(&out);
    assert_eq!(record["source"]["kind"], "pgbackrest", "{record:#}");
    assert_eq!(patients_rows(&record), 25, "{record:#}");
    assert!(drill_folders(&work).is_empty());
    // The stanza's own data directory was never the restore target.
    assert!(cluster.is_running());
}

/// The backup section's card, without a server: the form says what is
/// missing (the live drills above cover the back end the button runs).
#[test]
fn the_backup_section_offers_a_restore_drill() {
    use egui_kittest::kittest::Queryable;
    use pgsafeguard::model::finding::Section;
    use pgsafeguard::ui::app::App;
    use pgsafeguard::ui::drill_ui::{DRILL_CARD, START_DRILL};
    let mut harness = egui_kittest::Harness::builder()
        .with_size(eframe::egui::vec2(1280.0, 800.0))
        .build_eframe(|cc| App::from_snapshot(&cc.egui_ctx, Default::default()));
    harness.run();
    let button = eframe::egui::accesskit::Role::Button;
    harness
        .get_by_role_and_label(button, Section::Backup.title())
        .click();
    harness.run();
    harness.get_by_label(DRILL_CARD).click();
    harness.run();
    harness.get_by_role_and_label(button, START_DRILL).click();
    harness.run();
    let notice = harness.state().notice().map(|n| n.text.clone());
    assert!(
        notice.as_deref().is_some_and(|t| t.contains("base backup")),
        "{notice:?}"
    );
}

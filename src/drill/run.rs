//! One drill from start to removal: the order of the phases, their timing,
//! and the record they add up to.

use super::archive::{self, Walk};
use super::config::{self, RecoveryGoal, DRILL_PORT};
use super::inspect::{self, Inspection};
use super::restore::{self, make_dir, BackupForm};
use super::tools::{run_tool, Tool};
use super::wal::{BackupLabel, Lsn};
use super::{pgbackrest, Cancel, DrillError, DrillFrom, DrillGoal, DrillRequest, DrillStage};
use crate::db::conninfo::ConnParams;
use crate::demo::binaries::{PgBinaries, ServerUser};
use crate::demo::owner::{self, postmaster_of, DemoFolder};
use crate::demo::server::{ServerSpec, Supervisor};
use crate::model::conninfo::SslMode;
use crate::model::drill::{
    BackupFacts, DrillCheck, DrillOutcome, DrillRecord, DrillSource, DrillTarget, DrillTimings,
    RpoFigure, WalRange, DRILL_SCHEMA,
};
use crate::model::proof::Outcome;
use crate::model::untrusted;
use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// How long recovery may take before the drill gives up (the proposed
/// Security Rule update asks for a restore within 72 hours).
const RECOVERY_LIMIT: Duration = Duration::from_secs(72 * 3600);

/// Runs one drill; see the module docs of [`super`].
pub fn run(
    request: &DrillRequest,
    cancel: &Cancel,
    progress: &mut dyn FnMut(DrillStage),
) -> Result<DrillRecord, DrillError> {
    let clock = Instant::now();
    let started_at = now_rfc3339();
    let form = match &request.from {
        DrillFrom::BaseBackup {
            backup,
            wal_archive,
        } => {
            let form = BackupForm::classify(backup)?;
            if !wal_archive.is_dir() {
                return Err(DrillError::Input(format!(
                    "the WAL archive {} is not a folder",
                    wal_archive.display()
                )));
            }
            Some(form)
        }
        DrillFrom::Pgbackrest { .. } => None,
    };
    let backrest_program = match &request.from {
        DrillFrom::Pgbackrest { .. } => Some(pgbackrest::find_program()?),
        DrillFrom::BaseBackup { .. } => None,
    };
    let goal = goal_of(&request.goal);
    if let Some(work) = &request.work_dir {
        refuse_unsafe_work_dir(work, &request.from)?;
    }
    // A plain backup says its major before anything is copied.
    let early_major = match &form {
        Some(BackupForm::Dir(dir)) => Some(major_of(dir)?),
        _ => None,
    };
    let binaries = match early_major {
        Some(major) => request.discovery.find_major(major)?,
        None => request.discovery.find().unwrap_or(PgBinaries {
            bindir: PathBuf::new(),
        }),
    };
    let user = ServerUser::find()?;

    progress(DrillStage::CleaningUp);
    let parent = request
        .work_dir
        .clone()
        .unwrap_or_else(|| owner::temp_parent(&user));
    let base = owner::base_dir_in(&parent, "drill")?;
    owner::remove_stale(&base);
    let folder = owner::claim(&base, &user)?;
    let guard = FolderGuard {
        folder: folder.clone(),
        cancel: cancel.clone(),
    };
    cancel.watch(Some(folder.data.clone()));
    let mut spec = ServerSpec {
        binaries,
        user: user.clone(),
        folder,
        start_limit: RECOVERY_LIMIT,
    };
    let mut drill = Drill {
        request,
        cancel,
        clock,
        started_at,
        timings: DrillTimings::default(),
        checks: Vec::new(),
    };
    let record = drill.phases(&mut spec, form.as_ref(), backrest_program, &goal, progress);
    progress(DrillStage::Removing);
    let removing = Instant::now();
    drop(guard);
    // A cancelled drill's half-results (a server stopped under its checks)
    // are not a verdict.
    if cancel.is_cancelled() {
        return Err(DrillError::Cancelled);
    }
    let mut record = record?;
    record.timings.cleanup_ms = ms(removing.elapsed());
    record.finished_at = now_rfc3339();
    progress(DrillStage::Done);
    Ok(record)
}

/// Removes the throwaway folder however the drill ends (the server is
/// stopped before, by the phases or by dropping its supervisor).
struct FolderGuard {
    folder: DemoFolder,
    cancel: Cancel,
}

impl Drop for FolderGuard {
    fn drop(&mut self) {
        self.cancel.watch(None);
        if let Some(pid) = postmaster_of(&self.folder.data) {
            crate::demo::server::send_signal(pid, crate::demo::server::Signal::QUIT);
            owner::wait_until_gone(pid, Duration::from_secs(10));
        }
        let _ = fs::remove_dir_all(&self.folder.root);
    }
}

struct Drill<'a> {
    request: &'a DrillRequest,
    cancel: &'a Cancel,
    clock: Instant,
    started_at: String,
    timings: DrillTimings,
    checks: Vec<DrillCheck>,
}

/// What the copy's pg_control says.
struct Control {
    system_identifier: String,
    segment_size: u64,
    data_checksums: bool,
}

impl Drill<'_> {
    fn phases(
        &mut self,
        spec: &mut ServerSpec,
        form: Option<&BackupForm>,
        backrest_program: Option<PathBuf>,
        goal: &RecoveryGoal,
        progress: &mut dyn FnMut(DrillStage),
    ) -> Result<DrillRecord, DrillError> {
        progress(DrillStage::Restoring);
        let restoring = Instant::now();
        let wal_fetched = spec.folder.root.join("wal");
        let mut tar = Tool::at(spec, self.cancel, PathBuf::from("tar"));
        tar.as_self = true;
        let backrest = match (backrest_program, &self.request.from) {
            (Some(program), DrillFrom::Pgbackrest { stanza, config }) => Some(pgbackrest::Stanza {
                tool: Tool::at(spec, self.cancel, program),
                name: stanza.clone(),
                config: config.clone(),
            }),
            _ => None,
        };
        match (form, &backrest) {
            (Some(form), _) => restore::restore(form, &spec.folder, &spec.user, &tar, self.cancel)?,
            (None, Some(stanza)) => pgbackrest::restore(stanza, &spec.folder, &spec.user)?,
            _ => return Err(DrillError::Input("nothing to restore from".into())),
        }
        self.timings.restore_ms = ms(restoring.elapsed());

        let label_text =
            fs::read_to_string(spec.folder.data.join("backup_label")).map_err(|_| {
                DrillError::Input(
                    "the restored backup has no backup_label: it is not a base backup".into(),
                )
            })?;
        let label = BackupLabel::parse(&label_text).map_err(DrillError::Input)?;
        let major = major_of(&spec.folder.data)?;
        if spec.binaries.major() != Some(major) {
            spec.binaries = self.request.discovery.find_major(major)?;
        }
        let control = self.control(spec)?;
        if let DrillGoal::Time(at) = &self.request.goal {
            refuse_target_before_backup(*at, &label)?;
        }
        self.pass(
            "backup_label",
            "Backup label read",
            format!(
                "start WAL {} (file {}), timeline {}, started {}",
                label.start_lsn,
                label.start_wal_file,
                label.start_timeline,
                untrusted::name(&label.start_time)
            ),
        );
        self.pass(
            "major_version",
            "PostgreSQL major version matches",
            format!(
                "the backup is PostgreSQL {major}; restored with the server in {}",
                spec.binaries.bindir.display()
            ),
        );

        progress(DrillStage::WalkingArchive);
        let walking = Instant::now();
        let archive_dir = match (&self.request.from, &backrest) {
            (DrillFrom::BaseBackup { wal_archive, .. }, _) => wal_archive.clone(),
            (DrillFrom::Pgbackrest { .. }, Some(stanza)) => {
                make_dir(&wal_fetched, &spec.user)?;
                let newest = pgbackrest::newest_archived(stanza)?;
                pgbackrest::fetch_wal(stanza, &label, &newest, control.segment_size, &wal_fetched)?;
                wal_fetched.clone()
            }
            _ => return Err(DrillError::Input("nothing to restore from".into())),
        };
        let waldump = Tool::server(spec, self.cancel, "pg_waldump");
        let walked = archive::walk(&archive_dir, &label, control.segment_size, &waldump)?;
        self.timings.archive_walk_ms = ms(walking.elapsed());
        let mut facts = Facts {
            backup: BackupFacts {
                start_lsn: label.start_lsn.to_string(),
                start_wal_file: label.start_wal_file.clone(),
                start_timeline: label.start_timeline,
                start_time: label.start_time.clone(),
                label: label.label.clone(),
                system_identifier: control.system_identifier.clone(),
                major,
                data_checksums: control.data_checksums,
            },
            wal: WalRange::default(),
            rpo: None,
            replay_end: None,
            inspection: Inspection::default(),
        };
        let walk = match walked {
            Ok(walk) => walk,
            Err(fault) => {
                self.fail("archive", ARCHIVE_TITLE, fault.detail);
                return Ok(self.record(facts));
            }
        };
        facts.wal = wal_range(&walk, control.segment_size);
        self.pass(
            "archive",
            ARCHIVE_TITLE,
            format!(
                "{} segments from {} to {} on timeline{} {}; pg_waldump read every record; the \
                 last record starts at {}",
                walk.segments.len(),
                facts.wal.first,
                facts.wal.last,
                if walk.timelines.len() == 1 { "" } else { "s" },
                walk.timelines
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                walk.last_record
            ),
        );

        config::write(&spec.folder, &archive_dir, goal, &spec.user)?;
        progress(DrillStage::Recovering);
        let recovering = Instant::now();
        let server = self.start_watched(spec);
        self.timings.recovery_ms = ms(recovering.elapsed());
        let server = match server {
            Ok(server) => server,
            Err(DrillError::Cancelled) => return Err(DrillError::Cancelled),
            Err(_) => {
                let log = fs::read_to_string(&spec.folder.server_log).unwrap_or_default();
                self.fail(
                    "recovery",
                    RECOVERY_TITLE,
                    inspect::why_recovery_stopped(&log),
                );
                self.log_check(&log, &walk, control.segment_size);
                return Ok(self.record(facts));
            }
        };
        self.timings.rto_ms = ms(self.clock.elapsed());
        self.pass(
            "recovery",
            RECOVERY_TITLE,
            format!(
                "promoted and accepting connections {:.1} s after the drill started",
                self.timings.rto_ms as f64 / 1000.0
            ),
        );

        progress(DrillStage::Checking);
        let checking = Instant::now();
        let admin = self.admin(spec);
        let mut inspected = self.ask(inspect::state(&admin)).and_then(|state| state);
        let mut server = Some(server);
        let mut log = None;
        let mut checked_ms = 0;
        let mut counting = Instant::now();
        if control.data_checksums {
            // pg_checksums needs a cleanly stopped copy. Stopping before the row counts keeps
            // the shutdown checkpoint small: counting a freshly restored table dirties every
            // page it reads (hint bits), and the copy is then discarded without writing them.
            if let Some(running) = server.take() {
                running.stop();
            }
            log = Some(fs::read_to_string(&spec.folder.server_log).unwrap_or_default());
            checked_ms = ms(checking.elapsed());
            progress(DrillStage::Checksums);
            let summing = Instant::now();
            self.checksums(spec)?;
            self.timings.checksums_ms = Some(ms(summing.elapsed()));
            counting = Instant::now();
            if inspected.as_ref().is_ok_and(|f| !f.databases.is_empty()) {
                match self.start_watched(spec) {
                    Ok(again) => server = Some(again),
                    Err(DrillError::Cancelled) => return Err(DrillError::Cancelled),
                    Err(e) => {
                        inspected = Err(format!(
                            "cannot start the copy again to count the rows: {e}"
                        ))
                    }
                }
            }
        }
        if let (Ok(found), Some(_)) = (inspected.as_mut(), server.as_ref()) {
            if let Err(e) = self.ask(inspect::count(&admin, found)) {
                found.uncounted.push(e);
            }
        }
        if let Some(running) = server.take() {
            running.discard();
        }
        let log =
            log.unwrap_or_else(|| fs::read_to_string(&spec.folder.server_log).unwrap_or_default());
        match inspected {
            Ok(found) => {
                self.judge(&found, &walk, &log, &mut facts);
                facts.inspection = found;
            }
            Err(e) => self.undecided("databases", DATABASES_TITLE, e),
        }
        self.log_check(&log, &walk, control.segment_size);
        self.timings.checks_ms = checked_ms + ms(counting.elapsed());
        Ok(self.record(facts))
    }

    /// Starts the server; a watcher stops it when the drill is cancelled
    /// while recovery runs (the supervisor waits for "ready").
    fn start_watched(&self, spec: &ServerSpec) -> Result<Supervisor, DrillError> {
        let done = std::sync::atomic::AtomicBool::new(false);
        let started = thread::scope(|scope| {
            let watcher = thread::Builder::new()
                .name("pgsafeguard-drill-cancel".into())
                .spawn_scoped(scope, || {
                    while !done.load(std::sync::atomic::Ordering::SeqCst) {
                        if self.cancel.is_cancelled() {
                            self.cancel.cancel();
                            return;
                        }
                        thread::sleep(Duration::from_millis(50));
                    }
                });
            let started = Supervisor::spawn(spec.clone());
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            if let Ok(watcher) = watcher {
                let _ = watcher.join();
            }
            started
        });
        if self.cancel.is_cancelled() {
            if let Ok(server) = started {
                server.stop();
            }
            return Err(DrillError::Cancelled);
        }
        started.map_err(|e| DrillError::Folder(e.to_string()))
    }

    fn control(&self, spec: &ServerSpec) -> Result<Control, DrillError> {
        let tool = Tool::server(spec, self.cancel, "pg_controldata");
        let out = run_tool(&tool, &[spec.folder.data.as_os_str()])?;
        let field = |key: &str| {
            out.stdout
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim().to_string())
        };
        let system_identifier = field("Database system identifier:");
        let segment_size = field("Bytes per WAL segment:").and_then(|v| v.parse().ok());
        match (out.success, system_identifier, segment_size) {
            (true, Some(system_identifier), Some(segment_size)) => Ok(Control {
                system_identifier,
                segment_size,
                data_checksums: field("Data page checksum version:").is_some_and(|v| v != "0"),
            }),
            _ => Err(DrillError::Tool {
                program: "pg_controldata".into(),
                detail: untrusted::shown(out.stderr.trim(), 300),
            }),
        }
    }

    /// The superuser on the copy's private socket.
    fn admin(&self, spec: &ServerSpec) -> ConnParams {
        ConnParams {
            host: spec.folder.socket.to_string_lossy().into_owned(),
            hostaddr: None,
            port: DRILL_PORT,
            user: self.request.superuser.clone(),
            dbname: "postgres".into(),
            password: None,
            sslmode: SslMode::Disable,
            sslrootcert: None,
            sslcert: None,
            sslkey: None,
            application_name: Some("pgsafeguard-drill".into()),
            connect_timeout: Some(Duration::from_secs(10)),
            options: None,
        }
    }

    /// Runs one of the checks' queries to completion on a runtime of its own.
    fn ask<T>(&self, work: impl std::future::Future<Output = T>) -> Result<T, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime for the checks: {e}"))?;
        Ok(runtime.block_on(work))
    }

    /// Replay end, RPO and databases from what the server answered.
    fn judge(&mut self, found: &Inspection, walk: &Walk, log: &str, facts: &mut Facts) {
        facts.replay_end = found.replay_end;
        let request = self.request;
        match (&request.goal, found.replay_end) {
            (_, None) => self.undecided(
                "replay_end",
                REPLAY_TITLE,
                "the server did not say where replay ended".into(),
            ),
            (DrillGoal::Latest, Some(end)) if end > walk.last_record => self.pass(
                "replay_end",
                REPLAY_TITLE,
                format!(
                    "replay ended at {end}, past the archive's last record at {}",
                    walk.last_record
                ),
            ),
            (DrillGoal::Latest, Some(end)) => self.fail(
                "replay_end",
                REPLAY_TITLE,
                format!(
                    "replay ended at {end}, before the archive's last record at {} (in {}): \
                     the transactions after it were not restored",
                    walk.last_record,
                    super::wal::Segment {
                        timeline: walk.target_timeline,
                        segno: end.segno(walk.segment_size),
                    }
                    .file_name(walk.segment_size)
                ),
            ),
            (DrillGoal::Time(_), Some(end)) => {
                let stop = log.lines().find(|l| l.contains("recovery stopping"));
                match stop {
                    Some(line) => self.pass(
                        "replay_end",
                        REPLAY_TITLE,
                        format!(
                            "recovery stopped at the target time, replay ended at {end} \
                             (server log: {})",
                            untrusted::shown(line.trim(), 200)
                        ),
                    ),
                    None => self.undecided(
                        "replay_end",
                        REPLAY_TITLE,
                        format!("replay ended at {end}, but the log does not say it stopped at the target"),
                    ),
                }
            }
        }
        facts.rpo = self.rpo(found, walk);
        match &facts.rpo {
            Some(rpo) => self.pass(
                "rpo",
                "Achieved recovery point",
                format!(
                    "last replayed transaction at {}; {} s before the {} ({})",
                    rpo.last_replayed_xact, rpo.seconds, rpo.reference_kind, rpo.reference
                ),
            ),
            // Replay reached its end (the archive's last record, or the target) without
            // meeting a commit: no transaction was archived after the backup, so none is
            // missing, but there is no replayed commit to date the recovery point by.
            None if self.held("replay_end") => self.pass(
                "rpo",
                "Achieved recovery point",
                "no transaction committed in the archived WAL between the backup and the end of \
                 replay: the copy holds every archived transaction (no replayed commit dates \
                 the recovery point)"
                    .into(),
            ),
            None => self.undecided(
                "rpo",
                "Achieved recovery point",
                "no transaction was replayed from the archive, so the recovery point cannot be \
                 dated"
                    .into(),
            ),
        }
        let tables: usize = found.databases.iter().map(|d| d.phi_tables.len()).sum();
        let detail = format!(
            "{} database{} ({}); {tables} table{} that look like PHI counted",
            found.databases.len(),
            if found.databases.len() == 1 { "" } else { "s" },
            found
                .databases
                .iter()
                .map(|d| untrusted::name(&d.name))
                .collect::<Vec<_>>()
                .join(", "),
            if tables == 1 { "" } else { "s" }
        );
        if found.databases.is_empty() || !found.uncounted.is_empty() {
            let why = match found.uncounted.is_empty() {
                true => String::from("no database allows connections"),
                false => format!("could not count: {}", found.uncounted.join("; ")),
            };
            self.undecided("databases", DATABASES_TITLE, format!("{detail}; {why}"));
        } else {
            self.pass("databases", DATABASES_TITLE, detail);
        }
    }

    fn rpo(&self, found: &Inspection, walk: &Walk) -> Option<RpoFigure> {
        let last = found.last_xact.as_deref()?;
        let last_at = OffsetDateTime::parse(last, &Rfc3339).ok()?;
        let (reference, kind) = match &self.request.goal {
            DrillGoal::Time(at) => (*at, "target"),
            DrillGoal::Latest => (
                OffsetDateTime::from(walk.newest_archived_at),
                "newest archived WAL",
            ),
        };
        Some(RpoFigure {
            last_replayed_xact: last.to_string(),
            reference: reference.format(&Rfc3339).unwrap_or_default(),
            reference_kind: kind.into(),
            seconds: (reference - last_at).whole_seconds().max(0),
        })
    }

    fn log_check(&mut self, log: &str, walk: &Walk, segment_size: u64) {
        match inspect::first_damage(log, walk.last_record, walk.target_timeline, segment_size) {
            Some((file, line)) => self.fail(
                "recovery_log",
                LOG_TITLE,
                format!("WAL file {file} is damaged: the server logged {line}"),
            ),
            None => self.pass(
                "recovery_log",
                LOG_TITLE,
                "no damaged WAL record or data page reported by the drill server".into(),
            ),
        }
    }

    fn checksums(&mut self, spec: &ServerSpec) -> Result<(), DrillError> {
        let tool = Tool::server(spec, self.cancel, "pg_checksums");
        let data = spec.folder.data.as_os_str();
        let out = run_tool(&tool, &["--check".as_ref(), "-D".as_ref(), data])?;
        let bad = out
            .stderr
            .lines()
            .chain(out.stdout.lines())
            .find(|l| l.contains("checksum verification failed") || l.contains("error"));
        match (out.success, bad) {
            (true, _) => self.pass(
                "data_checksums",
                CHECKSUMS_TITLE,
                format!(
                    "pg_checksums --check on the stopped copy: {}",
                    out.stdout
                        .lines()
                        .find(|l| l.starts_with("Bad checksums"))
                        .map(str::trim)
                        .unwrap_or("no bad checksums")
                ),
            ),
            (false, line) => self.fail(
                "data_checksums",
                CHECKSUMS_TITLE,
                format!(
                    "pg_checksums found damage: {}",
                    untrusted::shown(line.unwrap_or(out.stderr.trim()).trim(), 300)
                ),
            ),
        }
        Ok(())
    }

    fn check(&mut self, id: &str, title: &str, outcome: Outcome, detail: String) {
        self.checks.push(DrillCheck {
            id: id.into(),
            title: title.into(),
            outcome,
            detail,
        });
    }

    /// Whether the check `id` was decided and holds.
    fn held(&self, id: &str) -> bool {
        self.checks
            .iter()
            .any(|c| c.id == id && c.outcome == Outcome::Holds)
    }

    fn pass(&mut self, id: &str, title: &str, detail: String) {
        self.check(id, title, Outcome::Holds, detail);
    }

    fn fail(&mut self, id: &str, title: &str, detail: String) {
        self.check(id, title, Outcome::Broken, detail);
    }

    fn undecided(&mut self, id: &str, title: &str, detail: String) {
        self.check(id, title, Outcome::Inconclusive, detail);
    }

    fn record(&mut self, facts: Facts) -> DrillRecord {
        let total = ms(self.clock.elapsed());
        let t = &mut self.timings;
        t.overhead_ms = total
            .saturating_sub(t.restore_ms)
            .saturating_sub(t.recovery_ms)
            .saturating_sub(t.checksums_ms.unwrap_or(0));
        let (source, target) = describe(self.request);
        let mut record = DrillRecord {
            schema: DRILL_SCHEMA.into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            started_at: self.started_at.clone(),
            finished_at: now_rfc3339(),
            by: who(),
            machine: machine(),
            source,
            target,
            backup: facts.backup,
            wal: facts.wal,
            timings: self.timings.clone(),
            rpo: facts.rpo,
            replay_end_lsn: facts.replay_end.map(|l| l.to_string()),
            databases: facts.inspection.databases,
            checks: std::mem::take(&mut self.checks),
            outcome: DrillOutcome::Inconclusive,
            failure: None,
        };
        record.conclude();
        record
    }
}

const ARCHIVE_TITLE: &str = "WAL archive complete and readable";
const RECOVERY_TITLE: &str = "Recovered to a queryable server";
const REPLAY_TITLE: &str = "Replay reached the end of the archive or the target";
const LOG_TITLE: &str = "No damage reported during recovery";
const DATABASES_TITLE: &str = "Databases and PHI tables present";
const CHECKSUMS_TITLE: &str = "Data page checksums verify";

struct Facts {
    backup: BackupFacts,
    wal: WalRange,
    rpo: Option<RpoFigure>,
    replay_end: Option<Lsn>,
    inspection: Inspection,
}

fn wal_range(walk: &Walk, segment_size: u64) -> WalRange {
    WalRange {
        first: walk.first_name(segment_size),
        last: walk.last_name(segment_size),
        segments: walk.segments.len() as u64,
        timelines: walk.timelines.clone(),
        last_record_lsn: walk.last_record.to_string(),
        newest_archived_at: OffsetDateTime::from(walk.newest_archived_at)
            .format(&Rfc3339)
            .unwrap_or_default(),
    }
}

fn goal_of(goal: &DrillGoal) -> RecoveryGoal {
    match goal {
        DrillGoal::Latest => RecoveryGoal::Latest,
        DrillGoal::Time(at) => RecoveryGoal::Time(postgres_time(*at)),
    }
}

/// `2026-12-07 10:00:00.123456+00` (UTC, as recovery_target_time reads it).
fn postgres_time(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    )
}

fn describe(request: &DrillRequest) -> (DrillSource, DrillTarget) {
    let source = match &request.from {
        DrillFrom::BaseBackup {
            backup,
            wal_archive,
        } => {
            let path = backup.display().to_string();
            let wal_archive = wal_archive.display().to_string();
            match backup.is_file() || !backup.join("backup_label").exists() {
                true => DrillSource::BaseBackupTar { path, wal_archive },
                false => DrillSource::BaseBackupDir { path, wal_archive },
            }
        }
        DrillFrom::Pgbackrest { stanza, .. } => DrillSource::Pgbackrest {
            stanza: stanza.clone(),
        },
    };
    let target = match &request.goal {
        DrillGoal::Latest => DrillTarget::Latest,
        DrillGoal::Time(at) => DrillTarget::Time {
            at: at.format(&Rfc3339).unwrap_or_default(),
        },
    };
    (source, target)
}

/// The major version in a data directory's PG_VERSION ("15", "9.6").
fn major_of(data: &Path) -> Result<u32, DrillError> {
    let text = fs::read_to_string(data.join("PG_VERSION")).map_err(|_| {
        DrillError::Input(format!(
            "{} has no PG_VERSION: it is not a PostgreSQL backup",
            data.display()
        ))
    })?;
    let major: u32 = text
        .trim()
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| DrillError::Input("the backup's PG_VERSION is not a version".into()))?;
    if major < 12 {
        return Err(DrillError::Input(format!(
            "the backup is PostgreSQL {major}: the drill restores PostgreSQL 12 and later \
             (recovery.signal)"
        )));
    }
    Ok(major)
}

/// A target before the backup started cannot be reached from it.
fn refuse_target_before_backup(at: OffsetDateTime, label: &BackupLabel) -> Result<(), DrillError> {
    let Some(started) = label_time(&label.start_time) else {
        return Ok(());
    };
    if at < started {
        return Err(DrillError::Input(format!(
            "the target time {} is before the backup started ({}): choose a later time or an \
             older backup",
            at.format(&Rfc3339).unwrap_or_default(),
            untrusted::name(&label.start_time)
        )));
    }
    Ok(())
}

/// `2026-12-07 23:50:01 UTC` → time; other zones are not guessed at.
fn label_time(text: &str) -> Option<OffsetDateTime> {
    let stamp = text
        .strip_suffix(" UTC")
        .or_else(|| text.strip_suffix(" GMT"))?;
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::PrimitiveDateTime::parse(stamp, &format)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

/// Refuses a work folder that would put the copy inside a cluster's data
/// directory (running or not), the backup, or the archive.
fn refuse_unsafe_work_dir(work: &Path, from: &DrillFrom) -> Result<(), DrillError> {
    let work = fs::canonicalize(work).map_err(|e| {
        DrillError::Input(format!(
            "the work folder {} cannot be used: {e}",
            work.display()
        ))
    })?;
    for dir in work.ancestors() {
        if dir.join("PG_VERSION").is_file() && dir.join("global").is_dir() {
            let running = postmaster_of(dir)
                .map(|pid| format!("a running cluster (postmaster {pid})"))
                .unwrap_or_else(|| String::from("a cluster"));
            return Err(DrillError::Input(format!(
                "the work folder {} is inside the data directory of {running} at {}: choose \
                 another --work-dir",
                work.display(),
                dir.display()
            )));
        }
    }
    if let DrillFrom::BaseBackup {
        backup,
        wal_archive,
    } = from
    {
        for source in [backup, wal_archive] {
            if let Ok(source) = fs::canonicalize(source) {
                if work.starts_with(&source) {
                    return Err(DrillError::Input(format!(
                        "the work folder {} is inside {}: the drill never writes there",
                        work.display(),
                        source.display()
                    )));
                }
            }
        }
    }
    Ok(())
}

fn ms(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn who() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| {
            format!(
                "uid {}",
                crate::demo::binaries::effective_uid().unwrap_or(u32::MAX)
            )
        })
}

fn machine() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| String::from("this machine"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_times_are_written_in_utc_for_postgres() {
        let at = OffsetDateTime::parse("2026-12-07T11:00:00.5+01:00", &Rfc3339).unwrap();
        assert_eq!(postgres_time(at), "2026-12-07 10:00:00.500000+00");
    }

    #[test]
    fn a_target_before_the_backup_is_refused() {
        let label = BackupLabel {
            start_lsn: Lsn(0),
            start_wal_file: String::new(),
            start_timeline: 1,
            start_time: "2026-12-07 10:00:00 UTC".into(),
            label: String::new(),
        };
        let before = OffsetDateTime::parse("2026-12-07T09:00:00Z", &Rfc3339).unwrap();
        let err = refuse_target_before_backup(before, &label).unwrap_err();
        assert!(
            err.to_string().contains("before the backup started"),
            "{err}"
        );
        let after = OffsetDateTime::parse("2026-12-07T11:00:00Z", &Rfc3339).unwrap();
        assert!(refuse_target_before_backup(after, &label).is_ok());
        assert_eq!(label_time("2026-12-07 10:00:00 CET"), None);
    }

    #[test]
    fn a_work_folder_inside_a_data_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("PG_VERSION"), "15\n").unwrap();
        fs::create_dir(dir.path().join("global")).unwrap();
        let inside = dir.path().join("base");
        fs::create_dir(&inside).unwrap();
        let from = DrillFrom::Pgbackrest {
            stanza: "s".into(),
            config: None,
        };
        let err = refuse_unsafe_work_dir(&inside, &from).unwrap_err();
        assert!(err.to_string().contains("data directory"), "{err}");
    }
}

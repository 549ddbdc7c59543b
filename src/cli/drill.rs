//! `pgsafeguard drill`: a restore drill from the command line, its record in
//! the evidence store, its signed PDF; and the hook that gives a scan the
//! newest recorded drill of its cluster as BAK-008's proof.
//!
//! Exit codes: 0 the drill passed; 1 it failed (a gap, a damaged file, the
//! target not reached, a check broken) or was inconclusive; 2 bad input or a
//! drill that could not run (one line on stderr, nothing recorded); 130
//! cancelled by Ctrl+C, SIGTERM or SIGHUP (the server and folder are gone).

use super::store::{warn, StoreArgs};
use super::{Format, LazyRuntime};
use crate::atomic_file::PendingFile;
use crate::drill::{self, Cancel, DrillError, DrillFrom, DrillGoal, DrillRequest, DrillStage};
use crate::model::drill::{DrillOutcome, DrillRecord};
use crate::model::proof::{Probe, ProbeRun};
use crate::model::snapshot::Snapshot;
use crate::model::untrusted;
use crate::report::drill::build_signed_drill_report_at;
use crate::store::EvidenceStore;
use anyhow::bail;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Exit code after Ctrl+C or a termination signal (128 + SIGINT).
const INTERRUPTED: u8 = 130;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "The drill copies the backup into a throwaway folder on this machine \
    (never writing the backup, the archive or a data directory), walks the WAL archive with \
    pg_waldump, recovers the copy on a private server reachable only through its own socket, \
    with archiving off, checks it and removes it. It needs the PostgreSQL server programs of \
    the backup's major version.\n\n\
    Exit codes: 0 the drill passed, 1 it failed or was inconclusive, 2 bad input or the drill \
    could not run, 130 cancelled."
)]
pub struct DrillArgs {
    /// The base backup: a pg_basebackup folder, or its base.tar (also .tar.gz, .lz4, .zst)
    #[arg(
        long,
        value_name = "DIR|TAR",
        requires = "wal_archive",
        conflicts_with = "pgbackrest"
    )]
    pub base_backup: Option<PathBuf>,
    /// The WAL archive folder (where archive_command copies segments)
    #[arg(long, value_name = "DIR", requires = "base_backup")]
    pub wal_archive: Option<PathBuf>,
    /// Restore the newest backup of this pgBackRest stanza instead
    #[arg(long, value_name = "STANZA")]
    pub pgbackrest: Option<String>,
    /// pgbackrest's configuration file (default: its own, /etc/pgbackrest.conf)
    #[arg(long, value_name = "FILE", requires = "pgbackrest")]
    pub pgbackrest_config: Option<PathBuf>,
    /// Recover up to this time (RFC 3339, e.g. 2026-12-07T10:00:00Z)
    #[arg(long, value_name = "TIME", conflicts_with = "latest")]
    pub target_time: Option<String>,
    /// Recover everything in the archive (the default)
    #[arg(long)]
    pub latest: bool,
    /// Folder to make the throwaway copy in (default: the temp folder)
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Role the checks connect as on the private server (trust over its socket)
    #[arg(long, value_name = "ROLE", default_value = "postgres")]
    pub superuser: String,
    /// Output format of the drill record
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write the signed drill PDF to FILE
    #[arg(long, value_name = "FILE")]
    pub pdf: Option<PathBuf>,
    /// Sign the PDF with this PKCS#12 identity (default: the app's own)
    #[arg(long, value_name = "FILE", requires = "pdf")]
    pub sign_with: Option<PathBuf>,
    /// Organisation named on the PDF's cover
    #[arg(long, value_name = "NAME")]
    pub organisation: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub(super) fn run_drill(args: DrillArgs, runtime: &LazyRuntime) -> anyhow::Result<ExitCode> {
    let from = match (&args.base_backup, &args.wal_archive, &args.pgbackrest) {
        (Some(backup), Some(wal_archive), None) => DrillFrom::BaseBackup {
            backup: backup.clone(),
            wal_archive: wal_archive.clone(),
        },
        (None, None, Some(stanza)) => DrillFrom::Pgbackrest {
            stanza: stanza.clone(),
            config: args.pgbackrest_config.clone(),
        },
        _ => bail!("give --base-backup with --wal-archive, or --pgbackrest STANZA"),
    };
    let goal = match &args.target_time {
        None => DrillGoal::Latest,
        Some(text) => DrillGoal::Time(OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
            anyhow::anyhow!(
                "--target-time {text:?} is not an RFC 3339 time (e.g. 2026-12-07T10:00:00Z)"
            )
        })?),
    };
    let pdf = args.pdf.as_deref().map(PendingFile::reserve).transpose()?;
    let mut store = args.store.open_for_recording()?;
    let mut request = DrillRequest::new(from, goal);
    request.work_dir = args.work_dir.clone();
    request.superuser = args.superuser.clone();

    let cancel = Cancel::new();
    let runtime = runtime.get()?;
    // Registered before the drill starts, so that no signal slips past.
    let signals = {
        let _inside = runtime.enter();
        Signals::register()
    };
    if let Some(signals) = signals {
        runtime.spawn(signals.cancel_on_first(cancel.clone()));
    }
    let show_progress = std::io::stderr().is_terminal();
    let outcome = drill::run(&request, &cancel, &mut |stage: DrillStage| {
        if show_progress {
            eprintln!("pgsafeguard: {}", stage.label());
        }
    });
    let record = match outcome {
        Ok(record) => record,
        Err(DrillError::Cancelled) => {
            eprintln!("pgsafeguard: {}", DrillError::Cancelled);
            return Ok(ExitCode::from(INTERRUPTED));
        }
        Err(e) => return Err(e.into()),
    };

    let mut notes = Vec::new();
    if let Some(store) = store.as_mut() {
        match store.record_drill(&record) {
            Ok(r) => notes.push(format!(
                "recorded in the evidence store {} as #{}",
                store.location(),
                r.seq
            )),
            Err(e) => warn(&format!(
                "the drill ran but could not be recorded in {}: {e}",
                store.location()
            )),
        }
    }
    if let Some(pending) = pdf {
        let (identity, created) = super::report::signing_identity(args.sign_with.as_deref())?;
        if let Some(path) = created {
            eprintln!(
                "pgsafeguard: created a signing identity at {path} (SHA-256 {})",
                identity.fingerprint_sha256()
            );
        }
        let at = OffsetDateTime::now_utc();
        let at = at.replace_nanosecond(0).unwrap_or(at);
        let bytes =
            build_signed_drill_report_at(&record, args.organisation.as_deref(), &identity, at)?;
        let path = args
            .pdf
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        pending.commit(&bytes)?;
        notes.push(format!(
            "wrote {path} ({} KB), signed by {} (SHA-256 {})",
            bytes.len().div_ceil(1024),
            untrusted::text(&identity.subject()),
            identity.fingerprint_sha256()
        ));
    }
    match args.format {
        Format::Json => super::emit(&(record_json(&record) + "\n")),
        Format::Text => super::emit(&record_text(&record, &notes)),
    }
    Ok(match record.outcome {
        DrillOutcome::Passed => ExitCode::SUCCESS,
        DrillOutcome::Failed | DrillOutcome::Inconclusive => ExitCode::from(1),
    })
}

/// Ctrl+C, SIGTERM and SIGHUP, listened for.
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Inside the runtime; None when a handler cannot be installed (the
    /// default action then ends the process, and the server dies with it).
    fn register() -> Option<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Some(Signals {
            interrupt: signal(SignalKind::interrupt()).ok()?,
            term: signal(SignalKind::terminate()).ok()?,
            hangup: signal(SignalKind::hangup()).ok()?,
        })
    }

    /// The first signal cancels the drill: its tools and server stop, and
    /// `run` removes the folder before it returns.
    async fn cancel_on_first(mut self, cancel: Cancel) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.term.recv() => {}
            _ = self.hangup.recv() => {}
        }
        cancel.cancel();
    }
}

fn record_json(record: &DrillRecord) -> String {
    untrusted::json_safe(serde_json::to_string_pretty(record).unwrap_or_default())
}

fn record_text(r: &DrillRecord, notes: &[String]) -> String {
    let t = &r.timings;
    let s = |ms: u64| format!("{:.1} s", ms as f64 / 1000.0);
    let mut out = format!("Restore drill: {}\n", r.outcome.id().to_uppercase());
    let mut line = |label: &str, value: String| {
        out.push_str(&format!("  {label:<15}{}\n", untrusted::text(&value)));
    };
    line("restored from", r.source.describe());
    line("target", r.target.describe());
    line(
        "backup",
        format!(
            "system {}, PostgreSQL {}, start WAL {} ({}), started {}",
            r.backup.system_identifier,
            r.backup.major,
            r.backup.start_lsn,
            r.backup.start_wal_file,
            r.backup.start_time
        ),
    );
    if !r.wal.first.is_empty() {
        line(
            "WAL",
            format!(
                "{} … {} ({} segments), last record at {}; replay ended at {}",
                r.wal.first,
                r.wal.last,
                r.wal.segments,
                r.wal.last_record_lsn,
                r.replay_end_lsn.as_deref().unwrap_or("unknown")
            ),
        );
    }
    line(
        "RTO",
        format!(
            "{} to a queryable server (restore {}, archive walk {}, recovery {}, checks {}{}, \
             cleanup {}; the drill's own overhead {})",
            s(t.rto_ms),
            s(t.restore_ms),
            s(t.archive_walk_ms),
            s(t.recovery_ms),
            s(t.checks_ms),
            t.checksums_ms
                .map(|c| format!(", pg_checksums {}", s(c)))
                .unwrap_or_default(),
            s(t.cleanup_ms),
            s(t.overhead_ms)
        ),
    );
    line(
        "RPO",
        r.rpo
            .as_ref()
            .map(|p| {
                format!(
                    "{} s before the {} (last replayed transaction {})",
                    p.seconds, p.reference_kind, p.last_replayed_xact
                )
            })
            .unwrap_or_else(|| String::from("unknown")),
    );
    out.push_str("  checks\n");
    for check in &r.checks {
        out.push_str(&format!(
            "    [{}] {}: {}\n",
            check.outcome,
            check.title,
            untrusted::text(&check.detail)
        ));
    }
    for db in &r.databases {
        out.push_str(&format!("  database {}\n", untrusted::name(&db.name)));
        for table in &db.phi_tables {
            out.push_str(&format!(
                "    {}.{}: {} rows\n",
                untrusted::name(&table.schema),
                untrusted::name(&table.table),
                table.rows
            ));
        }
    }
    for note in notes {
        out.push_str(&format!("  {}\n", untrusted::text(note)));
    }
    out
}

/// Gives a scan the newest recorded drill of its cluster (by system
/// identifier) as BAK-008's proof, judged at the scan's time. Nothing when
/// there is no store, no identifier or no drill; a store that cannot be
/// read warns and the scan goes on.
pub(super) fn attach_recorded_drill(store: &mut Option<EvidenceStore>, snapshot: &mut Snapshot) {
    let (Some(store), Some(system)) = (store.as_mut(), snapshot.target.system_identifier.clone())
    else {
        return;
    };
    let already = snapshot.probes.as_ref().is_some_and(|run| {
        run.proofs
            .iter()
            .any(|p| p.proof.probe == Probe::RestoreDrill)
    });
    if already {
        return;
    }
    let drill = match store.newest_drill(&system) {
        Ok(Some(drill)) => drill,
        Ok(None) => return,
        Err(e) => {
            warn(&format!(
                "the recorded restore drills could not be read: {e}"
            ));
            return;
        }
    };
    let proofs = drill.proofs(&snapshot.collected_at);
    let run = snapshot.probes.get_or_insert_with(|| ProbeRun {
        started_at: snapshot.collected_at.clone(),
        finished_at: snapshot.collected_at.clone(),
        ..ProbeRun::default()
    });
    run.proofs.extend(proofs);
}

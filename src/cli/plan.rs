//! `pgsafeguard plan`: one reviewed plan for every failing check (or a
//! section, or some ids), exported for a change ticket, applied step by step
//! through the guarded apply path, resumed after the restart, or rolled back.
//!
//! stdout carries the plan and the progress; the plan id is its first line.
//! Exit codes: 0 plan shown, finished, or waiting for the restart; 1 a step
//! failed or was refused (the plan stopped there and can be resumed or rolled
//! back); 2 bad input or error.

use super::store::StoreArgs;
use super::LazyRuntime;
use crate::apply::plan::{
    self, render, PlanFiles, PlanFormat, PlanRun, RunEnd, RunEvent, Selection,
};
use crate::apply::{Applier, ChangeLog, ChangeLogEntry};
use crate::atomic_file::PendingFile;
use crate::checks;
use crate::db::conninfo::ConnParams;
use crate::model::finding::Section;
use crate::model::plan::{HardeningPlan, PlanRecord};
use crate::model::untrusted;
use crate::policy::Policy;
use crate::store::EvidenceStore;
use anyhow::bail;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "The plan orders the fixes of every failing check (prerequisites \
    first), batches the settings that need a restart so that there is one, merges the edits \
    of each configuration file, and lists what it will not attempt and why. --apply runs it \
    step by step through the same guards as `fix`, verifying each step; when the restart is \
    due it stops and says so: restart the server, then --resume the plan id it printed.\n\n\
    Examples:\n  pgsafeguard plan 'host=db user=postgres dbname=clinic' --format md --output \
    change-ticket.md\n  pgsafeguard plan 'host=db user=postgres dbname=clinic' --section transit \
    --apply\n  pgsafeguard plan 'host=db user=postgres dbname=clinic' --resume PLAN_ID --yes\n  \
    pgsafeguard plan 'host=db user=postgres dbname=clinic' --rollback PLAN_ID --yes\n\n\
    Exit codes: 0 shown, finished or waiting for the restart, 1 a step failed (resume or roll \
    back), 2 error."
)]
pub struct PlanArgs {
    /// Connection string for applying (URI or key=value); PG* variables fill what it leaves out
    pub conninfo: Option<String>,
    /// Only this section's checks (safeguards, at_rest, transit, access, audit, backup)
    #[arg(long, value_name = "SECTION", conflicts_with = "ids")]
    pub section: Option<String>,
    /// Only these checks (comma-separated ids); their prerequisites are added
    #[arg(long, value_name = "ID,…", value_delimiter = ',')]
    pub ids: Vec<String>,
    /// text (default), sql (a script for review), md (a change ticket) or json
    #[arg(long, value_enum, default_value = "text")]
    pub format: PlanFormat,
    /// Write the plan to this file (whole or not at all) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Apply the plan now, step by step
    #[arg(long, conflicts_with_all = ["resume", "rollback"])]
    pub apply: bool,
    /// Apply without asking (also counts as typing the database name)
    #[arg(long)]
    pub yes: bool,
    /// Continue a plan (after the restart it stopped for, or a failure you fixed)
    #[arg(long, value_name = "PLAN_ID", conflicts_with = "rollback")]
    pub resume: Option<String>,
    /// Undo every change a plan made, newest first
    #[arg(long, value_name = "PLAN_ID")]
    pub rollback: Option<String>,
    /// Organisation policy (TOML), as for scan
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// The change log (JSON lines); plans are kept in a `plans` folder beside it
    #[arg(long, value_name = "FILE")]
    pub change_log: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub(super) fn run_plan(args: PlanArgs, runtime: &LazyRuntime) -> anyhow::Result<ExitCode> {
    let selection = selection(&args)?;
    let log = ChangeLog::at(
        args.change_log
            .clone()
            .unwrap_or_else(ChangeLog::default_path),
    );
    let files = PlanFiles::beside(log.path());
    let existing = match args.resume.as_deref().or(args.rollback.as_deref()) {
        Some(id) => Some(files.load(id)?),
        None => None,
    };
    let pending_output = match &args.output {
        Some(path) => Some(PendingFile::reserve(path)?),
        None => None,
    };
    let policy = match &args.policy {
        Some(p) => Policy::load(p)?,
        None => Policy::default(),
    };
    let params = ConnParams::from_conninfo(args.conninfo.as_deref().unwrap_or(""))?;
    let applier = Applier::new(params, policy);
    let mut store = if args.apply || existing.is_some() {
        args.store.open_for_recording()?
    } else {
        None
    };
    let rt = runtime.get()?;
    let (mut record, fresh) = match existing {
        Some(record) => (record, false),
        None => {
            let plan = rt.block_on(plan::prepare(&applier, &selection))?;
            (PlanRecord::new(plan, &crate::scan::now_rfc3339()), true)
        }
    };
    super::emit(&format!("plan {}\n", untrusted::name(&record.plan.id)));
    if fresh {
        let shown = render(&record.plan, args.format);
        match pending_output {
            Some(file) => {
                file.commit(shown.as_bytes())?;
                if let Some(path) = &args.output {
                    super::emit(&format!("wrote {}\n", path.display()));
                }
            }
            None => super::emit(&shown),
        }
        if !args.apply {
            return Ok(ExitCode::SUCCESS);
        }
        if record.plan.steps.is_empty() {
            super::emit("nothing to apply\n");
            return Ok(ExitCode::SUCCESS);
        }
        confirm(args.yes, &record.plan)?;
        files.save(&record)?;
    } else {
        confirm(args.yes, &record.plan)?;
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let end = rt.block_on(async {
        let watcher = {
            let cancel = Arc::clone(&cancel);
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    cancel.store(true, Ordering::SeqCst);
                }
            })
        };
        let mut events = |event: RunEvent<'_>| match event {
            RunEvent::Progress(line) => super::emit(&format!("{line}\n")),
            RunEvent::Entry(entry) => record_entry(&mut store, entry),
        };
        let mut run = PlanRun {
            applier: &applier,
            log: &log,
            files: &files,
            cancel: Some(&cancel),
            events: &mut events,
        };
        let end = if args.rollback.is_some() {
            run.rollback(&mut record).await
        } else {
            run.run(&mut record).await
        };
        watcher.abort();
        end
    })?;
    let id = untrusted::name(&record.plan.id);
    let place = format!("--change-log {}", log.path().display());
    Ok(match end {
        RunEnd::Finished if args.rollback.is_some() => {
            super::emit(&format!("plan {id}: every change it made is undone\n"));
            if record.plan.needs_restart() {
                super::emit("restart the server for restored restart settings to take effect\n");
            }
            ExitCode::SUCCESS
        }
        RunEnd::Finished => {
            super::emit(&format!("plan {id}: every step applied and verified\n"));
            ExitCode::SUCCESS
        }
        RunEnd::WaitingForRestart { pending } => {
            super::emit(&format!(
                "plan {id} stopped for the restart ({}): restart the server, then \
                 pgsafeguard plan CONNINFO --resume {id} {place}\n",
                pending.join(", ")
            ));
            ExitCode::SUCCESS
        }
        RunEnd::Stopped { reason } => {
            super::emit(&format!(
                "plan {id} stopped: {}\nto continue: pgsafeguard plan CONNINFO --resume {id} \
                 {place}\nto undo it: pgsafeguard plan CONNINFO --rollback {id} {place}\n",
                untrusted::one_line(&reason)
            ));
            ExitCode::from(1)
        }
    })
}

/// The selection from --section / --ids, refused before connecting when it
/// names a section or check that does not exist.
fn selection(args: &PlanArgs) -> anyhow::Result<Selection> {
    if let Some(name) = &args.section {
        return match Section::ALL.into_iter().find(|s| s.id() == name.as_str()) {
            Some(section) => Ok(Selection::Section(section)),
            None => bail!(
                "there is no section {}: use one of {}",
                untrusted::name(name),
                Section::ALL.map(Section::id).join(", ")
            ),
        };
    }
    if args.ids.is_empty() {
        return Ok(Selection::All);
    }
    let mut ids = Vec::new();
    for id in &args.ids {
        let id = id.trim();
        if checks::find(id).is_none() {
            bail!(
                "there is no check {}: run `pgsafeguard scan` to see the ids",
                untrusted::name(id)
            );
        }
        ids.push(id.to_string());
    }
    Ok(Selection::Ids(ids))
}

fn confirm(yes: bool, plan: &HardeningPlan) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "not confirmed: stdin is not a terminal, so nothing was applied; pass --yes to apply \
             without a question"
        );
    }
    let mut stderr = std::io::stderr();
    write!(
        stderr,
        "{}",
        untrusted::terminal(&format!(
            "Apply {} step(s) of plan {} to {}? Type the database name ({}) to confirm: ",
            plan.steps.len(),
            plan.id,
            plan.target.host,
            plan.target.dbname
        ))
    )?;
    stderr.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if line.trim() != plan.target.dbname {
        bail!("not confirmed: nothing was applied");
    }
    Ok(())
}

/// `fix --id X --with-prerequisites`: plan and apply the prerequisites of
/// X that are not in place (a plan of their own, with its id), before X
/// itself is previewed again.
pub(super) async fn apply_prerequisites(
    applier: &Applier,
    log: &ChangeLog,
    store: &mut Option<EvidenceStore>,
    ids: &[String],
    yes: bool,
) -> anyhow::Result<RunEnd> {
    let selection = Selection::Ids(ids.to_vec());
    let plan = plan::prepare(applier, &selection).await?;
    super::emit(&format!("plan {}\n", untrusted::name(&plan.id)));
    super::emit(&render(&plan, PlanFormat::Text));
    if plan.steps.is_empty() {
        bail!(
            "the prerequisites ({}) cannot be applied: see the skipped steps above",
            ids.join(", ")
        );
    }
    confirm(yes, &plan)?;
    let files = PlanFiles::beside(log.path());
    let mut record = PlanRecord::new(plan, &crate::scan::now_rfc3339());
    files.save(&record)?;
    let mut events = |event: RunEvent<'_>| match event {
        RunEvent::Progress(line) => super::emit(&format!("{line}\n")),
        RunEvent::Entry(entry) => record_entry(store, entry),
    };
    let mut run = PlanRun {
        applier,
        log,
        files: &files,
        cancel: None,
        events: &mut events,
    };
    Ok(run.run(&mut record).await?)
}

/// Record an entry in the evidence store; a store that cannot warns.
fn record_entry(store: &mut Option<EvidenceStore>, entry: &ChangeLogEntry) {
    if let Some(store) = store.as_mut() {
        if let Err(e) = store.record_fix(entry) {
            super::store::warn(&format!(
                "the change is in the change log but not in {}: {e}",
                store.location()
            ));
        }
    }
}

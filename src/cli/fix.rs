//! `pgsafeguard fix`: preview, apply, verify or roll back one check's fix
//! through the same API the GUI uses ([`crate::apply::Applier`]).
//!
//! stdout carries the preview and the result; questions go to stderr and
//! answers come from the terminal. Without a terminal nothing is applied
//! unless `--yes` says so (exit 2 otherwise). Exit codes: 0 applied (the
//! check passes, or waits for a restart) or nothing to do; 1 applied but the
//! check still fails; 2 error, refusal or failure on the server (then the
//! server was left as it was, unless the message says otherwise).

use super::store::StoreArgs;
use super::LazyRuntime;
use crate::apply::plan::RunEnd;
use crate::apply::{
    Action, Applier, ApplyError, ChangeLog, ChangeLogEntry, ConfigFileAction, Confirmation, Guard,
    Preview,
};
use crate::checks;
use crate::db::conninfo::ConnParams;
use crate::model::changelog::StatementOutcome;
use crate::model::finding::Status;
use crate::model::untrusted;
use crate::policy::Policy;
use crate::store::EvidenceStore;
use anyhow::bail;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(
    group(clap::ArgGroup::new("what").required(true).args(["id", "rollback", "verify", "list"])),
    after_help = "Connect with an administrator's credentials: fixes run on their own \
    session (ALTER SYSTEM outside a transaction, other statements in one transaction per \
    fix), are verified by a fresh scan, and are written to the change log before and after \
    each statement.\n\n\
    Examples:\n  pgsafeguard fix 'host=db user=postgres dbname=clinic' --id TLS-001 --dry-run\n  \
    pgsafeguard fix 'host=db user=postgres dbname=clinic' --id TLS-001 --yes\n  \
    pgsafeguard fix 'host=db user=postgres dbname=clinic' --rollback ENTRY_ID --yes\n  \
    pgsafeguard fix --list\n\n\
    Exit codes: 0 applied (passes, or pending restart) or nothing to do, 1 applied but the \
    check still fails, 2 error or refusal."
)]
pub struct FixArgs {
    /// Connection string for applying (URI or key=value); PG* variables fill what it leaves out
    pub conninfo: Option<String>,
    /// The check whose fix to preview and apply (e.g. TLS-001)
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// Undo a change-log entry (its id is printed when the fix is applied)
    #[arg(long, value_name = "ENTRY_ID")]
    pub rollback: Option<String>,
    /// Re-check a change-log entry, e.g. after the restart it waited for
    #[arg(long, value_name = "ENTRY_ID")]
    pub verify: Option<String>,
    /// List the change log's entries
    #[arg(long)]
    pub list: bool,
    /// Print the preview only; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Apply the fixes this one needs first (e.g. TLS-001 before TLS-004) as a plan, then this one
    #[arg(long, requires = "id")]
    pub with_prerequisites: bool,
    /// Apply without asking (also counts as typing the database name)
    #[arg(long)]
    pub yes: bool,
    /// Accept that an irreversible fix cannot be undone
    #[arg(long)]
    pub irreversible: bool,
    /// For config-file fixes: write the file here, keeping a backup copy beside it
    #[arg(long, conflicts_with = "config_file_saved")]
    pub write_config_file: bool,
    /// For config-file fixes: you saved the proposed lines yourself; validate and reload
    #[arg(long)]
    pub config_file_saved: bool,
    /// Organisation policy (TOML), as for scan
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// The change log (JSON lines); default: change-log.jsonl in pgSafeguard's data folder
    #[arg(long, value_name = "FILE")]
    pub change_log: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub(super) fn run_fix(args: FixArgs, runtime: &LazyRuntime) -> anyhow::Result<ExitCode> {
    let log = ChangeLog::at(
        args.change_log
            .clone()
            .unwrap_or_else(ChangeLog::default_path),
    );
    if args.list {
        return list(&log);
    }
    if let Some(id) = &args.id {
        if checks::find(id).is_none() {
            bail!("there is no check {id}: run `pgsafeguard scan` to see the ids");
        }
    }
    let policy = match &args.policy {
        Some(p) => Policy::load(p)?,
        None => Policy::default(),
    };
    let params = ConnParams::from_conninfo(args.conninfo.as_deref().unwrap_or(""))?;
    let applier = Applier::new(params, policy);
    let mut store = args.store.open_for_recording()?;
    runtime.get()?.block_on(async {
        if let Some(id) = &args.verify {
            let entry = log.find(id)?;
            let entry = record_outcome(&mut store, applier.verify(&entry, &log).await)?;
            super::emit(&entry.render_text());
            return Ok(result_code(&entry));
        }
        let preview = match (&args.id, &args.rollback) {
            (Some(id), _) => {
                let preview = applier.preview(id).await?;
                if !args.with_prerequisites || preview.needs_first.is_empty() {
                    preview
                } else if args.dry_run {
                    super::emit(&preview.render_text());
                    let plan = crate::apply::plan::prepare(
                        &applier,
                        &crate::apply::plan::Selection::Ids(preview.needs_first.clone()),
                    )
                    .await?;
                    super::emit(&crate::apply::plan::render(
                        &plan,
                        crate::apply::plan::PlanFormat::Text,
                    ));
                    return Ok(ExitCode::SUCCESS);
                } else {
                    let end = super::plan::apply_prerequisites(
                        &applier,
                        &log,
                        &mut store,
                        &preview.needs_first,
                        args.yes,
                    )
                    .await?;
                    match end {
                        RunEnd::Finished => applier.preview(id).await?,
                        RunEnd::WaitingForRestart { pending } => {
                            super::emit(&format!(
                                "the prerequisites wait for a server restart ({}): restart it, \
                                 then run this command again\n",
                                pending.join(", ")
                            ));
                            return Ok(ExitCode::SUCCESS);
                        }
                        RunEnd::Stopped { reason } => {
                            super::emit(&format!(
                                "the prerequisites stopped: {}\n",
                                untrusted::one_line(&reason)
                            ));
                            return Ok(ExitCode::from(1));
                        }
                    }
                }
            }
            (None, Some(entry_id)) => applier.preview_rollback(&log.find(entry_id)?).await?,
            (None, None) => bail!("give --id, --rollback, --verify or --list"),
        };
        super::emit(&preview.render_text());
        if preview
            .refusals
            .iter()
            .all(|r| r.guard == Guard::NothingToApply)
            && !preview.refusals.is_empty()
        {
            return Ok(ExitCode::SUCCESS);
        }
        if let Some(refusal) = preview.refusals.first() {
            bail!(
                "{} cannot be applied: {}",
                preview.check_id,
                refusal.message
            );
        }
        if args.dry_run {
            return Ok(ExitCode::SUCCESS);
        }
        let confirmation = confirm(&args, &preview)?;
        let entry = record_outcome(&mut store, applier.apply(&preview, &confirmation, &log).await)?;
        super::emit(&format!("\n{}", entry.render_text()));
        super::emit(&format!("change log: {}\n", log.path().display()));
        if entry.action == Action::Apply && !entry.rollback.is_empty() {
            super::emit(&format!(
                "to undo: pgsafeguard fix CONNINFO --rollback {} --change-log {}\n",
                entry.id,
                log.path().display()
            ));
        }
        let deferred = entry
            .statements
            .iter()
            .filter(|s| s.outcome == StatementOutcome::Deferred)
            .count();
        if deferred > 0 {
            // Those statements need what the restart loads (e.g. CREATE EXTENSION of a
            // preloaded library): previewing again after the restart runs them.
            super::emit(&format!(
                "after restarting the server, run this command again: {deferred} statement(s) \
                 wait for the restart\n"
            ));
        } else if !entry.pending_restart.is_empty() {
            super::emit(&format!(
                "after restarting the server: pgsafeguard fix CONNINFO --verify {} --change-log {}\n",
                entry.id,
                log.path().display()
            ));
        }
        Ok(result_code(&entry))
    })
}

/// Record the change-log entry of an apply, rollback or verify in the
/// evidence store, whether it succeeded or not (a refused or failed change is
/// evidence too); a store that cannot record it warns and changes nothing.
fn record_outcome(
    store: &mut Option<EvidenceStore>,
    outcome: Result<ChangeLogEntry, ApplyError>,
) -> Result<ChangeLogEntry, ApplyError> {
    let entry = match &outcome {
        Ok(entry) => Some(entry),
        Err(e) => e.entry(),
    };
    if let (Some(store), Some(entry)) = (store.as_mut(), entry) {
        if let Err(e) = store.record_fix(entry) {
            super::store::warn(&format!(
                "the change is in the change log but not in {}: {e}",
                store.location()
            ));
        }
    }
    outcome
}

fn list(log: &ChangeLog) -> anyhow::Result<ExitCode> {
    for entry in log.entries()? {
        super::emit(&format!("{}\n", entry.summary()));
    }
    Ok(ExitCode::SUCCESS)
}

/// 0 when the check passes or waits for a restart (or a rollback ran);
/// 1 when an applied fix left the check failing.
fn result_code(entry: &ChangeLogEntry) -> ExitCode {
    let still_failing = entry.action == Action::Apply
        && entry.pending_restart.is_empty()
        && entry
            .after
            .as_ref()
            .is_some_and(|a| a.status == Status::Fail);
    if still_failing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The confirmation from the flags, or asked on the terminal.
fn confirm(args: &FixArgs, preview: &Preview) -> anyhow::Result<Confirmation> {
    let config_action = if args.write_config_file {
        ConfigFileAction::WriteWithBackup
    } else if args.config_file_saved {
        ConfigFileAction::SavedByDba
    } else {
        ConfigFileAction::NotChosen
    };
    if args.yes {
        if preview.irreversible && !args.irreversible {
            bail!(
                "{} is irreversible: add --irreversible to accept that it cannot be undone",
                preview.check_id
            );
        }
        if preview.config_file.is_some()
            && preview.action == Action::Apply
            && config_action == ConfigFileAction::NotChosen
        {
            bail!(
                "{} edits a configuration file: add --write-config-file (pgSafeguard writes it, \
                 keeping a backup) or --config-file-saved (you saved the lines yourself)",
                preview.check_id
            );
        }
        let mut confirmation = Confirmation::yes()
            .typing_database(&preview.database)
            .config_file(config_action);
        confirmation.irreversible = args.irreversible;
        return Ok(confirmation);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "not confirmed: stdin is not a terminal, so nothing was applied; pass --yes to apply \
             without a question (or --dry-run to only preview)"
        );
    }
    ask(preview, config_action)
}

fn ask(preview: &Preview, mut config_action: ConfigFileAction) -> anyhow::Result<Confirmation> {
    let mut confirmation = Confirmation::default();
    if preview.irreversible {
        let answer = prompt("This fix cannot be undone. Type IRREVERSIBLE to accept: ")?;
        if answer != "IRREVERSIBLE" {
            bail!("not confirmed: nothing was applied");
        }
        confirmation.irreversible = true;
    }
    if preview.config_file.is_some()
        && preview.action == Action::Apply
        && config_action == ConfigFileAction::NotChosen
    {
        let answer = prompt(
            "Write the file now, keeping a backup copy (w), or did you save it yourself (s)? [w/s/N] ",
        )?;
        config_action = match answer.to_lowercase().as_str() {
            "w" => ConfigFileAction::WriteWithBackup,
            "s" => ConfigFileAction::SavedByDba,
            _ => bail!("not confirmed: nothing was applied"),
        };
    }
    confirmation.config_file = config_action;
    if preview.needs_typed_database() {
        let answer = prompt(&format!(
            "High impact. Type the database name ({}) to confirm: ",
            untrusted::name(&preview.database)
        ))?;
        confirmation.typed_database = Some(answer);
    } else {
        let answer = prompt("Apply these statements? [y/N] ")?;
        if !matches!(answer.to_lowercase().as_str(), "y" | "yes") {
            bail!("not confirmed: nothing was applied");
        }
    }
    confirmation.confirmed = true;
    Ok(confirmation)
}

fn prompt(question: &str) -> anyhow::Result<String> {
    let mut stderr = std::io::stderr();
    write!(stderr, "{}", untrusted::terminal(question))?;
    stderr.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

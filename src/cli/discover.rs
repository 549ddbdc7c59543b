//! `pgsafeguard discover` (the PHI map of one database) and `pgsafeguard
//! phi confirm|reject|forget` (a person's decisions about its columns,
//! written into the policy file through [`crate::policy::writer`]).
//!
//! Discovery connects read-only, reads names, comments and types, samples
//! within the budget (`db::discover`: values are validated in memory, only
//! counts come back) and prints the map as text or JSON
//! (`pgsafeguard.phi_map/1`). Deciding is offline: no server is needed to
//! confirm or reject a column. Like the rest of `cli`, may import every room.

use super::{Format, LazyRuntime};
use crate::atomic_file::write_atomically;
use crate::db::conninfo::ConnParams;
use crate::db::{connect, discover};
use crate::model::phi_categories::Category;
use crate::model::phi_map::{build, Budget, PhiMap};
use crate::model::untrusted;
use crate::policy::phi::{split_column_key, Decision, PhiDecision};
use crate::policy::{writer, Policy};
use crate::scan::now_rfc3339;
use anyhow::{bail, Context};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "No sampled value is ever shown, logged or stored: values are \
    checked in memory by the validators (SSN, NPI, DEA, MBI, ICD-10-CM, date of birth, \
    phone, e-mail, ZIP and the policy's phi_patterns) and only the counts are kept. A table \
    the role may not read is listed as unknown with the GRANT that would allow it.\n\n\
    Examples:\n  pgsafeguard discover 'host=db1 dbname=clinic user=auditor'\n  \
    pgsafeguard discover 'dbname=clinic' --no-sample --format json --output phi-map.json\n  \
    pgsafeguard phi confirm clinic.public.patients.ss_num --category ssn --policy policy.toml --by 'Pat Lee'\n\n\
    Exit codes: 0 map written, 2 bad input or no connection."
)]
pub struct DiscoverArgs {
    /// libpq connection string or URI of the database to map
    pub conninfo: String,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the map to this file instead of standard output
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The policy file: its decisions are shown, its phi_patterns used
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Most rows sampled per table
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub rows_per_table: u32,
    /// Most rows sampled in all
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_rows: u64,
    /// Time budget per table's sample, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub table_ms: u64,
    /// Names, comments and types only: read no table contents
    #[arg(long)]
    pub no_sample: bool,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "COLUMN is database.schema.table.column, as discover lists it. \
    Precedence: a column decision beats phi_tables / not_phi_tables, which beat the name \
    rule. Confirmed columns count as PHI in every PHI check (EAR-004 by the category's tier); \
    rejected ones do not.\n\n\
    Exit codes: 0 written, 2 bad input or the file could not be edited (it is left as it was)."
)]
pub struct PhiArgs {
    #[command(subcommand)]
    pub action: PhiAction,
}

#[derive(Debug, clap::Subcommand)]
pub enum PhiAction {
    /// Confirm columns as PHI
    Confirm(DecideArgs),
    /// Reject columns as not PHI
    Reject(DecideArgs),
    /// Forget the decisions about columns (they are candidates again)
    Forget(ForgetArgs),
}

#[derive(Debug, clap::Args)]
pub struct DecideArgs {
    /// database.schema.table.column
    #[arg(required = true, value_name = "COLUMN")]
    pub columns: Vec<String>,
    /// The policy file (TOML) to edit
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// Who decided
    #[arg(long, value_name = "NAME")]
    pub by: String,
    /// The category (ssn, mrn, health_plan_id, birth_date, diagnosis …)
    #[arg(long, value_name = "CATEGORY")]
    pub category: Option<String>,
    /// Why
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ForgetArgs {
    #[arg(required = true, value_name = "COLUMN")]
    pub columns: Vec<String>,
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
}

pub(super) fn run_discover(args: DiscoverArgs, runtime: &LazyRuntime) -> anyhow::Result<ExitCode> {
    if args.rows_per_table == 0 || args.table_ms == 0 {
        bail!("--rows-per-table and --table-ms must be at least 1");
    }
    let policy = match &args.policy {
        Some(path) => Policy::load(path)?,
        None => Policy::default(),
    };
    let params = ConnParams::from_conninfo(&args.conninfo)?;
    let budget = Budget {
        rows_per_table: args.rows_per_table,
        max_rows: args.max_rows,
        table_ms: args.table_ms,
        sample: !args.no_sample,
    };
    let custom = policy.custom_patterns();
    let today = time::OffsetDateTime::now_utc().date();
    let seen = runtime.get()?.block_on(async {
        let session =
            connect::connect_with(&params, &[("default_transaction_read_only", "on")]).await?;
        let seen = discover::discover(&session.client, budget, &custom, today).await;
        session.close().await;
        anyhow::Ok(seen?)
    })?;
    let map = build(&seen, budget, |key| {
        let [d, s, t, c] = split_column_key(key).ok()?;
        policy
            .phi_decision_in(d, s, t, c)
            .map(|d| d.decision.as_str().to_string())
    });
    let text = match args.format {
        Format::Json => {
            let mut json = serde_json::to_string_pretty(&map)?;
            json.push('\n');
            json
        }
        Format::Text => render_text(&map),
    };
    match &args.output {
        Some(path) => write_atomically(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => super::emit(&text),
    }
    Ok(ExitCode::SUCCESS)
}

fn render_text(map: &PhiMap) -> String {
    let mut out = String::new();
    let b = map.budget;
    let _ = writeln!(
        out,
        "PHI map of database {}",
        untrusted::name(&map.database)
    );
    if b.sample {
        let _ = writeln!(
            out,
            "Sampled up to {} rows per table, {} in all, {} ms per table: {} rows read. \
             Values were checked in memory; none is shown or kept.",
            b.rows_per_table, b.max_rows, b.table_ms, map.rows_read
        );
    } else {
        let _ = writeln!(out, "Names, comments and types only (--no-sample).");
    }
    let _ = writeln!(
        out,
        "{} tables and {} columns seen; {} candidate columns.\n",
        map.tables_seen,
        map.columns_seen,
        map.candidates.len()
    );
    for c in &map.candidates {
        let mut reasons = Vec::new();
        if c.reasons.name {
            reasons.push("name".to_string());
        }
        if c.reasons.comment {
            reasons.push("comment".to_string());
        }
        if c.reasons.context {
            reasons.push("patient context".to_string());
        }
        let t = &c.reasons.validator_hits;
        for (kind, n) in &t.hits {
            reasons.push(format!("{} {n}/{}", kind.as_str(), t.values));
        }
        for (name, n) in &t.custom {
            reasons.push(format!(
                "pattern {} {n}/{}",
                untrusted::name(name),
                t.values
            ));
        }
        if !c.json_keys.is_empty() {
            reasons.push(format!("json keys: {}", c.json_keys.join(", ")));
        }
        let _ = writeln!(
            out,
            "  {:<6} {:<15} {:<17} {}  [{}]{}",
            c.confidence.as_str(),
            c.category.as_str(),
            c.tier.as_str(),
            untrusted::name(&c.column),
            reasons.join("; "),
            c.decision
                .as_deref()
                .map(|d| format!("  ({d})"))
                .unwrap_or_default()
        );
    }
    if !map.unknown.is_empty() {
        let _ = writeln!(out, "\nUnknown (nothing could be read; not clean):");
        for u in &map.unknown {
            let _ = write!(out, "  {}: {}", untrusted::name(&u.table), u.why.reason);
            if let Some(grant) = &u.why.grant {
                let _ = write!(out, "; grant: {grant}");
            }
            out.push('\n');
        }
    }
    out.push_str(
        "\nConfirm or reject a column: pgsafeguard phi confirm|reject COLUMN --policy FILE --by NAME\n",
    );
    out
}

pub(super) fn run_phi(args: PhiArgs) -> anyhow::Result<ExitCode> {
    let (decision, decide) = match args.action {
        PhiAction::Confirm(d) => (Decision::Confirmed, d),
        PhiAction::Reject(d) => (Decision::Rejected, d),
        PhiAction::Forget(f) => {
            for column in &f.columns {
                writer::remove_phi_decision(&f.policy, column)?;
                super::emit(&format!(
                    "forgot the decision about {} in {}\n",
                    untrusted::name(column),
                    f.policy.display()
                ));
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    if decide.by.trim().is_empty() {
        bail!("--by is empty: say who decided");
    }
    if let Some(c) = decide
        .category
        .as_deref()
        .filter(|c| Category::parse(c).is_none())
    {
        let known: Vec<&str> = crate::model::phi_categories::CATEGORIES
            .iter()
            .map(|c| c.as_str())
            .collect();
        bail!(
            "--category {} is not one of: {}",
            untrusted::name(c),
            known.join(", ")
        );
    }
    for column in &decide.columns {
        if let Err(e) = split_column_key(column) {
            bail!("{e}");
        }
    }
    let at = now_rfc3339();
    for column in &decide.columns {
        writer::set_phi_decision(
            &decide.policy,
            &PhiDecision {
                column: column.clone(),
                decision,
                category: decide.category.clone(),
                by: decide.by.clone(),
                at: at.clone(),
                reason: decide.reason.clone(),
            },
        )?;
        super::emit(&format!(
            "{} {} as {} in {}\n",
            decision.as_str(),
            untrusted::name(column),
            if decision == Decision::Confirmed {
                "PHI"
            } else {
                "not PHI"
            },
            decide.policy.display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}

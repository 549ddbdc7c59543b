//! The row-level security probe (issue 15): how many rows each login role
//! really sees of each PHI table that has RLS enabled, against the total.
//!
//! # Behavior
//!
//! - Needs a scanner that is superuser or BYPASSRLS (it counts the total);
//!   otherwise the probe is skipped, naming what to grant. A scanner that is
//!   not superuser must also be a member of each role it counts as (with
//!   `SET` on PostgreSQL 16+), or that role's count is inconclusive, naming
//!   the grant.
//! - One session per database, `application_name = pgsafeguard-probe-rls`,
//!   one `REPEATABLE READ, READ ONLY` transaction that is rolled back, so
//!   every count of a database sees the same rows and nothing is written.
//!   Every statement runs under `SET LOCAL statement_timeout` (the attempt
//!   timeout).
//! - Per table: the policies that apply to SELECT are read from
//!   `pg_policies` (those reading the session make PRIV-015 inconclusive),
//!   the total is counted as the scanner, and the login roles that may
//!   SELECT it (`has_any_column_privilege`, memberships included) are listed.
//!   Superuser and BYPASSRLS logins are named but not counted (RLS never
//!   applies to them); at most `max_rls_roles` others are counted, each in a
//!   savepoint that is rolled back: its per-database settings
//!   (`pg_db_role_setting`, as the snapshot holds them) with `set_config(…,
//!   true)`, then `SET LOCAL ROLE`, then `count(*)` and `row_security_active`.
//! - Only counts are read, never a value. The PHI tables are those the
//!   checks see: the model's PHI name rule under the policy's `phi_tables` /
//!   `not_phi_tables` ([`ProbeOptions::phi_columns`](super::ProbeOptions::phi_columns)).
//!
//! The verdicts are decided in [`judge`]. Part of `db::probe`.

pub mod judge;

use super::sql_session::{self, error_text, sqlstate};
use super::{ProbeContext, ProbeOptions, ProbeResult};
use crate::model::proof::{CheckProof, Effect, Probe, ProbeSkipped, Proof};
use crate::model::snapshot::{Relation, Role, Snapshot};
use judge::{Judgement, RoleCount, Seen, TableCounts};
use postgres_protocol::escape::escape_identifier;
use tokio_postgres::Client;

/// Savepoint names used inside the probe transaction.
const TABLE_SAVEPOINT: &str = "pgsafeguard_table";
const ROLE_SAVEPOINT: &str = "pgsafeguard_role";
const SETTING_SAVEPOINT: &str = "pgsafeguard_setting";

pub async fn probe(ctx: &ProbeContext<'_>) -> ProbeResult {
    let scanner = scanner_role(ctx.snapshot, &ctx.params.user)?;
    let mut proofs = Vec::new();
    let mut any_table = false;
    for facts in &ctx.snapshot.databases {
        let tables: Vec<&Relation> = facts
            .relations
            .iter()
            .flatten()
            .filter(|r| is_probed_table(r, ctx.options))
            .collect();
        if tables.is_empty() {
            continue;
        }
        any_table = true;
        probe_database(ctx, scanner, &facts.name, &tables, &mut proofs).await;
    }
    if !any_table {
        return Err(skipped(
            "no PHI table of the scanned database(s) has row-level security enabled: there is \
             nothing to count (PRIV-014 judges the missing RLS from the catalog)",
            None,
        ));
    }
    Ok(proofs)
}

/// A table whose rows are counted: an ordinary or partitioned table (not a
/// partition, which is counted through its root) with RLS enabled and PHI columns.
fn is_probed_table(r: &Relation, options: &ProbeOptions) -> bool {
    matches!(r.kind.as_str(), "r" | "p")
        && !r.is_partition
        && r.rls_enabled
        && !options.phi_columns(r).is_empty()
}

/// The scanner's role, when it may count a total that RLS does not filter.
fn scanner_role<'s>(snapshot: &'s Snapshot, user: &str) -> Result<&'s Role, ProbeSkipped> {
    let role = snapshot
        .roles
        .iter()
        .flatten()
        .find(|r| r.name == user)
        .ok_or_else(|| {
            skipped(
                "the scanner's own role attributes were not collected, so it is not known \
                 whether it can count rows past row-level security",
                None,
            )
        })?;
    if role.superuser || role.bypass_rls {
        Ok(role)
    } else {
        Err(skipped(
            &format!(
                "the scanner role {user:?} is neither superuser nor BYPASSRLS, so it cannot \
                 count the rows that row-level security hides from the roles it tests; it must \
                 also be a member of each login role it counts as"
            ),
            Some(format!(
                "ALTER ROLE {0} BYPASSRLS; GRANT SELECT ON <each PHI table> TO {0}; GRANT \
                 <each login role> TO {0} (or run the probe as a superuser)",
                escape_identifier(user)
            )),
        ))
    }
}

fn skipped(reason: &str, grant: Option<String>) -> ProbeSkipped {
    ProbeSkipped {
        probe: Probe::Rls,
        reason: reason.into(),
        grant,
    }
}

/// Count every table of one database in one rolled-back read-only transaction.
async fn probe_database(
    ctx: &ProbeContext<'_>,
    scanner: &Role,
    dbname: &str,
    tables: &[&Relation],
    proofs: &mut Vec<CheckProof>,
) {
    let opened = sql_session::open(ctx, dbname, ctx.application_name("rls")).await;
    let open = match opened {
        Ok(open) => open,
        Err(error) => {
            for table in tables {
                let counts = TableCounts {
                    table: table.qualified_name(),
                    counted_as: scanner.name.clone(),
                    total: Err(format!("no session to database {dbname:?}: {error}")),
                    roles: Vec::new(),
                    bypassing: Vec::new(),
                    not_probed: Vec::new(),
                    session_policies: Vec::new(),
                };
                push_proofs(ctx, &counts, dbname, "this machine", proofs);
            }
            return;
        }
    };
    let client = &open.session.client;
    let timeout_ms = ctx.options.attempt_timeout.as_millis().max(1);
    let begun = client
        .batch_execute(&format!(
            "BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; \
             SET LOCAL statement_timeout = {timeout_ms}"
        ))
        .await;
    for table in tables {
        let counts = match &begun {
            Ok(()) => count_table(ctx, client, scanner, dbname, table, timeout_ms).await,
            Err(e) => TableCounts {
                table: table.qualified_name(),
                counted_as: scanner.name.clone(),
                total: Err(error_text(e)),
                roles: Vec::new(),
                bypassing: Vec::new(),
                not_probed: Vec::new(),
                session_policies: Vec::new(),
            },
        };
        push_proofs(ctx, &counts, dbname, &open.from, proofs);
    }
    // Nothing was written; the rollback also ends any role or setting left over.
    let _ = client.batch_execute("ROLLBACK").await;
    open.session.close().await;
}

/// The two proofs of one table: PRIV-015 (do policies restrict rows) and
/// PRIV-014 (does RLS apply to the logins that read it).
fn push_proofs(
    ctx: &ProbeContext<'_>,
    counts: &TableCounts,
    dbname: &str,
    from: &str,
    proofs: &mut Vec<CheckProof>,
) {
    let attempted = format!(
        "count the rows of {} in database {dbname:?} as each login role that may SELECT it \
         (its role settings applied, SET LOCAL ROLE, read-only transaction rolled back), \
         against the total counted as {:?}",
        counts.table, counts.counted_as
    );
    let answer = counts.answer();
    let at = (ctx.clock)();
    let proof = |check: &str, effect: Effect, judgement: Judgement| CheckProof {
        check: check.into(),
        effect,
        source_ip: None,
        proof: Proof {
            probe: Probe::Rls,
            attempted: attempted.clone(),
            from: from.into(),
            answer: answer.clone(),
            at: at.clone(),
            outcome: judgement.outcome,
            note: judgement.note,
            grant: judgement.grant,
        },
    };
    // Part, not Decides: PRIV-015 also judges write policies and tables no
    // login can read yet, PRIV-014 also views and FORCE on tables the logins
    // do not own; the counts prove a break, never the whole check.
    proofs.push(proof("PRIV-015", Effect::Part, counts.priv_015()));
    proofs.push(proof("PRIV-014", Effect::Part, counts.priv_014()));
}

/// A login role that may SELECT the table.
struct Reader {
    name: String,
    bypasses_rls: bool,
}

async fn count_table(
    ctx: &ProbeContext<'_>,
    client: &Client,
    scanner: &Role,
    dbname: &str,
    table: &Relation,
    timeout_ms: u128,
) -> TableCounts {
    let qualified = format!(
        "{}.{}",
        escape_identifier(&table.schema),
        escape_identifier(&table.name)
    );
    let mut counts = TableCounts {
        table: table.qualified_name(),
        counted_as: scanner.name.clone(),
        total: Err(String::new()),
        roles: Vec::new(),
        bypassing: Vec::new(),
        not_probed: Vec::new(),
        session_policies: Vec::new(),
    };
    let listed = in_savepoint(client, TABLE_SAVEPOINT, async {
        let policies = session_policies(client, table).await?;
        let readers = readers(client, table.oid).await?;
        Ok::<_, tokio_postgres::Error>((policies, readers))
    })
    .await;
    let readers = match listed {
        Ok((policies, readers)) => {
            counts.session_policies = policies;
            readers
        }
        Err(e) => {
            counts.total = Err(format!(
                "the table's policies and readers: {}",
                error_text(&e)
            ));
            return counts;
        }
    };
    counts.total = in_savepoint(client, TABLE_SAVEPOINT, async {
        let row = client
            .query_one(&format!("SELECT count(*) FROM {qualified}"), &[])
            .await?;
        Ok(row.get::<_, i64>(0))
    })
    .await
    .map_err(|e| error_text(&e));

    let (bypassing, counted): (Vec<Reader>, Vec<Reader>) =
        readers.into_iter().partition(|r| r.bypasses_rls);
    counts.bypassing = bypassing.into_iter().map(|r| r.name).collect();
    let limit = ctx.options.max_rls_roles;
    for (i, reader) in counted.into_iter().enumerate() {
        if i >= limit {
            counts.not_probed.push(reader.name);
            continue;
        }
        let seen = count_as(
            ctx,
            client,
            scanner,
            dbname,
            table,
            &qualified,
            &reader.name,
            timeout_ms,
        )
        .await;
        counts.roles.push(RoleCount {
            role: reader.name,
            seen,
        });
    }
    counts
}

/// Run `work` inside a savepoint: released on success, rolled back on
/// failure so the transaction goes on.
async fn in_savepoint<T>(
    client: &Client,
    name: &str,
    work: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, tokio_postgres::Error> {
    client.batch_execute(&format!("SAVEPOINT {name}")).await?;
    match work.await {
        Ok(value) => {
            client
                .batch_execute(&format!("RELEASE SAVEPOINT {name}"))
                .await?;
            Ok(value)
        }
        Err(e) => {
            client
                .batch_execute(&format!(
                    "ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"
                ))
                .await?;
            Err(e)
        }
    }
}

/// Policies for SELECT (or ALL) on the table whose expressions read the session.
async fn session_policies(
    client: &Client,
    table: &Relation,
) -> Result<Vec<String>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT policyname::text, qual FROM pg_catalog.pg_policies \
             WHERE schemaname = $1 AND tablename = $2 AND cmd IN ('ALL', 'SELECT') \
             ORDER BY policyname",
            &[&table.schema, &table.name],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let name: String = row.get(0);
            let qual: Option<String> = row.get(1);
            let qual = qual?;
            judge::reads_session(&qual).then(|| format!("{name}: {qual}"))
        })
        .collect())
}

/// Login roles that may SELECT the table (directly, through PUBLIC or a
/// group they inherit), those that bypass RLS first, then by name.
async fn readers(client: &Client, table_oid: u32) -> Result<Vec<Reader>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT r.rolname::text, r.rolsuper OR r.rolbypassrls \
             FROM pg_catalog.pg_roles r \
             WHERE r.rolcanlogin AND has_any_column_privilege(r.oid, $1::oid, 'SELECT') \
             ORDER BY 2 DESC, 1",
            &[&table_oid],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| Reader {
            name: row.get(0),
            bypasses_rls: row.get(1),
        })
        .collect())
}

/// One role's count, in a savepoint rolled back afterwards (its settings and
/// the role go with it).
#[allow(clippy::too_many_arguments)]
async fn count_as(
    ctx: &ProbeContext<'_>,
    client: &Client,
    scanner: &Role,
    dbname: &str,
    table: &Relation,
    qualified: &str,
    role: &str,
    timeout_ms: u128,
) -> Seen {
    if let Err(e) = client
        .batch_execute(&format!("SAVEPOINT {ROLE_SAVEPOINT}"))
        .await
    {
        return failed(&e, None);
    }
    let mut settings_not_applied = Vec::new();
    for (name, value) in role_settings(ctx.snapshot, role, dbname) {
        if let Err(e) = apply_setting(client, &name, &value).await {
            settings_not_applied.push(format!("{name} ({})", error_text(&e)));
        }
    }
    let seen = async {
        // Ours last: a role's own statement_timeout must not lift the bound.
        client
            .batch_execute(&format!(
                "SET LOCAL statement_timeout = {timeout_ms}; SET LOCAL ROLE {}",
                escape_identifier(role)
            ))
            .await?;
        let row = client
            .query_one(
                &format!(
                    "SELECT count(*), row_security_active(($1::oid)::regclass) FROM {qualified}"
                ),
                &[&table.oid],
            )
            .await?;
        Ok::<_, tokio_postgres::Error>((row.get::<_, i64>(0), row.get::<_, bool>(1)))
    }
    .await;
    let _ = client
        .batch_execute(&format!(
            "ROLLBACK TO SAVEPOINT {ROLE_SAVEPOINT}; RELEASE SAVEPOINT {ROLE_SAVEPOINT}"
        ))
        .await;
    match seen {
        Ok((visible, rls_active)) => Seen::Rows {
            visible,
            rls_active,
            settings_not_applied,
        },
        Err(e) => {
            let grant = (sqlstate(&e) == Some("42501") && !scanner.superuser).then(|| {
                format!(
                    "GRANT {} TO {}",
                    escape_identifier(role),
                    escape_identifier(&scanner.name)
                )
            });
            failed(&e, grant)
        }
    }
}

fn failed(e: &tokio_postgres::Error, grant: Option<String>) -> Seen {
    Seen::Failed {
        error: error_text(e),
        grant,
    }
}

/// One setting, in its own savepoint so that a refused one (superuser-only,
/// unknown) leaves the others in force.
async fn apply_setting(
    client: &Client,
    name: &str,
    value: &str,
) -> Result<(), tokio_postgres::Error> {
    in_savepoint(client, SETTING_SAVEPOINT, async {
        client
            .query_one("SELECT set_config($1, $2, true)", &[&name, &value])
            .await
            .map(|_| ())
    })
    .await
}

/// The role's settings in this database, as its own sessions get them: those
/// for every database first, then those for this one (which win).
fn role_settings(snapshot: &Snapshot, role: &str, dbname: &str) -> Vec<(String, String)> {
    let settings = snapshot.role_settings.iter().flatten();
    let for_role = |s: &&crate::model::snapshot::RoleSetting| s.role.as_deref() == Some(role);
    let everywhere = settings
        .clone()
        .filter(for_role)
        .filter(|s| s.database.is_none());
    let here = settings
        .filter(for_role)
        .filter(|s| s.database.as_deref() == Some(dbname));
    everywhere
        .chain(here)
        .flat_map(|s| s.config.iter())
        .filter_map(|entry| {
            let (name, value) = entry.split_once('=')?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::snapshot::{Column, RoleSetting};

    #[test]
    fn role_settings_for_every_database_come_first() {
        let snapshot = Snapshot {
            role_settings: Some(vec![
                RoleSetting {
                    database: Some("clinic".into()),
                    role: Some("app".into()),
                    config: vec!["app.clinic_id=2".into()],
                },
                RoleSetting {
                    database: None,
                    role: Some("app".into()),
                    config: vec!["app.clinic_id=1".into(), "search_path=a, b".into()],
                },
                RoleSetting {
                    database: Some("other".into()),
                    role: Some("app".into()),
                    config: vec!["app.clinic_id=3".into()],
                },
                RoleSetting {
                    database: Some("clinic".into()),
                    role: None,
                    config: vec!["work_mem=1MB".into()],
                },
            ]),
            ..Snapshot::default()
        };
        assert_eq!(
            role_settings(&snapshot, "app", "clinic"),
            vec![
                ("app.clinic_id".into(), "1".into()),
                ("search_path".into(), "a, b".into()),
                ("app.clinic_id".into(), "2".into()),
            ]
        );
    }

    #[test]
    fn only_phi_roots_with_rls_are_counted() {
        let table = |kind: &str, rls: bool, partition: bool, column: &str| Relation {
            kind: kind.into(),
            rls_enabled: rls,
            is_partition: partition,
            columns: vec![Column {
                name: column.into(),
                type_name: "text".into(),
                acl: Vec::new(),
            }],
            ..Relation::default()
        };
        let names = ProbeOptions::default();
        let probed = |r: &Relation| is_probed_table(r, &names);
        assert!(probed(&table("r", true, false, "ssn")));
        assert!(probed(&table("p", true, false, "mrn")));
        assert!(!probed(&table("r", false, false, "ssn")));
        assert!(!probed(&table("r", true, true, "ssn")));
        assert!(!probed(&table("v", true, false, "ssn")));
        assert!(!probed(&table("r", true, false, "colour")));
        // The policy's lists decide as they do for the checks.
        let mut colour = table("r", true, false, "colour");
        colour.schema = "public".into();
        colour.name = "paint".into();
        let listed = ProbeOptions {
            phi_tables: vec!["paint".into()],
            ..ProbeOptions::default()
        };
        assert!(is_probed_table(&colour, &listed));
        let mut ssn = table("r", true, false, "ssn");
        ssn.schema = "public".into();
        ssn.name = "lookup".into();
        let excluded = ProbeOptions {
            not_phi_tables: vec!["public.lookup".into()],
            ..ProbeOptions::default()
        };
        assert!(!is_probed_table(&ssn, &excluded));
    }

    #[test]
    fn a_scanner_that_cannot_see_past_rls_is_told_what_to_grant() {
        let snapshot = |superuser, bypass_rls| Snapshot {
            roles: Some(vec![Role {
                name: "scanner".into(),
                superuser,
                bypass_rls,
                ..Role::default()
            }]),
            ..Snapshot::default()
        };
        let skipped = scanner_role(&snapshot(false, false), "scanner").unwrap_err();
        assert!(skipped
            .grant
            .unwrap()
            .starts_with("ALTER ROLE \"scanner\" BYPASSRLS"));
        assert!(scanner_role(&snapshot(true, false), "scanner").is_ok());
        assert!(scanner_role(&snapshot(false, true), "scanner").is_ok());
        assert!(scanner_role(&Snapshot::default(), "scanner").is_err());
    }
}

//! PHI discovery figures (issue 19), printed, never asserted:
//! - discovery over N tables (default 10,000) with the default budget (target ≤ 30 s);
//! - names, comments and types only, `--no-sample` (target ≤ 1 s).
//!
//! Each table has five columns (an id, an SSN-looking column, a date of birth, an e-mail
//! and free text) and 20 rows; one table in a hundred is big enough (5,000 rows, a few dozen pages) to be
//! read through TABLESAMPLE. `cargo bench --bench discover` builds PGSG_BENCH_TABLES
//! tables (default 10,000); under `cargo test --all-targets` it is a smoke run on 50.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

#[path = "bench_env.rs"]
mod bench_env;
#[path = "../support/mod.rs"]
mod support;

use bench_env::{benchmarking, env_count};
use pgsafeguard::db::conninfo::ConnParams;
use pgsafeguard::db::{connect, discover};
use pgsafeguard::model::phi_map::{build, Budget};
use std::time::{Duration, Instant};
use support::Cluster;

/// In batches of 500 tables: one transaction creating 10,000 tables would need
/// 10,000 locks.
fn seed(cluster: &Cluster, tables: usize) {
    for start in (1..=tables).step_by(500) {
        let end = (start + 499).min(tables);
        cluster.psql(
            "postgres",
            &format!(
                "DO $$ BEGIN FOR i IN {start}..{end} LOOP
                   EXECUTE format('CREATE TABLE public.t%s (id int, ssn text, dob date, email text, note text)', i);
                   EXECUTE format('INSERT INTO public.t%s SELECT g, ''123-45-'' || (1000 + g), date ''1970-01-01'' + g, ''p'' || g || ''@example.org'', ''seen today'' FROM generate_series(1, CASE WHEN %s %% 100 = 0 THEN 5000 ELSE 20 END) g', i, i);
                 END LOOP; END $$;"
            ),
        );
    }
    cluster.psql("postgres", "ANALYZE");
}

fn timed(
    runtime: &tokio::runtime::Runtime,
    params: &ConnParams,
    budget: Budget,
) -> (Duration, usize) {
    let today = time::OffsetDateTime::now_utc().date();
    let started = Instant::now();
    let seen = runtime.block_on(async {
        let session = connect::connect_with(params, &[("default_transaction_read_only", "on")])
            .await
            .expect("connect");
        let seen = discover::discover(&session.client, budget, &[], today)
            .await
            .expect("discover");
        session.close().await;
        seen
    });
    let map = build(&seen, budget, |_| None);
    (started.elapsed(), map.candidates.len())
}

fn main() {
    let tables = if benchmarking() {
        env_count("PGSG_BENCH_TABLES", 10_000)
    } else {
        50
    };
    let cluster = Cluster::builder()
        .hba("host all all 127.0.0.1/32 scram-sha-256")
        .hba("host all all ::1/128 scram-sha-256")
        .start();
    seed(&cluster, tables);
    let conninfo = cluster.conninfo_tcp(
        cluster.superuser(),
        cluster.superuser_password(),
        "postgres",
        "sslmode=disable",
    );
    let params = ConnParams::from_conninfo_with_env(&conninfo, &|_| None).expect("conninfo");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (names_only, n) = timed(
        &runtime,
        &params,
        Budget {
            sample: false,
            ..Budget::default()
        },
    );
    println!(
        "discover --no-sample, {tables} tables: {:.0} ms ({n} candidates; target <= 1000 ms)",
        names_only.as_secs_f64() * 1000.0
    );
    let (sampled, n) = timed(&runtime, &params, Budget::default());
    println!(
        "discover, default budget, {tables} tables: {:.1} s ({n} candidates; target <= 30 s)",
        sampled.as_secs_f64()
    );
}

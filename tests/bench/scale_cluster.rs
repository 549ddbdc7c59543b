//! The live half of the scale benchmark (`tests/bench/run.sh` drives it): builds generated
//! clusters with the test harness, counts what a scan costs on the wire, and keeps the
//! large cluster running while the script times the scan and the psql floor.
//!
//! ```text
//! cargo bench --bench scale_cluster -- serve --tables 10000 --roles 1000 --out DIR < FIFO
//! ```
//!
//! `serve` first scans a 10-table / 10-role cluster, then builds the large one, scans it
//! once with `log_statement = all`, and writes into DIR: `figures.env` (shell variables:
//! round trips and statements at both sizes, load time, layout), `pgpass` (mode 0600),
//! `floor.sql` (the statements the scan sent, for psql), `snapshot.json` (saved by the
//! scan) and finally `ready`. It keeps the cluster until its standard input closes, then
//! removes it. Round trips come from the collector's own counter (`CollectStats`);
//! statements both from that counter and from the server log of a real `pgsafeguard scan`.
//!
//! Without arguments (as under `cargo test --all-targets`) it only measures the small
//! cluster: a smoke test, no timing.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

#[path = "catalog.rs"]
mod catalog;
#[path = "cluster_load.rs"]
mod cluster_load;
#[path = "../support/mod.rs"]
mod support;

use catalog::{Layout, Scale};
use pgsafeguard::db::collect::{collect_all, CollectOptions, CollectStats};
use pgsafeguard::db::connect;
use pgsafeguard::db::conninfo::ConnParams;
use std::fmt::Write as _;
use std::io::Read as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::Cluster;

const SMALL: Scale = Scale {
    tables: 10,
    roles: 10,
};

/// One generated cluster and what scanning it cost.
struct Measured {
    cluster: Cluster,
    layout: Layout,
    load: Duration,
    /// The collector's own count of one `collect_all`.
    stats: CollectStats,
    /// What a real `pgsafeguard scan` sent, from the server log.
    logged: Vec<String>,
}

fn measure(scale: Scale, save_snapshot: Option<&Path>) -> Measured {
    let layout = Layout::new(scale);
    let cluster = cluster_load::start_cluster();
    let load = cluster_load::load(&cluster, &layout);
    let stats = collector_stats(&cluster_load::tcp_conninfo_with_password(&cluster));
    let (_, logged) =
        cluster_load::logged_statements(&cluster, || cli_scan(&cluster, save_snapshot));
    assert!(
        !logged.is_empty(),
        "no pgsafeguard statement found in the server log"
    );
    Measured {
        cluster,
        layout,
        load,
        stats,
        logged,
    }
}

/// One `collect_all` through the library, on a read-only session like the CLI's.
fn collector_stats(conninfo: &str) -> CollectStats {
    let params = ConnParams::from_conninfo(conninfo).expect("parse conninfo");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let session = connect::connect_with(&params, &[("default_transaction_read_only", "on")])
            .await
            .expect("connect");
        collect_all(&session.client, &CollectOptions::default())
            .await
            .expect("collect")
            .stats
    })
}

/// A real `pgsafeguard scan` (the binary of this build profile); exit 1 (failing checks)
/// is expected, 2 is not.
fn cli_scan(cluster: &Cluster, save_snapshot: Option<&Path>) {
    let mut scan = Command::new(env!("CARGO_BIN_EXE_pgsafeguard"));
    scan.arg("scan")
        .arg(cluster_load::tcp_conninfo_with_password(cluster))
        .args(["--format", "json"]);
    if let Some(path) = save_snapshot {
        scan.arg("--save-snapshot").arg(path);
    }
    let output = support::without_libpq_env(&mut scan)
        .output()
        .expect("run pgsafeguard");
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "pgsafeguard scan failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn describe(label: &str, m: &Measured) -> String {
    format!(
        "{label}: {}\n  generated and loaded in {:.1} s; collector: {} round trips, {} \
         statements; server log of `pgsafeguard scan`: {} statements",
        catalog::describe(&m.layout),
        m.load.as_secs_f64(),
        m.stats.round_trips,
        m.stats.statements,
        m.logged.len()
    )
}

fn figures(small: &Measured, large: &Measured) -> String {
    let mut env = String::new();
    for (prefix, m) in [("SMALL", small), ("LARGE", large)] {
        let _ = writeln!(env, "{prefix}_TABLES={}", m.layout.scale.tables);
        let _ = writeln!(env, "{prefix}_ROLES={}", m.layout.scale.roles);
        let _ = writeln!(env, "{prefix}_RELATIONS={}", m.layout.relations.len());
        let _ = writeln!(env, "{prefix}_ROUND_TRIPS={}", m.stats.round_trips);
        let _ = writeln!(env, "{prefix}_STATEMENTS={}", m.stats.statements);
        let _ = writeln!(env, "{prefix}_LOGGED_STATEMENTS={}", m.logged.len());
        let _ = writeln!(env, "{prefix}_LOAD_SECONDS={:.2}", m.load.as_secs_f64());
        let _ = writeln!(
            env,
            "{prefix}_LAYOUT='{}'",
            catalog::describe(&m.layout).replace('\'', "")
        );
    }
    let _ = writeln!(
        env,
        "CONNINFO='{}'",
        cluster_load::tcp_conninfo(&large.cluster)
    );
    env
}

fn write_private(path: &Path, contents: &str) {
    std::fs::write(path, contents).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

struct ServeArgs {
    scale: Scale,
    out: PathBuf,
}

fn parse_serve(args: &[String]) -> ServeArgs {
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .unwrap_or_else(|| panic!("serve needs {flag}"))
            .clone()
    };
    ServeArgs {
        scale: Scale {
            tables: value("--tables").parse().expect("--tables N"),
            roles: value("--roles").parse().expect("--roles M"),
        },
        out: PathBuf::from(value("--out")),
    }
}

fn serve(args: &ServeArgs) {
    let small = measure(SMALL, None);
    eprintln!("{}", describe("small", &small));
    let snapshot = args.out.join("snapshot.json");
    let large = measure(args.scale, Some(&snapshot));
    eprintln!("{}", describe("large", &large));
    write_private(
        &args.out.join("pgpass"),
        &format!(
            "127.0.0.1:{}:*:{}:{}\n",
            large.cluster.port(),
            support::SUPERUSER,
            large.cluster.superuser_password()
        ),
    );
    std::fs::write(
        args.out.join("floor.sql"),
        cluster_load::as_script(&large.logged),
    )
    .unwrap();
    std::fs::write(args.out.join("figures.env"), figures(&small, &large)).unwrap();
    drop(small);
    std::fs::write(args.out.join("ready"), "").unwrap();
    // Serve until the script closes our standard input (or dies).
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(large);
}

fn main() {
    // cargo bench appends --bench; cargo test passes nothing.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("serve") => serve(&parse_serve(&args)),
        None => {
            let small = measure(SMALL, None);
            println!("scale_cluster smoke: {}", describe("small", &small));
        }
        Some(other) => panic!("unknown mode {other}; see tests/bench/scale_cluster.rs"),
    }
}

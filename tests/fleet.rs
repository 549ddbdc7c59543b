//! Fleet scans (issue 17): inventories and service files as targets, the bounded runner
//! with its timeouts, per-target output streamed to a folder, the evidence store, shards
//! and their merge, exchange formats, and bad input.
//!
//! The live part uses one cluster with several databases (targets = databases), a std
//! `TcpListener` that accepts and never answers, and a port nobody listens on. The rest
//! needs no server.

// Test code: a failed set-up step should panic with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

#[path = "support/cli.rs"]
mod cli;

use cli::{assert_clean_error, pgsafeguard};
use pgsafeguard::fleet::inventory::Inventory;
use pgsafeguard::fleet::shard::Shard;
use pgsafeguard::policy::Policy;
use proptest::prelude::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{pg_env, Cluster};

const DATABASES: [&str; 3] = ["ward_a", "ward_b", "ward_c"];
/// The fleet's connect timeout in the live test, seconds.
const CONNECT_TIMEOUT: u64 = 2;

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every file under `dir`, recursively, as text.
fn all_text_under(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            text.push_str(&all_text_under(&path));
        } else {
            text.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
        }
    }
    text
}

/// Accepts connections and never answers, until dropped (the streams are kept open).
struct Silent {
    port: u16,
    _thread: std::thread::JoinHandle<()>,
}

fn silent_listener() -> Silent {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let thread = std::thread::Builder::new()
        .name("silent-listener".into())
        .spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            for stream in listener.incoming().flatten() {
                held.push(stream);
            }
        })
        .unwrap();
    Silent {
        port,
        _thread: thread,
    }
}

/// A loopback port with nothing listening on it.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A service file with one service per database (password in the file, as DBAs keep it).
fn service_file(cluster: &Cluster, path: &Path) {
    let mut text = String::from("# ward databases\n");
    for db in DATABASES {
        text.push_str(&format!(
            "[{db}]\nhost={}\nport={}\nuser={}\npassword={}\ndbname={db}\n\n",
            cluster.socket_dir().display(),
            cluster.port(),
            cluster.superuser(),
            cluster.superuser_password()
        ));
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn live_fleet_with_a_hanging_and_an_unreachable_target() {
    let cluster = support::plain().start();
    for db in DATABASES {
        cluster.psql("postgres", &format!("CREATE DATABASE {db}"));
    }
    let home = tempfile::tempdir().unwrap();
    let home_str = home.path().to_str().unwrap();
    let services = home.path().join("wards.conf");
    service_file(&cluster, &services);
    let silent = silent_listener();
    let closed = closed_port();
    let inventory = home.path().join("fleet.toml");
    std::fs::write(
        &inventory,
        format!(
            r#"
[groups.wards]
[groups.edge]

[[services]]
file = "wards.conf"
group = "wards"
tags = ["phi"]

[[target]]
name = "silent"
conninfo = "hostaddr=127.0.0.1 port={} user=nobody dbname=x sslmode=disable"
group = "edge"

[[target]]
name = "closed"
conninfo = {}
group = "edge"
"#,
            silent.port,
            toml_string(&format!(
                "hostaddr=127.0.0.1 port={closed} user=nobody dbname=x sslmode=disable"
            )),
        ),
    )
    .unwrap();

    let out_dir = home.path().join("out");
    let store = home.path().join("evidence.sqlite");
    let started = Instant::now();
    let out = pgsafeguard(
        &[
            "fleet",
            inventory.to_str().unwrap(),
            "--output",
            out_dir.to_str().unwrap(),
            "--connect-timeout",
            &CONNECT_TIMEOUT.to_string(),
            "--store",
            store.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[("HOME", home_str)],
    );
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let printed: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let summary = read_json(&out_dir.join("fleet.json"));
    assert_eq!(printed, summary);
    assert_eq!(summary["schema"], "pgsafeguard.fleet/1");
    assert_eq!(summary["totals"]["targets"], 5);
    assert_eq!(summary["totals"]["scanned"], 3);
    assert_eq!(summary["totals"]["unreachable"], 2);

    let rows = summary["targets"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["closed", "silent", "ward_a", "ward_b", "ward_c"]);
    let silent_row = &rows[1];
    assert_eq!(silent_row["outcome"], "unreachable");
    assert!(
        silent_row["error"].as_str().unwrap().contains("timed out"),
        "{silent_row}"
    );
    // A listener that never answers costs its timeout, not more.
    let silent_ms = silent_row["duration_ms"].as_u64().unwrap();
    assert!(
        silent_ms < CONNECT_TIMEOUT * 1000 + 1500,
        "silent target took {silent_ms} ms"
    );
    assert!(rows[0]["error"].as_str().unwrap().contains("refused"));
    for row in &rows[2..] {
        assert_eq!(row["outcome"], "scanned", "{row}");
        assert_eq!(row["group"], "wards");
        assert_eq!(row["tags"], serde_json::json!(["phi"]));
        let file = out_dir.join(row["file"].as_str().unwrap());
        let scan = read_json(&file);
        assert_eq!(scan["schema"], "pgsafeguard.scan/1");
        assert_eq!(scan["target"]["dbname"], row["name"]);
        let sections = row["sections"].as_object().unwrap();
        assert_eq!(sections.len(), 6, "{row}");
        assert!(sections["transit"]["worst"].is_string());
    }
    assert!(
        elapsed < Duration::from_secs(60),
        "the fleet took {elapsed:?}"
    );
    // Passwords never reach a file or stdout.
    let password = cluster.superuser_password();
    assert!(!all_text_under(&out_dir).contains(password));
    assert!(!stdout(&out).contains(password));
    assert!(!stderr(&out).contains(password));

    // Every scanned target is in the evidence store.
    let mut evidence = pgsafeguard::store::EvidenceStore::open_file(&store).unwrap();
    let recorded: BTreeSet<String> = evidence
        .scans()
        .unwrap()
        .into_iter()
        .map(|s| s.target.dbname)
        .collect();
    assert_eq!(recorded, DATABASES.iter().map(|d| d.to_string()).collect());

    signed_fleet_report(&out_dir, home.path());
    shards_and_merge(&services, home.path());
    service_in_a_connection_string(&cluster, &services, home.path());
    gui_walks_a_fleet(&services);
}

/// The GUI: open a service file on the Fleet page, see the matrix fill in, open a target.
fn gui_walks_a_fleet(services: &Path) {
    use egui_kittest::kittest::Queryable;
    use pgsafeguard::model::finding::Section;
    use pgsafeguard::ui::app::{App, AppInit};
    use pgsafeguard::ui::state::Page;
    use pgsafeguard::ui::Command;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store_dir = tempfile::tempdir().unwrap();
    let store = store_dir.path().join("gui-evidence.sqlite");
    let init = AppInit {
        runtime: Some(runtime.handle().clone()),
        evidence_store: pgsafeguard::store::StoreChoice::File(store.clone()),
        ..AppInit::default()
    };
    let mut harness = egui_kittest::Harness::builder()
        .with_size(eframe::egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| App::new(&cc.egui_ctx, init));
    harness.run();
    harness.get_by_label("Fleet").click();
    harness.run();
    assert_eq!(harness.state().page(), Page::Fleet);
    harness
        .state_mut()
        .run_fleet_inventory(services.to_path_buf());
    for _ in 0..2400 {
        harness.step();
        let fleet = harness.state().fleet();
        if !fleet.running && fleet.rows.len() == DATABASES.len() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    harness.run();
    let fleet = harness.state().fleet();
    assert_eq!(fleet.rows.len(), DATABASES.len(), "{:?}", fleet.error);
    assert_eq!(fleet.counts().0, 0, "every ward was scanned");
    // Each finished scan is recorded in the window's evidence store, as the CLI does.
    let mut recorded = BTreeSet::new();
    for _ in 0..400 {
        harness.step();
        if let Ok(mut evidence) = pgsafeguard::store::EvidenceStore::open_file(&store) {
            recorded = evidence
                .scans()
                .unwrap()
                .into_iter()
                .map(|s| s.target.dbname)
                .collect();
        }
        if recorded.len() == DATABASES.len() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(recorded, DATABASES.iter().map(|d| d.to_string()).collect());
    // The matrix shows each target (its name is a link to its overview).
    harness.get_by_label("ward_b");
    harness.get_by_label("ward_b").click();
    harness.run();
    assert_eq!(harness.state().page(), Page::Overview);
    let dbname = harness
        .state()
        .results()
        .unwrap()
        .snapshot
        .target
        .dbname
        .clone();
    assert_eq!(dbname, "ward_b");
    // A cell opens that target at its section.
    let ctx = harness.ctx.clone();
    harness.state_mut().execute(
        &ctx,
        Command::OpenFleetTarget {
            name: "ward_c".into(),
            section: Some(Section::Transit),
        },
    );
    harness.run();
    assert_eq!(harness.state().page(), Page::Section(Section::Transit));
    let dbname = harness
        .state()
        .results()
        .unwrap()
        .snapshot
        .target
        .dbname
        .clone();
    assert_eq!(dbname, "ward_c");

    // The finished run's signed PDF has a chapter's worth of findings per ward.
    let input = pgsafeguard::ui::fleet_export::fleet_report_input(harness.state().fleet()).unwrap();
    assert_eq!(input.summary.totals.scanned, DATABASES.len());
    let names: Vec<&str> = input.scans.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, DATABASES);
    let identity = pgsafeguard::report::SigningIdentity::generate("fleet GUI test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("fleet.pdf");
    pgsafeguard::ui::fleet_export::export_fleet_report_to(&pdf, &input, &identity).unwrap();
    let outcome = pgsafeguard::report::verify_pdf(&std::fs::read(&pdf).unwrap(), None).unwrap();
    assert_eq!(outcome.schema.as_deref(), Some("pgsafeguard.fleet/1"));
}

/// `fleet report`: a signed PDF that `pgsafeguard verify` accepts, the fleet summary embedded.
fn signed_fleet_report(out_dir: &Path, home: &Path) {
    let pdf = home.join("fleet.pdf");
    let env = [("HOME", home.to_str().unwrap())];
    let out = pgsafeguard(
        &[
            "fleet",
            "report",
            out_dir.to_str().unwrap(),
            "--output",
            pdf.to_str().unwrap(),
            "--organisation",
            "Ward Trust",
        ],
        &env,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF"));
    let outcome = pgsafeguard::report::verify_pdf(&bytes, None).unwrap();
    assert_eq!(outcome.schema.as_deref(), Some("pgsafeguard.fleet/1"));
    let out = pgsafeguard(&["verify", pdf.to_str().unwrap()], &env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

/// Shards of a service-file inventory, one with SARIF files, joined by `fleet merge`.
fn shards_and_merge(services: &Path, home: &Path) {
    let home_str = home.to_str().unwrap();
    let mut dirs = Vec::new();
    for (index, format) in [(0, "text"), (1, "sarif")] {
        let dir = home.join(format!("shard-{index}"));
        let out = pgsafeguard(
            &[
                "fleet",
                services.to_str().unwrap(),
                "--shard",
                &format!("{index}/2"),
                "--output",
                dir.to_str().unwrap(),
                "--no-store",
                "--format",
                format,
            ],
            &[("HOME", home_str)],
        );
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
        let summary = read_json(&dir.join("fleet.json"));
        for row in summary["targets"].as_array().unwrap() {
            let name = row["name"].as_str().unwrap();
            assert!(dir.join(format!("targets/{name}.json")).is_file());
            assert_eq!(
                dir.join(format!("targets/{name}.sarif")).is_file(),
                format == "sarif"
            );
        }
        dirs.push(dir);
    }
    let out = pgsafeguard(
        &[
            "fleet",
            "merge",
            dirs[0].to_str().unwrap(),
            dirs[1].to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
    );
    let merged: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(merged["totals"]["targets"], 3, "{merged}");
    assert_eq!(merged["totals"]["scanned"], 3);
    assert_eq!(merged["merged"]["missing_shards"], serde_json::json!([]));
    let failing = merged["totals"]["failing"].as_u64().unwrap();
    assert_eq!(out.status.code(), Some(if failing > 0 { 1 } else { 0 }));

    // One shard alone: the other is named as missing, exit 1.
    let out = pgsafeguard(&["fleet", "merge", dirs[0].to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing"), "{}", stderr(&out));
    // The same shard twice is bad input.
    let out = pgsafeguard(
        &[
            "fleet",
            "merge",
            dirs[0].to_str().unwrap(),
            dirs[0].to_str().unwrap(),
        ],
        &[],
    );
    assert_clean_error(&out, "repeats shard");
}

/// `scan service=NAME` resolves through PGSERVICEFILE, as psql does.
fn service_in_a_connection_string(cluster: &Cluster, services: &Path, home: &Path) {
    let out = pgsafeguard(
        &["scan", "service=ward_b", "--format", "json", "--no-store"],
        &[
            ("HOME", home.to_str().unwrap()),
            ("PGSERVICEFILE", services.to_str().unwrap()),
        ],
    );
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let scan: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(scan["target"]["dbname"], "ward_b");
    assert_eq!(scan["target"]["port"], cluster.port());
}

#[test]
fn nothing_reachable_is_exit_2_and_still_reported() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("down.conf");
    std::fs::write(
        &inventory,
        format!(
            "[down]\nhostaddr=127.0.0.1\nport={}\nuser=nobody\nsslmode=disable\n",
            closed_port()
        ),
    )
    .unwrap();
    let out = pgsafeguard(
        &["fleet", inventory.to_str().unwrap(), "--no-store"],
        &[("HOME", dir.path().to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stdout(&out).contains("UNREACHABLE"), "{}", stdout(&out));
    assert_eq!(
        stderr(&out).trim_end(),
        "pgsafeguard: no target could be scanned (1 unreachable, 0 timed out, 0 failed)"
    );
}

fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Bad inventories: one line naming the file (and line), exit 2, and no output folder.
#[test]
fn bad_inventories_name_file_and_line_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_str().unwrap();
    let cases = [
        (
            "duplicate.toml",
            "[[target]]\nname = \"a\"\nconninfo = \"host=h\"\n[[target]]\nname = \"a\"\nconninfo = \"host=h\"\n",
            "duplicate.toml, line 5",
        ),
        (
            "broken.toml",
            "[[target]]\nname = \"a\nconninfo = \"host=h\"\n",
            "broken.toml, line 2",
        ),
        (
            "unknown-service.toml",
            "[[target]]\nname = \"a\"\nservice = \"nowhere\"\n",
            "unknown-service.toml, line 2",
        ),
        (
            "services.conf",
            "[a]\nhost=h\n[b]\nhots=h\n",
            "services.conf, line 4",
        ),
        (
            "twice.conf",
            "[a]\nhost=h\n[a]\nhost=h\n",
            "twice.conf, line 3",
        ),
    ];
    for (name, text, mention) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let output = dir.path().join(format!("out-{name}"));
        let out = pgsafeguard(
            &[
                "fleet",
                path.to_str().unwrap(),
                "--output",
                output.to_str().unwrap(),
                "--no-store",
            ],
            &[("HOME", home)],
        );
        assert_clean_error(&out, mention);
        assert!(!output.exists(), "{name}: output folder written");
    }
    let missing = dir.path().join("absent.toml");
    let out = pgsafeguard(
        &["fleet", missing.to_str().unwrap(), "--no-store"],
        &[("HOME", home)],
    );
    assert_clean_error(&out, "absent.toml");
    let out = pgsafeguard(
        &["scan", "service=nowhere", "--no-store"],
        &[("HOME", home)],
    );
    assert_clean_error(&out, "\"nowhere\" not found");
    let out = pgsafeguard(
        &[
            "fleet",
            dir.path().join("twice.conf").to_str().unwrap(),
            "--shard",
            "2/2",
        ],
        &[("HOME", home)],
    );
    assert_clean_error(&out, "K/N");
    let ok = dir.path().join("ok.conf");
    std::fs::write(&ok, "[a]\nhost=h\n").unwrap();
    let out = pgsafeguard(
        &[
            "fleet",
            ok.to_str().unwrap(),
            "--format",
            "sarif",
            "--no-store",
        ],
        &[("HOME", home)],
    );
    assert_clean_error(&out, "--output");
    let out = pgsafeguard(
        &[
            "fleet",
            ok.to_str().unwrap(),
            "--group",
            "west",
            "--no-store",
        ],
        &[("HOME", home)],
    );
    assert_clean_error(&out, "west");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Over generated inventories: every target is in exactly one shard.
    #[test]
    fn shards_are_disjoint_and_their_union_is_the_inventory(
        names in proptest::collection::btree_set("[a-z][a-z0-9._@+-]{0,20}", 0..60),
        count in 1u32..12,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("generated.toml");
        let mut text = String::new();
        for name in &names {
            text.push_str(&format!("[[target]]\nname = \"{name}\"\nconninfo = \"host=h{name} user=u dbname=d\"\n"));
        }
        std::fs::write(&path, text).unwrap();
        let inventory = Inventory::load_with_env(&path, Arc::new(Policy::default()), &|_| None).unwrap();
        let all = inventory.select(None, None).unwrap();
        let mut seen = BTreeSet::new();
        for index in 0..count {
            let shard = Shard { index, count };
            for target in all.iter().filter(|t| shard.holds(&t.name)) {
                prop_assert!(seen.insert(target.name.clone()), "{} twice", target.name);
            }
        }
        prop_assert_eq!(seen, names);
    }
}

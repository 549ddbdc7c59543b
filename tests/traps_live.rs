#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use pgsafeguard::checks::evaluate_all;
use pgsafeguard::db::conninfo::ConnParams;
use pgsafeguard::policy::{Attestations, Policy};
use pgsafeguard::scan::{no_progress, scan_live, ScanOptions};
use pgsafeguard::snapshot::Snapshot;
use support::{conf_traps, flagged_hba_rules, hba_traps, Cluster, CLINIC_DB};

fn scan(cluster: &Cluster, sample: bool) -> Snapshot {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let conninfo = cluster.conninfo_socket(
        cluster.superuser(),
        cluster.superuser_password(),
        CLINIC_DB,
        "",
    );
    let params = ConnParams::from_conninfo_with_env(&conninfo, &|_| None).unwrap();
    let opts = ScanOptions {
        sample_phi: sample,
        ..ScanOptions::default()
    };
    rt.block_on(scan_live(&params, &opts, no_progress()))
        .unwrap()
}

fn dump(label: &str, s: &Snapshot) {
    eprintln!("GAPS {label}: {:?}", s.gaps);
    for f in evaluate_all(s, &Policy::default(), &Attestations::default()) {
        if f.status.as_str() == "manual" {
            continue;
        }
        eprintln!(
            "{label} | {} | {} | {} | {:?}",
            f.id, f.status, f.evidence, f.objects
        );
    }
}

#[test]
fn explore_hba() {
    let mut c = hba_traps();
    dump("hba1", &scan(&c, false));
    let r = flagged_hba_rules();
    let r: Vec<&str> = r.iter().map(String::as_str).collect();
    c.set_hba(&r);
    dump("hba2", &scan(&c, false));
}

#[test]
fn explore_conf() {
    let mut c = conf_traps();
    let s = scan(&c, true);
    dump("conf1", &s);
    c.append_conf(&["archive_command = '/bin/true'"]);
    c.reload();
    c.force_wal_archive();
    dump("conf2", &scan(&c, false));
    c.append_conf(&[&format!(
        "archive_command = '{}'",
        support::traps::secret_archive_command()
    )]);
    c.append_conf(&[&format!("ssl_ciphers = '{}'", support::traps::WEAK_CIPHERS)]);
    c.reload();
    let s = scan(&c, false);
    dump("conf3", &s);
    eprintln!(
        "SNAPSHOT HAS SECRET: {}",
        serde_json::to_string(&s)
            .unwrap()
            .contains(support::traps::ARCHIVE_SECRET)
    );
}

//! The Debian package as a user gets it: its control fields, its files, and the packaged
//! binary extracted into a throwaway root (`dpkg -x`) running `--version` and a real
//! `scan` over TLS against a test cluster.
//!
//! The .deb is built by `packaging/build-deb.sh` (tests/run-all.sh runs it before the
//! tests, and in CI also installs it with dpkg); a missing .deb fails here with that
//! command rather than skipping.

// Test code: a failed set-up step should panic with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::plain;

/// Libraries the binary loads with dlopen (cargo-deb's `$auto` cannot see them), and two
/// that `$auto` must have found from the binary's own links.
const DEPENDS: [&str; 10] = [
    "libgl1",
    "libegl1",
    "libx11-6",
    "libx11-xcb1",
    "libxcursor1",
    "libxi6",
    "libxkbcommon-x11-0",
    "libdbus-1-3",
    "libc6",
    "libssl3",
];

const ICON_SIZES: [u32; 9] = [16, 22, 24, 32, 48, 64, 128, 256, 512];

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout_of(cmd: &mut Command) -> String {
    String::from_utf8(run(cmd).stdout).expect("utf-8 output")
}

/// `<target>/debian/pgsafeguard_<version>-1_<arch>.deb`, where cargo-deb writes it.
fn deb_path() -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_pgsafeguard"));
    let target = exe
        .parent()
        .and_then(Path::parent)
        .expect("binary lives in <target>/<profile>/");
    let arch = stdout_of(Command::new("dpkg").arg("--print-architecture"));
    let deb = target.join("debian").join(format!(
        "pgsafeguard_{}-1_{}.deb",
        env!("CARGO_PKG_VERSION"),
        arch.trim()
    ));
    assert!(
        deb.is_file(),
        "no package at {}: build it with `bash packaging/build-deb.sh` (tests/run-all.sh does)",
        deb.display()
    );
    deb
}

/// The package unpacked into a fresh directory, as dpkg would install it.
fn extracted() -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("temp dir");
    run(Command::new("dpkg-deb")
        .arg("-x")
        .arg(deb_path())
        .arg(root.path()));
    root
}

fn field(name: &str) -> String {
    stdout_of(Command::new("dpkg-deb").arg("-f").arg(deb_path()).arg(name))
        .trim()
        .to_string()
}

#[test]
fn control_fields_name_the_version_and_runtime_libraries() {
    assert_eq!(field("Package"), "pgsafeguard");
    assert_eq!(field("Version"), format!("{}-1", env!("CARGO_PKG_VERSION")));
    let depends = field("Depends");
    let names: Vec<&str> = depends
        .split(',')
        .map(|dep| dep.split_whitespace().next().unwrap_or(""))
        .collect();
    for lib in DEPENDS {
        assert!(names.contains(&lib), "Depends lacks {lib}: {depends}");
    }
    let installed_kib: u64 = field("Installed-Size").parse().expect("a number");
    assert!(installed_kib > 1000, "Installed-Size {installed_kib} KiB");
}

#[test]
fn package_holds_binary_desktop_entry_icons_man_page_and_copyright() {
    let listing = stdout_of(Command::new("dpkg-deb").arg("-c").arg(deb_path()));
    let mut expected = vec![
        "./usr/bin/pgsafeguard".to_string(),
        "./usr/share/applications/pgsafeguard.desktop".to_string(),
        "./usr/share/man/man1/pgsafeguard.1.gz".to_string(),
        "./usr/share/doc/pgsafeguard/copyright".to_string(),
        "./usr/share/icons/hicolor/scalable/apps/pgsafeguard.svg".to_string(),
        "./usr/lib/systemd/system/pgsafeguard-fleet.service".to_string(),
        "./usr/lib/systemd/system/pgsafeguard-fleet.timer".to_string(),
        "./usr/share/doc/pgsafeguard/examples/fleet.example.toml".to_string(),
    ];
    expected.extend(
        ICON_SIZES.map(|s| format!("./usr/share/icons/hicolor/{s}x{s}/apps/pgsafeguard.png")),
    );
    for path in &expected {
        assert!(
            listing.lines().any(|line| line.ends_with(path.as_str())),
            "{path} missing from the package:\n{listing}"
        );
    }

    let root = extracted();
    let share = root.path().join("usr/share");
    // The icons are the committed renderings of the app's drawing (tests/icons.rs).
    for size in ICON_SIZES {
        let packaged =
            std::fs::read(share.join(format!("icons/hicolor/{size}x{size}/apps/pgsafeguard.png")))
                .expect("packaged icon");
        let committed = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("assets/icons/pgsafeguard-{size}.png")),
        )
        .expect("committed icon");
        assert!(
            packaged == committed,
            "{size}px icon differs from assets/icons"
        );
    }
    let man = share.join("man/man1/pgsafeguard.1.gz");
    let page = stdout_of(Command::new("gzip").arg("-dc").arg(&man));
    assert!(page.starts_with(".TH PGSAFEGUARD 1"), "{page:.80}");
    let copyright =
        std::fs::read_to_string(share.join("doc/pgsafeguard/copyright")).expect("copyright");
    assert!(copyright.contains("License: MIT"), "{copyright}");
}

#[test]
fn desktop_entry_is_valid_and_starts_the_packaged_binary() {
    let root = extracted();
    let entry = root
        .path()
        .join("usr/share/applications/pgsafeguard.desktop");
    let out = run(Command::new("desktop-file-validate").arg(&entry));
    let complaints = String::from_utf8_lossy(&out.stdout);
    assert!(
        !complaints.contains("error:") && !complaints.contains("warning:"),
        "{complaints}"
    );
    let text = std::fs::read_to_string(&entry).expect("desktop entry");
    let value = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key}= missing"))
            .to_string()
    };
    assert_eq!(value("Exec"), "pgsafeguard");
    assert_eq!(value("Icon"), "pgsafeguard");
    assert_eq!(value("Terminal"), "false");
    // The window's app id, so docks match the window to this entry.
    assert_eq!(value("StartupWMClass"), "pgsafeguard");
    for keyword in ["PostgreSQL", "HIPAA", "security"] {
        assert!(
            value("Keywords").split(';').any(|k| k == keyword),
            "{keyword}"
        );
    }
    assert!(root.path().join("usr/bin").join(value("Exec")).is_file());
}

#[test]
fn packaged_binary_reports_the_version_of_this_build() {
    let root = extracted();
    let packaged =
        stdout_of(Command::new(root.path().join("usr/bin/pgsafeguard")).arg("--version"));
    assert!(
        packaged.starts_with(&format!("pgsafeguard {}\n", env!("CARGO_PKG_VERSION"))),
        "{packaged}"
    );
    // Same catalogue and formats as the binary under test: a stale .deb shows up here.
    let built = stdout_of(Command::new(env!("CARGO_BIN_EXE_pgsafeguard")).arg("--version"));
    assert_eq!(
        packaged, built,
        "the .deb is stale: rebuild it with packaging/build-deb.sh"
    );
}

#[test]
fn packaged_binary_scans_a_test_cluster_over_tls() {
    let root = extracted();
    let cluster = plain().ssl(true).start();
    let conninfo = cluster.conninfo_tcp(
        cluster.superuser(),
        cluster.superuser_password(),
        "postgres",
        &cluster.verify_full(),
    );
    let mut cmd = Command::new(root.path().join("usr/bin/pgsafeguard"));
    cmd.args(["scan", &conninfo, "--format", "json"]);
    let out = support::without_libpq_env(&mut cmd)
        .output()
        .expect("run the packaged pgsafeguard");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 0 or 1 are both scans (1 = a failing check); 2 would be an error.
    assert!(matches!(out.status.code(), Some(0 | 1)), "stderr: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(report["schema"], "pgsafeguard.scan/1");
    assert_eq!(report["target"]["sslmode"], "verify-full");
    assert!(!report["target"]["tls"].is_null(), "scan was not over TLS");
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert_eq!(ids.len(), pgsafeguard::checks::CATALOGUE_IDS.len());
    for id in pgsafeguard::checks::CATALOGUE_IDS {
        assert!(
            ids.contains(id),
            "{id} missing from the packaged binary's scan"
        );
    }
}

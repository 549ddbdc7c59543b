//! `--version`, `--help` and `help <command>`: exit 0, text on stdout, and the content a
//! user or a bug report needs.

// Test code: a failed set-up step should panic with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Command;

fn stdout_ok(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_pgsafeguard"))
        .args(args)
        .output()
        .expect("run pgsafeguard");
    assert_eq!(out.status.code(), Some(0), "{args:?}: {:?}", out.stderr);
    assert!(out.stderr.is_empty(), "{args:?}: {:?}", out.stderr);
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn version_names_catalogue_and_formats() {
    let text = stdout_ok(&["--version"]);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(format!("pgsafeguard {}", env!("CARGO_PKG_VERSION")).as_str())
    );
    let catalogue = format!("{} checks", pgsafeguard::checks::CATALOGUE_IDS.len());
    assert!(text.contains(&catalogue), "{text}");
    assert!(text.contains(pgsafeguard::output::SCAN_SCHEMA), "{text}");
    assert!(
        text.contains(&format!(
            "snapshot schema {}",
            pgsafeguard::model::snapshot::SCHEMA_VERSION
        )),
        "{text}"
    );
    // -V stays one line for scripts.
    assert_eq!(
        stdout_ok(&["-V"]).trim_end(),
        format!("pgsafeguard {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_lists_commands_and_examples() {
    let text = stdout_ok(&["--help"]);
    for command in ["scan", "report", "verify", "fix", "demo", "help"] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(command)),
            "{command} not listed:\n{text}"
        );
    }
    assert!(text.contains("Examples:"), "{text}");
    assert!(text.contains("pgsafeguard scan "), "{text}");
    assert!(text.contains("Exit codes"), "{text}");
}

#[test]
fn help_scan_explains_the_command() {
    let text = stdout_ok(&["help", "scan"]);
    assert!(text.contains("Usage: pgsafeguard scan"), "{text}");
    assert!(text.contains("read-only transaction"), "{text}");
    assert!(text.contains("--format"), "{text}");
    assert!(text.contains("Exit codes"), "{text}");
    assert_eq!(text, stdout_ok(&["scan", "--help"]));
}

/// Each command's long help (help <command>) says more than its one-line summary (-h).
#[test]
fn every_command_has_a_long_description() {
    for command in ["scan", "report", "verify", "fix"] {
        let long = stdout_ok(&["help", command]);
        let short = stdout_ok(&[command, "-h"]);
        let summary = short.lines().next().unwrap_or_default().to_string();
        let first_paragraph_after_summary =
            long.split("\n\n").nth(1).unwrap_or_default().to_string();
        assert!(
            !first_paragraph_after_summary.starts_with("Usage:")
                && first_paragraph_after_summary.len() > summary.len(),
            "{command}: no long description:\n{long}"
        );
    }
}

//! Tests of the whole comparison (determinism, hostile names, the JSON contract) and
//! the builders the per-file tests share.

use super::*;
use crate::model::finding::Severity;
use crate::model::snapshot::{
    hba_rule, AclItem, Column, DatabaseAccess, DatabaseFacts, Extension, HbaRule, Relation, Role,
    Setting,
};
use crate::model::untrusted::needs_escape;
use std::collections::BTreeMap;

/// A snapshot with every compared part collected and empty, one database `clinic`.
pub(crate) fn snapshot() -> Snapshot {
    Snapshot {
        roles: Some(Vec::new()),
        hba_rules: Some(Vec::new()),
        settings: Some(BTreeMap::new()),
        database_access: Some(vec![DatabaseAccess {
            name: "clinic".into(),
            allow_connections: true,
            acl: Vec::new(),
        }]),
        databases: vec![DatabaseFacts {
            name: "clinic".into(),
            relations: Some(Vec::new()),
            schemas: Some(Vec::new()),
            extensions: Some(Vec::new()),
            ..DatabaseFacts::default()
        }],
        ..Snapshot::default()
    }
}

pub(crate) fn role(name: &str, superuser: bool) -> Role {
    Role {
        name: name.into(),
        superuser,
        can_login: true,
        ..Role::default()
    }
}

pub(crate) fn setting(value: &str, source: &str, file: Option<&str>) -> Setting {
    Setting {
        setting: Some(value.into()),
        source: source.into(),
        sourcefile: file.map(Into::into),
        ..Setting::default()
    }
}

pub(crate) fn finding(id: &str, status: Status, objects: &[&str]) -> Finding {
    Finding {
        id: id.into(),
        section: Section::Access,
        title: format!("title of {id}"),
        severity: Severity::High,
        status,
        hipaa: Vec::new(),
        cis: None,
        evidence: String::new(),
        objects: objects.iter().map(|o| (*o).to_string()).collect(),
        reason: None,
        grant: None,
        attestation: None,
        accepted: None,
        fix: None,
        rationale: String::new(),
        reproduce_sql: String::new(),
        proofs: Vec::new(),
    }
}

/// One object change, compared with `(name, change, before, after)` in tests.
#[derive(Debug)]
pub(crate) struct Row {
    pub name: String,
    pub change: Appearance,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl PartialEq<(&str, Appearance, Option<&str>, Option<&str>)> for Row {
    fn eq(
        &self,
        (name, change, before, after): &(&str, Appearance, Option<&str>, Option<&str>),
    ) -> bool {
        self.name == *name
            && self.change == *change
            && self.before.as_deref() == *before
            && self.after.as_deref() == *after
    }
}

/// The object changes of one kind between two snapshots.
pub(crate) fn changes_of(old: &Snapshot, new: &Snapshot, kind: ObjectKind) -> Vec<Row> {
    let (changes, _) = objects::compare(old, new);
    changes
        .into_iter()
        .filter(|c| c.kind == kind)
        .map(|c| Row {
            name: c.name,
            change: c.change,
            before: c.before,
            after: c.after,
        })
        .collect()
}

fn side<'a>(snapshot: &'a Snapshot, findings: &'a [Finding], label: &str) -> ScanSide<'a> {
    ScanSide {
        snapshot,
        findings,
        label: label.into(),
    }
}

/// Two scans where one of everything happened: a new superuser on a failing check,
/// a fixed check, an inserted trust line, a setting moved to postgresql.auto.conf,
/// a PUBLIC grant on a PHI table.
fn busy_pair() -> ((Snapshot, Vec<Finding>), (Snapshot, Vec<Finding>)) {
    let mut old = snapshot();
    let mut new = snapshot();
    old.roles = Some(vec![role("postgres", true), role("app", false)]);
    new.roles = Some(vec![role("postgres", true), role("app", true)]);
    let local = |line| hba_rule(line, "local", "all", "postgres", None, "peer");
    let trust = hba_rule(
        1,
        "host",
        "all",
        "all",
        Some(("0.0.0.0", "0.0.0.0")),
        "trust",
    );
    old.hba_rules = Some(vec![local(1)]);
    new.hba_rules = Some(vec![trust, local(2)]);
    old.settings = Some(BTreeMap::from([(
        "ssl".to_string(),
        setting("on", "configuration file", Some("/etc/postgresql.conf")),
    )]));
    new.settings = Some(BTreeMap::from([(
        "ssl".to_string(),
        setting(
            "on",
            "configuration file",
            Some("/data/postgresql.auto.conf"),
        ),
    )]));
    let patients = Relation {
        schema: "public".into(),
        name: "patients".into(),
        kind: "r".into(),
        columns: vec![Column {
            name: "ssn".into(),
            type_name: "text".into(),
            acl: Vec::new(),
        }],
        ..Relation::default()
    };
    let mut exposed = patients.clone();
    exposed.acl = vec![AclItem {
        grantee: "PUBLIC".into(),
        grantor: "postgres".into(),
        privileges: "r".into(),
        grantable: String::new(),
    }];
    old.databases[0].relations = Some(vec![patients]);
    new.databases[0].relations = Some(vec![exposed]);
    let old_findings = vec![
        finding("PRIV-001", Status::Fail, &["postgres"]),
        finding("TLS-001", Status::Fail, &[]),
        finding("PRIV-003", Status::Pass, &[]),
    ];
    let new_findings = vec![
        finding("PRIV-003", Status::Fail, &["public.patients"]),
        finding("PRIV-001", Status::Fail, &["app", "postgres"]),
        finding("TLS-001", Status::Pass, &[]),
    ];
    ((old, old_findings), (new, new_findings))
}

fn busy_drift() -> Drift {
    let ((old, old_findings), (new, new_findings)) = busy_pair();
    compare(
        &side(&old, &old_findings, "scan #1, 2026-12-01T10:00:00Z"),
        &side(&new, &new_findings, "scan #2, 2026-12-08T10:00:00Z"),
    )
}

#[test]
fn a_busy_week_reads_as_an_auditor_expects() {
    let drift = busy_drift();
    assert!(drift.regressed());
    assert_eq!(
        drift.counts(),
        ChangeCounts {
            new_fail: 1,
            regressed: 0,
            improved: 0,
            fixed: 1,
            unchanged: 1,
            appeared: 3,
            disappeared: 0,
            changed: 2,
        },
        "{drift:#?}"
    );
    let text = drift.to_text();
    for line in [
        "Changes from scan #1, 2026-12-01T10:00:00Z",
        "          to scan #2, 2026-12-08T10:00:00Z",
        "checks: 1 new fail, 0 regressed, 0 improved, 1 fixed, 1 unchanged",
        "New failures:",
        "  PRIV-003  title of PRIV-003 (pass → fail)",
        "            appeared: 1 object(s): public.patients",
        "Fixed:",
        "  TLS-001   title of TLS-001 (fail → pass)",
        "Same standing, changed details:",
        "  PRIV-001  title of PRIV-001 (fail → fail)",
        "            appeared: 1 object(s): app",
        "  ~ app: LOGIN → SUPERUSER LOGIN",
        "  + app: LOGIN",
        "  + host all all 0.0.0.0 0.0.0.0 trust: line 1",
        "  + TABLE clinic.public.patients: SELECT to PUBLIC: granted by postgres",
        "  ~ ssl: 'on' (configuration file: /etc/postgresql.conf) → 'on' (configuration file: /data/postgresql.auto.conf)",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    assert!(!text.contains("No changes."), "{text}");
}

#[test]
fn nothing_changed_says_so_and_does_not_regress() {
    let ((old, findings), _) = busy_pair();
    let drift = compare(&side(&old, &findings, "a"), &side(&old, &findings, "b"));
    assert!(!drift.regressed());
    assert!(drift.objects.is_empty() && drift.notes.is_empty());
    assert!(drift.checks.iter().all(|c| c.change == Change::Unchanged));
    assert!(
        drift.to_text().ends_with("\nNo changes.\n"),
        "{}",
        drift.to_text()
    );
}

#[test]
fn improvements_and_fixes_alone_do_not_regress() {
    let old = [
        finding("A-1", Status::Fail, &["x"]),
        finding("A-2", Status::Warn, &[]),
    ];
    let new = [
        finding("A-1", Status::Warn, &["x"]),
        finding("A-2", Status::Pass, &[]),
    ];
    let s = snapshot();
    let drift = compare(&side(&s, &old, "a"), &side(&s, &new, "b"));
    let changes: Vec<Change> = drift.checks.iter().map(|c| c.change).collect();
    assert_eq!(changes, [Change::Improved, Change::Fixed]);
    assert!(!drift.regressed());
}

#[test]
fn the_same_scans_give_byte_identical_output_whatever_their_order_of_rows() {
    let ((mut old, mut old_findings), (mut new, mut new_findings)) = busy_pair();
    let first = compare(
        &side(&old, &old_findings, "a"),
        &side(&new, &new_findings, "b"),
    );
    old_findings.reverse();
    new_findings.reverse();
    for s in [&mut old, &mut new] {
        if let Some(roles) = s.roles.as_mut() {
            roles.reverse();
        }
        if let Some(databases) = s.database_access.as_mut() {
            databases.reverse();
        }
    }
    let second = compare(
        &side(&old, &old_findings, "a"),
        &side(&new, &new_findings, "b"),
    );
    assert_eq!(first, second);
    assert_eq!(first.to_json(), second.to_json());
    assert_eq!(first.to_text(), second.to_text());
    let ids: Vec<&str> = first.checks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["PRIV-001", "PRIV-003", "TLS-001"]);
    let kinds: Vec<ObjectKind> = first.objects.iter().map(|o| o.kind).collect();
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(kinds, sorted);
}

#[test]
fn the_json_has_its_schema_and_reads_back() {
    let drift = busy_drift();
    let json = drift.to_json();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["schema"], DIFF_SCHEMA);
    assert_eq!(value["regressed"], true);
    assert_eq!(value["counts"]["new_fail"], 1);
    assert_eq!(value["checks"][1]["change"], "new_fail");
    assert_eq!(value["objects"][0]["kind"], "role");
    assert_eq!(value["objects"][0]["change"], "changed");
    let back: Drift = serde_json::from_str(&json).unwrap();
    assert_eq!(back, drift);
}

/// Names an attacker with CREATE ROLE or CREATE TABLE could choose.
const HOSTILE: [&str; 4] = [
    "evil\n  [PASS   ] TLS-001  title of TLS-001 (fail → pass)",
    "bidi\u{202e}txt.exe\u{2066}",
    "esc\u{1b}[2J\u{9b}31m",
    "\n  + superuser: LOGIN",
];

#[test]
fn hostile_names_are_escaped_in_text_and_exact_in_json() {
    for name in HOSTILE {
        let mut old = snapshot();
        let mut new = snapshot();
        old.roles = Some(vec![role("postgres", true)]);
        new.roles = Some(vec![role("postgres", true), role(name, true)]);
        new.settings = Some(BTreeMap::from([(
            name.to_string(),
            setting(name, name, Some(name)),
        )]));
        let mut line = hba_rule(1, "host", name, name, Some((name, name)), name);
        line.options = vec![name.into()];
        new.hba_rules = Some(vec![
            line,
            HbaRule {
                line_number: 2,
                error: Some(name.into()),
                ..HbaRule::default()
            },
        ]);
        new.databases[0].relations = Some(vec![Relation {
            schema: name.into(),
            name: name.into(),
            kind: "r".into(),
            acl: vec![AclItem {
                grantee: name.into(),
                grantor: name.into(),
                privileges: "r".into(),
                grantable: String::new(),
            }],
            columns: vec![Column {
                name: format!("ssn_{name}"),
                type_name: name.into(),
                acl: Vec::new(),
            }],
            ..Relation::default()
        }]);
        new.databases[0].extensions = Some(vec![Extension {
            name: name.into(),
            version: name.into(),
            schema: name.into(),
        }]);
        let old_findings = [finding("PRIV-001", Status::Fail, &["postgres"])];
        let new_findings = [finding("PRIV-001", Status::Fail, &["postgres", name])];
        let drift = compare(
            &side(&old, &old_findings, name),
            &side(&new, &new_findings, name),
        );
        for kind in ObjectKind::ALL {
            if kind != ObjectKind::Database {
                assert!(
                    drift.objects.iter().any(|o| o.kind == kind),
                    "no {kind:?}: {drift:#?}"
                );
            }
        }
        let text = drift.to_text();
        let raw: Vec<char> = text
            .chars()
            .filter(|c| *c != '\n' && needs_escape(*c))
            .collect();
        assert!(raw.is_empty(), "raw {raw:?} in\n{text}");
        // Every line is one we wrote: a heading, a check, or an indented item.
        for line in text.lines() {
            let ours = line.is_empty()
                || ["Changes from ", "          to ", "checks: ", "objects: "]
                    .iter()
                    .any(|p| line.starts_with(p))
                || line.ends_with(':') && !line.starts_with(' ')
                || line.starts_with("  PRIV-001  ")
                || line.starts_with("            appeared: ")
                || ["  + ", "  - ", "  ~ "].iter().any(|p| line.starts_with(p));
            assert!(ours, "forged line {line:?} in\n{text}");
        }
        assert!(!text.contains("\n  [PASS"), "{text}");
        let object_lines = text.lines().filter(|l| l.starts_with("  + ")).count();
        assert_eq!(object_lines, drift.counts().appeared, "{text}");
        // JSON keeps the exact names and lets no raw control or bidi character out.
        let json = drift.to_json();
        assert!(
            !json.chars().any(|c| c != '\n' && needs_escape(c)),
            "{json}"
        );
        let back: Drift = serde_json::from_str(&json).unwrap();
        assert!(back
            .objects
            .iter()
            .any(|o| o.kind == ObjectKind::Role && o.name == name));
        assert_eq!(back.checks[0].appeared, [name]);
    }
}

//! AUD-002: pgaudit.log records ddl, role and write for every kind of
//! session, and no level setting drops those lines before the log.

use super::{level_rank, pgaudit_not_loaded, pgaudit_preload};
use crate::checks::facts::{describe, is_on, value};
use crate::checks::login_settings::{
    base_setting, reset_listed, sessions, Origin, SessionKind, SCOPE_NOTE,
};
use crate::checks::{Check, Fix, Prerequisites, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::model::statement::{alter_system_set, restore_parameter};
use crate::policy::Policy;

pub static PGAUDIT_LOG_CLASSES: Check = Check {
    id: "AUD-002",
    section: Section::Audit,
    title: "pgAudit logs DDL, role changes and writes",
    severity: Severity::High,
    hipaa: &["164.312(b)", "164.308(a)(1)(ii)(D)"],
    cis: Some("3.2"),
    rationale: "A loaded pgAudit with pgaudit.log = none (the default) records nothing. The \
        classes ddl, role and write record schema changes, privilege changes and every \
        change to data, the minimum an activity review needs; `all` with exclusions \
        (`all,-misc`) counts when those three survive. When pgAudit is not preloaded its \
        settings do not appear in pg_settings at all; that is a fail, not unknown, \
        because shared_preload_libraries shows it is absent. Every role, database and \
        function setting is judged too, together with log_min_messages and \
        pgaudit.log_client / pgaudit.log_level, which can drop a scope's audit lines before \
        they reach the log. High: without it changes to PHI leave no trace.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings \
        WHERE name IN ('shared_preload_libraries', 'pgaudit.log');",
    evaluate: pgaudit_log_classes,
    fix: Fix::After(
        Prerequisites {
            needs_first: &["AUD-001"],
            restart_between: true,
            needs_input: None,
        },
        &Fix::Build(widen_pgaudit_log),
    ),
};

/// pgaudit.log classes as bits, in pgAudit's own vocabulary.
const AUDIT_CLASSES: &[(&str, u8)] = &[
    ("read", 1),
    ("write", 2),
    ("function", 4),
    ("role", 8),
    ("ddl", 16),
    ("misc", 32),
    ("misc_set", 64),
];
const ALL_CLASSES: u8 = 127;
const REQUIRED_CLASSES: &[&str] = &["ddl", "role", "write"];

/// The classes a pgaudit.log value enables, applied left to right as
/// pgAudit does: `all` adds every class, `-x` removes one, `none` adds none.
fn audit_classes(raw: &str) -> u8 {
    raw.split(',').fold(0u8, |bits, item| {
        let item = item.trim().to_ascii_lowercase();
        let (remove, name) = match item.strip_prefix('-') {
            Some(rest) => (true, rest.trim().to_string()),
            None => (false, item),
        };
        let class = if name == "all" {
            ALL_CLASSES
        } else {
            AUDIT_CLASSES
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(0, |(_, bit)| *bit)
        };
        if remove {
            bits & !class
        } else {
            bits | class
        }
    })
}

fn missing_classes(raw: &str) -> Vec<&'static str> {
    let bits = audit_classes(raw);
    REQUIRED_CLASSES
        .iter()
        .copied()
        .filter(|name| {
            AUDIT_CLASSES
                .iter()
                .any(|(n, bit)| n == name && bits & bit == 0)
        })
        .collect()
}

/// What decides whether a session's audit lines reach the server log: the
/// classes it audits, and the level its lines are written at (`log`, or
/// pgaudit.log_level when pgaudit.log_client is on) against log_min_messages.
const AUDIT_LINE: [&str; 4] = [
    "pgaudit.log",
    "log_min_messages",
    "pgaudit.log_client",
    "pgaudit.log_level",
];

/// What the settings after pgaudit.log are when a hand-made snapshot leaves
/// them out (the server and pgAudit defaults); a collected snapshot with
/// pgAudit loaded always has them.
const AUDIT_LINE_DEFAULTS: [&str; 4] = ["none", "warning", "off", "log"];

fn pgaudit_log_classes(s: &Snapshot, _: &Policy) -> Verdict {
    let (spl, loaded) = match pgaudit_preload(s) {
        Ok(found) => found,
        Err(unknown) => return unknown,
    };
    if !loaded {
        return pgaudit_not_loaded(spl);
    }
    let base = base_setting(s, "pgaudit.log");
    let kinds = match sessions(s, &AUDIT_LINE) {
        Ok(kinds) => kinds,
        Err(unknown) => return unknown,
    };
    // (object, wording), in the order found: the server-wide value first.
    let mut gaps: Vec<(String, String)> = Vec::new();
    let mut undecided = false;
    for kind in &kinds {
        match audit_line_gaps(s, kind) {
            Some(found) => {
                for gap in found {
                    if !gaps.iter().any(|(o, _)| *o == gap.0) {
                        gaps.push(gap);
                    }
                }
            }
            None => undecided = true,
        }
    }
    if !gaps.is_empty() {
        let wording: Vec<&str> = gaps.iter().map(|(_, w)| w.as_str()).collect();
        return Verdict::fail(wording.join("; ")).with_objects(gaps.into_iter().map(|(o, _)| o));
    }
    match base {
        Err(unknown) => unknown,
        Ok(_) if undecided => Verdict::unknown(
            "a setting that decides whether audit lines reach the log (log_min_messages, \
             pgaudit.log_client, pgaudit.log_level) is hidden by the scanner's own role or \
             database settings; scan as a role without such settings",
            None,
        ),
        Ok(setting) => Verdict::pass(format!(
            "{}; {SCOPE_NOTE}",
            describe("pgaudit.log", setting)
        )),
    }
}

/// Why one kind of session leaves no usable audit trail, as (object,
/// wording) pairs; `None` when a value it needs is hidden.
fn audit_line_gaps(s: &Snapshot, kind: &SessionKind) -> Option<Vec<(String, String)>> {
    let mut values = [""; 4];
    for (i, origin) in kind.values.iter().enumerate() {
        values[i] = match origin.value() {
            Some(v) => v,
            // pgaudit.log itself is never guessed (its absence is a gap).
            None if i > 0 && s.setting(AUDIT_LINE[i]).is_none() => AUDIT_LINE_DEFAULTS[i],
            None => return None,
        };
    }
    let [log, min_messages, client, level] = values;
    let culprit = |i: usize| match kind.values[i] {
        Origin::Override(o) => (o.object(), o.object()),
        Origin::Base(setting) => (AUDIT_LINE[i].to_string(), describe(AUDIT_LINE[i], setting)),
        Origin::Hidden => (
            AUDIT_LINE[i].to_string(),
            format!("{} = {}", AUDIT_LINE[i], values[i]),
        ),
    };
    let mut gaps = Vec::new();
    let missing = missing_classes(log);
    if audit_classes(log) == 0 {
        let (object, seen) = culprit(0);
        gaps.push((
            object,
            format!("{seen}: pgAudit is loaded but logs nothing"),
        ));
    } else if !missing.is_empty() {
        let (object, seen) = culprit(0);
        gaps.push((
            object,
            format!("{seen}: missing class(es) {}", missing.join(", ")),
        ));
    }
    // Lines are written at `log`, or at pgaudit.log_level when
    // pgaudit.log_client is on; below log_min_messages they are dropped.
    let below = |line: &str| {
        matches!(
            (level_rank(line), level_rank(min_messages)),
            (Some(line), Some(min)) if line < min
        )
    };
    let mut culprits = Vec::new();
    if below("log") {
        culprits.push(1);
    }
    if is_on(client) && below(level) {
        culprits.extend([2, 3]);
    }
    let line_level = if is_on(client) { level } else { "log" };
    for i in culprits {
        let (object, seen) = culprit(i);
        gaps.push((
            object,
            format!(
                "{seen}: audit lines (level {line_level}) fall below log_min_messages = \
                 {min_messages} and never reach the server log"
            ),
        ));
    }
    Some(gaps)
}

/// Keep the classes already logged and add the missing ones (items apply in
/// order, so appending also undoes an earlier `-ddl`); put server-wide
/// settings that silence audit lines back to their defaults; reset the
/// role, database and function settings the verdict lists.
fn widen_pgaudit_log(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let raw = s.setting("pgaudit.log").map(value).unwrap_or("");
    let new_value = if audit_classes(raw) == 0 {
        REQUIRED_CLASSES.join(",")
    } else {
        let mut items: Vec<&str> = vec![raw.trim()];
        items.extend(missing_classes(raw));
        items.join(",")
    };
    let listed =
        |name: &str| verdict.objects.is_empty() || verdict.objects.iter().any(|o| o == name);
    let mut plan = FixPlan {
        apply: vec![ApplyClass::Reload],
        needs: "superuser (ALTER SYSTEM)".into(),
        ..FixPlan::default()
    };
    for (name, fixed) in [
        ("pgaudit.log", new_value.as_str()),
        ("log_min_messages", "warning"),
        ("pgaudit.log_client", "off"),
    ] {
        if listed(name) && (name == "pgaudit.log" || !verdict.objects.is_empty()) {
            plan.statements.push(alter_system_set(name, fixed));
            plan.rollback.push(restore_parameter(s, name));
        }
    }
    let resets = reset_listed(s, &verdict.objects, &AUDIT_LINE);
    let mut notes = vec![
        "pgAudit must be preloaded first (AUD-001): ALTER SYSTEM rejects pgaudit.* settings \
         the server does not know"
            .to_string(),
    ];
    notes.push(resets.note());
    notes.retain(|n| !n.is_empty());
    plan.note = notes.join("; ");
    plan.statements.extend(resets.statements);
    plan.rollback.extend(resets.rollback);
    plan
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::pgaudit_ready;
    use crate::checks::testkit::Case;
    vec![Case::new(
        "AUD-002",
        pgaudit_ready(&[("pgaudit.log", "all,-misc")]),
        pgaudit_ready(&[("pgaudit.log", "none")]),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::audit::eval;
    use crate::checks::testkit::with_settings;
    use crate::model::finding::Status;

    #[test]
    fn pgaudit_log_class_arithmetic() {
        assert!(missing_classes("ddl,role,write").is_empty());
        assert!(missing_classes("ALL").is_empty());
        assert!(missing_classes("all, -misc, -read").is_empty());
        assert_eq!(missing_classes("all,-ddl"), vec!["ddl"]);
        assert_eq!(missing_classes("none"), vec!["ddl", "role", "write"]);
        assert_eq!(missing_classes("read,ddl"), vec!["role", "write"]);
        assert_eq!(missing_classes("all,-ddl,ddl"), Vec::<&str>::new());
    }

    #[test]
    fn pgaudit_settings_without_the_library_fail_not_unknown() {
        // pg_settings shows no pgaudit.* rows when pgAudit is not preloaded.
        let s = with_settings(&[("shared_preload_libraries", "")]);
        let v = eval(&PGAUDIT_LOG_CLASSES, &s);
        assert_eq!(v.status, Status::Fail);
        assert!(v.evidence.contains("pgaudit not loaded"));
        // Loaded but the row is hidden: unknown with a grant.
        let s = with_settings(&[("shared_preload_libraries", "pgaudit")]);
        let v = eval(&PGAUDIT_LOG_CLASSES, &s);
        assert_eq!(v.status, Status::Unknown);
        assert!(v.grant.is_some());
        // Loaded and logging nothing.
        let s = with_settings(&[
            ("shared_preload_libraries", "pgaudit"),
            ("pgaudit.log", "none"),
        ]);
        assert!(eval(&PGAUDIT_LOG_CLASSES, &s)
            .evidence
            .contains("logs nothing"));
    }

    #[test]
    fn pgaudit_log_fix_keeps_existing_classes() {
        let s = with_settings(&[
            ("shared_preload_libraries", "pgaudit"),
            ("pgaudit.log", "read,-x"),
        ]);
        let plan = widen_pgaudit_log(&s, &eval(&PGAUDIT_LOG_CLASSES, &s));
        assert_eq!(
            plan.statements,
            vec!["ALTER SYSTEM SET \"pgaudit.log\" = 'read,-x,ddl,role,write'"]
        );
        let s = with_settings(&[
            ("shared_preload_libraries", "pgaudit"),
            ("pgaudit.log", "none"),
        ]);
        let plan = widen_pgaudit_log(&s, &eval(&PGAUDIT_LOG_CLASSES, &s));
        assert_eq!(
            plan.statements,
            vec!["ALTER SYSTEM SET \"pgaudit.log\" = 'ddl,role,write'"]
        );
    }
}

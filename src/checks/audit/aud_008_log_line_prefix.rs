//! AUD-008: log_line_prefix names the time, process, user, database,
//! application and client of every line.

use crate::checks::facts::{describe, need_setting, value};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;
use std::collections::BTreeSet;

pub static LOG_LINE_PREFIX: Check = Check {
    id: "AUD-008",
    section: Section::Audit,
    title: "Each log line says when, which process, who, where and from which application",
    severity: Severity::Medium,
    hipaa: &["164.312(b)"],
    cis: Some("3.1.24"),
    rationale: "A log line without user, database, client and time cannot be tied to a \
        person or replayed in order during an investigation. Required escapes: a \
        millisecond timestamp (%m, or %n), the process (%p, or the session id %c), user \
        (%u), database (%d), application (%a) and client host (%h, or %r with the port). \
        Padding such as %-10u counts. Medium: the audit trail exists but is hard to use.",
    reproduce_sql:
        "SELECT setting, source, sourcefile FROM pg_settings WHERE name = 'log_line_prefix';",
    evaluate: log_line_prefix,
    fix: Fix::SetParameter {
        name: "log_line_prefix",
        value: "%m [%p] %q%u@%d app=%a client=%h ",
        apply: &[ApplyClass::Reload],
        note: "keep any extra escapes your log shipper parses",
    },
};

/// Each required field and the escapes that provide it.
const PREFIX_FIELDS: &[(&str, &[char])] = &[
    ("%m", &['m', 'n']),
    ("%p", &['p', 'c']),
    ("%u", &['u']),
    ("%d", &['d']),
    ("%a", &['a']),
    ("%h", &['h', 'r']),
];

/// The escape letters used in a log_line_prefix (`%%` is a literal percent;
/// `%-10u` is `u` with padding).
fn prefix_escapes(prefix: &str) -> BTreeSet<char> {
    let mut found = BTreeSet::new();
    let mut chars = prefix.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        let escape = chars.find(|c| *c != '-' && !c.is_ascii_digit());
        match escape {
            Some('%') | None => {}
            Some(letter) => {
                found.insert(letter);
            }
        }
    }
    found
}

fn log_line_prefix(s: &Snapshot, _: &Policy) -> Verdict {
    let setting = match need_setting(s, "log_line_prefix") {
        Ok(v) => v,
        Err(unknown) => return unknown,
    };
    let seen = describe("log_line_prefix", setting);
    let escapes = prefix_escapes(value(setting));
    let missing: Vec<&str> = PREFIX_FIELDS
        .iter()
        .filter(|(_, accepted)| !accepted.iter().any(|c| escapes.contains(c)))
        .map(|(name, _)| *name)
        .collect();
    if missing.is_empty() {
        Verdict::pass(seen)
    } else {
        Verdict::fail(format!("{seen}: missing {}", missing.join(", ")))
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
    vec![Case::new(
        "AUD-008",
        with_settings(&[("log_line_prefix", "%m [%p] %q%u@%d app=%a client=%h ")]),
        with_settings(&[("log_line_prefix", "%m [%p] ")]),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::audit::eval;
    use crate::checks::testkit::with_settings;
    use crate::model::finding::Status;

    #[test]
    fn log_line_prefix_escapes_are_parsed() {
        let e = prefix_escapes("%%m %-10u %5d %a %r %c %n");
        assert!(!e.contains(&'m'));
        for c in ['u', 'd', 'a', 'r', 'c', 'n'] {
            assert!(e.contains(&c), "{c}");
        }
        let s = with_settings(&[("log_line_prefix", "%n %c %-10u %d %a %r ")]);
        assert_eq!(eval(&LOG_LINE_PREFIX, &s).status, Status::Pass);
        let s = with_settings(&[("log_line_prefix", "%%m %p %u %d %a %h")]);
        let v = eval(&LOG_LINE_PREFIX, &s);
        assert!(v.evidence.ends_with("missing %m"), "{}", v.evidence);
    }
}

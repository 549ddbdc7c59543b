//! The diff for a person: the checks whose standing or objects moved, grouped by how
//! they moved, then the objects by kind (`+` appeared, `-` disappeared, `~` changed),
//! then what could not be compared. Every string from a server goes through
//! [`untrusted`], so no line of it can pass for one of ours.

use super::{Appearance, Change, CheckChange, Drift, ObjectChange, ObjectKind};
use crate::model::finding::Status;
use crate::model::untrusted;
use std::fmt::Write as _;

/// How many objects of a check's finding are named before summarising.
const CHECK_OBJECTS_SHOWN: usize = 20;
/// How many changes of one object kind are listed; the JSON has all of them.
const CHANGES_PER_KIND: usize = 50;

/// The groups of checks, in the order a reader wants them.
const GROUPS: [(Change, &str); 4] = [
    (Change::NewFail, "New failures"),
    (Change::Regressed, "Regressed"),
    (Change::Improved, "Improved"),
    (Change::Fixed, "Fixed"),
];

pub(super) fn render(drift: &Drift) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Changes from {}", untrusted::text(&drift.old));
    let _ = writeln!(out, "          to {}", untrusted::text(&drift.new));
    let c = drift.counts();
    let _ = writeln!(
        out,
        "checks: {} new fail, {} regressed, {} improved, {} fixed, {} unchanged",
        c.new_fail, c.regressed, c.improved, c.fixed, c.unchanged
    );
    let _ = writeln!(
        out,
        "objects: {} appeared, {} disappeared, {} changed",
        c.appeared, c.disappeared, c.changed
    );
    for (change, heading) in GROUPS {
        let group: Vec<&CheckChange> = drift.checks.iter().filter(|x| x.change == change).collect();
        write_checks(&mut out, heading, &group);
    }
    let details: Vec<&CheckChange> = drift
        .checks
        .iter()
        .filter(|x| x.change == Change::Unchanged && x.is_notable())
        .collect();
    write_checks(&mut out, "Same standing, changed details", &details);
    for kind in ObjectKind::ALL {
        let of_kind: Vec<&ObjectChange> = drift.objects.iter().filter(|o| o.kind == kind).collect();
        write_objects(&mut out, kind, &of_kind);
    }
    if !drift.notes.is_empty() {
        let _ = writeln!(out, "\nNot compared:");
        for note in &drift.notes {
            let _ = writeln!(out, "  {}", untrusted::text(note));
        }
    }
    if !drift.checks.iter().any(CheckChange::is_notable) && drift.objects.is_empty() {
        let _ = writeln!(out, "\nNo changes.");
    }
    out
}

fn write_checks(out: &mut String, heading: &str, checks: &[&CheckChange]) {
    if checks.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{heading}:");
    for check in checks {
        let _ = writeln!(
            out,
            "  {:<9} {} ({} → {})",
            untrusted::text(&check.id),
            untrusted::text(&check.title),
            status(check.old),
            status(check.new)
        );
        for (word, objects) in [
            ("appeared", &check.appeared),
            ("disappeared", &check.disappeared),
        ] {
            if !objects.is_empty() {
                let _ = writeln!(out, "            {word}: {}", listed(objects));
            }
        }
    }
}

fn status(status: Option<Status>) -> &'static str {
    status.map_or("absent", Status::as_str)
}

/// "N object(s): a, b … and M more", each name through [`untrusted::name`].
fn listed(objects: &[String]) -> String {
    let names: Vec<String> = objects
        .iter()
        .take(CHECK_OBJECTS_SHOWN)
        .map(|o| untrusted::name(o))
        .collect();
    let mut text = format!("{} object(s): {}", objects.len(), names.join(", "));
    let more = objects.len().saturating_sub(CHECK_OBJECTS_SHOWN);
    if more > 0 {
        let _ = write!(text, " … and {more} more");
    }
    text
}

fn write_objects(out: &mut String, kind: ObjectKind, changes: &[&ObjectChange]) {
    if changes.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}:", kind.title());
    for change in changes.iter().take(CHANGES_PER_KIND) {
        let name = object_name(change);
        let value = |v: &Option<String>| untrusted::text(v.as_deref().unwrap_or(""));
        let _ = match change.change {
            Appearance::Appeared => writeln!(out, "  + {name}: {}", value(&change.after)),
            Appearance::Disappeared => writeln!(out, "  - {name}: {}", value(&change.before)),
            Appearance::Changed => writeln!(
                out,
                "  ~ {name}: {} → {}",
                value(&change.before),
                value(&change.after)
            ),
        };
    }
    let more = changes.len().saturating_sub(CHANGES_PER_KIND);
    if more > 0 {
        let _ = writeln!(out, "  … and {more} more (the JSON output lists every one)");
    }
}

/// Plain names (a role, a setting, a database) are shown as names; composite ones
/// already quote their identifiers and are shown as text.
fn object_name(change: &ObjectChange) -> String {
    match change.kind {
        ObjectKind::Role | ObjectKind::Superuser | ObjectKind::Setting | ObjectKind::Database => {
            untrusted::name(&change.name)
        }
        ObjectKind::HbaLine | ObjectKind::Grant | ObjectKind::PhiColumn | ObjectKind::Extension => {
            untrusted::text(&change.name)
        }
    }
}

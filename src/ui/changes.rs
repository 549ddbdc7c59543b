//! "Changes since last scan" on the overview: what a live scan, once
//! recorded, changed against the previous recorded scan of the same server
//! (new fails, fixed, regressed checks; objects that appeared or
//! disappeared), kept short enough to read at a glance.
//!
//! The comparison itself is `crate::drift::compare`, chosen and run by the
//! store job that records the scan (`evidence_jobs`), off the UI thread; this
//! module holds what the overview shows of it. Plain data; may import the
//! model, `drift` and the report's choice of the previous scan; no other ui
//! module.

use crate::drift::{Appearance, Change, Drift, ObjectKind};
use crate::model::untrusted;

/// At most this many names per list; the rest are counted.
pub const SHOWN_NAMES: usize = 6;

/// What the overview says about the previous scan.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum SinceLast {
    /// Not recorded (the demo, a saved session, recording off): nothing shown.
    #[default]
    Nothing,
    /// The scan is being recorded and compared.
    Comparing,
    /// The store holds no earlier scan of this server.
    FirstScan,
    /// The comparison could not be made, in one line.
    Unavailable(String),
    Compared(ChangeSummary),
}

/// A drift, cut down to what the overview lists.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChangeSummary {
    /// The previous scan, e.g. `scan #12, 2026-03-01 08:00:00 UTC`.
    pub previous: String,
    /// Check ids, in guide order.
    pub new_fail: Vec<String>,
    pub fixed: Vec<String>,
    pub regressed: Vec<String>,
    /// Objects, by kind then name (server names as the drift keeps them).
    pub appeared: Vec<(ObjectKind, String)>,
    pub disappeared: Vec<(ObjectKind, String)>,
    /// Objects that are still there but changed (settings, attributes).
    pub changed: usize,
}

impl ChangeSummary {
    pub fn of(previous: String, drift: &Drift) -> ChangeSummary {
        let ids = |wanted: Change| -> Vec<String> {
            drift
                .checks
                .iter()
                .filter(|c| c.change == wanted)
                .map(|c| c.id.clone())
                .collect()
        };
        let objects = |wanted: Appearance| -> Vec<(ObjectKind, String)> {
            drift
                .objects
                .iter()
                .filter(|o| o.change == wanted)
                .map(|o| (o.kind, o.name.clone()))
                .collect()
        };
        ChangeSummary {
            previous,
            new_fail: ids(Change::NewFail),
            fixed: ids(Change::Fixed),
            regressed: ids(Change::Regressed),
            appeared: objects(Appearance::Appeared),
            disappeared: objects(Appearance::Disappeared),
            changed: drift.counts().changed,
        }
    }

    /// Nothing moved at all.
    pub fn is_quiet(&self) -> bool {
        self.new_fail.is_empty()
            && self.fixed.is_empty()
            && self.regressed.is_empty()
            && self.appeared.is_empty()
            && self.disappeared.is_empty()
            && self.changed == 0
    }

    /// One line of counts. Test API:
    /// "2 new fails · 1 fixed · 0 regressed · 3 objects appeared · 1 disappeared · 0 changed".
    pub fn headline(&self) -> String {
        format!(
            "{} new fail{} · {} fixed · {} regressed · {} object{} appeared · {} disappeared · {} changed",
            self.new_fail.len(),
            if self.new_fail.len() == 1 { "" } else { "s" },
            self.fixed.len(),
            self.regressed.len(),
            self.appeared.len(),
            if self.appeared.len() == 1 { "" } else { "s" },
            self.disappeared.len(),
            self.changed
        )
    }
}

/// Objects for one line: "Superusers: \"mallory\"; Grants: …", the first
/// [`SHOWN_NAMES`], every server name escaped, then "and N more".
pub fn objects_line(objects: &[(ObjectKind, String)]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut left = SHOWN_NAMES;
    for kind in ObjectKind::ALL {
        let names: Vec<String> = objects
            .iter()
            .filter(|(k, _)| *k == kind)
            .take(left)
            .map(|(_, name)| untrusted::name(name))
            .collect();
        if !names.is_empty() {
            left -= names.len();
            parts.push(format!("{}: {}", kind.title(), names.join(", ")));
        }
    }
    let line = parts.join("; ");
    match objects.len().checked_sub(SHOWN_NAMES) {
        Some(more) if more > 0 => format!("{line} and {more} more"),
        _ => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{CheckChange, ObjectChange};
    use crate::model::finding::{Section, Status};

    fn check(id: &str, change: Change) -> CheckChange {
        CheckChange {
            id: id.into(),
            section: Section::Transit,
            title: String::new(),
            old: Some(Status::Pass),
            new: Some(Status::Fail),
            change,
            appeared: Vec::new(),
            disappeared: Vec::new(),
        }
    }

    fn object(kind: ObjectKind, name: &str, change: Appearance) -> ObjectChange {
        ObjectChange {
            kind,
            name: name.into(),
            change,
            before: None,
            after: None,
        }
    }

    #[test]
    fn a_drift_is_summarised_as_lists_and_one_line_of_counts() {
        let drift = Drift {
            checks: vec![
                check("TLS-001", Change::NewFail),
                check("AUTH-003", Change::Fixed),
                check("AUD-001", Change::Unchanged),
            ],
            objects: vec![
                object(ObjectKind::Superuser, "mallory", Appearance::Appeared),
                object(ObjectKind::Role, "old\napp", Appearance::Disappeared),
                object(ObjectKind::Setting, "ssl", Appearance::Changed),
            ],
            ..Drift::default()
        };
        let summary = ChangeSummary::of("scan #1".into(), &drift);
        assert_eq!(summary.new_fail, ["TLS-001"]);
        assert_eq!(summary.fixed, ["AUTH-003"]);
        assert_eq!(
            summary.headline(),
            "1 new fail · 1 fixed · 0 regressed · 1 object appeared · 1 disappeared · 1 changed"
        );
        assert!(!objects_line(&summary.disappeared).contains('\n'));
        assert!(!summary.is_quiet());
    }

    #[test]
    fn long_object_lists_are_cut_with_a_count() {
        let many: Vec<(ObjectKind, String)> = (0..10)
            .map(|i| (ObjectKind::Grant, format!("grant {i}")))
            .collect();
        let line = objects_line(&many);
        assert!(line.ends_with("and 4 more"), "{line}");
        assert!(line.starts_with("Grants: "), "{line}");
    }
}

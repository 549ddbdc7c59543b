//! Per check: how each check's standing moved between the two scans, and which of
//! its finding's objects came and went. The rules are in the module docs of
//! `drift`; this file is their one implementation.

use super::{Change, CheckChange};
use crate::model::finding::{Finding, Status};
use rustc_hash::{FxHashMap, FxHashSet};
use std::borrow::Cow;

/// Every check id of either scan, by section then id. A repeated id counts once,
/// by its first finding.
pub(super) fn compare(old: &[Finding], new: &[Finding]) -> Vec<CheckChange> {
    let mut old_by_id: FxHashMap<&str, &Finding> = FxHashMap::default();
    for f in old {
        old_by_id.entry(f.id.as_str()).or_insert(f);
    }
    let mut seen: FxHashSet<&str> = FxHashSet::default();
    let mut changes = Vec::with_capacity(new.len().max(old.len()));
    for f in new {
        if seen.insert(f.id.as_str()) {
            let before = old_by_id.get(f.id.as_str()).copied();
            changes.push(check_change(f, before, Some(f)));
        }
    }
    for f in old {
        // Ids the newer scan has are all in `seen` by now.
        if seen.insert(f.id.as_str()) {
            changes.push(check_change(f, Some(f), None));
        }
    }
    changes.sort_by(|a, b| (a.section, &a.id).cmp(&(b.section, &b.id)));
    changes
}

/// One check, named after `shown` (its newer finding when there is one).
fn check_change(shown: &Finding, old: Option<&Finding>, new: Option<&Finding>) -> CheckChange {
    let (appeared, disappeared) = match (old, new) {
        (Some(old), Some(new)) if old.objects != new.objects => {
            object_moves(&old.objects, &new.objects)
        }
        _ => (Vec::new(), Vec::new()),
    };
    let (old, new) = (old.map(|f| f.status), new.map(|f| f.status));
    CheckChange {
        id: shown.id.clone(),
        section: shown.section,
        title: shown.title.clone(),
        old,
        new,
        change: classify(old, new),
        appeared,
        disappeared,
    }
}

/// Objects only in `new` and objects only in `old`, each sorted. Objects are matched
/// by [`matching_key`], so a pg_hba line that only moved down is not new.
fn object_moves(old: &[String], new: &[String]) -> (Vec<String>, Vec<String>) {
    let old_keys: FxHashSet<Cow<'_, str>> = old.iter().map(|o| matching_key(o)).collect();
    let new_keys: FxHashSet<Cow<'_, str>> = new.iter().map(|o| matching_key(o)).collect();
    let only = |list: &[String], other: &FxHashSet<Cow<'_, str>>| {
        let mut v: Vec<String> = list
            .iter()
            .filter(|o| !other.contains(matching_key(o).as_ref()))
            .cloned()
            .collect();
        v.sort();
        v.dedup();
        v
    };
    (only(new, &old_keys), only(old, &new_keys))
}

/// An object as it is matched across scans: line numbers (`line 12: host all …`,
/// `adm via line 3: …`) left out, since a line inserted above renumbers every later
/// one. Only the key loses them; the objects listed keep theirs.
fn matching_key(object: &str) -> Cow<'_, str> {
    const LINE: &str = "line ";
    if !object.contains(LINE) {
        return Cow::Borrowed(object);
    }
    let mut key = String::with_capacity(object.len());
    let mut rest = object;
    while let Some(at) = rest.find(LINE) {
        let after = &rest[at + LINE.len()..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        key.push_str(&rest[..at + LINE.len()]);
        if digits > 0 {
            key.push('#');
        }
        rest = &after[digits..];
    }
    key.push_str(rest);
    Cow::Owned(key)
}

/// Lower is worse: fail, warn, unknown, manual, then the passing family.
fn rank(status: Status) -> u8 {
    match status {
        Status::Fail => 0,
        Status::Warn => 1,
        Status::Unknown => 2,
        Status::Manual => 3,
        Status::Pass | Status::Attested | Status::Accepted | Status::NotApplicable => 4,
    }
}

fn failing(status: Status) -> bool {
    matches!(status, Status::Fail | Status::Warn)
}

/// The change rules of the module docs, on the two statuses (`None`: no such check).
pub(super) fn classify(old: Option<Status>, new: Option<Status>) -> Change {
    let (old, new) = match (old, new) {
        (Some(old), Some(new)) => (old, new),
        (None, Some(Status::Fail)) => return Change::NewFail,
        (None, Some(Status::Warn)) => return Change::Regressed,
        // Evidence the older scan had is gone.
        (Some(_), None) => return Change::Regressed,
        (None, _) => return Change::Unchanged,
    };
    if new == Status::Fail && !failing(old) {
        Change::NewFail
    } else if rank(new) < rank(old) || (new == Status::Unknown && old != Status::Unknown) {
        // Worse, or the evidence was lost (`fail` → `unknown` is no improvement).
        Change::Regressed
    } else if rank(new) > rank(old) {
        if failing(old) && rank(new) == rank(Status::Pass) {
            Change::Fixed
        } else {
            Change::Improved
        }
    } else {
        Change::Unchanged
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::tests::finding;
    use Status::*;

    #[test]
    fn every_change_follows_the_rules() {
        let cases = [
            (Some(Pass), Some(Fail), Change::NewFail),
            (Some(Unknown), Some(Fail), Change::NewFail),
            (Some(Manual), Some(Fail), Change::NewFail),
            (None, Some(Fail), Change::NewFail),
            (Some(Warn), Some(Fail), Change::Regressed),
            (Some(Pass), Some(Warn), Change::Regressed),
            (Some(Pass), Some(Unknown), Change::Regressed),
            (Some(Pass), Some(Manual), Change::Regressed),
            (Some(Fail), Some(Unknown), Change::Regressed),
            (Some(Warn), Some(Unknown), Change::Regressed),
            (Some(Accepted), None, Change::Regressed),
            (None, Some(Warn), Change::Regressed),
            (Some(Fail), Some(Pass), Change::Fixed),
            (Some(Warn), Some(Attested), Change::Fixed),
            (Some(Fail), Some(Accepted), Change::Fixed),
            (Some(Fail), Some(NotApplicable), Change::Fixed),
            (Some(Fail), Some(Warn), Change::Improved),
            (Some(Unknown), Some(Pass), Change::Improved),
            (Some(Manual), Some(Attested), Change::Improved),
            (Some(Fail), Some(Manual), Change::Improved),
            (Some(Pass), Some(Pass), Change::Unchanged),
            (Some(Pass), Some(Accepted), Change::Unchanged),
            (Some(Fail), Some(Fail), Change::Unchanged),
            (Some(Unknown), Some(Unknown), Change::Unchanged),
            (None, Some(Pass), Change::Unchanged),
            (None, Some(Unknown), Change::Unchanged),
        ];
        for (old, new, want) in cases {
            assert_eq!(classify(old, new), want, "{old:?} → {new:?}");
        }
    }

    #[test]
    fn objects_that_come_and_go_are_listed_for_a_still_failing_check() {
        let old = [finding("PRIV-001", Fail, &["postgres", "app"])];
        let new = [finding("PRIV-001", Fail, &["postgres", "intruder"])];
        let changes = compare(&old, &new);
        assert_eq!(changes.len(), 1);
        let c = &changes[0];
        assert_eq!(c.change, Change::Unchanged);
        assert_eq!(c.appeared, ["intruder"]);
        assert_eq!(c.disappeared, ["app"]);
        assert!(c.got_worse() && c.is_notable());
    }

    #[test]
    fn a_pg_hba_line_that_only_moved_down_is_not_a_new_object() {
        let old = [finding(
            "TLS-004",
            Fail,
            &[
                "line 4: host all all 10.0.2.0/24 md5",
                "adm via line 4: host all all 10.0.2.0/24 md5",
            ],
        )];
        let new = [finding(
            "TLS-004",
            Fail,
            &[
                "line 2: host all all 0.0.0.0/0 trust",
                "line 5: host all all 10.0.2.0/24 md5",
                "adm via line 5: host all all 10.0.2.0/24 md5",
            ],
        )];
        let c = &compare(&old, &new)[0];
        assert_eq!(c.appeared, ["line 2: host all all 0.0.0.0/0 trust"]);
        assert!(c.disappeared.is_empty(), "{c:?}");
        assert_eq!(matching_key("line 12: x line 3"), "line #: x line #");
        assert_eq!(matching_key("lines: line x"), "lines: line x");
    }

    #[test]
    fn checks_of_either_side_are_listed_once_in_guide_order() {
        let mut audit = finding("AUD-001", Pass, &[]);
        audit.section = crate::model::finding::Section::Audit;
        let old = [finding("PRIV-002", Pass, &[]), audit.clone()];
        let new = [
            audit,
            finding("PRIV-001", Fail, &[]),
            finding("PRIV-001", Pass, &[]),
        ];
        let changes = compare(&old, &new);
        let got: Vec<(&str, Option<Status>, Option<Status>, Change)> = changes
            .iter()
            .map(|c| (c.id.as_str(), c.old, c.new, c.change))
            .collect();
        assert_eq!(
            got,
            [
                ("PRIV-001", None, Some(Fail), Change::NewFail),
                ("PRIV-002", Some(Pass), None, Change::Regressed),
                ("AUD-001", Some(Pass), Some(Pass), Change::Unchanged),
            ]
        );
    }
}

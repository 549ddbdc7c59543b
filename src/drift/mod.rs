//! Drift: what changed between two scans of a target, per check and per object.
//!
//! Owns the pure comparison of two recorded scans (each a snapshot with its findings)
//! and its text and JSON forms (`pgsafeguard.diff/1`). The evidence store, `pgsafeguard
//! diff`, the GUI's "Changes since last scan" and the report's "Changes since the
//! previous scan" chapter all call [`compare`] and read the [`Drift`] it returns.
//! No I/O, no clock: the same two scans always give the same, sorted result.
//!
//! May import only `crate::model` (tests/architecture.rs holds that); nothing here reaches `db`, `ui`, `report`,
//! `store` or `cli`.
//!
//! # Per check
//!
//! Statuses are ranked from worst to best: `fail`, `warn`, `unknown`, `manual`, then
//! the passing family (`pass`, `attested`, `accepted`, `not_applicable`, all one rank).
//! A check id present in one scan only counts as absent on the other side.
//!
//! - [`Change::NewFail`]: now `fail`, and before neither `fail` nor `warn` (a check
//!   id new in this scan that fails counts too).
//! - [`Change::Regressed`]: worse in any other way: a lower rank (`pass` → `warn`,
//!   `warn` → `fail`, `pass` → `manual`); any move *into* `unknown`, even from `fail`
//!   or `warn`, because the evidence was lost and nothing says it got better; a check
//!   that the new scan no longer has (its evidence is gone); a new check id that warns.
//! - [`Change::Fixed`]: was `fail` or `warn`, now in the passing family.
//! - [`Change::Improved`]: a better rank that is not a fix (`fail` → `warn`,
//!   `unknown` → `pass`, `manual` → `attested`).
//! - [`Change::Unchanged`]: the same rank, including moves inside the passing family
//!   (`pass` → `accepted` shows both statuses but is no change of standing), and a
//!   new check id that neither fails nor warns.
//!
//! Every check of either scan is listed, with the objects of its finding
//! ([`Finding::objects`]) that appeared or disappeared: a new superuser on a check that
//! was failing already is drift too. Objects are matched without their line numbers
//! (`line 12: host all all 0.0.0.0/0 md5`), so a pg_hba line that only moved down
//! because one was inserted above it is not new. [`Drift::regressed`] is true when a
//! check is a new fail or regressed, or stays `fail`/`warn` with new objects; that is
//! the exit 1 of `pgsafeguard diff`. Changes of objects alone (a new role) do not make
//! a regression: whether they matter is the checks' verdict.
//!
//! # Per object
//!
//! Read from the two snapshots, whatever the checks concluded:
//!
//! - roles by name, with the attributes `SUPERUSER`, `LOGIN`/`NOLOGIN`, `CREATEROLE`,
//!   `CREATEDB`, `BYPASSRLS`, `REPLICATION`; superusers once more as their own kind
//!   (changed when their `LOGIN` changes);
//! - pg_hba lines by content (type, databases, users, address, netmask, method,
//!   options with an LDAP or RADIUS secret as `[redacted]`, error), in file order: an
//!   inserted line is one appeared line and a moved line one disappeared and one
//!   appeared, never every later line "changed". Line numbers (and the file, when the
//!   server names it) are in `before`/`after`;
//! - grants: one entry per object, privilege and grantee (PUBLIC included) from the
//!   effective ACLs of relations, their columns, schemas and databases; `before` and
//!   `after` name the grantors and the grant option;
//! - PHI columns: columns whose names the PHI rule (`model::phi_names`) flags, with their
//!   type (`text` → `bytea` is a change: the column was encrypted);
//! - settings by name, with value, unit, source, source file and a pending restart,
//!   so that a value moving from `postgresql.conf` to `postgresql.auto.conf` shows;
//! - databases (`pg_database`: whether they allow connections) and extensions per
//!   database with version and schema.
//!
//! A part that one scan did not collect (`None`: a gap) yields no object changes of
//! its kinds and a line in [`Drift::notes`]; the diff never claims that nothing
//! changed where it could not see. Databases are compared only when both scans read
//! them, or when the other scan's `pg_database` shows the database did not exist.
//!
//! Object names: roles, superusers, settings and databases carry the exact name;
//! pg_hba lines their content as pg_hba.conf would spell it; grants, PHI columns and
//! extensions a composite (`TABLE clinic.public.patients: SELECT to PUBLIC`) whose
//! identifiers are double-quoted where PostgreSQL would need it, so that a hostile name
//! cannot pass for two. The text form shows every server string through
//! [`crate::model::untrusted`]; the JSON keeps them exact.
//!
//! # Example
//!
//! ```
//! use pgsafeguard::drift::{compare, ScanSide};
//! use pgsafeguard::model::snapshot::Snapshot;
//!
//! let (before, after) = (Snapshot::default(), Snapshot::default());
//! let old = ScanSide { snapshot: &before, findings: &[], label: "scan #1".into() };
//! let new = ScanSide { snapshot: &after, findings: &[], label: "scan #2".into() };
//! let drift = compare(&old, &new);
//! assert!(!drift.regressed());
//! assert!(drift.to_json().starts_with("{\n  \"schema\": \"pgsafeguard.diff/1\""));
//! ```

mod checks;
mod databases;
mod grants;
mod hba;
mod names;
mod objects;
mod text;

use crate::model::finding::{Finding, Section, Status};
use crate::model::snapshot::Snapshot;
use crate::model::untrusted;
use serde::{Deserialize, Serialize};

/// The JSON schema id of [`Drift::to_json`].
pub const DIFF_SCHEMA: &str = "pgsafeguard.diff/1";

/// One side of a comparison: a scan's snapshot, its findings and how to name it.
#[derive(Debug, Clone)]
pub struct ScanSide<'a> {
    pub snapshot: &'a Snapshot,
    pub findings: &'a [Finding],
    /// How people know this scan, e.g. `scan #12, 2026-12-01T10:00:00Z`.
    pub label: String,
}

/// What changed from one scan to the next.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// The older scan's label.
    pub old: String,
    /// The newer scan's label.
    pub new: String,
    /// Every check of either scan, by section (guide order) then id.
    pub checks: Vec<CheckChange>,
    /// Objects that appeared, disappeared or changed, by kind then name.
    pub objects: Vec<ObjectChange>,
    /// What could not be compared and why (a part one scan did not collect).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// One check across the two scans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckChange {
    pub id: String,
    pub section: Section,
    pub title: String,
    /// `None`: the older scan has no such check.
    pub old: Option<Status>,
    /// `None`: the newer scan has no such check.
    pub new: Option<Status>,
    pub change: Change,
    /// Objects of the finding that the older scan did not list, sorted.
    pub appeared: Vec<String>,
    /// Objects of the older finding that the newer scan no longer lists, sorted.
    pub disappeared: Vec<String>,
}

/// How a check's standing moved; see the module docs for the exact rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    NewFail,
    Regressed,
    Improved,
    Fixed,
    Unchanged,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::NewFail => "new_fail",
            Change::Regressed => "regressed",
            Change::Improved => "improved",
            Change::Fixed => "fixed",
            Change::Unchanged => "unchanged",
        }
    }
}

/// One object that appeared, disappeared or changed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectChange {
    pub kind: ObjectKind,
    /// The object; see the module docs for how each kind is named.
    pub name: String,
    pub change: Appearance,
    /// What it was (`None` when it appeared).
    pub before: Option<String>,
    /// What it is (`None` when it disappeared).
    pub after: Option<String>,
}

/// The kinds of object compared, in the order they are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Role,
    Superuser,
    HbaLine,
    Grant,
    PhiColumn,
    Setting,
    Database,
    Extension,
}

impl ObjectKind {
    pub const ALL: [ObjectKind; 8] = [
        ObjectKind::Role,
        ObjectKind::Superuser,
        ObjectKind::HbaLine,
        ObjectKind::Grant,
        ObjectKind::PhiColumn,
        ObjectKind::Setting,
        ObjectKind::Database,
        ObjectKind::Extension,
    ];

    /// The heading shown to people.
    pub fn title(self) -> &'static str {
        match self {
            ObjectKind::Role => "Roles",
            ObjectKind::Superuser => "Superusers",
            ObjectKind::HbaLine => "pg_hba lines",
            ObjectKind::Grant => "Grants",
            ObjectKind::PhiColumn => "PHI columns",
            ObjectKind::Setting => "Settings",
            ObjectKind::Database => "Databases",
            ObjectKind::Extension => "Extensions",
        }
    }
}

/// Whether an object is new, gone or different.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Appearance {
    Appeared,
    Disappeared,
    Changed,
}

/// How many checks moved which way, and how many objects changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCounts {
    pub new_fail: usize,
    pub regressed: usize,
    pub improved: usize,
    pub fixed: usize,
    pub unchanged: usize,
    pub appeared: usize,
    pub disappeared: usize,
    pub changed: usize,
}

/// Compares two scans of the same target, `old` before `new`.
pub fn compare(old: &ScanSide<'_>, new: &ScanSide<'_>) -> Drift {
    let (objects, notes) = objects::compare(old.snapshot, new.snapshot);
    Drift {
        old: old.label.clone(),
        new: new.label.clone(),
        checks: checks::compare(old.findings, new.findings),
        objects,
        notes,
    }
}

impl Drift {
    /// Whether anything got worse: a new fail, a regressed check, or a check failing
    /// (or warning) in both scans that lists new objects. `pgsafeguard diff` exits 1.
    pub fn regressed(&self) -> bool {
        self.checks.iter().any(CheckChange::got_worse)
    }

    pub fn counts(&self) -> ChangeCounts {
        let mut counts = ChangeCounts::default();
        for check in &self.checks {
            *match check.change {
                Change::NewFail => &mut counts.new_fail,
                Change::Regressed => &mut counts.regressed,
                Change::Improved => &mut counts.improved,
                Change::Fixed => &mut counts.fixed,
                Change::Unchanged => &mut counts.unchanged,
            } += 1;
        }
        for object in &self.objects {
            *match object.change {
                Appearance::Appeared => &mut counts.appeared,
                Appearance::Disappeared => &mut counts.disappeared,
                Appearance::Changed => &mut counts.changed,
            } += 1;
        }
        counts
    }

    /// The diff for a person: counts, the checks that moved (each naming up to 20 of
    /// the objects that came and went), then up to 50 changes per object kind, then
    /// what was not compared. Every server string is escaped (see the module docs).
    pub fn to_text(&self) -> String {
        text::render(self)
    }

    /// Pretty JSON with a trailing newline: `{"schema": "pgsafeguard.diff/1", "old",
    /// "new", "regressed", "counts", "checks", "objects", "notes"}`. Names stay exact;
    /// bidi and C1 characters are `\u` escapes ([`untrusted::json_safe`]). Reads back
    /// as a [`Drift`].
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Json<'a> {
            schema: &'static str,
            old: &'a str,
            new: &'a str,
            regressed: bool,
            counts: ChangeCounts,
            checks: &'a [CheckChange],
            objects: &'a [ObjectChange],
            notes: &'a [String],
        }
        let json = Json {
            schema: DIFF_SCHEMA,
            old: &self.old,
            new: &self.new,
            regressed: self.regressed(),
            counts: self.counts(),
            checks: &self.checks,
            objects: &self.objects,
            notes: &self.notes,
        };
        let mut text =
            untrusted::json_safe(serde_json::to_string_pretty(&json).unwrap_or_default());
        text.push('\n');
        text
    }
}

impl CheckChange {
    /// A new fail, a regression, or a check failing in both scans with new objects.
    pub fn got_worse(&self) -> bool {
        let failing = |s: Option<Status>| matches!(s, Some(Status::Fail | Status::Warn));
        match self.change {
            Change::NewFail | Change::Regressed => true,
            Change::Unchanged => {
                failing(self.old) && failing(self.new) && !self.appeared.is_empty()
            }
            Change::Improved | Change::Fixed => false,
        }
    }

    /// Whether a person should see this check among the changes: its standing moved,
    /// its status changed within a rank, or its objects changed.
    pub fn is_notable(&self) -> bool {
        self.change != Change::Unchanged
            || self.old != self.new
            || !self.appeared.is_empty()
            || !self.disappeared.is_empty()
    }
}

#[cfg(test)]
mod tests;

//! Per object: the cluster-wide kinds (roles, superusers, settings, databases) and the
//! collector every kind reports into. pg_hba lines are in `hba`, grants in `grants`,
//! what lives inside a database in `databases`.

use super::{databases, grants, hba, Appearance, ObjectChange, ObjectKind};
use crate::model::snapshot::{DatabaseAccess, Role, Setting, Snapshot};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Object changes of every kind, sorted by kind then name, and the notes on what
/// could not be compared.
pub(super) fn compare(old: &Snapshot, new: &Snapshot) -> (Vec<ObjectChange>, Vec<String>) {
    let mut found = Found::default();
    if let Some((o, n)) = found.both(
        old.roles.as_ref(),
        new.roles.as_ref(),
        "roles",
        "role and superuser",
    ) {
        found.keyed(ObjectKind::Role, &roles(o), &roles(n));
        found.keyed(ObjectKind::Superuser, &superusers(o), &superusers(n));
    }
    if let Some((o, n)) = found.both(
        old.hba_rules.as_ref(),
        new.hba_rules.as_ref(),
        "pg_hba rules",
        "pg_hba line",
    ) {
        hba::compare(o, n, &mut found);
    }
    if let Some((o, n)) = found.both(
        old.settings.as_ref(),
        new.settings.as_ref(),
        "settings",
        "setting",
    ) {
        found.keyed(ObjectKind::Setting, &settings(o), &settings(n));
    }
    if let Some((o, n)) = found.both(
        old.database_access.as_ref(),
        new.database_access.as_ref(),
        "databases (pg_database)",
        "database and database grant",
    ) {
        found.keyed(ObjectKind::Database, &databases_of(o), &databases_of(n));
        grants::databases(o, n, &mut found);
    }
    databases::compare(old, new, &mut found);
    found.finish()
}

/// What the comparison found so far.
#[derive(Default)]
pub(super) struct Found {
    changes: Vec<ObjectChange>,
    notes: Vec<String>,
}

impl Found {
    /// Both sides of a part, or `None` and a note when either scan did not collect it:
    /// "`what` were not collected in the old scan: `kinds` changes unknown".
    pub(super) fn both<'a, T: ?Sized>(
        &mut self,
        old: Option<&'a T>,
        new: Option<&'a T>,
        what: &str,
        kinds: &str,
    ) -> Option<(&'a T, &'a T)> {
        let side = match (old, new) {
            (Some(old), Some(new)) => return Some((old, new)),
            (None, Some(_)) => "the old scan",
            (Some(_), None) => "the new scan",
            (None, None) => "either scan",
        };
        self.note(format!(
            "{what} were not collected in {side}: {kinds} changes unknown"
        ));
        None
    }

    pub(super) fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    /// Compares two descriptions of one kind, name → what it is: a name on one side
    /// only appeared or disappeared, one whose description differs changed.
    pub(super) fn keyed(
        &mut self,
        kind: ObjectKind,
        old: &BTreeMap<String, String>,
        new: &BTreeMap<String, String>,
    ) {
        for (name, before) in old {
            match new.get(name) {
                None => self.push(kind, name, Appearance::Disappeared, Some(before), None),
                Some(after) if after != before => {
                    self.push(kind, name, Appearance::Changed, Some(before), Some(after))
                }
                Some(_) => {}
            }
        }
        for (name, after) in new {
            if !old.contains_key(name) {
                self.push(kind, name, Appearance::Appeared, None, Some(after));
            }
        }
    }

    pub(super) fn push(
        &mut self,
        kind: ObjectKind,
        name: &str,
        change: Appearance,
        before: Option<&str>,
        after: Option<&str>,
    ) {
        self.changes.push(ObjectChange {
            kind,
            name: name.to_string(),
            change,
            before: before.map(str::to_string),
            after: after.map(str::to_string),
        });
    }

    /// Changes sorted by kind, name, then the rest (a total order, so the same scans
    /// always give the same list), repeats removed.
    pub(super) fn finish(mut self) -> (Vec<ObjectChange>, Vec<String>) {
        self.changes.sort_unstable();
        self.changes.dedup();
        (self.changes, self.notes)
    }
}

/// Role name → its attributes (`SUPERUSER LOGIN CREATEDB`, `NOLOGIN`).
fn roles(roles: &[Role]) -> BTreeMap<String, String> {
    roles
        .iter()
        .map(|r| (r.name.clone(), role_attributes(r)))
        .collect()
}

fn role_attributes(r: &Role) -> String {
    let attributes = [
        (r.superuser, "SUPERUSER"),
        (true, if r.can_login { "LOGIN" } else { "NOLOGIN" }),
        (r.create_role, "CREATEROLE"),
        (r.create_db, "CREATEDB"),
        (r.bypass_rls, "BYPASSRLS"),
        (r.replication, "REPLICATION"),
    ];
    let set: Vec<&str> = attributes
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, word)| *word)
        .collect();
    set.join(" ")
}

/// Superuser name → whether it can log in.
fn superusers(roles: &[Role]) -> BTreeMap<String, String> {
    roles
        .iter()
        .filter(|r| r.superuser)
        .map(|r| {
            let login = if r.can_login { "LOGIN" } else { "NOLOGIN" };
            (r.name.clone(), login.to_string())
        })
        .collect()
}

/// Setting name → `'value' unit (source: file)`, with a pending restart.
fn settings(settings: &BTreeMap<String, Setting>) -> BTreeMap<String, String> {
    settings
        .iter()
        .map(|(name, s)| (name.clone(), setting_description(s)))
        .collect()
}

fn setting_description(s: &Setting) -> String {
    let mut text = match &s.setting {
        Some(value) => format!("'{}'", value.replace('\'', "''")),
        None => "NULL".into(),
    };
    if let Some(unit) = &s.unit {
        let _ = write!(text, " {unit}");
    }
    let _ = write!(text, " ({}", s.source);
    if let Some(file) = &s.sourcefile {
        let _ = write!(text, ": {file}");
    }
    text.push(')');
    if s.pending_restart {
        text.push_str(", pending restart");
    }
    text
}

/// Database name → whether it allows connections.
fn databases_of(databases: &[DatabaseAccess]) -> BTreeMap<String, String> {
    databases
        .iter()
        .map(|d| {
            let access = if d.allow_connections {
                "allows connections"
            } else {
                "refuses connections"
            };
            (d.name.clone(), access.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::tests::{changes_of, role, setting, snapshot};

    #[test]
    fn roles_appear_disappear_and_change_attributes() {
        let mut old = snapshot();
        let mut new = snapshot();
        old.roles = Some(vec![role("app", false), role("gone", false)]);
        let mut app = role("app", false);
        app.create_db = true;
        app.bypass_rls = true;
        new.roles = Some(vec![app, role("fresh", false)]);
        assert_eq!(
            changes_of(&old, &new, ObjectKind::Role),
            [
                (
                    "app",
                    Appearance::Changed,
                    Some("LOGIN"),
                    Some("LOGIN CREATEDB BYPASSRLS")
                ),
                ("fresh", Appearance::Appeared, None, Some("LOGIN")),
                ("gone", Appearance::Disappeared, Some("LOGIN"), None),
            ]
        );
    }

    #[test]
    fn superusers_are_their_own_kind() {
        let mut old = snapshot();
        let mut new = snapshot();
        old.roles = Some(vec![
            role("postgres", true),
            role("demoted", true),
            role("app", false),
            role("ops", true),
        ]);
        let mut ops = role("ops", true);
        ops.can_login = false;
        new.roles = Some(vec![
            role("postgres", true),
            role("demoted", false),
            role("app", true),
            ops,
        ]);
        assert_eq!(
            changes_of(&old, &new, ObjectKind::Superuser),
            [
                ("app", Appearance::Appeared, None, Some("LOGIN")),
                ("demoted", Appearance::Disappeared, Some("LOGIN"), None),
                ("ops", Appearance::Changed, Some("LOGIN"), Some("NOLOGIN")),
            ]
        );
        let roles = changes_of(&old, &new, ObjectKind::Role);
        assert_eq!(roles.len(), 3, "{roles:?}");
    }

    #[test]
    fn a_setting_moving_to_auto_conf_is_a_change_though_its_value_is_the_same() {
        let mut old = snapshot();
        let mut new = snapshot();
        let conf = "/etc/postgresql/16/main/postgresql.conf";
        let auto = "/var/lib/postgresql/16/main/postgresql.auto.conf";
        old.settings = Some(BTreeMap::from([
            (
                "ssl".to_string(),
                setting("on", "configuration file", Some(conf)),
            ),
            ("port".to_string(), setting("5432", "default", None)),
            ("old_only".to_string(), setting("1", "default", None)),
        ]));
        new.settings = Some(BTreeMap::from([
            (
                "ssl".to_string(),
                setting("on", "configuration file", Some(auto)),
            ),
            ("port".to_string(), setting("5432", "default", None)),
            ("new_only".to_string(), setting("x'y", "session", None)),
        ]));
        let before = format!("'on' (configuration file: {conf})");
        let after = format!("'on' (configuration file: {auto})");
        assert_eq!(
            changes_of(&old, &new, ObjectKind::Setting),
            [
                (
                    "new_only",
                    Appearance::Appeared,
                    None,
                    Some("'x''y' (session)")
                ),
                (
                    "old_only",
                    Appearance::Disappeared,
                    Some("'1' (default)"),
                    None
                ),
                (
                    "ssl",
                    Appearance::Changed,
                    Some(before.as_str()),
                    Some(after.as_str())
                ),
            ]
        );
    }

    #[test]
    fn databases_appear_disappear_and_change_access() {
        let db = |name: &str, allow: bool| DatabaseAccess {
            name: name.into(),
            allow_connections: allow,
            acl: Vec::new(),
        };
        let mut old = snapshot();
        let mut new = snapshot();
        old.database_access = Some(vec![db("clinic", true), db("archive", true)]);
        new.database_access = Some(vec![db("clinic", false), db("billing", true)]);
        assert_eq!(
            changes_of(&old, &new, ObjectKind::Database),
            [
                (
                    "archive",
                    Appearance::Disappeared,
                    Some("allows connections"),
                    None
                ),
                (
                    "billing",
                    Appearance::Appeared,
                    None,
                    Some("allows connections")
                ),
                (
                    "clinic",
                    Appearance::Changed,
                    Some("allows connections"),
                    Some("refuses connections")
                ),
            ]
        );
    }

    #[test]
    fn a_part_missing_on_either_side_gives_a_note_and_no_changes() {
        let mut old = snapshot();
        let mut new = snapshot();
        old.roles = None;
        new.roles = Some(vec![role("fresh", true)]);
        new.hba_rules = None;
        old.settings = None;
        new.settings = None;
        let (changes, notes) = compare(&old, &new);
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(
            notes,
            [
                "roles were not collected in the old scan: role and superuser changes unknown",
                "pg_hba rules were not collected in the new scan: pg_hba line changes unknown",
                "settings were not collected in either scan: setting changes unknown",
            ]
        );
    }
}

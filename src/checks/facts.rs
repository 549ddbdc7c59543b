//! Shared vocabulary for checks: reading settings with their provenance,
//! turning a missing part into `unknown` with the grant that would allow it,
//! and the generic parameter fix.

use super::Verdict;
use crate::finding::{ApplyClass, FixPlan};
use crate::snapshot::{Setting, Snapshot};
use postgres_protocol::escape::{escape_identifier, escape_literal};

/// The grant that lets a scanner read the settings it needs.
pub fn settings_grant(snapshot: &Snapshot) -> String {
    format!(
        "GRANT pg_read_all_settings TO {}",
        escape_identifier(&scanner_role(snapshot))
    )
}

/// The role the scan ran as (for GRANT suggestions).
pub fn scanner_role(snapshot: &Snapshot) -> String {
    if snapshot.target.user.is_empty() {
        "scanner".into()
    } else {
        snapshot.target.user.clone()
    }
}

/// `unknown` for a part that was not collected, quoting its gap when there is one.
pub fn part_missing(snapshot: &Snapshot, part: &str, default_grant: String) -> Verdict {
    match snapshot.gap(part) {
        Some(gap) => Verdict::unknown(
            format!(
                "could not read {part}: {}{}",
                gap.message,
                gap.sqlstate
                    .as_deref()
                    .map(|s| format!(" (SQLSTATE {s})"))
                    .unwrap_or_default()
            ),
            gap.grant.clone().or(Some(default_grant)),
        ),
        None => Verdict::unknown(
            format!("{part} was not collected in this snapshot"),
            Some(default_grant),
        ),
    }
}

/// A setting that must be visible, or the `unknown` verdict to return.
pub fn need_setting<'a>(snapshot: &'a Snapshot, name: &str) -> Result<&'a Setting, Verdict> {
    if snapshot.settings.is_none() {
        return Err(part_missing(snapshot, "settings", settings_grant(snapshot)));
    }
    match snapshot.setting(name) {
        Some(s) if s.setting.is_some() => Ok(s),
        _ => Err(Verdict::unknown(
            format!("setting {name} is not visible to the scanner"),
            Some(settings_grant(snapshot)),
        )),
    }
}

/// The live value of a setting, or "" when it is NULL.
pub fn value(setting: &Setting) -> &str {
    setting.setting.as_deref().unwrap_or("")
}

/// `name = value (source: …, file …, pending restart)`: what was seen and where.
pub fn describe(name: &str, setting: &Setting) -> String {
    let mut text = format!("{name} = {}", display_value(setting));
    text.push_str(&format!(" (source: {}", provenance(setting)));
    if setting.pending_restart {
        text.push_str("; a changed value is pending restart");
    }
    text.push(')');
    text
}

fn display_value(setting: &Setting) -> String {
    let v = value(setting);
    let shown = if v.is_empty() { "''" } else { v };
    match setting.unit.as_deref() {
        Some(unit) if !v.is_empty() => format!("{shown}{}", unit_suffix(unit)),
        _ => shown.to_string(),
    }
}

fn unit_suffix(unit: &str) -> String {
    if unit.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        format!(" × {unit}")
    } else {
        unit.to_string()
    }
}

/// Where a live value came from, with the file when PostgreSQL reports it.
pub fn provenance(setting: &Setting) -> String {
    match setting.sourcefile.as_deref() {
        Some(file) => {
            let name = file.rsplit('/').next().unwrap_or(file);
            match setting.sourceline {
                Some(line) => format!("{name}:{line}"),
                None => name.to_string(),
            }
        }
        None => setting.source.clone(),
    }
}

/// True when a live value was set by ALTER SYSTEM.
pub fn from_auto_conf(setting: &Setting) -> bool {
    setting
        .sourcefile
        .as_deref()
        .is_some_and(|f| f.ends_with("postgresql.auto.conf"))
}

/// Settings PostgreSQL stores as quoted lists (GUC_LIST_QUOTE): a single
/// literal `'a, b'` would become ONE element named "a, b".
const LIST_QUOTED_SETTINGS: &[&str] = &[
    "shared_preload_libraries",
    "session_preload_libraries",
    "local_preload_libraries",
    "search_path",
    "temp_tablespaces",
    "unix_socket_directories",
];

/// `ALTER SYSTEM SET name = 'value'`, quoted; list settings get one literal
/// per element.
pub fn alter_system_set(name: &str, value: &str) -> String {
    if LIST_QUOTED_SETTINGS.contains(&name) {
        return set_list_statement(name, &split_list(value));
    }
    format!(
        "ALTER SYSTEM SET {} = {}",
        escape_identifier(name),
        escape_literal(value)
    )
}

/// The rollback that restores what the snapshot saw: a value from
/// postgresql.auto.conf is set back; anything else is RESET so that
/// postgresql.conf or the default applies again.
pub fn restore_parameter(snapshot: &Snapshot, name: &str) -> String {
    match snapshot.setting(name) {
        Some(s) if from_auto_conf(s) => alter_system_set(name, value(s)),
        _ => format!("ALTER SYSTEM RESET {}", escape_identifier(name)),
    }
}

/// The plan for [`super::Fix::SetParameter`].
pub fn set_parameter_plan(
    snapshot: &Snapshot,
    name: &str,
    new_value: &str,
    apply: &[ApplyClass],
    advice: &str,
) -> FixPlan {
    let mut parts: Vec<String> = Vec::new();
    if !advice.is_empty() {
        parts.push(advice.to_string());
    }
    if let Some(s) = snapshot.setting(name) {
        parts.push(format!("currently {}", describe(name, s)));
    }
    if apply.contains(&ApplyClass::Restart) {
        parts.push("takes effect only after a server restart".into());
    }
    let note = parts.join("; ");
    FixPlan {
        apply: apply.to_vec(),
        statements: vec![alter_system_set(name, new_value)],
        rollback: vec![restore_parameter(snapshot, name)],
        needs: "superuser (ALTER SYSTEM)".into(),
        note,
        ..FixPlan::default()
    }
}

/// The elements of a list setting (`shared_preload_libraries`, …) exactly as
/// PostgreSQL reads them: comma-separated, whitespace trimmed, double quotes
/// removed (`""` inside quotes is one quote), case kept.
pub fn split_list(raw: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => {
                quoted = !quoted;
                was_quoted = true;
            }
            ',' if !quoted => {
                push_item(&mut items, &current, was_quoted);
                current.clear();
                was_quoted = false;
            }
            c if c.is_whitespace() && !quoted => {}
            c => current.push(c),
        }
    }
    push_item(&mut items, &current, was_quoted);
    items
}

fn push_item(items: &mut Vec<String>, item: &str, was_quoted: bool) {
    if !item.is_empty() || was_quoted {
        items.push(item.to_string());
    }
}

/// Whether a library list names `library`, however it is spelled
/// (`pgaudit`, `"PGAUDIT"`, `$libdir/pgaudit.so`).
pub fn library_listed(raw: &str, library: &str) -> bool {
    split_list(raw).iter().any(|item| {
        let base = item.rsplit(['/', '\\']).next().unwrap_or(item);
        let stem = [".so", ".dll", ".dylib"]
            .iter()
            .find_map(|ext| base.strip_suffix(ext))
            .unwrap_or(base);
        stem.eq_ignore_ascii_case(library)
    })
}

/// `ALTER SYSTEM SET name = 'a', 'b'`: one literal per element. A single
/// literal `'a, b'` would be stored as ONE quoted element for settings such
/// as `shared_preload_libraries`, and the server would then refuse to start.
pub fn set_list_statement(name: &str, items: &[String]) -> String {
    if items.is_empty() {
        return format!("ALTER SYSTEM RESET {}", escape_identifier(name));
    }
    let literals: Vec<String> = items.iter().map(|i| escape_literal(i)).collect();
    format!(
        "ALTER SYSTEM SET {} = {}",
        escape_identifier(name),
        literals.join(", ")
    )
}

/// The rollback for a list setting: the old elements when they came from
/// postgresql.auto.conf, otherwise RESET (postgresql.conf applies again).
pub fn restore_list(s: &Snapshot, name: &str) -> String {
    match s.setting(name) {
        Some(old) if from_auto_conf(old) => set_list_statement(name, &split_list(value(old))),
        _ => format!("ALTER SYSTEM RESET {}", escape_identifier(name)),
    }
}

/// Split a comma-separated setting such as `shared_preload_libraries` into
/// lower-case items, trimmed and unquoted.
pub fn list_items(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(|s| s.trim().trim_matches('"').to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Server major version (e.g. 15), if known.
pub fn major_version(snapshot: &Snapshot) -> Option<u32> {
    snapshot.target.server_version_num.map(|n| n / 10000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(v: &str, file: Option<&str>) -> Setting {
        Setting {
            setting: Some(v.into()),
            source: if file.is_some() {
                "configuration file".into()
            } else {
                "default".into()
            },
            sourcefile: file.map(Into::into),
            sourceline: file.map(|_| 3),
            ..Setting::default()
        }
    }

    #[test]
    fn describe_names_the_file_and_pending_restart() {
        let mut s = setting("md5", Some("/d/postgresql.auto.conf"));
        s.pending_restart = true;
        assert_eq!(
            describe("password_encryption", &s),
            "password_encryption = md5 (source: postgresql.auto.conf:3; a changed value is pending restart)"
        );
    }

    #[test]
    fn rollback_restores_auto_conf_values_and_resets_others() {
        let mut snap = Snapshot::default();
        let mut settings = std::collections::BTreeMap::new();
        settings.insert(
            "ssl".into(),
            setting("off", Some("/d/postgresql.auto.conf")),
        );
        settings.insert("log_statement".into(), setting("none", None));
        snap.settings = Some(settings.clone());
        assert_eq!(
            restore_parameter(&snap, "ssl"),
            "ALTER SYSTEM SET \"ssl\" = 'off'"
        );
        settings.insert(
            "shared_preload_libraries".into(),
            setting("pgaudit,\"My Lib\"", Some("/d/postgresql.auto.conf")),
        );
        snap.settings = Some(settings);
        assert_eq!(
            restore_parameter(&snap, "shared_preload_libraries"),
            "ALTER SYSTEM SET \"shared_preload_libraries\" = 'pgaudit', 'My Lib'"
        );
        assert_eq!(
            restore_parameter(&snap, "log_statement"),
            "ALTER SYSTEM RESET \"log_statement\""
        );
    }

    #[test]
    fn list_items_unquotes_and_lowercases() {
        assert_eq!(
            list_items(" pgaudit, \"PassWordCheck\" ,,"),
            vec!["pgaudit", "passwordcheck"]
        );
    }
}

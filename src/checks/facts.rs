//! Shared vocabulary for checks: reading settings with their provenance and
//! the major version they exist from, turning a missing part into `unknown`
//! with the grant that would allow it, evidence summaries, the generic
//! parameter fix. Fix statements are typed ([`crate::model::statement`]).
//!
//! Pure functions over the snapshot; must not import `db`, `ui` or `report`,
//! nor any section file.

use super::Verdict;
use crate::model::finding::{ApplyClass, FixPlan, Status};
use crate::model::settings::{library_in, split_list};
use crate::model::snapshot::{Role, Setting, Snapshot};
use crate::model::statement::{alter_system_set, restore_parameter, set_list_statement, Statement};
use postgres_protocol::escape::escape_identifier;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

// ---------------------------------------------------------------------------
// Evaluation plumbing and evidence summaries

/// Collapse an evaluation written with `?` into one verdict.
pub fn settle(result: Result<Verdict, Verdict>) -> Verdict {
    result.unwrap_or_else(|early| early)
}

/// How many matching objects evidence names before "and N more".
pub const SHOWN: usize = 5;

/// The first [`SHOWN`] items joined by `separator`, then how many were left out.
fn shortened(items: &[String], separator: &str, more: &str) -> String {
    let shown: Vec<&str> = items.iter().take(SHOWN).map(String::as_str).collect();
    match items.len().saturating_sub(SHOWN) {
        0 => shown.join(separator),
        left => format!("{}{more}and {left} more", shown.join(separator)),
    }
}

/// `a; b; c; and 4 more`: items that may themselves hold commas.
pub fn listing(items: &[String]) -> String {
    shortened(items, "; ", "; ")
}

/// `a, b, c and 4 more`: short names.
pub fn sample(items: &[String]) -> String {
    shortened(items, ", ", " ")
}

/// Like [`sample`] for `(key, detail)` pairs: sorts by key and formats
/// the detail of the shown items only.
pub fn annotated_sample<T>(items: &mut [(String, T)], detail: impl Fn(&T) -> String) -> String {
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let shown: Vec<String> = items
        .iter()
        .take(SHOWN)
        .map(|(key, t)| match detail(t) {
            d if d.is_empty() => key.clone(),
            d => format!("{key} ({d})"),
        })
        .collect();
    match items.len().saturating_sub(SHOWN) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// `unknown` for a part every role may read (no grant would help).
pub fn missing_part(snapshot: &Snapshot, part: &str) -> Verdict {
    let mut verdict = part_missing(snapshot, part, String::new());
    if verdict.grant.as_deref() == Some("") {
        verdict.grant = None;
    }
    verdict
}

/// A boolean setting that is on (pg_settings says `on`; the other spellings
/// PostgreSQL accepts are allowed for hand-made snapshots).
pub fn is_on(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "on" | "true" | "yes" | "1"
    )
}

pub fn is_off(v: &str) -> bool {
    !is_on(v)
}

/// An instant in RFC 3339 or in PostgreSQL's text form
/// (`2026-11-27 09:55:00.123+00`, `…+05:30`).
pub fn parse_instant(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t);
    }
    let text = text.replacen(' ', "T", 1);
    let time_start = text.find('T')?;
    let sign = text[time_start..].rfind(['+', '-'])? + time_start;
    let offset = &text[sign + 1..];
    let offset = match (offset.len(), offset.contains(':')) {
        (2, false) => format!("{offset}:00"),
        (4, false) => format!("{}:{}", &offset[..2], &offset[2..]),
        _ => offset.to_string(),
    };
    OffsetDateTime::parse(&format!("{}{offset}", &text[..=sign]), &Rfc3339).ok()
}

/// A file or socket mode as PostgreSQL shows it: `0600` (octal with a
/// leading zero), `0o600`, or a plain decimal integer (`384`).
pub fn parse_mode(text: &str) -> Option<u32> {
    let text = text.trim();
    match text.strip_prefix("0o").or_else(|| text.strip_prefix('0')) {
        Some("") => Some(0),
        Some(octal) => u32::from_str_radix(octal, 8).ok(),
        None => text.parse().ok(),
    }
}

/// Permission bits outside `allowed` (modes are bit masks: 0707 is not "≤ 0770").
pub fn excess_bits(mode: u32, allowed: u32) -> u32 {
    mode & 0o7777 & !allowed
}

/// `manual` with what the person must attest.
pub fn attestation_required(what: &str) -> Verdict {
    Verdict::manual(format!("attestation required: {what}"))
}

// ---------------------------------------------------------------------------
// Roles

/// The bootstrap superuser (the role initdb created) always has oid 10.
pub const BOOTSTRAP_ROLE_OID: u32 = 10;

pub fn is_bootstrap(role: &Role) -> bool {
    role.oid == BOOTSTRAP_ROLE_OID
}

/// The bootstrap superuser's name, `postgres` when roles do not say.
pub fn bootstrap_name(roles: &[Role]) -> &str {
    roles
        .iter()
        .find(|r| is_bootstrap(r))
        .map_or("postgres", |r| r.name.as_str())
}

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

/// Settings the checks read that do not exist on every major PostgreSQL
/// still supports or that scans still meet, with the first major that has
/// them. A setting absent from a server older than that is not applicable
/// there, not hidden.
const INTRODUCED_IN: &[(&str, u32)] = &[
    // 9.1; listed so that the table covers every file-mode setting.
    ("log_file_mode", 9),
    ("data_directory_mode", 11),
    ("ssl_min_protocol_version", 12),
    ("ssl_max_protocol_version", 12),
    ("ssl_library", 12),
    ("primary_conninfo", 12),
    ("idle_session_timeout", 14),
    ("archive_library", 15),
    ("allow_alter_system", 17),
    ("md5_password_warnings", 18),
    ("ssl_tls13_ciphers", 18),
];

/// The first major version that has `name`, when it is younger than 9.0.
pub fn introduced_in(name: &str) -> Option<u32> {
    INTRODUCED_IN
        .iter()
        .find(|(setting, _)| *setting == name)
        .map(|(_, major)| *major)
}

/// `not_applicable` when the server is older than the first major that has
/// `name` and the setting is indeed absent.
pub fn absent_on_this_version(snapshot: &Snapshot, name: &str) -> Option<Verdict> {
    let first = introduced_in(name)?;
    let major = major_version(snapshot)?;
    let absent = snapshot.settings.is_some() && snapshot.setting(name).is_none();
    (absent && major < first).then(|| {
        Verdict::not_applicable(format!(
            "{name} does not exist before PostgreSQL {first} (this server is PostgreSQL {major})"
        ))
    })
}

/// A setting that must be visible, or the verdict to return instead:
/// `not_applicable` when this major does not have it, else `unknown` with
/// the grant that would show it.
pub fn need_setting<'a>(snapshot: &'a Snapshot, name: &str) -> Result<&'a Setting, Verdict> {
    if snapshot.settings.is_none() {
        return Err(part_missing(snapshot, "settings", settings_grant(snapshot)));
    }
    match snapshot.setting(name) {
        Some(s) if s.setting.is_some() => Ok(s),
        _ => Err(absent_on_this_version(snapshot, name).unwrap_or_else(|| {
            Verdict::unknown(
                format!("setting {name} is not visible to the scanner"),
                Some(settings_grant(snapshot)),
            )
        })),
    }
}

/// Whether a `need_setting` error only says the setting does not exist on
/// this major (so a check judging several settings can skip it).
pub fn is_not_applicable(verdict: &Verdict) -> bool {
    verdict.status == Status::NotApplicable
}

/// The live value of a setting, or "" when it is NULL.
pub fn value(setting: &Setting) -> &str {
    setting.value()
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
    setting.from_auto_conf()
}

/// Appends `name` quoted as an SQL identifier, byte for byte what
/// `escape_identifier` returns, without a String of its own: object keys are
/// built for every relation and grant of the catalog by several checks.
pub fn push_identifier(out: &mut String, name: &str) {
    out.push('"');
    if name.contains('"') {
        out.push_str(&name.replace('"', "\"\""));
    } else {
        out.push_str(name);
    }
    out.push('"');
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

/// Whether a library list names `library`, however it is spelled
/// (`pgaudit`, `"PGAUDIT"`, `$libdir/pgaudit.so`).
pub fn library_listed(raw: &str, library: &str) -> bool {
    library_in(&split_list(raw), library)
}

/// `ALTER SYSTEM SET shared_preload_libraries = …` keeping every library the
/// snapshot saw and adding `library` once: replacing the list would unload
/// what is already there (pgaudit, for one).
pub fn preload_statement(snapshot: &Snapshot, library: &str) -> Statement {
    let raw = snapshot
        .setting("shared_preload_libraries")
        .map(value)
        .unwrap_or("");
    let mut items = split_list(raw);
    if !library_listed(raw, library) {
        items.push(library.into());
    }
    set_list_statement("shared_preload_libraries", &items)
}

/// The grant that lets the scanner connect to a database to read its catalog.
pub fn connect_grant(snapshot: &Snapshot, database: &str) -> String {
    format!(
        "GRANT CONNECT ON DATABASE {} TO {}",
        escape_identifier(database),
        escape_identifier(&scanner_role(snapshot))
    )
}

/// The rollback for a list setting: the old elements when they came from
/// postgresql.auto.conf, otherwise RESET (postgresql.conf applies again).
pub fn restore_list(s: &Snapshot, name: &str) -> Statement {
    match s.setting(name) {
        Some(old) if from_auto_conf(old) => set_list_statement(name, &split_list(value(old))),
        _ => Statement::reset_system(name),
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

    #[test]
    fn push_identifier_quotes_exactly_as_escape_identifier() {
        for name in [
            "",
            "plain",
            "MixedCase",
            "with space",
            "quote\"inside",
            "\"\"",
            "back\\slash",
            "naïve_ünïcode",
            "semi;colon",
        ] {
            let mut out = String::from("prefix.");
            push_identifier(&mut out, name);
            assert_eq!(
                out,
                format!("prefix.{}", escape_identifier(name)),
                "{name:?}"
            );
        }
    }

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
    fn settings_younger_than_the_server_are_not_applicable() {
        let mut snap = Snapshot {
            settings: Some(std::collections::BTreeMap::new()),
            ..Snapshot::default()
        };
        snap.target.server_version_num = Some(130_020);
        for (name, first) in [
            ("idle_session_timeout", 14),
            ("archive_library", 15),
            ("allow_alter_system", 17),
            ("md5_password_warnings", 18),
        ] {
            let v = need_setting(&snap, name)
                .err()
                .unwrap_or_else(|| Verdict::pass(""));
            assert_eq!(v.status, Status::NotApplicable, "{name}");
            assert!(v
                .evidence
                .contains(&format!("{name} does not exist before PostgreSQL {first}")));
        }
        // Present anyway (a hand-made snapshot): judged, not skipped.
        if let Some(s) = snap.settings.as_mut() {
            s.insert("idle_session_timeout".into(), setting("0", None));
        }
        assert!(need_setting(&snap, "idle_session_timeout").is_ok());
        // On a major that has it, absence means the scanner cannot see it.
        snap.target.server_version_num = Some(180_004);
        let v = need_setting(&snap, "archive_library")
            .err()
            .unwrap_or_else(|| Verdict::pass(""));
        assert_eq!(v.status, Status::Unknown);
        // Unknown version: unknown, never not applicable.
        snap.target.server_version_num = None;
        let v = need_setting(&snap, "md5_password_warnings")
            .err()
            .unwrap_or_else(|| Verdict::pass(""));
        assert_eq!(v.status, Status::Unknown);
    }

    #[test]
    fn summaries_name_the_first_few() {
        let items: Vec<String> = (1..=7).map(|i| format!("r{i}")).collect();
        assert_eq!(listing(&items), "r1; r2; r3; r4; r5; and 2 more");
        assert_eq!(sample(&items), "r1, r2, r3, r4, r5 and 2 more");
        assert_eq!(sample(&items[..2]), "r1, r2");
    }

    #[test]
    fn list_items_unquotes_and_lowercases() {
        assert_eq!(
            list_items(" pgaudit, \"PassWordCheck\" ,,"),
            vec!["pgaudit", "passwordcheck"]
        );
    }
}

//! pg_hba rule analysis shared by the transit checks (TLS-004, TLS-008,
//! AUTH-003 … AUTH-011): whether an earlier `reject` line already stops every
//! connection a rule would take (pg_hba is first match wins), how a rule is
//! shown as evidence, and how a proposed replacement file is written. What a
//! rule matches (connection kinds, address ranges, loopback or "anywhere",
//! `+group`) is [`crate::model::hba`]'s, re-exported here for the checks.
//!
//! It reads `pg_hba_file_rules` rows as the snapshot holds them: addresses
//! come as address + netmask (`0.0.0.0`/`0.0.0.0` is anywhere), `@file`
//! inclusions are already expanded and quoting is gone. Pure functions; it
//! must not import `db` and decides no verdict itself.

use super::facts::{part_missing, scanner_role};
use super::managed;
use super::Verdict;
use crate::model::finding::{ApplyClass, ConfigEdit, FixPlan, RuleEdit};
use crate::model::hba::{covers_address, covers_databases, covers_users, ip_range, prefix_len};
use crate::model::redact::MASK;
use crate::model::snapshot::{HbaRule, IdentMapping, Snapshot};
use postgres_protocol::escape::escape_identifier;

// What a rule matches is decided in the model; the checks name it through here.
pub use crate::model::hba::{
    conn_type, is_anywhere, is_loaded, is_loopback, kinds, Groups, GSS, LOCAL, PLAIN, SSL, TCP,
};

/// Option keys whose values are secrets; never shown, never proposed.
const SECRET_OPTIONS: &[&str] = &["ldapbindpasswd", "radiussecrets"];

/// Keywords that a database or user column gives a special meaning.
const KEYWORDS: &[&str] = &["all", "sameuser", "samerole", "samegroup", "replication"];

/// Methods that check a password (sent in clear or as a hash exchange).
pub const PASSWORD_METHODS: &[&str] = &["password", "md5", "scram-sha-256"];

/// The rules, or the verdict to return without them: `not_applicable` on a
/// managed service (the provider writes pg_hba.conf and does not show it),
/// else `unknown` naming the grant that would reveal them.
pub fn rules(snapshot: &Snapshot) -> Result<&[HbaRule], Verdict> {
    snapshot.hba_rules.as_deref().ok_or_else(|| {
        if let Some(provider) = managed::detect(snapshot) {
            return Verdict::not_applicable(format!(
                "{} writes pg_hba.conf itself; customers can neither read nor change it",
                provider.name()
            ));
        }
        let role = escape_identifier(&scanner_role(snapshot));
        part_missing(
            snapshot,
            "hba_rules",
            format!(
                "GRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO {role}; \
                 GRANT SELECT ON pg_catalog.pg_hba_file_rules TO {role}"
            ),
        )
    })
}

/// The authentication method, "" for error lines.
pub fn method(rule: &HbaRule) -> &str {
    rule.auth_method.as_deref().unwrap_or("")
}

/// `reject` lines protect; they are never "broad" or "plaintext".
pub fn is_reject(rule: &HbaRule) -> bool {
    method(rule) == "reject"
}

/// A rule for TCP connections (any `host*` type).
pub fn is_network(rule: &HbaRule) -> bool {
    kinds(rule) & TCP != 0
}

/// A loaded rule that lets connections in.
pub fn admits(rule: &HbaRule) -> bool {
    is_loaded(rule) && !is_reject(rule)
}

/// Whether a user column names `role`: `all`, the name itself, or a
/// `+group` it belongs to. `None` when a `+group` cannot be resolved.
///
/// Unlike the model's [`crate::model::hba::user_matches`] (and the apply
/// guards), a token spelled exactly like the role counts even when it starts
/// with `+`: pg_hba_file_rules drops the quotes that make `"+name"` a name.
pub fn user_matches(tokens: &[String], role: &str, groups: &Groups) -> Option<bool> {
    if tokens.iter().any(|token| token == role) {
        return Some(true);
    }
    crate::model::hba::user_matches(tokens, role, groups)
}

/// Whose connections a shadowing question is about.
pub enum Who<'a> {
    /// Every user the rule names.
    Anyone,
    /// One role (resolving `+group` through memberships).
    Role(&'a str, &'a Groups<'a>),
}

/// Whether every connection of the given kinds that `rules[index]` could
/// take is already stopped by an earlier `reject` line. Only certain cover
/// counts (same or wider database, user and address lists); anything less
/// sure leaves the rule reachable.
pub fn shadowed(rules: &[HbaRule], index: usize, of_kinds: u8, who: &Who) -> bool {
    let Some(rule) = rules.get(index) else {
        return false;
    };
    let wanted = kinds(rule) & of_kinds;
    [LOCAL, PLAIN, SSL, GSS]
        .into_iter()
        .filter(|k| wanted & k != 0)
        .all(|k| rules[..index].iter().any(|r| stops(r, rule, k, who)))
}

fn stops(earlier: &HbaRule, rule: &HbaRule, kind: u8, who: &Who) -> bool {
    is_loaded(earlier)
        && is_reject(earlier)
        && kinds(earlier) & kind != 0
        && covers_databases(&earlier.database, &rule.database)
        && match who {
            Who::Anyone => covers_users(&earlier.user_name, &rule.user_name),
            Who::Role(role, groups) => user_matches(&earlier.user_name, role, groups) == Some(true),
        }
        && (kind == LOCAL || covers_address(earlier, rule))
}

/// `line 92: host all all 0.0.0.0/0 md5`, secrets redacted; lines from an
/// included file (PostgreSQL 16+) name the file.
pub fn display(rule: &HbaRule) -> String {
    let place = match rule.file_name.as_deref() {
        Some(f) if !f.ends_with("/pg_hba.conf") && f != "pg_hba.conf" => {
            format!(
                "{} line {}",
                f.rsplit('/').next().unwrap_or(f),
                rule.line_number
            )
        }
        _ => format!("line {}", rule.line_number),
    };
    match (&rule.error, rule_text(rule)) {
        (Some(error), _) => format!("{place}: not loaded: {error}"),
        (None, Some(text)) => format!("{place}: {text}"),
        (None, None) => format!("{place}: (contains characters a pg_hba.conf line cannot hold)"),
    }
}

/// The rule written as a pg_hba.conf line (secrets redacted), or `None`
/// when a value cannot be written back (a newline in a name, an error line).
pub fn rule_text(rule: &HbaRule) -> Option<String> {
    if !is_loaded(rule) {
        return None;
    }
    let mut fields = vec![conn_type(rule).to_string()];
    fields.push(token_list(&rule.database)?);
    fields.push(token_list(&rule.user_name)?);
    if let Some(address) = address_text(rule) {
        fields.push(address?);
    }
    fields.push(token(method(rule))?);
    for option in &rule.options {
        fields.push(option_text(option)?);
    }
    Some(fields.join(" "))
}

/// `Some(None)` when the address cannot be written; `None` for local lines.
fn address_text(rule: &HbaRule) -> Option<Option<String>> {
    let address = rule.address.as_deref()?;
    Some(match (ip_range(rule), rule.netmask.as_deref()) {
        (Some((addr, mask)), Some(_)) => Some(match prefix_len(mask) {
            Some(len) => format!("{addr}/{len}"),
            None => format!("{addr} {mask}"),
        }),
        _ => token(address),
    })
}

fn token_list(items: &[String]) -> Option<String> {
    items
        .iter()
        .map(|t| token(t))
        .collect::<Option<Vec<_>>>()
        .map(|v| v.join(","))
}

/// A token as pg_hba.conf needs it: quoted when it holds a separator, a
/// quote (doubled inside quotes) or a comment sign. Newlines cannot be
/// written at all.
fn token(text: &str) -> Option<String> {
    if text.contains(['\n', '\r', '\0']) {
        return None;
    }
    let plain = !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, ',' | '"' | '#'));
    Some(if plain {
        text.to_string()
    } else {
        quoted(text)
    })
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// A role or database name written so that it means that name only: keywords,
/// `+`/`@` prefixes and separators are quoted. `None` when it cannot be written.
pub fn name_token(name: &str) -> Option<String> {
    let plain = token(name)?;
    let special = KEYWORDS.contains(&name) || name.starts_with(['+', '@']);
    Some(if special && plain == name {
        quoted(name)
    } else {
        plain
    })
}

fn option_text(option: &str) -> Option<String> {
    match option.split_once('=') {
        Some((key, _)) if SECRET_OPTIONS.contains(&key) => Some(format!("{key}={MASK}")),
        Some((key, value)) => Some(format!("{}={}", token(key)?, token(value)?)),
        None => token(option),
    }
}

/// Whether writing the rule back hides a secret behind [`MASK`].
fn has_secret(rule: &HbaRule) -> bool {
    rule.options.iter().any(|o| {
        o.split_once('=')
            .is_some_and(|(k, _)| SECRET_OPTIONS.contains(&k))
    })
}

/// One line of a proposed file.
pub enum Line {
    /// A rule, written with [`rule_text`].
    Rule(HbaRule),
    /// Text written as is (comments, new lines already built).
    Text(String),
}

/// A rule replaced by `new`, with a comment recording what it was.
pub fn changed(check_id: &str, old: &HbaRule, new: HbaRule) -> Vec<Line> {
    vec![
        Line::Text(format!("# {check_id} changed {}", display(old))),
        Line::Rule(new),
    ]
}

/// A complete proposed pg_hba.conf: every rule the server loaded, in order,
/// after `edit` has had its say on each.
pub struct Proposal {
    pub lines: Vec<String>,
    /// Some secret option was replaced by [`MASK`] and must be copied back.
    pub redacted: bool,
    /// The rules `edit` changed, for editing the file in place.
    pub rule_edits: Vec<RuleEdit>,
}

pub fn propose(
    snapshot: &Snapshot,
    check_id: &str,
    mut edit: impl FnMut(usize, &HbaRule) -> Vec<Line>,
) -> Proposal {
    let rules = snapshot.hba_rules.as_deref().unwrap_or(&[]);
    let mut lines = vec![
        format!(
            "# pg_hba.conf proposed by pgSafeguard {check_id} from pg_hba_file_rules as seen at {}",
            snapshot.collected_at
        ),
        "# comments and blank lines of the current file are not reproduced; review before saving"
            .to_string(),
    ];
    let mut redacted = false;
    let mut rule_edits = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        if !is_loaded(rule) {
            lines.push(format!(
                "# {} (the server ignored this line; fix or remove it)",
                display(rule)
            ));
            continue;
        }
        let mut replacement = Vec::new();
        let mut kept_as_is = true;
        for line in edit(index, rule) {
            let text = match line {
                Line::Text(text) => {
                    kept_as_is = false;
                    replacement.push(Some(text.clone()));
                    text
                }
                Line::Rule(r) => {
                    redacted |= has_secret(&r);
                    let text = match rule_text(&r) {
                        Some(text) => text,
                        None => format!(
                            "# line {} cannot be written back here; copy it from the current file",
                            r.line_number
                        ),
                    };
                    if r == *rule {
                        replacement.push(None);
                    } else {
                        kept_as_is = false;
                        replacement.push(Some(text.clone()));
                    }
                    text
                }
            };
            lines.push(text);
        }
        if !kept_as_is || replacement.len() != 1 {
            rule_edits.push(RuleEdit {
                line_number: rule.line_number,
                file_name: rule.file_name.clone(),
                lines: replacement,
            });
        }
    }
    Proposal {
        lines,
        redacted,
        rule_edits,
    }
}

/// Keep a rule unchanged.
pub fn keep(rule: &HbaRule) -> Vec<Line> {
    vec![Line::Rule(rule.clone())]
}

/// What must hold before the edited file is loaded.
pub const VALIDATE: &str = "after saving, SELECT * FROM pg_hba_file_rules WHERE error IS NOT NULL \
    must return no rows before SELECT pg_reload_conf()";

/// The fix plan for a pg_hba.conf edit.
pub fn plan(snapshot: &Snapshot, proposal: Proposal, advice: &str) -> FixPlan {
    let path = snapshot
        .setting("hba_file")
        .and_then(|s| s.setting.clone())
        .unwrap_or_else(|| "the file SHOW hba_file names".into());
    let mut note = format!(
        "{advice}; edit {path}, keeping a copy of the current file: to roll back, put the copy \
         back and reload"
    );
    if proposal.redacted {
        note.push_str(&format!(
            "; secret options (ldapbindpasswd, radiussecrets) are shown as {MASK}: copy \
             their values from the current file"
        ));
    }
    FixPlan {
        apply: vec![ApplyClass::ConfigFile],
        statements: Vec::new(),
        rollback: Vec::new(),
        needs: "write access to pg_hba.conf (the postgres OS user) and superuser or EXECUTE on \
            pg_reload_conf()"
            .into(),
        note,
        irreversible: false,
        config_edit: Some(ConfigEdit {
            file: "hba_file".into(),
            lines: proposal.lines,
            validate: VALIDATE.into(),
            rule_edits: proposal.rule_edits,
        }),
    }
}

/// A pg_ident.conf line: `map system-name database-user`.
pub fn ident_text(m: &IdentMapping) -> Option<String> {
    Some(format!(
        "{} {} {}",
        token(m.map_name.as_deref()?)?,
        token(m.sys_name.as_deref()?)?,
        token(m.pg_username.as_deref()?)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::hba;
    use crate::model::snapshot::Membership;

    fn any() -> Who<'static> {
        Who::Anyone
    }

    #[test]
    fn display_writes_cidr_and_redacts_secrets() {
        let mut r = hba(
            92,
            "host",
            "all",
            "all",
            Some(("0.0.0.0", "0.0.0.0")),
            "ldap",
        );
        r.options = vec![
            "ldapserver=ldap.example.org".into(),
            "ldapbindpasswd=hunter2".into(),
        ];
        let shown = display(&r);
        assert_eq!(
            shown,
            "line 92: host all all 0.0.0.0/0 ldap ldapserver=ldap.example.org ldapbindpasswd=[redacted]"
        );
        assert!(!shown.contains("hunter2"));
        let odd = hba(
            3,
            "host",
            "all",
            "all",
            Some(("10.0.0.0", "255.0.255.0")),
            "md5",
        );
        assert_eq!(
            display(&odd),
            "line 3: host all all 10.0.0.0 255.0.255.0 md5"
        );
        let local = hba(1, "local", "all", "postgres", None, "peer");
        assert_eq!(display(&local), "line 1: local all postgres peer");
    }

    #[test]
    fn hostile_names_are_quoted_or_refused() {
        let mut r = hba(
            1,
            "host",
            "all",
            "a\"; DROP ROLE x; --",
            Some(("10.0.0.1", "255.255.255.255")),
            "scram-sha-256",
        );
        assert_eq!(
            rule_text(&r).unwrap_or_default(),
            "host all \"a\"\"; DROP ROLE x; --\" 10.0.0.1/32 scram-sha-256"
        );
        r.user_name = vec!["evil\nhost all all 0.0.0.0/0 trust".into()];
        assert_eq!(rule_text(&r), None);
        assert_eq!(name_token("all").as_deref(), Some("\"all\""));
        assert_eq!(name_token("+grp").as_deref(), Some("\"+grp\""));
        assert_eq!(name_token("zoë").as_deref(), Some("zoë"));
        assert_eq!(name_token("line\nbreak"), None);
    }

    #[test]
    fn earlier_reject_shadows_plaintext_of_a_host_line() {
        let rules = vec![
            hba(
                1,
                "hostnossl",
                "all",
                "all",
                Some(("0.0.0.0", "0.0.0.0")),
                "reject",
            ),
            hba(
                2,
                "host",
                "clinic",
                "app",
                Some(("10.0.0.0", "255.0.0.0")),
                "scram-sha-256",
            ),
        ];
        assert!(shadowed(&rules, 1, PLAIN, &any()));
        assert!(!shadowed(&rules, 1, TCP, &any()));
        let later = vec![rules[1].clone(), rules[0].clone()];
        assert!(!shadowed(&later, 0, PLAIN, &any()));
    }

    #[test]
    fn narrower_or_different_rejects_do_not_shadow() {
        let rules = vec![
            hba(
                1,
                "host",
                "all",
                "all",
                Some(("10.1.0.0", "255.255.0.0")),
                "reject",
            ),
            hba(
                2,
                "host",
                "all",
                "all",
                Some(("10.0.0.0", "255.0.0.0")),
                "md5",
            ),
            hba(
                3,
                "host",
                "clinic",
                "all",
                Some(("10.1.2.0", "255.255.255.0")),
                "md5",
            ),
            hba(
                4,
                "host",
                "replication",
                "all",
                Some(("10.1.2.0", "255.255.255.0")),
                "md5",
            ),
        ];
        assert!(!shadowed(&rules, 1, TCP, &any()));
        assert!(shadowed(&rules, 2, TCP, &any()));
        // `all` in the database column does not cover replication connections.
        assert!(!shadowed(&rules, 3, TCP, &any()));
    }

    #[test]
    fn group_membership_is_transitive_and_unknown_without_memberships() {
        let ms = vec![
            Membership {
                role: "admins".into(),
                member: "ops".into(),
                admin_option: false,
                inherit_option: None,
                set_option: None,
            },
            Membership {
                role: "ops".into(),
                member: "alice".into(),
                admin_option: false,
                inherit_option: Some(false),
                set_option: None,
            },
        ];
        let groups = Groups::new(Some(&ms));
        assert_eq!(
            user_matches(&["+admins".into()], "alice", &groups),
            Some(true)
        );
        assert_eq!(
            user_matches(&["+admins".into()], "bob", &groups),
            Some(false)
        );
        let blind = Groups::new(None);
        assert_eq!(user_matches(&["+admins".into()], "alice", &blind), None);
        assert_eq!(
            user_matches(&["+admins".into(), "all".into()], "alice", &blind),
            Some(true)
        );
    }

    #[test]
    fn a_token_spelled_like_the_role_names_it() {
        let ms = vec![Membership {
            role: "other".into(),
            member: "+ops".into(),
            admin_option: false,
            inherit_option: None,
            set_option: None,
        }];
        let groups = Groups::new(Some(&ms));
        assert_eq!(user_matches(&["+ops".into()], "+ops", &groups), Some(true));
        assert_eq!(
            crate::model::hba::user_matches(&["+ops".into()], "+ops", &groups),
            Some(false),
            "pg_hba itself reads an unquoted +ops as the group ops"
        );
    }
}

//! pg_hba rule analysis shared by the transit checks (TLS-004, TLS-008,
//! AUTH-003 … AUTH-011): what kind of connection a rule can take, whether an
//! address is loopback or "anywhere", whether an earlier `reject` line already
//! stops every connection a rule would take (pg_hba is first match wins), how
//! a rule is shown as evidence, and how a proposed replacement file is written.
//!
//! It reads `pg_hba_file_rules` rows as the snapshot holds them: addresses
//! come as address + netmask (`0.0.0.0`/`0.0.0.0` is anywhere), `@file`
//! inclusions are already expanded and quoting is gone. Pure functions; it
//! must not import `db` and decides no verdict itself.

use super::facts::{part_missing, scanner_role};
use super::managed;
use super::Verdict;
use crate::model::finding::{ApplyClass, ConfigEdit, FixPlan};
use crate::model::snapshot::{HbaRule, IdentMapping, Membership, Snapshot};
use postgres_protocol::escape::escape_identifier;
use std::collections::{BTreeSet, VecDeque};
use std::net::IpAddr;

/// Connection kinds as bits: which connections a rule type can match.
pub const LOCAL: u8 = 1;
/// TCP without any encryption.
pub const PLAIN: u8 = 2;
pub const SSL: u8 = 4;
pub const GSS: u8 = 8;
pub const TCP: u8 = PLAIN | SSL | GSS;

/// Option keys whose values are secrets; never shown, never proposed.
const SECRET_OPTIONS: &[&str] = &["ldapbindpasswd", "radiussecrets"];
/// What a secret option value is replaced with.
pub const REDACTED: &str = "[redacted]";

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

/// The connection type (`local`, `host`, `hostssl` …), "" for error lines.
pub fn conn_type(rule: &HbaRule) -> &str {
    rule.conn_type.as_deref().unwrap_or("")
}

/// The authentication method, "" for error lines.
pub fn method(rule: &HbaRule) -> &str {
    rule.auth_method.as_deref().unwrap_or("")
}

/// Which connection kinds a rule's type matches.
pub fn kinds(rule: &HbaRule) -> u8 {
    match conn_type(rule) {
        "local" => LOCAL,
        "host" => TCP,
        "hostssl" => SSL,
        "hostnossl" => PLAIN | GSS,
        "hostgssenc" => GSS,
        "hostnogssenc" => PLAIN | SSL,
        _ => 0,
    }
}

/// A line the server loaded (no parse error).
pub fn is_loaded(rule: &HbaRule) -> bool {
    rule.error.is_none() && rule.conn_type.is_some()
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

/// An address + netmask pair as IP addresses, when the rule has one.
fn ip_range(rule: &HbaRule) -> Option<(IpAddr, IpAddr)> {
    let addr: IpAddr = rule.address.as_deref()?.parse().ok()?;
    let mask = match rule.netmask.as_deref() {
        Some(m) => m.parse().ok()?,
        None => full_mask(addr),
    };
    (addr.is_ipv4() == mask.is_ipv4()).then_some((addr, mask))
}

fn full_mask(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => IpAddr::from([255u8; 4]),
        IpAddr::V6(_) => IpAddr::from([0xffffu16; 8]),
    }
}

fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Leading one-bits of a contiguous mask; `None` for a non-contiguous one.
fn prefix_len(mask: IpAddr) -> Option<u32> {
    let width = if mask.is_ipv4() { 32 } else { 128 };
    let value = bits(mask) << (128 - width);
    let ones = value.leading_ones();
    (value.checked_shl(ones).unwrap_or(0) == 0).then_some(ones)
}

/// Whether the rule only admits connections from the server's own machine:
/// 127.0.0.0/8 or narrower, ::1/128, `samehost`, or the name `localhost`.
pub fn is_loopback(rule: &HbaRule) -> bool {
    let Some(address) = rule.address.as_deref() else {
        return false;
    };
    if address == "samehost" || address.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match ip_range(rule) {
        Some((addr, mask)) if addr.is_loopback() => match addr {
            IpAddr::V4(_) => prefix_len(mask).is_some_and(|p| p >= 8),
            IpAddr::V6(_) => prefix_len(mask) == Some(128),
        },
        _ => false,
    }
}

/// Whether the rule admits every client address: `all`, or any address with
/// an all-zero netmask (`0.0.0.0/0`, `::/0`, `0.0.0.0 0.0.0.0`).
pub fn is_anywhere(rule: &HbaRule) -> bool {
    if rule.address.as_deref() == Some("all") {
        return true;
    }
    ip_range(rule).is_some_and(|(_, mask)| bits(mask) == 0)
}

/// Role memberships for `+group` entries; `None` when not collected.
pub struct Groups<'a> {
    memberships: Option<&'a [Membership]>,
}

impl<'a> Groups<'a> {
    pub fn new(memberships: Option<&'a [Membership]>) -> Self {
        Groups { memberships }
    }

    /// Whether `role` is `group` or a member of it, directly or through other
    /// groups (pg_hba's `+group` ignores INHERIT). `None` when memberships
    /// were not collected.
    pub fn is_member(&self, role: &str, group: &str) -> Option<bool> {
        if role == group {
            return Some(true);
        }
        let memberships = self.memberships?;
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut queue: VecDeque<&str> = VecDeque::from([role]);
        while let Some(current) = queue.pop_front() {
            for m in memberships.iter().filter(|m| m.member == current) {
                if m.role == group {
                    return Some(true);
                }
                if seen.insert(m.role.as_str()) {
                    queue.push_back(m.role.as_str());
                }
            }
        }
        Some(false)
    }
}

/// Whether a user column names `role`: `all`, the name itself, or a
/// `+group` it belongs to. `None` when a `+group` cannot be resolved.
pub fn user_matches(tokens: &[String], role: &str, groups: &Groups) -> Option<bool> {
    let mut undecided = false;
    for token in tokens {
        let hit = if token == "all" || token == role {
            Some(true)
        } else if let Some(group) = token.strip_prefix('+') {
            groups.is_member(role, group)
        } else {
            Some(false)
        };
        match hit {
            Some(true) => return Some(true),
            None => undecided = true,
            Some(false) => {}
        }
    }
    if undecided {
        None
    } else {
        Some(false)
    }
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

/// `all` matches every database except replication connections.
fn covers_databases(outer: &[String], inner: &[String]) -> bool {
    inner.iter().all(|d| {
        outer
            .iter()
            .any(|o| o == d || (o == "all" && d != "replication"))
    })
}

fn covers_users(outer: &[String], inner: &[String]) -> bool {
    inner
        .iter()
        .all(|u| outer.iter().any(|o| o == u || o == "all"))
}

fn covers_address(outer: &HbaRule, inner: &HbaRule) -> bool {
    if outer.address.as_deref() == Some("all") {
        return true;
    }
    match (ip_range(outer), ip_range(inner)) {
        (Some((oa, om)), Some((ia, im))) if oa.is_ipv4() == ia.is_ipv4() => {
            let (oa, om, ia, im) = (bits(oa), bits(om), bits(ia), bits(im));
            om & im == om && ia & om == oa & om
        }
        _ => {
            let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                (None, None) => true,
                _ => false,
            };
            same(&outer.address, &inner.address) && same(&outer.netmask, &inner.netmask)
        }
    }
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
        Some((key, _)) if SECRET_OPTIONS.contains(&key) => Some(format!("{key}={REDACTED}")),
        Some((key, value)) => Some(format!("{}={}", token(key)?, token(value)?)),
        None => token(option),
    }
}

/// Whether writing the rule back hides a secret behind [`REDACTED`].
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
    /// Some secret option was replaced by [`REDACTED`] and must be copied back.
    pub redacted: bool,
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
    for (index, rule) in rules.iter().enumerate() {
        if !is_loaded(rule) {
            lines.push(format!(
                "# {} (the server ignored this line; fix or remove it)",
                display(rule)
            ));
            continue;
        }
        for line in edit(index, rule) {
            match line {
                Line::Text(text) => lines.push(text),
                Line::Rule(r) => {
                    redacted |= has_secret(&r);
                    match rule_text(&r) {
                        Some(text) => lines.push(text),
                        None => lines.push(format!(
                            "# line {} cannot be written back here; copy it from the current file",
                            r.line_number
                        )),
                    }
                }
            }
        }
    }
    Proposal { lines, redacted }
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
            "; secret options (ldapbindpasswd, radiussecrets) are shown as {REDACTED}: copy \
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

    fn any() -> Who<'static> {
        Who::Anyone
    }

    #[test]
    fn anywhere_includes_zero_netmasks_and_all() {
        for (addr, mask) in [
            ("0.0.0.0", "0.0.0.0"),
            ("::", "::"),
            ("10.1.2.3", "0.0.0.0"),
        ] {
            assert!(is_anywhere(&hba(
                1,
                "host",
                "all",
                "all",
                Some((addr, mask)),
                "md5"
            )));
        }
        let mut all = hba(1, "host", "all", "all", None, "md5");
        all.address = Some("all".into());
        assert!(is_anywhere(&all));
        assert!(!is_anywhere(&hba(
            1,
            "host",
            "all",
            "all",
            Some(("10.0.0.0", "255.0.0.0")),
            "md5"
        )));
    }

    #[test]
    fn loopback_needs_a_loopback_range() {
        let yes = [
            ("127.0.0.1", "255.255.255.255"),
            ("127.0.0.0", "255.0.0.0"),
            ("::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ];
        for (a, m) in yes {
            assert!(
                is_loopback(&hba(1, "host", "all", "all", Some((a, m)), "md5")),
                "{a}/{m}"
            );
        }
        let no = [
            ("127.0.0.0", "0.0.0.0"),
            ("127.0.0.0", "254.0.0.0"),
            ("::1", "::"),
            ("10.0.0.1", "255.255.255.255"),
        ];
        for (a, m) in no {
            assert!(
                !is_loopback(&hba(1, "host", "all", "all", Some((a, m)), "md5")),
                "{a}/{m}"
            );
        }
        for name in ["samehost", "localhost", "LOCALHOST"] {
            let mut r = hba(1, "host", "all", "all", None, "md5");
            r.address = Some(name.into());
            assert!(is_loopback(&r));
        }
        let mut r = hba(1, "host", "all", "all", None, "md5");
        r.address = Some("samenet".into());
        assert!(!is_loopback(&r));
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
}

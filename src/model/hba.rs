//! What a pg_hba rule matches: the connection kinds of its type (`local`,
//! `host`, `hostssl`, `hostnossl`, `hostgssenc`, `hostnogssenc`), its database
//! and user lists (`all`, `sameuser`, `samerole`/`samegroup`, `replication`,
//! `+group`), its address (`all`, `samehost`, `samenet`, a host name, or an IP
//! address with its netmask), and which rule takes a connection: the first
//! that matches. The checks reason with it about rules (is one reachable,
//! loopback-only, open to anywhere, covered by an earlier one) and the apply
//! guards ask it whether a proposed file still admits their own session.
//!
//! Rules are read as `pg_hba_file_rules` shows them: a CIDR is already an
//! address + netmask, `@file` inclusions are already expanded, and quoting is
//! gone, so a quoted name spelled like a keyword is taken as the keyword.
//! Regular expressions (PostgreSQL 16+ `/…` names) are compared as plain names.
//!
//! Pure functions of the rules and role memberships; imports only
//! [`crate::model::snapshot`].

use crate::model::snapshot::{HbaRule, Membership};
use std::collections::{BTreeSet, VecDeque};
use std::net::IpAddr;

/// Connection kinds as bits: which connections a rule type can match.
pub const LOCAL: u8 = 1;
/// TCP without any encryption.
pub const PLAIN: u8 = 2;
pub const SSL: u8 = 4;
pub const GSS: u8 = 8;
pub const TCP: u8 = PLAIN | SSL | GSS;

/// The connection type (`local`, `host`, `hostssl` …), "" for error lines.
pub fn conn_type(rule: &HbaRule) -> &str {
    rule.conn_type.as_deref().unwrap_or("")
}

/// A line the server loaded (no parse error).
pub fn is_loaded(rule: &HbaRule) -> bool {
    rule.error.is_none() && rule.conn_type.is_some()
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

// ---------------------------------------------------------------------------
// Addresses

/// An address + netmask pair as IP addresses, when the rule has one (no
/// netmask means the address alone).
pub fn ip_range(rule: &HbaRule) -> Option<(IpAddr, IpAddr)> {
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

/// An address as a number (IPv4 in the low 32 bits), for masking.
fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Leading one-bits of a contiguous mask; `None` for a non-contiguous one.
pub fn prefix_len(mask: IpAddr) -> Option<u32> {
    let width = if mask.is_ipv4() { 32 } else { 128 };
    let value = bits(mask) << (128 - width);
    let ones = value.leading_ones();
    (value.checked_shl(ones).unwrap_or(0) == 0).then_some(ones)
}

/// Whether `client` is in `network`/`mask` (the address alone without a
/// mask); addresses of different families never match.
fn in_network(client: IpAddr, network: IpAddr, mask: Option<IpAddr>) -> bool {
    match mask {
        None => client == network,
        Some(mask) => {
            let same_family =
                client.is_ipv4() == network.is_ipv4() && network.is_ipv4() == mask.is_ipv4();
            same_family && bits(client) & bits(mask) == bits(network) & bits(mask)
        }
    }
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

/// Whether a connection from `client` (`None`: the Unix socket) passes the
/// rule's address column. A `local` rule has none; a rule without an address
/// is taken as `all`. `Err` says why it cannot be decided from here: a host
/// name needs DNS, `samehost`/`samenet` the server's own interfaces.
pub fn address_matches(rule: &HbaRule, client: Option<IpAddr>) -> Result<bool, String> {
    if rule.conn_type.as_deref() == Some("local") {
        return Ok(true);
    }
    let Some(client) = client else {
        return Ok(false);
    };
    let address = rule.address.as_deref().unwrap_or("all");
    match address {
        "all" => Ok(true),
        "samehost" | "samenet" => Err(format!("address {address}")),
        text => {
            let Ok(network) = text.parse::<IpAddr>() else {
                return Err(format!("host name {text}"));
            };
            let mask = rule
                .netmask
                .as_deref()
                .and_then(|m| m.parse::<IpAddr>().ok());
            Ok(in_network(client, network, mask))
        }
    }
}

// ---------------------------------------------------------------------------
// Roles and databases

/// Role memberships for `+group` and `samerole`; `None` when not collected.
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

/// One answer per token, combined as pg_hba does: any match is a match; an
/// undecidable token leaves a list without a match undecided.
fn any_token(answers: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut undecided = false;
    for answer in answers {
        match answer {
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

/// Whether a user column takes `role`: `all`, `+group` for a member of the
/// group, or the name itself. `None` when a `+group` cannot be resolved.
pub fn user_matches(tokens: &[String], role: &str, groups: &Groups) -> Option<bool> {
    any_token(tokens.iter().map(|token| {
        if token == "all" {
            Some(true)
        } else if let Some(group) = token.strip_prefix('+') {
            groups.is_member(role, group)
        } else {
            Some(token == role)
        }
    }))
}

/// Whether a database column takes a normal (not replication) session of
/// `user` to `database`: `all`, `sameuser`, `samerole`/`samegroup` (the user
/// is a member of the role named like the database), or the name itself;
/// `replication` never does. `None` when a membership cannot be resolved.
pub fn database_matches(
    tokens: &[String],
    database: &str,
    user: &str,
    groups: &Groups,
) -> Option<bool> {
    any_token(tokens.iter().map(|token| match token.as_str() {
        "all" => Some(true),
        "sameuser" => Some(database == user),
        "samerole" | "samegroup" => groups.is_member(user, database),
        "replication" => Some(false),
        name => Some(name == database),
    }))
}

// ---------------------------------------------------------------------------
// One rule covering another

/// Whether every database of `inner` is in `outer`; `all` covers every
/// database except replication connections.
pub fn covers_databases(outer: &[String], inner: &[String]) -> bool {
    inner.iter().all(|d| {
        outer
            .iter()
            .any(|o| o == d || (o == "all" && d != "replication"))
    })
}

/// Whether every user of `inner` is in `outer` (or `outer` says `all`).
pub fn covers_users(outer: &[String], inner: &[String]) -> bool {
    inner
        .iter()
        .all(|u| outer.iter().any(|o| o == u || o == "all"))
}

/// Whether every address `inner` admits is also admitted by `outer`: `all`,
/// a network containing the other, or the same words (host names, `samenet`).
pub fn covers_address(outer: &HbaRule, inner: &HbaRule) -> bool {
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

// ---------------------------------------------------------------------------
// First match

/// One normal (not replication) connection, as pg_hba sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection<'a> {
    /// [`LOCAL`], [`PLAIN`], [`SSL`] or [`GSS`].
    pub kind: u8,
    pub database: &'a str,
    pub user: &'a str,
    /// The client's address; `None` over the Unix socket.
    pub client: Option<IpAddr>,
}

/// Which rule takes a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstMatch<'r> {
    /// No loaded line matches: the server refuses the connection.
    None,
    /// The first loaded line that matches (it may be a `reject` line).
    Rule(&'r HbaRule),
    /// A line that may or may not match comes first; `why` says what cannot
    /// be decided from here.
    Undecided { line: i32, why: String },
}

/// The rule that takes `connection`: pg_hba is first match wins, and lines
/// the server could not load are skipped.
pub fn first_match<'r>(
    rules: &'r [HbaRule],
    connection: &Connection,
    groups: &Groups,
) -> FirstMatch<'r> {
    for rule in rules.iter().filter(|r| r.error.is_none()) {
        if kinds(rule) & connection.kind == 0 {
            continue;
        }
        let names = [
            database_matches(&rule.database, connection.database, connection.user, groups),
            user_matches(&rule.user_name, connection.user, groups),
        ];
        if names.contains(&Some(false)) {
            continue;
        }
        let why = match address_matches(rule, connection.client) {
            Ok(false) => continue,
            Ok(true) if names.contains(&None) => "role memberships were not collected".into(),
            Ok(true) => return FirstMatch::Rule(rule),
            Err(why) => why,
        };
        return FirstMatch::Undecided {
            line: rule.line_number,
            why,
        };
    }
    FirstMatch::None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    use crate::model::snapshot::hba_rule as rule;

    fn member(role: &str, member: &str) -> Membership {
        Membership {
            role: role.into(),
            member: member.into(),
            admin_option: false,
            inherit_option: Some(false),
            set_option: None,
        }
    }

    fn tcp<'a>(kind: u8, database: &'a str, user: &'a str, client: &str) -> Connection<'a> {
        Connection {
            kind,
            database,
            user,
            client: Some(client.parse().unwrap()),
        }
    }

    fn line_of(found: FirstMatch) -> Option<i32> {
        match found {
            FirstMatch::Rule(r) => Some(r.line_number),
            FirstMatch::None | FirstMatch::Undecided { .. } => None,
        }
    }

    #[test]
    fn types_match_their_connection_kinds() {
        let kind_of = |t: &str| kinds(&rule(1, t, "all", "all", None, "trust"));
        assert_eq!(kind_of("local"), LOCAL);
        assert_eq!(kind_of("host"), TCP);
        assert_eq!(kind_of("hostssl"), SSL);
        assert_eq!(kind_of("hostnossl"), PLAIN | GSS);
        assert_eq!(kind_of("hostgssenc"), GSS);
        assert_eq!(kind_of("hostnogssenc"), PLAIN | SSL);
        assert_eq!(kind_of("include"), 0);
    }

    #[test]
    fn anywhere_includes_zero_netmasks_and_all() {
        for (addr, mask) in [
            ("0.0.0.0", "0.0.0.0"),
            ("::", "::"),
            ("10.1.2.3", "0.0.0.0"),
        ] {
            assert!(is_anywhere(&rule(
                1,
                "host",
                "all",
                "all",
                Some((addr, mask)),
                "md5"
            )));
        }
        let mut all = rule(1, "host", "all", "all", None, "md5");
        all.address = Some("all".into());
        assert!(is_anywhere(&all));
        assert!(!is_anywhere(&rule(
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
                is_loopback(&rule(1, "host", "all", "all", Some((a, m)), "md5")),
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
                !is_loopback(&rule(1, "host", "all", "all", Some((a, m)), "md5")),
                "{a}/{m}"
            );
        }
        for name in ["samehost", "localhost", "LOCALHOST"] {
            let mut r = rule(1, "host", "all", "all", None, "md5");
            r.address = Some(name.into());
            assert!(is_loopback(&r));
        }
        let mut r = rule(1, "host", "all", "all", None, "md5");
        r.address = Some("samenet".into());
        assert!(!is_loopback(&r));
    }

    #[test]
    fn first_match_wins_and_skips_lines_with_errors() {
        let mut broken = rule(1, "host", "all", "all", None, "trust");
        broken.error = Some("invalid".into());
        let rules = vec![
            broken,
            rule(
                2,
                "hostssl",
                "all",
                "all",
                Some(("0.0.0.0", "0.0.0.0")),
                "md5",
            ),
            rule(
                3,
                "host",
                "all",
                "all",
                Some(("10.0.0.0", "255.0.0.0")),
                "reject",
            ),
            rule(4, "host", "all", "all", Some(("0.0.0.0", "0.0.0.0")), "md5"),
            rule(5, "local", "all", "all", None, "peer"),
        ];
        let none = Groups::new(Some(&[]));
        let first = |c: &Connection| line_of(first_match(&rules, c, &none));
        assert_eq!(first(&tcp(SSL, "d", "u", "10.1.2.3")), Some(2));
        assert_eq!(first(&tcp(PLAIN, "d", "u", "10.1.2.3")), Some(3));
        assert_eq!(first(&tcp(PLAIN, "d", "u", "192.0.2.1")), Some(4));
        let socket = Connection {
            kind: LOCAL,
            database: "d",
            user: "u",
            client: None,
        };
        assert_eq!(first(&socket), Some(5));
        assert_eq!(first_match(&rules[..4], &socket, &none), FirstMatch::None);
    }

    #[test]
    fn cidr_and_netmask_forms_match_alike() {
        for (addr, mask) in [
            ("10.0.0.0", "255.0.0.0"),
            ("2001:db8::", "ffff:ffff::"),
            ("192.0.2.7", "255.255.255.255"),
        ] {
            let r = rule(1, "host", "all", "all", Some((addr, mask)), "md5");
            let inside: IpAddr = addr.parse().unwrap();
            assert_eq!(address_matches(&r, Some(inside)), Ok(true), "{addr}");
        }
        let v4 = rule(
            1,
            "host",
            "all",
            "all",
            Some(("10.0.0.0", "255.0.0.0")),
            "md5",
        );
        assert_eq!(
            address_matches(&v4, Some("11.0.0.1".parse().unwrap())),
            Ok(false)
        );
        assert_eq!(
            address_matches(&v4, Some("::ffff:10.0.0.1".parse().unwrap())),
            Ok(false),
            "families never mix"
        );
        let exact = rule(1, "host", "all", "all", None, "md5");
        let mut exact = exact;
        exact.address = Some("192.0.2.7".into());
        assert_eq!(
            address_matches(&exact, Some("192.0.2.7".parse().unwrap())),
            Ok(true)
        );
        assert_eq!(
            address_matches(&exact, Some("192.0.2.8".parse().unwrap())),
            Ok(false)
        );
    }

    #[test]
    fn names_and_same_addresses_cannot_be_decided_here() {
        let client = Some("192.0.2.1".parse().unwrap());
        for (address, why) in [
            ("samehost", "address samehost"),
            ("samenet", "address samenet"),
            ("db.example.org", "host name db.example.org"),
        ] {
            let mut r = rule(7, "host", "all", "all", None, "md5");
            r.address = Some(address.into());
            assert_eq!(address_matches(&r, client), Err(why.to_string()));
            let found = first_match(
                std::slice::from_ref(&r),
                &tcp(PLAIN, "d", "u", "192.0.2.1"),
                &Groups::new(Some(&[])),
            );
            assert_eq!(
                found,
                FirstMatch::Undecided {
                    line: 7,
                    why: why.into()
                }
            );
        }
    }

    #[test]
    fn user_lists_follow_pg_hba() {
        let ms = vec![member("admins", "ops"), member("ops", "alice")];
        let groups = Groups::new(Some(&ms));
        let tokens = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            user_matches(&tokens(&["+admins"]), "alice", &groups),
            Some(true)
        );
        assert_eq!(
            user_matches(&tokens(&["+admins"]), "bob", &groups),
            Some(false)
        );
        assert_eq!(
            user_matches(&tokens(&["bob", "all"]), "alice", &groups),
            Some(true)
        );
        assert_eq!(
            user_matches(&tokens(&["+alice"]), "alice", &groups),
            Some(true),
            "a role is in its own group"
        );
        let blind = Groups::new(None);
        assert_eq!(user_matches(&tokens(&["+admins"]), "alice", &blind), None);
        assert_eq!(
            user_matches(&tokens(&["+admins", "alice"]), "alice", &blind),
            Some(true)
        );
    }

    #[test]
    fn database_lists_follow_pg_hba() {
        let ms = vec![member("clinic", "alice")];
        let groups = Groups::new(Some(&ms));
        let db = |t: &str, database: &str, user: &str| {
            database_matches(&[t.to_string()], database, user, &groups)
        };
        assert_eq!(db("all", "x", "alice"), Some(true));
        assert_eq!(db("sameuser", "alice", "alice"), Some(true));
        assert_eq!(db("sameuser", "bob", "alice"), Some(false));
        assert_eq!(db("samerole", "clinic", "alice"), Some(true));
        assert_eq!(db("samegroup", "clinic", "bob"), Some(false));
        assert_eq!(db("replication", "replication", "alice"), Some(false));
        assert_eq!(db("clinic", "clinic", "bob"), Some(true));
        let blind = Groups::new(None);
        assert_eq!(
            database_matches(&["samerole".into()], "clinic", "alice", &blind),
            None
        );
    }

    #[test]
    fn unknown_memberships_leave_a_matching_line_undecided() {
        let rules = vec![
            rule(1, "host", "all", "+admins", None, "reject"),
            rule(2, "host", "all", "all", None, "md5"),
        ];
        let conn = tcp(PLAIN, "d", "alice", "192.0.2.1");
        assert_eq!(
            first_match(&rules, &conn, &Groups::new(None)),
            FirstMatch::Undecided {
                line: 1,
                why: "role memberships were not collected".into()
            }
        );
        assert_eq!(
            line_of(first_match(&rules, &conn, &Groups::new(Some(&[])))),
            Some(2)
        );
    }

    #[test]
    fn coverage_between_rules() {
        let wide = rule(
            1,
            "host",
            "all",
            "all",
            Some(("10.0.0.0", "255.0.0.0")),
            "reject",
        );
        let narrow = rule(
            2,
            "host",
            "db",
            "u",
            Some(("10.1.0.0", "255.255.0.0")),
            "md5",
        );
        assert!(covers_address(&wide, &narrow));
        assert!(!covers_address(&narrow, &wide));
        assert!(covers_databases(&wide.database, &narrow.database));
        assert!(!covers_databases(&wide.database, &["replication".into()]));
        assert!(covers_users(&wide.user_name, &narrow.user_name));
        assert!(!covers_users(&narrow.user_name, &wide.user_name));
    }

    #[test]
    fn prefix_lengths_of_masks() {
        let len = |m: &str| prefix_len(m.parse().unwrap());
        assert_eq!(len("255.255.255.0"), Some(24));
        assert_eq!(len("0.0.0.0"), Some(0));
        assert_eq!(len("255.0.255.0"), None);
        assert_eq!(len("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), Some(128));
    }
}

//! What one answer proves: the server's first answer to a startup, read
//! against the pg_hba line the snapshot says takes that connection.
//!
//! The answer is the evidence; the line only explains it. The mapping claims
//! no more than the answer shows:
//! - AuthenticationOk without a credential is trust (AUTH-003), except where
//!   the line says peer (socket) or ident (TCP, then a weak method: AUTH-004);
//! - Cleartext (password, ldap, pam, radius, bsd all ask so) is broken on
//!   AUTH-004 without TLS and on AUTH-005 inside TLS — only a warning when the
//!   line hands the password to a directory, as AUTH-005 itself rates it;
//! - MD5 is broken on AUTH-004, and on AUTH-005 inside TLS;
//! - SASL with SCRAM, GSS and SSPI hold — for this role: an `md5` line
//!   answers SCRAM to a role with a SCRAM verifier, and a role without a
//!   password gets the mock challenge that follows `password_encryption`;
//! - an error before authentication (SQLSTATE 28000: a reject line, no line,
//!   a failed peer check) is a refusal: trust holds for that pair;
//! - a superuser that reaches any authentication over TCP is broken on
//!   AUTH-008 when the source is another host or the matching line admits
//!   more than loopback; a refusal holds.
//!
//! Every effect is [`Effect::Part`] (or [`Effect::Warns`]): the probe tries
//! some roles from one place, never every line from every address, so a
//! holding answer never upgrades a check. No `source_ip` is set: the
//! `allow_loopback_without_tls` allowance is about transport, and a trust or
//! weak-method answer is no better from loopback.
//!
//! Pure; imports only `model` and the probe's own types.

use super::pairs::Pair;
use crate::db::probe::wire::FirstAnswer;
use crate::model::hba::{self, Connection, FirstMatch, Groups};
use crate::model::proof::{Effect, Outcome};
use crate::model::snapshot::{HbaRule, PasswordKind, Snapshot};
use std::net::IpAddr;

/// How the probe reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The Unix socket: `local` lines.
    Socket,
    /// TCP without TLS: `host` and `hostnossl` lines.
    Plain,
    /// TCP inside TLS: `host` and `hostssl` lines.
    Tls,
}

impl Channel {
    /// The connection kind pg_hba sees.
    fn hba_kind(self) -> u8 {
        match self {
            Channel::Socket => hba::LOCAL,
            Channel::Plain => hba::PLAIN,
            Channel::Tls => hba::SSL,
        }
    }

    /// How the attempt went, for `attempted`.
    pub fn words(self) -> &'static str {
        match self {
            Channel::Socket => "over the Unix socket",
            Channel::Plain => "without TLS",
            Channel::Tls => "inside TLS",
        }
    }
}

/// What came back from one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Server(FirstAnswer),
    /// The server answered `N` to SSLRequest.
    TlsDeclined,
    /// No answer: a local error, a refused connection or a timeout.
    Failed(String),
}

/// One proof's worth of judgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    pub check: &'static str,
    pub effect: Effect,
    pub outcome: Outcome,
    pub note: String,
}

/// The pg_hba line the snapshot says takes a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'r> {
    Rule(&'r HbaRule),
    NoMatch,
    Undecided {
        line: i32,
        why: String,
    },
    /// The scan could not read pg_hba_file_rules.
    Unknown,
}

/// The line that takes `pair` on `channel` from `source` (the address the
/// server sees; `None` on the socket), by the model's one matcher.
pub fn line_for<'r>(
    snapshot: &'r Snapshot,
    pair: &Pair,
    channel: Channel,
    source: Option<IpAddr>,
) -> Line<'r> {
    let Some(rules) = snapshot.hba_rules.as_deref() else {
        return Line::Unknown;
    };
    let connection = Connection {
        kind: channel.hba_kind(),
        database: &pair.database,
        user: &pair.role,
        client: source,
    };
    match hba::first_match(
        rules,
        &connection,
        &Groups::new(snapshot.memberships.as_deref()),
    ) {
        FirstMatch::Rule(rule) => Line::Rule(rule),
        FirstMatch::None => Line::NoMatch,
        FirstMatch::Undecided { line, why } => Line::Undecided { line, why },
    }
}

/// The proofs one answer gives, each with its note (line and meaning).
pub fn judge(
    snapshot: &Snapshot,
    pair: &Pair,
    channel: Channel,
    source: Option<IpAddr>,
    answer: &Answer,
) -> Vec<Judged> {
    let line = line_for(snapshot, pair, channel, source);
    let context = Context {
        snapshot,
        pair,
        channel,
        line: &line,
    };
    let mut out = Vec::new();
    let (check, effect, outcome, meaning) = context.main(answer);
    out.push(context.judged(check, effect, outcome, &meaning, answer));
    if pair.superuser && channel != Channel::Socket && *answer != Answer::TlsDeclined {
        let (outcome, meaning) = context.superuser_reach(source, answer);
        out.push(context.judged("AUTH-008", Effect::Part, outcome, &meaning, answer));
    }
    if channel == Channel::Tls && matches!(answer, Answer::Server(FirstAnswer::Md5)) {
        // MD5 is weak whatever the channel (AUTH-004) and not a strong method on a TLS line.
        let meaning = "the server asked for an MD5 hash inside TLS: not SCRAM, a certificate \
                       or Kerberos";
        out.push(context.judged("AUTH-005", Effect::Part, Outcome::Broken, meaning, answer));
    }
    out
}

/// Methods that ask for the password in clear for a directory or PAM to check.
const DIRECTORY_METHODS: &[&str] = &["ldap", "radius", "pam", "bsd"];

struct Context<'a> {
    snapshot: &'a Snapshot,
    pair: &'a Pair,
    channel: Channel,
    line: &'a Line<'a>,
}

impl Context<'_> {
    fn method(&self) -> Option<&str> {
        match self.line {
            Line::Rule(rule) => rule.auth_method.as_deref(),
            _ => None,
        }
    }

    /// The check the answer speaks to first, and what it shows.
    fn main(&self, answer: &Answer) -> (&'static str, Effect, Outcome, String) {
        let role = &self.pair.role;
        let weak_check = if self.channel == Channel::Tls {
            "AUTH-005"
        } else {
            "AUTH-004"
        };
        let first = match answer {
            Answer::Server(first) => first,
            Answer::TlsDeclined => {
                return (
                    "AUTH-005",
                    Effect::Part,
                    Outcome::Inconclusive,
                    "the server answered N to SSLRequest: no TLS here, so no hostssl line \
                     was tried"
                        .into(),
                )
            }
            Answer::Failed(why) => {
                return (
                    "AUTH-003",
                    Effect::Part,
                    Outcome::Inconclusive,
                    format!("no answer to judge: {why}"),
                )
            }
        };
        match first {
            FirstAnswer::Ok => self.ok_without_credential(),
            FirstAnswer::Cleartext => {
                let directory = self
                    .method()
                    .is_some_and(|m| DIRECTORY_METHODS.contains(&m));
                let (effect, meaning) = match self.channel {
                    Channel::Tls if directory => (
                        Effect::Warns,
                        "the server asked for the password in clear text inside TLS, for a \
                         directory or PAM to check: acceptable where identities are managed \
                         centrally, weaker than SCRAM or certificates",
                    ),
                    Channel::Tls => (
                        Effect::Part,
                        "the server asked for the password in clear text inside TLS: not \
                         SCRAM, a certificate or Kerberos",
                    ),
                    Channel::Plain => (
                        Effect::Part,
                        "the server asked for the password in clear text on a TCP connection \
                         without TLS",
                    ),
                    Channel::Socket => (
                        Effect::Part,
                        "the server asked for the password in clear text (on the socket)",
                    ),
                };
                (weak_check, effect, Outcome::Broken, meaning.into())
            }
            FirstAnswer::Md5 => (
                "AUTH-004",
                Effect::Part,
                Outcome::Broken,
                "the server asked for an MD5 hash: a weak method whose verifier replays as \
                 the password"
                    .into(),
            ),
            FirstAnswer::Sasl(mechanisms) if mechanisms.iter().any(|m| m.starts_with("SCRAM")) => {
                let mut meaning = String::from(
                    "the server offered SCRAM: the password itself is never sent and the \
                     stored verifier does not replay",
                );
                if self.method() == Some("md5") {
                    meaning.push_str(&format!(
                        "; the line says md5, so a role with an MD5 verifier would be asked \
                         for MD5 here: this answer covers {role:?} only"
                    ));
                }
                (weak_check, Effect::Part, Outcome::Holds, meaning)
            }
            FirstAnswer::Sasl(_) if self.channel == Channel::Tls => (
                "AUTH-005",
                Effect::Warns,
                Outcome::Broken,
                "the server offered SASL without SCRAM (a bearer token for a validator the \
                 scan cannot see): weaker than SCRAM or certificates"
                    .into(),
            ),
            FirstAnswer::Sasl(_) | FirstAnswer::Gss | FirstAnswer::Sspi => (
                weak_check,
                Effect::Part,
                Outcome::Holds,
                "the server asked for a method that never sends the password (no password, \
                 MD5 or ident)"
                    .into(),
            ),
            FirstAnswer::Error { code, .. } if code == "28000" => (
                "AUTH-003",
                Effect::Part,
                Outcome::Holds,
                format!(
                    "the server refused {role:?} before any authentication: no trust (and no \
                     weak method) for this role here"
                ),
            ),
            FirstAnswer::Error { code, .. } => (
                "AUTH-003",
                Effect::Part,
                Outcome::Inconclusive,
                format!(
                    "the server answered SQLSTATE {code} before authentication, which is no \
                     refusal by pg_hba (busy, starting, shutting down?)"
                ),
            ),
            FirstAnswer::Other(name) => (
                "AUTH-003",
                Effect::Part,
                Outcome::Inconclusive,
                format!("{name} is no answer this probe can judge"),
            ),
        }
    }

    /// AuthenticationOk without any credential from the probe.
    fn ok_without_credential(&self) -> (&'static str, Effect, Outcome, String) {
        let role = &self.pair.role;
        match (self.channel, self.method()) {
            (Channel::Socket, Some("peer" | "ident")) => (
                "AUTH-003",
                Effect::Part,
                Outcome::Holds,
                format!(
                    "AuthenticationOk by peer: the operating-system user this probe runs as \
                     may log in as {role:?}; that is no trust"
                ),
            ),
            (Channel::Socket, None) => (
                "AUTH-003",
                Effect::Part,
                Outcome::Inconclusive,
                "AuthenticationOk on the socket is trust or peer; without the pg_hba line the \
                 probe cannot tell which"
                    .into(),
            ),
            (Channel::Plain | Channel::Tls, Some("ident")) => (
                "AUTH-004",
                Effect::Part,
                Outcome::Broken,
                format!(
                    "AuthenticationOk by ident: the client machine's ident daemon vouched for \
                     {role:?}, and the server believed it"
                ),
            ),
            _ => (
                "AUTH-003",
                Effect::Part,
                Outcome::Broken,
                format!(
                    "AuthenticationOk although the probe gave no credential: anyone who can \
                     reach this {} may log in as {role:?}",
                    if self.channel == Channel::Socket {
                        "socket"
                    } else {
                        "address"
                    }
                ),
            ),
        }
    }

    /// AUTH-008 for a superuser over TCP.
    fn superuser_reach(&self, source: Option<IpAddr>, answer: &Answer) -> (Outcome, String) {
        let role = &self.pair.role;
        let reached = matches!(
            answer,
            Answer::Server(
                FirstAnswer::Ok
                    | FirstAnswer::Cleartext
                    | FirstAnswer::Md5
                    | FirstAnswer::Sasl(_)
                    | FirstAnswer::Gss
                    | FirstAnswer::Sspi
            )
        );
        let refused =
            matches!(answer, Answer::Server(FirstAnswer::Error { code, .. }) if code == "28000");
        if refused {
            return (
                Outcome::Holds,
                format!("superuser {role:?} was refused before authentication over TCP"),
            );
        }
        if !reached {
            return (
                Outcome::Inconclusive,
                "no authentication request to judge".into(),
            );
        }
        let from_loopback = source.is_some_and(|ip| ip.is_loopback());
        match self.line {
            _ if !from_loopback => (
                Outcome::Broken,
                format!(
                    "superuser {role:?} reached authentication from another host: one \
                     password away from every PHI table"
                ),
            ),
            Line::Rule(rule) if !hba::is_loopback(rule) => (
                Outcome::Broken,
                format!(
                    "superuser {role:?} reached authentication through a line that admits \
                     other addresses than loopback (tried from this machine)"
                ),
            ),
            Line::Rule(_) => (
                Outcome::Holds,
                format!(
                    "superuser {role:?} reached authentication from loopback through a \
                     loopback-only line, which counts as local"
                ),
            ),
            _ => (
                Outcome::Inconclusive,
                format!(
                    "superuser {role:?} reached authentication from loopback; without the \
                     matching line the probe cannot tell whether other hosts would too"
                ),
            ),
        }
    }

    /// A proof's note: the line, what the answer means, and where the line
    /// predicts another answer, that the answer is what counts.
    fn judged(
        &self,
        check: &'static str,
        effect: Effect,
        outcome: Outcome,
        meaning: &str,
        answer: &Answer,
    ) -> Judged {
        let mut note = format!("{}: {meaning}", describe(self.line));
        if let Some(mock) = self.mock_challenge(answer) {
            note.push_str("; ");
            note.push_str(&mock);
        }
        if let (Answer::Server(first), Some(predicted)) = (answer, self.predicted()) {
            let seen = kind_of(first);
            if seen != predicted && seen != Kind::Unjudged {
                note.push_str(&format!(
                    "; the line predicts {}, but the server answered otherwise: pg_hba.conf \
                     as read by the scan is not what the server has loaded (the answer counts)",
                    predicted.words()
                ));
            }
        }
        Judged {
            check,
            effect,
            outcome,
            note,
        }
    }

    /// The role's stored verifier, when the scan could read them.
    fn verifier(&self) -> Option<PasswordKind> {
        let kinds = self.snapshot.password_kinds.as_ref()?;
        Some(
            kinds
                .get(&self.pair.role)
                .copied()
                .unwrap_or(PasswordKind::None),
        )
    }

    /// For a password challenge to a role without a password: say it is a mock.
    fn mock_challenge(&self, answer: &Answer) -> Option<String> {
        let challenged = matches!(
            answer,
            Answer::Server(FirstAnswer::Md5 | FirstAnswer::Sasl(_))
        );
        (challenged && self.verifier() == Some(PasswordKind::None)).then(|| {
            format!(
                "{:?} has no password, so this is the server's mock challenge (it follows \
                 password_encryption) and no password can succeed; it still shows the method \
                 the line asks for",
                self.pair.role
            )
        })
    }

    /// What the matching line should answer, where the snapshot says enough.
    fn predicted(&self) -> Option<Kind> {
        let method = match self.line {
            Line::NoMatch => return Some(Kind::Refusal),
            Line::Rule(rule) => rule.auth_method.as_deref()?,
            Line::Undecided { .. } | Line::Unknown => return None,
        };
        Some(match method {
            "trust" => Kind::Ok,
            "reject" => Kind::Refusal,
            "password" | "ldap" | "pam" | "radius" | "bsd" => Kind::Cleartext,
            "scram-sha-256" => Kind::Sasl,
            "gss" => Kind::Gss,
            "sspi" => Kind::Sspi,
            "md5" => match self.verifier()? {
                PasswordKind::Scram => Kind::Sasl,
                PasswordKind::Md5 | PasswordKind::Plain => Kind::Md5,
                PasswordKind::None => {
                    let encryption = self
                        .snapshot
                        .setting("password_encryption")
                        .and_then(|s| s.setting.as_deref())?;
                    if encryption == "md5" {
                        Kind::Md5
                    } else {
                        Kind::Sasl
                    }
                }
            },
            // peer, ident and cert depend on who asks; others are not judged here.
            _ => return None,
        })
    }
}

/// Answers as the prediction speaks of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ok,
    Cleartext,
    Md5,
    Sasl,
    Gss,
    Sspi,
    Refusal,
    Unjudged,
}

impl Kind {
    fn words(self) -> &'static str {
        match self {
            Kind::Ok => "AuthenticationOk (trust)",
            Kind::Cleartext => "a clear-text password request",
            Kind::Md5 => "an MD5 challenge",
            Kind::Sasl => "SCRAM (SASL)",
            Kind::Gss => "GSSAPI",
            Kind::Sspi => "SSPI",
            Kind::Refusal => "a refusal before authentication",
            Kind::Unjudged => "another answer",
        }
    }
}

fn kind_of(answer: &FirstAnswer) -> Kind {
    match answer {
        FirstAnswer::Ok => Kind::Ok,
        FirstAnswer::Cleartext => Kind::Cleartext,
        FirstAnswer::Md5 => Kind::Md5,
        FirstAnswer::Sasl(_) => Kind::Sasl,
        FirstAnswer::Gss => Kind::Gss,
        FirstAnswer::Sspi => Kind::Sspi,
        FirstAnswer::Error { code, .. } if code == "28000" => Kind::Refusal,
        FirstAnswer::Error { .. } | FirstAnswer::Other(_) => Kind::Unjudged,
    }
}

/// `pg_hba line 3 (host all app 127.0.0.1/32 md5)`; options are left out
/// (they can hold secrets).
pub fn describe(line: &Line) -> String {
    match line {
        Line::Rule(rule) => format!("pg_hba line {} ({})", rule.line_number, rule_text(rule)),
        Line::NoMatch => "no pg_hba line matches".into(),
        Line::Undecided { line, why } => {
            format!("pg_hba line {line} may match (cannot be decided from here: {why})")
        }
        Line::Unknown => "pg_hba lines unknown (the scan could not read pg_hba_file_rules)".into(),
    }
}

fn rule_text(rule: &HbaRule) -> String {
    let mut words = vec![
        hba::conn_type(rule).to_owned(),
        rule.database.join(","),
        rule.user_name.join(","),
    ];
    if let Some(address) = &rule.address {
        let prefix = hba::ip_range(rule).and_then(|(_, mask)| hba::prefix_len(mask));
        words.push(match (prefix, &rule.netmask) {
            (Some(bits), Some(_)) => format!("{address}/{bits}"),
            (None, Some(mask)) => format!("{address} {mask}"),
            (_, None) => address.clone(),
        });
    }
    words.push(rule.auth_method.clone().unwrap_or_default());
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::probe::auth::pairs::RoleClass;
    use crate::model::snapshot::{hba_rule, Setting};
    use std::collections::BTreeMap;

    const LOOPBACK: (&str, &str) = ("127.0.0.1", "255.255.255.255");
    const ANYWHERE: (&str, &str) = ("0.0.0.0", "0.0.0.0");

    fn pair(role: &str, superuser: bool) -> Pair {
        Pair {
            role: role.into(),
            class: if superuser {
                RoleClass::Superuser
            } else {
                RoleClass::Application
            },
            superuser,
            database: "clinic".into(),
        }
    }

    fn snapshot(rules: Vec<HbaRule>) -> Snapshot {
        let mut s = Snapshot {
            hba_rules: Some(rules),
            memberships: Some(Vec::new()),
            password_kinds: Some(BTreeMap::from([
                ("legacy".into(), PasswordKind::Md5),
                ("app".into(), PasswordKind::Scram),
                ("postgres".into(), PasswordKind::Scram),
            ])),
            ..Snapshot::default()
        };
        s.settings = Some(BTreeMap::from([(
            "password_encryption".into(),
            Setting {
                setting: Some("scram-sha-256".into()),
                ..Setting::default()
            },
        )]));
        s
    }

    fn local() -> Option<IpAddr> {
        Some("127.0.0.1".parse().unwrap())
    }

    fn server(answer: FirstAnswer) -> Answer {
        Answer::Server(answer)
    }

    fn refusal() -> Answer {
        server(FirstAnswer::Error {
            code: "28000".into(),
            message: "pg_hba.conf rejects connection".into(),
        })
    }

    fn summary(judged: &[Judged]) -> Vec<(&'static str, Effect, Outcome)> {
        judged
            .iter()
            .map(|j| (j.check, j.effect, j.outcome))
            .collect()
    }

    #[test]
    fn trust_is_broken_and_names_the_line() {
        let s = snapshot(vec![hba_rule(
            1,
            "host",
            "all",
            "all",
            Some(LOOPBACK),
            "trust",
        )]);
        let judged = judge(
            &s,
            &pair("app", false),
            Channel::Plain,
            local(),
            &server(FirstAnswer::Ok),
        );
        assert_eq!(
            summary(&judged),
            [("AUTH-003", Effect::Part, Outcome::Broken)]
        );
        assert!(
            judged[0]
                .note
                .starts_with("pg_hba line 1 (host all all 127.0.0.1/32 trust): AuthenticationOk"),
            "{}",
            judged[0].note
        );
    }

    #[test]
    fn peer_on_the_socket_is_not_trust_and_unknown_lines_do_not_guess() {
        let s = snapshot(vec![hba_rule(1, "local", "all", "all", None, "peer")]);
        let ok = server(FirstAnswer::Ok);
        let peer = judge(&s, &pair("app", false), Channel::Socket, None, &ok);
        assert_eq!(summary(&peer), [("AUTH-003", Effect::Part, Outcome::Holds)]);
        let blind = Snapshot {
            hba_rules: None,
            ..s
        };
        let unknown = judge(&blind, &pair("app", false), Channel::Socket, None, &ok);
        assert_eq!(unknown[0].outcome, Outcome::Inconclusive);
    }

    #[test]
    fn cleartext_breaks_auth_004_without_tls_and_auth_005_inside() {
        let s = snapshot(vec![
            hba_rule(1, "hostssl", "all", "ldapuser", Some(LOOPBACK), "ldap"),
            hba_rule(2, "host", "all", "all", Some(LOOPBACK), "password"),
        ]);
        let cleartext = server(FirstAnswer::Cleartext);
        let app = pair("app", false);
        assert_eq!(
            summary(&judge(&s, &app, Channel::Plain, local(), &cleartext)),
            [("AUTH-004", Effect::Part, Outcome::Broken)]
        );
        assert_eq!(
            summary(&judge(&s, &app, Channel::Tls, local(), &cleartext)),
            [("AUTH-005", Effect::Part, Outcome::Broken)]
        );
        assert_eq!(
            summary(&judge(
                &s,
                &pair("ldapuser", false),
                Channel::Tls,
                local(),
                &cleartext
            )),
            [("AUTH-005", Effect::Warns, Outcome::Broken)],
            "a directory method is a warning, as AUTH-005 rates it"
        );
    }

    #[test]
    fn md5_breaks_both_inside_tls_and_scram_on_an_md5_line_covers_that_role_only() {
        let s = snapshot(vec![hba_rule(
            1,
            "host",
            "all",
            "all",
            Some(LOOPBACK),
            "md5",
        )]);
        let md5 = server(FirstAnswer::Md5);
        assert_eq!(
            summary(&judge(
                &s,
                &pair("legacy", false),
                Channel::Tls,
                local(),
                &md5
            )),
            [
                ("AUTH-004", Effect::Part, Outcome::Broken),
                ("AUTH-005", Effect::Part, Outcome::Broken)
            ]
        );
        let scram = server(FirstAnswer::Sasl(vec!["SCRAM-SHA-256".into()]));
        let judged = judge(&s, &pair("app", false), Channel::Plain, local(), &scram);
        assert_eq!(
            summary(&judged),
            [("AUTH-004", Effect::Part, Outcome::Holds)]
        );
        assert!(
            judged[0].note.contains("covers \"app\" only"),
            "{}",
            judged[0].note
        );
        assert!(!judged[0].note.contains("predicts"), "{}", judged[0].note);
    }

    #[test]
    fn roles_without_a_password_get_a_mock_challenge_that_follows_password_encryption() {
        let s = snapshot(vec![hba_rule(
            1,
            "host",
            "all",
            "all",
            Some(LOOPBACK),
            "md5",
        )]);
        let scram = server(FirstAnswer::Sasl(vec!["SCRAM-SHA-256".into()]));
        let judged = judge(&s, &pair("nopass", false), Channel::Plain, local(), &scram);
        assert!(
            judged[0].note.contains("mock challenge"),
            "{}",
            judged[0].note
        );
        assert!(!judged[0].note.contains("predicts"), "{}", judged[0].note);
        let md5 = judge(
            &s,
            &pair("nopass", false),
            Channel::Plain,
            local(),
            &server(FirstAnswer::Md5),
        );
        assert!(md5[0].note.contains("predicts SCRAM"), "{}", md5[0].note);
    }

    #[test]
    fn superusers_over_tcp() {
        let open = snapshot(vec![
            hba_rule(1, "host", "all", "all", Some(LOOPBACK), "scram-sha-256"),
            hba_rule(2, "host", "all", "all", Some(ANYWHERE), "scram-sha-256"),
        ]);
        let scram = server(FirstAnswer::Sasl(vec!["SCRAM-SHA-256".into()]));
        let su = pair("postgres", true);
        let from_loopback = judge(&open, &su, Channel::Plain, local(), &scram);
        assert_eq!(from_loopback[1].check, "AUTH-008");
        assert_eq!(
            from_loopback[1].outcome,
            Outcome::Holds,
            "a loopback-only line is local"
        );
        let remote = Some("10.0.0.9".parse().unwrap());
        let from_afar = judge(&open, &su, Channel::Plain, remote, &scram);
        assert_eq!(from_afar[1].outcome, Outcome::Broken);
        let wide = snapshot(vec![hba_rule(
            1,
            "host",
            "all",
            "all",
            Some(ANYWHERE),
            "scram-sha-256",
        )]);
        let through_wide = judge(&wide, &su, Channel::Tls, local(), &scram);
        assert_eq!(
            summary(&through_wide),
            [
                ("AUTH-005", Effect::Part, Outcome::Holds),
                ("AUTH-008", Effect::Part, Outcome::Broken)
            ]
        );
        let guarded = snapshot(vec![hba_rule(
            1,
            "host",
            "all",
            "postgres",
            Some(ANYWHERE),
            "reject",
        )]);
        assert_eq!(
            summary(&judge(&guarded, &su, Channel::Plain, local(), &refusal())),
            [
                ("AUTH-003", Effect::Part, Outcome::Holds),
                ("AUTH-008", Effect::Part, Outcome::Holds)
            ]
        );
        assert_eq!(
            judge(&guarded, &su, Channel::Socket, None, &refusal()).len(),
            1,
            "the socket is local: no AUTH-008 proof"
        );
    }

    #[test]
    fn a_line_that_disagrees_with_the_answer_is_named_and_the_answer_wins() {
        let s = snapshot(vec![hba_rule(
            1,
            "host",
            "all",
            "all",
            Some(LOOPBACK),
            "scram-sha-256",
        )]);
        let judged = judge(
            &s,
            &pair("app", false),
            Channel::Plain,
            local(),
            &server(FirstAnswer::Ok),
        );
        assert_eq!(judged[0].outcome, Outcome::Broken);
        assert!(
            judged[0].note.contains("the line predicts SCRAM"),
            "{}",
            judged[0].note
        );
        let none = snapshot(Vec::new());
        let refused = judge(
            &none,
            &pair("app", false),
            Channel::Plain,
            local(),
            &refusal(),
        );
        assert!(refused[0].note.starts_with("no pg_hba line matches: "));
        assert!(!refused[0].note.contains("predicts"));
    }

    #[test]
    fn failures_and_declined_tls_are_inconclusive() {
        let s = snapshot(Vec::new());
        let failed = judge(
            &s,
            &pair("postgres", true),
            Channel::Plain,
            local(),
            &Answer::Failed("connect timed out".into()),
        );
        assert!(failed.iter().all(|j| j.outcome == Outcome::Inconclusive));
        let declined = judge(
            &s,
            &pair("app", false),
            Channel::Tls,
            local(),
            &Answer::TlsDeclined,
        );
        assert_eq!(
            summary(&declined),
            [("AUTH-005", Effect::Part, Outcome::Inconclusive)]
        );
    }
}

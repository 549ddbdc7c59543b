//! Guide section 3: encryption in transit and authentication (TLS-*, AUTH-*).
//!
//! Owns the declarations of TLS-001 … TLS-009 and AUTH-001 … AUTH-017, their
//! evaluate functions and fix builders. pg_hba reasoning (first match wins,
//! loopback, anywhere, proposed files) lives in [`super::hba`]; the OpenSSL
//! cipher expression reader and the connection-string reader are private
//! child modules; evidence helpers come from [`super::facts`]; settings a
//! role or database can override (AUTH-001, AUTH-016) are resolved by
//! [`super::login_settings`]. Must not import `db`, `ui`, `report` or
//! another section file.

mod ciphers;
mod conninfo;
mod stored_credentials;

use super::expect::{expect_all, fix_settings, Expect};
use super::facts::{
    alter_system_set, describe, is_bootstrap, is_not_applicable, is_off, library_listed,
    list_items, listing, major_version, missing_part, need_setting, parse_instant, part_missing,
    preload_statement, restore_parameter, scanner_role, settle, value,
};
use super::hba::{self, Groups, Line, Who};
use super::login_settings::{self, Layer, Origin, PerRole};
use super::managed::{self, Provider};
use super::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, ConfigEdit, FixPlan, Section, Severity, Status};
use crate::model::snapshot::{
    HbaRule, IdentMapping, PasswordKind, Role, Session, Setting, Snapshot,
};
use crate::model::statement::{DefaultScope, RoleOption, RoleRef, Statement};
use crate::policy::Policy;
use postgres_protocol::escape::escape_identifier;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

pub static CHECKS: &[&Check] = &[
    &SSL_ON,
    &TLS_MIN_VERSION,
    &STRONG_CIPHERS,
    &HBA_REQUIRES_TLS,
    &SESSIONS_ENCRYPTED,
    &SERVER_CERTIFICATE,
    &REPLICATION_TLS,
    &CLIENT_CERTIFICATES,
    &LISTEN_ADDRESSES,
    &PASSWORD_ENCRYPTION_SCRAM,
    &NO_MD5_VERIFIERS,
    &NO_TRUST,
    &NO_WEAK_METHODS,
    &HOSTSSL_STRONG_METHODS,
    &NO_ANYWHERE_ADDRESSES,
    &NAMED_DATABASES_AND_USERS,
    &SUPERUSERS_LOCAL_ONLY,
    &HBA_LOADS_CLEANLY,
    &IDENT_MAPS_NARROW,
    &PASSWORDLESS_LOGINS,
    &HUMAN_PASSWORDS_EXPIRE,
    &PASSWORD_QUALITY_LIBRARY,
    &AUTH_THROTTLING,
    &CONNECTION_LIMITS,
    &IDLE_TIMEOUTS,
    &stored_credentials::STORED_CREDENTIALS,
];

// ---------------------------------------------------------------------------
// Helpers

fn roles(snapshot: &Snapshot) -> Result<&[Role], Verdict> {
    snapshot
        .roles
        .as_deref()
        .ok_or_else(|| missing_part(snapshot, "roles"))
}

/// A login role used by a person: not a policy service account, not the
/// bootstrap superuser, not a predefined `pg_*` role, not a role a managed
/// service's provider runs.
fn is_human(role: &Role, policy: &Policy, provider: Option<Provider>) -> bool {
    role.can_login
        && !is_bootstrap(role)
        && !role.name.starts_with("pg_")
        && !policy.service_accounts.contains(&role.name)
        && !managed::owned_by_provider(provider, &role.name)
}

/// A time value in milliseconds: `15min`, `'30s'`, or a bare number in
/// `default_unit`. Negative and unparsable values give `None`.
fn to_ms(text: &str, default_unit: &str) -> Option<f64> {
    let text = text.trim().trim_matches('\'').trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(text.len());
    let number: f64 = text[..split].parse().ok()?;
    let unit = match text[split..].trim() {
        "" => default_unit,
        u => u,
    };
    let factor = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return None,
    };
    (number >= 0.0).then_some(number * factor)
}

/// The plan of a check whose fix is a list of role statements.
fn role_plan(statements: Vec<Statement>, rollback: Vec<Statement>, note: &str) -> FixPlan {
    FixPlan {
        apply: vec![ApplyClass::Immediate],
        statements,
        rollback,
        needs: "superuser or CREATEROLE".into(),
        note: note.into(),
        ..FixPlan::default()
    }
}

/// The roles among `roles` whose names are in the verdict's objects.
fn named_roles<'a>(snapshot: &'a Snapshot, verdict: &Verdict) -> Vec<&'a Role> {
    let named = verdict.object_set();
    snapshot
        .roles
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .filter(|r| named.contains(r.name.as_str()))
        .collect()
}

// ---------------------------------------------------------------------------
// TLS-001

pub static SSL_ON: Check = Check {
    id: "TLS-001",
    section: Section::Transit,
    title: "TLS is enabled on the server",
    severity: Severity::Critical,
    hipaa: &["164.312(e)(1)", "164.312(e)(2)(ii)"],
    cis: Some("6.8"),
    rationale: "With ssl off every byte between clients and the server, PHI rows and \
        password exchanges included, crosses the network readable by anyone on the path. \
        Plaintext transport of PHI is rated critical.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings WHERE name = 'ssl';",
    evaluate: ssl_on,
    fix: Fix::SetParameter {
        name: "ssl",
        value: "on",
        apply: &[ApplyClass::Reload],
        note: "install server.crt and server.key (ssl_cert_file, ssl_key_file) before reloading",
    },
};

fn ssl_on(s: &Snapshot, _: &Policy) -> Verdict {
    settle(equals(s, "ssl", "on"))
}

/// Pass when the live value equals `expected`, fail otherwise.
fn equals(s: &Snapshot, name: &str, expected: &str) -> Result<Verdict, Verdict> {
    let setting = need_setting(s, name)?;
    let seen = describe(name, setting);
    Ok(if value(setting) == expected {
        Verdict::pass(seen)
    } else {
        Verdict::fail(seen)
    })
}

// ---------------------------------------------------------------------------
// TLS-002

pub static TLS_MIN_VERSION: Check = Check {
    id: "TLS-002",
    section: Section::Transit,
    title: "TLS 1.0 and 1.1 are refused",
    severity: Severity::High,
    hipaa: &["164.312(e)(2)(ii)"],
    cis: Some("6.9"),
    rationale: "TLS 1.0 and 1.1 are deprecated (RFC 8996) and open to downgrade and \
        padding attacks that can expose PHI in transit, so high. TLSv1.2 passes: it is \
        what NIST SP 800-52r2 requires and what older clinical clients still speak; the \
        evidence notes that CIS PostgreSQL 17 (6.9) prefers TLSv1.3. Before PostgreSQL 13 \
        the default minimum was TLSv1, and PostgreSQL 11 and older cannot set one at all.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings \
        WHERE name IN ('ssl_min_protocol_version', 'ssl_max_protocol_version');",
    evaluate: |s, p| settle(tls_min_version(s, p)),
    fix: Fix::SetParameter {
        name: "ssl_min_protocol_version",
        value: "TLSv1.2",
        apply: &[ApplyClass::Reload],
        note: "clients older than TLS 1.2 (very old drivers) can no longer connect; use \
            TLSv1.3 where every client supports it",
    },
};

/// Protocol versions as comparable numbers (TLSv1.2 → 12).
fn tls_rank(version: &str) -> Option<u32> {
    match version {
        "SSLv3" => Some(3),
        "TLSv1" | "TLSv1.0" => Some(10),
        "TLSv1.1" => Some(11),
        "TLSv1.2" => Some(12),
        "TLSv1.3" => Some(13),
        _ => None,
    }
}

fn tls_min_version(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let major = major_version(s);
    if s.settings.is_some()
        && s.setting("ssl_min_protocol_version").is_none()
        && major.is_some_and(|m| m < 12)
    {
        return Ok(Verdict::fail(format!(
            "PostgreSQL {} has no ssl_min_protocol_version: the server accepts every protocol \
             its OpenSSL library allows, TLS 1.0 included (upgrade, GEN-001)",
            major.unwrap_or_default()
        )));
    }
    let setting = need_setting(s, "ssl_min_protocol_version")?;
    let seen = describe("ssl_min_protocol_version", setting);
    Ok(match tls_rank(value(setting)) {
        Some(13) => Verdict::pass(seen),
        Some(12) => Verdict::pass(format!(
            "{seen}; CIS PostgreSQL 17 (6.9) recommends TLSv1.3 where every client supports it"
        )),
        Some(_) => Verdict::fail(format!("{seen}; TLS 1.0 and 1.1 are deprecated (RFC 8996)")),
        None => Verdict::unknown(
            format!("{seen}: not a protocol version pgSafeguard knows"),
            None,
        ),
    })
}

// ---------------------------------------------------------------------------
// TLS-003

pub static STRONG_CIPHERS: Check = Check {
    id: "TLS-003",
    section: Section::Transit,
    title: "Weak cipher suites are excluded",
    severity: Severity::High,
    hipaa: &["164.312(e)(2)(ii)"],
    cis: Some("6.10"),
    rationale: "ssl_ciphers is an OpenSSL expression, read here the way OpenSSL reads it \
        (a `!X` excludes X for good, `+X` only reorders). Suites without encryption (NULL), \
        without authentication (aNULL), export-grade, RC4, DES, 3DES or MD5-based let an \
        attacker read or tamper with PHI in transit, so high. Families follow OpenSSL \
        1.1.1/3.x (3DES is MEDIUM); PostgreSQL's own default HIGH:MEDIUM:+3DES:!aNULL admits \
        3DES and fails. When ssl_min_protocol_version is TLSv1.3 the setting governs \
        nothing (TLS 1.3 suites are all strong) and the check passes.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings \
        WHERE name IN ('ssl_ciphers', 'ssl_min_protocol_version');",
    evaluate: |s, p| settle(strong_ciphers(s, p)),
    fix: Fix::SetParameter {
        name: "ssl_ciphers",
        value: "HIGH:!aNULL:!MD5:!3DES:!RC4",
        apply: &[ApplyClass::Reload],
        note: "TLS 1.3 suites are not affected by ssl_ciphers",
    },
};

fn strong_ciphers(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let setting = need_setting(s, "ssl_ciphers")?;
    let seen = describe("ssl_ciphers", setting);
    let tls13_only = s
        .setting("ssl_min_protocol_version")
        .is_some_and(|m| value(m) == "TLSv1.3");
    if tls13_only {
        return Ok(Verdict::pass(format!(
            "{seen}; ssl_min_protocol_version = TLSv1.3, whose suites ssl_ciphers does not govern"
        )));
    }
    let weak = ciphers::weak_families(value(setting));
    if weak.is_empty() {
        return Ok(Verdict::pass(format!("{seen}; admits no weak family")));
    }
    let shown: Vec<String> = weak
        .iter()
        .map(|a| format!("{} (via {})", a.family, a.via))
        .collect();
    Ok(Verdict::fail(format!(
        "{seen}; admits weak families: {}",
        shown.join(", ")
    ))
    .with_objects(weak.iter().map(|a| a.family.to_string())))
}

// ---------------------------------------------------------------------------
// TLS-004

pub static HBA_REQUIRES_TLS: Check = Check {
    id: "TLS-004",
    section: Section::Transit,
    title: "pg_hba admits TCP connections only over TLS",
    severity: Severity::High,
    hipaa: &["164.312(e)(1)"],
    cis: None,
    rationale: "A `host`, `hostnossl` or `hostnogssenc` line lets a client connect without \
        encryption even when the server offers TLS, so PHI can cross the network in clear \
        text: high. pg_hba is first match wins, so a line that an earlier `hostnossl … \
        reject` already covers is not counted, and `reject` lines never are. Loopback lines \
        (127.0.0.0/8, ::1, samehost, localhost) never leave the machine: without a policy \
        they give `warn`; `allow_loopback_without_tls` in the policy accepts (true) or \
        forbids (false) them.",
    reproduce_sql: "SELECT line_number, type, database, user_name, address, netmask, auth_method \
        FROM pg_hba_file_rules WHERE type IN ('host', 'hostnossl', 'hostnogssenc') \
        AND auth_method <> 'reject' ORDER BY line_number;",
    evaluate: |s, p| settle(hba_requires_tls(s, p)),
    fix: Fix::Build(require_tls_plan),
};

/// Rules that would take a plaintext TCP connection.
fn plaintext_rules(rules: &[HbaRule]) -> Vec<usize> {
    (0..rules.len())
        .filter(|&i| {
            hba::admits(&rules[i])
                && hba::kinds(&rules[i]) & hba::PLAIN != 0
                && !hba::shadowed(rules, i, hba::PLAIN, &Who::Anyone)
        })
        .collect()
}

fn hba_requires_tls(s: &Snapshot, policy: &Policy) -> Result<Verdict, Verdict> {
    let rules = hba::rules(s)?;
    let (loopback, remote): (Vec<usize>, Vec<usize>) = plaintext_rules(rules)
        .into_iter()
        .partition(|&i| hba::is_loopback(&rules[i]));
    let shown =
        |ix: &[usize]| -> Vec<String> { ix.iter().map(|&i| hba::display(&rules[i])).collect() };
    let allow_loopback = policy.allow_loopback_without_tls;
    let mut flagged = shown(&remote);
    if allow_loopback == Some(false) {
        flagged.extend(shown(&loopback));
    }
    if !flagged.is_empty() {
        return Ok(Verdict::fail(format!(
            "{} pg_hba rule(s) accept TCP connections without TLS: {}",
            flagged.len(),
            listing(&flagged)
        ))
        .with_objects(flagged));
    }
    let loopback = shown(&loopback);
    Ok(match (loopback.is_empty(), allow_loopback) {
        (true, _) => Verdict::pass(format!(
            "{} pg_hba rule(s) read; none admits a TCP connection without TLS",
            rules.len()
        )),
        (false, Some(true)) => Verdict::pass(format!(
            "only loopback rules admit connections without TLS, as the policy allows: {}",
            listing(&loopback)
        )),
        (false, _) => Verdict::warn(format!(
            "only loopback rules admit connections without TLS: {}; loopback traffic stays on \
             the host; set allow_loopback_without_tls in the policy to accept or forbid this",
            listing(&loopback)
        ))
        .with_objects(loopback),
    })
}

/// Rule indexes whose display is among the verdict's objects.
fn flagged_rules(rules: &[HbaRule], verdict: &Verdict) -> BTreeSet<usize> {
    (0..rules.len())
        .filter(|&i| verdict.objects.contains(&hba::display(&rules[i])))
        .collect()
}

fn require_tls_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let rules = s.hba_rules.as_deref().unwrap_or(&[]);
    let flagged = flagged_rules(rules, verdict);
    // The catch-all reject goes below the plaintext lines that stay (allowed
    // loopback lines), else at the top of the TCP rules.
    let kept_plaintext = plaintext_rules(rules)
        .into_iter()
        .filter(|i| !flagged.contains(i))
        .max();
    let insert_at = kept_plaintext
        .map(|i| i + 1)
        .or_else(|| rules.iter().position(hba::is_network))
        .unwrap_or(rules.len());
    let mut inserted = false;
    let reject = || {
        vec![
            Line::Text("# TLS-004: refuse every TCP connection without TLS".into()),
            Line::Text("hostnossl all all all reject".into()),
        ]
    };
    let mut proposal = hba::propose(s, "TLS-004", |i, rule| {
        let mut out = Vec::new();
        if !inserted && i >= insert_at {
            inserted = true;
            out.extend(reject());
        }
        if flagged.contains(&i) {
            let mut new = rule.clone();
            new.conn_type = Some("hostssl".into());
            out.extend(hba::changed("TLS-004", rule, new));
        } else {
            out.extend(hba::keep(rule));
        }
        out
    });
    if !inserted {
        proposal
            .lines
            .push("# TLS-004: refuse every TCP connection without TLS".into());
        proposal.lines.push("hostnossl all all all reject".into());
    }
    hba::plan(
        s,
        proposal,
        "rewrites the listed lines as hostssl and adds `hostnossl all all all reject`; clients \
         must then connect with sslmode=verify-full (or at least require)",
    )
}

// ---------------------------------------------------------------------------
// TLS-005

pub static SESSIONS_ENCRYPTED: Check = Check {
    id: "TLS-005",
    section: Section::Transit,
    title: "Remote sessions are encrypted with a current TLS version",
    severity: Severity::Critical,
    hipaa: &["164.312(e)(1)"],
    cis: None,
    rationale: "Configuration says what may happen; pg_stat_ssl says what is happening. A \
        remote client connected without TLS, or with TLS 1.0/1.1, is moving PHI in clear or \
        weakly protected right now, so critical. Remote means a client address that is not \
        loopback (Unix-socket sessions have none). The scanner's own session counts too: a \
        scan connected in clear is itself evidence. This is a point-in-time view: clients \
        not connected during the scan are not seen.",
    reproduce_sql: "SELECT a.pid, a.usename, a.datname, host(a.client_addr) AS client_addr, \
        a.application_name, s.ssl, s.version, s.cipher \
        FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
        WHERE a.backend_type = 'client backend' AND a.client_addr IS NOT NULL \
        AND NOT (s.ssl AND s.version IN ('TLSv1.2', 'TLSv1.3'));",
    evaluate: |s, p| settle(sessions_encrypted(s, p)),
    fix: Fix::Instructions {
        apply: &[ApplyClass::Manual],
        note: "configure each listed client with sslmode=verify-full (and the CA in \
            sslrootcert), then close plaintext paths on the server (TLS-004) and refuse old \
            protocols (TLS-002)",
    },
};

fn is_remote(session: &Session) -> bool {
    session.client_addr.as_deref().is_some_and(|addr| {
        addr.parse::<IpAddr>()
            .map_or(true, |ip| !ip.to_canonical().is_loopback())
    })
}

/// Why a session's transport is weak, if it is.
fn session_weakness(session: &Session) -> Option<String> {
    if !session.ssl {
        return Some("no TLS".into());
    }
    match session.version.as_deref() {
        Some(v) if tls_rank(v).is_some_and(|r| r < 12) => Some(format!("{v}, deprecated")),
        _ => None,
    }
}

fn session_label(session: &Session, weakness: &str) -> String {
    let mut label = format!(
        "pid {} {}@{} from {}",
        session.pid,
        session.usename.as_deref().unwrap_or("?"),
        session.datname.as_deref().unwrap_or("?"),
        session.client_addr.as_deref().unwrap_or("?"),
    );
    if let Some(app) = session
        .application_name
        .as_deref()
        .filter(|a| !a.is_empty())
    {
        label.push_str(&format!(" ({app})"));
    }
    label.push_str(&format!(": {weakness}"));
    if session.is_self {
        label.push_str(" [this scan]");
    }
    label
}

fn sessions_encrypted(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let sessions = s.sessions.as_deref().ok_or_else(|| {
        part_missing(
            s,
            "sessions",
            format!(
                "GRANT pg_read_all_stats TO {}",
                escape_identifier(&scanner_role(s))
            ),
        )
    })?;
    let remote: Vec<&Session> = sessions.iter().filter(|x| is_remote(x)).collect();
    let weak: Vec<String> = remote
        .iter()
        .filter_map(|x| session_weakness(x).map(|w| session_label(x, &w)))
        .collect();
    let counted = format!(
        "{} client session(s) at {}, {} remote",
        sessions.len(),
        s.collected_at,
        remote.len()
    );
    Ok(if weak.is_empty() {
        Verdict::pass(format!(
            "{counted}; every remote session uses TLS 1.2 or later"
        ))
    } else {
        Verdict::fail(format!(
            "{counted}; {} without current TLS: {}",
            weak.len(),
            listing(&weak)
        ))
        .with_objects(weak)
    })
}

// ---------------------------------------------------------------------------
// TLS-006

pub static SERVER_CERTIFICATE: Check = Check {
    id: "TLS-006",
    section: Section::Transit,
    title: "The server certificate is valid, CA-issued and names the host",
    severity: Severity::High,
    hipaa: &["164.312(e)(1)", "164.312(d)"],
    cis: None,
    rationale: "Clients can only tell the real server from an impostor if its certificate \
        is in date, issued by a CA they trust (not self-signed or a distribution's snakeoil \
        certificate) and names the host they dial. Otherwise sslmode=verify-full fails and \
        people fall back to weaker modes that a man in the middle defeats, so high. Read \
        from the scan's own TLS handshake and judged at the scan's time; a certificate \
        expiring within 30 days, or one naming the host only in its CN, gives `warn`. A \
        server with ssl = off presents no certificate at all, so that is `fail` (the same \
        root cause as TLS-001), not a request to reconnect with TLS.",
    reproduce_sql: "-- the certificate comes from the TLS handshake, e.g.\n\
        -- openssl s_client -starttls postgres -connect HOST:5432 -showcerts\n\
        SELECT name, setting FROM pg_settings WHERE name IN ('ssl_cert_file', 'ssl_key_file', 'ssl_ca_file');",
    evaluate: |s, p| settle(server_certificate(s, p)),
    fix: Fix::Instructions {
        apply: &[ApplyClass::Os, ApplyClass::Reload],
        note: "issue a certificate from your CA whose subjectAltName lists every name and \
            address clients use, install it as ssl_cert_file with its key (mode 0600), then \
            SELECT pg_reload_conf()",
    },
};

const EXPIRY_WARNING_DAYS: i64 = 30;

/// Whether `host` is named by a SAN entry (exact, an IP, or `*.` one label).
fn san_matches(host: &str, san: &[String]) -> bool {
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
        return san
            .iter()
            .any(|n| n.parse::<IpAddr>().is_ok_and(|x| x == ip));
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    san.iter().any(|name| {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        match name.strip_prefix("*.") {
            Some(suffix) => host
                .split_once('.')
                .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
            None => name == host,
        }
    })
}

/// The common name in a subject such as `CN=db.example.org, O=Clinic`.
fn common_name(subject: &str) -> Option<&str> {
    let start = subject.find("CN=")? + 3;
    let rest = &subject[start..];
    let end = rest.find([',', '/', '+']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// `fail` when the server has `ssl = off`: there is no certificate to
/// inspect, and advising sslmode=require would send the reader to a
/// connection that server refuses.
fn ssl_turned_off(s: &Snapshot) -> Result<(), Verdict> {
    match s.setting("ssl") {
        Some(ssl) if ssl.setting.as_deref().is_some_and(is_off) => Err(Verdict::fail(format!(
            "ssl is off: the server presents no certificate (see TLS-001); {}",
            describe("ssl", ssl)
        ))),
        _ => Ok(()),
    }
}

fn server_certificate(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    ssl_turned_off(s)?;
    let host = s.target.host.as_str();
    if host.is_empty() || host.starts_with('/') || host.starts_with('@') {
        return Err(Verdict::unknown(
            "the scan connected over a Unix socket, where PostgreSQL does not use TLS; connect \
             over TCP with sslmode=require or stronger to inspect the server certificate",
            None,
        ));
    }
    let Some(tls) = &s.target.tls else {
        return Err(Verdict::unknown(
            format!(
                "the scan's connection was not encrypted (sslmode={}); connect with \
                 sslmode=require or stronger to inspect the server certificate",
                s.target.sslmode
            ),
            None,
        ));
    };
    let cert = tls.server_certificate.as_ref().ok_or_else(|| {
        Verdict::unknown(
            "the TLS handshake did not yield the server certificate",
            None,
        )
    })?;
    let (now, not_before, not_after) = match (
        parse_instant(&s.collected_at),
        parse_instant(&cert.not_before),
        parse_instant(&cert.not_after),
    ) {
        (Some(n), Some(b), Some(a)) => (n, b, a),
        _ => {
            return Err(Verdict::unknown(
                "the certificate's validity dates or the scan time could not be read",
                None,
            ))
        }
    };
    let fingerprint = cert.sha256.get(..16).unwrap_or(&cert.sha256);
    let seen = format!(
        "certificate subject {}, issuer {}, valid {} to {}, SAN [{}], sha256 {fingerprint}…",
        cert.subject,
        cert.issuer,
        cert.not_before,
        cert.not_after,
        cert.san.join(", ")
    );
    let mut problems = Vec::new();
    let mut cautions = Vec::new();
    if not_after < now {
        problems.push("expired".to_string());
    } else if (not_after - now).whole_days() < EXPIRY_WARNING_DAYS {
        cautions.push(format!(
            "expires in {} day(s)",
            (not_after - now).whole_days()
        ));
    }
    if not_before > now {
        problems.push("not valid yet".to_string());
    }
    let snakeoil = [&cert.subject, &cert.issuer]
        .iter()
        .any(|t| t.to_ascii_lowercase().contains("snakeoil"));
    if cert.self_signed || snakeoil {
        problems.push("self-signed: clients cannot verify it against a CA".to_string());
    }
    if cert.san.is_empty() {
        match common_name(&cert.subject) {
            Some(cn) if san_matches(host, &[cn.to_string()]) => {
                cautions.push("no subjectAltName: the host is named only in the CN".to_string())
            }
            _ => problems.push(format!("does not name the host {host}")),
        }
    } else if !san_matches(host, &cert.san) {
        problems.push(format!("subjectAltName does not name the host {host}"));
    }
    Ok(if !problems.is_empty() {
        Verdict::fail(format!("{seen}: {}", problems.join("; "))).with_objects(problems)
    } else if !cautions.is_empty() {
        Verdict::warn(format!("{seen}: {}", cautions.join("; "))).with_objects(cautions)
    } else {
        Verdict::pass(format!("{seen}: in date, CA-issued, names {host}"))
    })
}

// ---------------------------------------------------------------------------
// TLS-007

pub static REPLICATION_TLS: Check = Check {
    id: "TLS-007",
    section: Section::Transit,
    title: "A standby verifies its primary over TLS",
    severity: Severity::High,
    hipaa: &["164.312(e)(1)"],
    cis: Some("7.5"),
    rationale: "A streaming standby receives every change to every PHI table. Unless \
        primary_conninfo asks for sslmode=verify-full (or verify-ca), the stream may run in \
        clear or to an impostor primary, so high. verify-ca passes but the evidence notes \
        that it does not check the host name. An empty primary_conninfo means the server is \
        not a streaming standby (not applicable); a Unix-socket host never leaves the \
        machine. The password in the string is never shown.",
    reproduce_sql: "SELECT pg_is_in_recovery(), name, setting, source, sourcefile \
        FROM pg_settings WHERE name = 'primary_conninfo'; -- read it as a superuser: the password is in it",
    evaluate: |s, p| settle(replication_tls(s, p)),
    fix: Fix::Build(replication_tls_plan),
};

fn replication_tls(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    if s.settings.is_some()
        && s.setting("primary_conninfo").is_none()
        && major_version(s).is_some_and(|m| m < 12)
    {
        return Ok(Verdict::manual(
            "before PostgreSQL 12 primary_conninfo lives in recovery.conf, which SQL cannot \
             read: check that it asks for sslmode=verify-full",
        ));
    }
    let setting = need_setting(s, "primary_conninfo")?;
    let raw = value(setting);
    let mut shown = setting.clone();
    shown.setting = Some(conninfo::redact(raw));
    let seen = describe("primary_conninfo", &shown);
    if raw.trim().is_empty() {
        return Ok(Verdict::not_applicable(format!(
            "{seen}: this server does not stream from a primary"
        )));
    }
    let Some(params) = conninfo::params(raw) else {
        return Err(Verdict::unknown(
            format!("{seen}: the connection string could not be read"),
            None,
        ));
    };
    if conninfo::get(&params, "host").is_some_and(|h| h.starts_with('/')) {
        return Ok(Verdict::pass(format!(
            "{seen}: replication connects over a Unix socket and never leaves the host"
        )));
    }
    Ok(match conninfo::get(&params, "sslmode") {
        Some("verify-full") => Verdict::pass(seen),
        Some("verify-ca") => Verdict::pass(format!(
            "{seen}; verify-ca checks the CA but not the host name (verify-full does)"
        )),
        Some(mode) => Verdict::fail(format!(
            "{seen}; sslmode={mode} does not verify the primary"
        )),
        None => Verdict::fail(format!(
            "{seen}; no sslmode, so libpq's default prefer applies: the stream may run in \
             clear and the primary is not verified"
        )),
    })
}

fn replication_tls_plan(s: &Snapshot, _: &Verdict) -> FixPlan {
    let raw = s.setting("primary_conninfo").map(value).unwrap_or_default();
    let apply = if major_version(s).is_some_and(|m| m < 13) {
        ApplyClass::Restart
    } else {
        ApplyClass::Reload
    };
    let mut note = String::from(
        "the standby needs the CA certificate in sslrootcert (default ~/.postgresql/root.crt of \
         its postgres OS user) and the primary a certificate naming the host in primary_conninfo",
    );
    let Some(new) = conninfo::with_sslmode(raw, "verify-full") else {
        return FixPlan {
            apply: vec![apply],
            needs: "superuser (ALTER SYSTEM) on the standby".into(),
            note: format!(
                "{note}; the current value could not be read: add sslmode=verify-full to it by hand"
            ),
            ..FixPlan::default()
        };
    };
    let rollback = if conninfo::has_secret(raw) {
        note.push_str(
            "; the password is left out of the new value: put it in the standby's ~/.pgpass \
             (the old value held a password, so its rollback cannot be printed: keep a copy of \
             postgresql.auto.conf)",
        );
        Vec::new()
    } else {
        vec![restore_parameter(s, "primary_conninfo")]
    };
    FixPlan {
        apply: vec![apply],
        statements: vec![alter_system_set("primary_conninfo", &new)],
        rollback,
        needs: "superuser (ALTER SYSTEM) on the standby".into(),
        note,
        ..FixPlan::default()
    }
}

// ---------------------------------------------------------------------------
// TLS-008

pub static CLIENT_CERTIFICATES: Check = Check {
    id: "TLS-008",
    section: Section::Transit,
    title: "Client certificates are fully verified",
    severity: Severity::Medium,
    hipaa: &["164.312(d)"],
    cis: None,
    rationale: "Where pg_hba relies on client certificates (method cert, or clientcert= on \
        another method), the certificate must chain to the CA in ssl_ca_file and its name \
        must match the role (clientcert=verify-full); verify-ca accepts any certificate the \
        CA ever issued for any person. A weaker person-authentication check, so medium. \
        Servers that use no client certificates are not applicable: authentication then \
        rests on the AUTH checks.",
    reproduce_sql: "SELECT line_number, type, database, user_name, address, auth_method, options \
        FROM pg_hba_file_rules WHERE auth_method = 'cert' OR array_to_string(options, ' ') LIKE '%clientcert%'; \
        SELECT name, setting FROM pg_settings WHERE name = 'ssl_ca_file';",
    evaluate: |s, p| settle(client_certificates(s, p)),
    fix: Fix::Build(client_certificates_plan),
};

/// Whether a rule asks for a client certificate, and how strictly (true = verify-full).
fn client_cert_mode(rule: &HbaRule) -> Option<bool> {
    if hba::method(rule) == "cert" {
        return Some(true);
    }
    rule.options
        .iter()
        .find_map(|o| o.strip_prefix("clientcert="))
        .and_then(|mode| match mode {
            "verify-full" => Some(true),
            "verify-ca" | "1" => Some(false),
            _ => None,
        })
}

const MISSING_CA: &str = "ssl_ca_file (empty)";

fn client_certificates(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let rules = hba::rules(s)?;
    let uses: Vec<(&HbaRule, bool)> = rules
        .iter()
        .filter(|r| hba::admits(r))
        .filter_map(|r| client_cert_mode(r).map(|full| (r, full)))
        .collect();
    if uses.is_empty() {
        return Ok(Verdict::not_applicable(
            "no pg_hba rule uses client certificates (method cert or clientcert=)",
        ));
    }
    let ca = need_setting(s, "ssl_ca_file")?;
    let mut flagged: Vec<String> = uses
        .iter()
        .filter(|(_, full)| !full)
        .map(|(r, _)| hba::display(r))
        .collect();
    if value(ca).trim().is_empty() {
        flagged.push(MISSING_CA.to_string());
    }
    let seen = format!(
        "{} rule(s) use client certificates; {}",
        uses.len(),
        describe("ssl_ca_file", ca)
    );
    Ok(if flagged.is_empty() {
        Verdict::pass(format!("{seen}; all verify-full"))
    } else {
        Verdict::fail(format!("{seen}; weak: {}", listing(&flagged))).with_objects(flagged)
    })
}

fn client_certificates_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let rules = s.hba_rules.as_deref().unwrap_or(&[]);
    let flagged = flagged_rules(rules, verdict);
    let proposal = hba::propose(s, "TLS-008", |i, rule| {
        if !flagged.contains(&i) {
            return hba::keep(rule);
        }
        let mut new = rule.clone();
        new.options.retain(|o| !o.starts_with("clientcert="));
        new.options.push("clientcert=verify-full".into());
        hba::changed("TLS-008", rule, new)
    });
    let mut advice = String::from("sets clientcert=verify-full on the listed lines");
    if verdict.objects.iter().any(|o| o == MISSING_CA) {
        advice.push_str(
            "; also point ssl_ca_file at the CA that issues client certificates \
             (ALTER SYSTEM SET ssl_ca_file = '…') before reloading",
        );
    }
    hba::plan(s, proposal, &advice)
}

// ---------------------------------------------------------------------------
// TLS-009

pub static LISTEN_ADDRESSES: Check = Check {
    id: "TLS-009",
    section: Section::Transit,
    title: "The server listens only on the interfaces clients use",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(1)", "164.312(e)(1)"],
    cis: Some("5.2"),
    rationale: "listen_addresses = '*' (or 0.0.0.0, ::) opens the port on every interface, \
        including ones facing networks that should never reach PHI; pg_hba still decides who \
        gets in, so this is defence in depth: medium. Explicit addresses, localhost, or no \
        TCP at all ('') pass.",
    reproduce_sql: "SELECT name, setting, source, sourcefile, pending_restart FROM pg_settings \
        WHERE name = 'listen_addresses';",
    evaluate: |s, p| settle(listen_addresses(s, p)),
    fix: Fix::Build(listen_addresses_plan),
};

const WILDCARD_LISTEN: &[&str] = &["*", "0.0.0.0", "::"];

fn listen_addresses(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let setting = need_setting(s, "listen_addresses")?;
    let seen = describe("listen_addresses", setting);
    let wild: Vec<String> = list_items(value(setting))
        .into_iter()
        .filter(|a| WILDCARD_LISTEN.contains(&a.as_str()))
        .collect();
    Ok(if wild.is_empty() {
        Verdict::pass(seen)
    } else {
        Verdict::fail(format!(
            "{seen}; {} listens on every interface",
            wild.join(", ")
        ))
        .with_objects(wild)
    })
}

fn listen_addresses_plan(s: &Snapshot, _: &Verdict) -> FixPlan {
    let host = s.target.host.as_str();
    let tcp_host = !host.is_empty()
        && !host.starts_with('/')
        && !host.contains(',')
        && !host.eq_ignore_ascii_case("localhost");
    let proposed = if tcp_host {
        format!("localhost,{host}")
    } else {
        "localhost".to_string()
    };
    let mut note = format!(
        "proposes '{proposed}'{}: list the address of every interface your clients and \
         standbys reach, or they are locked out after the restart",
        if tcp_host {
            " (the scan reached the server as this host)"
        } else {
            ""
        }
    );
    if let Some(current) = s.setting("listen_addresses") {
        note.push_str(&format!(
            "; currently {}",
            describe("listen_addresses", current)
        ));
    }
    FixPlan {
        apply: vec![ApplyClass::Restart],
        statements: vec![alter_system_set("listen_addresses", &proposed)],
        rollback: vec![restore_parameter(s, "listen_addresses")],
        needs: "superuser (ALTER SYSTEM)".into(),
        note,
        ..FixPlan::default()
    }
}

// ---------------------------------------------------------------------------
// AUTH-001

pub static PASSWORD_ENCRYPTION_SCRAM: Check = Check {
    id: "AUTH-001",
    section: Section::Transit,
    title: "New passwords are hashed with SCRAM-SHA-256",
    severity: Severity::High,
    hipaa: &["164.312(d)", "164.308(a)(5)(ii)(D)"],
    cis: None,
    rationale: "MD5 verifiers can be replayed by anyone who reads them and are cheap to \
        brute-force; SCRAM-SHA-256 resists both. Weak credential storage for a PHI system \
        is rated high. Before PostgreSQL 14 the default was md5 (and `on` meant md5); \
        PostgreSQL 18 deprecates md5 passwords and a later major will refuse them, which the \
        evidence notes on 18 and later.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings WHERE name = 'password_encryption';",
    evaluate: password_encryption_scram,
    fix: Fix::Build(|s, v| {
        fix_settings(
            s,
            v,
            SCRAM_RULES,
            &[ApplyClass::Reload],
            "existing md5 hashes stay md5 until each password is set again (AUTH-002)",
        )
    }),
};

/// A role or database setting of md5 hashes that role's next password as
/// md5 whatever the server-wide value, so every scope is judged.
const SCRAM_RULES: &[Expect] = &[Expect {
    name: "password_encryption",
    wanted: "scram-sha-256",
    ok: |v| v == "scram-sha-256",
    fix_value: "scram-sha-256",
}];

fn password_encryption_scram(s: &Snapshot, _: &Policy) -> Verdict {
    let verdict = expect_all(s, SCRAM_RULES);
    if verdict.status == Status::Fail {
        return with_md5_deprecation(s, verdict);
    }
    verdict
}

/// From PostgreSQL 18 md5 passwords are deprecated: say so on a failing
/// md5 verdict, and whether the server still warns about them.
fn with_md5_deprecation(s: &Snapshot, mut verdict: Verdict) -> Verdict {
    if major_version(s).is_none_or(|m| m < 18) {
        return verdict;
    }
    verdict
        .evidence
        .push_str("; PostgreSQL 18 deprecates md5 passwords and a future major will refuse them");
    if let Some(warnings) = s.setting("md5_password_warnings") {
        if is_off(value(warnings)) {
            verdict.evidence.push_str(&format!(
                " ({} silences the deprecation warnings)",
                describe("md5_password_warnings", warnings)
            ));
        }
    }
    verdict
}

// ---------------------------------------------------------------------------
// AUTH-002

pub static NO_MD5_VERIFIERS: Check = Check {
    id: "AUTH-002",
    section: Section::Transit,
    title: "No role keeps an MD5 password verifier",
    severity: Severity::High,
    hipaa: &["164.312(d)"],
    cis: None,
    rationale: "Setting password_encryption to scram-sha-256 does not convert hashes \
        already stored: a role keeps its md5 verifier (replayable, cheap to crack) until its \
        password is set again. A plain-text stored password (very old servers) is worse. \
        Weak stored credentials, so high. Reading pg_authid needs superuser; without it the \
        check is unknown (managed services never grant it: there, reset the passwords and \
        refuse md5 with the provider's setting, see AUTH-004). From PostgreSQL 18 md5 \
        passwords are deprecated.",
    reproduce_sql: "SELECT rolname, CASE WHEN rolpassword LIKE 'md5%' THEN 'md5' \
        WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram' WHEN rolpassword IS NULL THEN 'none' \
        ELSE 'plain' END AS kind FROM pg_authid WHERE rolpassword IS NOT NULL \
        AND rolpassword NOT LIKE 'SCRAM-SHA-256$%' ORDER BY 1;",
    evaluate: |s, p| settle(no_md5_verifiers(s, p)),
    fix: Fix::Build(rehash_passwords_plan),
};

fn password_kinds(s: &Snapshot) -> Result<&BTreeMap<String, PasswordKind>, Verdict> {
    s.password_kinds.as_ref().ok_or_else(|| {
        if let Some(provider) = managed::detect(s) {
            // No grant can help: the provider never lets customers read pg_authid.
            return Verdict::unknown(
                format!(
                    "{} does not let customers read pg_authid, so stored password verifiers \
                     cannot be inspected; set every password again with password_encryption = \
                     scram-sha-256 (AUTH-001) to be sure none is md5",
                    provider.name()
                ),
                None,
            );
        }
        part_missing(
            s,
            "password_kinds",
            format!(
                "GRANT SELECT (rolname, rolpassword) ON pg_catalog.pg_authid TO {} \
                 (it exposes password hashes: scanning as a superuser may be preferable)",
                escape_identifier(&scanner_role(s))
            ),
        )
    })
}

fn no_md5_verifiers(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let kinds = password_kinds(s)?;
    let weak: Vec<String> = kinds
        .iter()
        .filter_map(|(role, kind)| match kind {
            PasswordKind::Md5 => Some(format!("{role} (md5)")),
            PasswordKind::Plain => Some(format!("{role} (plain text)")),
            PasswordKind::None | PasswordKind::Scram => None,
        })
        .collect();
    let scram = kinds
        .values()
        .filter(|k| **k == PasswordKind::Scram)
        .count();
    Ok(if weak.is_empty() {
        Verdict::pass(format!(
            "{} role(s) read from pg_authid; {scram} SCRAM verifier(s), none md5 or plain",
            kinds.len()
        ))
    } else {
        with_md5_deprecation(
            s,
            Verdict::fail(format!(
                "{} role(s) keep a weak password verifier: {}",
                weak.len(),
                listing(&weak)
            )),
        )
        .with_objects(
            kinds
                .iter()
                .filter(|(_, k)| matches!(k, PasswordKind::Md5 | PasswordKind::Plain))
                .map(|(r, _)| r.clone()),
        )
    })
}

fn rehash_passwords_plan(_: &Snapshot, verdict: &Verdict) -> FixPlan {
    let commands: Vec<String> = verdict
        .objects
        .iter()
        .map(|role| {
            if role.contains(['\n', '\r']) {
                format!("(role {role:?}: a name with a line break cannot be given to \\password; use a client library's password change)")
            } else {
                format!("\\password {}", escape_identifier(role))
            }
        })
        .collect();
    FixPlan {
        apply: vec![ApplyClass::Manual],
        statements: Vec::new(),
        rollback: Vec::new(),
        needs: "superuser or CREATEROLE, and each role's new password".into(),
        note: format!(
            "stored hashes cannot be converted: after AUTH-001, set each password again from \
             psql, which hashes it with SCRAM on the client so that no password reaches the \
             server log: {}. Cannot be undone: the old hashes are gone",
            commands.join("; ")
        ),
        irreversible: true,
        config_edit: None,
    }
}

// ---------------------------------------------------------------------------
// AUTH-003 … AUTH-007: single pg_hba rules

/// Loaded, admitting rules that `pick` selects and that some connection can
/// still reach (not behind an earlier reject).
fn reachable_rules(rules: &[HbaRule], pick: impl Fn(&HbaRule) -> bool) -> Vec<usize> {
    (0..rules.len())
        .filter(|&i| {
            let rule = &rules[i];
            hba::admits(rule)
                && pick(rule)
                && !hba::shadowed(rules, i, hba::kinds(rule), &Who::Anyone)
        })
        .collect()
}

/// Fail listing the picked rules, or pass.
fn rule_verdict(rules: &[HbaRule], picked: &[usize], what: &str) -> Verdict {
    let shown: Vec<String> = picked.iter().map(|&i| hba::display(&rules[i])).collect();
    if shown.is_empty() {
        Verdict::pass(format!("{} pg_hba rule(s) read; none {what}", rules.len()))
    } else {
        Verdict::fail(format!(
            "{} pg_hba rule(s) {what}: {}",
            shown.len(),
            listing(&shown)
        ))
        .with_objects(shown)
    }
}

/// A copy of `rule` using `method`, keeping only options every method accepts.
fn with_method(rule: &HbaRule, method: &str) -> HbaRule {
    let mut new = rule.clone();
    new.auth_method = Some(method.into());
    new.options.retain(|o| o.starts_with("clientcert="));
    new
}

/// A proposal that changes the method of the flagged rules.
fn method_plan(
    s: &Snapshot,
    verdict: &Verdict,
    check_id: &str,
    new_method: fn(&HbaRule) -> &'static str,
    advice: &str,
) -> FixPlan {
    let rules = s.hba_rules.as_deref().unwrap_or(&[]);
    let flagged = flagged_rules(rules, verdict);
    let proposal = hba::propose(s, check_id, |i, rule| {
        if flagged.contains(&i) {
            hba::changed(check_id, rule, with_method(rule, new_method(rule)))
        } else {
            hba::keep(rule)
        }
    });
    let mut advice = advice.to_string();
    if let Some(locked) = md5_locked_out(s) {
        advice.push_str(&locked);
    }
    hba::plan(s, proposal, &advice)
}

/// A warning naming roles whose md5 or missing verifier SCRAM cannot use.
fn md5_locked_out(s: &Snapshot) -> Option<String> {
    let kinds = s.password_kinds.as_ref()?;
    let md5: Vec<String> = kinds
        .iter()
        .filter(|(_, k)| matches!(k, PasswordKind::Md5 | PasswordKind::Plain))
        .map(|(r, _)| r.clone())
        .collect();
    (!md5.is_empty()).then(|| {
        format!(
            "; roles with md5 verifiers cannot log in under scram-sha-256 until their \
             passwords are set again (AUTH-002): {}",
            listing(&md5)
        )
    })
}

fn scram_or_peer(rule: &HbaRule) -> &'static str {
    if hba::kinds(rule) == hba::LOCAL {
        "peer"
    } else {
        "scram-sha-256"
    }
}

fn scram(_: &HbaRule) -> &'static str {
    "scram-sha-256"
}

pub static NO_TRUST: Check = Check {
    id: "AUTH-003",
    section: Section::Transit,
    title: "No pg_hba rule trusts without authentication",
    severity: Severity::Critical,
    hipaa: &["164.312(d)"],
    cis: Some("5.3–5.4"),
    rationale: "`trust` lets anyone who can reach the socket or port log in as any role the \
        line names, superusers included, with no credential at all: no person or entity \
        authentication, so critical. Local (Unix-socket) trust counts too: every OS account \
        on the host becomes a database superuser. Lines behind an earlier reject are not \
        counted.",
    reproduce_sql: "SELECT line_number, type, database, user_name, address, netmask \
        FROM pg_hba_file_rules WHERE auth_method = 'trust' ORDER BY line_number;",
    evaluate: |s, p| settle(no_trust(s, p)),
    fix: Fix::Build(no_trust_plan),
};

fn no_trust(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let rules = hba::rules(s)?;
    let picked = reachable_rules(rules, |r| hba::method(r) == "trust");
    Ok(rule_verdict(rules, &picked, "use trust"))
}

fn no_trust_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    method_plan(
        s,
        verdict,
        "AUTH-003",
        scram_or_peer,
        "replaces trust with peer on local lines (the OS user must match the role, or add a \
         map) and scram-sha-256 on TCP lines (roles need passwords)",
    )
}

pub static NO_WEAK_METHODS: Check = Check {
    id: "AUTH-004",
    section: Section::Transit,
    title: "No pg_hba rule uses password, md5 or ident",
    severity: Severity::High,
    hipaa: &["164.312(d)", "164.312(e)(2)(ii)"],
    cis: None,
    rationale: "`password` sends the password in clear text; `md5` accepts replayable md5 \
        verifiers (AUTH-002); `ident` over TCP believes whatever the client's ident daemon \
        says. Each weakens person authentication for PHI access, so high. `ident` on a \
        local line is peer authentication (PostgreSQL converts it) and is not counted.",
    reproduce_sql: "SELECT line_number, type, database, user_name, address, netmask, auth_method \
        FROM pg_hba_file_rules WHERE auth_method IN ('password', 'md5', 'ident') ORDER BY line_number;",
    evaluate: |s, p| settle(no_weak_methods(s, p)),
    fix: Fix::Build(no_weak_methods_plan),
};

fn is_weak_method(rule: &HbaRule) -> bool {
    match hba::method(rule) {
        "password" | "md5" => true,
        "ident" => hba::is_network(rule),
        _ => false,
    }
}

fn no_weak_methods(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let rules = hba::rules(s)?;
    let picked = reachable_rules(rules, is_weak_method);
    Ok(rule_verdict(rules, &picked, "use password, md5 or ident"))
}

fn no_weak_methods_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    method_plan(
        s,
        verdict,
        "AUTH-004",
        scram,
        "replaces password, md5 and ident with scram-sha-256",
    )
}

pub static HOSTSSL_STRONG_METHODS: Check = Check {
    id: "AUTH-005",
    section: Section::Transit,
    title: "hostssl rules use SCRAM, certificates or Kerberos",
    severity: Severity::Medium,
    hipaa: &["164.312(d)"],
    cis: None,
    rationale: "TLS protects the channel, not the credential check: a hostssl line should \
        still authenticate with scram-sha-256, cert, gss or sspi. trust, password, md5 or \
        ident on it fail. ldap, radius, pam and bsd hand the password to the server (inside \
        TLS here) for a directory to check, and oauth (PostgreSQL 18+) hands a bearer token \
        to a validator library whose checks the scan cannot see: acceptable where identities \
        are managed centrally, weaker than SCRAM or certificates, so they give `warn`. \
        Medium: the transport is already encrypted.",
    reproduce_sql: "SELECT line_number, database, user_name, address, netmask, auth_method \
        FROM pg_hba_file_rules WHERE type = 'hostssl' \
        AND auth_method NOT IN ('scram-sha-256', 'cert', 'gss', 'sspi', 'reject') ORDER BY line_number;",
    evaluate: |s, p| settle(hostssl_strong_methods(s, p)),
    fix: Fix::Build(hostssl_strong_methods_plan),
};

const STRONG_METHODS: &[&str] = &["scram-sha-256", "cert", "gss", "sspi"];
/// Methods that hand the credential to something outside PostgreSQL to
/// check: a directory, PAM, or (PostgreSQL 18+) an OAuth validator library.
const DIRECTORY_METHODS: &[&str] = &["ldap", "radius", "pam", "bsd", "oauth"];

fn hostssl_strong_methods(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let rules = hba::rules(s)?;
    let picked = reachable_rules(rules, |r| {
        hba::conn_type(r) == "hostssl" && !STRONG_METHODS.contains(&hba::method(r))
    });
    let verdict = rule_verdict(rules, &picked, "on hostssl use a weaker method");
    let only_directory = !picked.is_empty()
        && picked
            .iter()
            .all(|&i| DIRECTORY_METHODS.contains(&hba::method(&rules[i])));
    Ok(if only_directory {
        Verdict {
            status: Status::Warn,
            evidence: format!(
                "{}; directory methods are acceptable where identities are managed centrally",
                verdict.evidence
            ),
            ..verdict
        }
    } else {
        verdict
    })
}

fn hostssl_strong_methods_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    method_plan(
        s,
        verdict,
        "AUTH-005",
        scram,
        "sets scram-sha-256 on the listed hostssl lines (or choose cert); roles that \
         authenticated against a directory need database passwords first",
    )
}

pub static NO_ANYWHERE_ADDRESSES: Check = Check {
    id: "AUTH-006",
    section: Section::Transit,
    title: "No pg_hba rule admits every client address",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "A line for `all`, 0.0.0.0/0 or ::/0 (in pg_hba_file_rules: address 0.0.0.0 \
        with netmask 0.0.0.0) lets any host that reaches the port try to log in, so PHI \
        access rests on passwords alone. Restricting the source network is an access \
        control in its own right; authentication still stands behind it, so medium. reject \
        lines are protective and never counted.",
    reproduce_sql: "SELECT line_number, type, database, user_name, address, netmask, auth_method \
        FROM pg_hba_file_rules WHERE type LIKE 'host%' AND auth_method <> 'reject' \
        AND (address = 'all' OR netmask IN ('0.0.0.0', '::')) ORDER BY line_number;",
    evaluate: |s, p| settle(no_anywhere(s, p)),
    fix: Fix::Build(no_anywhere_plan),
};

fn no_anywhere(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let rules = hba::rules(s)?;
    let picked = reachable_rules(rules, |r| hba::is_network(r) && hba::is_anywhere(r));
    Ok(rule_verdict(rules, &picked, "admit every client address"))
}

/// A plan that only says what to write: the right value is the organisation's.
fn hba_advice_plan(s: &Snapshot, verdict: &Verdict, advice: String) -> FixPlan {
    let path = s
        .setting("hba_file")
        .and_then(|x| x.setting.clone())
        .unwrap_or_else(|| "pg_hba.conf".into());
    FixPlan {
        apply: vec![ApplyClass::ConfigFile],
        needs: "write access to pg_hba.conf and superuser or EXECUTE on pg_reload_conf()".into(),
        note: format!(
            "{advice} in {path} for: {}; then {}",
            listing(&verdict.objects),
            hba::VALIDATE
        ),
        ..FixPlan::default()
    }
}

fn no_anywhere_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    hba_advice_plan(
        s,
        verdict,
        "replace the address with the application subnets and bastion hosts that need \
         access (e.g. 10.20.0.0/16); pgSafeguard cannot know them"
            .into(),
    )
}

pub static NAMED_DATABASES_AND_USERS: Check = Check {
    id: "AUTH-007",
    section: Section::Transit,
    title: "Network pg_hba rules name databases and roles",
    severity: Severity::Low,
    hipaa: &["164.308(a)(4)(ii)(B)"],
    cis: None,
    rationale: "`all` in the database or user column of a TCP line admits every current and \
        future database or role from that network, so access is authorised by default \
        rather than by decision. Grants still apply behind it, so low. Local (Unix-socket) \
        lines are not counted: they are bound to OS accounts on the host. Accepted lines \
        are listed in the policy one by one (the object is the rule as shown) or as a whole.",
    reproduce_sql: "SELECT line_number, type, database, user_name, address, netmask, auth_method \
        FROM pg_hba_file_rules WHERE type LIKE 'host%' AND auth_method <> 'reject' \
        AND ('all' = ANY (database) OR 'all' = ANY (user_name)) ORDER BY line_number;",
    evaluate: |s, p| settle(named_databases_and_users(s, p)),
    fix: Fix::Build(named_databases_plan),
};

fn named_databases_and_users(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let rules = hba::rules(s)?;
    let picked = reachable_rules(rules, |r| {
        hba::is_network(r)
            && (r.database.iter().any(|d| d == "all") || r.user_name.iter().any(|u| u == "all"))
    });
    Ok(rule_verdict(
        rules,
        &picked,
        "on TCP use all for databases or roles",
    ))
}

fn named_databases_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    hba_advice_plan(
        s,
        verdict,
        "name the databases and a group role per application (+clinic_app) instead of all, \
         or record the line as an accepted risk"
            .into(),
    )
}

// ---------------------------------------------------------------------------
// AUTH-008

pub static SUPERUSERS_LOCAL_ONLY: Check = Check {
    id: "AUTH-008",
    section: Section::Transit,
    title: "Superusers cannot log in from the network",
    severity: Severity::High,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "A superuser reads every PHI table and can switch auditing off; if a TCP line \
        from another host lets it log in, one stolen password is total exposure, so high. \
        A line reaches a superuser when its user column is all, the name, or a +group it \
        belongs to (through any chain of memberships). pg_hba is first match wins: a \
        superuser stopped by an earlier reject line for it is not reachable by later lines. \
        Loopback lines are local and not counted.",
    reproduce_sql: "SELECT rolname FROM pg_roles WHERE rolsuper AND rolcanlogin; \
        SELECT line_number, type, database, user_name, address, netmask, auth_method \
        FROM pg_hba_file_rules WHERE type LIKE 'host%' ORDER BY line_number;",
    evaluate: |s, p| settle(superusers_local_only(s, p)),
    fix: Fix::Build(superusers_local_plan),
};

/// Per login superuser, the indexes of non-loopback TCP rules that can admit
/// it; and the superusers that a `+group` left undecided.
struct SuperuserReach<'a> {
    reached: Vec<(&'a str, Vec<usize>)>,
    undecided: Vec<&'a str>,
}

fn superuser_reach<'a>(
    rules: &[HbaRule],
    roles: &'a [Role],
    groups: &Groups,
) -> SuperuserReach<'a> {
    let mut reach = SuperuserReach {
        reached: Vec::new(),
        undecided: Vec::new(),
    };
    for su in roles.iter().filter(|r| r.superuser && r.can_login) {
        let name = su.name.as_str();
        let who = Who::Role(name, groups);
        let mut lines = Vec::new();
        let mut undecided = false;
        for (i, rule) in rules.iter().enumerate() {
            if !hba::admits(rule) || !hba::is_network(rule) || hba::is_loopback(rule) {
                continue;
            }
            match hba::user_matches(&rule.user_name, name, groups) {
                Some(true) if !hba::shadowed(rules, i, hba::TCP, &who) => lines.push(i),
                None => undecided = true,
                _ => {}
            }
        }
        if !lines.is_empty() {
            reach.reached.push((name, lines));
        } else if undecided {
            reach.undecided.push(name);
        }
    }
    reach
}

fn reach_objects(rules: &[HbaRule], reach: &SuperuserReach) -> Vec<String> {
    reach
        .reached
        .iter()
        .flat_map(|(name, lines)| {
            lines
                .iter()
                .map(move |&i| format!("{name} via {}", hba::display(&rules[i])))
        })
        .collect()
}

fn superusers_local_only(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let rules = hba::rules(s)?;
    let roles = roles(s)?;
    let groups = Groups::new(s.memberships.as_deref());
    let reach = superuser_reach(rules, roles, &groups);
    let objects = reach_objects(rules, &reach);
    if !objects.is_empty() {
        return Ok(Verdict::fail(format!(
            "{} superuser(s) can log in from the network: {}",
            reach.reached.len(),
            listing(&objects)
        ))
        .with_objects(objects));
    }
    if !reach.undecided.is_empty() {
        return Err(Verdict::unknown(
            format!(
                "role memberships were not collected, so +group lines cannot be resolved for: {}",
                reach.undecided.join(", ")
            ),
            None,
        ));
    }
    let supers = roles.iter().filter(|r| r.superuser && r.can_login).count();
    Ok(Verdict::pass(format!(
        "{supers} login superuser(s); no non-loopback TCP rule admits them"
    )))
}

fn superusers_local_plan(s: &Snapshot, _: &Verdict) -> FixPlan {
    let rules = s.hba_rules.as_deref().unwrap_or(&[]);
    let roles = s.roles.as_deref().unwrap_or(&[]);
    let groups = Groups::new(s.memberships.as_deref());
    let reach = superuser_reach(rules, roles, &groups);
    let first = reach
        .reached
        .iter()
        .filter_map(|(_, lines)| lines.first().copied())
        .min()
        .unwrap_or(0);
    let mut unwritable = Vec::new();
    let mut rejects = vec![Line::Text(
        "# AUTH-008: superusers log in only locally".to_string(),
    )];
    for (name, _) in &reach.reached {
        match hba::name_token(name) {
            Some(token) => rejects.push(Line::Text(format!("host all {token} all reject"))),
            None => unwritable.push((*name).to_string()),
        }
    }
    let mut rejects = Some(rejects);
    let proposal = hba::propose(s, "AUTH-008", |i, rule| {
        let mut out = Vec::new();
        if i >= first {
            if let Some(lines) = rejects.take() {
                out.extend(lines);
            }
        }
        out.extend(hba::keep(rule));
        out
    });
    let mut advice = String::from(
        "adds `host all <superuser> all reject` above the first line that admitted a superuser; \
         loopback lines for superusers below it stop working for TCP: use the Unix socket",
    );
    if !unwritable.is_empty() {
        advice.push_str(&format!(
            "; these names cannot be written in pg_hba.conf and need a NOLOGIN/SUPERUSER review \
             instead: {}",
            unwritable.join(", ")
        ));
    }
    hba::plan(s, proposal, &advice)
}

// ---------------------------------------------------------------------------
// AUTH-009

pub static HBA_LOADS_CLEANLY: Check = Check {
    id: "AUTH-009",
    section: Section::Transit,
    title: "pg_hba.conf has no lines the server rejects",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "A line with an error is skipped on reload (the server keeps its old rules, so \
        the file on disk no longer says what is enforced) and stops the server from \
        starting at all. Access control that differs from what reviewers read is an access \
        control failure, though not an opening by itself: medium.",
    reproduce_sql: "SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL \
        ORDER BY line_number;",
    evaluate: |s, p| settle(hba_loads_cleanly(s, p)),
    fix: Fix::Instructions {
        apply: &[ApplyClass::ConfigFile],
        note: "correct the listed lines in pg_hba.conf; SELECT * FROM pg_hba_file_rules WHERE \
            error IS NOT NULL must return no rows before SELECT pg_reload_conf()",
    },
};

fn hba_loads_cleanly(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let rules = hba::rules(s)?;
    let broken: Vec<String> = rules
        .iter()
        .filter(|r| r.error.is_some())
        .map(hba::display)
        .collect();
    Ok(if broken.is_empty() {
        Verdict::pass(format!(
            "{} pg_hba line(s) read; none has an error",
            rules.len()
        ))
    } else {
        Verdict::fail(format!(
            "{} pg_hba line(s) with errors: {}",
            broken.len(),
            listing(&broken)
        ))
        .with_objects(broken)
    })
}

// ---------------------------------------------------------------------------
// AUTH-010

pub static IDENT_MAPS_NARROW: Check = Check {
    id: "AUTH-010",
    section: Section::Transit,
    title: "pg_ident maps no one onto a superuser and have no catch-all",
    severity: Severity::High,
    hipaa: &["164.308(a)(4)(i)"],
    cis: None,
    rationale: "A user-name map decides which OS, Kerberos or certificate identity may act \
        as which database role. A map that lets another identity become a superuser, or a \
        regular expression that matches every identity (/^(.*)$ onto a fixed role), hands \
        PHI-wide access to people nobody authorised, so high. An identity mapped onto the \
        role of the same name, and `/^(.*)$ \\1`, only restate peer authentication and are \
        not counted. Only maps that a pg_hba line uses (map=) are judged when pg_hba could \
        be read. pg_ident_file_mappings exists from PostgreSQL 15.",
    reproduce_sql: "SELECT line_number, map_name, sys_name, pg_username, error \
        FROM pg_ident_file_mappings ORDER BY line_number; \
        SELECT rolname FROM pg_roles WHERE rolsuper;",
    evaluate: |s, p| settle(ident_maps_narrow(s, p)),
    fix: Fix::Build(ident_maps_plan),
};

fn ident_display(m: &IdentMapping) -> String {
    match (&m.error, hba::ident_text(m)) {
        (Some(e), _) => format!("line {}: not loaded: {e}", m.line_number),
        (None, Some(text)) => format!("line {}: {text}", m.line_number),
        (None, None) => format!("line {}: (unreadable)", m.line_number),
    }
}

/// Whether a system-name regex matches every identity.
fn is_catch_all(sys_name: &str) -> bool {
    let Some(regex) = sys_name.strip_prefix('/') else {
        return false;
    };
    let body = regex.strip_prefix('^').unwrap_or(regex);
    let body = body.strip_suffix('$').unwrap_or(body);
    matches!(body, "" | ".*" | "(.*)" | ".+" | "(.+)" | "(.*)?")
}

/// Why a mapping is too broad, if it is.
fn ident_problem(m: &IdentMapping, superusers: &BTreeSet<&str>) -> Option<String> {
    if let Some(error) = &m.error {
        return Some(format!("not loaded: {error}"));
    }
    let sys = m.sys_name.as_deref().unwrap_or("");
    let pg = m.pg_username.as_deref().unwrap_or("");
    if is_catch_all(sys) && pg != "\\1" {
        return Some(format!("every identity may act as {pg}"));
    }
    if pg == "all" {
        return Some("may act as any role, superusers included".into());
    }
    if superusers.contains(pg) && sys != pg {
        return Some(format!("{sys} may act as superuser {pg}"));
    }
    None
}

fn ident_maps_narrow(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let Some(maps) = &s.ident_mappings else {
        if major_version(s).is_some_and(|m| m < 15) {
            return Ok(Verdict::not_applicable(
                "pg_ident_file_mappings exists from PostgreSQL 15; review pg_ident.conf by hand",
            ));
        }
        let role = escape_identifier(&scanner_role(s));
        return Err(part_missing(
            s,
            "ident_mappings",
            format!(
                "GRANT EXECUTE ON FUNCTION pg_catalog.pg_ident_file_mappings() TO {role}; \
                 GRANT SELECT ON pg_catalog.pg_ident_file_mappings TO {role}"
            ),
        ));
    };
    let roles = roles(s)?;
    let superusers: BTreeSet<&str> = roles
        .iter()
        .filter(|r| r.superuser)
        .map(|r| r.name.as_str())
        .collect();
    let used: Option<BTreeSet<&str>> = s.hba_rules.as_ref().map(|rules| {
        rules
            .iter()
            .filter(|r| hba::admits(r))
            .flat_map(|r| r.options.iter().filter_map(|o| o.strip_prefix("map=")))
            .collect()
    });
    let flagged: Vec<String> = maps
        .iter()
        .filter(|m| {
            m.error.is_some()
                || used
                    .as_ref()
                    .is_none_or(|u| m.map_name.as_deref().is_some_and(|name| u.contains(name)))
        })
        .filter_map(|m| {
            ident_problem(m, &superusers).map(|why| format!("{} ({why})", ident_display(m)))
        })
        .collect();
    Ok(if flagged.is_empty() {
        Verdict::pass(format!(
            "{} pg_ident mapping(s) read; none maps onto a superuser or catches all",
            maps.len()
        ))
    } else {
        Verdict::fail(format!(
            "{} pg_ident mapping(s) too broad: {}",
            flagged.len(),
            listing(&flagged)
        ))
        .with_objects(flagged)
    })
}

fn ident_maps_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let maps = s.ident_mappings.as_deref().unwrap_or(&[]);
    let mut lines = vec![format!(
        "# pg_ident.conf proposed by pgSafeguard AUTH-010 from pg_ident_file_mappings as seen at {}",
        s.collected_at
    )];
    for m in maps {
        let flagged = verdict
            .objects
            .iter()
            .any(|o| o.starts_with(&format!("{} (", ident_display(m))));
        match (flagged, hba::ident_text(m)) {
            (false, Some(text)) if m.error.is_none() => lines.push(text),
            _ => lines.push(format!("# AUTH-010 removed {}", ident_display(m))),
        }
    }
    let path = s
        .setting("ident_file")
        .and_then(|x| x.setting.clone())
        .unwrap_or_else(|| "pg_ident.conf".into());
    FixPlan {
        apply: vec![ApplyClass::ConfigFile],
        needs: "write access to pg_ident.conf and superuser or EXECUTE on pg_reload_conf()".into(),
        note: format!(
            "removes the listed mappings; map each person's identity onto their own role \
             instead; edit {path}, keeping a copy of the current file to roll back"
        ),
        config_edit: Some(ConfigEdit {
            file: "ident_file".into(),
            lines,
            validate: "after saving, SELECT * FROM pg_ident_file_mappings WHERE error IS NOT \
                NULL must return no rows before SELECT pg_reload_conf()"
                .into(),
        }),
        ..FixPlan::default()
    }
}

// ---------------------------------------------------------------------------
// AUTH-011

pub static PASSWORDLESS_LOGINS: Check = Check {
    id: "AUTH-011",
    section: Section::Transit,
    title: "No login role without a password depends on password rules",
    severity: Severity::Low,
    hipaa: &["164.312(d)"],
    cis: None,
    rationale: "A login role with no password cannot pass a password, md5 or scram-sha-256 \
        line. If every pg_hba line that reaches it asks for a password, the role is an \
        enabled account with no working credential: a stale login that invites someone to \
        'fix' it with trust. Roles that another line authenticates (peer, cert, gss, ldap …) \
        are fine, like the bootstrap superuser on peer. Account hygiene rather than an \
        opening, so low.",
    reproduce_sql: "SELECT rolname FROM pg_authid WHERE rolcanlogin AND rolpassword IS NULL; \
        SELECT line_number, type, database, user_name, address, auth_method \
        FROM pg_hba_file_rules ORDER BY line_number;",
    evaluate: |s, p| settle(passwordless_logins(s, p)),
    fix: Fix::Build(passwordless_plan),
};

/// What the rules that can reach one role ask of it.
#[derive(Default)]
struct RuleMix {
    password: bool,
    other: bool,
    undecided: bool,
}

fn rule_mix(rules: &[HbaRule], role: &str, groups: &Groups) -> RuleMix {
    let mut mix = RuleMix::default();
    let who = Who::Role(role, groups);
    for (i, rule) in rules.iter().enumerate() {
        if !hba::admits(rule) {
            continue;
        }
        match hba::user_matches(&rule.user_name, role, groups) {
            Some(true) if !hba::shadowed(rules, i, hba::kinds(rule), &who) => {
                if hba::PASSWORD_METHODS.contains(&hba::method(rule)) {
                    mix.password = true;
                } else {
                    mix.other = true;
                }
            }
            None => mix.undecided = true,
            _ => {}
        }
    }
    mix
}

fn passwordless_logins(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let rules = hba::rules(s)?;
    let kinds = password_kinds(s)?;
    let roles = roles(s)?;
    let groups = Groups::new(s.memberships.as_deref());
    let mut stranded = Vec::new();
    let mut undecided = Vec::new();
    let passwordless: Vec<&Role> = roles
        .iter()
        .filter(|r| r.can_login && kinds.get(&r.name) == Some(&PasswordKind::None))
        .collect();
    for role in &passwordless {
        let mix = rule_mix(rules, &role.name, &groups);
        if mix.password && !mix.other {
            if mix.undecided {
                undecided.push(role.name.clone());
            } else {
                stranded.push(role.name.clone());
            }
        }
    }
    if !stranded.is_empty() {
        return Ok(Verdict::fail(format!(
            "{} login role(s) without a password meet only password rules: {}",
            stranded.len(),
            listing(&stranded)
        ))
        .with_objects(stranded));
    }
    if !undecided.is_empty() {
        return Err(Verdict::unknown(
            format!(
                "role memberships were not collected, so +group lines cannot be resolved for: {}",
                listing(&undecided)
            ),
            None,
        ));
    }
    Ok(Verdict::pass(format!(
        "{} login role(s) without a password; each is served by a non-password rule or by none",
        passwordless.len()
    )))
}

fn passwordless_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let names: Vec<String> = named_roles(s, verdict)
        .iter()
        .map(|r| r.name.clone())
        .collect();
    role_plan(
        names
            .iter()
            .map(|r| Statement::alter_role(r, RoleOption::Login(false)))
            .collect(),
        names
            .iter()
            .map(|r| Statement::alter_role(r, RoleOption::Login(true)))
            .collect(),
        "disables login for roles that cannot authenticate; if a role is in use, give it a \
         password from psql (\\password) instead",
    )
}

// ---------------------------------------------------------------------------
// AUTH-012

pub static HUMAN_PASSWORDS_EXPIRE: Check = Check {
    id: "AUTH-012",
    section: Section::Transit,
    title: "Personal login roles have a password expiry",
    severity: Severity::Low,
    hipaa: &["164.308(a)(5)(ii)(D)"],
    cis: None,
    rationale: "Password management calls for credentials that do not live forever: a \
        personal login with VALID UNTIL unset or 'infinity' keeps a leaked password useful \
        indefinitely. Personal means a login role that is not a policy service account and \
        not the bootstrap superuser; without a policy file every other login counts. VALID \
        UNTIL governs passwords only (not peer or cert). A procedural control, so low.",
    reproduce_sql: "SELECT rolname, rolvaliduntil FROM pg_roles WHERE rolcanlogin \
        AND (rolvaliduntil IS NULL OR rolvaliduntil = 'infinity') ORDER BY 1;",
    evaluate: |s, p| settle(human_passwords_expire(s, p)),
    fix: Fix::Build(password_expiry_plan),
};

const EXPIRY_DAYS: i64 = 90;

fn never_expires(role: &Role) -> bool {
    role.valid_until
        .as_deref()
        .is_none_or(|v| v.eq_ignore_ascii_case("infinity"))
}

fn human_passwords_expire(s: &Snapshot, policy: &Policy) -> Result<Verdict, Verdict> {
    let roles = roles(s)?;
    let provider = managed::detect(s);
    let humans: Vec<&Role> = roles
        .iter()
        .filter(|r| is_human(r, policy, provider))
        .collect();
    let open: Vec<String> = humans
        .iter()
        .filter(|r| never_expires(r))
        .map(|r| r.name.clone())
        .collect();
    let scope = format!(
        "{} personal login role(s) (service accounts from the policy: {})",
        humans.len(),
        policy.service_accounts.len()
    );
    Ok(if open.is_empty() {
        Verdict::pass(format!("{scope}; each has VALID UNTIL set"))
    } else {
        Verdict::fail(format!("{scope}; without expiry: {}", listing(&open))).with_objects(open)
    })
}

fn password_expiry_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let until = parse_instant(&s.collected_at)
        .map(|t| (t + time::Duration::days(EXPIRY_DAYS)).date().to_string());
    let Some(until) = until else {
        return role_plan(
            Vec::new(),
            Vec::new(),
            "set VALID UNTIL on each listed role",
        );
    };
    let names: Vec<String> = named_roles(s, verdict)
        .iter()
        .map(|r| r.name.clone())
        .collect();
    role_plan(
        names
            .iter()
            .map(|r| Statement::alter_role(r, RoleOption::ValidUntil(until.clone())))
            .collect(),
        names
            .iter()
            .map(|r| Statement::alter_role(r, RoleOption::ValidUntil("infinity".into())))
            .collect(),
        &format!(
            "passwords expire {EXPIRY_DAYS} days after the scan; set up a renewal routine so \
             people change them before that date"
        ),
    )
}

// ---------------------------------------------------------------------------
// AUTH-013 and AUTH-014: libraries

pub static PASSWORD_QUALITY_LIBRARY: Check = Check {
    id: "AUTH-013",
    section: Section::Transit,
    title: "A password-quality library is loaded",
    severity: Severity::Medium,
    hipaa: &["164.308(a)(5)(ii)(D)"],
    cis: Some("5.6"),
    rationale: "passwordcheck (contrib) or credcheck rejects trivially guessable passwords \
        when they are set. Its reach is limited: a password that psql hashes on the client \
        cannot be judged. A password-management safeguard that narrows guessing attacks, so \
        medium.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings \
        WHERE name = 'shared_preload_libraries';",
    evaluate: |s, p| settle(password_quality_library(s, p)),
    fix: Fix::Build(password_quality_plan),
};

fn password_quality_library(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let setting = need_setting(s, "shared_preload_libraries")?;
    let seen = describe("shared_preload_libraries", setting);
    let raw = value(setting);
    Ok(
        if library_listed(raw, "passwordcheck") || library_listed(raw, "credcheck") {
            Verdict::pass(seen)
        } else {
            Verdict::fail(format!(
                "{seen}; neither passwordcheck nor credcheck is loaded"
            ))
        },
    )
}

fn password_quality_plan(s: &Snapshot, _: &Verdict) -> FixPlan {
    FixPlan {
        apply: vec![ApplyClass::Restart],
        statements: vec![preload_statement(s, "passwordcheck")],
        rollback: vec![restore_parameter(s, "shared_preload_libraries")],
        needs: "superuser (ALTER SYSTEM)".into(),
        note: "install the contrib package first (a library that is missing stops the server \
            from starting); credcheck is a richer alternative; takes effect after a restart"
            .into(),
        ..FixPlan::default()
    }
}

pub static AUTH_THROTTLING: Check = Check {
    id: "AUTH-014",
    section: Section::Transit,
    title: "Failed logins are slowed and half-open logins time out",
    severity: Severity::Medium,
    hipaa: &["164.308(a)(5)(ii)(C)"],
    cis: None,
    rationale: "Without a delay after each failed authentication, a password can be guessed \
        as fast as the network allows; auth_delay (auth_delay.milliseconds) or credcheck \
        (credcheck.auth_delay_ms) adds one. authentication_timeout above 60 s lets half-open \
        logins hold connection slots. Login monitoring and brute-force resistance, so medium. \
        A delay setting counts only when its library is in shared_preload_libraries.",
    reproduce_sql: "SELECT name, setting, unit, source FROM pg_settings WHERE name IN \
        ('authentication_timeout', 'shared_preload_libraries', 'auth_delay.milliseconds', \
        'credcheck.auth_delay_ms');",
    evaluate: |s, p| settle(auth_throttling(s, p)),
    fix: Fix::Build(auth_throttling_plan),
};

const MAX_AUTH_TIMEOUT_MS: f64 = 60_000.0;

/// The configured failed-login delay: the setting that gives it and its value.
fn login_delay(s: &Snapshot, preloaded: &str) -> Option<(String, f64)> {
    [
        ("auth_delay", "auth_delay.milliseconds"),
        ("credcheck", "credcheck.auth_delay_ms"),
    ]
    .into_iter()
    .filter(|(library, _)| library_listed(preloaded, library))
    .find_map(|(_, name)| {
        let setting = s.setting(name)?;
        let ms = to_ms(value(setting), setting.unit.as_deref().unwrap_or("ms"))?;
        (ms > 0.0).then(|| (describe(name, setting), ms))
    })
}

fn auth_timeout_ms(setting: &Setting) -> Option<f64> {
    to_ms(value(setting), setting.unit.as_deref().unwrap_or("s"))
}

fn auth_throttling(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let timeout = need_setting(s, "authentication_timeout")?;
    let libraries = need_setting(s, "shared_preload_libraries")?;
    let mut seen = vec![describe("authentication_timeout", timeout)];
    let mut problems = Vec::new();
    if auth_timeout_ms(timeout).is_none_or(|ms| ms > MAX_AUTH_TIMEOUT_MS) {
        problems.push("authentication_timeout".to_string());
    }
    match login_delay(s, value(libraries)) {
        Some((shown, _)) => seen.push(shown),
        None => {
            seen.push(describe("shared_preload_libraries", libraries));
            problems.push("failed-login delay".to_string());
        }
    }
    let seen = seen.join("; ");
    Ok(if problems.is_empty() {
        Verdict::pass(seen)
    } else {
        Verdict::fail(format!("{seen}; missing: {}", problems.join(", "))).with_objects(problems)
    })
}

fn auth_throttling_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let mut plan = FixPlan {
        needs: "superuser (ALTER SYSTEM)".into(),
        ..FixPlan::default()
    };
    let mut notes = Vec::new();
    if verdict
        .objects
        .iter()
        .any(|o| o == "authentication_timeout")
    {
        plan.statements
            .push(alter_system_set("authentication_timeout", "30s"));
        plan.rollback
            .push(restore_parameter(s, "authentication_timeout"));
        plan.apply.push(ApplyClass::Reload);
    }
    if verdict.objects.iter().any(|o| o == "failed-login delay") {
        let raw = s
            .setting("shared_preload_libraries")
            .map(value)
            .unwrap_or_default();
        if !library_listed(raw, "auth_delay") {
            plan.statements.push(preload_statement(s, "auth_delay"));
            plan.rollback
                .push(restore_parameter(s, "shared_preload_libraries"));
            plan.apply.insert(0, ApplyClass::Restart);
            notes.push(
                "auth_delay is a contrib module: install the package first, a missing library \
                 stops the server from starting",
            );
            if major_version(s).is_some_and(|m| m < 17) {
                notes.push(
                    "before PostgreSQL 17, ALTER SYSTEM accepts auth_delay.milliseconds only \
                     once the library is loaded: run that statement after the restart",
                );
            }
        }
        plan.statements
            .push(alter_system_set("auth_delay.milliseconds", "500"));
        plan.rollback
            .push(restore_parameter(s, "auth_delay.milliseconds"));
        if !plan.apply.contains(&ApplyClass::Reload) {
            plan.apply.push(ApplyClass::Reload);
        }
    }
    notes.push("a 500 ms delay slows guessing without bothering people");
    plan.note = notes.join("; ");
    plan
}

// ---------------------------------------------------------------------------
// AUTH-015

pub static CONNECTION_LIMITS: Check = Check {
    id: "AUTH-015",
    section: Section::Transit,
    title: "Personal login roles have a connection limit",
    severity: Severity::Low,
    hipaa: &["164.312(a)(1)"],
    cis: Some("5.5"),
    rationale: "An unlimited role can exhaust max_connections (denial of service to clinical \
        systems) and hides a shared or stolen account behind many parallel sessions. \
        Judged for personal login roles: superusers are left out because PostgreSQL does \
        not enforce the limit on them, and policy service accounts because their pool size \
        is the application's decision. Availability and misuse signal rather than \
        exposure, so low.",
    reproduce_sql: "SELECT rolname, rolconnlimit FROM pg_roles WHERE rolcanlogin \
        AND NOT rolsuper AND rolconnlimit = -1 ORDER BY 1;",
    evaluate: |s, p| settle(connection_limits(s, p)),
    fix: Fix::Build(connection_limits_plan),
};

const PERSONAL_CONNECTION_LIMIT: i32 = 5;

fn connection_limits(s: &Snapshot, policy: &Policy) -> Result<Verdict, Verdict> {
    let roles = roles(s)?;
    let provider = managed::detect(s);
    let judged: Vec<&Role> = roles
        .iter()
        .filter(|r| is_human(r, policy, provider) && !r.superuser)
        .collect();
    let open: Vec<String> = judged
        .iter()
        .filter(|r| r.conn_limit < 0)
        .map(|r| r.name.clone())
        .collect();
    let scope = format!("{} personal non-superuser login role(s)", judged.len());
    Ok(if open.is_empty() {
        Verdict::pass(format!("{scope}; each has a connection limit"))
    } else {
        Verdict::fail(format!("{scope}; unlimited: {}", listing(&open))).with_objects(open)
    })
}

fn connection_limits_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let names: Vec<String> = named_roles(s, verdict)
        .iter()
        .map(|r| r.name.clone())
        .collect();
    let limit = RoleOption::ConnectionLimit(PERSONAL_CONNECTION_LIMIT.into());
    role_plan(
        names
            .iter()
            .map(|r| Statement::alter_role(r, limit.clone()))
            .collect(),
        names
            .iter()
            .map(|r| Statement::alter_role(r, RoleOption::ConnectionLimit(-1)))
            .collect(),
        "five sessions suit a person; list roles used by software as service_accounts in the \
         policy and size their limit to the pool",
    )
}

// ---------------------------------------------------------------------------
// AUTH-016

pub static IDLE_TIMEOUTS: Check = Check {
    id: "AUTH-016",
    section: Section::Transit,
    title: "Idle personal sessions are logged off",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(2)(iii)"],
    cis: None,
    rationale: "Automatic logoff: a session left open on an unattended workstation gives the \
        next person PHI access under someone else's name. idle_session_timeout (PostgreSQL \
        14+) and idle_in_transaction_session_timeout must be above zero for every personal \
        login role, as resolved the way PostgreSQL does: role-in-database, then role, then \
        database, then ALTER ROLE ALL, then server setting, counting only databases the \
        role can connect to. Service accounts are left out (pools keep idle \
        connections on purpose). Before 14 idle sessions cannot be ended by the server, \
        which gives `warn` at best. An addressable specification, so medium.",
    reproduce_sql:
        "SELECT name, setting, source FROM pg_settings WHERE name IN \
        ('idle_session_timeout', 'idle_in_transaction_session_timeout'); \
        SELECT d.datname, r.rolname, s.setconfig FROM pg_db_role_setting s \
        LEFT JOIN pg_database d ON d.oid = s.setdatabase LEFT JOIN pg_roles r ON r.oid = s.setrole;",
    evaluate: |s, p| settle(idle_timeouts(s, p)),
    fix: Fix::Build(idle_timeouts_plan),
};

const IDLE_PARAMETERS: [&str; 2] = [
    "idle_in_transaction_session_timeout",
    "idle_session_timeout",
];
const IDLE_FIX_VALUE: &str = "15min";

/// One role whose effective timeout is zero, and where that zero comes from.
struct IdleGap {
    role: String,
    parameter: &'static str,
    /// Fix in this database only (the zero is a role-in-database setting).
    database: Option<String>,
    /// The role-level value the fix replaces, to restore on rollback.
    previous: Option<String>,
    object: String,
}

/// The zero timeouts `role` ends up with, one per scope that gives it one,
/// resolved by [`login_settings::PerRole`].
fn idle_gaps(resolver: &PerRole, parameter: &'static str, role: &str) -> Vec<IdleGap> {
    let mut gaps: Vec<IdleGap> = Vec::new();
    for (database, origin) in resolver.values(role) {
        let value = origin.value().unwrap_or_default();
        if to_ms(value, "ms").is_some_and(|ms| ms > 0.0) {
            continue;
        }
        let (source, fix_db, previous) = match origin {
            Origin::Override(o) => (
                o.layer.source(),
                o.database.filter(|_| o.layer == Layer::DatabaseUser),
                matches!(o.layer, Layer::DatabaseUser | Layer::User).then_some(value),
            ),
            _ => ("server-wide", None, None),
        };
        let object = format!(
            "role={role} database={} {parameter}={value} ({source})",
            database.unwrap_or("*")
        );
        if gaps.iter().any(|g| g.object == object) {
            continue;
        }
        gaps.push(IdleGap {
            role: role.to_string(),
            parameter,
            database: fix_db.map(str::to_string),
            previous: previous.map(str::to_string),
            object,
        });
    }
    gaps
}

/// The parameters this server has, with their server-wide values.
fn idle_parameters(s: &Snapshot) -> Result<Vec<(&'static str, &str, String)>, Verdict> {
    let mut found = Vec::new();
    for parameter in IDLE_PARAMETERS {
        // idle_session_timeout does not exist before 14: judge what exists.
        let setting = match login_settings::base_setting(s, parameter) {
            Err(absent) if is_not_applicable(&absent) => continue,
            found => found?,
        };
        found.push((parameter, value(setting), describe(parameter, setting)));
    }
    Ok(found)
}

/// A server-wide idle parameter: name, live value and its description.
type ServerIdle<'a> = (&'static str, &'a str, String);

fn all_idle_gaps<'a>(
    s: &'a Snapshot,
    people: &[&'a Role],
) -> Result<(Vec<IdleGap>, Vec<ServerIdle<'a>>), Verdict> {
    let parameters = idle_parameters(s)?;
    let mut gaps = Vec::new();
    for (parameter, _, _) in &parameters {
        let resolver = PerRole::new(s, parameter)?;
        for role in people {
            gaps.extend(idle_gaps(&resolver, parameter, &role.name));
        }
    }
    Ok((gaps, parameters))
}

/// Marker object: no personal role exists and a server-wide value is zero.
const SERVER_WIDE: &str = "server-wide";

fn idle_timeouts(s: &Snapshot, policy: &Policy) -> Result<Verdict, Verdict> {
    let roles = roles(s)?;
    let provider = managed::detect(s);
    let people: Vec<&Role> = roles
        .iter()
        .filter(|r| is_human(r, policy, provider))
        .collect();
    let (gaps, parameters) = all_idle_gaps(s, &people)?;
    let seen = parameters
        .iter()
        .map(|(_, _, d)| d.clone())
        .collect::<Vec<_>>()
        .join("; ");
    if people.is_empty() {
        // No personal role yet: judge the server-wide values future roles inherit.
        let zero = parameters
            .iter()
            .any(|(_, v, _)| to_ms(v, "ms").is_none_or(|ms| ms <= 0.0));
        return Ok(if zero {
            Verdict::fail(format!("no personal login roles yet; {seen}"))
                .with_objects(vec![SERVER_WIDE.to_string()])
        } else {
            Verdict::pass(format!("no personal login roles yet; {seen}"))
        });
    }
    let objects: Vec<String> = gaps.into_iter().map(|g| g.object).collect();
    if !objects.is_empty() {
        return Ok(Verdict::fail(format!(
            "{seen}; {} personal role setting(s) never time out: {}",
            objects.len(),
            listing(&objects)
        ))
        .with_objects(objects));
    }
    if let Some(major) = major_version(s).filter(|m| *m < 14) {
        return Ok(Verdict::warn(format!(
            "{seen}; PostgreSQL {major} cannot end idle sessions (idle_session_timeout arrived in 14)"
        )));
    }
    Ok(Verdict::pass(format!(
        "{seen}; all {} personal login role(s) time out; {}",
        people.len(),
        login_settings::SCOPE_NOTE
    )))
}

fn idle_timeouts_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    if verdict.objects.iter().any(|o| o == SERVER_WIDE) {
        let mut plan = FixPlan {
            apply: vec![ApplyClass::Reload],
            needs: "superuser (ALTER SYSTEM)".into(),
            note: "sets the server-wide values; give service accounts their own value with \
                ALTER ROLE … SET"
                .into(),
            ..FixPlan::default()
        };
        for parameter in IDLE_PARAMETERS {
            if s.setting(parameter).is_some() {
                plan.statements
                    .push(alter_system_set(parameter, IDLE_FIX_VALUE));
                plan.rollback.push(restore_parameter(s, parameter));
            }
        }
        return plan;
    }
    let everyone: Vec<&Role> = s
        .roles
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .filter(|r| r.can_login)
        .collect();
    let gaps = all_idle_gaps(s, &everyone)
        .map(|(g, _)| g)
        .unwrap_or_default();
    let mut statements = Vec::new();
    let mut rollback = Vec::new();
    let listed = verdict.object_set();
    for gap in gaps.iter().filter(|g| listed.contains(g.object.as_str())) {
        let setting = |value: Option<&str>| Statement::SessionDefault {
            scope: DefaultScope::Role {
                role: RoleRef::named(&gap.role),
                database: gap.database.clone(),
            },
            parameter: gap.parameter.to_string(),
            value: value.map(str::to_string),
        };
        statements.push(setting(Some(IDLE_FIX_VALUE)));
        rollback.push(setting(gap.previous.as_deref()));
    }
    statements.dedup();
    rollback.dedup();
    role_plan(
        statements,
        rollback,
        "applies to sessions started afterwards; 15 minutes matches common workstation \
         lock policies",
    )
}

// ---------------------------------------------------------------------------

#[cfg(test)]
mod fixtures {
    //! Snapshot builders for this section's cases and tests.
    use crate::checks::testkit::{base, hba, role, set, set_from};
    use crate::model::snapshot::*;

    pub const NET: Option<(&str, &str)> = Some(("10.0.0.0", "255.0.0.0"));
    pub const ANYWHERE: Option<(&str, &str)> = Some(("0.0.0.0", "0.0.0.0"));
    pub const LOOPBACK: Option<(&str, &str)> = Some(("127.0.0.1", "255.255.255.255"));

    /// The base snapshot with these pg_hba rules.
    pub fn rules(rules: Vec<HbaRule>) -> Snapshot {
        let mut s = base();
        s.hba_rules = Some(rules);
        s
    }

    /// A typical hardened file: local peer for postgres, hostssl scram for the app.
    pub fn hardened() -> Vec<HbaRule> {
        vec![
            hba(1, "local", "all", "postgres", None, "peer"),
            hba(2, "hostssl", "clinic", "+clinic_app", NET, "scram-sha-256"),
        ]
    }

    pub fn with_option(mut rule: HbaRule, option: &str) -> HbaRule {
        rule.options.push(option.into());
        rule
    }

    pub fn add_role(s: &mut Snapshot, r: Role, kind: PasswordKind) {
        if let Some(kinds) = s.password_kinds.as_mut() {
            kinds.insert(r.name.clone(), kind);
        }
        if let Some(roles) = s.roles.as_mut() {
            roles.push(r);
        }
    }

    /// A person's login role with a SCRAM password.
    pub fn person(s: &mut Snapshot, name: &str, edit: impl FnOnce(&mut Role)) {
        let r = role(name, |r| {
            r.can_login = true;
            edit(r);
        });
        add_role(s, r, PasswordKind::Scram);
    }

    pub fn session(pid: i32, addr: Option<&str>, ssl: bool, version: Option<&str>) -> Session {
        Session {
            pid,
            usename: Some("app".into()),
            datname: Some("clinic".into()),
            client_addr: addr.map(Into::into),
            application_name: Some("ehr".into()),
            ssl,
            version: version.map(Into::into),
            cipher: None,
            is_self: false,
        }
    }

    pub fn with_sessions(sessions: Vec<Session>) -> Snapshot {
        let mut s = base();
        s.sessions = Some(sessions);
        s
    }

    pub fn certificate() -> CertificateInfo {
        CertificateInfo {
            subject: "CN=db.example.org, O=Clinic".into(),
            issuer: "CN=Clinic Internal CA".into(),
            san: vec!["db.example.org".into(), "10.0.0.5".into()],
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: "2027-06-01T00:00:00Z".into(),
            self_signed: false,
            sha256: "ab".repeat(32),
        }
    }

    pub fn with_certificate(cert: CertificateInfo) -> Snapshot {
        let mut s = base();
        s.target.tls = Some(TlsInfo {
            version: Some("TLSv1.3".into()),
            cipher: Some("TLS_AES_256_GCM_SHA384".into()),
            bits: Some(256),
            server_certificate: Some(cert),
        });
        s
    }

    pub fn with_idle(values: &[(&str, &str)]) -> Snapshot {
        let mut s = base();
        person(&mut s, "alice", |_| {});
        for (name, value) in values {
            set(&mut s, name, value);
        }
        s
    }

    pub fn auto_conf(s: &mut Snapshot, name: &str, value: &str) {
        set_from(
            s,
            name,
            value,
            "configuration file",
            Some("/var/lib/postgresql/15/main/postgresql.auto.conf"),
        );
    }
}

#[cfg(test)]
pub fn cases() -> Vec<super::testkit::Case> {
    use super::testkit::{base, hba, set, with_settings, Case};
    use crate::model::snapshot::{IdentMapping, PasswordKind};
    use fixtures::*;

    let hba_case = |id: &'static str, bad_rule: HbaRule| {
        let mut bad = hardened();
        bad.push(bad_rule);
        Case::new(id, rules(hardened()), rules(bad))
    };

    let mut tls_bad_cert = certificate();
    tls_bad_cert.not_after = "2026-10-01T00:00:00Z".into();
    tls_bad_cert.self_signed = true;

    let mut ca = rules(vec![hba(1, "hostssl", "all", "all", NET, "cert")]);
    set(&mut ca, "ssl_ca_file", "root.crt");
    let mut ca_weak = rules(vec![with_option(
        hba(1, "hostssl", "all", "all", NET, "scram-sha-256"),
        "clientcert=verify-ca",
    )]);
    set(&mut ca_weak, "ssl_ca_file", "root.crt");

    let mapping = |sys: &str, pg: &str| IdentMapping {
        line_number: 1,
        map_name: Some("ops".into()),
        sys_name: Some(sys.into()),
        pg_username: Some(pg.into()),
        error: None,
    };
    let ident_with = |m: IdentMapping| {
        let mut s = rules(vec![with_option(
            hba(1, "hostssl", "all", "all", NET, "cert"),
            "map=ops",
        )]);
        s.ident_mappings = Some(vec![m]);
        s
    };

    let mut md5_role = base();
    person(&mut md5_role, "alice", |_| {});
    if let Some(k) = md5_role.password_kinds.as_mut() {
        k.insert("alice".into(), PasswordKind::Md5);
    }

    let mut stranded = rules(vec![hba(1, "hostssl", "all", "all", NET, "scram-sha-256")]);
    add_role(
        &mut stranded,
        super::testkit::role("app", |r| r.can_login = true),
        PasswordKind::None,
    );

    let mut expiring = base();
    person(&mut expiring, "alice", |r| {
        r.valid_until = Some("2027-01-01 00:00:00+00".into())
    });
    let mut forever = base();
    person(&mut forever, "alice", |_| {});

    let mut limited = base();
    person(&mut limited, "alice", |r| r.conn_limit = 5);

    let mut error_line = hba(3, "host", "all", "all", None, "md5");
    error_line.conn_type = None;
    error_line.auth_method = None;
    error_line.error = Some("invalid authentication method \"md6\"".into());

    vec![
        Case::new(
            "TLS-001",
            with_settings(&[("ssl", "on")]),
            with_settings(&[("ssl", "off")]),
        ),
        Case::new(
            "TLS-002",
            with_settings(&[("ssl_min_protocol_version", "TLSv1.2")]),
            with_settings(&[("ssl_min_protocol_version", "TLSv1")]),
        ),
        Case::new(
            "TLS-003",
            with_settings(&[("ssl_ciphers", "HIGH:!aNULL:!MD5:!3DES:!RC4")]),
            with_settings(&[("ssl_ciphers", "HIGH:MEDIUM:+3DES:!aNULL")]),
        ),
        hba_case(
            "TLS-004",
            hba(3, "host", "all", "all", NET, "scram-sha-256"),
        ),
        Case::new(
            "TLS-005",
            with_sessions(vec![
                session(101, Some("10.0.0.9"), true, Some("TLSv1.3")),
                session(102, None, false, None),
            ]),
            with_sessions(vec![session(101, Some("10.0.0.9"), false, None)]),
        ),
        Case::new(
            "TLS-006",
            with_certificate(certificate()),
            with_certificate(tls_bad_cert),
        ),
        Case::new(
            "TLS-007",
            with_settings(&[(
                "primary_conninfo",
                "host=primary.example.org user=repl sslmode=verify-full",
            )]),
            with_settings(&[(
                "primary_conninfo",
                "host=primary.example.org user=repl password=[redacted]",
            )]),
        ),
        Case::new("TLS-008", ca, ca_weak),
        Case::new(
            "TLS-009",
            with_settings(&[("listen_addresses", "localhost,10.0.0.5")]),
            with_settings(&[("listen_addresses", "*")]),
        ),
        Case::new(
            "AUTH-001",
            with_settings(&[("password_encryption", "scram-sha-256")]),
            with_settings(&[("password_encryption", "md5")]),
        ),
        Case::new("AUTH-002", base(), md5_role),
        hba_case("AUTH-003", hba(3, "host", "all", "all", LOOPBACK, "trust")),
        hba_case("AUTH-004", hba(3, "hostssl", "all", "all", NET, "md5")),
        hba_case("AUTH-005", hba(3, "hostssl", "all", "all", NET, "password")),
        hba_case(
            "AUTH-006",
            hba(
                3,
                "hostssl",
                "clinic",
                "+clinic_app",
                ANYWHERE,
                "scram-sha-256",
            ),
        ),
        hba_case(
            "AUTH-007",
            hba(3, "hostssl", "all", "all", NET, "scram-sha-256"),
        ),
        hba_case(
            "AUTH-008",
            hba(3, "hostssl", "all", "postgres", NET, "scram-sha-256"),
        ),
        hba_case("AUTH-009", error_line),
        Case::new(
            "AUTH-010",
            ident_with(mapping("alice", "alice")),
            ident_with(mapping("bob", "postgres")),
        ),
        Case::new("AUTH-011", rules(hardened()), stranded),
        Case::new("AUTH-012", expiring, forever.clone()),
        Case::new(
            "AUTH-013",
            with_settings(&[("shared_preload_libraries", "pgaudit,passwordcheck")]),
            with_settings(&[("shared_preload_libraries", "pgaudit")]),
        ),
        Case::new(
            "AUTH-014",
            with_settings(&[
                ("authentication_timeout", "30"),
                ("shared_preload_libraries", "auth_delay"),
                ("auth_delay.milliseconds", "500"),
            ]),
            with_settings(&[
                ("authentication_timeout", "60"),
                ("shared_preload_libraries", ""),
            ]),
        ),
        Case::new("AUTH-015", limited, forever),
        Case::new(
            "AUTH-016",
            with_idle(&[
                ("idle_session_timeout", "900000"),
                ("idle_in_transaction_session_timeout", "900000"),
            ]),
            with_idle(&[
                ("idle_session_timeout", "0"),
                ("idle_in_transaction_session_timeout", "900000"),
            ]),
        ),
    ]
    .into_iter()
    .chain(stored_credentials::cases())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::checks::testkit::{base, hba, role, set, with_settings};
    use crate::model::finding::Status;
    use crate::model::snapshot::{Membership, RoleSetting, Snapshot};

    fn run(check: &Check, s: &Snapshot) -> Verdict {
        (check.evaluate)(s, &Policy::default())
    }

    fn run_with(check: &Check, s: &Snapshot, policy: &Policy) -> Verdict {
        (check.evaluate)(s, policy)
    }

    const HOSTILE: &[&str] = &[
        "a\"; DROP ROLE x; --",
        "new\nline",
        "zoë'; --",
        "ünï \"code\"",
    ];

    #[test]
    fn hidden_setting_is_unknown_with_a_grant_never_pass() {
        let mut s = base();
        s.settings = None;
        let v = ssl_on(&s, &Policy::default());
        assert_eq!(v.status, Status::Unknown);
        assert!(v.grant.unwrap_or_default().contains("pg_read_all_settings"));
        let v = ssl_on(&Snapshot::default(), &Policy::default());
        assert_eq!(v.status, Status::Unknown);
    }

    #[test]
    fn old_on_value_of_password_encryption_means_md5() {
        let s = with_settings(&[("password_encryption", "on")]);
        assert_eq!(
            password_encryption_scram(&s, &Policy::default()).status,
            Status::Fail
        );
    }

    #[test]
    fn missing_parts_are_unknown_never_pass() {
        let mut s = base();
        s.hba_rules = None;
        s.sessions = None;
        s.password_kinds = None;
        s.roles = None;
        s.role_settings = None;
        s.subscriptions = None;
        for check in CHECKS {
            let v = run(check, &s);
            assert_ne!(
                v.status,
                Status::Pass,
                "{} passed without its facts",
                check.id
            );
        }
        for check in [
            &HBA_REQUIRES_TLS,
            &NO_TRUST,
            &SUPERUSERS_LOCAL_ONLY,
            &HBA_LOADS_CLEANLY,
        ] {
            let v = run(check, &s);
            assert_eq!(v.status, Status::Unknown, "{}", check.id);
            assert!(v.grant.unwrap_or_default().contains("pg_hba_file_rules"));
        }
        let v = run(&SESSIONS_ENCRYPTED, &s);
        assert!(v.grant.unwrap_or_default().contains("pg_read_all_stats"));
        let v = run(&NO_MD5_VERIFIERS, &s);
        assert_eq!(v.status, Status::Unknown);
        assert!(v.grant.unwrap_or_default().contains("pg_authid"));
    }

    #[test]
    fn reject_lines_are_protective_not_plaintext_or_broad() {
        let s = rules(vec![
            hba(1, "host", "all", "all", ANYWHERE, "reject"),
            hba(2, "hostnossl", "all", "all", ANYWHERE, "reject"),
        ]);
        for check in [
            &HBA_REQUIRES_TLS,
            &NO_ANYWHERE_ADDRESSES,
            &NAMED_DATABASES_AND_USERS,
            &SUPERUSERS_LOCAL_ONLY,
        ] {
            assert_eq!(run(check, &s).status, Status::Pass, "{}", check.id);
        }
    }

    #[test]
    fn host_line_behind_a_hostnossl_reject_is_not_plaintext() {
        let s = rules(vec![
            hba(1, "hostnossl", "all", "all", ANYWHERE, "reject"),
            hba(2, "host", "clinic", "app", NET, "scram-sha-256"),
        ]);
        assert_eq!(run(&HBA_REQUIRES_TLS, &s).status, Status::Pass);
        let after = rules(vec![
            hba(1, "host", "clinic", "app", NET, "scram-sha-256"),
            hba(2, "hostnossl", "all", "all", ANYWHERE, "reject"),
        ]);
        assert_eq!(run(&HBA_REQUIRES_TLS, &after).status, Status::Fail);
        let nogss = rules(vec![hba(
            1,
            "hostnogssenc",
            "all",
            "app",
            NET,
            "scram-sha-256",
        )]);
        assert_eq!(run(&HBA_REQUIRES_TLS, &nogss).status, Status::Fail);
    }

    #[test]
    fn loopback_plaintext_follows_the_policy() {
        let s = rules(vec![hba(
            1,
            "host",
            "all",
            "all",
            LOOPBACK,
            "scram-sha-256",
        )]);
        assert_eq!(run(&HBA_REQUIRES_TLS, &s).status, Status::Warn);
        let allow = Policy {
            allow_loopback_without_tls: Some(true),
            ..Policy::default()
        };
        assert_eq!(run_with(&HBA_REQUIRES_TLS, &s, &allow).status, Status::Pass);
        let forbid = Policy {
            allow_loopback_without_tls: Some(false),
            ..Policy::default()
        };
        assert_eq!(
            run_with(&HBA_REQUIRES_TLS, &s, &forbid).status,
            Status::Fail
        );
    }

    #[test]
    fn tls_plan_rewrites_to_hostssl_and_keeps_allowed_loopback_above_the_reject() {
        let mut s = rules(vec![
            hba(1, "local", "all", "postgres", None, "peer"),
            hba(2, "host", "all", "all", LOOPBACK, "scram-sha-256"),
            hba(3, "host", "clinic", "app", NET, "scram-sha-256"),
        ]);
        set(&mut s, "hba_file", "/etc/postgresql/15/main/pg_hba.conf");
        let allow = Policy {
            allow_loopback_without_tls: Some(true),
            ..Policy::default()
        };
        let v = run_with(&HBA_REQUIRES_TLS, &s, &allow);
        assert_eq!(v.status, Status::Fail);
        let plan = HBA_REQUIRES_TLS.plan(&s, &v);
        assert_eq!(plan.apply, vec![ApplyClass::ConfigFile]);
        let edit = plan.config_edit.unwrap_or_default();
        assert_eq!(edit.file, "hba_file");
        assert!(edit.validate.contains("error IS NOT NULL"));
        let rules: Vec<&String> = edit.lines.iter().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            rules,
            vec![
                "local all postgres peer",
                "host all all 127.0.0.1/32 scram-sha-256",
                "hostnossl all all all reject",
                "hostssl clinic app 10.0.0.0/8 scram-sha-256",
            ]
        );
        assert!(plan.note.contains("/etc/postgresql/15/main/pg_hba.conf"));
        // The proposal passes its own check.
        let mut after = s.clone();
        after.hba_rules = Some(vec![
            hba(1, "local", "all", "postgres", None, "peer"),
            hba(2, "host", "all", "all", LOOPBACK, "scram-sha-256"),
            hba(3, "hostnossl", "all", "all", None, "reject"),
            hba(4, "hostssl", "clinic", "app", NET, "scram-sha-256"),
        ]);
        if let Some(r) = after.hba_rules.as_mut() {
            r[2].address = Some("all".into());
        }
        assert_eq!(
            run_with(&HBA_REQUIRES_TLS, &after, &allow).status,
            Status::Pass
        );
    }

    #[test]
    fn sessions_judge_remote_clients_including_the_scan_itself() {
        let mut me = session(7, Some("192.168.1.20"), false, None);
        me.is_self = true;
        let s = with_sessions(vec![
            session(1, Some("127.0.0.1"), false, None),
            session(2, Some("::1"), false, None),
            session(3, None, false, None),
            session(4, Some("10.0.0.8"), true, Some("TLSv1.1")),
            me,
        ]);
        let v = run(&SESSIONS_ENCRYPTED, &s);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.objects.len(), 2);
        assert!(v.evidence.contains("[this scan]"));
        assert!(v.evidence.contains("TLSv1.1, deprecated"));
    }

    #[test]
    fn certificate_fails_when_the_server_has_ssl_off() {
        let mut off = with_settings(&[("ssl", "off")]);
        off.target.sslmode = "disable".into();
        let v = run(&SERVER_CERTIFICATE, &off);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(
            v.evidence
                .starts_with("ssl is off: the server presents no certificate (see TLS-001)"),
            "{v:?}"
        );
        assert!(!v.evidence.contains("sslmode=require"), "{v:?}");
        off.target.host = "/var/run/postgresql".into();
        assert_eq!(run(&SERVER_CERTIFICATE, &off).status, Status::Fail);
        // ssl = on but this scan came without TLS: still undecided.
        let mut on = with_settings(&[("ssl", "on")]);
        on.target.sslmode = "disable".into();
        let v = run(&SERVER_CERTIFICATE, &on);
        assert_eq!(v.status, Status::Unknown);
        assert!(v.evidence.contains("sslmode=require"));
        on.target.host = "/var/run/postgresql".into();
        assert_eq!(run(&SERVER_CERTIFICATE, &on).status, Status::Unknown);
    }

    #[test]
    fn certificate_needs_a_tls_connection_and_checks_names() {
        let mut plain = base();
        plain.target.sslmode = "disable".into();
        let v = run(&SERVER_CERTIFICATE, &plain);
        assert_eq!(v.status, Status::Unknown);
        assert!(v.evidence.contains("sslmode=require"));
        let mut socket = with_certificate(certificate());
        socket.target.host = "/var/run/postgresql".into();
        assert_eq!(run(&SERVER_CERTIFICATE, &socket).status, Status::Unknown);
        let mut by_ip = with_certificate(certificate());
        by_ip.target.host = "10.0.0.5".into();
        assert_eq!(run(&SERVER_CERTIFICATE, &by_ip).status, Status::Pass);
        let mut wrong = with_certificate(certificate());
        wrong.target.host = "other.example.org".into();
        assert_eq!(run(&SERVER_CERTIFICATE, &wrong).status, Status::Fail);
        let mut wildcard = certificate();
        wildcard.san = vec!["*.example.org".into()];
        assert_eq!(
            run(&SERVER_CERTIFICATE, &with_certificate(wildcard)).status,
            Status::Pass
        );
        let mut soon = certificate();
        soon.not_after = "2026-12-10T00:00:00Z".into();
        assert_eq!(
            run(&SERVER_CERTIFICATE, &with_certificate(soon)).status,
            Status::Warn
        );
        let mut snakeoil = certificate();
        snakeoil.subject = "CN=ssl-cert-snakeoil".into();
        snakeoil.san = vec!["db.example.org".into()];
        assert_eq!(
            run(&SERVER_CERTIFICATE, &with_certificate(snakeoil)).status,
            Status::Fail
        );
        let mut cn_only = certificate();
        cn_only.san.clear();
        assert_eq!(
            run(&SERVER_CERTIFICATE, &with_certificate(cn_only)).status,
            Status::Warn
        );
    }

    #[test]
    fn replication_password_never_reaches_evidence_or_plan() {
        let raw = "host=primary user=repl password='s3cr3t' sslmode=require";
        let mut s = base();
        auto_conf(&mut s, "primary_conninfo", raw);
        let v = run(&REPLICATION_TLS, &s);
        assert_eq!(v.status, Status::Fail);
        assert!(!v.evidence.contains("s3cr3t"));
        assert!(v.evidence.contains("[redacted]"));
        let plan = REPLICATION_TLS.plan(&s, &v);
        let all = format!("{:?}", plan);
        assert!(!all.contains("s3cr3t"));
        assert_eq!(
            plan.statements,
            vec!["ALTER SYSTEM SET \"primary_conninfo\" = 'host=primary user=repl sslmode=verify-full'"]
        );
        assert!(plan.rollback.is_empty());
        let empty = with_settings(&[("primary_conninfo", "")]);
        assert_eq!(run(&REPLICATION_TLS, &empty).status, Status::NotApplicable);
        let socket = with_settings(&[("primary_conninfo", "host=/var/run/postgresql user=repl")]);
        assert_eq!(run(&REPLICATION_TLS, &socket).status, Status::Pass);
        let uri = with_settings(&[(
            "primary_conninfo",
            "postgresql://repl:pw@primary/postgres?sslmode=verify-ca",
        )]);
        let v = run(&REPLICATION_TLS, &uri);
        assert_eq!(v.status, Status::Pass);
        assert!(!v.evidence.contains(":pw@"));
    }

    #[test]
    fn client_certificates_not_used_is_not_applicable() {
        let s = rules(hardened());
        assert_eq!(run(&CLIENT_CERTIFICATES, &s).status, Status::NotApplicable);
        let no_ca = rules(vec![hba(1, "hostssl", "all", "all", NET, "cert")]);
        let mut no_ca = no_ca;
        set(&mut no_ca, "ssl_ca_file", "");
        let v = run(&CLIENT_CERTIFICATES, &no_ca);
        assert_eq!(v.status, Status::Fail);
        assert!(CLIENT_CERTIFICATES
            .plan(&no_ca, &v)
            .note
            .contains("ssl_ca_file"));
    }

    #[test]
    fn auto_conf_overrides_are_judged_live_and_rolled_back_to_the_seen_value() {
        let mut s = base();
        auto_conf(&mut s, "ssl_min_protocol_version", "TLSv1.1");
        let v = run(&TLS_MIN_VERSION, &s);
        assert_eq!(v.status, Status::Fail);
        assert!(v.evidence.contains("postgresql.auto.conf"));
        let plan = TLS_MIN_VERSION.plan(&s, &v);
        assert_eq!(
            plan.rollback,
            vec!["ALTER SYSTEM SET \"ssl_min_protocol_version\" = 'TLSv1.1'"]
        );
    }

    #[test]
    fn version_dependent_defaults() {
        let mut pg11 = with_settings(&[("ssl", "on")]);
        pg11.target.server_version_num = Some(110_022);
        assert_eq!(run(&TLS_MIN_VERSION, &pg11).status, Status::Fail);
        assert_eq!(run(&REPLICATION_TLS, &pg11).status, Status::Manual);
        let mut pg14 = base();
        pg14.target.server_version_num = Some(140_010);
        pg14.ident_mappings = None;
        assert_eq!(run(&IDENT_MAPS_NARROW, &pg14).status, Status::NotApplicable);
        let mut pg15 = base();
        pg15.ident_mappings = None;
        assert_eq!(run(&IDENT_MAPS_NARROW, &pg15).status, Status::Unknown);
        let mut pg13 = with_idle(&[("idle_in_transaction_session_timeout", "60000")]);
        pg13.target.server_version_num = Some(130_015);
        assert_eq!(run(&IDLE_TIMEOUTS, &pg13).status, Status::Warn);
    }

    #[test]
    fn tls13_minimum_makes_cipher_list_moot() {
        let s = with_settings(&[
            ("ssl_ciphers", "HIGH:MEDIUM:+3DES:!aNULL"),
            ("ssl_min_protocol_version", "TLSv1.3"),
        ]);
        assert_eq!(run(&STRONG_CIPHERS, &s).status, Status::Pass);
        let v = run(
            &STRONG_CIPHERS,
            &with_settings(&[("ssl_ciphers", "HIGH:MEDIUM:+3DES:!aNULL")]),
        );
        assert!(v.evidence.contains("3DES (via MEDIUM)"));
    }

    #[test]
    fn md5_hashes_survive_scram_password_encryption() {
        let mut s = with_settings(&[("password_encryption", "scram-sha-256")]);
        person(&mut s, "alice", |_| {});
        if let Some(k) = s.password_kinds.as_mut() {
            k.insert("alice".into(), PasswordKind::Md5);
        }
        assert_eq!(run(&PASSWORD_ENCRYPTION_SCRAM, &s).status, Status::Pass);
        let v = run(&NO_MD5_VERIFIERS, &s);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.objects, vec!["alice".to_string()]);
        let plan = NO_MD5_VERIFIERS.plan(&s, &v);
        assert!(plan.irreversible);
        assert!(plan.statements.is_empty());
        assert!(plan.note.contains("\\password \"alice\""));
    }

    #[test]
    fn local_ident_is_peer_and_not_weak() {
        let s = rules(vec![hba(1, "local", "all", "all", None, "ident")]);
        assert_eq!(run(&NO_WEAK_METHODS, &s).status, Status::Pass);
        let tcp = rules(vec![hba(1, "hostssl", "all", "all", NET, "ident")]);
        assert_eq!(run(&NO_WEAK_METHODS, &tcp).status, Status::Fail);
    }

    #[test]
    fn method_plans_drop_options_the_new_method_refuses() {
        let s = rules(vec![with_option(
            hba(1, "hostssl", "all", "all", NET, "ident"),
            "map=ops",
        )]);
        let v = run(&NO_WEAK_METHODS, &s);
        let plan = NO_WEAK_METHODS.plan(&s, &v);
        let lines = plan.config_edit.unwrap_or_default().lines;
        assert!(lines.contains(&"hostssl all all 10.0.0.0/8 scram-sha-256".to_string()));
        assert!(lines
            .iter()
            .any(|l| l.starts_with("# AUTH-004 changed line 1")));
    }

    #[test]
    fn directory_methods_on_hostssl_warn() {
        let mut ldap = hba(1, "hostssl", "all", "all", NET, "ldap");
        ldap.options = vec!["ldapserver=dc1".into(), "ldapbindpasswd=hunter2".into()];
        let s = rules(vec![ldap]);
        let v = run(&HOSTSSL_STRONG_METHODS, &s);
        assert_eq!(v.status, Status::Warn);
        assert!(!v.evidence.contains("hunter2"));
        let plan = HOSTSSL_STRONG_METHODS.plan(&s, &v);
        assert!(!format!("{plan:?}").contains("hunter2"));
    }

    #[test]
    fn zero_netmask_is_anywhere() {
        let s = rules(vec![hba(
            1,
            "hostssl",
            "all",
            "app",
            Some(("192.168.0.0", "0.0.0.0")),
            "scram-sha-256",
        )]);
        assert_eq!(run(&NO_ANYWHERE_ADDRESSES, &s).status, Status::Fail);
        let v6 = rules(vec![hba(
            1,
            "hostssl",
            "all",
            "app",
            Some(("::", "::")),
            "scram-sha-256",
        )]);
        assert_eq!(run(&NO_ANYWHERE_ADDRESSES, &v6).status, Status::Fail);
    }

    #[test]
    fn per_line_acceptance_of_all() {
        let line = hba(1, "hostssl", "all", "all", NET, "scram-sha-256");
        let s = rules(vec![line.clone()]);
        let policy = Policy {
            accepted_risks: vec![crate::policy::PolicyAcceptedRisk {
                id: "AUTH-007".into(),
                object: Some(hba::display(&line)),
                by: "CISO".into(),
                reason: "single-tenant subnet".into(),
                expires: "2027-01-01".into(),
            }],
            ..Policy::default()
        };
        let finding = crate::checks::evaluate_one(
            &NAMED_DATABASES_AND_USERS,
            &s,
            &policy,
            &Default::default(),
        );
        assert_eq!(finding.status, Status::Accepted);
        assert!(finding.evidence.contains("accepted in the policy: line 1"));
        assert_eq!(finding.accepted.map(|a| a.by), Some("CISO".to_string()));
        let local = rules(vec![hba(1, "local", "all", "all", None, "peer")]);
        assert_eq!(run(&NAMED_DATABASES_AND_USERS, &local).status, Status::Pass);
    }

    #[test]
    fn superuser_reach_follows_groups_order_and_loopback() {
        let mut s = rules(vec![
            hba(1, "host", "all", "all", LOOPBACK, "scram-sha-256"),
            hba(2, "hostssl", "all", "+dba", NET, "scram-sha-256"),
        ]);
        s.memberships = Some(vec![Membership {
            role: "dba".into(),
            member: "postgres".into(),
            admin_option: false,
            inherit_option: None,
            set_option: None,
        }]);
        let v = run(&SUPERUSERS_LOCAL_ONLY, &s);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.objects.len(), 1);
        assert!(v.objects[0].starts_with("postgres via line 2"));

        let mut blocked = s.clone();
        if let Some(r) = blocked.hba_rules.as_mut() {
            r.insert(0, hba(0, "host", "all", "postgres", ANYWHERE, "reject"));
        }
        assert_eq!(run(&SUPERUSERS_LOCAL_ONLY, &blocked).status, Status::Pass);

        let mut blind = s.clone();
        blind.memberships = None;
        assert_eq!(run(&SUPERUSERS_LOCAL_ONLY, &blind).status, Status::Unknown);

        let plan = SUPERUSERS_LOCAL_ONLY.plan(&s, &v);
        let lines = plan.config_edit.unwrap_or_default().lines;
        let reject = lines
            .iter()
            .position(|l| l == "host all postgres all reject");
        let second = lines.iter().position(|l| l.starts_with("hostssl all +dba"));
        assert!(reject.is_some() && reject < second);
        let loopback = lines
            .iter()
            .position(|l| l.starts_with("host all all 127.0.0.1/32"));
        assert!(loopback < reject, "loopback line stays above the reject");
    }

    #[test]
    fn superuser_reject_lines_quote_hostile_names() {
        for name in HOSTILE {
            let mut s = rules(vec![hba(1, "hostssl", "all", "all", NET, "scram-sha-256")]);
            if let Some(roles) = s.roles.as_mut() {
                roles.push(role(name, |r| {
                    r.superuser = true;
                    r.can_login = true;
                }));
            }
            let v = run(&SUPERUSERS_LOCAL_ONLY, &s);
            let plan = SUPERUSERS_LOCAL_ONLY.plan(&s, &v);
            let lines = plan.config_edit.unwrap_or_default().lines;
            for line in &lines {
                assert!(!line.contains('\n'), "{line:?}");
            }
            if name.contains('\n') {
                assert!(plan.note.contains("cannot be written"));
            } else {
                let expected = format!("host all \"{}\" all reject", name.replace('"', "\"\""));
                assert!(lines.contains(&expected), "{lines:?}");
            }
        }
    }

    #[test]
    fn ident_maps_only_used_ones_and_identity_is_fine() {
        let mapping = |line: i32, map: &str, sys: &str, pg: &str| IdentMapping {
            line_number: line,
            map_name: Some(map.into()),
            sys_name: Some(sys.into()),
            pg_username: Some(pg.into()),
            error: None,
        };
        let mut s = rules(vec![with_option(
            hba(1, "hostssl", "all", "all", NET, "cert"),
            "map=ops",
        )]);
        s.ident_mappings = Some(vec![
            mapping(1, "ops", "postgres", "postgres"),
            mapping(2, "ops", "/^(.*)$", "\\1"),
            mapping(3, "unused", "bob", "postgres"),
        ]);
        assert_eq!(run(&IDENT_MAPS_NARROW, &s).status, Status::Pass);
        if let Some(m) = s.ident_mappings.as_mut() {
            m.push(mapping(4, "ops", "/^.*$", "app"));
        }
        let v = run(&IDENT_MAPS_NARROW, &s);
        assert_eq!(v.status, Status::Fail);
        let plan = IDENT_MAPS_NARROW.plan(&s, &v);
        let edit = plan.config_edit.unwrap_or_default();
        assert_eq!(edit.file, "ident_file");
        assert!(edit
            .lines
            .iter()
            .any(|l| l.starts_with("# AUTH-010 removed line 4")));
        assert!(edit.lines.contains(&"ops postgres postgres".to_string()));
    }

    #[test]
    fn passwordless_roles_served_by_peer_or_cert_are_fine() {
        let mut s = rules(vec![
            hba(1, "local", "all", "postgres", None, "peer"),
            hba(2, "hostssl", "all", "all", NET, "scram-sha-256"),
        ]);
        if let Some(k) = s.password_kinds.as_mut() {
            k.insert("postgres".into(), PasswordKind::None);
        }
        assert_eq!(run(&PASSWORDLESS_LOGINS, &s).status, Status::Pass);
    }

    #[test]
    fn policy_service_accounts_are_not_people() {
        let mut s = base();
        person(&mut s, "ehr_app", |_| {});
        let v = run(&HUMAN_PASSWORDS_EXPIRE, &s);
        assert_eq!(v.status, Status::Fail);
        let policy = Policy {
            service_accounts: vec!["ehr_app".into()],
            ..Policy::default()
        };
        assert_eq!(
            run_with(&HUMAN_PASSWORDS_EXPIRE, &s, &policy).status,
            Status::Pass
        );
        assert_eq!(
            run_with(&CONNECTION_LIMITS, &s, &policy).status,
            Status::Pass
        );
        let plan = HUMAN_PASSWORDS_EXPIRE.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["ALTER ROLE \"ehr_app\" VALID UNTIL '2027-02-25'"]
        );
    }

    #[test]
    fn superusers_are_exempt_from_connection_limits() {
        let mut s = base();
        person(&mut s, "dba_alice", |r| r.superuser = true);
        assert_eq!(run(&CONNECTION_LIMITS, &s).status, Status::Pass);
    }

    #[test]
    fn library_fixes_keep_existing_libraries() {
        let mut s = base();
        auto_conf(
            &mut s,
            "shared_preload_libraries",
            "pgaudit,\"PG_Stat_Statements\"",
        );
        let v = run(&PASSWORD_QUALITY_LIBRARY, &s);
        let plan = PASSWORD_QUALITY_LIBRARY.plan(&s, &v);
        assert_eq!(
            plan.statements,
            // One literal per library: a single 'a,b' literal would be stored
            // as one library name and the server would not restart.
            vec!["ALTER SYSTEM SET \"shared_preload_libraries\" = 'pgaudit', 'PG_Stat_Statements', 'passwordcheck'"]
        );
        assert_eq!(plan.apply, vec![ApplyClass::Restart]);
        set(&mut s, "authentication_timeout", "120");
        let v = run(&AUTH_THROTTLING, &s);
        assert_eq!(v.status, Status::Fail);
        let plan = AUTH_THROTTLING.plan(&s, &v);
        assert_eq!(plan.apply, vec![ApplyClass::Restart, ApplyClass::Reload]);
        assert_eq!(plan.statements.len(), 3);
        assert!(plan.statements[1].to_string().contains("auth_delay"));
        assert!(plan.note.contains("after the restart"));
    }

    #[test]
    fn auth_delay_setting_counts_only_when_loaded() {
        let s = with_settings(&[
            ("authentication_timeout", "30"),
            ("shared_preload_libraries", "pgaudit"),
            ("auth_delay.milliseconds", "500"),
        ]);
        assert_eq!(run(&AUTH_THROTTLING, &s).status, Status::Fail);
    }

    #[test]
    fn idle_timeouts_resolve_role_and_database_layers() {
        let mut s = with_idle(&[
            ("idle_session_timeout", "900000"),
            ("idle_in_transaction_session_timeout", "900000"),
        ]);
        s.role_settings = Some(vec![
            RoleSetting {
                database: Some("reports".into()),
                role: Some("alice".into()),
                config: vec!["idle_session_timeout=0".into()],
            },
            RoleSetting {
                database: Some("clinic".into()),
                role: None,
                config: vec!["idle_in_transaction_session_timeout=0".into()],
            },
            RoleSetting {
                database: None,
                role: Some("alice".into()),
                config: vec!["idle_in_transaction_session_timeout=5min".into()],
            },
        ]);
        let v = run(&IDLE_TIMEOUTS, &s);
        assert_eq!(v.status, Status::Fail);
        // The role setting overrides the database-wide zero; the role-in-database zero wins.
        assert_eq!(
            v.objects,
            vec!["role=alice database=reports idle_session_timeout=0 (database user)".to_string()]
        );
        let plan = IDLE_TIMEOUTS.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["ALTER ROLE \"alice\" IN DATABASE \"reports\" SET \"idle_session_timeout\" = '15min'"]
        );
        assert_eq!(
            plan.rollback,
            vec!["ALTER ROLE \"alice\" IN DATABASE \"reports\" SET \"idle_session_timeout\" = '0'"]
        );
    }

    #[test]
    fn listen_plan_names_the_scanned_host() {
        let s = with_settings(&[("listen_addresses", "*")]);
        let v = run(&LISTEN_ADDRESSES, &s);
        let plan = LISTEN_ADDRESSES.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["ALTER SYSTEM SET \"listen_addresses\" = 'localhost,db.example.org'"]
        );
        assert_eq!(
            plan.rollback,
            vec!["ALTER SYSTEM RESET \"listen_addresses\""]
        );
    }

    #[test]
    fn role_fix_builders_quote_hostile_names() {
        for name in HOSTILE {
            let mut s = rules(vec![hba(1, "hostssl", "all", "all", NET, "scram-sha-256")]);
            set(&mut s, "idle_session_timeout", "0");
            set(&mut s, "idle_in_transaction_session_timeout", "0");
            add_role(
                &mut s,
                role(name, |r| r.can_login = true),
                PasswordKind::None,
            );
            if let Some(k) = s.password_kinds.as_mut() {
                k.insert((*name).to_string(), PasswordKind::None);
            }
            for check in [
                &PASSWORDLESS_LOGINS,
                &HUMAN_PASSWORDS_EXPIRE,
                &CONNECTION_LIMITS,
                &IDLE_TIMEOUTS,
            ] {
                let v = run(check, &s);
                assert_eq!(v.status, Status::Fail, "{} {name:?}", check.id);
                let plan = check.plan(&s, &v);
                assert!(!plan.statements.is_empty(), "{} {name:?}", check.id);
                for statement in plan.statements.iter().chain(&plan.rollback) {
                    let text = statement.to_string();
                    assert!(text.contains(&escape_identifier(name)), "{statement}");
                    let bare = crate::checks::testkit::outside_quotes(&text);
                    assert!(
                        !bare.contains(';') && !bare.contains('\n') && !bare.contains("--"),
                        "{} {statement:?}",
                        check.id
                    );
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_role_name_stays_inside_its_quotes(name in "\\PC{1,20}") {
            let mut s = base();
            person(&mut s, &name, |_| {});
            let v = run(&CONNECTION_LIMITS, &s);
            let plan = CONNECTION_LIMITS.plan(&s, &v);
            for statement in plan.statements.iter().chain(&plan.rollback) {
                let bare = crate::checks::testkit::outside_quotes(&statement.to_string());
                proptest::prop_assert!(!bare.contains(';'), "{}", statement);
            }
        }
    }

    #[test]
    fn to_ms_reads_units() {
        assert_eq!(to_ms("15min", "ms"), Some(900_000.0));
        assert_eq!(to_ms("'30s'", "ms"), Some(30_000.0));
        assert_eq!(to_ms("60", "s"), Some(60_000.0));
        assert_eq!(to_ms("0", "ms"), Some(0.0));
        assert_eq!(to_ms("-1", "ms"), None);
        assert_eq!(to_ms("soon", "ms"), None);
    }
}

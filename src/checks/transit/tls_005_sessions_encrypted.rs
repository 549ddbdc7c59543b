//! TLS-005: whether a remote session connected at scan time (the scan's own
//! included) runs without TLS or on TLS 1.0/1.1.

use super::tls_rank;
use crate::checks::facts::{listing, part_missing, scanner_role, settle};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::{Session, Snapshot};
use crate::policy::Policy;
use postgres_protocol::escape::escape_identifier;
use std::net::IpAddr;

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

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::{session, with_sessions};
    use crate::checks::testkit::Case;
    vec![Case::new(
        "TLS-005",
        with_sessions(vec![
            session(101, Some("10.0.0.9"), true, Some("TLSv1.3")),
            session(102, None, false, None),
        ]),
        with_sessions(vec![session(101, Some("10.0.0.9"), false, None)]),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::transit::fixtures::*;
    use crate::model::finding::Status;

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
}

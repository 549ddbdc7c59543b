//! TLS-006: whether the certificate the server showed the scan's handshake is
//! in date, CA-issued and names the host the scan dialled.

use crate::checks::facts::{describe, is_off, parse_instant, settle};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;
use std::net::IpAddr;

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

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::{certificate, with_certificate};
    use crate::checks::testkit::Case;
    let mut tls_bad_cert = certificate();
    tls_bad_cert.not_after = "2026-10-01T00:00:00Z".into();
    tls_bad_cert.self_signed = true;
    vec![Case::new(
        "TLS-006",
        with_certificate(certificate()),
        with_certificate(tls_bad_cert),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::{base, with_settings};
    use crate::checks::transit::fixtures::*;
    use crate::model::finding::Status;

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
}

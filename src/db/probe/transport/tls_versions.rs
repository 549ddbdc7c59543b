//! TLS-002 by trial: a ClientHello that offers nothing newer than TLS 1.0 (or
//! 1.1), at OpenSSL security level 0 so that our side does not abort first.
//! The server must refuse it with an alert or by closing; a completed
//! handshake shows that clients can still use a version TLS-002 forbids.

use super::handshake::{Entry, Exchange, Offer, Versions};
use super::{attach, attempt, must_refuse, route, Found};
use crate::db::probe::ProbeContext;
use crate::model::proof::{CheckProof, Effect};
use openssl::ssl::SslVersion;
use std::net::SocketAddr;

/// An offer of TLS 1.0 up to `max`, on the given path.
pub(super) fn offer(entry: Entry, max: SslVersion) -> Offer {
    Offer {
        versions: Versions::UpTo(max),
        alpn: entry == Entry::Direct,
        ..Offer::new(entry)
    }
}

/// Try a handshake capped at `max` and judge it.
pub(super) async fn probe(
    ctx: &ProbeContext<'_>,
    addr: SocketAddr,
    entry: Entry,
    max: SslVersion,
) -> CheckProof {
    let (at, exchange) = attempt(ctx, addr, offer(entry, max)).await;
    judged(addr, entry, max, at, &exchange)
}

/// TLS-002's proof from a capped handshake already made.
pub(super) fn judged(
    addr: SocketAddr,
    entry: Entry,
    max: SslVersion,
    at: String,
    exchange: &Exchange,
) -> CheckProof {
    let cap = version_name(max);
    let attempted = match entry {
        Entry::SslRequest => format!(
            "TLS handshake after SSLRequest offering nothing newer than {cap}, at OpenSSL \
             security level 0"
        ),
        Entry::Direct => format!(
            "direct TLS handshake (no SSLRequest, ALPN \"postgresql\") offering nothing newer \
             than {cap}, at OpenSSL security level 0"
        ),
    };
    let (outcome, note) = must_refuse(
        exchange,
        format!(
            "the server refused {cap} and older: its version floor is above what TLS-002 forbids"
        ),
        format!(
            "the server completed a handshake at a version TLS-002 forbids ({cap} or older): \
             a client or attacker can still downgrade to it"
        ),
    );
    attach(
        "TLS-002",
        Effect::Decides,
        Found {
            attempted,
            from: route(exchange.local, addr),
            answer: exchange.answer(),
            at,
            outcome,
            note,
            source_ip: None,
        },
    )
}

fn version_name(version: SslVersion) -> &'static str {
    if version == SslVersion::TLS1 {
        "TLS 1.0"
    } else if version == SslVersion::TLS1_1 {
        "TLS 1.1"
    } else if version == SslVersion::TLS1_2 {
        "TLS 1.2"
    } else {
        "TLS 1.3"
    }
}

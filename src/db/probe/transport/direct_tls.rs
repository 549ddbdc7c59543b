//! PostgreSQL 17+ also takes TLS without SSLRequest (`sslnegotiation=direct`),
//! and then insists on the ALPN name `postgresql`: a TLS client of another
//! protocol must not be able to talk to it (cross-protocol attacks). Three
//! attempts on that path:
//!
//! - with ALPN, capped at TLS 1.1 → TLS-002: the version floor must hold on
//!   this path too (the one a downgrade would look for);
//! - with ALPN, our defaults → TLS-001: the direct path is TLS, with the ALPN
//!   name the server selected;
//! - without ALPN → TLS-001: the server completes the handshake and then
//!   closes without a word; that transcript is recorded. A server that talks
//!   on instead is not something a check forbids, so it is inconclusive.
//!
//! Attached with `Effect::Part` to TLS-001: they show TLS on a second path,
//! never enough to decide that the server's `ssl` setting is right.

use super::handshake::{Entry, Exchange, Handshake, Offer};
use super::{attach, attempt, route, tls_versions, Found};
use crate::db::probe::ProbeContext;
use crate::model::proof::{CheckProof, Effect, Outcome};
use openssl::ssl::SslVersion;
use std::net::SocketAddr;

/// The ALPN name PostgreSQL selects.
const POSTGRESQL: &str = "postgresql";

pub(super) async fn probe(ctx: &ProbeContext<'_>, addr: SocketAddr) -> Vec<CheckProof> {
    let with_alpn = Offer {
        alpn: true,
        ..Offer::new(Entry::Direct)
    };
    let without = Offer {
        watch_close: true,
        ..Offer::new(Entry::Direct)
    };
    let (capped, (at_alpn, alpn), (at_bare, bare)) = tokio::join!(
        tls_versions::probe(ctx, addr, Entry::Direct, SslVersion::TLS1_1),
        attempt(ctx, addr, with_alpn),
        attempt(ctx, addr, without),
    );
    let (outcome, note) = with_alpn_judged(&alpn);
    let alpn = proof(
        "direct TLS handshake (no SSLRequest) with ALPN \"postgresql\"",
        addr,
        at_alpn,
        &alpn,
        outcome,
        note,
    );
    let (outcome, note) = without_alpn_judged(&bare);
    let bare = proof(
        "direct TLS handshake (no SSLRequest) without ALPN, then wait for the server",
        addr,
        at_bare,
        &bare,
        outcome,
        note,
    );
    vec![capped, alpn, bare]
}

fn proof(
    attempted: &str,
    addr: SocketAddr,
    at: String,
    exchange: &Exchange,
    outcome: Outcome,
    note: String,
) -> CheckProof {
    attach(
        "TLS-001",
        Effect::Part,
        Found {
            attempted: attempted.into(),
            from: route(exchange.local, addr),
            answer: exchange.answer(),
            at,
            outcome,
            note,
            source_ip: None,
        },
    )
}

fn with_alpn_judged(exchange: &Exchange) -> (Outcome, String) {
    match &exchange.handshake {
        Handshake::Accepted(session) if session.alpn.as_deref() == Some(POSTGRESQL) => (
            Outcome::Holds,
            "the direct-TLS path is TLS too, and the server selected ALPN \"postgresql\"".into(),
        ),
        Handshake::Accepted(_) => (
            Outcome::Inconclusive,
            "the handshake completed without the server selecting ALPN \"postgresql\": \
             something other than PostgreSQL 17+ may answer on this address"
                .into(),
        ),
        _ => (
            Outcome::Inconclusive,
            "the server did not complete direct TLS; clients can still use SSLRequest, so \
             this shows no weakness"
                .into(),
        ),
    }
}

fn without_alpn_judged(exchange: &Exchange) -> (Outcome, String) {
    match &exchange.handshake {
        Handshake::Accepted(session)
            if session
                .after
                .as_deref()
                .is_some_and(|after| after.contains("closed")) =>
        {
            (
                Outcome::Holds,
                "the server completed the handshake and then closed without a word: it will \
                 not speak to a TLS client that did not name the PostgreSQL protocol"
                    .into(),
            )
        }
        Handshake::Refused(_) => (
            Outcome::Holds,
            "the server refused direct TLS without ALPN".into(),
        ),
        _ => (
            Outcome::Inconclusive,
            "the server did neither refuse nor close after a direct handshake without ALPN \
             (see the answer)"
                .into(),
        ),
    }
}

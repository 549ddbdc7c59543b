//! TLS-006 by trial: a normal handshake (our library's default versions,
//! suites and security level, as a real client's), then OpenSSL's verdict on
//! the server's chain against the CA the user gave (`sslrootcert`, or the
//! system store for `sslrootcert=system`) and on the host name.
//!
//! A certificate that does not verify is broken: a client with
//! `sslmode=verify-full` and the same CA would refuse this server, and one
//! without would accept an impostor just as readily. The note says it may
//! also be the wrong CA file. Without a CA there is nothing to check against:
//! inconclusive, naming `sslrootcert`.

use super::handshake::{Entry, Handshake, Offer, TrustAnchor, Verify};
use super::{attach, attempt, route, Found};
use crate::db::probe::ProbeContext;
use crate::model::conninfo::SYSTEM_ROOT_STORE;
use crate::model::proof::{CheckProof, Effect, Outcome};
use std::net::SocketAddr;
use std::path::Path;

pub(super) async fn probe(ctx: &ProbeContext<'_>, addr: SocketAddr, host: &str) -> CheckProof {
    let attempted = format!(
        "TLS handshake after SSLRequest, then the server certificate checked against the given \
         CA and the name {host:?}"
    );
    let Some(anchor) = anchor(ctx.params.sslrootcert.as_deref()) else {
        return attach(
            "TLS-006",
            Effect::Part,
            Found {
                attempted,
                from: route(None, addr),
                answer: "not attempted".into(),
                at: (ctx.clock)(),
                outcome: Outcome::Inconclusive,
                note: "no CA was given: set sslrootcert to the CA that issued the server \
                       certificate (or sslrootcert=system) so the probe can check the chain \
                       and host name"
                    .into(),
                source_ip: None,
            },
        );
    };
    let offer = Offer {
        verify: Some(Verify {
            anchor,
            host: host.to_string(),
        }),
        ..Offer::new(Entry::SslRequest)
    };
    let (at, exchange) = attempt(ctx, addr, offer).await;
    let (outcome, note) = match &exchange.handshake {
        Handshake::Accepted(session) => match &session.verified {
            Some(Ok(())) => (
                Outcome::Holds,
                format!("the certificate chains to the given CA, is in date and names {host:?}"),
            ),
            Some(Err(_)) => (
                Outcome::Broken,
                format!(
                    "the certificate does not verify against the given CA for {host:?} (see the \
                     answer): clients with sslmode=verify-full would refuse this server, or the \
                     sslrootcert given is not the CA that issued it"
                ),
            ),
            None => (
                Outcome::Inconclusive,
                "the certificate was not checked".into(),
            ),
        },
        _ => (
            Outcome::Inconclusive,
            "no handshake completed, so no certificate was seen".into(),
        ),
    };
    attach(
        "TLS-006",
        Effect::Part,
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

fn anchor(sslrootcert: Option<&Path>) -> Option<TrustAnchor> {
    let path = sslrootcert?;
    Some(if path == Path::new(SYSTEM_ROOT_STORE) {
        TrustAnchor::System
    } else {
        TrustAnchor::File(path.to_path_buf())
    })
}

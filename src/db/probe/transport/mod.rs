//! The transport probe (issue 15): for each reachable TCP address of the
//! server, what really crosses the wire.
//!
//! - [`plaintext`]: the answer to SSLRequest (TLS-001) and a startup without
//!   TLS per database and login class (TLS-004);
//! - [`tls_versions`]: handshakes capped at TLS 1.0 and 1.1 (TLS-002);
//! - [`ciphers`]: an offer of only suites without forward secrecy or AEAD
//!   (TLS-003, warning evidence);
//! - [`direct_tls`]: on PostgreSQL 17+, TLS without SSLRequest, with and
//!   without ALPN (TLS-002, TLS-001);
//! - [`certificate`]: chain and host name against the user's CA (TLS-006).
//!
//! Handshakes go through [`handshake`] (openssl, security level 0, so that
//! our side never refuses on the server's behalf); [`who`] picks the roles
//! and databases. Every socket operation is bounded by the attempt timeout.
//! Nothing here sends a password or anything after a handshake.
//!
//! Part of `db::probe`; imports `model` and its siblings in `db` only.

mod certificate;
mod ciphers;
mod direct_tls;
mod handshake;
mod plaintext;
mod tls_versions;
mod who;

use super::{route, ProbeContext, ProbeResult};
use crate::model::proof::{CheckProof, Effect, Outcome, Probe, ProbeSkipped, Proof};
use handshake::{Exchange, Handshake, Offer};
use openssl::ssl::SslVersion;
use std::net::SocketAddr;

/// PostgreSQL takes TLS without SSLRequest from this version on.
const DIRECT_TLS_SINCE: u32 = 170_000;

pub async fn probe(ctx: &ProbeContext<'_>) -> ProbeResult {
    if ctx.addresses.is_empty() {
        return Err(ProbeSkipped {
            probe: Probe::Transport,
            reason: "the server listens on no TCP address reachable from here, so there is \
                     no network transport to probe"
                .into(),
            grant: None,
        });
    }
    let connection = connection_addresses(ctx).await;
    let mut proofs = Vec::new();
    for &addr in &ctx.addresses {
        proofs.extend(plaintext::startups(ctx, addr).await);
        let host = if connection.contains(&addr) {
            ctx.params.host.clone()
        } else {
            addr.ip().to_string()
        };
        proofs.extend(tls(ctx, addr, &host).await);
    }
    Ok(proofs)
}

/// The TLS attempts at one address. The first handshake's SSLRequest answer
/// is TLS-001's proof; with no TLS there, the rest cannot be tried.
async fn tls(ctx: &ProbeContext<'_>, addr: SocketAddr, host: &str) -> Vec<CheckProof> {
    let mut proofs = Vec::new();
    let (at, first) = attempt(
        ctx,
        addr,
        tls_versions::offer(handshake::Entry::SslRequest, SslVersion::TLS1),
    )
    .await;
    proofs.push(plaintext::ssl_answer(addr, &at, &first));
    if let Handshake::NoTls(_) = first.handshake {
        proofs.extend(without_tls(addr, &at, &first));
        return proofs;
    }
    proofs.push(tls_versions::judged(
        addr,
        handshake::Entry::SslRequest,
        SslVersion::TLS1,
        at,
        &first,
    ));
    let direct = ctx
        .snapshot
        .target
        .server_version_num
        .is_some_and(|v| v >= DIRECT_TLS_SINCE);
    // Independent connections: made side by side, kept in this order.
    let (tls11, weak, cert, direct) = tokio::join!(
        tls_versions::probe(ctx, addr, handshake::Entry::SslRequest, SslVersion::TLS1_1),
        ciphers::probe(ctx, addr),
        certificate::probe(ctx, addr, host),
        async {
            if direct {
                direct_tls::probe(ctx, addr).await
            } else {
                Vec::new()
            }
        },
    );
    proofs.extend([tls11, weak, cert]);
    proofs.extend(direct);
    proofs
}

/// With no TLS at an address, the TLS checks get a proof saying why nothing was tried.
fn without_tls(addr: SocketAddr, at: &str, first: &Exchange) -> Vec<CheckProof> {
    ["TLS-002", "TLS-003", "TLS-006"]
        .into_iter()
        .map(|check| {
            attach(
                check,
                Effect::Part,
                Found {
                    attempted: "TLS handshake after SSLRequest".into(),
                    from: route(first.local, addr),
                    answer: first.answer(),
                    at: at.to_string(),
                    outcome: Outcome::Inconclusive,
                    note: "the server does not offer TLS on this address (see TLS-001), so \
                           there is no handshake to judge"
                        .into(),
                    source_ip: None,
                },
            )
        })
        .collect()
}

/// The connection's own addresses, whose certificate name is the host the
/// user dialled; other addresses are checked against their IP.
async fn connection_addresses(ctx: &ProbeContext<'_>) -> Vec<SocketAddr> {
    let params = ctx.params;
    if params.is_unix_socket() {
        return Vec::new();
    }
    let host = params.hostaddr.as_deref().unwrap_or(&params.host);
    let lookup = tokio::net::lookup_host((host, params.port));
    match tokio::time::timeout(ctx.options.attempt_timeout, lookup).await {
        Ok(Ok(addrs)) => addrs.collect(),
        _ => Vec::new(),
    }
}

/// Make one handshake attempt, stamped with the time it started.
async fn attempt(ctx: &ProbeContext<'_>, addr: SocketAddr, offer: Offer) -> (String, Exchange) {
    let at = (ctx.clock)();
    let exchange = handshake::attempt(addr, offer, ctx.options.attempt_timeout).await;
    (at, exchange)
}

/// What one attempt found, before it is tied to a check.
struct Found {
    attempted: String,
    from: String,
    answer: String,
    at: String,
    outcome: Outcome,
    note: String,
    /// Set for plaintext startups, whose loopback source the policy may excuse.
    source_ip: Option<String>,
}

fn attach(check: &str, effect: Effect, found: Found) -> CheckProof {
    CheckProof {
        check: check.into(),
        effect,
        source_ip: found.source_ip,
        proof: Proof {
            probe: Probe::Transport,
            attempted: found.attempted,
            from: found.from,
            answer: found.answer,
            at: found.at,
            outcome: found.outcome,
            note: found.note,
            grant: None,
        },
    }
}

/// The outcome of a handshake the safeguard says the server must refuse,
/// with the note for a refusal and for an acceptance.
fn must_refuse(exchange: &Exchange, refused: String, accepted: String) -> (Outcome, String) {
    match &exchange.handshake {
        Handshake::Refused(_) => (Outcome::Holds, refused),
        Handshake::Accepted(_) => (Outcome::Broken, accepted),
        Handshake::NoTls(_) => (
            Outcome::Inconclusive,
            "the server does not offer TLS on this address (see TLS-001)".into(),
        ),
        Handshake::Undecided(_) => (
            Outcome::Inconclusive,
            "nothing the server did decides it (see the answer): the attempt proves nothing".into(),
        ),
    }
}

//! TLS-003 by trial: a TLS 1.2 ClientHello offering only suites without
//! forward secrecy (static RSA key exchange) or without AEAD (CBC with an
//! HMAC). Accepted is warning evidence, never a failure: the catalogue's own
//! fix (`HIGH:!aNULL:!MD5:!3DES:!RC4`) still admits some of these suites.

use super::handshake::{Entry, Offer, Versions};
use super::{attach, attempt, must_refuse, route, Found};
use crate::db::probe::ProbeContext;
use crate::model::proof::{CheckProof, Effect};
use openssl::ssl::SslVersion;
use std::net::SocketAddr;

/// Static-RSA suites (no forward secrecy) and every suite with an HMAC
/// instead of AEAD, at security level 0 so our side offers them.
const WEAK_SUITES: &str = "kRSA:SHA1:SHA256:SHA384:!aNULL:!eNULL:@SECLEVEL=0";

pub(super) async fn probe(ctx: &ProbeContext<'_>, addr: SocketAddr) -> CheckProof {
    let offer = Offer {
        versions: Versions::UpTo(SslVersion::TLS1_2),
        ciphers: Some(WEAK_SUITES),
        ..Offer::new(Entry::SslRequest)
    };
    let (at, exchange) = attempt(ctx, addr, offer).await;
    let (outcome, note) = must_refuse(
        &exchange,
        "the server refused every suite without forward secrecy or without AEAD".into(),
        "the server agreed to a suite without forward secrecy or without AEAD; a warning, not \
         a failure, since the catalogue's cipher fix still admits such suites"
            .into(),
    );
    attach(
        "TLS-003",
        Effect::Warns,
        Found {
            attempted: "TLS handshake after SSLRequest (up to TLS 1.2) offering only suites \
                        without forward secrecy or without AEAD"
                .into(),
            from: route(exchange.local, addr),
            answer: exchange.answer(),
            at,
            outcome,
            note,
            source_ip: None,
        },
    )
}

//! What the server does with a client that does not ask for TLS: its answer
//! to SSLRequest (TLS-001) and a startup message sent in clear text for each
//! database and login class [`who`](super::who) picks (TLS-004).
//!
//! An ErrorResponse before authentication (28000, "no pg_hba.conf entry …
//! no encryption", or a `reject` line) holds; any authentication request, or
//! AuthenticationOk, is broken: the client got as far as credentials without
//! TLS. After AuthenticationOk the probe sends Terminate at once; after a
//! challenge it just closes (the server logs nothing for a client that
//! leaves, but would log a Terminate as a bad password message). Each proof
//! carries the local IP so the policy's `allow_loopback_without_tls` applies.

use super::handshake::{byte_text, Exchange};
use super::who::{self, Login};
use super::{attach, route, Found};
use crate::db::probe::wire::{self, FirstAnswer};
use crate::db::probe::ProbeContext;
use crate::model::proof::{CheckProof, Effect, Outcome};
use std::io;
use std::net::SocketAddr;

/// TLS-001's proof: the byte the server answered to SSLRequest.
pub(super) fn ssl_answer(addr: SocketAddr, at: &str, exchange: &Exchange) -> CheckProof {
    let (answer, outcome, note) = match exchange.ssl_answer {
        Some(b'S') => (
            byte_text(b'S'),
            Outcome::Holds,
            "the server offers TLS on this address".to_string(),
        ),
        Some(b'N') => (
            byte_text(b'N'),
            Outcome::Broken,
            "the server declined TLS: every connection to this address travels in clear text"
                .to_string(),
        ),
        Some(other) => (
            byte_text(other),
            Outcome::Inconclusive,
            "neither S nor N: an old server's error or not PostgreSQL".to_string(),
        ),
        None => (
            exchange.answer(),
            Outcome::Inconclusive,
            "no answer to SSLRequest, so this attempt proves nothing".to_string(),
        ),
    };
    attach(
        "TLS-001",
        Effect::Part,
        Found {
            attempted: "SSLRequest: ask the server to switch to TLS".into(),
            from: route(exchange.local, addr),
            answer,
            at: at.to_string(),
            outcome,
            note,
            source_ip: None,
        },
    )
}

/// A startup without TLS for each (database, login) pair, TLS-004's proofs.
pub(super) async fn startups(ctx: &ProbeContext<'_>, addr: SocketAddr) -> Vec<CheckProof> {
    let logins = who::logins(ctx.params, ctx.snapshot);
    let databases = who::databases(ctx.params, ctx.snapshot);
    let mut proofs = Vec::with_capacity(logins.len() * databases.len());
    for database in &databases {
        for login in &logins {
            proofs.push(startup(ctx, addr, login, database).await);
        }
    }
    proofs
}

async fn startup(
    ctx: &ProbeContext<'_>,
    addr: SocketAddr,
    login: &Login,
    database: &str,
) -> CheckProof {
    let at = (ctx.clock)();
    let timeout = ctx.options.attempt_timeout;
    let (local, answer) = match wire::open(addr, timeout).await {
        Err(err) => (None, Err(err)),
        Ok(mut stream) => {
            let local = stream.local_addr().ok();
            let answer = wire::startup(
                &mut stream,
                &login.role,
                database,
                &ctx.application_name(""),
                timeout,
            )
            .await;
            if matches!(answer, Ok(FirstAnswer::Ok)) {
                wire::terminate(&mut stream).await;
            }
            (local, answer)
        }
    };
    let (outcome, note) = judged(&answer);
    attach(
        "TLS-004",
        Effect::Part,
        Found {
            attempted: format!(
                "startup without TLS as {} {:?} to database {database:?}",
                login.class, login.role
            ),
            from: route(local, addr),
            answer: match &answer {
                Ok(first) => first.transcript(),
                Err(err) => format!("no answer: {err}"),
            },
            at,
            outcome,
            note,
            source_ip: local.map(|l| l.ip().to_string()),
        },
    )
}

fn judged(answer: &io::Result<FirstAnswer>) -> (Outcome, String) {
    match answer {
        // Class 28: invalid authorization, which pg_hba's refusals use.
        Ok(FirstAnswer::Error { code, .. }) if code.starts_with("28") => (
            Outcome::Holds,
            "the server refused the connection without TLS before any authentication".into(),
        ),
        Ok(FirstAnswer::Error { .. }) => (
            Outcome::Inconclusive,
            "the server refused for a reason that says nothing about TLS".into(),
        ),
        Ok(FirstAnswer::Ok) => (
            Outcome::Broken,
            "the server let this role in without TLS and without any credential: queries and \
             PHI would cross the network in clear text"
                .into(),
        ),
        Ok(_) => (
            Outcome::Broken,
            "the server went on to authenticate this role over a connection without TLS: the \
             credential exchange and then PHI would cross the network in clear text"
                .into(),
        ),
        Err(_) => (
            Outcome::Inconclusive,
            "no answer from the server, so this attempt proves nothing".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_refusal_before_authentication_holds() {
        let error = |code: &str| {
            Ok(FirstAnswer::Error {
                code: code.into(),
                message: "no pg_hba.conf entry for host \"127.0.0.1\", no encryption".into(),
            })
        };
        assert_eq!(judged(&error("28000")).0, Outcome::Holds);
        assert_eq!(judged(&error("53300")).0, Outcome::Inconclusive);
        assert_eq!(judged(&Ok(FirstAnswer::Ok)).0, Outcome::Broken);
        assert_eq!(judged(&Ok(FirstAnswer::Cleartext)).0, Outcome::Broken);
        assert_eq!(
            judged(&Ok(FirstAnswer::Sasl(vec!["SCRAM-SHA-256".into()]))).0,
            Outcome::Broken
        );
        let silent = Err(io::Error::new(io::ErrorKind::TimedOut, "no answer"));
        assert_eq!(judged(&silent).0, Outcome::Inconclusive);
    }
}

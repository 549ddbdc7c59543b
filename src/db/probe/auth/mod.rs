//! The authentication-exchange probe (issue 15): for each (login role,
//! database) pair of interest, send a startup message and record the
//! server's first answer — AuthenticationOk, a clear-text, MD5 or SASL
//! challenge, GSS, or an error before authentication. No password is ever
//! sent: after AuthenticationOk the probe sends Terminate at once, after a
//! challenge it closes.
//!
//! - [`pairs`]: which roles and databases, at most `max_auth_pairs`;
//! - [`route`]: one attempt on the wire;
//! - [`judge`]: what an answer proves, read against the pg_hba line the
//!   snapshot says takes that connection (the model's one matcher).
//!
//! Each pair is tried on every way in: the Unix socket when the scan came
//! over one (`local` lines), and at each reachable TCP address both without
//! TLS (`host`/`hostnossl` lines) and inside TLS (`host`/`hostssl` lines) —
//! pg_hba picks its line by the channel, so one attempt cannot speak for the
//! other. TLS is skipped only when the snapshot says `ssl = off`. GSSAPI
//! encryption (`hostgssenc`) is not tried.
//!
//! Attempts run a few at a time, in a fixed order, so the proofs come out in
//! the same order every run. Part of `db::probe`; imports `model`, `db::tls`
//! and the probe's wire helpers, never `checks`.

pub mod judge;
pub mod pairs;
pub mod route;

use super::{ProbeContext, ProbeResult};
use crate::db::tls::MakePgTls;
use crate::model::proof::{CheckProof, Effect, Outcome, Probe, ProbeSkipped, Proof};
use futures_util::stream::{self, StreamExt};
use judge::Answer;
use pairs::Pair;
use route::{Startup, Target};

/// Attempts in flight at once: enough to hide round trips, few enough that
/// the server forks at most this many probe backends at a time.
const IN_FLIGHT: usize = 4;

pub async fn probe(ctx: &ProbeContext<'_>) -> ProbeResult {
    let targets = targets(ctx);
    if targets.is_empty() {
        return Err(ProbeSkipped {
            probe: Probe::Auth,
            reason: "no way in to try: no TCP address of the server is reachable from here and \
                     the scan did not come over a Unix socket"
                .into(),
            grant: None,
        });
    }
    let chosen = pairs::choose(ctx.snapshot, ctx.options.max_auth_pairs);
    let tls = route::tls_connector(ctx.params);
    let application_name = ctx.application_name("");
    let attempts: Vec<(&Pair, &Target)> = chosen
        .pairs
        .iter()
        .flat_map(|pair| targets.iter().map(move |target| (pair, target)))
        .collect();
    // Indices, not borrowed items, go through the stream: a closure over
    // borrowed arguments would make the future lose `Send` (higher-ranked lifetimes).
    let proofs: Vec<Vec<CheckProof>> = stream::iter(0..attempts.len())
        .map(|i| {
            let (pair, target) = attempts[i];
            try_one(ctx, pair, target, &tls, &application_name)
        })
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    let mut out: Vec<CheckProof> = proofs.into_iter().flatten().collect();
    if chosen.left_out > 0 {
        out.push(left_out(ctx, chosen.left_out));
    }
    Ok(out)
}

/// One attempt and its proofs.
async fn try_one(
    ctx: &ProbeContext<'_>,
    pair: &Pair,
    target: &Target,
    tls: &Result<MakePgTls, String>,
    application_name: &str,
) -> Vec<CheckProof> {
    let at = (ctx.clock)();
    let startup = Startup {
        role: &pair.role,
        database: &pair.database,
        application_name,
        timeout: ctx.options.attempt_timeout,
    };
    let seen = route::attempt(target, tls, &startup).await;
    proofs_of(ctx, pair, target, &seen, at)
}

/// Every way in: the socket (when the scan used one), then per reachable
/// address without TLS and, unless the server has ssl off, inside TLS.
fn targets(ctx: &ProbeContext<'_>) -> Vec<Target> {
    let ssl_off = ctx
        .snapshot
        .setting("ssl")
        .is_some_and(|s| s.value() == "off");
    let mut out: Vec<Target> = route::socket_of(ctx.params).into_iter().collect();
    for addr in &ctx.addresses {
        out.push(Target::Tcp {
            addr: *addr,
            tls: false,
        });
        if !ssl_off {
            out.push(Target::Tcp {
                addr: *addr,
                tls: true,
            });
        }
    }
    out
}

/// The proofs of one attempt.
fn proofs_of(
    ctx: &ProbeContext<'_>,
    pair: &Pair,
    target: &Target,
    seen: &route::Seen,
    at: String,
) -> Vec<CheckProof> {
    let channel = target.channel();
    let source = seen.local.map(|local| local.ip());
    let attempted = format!(
        "startup as role {:?} to database {:?} {}",
        pair.role,
        pair.database,
        channel.words()
    );
    let answer = match &seen.answer {
        Answer::Server(first) => first.transcript(),
        Answer::TlsDeclined => "N (the server will not do TLS)".into(),
        Answer::Failed(why) => format!("no answer ({why})"),
    };
    let from = target.from(seen.local);
    judge::judge(ctx.snapshot, pair, channel, source, &seen.answer)
        .into_iter()
        .map(|judged| CheckProof {
            check: judged.check.into(),
            effect: judged.effect,
            source_ip: None,
            proof: Proof {
                probe: Probe::Auth,
                attempted: attempted.clone(),
                from: from.clone(),
                answer: answer.clone(),
                at: at.clone(),
                outcome: judged.outcome,
                note: judged.note,
                grant: None,
            },
        })
        .collect()
}

/// Says that the pair limit left pairs untried, so nobody reads the
/// proofs as covering every role.
fn left_out(ctx: &ProbeContext<'_>, count: usize) -> CheckProof {
    let limit = ctx.options.max_auth_pairs;
    CheckProof {
        check: "AUTH-003".into(),
        effect: Effect::Part,
        source_ip: None,
        proof: Proof {
            probe: Probe::Auth,
            attempted: format!("startups for {count} more (role, database) pairs"),
            from: "—".into(),
            answer: "not sent".into(),
            at: (ctx.clock)(),
            outcome: Outcome::Inconclusive,
            note: format!(
                "the limit of {limit} pairs per run left these untried (the least important \
                 first: application logins before administrators and superusers)"
            ),
            grant: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::conninfo::ConnParams;
    use crate::db::probe::ProbeOptions;
    use crate::model::snapshot::{Setting, Snapshot};
    use std::collections::BTreeMap;
    use std::net::SocketAddr;

    fn params(conninfo: &str) -> ConnParams {
        ConnParams::from_conninfo_with_env(conninfo, &|_| None).unwrap()
    }

    fn clock() -> String {
        "2026-12-07T10:00:00Z".into()
    }

    fn with_ssl(value: &str) -> Snapshot {
        Snapshot {
            settings: Some(BTreeMap::from([(
                "ssl".into(),
                Setting {
                    setting: Some(value.into()),
                    ..Setting::default()
                },
            )])),
            ..Snapshot::default()
        }
    }

    #[test]
    fn ways_in_are_the_socket_then_each_address_plain_and_tls() {
        let socket = params("host=/run/pg port=5433 user=u dbname=d");
        let snapshot = with_ssl("on");
        let options = ProbeOptions::default();
        let addr: SocketAddr = "127.0.0.1:5433".parse().unwrap();
        let ctx = ProbeContext {
            params: &socket,
            snapshot: &snapshot,
            options: &options,
            addresses: vec![addr],
            clock,
        };
        assert_eq!(
            targets(&ctx),
            [
                Target::Socket("/run/pg/.s.PGSQL.5433".into()),
                Target::Tcp { addr, tls: false },
                Target::Tcp { addr, tls: true },
            ]
        );
        let off = with_ssl("off");
        let tcp = params("host=127.0.0.1 port=5433 user=u dbname=d");
        let ctx = ProbeContext {
            params: &tcp,
            snapshot: &off,
            ..ctx
        };
        assert_eq!(targets(&ctx), [Target::Tcp { addr, tls: false }]);
    }

    #[tokio::test]
    async fn nothing_to_reach_is_a_skip_not_a_pass() {
        let tcp = params("host=127.0.0.1 port=5433 user=u dbname=d");
        let snapshot = Snapshot::default();
        let options = ProbeOptions::default();
        let ctx = ProbeContext {
            params: &tcp,
            snapshot: &snapshot,
            options: &options,
            addresses: Vec::new(),
            clock,
        };
        let skipped = probe(&ctx).await.unwrap_err();
        assert_eq!(skipped.probe, Probe::Auth);
    }
}

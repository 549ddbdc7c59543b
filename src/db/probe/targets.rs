//! Which TCP addresses of the scanned server to probe.
//!
//! The connection's own host and port when it is TCP, and each address in
//! `listen_addresses` at the server's `port` — but a loopback address or a
//! host name such as `localhost` names the *server's* machine, so those are
//! probed only when pgSafeguard runs there (a Unix-socket scan, a loopback
//! connection, or host facts read from the server's own data directory).
//! `*`, `0.0.0.0` and `::` mean every interface: the loopback ones are probed
//! when we run there, the connection's address in any case. Only addresses
//! that accept a TCP connection within the time limit are kept.

use crate::db::conninfo::ConnParams;
use crate::model::snapshot::Snapshot;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// The server's TCP addresses that accept a connection from here, in a stable order.
pub async fn reachable(
    params: &ConnParams,
    snapshot: &Snapshot,
    timeout: Duration,
) -> Vec<SocketAddr> {
    let mut found = Vec::new();
    for candidate in candidates(params, snapshot).await {
        if super::wire::open(candidate, timeout).await.is_ok() && !found.contains(&candidate) {
            found.push(candidate);
        }
    }
    found
}

/// Every address worth trying, before the reachability test.
async fn candidates(params: &ConnParams, snapshot: &Snapshot) -> Vec<SocketAddr> {
    let port = snapshot
        .setting("port")
        .and_then(|s| s.setting.as_deref())
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(params.port);
    let mut out = Vec::new();
    let connection = connection_addresses(params).await;
    let on_server_host = params.is_unix_socket()
        || snapshot.host.is_some()
        || connection.iter().any(|a| a.ip().is_loopback());
    out.extend(connection);
    let listen = snapshot
        .setting("listen_addresses")
        .and_then(|s| s.setting.clone())
        .unwrap_or_default();
    for entry in listen.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        match entry {
            "*" | "0.0.0.0" | "::" => {
                if on_server_host {
                    out.push(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
                    if entry != "0.0.0.0" {
                        out.push(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port));
                    }
                }
            }
            _ => match entry.parse::<IpAddr>() {
                Ok(ip) if ip.is_loopback() && !on_server_host => {}
                Ok(ip) => out.push(SocketAddr::new(ip, port)),
                Err(_) if on_server_host => {
                    if let Ok(resolved) = tokio::net::lookup_host((entry, port)).await {
                        out.extend(resolved);
                    }
                }
                // A name the server resolves on its own machine; ours may differ.
                Err(_) => {}
            },
        }
    }
    let mut unique = Vec::new();
    for addr in out {
        if !unique.contains(&addr) {
            unique.push(addr);
        }
    }
    unique
}

/// The connection's host and port, resolved, when it is TCP.
async fn connection_addresses(params: &ConnParams) -> Vec<SocketAddr> {
    if params.is_unix_socket() {
        return Vec::new();
    }
    let host = params.hostaddr.as_deref().unwrap_or(&params.host);
    match tokio::net::lookup_host((host, params.port)).await {
        Ok(addrs) => addrs.collect(),
        Err(_) => Vec::new(),
    }
}

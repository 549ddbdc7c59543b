//! One attempt on the wire: reach the server (Unix socket, TCP, or TCP and
//! then TLS), send a startup message, read the first answer, and leave.
//!
//! After AuthenticationOk the probe sends Terminate at once; after a
//! challenge it only closes (never answers, so no password, not even an
//! empty one, is sent). Every step runs under the attempt limit.
//!
//! TLS reuses the sslmode mapping of `db::tls` with `sslmode=require` and no
//! files: the handshake only has to encrypt (the scan itself verified the
//! server, or ran on its machine), and no client certificate is offered —
//! a certificate is a credential, and a `cert` line would then answer
//! AuthenticationOk that a reader could take for trust.

use super::judge::{Answer, Channel};
use crate::db::conninfo::{ConnParams, SslMode};
use crate::db::probe::wire::{self, FirstAnswer};
use crate::db::tls::MakePgTls;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};

/// Where one attempt goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The server's socket file, `<dir>/.s.PGSQL.<port>`.
    Socket(PathBuf),
    Tcp {
        addr: SocketAddr,
        tls: bool,
    },
}

impl Target {
    pub fn channel(&self) -> Channel {
        match self {
            Target::Socket(_) => Channel::Socket,
            Target::Tcp { tls: false, .. } => Channel::Plain,
            Target::Tcp { tls: true, .. } => Channel::Tls,
        }
    }

    /// `local → remote` for a proof's `from`.
    pub fn from(&self, local: Option<SocketAddr>) -> String {
        match self {
            Target::Socket(path) => format!("this machine → {}", path.display()),
            Target::Tcp { addr, .. } => crate::db::probe::route(local, *addr),
        }
    }
}

/// The socket file of a scan that came over a Unix socket.
pub fn socket_of(params: &ConnParams) -> Option<Target> {
    params.is_unix_socket().then(|| {
        Target::Socket(PathBuf::from(&params.host).join(format!(".s.PGSQL.{}", params.port)))
    })
}

/// The TLS connector for probe handshakes: encrypt only, no client
/// certificate, no password (see the module docs).
pub fn tls_connector(params: &ConnParams) -> Result<MakePgTls, String> {
    let probe = ConnParams {
        host: "127.0.0.1".into(),
        hostaddr: None,
        password: None,
        sslmode: SslMode::Require,
        sslrootcert: None,
        sslcert: None,
        sslkey: None,
        ..params.clone()
    };
    MakePgTls::from_params(&probe).map_err(|e| format!("TLS could not be set up here: {e}"))
}

/// What one attempt saw: the local address the server saw (TCP) and the answer.
pub struct Seen {
    pub local: Option<SocketAddr>,
    pub answer: Answer,
}

/// What a startup says about itself.
pub struct Startup<'a> {
    pub role: &'a str,
    pub database: &'a str,
    pub application_name: &'a str,
    pub timeout: Duration,
}

/// Make one attempt.
pub async fn attempt(
    target: &Target,
    tls: &Result<MakePgTls, String>,
    startup: &Startup<'_>,
) -> Seen {
    let timeout = startup.timeout;
    match target {
        Target::Socket(path) => {
            let answer = match tokio::time::timeout(timeout, UnixStream::connect(path)).await {
                Ok(Ok(mut stream)) => exchange(&mut stream, startup).await,
                Ok(Err(e)) => Answer::Failed(format!("could not connect to the socket: {e}")),
                Err(_) => Answer::Failed("connecting to the socket timed out".into()),
            };
            Seen {
                local: None,
                answer,
            }
        }
        Target::Tcp { addr, tls: use_tls } => {
            let mut stream = match wire::open(*addr, timeout).await {
                Ok(stream) => stream,
                Err(e) => {
                    return Seen {
                        local: None,
                        answer: Answer::Failed(format!("could not connect: {e}")),
                    }
                }
            };
            let local = stream.local_addr().ok();
            let answer = if *use_tls {
                inside_tls(stream, *addr, tls, startup).await
            } else {
                exchange(&mut stream, startup).await
            };
            Seen { local, answer }
        }
    }
}

/// SSLRequest, the handshake, then the startup inside TLS.
async fn inside_tls(
    mut stream: TcpStream,
    addr: SocketAddr,
    tls: &Result<MakePgTls, String>,
    startup: &Startup<'_>,
) -> Answer {
    let maker = match tls {
        Ok(maker) => maker,
        Err(why) => return Answer::Failed(why.clone()),
    };
    match wire::ssl_request(&mut stream, startup.timeout).await {
        Ok(b'S') => {}
        Ok(b'N') => return Answer::TlsDeclined,
        Ok(other) => {
            return Answer::Failed(format!(
                "the server answered SSLRequest with byte {other:#04x}"
            ))
        }
        Err(e) => return Answer::Failed(format!("SSLRequest: {e}")),
    }
    let mut maker = maker.fresh_attempt();
    let domain = addr.ip().to_string();
    let handshake = match MakeTlsConnect::<TcpStream>::make_tls_connect(&mut maker, &domain) {
        Ok(connect) => connect.connect(stream),
        Err(e) => return Answer::Failed(format!("TLS could not be set up here: {e}")),
    };
    match tokio::time::timeout(startup.timeout, handshake).await {
        Ok(Ok(mut encrypted)) => exchange(&mut encrypted, startup).await,
        Ok(Err(e)) => Answer::Failed(format!("the TLS handshake failed: {e}")),
        Err(_) => Answer::Failed("the TLS handshake timed out".into()),
    }
}

/// The startup and the first answer; Terminate after AuthenticationOk,
/// otherwise just close.
async fn exchange<S>(stream: &mut S, startup: &Startup<'_>) -> Answer
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let first = wire::startup(
        stream,
        startup.role,
        startup.database,
        startup.application_name,
        startup.timeout,
    )
    .await;
    match first {
        Ok(FirstAnswer::Ok) => {
            let _ = tokio::time::timeout(startup.timeout, wire::terminate(stream)).await;
            Answer::Server(FirstAnswer::Ok)
        }
        Ok(answer) => {
            let _ = tokio::time::timeout(startup.timeout, stream.shutdown()).await;
            Answer::Server(answer)
        }
        Err(e) => Answer::Failed(format!("no first answer: {e}")),
    }
}

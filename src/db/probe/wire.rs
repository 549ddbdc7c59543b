//! The few protocol messages probes speak by hand: SSLRequest and its one-byte
//! answer, a startup message, the server's first answer, Terminate.
//!
//! A probe must see exactly what the server answers *before* any password: a
//! driver would answer the challenge or hide it. Messages are built and parsed
//! with `postgres-protocol` (the library tokio-postgres itself uses); nothing
//! here ever sends a password.

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::message::{backend, frontend};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// The server's first answer to a startup message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstAnswer {
    /// AuthenticationOk without any credential: `trust` (or a peer-like method).
    Ok,
    Cleartext,
    Md5,
    /// SASL, with the mechanisms the server offers (e.g. SCRAM-SHA-256).
    Sasl(Vec<String>),
    Gss,
    Sspi,
    /// An ErrorResponse before authentication: SQLSTATE and message (server text).
    Error {
        code: String,
        message: String,
    },
    /// Anything else (a message a startup never gets), by name.
    Other(String),
}

impl FirstAnswer {
    /// The answer as a transcript line, e.g. `AuthenticationSASL [SCRAM-SHA-256]`
    /// or `ErrorResponse 28000: no pg_hba.conf entry …` (server text kept verbatim).
    pub fn transcript(&self) -> String {
        match self {
            FirstAnswer::Ok => "AuthenticationOk (no credential was asked for)".into(),
            FirstAnswer::Cleartext => "AuthenticationCleartextPassword".into(),
            FirstAnswer::Md5 => "AuthenticationMD5Password".into(),
            FirstAnswer::Sasl(mechanisms) => {
                format!("AuthenticationSASL [{}]", mechanisms.join(", "))
            }
            FirstAnswer::Gss => "AuthenticationGSS".into(),
            FirstAnswer::Sspi => "AuthenticationSSPI".into(),
            FirstAnswer::Error { code, message } => format!("ErrorResponse {code}: {message}"),
            FirstAnswer::Other(name) => name.clone(),
        }
    }
}

impl fmt::Display for FirstAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.transcript())
    }
}

/// Open a TCP connection within `timeout`.
pub async fn open(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Send SSLRequest and read the server's one-byte answer: `S` (will do TLS),
/// `N` (will not), or `E` (an old server's error).
pub async fn ssl_request<S>(stream: &mut S, timeout: Duration) -> io::Result<u8>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = BytesMut::new();
    frontend::ssl_request(&mut buf);
    stream.write_all(&buf).await?;
    stream.flush().await?;
    let mut answer = [0u8; 1];
    within(timeout, stream.read_exact(&mut answer)).await?;
    Ok(answer[0])
}

/// Send a startup message for `user` and `database` and return the server's
/// first answer. After `AuthenticationOk` the caller should [`terminate`].
pub async fn startup<S>(
    stream: &mut S,
    user: &str,
    database: &str,
    application_name: &str,
    timeout: Duration,
) -> io::Result<FirstAnswer>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = BytesMut::new();
    frontend::startup_message(
        [
            ("user", user),
            ("database", database),
            ("application_name", application_name),
        ],
        &mut buf,
    )?;
    stream.write_all(&buf).await?;
    stream.flush().await?;
    within(timeout, first_message(stream)).await
}

/// Send Terminate (best effort: the server may already have closed).
pub async fn terminate<S>(stream: &mut S)
where
    S: AsyncWrite + Unpin,
{
    let mut buf = BytesMut::new();
    frontend::terminate(&mut buf);
    let _ = stream.write_all(&buf).await;
    let _ = stream.shutdown().await;
}

async fn within<T>(
    timeout: Duration,
    work: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no answer from the server in time"))?
}

/// Longest message a startup answer may be; more is not a PostgreSQL server.
const MAX_ANSWER: usize = 64 * 1024;

async fn first_message<S>(stream: &mut S) -> io::Result<FirstAnswer>
where
    S: AsyncRead + Unpin,
{
    let mut buf = BytesMut::with_capacity(512);
    loop {
        if let Some(message) = backend::Message::parse(&mut buf)? {
            return answer_of(message);
        }
        if buf.len() > MAX_ANSWER {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the answer is too long for a PostgreSQL server",
            ));
        }
        let read = stream.read_buf(&mut buf).await?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection without an answer",
            ));
        }
    }
}

fn answer_of(message: backend::Message) -> io::Result<FirstAnswer> {
    use backend::Message as M;
    Ok(match message {
        M::AuthenticationOk => FirstAnswer::Ok,
        M::AuthenticationCleartextPassword => FirstAnswer::Cleartext,
        M::AuthenticationMd5Password(_) => FirstAnswer::Md5,
        M::AuthenticationSasl(body) => {
            FirstAnswer::Sasl(body.mechanisms().map(|m| Ok(m.to_string())).collect()?)
        }
        M::AuthenticationGss => FirstAnswer::Gss,
        M::AuthenticationSspi => FirstAnswer::Sspi,
        M::ErrorResponse(body) => {
            let (mut code, mut message) = (String::new(), String::new());
            let mut fields = body.fields();
            while let Some(field) = fields.next()? {
                match field.type_() {
                    b'C' => code = String::from_utf8_lossy(field.value_bytes()).into_owned(),
                    b'M' => message = String::from_utf8_lossy(field.value_bytes()).into_owned(),
                    _ => {}
                }
            }
            FirstAnswer::Error { code, message }
        }
        M::AuthenticationKerberosV5 => FirstAnswer::Other("AuthenticationKerberosV5".into()),
        M::AuthenticationScmCredential => FirstAnswer::Other("AuthenticationSCMCredential".into()),
        _ => FirstAnswer::Other("an unexpected message before authentication".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;

    /// A backend message: tag, length, body.
    fn message(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        out.put_u8(tag);
        out.put_i32(i32::try_from(body.len() + 4).unwrap());
        out.put_slice(body);
        out.to_vec()
    }

    async fn answer_to(bytes: Vec<u8>) -> io::Result<FirstAnswer> {
        let (mut client, mut server) = tokio::io::duplex(4096);
        tokio::spawn(async move {
            let mut startup = vec![0u8; 256];
            let _ = server.read(&mut startup).await;
            let _ = server.write_all(&bytes).await;
        });
        startup(
            &mut client,
            "app",
            "clinic",
            "pgsafeguard-probe",
            Duration::from_secs(2),
        )
        .await
    }

    #[tokio::test]
    async fn reads_each_first_answer() {
        let auth = |code: i32, rest: &[u8]| {
            let mut body = code.to_be_bytes().to_vec();
            body.extend_from_slice(rest);
            message(b'R', &body)
        };
        assert_eq!(answer_to(auth(0, b"")).await.unwrap(), FirstAnswer::Ok);
        assert_eq!(
            answer_to(auth(3, b"")).await.unwrap(),
            FirstAnswer::Cleartext
        );
        assert_eq!(answer_to(auth(5, b"salt")).await.unwrap(), FirstAnswer::Md5);
        assert_eq!(
            answer_to(auth(10, b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"))
                .await
                .unwrap(),
            FirstAnswer::Sasl(vec!["SCRAM-SHA-256-PLUS".into(), "SCRAM-SHA-256".into()])
        );
        let error = message(
            b'E',
            b"SFATAL\0C28000\0Mno pg_hba.conf entry for host \"127.0.0.1\", no encryption\0\0",
        );
        assert_eq!(
            answer_to(error).await.unwrap(),
            FirstAnswer::Error {
                code: "28000".into(),
                message: "no pg_hba.conf entry for host \"127.0.0.1\", no encryption".into()
            }
        );
    }

    #[tokio::test]
    async fn a_closed_or_silent_peer_is_an_error_not_an_answer() {
        assert!(answer_to(Vec::new()).await.is_err());
        let (mut client, _server) = tokio::io::duplex(4096);
        let silent = startup(
            &mut client,
            "app",
            "clinic",
            "pgsafeguard-probe",
            Duration::from_millis(50),
        );
        assert_eq!(silent.await.unwrap_err().kind(), io::ErrorKind::TimedOut);
    }
}

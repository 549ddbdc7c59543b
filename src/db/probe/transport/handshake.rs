//! One TLS handshake with the server, made the way a probe needs it: with the
//! offer we choose (old versions, weak suites, ALPN or not, after an
//! SSLRequest or directly) and with every answer kept, so that "the server
//! refused" is told apart from "our library would not even try".
//!
//! Built on the `openssl` crate over a blocking socket whose every read and
//! write is bounded by the attempt's time limit, run on tokio's blocking pool.
//! Certificates are never checked *during* the handshake (verify mode NONE):
//! the probe sends nothing after it, and [`Session::verified`] reads
//! OpenSSL's verdict afterwards so the certificate probe can report it.
//!
//! Imports nothing from the crate: std, openssl and postgres-protocol only.

use bytes::BytesMut;
use openssl::error::ErrorStack;
use openssl::ssl::{
    ErrorCode, HandshakeError, Ssl, SslContext, SslMethod, SslStream, SslVerifyMode, SslVersion,
};
use openssl::x509::{X509NameRef, X509VerifyResult, X509};
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

/// How the handshake starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Entry {
    /// SSLRequest first; the handshake follows an `S`.
    SslRequest,
    /// A ClientHello straight away (`sslnegotiation=direct`, PostgreSQL 17+).
    Direct,
}

/// Which protocol versions the ClientHello offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Versions {
    /// What our library offers by default (as a normal client would).
    Default,
    /// From TLS 1.0 up to this version, at security level 0.
    UpTo(SslVersion),
}

/// Where the CA to check the server certificate against comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TrustAnchor {
    File(PathBuf),
    /// `sslrootcert=system`: the operating system's store.
    System,
}

/// Check the chain against this anchor and the certificate against this name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Verify {
    pub anchor: TrustAnchor,
    /// A DNS name or an IP address, as a client would dial it.
    pub host: String,
}

/// What one attempt offers.
#[derive(Debug, Clone)]
pub(super) struct Offer {
    pub entry: Entry,
    pub versions: Versions,
    /// An OpenSSL cipher list at security level 0; `None`: the library's
    /// default list and level, or `DEFAULT:@SECLEVEL=0` for old versions.
    pub ciphers: Option<&'static str>,
    /// Offer the ALPN name `postgresql`.
    pub alpn: bool,
    pub verify: Option<Verify>,
    /// After the handshake, wait to see whether the server closes.
    pub watch_close: bool,
}

impl Offer {
    /// A plain offer: SSLRequest, default versions and suites, no ALPN.
    pub fn new(entry: Entry) -> Self {
        Offer {
            entry,
            versions: Versions::Default,
            ciphers: None,
            alpn: false,
            verify: None,
            watch_close: false,
        }
    }
}

/// The certificate the server showed, in a few words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PeerCertificate {
    pub subject: String,
    pub issuer: String,
    pub not_after: String,
    /// subjectAltName DNS names and IP addresses.
    pub names: Vec<String>,
}

/// A completed handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Session {
    /// e.g. `TLSv1.1`.
    pub version: String,
    /// OpenSSL's name, e.g. `ECDHE-ECDSA-AES256-SHA`.
    pub cipher: String,
    /// The ALPN name the server selected.
    pub alpn: Option<String>,
    /// Kept only when the offer verifies it.
    pub certificate: Option<PeerCertificate>,
    /// OpenSSL's verdict on chain and name, when the offer asked for it.
    pub verified: Option<Result<(), String>>,
    /// What the server did after the handshake, when the offer watched.
    pub after: Option<String>,
}

/// How the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Handshake {
    /// SSLRequest answered with this byte instead of `S`.
    NoTls(u8),
    Accepted(Session),
    /// The server sent an alert or closed the connection after our ClientHello.
    Refused(String),
    /// Nothing the server did decides it: a local library error, a timeout,
    /// no connection.
    Undecided(String),
}

/// One attempt: where from, the answer to SSLRequest (if sent), the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Exchange {
    pub local: Option<SocketAddr>,
    pub ssl_answer: Option<u8>,
    pub handshake: Handshake,
}

impl Exchange {
    fn undecided(local: Option<SocketAddr>, ssl_answer: Option<u8>, why: String) -> Self {
        Exchange {
            local,
            ssl_answer,
            handshake: Handshake::Undecided(why),
        }
    }

    /// The server's answer as a transcript line: the SSLRequest byte, then
    /// the handshake (version, suite, ALPN, certificate, what followed).
    pub fn answer(&self) -> String {
        let mut parts = Vec::new();
        if let Some(byte) = self.ssl_answer {
            parts.push(format!("{} to SSLRequest", byte_text(byte)));
        }
        match &self.handshake {
            Handshake::NoTls(_) => {}
            Handshake::Accepted(session) => parts.push(session.transcript()),
            Handshake::Refused(text) | Handshake::Undecided(text) => parts.push(text.clone()),
        }
        parts.join("; ")
    }
}

impl Session {
    fn transcript(&self) -> String {
        let mut text = format!("handshake completed: {}, {}", self.version, self.cipher);
        match &self.alpn {
            Some(name) => text.push_str(&format!(", ALPN {name:?}")),
            None => text.push_str(", no ALPN"),
        }
        if let Some(cert) = &self.certificate {
            text.push_str(&format!(
                "; certificate subject {:?}, issuer {:?}, valid until {}, names [{}]",
                cert.subject,
                cert.issuer,
                cert.not_after,
                cert.names.join(", ")
            ));
        }
        match &self.verified {
            Some(Ok(())) => text.push_str("; verified against the given CA and host name"),
            Some(Err(why)) => text.push_str(&format!("; verification failed: {why}")),
            None => {}
        }
        if let Some(after) = &self.after {
            text.push_str("; then ");
            text.push_str(after);
        }
        text
    }
}

/// `'S'` for a printable byte, `0x45` otherwise.
pub(super) fn byte_text(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("'{}'", char::from(byte))
    } else {
        format!("0x{byte:02x}")
    }
}

/// Make one attempt on tokio's blocking pool.
pub(super) async fn attempt(addr: SocketAddr, offer: Offer, timeout: Duration) -> Exchange {
    match tokio::task::spawn_blocking(move || attempt_blocking(addr, &offer, timeout)).await {
        Ok(exchange) => exchange,
        Err(err) => Exchange::undecided(None, None, format!("the handshake task failed: {err}")),
    }
}

fn attempt_blocking(addr: SocketAddr, offer: &Offer, timeout: Duration) -> Exchange {
    let mut stream = match connect(addr, timeout) {
        Ok(stream) => stream,
        Err(err) => return Exchange::undecided(None, None, format!("could not connect: {err}")),
    };
    let local = stream.local_addr().ok();
    let mut ssl_answer = None;
    if offer.entry == Entry::SslRequest {
        match ssl_request(&mut stream) {
            Ok(b'S') => ssl_answer = Some(b'S'),
            Ok(other) => {
                return Exchange {
                    local,
                    ssl_answer: Some(other),
                    handshake: Handshake::NoTls(other),
                }
            }
            Err(err) => {
                return Exchange::undecided(local, None, format!("no answer to SSLRequest: {err}"))
            }
        }
    }
    let ssl = match prepare(offer) {
        Ok(ssl) => ssl,
        Err(stack) => {
            return Exchange::undecided(
                local,
                ssl_answer,
                format!("our TLS library could not prepare this offer: {stack}"),
            )
        }
    };
    let handshake = match ssl.connect(Counted::new(stream)) {
        Ok(mut tls) => Handshake::Accepted(session_of(&mut tls, offer)),
        Err(HandshakeError::SetupFailure(stack)) => Handshake::Undecided(format!(
            "our TLS library could not start the handshake: {stack}"
        )),
        Err(HandshakeError::Failure(mid)) | Err(HandshakeError::WouldBlock(mid)) => {
            judge_failure(mid.error(), mid.get_ref(), timeout)
        }
    };
    Exchange {
        local,
        ssl_answer,
        handshake,
    }
}

fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Send SSLRequest and read the one-byte answer.
fn ssl_request(stream: &mut TcpStream) -> io::Result<u8> {
    let mut buf = BytesMut::new();
    postgres_protocol::message::frontend::ssl_request(&mut buf);
    stream.write_all(&buf)?;
    let mut answer = [0u8; 1];
    stream.read_exact(&mut answer)?;
    Ok(answer[0])
}

/// The ALPN protocol list with the one name PostgreSQL 17 expects.
const ALPN_POSTGRESQL: &[u8] = b"\x0apostgresql";

fn prepare(offer: &Offer) -> Result<Ssl, ErrorStack> {
    let mut ctx = SslContext::builder(SslMethod::tls_client())?;
    // Judged after the handshake (Session::verified), never during it: a
    // probe must see the handshake through to report what the server offers.
    ctx.set_verify(SslVerifyMode::NONE);
    let lowered = match offer.versions {
        Versions::UpTo(_) => Some(offer.ciphers.unwrap_or("DEFAULT:@SECLEVEL=0")),
        Versions::Default => offer.ciphers,
    };
    if let Some(ciphers) = lowered {
        ctx.set_cipher_list(ciphers)?;
        // OpenSSL 3 refuses old versions and weak suites on its own side at
        // its default level; that would read as a refusal by the server.
        ctx.set_security_level(0);
    }
    if let Versions::UpTo(max) = offer.versions {
        ctx.set_min_proto_version(Some(SslVersion::TLS1))?;
        ctx.set_max_proto_version(Some(max))?;
    }
    if offer.alpn {
        ctx.set_alpn_protos(ALPN_POSTGRESQL)?;
    }
    if let Some(verify) = &offer.verify {
        match &verify.anchor {
            TrustAnchor::File(path) => ctx.set_ca_file(path)?,
            TrustAnchor::System => ctx.set_default_verify_paths()?,
        }
    }
    let mut ssl = Ssl::new(&ctx.build())?;
    if let Some(verify) = &offer.verify {
        match verify.host.parse::<IpAddr>() {
            Ok(ip) => ssl.param_mut().set_ip(ip)?,
            Err(_) => {
                ssl.param_mut().set_host(&verify.host)?;
                ssl.set_hostname(&verify.host)?;
            }
        }
    }
    Ok(ssl)
}

fn session_of(tls: &mut SslStream<Counted>, offer: &Offer) -> Session {
    let ssl = tls.ssl();
    let mut session = Session {
        version: ssl.version_str().to_string(),
        cipher: ssl
            .current_cipher()
            .map(|c| c.name().to_string())
            .unwrap_or_else(|| "no cipher".into()),
        alpn: ssl
            .selected_alpn_protocol()
            .map(|name| String::from_utf8_lossy(name).into_owned()),
        // Only where it is judged: elsewhere it would only lengthen the transcript.
        certificate: offer
            .verify
            .as_ref()
            .and(ssl.peer_certificate())
            .map(|cert| certificate_of(&cert)),
        verified: offer.verify.as_ref().map(|_| {
            let result = ssl.verify_result();
            if result == X509VerifyResult::OK {
                Ok(())
            } else {
                Err(result.error_string().to_string())
            }
        }),
        after: None,
    };
    if offer.watch_close {
        session.after = Some(what_followed(tls));
    }
    // Best effort: the server may already be gone.
    let _ = tls.shutdown();
    session
}

/// After a completed handshake, read until the server speaks, closes or the
/// time limit passes.
fn what_followed(tls: &mut SslStream<Counted>) -> String {
    let mut buf = [0u8; 512];
    match tls.ssl_read(&mut buf) {
        Ok(0) => "the server closed the connection".into(),
        Ok(n) => format!(
            "the server sent {n} bytes: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(err) if err.code() == ErrorCode::ZERO_RETURN => {
            "the server closed the connection (close_notify)".into()
        }
        Err(err) if timed_out(&err) => "the server kept the connection open and silent".into(),
        Err(err) if closed(&err) => "the server closed the connection".into(),
        Err(err) => format!("reading after the handshake failed: {err}"),
    }
}

/// OpenSSL's library number for its TLS code (`ERR_LIB_SSL`).
const LIB_SSL: i32 = 20;
/// Reasons from here on are alerts received from the peer (`SSL_AD_REASON_OFFSET`).
const ALERT_REASONS: std::ops::Range<i32> = 1000..1256;

/// Tell a server's refusal from our own failure.
fn judge_failure(err: &openssl::ssl::Error, io: &Counted, timeout: Duration) -> Handshake {
    if let Some(alert) = received_alert(err) {
        return Handshake::Refused(format!("TLS alert from the server: {alert}"));
    }
    if io.written == 0 {
        return Handshake::Undecided(format!(
            "our TLS library stopped before sending a ClientHello: {err}"
        ));
    }
    if timed_out(err) {
        return Handshake::Undecided(format!(
            "no answer to our ClientHello within {} ms",
            timeout.as_millis()
        ));
    }
    if closed(err) {
        return Handshake::Refused(if io.read == 0 {
            "the server closed the connection after our ClientHello, without a reply".into()
        } else {
            "the server closed the connection during the handshake".into()
        });
    }
    Handshake::Undecided(format!("our TLS library ended the handshake: {err}"))
}

fn received_alert(err: &openssl::ssl::Error) -> Option<String> {
    err.ssl_error()?
        .errors()
        .iter()
        .find(|e| e.library_code() == LIB_SSL && ALERT_REASONS.contains(&e.reason_code()))
        .map(|e| {
            e.reason()
                .map(str::to_string)
                .unwrap_or_else(|| format!("alert {}", e.reason_code() - ALERT_REASONS.start))
        })
}

fn timed_out(err: &openssl::ssl::Error) -> bool {
    matches!(err.code(), ErrorCode::WANT_READ | ErrorCode::WANT_WRITE)
        || err.io_error().is_some_and(|io| {
            matches!(
                io.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            )
        })
}

/// OpenSSL 3's reason for an end of stream in the middle of a record.
const UNEXPECTED_EOF: i32 = 294;

fn closed(err: &openssl::ssl::Error) -> bool {
    if err.code() == ErrorCode::ZERO_RETURN {
        return true;
    }
    if let Some(io) = err.io_error() {
        return matches!(
            io.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof
        );
    }
    let eof_in_stack = err.ssl_error().is_some_and(|stack| {
        stack
            .errors()
            .iter()
            .any(|e| e.library_code() == LIB_SSL && e.reason_code() == UNEXPECTED_EOF)
    });
    eof_in_stack || (err.code() == ErrorCode::SYSCALL && err.ssl_error().is_none())
}

fn certificate_of(cert: &X509) -> PeerCertificate {
    let names = cert
        .subject_alt_names()
        .map(|sans| {
            sans.iter()
                .filter_map(|name| {
                    name.dnsname().map(str::to_string).or_else(|| {
                        name.ipaddress()
                            .and_then(|bytes| ip_text(bytes).map(|ip| ip.to_string()))
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    PeerCertificate {
        subject: name_text(cert.subject_name()),
        issuer: name_text(cert.issuer_name()),
        not_after: cert.not_after().to_string(),
        names,
    }
}

fn ip_text(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// `CN=localhost, O=Clinic` (server text: shown through `model::untrusted`).
fn name_text(name: &X509NameRef) -> String {
    name.entries()
        .map(|entry| {
            let key = entry.object().nid().short_name().unwrap_or("?");
            let value = entry.data().to_string().unwrap_or_else(|_| "?".into());
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The socket, counting bytes each way: a handshake that failed before a
/// byte left was our library's doing, not the server's.
pub(super) struct Counted {
    inner: TcpStream,
    written: usize,
    read: usize,
}

impl Counted {
    fn new(inner: TcpStream) -> Self {
        Counted {
            inner,
            written: 0,
            read: 0,
        }
    }
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n;
        Ok(n)
    }
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A peer that accepts, reads the ClientHello and then does `then`.
    fn peer(then: fn(&mut TcpStream)) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::Builder::new()
            .name("fake-peer".into())
            .spawn(move || {
                if let Ok((mut stream, _)) = listener.accept() {
                    let mut hello = [0u8; 4096];
                    let _ = stream.read(&mut hello);
                    then(&mut stream);
                }
            })
            .unwrap();
        addr
    }

    fn direct_offer() -> Offer {
        Offer {
            versions: Versions::UpTo(SslVersion::TLS1_1),
            ..Offer::new(Entry::Direct)
        }
    }

    #[test]
    fn a_close_after_our_hello_is_a_refusal() {
        let addr = peer(|_| {});
        let exchange = attempt_blocking(addr, &direct_offer(), Duration::from_secs(2));
        assert!(
            matches!(exchange.handshake, Handshake::Refused(ref t) if t.contains("closed")),
            "{exchange:?}"
        );
    }

    #[test]
    fn an_alert_is_a_refusal_in_the_servers_words() {
        // A fatal protocol_version alert (level 2, description 70) in a TLS 1.0 record.
        let addr = peer(|stream| {
            let _ = stream.write_all(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]);
            std::thread::sleep(Duration::from_millis(100));
        });
        let exchange = attempt_blocking(addr, &direct_offer(), Duration::from_secs(2));
        match exchange.handshake {
            Handshake::Refused(text) => assert!(text.contains("protocol version"), "{text}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn silence_is_undecided_not_refused() {
        let addr = peer(|_| std::thread::sleep(Duration::from_millis(800)));
        let exchange = attempt_blocking(addr, &direct_offer(), Duration::from_millis(200));
        assert!(
            matches!(exchange.handshake, Handshake::Undecided(ref t) if t.contains("no answer")),
            "{exchange:?}"
        );
    }

    #[test]
    fn an_offer_our_library_cannot_make_is_undecided() {
        let addr = peer(|_| {});
        let offer = Offer {
            ciphers: Some("NO-SUCH-SUITE"),
            ..Offer::new(Entry::Direct)
        };
        let exchange = attempt_blocking(addr, &offer, Duration::from_secs(2));
        assert!(
            matches!(exchange.handshake, Handshake::Undecided(ref t) if t.contains("our TLS library")),
            "{exchange:?}"
        );
    }

    #[test]
    fn an_n_to_sslrequest_is_no_tls() {
        let addr = peer(|stream| {
            let _ = stream.write_all(b"N");
        });
        let exchange =
            attempt_blocking(addr, &Offer::new(Entry::SslRequest), Duration::from_secs(2));
        assert_eq!(exchange.handshake, Handshake::NoTls(b'N'));
        assert_eq!(exchange.answer(), "'N' to SSLRequest");
    }
}

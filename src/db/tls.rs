//! TLS for PostgreSQL connections with libpq's `sslmode` meaning.
//!
//! Owns our implementation of tokio-postgres's [`MakeTlsConnect`] /
//! [`TlsConnect`] traits over native-tls, the loading of `sslrootcert`,
//! `sslcert` and `sslkey`, the capture of the server certificate during the
//! handshake, and [`describe_certificate`] which turns that certificate into
//! snapshot data. Must not import `checks`, `ui` or `report`.
//!
//! # What is verified
//!
//! Whenever TLS is used:
//!
//! | sslmode                | certificate chain                                  | host name |
//! |------------------------|----------------------------------------------------|-----------|
//! | allow, prefer, require | only when a root certificate file is named          | no        |
//! | verify-ca              | yes                                                | no        |
//! | verify-full            | yes                                                | yes       |
//!
//! As in libpq, a root certificate file turns the weaker modes into a CA
//! check (libpq's "require behaves like verify-ca"), and when a file is used
//! the system's trusted roots are disabled so that only that CA may vouch for
//! the server. `sslrootcert=system` uses the system's roots and, as in libpq
//! 16+, only with verify-full (a public CA vouches for many hosts, so the
//! host name must be checked).
//!
//! Defaults (`~/.postgresql/root.crt`, `postgresql.crt`, `postgresql.key`)
//! are filled in by [`crate::db::conninfo`], which only fills in files that
//! exist and fills in the root certificate only for verify-ca/verify-full.
//! This module uses the paths it is given. A file that is named but cannot be
//! read is an error in every mode: libpq skips a missing root certificate or
//! client certificate under the weaker modes, but naming a file is asking for
//! it, and a hardening tool must not quietly do less than it was asked.
//!
//! The host name check matches the DNS name or IP address the user typed
//! (not `hostaddr`, unless no host name was given) against the certificate's
//! subjectAltName, falling back to the common name only when the certificate
//! has no DNS names, as OpenSSL and libpq do. The minimum protocol is TLS 1.2,
//! libpq's default. Unix sockets never use TLS (see [`crate::db::connect`]).
//!
//! A client certificate is sent when `sslcert` is set; its key (`sslkey`)
//! must be an unencrypted PKCS#8 PEM key (`BEGIN PRIVATE KEY`), which is what
//! native-tls accepts; other key formats get a message saying how to convert.
//!
//! # Channel binding
//!
//! The stream reports `tls-server-end-point` (RFC 5929) so that SCRAM can use
//! `SCRAM-SHA-256-PLUS`, which ties the password exchange to this TLS session.

use crate::db::conninfo::{ConnParams, SslMode};
use crate::model::snapshot::CertificateInfo;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use x509_cert::der::Decode;

/// The value of `sslrootcert` that means "the system's trusted roots".
const SYSTEM_ROOTS: &str = "system";

/// Something went wrong preparing TLS, during the handshake, or reading a
/// certificate.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(
        "root certificate file \"{path}\" does not exist (sslmode={sslmode}): \
         name the CA file with sslrootcert, use sslrootcert=system with verify-full, \
         or drop sslrootcert and use sslmode=require to encrypt without verifying"
    )]
    RootCertMissing { path: PathBuf, sslmode: String },

    #[error("could not read root certificate file \"{path}\": {source}: check sslrootcert")]
    RootCertUnreadable { path: PathBuf, source: io::Error },

    #[error(
        "root certificate file \"{path}\" holds no usable PEM certificate ({detail}): \
         sslrootcert must name a PEM file with the CA certificate"
    )]
    RootCertInvalid { path: PathBuf, detail: String },

    #[error(
        "sslrootcert=system needs sslmode=verify-full (got sslmode={sslmode}): \
         a public CA vouches for many hosts, so the host name must be checked"
    )]
    SystemRootsNeedVerifyFull { sslmode: String },

    #[error("could not read client certificate \"{path}\": {source}: check sslcert")]
    ClientCertUnreadable { path: PathBuf, source: io::Error },

    #[error(
        "client certificate \"{cert}\" is named but no key was found at \"{key}\": \
         set sslkey to the certificate's private key file"
    )]
    ClientKeyMissing { cert: PathBuf, key: PathBuf },

    #[error("could not read client key \"{path}\": {source}: check sslkey")]
    ClientKeyUnreadable { path: PathBuf, source: io::Error },

    #[error(
        "client key \"{path}\" is not an unencrypted PKCS#8 PEM key (found {found}): \
         convert it with `openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8` and point sslkey at the result"
    )]
    ClientKeyNotPkcs8 { path: PathBuf, found: String },

    #[error(
        "client certificate \"{cert}\" and key \"{key}\" could not be loaded ({detail}): \
         check that both are PEM and that the key belongs to the certificate"
    )]
    ClientIdentityInvalid {
        cert: PathBuf,
        key: PathBuf,
        detail: String,
    },

    #[error("could not set up TLS ({detail}): check the OpenSSL installation")]
    Setup { detail: String },

    #[error(
        "server certificate is not valid for host \"{host}\" ({reason}): \
         connect with a name listed in the certificate's subjectAltName, \
         or reissue the certificate for this name"
    )]
    HostNameMismatch { host: String, reason: String },

    #[error("server certificate could not be verified against {trusted} ({reason}): {hint}")]
    CertificateUntrusted {
        trusted: String,
        reason: String,
        hint: String,
    },

    #[error("TLS handshake with \"{host}\" failed ({detail}): check the server's ssl settings")]
    Handshake { host: String, detail: String },

    #[error("could not read the certificate ({detail}): it is not valid DER X.509")]
    CertificateParse { detail: String },
}

/// How much of the server certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Encrypt only: any certificate is accepted.
    EncryptOnly,
    /// The chain must lead to a trusted root; the host name is not checked.
    Chain,
    /// The chain and the host name (or IP address) are checked.
    ChainAndHostName,
}

/// Where trusted roots come from when the chain is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TrustAnchors {
    None,
    File(PathBuf),
    System,
}

impl TrustAnchors {
    fn describe(&self) -> String {
        match self {
            TrustAnchors::None => "no trusted roots".to_owned(),
            TrustAnchors::File(path) => format!("root certificate file \"{}\"", path.display()),
            TrustAnchors::System => "the system's trusted roots".to_owned(),
        }
    }

    /// What to do when the chain does not lead to these roots.
    fn untrusted_hint(&self) -> &'static str {
        match self {
            TrustAnchors::System => {
                "the system's CA store does not vouch for this server: name the CA that signed its certificate with sslrootcert"
            }
            TrustAnchors::None | TrustAnchors::File(_) => {
                "check that sslrootcert holds the CA that signed the server certificate"
            }
        }
    }
}

/// The server certificate (DER) seen during the last successful handshake.
///
/// Cloning shares the slot: the connector fills it, the caller reads it after
/// the connection is established.
#[derive(Debug, Clone, Default)]
pub struct CapturedCertificate(Arc<Mutex<Option<Vec<u8>>>>);

impl CapturedCertificate {
    /// The captured DER certificate, if a handshake completed.
    pub fn get(&self) -> Option<Vec<u8>> {
        match self.0.lock() {
            Ok(slot) => slot.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn store(&self, der: Vec<u8>) {
        let mut slot = match self.0.lock() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Some(der);
    }
}

/// Our [`MakeTlsConnect`]: a native-tls connector set up for one sslmode.
///
/// Built once per connection request by [`MakePgTls::from_params`]; each
/// connection attempt takes [`MakePgTls::fresh_attempt`] so that a failed
/// attempt's certificate is never reported for the next one.
#[derive(Clone)]
pub struct MakePgTls {
    /// `None` when TLS is never used (sslmode=disable or a unix socket);
    /// tokio-postgres then never asks for a handshake.
    connector: Option<native_tls::TlsConnector>,
    verification: Verification,
    trusted: TrustAnchors,
    captured: CapturedCertificate,
}

impl std::fmt::Debug for MakePgTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MakePgTls")
            .field("tls", &self.connector.is_some())
            .field("verification", &self.verification)
            .field("trusted", &self.trusted)
            .finish()
    }
}

impl MakePgTls {
    /// A connector for connections that never use TLS.
    pub fn plain() -> MakePgTls {
        MakePgTls {
            connector: None,
            verification: Verification::EncryptOnly,
            trusted: TrustAnchors::None,
            captured: CapturedCertificate::default(),
        }
    }

    /// Loads the root, client certificate and key files named by `params`
    /// and sets up verification for its sslmode (see the module docs).
    pub fn from_params(params: &ConnParams) -> Result<MakePgTls, TlsError> {
        if params.sslmode == SslMode::Disable || params.is_unix_socket() {
            return Ok(MakePgTls::plain());
        }
        let anchors = choose_trust_anchors(params)?;
        let verification = verification_for(params.sslmode, &anchors);
        let mut builder = native_tls::TlsConnector::builder();
        builder.min_protocol_version(Some(native_tls::Protocol::Tlsv12));
        apply_trust_anchors(&mut builder, &anchors)?;
        apply_verification(&mut builder, verification);
        if let Some(identity) = load_client_identity(params)? {
            builder.identity(identity);
        }
        let connector = builder.build().map_err(|e| TlsError::Setup {
            detail: e.to_string(),
        })?;
        Ok(MakePgTls {
            connector: Some(connector),
            verification,
            trusted: anchors,
            captured: CapturedCertificate::default(),
        })
    }

    /// What this connector checks about the server certificate.
    pub fn verification(&self) -> Verification {
        self.verification
    }

    /// The same connector with an empty certificate slot, for a new attempt.
    pub fn fresh_attempt(&self) -> MakePgTls {
        MakePgTls {
            captured: CapturedCertificate::default(),
            ..self.clone()
        }
    }

    /// The slot the handshake fills with the server certificate.
    pub fn captured(&self) -> CapturedCertificate {
        self.captured.clone()
    }
}

impl<S> MakeTlsConnect<S> for MakePgTls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = PgTlsStream<S>;
    type TlsConnect = PgTlsConnect;
    type Error = TlsError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<PgTlsConnect, TlsError> {
        Ok(PgTlsConnect {
            connector: self.connector.clone(),
            domain: domain.to_owned(),
            trusted: self.trusted.clone(),
            captured: self.captured.clone(),
        })
    }
}

/// One handshake with one server, made by [`MakePgTls`].
pub struct PgTlsConnect {
    connector: Option<native_tls::TlsConnector>,
    domain: String,
    trusted: TrustAnchors,
    captured: CapturedCertificate,
}

impl<S> TlsConnect<S> for PgTlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = PgTlsStream<S>;
    type Error = TlsError;
    type Future = Pin<Box<dyn Future<Output = Result<PgTlsStream<S>, TlsError>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let Some(connector) = self.connector else {
                // Only reachable if a plain connector were paired with an
                // sslmode that asks for TLS: fail closed.
                return Err(TlsError::Handshake {
                    host: self.domain,
                    detail: "TLS was not set up for this connection".to_owned(),
                });
            };
            let connector = tokio_native_tls::TlsConnector::from(connector);
            let tls = connector
                .connect(&self.domain, stream)
                .await
                .map_err(|e| classify_handshake_error(&e, &self.domain, &self.trusted))?;
            if let Ok(Some(cert)) = tls.get_ref().peer_certificate() {
                if let Ok(der) = cert.to_der() {
                    self.captured.store(der);
                }
            }
            Ok(PgTlsStream(tls))
        })
    }
}

/// An encrypted connection to the server.
pub struct PgTlsStream<S>(tokio_native_tls::TlsStream<S>);

impl<S> AsyncRead for PgTlsStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S> AsyncWrite for PgTlsStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S> TlsStream for PgTlsStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn channel_binding(&self) -> ChannelBinding {
        // native-tls hashes the server certificate with the digest its
        // signature uses (SHA-256 at least), as RFC 5929 asks.
        match self.0.get_ref().tls_server_end_point() {
            Ok(Some(hash)) => ChannelBinding::tls_server_end_point(hash),
            _ => ChannelBinding::none(),
        }
    }
}

/// libpq's rule: verify-* check the chain; so does any mode that has a root
/// certificate file; only verify-full checks the host name.
fn verification_for(sslmode: SslMode, anchors: &TrustAnchors) -> Verification {
    match (sslmode, anchors) {
        (SslMode::VerifyFull, _) => Verification::ChainAndHostName,
        (SslMode::VerifyCa, _) => Verification::Chain,
        (_, TrustAnchors::None) => Verification::EncryptOnly,
        (_, _) => Verification::Chain,
    }
}

fn choose_trust_anchors(params: &ConnParams) -> Result<TrustAnchors, TlsError> {
    let sslmode = params.sslmode.as_str().to_owned();
    match &params.sslrootcert {
        Some(path) if path.as_os_str() == SYSTEM_ROOTS => {
            if params.sslmode == SslMode::VerifyFull {
                Ok(TrustAnchors::System)
            } else {
                Err(TlsError::SystemRootsNeedVerifyFull { sslmode })
            }
        }
        Some(path) if path.exists() => Ok(TrustAnchors::File(path.clone())),
        Some(path) => Err(TlsError::RootCertMissing {
            path: path.clone(),
            sslmode,
        }),
        None if params.sslmode.verifies_certificate() => Err(TlsError::RootCertMissing {
            path: PathBuf::from("~/.postgresql/root.crt"),
            sslmode,
        }),
        None => Ok(TrustAnchors::None),
    }
}

fn apply_trust_anchors(
    builder: &mut native_tls::TlsConnectorBuilder,
    anchors: &TrustAnchors,
) -> Result<(), TlsError> {
    let TrustAnchors::File(path) = anchors else {
        return Ok(());
    };
    let pem = std::fs::read(path).map_err(|source| TlsError::RootCertUnreadable {
        path: path.clone(),
        source,
    })?;
    let certificates =
        native_tls::Certificate::stack_from_pem(&pem).map_err(|e| TlsError::RootCertInvalid {
            path: path.clone(),
            detail: e.to_string(),
        })?;
    if certificates.is_empty() {
        return Err(TlsError::RootCertInvalid {
            path: path.clone(),
            detail: "no certificate found".to_owned(),
        });
    }
    // Only the named CA may vouch for the server, as in libpq.
    builder.disable_built_in_roots(true);
    for certificate in certificates {
        builder.add_root_certificate(certificate);
    }
    Ok(())
}

/// The one place that relaxes native-tls's checks (clippy.toml forbids it
/// elsewhere): `require`, `prefer` and `allow` without a root certificate only
/// encrypt, and `verify-ca` does not check the host name, exactly as libpq.
#[allow(clippy::disallowed_methods)]
fn apply_verification(builder: &mut native_tls::TlsConnectorBuilder, verification: Verification) {
    match verification {
        Verification::EncryptOnly => {
            builder.danger_accept_invalid_certs(true);
        }
        Verification::Chain => {
            builder.danger_accept_invalid_hostnames(true);
        }
        Verification::ChainAndHostName => {}
    }
}

/// The client identity, when a client certificate is named.
fn load_client_identity(params: &ConnParams) -> Result<Option<native_tls::Identity>, TlsError> {
    let Some(cert_path) = params.sslcert.clone() else {
        return Ok(None);
    };
    let Some(key_path) = params.sslkey.clone() else {
        return Err(TlsError::ClientKeyMissing {
            cert: cert_path,
            key: PathBuf::from("~/.postgresql/postgresql.key"),
        });
    };
    let cert_pem = std::fs::read(&cert_path).map_err(|source| TlsError::ClientCertUnreadable {
        path: cert_path.clone(),
        source,
    })?;
    let key_pem = std::fs::read(&key_path).map_err(|source| TlsError::ClientKeyUnreadable {
        path: key_path.clone(),
        source,
    })?;
    let blocks = pem::parse_many(&key_pem).map_err(|e| TlsError::ClientIdentityInvalid {
        cert: cert_path.clone(),
        key: key_path.clone(),
        detail: format!("the key file is not valid PEM: {e}"),
    })?;
    let pkcs8 = pkcs8_block(&blocks).ok_or_else(|| TlsError::ClientKeyNotPkcs8 {
        path: key_path.clone(),
        found: pem_labels(&blocks),
    })?;
    native_tls::Identity::from_pkcs8(&cert_pem, pkcs8.as_bytes())
        .map(Some)
        .map_err(|e| TlsError::ClientIdentityInvalid {
            cert: cert_path,
            key: key_path,
            detail: e.to_string(),
        })
}

/// The PEM label of an unencrypted PKCS#8 key.
const PKCS8_LABEL: &str = "PRIVATE KEY";

/// The key file's unencrypted PKCS#8 block, written out on its own:
/// native-tls insists that the key starts with its `BEGIN` line, and files
/// often carry a comment or another block first.
fn pkcs8_block(blocks: &[pem::Pem]) -> Option<String> {
    blocks
        .iter()
        .find(|block| block.tag() == PKCS8_LABEL)
        .map(pem::encode)
}

/// The PEM labels found in a file, to say what a rejected key file holds.
fn pem_labels(blocks: &[pem::Pem]) -> String {
    let labels: Vec<String> = blocks
        .iter()
        .map(|block| format!("\"{}\"", block.tag()))
        .collect();
    if labels.is_empty() {
        "no PEM block".to_owned()
    } else {
        labels.join(", ")
    }
}

/// Turns a native-tls handshake failure into a message that says whether the
/// CA or the host name was wrong. OpenSSL reports the verification result in
/// parentheses at the end ("... (hostname mismatch)").
fn classify_handshake_error(
    error: &native_tls::Error,
    host: &str,
    trusted: &TrustAnchors,
) -> TlsError {
    let detail = error.to_string();
    let reason = verify_result(&detail).unwrap_or(&detail).to_owned();
    let lower = detail.to_ascii_lowercase();
    if lower.contains("hostname mismatch") || lower.contains("ip address mismatch") {
        TlsError::HostNameMismatch {
            host: host.to_owned(),
            reason,
        }
    } else if lower.contains("certificate verify failed") {
        TlsError::CertificateUntrusted {
            trusted: trusted.describe(),
            reason,
            hint: trusted.untrusted_hint().to_owned(),
        }
    } else {
        TlsError::Handshake {
            host: host.to_owned(),
            detail,
        }
    }
}

/// The trailing "(…)" OpenSSL appends with the certificate verification result.
fn verify_result(detail: &str) -> Option<&str> {
    let inner = detail.strip_suffix(')')?;
    let start = inner.rfind(" (")?;
    Some(&inner[start + 2..])
}

/// Describes a DER X.509 certificate for the snapshot.
///
/// `self_signed` is true when the issuer name equals the subject name and,
/// if the certificate carries both an authority and a subject key
/// identifier, they are equal. The signature itself is not checked here
/// (that would need every signature algorithm; the handshake already
/// verified the chain when verification was asked for).
pub fn describe_certificate(der: &[u8]) -> Result<CertificateInfo, TlsError> {
    let certificate = x509_cert::Certificate::from_der(der).map_err(parse_error)?;
    let tbs = &certificate.tbs_certificate;
    Ok(CertificateInfo {
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.to_string(),
        san: subject_alt_names(tbs)?,
        not_before: rfc3339(tbs.validity.not_before)?,
        not_after: rfc3339(tbs.validity.not_after)?,
        self_signed: tbs.issuer == tbs.subject && key_identifiers_agree(tbs)?,
        sha256: hex::encode(Sha256::digest(der)),
    })
}

fn parse_error(error: impl std::fmt::Display) -> TlsError {
    TlsError::CertificateParse {
        detail: error.to_string(),
    }
}

/// DNS names and IP addresses from subjectAltName, in certificate order.
fn subject_alt_names(tbs: &x509_cert::TbsCertificate) -> Result<Vec<String>, TlsError> {
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::SubjectAltName;

    let Some((_, SubjectAltName(names))) = tbs.get::<SubjectAltName>().map_err(parse_error)? else {
        return Ok(Vec::new());
    };
    Ok(names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DnsName(dns) => Some(dns.to_string()),
            GeneralName::IpAddress(octets) => ip_from_octets(octets.as_bytes()),
            _ => None,
        })
        .collect())
}

fn ip_from_octets(octets: &[u8]) -> Option<String> {
    let ip = match octets.len() {
        4 => IpAddr::from(<[u8; 4]>::try_from(octets).ok()?),
        16 => IpAddr::from(<[u8; 16]>::try_from(octets).ok()?),
        _ => return None,
    };
    Some(ip.to_string())
}

/// False only when both key identifiers are present and differ.
fn key_identifiers_agree(tbs: &x509_cert::TbsCertificate) -> Result<bool, TlsError> {
    use x509_cert::ext::pkix::{AuthorityKeyIdentifier, SubjectKeyIdentifier};

    let subject_key = tbs.get::<SubjectKeyIdentifier>().map_err(parse_error)?;
    let authority_key = tbs.get::<AuthorityKeyIdentifier>().map_err(parse_error)?;
    let agree = match (subject_key, authority_key) {
        (Some((_, subject)), Some((_, authority))) => match authority.key_identifier {
            Some(authority_id) => authority_id == subject.0,
            None => true,
        },
        _ => true,
    };
    Ok(agree)
}

fn rfc3339(time: x509_cert::time::Time) -> Result<String, TlsError> {
    let seconds = i64::try_from(time.to_unix_duration().as_secs()).map_err(parse_error)?;
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .map_err(parse_error)?
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(parse_error)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly on purpose
mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };

    fn dated_params(names: &[&str]) -> CertificateParams {
        let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.not_before = rcgen::date_time_ymd(2025, 1, 2);
        params.not_after = rcgen::date_time_ymd(2035, 3, 4);
        params
    }

    #[test]
    fn describes_a_self_signed_certificate() {
        let key = KeyPair::generate().unwrap();
        let mut params = dated_params(&["localhost", "127.0.0.1", "::1"]);
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Clinic, Inc.");
        params.distinguished_name.push(DnType::CommonName, "db1");
        let cert = params.self_signed(&key).unwrap();

        let info = describe_certificate(cert.der()).unwrap();

        assert_eq!(info.subject, "CN=db1,O=Clinic\\, Inc.");
        assert_eq!(info.issuer, info.subject);
        assert_eq!(info.san, vec!["localhost", "127.0.0.1", "::1"]);
        assert_eq!(info.not_before, "2025-01-02T00:00:00Z");
        assert_eq!(info.not_after, "2035-03-04T00:00:00Z");
        assert!(info.self_signed);
        assert_eq!(info.sha256, hex::encode(Sha256::digest(cert.der())));
        assert_eq!(info.sha256.len(), 64);
        assert!(info
            .sha256
            .chars()
            .all(|c| matches!(c, '0'..='9' | 'a'..='f')));
    }

    #[test]
    fn describes_a_ca_signed_certificate() {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = dated_params(&[]);
        ca_params.distinguished_name = rcgen::DistinguishedName::new();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let issuer = Issuer::new(ca_params, &ca_key);

        let leaf_key = KeyPair::generate().unwrap();
        let mut leaf_params = dated_params(&["db.example.org"]);
        leaf_params.distinguished_name = rcgen::DistinguishedName::new();
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "db.example.org");
        leaf_params.use_authority_key_identifier_extension = true;
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();

        let info = describe_certificate(leaf.der()).unwrap();

        assert_eq!(info.subject, "CN=db.example.org");
        assert_eq!(info.issuer, "CN=Test CA");
        assert_eq!(info.san, vec!["db.example.org"]);
        assert!(!info.self_signed);
    }

    #[test]
    fn same_names_but_other_key_is_not_self_signed() {
        // A leaf whose subject equals its issuer's, signed by another key:
        // the key identifiers tell them apart.
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = dated_params(&[]);
        ca_params.distinguished_name = rcgen::DistinguishedName::new();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "same");
        let issuer = Issuer::new(ca_params, &ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let mut leaf_params = dated_params(&["x.example"]);
        leaf_params.distinguished_name = rcgen::DistinguishedName::new();
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "same");
        leaf_params.use_authority_key_identifier_extension = true;
        leaf_params.is_ca = IsCa::ExplicitNoCa;
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();

        let info = describe_certificate(leaf.der()).unwrap();

        assert_eq!(info.subject, info.issuer);
        assert!(!info.self_signed);
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        let error = describe_certificate(b"not a certificate").unwrap_err();
        assert!(matches!(error, TlsError::CertificateParse { .. }));
        assert!(error
            .to_string()
            .starts_with("could not read the certificate"));
    }

    #[test]
    fn reads_the_openssl_verify_result() {
        let detail = "error:0A000086:SSL routines:tls_post_process_server_certificate:\
                      certificate verify failed:ssl/statem/statem_clnt.c:2091: (hostname mismatch)";
        assert_eq!(verify_result(detail), Some("hostname mismatch"));
        assert_eq!(verify_result("no parentheses"), None);
    }

    #[test]
    fn finds_the_pkcs8_block_after_a_comment() {
        let key = b"# my key\n-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n";
        let block = pkcs8_block(&pem::parse_many(key).unwrap()).unwrap();
        assert!(block.starts_with("-----BEGIN PRIVATE KEY-----"));
        let rsa = b"-----BEGIN RSA PRIVATE KEY-----\nMIGH\n-----END RSA PRIVATE KEY-----\n";
        assert!(pkcs8_block(&pem::parse_many(rsa).unwrap()).is_none());
    }

    #[test]
    fn names_what_a_rejected_key_file_holds() {
        let ec = b"-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
        assert_eq!(
            pem_labels(&pem::parse_many(ec).unwrap()),
            "\"EC PRIVATE KEY\""
        );
        assert_eq!(
            pem_labels(&pem::parse_many(b"binary").unwrap()),
            "no PEM block"
        );
    }

    /// What `sslmode=require` with a valid client certificate and `key_pem`
    /// as the key file gives.
    fn client_key_error(key_pem: &str) -> TlsError {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _) = self_signed_pem();
        let cert = write(&dir, "client.crt", &cert);
        let key = write(&dir, "client.key", key_pem);
        MakePgTls::from_params(&params(&format!(
            "host=localhost sslmode=require sslcert={} sslkey={}",
            cert.display(),
            key.display()
        )))
        .unwrap_err()
    }

    #[test]
    fn a_key_file_that_is_not_valid_pem_is_explained() {
        let error = client_key_error(
            "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n",
        );
        assert!(
            matches!(error, TlsError::ClientIdentityInvalid { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("not valid PEM"), "{error}");
    }

    #[test]
    fn sslmode_decides_what_is_verified() {
        let file = TrustAnchors::File(PathBuf::from("/ca.crt"));
        let none = TrustAnchors::None;
        assert_eq!(
            verification_for(SslMode::Require, &none),
            Verification::EncryptOnly
        );
        // libpq: a root certificate file turns require into verify-ca.
        assert_eq!(
            verification_for(SslMode::Require, &file),
            Verification::Chain
        );
        assert_eq!(
            verification_for(SslMode::Prefer, &file),
            Verification::Chain
        );
        assert_eq!(
            verification_for(SslMode::VerifyCa, &file),
            Verification::Chain
        );
        assert_eq!(
            verification_for(SslMode::VerifyFull, &file),
            Verification::ChainAndHostName
        );
        assert_eq!(
            verification_for(SslMode::VerifyFull, &TrustAnchors::System),
            Verification::ChainAndHostName
        );
    }

    fn params(conninfo: &str) -> ConnParams {
        ConnParams::from_conninfo_with_env(conninfo, &|_| None).unwrap()
    }

    fn write(dir: &tempfile::TempDir, name: &str, contents: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn self_signed_pem() -> (String, String) {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        (certified.cert.pem(), certified.signing_key.serialize_pem())
    }

    #[test]
    fn a_named_root_certificate_makes_require_check_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _) = self_signed_pem();
        let ca = write(&dir, "ca.crt", &cert);
        let with_ca = params(&format!(
            "host=localhost sslmode=require sslrootcert={}",
            ca.display()
        ));
        let without_ca = params("host=localhost sslmode=require");

        assert_eq!(
            MakePgTls::from_params(&with_ca).unwrap().verification(),
            Verification::Chain
        );
        assert_eq!(
            MakePgTls::from_params(&without_ca).unwrap().verification(),
            Verification::EncryptOnly
        );
    }

    #[test]
    fn a_named_root_certificate_that_is_missing_is_an_error() {
        for mode in ["require", "verify-ca", "verify-full"] {
            let error = MakePgTls::from_params(&params(&format!(
                "host=localhost sslmode={mode} sslrootcert=/nonexistent/ca.crt"
            )))
            .unwrap_err();
            assert!(matches!(error, TlsError::RootCertMissing { .. }), "{error}");
            assert!(error.to_string().contains("/nonexistent/ca.crt"), "{error}");
        }
    }

    #[test]
    fn a_root_file_without_certificates_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let ca = write(&dir, "ca.crt", "not pem at all\n");
        let error = MakePgTls::from_params(&params(&format!(
            "host=localhost sslmode=verify-ca sslrootcert={}",
            ca.display()
        )))
        .unwrap_err();
        assert!(matches!(error, TlsError::RootCertInvalid { .. }), "{error}");
    }

    #[test]
    fn unix_sockets_and_disable_never_load_tls_files() {
        let socket = params("host=/tmp sslmode=verify-full sslrootcert=/nonexistent/ca.crt");
        let disabled = params("host=localhost sslmode=disable sslcert=/nonexistent/client.crt");
        for params in [socket, disabled] {
            let tls = MakePgTls::from_params(&params).unwrap();
            assert!(tls.connector.is_none());
        }
    }

    #[test]
    fn a_pkcs1_client_key_is_explained() {
        let error = client_key_error(
            "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
        );
        assert!(
            matches!(error, TlsError::ClientKeyNotPkcs8 { .. }),
            "{error}"
        );
        let message = error.to_string();
        assert!(message.contains("\"EC PRIVATE KEY\""), "{message}");
        assert!(message.contains("openssl pkcs8 -topk8"), "{message}");
    }

    #[test]
    fn a_pkcs8_client_identity_loads() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed_pem();
        let cert = write(&dir, "client.crt", &cert);
        let key = write(&dir, "client.key", &format!("# comment\n{key}"));
        let tls = MakePgTls::from_params(&params(&format!(
            "host=localhost sslmode=require sslcert={} sslkey={}",
            cert.display(),
            key.display()
        )));
        assert!(tls.is_ok(), "{:?}", tls.err());
    }

    #[test]
    fn a_missing_client_certificate_is_an_error() {
        let error = MakePgTls::from_params(&params(
            "host=localhost sslmode=require sslcert=/nonexistent/c.crt sslkey=/nonexistent/c.key",
        ))
        .unwrap_err();
        assert!(
            matches!(error, TlsError::ClientCertUnreadable { .. }),
            "{error}"
        );
    }

    #[test]
    fn the_certificate_slot_is_fresh_for_each_attempt() {
        let tls = MakePgTls::plain();
        tls.captured().store(vec![1, 2, 3]);
        assert_eq!(tls.captured().get(), Some(vec![1, 2, 3]));
        assert_eq!(tls.fresh_attempt().captured().get(), None);
    }
}

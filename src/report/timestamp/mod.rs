//! Trusted timestamps on report signatures (RFC 3161, PAdES B-T).
//!
//! After the report is signed, the SHA-256 of the signature value is sent to
//! a Time-Stamping Authority; its answer is checked ([`verify`]) — status,
//! nonce, message imprint, policy, the token's own CMS signature, the TSA
//! certificate's critical `timeStamping` extended key usage and, with a
//! trusted CA, its chain — and only then embedded ([`embed`]) as the
//! signature's unsigned `signatureTimeStampToken` attribute. The `/ByteRange`
//! excludes `/Contents`, so the file is signed once and the token is written
//! into the room reserved for the signature.
//!
//! A timestamp that cannot be had never costs the report: [`stamp_or_explain`]
//! returns why, and the caller signs without one.
//!
//! Owns the TSA exchange ([`request`]: the one place in `report` that uses the
//! network, and only the TSA's URL), the token checks and where the token sits
//! in the CMS. Imports `report::sign` and `report::identity`; nothing outside
//! `report`.

pub(crate) mod embed;
pub(crate) mod request;
pub(crate) mod verify;

use super::attach::UnsignedPdf;
use super::identity::SigningIdentity;
use super::sign::{self, SignError};
use der::oid::ObjectIdentifier;
use openssl::x509::X509;
use std::path::Path;
use std::time::Duration;
use time::OffsetDateTime;

/// Room reserved in `/Contents` for a token at first; a larger token gets
/// one more try with the room it needs.
const TOKEN_ROOM: usize = 12 * 1024;
/// Slack for the attribute around the token.
const ATTRIBUTE_SLACK: usize = 64;

/// How long a TSA may take to answer, connection included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// Where to ask for timestamps, and whom to trust.
#[derive(Debug, Clone)]
pub struct TsaConfig {
    url: String,
    trusted: Option<TrustedCa>,
    /// A policy to request; the token must then carry exactly it.
    pub policy: Option<ObjectIdentifier>,
    pub timeout: Duration,
}

impl TsaConfig {
    /// An `http://` or `https://` URL without a password in it.
    pub fn new(url: &str) -> Result<TsaConfig, TimestampError> {
        let url = url.trim();
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .ok_or_else(|| {
                TimestampError::BadUrl("it must start with http:// or https://".into())
            })?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if host.is_empty() {
            return Err(TimestampError::BadUrl("it names no host".into()));
        }
        if host.contains('@') {
            return Err(TimestampError::BadUrl(
                "it must not hold a user name or password".into(),
            ));
        }
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(TimestampError::BadUrl(
                "it contains spaces or control characters".into(),
            ));
        }
        Ok(TsaConfig {
            url: url.to_string(),
            trusted: None,
            policy: None,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Also require the TSA certificate to chain to `ca`.
    pub fn trusting(mut self, ca: TrustedCa) -> TsaConfig {
        self.trusted = Some(ca);
        self
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn trusted(&self) -> Option<&TrustedCa> {
        self.trusted.as_ref()
    }
}

/// CA certificates a TSA certificate must chain to (`--tsa-ca FILE`).
#[derive(Clone)]
pub struct TrustedCa {
    certificates: Vec<X509>,
    shown: String,
}

impl std::fmt::Debug for TrustedCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedCa")
            .field("file", &self.shown)
            .finish()
    }
}

impl TrustedCa {
    /// PEM (one or more certificates) or one DER certificate.
    pub fn load(path: &Path) -> Result<TrustedCa, TimestampError> {
        let shown = path.display().to_string();
        let bad = |message: String| TimestampError::BadCa {
            path: shown.clone(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let certificates = match X509::stack_from_pem(&bytes) {
            Ok(certs) if !certs.is_empty() => certs,
            _ => vec![X509::from_der(&bytes)
                .map_err(|_| bad("no PEM or DER certificate in it".into()))?],
        };
        Ok(TrustedCa {
            certificates,
            shown,
        })
    }

    pub(crate) fn certificates(&self) -> &[X509] {
        &self.certificates
    }

    pub fn file(&self) -> &str {
        &self.shown
    }
}

/// What a checked timestamp token establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampInfo {
    /// The TSA's time (genTime), RFC 3339 UTC.
    pub time: String,
    /// The subject of the certificate that signed the token (`CN=…, O=…`).
    pub tsa_subject: String,
    /// Lower-case hex SHA-256 of that certificate.
    pub tsa_fingerprint: String,
    /// The TSA policy the token was issued under (dotted OID).
    pub policy: String,
    /// The token's serial number, hex.
    pub serial: String,
    /// The CA file the TSA certificate was checked against, if one was given.
    pub trusted_by: Option<String>,
}

impl TimestampInfo {
    /// `CN=Clinic TSA, O=… at 2026-12-07T23:50:01Z`.
    pub fn summary(&self) -> String {
        format!("{} at {}", self.tsa_subject, self.time)
    }
}

/// What became of a requested timestamp.
#[derive(Debug)]
pub enum TimestampOutcome {
    /// No TSA was given.
    NotRequested,
    /// The token was checked and embedded.
    Stamped(TimestampInfo),
    /// The report was signed without one, for this reason.
    Failed(TimestampError),
}

impl TimestampOutcome {
    pub fn info(&self) -> Option<&TimestampInfo> {
        match self {
            TimestampOutcome::Stamped(info) => Some(info),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TimestampError {
    #[error("the TSA URL is not usable: {0}")]
    BadUrl(String),
    #[error("cannot use {path} as the TSA's CA: {message}")]
    BadCa { path: String, message: String },
    #[error("cannot reach the TSA at {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("the TSA at {url} answered HTTP {status}")]
    Http { url: String, status: u16 },
    #[error("the TSA refused the request: {0}")]
    Rejected(String),
    #[error("the TSA's answer is not a readable timestamp response: {0}")]
    Malformed(String),
    #[error("the timestamp token does not belong to this signature: {0}")]
    Mismatch(String),
    #[error("the timestamp token's own signature does not verify: {0}")]
    BadToken(String),
    #[error("the TSA certificate is not acceptable: {0}")]
    Untrusted(String),
    #[error("cannot place the timestamp token in the signature: {0}")]
    Embed(String),
    #[error("the timestamp token ({len} bytes) does not fit the room reserved for it")]
    TooLarge { len: usize },
}

/// Sign `unsigned` and timestamp the signature. The outer error is a failure
/// to sign at all; the inner one a timestamp that could not be had (the
/// caller then signs without one).
pub(crate) fn stamp_or_explain(
    unsigned: &UnsignedPdf,
    identity: &SigningIdentity,
    signing_time: OffsetDateTime,
    tsa: &TsaConfig,
) -> Result<Result<(Vec<u8>, TimestampInfo), TimestampError>, SignError> {
    let mut room = TOKEN_ROOM;
    // A token larger than the first guess gets one more try with the room
    // it showed it needs (a new signature needs a new token).
    for _ in 0..2 {
        let prepared = sign::prepare(unsigned, identity, signing_time, room)?;
        let signature = match embed::Signature::from_der(&prepared.cms) {
            Ok(signature) => signature,
            Err(e) => return Ok(Err(e)),
        };
        let (token, info) = match request::timestamp(tsa, signature.signature_value()) {
            Ok(answer) => answer,
            Err(e) => return Ok(Err(e)),
        };
        let own_len = prepared.cms.len();
        let stamped = match signature.with_token(&token) {
            Ok(stamped) => stamped,
            Err(e) => return Ok(Err(e)),
        };
        if stamped.len() > prepared.room() {
            room = stamped.len().saturating_sub(own_len) + ATTRIBUTE_SLACK + 1024;
            continue;
        }
        return Ok(Ok((prepared.finish(&stamped)?, info)));
    }
    Ok(Err(TimestampError::TooLarge { len: room }))
}

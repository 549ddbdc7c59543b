//! Asking a TSA for a timestamp: an RFC 3161 `TimeStampReq` over SHA-256,
//! with a fresh random nonce and `certReq` set, POSTed as
//! `application/timestamp-query` (RFC 3161 §3.4); the answer is read with a
//! size bound and handed to [`super::verify`] before anything uses it.
//!
//! The only network code in `report`; it talks to the URL the user gave and
//! nothing else (no redirects to other hosts are followed).

use super::verify::{check_response, Expected};
use super::{TimestampError, TimestampInfo, TsaConfig};
use der::asn1::{Int, OctetString, Uint};
use der::oid::AssociatedOid;
use der::{Any, Encode};
use sha2::{Digest, Sha256};
use std::io::Read;
use x509_cert::spki::AlgorithmIdentifier;
use x509_tsp::{MessageImprint, TimeStampReq, TspVersion};

/// Largest answer read from a TSA (tokens are a few kilobytes).
const MAX_ANSWER: u64 = 256 * 1024;

/// Timestamp `signature_value`: the token (DER) and what it establishes.
pub(crate) fn timestamp(
    tsa: &TsaConfig,
    signature_value: &[u8],
) -> Result<(Vec<u8>, TimestampInfo), TimestampError> {
    let digest = Sha256::digest(signature_value);
    let nonce = fresh_nonce()?;
    let query = query_der(&digest, &nonce, tsa)?;
    let answer = post(tsa, &query)?;
    let expected = Expected {
        signature_value,
        nonce: Some(&nonce),
        policy: tsa.policy.as_ref(),
        trusted: tsa.trusted(),
    };
    check_response(&answer, &expected)
}

/// 64 random bits, as a positive INTEGER.
fn fresh_nonce() -> Result<Int, TimestampError> {
    let mut bytes = [0u8; 8];
    openssl::rand::rand_bytes(&mut bytes)
        .map_err(|e| TimestampError::Embed(format!("no random nonce: {e}")))?;
    let unsigned = Uint::new(&bytes).map_err(|e| TimestampError::Embed(e.to_string()))?;
    Ok(Int::from(unsigned))
}

/// The DER `TimeStampReq` for a SHA-256 digest.
pub(crate) fn query_der(
    digest: &[u8],
    nonce: &Int,
    tsa: &TsaConfig,
) -> Result<Vec<u8>, TimestampError> {
    let bad = |e: der::Error| TimestampError::Embed(format!("cannot encode the request: {e}"));
    TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifier {
                oid: Sha256::OID,
                parameters: Some(Any::null()),
            },
            hashed_message: OctetString::new(digest).map_err(bad)?,
        },
        req_policy: tsa.policy,
        nonce: Some(nonce.clone()),
        cert_req: true,
        extensions: None,
    }
    .to_der()
    .map_err(bad)
}

/// POST the query; the body of a 200 answer.
fn post(tsa: &TsaConfig, query: &[u8]) -> Result<Vec<u8>, TimestampError> {
    let url = tsa.url();
    let unreachable = |message: String| TimestampError::Unreachable {
        url: url.to_string(),
        message,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(tsa.timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .provider(ureq::tls::TlsProvider::NativeTls)
                .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                .build(),
        )
        .build()
        .into();
    let mut response = agent
        .post(url)
        .header("Content-Type", "application/timestamp-query")
        .header("Accept", "application/timestamp-reply")
        .send(query)
        .map_err(|e| unreachable(e.to_string()))?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(TimestampError::Http {
            url: url.to_string(),
            status,
        });
    }
    let mut body = Vec::new();
    response
        .body_mut()
        .as_reader()
        .take(MAX_ANSWER + 1)
        .read_to_end(&mut body)
        .map_err(|e| unreachable(format!("the answer broke off: {e}")))?;
    if body.len() as u64 > MAX_ANSWER {
        return Err(TimestampError::Malformed(format!(
            "it is larger than {MAX_ANSWER} bytes"
        )));
    }
    Ok(body)
}

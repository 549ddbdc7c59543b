//! Verification of a signed evidence report: the signature is a valid CMS
//! detached signature over exactly the `/ByteRange`, the range covers the
//! whole file (bytes appended after signing are reported), the embedded scan
//! data is present and has the digest the appendix states, and optionally
//! the signer is the expected one.
//!
//! The signature is located in the raw bytes, not through a PDF parser, so a
//! damaged file still gets a precise answer; the PDF is parsed (lopdf) only
//! after the signature has been checked. A timestamp token in the
//! signature (PAdES B-T) is checked against the signature value
//! (`timestamp::verify`); a token that does not verify makes the report
//! invalid, since it claims a time it cannot prove. Must not import
//! `content` or `layout`.

use super::attach::{find, rfind};
use super::evidence::{embedded_store_head, StoreHead};
use super::identity::{certificate_fingerprint, name_to_string};
use super::period::{headline, PeriodHeadline};
use super::timestamp::embed::Signature;
use super::timestamp::verify::{check_token, Expected};
use super::timestamp::{TimestampError, TimestampInfo, TrustedCa};
use crate::output::ScanReport;
use der::{Decode, Encode};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::stack::Stack;
use openssl::x509::X509;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Largest embedded scan data we decompress (a bound against zip bombs).
const MAX_ATTACHMENT: usize = 512 * 1024 * 1024;
/// Largest page content we decompress while reading the appendix.
const MAX_PAGE_CONTENT: usize = 64 * 1024 * 1024;
/// The label the appendix prints before the digest.
pub const APPENDIX_DIGEST_LABEL: &str = "SHA-256 of the scan data";

/// OID 1.2.840.113549.1.9.5 (PKCS #9 signing time).
const SIGNING_TIME: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("not a PDF file: {0}")]
    NotPdf(String),
    #[error("the PDF has no digital signature (no /ByteRange): it cannot be verified")]
    Unsigned,
    #[error("the signature's /ByteRange is malformed: {0}")]
    MalformedRange(String),
    #[error("{0} bytes were appended after the signed part of the file")]
    Appended(usize),
    #[error("the signed range ends past the end of the file: the file was truncated")]
    Truncated,
    #[error("the signature is not a readable CMS SignedData: {0}")]
    BadSignature(String),
    #[error("the document was changed after signing: the signature does not match its bytes")]
    Mismatch,
    #[error("signed by certificate {found}, not the expected {expected}")]
    WrongSigner { found: String, expected: String },
    #[error("the report has no embedded scan data")]
    NoAttachment,
    #[error("the embedded scan data has SHA-256 {found} but the appendix states {stated}")]
    AttachmentMismatch { found: String, stated: String },
    #[error("the appendix does not state the SHA-256 of the embedded scan data")]
    NoAppendixDigest,
    #[error("the signature's timestamp does not hold: {0}")]
    BadTimestamp(TimestampError),
}

impl VerifyError {
    /// True when the file could not be examined at all (exit 2), as opposed
    /// to a report that is invalid or tampered with (exit 1).
    pub fn is_error(&self) -> bool {
        matches!(self, VerifyError::NotPdf(_))
    }
}

/// What a successful verification established.
#[derive(Debug, Clone)]
pub struct VerifyOutcome {
    pub signer_subject: String,
    /// Lower-case hex SHA-256 of the signer certificate.
    pub signer_fingerprint: String,
    /// From the CMS signing-time attribute, RFC 3339 UTC.
    pub signing_time: Option<String>,
    pub sub_filter: Option<String>,
    /// Length of the file, all of which the signature covers.
    pub file_len: usize,
    pub attachment_name: String,
    pub attachment_len: usize,
    pub attachment_sha256: String,
    /// The parsed scan data, when it is a scan this version understands.
    pub scan: Option<ScanReport>,
    /// The embedded data's `schema` (`pgsafeguard.scan/1`, `pgsafeguard.period/1`).
    pub schema: Option<String>,
    /// The evidence store and chain head the report embeds, if any.
    pub evidence_store: Option<StoreHead>,
    /// The period data, when it is an audit-period report.
    pub period: Option<PeriodHeadline>,
    /// The signature's trusted timestamp, checked; `None`: not timestamped.
    pub timestamp: Option<TimestampInfo>,
}

/// Verify a signed report. `expect_fingerprint` (hex, any case, colons
/// allowed) also requires a particular signer.
pub fn verify_pdf(
    bytes: &[u8],
    expect_fingerprint: Option<&str>,
) -> Result<VerifyOutcome, VerifyError> {
    verify_pdf_trusting(bytes, expect_fingerprint, None)
}

/// [`verify_pdf`], also requiring a timestamp's TSA certificate to chain to
/// `tsa_ca` when one is given.
pub fn verify_pdf_trusting(
    bytes: &[u8],
    expect_fingerprint: Option<&str>,
    tsa_ca: Option<&TrustedCa>,
) -> Result<VerifyOutcome, VerifyError> {
    check_header(bytes)?;
    let signature = locate_signature(bytes)?;
    let signed = signed_bytes(bytes, &signature.range)?;
    let der = der_prefix(&signature.contents)
        .ok_or_else(|| VerifyError::BadSignature("no DER structure in /Contents".into()))?;
    let signer = check_cms(der, &signed)?;
    let fingerprint = certificate_fingerprint(&signer.certificate);
    if let Some(expected) = expect_fingerprint {
        let expected = normalise_fingerprint(expected);
        if expected != fingerprint {
            return Err(VerifyError::WrongSigner {
                found: fingerprint,
                expected,
            });
        }
    }
    let timestamp = check_timestamp(der, tsa_ca)?;
    let embedded = check_embedded_data(bytes)?;
    let data: Option<serde_json::Value> = serde_json::from_slice(&embedded.bytes).ok();
    let data = data.as_ref();
    Ok(VerifyOutcome {
        signer_subject: name_to_string(signer.certificate.subject_name()),
        signer_fingerprint: fingerprint,
        signing_time: signer.signing_time,
        sub_filter: signature.sub_filter,
        file_len: bytes.len(),
        attachment_name: embedded.name,
        attachment_len: embedded.bytes.len(),
        attachment_sha256: embedded.sha256,
        scan: data.and_then(|d| ScanReport::deserialize(d).ok()),
        schema: data
            .and_then(|d| d.get("schema")?.as_str())
            .map(str::to_string),
        evidence_store: data.and_then(embedded_store_head),
        period: data.and_then(headline),
        timestamp,
    })
}

/// The signature timestamp, if the (already verified) signature has one.
fn check_timestamp(
    cms: &[u8],
    tsa_ca: Option<&TrustedCa>,
) -> Result<Option<TimestampInfo>, VerifyError> {
    let signature = Signature::from_der(cms).map_err(VerifyError::BadTimestamp)?;
    let Some(token) = signature.token().map_err(VerifyError::BadTimestamp)? else {
        return Ok(None);
    };
    let expected = Expected {
        signature_value: signature.signature_value(),
        nonce: None,
        policy: None,
        trusted: tsa_ca,
    };
    check_token(&token, &expected)
        .map(Some)
        .map_err(VerifyError::BadTimestamp)
}

/// `AB:cd:…` → `abcd…`.
pub fn normalise_fingerprint(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_hexdigit())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn check_header(bytes: &[u8]) -> Result<(), VerifyError> {
    let head = &bytes[..bytes.len().min(1024)];
    if find(head, b"%PDF-").is_none() {
        return Err(VerifyError::NotPdf(
            "it does not start with a %PDF- header".into(),
        ));
    }
    if rfind(&bytes[bytes.len().saturating_sub(4096)..], b"%%EOF").is_none() {
        return Err(VerifyError::NotPdf(
            "it has no %%EOF marker near its end".into(),
        ));
    }
    Ok(())
}

struct SignatureLocation {
    range: [usize; 4],
    contents: Vec<u8>,
    sub_filter: Option<String>,
}

/// The last signature dictionary in the file (the latest signature).
fn locate_signature(bytes: &[u8]) -> Result<SignatureLocation, VerifyError> {
    let at = rfind(bytes, b"/ByteRange").ok_or(VerifyError::Unsigned)?;
    let range = parse_range(&bytes[at + b"/ByteRange".len()..])?;
    let [start, first_len, gap_end, _] = range;
    if start != 0 || first_len == 0 || gap_end <= first_len {
        return Err(VerifyError::MalformedRange(format!("{range:?}")));
    }
    // The gap must be exactly the /Contents hex string.
    let gap = bytes
        .get(first_len..gap_end)
        .ok_or(VerifyError::Truncated)?;
    let inner = match gap {
        [b'<', inner @ .., b'>'] => inner,
        _ => {
            return Err(VerifyError::MalformedRange(
                "the excluded bytes are not the /Contents hex string".into(),
            ))
        }
    };
    let contents = decode_hex(inner).ok_or_else(|| {
        VerifyError::MalformedRange("the excluded bytes are not hexadecimal".into())
    })?;
    let dict_start = bytes[..at]
        .windows(2)
        .rposition(|w| w == b"<<")
        .unwrap_or(0);
    let sub_filter = read_name_after(&bytes[dict_start..], b"/SubFilter");
    Ok(SignatureLocation {
        range,
        contents,
        sub_filter,
    })
}

fn parse_range(after: &[u8]) -> Result<[usize; 4], VerifyError> {
    let malformed = |why: &str| VerifyError::MalformedRange(why.to_string());
    let text = &after[..after.len().min(200)];
    let open = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .filter(|i| text[*i] == b'[')
        .ok_or_else(|| malformed("no array"))?;
    let close = find(&text[open..], b"]").ok_or_else(|| malformed("unterminated array"))? + open;
    let inside =
        std::str::from_utf8(&text[open + 1..close]).map_err(|_| malformed("not numbers"))?;
    let numbers: Vec<usize> = inside
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| malformed("not numbers"))?;
    numbers
        .try_into()
        .map_err(|_| malformed("a single signed range needs four numbers"))
}

fn read_name_after(dict: &[u8], key: &[u8]) -> Option<String> {
    let end = find(dict, b">>").unwrap_or(dict.len()).min(dict.len());
    let pos = find(&dict[..end], key)? + key.len();
    let rest = &dict[pos..end];
    let start = rest.iter().position(|b| *b == b'/')? + 1;
    let len = rest[start..]
        .iter()
        .position(|b| b.is_ascii_whitespace() || b"/<>[]()".contains(b))
        .unwrap_or(rest.len() - start);
    String::from_utf8(rest[start..start + len].to_vec()).ok()
}

/// The bytes the signature covers, after checking the range ends the file.
fn signed_bytes(bytes: &[u8], range: &[usize; 4]) -> Result<Vec<u8>, VerifyError> {
    let [_, first_len, second_start, second_len] = *range;
    let end = second_start
        .checked_add(second_len)
        .ok_or_else(|| VerifyError::MalformedRange("range overflows".into()))?;
    if end > bytes.len() {
        return Err(VerifyError::Truncated);
    }
    if end < bytes.len() {
        return Err(VerifyError::Appended(bytes.len() - end));
    }
    let mut signed = Vec::with_capacity(first_len + second_len);
    signed.extend_from_slice(&bytes[..first_len]);
    signed.extend_from_slice(&bytes[second_start..end]);
    Ok(signed)
}

fn decode_hex(text: &[u8]) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    hex::decode(digits).ok()
}

/// The DER structure at the start of `bytes` (the rest is zero padding).
fn der_prefix(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.first() != Some(&0x30) {
        return None;
    }
    let first = *bytes.get(1)?;
    let (header, len) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..count {
            len = (len << 8) | usize::from(*bytes.get(2 + i)?);
        }
        (2 + count, len)
    };
    bytes.get(..header + len)
}

struct Signer {
    certificate: X509,
    signing_time: Option<String>,
}

/// Check the CMS signature over `signed`; return the signer.
fn check_cms(der: &[u8], signed: &[u8]) -> Result<Signer, VerifyError> {
    let bad = |e: &dyn std::fmt::Display| VerifyError::BadSignature(e.to_string());
    let info = cms::content_info::ContentInfo::from_der(der).map_err(|e| bad(&e))?;
    let signed_data: cms::signed_data::SignedData =
        info.content.decode_as().map_err(|e| bad(&e))?;
    let signer_info = signed_data
        .signer_infos
        .0
        .iter()
        .next()
        .ok_or_else(|| VerifyError::BadSignature("no signer".into()))?;
    let certificate = signer_certificate(&signed_data, &signer_info.sid).ok_or_else(|| {
        VerifyError::BadSignature("the signer certificate is not embedded".into())
    })?;
    let certificate =
        X509::from_der(&certificate.to_der().map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;

    let mut cms = CmsContentInfo::from_der(der).map_err(|e| bad(&e))?;
    let mut only_signer = Stack::new().map_err(|e| bad(&e))?;
    only_signer.push(certificate.clone()).map_err(|e| bad(&e))?;
    // Trust is the user's decision (the fingerprint); here we check that
    // this certificate's key signed exactly these bytes.
    let flags = CMSOptions::NO_SIGNER_CERT_VERIFY | CMSOptions::NOINTERN | CMSOptions::BINARY;
    cms.verify(Some(&only_signer), None, Some(signed), None, flags)
        .map_err(|_| VerifyError::Mismatch)?;
    Ok(Signer {
        certificate,
        signing_time: signing_time(signer_info),
    })
}

fn signer_certificate(
    data: &cms::signed_data::SignedData,
    sid: &cms::signed_data::SignerIdentifier,
) -> Option<x509_cert::Certificate> {
    let certificates: Vec<&x509_cert::Certificate> = data
        .certificates
        .as_ref()?
        .0
        .iter()
        .filter_map(|choice| match choice {
            cms::cert::CertificateChoices::Certificate(c) => Some(c),
            _ => None,
        })
        .collect();
    let found = match sid {
        cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(id) => {
            certificates.iter().find(|c| {
                c.tbs_certificate.issuer == id.issuer
                    && c.tbs_certificate.serial_number == id.serial_number
            })
        }
        cms::signed_data::SignerIdentifier::SubjectKeyIdentifier(_) => certificates.first(),
    };
    found.map(|c| (*c).clone())
}

fn signing_time(info: &cms::signed_data::SignerInfo) -> Option<String> {
    let attribute = info
        .signed_attrs
        .as_ref()?
        .iter()
        .find(|a| a.oid == SIGNING_TIME)?;
    let value = attribute.values.iter().next()?;
    let when = x509_cert::time::Time::from_der(&value.to_der().ok()?).ok()?;
    let seconds = i64::try_from(when.to_unix_duration().as_secs()).ok()?;
    let t = time::OffsetDateTime::from_unix_timestamp(seconds).ok()?;
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

struct Embedded {
    name: String,
    bytes: Vec<u8>,
    sha256: String,
}

/// The embedded scan data, and its digest compared with the appendix.
fn check_embedded_data(bytes: &[u8]) -> Result<Embedded, VerifyError> {
    let doc = lopdf::Document::load_mem(bytes)
        .map_err(|e| VerifyError::NotPdf(format!("its structure cannot be read ({e})")))?;
    let (name, data) = first_attachment(&doc).ok_or(VerifyError::NoAttachment)?;
    let sha256 = hex::encode(Sha256::digest(&data));
    let stated = appendix_digest(&doc).ok_or(VerifyError::NoAppendixDigest)?;
    if stated != sha256 {
        return Err(VerifyError::AttachmentMismatch {
            found: sha256,
            stated,
        });
    }
    Ok(Embedded {
        name,
        bytes: data,
        sha256,
    })
}

fn first_attachment(doc: &lopdf::Document) -> Option<(String, Vec<u8>)> {
    let catalog = doc.catalog().ok()?;
    let names = deref_dict(doc, catalog.get(b"Names").ok()?)?;
    let embedded = deref_dict(doc, names.get(b"EmbeddedFiles").ok()?)?;
    let list = embedded.get(b"Names").ok()?.as_array().ok()?;
    let name = list.first()?.as_str().ok()?;
    let filespec = deref_dict(doc, list.get(1)?)?;
    let ef = deref_dict(doc, filespec.get(b"EF").ok()?)?;
    let stream_ref = ef.get(b"F").ok()?.as_reference().ok()?;
    let stream = doc.get_object(stream_ref).ok()?.as_stream().ok()?;
    let data = stream
        .decompressed_content_with_limit(MAX_ATTACHMENT)
        .or_else(|_| {
            if stream.dict.get(b"Filter").is_err() {
                Ok(stream.content.clone())
            } else {
                Err(())
            }
        })
        .ok()?;
    Some((String::from_utf8_lossy(name).to_string(), data))
}

fn deref_dict<'a>(
    doc: &'a lopdf::Document,
    object: &'a lopdf::Object,
) -> Option<&'a lopdf::Dictionary> {
    match object {
        lopdf::Object::Reference(id) => doc.get_dictionary(*id).ok(),
        lopdf::Object::Dictionary(d) => Some(d),
        _ => None,
    }
}

/// The 64-hex digest printed after [`APPENDIX_DIGEST_LABEL`], searched from
/// the last page backwards.
fn appendix_digest(doc: &lopdf::Document) -> Option<String> {
    let pages = doc.get_pages().len() as u32;
    for page in (1..=pages).rev().take(6) {
        let Ok(text) = doc.extract_text_with_limit(&[page], MAX_PAGE_CONTENT) else {
            continue;
        };
        if let Some(pos) = text.find(APPENDIX_DIGEST_LABEL) {
            let after = &text[pos + APPENDIX_DIGEST_LABEL.len()..];
            if let Some(digest) = first_hex_token(after, 64) {
                return Some(digest);
            }
        }
    }
    None
}

fn first_hex_token(text: &str, len: usize) -> Option<String> {
    text.split(|c: char| !c.is_ascii_hexdigit())
        .find(|t| t.len() == len)
        .map(str::to_ascii_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_normalised() {
        assert_eq!(normalise_fingerprint("AB:cd:0F"), "abcd0f");
    }

    #[test]
    fn der_prefix_drops_padding() {
        let bytes = [0x30, 0x03, 1, 2, 3, 0, 0, 0];
        assert_eq!(der_prefix(&bytes), Some(&bytes[..5]));
        let long = [0x30, 0x81, 0x02, 9, 9, 0];
        assert_eq!(der_prefix(&long), Some(&long[..5]));
        assert_eq!(der_prefix(&[0x31, 0]), None);
    }

    #[test]
    fn ranges_are_parsed() {
        assert_eq!(
            parse_range(b" [0 10 20 30   ]/Contents").unwrap(),
            [0, 10, 20, 30]
        );
        assert!(parse_range(b"[0 10 20]").is_err());
    }

    #[test]
    fn not_a_pdf_is_an_error_not_an_invalid_report() {
        let err = verify_pdf(b"hello", None).unwrap_err();
        assert!(err.is_error(), "{err}");
    }

    #[test]
    fn hex_tokens_of_the_right_length_are_found() {
        let digest = "a".repeat(64);
        let text = format!("label  {digest}  other");
        assert_eq!(first_hex_token(&text, 64), Some(digest));
    }
}

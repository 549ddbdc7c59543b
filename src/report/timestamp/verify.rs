//! Checking a TSA's answer and a timestamp token, before embedding it and
//! again when a report is verified: the response status is granted; the
//! token is a CMS SignedData over a `TSTInfo`; its message imprint is the
//! SHA-256 of the signature value; its nonce is ours (when we asked); it
//! names a policy (the one requested, if any); the certificate that signed it
//! carries the critical `timeStamping` extended key usage; its CMS signature
//! verifies; and, with a trusted CA, that certificate chains to it at the
//! token's time.
//!
//! Everything in a token comes from outside: names are returned as found and
//! made safe where they are shown. Imports `report::identity` (certificate
//! names and fingerprints) and nothing else of ours.

use super::{TimestampError, TimestampInfo, TrustedCa};
use crate::report::identity::{certificate_fingerprint, name_to_string};
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::asn1::Int;
use der::oid::{AssociatedOid, ObjectIdentifier};
use der::{Decode, Encode};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{X509PurposeId, X509StoreContext, X509};
use sha2::{Digest, Sha256};
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::Certificate;
use x509_tsp::{TimeStampResp, TstInfo};

/// OID 1.2.840.113549.1.9.16.1.4 (id-ct-TSTInfo).
const TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// OID 1.3.6.1.5.5.7.3.8 (id-kp-timeStamping).
const TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");

/// What the token must show besides a valid signature.
pub(crate) struct Expected<'a> {
    /// The signature value the token must cover.
    pub signature_value: &'a [u8],
    /// The nonce we sent; `None` when checking an embedded token.
    pub nonce: Option<&'a Int>,
    /// The policy we asked for, if any.
    pub policy: Option<&'a ObjectIdentifier>,
    /// CA certificates the TSA certificate must chain to.
    pub trusted: Option<&'a TrustedCa>,
}

/// A TSA's DER `TimeStampResp`: the token (DER) once every check passed.
pub(crate) fn check_response(
    answer: &[u8],
    expected: &Expected<'_>,
) -> Result<(Vec<u8>, TimestampInfo), TimestampError> {
    let malformed = |e: der::Error| TimestampError::Malformed(e.to_string());
    let response = TimeStampResp::from_der(answer).map_err(malformed)?;
    // 0 granted, 1 granted with modifications (RFC 3161 §2.4.2).
    let status = response.status.status as u8;
    if status > 1 {
        return Err(TimestampError::Rejected(refusal_text(status, &response)));
    }
    let token = response
        .time_stamp_token
        .ok_or_else(|| TimestampError::Malformed("it was granted but holds no token".into()))?
        .to_der()
        .map_err(malformed)?;
    let info = check_token(&token, expected)?;
    Ok((token, info))
}

/// The status and, when the TSA gave one, its reason (made one safe line
/// by the caller when shown).
fn refusal_text(status: u8, response: &TimeStampResp<'_>) -> String {
    let name = match status {
        2 => "rejection",
        3 => "waiting",
        4 => "revocation warning",
        5 => "revocation notification",
        _ => "unknown status",
    };
    let text: Vec<String> = response
        .status
        .status_string
        .as_ref()
        .map(|texts| texts.iter().map(|t| t.as_str().to_string()).collect())
        .unwrap_or_default();
    let fail = response
        .status
        .fail_info
        .as_ref()
        .map(|bits| format!(" (failure bits {bits:?})"))
        .unwrap_or_default();
    if text.is_empty() {
        format!("status {status} ({name}){fail}")
    } else {
        format!("status {status} ({name}): {}{fail}", text.join("; "))
    }
}

/// A DER timestamp token (a CMS ContentInfo), checked against `expected`.
pub(crate) fn check_token(
    token: &[u8],
    expected: &Expected<'_>,
) -> Result<TimestampInfo, TimestampError> {
    let malformed = |e: der::Error| TimestampError::Malformed(format!("token: {e}"));
    let info = ContentInfo::from_der(token).map_err(malformed)?;
    let signed_data: SignedData = info.content.decode_as().map_err(malformed)?;
    let encap = &signed_data.encap_content_info;
    if encap.econtent_type != TST_INFO {
        return Err(TimestampError::Malformed(format!(
            "the token holds {} instead of a TSTInfo",
            encap.econtent_type
        )));
    }
    let content = encap
        .econtent
        .as_ref()
        .ok_or_else(|| TimestampError::Malformed("the token holds no TSTInfo".into()))?;
    let tst_der = content
        .decode_as::<der::asn1::OctetString>()
        .map_err(malformed)?;
    let tst = TstInfo::from_der(tst_der.as_bytes()).map_err(malformed)?;

    check_imprint(&tst, expected.signature_value)?;
    if let Some(nonce) = expected.nonce {
        match &tst.nonce {
            Some(theirs) if theirs.as_bytes() == nonce.as_bytes() => {}
            Some(_) => {
                return Err(TimestampError::Mismatch(
                    "its nonce is not the one we sent".into(),
                ))
            }
            None => return Err(TimestampError::Mismatch("it carries no nonce".into())),
        }
    }
    if let Some(policy) = expected.policy {
        if &tst.policy != policy {
            return Err(TimestampError::Mismatch(format!(
                "it was issued under policy {} instead of the requested {policy}",
                tst.policy
            )));
        }
    }

    let tsa_cert = tsa_certificate(&signed_data)?;
    check_key_usage(&tsa_cert)?;
    let tsa_cert = X509::from_der(&tsa_cert.to_der().map_err(malformed)?)
        .map_err(|e| TimestampError::Malformed(format!("TSA certificate: {e}")))?;
    check_cms_signature(token, &tsa_cert)?;
    let gen_time = i64::try_from(tst.gen_time.to_unix_duration().as_secs())
        .map_err(|_| TimestampError::Malformed("its time is out of range".into()))?;
    if let Some(ca) = expected.trusted {
        check_chain(&signed_data, &tsa_cert, ca, gen_time)?;
    }
    Ok(TimestampInfo {
        time: rfc3339(gen_time),
        tsa_subject: name_to_string(tsa_cert.subject_name()),
        tsa_fingerprint: certificate_fingerprint(&tsa_cert),
        policy: tst.policy.to_string(),
        serial: hex::encode(tst.serial_number.as_bytes()),
        trusted_by: expected.trusted.map(|ca| ca.file().to_string()),
    })
}

fn check_imprint(tst: &TstInfo, signature_value: &[u8]) -> Result<(), TimestampError> {
    let imprint = &tst.message_imprint;
    if imprint.hash_algorithm.oid != Sha256::OID {
        return Err(TimestampError::Mismatch(format!(
            "its message imprint uses {} instead of SHA-256",
            imprint.hash_algorithm.oid
        )));
    }
    if imprint.hashed_message.as_bytes() != &Sha256::digest(signature_value)[..] {
        return Err(TimestampError::Mismatch(
            "its message imprint is not the SHA-256 of the signature value".into(),
        ));
    }
    Ok(())
}

/// The certificate named by the token's one SignerInfo.
fn tsa_certificate(signed_data: &SignedData) -> Result<Certificate, TimestampError> {
    let missing =
        || TimestampError::BadToken("the token does not include the TSA certificate".into());
    let signer = match signed_data.signer_infos.0.as_slice() {
        [one] => one,
        _ => {
            return Err(TimestampError::BadToken(
                "the token must have exactly one signer".into(),
            ))
        }
    };
    let certificates = signed_data.certificates.as_ref().ok_or_else(missing)?;
    certificates
        .0
        .iter()
        .filter_map(|choice| match choice {
            CertificateChoices::Certificate(c) => Some(c),
            _ => None,
        })
        .find(|c| match &signer.sid {
            SignerIdentifier::IssuerAndSerialNumber(id) => {
                c.tbs_certificate.issuer == id.issuer
                    && c.tbs_certificate.serial_number == id.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => c
                .tbs_certificate
                .get::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
                .ok()
                .flatten()
                .is_some_and(|(_, own)| own == *ski),
        })
        .cloned()
        .ok_or_else(missing)
}

/// RFC 3161 §2.3: the TSA certificate's only extended key usage is
/// `timeStamping`, and the extension is critical.
fn check_key_usage(cert: &Certificate) -> Result<(), TimestampError> {
    let found = cert
        .tbs_certificate
        .get::<ExtendedKeyUsage>()
        .map_err(|e| {
            TimestampError::Untrusted(format!("its extended key usage is unreadable: {e}"))
        })?;
    match found {
        Some((true, usage)) if usage.0 == [TIME_STAMPING] => Ok(()),
        Some((false, _)) => Err(TimestampError::Untrusted(
            "its extended key usage is not marked critical".into(),
        )),
        Some(_) => Err(TimestampError::Untrusted(
            "its extended key usage is not timeStamping alone".into(),
        )),
        None => Err(TimestampError::Untrusted(
            "it has no timeStamping extended key usage".into(),
        )),
    }
}

/// The token's CMS signature over its TSTInfo, by `tsa_cert`'s key.
fn check_cms_signature(token: &[u8], tsa_cert: &X509) -> Result<(), TimestampError> {
    let bad = |e: &dyn std::fmt::Display| TimestampError::BadToken(e.to_string());
    let mut cms = CmsContentInfo::from_der(token).map_err(|e| bad(&e))?;
    let mut signer = Stack::new().map_err(|e| bad(&e))?;
    signer.push(tsa_cert.clone()).map_err(|e| bad(&e))?;
    // Trust is decided separately (check_chain); here: this key signed it.
    let flags = CMSOptions::NO_SIGNER_CERT_VERIFY | CMSOptions::NOINTERN | CMSOptions::BINARY;
    cms.verify(Some(&signer), None, None, None, flags)
        .map_err(|e| bad(&e))
}

/// The TSA certificate chains to `ca` for time stamping, as of `at`.
fn check_chain(
    signed_data: &SignedData,
    tsa_cert: &X509,
    ca: &TrustedCa,
    at: i64,
) -> Result<(), TimestampError> {
    let fail = |e: &dyn std::fmt::Display| TimestampError::Untrusted(e.to_string());
    let mut store = X509StoreBuilder::new().map_err(|e| fail(&e))?;
    for cert in ca.certificates() {
        store.add_cert(cert.clone()).map_err(|e| fail(&e))?;
    }
    let mut param = X509VerifyParam::new().map_err(|e| fail(&e))?;
    param.set_time(at);
    param
        .set_purpose(X509PurposeId::TIMESTAMP_SIGN)
        .map_err(|e| fail(&e))?;
    store.set_param(&param).map_err(|e| fail(&e))?;
    let store = store.build();
    // Intermediate certificates the token carries may complete the path.
    let mut untrusted = Stack::new().map_err(|e| fail(&e))?;
    for choice in signed_data.certificates.iter().flat_map(|set| set.0.iter()) {
        if let CertificateChoices::Certificate(c) = choice {
            if let Some(cert) = c.to_der().ok().and_then(|d| X509::from_der(&d).ok()) {
                untrusted.push(cert).map_err(|e| fail(&e))?;
            }
        }
    }
    let mut context = X509StoreContext::new().map_err(|e| fail(&e))?;
    let verdict = context
        .init(&store, tsa_cert, &untrusted, |ctx| {
            Ok(ctx.verify_cert()?.then_some(()).ok_or(ctx.error()))
        })
        .map_err(|e| fail(&e))?;
    verdict.map_err(|e| {
        TimestampError::Untrusted(format!(
            "it does not chain to {}: {}",
            ca.file(),
            e.error_string()
        ))
    })
}

fn rfc3339(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| seconds.to_string())
}

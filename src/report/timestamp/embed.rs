//! Where a timestamp token lives in the signature: the unsigned attribute
//! `id-aa-signatureTimeStampToken` of the one SignerInfo (PAdES B-T), whose
//! message imprint is the SHA-256 of that SignerInfo's signature value.
//!
//! Reads and rewrites the CMS with RustCrypto's `cms` types; the signed part
//! (signed attributes, signature value) is decoded and re-encoded unchanged,
//! which `tests/timestamp.rs` confirms with pdfsig and pyHanko. May import
//! nothing of ours outside `report::timestamp`.

use super::TimestampError;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerInfo, SignerInfos};
use der::asn1::SetOfVec;
use der::oid::ObjectIdentifier;
use der::{Any, Decode, Encode};
use x509_cert::attr::Attribute;

/// OID 1.2.840.113549.1.9.16.2.14 (RFC 3161 appendix A, id-aa-signatureTimeStampToken).
pub const SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");

/// The CMS SignedData of a report signature, decoded.
pub(crate) struct Signature {
    content_type: ObjectIdentifier,
    signed_data: SignedData,
}

impl Signature {
    pub(crate) fn from_der(cms: &[u8]) -> Result<Signature, TimestampError> {
        let bad = |e: der::Error| TimestampError::Embed(e.to_string());
        let info = ContentInfo::from_der(cms).map_err(bad)?;
        let signed_data: SignedData = info.content.decode_as().map_err(bad)?;
        if signed_data.signer_infos.0.len() != 1 {
            return Err(TimestampError::Embed(format!(
                "the signature has {} signers, not one",
                signed_data.signer_infos.0.len()
            )));
        }
        Ok(Signature {
            content_type: info.content_type,
            signed_data,
        })
    }

    fn signer(&self) -> Option<&SignerInfo> {
        self.signed_data.signer_infos.0.iter().next()
    }

    /// The signer's signature value: what a signature timestamp covers.
    pub(crate) fn signature_value(&self) -> &[u8] {
        self.signer().map_or(&[], |s| s.signature.as_bytes())
    }

    /// The DER of the embedded timestamp token, if there is one.
    pub(crate) fn token(&self) -> Result<Option<Vec<u8>>, TimestampError> {
        let Some(attrs) = self.signer().and_then(|s| s.unsigned_attrs.as_ref()) else {
            return Ok(None);
        };
        let Some(attr) = attrs.iter().find(|a| a.oid == SIGNATURE_TIME_STAMP_TOKEN) else {
            return Ok(None);
        };
        let value = attr.values.iter().next().ok_or_else(|| {
            TimestampError::Embed("the timestamp attribute holds no token".into())
        })?;
        value
            .to_der()
            .map(Some)
            .map_err(|e| TimestampError::Embed(e.to_string()))
    }

    /// The same signature with `token` as its signature timestamp (replacing
    /// any earlier one), DER encoded.
    pub(crate) fn with_token(self, token: &[u8]) -> Result<Vec<u8>, TimestampError> {
        let bad = |e: der::Error| TimestampError::Embed(e.to_string());
        let content_type = self.content_type;
        let mut signed_data = self.signed_data;
        let mut signers = signed_data.signer_infos.0.into_vec();
        for signer in &mut signers {
            let mut attrs: Vec<Attribute> = signer
                .unsigned_attrs
                .take()
                .map(SetOfVec::into_vec)
                .unwrap_or_default();
            attrs.retain(|a| a.oid != SIGNATURE_TIME_STAMP_TOKEN);
            let mut values = SetOfVec::new();
            values
                .insert(Any::from_der(token).map_err(bad)?)
                .map_err(bad)?;
            attrs.push(Attribute {
                oid: SIGNATURE_TIME_STAMP_TOKEN,
                values,
            });
            signer.unsigned_attrs = Some(SetOfVec::try_from(attrs).map_err(bad)?);
        }
        signed_data.signer_infos = SignerInfos(SetOfVec::try_from(signers).map_err(bad)?);
        ContentInfo {
            content_type,
            content: Any::encode_from(&signed_data).map_err(bad)?,
        }
        .to_der()
        .map_err(bad)
    }
}

//! The PDF signature: an incremental update that adds an invisible
//! signature field (AcroForm, widget on page 1) and a signature dictionary
//! whose `/ByteRange` covers the whole file except the `/Contents` hex
//! string, which holds a CMS detached SignedData (`adbe.pkcs7.detached`).
//!
//! The update is written by hand, not by lopdf, because the byte offsets of
//! `/ByteRange` and `/Contents` must be known exactly before signing. Owns
//! that update only; key handling is in `identity`.

use super::attach::{pdf_date, UnsignedPdf};
use super::identity::{IdentityError, SigningIdentity};
use lopdf::{Dictionary, Object, ObjectId};
use std::fmt::Write as _;
use time::OffsetDateTime;

/// The SubFilter written into the signature dictionary.
pub const SUB_FILTER: &str = "adbe.pkcs7.detached";

/// Room for everything in the CMS besides the certificates.
const SIGNATURE_OVERHEAD: usize = 4096;

/// Width reserved for `[0 a b c]`: four numbers of up to 10 digits.
const BYTE_RANGE_WIDTH: usize = 2 + 4 * 11;

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("the signature ({len} bytes) is larger than the space reserved for it ({reserved} bytes): this is a bug in pgSafeguard")]
    TooLarge { len: usize, reserved: usize },
    #[error("cannot write the signature: {0}")]
    Write(String),
}

/// Sign `unsigned` with `identity`; `signing_time` goes into `/M`.
pub fn sign_pdf(
    unsigned: &UnsignedPdf,
    identity: &SigningIdentity,
    signing_time: OffsetDateTime,
) -> Result<Vec<u8>, SignError> {
    let prepared = prepare(unsigned, identity, signing_time, 0)?;
    let cms = prepared.cms.clone();
    prepared.finish(&cms)
}

/// A signed file whose `/Contents` is still empty: the CMS is computed, so
/// unsigned attributes (a timestamp over its signature value) can be added
/// to it before it is written. The `/ByteRange` covers everything but
/// `/Contents`, so what goes there does not change what was signed.
pub(crate) struct Prepared {
    bytes: Vec<u8>,
    contents_start: usize,
    reserved: usize,
    /// The CMS SignedData as the identity made it (DER).
    pub(crate) cms: Vec<u8>,
}

/// Lay out the signature update with room for the CMS plus `extra_room`
/// bytes (for a timestamp token), and sign it.
pub(crate) fn prepare(
    unsigned: &UnsignedPdf,
    identity: &SigningIdentity,
    signing_time: OffsetDateTime,
    extra_room: usize,
) -> Result<Prepared, SignError> {
    let reserved = SIGNATURE_OVERHEAD + identity.embedded_certificates_len() + extra_room;
    let mut bytes = unsigned.bytes.clone();
    if bytes.last() != Some(&b'\n') {
        bytes.push(b'\n');
    }
    let update = build_update(unsigned, identity, signing_time, reserved, bytes.len())?;
    bytes.extend_from_slice(&update.text);

    let contents_start = update.contents_offset;
    let contents_end = contents_start + 2 + 2 * reserved;
    let byte_range = [0, contents_start, contents_end, bytes.len() - contents_end];
    write_byte_range(&mut bytes, update.byte_range_offset, byte_range);

    let mut signed_data = Vec::with_capacity(bytes.len() - (contents_end - contents_start));
    signed_data.extend_from_slice(&bytes[..contents_start]);
    signed_data.extend_from_slice(&bytes[contents_end..]);
    let cms = identity.sign_detached(&signed_data)?;
    Ok(Prepared {
        bytes,
        contents_start,
        reserved,
        cms,
    })
}

impl Prepared {
    /// Bytes available in `/Contents`.
    pub(crate) fn room(&self) -> usize {
        self.reserved
    }

    /// Write `cms` (the identity's, or the same with unsigned attributes
    /// added) into `/Contents`: the finished file.
    pub(crate) fn finish(mut self, cms: &[u8]) -> Result<Vec<u8>, SignError> {
        if cms.len() > self.reserved {
            return Err(SignError::TooLarge {
                len: cms.len(),
                reserved: self.reserved,
            });
        }
        let hex = hex::encode_upper(cms);
        let at = self.contents_start + 1;
        self.bytes[at..at + hex.len()].copy_from_slice(hex.as_bytes());
        Ok(self.bytes)
    }
}

/// The appended text and where its placeholders sit in the whole file.
struct Update {
    text: Vec<u8>,
    byte_range_offset: usize,
    contents_offset: usize,
}

fn build_update(
    unsigned: &UnsignedPdf,
    identity: &SigningIdentity,
    signing_time: OffsetDateTime,
    reserved: usize,
    base: usize,
) -> Result<Update, SignError> {
    let sig_id: ObjectId = (unsigned.next_object, 0);
    let widget_id: ObjectId = (unsigned.next_object + 1, 0);
    let mut out: Vec<u8> = Vec::new();
    let mut offsets: Vec<(u32, usize)> = Vec::new();

    // 1. The signature dictionary, with placeholders.
    offsets.push((sig_id.0, base + out.len()));
    let signer = identity.subject();
    let mut head = format!(
        "{} 0 obj\n<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/{SUB_FILTER}/M",
        sig_id.0
    );
    head.push_str(&hex_string(pdf_date(signing_time).as_bytes()));
    head.push_str("/Name");
    head.push_str(&hex_string(&utf16_text(&common_name(&signer))));
    head.push_str("/Reason");
    head.push_str(&hex_string(b"pgSafeguard evidence report"));
    head.push_str("/ByteRange");
    out.extend_from_slice(head.as_bytes());
    let byte_range_offset = base + out.len();
    out.extend_from_slice(format!("[{:width$}]", "", width = BYTE_RANGE_WIDTH - 2).as_bytes());
    out.extend_from_slice(b"/Contents");
    let contents_offset = base + out.len();
    out.push(b'<');
    out.extend(std::iter::repeat_n(b'0', 2 * reserved));
    out.extend_from_slice(b">>>\nendobj\n");

    // 2. The invisible signature field and its widget, on page 1.
    offsets.push((widget_id.0, base + out.len()));
    let widget = Dictionary::from_iter(vec![
        ("Type", Object::Name(b"Annot".to_vec())),
        ("Subtype", Object::Name(b"Widget".to_vec())),
        ("FT", Object::Name(b"Sig".to_vec())),
        (
            "T",
            Object::String(
                b"pgSafeguard signature".to_vec(),
                lopdf::StringFormat::Literal,
            ),
        ),
        ("V", Object::Reference(sig_id)),
        ("F", Object::Integer(132)),
        (
            "Rect",
            Object::Array(vec![0.into(), 0.into(), 0.into(), 0.into()]),
        ),
        ("P", Object::Reference(unsigned.first_page_id)),
    ]);
    write_indirect(&mut out, widget_id, &Object::Dictionary(widget))?;

    // 3. Page 1 with the widget among its annotations.
    offsets.push((unsigned.first_page_id.0, base + out.len()));
    let mut page = unsigned.first_page.clone();
    let mut annots = match page.get(b"Annots") {
        Ok(Object::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    annots.push(Object::Reference(widget_id));
    page.set("Annots", Object::Array(annots));
    write_indirect(&mut out, unsigned.first_page_id, &Object::Dictionary(page))?;

    // 4. The catalog with the AcroForm (signatures exist, append only).
    offsets.push((unsigned.catalog_id.0, base + out.len()));
    let mut catalog = unsigned.catalog.clone();
    catalog.set(
        "AcroForm",
        Object::Dictionary(Dictionary::from_iter(vec![
            ("Fields", Object::Array(vec![Object::Reference(widget_id)])),
            ("SigFlags", Object::Integer(3)),
        ])),
    );
    write_indirect(&mut out, unsigned.catalog_id, &Object::Dictionary(catalog))?;

    // 5. Cross-reference section and trailer pointing back to the original.
    let xref_offset = base + out.len();
    write_xref(&mut out, &mut offsets);
    let id = hex_string(&unsigned.file_id);
    let trailer = format!(
        "trailer\n<</Size {}/Root {} 0 R/Info {} 0 R/ID[{id}{id}]/Prev {}>>\nstartxref\n{xref_offset}\n%%EOF\n",
        widget_id.0 + 1,
        unsigned.catalog_id.0,
        unsigned.info_id.0,
        unsigned.startxref
    );
    out.extend_from_slice(trailer.as_bytes());
    Ok(Update {
        text: out,
        byte_range_offset,
        contents_offset,
    })
}

/// Fill the reserved `[…]` with the real numbers, padded with spaces.
fn write_byte_range(bytes: &mut [u8], offset: usize, range: [usize; 4]) {
    let text = format!("[{} {} {} {}", range[0], range[1], range[2], range[3]);
    let padded = format!("{text:width$}]", width = BYTE_RANGE_WIDTH - 1);
    bytes[offset..offset + BYTE_RANGE_WIDTH].copy_from_slice(padded.as_bytes());
}

fn write_xref(out: &mut Vec<u8>, offsets: &mut [(u32, usize)]) {
    offsets.sort();
    let mut text = String::from("xref\n0 1\n0000000000 65535 f \n");
    for (id, offset) in offsets.iter() {
        let _ = write!(text, "{id} 1\n{offset:010} 00000 n \n");
    }
    out.extend_from_slice(text.as_bytes());
}

fn write_indirect(out: &mut Vec<u8>, id: ObjectId, object: &Object) -> Result<(), SignError> {
    out.extend_from_slice(format!("{} {} obj\n", id.0, id.1).as_bytes());
    write_object(out, object)?;
    out.extend_from_slice(b"\nendobj\n");
    Ok(())
}

/// Serialise a (non-stream) PDF object. Strings are always written in hex,
/// which needs no escaping.
fn write_object(out: &mut Vec<u8>, object: &Object) -> Result<(), SignError> {
    match object {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Object::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Object::Real(r) => out.extend_from_slice(format_real(*r).as_bytes()),
        Object::Name(name) => write_name(out, name),
        Object::String(bytes, _) => out.extend_from_slice(hex_string(bytes).as_bytes()),
        Object::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_object(out, item)?;
            }
            out.push(b']');
        }
        Object::Dictionary(dict) => {
            out.extend_from_slice(b"<<");
            for (key, value) in dict.iter() {
                write_name(out, key);
                out.push(b' ');
                write_object(out, value)?;
            }
            out.extend_from_slice(b">>");
        }
        Object::Reference(id) => out.extend_from_slice(format!("{} {} R", id.0, id.1).as_bytes()),
        Object::Stream(_) => {
            return Err(SignError::Write(
                "a stream cannot be rewritten in the signature update".into(),
            ))
        }
    }
    Ok(())
}

fn format_real(value: f32) -> String {
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

fn write_name(out: &mut Vec<u8>, name: &[u8]) {
    out.push(b'/');
    for &byte in name {
        if b" \t\n\r\x0C()<>[]{}/%#".contains(&byte) || !(33..=126).contains(&byte) {
            out.extend_from_slice(format!("#{byte:02X}").as_bytes());
        } else {
            out.push(byte);
        }
    }
}

fn hex_string(bytes: &[u8]) -> String {
    format!("<{}>", hex::encode_upper(bytes))
}

/// A PDF text string in UTF-16BE with its byte-order mark.
fn utf16_text(text: &str) -> Vec<u8> {
    let mut out = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_be_bytes());
    }
    out
}

/// `CN=Jane, O=Clinic` → `Jane`; the whole subject when there is no CN.
fn common_name(subject: &str) -> String {
    subject
        .split(", ")
        .find_map(|part| part.strip_prefix("CN="))
        .unwrap_or(subject)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_range_keeps_its_width() {
        let mut bytes = vec![b'x'; BYTE_RANGE_WIDTH];
        write_byte_range(&mut bytes, 0, [0, 1234, 5678, 90]);
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.len(), BYTE_RANGE_WIDTH);
        assert!(text.starts_with("[0 1234 5678 90 "));
        assert!(text.ends_with(']'));
    }

    #[test]
    fn names_and_reals_are_escaped() {
        let mut out = Vec::new();
        write_name(&mut out, b"application/json");
        assert_eq!(out, b"/application#2Fjson");
        assert_eq!(format_real(595.28), "595.28");
        assert_eq!(format_real(0.0), "0");
    }

    #[test]
    fn common_name_is_taken_from_the_subject() {
        assert_eq!(common_name("CN=Jane Doe, O=Clinic"), "Jane Doe");
        assert_eq!(common_name("O=Clinic"), "O=Clinic");
    }
}

//! Post-processing of the laid-out PDF with lopdf, where printpdf has no
//! API: the embedded scan data (a PDF file attachment), the document
//! information dictionary, and a deterministic file `/ID` derived from the
//! content (printpdf writes a random one).
//!
//! Owns the bytes of the unsigned document and what the signature update
//! needs to know about it. Must not import `content` or `layout`.

use lopdf::{Dictionary, Document, Object, ObjectId, Stream, StringFormat};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("the laid-out PDF has no {0}: this is a bug in pgSafeguard")]
    Missing(&'static str),
    #[error("cannot serialise the PDF: {0}")]
    Write(String),
}

/// A file to embed.
pub struct Attachment<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub mime: &'a str,
    pub bytes: &'a [u8],
}

/// The document information dictionary.
pub struct DocumentInfo {
    pub title: String,
    pub author: String,
    pub subject: String,
    pub keywords: String,
    pub creator: String,
    pub created: OffsetDateTime,
}

/// The finished, unsigned PDF, and the objects the signature update rewrites.
#[derive(Debug, Clone)]
pub struct UnsignedPdf {
    pub bytes: Vec<u8>,
    pub(crate) catalog_id: ObjectId,
    pub(crate) catalog: Dictionary,
    pub(crate) first_page_id: ObjectId,
    pub(crate) first_page: Dictionary,
    pub(crate) info_id: ObjectId,
    pub(crate) file_id: Vec<u8>,
    /// The first unused object number.
    pub(crate) next_object: u32,
    /// Offset of the cross-reference table.
    pub(crate) startxref: usize,
}

/// Placeholder written where the file ID goes, replaced after hashing.
const ID_PLACEHOLDER: [u8; 16] = [0xA5; 16];

/// `D:YYYYMMDDHHmmSS+00'00'`
pub fn pdf_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}+00'00'",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Add the attachment and metadata, compress, and serialise with an ID
/// derived from the bytes themselves.
pub fn finish(
    mut doc: Document,
    attachment: &Attachment<'_>,
    info: &DocumentInfo,
) -> Result<UnsignedPdf, AttachError> {
    doc.version = "1.7".to_string();
    let catalog_id = doc
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|_| AttachError::Missing("catalog"))?;
    let info_id = doc.add_object(info_dictionary(info));
    let filespec_id = embed(&mut doc, attachment, info.created);
    {
        let catalog = doc
            .get_dictionary_mut(catalog_id)
            .map_err(|_| AttachError::Missing("catalog"))?;
        let names = Dictionary::from_iter(vec![(
            "EmbeddedFiles",
            Object::Dictionary(Dictionary::from_iter(vec![(
                "Names",
                Object::Array(vec![
                    Object::String(attachment.name.as_bytes().to_vec(), StringFormat::Literal),
                    Object::Reference(filespec_id),
                ]),
            )])),
        )]);
        catalog.set("Names", Object::Dictionary(names));
        catalog.set("AF", Object::Array(vec![Object::Reference(filespec_id)]));
    }
    doc.trailer.set("Info", Object::Reference(info_id));
    let placeholder = Object::String(ID_PLACEHOLDER.to_vec(), StringFormat::Hexadecimal);
    doc.trailer
        .set("ID", Object::Array(vec![placeholder.clone(), placeholder]));
    doc.compress();
    // Objects printpdf left unreferenced (its old Info dictionary) go away.
    doc.prune_objects();

    let mut bytes = Vec::new();
    doc.save_to(&mut bytes)
        .map_err(|e| AttachError::Write(e.to_string()))?;
    let file_id = Sha256::digest(&bytes)[..16].to_vec();
    replace_id(&mut bytes, &file_id)?;

    let first_page_id = *doc
        .get_pages()
        .get(&1)
        .ok_or(AttachError::Missing("first page"))?;
    let first_page = doc
        .get_dictionary(first_page_id)
        .map_err(|_| AttachError::Missing("first page"))?
        .clone();
    let catalog = doc
        .get_dictionary(catalog_id)
        .map_err(|_| AttachError::Missing("catalog"))?
        .clone();
    let startxref = last_startxref(&bytes).ok_or(AttachError::Missing("startxref"))?;
    Ok(UnsignedPdf {
        bytes,
        catalog_id,
        catalog,
        first_page_id,
        first_page,
        info_id,
        file_id,
        next_object: doc.max_id + 1,
        startxref,
    })
}

fn info_dictionary(info: &DocumentInfo) -> Dictionary {
    let date = Object::String(pdf_date(info.created).into_bytes(), StringFormat::Literal);
    Dictionary::from_iter(vec![
        ("Title", lopdf::text_string(&info.title)),
        ("Author", lopdf::text_string(&info.author)),
        ("Subject", lopdf::text_string(&info.subject)),
        ("Keywords", lopdf::text_string(&info.keywords)),
        ("Creator", lopdf::text_string(&info.creator)),
        ("Producer", lopdf::text_string(&info.creator)),
        ("CreationDate", date.clone()),
        ("ModDate", date),
    ])
}

/// The embedded file stream and its file specification; returns the latter.
fn embed(doc: &mut Document, attachment: &Attachment<'_>, created: OffsetDateTime) -> ObjectId {
    let date = Object::String(pdf_date(created).into_bytes(), StringFormat::Literal);
    let params = Dictionary::from_iter(vec![
        ("Size", Object::Integer(attachment.bytes.len() as i64)),
        ("CreationDate", date.clone()),
        ("ModDate", date),
    ]);
    let stream_dict = Dictionary::from_iter(vec![
        ("Type", Object::Name(b"EmbeddedFile".to_vec())),
        ("Subtype", Object::Name(attachment.mime.as_bytes().to_vec())),
        ("Params", Object::Dictionary(params)),
    ]);
    let stream_id = doc.add_object(Stream::new(stream_dict, attachment.bytes.to_vec()));
    let ef = Dictionary::from_iter(vec![
        ("F", Object::Reference(stream_id)),
        ("UF", Object::Reference(stream_id)),
    ]);
    let filespec = Dictionary::from_iter(vec![
        ("Type", Object::Name(b"Filespec".to_vec())),
        (
            "F",
            Object::String(attachment.name.as_bytes().to_vec(), StringFormat::Literal),
        ),
        ("UF", lopdf::text_string(attachment.name)),
        ("Desc", lopdf::text_string(attachment.description)),
        ("AFRelationship", Object::Name(b"Data".to_vec())),
        ("EF", Object::Dictionary(ef)),
    ]);
    doc.add_object(filespec)
}

/// Replace the two placeholder IDs in the trailer (the last ones in the file).
fn replace_id(bytes: &mut [u8], id: &[u8]) -> Result<(), AttachError> {
    let placeholder = hex::encode_upper(ID_PLACEHOLDER);
    let value = hex::encode_upper(id);
    let trailer = rfind(bytes, b"trailer").ok_or(AttachError::Missing("trailer"))?;
    let mut replaced = 0;
    let mut from = trailer;
    while let Some(pos) = find(&bytes[from..], placeholder.as_bytes()) {
        let at = from + pos;
        bytes[at..at + value.len()].copy_from_slice(value.as_bytes());
        from = at + value.len();
        replaced += 1;
    }
    if replaced == 2 {
        Ok(())
    } else {
        Err(AttachError::Missing("file identifier"))
    }
}

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub(crate) fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// The offset after the last `startxref` keyword.
pub(crate) fn last_startxref(bytes: &[u8]) -> Option<usize> {
    let tail_start = bytes.len().saturating_sub(1024);
    let pos = rfind(&bytes[tail_start..], b"startxref")? + tail_start;
    let rest = std::str::from_utf8(&bytes[pos + 9..]).ok()?;
    rest.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_dates_are_utc() {
        let t = time::macros::datetime!(2026-11-27 10:00:05 UTC);
        assert_eq!(pdf_date(t), "D:20261127100005+00'00'");
    }

    #[test]
    fn startxref_is_read_from_the_tail() {
        let bytes = b"%PDF-1.7\n...\nstartxref\n1234\n%%EOF";
        assert_eq!(last_startxref(bytes), Some(1234));
    }
}

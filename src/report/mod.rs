//! The signed PDF evidence report, and its verification.
//!
//! # Pipeline
//!
//! ```text
//! ScanReport ─► content (chapters) ─► layout (pages) ─► printpdf ─► lopdf:
//!     attach (embedded JSON, metadata, deterministic /ID) ─► sign (incremental
//!     update, CMS detached signature) ─► [timestamp: RFC 3161 token over the
//!     signature value, in the signature's unsigned attributes] ─► bytes
//! ```
//!
//! Everything before `sign` is deterministic: the same scan, creation time
//! and signer give byte-identical unsigned PDFs ([`build_unsigned_report`]).
//! The signature appends an incremental update, so the unsigned bytes are a
//! prefix of the signed file.
//!
//! Owns the report format; reads the scan result and never talks to the
//! database server (the only network use is the TSA URL the user gives, in
//! `timestamp::request`). Must not import `db` or `ui`.
//!
//! # Example
//!
//! ```no_run
//! # fn demo(report: pgsafeguard::output::ScanReport) -> Result<(), Box<dyn std::error::Error>> {
//! use pgsafeguard::report::{build_signed_report, verify_pdf, ReportInput, SigningIdentity};
//! let (identity, _created) = SigningIdentity::load_or_create_default()?;
//! let input = ReportInput::new(report);
//! let pdf = build_signed_report(&input, &identity)?;
//! let outcome = verify_pdf(&pdf, Some(&identity.fingerprint_sha256()))?;
//! assert_eq!(outcome.signer_fingerprint, identity.fingerprint_sha256());
//! # Ok(()) }
//! ```

mod anchor;
mod attach;
pub mod changes;
mod content;
mod doc;
mod drift_tables;
pub mod drill;
mod evidence;
mod identity;
mod layout;
mod palette;
pub mod period;
mod sign;
mod timestamp;
mod verify;

pub use anchor::{read_chain_head, AnchorError};
pub use attach::AttachError;
pub use evidence::StoreHead;
pub use identity::{IdentityError, SigningIdentity, DEFAULT_IDENTITY_FILE};
pub use layout::LayoutError;
pub use sign::{SignError, SUB_FILTER};
pub use timestamp::{
    TimestampError, TimestampInfo, TimestampOutcome, TrustedCa, TsaConfig, DEFAULT_TIMEOUT,
};
pub use verify::{
    normalise_fingerprint, verify_pdf, verify_pdf_trusting, VerifyError, VerifyOutcome,
};

use crate::model::changelog::ChangeLogEntry;
use crate::output::ScanReport;
use changes::Comparison;
use printpdf::{PageAnnotId, PageAnnotation, PdfDocument, PdfSaveOptions};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use time::OffsetDateTime;

/// File name of the embedded scan data.
pub const ATTACHMENT_NAME: &str = "pgsafeguard-scan.json";

/// Everything a report is made from, besides the signer.
#[derive(Debug, Clone)]
pub struct ReportInput {
    /// The scan result; its JSON (`to_json`) is embedded verbatim.
    pub report: ScanReport,
    /// Shown on the cover and in the running header.
    pub organisation: Option<String>,
    /// Who ran the session.
    pub operator: Option<String>,
    /// Fixes applied during the session (the session file's change log).
    pub change_log: Vec<ChangeLogEntry>,
    /// Marks every page "DEMO — not evidence" (training sessions).
    pub demo: bool,
    /// The evidence store the scan was recorded in and its chain head
    /// afterwards; `None`: not recorded (the cover says so).
    pub evidence_store: Option<StoreHead>,
    /// The previous scan of the same target and what changed since.
    pub comparison: Comparison,
}

impl ReportInput {
    pub fn new(report: ScanReport) -> ReportInput {
        ReportInput {
            report,
            organisation: None,
            operator: None,
            change_log: Vec::new(),
            demo: false,
            evidence_store: None,
            comparison: Comparison::NotRecorded,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    Attach(#[from] AttachError),
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// Who signs, as printed on the cover and in the appendix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerSummary {
    pub subject: String,
    pub fingerprint_sha256: String,
}

impl From<&SigningIdentity> for SignerSummary {
    fn from(identity: &SigningIdentity) -> Self {
        SignerSummary {
            subject: identity.subject(),
            fingerprint_sha256: identity.fingerprint_sha256(),
        }
    }
}

/// Build and sign the report now.
pub fn build_signed_report(
    input: &ReportInput,
    identity: &SigningIdentity,
) -> Result<Vec<u8>, ReportError> {
    build_signed_report_at(input, identity, now_utc_seconds())
}

/// Build and sign the report with a given creation and signing time.
pub fn build_signed_report_at(
    input: &ReportInput,
    identity: &SigningIdentity,
    at: OffsetDateTime,
) -> Result<Vec<u8>, ReportError> {
    Ok(build_signed_report_with(input, identity, at, None)?.pdf)
}

/// A signed report and what became of its timestamp.
#[derive(Debug)]
pub struct SignedReport {
    pub pdf: Vec<u8>,
    pub timestamp: TimestampOutcome,
}

/// Build and sign the report, timestamped by `tsa` when one is given.
///
/// # Behavior
///
/// A timestamp that cannot be had (TSA down, HTTP error, refusal, a token
/// that fails a check) does not fail the report: it is signed without one,
/// its cover says "not timestamped", and [`SignedReport::timestamp`] says
/// why. Only a failure to sign at all is an error.
pub fn build_signed_report_with(
    input: &ReportInput,
    identity: &SigningIdentity,
    at: OffsetDateTime,
    tsa: Option<&TsaConfig>,
) -> Result<SignedReport, ReportError> {
    let signer = SignerSummary::from(identity);
    sign_timestamped(
        |stamped_by| build_unsigned(input, &signer, at, stamped_by),
        identity,
        at,
        tsa,
    )
}

/// Sign what `build` makes, timestamped when `tsa` is given. `build` is told
/// the TSA the cover names; when no timestamp could be had the report is
/// built again saying "not timestamped", so the cover never claims one the
/// signature lacks.
fn sign_timestamped(
    build: impl Fn(Option<&str>) -> Result<attach::UnsignedPdf, ReportError>,
    identity: &SigningIdentity,
    at: OffsetDateTime,
    tsa: Option<&TsaConfig>,
) -> Result<SignedReport, ReportError> {
    let Some(tsa) = tsa else {
        let pdf = sign::sign_pdf(&build(None)?, identity, at)?;
        return Ok(SignedReport {
            pdf,
            timestamp: TimestampOutcome::NotRequested,
        });
    };
    match timestamp::stamp_or_explain(&build(Some(tsa.url()))?, identity, at, tsa)? {
        Ok((pdf, info)) => Ok(SignedReport {
            pdf,
            timestamp: TimestampOutcome::Stamped(info),
        }),
        Err(why) => Ok(SignedReport {
            pdf: sign::sign_pdf(&build(None)?, identity, at)?,
            timestamp: TimestampOutcome::Failed(why),
        }),
    }
}

/// The complete report before the signature update: a valid PDF on its own,
/// and a prefix of the signed file. Deterministic.
pub fn build_unsigned_report(
    input: &ReportInput,
    signer: &SignerSummary,
    at: OffsetDateTime,
) -> Result<Vec<u8>, ReportError> {
    Ok(build_unsigned(input, signer, at, None)?.bytes)
}

fn build_unsigned(
    input: &ReportInput,
    signer: &SignerSummary,
    at: OffsetDateTime,
    stamped_by: Option<&str>,
) -> Result<attach::UnsignedPdf, ReportError> {
    let fonts = fonts()?;
    let json = evidence::scan_json(input);
    let mut ctx = context(signer, at, &json, ATTACHMENT_NAME);
    ctx.timestamp_authority = stamped_by.map(str::to_string);
    let composed = content::compose(fonts, input, &ctx);
    let t = &input.report.target;
    let info = attach::DocumentInfo {
        title: document_title(input),
        author: input
            .operator
            .clone()
            .or_else(|| input.organisation.clone())
            .unwrap_or_default(),
        subject: format!(
            "HIPAA hardening evidence for PostgreSQL {}:{}/{}, scanned {}",
            t.host, t.port, t.dbname, input.report.collected_at
        ),
        keywords: "HIPAA, PostgreSQL, evidence, pgSafeguard".to_string(),
        creator: format!("pgSafeguard {}", env!("CARGO_PKG_VERSION")),
        created: at,
    };
    let attachment = attach::Attachment {
        name: ATTACHMENT_NAME,
        description: "Complete scan result (pgsafeguard.scan/1)",
        mime: "application/json",
        bytes: json.as_bytes(),
    };
    package(fonts, composed, &info, &attachment)
}

/// What the pages say about the report itself.
fn context(
    signer: &SignerSummary,
    at: OffsetDateTime,
    json: &str,
    attachment_name: &str,
) -> doc::Context {
    doc::Context {
        signer_subject: signer.subject.clone(),
        signer_fingerprint: signer.fingerprint_sha256.clone(),
        created_at: doc::human_time(&rfc3339(at)),
        json_sha256: hex::encode(Sha256::digest(json.as_bytes())),
        json_len: json.len(),
        attachment_name: attachment_name.to_string(),
        timestamp_authority: None,
    }
}

/// Laid-out pages to an unsigned PDF with bookmarks, metadata and the
/// embedded data: what every report kind shares.
fn package(
    fonts: &layout::FontSet,
    composed: doc::Composed,
    info: &attach::DocumentInfo,
    attachment: &attach::Attachment<'_>,
) -> Result<attach::UnsignedPdf, ReportError> {
    let mut doc = PdfDocument::new(&info.title);
    fonts.register(&mut doc);
    doc.pages = layout::into_pdf_pages(composed.pages);
    for (index, (name, page)) in composed.bookmarks.iter().enumerate() {
        // Fixed ids keep the output deterministic (printpdf's are random).
        doc.bookmarks.map.insert(
            PageAnnotId(format!("b{index:04}")),
            PageAnnotation {
                name: name.clone(),
                page: *page,
            },
        );
    }
    let options = PdfSaveOptions {
        optimize: true,
        subset_fonts: true,
        secure: true,
        image_optimization: None,
    };
    let lopdf_doc = printpdf::to_lopdf_doc(&doc, &options, &mut Vec::new());
    Ok(attach::finish(lopdf_doc, attachment, info)?)
}

fn document_title(input: &ReportInput) -> String {
    let t = &input.report.target;
    let demo = if input.demo { "DEMO — " } else { "" };
    format!(
        "{demo}HIPAA evidence report — {}:{}/{}",
        t.host, t.port, t.dbname
    )
}

/// The fonts are parsed once per process.
fn fonts() -> Result<&'static layout::FontSet, LayoutError> {
    static FONTS: OnceLock<Result<layout::FontSet, String>> = OnceLock::new();
    FONTS
        .get_or_init(|| layout::FontSet::load().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|_| LayoutError::Font("DejaVu"))
}

fn now_utc_seconds() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

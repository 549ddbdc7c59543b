//! Reading the chain head back out of a signed report, for
//! `pgsafeguard history verify --anchor report.pdf`.
//!
//! The head is trusted only as far as the report is: the file is verified
//! first (signature valid, covering the whole file, embedded data matching
//! the digest the appendix states; see [`super::verify`]), and only then is
//! the head read from the embedded data. Anyone can write a PDF that claims
//! a head; only a signed, unaltered report anchors one.

use super::verify::{verify_pdf, VerifyError};
use crate::store::record::ChainHead;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error("cannot read {file}: {message}")]
    Read { file: String, message: String },
    #[error("{file} cannot anchor the chain: {error}")]
    Invalid { file: String, error: VerifyError },
    #[error(
        "{file} embeds no chain head: it was written without an evidence store (--no-store, or \
         the store could not be opened)"
    )]
    NoHead { file: String },
}

/// The chain head a signed report embeds, after verifying the report.
pub fn read_chain_head(pdf: &Path) -> Result<ChainHead, AnchorError> {
    let file = pdf.display().to_string();
    let bytes = std::fs::read(pdf).map_err(|e| AnchorError::Read {
        file: file.clone(),
        message: e.to_string(),
    })?;
    let outcome = verify_pdf(&bytes, None).map_err(|error| AnchorError::Invalid {
        file: file.clone(),
        error,
    })?;
    outcome
        .evidence_store
        .map(|store| store.head)
        .ok_or(AnchorError::NoHead { file })
}

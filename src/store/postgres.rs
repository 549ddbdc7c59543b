//! The team store on a PostgreSQL server (`--store postgresql://…`).

use super::{EvidenceStore, StoreError};

/// Open the team store named by `conninfo`.
pub fn open(conninfo: &str) -> Result<EvidenceStore, StoreError> {
    let _ = conninfo;
    Err(StoreError::Open {
        location: "the team store".into(),
        message: "not built yet".into(),
    })
}

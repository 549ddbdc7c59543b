//! The export options (issue 22): the Time-Stamping Authority a report is
//! timestamped at, as typed in the export dialog and remembered in the
//! preferences (`Prefs::tsa_url`; empty: not timestamped), and the line the
//! app shows about the timestamp once a report was written.
//!
//! State and wording only; drawn by `timestamp_ui`. Imports `report` (its
//! TSA settings and outcome), nothing else of ours.

use crate::model::untrusted;
use crate::report::{TimestampOutcome, TsaConfig};

/// The open export dialog's draft.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// TSA URL as typed; empty: do not timestamp.
    pub tsa_url: String,
    /// Why the URL was refused, shown under the field.
    pub error: Option<String>,
}

impl ExportOptions {
    /// The dialog as the user left it last time.
    pub fn remembered(tsa_url: &str) -> ExportOptions {
        ExportOptions {
            tsa_url: tsa_url.to_string(),
            error: None,
        }
    }

    /// The TSA to ask (`None`: none given), or why the URL cannot be used.
    pub fn tsa(&self) -> Result<Option<TsaConfig>, String> {
        let url = self.tsa_url.trim();
        if url.is_empty() {
            return Ok(None);
        }
        TsaConfig::new(url)
            .map(Some)
            .map_err(|e| untrusted::one_line(&e.to_string()))
    }
}

/// "timestamped by … at …", "not timestamped", or why not.
pub fn timestamp_note(outcome: &TimestampOutcome) -> String {
    match outcome {
        TimestampOutcome::Stamped(info) => {
            format!("timestamped by {}", untrusted::text(&info.summary()))
        }
        TimestampOutcome::NotRequested => "not timestamped".to_string(),
        TimestampOutcome::Failed(why) => untrusted::one_line(&format!("not timestamped: {why}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_url_means_no_timestamp_and_a_bad_one_is_refused() {
        assert!(ExportOptions::remembered("  ").tsa().unwrap().is_none());
        let tsa = ExportOptions::remembered("http://tsa.example/")
            .tsa()
            .unwrap();
        assert_eq!(tsa.unwrap().url(), "http://tsa.example/");
        let err = ExportOptions::remembered("tsa.example").tsa().unwrap_err();
        assert!(err.contains("http://"), "{err}");
    }
}

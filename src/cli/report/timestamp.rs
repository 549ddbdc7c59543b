//! `report --tsa URL [--tsa-ca FILE] [--require-timestamp]`: the flags, their
//! checks before any work, and what a timestamp that could not be had means
//! for the exit code.
//!
//! # Behavior
//!
//! A TSA that is down, answers with an HTTP error, refuses the request or
//! sends a token that fails a check never loses the report: it is written
//! signed and untimestamped, one line on stderr says why, and the exit code
//! is 0 — or 2 with `--require-timestamp`, the report still kept, so that a
//! later run (or `pgsafeguard verify --require-timestamp`) can tell.

use crate::model::untrusted;
use crate::report::{TimestampOutcome, TrustedCa, TsaConfig};
use anyhow::{bail, Context};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct TimestampArgs {
    /// Timestamp the signature at this RFC 3161 Time-Stamping Authority
    /// (http:// or https:// URL; PAdES B-T)
    #[arg(long, value_name = "URL")]
    pub tsa: Option<String>,
    /// The TSA certificate must chain to this CA (PEM or DER)
    #[arg(long, value_name = "FILE", requires = "tsa")]
    pub tsa_ca: Option<PathBuf>,
    /// Exit 2 when no timestamp could be had (the signed report is still written)
    #[arg(long, requires = "tsa")]
    pub require_timestamp: bool,
}

impl TimestampArgs {
    /// The TSA to ask, checked before any work: a bad URL or CA file is bad input.
    pub fn config(&self) -> anyhow::Result<Option<TsaConfig>> {
        let Some(url) = &self.tsa else {
            return Ok(None);
        };
        let mut config = TsaConfig::new(url).context("--tsa")?;
        if let Some(path) = &self.tsa_ca {
            config = config.trusting(TrustedCa::load(path)?);
        }
        Ok(Some(config))
    }

    /// Report on stderr what became of the timestamp; the exit code.
    pub fn conclude(&self, outcome: &TimestampOutcome) -> anyhow::Result<ExitCode> {
        match outcome {
            TimestampOutcome::NotRequested | TimestampOutcome::Stamped(_) => Ok(ExitCode::SUCCESS),
            TimestampOutcome::Failed(why) => {
                let line = untrusted::one_line(&format!(
                    "the report is signed but not timestamped: {why}"
                ));
                if self.require_timestamp {
                    bail!("{line} (--require-timestamp; the signed report was kept)");
                }
                eprintln!("pgsafeguard: warning: {line}");
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

/// The tail of the "wrote …" line.
pub fn announce_suffix(outcome: &TimestampOutcome) -> String {
    match outcome {
        TimestampOutcome::Stamped(info) => {
            format!(", timestamped by {}", untrusted::text(&info.summary()))
        }
        TimestampOutcome::NotRequested | TimestampOutcome::Failed(_) => ", not timestamped".into(),
    }
}

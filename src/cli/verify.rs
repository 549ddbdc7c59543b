//! `pgsafeguard verify`: check a signed evidence report. Exit 0 valid,
//! 1 invalid or tampered (one line saying what), 2 the file could not be
//! examined.

use super::VerifyArgs;
use crate::model::finding::Status;
use crate::model::untrusted;
use crate::report::{normalise_fingerprint, verify_pdf, VerifyOutcome};
use anyhow::{bail, Context};
use std::process::ExitCode;

pub(super) fn run_verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let shown = args.file.display().to_string();
    if let Some(expected) = &args.expect_fingerprint {
        if normalise_fingerprint(expected).len() != 64 {
            bail!("--expect-fingerprint must be a SHA-256 fingerprint: 64 hex digits (colons allowed)");
        }
    }
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {shown}"))?;
    match verify_pdf(&bytes, args.expect_fingerprint.as_deref()) {
        Ok(outcome) => {
            super::emit(&describe(&shown, &outcome));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.is_error() => Err(anyhow::anyhow!("{shown}: {e}")),
        Err(e) => {
            super::emit(&format!(
                "INVALID: {}\n",
                untrusted::one_line(&format!("{shown}: {e}"))
            ));
            Ok(ExitCode::from(1))
        }
    }
}

fn describe(shown: &str, o: &VerifyOutcome) -> String {
    let mut lines = vec![
        format!(
            "VALID: {shown}: the signature covers the whole file ({} bytes)",
            o.file_len
        ),
        format!("signer: {}", untrusted::text(&o.signer_subject)),
        format!("signer SHA-256: {}", o.signer_fingerprint),
        format!(
            "signed at: {}",
            untrusted::name(o.signing_time.as_deref().unwrap_or("not stated"))
        ),
        format!(
            "signature format: {}",
            untrusted::name(o.sub_filter.as_deref().unwrap_or("not stated"))
        ),
        format!(
            "embedded scan data: {} ({} bytes), SHA-256 {} — matches the appendix",
            untrusted::name(&o.attachment_name),
            o.attachment_len,
            o.attachment_sha256
        ),
    ];
    match &o.scan {
        Some(scan) => {
            let t = &scan.target;
            lines.push(format!(
                "target: {}@{}:{}/{} (PostgreSQL {}), scanned {}",
                untrusted::name(&t.user),
                untrusted::name(&t.host),
                t.port,
                untrusted::name(&t.dbname),
                untrusted::name(t.server_version.as_deref().unwrap_or("?")),
                untrusted::name(&scan.collected_at)
            ));
            let s = &scan.summary;
            let counts: Vec<String> = Status::ALL
                .iter()
                .map(|st| format!("{} {}", s.count(*st), st.as_str()))
                .collect();
            lines.push(format!(
                "summary: {} checks: {}",
                scan.findings.len(),
                counts.join(", ")
            ));
        }
        None => match &o.period {
            Some(p) => lines.push(format!(
                "audit period: {} from {} to {}: {} scans, {} of {} days covered",
                untrusted::text(&p.target.label()),
                untrusted::name(&p.from),
                untrusted::name(&p.to),
                p.scans,
                p.days_covered,
                p.days_in_period
            )),
            None if o.schema.as_deref() == Some(crate::fleet::summary::FLEET_SCHEMA) => {
                lines.push("summary: a fleet report (pgsafeguard.fleet/1)".into())
            }
            None => {
                lines.push("summary: the embedded data is not a scan this version reads".into())
            }
        },
    }
    lines.push(match &o.evidence_store {
        Some(store) => format!(
            "evidence store: chain head {} in {} (check with pgsafeguard history verify --anchor)",
            untrusted::text(&store.head.to_string()),
            untrusted::text(&store.location)
        ),
        None => "evidence store: not recorded".to_string(),
    });
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

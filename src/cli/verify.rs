//! `pgsafeguard verify`: check a signed evidence report. Exit 0 valid,
//! 1 invalid or tampered (one line saying what), 2 the file could not be
//! examined. A trusted timestamp is printed (time, TSA, whether its token
//! matches the signature); `--require-timestamp` makes its absence invalid.

use super::VerifyArgs;
use crate::model::finding::Status;
use crate::model::untrusted;
use crate::report::{normalise_fingerprint, verify_pdf_trusting, TrustedCa, VerifyOutcome};
use anyhow::{bail, Context};
use std::process::ExitCode;

pub(super) fn run_verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let shown = args.file.display().to_string();
    if let Some(expected) = &args.expect_fingerprint {
        if normalise_fingerprint(expected).len() != 64 {
            bail!("--expect-fingerprint must be a SHA-256 fingerprint: 64 hex digits (colons allowed)");
        }
    }
    let tsa_ca = args
        .tsa_ca
        .as_deref()
        .map(TrustedCa::load)
        .transpose()
        .context("--tsa-ca")?;
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {shown}"))?;
    match verify_pdf_trusting(&bytes, args.expect_fingerprint.as_deref(), tsa_ca.as_ref()) {
        Ok(outcome) if args.require_timestamp && outcome.timestamp.is_none() => {
            super::emit(&format!(
                "INVALID: {}: the signature carries no trusted timestamp (--require-timestamp)\n",
                untrusted::one_line(&shown)
            ));
            Ok(ExitCode::from(1))
        }
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
    lines.push(match &o.timestamp {
        Some(t) => format!(
            "timestamp: {} by {} — the token matches the signature",
            untrusted::name(&t.time),
            untrusted::text(&t.tsa_subject)
        ),
        None => "timestamp: not timestamped (the signing time is the signer's own clock)".into(),
    });
    if let Some(t) = &o.timestamp {
        lines.push(format!(
            "timestamp authority: SHA-256 {}, policy {}, serial {}; {}",
            t.tsa_fingerprint,
            untrusted::name(&t.policy),
            t.serial,
            match &t.trusted_by {
                Some(ca) => format!("chains to {}", untrusted::text(ca)),
                None => "not checked against a trusted CA (pass --tsa-ca)".to_string(),
            }
        ));
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

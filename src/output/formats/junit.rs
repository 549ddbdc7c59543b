//! JUnit XML, as CI servers read it: `<testsuites>` with one `<testsuite>`
//! per guide section and one `<testcase>` per check. A failing check carries
//! a `<failure>` with its evidence, an undecided one an `<error>` with the
//! reason and the grant, manual, not applicable and accepted ones `<skipped>`
//! with why ([`status_map`](super::status_map)).
//!
//! CI pages show this text to people, so server strings go through
//! [`untrusted::escape`] (visible escapes for control and bidi characters,
//! which also keeps out the characters XML 1.0 cannot carry at all); the
//! markup itself is escaped by `quick-xml`.
//!
//! Imports `model` and `output`.

use super::status_map::{mapping, JunitOutcome};
use super::{evidence_lines, fix_text, ExportError, ScanReport};
use crate::model::finding::{Finding, Section};
use crate::model::untrusted;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use std::io;

/// The JUnit XML of one scan.
pub fn to_junit(report: &ScanReport) -> Result<String, ExportError> {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let all: Vec<&Finding> = report.findings.iter().collect();
    let totals = Counts::of(&all);
    writer
        .create_element("testsuites")
        .with_attributes(as_refs(&totals.attributes("pgsafeguard")))
        .write_inner_content(|w| {
            for section in Section::ALL {
                let cases: Vec<&Finding> = report
                    .findings
                    .iter()
                    .filter(|f| f.section == section)
                    .collect();
                if !cases.is_empty() {
                    write_suite(w, report, section, &cases)?;
                }
            }
            Ok(())
        })?;
    let mut text = String::from_utf8(writer.into_inner())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    text.push('\n');
    Ok(text)
}

/// How many cases, failures, errors and skipped a suite (or all) holds.
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    fn of(findings: &[&Finding]) -> Counts {
        let count = |outcome| {
            findings
                .iter()
                .filter(|f| mapping(f.status).junit == outcome)
                .count()
        };
        Counts {
            tests: findings.len(),
            failures: count(JunitOutcome::Failure),
            errors: count(JunitOutcome::Error),
            skipped: count(JunitOutcome::Skipped),
        }
    }

    fn attributes(&self, name: &str) -> Vec<(&'static str, String)> {
        vec![
            ("name", name.to_string()),
            ("tests", self.tests.to_string()),
            ("failures", self.failures.to_string()),
            ("errors", self.errors.to_string()),
            ("skipped", self.skipped.to_string()),
            ("time", "0".to_string()),
        ]
    }
}

fn write_suite(
    w: &mut Writer<Vec<u8>>,
    report: &ScanReport,
    section: Section,
    cases: &[&Finding],
) -> io::Result<()> {
    let name = format!("{}. {}", section.number(), section.title());
    let mut attributes = Counts::of(cases).attributes(&name);
    attributes.push(("id", section.id().to_string()));
    attributes.push((
        "hostname",
        untrusted::escape(&report.target.host).into_owned(),
    ));
    let properties = [
        ("target", report.target.shown()),
        (
            "collected_at",
            untrusted::escape(&report.collected_at).into_owned(),
        ),
        (
            "tool",
            format!("{} {}", report.tool.name, report.tool.version),
        ),
    ];
    w.create_element("testsuite")
        .with_attributes(as_refs(&attributes))
        .write_inner_content(|w| {
            w.create_element("properties").write_inner_content(|w| {
                for (name, value) in &properties {
                    w.create_element("property")
                        .with_attributes([("name", *name), ("value", value.as_str())])
                        .write_empty()?;
                }
                Ok(())
            })?;
            for f in cases {
                write_case(w, f)?;
            }
            Ok(())
        })?;
    Ok(())
}

fn as_refs<'a>(attributes: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    attributes.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn write_case(w: &mut Writer<Vec<u8>>, f: &Finding) -> io::Result<()> {
    let name = format!("{} {}", f.id, f.title);
    let classname = format!("pgsafeguard.{}", f.section.id());
    let body = case_body(f);
    let message = untrusted::text(&f.evidence);
    let case = w.create_element("testcase").with_attributes([
        ("name", name.as_str()),
        ("classname", classname.as_str()),
        ("time", "0"),
    ]);
    match mapping(f.status).junit {
        JunitOutcome::Passed => case.write_inner_content(|w| {
            w.create_element("system-out")
                .write_text_content(BytesText::new(&body))?;
            Ok(())
        }),
        JunitOutcome::Failure => case.write_inner_content(|w| {
            w.create_element("failure")
                .with_attributes([("message", message.as_str()), ("type", f.status.as_str())])
                .write_text_content(BytesText::new(&body))?;
            Ok(())
        }),
        JunitOutcome::Error => case.write_inner_content(|w| {
            let reason = untrusted::text(f.reason.as_deref().unwrap_or(&f.evidence));
            w.create_element("error")
                .with_attributes([("message", reason.as_str()), ("type", f.status.as_str())])
                .write_text_content(BytesText::new(&body))?;
            Ok(())
        }),
        JunitOutcome::Skipped => case.write_inner_content(|w| {
            let why = format!("{}: {message}", f.status);
            w.create_element("skipped")
                .with_attribute(("message", why.as_str()))
                .write_empty()?;
            w.create_element("system-out")
                .write_text_content(BytesText::new(&body))?;
            Ok(())
        }),
    }?;
    Ok(())
}

/// The case's text: status and severity, then the evidence lines and the fix,
/// each server string escaped for a person's eyes.
fn case_body(f: &Finding) -> String {
    let mut lines = vec![format!(
        "{} ({}; HIPAA {})",
        f.status,
        f.severity.as_str(),
        f.hipaa.join(", ")
    )];
    lines.extend(
        evidence_lines(f)
            .iter()
            .map(|l| untrusted::escape(l).into_owned()),
    );
    if let Some(fix) = fix_text(f) {
        lines.push(format!("fix: {}", untrusted::escape(&fix)));
    }
    lines.join("\n")
}

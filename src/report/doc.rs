//! What every signed report shares, whichever data it is made from: the text
//! styles, status badges and counts, chapters with bookmarks and a contents
//! page, headings, body text and label/value fields, the running header and
//! footer (with the DEMO marking), and the appendix that says how to verify.
//!
//! The single-scan report ([`super::content`]) and the audit-period report
//! ([`super::period`]) both write through [`Chapters`]. Draws through
//! [`super::layout`]; no I/O, no clock.

use super::evidence::StoreHead;
use super::layout::{
    Align, Color, Composer, Face, PageFrame, Span, Style, TableStyle, CONTENT_BOTTOM, CONTENT_TOP,
    CONTENT_WIDTH, MARGIN_X, PAGE_HEIGHT, PAGE_WIDTH,
};
use super::palette::{
    status_color, ACCENT, CODE_FILL, COVER_SUBTITLE, DEMO_RED, DEMO_WATERMARK, FADED, GROUP_FILL,
    LIGHT, MUTED, NAVY, RULE, TEXT, WHITE,
};
use crate::model::finding::{Status, Summary};
use crate::model::untrusted;

pub(super) const H1: Style = Style::new(Face::Bold, 17.0, NAVY);
pub(super) const H2: Style = Style::new(Face::Bold, 11.5, NAVY);
pub(super) const BODY: Style = Style::new(Face::Regular, 9.0, TEXT);
pub(super) const BODY_BOLD: Style = Style::new(Face::Bold, 9.0, TEXT);
pub(super) const SMALL: Style = Style::new(Face::Regular, 7.5, MUTED);
pub(super) const LABEL: Style = Style::new(Face::Bold, 7.5, MUTED);
pub(super) const VALUE: Style = Style::new(Face::Regular, 8.5, TEXT);
pub(super) const VALUE_MONO: Style = Style::new(Face::Mono, 7.8, TEXT);
pub(super) const CODE: Style = Style::new(Face::Mono, 7.3, TEXT);
pub(super) const CELL: Style = Style::new(Face::Regular, 7.8, TEXT);
pub(super) const CELL_BOLD: Style = Style::new(Face::Bold, 7.8, TEXT);
pub(super) const CELL_MONO: Style = Style::new(Face::Mono, 7.2, TEXT);

/// Facts about the report itself that are not part of the data it reports.
#[derive(Debug, Clone)]
pub struct Context {
    pub signer_subject: String,
    pub signer_fingerprint: String,
    /// UTC, `YYYY-MM-DD HH:MM:SS UTC`.
    pub created_at: String,
    pub json_sha256: String,
    pub json_len: usize,
    pub attachment_name: String,
    /// The TSA asked to timestamp the signature (its URL); `None`: not
    /// timestamped. Set only when the token is in the signature.
    pub timestamp_authority: Option<String>,
}

impl Context {
    /// The cover's "Trusted timestamp" line. The token comes after the page
    /// text is signed, so the time itself is read from the signature.
    pub fn timestamp_line(&self) -> String {
        match &self.timestamp_authority {
            Some(url) => format!(
                "timestamped by {url} at signing (RFC 3161); the authority's own time is in the signature: pgsafeguard verify prints it"
            ),
            None => "not timestamped: the signing time is the signer's own clock".to_string(),
        }
    }
}

/// The laid-out pages and the chapter bookmarks (title, 1-based page).
pub struct Composed {
    pub pages: Vec<Vec<printpdf::Op>>,
    pub bookmarks: Vec<(String, usize)>,
}

pub fn status_label(status: Status) -> &'static str {
    match status {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Warn => "WARN",
        Status::Unknown => "UNKNOWN",
        Status::NotApplicable => "N/A",
        Status::Manual => "MANUAL",
        Status::Attested => "ATTESTED",
        Status::Accepted => "ACCEPTED",
    }
}

pub(super) fn badge(status: Status, size: f32) -> Span {
    Span::new(
        status_label(status),
        Style::new(Face::Bold, size, WHITE).on(status_color(status)),
    )
}

/// A status badge in a table cell, or a faded dash where a check has no status.
pub(super) fn status_cell(status: Option<Status>) -> Vec<Span> {
    match status {
        Some(s) => vec![badge(s, 5.6)],
        None => vec![Span::new("—", Style::new(Face::Regular, 7.0, FADED))],
    }
}

/// The order statuses are listed in everywhere: worst first.
pub(super) const STATUS_ORDER: [Status; 8] = [
    Status::Fail,
    Status::Warn,
    Status::Unknown,
    Status::Manual,
    Status::Pass,
    Status::Attested,
    Status::Accepted,
    Status::NotApplicable,
];

/// `2026-11-27T10:00:00Z` → `2026-11-27 10:00:00 UTC`.
pub fn human_time(rfc3339: &str) -> String {
    let trimmed = rfc3339.trim_end_matches('Z');
    let (date, time) = trimmed.split_once('T').unwrap_or((trimmed, ""));
    let time = time.split('.').next().unwrap_or("");
    if time.is_empty() {
        date.to_string()
    } else {
        format!("{date} {time} UTC")
    }
}

pub(super) fn table_style() -> TableStyle {
    TableStyle {
        header: Style::new(Face::Bold, 7.8, WHITE),
        header_fill: NAVY,
        zebra: Some(LIGHT),
        group_fill: GROUP_FILL,
        rule: RULE,
        pad_x: 5.0,
        pad_y: 3.2,
    }
}

/// "3 fail · 1 warn · 6 pass": non-zero counts, worst first, coloured.
pub(super) fn count_spans(summary: &Summary, size: f32) -> Vec<Span> {
    count_spans_by(|status| summary.count(status), size)
}

/// [`count_spans`] over any count per status.
pub(super) fn count_spans_by(count: impl Fn(Status) -> usize, size: f32) -> Vec<Span> {
    let mut spans = Vec::new();
    for status in STATUS_ORDER {
        let n = count(status);
        if n == 0 {
            continue;
        }
        if !spans.is_empty() {
            spans.push(Span::new(" · ", Style::new(Face::Regular, size, MUTED)));
        }
        // A no-break space keeps each count with its word.
        spans.push(Span::new(
            format!("{n}\u{a0}{}", status_label(status).to_lowercase()),
            Style::new(Face::Bold, size, status_color(status)),
        ));
    }
    spans
}

/// A chapter-structured document: the composer it draws on and the chapter
/// list the contents page is made from.
pub(super) trait Chapters<'f> {
    fn composer(&mut self) -> &mut Composer<'f>;
    /// Chapter titles and their first page, for the contents page.
    fn chapter_list(&mut self) -> &mut Vec<(String, usize)>;

    /// Start a chapter on a new page, with a bookmark and a contents entry.
    fn chapter(&mut self, title: &str, lead: Option<&str>) {
        let c = self.composer();
        c.new_page();
        c.bookmark(title);
        let page = c.page_number();
        c.paragraph(&[Span::new(title, H1)], 0.0, CONTENT_WIDTH);
        c.space(3.0);
        let y = c.y();
        c.rule(MARGIN_X, y, CONTENT_WIDTH, 1.6, ACCENT);
        c.space(10.0);
        if let Some(lead) = lead {
            c.paragraph(&[Span::new(lead, BODY)], 0.0, CONTENT_WIDTH);
            c.space(8.0);
        }
        self.chapter_list().push((title.to_string(), page));
    }

    fn heading(&mut self, text: &str) {
        let c = self.composer();
        c.ensure(60.0);
        c.space(6.0);
        c.paragraph(&[Span::new(text, H2)], 0.0, CONTENT_WIDTH);
        c.space(4.0);
    }

    fn body(&mut self, spans: &[Span]) {
        let c = self.composer();
        c.paragraph(spans, 0.0, CONTENT_WIDTH);
        c.space(5.0);
    }

    /// Label/value rows separated by hairlines.
    fn fields(&mut self, rows: &[(&str, Vec<Span>)]) {
        let c = self.composer();
        for (label, value) in rows {
            c.space(3.0);
            c.labelled(&Span::new(label.to_string(), LABEL), 128.0, value, 0.0);
            c.space(3.0);
            let y = c.y();
            c.rule(MARGIN_X, y, CONTENT_WIDTH, 0.4, RULE);
        }
    }

    /// Fill page 2, left empty after the cover, once page numbers are known.
    fn contents_page(&mut self) {
        let chapters = self.chapter_list().clone();
        self.composer().on_page(2, |c| {
            c.bookmark("Contents");
            c.set_y(CONTENT_TOP);
            c.paragraph(&[Span::new("Contents", H1)], 0.0, CONTENT_WIDTH);
            c.space(3.0);
            let y = c.y();
            c.rule(MARGIN_X, y, CONTENT_WIDTH, 1.6, ACCENT);
            c.space(12.0);
            for (title, page) in &chapters {
                let top = c.y();
                let baseline = top + 13.0;
                c.text_at(
                    MARGIN_X,
                    baseline,
                    &Span::new(title.clone(), Style::new(Face::Regular, 10.0, TEXT)),
                );
                c.aligned_text(
                    MARGIN_X,
                    CONTENT_WIDTH,
                    baseline,
                    &Span::new(page.to_string(), Style::new(Face::Bold, 10.0, NAVY)),
                    Align::Right,
                );
                c.rule(MARGIN_X, top + 19.0, CONTENT_WIDTH, 0.4, RULE);
                c.set_y(top + 20.0);
            }
        });
    }

    /// The embedded data's facts (with the digest `verify` compares), the
    /// signature, and the three ways to check both.
    fn verify_section(&mut self, ctx: &Context, heading: &str, format: &str) {
        self.heading(heading);
        self.fields(&[
            (
                "File name",
                vec![Span::new(ctx.attachment_name.clone(), VALUE_MONO)],
            ),
            ("Format", vec![Span::new(format.to_string(), VALUE)]),
            (
                "Size",
                vec![Span::new(format!("{} bytes", ctx.json_len), VALUE)],
            ),
            (
                super::verify::APPENDIX_DIGEST_LABEL,
                vec![Span::new(ctx.json_sha256.clone(), VALUE_MONO)],
            ),
        ]);
        self.heading("Signature");
        self.fields(&[
            ("Signer", vec![Span::new(untrusted::text(&ctx.signer_subject), VALUE)]),
            ("Signer SHA-256", vec![Span::new(ctx.signer_fingerprint.clone(), VALUE_MONO)]),
            (
                "Format",
                vec![Span::new(
                    "PDF signature (adbe.pkcs7.detached): CMS SignedData, SHA-256, with signing time and the signer certificate",
                    VALUE,
                )],
            ),
        ]);
        self.heading("How to verify");
        let steps: [(&str, String); 3] = [
            (
                "1. Check the signature and the embedded data with pgSafeguard. It reports the signer, the signing \
                 time, whether bytes were changed or appended after signing, and whether the embedded data still \
                 has the digest printed above:",
                format!(
                    "pgsafeguard verify report.pdf \\\n    --expect-fingerprint {}",
                    ctx.signer_fingerprint
                ),
            ),
            (
                "2. Or with any PDF reader that validates signatures, e.g. poppler's pdfsig; it must say the \
                 signature is valid and the total document is signed:",
                "pdfsig report.pdf".to_string(),
            ),
            (
                "3. Extract the embedded data and compare its digest with the one printed above:",
                format!(
                    "pdfdetach -save 1 -o {name} report.pdf && sha256sum {name}",
                    name = ctx.attachment_name
                ),
            ),
        ];
        for (text, command) in steps {
            let c = self.composer();
            c.paragraph(&[Span::new(text, BODY)], 0.0, CONTENT_WIDTH);
            c.space(3.0);
            c.code_block(&command, CODE, 12.0, CODE_FILL, ACCENT);
            c.space(8.0);
        }
        self.body(&[Span::new(
            "A self-signed signer certificate proves that the report was not changed since it was signed by \
             the holder of that key; compare its SHA-256 fingerprint with the one the signer gave you through \
             another channel.",
            SMALL,
        )]);
    }

    /// The chain head this report anchors, and how to check the store against it.
    fn evidence_store_section(&mut self, store: Option<&StoreHead>) {
        self.heading("Evidence store");
        let Some(store) = store else {
            self.body(&[Span::new(
                "Not recorded: this report was made without an evidence store, so it anchors no chain \
                 head.",
                BODY,
            )]);
            return;
        };
        self.fields(&[
            (
                "Store",
                vec![Span::new(untrusted::text(&store.location), VALUE)],
            ),
            (
                "Chain head",
                vec![Span::new(format!("record #{}", store.head.seq), VALUE)],
            ),
            (
                "Chain head SHA-256",
                vec![Span::new(untrusted::name(&store.head.hash), VALUE_MONO)],
            ),
        ]);
        let c = self.composer();
        c.space(6.0);
        c.paragraph(
            &[Span::new(
                "Every record of the store is chained to the one before it by SHA-256. A chain alone cannot \
                 show that its newest records were deleted or that it was rewritten whole; this signed head can. \
                 Check the store against it:",
                BODY,
            )],
            0.0,
            CONTENT_WIDTH,
        );
        c.space(3.0);
        c.code_block(
            "pgsafeguard history verify --store STORE --anchor report.pdf",
            CODE,
            12.0,
            CODE_FILL,
            ACCENT,
        );
        c.space(8.0);
    }
}

/// The cover's one-line account of the evidence store.
pub(super) fn store_cover_line(store: Option<&StoreHead>) -> Vec<Span> {
    match store {
        Some(store) => vec![
            Span::new(format!("chain head {}", store.short()), VALUE_MONO),
            Span::new(format!(" in {}", untrusted::text(&store.location)), VALUE),
        ],
        None => vec![Span::new("not recorded", VALUE)],
    }
}

/// Running header and footer, page numbers and the DEMO marking.
pub(super) struct RunningFrame {
    pub demo: bool,
    /// Left of the header: what the report is (and for whom).
    pub title: String,
    /// Right of the header: what it is about, already cut to fit.
    pub about: String,
    /// The embedded data's SHA-256, the first 16 digits of which every footer shows.
    pub json_sha256: String,
}

impl PageFrame for RunningFrame {
    fn frame(&self, c: &mut Composer<'_>, number: usize, total: usize) {
        if self.demo {
            demo_marking(c);
        }
        if number > 1 {
            let baseline = if self.demo { 42.0 } else { 34.0 };
            c.text_at(
                MARGIN_X,
                baseline,
                &Span::new(self.title.clone(), Style::new(Face::Bold, 7.5, NAVY)),
            );
            c.aligned_text(
                MARGIN_X,
                CONTENT_WIDTH,
                baseline,
                &Span::new(self.about.clone(), Style::new(Face::Regular, 7.5, MUTED)),
                Align::Right,
            );
            c.rule(MARGIN_X, baseline + 6.0, CONTENT_WIDTH, 0.6, RULE);
        }
        let footer_top = CONTENT_BOTTOM + 16.0;
        c.rule(MARGIN_X, footer_top, CONTENT_WIDTH, 0.6, RULE);
        let baseline = footer_top + 13.0;
        c.text_at(
            MARGIN_X,
            baseline,
            &Span::new(
                format!(
                    "Signed report · scan data SHA-256 {}…",
                    self.json_sha256.get(..16).unwrap_or(&self.json_sha256)
                ),
                Style::new(Face::Regular, 7.0, MUTED),
            ),
        );
        c.aligned_text(
            MARGIN_X,
            CONTENT_WIDTH,
            baseline,
            &Span::new(
                format!("Page {number} of {total}"),
                Style::new(Face::Bold, 7.5, NAVY),
            ),
            Align::Right,
        );
    }
}

/// A red band with the words on top, and a pale diagonal watermark behind
/// the content.
fn demo_marking(c: &mut Composer<'_>) {
    c.underlay(|c| {
        c.rotated_text(
            118.0,
            PAGE_HEIGHT - 190.0,
            52.0,
            &Span::new(
                "DEMO — NOT EVIDENCE",
                Style::new(Face::Bold, 54.0, DEMO_WATERMARK),
            ),
        );
    });
    c.fill_rect(0.0, 0.0, PAGE_WIDTH, 18.0, DEMO_RED);
    c.aligned_text(
        0.0,
        PAGE_WIDTH,
        12.5,
        &Span::new(
            "DEMO — not evidence · generated from a training database",
            Style::new(Face::Bold, 8.0, WHITE),
        ),
        Align::Center,
    );
}

/// The navy band at the top of a cover (below the DEMO band when there is
/// one); leaves the cursor under it.
pub(super) fn cover_band(c: &mut Composer<'_>, demo: bool, title: &str, subtitle: &str) {
    let band_top = if demo { 18.0 } else { 0.0 };
    let band_h = 150.0;
    c.fill_rect(0.0, band_top, PAGE_WIDTH, band_h, NAVY);
    let white = |size, face| Style::new(face, size, WHITE);
    c.text_at(
        MARGIN_X,
        band_top + 52.0,
        &Span::new("HIPAA DATABASE HARDENING", white(9.5, Face::Bold)),
    );
    c.text_at(
        MARGIN_X,
        band_top + 86.0,
        &Span::new(title, white(28.0, Face::Bold)),
    );
    c.text_at(
        MARGIN_X,
        band_top + 112.0,
        &Span::new(subtitle, Style::new(Face::Regular, 10.5, COVER_SUBTITLE)),
    );
    c.set_y(band_top + band_h + 26.0);
}

/// The organisation's name in large type, or a plain statement that none was given.
pub(super) fn cover_organisation(c: &mut Composer<'_>, organisation: Option<&str>) {
    let organisation = organisation
        .filter(|o| !o.trim().is_empty())
        .unwrap_or("Organisation not stated");
    c.paragraph(
        &[Span::new(organisation, Style::new(Face::Bold, 15.0, TEXT))],
        0.0,
        CONTENT_WIDTH,
    );
}

/// One tile of a cover's row: a large value over a small label.
pub(super) struct Tile {
    pub value: String,
    pub label: String,
    /// The strip along the tile's top.
    pub accent: Color,
    pub value_color: Color,
}

/// A row of equal tiles across the content width; leaves the cursor under it.
pub(super) fn tiles_row(c: &mut Composer<'_>, tiles: &[Tile]) {
    let gap = 5.0;
    let n = tiles.len().max(1) as f32;
    let width = (CONTENT_WIDTH - gap * (n - 1.0)) / n;
    let height = 46.0;
    let top = c.y();
    for (i, tile) in tiles.iter().enumerate() {
        let x = MARGIN_X + i as f32 * (width + gap);
        c.fill_rect(x, top, width, height, LIGHT);
        c.fill_rect(x, top, width, 3.0, tile.accent);
        c.aligned_text(
            x,
            width,
            top + 27.0,
            &Span::new(
                tile.value.clone(),
                Style::new(Face::Bold, 17.0, tile.value_color),
            ),
            Align::Center,
        );
        c.aligned_text(
            x,
            width,
            top + 39.0,
            &Span::new(tile.label.clone(), Style::new(Face::Bold, 6.5, MUTED)),
            Align::Center,
        );
    }
    c.set_y(top + height);
}

/// " · Riverside Clinic" when an organisation is named.
pub(super) fn organisation_suffix(organisation: Option<&str>) -> String {
    organisation
        .filter(|o| !o.trim().is_empty())
        .map(|o| format!(" · {o}"))
        .unwrap_or_default()
}

/// One line of plain spaces cut to `limit` characters: a long name must not
/// run into the title on the left of the header.
pub(super) fn cut_to(text: &str, limit: usize) -> String {
    // One line of plain spaces: a run of spaces would read as a column gap.
    let line = untrusted::one_line(text);
    if line.chars().count() <= limit {
        return line;
    }
    let kept: String = line.chars().take(limit.saturating_sub(1)).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_time_drops_fractions() {
        assert_eq!(
            human_time("2026-11-27T10:00:00.123Z"),
            "2026-11-27 10:00:00 UTC"
        );
    }

    #[test]
    fn long_header_text_is_cut() {
        assert_eq!(cut_to("abc", 5), "abc");
        assert_eq!(cut_to("abcdefgh", 5), "abcd…");
    }
}

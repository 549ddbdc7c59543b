//! Page layout for the evidence report: fonts and text measurement, line
//! wrapping, paragraphs, tables and code blocks that flow over A4 pages, and
//! the page frame (headers, footers, page numbers) drawn once the page count
//! is known.
//!
//! Owns geometry only; it knows nothing about findings or HIPAA (that is
//! `content`). Output is a list of printpdf operations per page. Nothing here
//! is random: resource names are fixed so the same content gives the same
//! bytes.

use printpdf::{FontId, Op, ParsedFont, PdfFontHandle, Pt, Rect, TextItem, TextMatrix};

/// A4 in points.
pub const PAGE_WIDTH: f32 = 595.28;
pub const PAGE_HEIGHT: f32 = 841.89;
pub const MARGIN_X: f32 = 54.0;
/// Where body content starts, from the top edge (below the running header).
pub const CONTENT_TOP: f32 = 72.0;
/// Where body content must end, from the top edge (above the footer).
pub const CONTENT_BOTTOM: f32 = PAGE_HEIGHT - 58.0;
pub const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN_X;

/// Line height as a multiple of the font size.
const LEADING: f32 = 1.32;
/// Horizontal padding inside a span that has a background (badges).
const BADGE_PAD: f32 = 4.0;
/// Gap kept outside a badge's box, within its padding.
const BADGE_GAP: f32 = 1.5;

const FONT_REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FONT_BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");
const FONT_MONO: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono.ttf");
const FONT_MONO_BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono-Bold.ttf");

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("cannot load the embedded font {0}: the program was built from damaged assets")]
    Font(&'static str),
}

/// An RGB colour, components 0–1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Color(pub f32, pub f32, pub f32);

impl Color {
    pub const fn hex(rgb: u32) -> Color {
        Color(
            ((rgb >> 16) & 0xff) as f32 / 255.0,
            ((rgb >> 8) & 0xff) as f32 / 255.0,
            (rgb & 0xff) as f32 / 255.0,
        )
    }

    fn to_pdf(self) -> printpdf::Color {
        printpdf::Color::Rgb(printpdf::Rgb {
            r: self.0,
            g: self.1,
            b: self.2,
            icc_profile: None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    Regular,
    Bold,
    Mono,
    MonoBold,
}

impl Face {
    const ALL: [Face; 4] = [Face::Regular, Face::Bold, Face::Mono, Face::MonoBold];

    fn index(self) -> usize {
        self as usize
    }

    /// Resource name; also the six-letter subset tag printpdf derives from it.
    fn resource_name(self) -> &'static str {
        match self {
            Face::Regular => "DJVSAN",
            Face::Bold => "DJVSBD",
            Face::Mono => "DJVMON",
            Face::MonoBold => "DJVMBD",
        }
    }

    fn bytes(self) -> &'static [u8] {
        match self {
            Face::Regular => FONT_REGULAR,
            Face::Bold => FONT_BOLD,
            Face::Mono => FONT_MONO,
            Face::MonoBold => FONT_MONO_BOLD,
        }
    }
}

/// How a piece of text looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Style {
    pub face: Face,
    pub size: f32,
    pub color: Color,
    /// A filled box behind the text (status badges).
    pub background: Option<Color>,
}

impl Style {
    pub const fn new(face: Face, size: f32, color: Color) -> Style {
        Style {
            face,
            size,
            color,
            background: None,
        }
    }

    pub const fn on(mut self, background: Color) -> Style {
        self.background = Some(background);
        self
    }

    pub fn line_height(&self) -> f32 {
        self.size * LEADING
    }
}

/// Text in one style.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub text: String,
    pub style: Style,
}

impl Span {
    /// A run of text in one style. Server strings are escaped where the report
    /// quotes them; as a last guard, any control, bidirectional or invisible
    /// character other than our own line breaks is shown escaped here too, so
    /// none reaches the PDF's text.
    pub fn new(text: impl Into<String>, style: Style) -> Span {
        let text = text.into();
        let text = match crate::model::untrusted::terminal(&text) {
            std::borrow::Cow::Borrowed(_) => text,
            std::borrow::Cow::Owned(escaped) => escaped,
        };
        Span { text, style }
    }
}

/// One face, parsed once, with its advance widths for quick measuring.
struct LoadedFace {
    id: FontId,
    font: ParsedFont,
    units_per_em: f32,
    ascii_advance: [u16; 128],
}

impl LoadedFace {
    fn load(face: Face) -> Result<LoadedFace, LayoutError> {
        let font = ParsedFont::from_bytes(face.bytes(), 0, &mut Vec::new())
            .ok_or(LayoutError::Font(face.resource_name()))?;
        let units_per_em = f32::from(font.pdf_font_metrics.units_per_em.max(1));
        let mut ascii_advance = [0u16; 128];
        for (code, slot) in ascii_advance.iter_mut().enumerate() {
            *slot = advance_of(&font, code as u32);
        }
        Ok(LoadedFace {
            id: FontId(face.resource_name().to_string()),
            font,
            units_per_em,
            ascii_advance,
        })
    }

    fn advance(&self, ch: char) -> u16 {
        match self.ascii_advance.get(ch as usize) {
            Some(a) => *a,
            None => advance_of(&self.font, ch as u32),
        }
    }
}

fn advance_of(font: &ParsedFont, codepoint: u32) -> u16 {
    let gid = font.lookup_glyph_index(codepoint).unwrap_or(0);
    font.get_horizontal_advance(gid)
}

/// The four embedded faces.
pub struct FontSet {
    faces: Vec<LoadedFace>,
}

impl FontSet {
    pub fn load() -> Result<FontSet, LayoutError> {
        let faces = Face::ALL
            .iter()
            .map(|f| LoadedFace::load(*f))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FontSet { faces })
    }

    fn face(&self, face: Face) -> &LoadedFace {
        &self.faces[face.index()]
    }

    /// Width of `text` in points.
    pub fn width(&self, text: &str, face: Face, size: f32) -> f32 {
        let loaded = self.face(face);
        let units: u32 = text.chars().map(|c| u32::from(loaded.advance(c))).sum();
        units as f32 * size / loaded.units_per_em
    }

    fn span_width(&self, text: &str, style: &Style) -> f32 {
        let pad = if style.background.is_some() {
            2.0 * BADGE_PAD
        } else {
            0.0
        };
        self.width(text, style.face, style.size) + pad
    }

    /// The fonts as printpdf resources, under their fixed names.
    pub fn register(&self, doc: &mut printpdf::PdfDocument) {
        for loaded in &self.faces {
            doc.resources.fonts.map.insert(
                loaded.id.clone(),
                printpdf::PdfFont::new(loaded.font.clone()),
            );
        }
    }
}

/// A piece of a wrapped line, at `x` from the line start.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub x: f32,
    pub width: f32,
    pub span: Span,
}

/// One wrapped line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Line {
    pub items: Vec<Placed>,
    pub width: f32,
    pub height: f32,
}

impl Line {
    fn push(&mut self, fonts: &FontSet, text: &str, style: Style) {
        if text.is_empty() {
            return;
        }
        let width = fonts.span_width(text, &style);
        // Same style continuing: extend the previous piece.
        if let Some(last) = self.items.last_mut() {
            if last.span.style == style && style.background.is_none() {
                last.span.text.push_str(text);
                last.width = fonts.span_width(&last.span.text, &style);
                self.width = last.x + last.width;
                self.height = self.height.max(style.line_height());
                return;
            }
        }
        self.items.push(Placed {
            x: self.width,
            width,
            span: Span::new(text, style),
        });
        self.width += width;
        self.height = self.height.max(style.line_height());
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// A word: pieces glued together (no break opportunity inside).
struct Word<'a> {
    pieces: Vec<(&'a str, Style)>,
    /// Style of the space before it, if there is one.
    space_before: Option<Style>,
    /// A forced line break before this word.
    break_before: bool,
}

fn split_words(spans: &[Span]) -> Vec<Word<'_>> {
    let mut words: Vec<Word<'_>> = Vec::new();
    let mut pending_space: Option<Style> = None;
    let mut pending_break = false;
    let mut glue = false;
    for span in spans {
        let style = span.style;
        // Badges are never broken, and stay with the word they touch.
        if style.background.is_some() {
            let joins = glue && pending_space.is_none() && !pending_break;
            match words.last_mut() {
                Some(word) if joins => word.pieces.push((span.text.as_str(), style)),
                _ => words.push(Word {
                    pieces: vec![(span.text.as_str(), style)],
                    space_before: pending_space.take(),
                    break_before: std::mem::take(&mut pending_break),
                }),
            }
            glue = true;
            continue;
        }
        let mut rest = span.text.as_str();
        while !rest.is_empty() {
            let ch = rest.chars().next().unwrap_or(' ');
            if ch == '\n' {
                pending_break = true;
                pending_space = None;
                glue = false;
                rest = &rest[1..];
            } else if ch == ' ' || ch == '\t' {
                if !pending_break {
                    pending_space = Some(style);
                }
                glue = false;
                rest = &rest[ch.len_utf8()..];
            } else {
                let end = rest.find([' ', '\t', '\n']).unwrap_or(rest.len());
                let piece = &rest[..end];
                let joins = glue && pending_space.is_none() && !pending_break;
                // A word that could pass for a status marker never starts a
                // wrapped line: it stays with the word before it (a server
                // string may carry "[PASS   ] TLS-001 …").
                let marker = !pending_break
                    && !words.is_empty()
                    && crate::model::untrusted::looks_like_marker(piece);
                match words.last_mut() {
                    Some(word) if joins => word.pieces.push((piece, style)),
                    Some(word) if marker => {
                        let space = pending_space.take().unwrap_or(style);
                        word.pieces.push((
                            " ",
                            Style {
                                background: None,
                                ..space
                            },
                        ));
                        word.pieces.push((piece, style));
                    }
                    _ => words.push(Word {
                        pieces: vec![(piece, style)],
                        space_before: pending_space.take(),
                        break_before: std::mem::take(&mut pending_break),
                    }),
                }
                glue = true;
                rest = &rest[end..];
            }
        }
    }
    words
}

/// Greedy line breaking at spaces; a word longer than the line is broken
/// between characters so nothing ever runs past the margin.
pub fn wrap(fonts: &FontSet, spans: &[Span], max_width: f32) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut line = Line::default();
    for word in split_words(spans) {
        if word.break_before {
            lines.push(std::mem::take(&mut line));
        }
        let word_width: f32 = word
            .pieces
            .iter()
            .map(|(t, s)| fonts.span_width(t, s))
            .sum();
        let space = match (&word.space_before, line.is_empty()) {
            (Some(style), false) => fonts.width(" ", style.face, style.size),
            _ => 0.0,
        };
        if !line.is_empty() && line.width + space + word_width > max_width {
            lines.push(std::mem::take(&mut line));
        } else if let (Some(style), false) = (word.space_before, line.is_empty()) {
            line.push(
                fonts,
                " ",
                Style {
                    background: None,
                    ..style
                },
            );
        }
        if word_width <= max_width {
            for (text, style) in &word.pieces {
                line.push(fonts, text, *style);
            }
        } else {
            break_long_word(fonts, &word.pieces, max_width, &mut line, &mut lines);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    // Empty lines (blank lines, empty text) still take the text's height.
    let default_height = spans.first().map(|s| s.style.line_height()).unwrap_or(10.0);
    for l in &mut lines {
        if l.height == 0.0 {
            l.height = default_height;
        }
    }
    lines
}

fn break_long_word(
    fonts: &FontSet,
    pieces: &[(&str, Style)],
    max_width: f32,
    line: &mut Line,
    lines: &mut Vec<Line>,
) {
    for (text, style) in pieces {
        let mut chunk = String::new();
        for ch in text.chars() {
            let mut candidate = chunk.clone();
            candidate.push(ch);
            let w = fonts.span_width(&candidate, style);
            if line.width + w > max_width && !(chunk.is_empty() && line.is_empty()) {
                line.push(fonts, &chunk, *style);
                lines.push(std::mem::take(line));
                chunk.clear();
            }
            chunk.push(ch);
        }
        line.push(fonts, &chunk, *style);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
    Center,
}

/// A table column: title and share of the table width.
#[derive(Debug, Clone)]
pub struct Column {
    pub title: String,
    pub share: f32,
    pub align: Align,
}

impl Column {
    pub fn new(title: &str, share: f32) -> Column {
        Column {
            title: title.to_string(),
            share,
            align: Align::Left,
        }
    }

    pub fn aligned(mut self, align: Align) -> Column {
        self.align = align;
        self
    }
}

/// A table row: cells, or a full-width group heading.
#[derive(Debug, Clone)]
pub enum Row {
    Cells(Vec<Vec<Span>>),
    Group(Vec<Span>),
}

/// How a table is drawn.
#[derive(Debug, Clone, Copy)]
pub struct TableStyle {
    pub header: Style,
    pub header_fill: Color,
    pub zebra: Option<Color>,
    pub group_fill: Color,
    pub rule: Color,
    pub pad_x: f32,
    pub pad_y: f32,
}

/// Whatever is drawn on every page once the page count is known.
pub trait PageFrame {
    /// Operations for page `number` (1-based) of `total`.
    fn frame(&self, composer: &mut Composer<'_>, number: usize, total: usize);
}

/// Lays content out top to bottom over as many pages as it needs.
pub struct Composer<'f> {
    fonts: &'f FontSet,
    pages: Vec<Vec<Op>>,
    /// Distance of the cursor from the top edge of the current page.
    y: f32,
    bookmarks: Vec<(String, usize)>,
    /// Which page drawing goes to (the frame draws on earlier pages).
    target: usize,
}

impl<'f> Composer<'f> {
    pub fn new(fonts: &'f FontSet) -> Composer<'f> {
        Composer {
            fonts,
            pages: vec![Vec::new()],
            y: CONTENT_TOP,
            bookmarks: Vec::new(),
            target: 0,
        }
    }

    /// 1-based number of the page being filled.
    pub fn page_number(&self) -> usize {
        self.pages.len()
    }

    pub fn y(&self) -> f32 {
        self.y
    }

    pub fn set_y(&mut self, y: f32) {
        self.y = y;
    }

    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.target = self.pages.len() - 1;
        self.y = CONTENT_TOP;
    }

    /// Start a new page unless `height` still fits on this one.
    pub fn ensure(&mut self, height: f32) -> bool {
        if self.y + height > CONTENT_BOTTOM && self.y > CONTENT_TOP {
            self.new_page();
            return true;
        }
        false
    }

    pub fn space(&mut self, height: f32) {
        self.y += height;
    }

    /// A chapter bookmark pointing at the current page.
    pub fn bookmark(&mut self, title: &str) {
        let page = self.page_number();
        self.bookmarks.push((title.to_string(), page));
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        let index = self.target.min(self.pages.len() - 1);
        &mut self.pages[index]
    }

    /// A filled rectangle; `top` measured from the top edge.
    pub fn fill_rect(&mut self, x: f32, top: f32, width: f32, height: f32, color: Color) {
        let ops = self.ops();
        ops.push(Op::SetFillColor {
            col: color.to_pdf(),
        });
        ops.push(Op::DrawRectangle {
            rectangle: Rect {
                x: Pt(x),
                y: Pt(PAGE_HEIGHT - top - height),
                width: Pt(width),
                height: Pt(height),
                mode: Some(printpdf::PaintMode::Fill),
                winding_order: None,
            },
        });
    }

    /// A horizontal rule of `thickness` at `top`.
    pub fn rule(&mut self, x: f32, top: f32, width: f32, thickness: f32, color: Color) {
        self.fill_rect(x, top, width, thickness, color);
    }

    /// Draw one wrapped line with its top at `top`.
    pub fn draw_line(&mut self, line: &Line, x: f32, top: f32) {
        let height = line.height;
        for item in &line.items {
            if let Some(bg) = item.span.style.background {
                let size = item.span.style.size;
                let box_h = size * 1.25;
                let box_top = top + (height - box_h) / 2.0;
                let box_w = item.width - 2.0 * BADGE_GAP;
                self.fill_rect(x + item.x + BADGE_GAP, box_top, box_w, box_h, bg);
            }
        }
        for item in &line.items {
            let style = item.span.style;
            let pad = if style.background.is_some() {
                BADGE_PAD
            } else {
                0.0
            };
            // Centre the glyphs' cap height in the line box.
            let baseline = top + height / 2.0 + style.size * 0.36;
            self.text_at(x + item.x + pad, baseline, &item.span);
        }
    }

    /// Text with its baseline at `baseline` (from the top edge).
    pub fn text_at(&mut self, x: f32, baseline: f32, span: &Span) {
        if span.text.trim().is_empty() {
            return;
        }
        let font = PdfFontHandle::External(FontId(span.style.face.resource_name().to_string()));
        let ops = self.ops();
        ops.push(Op::StartTextSection);
        ops.push(Op::SetFont {
            font,
            size: Pt(span.style.size),
        });
        ops.push(Op::SetFillColor {
            col: span.style.color.to_pdf(),
        });
        ops.push(Op::SetTextMatrix {
            matrix: TextMatrix::Translate(Pt(x), Pt(PAGE_HEIGHT - baseline)),
        });
        ops.push(Op::ShowText {
            items: vec![TextItem::Text(span.text.clone())],
        });
        ops.push(Op::EndTextSection);
    }

    /// Text rotated by `degrees` around its start point (watermarks).
    pub fn rotated_text(&mut self, x: f32, baseline: f32, degrees: f32, span: &Span) {
        let font = PdfFontHandle::External(FontId(span.style.face.resource_name().to_string()));
        let ops = self.ops();
        ops.push(Op::StartTextSection);
        ops.push(Op::SetFont {
            font,
            size: Pt(span.style.size),
        });
        ops.push(Op::SetFillColor {
            col: span.style.color.to_pdf(),
        });
        ops.push(Op::SetTextMatrix {
            matrix: TextMatrix::TranslateRotate(Pt(x), Pt(PAGE_HEIGHT - baseline), degrees),
        });
        ops.push(Op::ShowText {
            items: vec![TextItem::Text(span.text.clone())],
        });
        ops.push(Op::EndTextSection);
    }

    /// Single-line text aligned within `[x, x + width]`.
    pub fn aligned_text(&mut self, x: f32, width: f32, baseline: f32, span: &Span, align: Align) {
        let w = self.fonts.span_width(&span.text, &span.style);
        let left = match align {
            Align::Left => x,
            Align::Right => x + width - w,
            Align::Center => x + (width - w) / 2.0,
        };
        self.text_at(left, baseline, span);
    }

    /// Wrapped text flowing across pages, indented by `indent`.
    pub fn paragraph(&mut self, spans: &[Span], indent: f32, width: f32) {
        let lines = wrap(self.fonts, spans, width);
        for line in &lines {
            self.ensure(line.height);
            let top = self.y;
            self.draw_line(line, MARGIN_X + indent, top);
            self.y += line.height;
        }
    }

    /// A label in a fixed left column and wrapped spans beside it.
    pub fn labelled(&mut self, label: &Span, label_width: f32, value: &[Span], indent: f32) {
        let value_x = indent + label_width;
        let lines = wrap(self.fonts, value, CONTENT_WIDTH - value_x);
        let mut label_lines = wrap(self.fonts, std::slice::from_ref(label), label_width - 6.0);
        let first = lines.first().map(|l| l.height).unwrap_or(10.0);
        // Same line box as the value's first line, so the baselines meet.
        if let Some(l0) = label_lines.first_mut() {
            l0.height = l0.height.max(first);
        }
        self.ensure(first.max(label_lines.first().map(|l| l.height).unwrap_or(0.0)));
        let mut label_top = self.y;
        for l in &label_lines {
            self.draw_line(l, MARGIN_X + indent, label_top);
            label_top += l.height;
        }
        for (i, line) in lines.iter().enumerate() {
            if i > 0 && self.ensure(line.height) {
                label_top = self.y;
            }
            let top = self.y;
            self.draw_line(line, MARGIN_X + value_x, top);
            self.y += line.height;
        }
        self.y = self.y.max(label_top);
    }

    /// Monospaced text on a tinted background with an accent bar; wraps at
    /// any character and keeps explicit line breaks.
    pub fn code_block(
        &mut self,
        text: &str,
        style: Style,
        indent: f32,
        fill: Color,
        accent: Color,
    ) {
        let pad = 5.0;
        let x = MARGIN_X + indent;
        let width = CONTENT_WIDTH - indent;
        let mut lines = Vec::new();
        for source_line in text.lines() {
            lines.extend(wrap_code(
                self.fonts,
                source_line,
                style,
                width - 2.0 * pad - 3.0,
            ));
        }
        if lines.is_empty() {
            return;
        }
        let lh = style.line_height();
        self.ensure(lh + 2.0 * pad);
        let mut block_top = self.y;
        self.y += pad;
        for (i, line) in lines.iter().enumerate() {
            let last = i + 1 == lines.len();
            let needed = lh + if last { pad } else { 0.0 };
            if self.y + needed > CONTENT_BOTTOM {
                let h = self.y - block_top;
                self.block_background(x, block_top, width, h, fill, accent);
                self.new_page();
                block_top = self.y;
                self.y += pad;
            }
            let top = self.y;
            self.draw_line(line, x + pad + 3.0, top);
            self.y += lh;
        }
        self.y += pad;
        let h = self.y - block_top;
        self.block_background(x, block_top, width, h, fill, accent);
    }

    /// Paint a background under content already drawn.
    fn block_background(
        &mut self,
        x: f32,
        top: f32,
        width: f32,
        height: f32,
        fill: Color,
        accent: Color,
    ) {
        self.underlay(|c| {
            c.fill_rect(x, top, width, height, fill);
            c.fill_rect(x, top, 2.5, height, accent);
        });
    }

    /// Draw behind everything already on the current page: the operations
    /// go to the start of the page's list.
    pub fn underlay(&mut self, draw: impl FnOnce(&mut Composer<'f>)) {
        let mut under = Composer {
            fonts: self.fonts,
            pages: vec![Vec::new()],
            y: self.y,
            bookmarks: Vec::new(),
            target: 0,
        };
        draw(&mut under);
        let ops = std::mem::take(&mut under.pages[0]);
        self.ops().splice(0..0, ops);
    }

    /// A table whose rows wrap their cells; rows split across pages line by
    /// line when they must, and the header repeats on every page.
    pub fn table(&mut self, columns: &[Column], rows: &[Row], style: &TableStyle) {
        let header_cells: Vec<Vec<Span>> = columns
            .iter()
            .map(|c| vec![Span::new(c.title.clone(), style.header)])
            .collect();
        let widths = self.column_widths(columns, &header_cells, rows, style);
        let header = self.layout_cells(&header_cells, &widths, style);
        let header_h = row_height(&header, style);
        self.ensure(header_h + 3.0 * style.header.line_height());
        self.table_header(&header, columns, &widths, style, header_h);
        let mut stripe = false;
        for (index, row) in rows.iter().enumerate() {
            match row {
                Row::Group(spans) => {
                    let lines = wrap(self.fonts, spans, CONTENT_WIDTH - 2.0 * style.pad_x);
                    let h: f32 = lines.iter().map(|l| l.height).sum::<f32>() + 2.0 * style.pad_y;
                    // Keep a group heading with the row that follows it.
                    let next = match rows.get(index + 1) {
                        Some(Row::Cells(cells)) => {
                            row_height(&self.layout_cells(cells, &widths, style), style)
                        }
                        _ => 0.0,
                    };
                    let next = next.min(CONTENT_BOTTOM - CONTENT_TOP - header_h - h);
                    if self.ensure(h + next) {
                        self.table_header(&header, columns, &widths, style, header_h);
                    }
                    let top = self.y;
                    self.fill_rect(MARGIN_X, top, CONTENT_WIDTH, h, style.group_fill);
                    let mut line_top = top + style.pad_y;
                    for l in &lines {
                        self.draw_line(l, MARGIN_X + style.pad_x, line_top);
                        line_top += l.height;
                    }
                    self.y += h;
                    stripe = false;
                }
                Row::Cells(cells) => {
                    let laid = self.layout_cells(cells, &widths, style);
                    self.table_row(&laid, columns, &widths, style, stripe, &header, header_h);
                    stripe = !stripe;
                }
            }
        }
    }

    /// Column widths from the shares, widened so that no single word of a
    /// header or cell has to be broken (within reason), taking the room from
    /// columns that have some to spare.
    fn column_widths(
        &self,
        columns: &[Column],
        header: &[Vec<Span>],
        rows: &[Row],
        style: &TableStyle,
    ) -> Vec<f32> {
        let total_share: f32 = columns.iter().map(|c| c.share).sum::<f32>().max(0.0001);
        let mut widths: Vec<f32> = columns
            .iter()
            .map(|c| CONTENT_WIDTH * c.share / total_share)
            .collect();
        let cap = CONTENT_WIDTH * 0.4;
        let mut minimum = vec![0.0f32; columns.len()];
        let all_cells = std::iter::once(header).chain(rows.iter().filter_map(|r| match r {
            Row::Cells(cells) => Some(cells.as_slice()),
            Row::Group(_) => None,
        }));
        for cells in all_cells {
            for (i, spans) in cells.iter().enumerate().take(columns.len()) {
                let widest = spans
                    .iter()
                    .map(|s| self.widest_word(s))
                    .fold(0.0, f32::max);
                minimum[i] = minimum[i].max((widest + 2.0 * style.pad_x + 0.5).min(cap));
            }
        }
        let mut deficit = 0.0;
        for (w, m) in widths.iter_mut().zip(&minimum) {
            if *w < *m {
                deficit += *m - *w;
                *w = *m;
            }
        }
        let slack: f32 = widths
            .iter()
            .zip(&minimum)
            .map(|(w, m)| (w - m).max(0.0))
            .sum();
        if deficit > 0.0 && slack > 0.0 {
            let take = (deficit / slack).min(1.0);
            for (w, m) in widths.iter_mut().zip(&minimum) {
                *w -= (*w - m).max(0.0) * take;
            }
        }
        let total: f32 = widths.iter().sum();
        if total > CONTENT_WIDTH {
            widths.iter_mut().for_each(|w| *w *= CONTENT_WIDTH / total);
        }
        widths
    }

    fn widest_word(&self, span: &Span) -> f32 {
        if span.style.background.is_some() {
            return self.fonts.span_width(&span.text, &span.style);
        }
        span.text
            .split_whitespace()
            .map(|w| self.fonts.width(w, span.style.face, span.style.size))
            .fold(0.0, f32::max)
    }

    fn layout_cells(
        &self,
        cells: &[Vec<Span>],
        widths: &[f32],
        style: &TableStyle,
    ) -> Vec<Vec<Line>> {
        widths
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let spans = cells.get(i).map(Vec::as_slice).unwrap_or(&[]);
                if spans.is_empty() {
                    Vec::new()
                } else {
                    wrap(self.fonts, spans, w - 2.0 * style.pad_x)
                }
            })
            .collect()
    }

    fn table_header(
        &mut self,
        header: &[Vec<Line>],
        columns: &[Column],
        widths: &[f32],
        style: &TableStyle,
        height: f32,
    ) {
        let top = self.y;
        self.fill_rect(MARGIN_X, top, CONTENT_WIDTH, height, style.header_fill);
        self.cell_lines(header, columns, widths, style, top, 0, usize::MAX);
        self.y += height;
    }

    #[allow(clippy::too_many_arguments)]
    fn table_row(
        &mut self,
        cells: &[Vec<Line>],
        columns: &[Column],
        widths: &[f32],
        style: &TableStyle,
        stripe: bool,
        header: &[Vec<Line>],
        header_h: f32,
    ) {
        let line_count = cells.iter().map(Vec::len).max().unwrap_or(0);
        let whole = row_height(cells, style);
        let fresh_page_room = CONTENT_BOTTOM - CONTENT_TOP - header_h;
        // Keep a row together when it fits on a page of its own.
        if self.y + whole > CONTENT_BOTTOM && whole <= fresh_page_room {
            self.new_page();
            self.table_header(header, columns, widths, style, header_h);
        }
        let mut start = 0;
        while start < line_count.max(1) {
            let available = CONTENT_BOTTOM - self.y - 2.0 * style.pad_y;
            let mut end = start;
            let mut used = 0.0;
            while end < line_count && used + slot_height(cells, end) <= available {
                used += slot_height(cells, end);
                end += 1;
            }
            let at_page_top = self.y <= CONTENT_TOP + header_h + 0.5;
            if end == start && line_count > 0 && !at_page_top {
                self.new_page();
                self.table_header(header, columns, widths, style, header_h);
                continue;
            }
            if end == start {
                // Taller than a page: draw it anyway rather than loop.
                used = slot_height(cells, start);
                end = start + 1;
            }
            let h = used + 2.0 * style.pad_y;
            let top = self.y;
            if let (true, Some(fill)) = (stripe, style.zebra) {
                self.fill_rect(MARGIN_X, top, CONTENT_WIDTH, h, fill);
            }
            self.cell_lines(cells, columns, widths, style, top, start, end);
            self.y += h;
            self.rule(MARGIN_X, self.y - 0.4, CONTENT_WIDTH, 0.4, style.rule);
            start = end;
            if start < line_count {
                self.new_page();
                self.table_header(header, columns, widths, style, header_h);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn cell_lines(
        &mut self,
        cells: &[Vec<Line>],
        columns: &[Column],
        widths: &[f32],
        style: &TableStyle,
        top: f32,
        from: usize,
        to: usize,
    ) {
        let mut x = MARGIN_X;
        for (i, lines) in cells.iter().enumerate() {
            let width = widths.get(i).copied().unwrap_or(0.0);
            let align = columns.get(i).map(|c| c.align).unwrap_or(Align::Left);
            let mut line_top = top + style.pad_y;
            for (index, line) in lines.iter().enumerate() {
                if index < from || index >= to {
                    continue;
                }
                let inner = width - 2.0 * style.pad_x;
                let offset = match align {
                    Align::Left => 0.0,
                    Align::Right => inner - line.width,
                    Align::Center => (inner - line.width) / 2.0,
                };
                let line_x = x + style.pad_x + offset.max(0.0);
                self.draw_line(line, line_x, line_top);
                line_top += slot_height(cells, index);
            }
            x += width;
        }
    }

    /// Draw the frame on every page, then hand the pages over.
    pub fn finish(mut self, frame: &dyn PageFrame) -> (Vec<Vec<Op>>, Vec<(String, usize)>) {
        let total = self.pages.len();
        for number in 1..=total {
            self.target = number - 1;
            frame.frame(&mut self, number, total);
        }
        (self.pages, self.bookmarks)
    }

    /// Draw on an earlier page (tables of contents filled in at the end).
    pub fn on_page<R>(&mut self, number: usize, draw: impl FnOnce(&mut Composer<'f>) -> R) -> R {
        let saved = (self.target, self.y);
        self.target = number.saturating_sub(1);
        let result = draw(self);
        self.target = saved.0;
        self.y = saved.1;
        result
    }
}

/// The height of line `index` across the cells of a row (the tallest).
fn slot_height(cells: &[Vec<Line>], index: usize) -> f32 {
    cells
        .iter()
        .filter_map(|lines| lines.get(index))
        .map(|l| l.height)
        .fold(0.0, f32::max)
}

fn row_height(cells: &[Vec<Line>], style: &TableStyle) -> f32 {
    let count = cells.iter().map(Vec::len).max().unwrap_or(0);
    (0..count).map(|i| slot_height(cells, i)).sum::<f32>() + 2.0 * style.pad_y
}

/// Code wraps at any character; leading indentation is kept.
fn wrap_code(fonts: &FontSet, text: &str, style: Style, width: f32) -> Vec<Line> {
    // Continuation lines hang by two characters, so a wrapped statement is
    // told apart from the next one.
    let hang = fonts.width("  ", style.face, style.size);
    let mut lines = Vec::new();
    let mut indent = 0.0;
    let mut chunk = String::new();
    for ch in text.chars() {
        chunk.push(ch);
        if indent + fonts.span_width(&chunk, &style) > width && chunk.chars().count() > 1 {
            chunk.pop();
            // Prefer breaking after the last space or comma in the chunk.
            let cut = chunk
                .rfind([' ', ','])
                .filter(|i| *i > chunk.len() / 3)
                .map(|i| i + 1)
                .unwrap_or(chunk.len());
            let mut cut = cut;
            // Never start a continuation line with what could pass for a
            // status marker: move the cut back a character at a time.
            while cut > 0
                && crate::model::untrusted::looks_like_marker(
                    format!("{}{ch}", &chunk[cut..]).trim_start(),
                )
            {
                cut = chunk[..cut]
                    .char_indices()
                    .next_back()
                    .map_or(0, |(i, _)| i);
            }
            if cut == 0 {
                cut = chunk.len();
            }
            let carry = chunk.split_off(cut);
            lines.push(code_line(fonts, &chunk, style, indent));
            indent = hang;
            chunk = carry;
            chunk.push(ch);
        }
    }
    lines.push(code_line(fonts, &chunk, style, indent));
    lines
}

fn code_line(fonts: &FontSet, text: &str, style: Style, indent: f32) -> Line {
    let mut line = Line {
        items: Vec::new(),
        width: indent,
        height: style.line_height(),
    };
    line.push(fonts, text, style);
    line
}

/// The pages as printpdf pages.
pub fn into_pdf_pages(pages: Vec<Vec<Op>>) -> Vec<printpdf::PdfPage> {
    pages
        .into_iter()
        .map(|ops| printpdf::PdfPage {
            media_box: Rect::from_wh(Pt(PAGE_WIDTH), Pt(PAGE_HEIGHT)),
            trim_box: Rect::from_wh(Pt(PAGE_WIDTH), Pt(PAGE_HEIGHT)),
            crop_box: Rect::from_wh(Pt(PAGE_WIDTH), Pt(PAGE_HEIGHT)),
            ops,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(size: f32) -> Style {
        Style::new(Face::Regular, size, Color::hex(0))
    }

    #[test]
    fn wrapping_never_exceeds_the_width_and_keeps_every_word() {
        let fonts = FontSet::load().unwrap();
        let text = "ALTER SYSTEM SET ssl_ciphers = 'HIGH:!aNULL:!MD5:!3DES:!CAMELLIA:!ARIA' \
                    averyveryveryverylongidentifierwithoutanyspacesthatmustbebrokenbetweencharacters end";
        let spans = [Span::new(text, plain(10.0))];
        let lines = wrap(&fonts, &spans, 150.0);
        assert!(lines.len() > 3);
        for l in &lines {
            assert!(l.width <= 150.01, "{} > 150", l.width);
        }
        let joined: String = lines
            .iter()
            .flat_map(|l| l.items.iter().map(|i| i.span.text.clone()))
            .collect::<Vec<_>>()
            .join("");
        assert_eq!(joined.replace(' ', ""), text.replace(' ', ""));
    }

    #[test]
    fn explicit_newlines_break_lines() {
        let fonts = FontSet::load().unwrap();
        let lines = wrap(&fonts, &[Span::new("a\nb\nc", plain(9.0))], 400.0);
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn code_wraps_at_any_character() {
        let fonts = FontSet::load().unwrap();
        let style = Style::new(Face::Mono, 8.0, Color::hex(0));
        let text = "x".repeat(300);
        let lines = wrap_code(&fonts, &text, style, 100.0);
        assert!(lines.len() > 5);
        assert!(lines.iter().all(|l| l.width <= 100.01));
    }
}

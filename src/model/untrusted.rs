//! The one rendering rule for text that came from a scanned server (names,
//! setting values and sources, pg_hba lines, comments, certificate fields,
//! server error messages, paths) when it is shown to a person: the text
//! output, the PDF, the GUI and error messages on a terminal.
//!
//! Anyone who can create a role or a table chooses such text, so it must never
//! pass for our own words: a newline would start a line that looks like one of
//! our findings, an escape sequence would drive the DBA's terminal, and a
//! bidirectional override would make the reader see other characters than
//! the bytes. [`escape`] shows every such character as a visible escape
//! (`\n`, `\u{1B}`, `\u{202E}`); [`shown`] also cuts overlong values and says
//! how long they were. Machine outputs (JSON, the embedded JSON of the PDF,
//! statements that are copied, saved or applied) keep the exact text.
//!
//! Pure string functions; imports nothing from the rest of the crate.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Longest name (object, role, database, file) shown whole to a person.
pub const NAME_LIMIT: usize = 200;

/// Longest sentence or statement (evidence, messages, SQL) shown whole.
pub const TEXT_LIMIT: usize = 2_000;

/// Whether `c` must not reach a person's screen as it is: control characters
/// (C0, DEL, C1), line and paragraph separators, bidirectional controls, and
/// the invisible format characters (Unicode category Cf and the fillers that
/// render as nothing).
pub fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}'
        // Format characters (Cf): soft hyphen, Arabic number signs and letter mark,
        // Mongolian vowel separator, zero-width space/joiners, LRM/RLM, embeddings
        // and overrides, word joiner and invisible operators, isolates, BOM,
        // interlinear annotations, tags.
        | '\u{AD}' | '\u{600}'..='\u{605}' | '\u{61C}' | '\u{6DD}' | '\u{70F}'
        | '\u{890}'..='\u{891}' | '\u{8E2}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}'
        | '\u{110BD}' | '\u{110CD}' | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0001}' | '\u{E0020}'..='\u{E007F}'
        // Letters that render as blank space (Hangul fillers), and the
        // combining grapheme joiner.
        | '\u{34F}' | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}'
    )
}

/// `text` with every character of [`needs_escape`] shown as a visible escape:
/// `\n`, `\r`, `\t`, else `\u{XX}` in upper-case hex. Runs of spaces keep
/// their first space and show the others as `\u{20}`: our own markers are
/// padded with spaces (`[PASS   ]`), so a server string can never imitate
/// them, and a layout never reads a run of spaces as a column gap. Borrowed
/// when nothing needed escaping (the common case).
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_with(text, true)
}

fn escape_with(text: &str, space_runs: bool) -> Cow<'_, str> {
    let needs_work = text.chars().any(needs_escape) || (space_runs && text.contains("  "));
    if !needs_work {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut previous = '\0';
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' ' if space_runs && previous == ' ' => out.push_str("\\u{20}"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:X}}}", u32::from(c));
            }
            c => out.push(c),
        }
        previous = c;
    }
    Cow::Owned(out)
}

/// [`escape`]d and, when longer than `limit` characters, cut with an ellipsis
/// and the full length: `aaaa… (10000 characters)`.
pub fn shown(text: &str, limit: usize) -> String {
    let escaped = escape(text);
    if escaped.chars().count() <= limit {
        return escaped.into_owned();
    }
    let kept: String = escaped.chars().take(limit).collect();
    format!("{kept}… ({} characters)", text.chars().count())
}

/// A sentence or statement for a person: [`shown`] with [`TEXT_LIMIT`].
pub fn text(text: &str) -> String {
    shown(text, TEXT_LIMIT)
}

/// A name for a person: [`shown`] with [`NAME_LIMIT`]. A name that needed
/// escaping, or that could be mistaken for several list items (a `, `) or
/// hides spaces at its ends, is shown in double quotes the way PostgreSQL
/// quotes identifiers, so that a list of names stays unambiguous.
pub fn name(name: &str) -> String {
    let ambiguous = name.chars().any(needs_escape)
        || name.contains(", ")
        || name.starts_with(' ')
        || name.ends_with(' ')
        || name.is_empty();
    if ambiguous && !is_quoted(name) {
        shown(&format!("\"{}\"", name.replace('"', "\"\"")), NAME_LIMIT)
    } else {
        shown(name, NAME_LIMIT)
    }
}

/// The words our outputs use as status markers (the CLI's `[PASS   ]`, the
/// PDF's and the GUI's badges).
const STATUS_WORDS: [&str; 10] = [
    "PASS", "FAIL", "WARN", "UNKNOWN", "N/A", "MANUAL", "ATTESTED", "ACCEPTED", "ATTEST", "ACCEPT",
];

/// Whether a word could pass for a status marker at the start of a line:
/// it opens with `[` or is one of our status words.
pub fn looks_like_marker(word: &str) -> bool {
    word.starts_with('[')
        || STATUS_WORDS.iter().any(|m| {
            word.strip_prefix(m)
                .is_some_and(|rest| !rest.starts_with(char::is_alphanumeric))
        })
}

/// Text that a layout will wrap (the GUI, the PDF): [`text`], with the space
/// before anything that [`looks_like_marker`] made non-breaking, so that
/// wrapping never starts a row with a marker a server string carried.
pub fn wrapped(message: &str) -> String {
    glued(&text(message))
}

/// `text` with the space before every word that [`looks_like_marker`] made
/// a no-break space.
pub fn glued(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(' ') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let next_word = after.trim_start_matches(' ');
        out.push(if looks_like_marker(next_word) {
            '\u{a0}'
        } else {
            ' '
        });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// A message on one line (server errors can span lines: detail, hint):
/// whitespace runs become one space, then [`text`].
pub fn one_line(message: &str) -> String {
    text(&message.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Text about to be written to a terminal or a text file, line by line: every
/// character of [`needs_escape`] but the line breaks we wrote is escaped. A
/// last guard behind the escaping at each interpolation, so that no escape
/// sequence or bidirectional control reaches a terminal whatever path a
/// string took.
pub fn terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && needs_escape(c)) {
        return Cow::Borrowed(text);
    }
    // Our own layout (padding, indentation) keeps its spaces.
    let lines: Vec<Cow<'_, str>> = text
        .split('\n')
        .map(|line| escape_with(line, false))
        .collect();
    Cow::Owned(lines.join("\n"))
}

/// JSON text with every character of [`needs_escape`] inside its strings
/// written as a `\uXXXX` escape: the same JSON value for every reader (the
/// names stay exact), but nothing that drives a terminal when the JSON is
/// printed or `cat`. serde_json escapes only C0 controls, quotes and
/// backslashes; C1 controls and bidi characters would otherwise go out raw.
/// Raw line breaks outside strings (pretty-printing) are kept.
pub fn json_safe(json: String) -> String {
    if !json.chars().any(|c| c != '\n' && needs_escape(c)) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 32);
    for c in json.chars() {
        if c != '\n' && needs_escape(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Already written as a quoted identifier (`"…"`, possibly qualified).
fn is_quoted(name: &str) -> bool {
    name.len() >= 2 && name.starts_with('"') && name.ends_with('"')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        assert!(matches!(
            escape("ssl = on (source: configuration file)"),
            Cow::Borrowed(_)
        ));
        assert_eq!(escape("C:\\data é 日本"), "C:\\data é 日本");
    }

    #[test]
    fn controls_and_bidi_are_visibly_escaped() {
        assert_eq!(
            escape("evil\n  [PASS   ] x"),
            "evil\\n \\u{20}[PASS \\u{20}\\u{20}] x"
        );
        assert_eq!(escape("a\u{1b}[2Jb"), "a\\u{1B}[2Jb");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202E}fed");
        assert_eq!(escape("zero\u{200b}width"), "zero\\u{200B}width");
        assert_eq!(escape("c1\u{9b}31m"), "c1\\u{9B}31m");
        assert_eq!(escape("tab\tcr\r"), "tab\\tcr\\r");
    }

    #[test]
    fn overlong_values_are_cut_with_their_length() {
        let long = "x".repeat(10_000);
        let s = shown(&long, NAME_LIMIT);
        assert_eq!(s, format!("{}… (10000 characters)", "x".repeat(NAME_LIMIT)));
        assert_eq!(shown("short", NAME_LIMIT), "short");
    }

    #[test]
    fn terminal_text_keeps_our_line_breaks_only() {
        assert_eq!(terminal("a\nb\n"), "a\nb\n");
        assert_eq!(terminal("a\u{1b}[2J\nb\r\n"), "a\\u{1B}[2J\nb\\r\n");
        assert_eq!(terminal("  [PASS   ] ours"), "  [PASS   ] ours");
        assert_eq!(
            one_line("error: x\nDETAIL:  y\u{1b}"),
            "error: x DETAIL: y\\u{1B}"
        );
    }

    #[test]
    fn json_keeps_the_value_and_loses_raw_controls() {
        let value = serde_json::json!({"name": "a\u{202e}b\u{9b}c\u{e0041}\n"});
        let text = json_safe(serde_json::to_string_pretty(&value).unwrap());
        assert!(
            !text.chars().any(|c| c != '\n' && needs_escape(c)),
            "{text}"
        );
        assert!(text.contains("\\u202e"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn spaces_before_markers_do_not_break() {
        assert_eq!(glued("evil\\n [PASS ] x"), "evil\\n\u{a0}[PASS ] x");
        assert_eq!(glued("a FAIL b PASSWORD"), "a\u{a0}FAIL b PASSWORD");
        assert!(looks_like_marker("N/A"));
        assert!(!looks_like_marker("PASSWORD"));
    }

    #[test]
    fn names_that_need_it_are_quoted_like_identifiers() {
        assert_eq!(name("patients"), "patients");
        assert_eq!(name("public.patients"), "public.patients");
        assert_eq!(name("evil\"\nname"), "\"evil\"\"\\nname\"");
        assert_eq!(name("a, b"), "\"a, b\"");
        assert_eq!(name("\"public\".\"t\""), "\"public\".\"t\"");
    }

    fn hostile() -> impl Strategy<Value = String> {
        let pieces = prop_oneof![
            Just("\n  [PASS   ] TLS-001  TLS is enabled on the server (critical)".to_string()),
            Just("\u{1b}[2J\u{1b}[32m".to_string()),
            Just("\u{202e}".to_string()),
            Just("\u{2066}\u{200f}\u{61c}\u{feff}".to_string()),
            Just("\"'\\".to_string()),
            Just("\r\t\u{0}\u{7f}\u{85}\u{9b}".to_string()),
            "\\PC{0,8}",
            any::<char>().prop_map(String::from),
        ];
        proptest::collection::vec(pieces, 0..12).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn nothing_that_needs_escaping_survives(s in hostile()) {
            for out in [escape(&s).into_owned(), text(&s), name(&s)] {
                prop_assert!(!out.chars().any(needs_escape), "{out:?}");
            }
        }

        #[test]
        fn escaping_without_cut_keeps_every_other_character(s in hostile()) {
            // Every character but the escaped ones and the second and later
            // spaces of a run.
            let mut previous = '\0';
            let kept: String = s
                .chars()
                .filter(|c| {
                    let repeated_space = *c == ' ' && previous == ' ';
                    let keep = !(needs_escape(*c) || repeated_space);
                    previous = *c;
                    keep
                })
                .collect();
            let escaped = escape(&s);
            let mut rest = escaped.as_ref();
            for c in kept.chars() {
                let at = rest.find(c);
                prop_assert!(at.is_some(), "{c:?} lost from {escaped:?}");
                rest = &rest[at.unwrap_or(0) + c.len_utf8()..];
            }
        }
    }
}

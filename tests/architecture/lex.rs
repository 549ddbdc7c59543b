//! Reading Rust source for tests/architecture.rs: enough to find modules, imports and paths.
//! Comments and literals are blanked first, so nothing in them counts; `#[cfg(test)]` items
//! are dropped. Not a parser: it knows `mod`, `use` trees, paths and brackets, nothing else.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub line: usize,
}

impl Token {
    pub fn ident(&self) -> Option<&str> {
        match &self.tok {
            Tok::Ident(name) => Some(name),
            _ => None,
        }
    }

    fn is(&self, c: char) -> bool {
        self.tok == Tok::Punct(c)
    }
}

/// The tokens of `source`, without comments and with literals left out.
pub fn tokens(source: &str) -> Vec<Token> {
    tokenize(&blank(source))
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The source with comments and string and character literals replaced by spaces
/// (newlines kept, so lines keep their numbers).
fn blank(source: &str) -> Vec<char> {
    let mut chars: Vec<char> = source.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let end = literal_or_comment_end(&chars, i);
        match end {
            Some(end) => {
                for c in &mut chars[i..end] {
                    if *c != '\n' {
                        *c = ' ';
                    }
                }
                i = end;
            }
            None => i += 1,
        }
    }
    chars
}

fn literal_or_comment_end(c: &[char], i: usize) -> Option<usize> {
    let at = |k: usize| c.get(k).copied();
    match c[i] {
        '/' if at(i + 1) == Some('/') => {
            Some((i..c.len()).find(|&k| c[k] == '\n').unwrap_or(c.len()))
        }
        '/' if at(i + 1) == Some('*') => {
            let (mut depth, mut k) = (0usize, i);
            while k < c.len() {
                if c[k] == '/' && at(k + 1) == Some('*') {
                    depth += 1;
                    k += 2;
                } else if c[k] == '*' && at(k + 1) == Some('/') {
                    depth -= 1;
                    k += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    k += 1;
                }
            }
            Some(k)
        }
        'r' => raw_string_end(c, i),
        '"' => {
            let mut k = i + 1;
            while k < c.len() {
                match c[k] {
                    '\\' => k += 2,
                    '"' => return Some(k + 1),
                    _ => k += 1,
                }
            }
            Some(c.len())
        }
        '\'' if at(i + 1) == Some('\\') => (i + 3..c.len().min(i + 14))
            .find(|&k| c[k] == '\'')
            .map(|k| k + 1),
        '\'' if at(i + 2) == Some('\'') && at(i + 1) != Some('\'') => Some(i + 3),
        _ => None,
    }
}

/// `r"…"`, `r#"…"#` (also after `b` or `c`).
fn raw_string_end(c: &[char], i: usize) -> Option<usize> {
    let before = i.checked_sub(1).map(|k| c[k]);
    let prefixed =
        matches!(before, Some('b' | 'c')) && i.checked_sub(2).is_none_or(|k| !is_ident_char(c[k]));
    if before.is_some_and(is_ident_char) && !prefixed {
        return None;
    }
    let hashes = c[i + 1..].iter().take_while(|&&h| h == '#').count();
    if c.get(i + 1 + hashes) != Some(&'"') {
        return None;
    }
    let mut k = i + 2 + hashes;
    while k < c.len() {
        if c[k] == '"'
            && c[k + 1..]
                .iter()
                .take(hashes)
                .filter(|&&h| h == '#')
                .count()
                == hashes
        {
            return Some(k + 1 + hashes);
        }
        k += 1;
    }
    Some(c.len())
}

fn tokenize(chars: &[char]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if is_ident_char(c) || (c == '$' && chars.get(i + 1) == Some(&'c')) {
            let start = i;
            i += 1;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            let name: String = chars[start..i].iter().collect();
            tokens.push(Token {
                tok: Tok::Ident(name),
                line,
            });
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push(Token {
                tok: Tok::PathSep,
                line,
            });
            i += 2;
        } else {
            tokens.push(Token {
                tok: Tok::Punct(c),
                line,
            });
            i += 1;
        }
    }
    tokens
}

/// Index of the token closing the bracket opened at `open`.
fn matching(tokens: &[Token], open: usize) -> usize {
    let (opening, closing) = match &tokens[open].tok {
        Tok::Punct('(') => ('(', ')'),
        Tok::Punct('[') => ('[', ']'),
        _ => ('{', '}'),
    };
    let mut depth = 0usize;
    for (k, token) in tokens.iter().enumerate().skip(open) {
        if token.is(opening) {
            depth += 1;
        } else if token.is(closing) {
            depth -= 1;
            if depth == 0 {
                return k;
            }
        }
    }
    tokens.len() - 1
}

fn is_cfg_test(tokens: &[Token], at: usize) -> bool {
    let wanted = ["#", "[", "cfg", "(", "test", ")", "]"];
    wanted.iter().enumerate().all(|(k, w)| {
        tokens.get(at + k).is_some_and(|t| match &t.tok {
            Tok::Ident(name) => name == w,
            Tok::Punct(c) => w.len() == 1 && w.starts_with(*c),
            Tok::PathSep => false,
        })
    })
}

/// The code without `#[cfg(test)]` items (test modules, test-only imports and helpers).
pub fn without_test_items(tokens: &[Token]) -> Vec<Token> {
    let mut kept = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if is_cfg_test(tokens, i) {
            i = end_of_item(tokens, i + 7);
        } else {
            kept.push(tokens[i].clone());
            i += 1;
        }
    }
    kept
}

/// The index after the item starting at `i` (its other attributes included).
fn end_of_item(tokens: &[Token], mut i: usize) -> usize {
    while tokens.get(i).is_some_and(|t| t.is('#')) && tokens.get(i + 1).is_some_and(|t| t.is('[')) {
        i = matching(tokens, i + 1) + 1;
    }
    let is_use = tokens[i..]
        .iter()
        .take(5)
        .take_while(|t| !t.is('{') && !t.is(';'))
        .any(|t| t.ident() == Some("use"));
    let mut depth = 0usize;
    while i < tokens.len() {
        let t = &tokens[i];
        if t.is('(') || t.is('[') {
            depth += 1;
        } else if t.is(')') || t.is(']') {
            depth = depth.saturating_sub(1);
        } else if t.is(';') && depth == 0 {
            return i + 1;
        } else if t.is('{') && depth == 0 && !is_use {
            return matching(tokens, i) + 1;
        }
        i += 1;
    }
    tokens.len()
}

pub enum Module {
    /// `mod name;`
    File,
    /// `mod name { … }`
    Inline,
}

/// An inline module's name and the token range of its body.
pub struct Scope {
    pub name: String,
    pub start: usize,
    pub end: usize,
}

/// Inline modules, outermost first.
pub fn scopes(tokens: &[Token]) -> Vec<Scope> {
    let mut scopes = Vec::new();
    for i in 0..tokens.len() {
        if tokens[i].ident() != Some("mod") {
            continue;
        }
        let (Some(name), Some(open)) = (tokens.get(i + 1), tokens.get(i + 2)) else {
            continue;
        };
        if let (Some(name), true) = (name.ident(), open.is('{')) {
            scopes.push(Scope {
                name: name.to_string(),
                start: i + 2,
                end: matching(tokens, i + 2),
            });
        }
    }
    scopes
}

/// Every module declared in the file, as its path below the file's module.
pub fn modules(tokens: &[Token]) -> Vec<(Vec<String>, Module)> {
    let scopes = scopes(tokens);
    let mut found = Vec::new();
    for i in 0..tokens.len() {
        if tokens[i].ident() != Some("mod") {
            continue;
        }
        let Some(name) = tokens.get(i + 1).and_then(Token::ident) else {
            continue;
        };
        let kind = match tokens.get(i + 2) {
            Some(t) if t.is(';') => Module::File,
            Some(t) if t.is('{') => Module::Inline,
            _ => continue,
        };
        let mut path: Vec<String> = scopes
            .iter()
            .filter(|s| s.start <= i && i < s.end)
            .map(|s| s.name.clone())
            .collect();
        path.push(name.to_string());
        found.push((path, kind));
    }
    found
}

/// One path of a `use` tree.
#[derive(Debug, PartialEq)]
pub struct UsePath {
    pub segments: Vec<String>,
    pub alias: Option<String>,
    pub glob: bool,
}

pub struct UseDeclaration {
    /// Token range of the declaration.
    pub at: usize,
    pub end: usize,
    pub line: usize,
    pub paths: Vec<UsePath>,
}

pub fn use_declarations(tokens: &[Token]) -> Vec<UseDeclaration> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].ident() != Some("use") {
            i += 1;
            continue;
        }
        let end = (i..tokens.len())
            .find(|&k| tokens[k].is(';'))
            .unwrap_or(tokens.len());
        let mut paths = Vec::new();
        use_tree(&tokens[i + 1..end], &mut Vec::new(), &mut paths);
        found.push(UseDeclaration {
            at: i,
            end,
            line: tokens[i].line,
            paths,
        });
        i = end;
    }
    found
}

/// Reads `a::b::{c, d::e as f, self, *}` after `prefix`.
fn use_tree(tokens: &[Token], prefix: &mut Vec<String>, out: &mut Vec<UsePath>) {
    let depth = prefix.len();
    let mut i = 0;
    if tokens.first().is_some_and(|t| t.tok == Tok::PathSep) {
        return; // `::std::…`: another crate
    }
    while i < tokens.len() {
        match &tokens[i].tok {
            Tok::Ident(name) if name == "as" => {
                let alias = tokens.get(i + 1).and_then(Token::ident).map(str::to_string);
                if let Some(last) = out.last_mut() {
                    last.alias = alias;
                }
                i += 2;
                continue;
            }
            Tok::Ident(name) if name == "self" && depth > 0 && i == 0 => {
                out.push(UsePath {
                    segments: prefix.clone(),
                    alias: None,
                    glob: false,
                });
            }
            Tok::Ident(name) => {
                prefix.push(name.clone());
                let last = !tokens.get(i + 1).is_some_and(|t| t.tok == Tok::PathSep);
                if last {
                    out.push(UsePath {
                        segments: prefix.clone(),
                        alias: None,
                        glob: false,
                    });
                }
            }
            Tok::Punct('*') => out.push(UsePath {
                segments: prefix.clone(),
                alias: None,
                glob: true,
            }),
            Tok::Punct('{') => {
                let close = matching(tokens, i);
                let mut start = i + 1;
                let mut nesting = 0usize;
                for k in i + 1..=close {
                    let t = &tokens[k];
                    if t.is('{') {
                        nesting += 1;
                    } else if t.is('}') && nesting > 0 {
                        nesting -= 1;
                    } else if (t.is(',') && nesting == 0) || k == close {
                        use_tree(&tokens[start..k], &mut prefix.clone(), out);
                        start = k + 1;
                    }
                }
                i = close;
            }
            _ => {}
        }
        i += 1;
    }
    prefix.truncate(depth);
}

/// Paths in code: `a::b::c` (not preceded by `::`), with the index of their first token.
pub fn paths(tokens: &[Token]) -> Vec<(usize, Vec<String>)> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let starts = tokens[i].ident().is_some()
            && tokens.get(i + 1).is_some_and(|t| t.tok == Tok::PathSep)
            && !i
                .checked_sub(1)
                .is_some_and(|k| tokens[k].tok == Tok::PathSep);
        if !starts {
            i += 1;
            continue;
        }
        let start = i;
        let mut segments = Vec::new();
        while let Some(name) = tokens.get(i).and_then(Token::ident) {
            segments.push(name.to_string());
            if tokens.get(i + 1).is_some_and(|t| t.tok == Tok::PathSep) {
                i += 2;
            } else {
                i += 1;
                break;
            }
        }
        found.push((start, segments));
    }
    found
}

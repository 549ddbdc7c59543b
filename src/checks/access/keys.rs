//! Object keys: how PRIV verdicts name relations (quoted SQL names) and how
//! fix builders find the listed objects again without parsing them back.
//! Imports `crate::checks` and `crate::model` only.

use crate::checks::facts::push_identifier;
use crate::checks::privileges::{FastMap, FastSet};
use crate::checks::Verdict;
use crate::model::snapshot::Relation;
use std::borrow::Cow;

/// The objects of a verdict, for fix builders: exact keys, plus the
/// relations named at the start of relation keys (`"schema"."name"…`) as a
/// cheap filter, so that a builder formats keys only for relations involved.
pub(super) struct Listed<'v> {
    keys: FastSet<&'v str>,
    relations: FastMap<Cow<'v, str>, FastSet<Cow<'v, str>>>,
}

impl<'v> Listed<'v> {
    pub(super) fn new(verdict: &'v Verdict) -> Self {
        let mut relations: FastMap<Cow<'v, str>, FastSet<Cow<'v, str>>> = FastMap::default();
        for key in &verdict.objects {
            if let Some((schema, rest)) = leading_identifier(key) {
                if let Some((name, _)) = rest.strip_prefix('.').and_then(leading_identifier) {
                    relations.entry(schema).or_default().insert(name);
                }
            }
        }
        Listed {
            keys: verdict.objects.iter().map(String::as_str).collect(),
            relations,
        }
    }

    pub(super) fn contains(&self, key: &str) -> bool {
        self.keys.contains(key)
    }

    /// Whether some key starts with this relation's name.
    pub(super) fn relates_to(&self, rel: &Relation) -> bool {
        self.relations
            .get(rel.schema.as_str())
            .is_some_and(|names| names.contains(rel.name.as_str()))
    }

    /// Whether the relation's own key is listed.
    pub(super) fn relation(&self, rel: &Relation) -> bool {
        self.relates_to(rel) && self.contains(&rel_key(&rel.schema, &rel.name))
    }
}

/// A double-quoted identifier at the start of `text`, unquoted, and the rest.
/// Borrowed unless the identifier holds a doubled quote.
fn leading_identifier(text: &str) -> Option<(Cow<'_, str>, &str)> {
    let body = text.strip_prefix('"')?;
    let end = body.find('"')?;
    if !body[end + 1..].starts_with('"') {
        return Some((Cow::Borrowed(&body[..end]), &body[end + 1..]));
    }
    let mut name = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '"' {
            name.push(c);
        } else if chars.peek().is_some_and(|(_, n)| *n == '"') {
            name.push('"');
            chars.next();
        } else {
            return Some((Cow::Owned(name), &body[i + 1..]));
        }
    }
    None
}

/// `"schema"."name"`: a key and a valid SQL name at once.
pub(super) fn rel_key(schema: &str, name: &str) -> String {
    let mut key = String::with_capacity(schema.len() + name.len() + 5);
    push_identifier(&mut key, schema);
    key.push('.');
    push_identifier(&mut key, name);
    key
}

//! How drift names composite objects: identifiers double-quoted where PostgreSQL
//! would need it, so that `public."a.b"` and `public.a.b` stay two names, and
//! pg_hba tokens quoted the way pg_hba.conf quotes them.

/// `name` as PostgreSQL would print it in a qualified name: bare when it is a plain
/// lower-case identifier, else in double quotes with inner quotes doubled.
pub(super) fn ident(name: &str) -> String {
    let mut chars = name.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// Identifiers joined with dots, each through [`ident`].
pub(super) fn qualified(parts: &[&str]) -> String {
    parts.iter().map(|p| ident(p)).collect::<Vec<_>>().join(".")
}

/// One pg_hba.conf token: quoted when it is empty or holds a space, a comma, a quote
/// or a `#`, so that a list of tokens reads back the same.
pub(super) fn hba_token(token: &str) -> String {
    let quote = token.is_empty()
        || token
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, ',' | '"' | '#'));
    if quote {
        format!("\"{}\"", token.replace('"', "\"\""))
    } else {
        token.to_string()
    }
}

/// A pg_hba list field (`all`, `db1,db2`), each token through [`hba_token`].
pub(super) fn hba_list(tokens: &[String]) -> String {
    if tokens.is_empty() {
        return "\"\"".into();
    }
    tokens
        .iter()
        .map(|t| hba_token(t))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_only_when_needed() {
        assert_eq!(ident("patients"), "patients");
        assert_eq!(ident("_t$1"), "_t$1");
        assert_eq!(ident("Patients"), "\"Patients\"");
        assert_eq!(ident("a.b"), "\"a.b\"");
        assert_eq!(ident("1st"), "\"1st\"");
        assert_eq!(ident(""), "\"\"");
        assert_eq!(ident("x\"y"), "\"x\"\"y\"");
        assert_ne!(qualified(&["public", "a.b"]), qualified(&["public.a", "b"]));
    }

    #[test]
    fn hba_tokens_are_quoted_like_the_file() {
        assert_eq!(hba_list(&["all".into()]), "all");
        assert_eq!(hba_list(&["a b".into(), "c".into()]), "\"a b\",c");
        assert_eq!(hba_list(&["a,b".into()]), "\"a,b\"");
        assert_eq!(hba_list(&[]), "\"\"");
    }
}

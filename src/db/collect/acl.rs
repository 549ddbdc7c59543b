//! Parsing PostgreSQL's `aclitem` text form into [`AclItem`].
//!
//! The collector fetches ACLs as `aclitem[]::text[]` (one row per object,
//! never `aclexplode`, which multiplies rows) and parses them here. The text
//! form, as `aclitemout` prints it, is `grantee=privileges/grantor`:
//!
//! - an empty grantee means `PUBLIC`;
//! - a name made only of ASCII letters, digits and `_` is printed bare; any
//!   other name is wrapped in double quotes, with a `"` inside doubled (`""`);
//! - each privilege letter may be followed by `*`, meaning WITH GRANT OPTION.
//!
//! Pure code: no I/O, nothing from `db` or `checks`.

use crate::model::snapshot::AclItem;

/// The grantee name used for an empty grantee (the PUBLIC pseudo-role).
pub const PUBLIC: &str = "PUBLIC";

/// An `aclitem` text that does not follow PostgreSQL's output format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not parse the access privilege {text:?}: {reason}")]
pub struct AclParseError {
    pub text: String,
    pub reason: &'static str,
}

/// Parses every item of an ACL; `None` (no ACL stored) gives an empty list.
pub fn parse_acl(items: Option<Vec<String>>) -> Result<Vec<AclItem>, AclParseError> {
    let mut parsed = items
        .unwrap_or_default()
        .iter()
        .map(|item| parse_acl_item(item))
        .collect::<Result<Vec<_>, _>>()?;
    // PostgreSQL keeps items in grant order; sort so equal ACLs compare equal.
    parsed.sort();
    Ok(parsed)
}

/// Parses one `grantee=privileges/grantor` item.
pub fn parse_acl_item(text: &str) -> Result<AclItem, AclParseError> {
    let fail = |reason| AclParseError {
        text: text.to_string(),
        reason,
    };
    let (grantee, rest) = read_name(text).map_err(fail)?;
    let rest = rest
        .strip_prefix('=')
        .ok_or_else(|| fail("missing '=' after the grantee"))?;
    let (privileges, grantable, rest) = read_privileges(rest).map_err(fail)?;
    let rest = rest
        .strip_prefix('/')
        .ok_or_else(|| fail("missing '/' before the grantor"))?;
    let (grantor, rest) = read_name(rest).map_err(fail)?;
    if !rest.is_empty() {
        return Err(fail("unexpected text after the grantor"));
    }
    if grantor.is_empty() {
        return Err(fail("empty grantor"));
    }
    Ok(AclItem {
        grantee: if grantee.is_empty() {
            PUBLIC.to_string()
        } else {
            grantee
        },
        grantor,
        privileges,
        grantable,
    })
}

/// Reads a bare or double-quoted role name; returns it and the text after it.
fn read_name(text: &str) -> Result<(String, &str), &'static str> {
    match text.strip_prefix('"') {
        Some(quoted) => read_quoted_name(quoted),
        None => {
            // Bare names hold only letters, digits and `_` (PostgreSQL's `putid`).
            let end = text
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(text.len());
            Ok((text[..end].to_string(), &text[end..]))
        }
    }
}

/// Reads up to the closing quote, turning `""` into `"`.
fn read_quoted_name(text: &str) -> Result<(String, &str), &'static str> {
    let mut name = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        if c != '"' {
            name.push(c);
            continue;
        }
        if chars.peek().is_some_and(|&(_, next)| next == '"') {
            chars.next();
            name.push('"');
            continue;
        }
        return Ok((name, &text[index + 1..]));
    }
    Err("unterminated quoted name")
}

/// Reads privilege letters, each optionally followed by `*` (grant option).
fn read_privileges(text: &str) -> Result<(String, String, &str), &'static str> {
    let mut privileges = String::new();
    let mut grantable = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(index, c)) = chars.peek() {
        if c == '/' {
            return Ok((privileges, grantable, &text[index..]));
        }
        if !c.is_ascii_alphabetic() {
            return Err("unexpected character among the privileges");
        }
        chars.next();
        privileges.push(c);
        if chars.peek().is_some_and(|&(_, next)| next == '*') {
            chars.next();
            grantable.push(c);
        }
    }
    Err("missing '/' before the grantor")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn item(grantee: &str, grantor: &str, privileges: &str, grantable: &str) -> AclItem {
        AclItem {
            grantee: grantee.into(),
            grantor: grantor.into(),
            privileges: privileges.into(),
            grantable: grantable.into(),
        }
    }

    /// How `aclitemout` prints a role name (PostgreSQL's `putid`).
    fn print_name(name: &str) -> String {
        let bare = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if bare {
            name.to_string()
        } else {
            format!("\"{}\"", name.replace('"', "\"\""))
        }
    }

    #[test]
    fn owner_item_with_all_table_privileges() {
        assert_eq!(
            parse_acl_item("postgres=arwdDxtm/postgres").unwrap(),
            item("postgres", "postgres", "arwdDxtm", "")
        );
    }

    #[test]
    fn empty_grantee_is_public() {
        assert_eq!(
            parse_acl_item("=r/postgres").unwrap(),
            item("PUBLIC", "postgres", "r", "")
        );
    }

    #[test]
    fn star_marks_grant_option() {
        assert_eq!(
            parse_acl_item("alice=r*w*d/bob").unwrap(),
            item("alice", "bob", "rwd", "rw")
        );
    }

    #[test]
    fn quoted_names_with_special_characters() {
        assert_eq!(
            parse_acl_item(r#""we""ird=/x"=U*C/"Grant Or""#).unwrap(),
            item(r#"we"ird=/x"#, "Grant Or", "UC", "U")
        );
    }

    #[test]
    fn item_with_no_privileges() {
        // PostgreSQL prints an owner who revoked everything from itself like this.
        assert_eq!(
            parse_acl_item("alice=/alice").unwrap(),
            item("alice", "alice", "", "")
        );
    }

    #[test]
    fn malformed_items_are_errors() {
        for bad in [
            "",
            "alice",
            "alice=r",
            "alice=r/",
            "\"alice=r/bob",
            "alice=r1/bob",
            "alice=r/bob extra",
            "alice=r/\"bob\"x",
        ] {
            assert!(parse_acl_item(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn error_message_names_the_item() {
        let err = parse_acl_item("alice=r").unwrap_err();
        assert!(err.to_string().contains("\"alice=r\""), "{err}");
    }

    #[test]
    fn acl_is_sorted_and_null_is_empty() {
        assert_eq!(parse_acl(None).unwrap(), vec![]);
        let acl = parse_acl(Some(vec![
            "zed=r/o".into(),
            "=U/o".into(),
            "amy=w/o".into(),
        ]));
        let grantees: Vec<String> = acl.unwrap().into_iter().map(|i| i.grantee).collect();
        assert_eq!(grantees, ["PUBLIC", "amy", "zed"]);
    }

    fn role_name() -> impl Strategy<Value = String> {
        // Names of 1 to 63 characters drawn to hit every quoting rule.
        proptest::collection::vec(
            prop_oneof![
                Just('"'),
                Just('='),
                Just('/'),
                Just('*'),
                Just(' '),
                Just(','),
                Just('\n'),
                Just('é'),
                Just('医'),
                proptest::char::range('a', 'z'),
                proptest::char::range('A', 'Z'),
                proptest::char::range('0', '9'),
                Just('_'),
            ],
            1..63,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    fn privileges() -> impl Strategy<Value = Vec<(char, bool)>> {
        proptest::collection::vec(
            (
                proptest::sample::select("arwdDxtmXUCTcsA".chars().collect::<Vec<_>>()),
                any::<bool>(),
            ),
            0..8,
        )
    }

    proptest! {
        #[test]
        fn printed_items_parse_back(
            grantee in proptest::option::of(role_name()),
            grantor in role_name(),
            privs in privileges(),
        ) {
            let letters: String = privs.iter().map(|(c, _)| *c).collect();
            let grantable: String = privs.iter().filter(|(_, g)| *g).map(|(c, _)| *c).collect();
            let printed_privs: String = privs
                .iter()
                .map(|(c, g)| if *g { format!("{c}*") } else { c.to_string() })
                .collect();
            let text = format!(
                "{}={printed_privs}/{}",
                grantee.as_deref().map(print_name).unwrap_or_default(),
                print_name(&grantor),
            );
            let parsed = parse_acl_item(&text).unwrap();
            prop_assert_eq!(parsed.grantee, grantee.unwrap_or_else(|| PUBLIC.to_string()));
            prop_assert_eq!(parsed.grantor, grantor);
            prop_assert_eq!(parsed.privileges, letters);
            prop_assert_eq!(parsed.grantable, grantable);
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,80}") {
            let _ = parse_acl_item(&text);
        }
    }
}

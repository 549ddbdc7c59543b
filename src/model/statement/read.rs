//! Reading statements back from files written by this or an older version
//! (session files, change logs, saved reports): the deserialisation boundary
//! of [`Statement`], and its only parser.
//!
//! It tokenizes with PostgreSQL's quoting rules (double-quoted identifiers,
//! `'…'` and `E'…'` literals, dollar quotes) and recognises the shapes the apply
//! engine treats specially. A text is given a typed variant only when that
//! variant writes the very same text back; anything else is kept verbatim as
//! [`Statement::Other`], which runs inside a fix's transaction where the
//! in-transaction guard judges it. So reading never changes what a file says.

use super::{DefaultScope, MembershipOptions, RoleOption, RoleRef, Statement};

/// The statement `text` holds; see the module documentation.
pub(super) fn statement(text: &str) -> Statement {
    match recognise(text) {
        Some(typed) if typed == text => typed,
        _ => Statement::Other(text.to_string()),
    }
}

fn recognise(text: &str) -> Option<Statement> {
    let tokens = tokenize(text)?;
    let words: Vec<&str> = tokens.iter().take(3).filter_map(word).collect();
    match words.as_slice() {
        // `ALTER USER MAPPING` changes a mapping's options, not a role.
        ["alter", "user", "mapping"] => None,
        ["alter", "system", ..] => alter_system(&tokens[2..]),
        ["alter", "role" | "user", ..] => alter_role(&tokens[2..]),
        ["alter", "database", ..] => {
            let database = name(tokens.get(2)?)?;
            session_default(DefaultScope::Database(database), &tokens[3..])
        }
        ["create", "role", ..] => Some(Statement::CreateRole {
            role: name(tokens.get(2)?)?,
            options: role_options(&tokens[3..])?,
        }),
        ["drop", "role" | "user", ..] => drop_role(&tokens[2..]),
        ["grant", ..] => membership(&tokens[1..], "to", true),
        ["revoke", ..] => membership(&tokens[1..], "from", false),
        ["create", "extension", ..] => match &tokens[2..] {
            [if_, not, exists, name_token]
                if word(if_) == Some("if")
                    && word(not) == Some("not")
                    && word(exists) == Some("exists") =>
            {
                Some(Statement::CreateExtension {
                    name: name(name_token)?,
                })
            }
            _ => None,
        },
        ["load", ..] => match &tokens[1..] {
            [Token::Literal(library)] => Some(Statement::Load {
                library: library.clone(),
            }),
            _ => None,
        },
        _ => None,
    }
}

fn word(token: &Token) -> Option<&str> {
    match token {
        Token::Word(w) => Some(w.as_str()),
        _ => None,
    }
}

fn name(token: &Token) -> Option<String> {
    match token {
        Token::Word(w) | Token::Quoted(w) => Some(w.clone()),
        _ => None,
    }
}

/// A dotted parameter name (`pgaudit.log`) and what follows it.
fn parameter(tokens: &[Token]) -> Option<(String, &[Token])> {
    let mut i = 0;
    let mut parameter = String::new();
    while let Some(part) = tokens.get(i).and_then(name) {
        parameter.push_str(&part);
        i += 1;
        if tokens.get(i) == Some(&Token::Punct('.')) {
            parameter.push('.');
            i += 1;
        } else {
            break;
        }
    }
    (!parameter.is_empty()).then(|| (parameter, &tokens[i..]))
}

/// `= v [, v …]` (or `TO`): the values, unquoted.
fn assigned_values(tokens: &[Token]) -> Option<Vec<String>> {
    let assign = matches!(tokens.first(), Some(Token::Punct('=')))
        || tokens.first().and_then(word) == Some("to");
    if !assign {
        return None;
    }
    let mut values = Vec::new();
    let mut expect_value = true;
    for token in &tokens[1..] {
        match (expect_value, token) {
            (true, Token::Literal(v) | Token::Number(v) | Token::Word(v) | Token::Quoted(v)) => {
                values.push(v.clone());
                expect_value = false;
            }
            (false, Token::Punct(',')) => expect_value = true,
            _ => return None,
        }
    }
    (!values.is_empty() && !expect_value).then_some(values)
}

fn alter_system(rest: &[Token]) -> Option<Statement> {
    match rest.first().and_then(word)? {
        "reset" => match &rest[1..] {
            [target] => Some(Statement::ResetSystem {
                parameter: name(target)?,
            }),
            _ => None,
        },
        "set" => {
            let (parameter, tail) = parameter(&rest[1..])?;
            let values = assigned_values(tail)?;
            Some(Statement::SetSystem { parameter, values })
        }
        _ => None,
    }
}

/// `SET name = value` / `RESET name` after a scope.
fn session_default(scope: DefaultScope, tokens: &[Token]) -> Option<Statement> {
    let verb = word(tokens.first()?)?;
    let (parameter, tail) = parameter(&tokens[1..])?;
    let value = match verb {
        "reset" if tail.is_empty() => None,
        "set" => match assigned_values(tail)?.as_slice() {
            [one] => Some(one.clone()),
            _ => return None,
        },
        _ => return None,
    };
    Some(Statement::SessionDefault {
        scope,
        parameter,
        value,
    })
}

fn role_ref(token: &Token) -> Option<RoleRef> {
    match token {
        Token::Word(w) => Some(match w.as_str() {
            "current_user" | "current_role" | "session_user" => RoleRef::Connected,
            "all" => RoleRef::All,
            _ => RoleRef::Named(w.clone()),
        }),
        Token::Quoted(q) => Some(RoleRef::Named(q.clone())),
        _ => None,
    }
}

fn alter_role(rest: &[Token]) -> Option<Statement> {
    let role = role_ref(rest.first()?)?;
    let tail = &rest[1..];
    match tail.first().and_then(word) {
        Some("set" | "reset") => session_default(
            DefaultScope::Role {
                role,
                database: None,
            },
            tail,
        ),
        Some("in") => match tail {
            [_, database_word, database, settings @ ..]
                if word(database_word) == Some("database") =>
            {
                let scope = DefaultScope::Role {
                    role,
                    database: Some(name(database)?),
                };
                session_default(scope, settings)
            }
            _ => None,
        },
        _ => Some(Statement::AlterRole {
            role,
            options: role_options(tail)?,
        }),
    }
}

/// The options of ALTER/CREATE ROLE, in order; `None` for anything else.
fn role_options(tokens: &[Token]) -> Option<Vec<RoleOption>> {
    let mut options = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let keyword = word(&tokens[i])?;
        i += 1;
        let (on, base) = match keyword.strip_prefix("no") {
            Some(base) if base != "ne" => (false, base),
            _ => (true, keyword),
        };
        options.push(match base {
            "login" => RoleOption::Login(on),
            "superuser" => RoleOption::Superuser(on),
            "createdb" => RoleOption::CreateDb(on),
            "createrole" => RoleOption::CreateRole(on),
            "inherit" => RoleOption::Inherit(on),
            "replication" => RoleOption::Replication(on),
            "bypassrls" => RoleOption::BypassRls(on),
            "valid" if on && tokens.get(i).and_then(word) == Some("until") => {
                let Some(Token::Literal(value)) = tokens.get(i + 1) else {
                    return None;
                };
                i += 2;
                RoleOption::ValidUntil(value.clone())
            }
            "connection" if on && tokens.get(i).and_then(word) == Some("limit") => {
                let (limit, used) = match (tokens.get(i + 1), tokens.get(i + 2)) {
                    (Some(Token::Punct('-')), Some(Token::Number(n))) => (format!("-{n}"), 3),
                    (Some(Token::Number(n)), _) => (n.clone(), 2),
                    _ => return None,
                };
                i += used;
                RoleOption::ConnectionLimit(limit.parse().ok()?)
            }
            _ => return None,
        });
    }
    Some(options)
}

fn drop_role(rest: &[Token]) -> Option<Statement> {
    match rest {
        [if_, exists, role] if word(if_) == Some("if") && word(exists) == Some("exists") => {
            Some(Statement::DropRole {
                role: name(role)?,
                if_exists: true,
            })
        }
        [role] => Some(Statement::DropRole {
            role: name(role)?,
            if_exists: false,
        }),
        _ => None,
    }
}

/// `GRANT g TO m [WITH …]` / `REVOKE g FROM m`: one group, one member
/// (object privileges have `ON` and stay [`Statement::Other`]).
fn membership(rest: &[Token], preposition: &str, grant: bool) -> Option<Statement> {
    let [group, middle, member, options @ ..] = rest else {
        return None;
    };
    if word(middle) != Some(preposition) {
        return None;
    }
    let with = match options {
        [] => None,
        _ if grant => Some(membership_options(options)?),
        _ => return None,
    };
    Some(Statement::Membership {
        grant,
        group: name(group)?,
        member: name(member)?,
        with,
    })
}

/// `WITH ADMIN OPTION` or `WITH ADMIN TRUE|FALSE, INHERIT TRUE|FALSE`.
fn membership_options(tokens: &[Token]) -> Option<MembershipOptions> {
    let words: Vec<&str> = tokens
        .iter()
        .map(|t| match t {
            Token::Punct(',') => Some(","),
            _ => word(t),
        })
        .collect::<Option<_>>()?;
    let flag = |w: &str| match w {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    match words.as_slice() {
        ["with", "admin", "option"] => Some(MembershipOptions::AdminOption),
        ["with", "admin", admin, ",", "inherit", inherit] => {
            Some(MembershipOptions::AdminInherit {
                admin: flag(admin)?,
                inherit: flag(inherit)?,
            })
        }
        _ => None,
    }
}

/// One lexical token.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An unquoted word, folded to lower case as PostgreSQL folds it.
    Word(String),
    /// A double-quoted identifier, case kept.
    Quoted(String),
    /// A string literal (standard, escape or dollar-quoted), unescaped.
    Literal(String),
    /// A number.
    Number(String),
    Punct(char),
}

/// Split into tokens; `None` when quoting is unbalanced or a comment appears
/// (our builders write neither, so such text is not ours to interpret).
fn tokenize(sql: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = sql.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if (c == '-' && chars.get(i + 1) == Some(&'-'))
            || (c == '/' && chars.get(i + 1) == Some(&'*'))
        {
            return None;
        } else if c == '"' {
            let (text, next) = quoted(&chars, i + 1, '"', false)?;
            tokens.push(Token::Quoted(text));
            i = next;
        } else if c == '\'' {
            let (text, next) = quoted(&chars, i + 1, '\'', false)?;
            tokens.push(Token::Literal(text));
            i = next;
        } else if (c == 'E' || c == 'e') && chars.get(i + 1) == Some(&'\'') {
            let (text, next) = quoted(&chars, i + 2, '\'', true)?;
            tokens.push(Token::Literal(text));
            i = next;
        } else if c == '$' {
            let (text, next) = dollar_quoted(&chars, i)?;
            tokens.push(Token::Literal(text));
            i = next;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            tokens.push(Token::Number(chars[start..i].iter().collect()));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            tokens.push(Token::Word(text.to_lowercase()));
        } else {
            tokens.push(Token::Punct(c));
            i += 1;
        }
    }
    Some(tokens)
}

/// Text up to the closing `quote` (doubled quotes are one); with
/// `backslashes`, `\x` escapes as in `E'…'` (only the simple ones).
fn quoted(chars: &[char], mut i: usize, quote: char, backslashes: bool) -> Option<(String, usize)> {
    let mut text = String::new();
    while i < chars.len() {
        let c = chars[i];
        if backslashes && c == '\\' {
            let escaped = *chars.get(i + 1)?;
            text.push(match escaped {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                other => other,
            });
            i += 2;
        } else if c == quote {
            if chars.get(i + 1) == Some(&quote) {
                text.push(quote);
                i += 2;
            } else {
                return Some((text, i + 1));
            }
        } else {
            text.push(c);
            i += 1;
        }
    }
    None
}

/// `$tag$ … $tag$`.
fn dollar_quoted(chars: &[char], start: usize) -> Option<(String, usize)> {
    let close = chars[start + 1..].iter().position(|c| *c == '$')? + start + 1;
    let tag: String = chars[start..=close].iter().collect();
    let rest: String = chars[close + 1..].iter().collect();
    let end = rest.find(&tag)?;
    let body = rest[..end].to_string();
    let consumed = close + 1 + rest[..end].chars().count() + tag.chars().count();
    Some((body, consumed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_only_when_the_text_round_trips() {
        // Canonical texts come back typed …
        assert!(matches!(
            statement("ALTER SYSTEM SET \"auth_delay.milliseconds\" = '500'"),
            Statement::SetSystem { parameter, values } if parameter == "auth_delay.milliseconds" && values == ["500"]
        ));
        assert!(matches!(
            statement("ALTER ROLE \"a\" NOSUPERUSER NOLOGIN"),
            Statement::AlterRole { options, .. } if options == [RoleOption::Superuser(false), RoleOption::Login(false)]
        ));
        // … other spellings are kept as written.
        for text in [
            "alter system set pgaudit.log to 'ddl'",
            "ALTER SYSTEM RESET ssl",
            "DROP ROLE \"a\", \"b\"",
            "GRANT SELECT ON TABLE \"t\" TO \"a\"",
            "ALTER USER MAPPING FOR \"a\" SERVER \"s\" OPTIONS (DROP \"password\")",
            "ALTER SYSTEM SET \"ssl\" = 'on' -- comment",
            "LOAD 'unterminated",
        ] {
            assert_eq!(
                statement(text),
                Statement::Other(text.to_string()),
                "{text}"
            );
            assert!(matches!(statement(text), Statement::Other(t) if t == text));
        }
    }

    #[test]
    fn role_statements_are_read_with_their_roles() {
        assert!(matches!(
            statement("ALTER ROLE \"app\" VALID UNTIL '2027-01-01' CONNECTION LIMIT -1"),
            Statement::AlterRole { role: RoleRef::Named(r), options }
                if r == "app" && options == [
                    RoleOption::ValidUntil("2027-01-01".into()),
                    RoleOption::ConnectionLimit(-1),
                ]
        ));
        assert!(matches!(
            statement("ALTER ROLE CURRENT_USER SET \"idle_session_timeout\" = '15min'"),
            Statement::SessionDefault {
                scope: DefaultScope::Role { role: RoleRef::Connected, database: None },
                value: Some(v),
                ..
            } if v == "15min"
        ));
        for text in [
            "ALTER DATABASE \"P\"\"hi\" RESET \"log_statement\"",
            "ALTER DATABASE \"P\"\"hi\" SET \"log_statement\" = 'none'",
        ] {
            assert!(
                matches!(
                    statement(text),
                    Statement::SessionDefault { scope: DefaultScope::Database(d), .. } if d == "P\"hi"
                ),
                "{text}"
            );
        }
        // A quoted name holding separators and a comment is one name.
        assert!(matches!(
            statement("ALTER ROLE \"a\"\"; DROP ROLE x; --\" NOLOGIN"),
            Statement::AlterRole { role: RoleRef::Named(r), options }
                if r == "a\"; DROP ROLE x; --" && options == [RoleOption::Login(false)]
        ));
        assert!(matches!(
            statement("GRANT \"admins\" TO \"alice\" WITH ADMIN TRUE, INHERIT FALSE"),
            Statement::Membership {
                grant: true,
                with: Some(MembershipOptions::AdminInherit {
                    admin: true,
                    inherit: false
                }),
                ..
            }
        ));
    }

    /// Object statements, several statements in one text, other verbs: kept
    /// verbatim, so they run in the fix's transaction under its guard.
    #[test]
    fn hostile_or_foreign_text_is_other() {
        for text in [
            "ALTER ROLE x NOLOGIN; DROP ROLE y",
            "ALTER ROLE \"x\" NOLOGIN; DROP ROLE \"y\"",
            "ALTER ROLE x -- comment",
            "DO $$ BEGIN EXECUTE 'ALTER ROLE app NOSUPERUSER'; END $$",
            "SELECT 1",
            "ALTER DATABASE \"phi\" RENAME TO \"x\"",
            "REVOKE SELECT ON TABLE \"public\".\"t\" FROM \"alice\"",
            "REVOKE \"admins\" FROM \"alice\" CASCADE",
            "GRANT \"admins\" TO \"alice\" WITH ADMIN MAYBE",
            "REVOKE EXECUTE ON ROUTINE \"app\".\"f\"(bigint) FROM \"clinicians\"",
            "GRANT EXECUTE ON ROUTINE \"app\".\"f\"(bigint) TO \"clinicians\" WITH GRANT OPTION",
            "ALTER ROUTINE \"app\".\"f\"(bigint) SET search_path = \"pg_catalog\", \"$user\"",
            "ALTER USER MAPPING FOR PUBLIC SERVER s OPTIONS (DROP password)",
            "CREATE EXTENSION \"dblink\" SCHEMA \"public\" VERSION '1.2'",
        ] {
            assert!(
                matches!(statement(text), Statement::Other(t) if t == text),
                "{text}"
            );
        }
    }

    #[test]
    fn escape_literals_and_dollar_quotes_are_read() {
        let text = "ALTER SYSTEM SET \"archive_command\" =  E'a\\\\b'";
        assert!(
            matches!(statement(text), Statement::SetSystem { values, .. } if values == ["a\\b"])
        );
        assert_eq!(tokenize("$x$ body $x$").map(|t| t.len()), Some(1));
        assert_eq!(tokenize("'open"), None);
    }
}

//! Reading back the few statement shapes the fix builders write, so that the
//! apply step can tell how to run a statement (ALTER SYSTEM outside a
//! transaction block, everything else inside one) and what it does to roles
//! and settings (for the guards and the high-impact classification).
//!
//! This is not a SQL parser: it tokenizes with PostgreSQL's quoting rules
//! (double-quoted identifiers, `'…'` and `E'…'` literals, dollar quotes) and
//! recognises `ALTER SYSTEM SET/RESET`, `ALTER ROLE` (attributes, and
//! `[IN DATABASE …] SET/RESET`), `ALTER DATABASE … SET/RESET`, `DROP ROLE`, role
//! membership `REVOKE`/`GRANT` and `CREATE EXTENSION`. Anything else is
//! [`Statement::Other`], which runs inside the fix's transaction and is
//! judged by the in-transaction guard instead. Pure; imports nothing but std.

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

/// A role as a statement names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleRef {
    Named(String),
    /// `CURRENT_USER`, `CURRENT_ROLE` or `SESSION_USER`: the connected role.
    Connected,
    /// `ALL` (e.g. `ALTER ROLE ALL SET …`).
    All,
}

impl RoleRef {
    /// True when this names `user` (or the connected role, which is `user`).
    pub fn is(&self, user: &str) -> bool {
        match self {
            RoleRef::Named(name) => name == user,
            RoleRef::Connected | RoleRef::All => true,
        }
    }
}

/// Attribute changes an `ALTER ROLE … [WITH] option …` makes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleAttributes {
    pub login: Option<bool>,
    pub superuser: Option<bool>,
    /// `VALID UNTIL` value as written.
    pub valid_until: Option<String>,
    pub connection_limit: Option<i64>,
}

/// What a statement is, as far as applying it is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// `ALTER SYSTEM SET name = v1, v2 …` (values unquoted).
    AlterSystemSet {
        parameter: String,
        values: Vec<String>,
    },
    /// `ALTER SYSTEM RESET name`.
    AlterSystemReset {
        parameter: String,
    },
    /// `ALTER ROLE r [WITH] options`, or `ALTER ROLE r [IN DATABASE d] SET/RESET …`
    /// (then `attributes` is empty).
    AlterRole {
        role: RoleRef,
        attributes: RoleAttributes,
    },
    /// `ALTER DATABASE d SET/RESET …`: the login defaults of every session
    /// in `d` (the other forms of ALTER DATABASE are [`Statement::Other`]).
    AlterDatabase {
        database: String,
    },
    DropRole {
        roles: Vec<RoleRef>,
    },
    /// `REVOKE group, … FROM member, …` (membership, not object privileges).
    RevokeMembership {
        groups: Vec<String>,
        members: Vec<RoleRef>,
    },
    /// `GRANT group, … TO member, …` (membership, not object privileges).
    GrantMembership {
        groups: Vec<String>,
        members: Vec<RoleRef>,
    },
    /// `CREATE EXTENSION [IF NOT EXISTS] name …`.
    CreateExtension {
        name: String,
    },
    /// `LOAD 'library'`.
    Load {
        library: String,
    },
    Other,
}

impl Statement {
    /// The setting an `ALTER SYSTEM` statement changes.
    pub fn system_parameter(&self) -> Option<&str> {
        match self {
            Statement::AlterSystemSet { parameter, .. }
            | Statement::AlterSystemReset { parameter } => Some(parameter),
            _ => None,
        }
    }

    /// Roles whose attributes, settings or memberships the statement changes.
    pub fn roles_touched(&self) -> Vec<RoleRef> {
        match self {
            Statement::AlterRole { role, .. } => vec![role.clone()],
            Statement::DropRole { roles } => roles.clone(),
            Statement::RevokeMembership { members, .. }
            | Statement::GrantMembership { members, .. } => members.clone(),
            _ => Vec::new(),
        }
    }
}

/// Recognise one statement.
pub fn parse(sql: &str) -> Statement {
    let Some(tokens) = tokenize(sql) else {
        return Statement::Other;
    };
    let mut tokens: Vec<Token> = tokens;
    if tokens.last() == Some(&Token::Punct(';')) {
        tokens.pop();
    }
    let words: Vec<&str> = tokens.iter().take(3).filter_map(word).collect();
    match words.as_slice() {
        // Not a role statement (`ALTER USER` is ALTER ROLE's synonym): it
        // changes a mapping's options, and runs in the fix's transaction.
        ["alter", "user", "mapping"] => Statement::Other,
        ["alter", "system", ..] => alter_system(&tokens[2..]),
        ["alter", "role" | "user", ..] => alter_role(&tokens[2..]),
        ["alter", "database", ..] => {
            match (tokens.get(2).and_then(name), tokens.get(3).and_then(word)) {
                (Some(database), Some("set" | "reset")) => Statement::AlterDatabase { database },
                _ => Statement::Other,
            }
        }
        ["drop", "role" | "user", ..] => drop_role(&tokens[2..]),
        ["revoke", ..] => membership(&tokens[1..], "from", false),
        ["grant", ..] => membership(&tokens[1..], "to", true),
        ["create", "extension", ..] => create_extension(&tokens[2..]),
        ["load", ..] => match tokens.get(1) {
            Some(Token::Literal(library)) if tokens.len() == 2 => Statement::Load {
                library: library.clone(),
            },
            _ => Statement::Other,
        },
        _ => Statement::Other,
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

fn alter_system(rest: &[Token]) -> Statement {
    match rest {
        [Token::Word(verb), target, tail @ ..] if verb == "reset" && tail.is_empty() => {
            match name(target) {
                Some(parameter) => Statement::AlterSystemReset { parameter },
                None => Statement::Other,
            }
        }
        [Token::Word(verb), tail @ ..] if verb == "set" => alter_system_set(tail),
        _ => Statement::Other,
    }
}

/// `name = v [, v …]`; a parameter name may be dotted (`pgaudit.log`).
fn alter_system_set(tokens: &[Token]) -> Statement {
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
    let assign = matches!(tokens.get(i), Some(Token::Punct('=')))
        || tokens.get(i).and_then(word) == Some("to");
    if parameter.is_empty() || !assign {
        return Statement::Other;
    }
    let mut values = Vec::new();
    let mut expect_value = true;
    for token in &tokens[i + 1..] {
        match (expect_value, token) {
            (true, Token::Literal(v) | Token::Number(v) | Token::Word(v) | Token::Quoted(v)) => {
                values.push(v.clone());
                expect_value = false;
            }
            (false, Token::Punct(',')) => expect_value = true,
            _ => return Statement::Other,
        }
    }
    if values.is_empty() || expect_value {
        return Statement::Other;
    }
    Statement::AlterSystemSet { parameter, values }
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

fn alter_role(rest: &[Token]) -> Statement {
    let Some(role) = rest.first().and_then(role_ref) else {
        return Statement::Other;
    };
    let tail = &rest[1..];
    let first = tail.first().and_then(word);
    if matches!(first, Some("set" | "reset" | "in" | "rename")) {
        return Statement::AlterRole {
            role,
            attributes: RoleAttributes::default(),
        };
    }
    match role_attributes(tail) {
        Some(attributes) => Statement::AlterRole { role, attributes },
        None => Statement::Other,
    }
}

/// `[WITH] option …` of ALTER ROLE; `None` for anything not understood.
fn role_attributes(tokens: &[Token]) -> Option<RoleAttributes> {
    let mut attributes = RoleAttributes::default();
    let mut i = usize::from(tokens.first().and_then(word) == Some("with"));
    while i < tokens.len() {
        let keyword = word(&tokens[i])?;
        i += 1;
        match keyword {
            "login" => attributes.login = Some(true),
            "nologin" => attributes.login = Some(false),
            "superuser" => attributes.superuser = Some(true),
            "nosuperuser" => attributes.superuser = Some(false),
            "createdb" | "nocreatedb" | "createrole" | "nocreaterole" | "inherit" | "noinherit"
            | "replication" | "noreplication" | "bypassrls" | "nobypassrls" => {}
            "valid" if tokens.get(i).and_then(word) == Some("until") => {
                match tokens.get(i + 1) {
                    Some(Token::Literal(v)) => attributes.valid_until = Some(v.clone()),
                    _ => return None,
                }
                i += 2;
            }
            "connection" if tokens.get(i).and_then(word) == Some("limit") => {
                let limit = match (tokens.get(i + 1), tokens.get(i + 2)) {
                    (Some(Token::Punct('-')), Some(Token::Number(n))) => format!("-{n}"),
                    (Some(Token::Number(n)), _) => n.clone(),
                    _ => return None,
                };
                i += if limit.starts_with('-') { 3 } else { 2 };
                attributes.connection_limit = Some(limit.parse().ok()?);
            }
            // The password itself does not matter to the guards; skip its value.
            "encrypted" if tokens.get(i).and_then(word) == Some("password") => i += 2,
            "password" => i += 1,
            _ => return None,
        }
    }
    Some(attributes)
}

fn drop_role(rest: &[Token]) -> Statement {
    let words: Vec<Option<&str>> = rest.iter().take(2).map(word).collect();
    let start = if words == [Some("if"), Some("exists")] {
        2
    } else {
        0
    };
    match role_list(&rest[start..]) {
        Some((roles, [])) => Statement::DropRole { roles },
        _ => Statement::Other,
    }
}

/// A comma-separated list of role names, and what follows it.
fn role_list(tokens: &[Token]) -> Option<(Vec<RoleRef>, &[Token])> {
    let mut roles = Vec::new();
    let mut i = 0;
    loop {
        roles.push(role_ref(tokens.get(i)?)?);
        i += 1;
        if tokens.get(i) == Some(&Token::Punct(',')) {
            i += 1;
        } else {
            return Some((roles, &tokens[i..]));
        }
    }
}

/// `REVOKE [ADMIN OPTION FOR] g, … FROM m, … [GRANTED BY r] [CASCADE|RESTRICT]`
/// or `GRANT g, … TO m, … [WITH …] [GRANTED BY r]`. Object privileges
/// (anything with `ON`) are not memberships.
fn membership(rest: &[Token], preposition: &str, grant: bool) -> Statement {
    if rest.iter().any(|t| word(t) == Some("on")) {
        return Statement::Other;
    }
    let mut start = 0;
    if !grant
        && rest.iter().take(3).filter_map(word).collect::<Vec<_>>() == ["admin", "option", "for"]
    {
        start = 3;
    }
    let Some(split) = rest.iter().position(|t| word(t) == Some(preposition)) else {
        return Statement::Other;
    };
    let Some((groups, [])) = role_list(&rest[start..split]) else {
        return Statement::Other;
    };
    let Some((members, _)) = role_list(&rest[split + 1..]) else {
        return Statement::Other;
    };
    let groups: Vec<String> = groups
        .into_iter()
        .filter_map(|g| match g {
            RoleRef::Named(n) => Some(n),
            _ => None,
        })
        .collect();
    if grant {
        Statement::GrantMembership { groups, members }
    } else {
        Statement::RevokeMembership { groups, members }
    }
}

fn create_extension(rest: &[Token]) -> Statement {
    let words: Vec<Option<&str>> = rest.iter().take(3).map(word).collect();
    let start = if words == [Some("if"), Some("not"), Some("exists")] {
        3
    } else {
        0
    };
    match rest.get(start).and_then(name) {
        Some(name) => Statement::CreateExtension { name },
        None => Statement::Other,
    }
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
    fn alter_system_set_reads_names_and_list_values() {
        assert_eq!(
            parse("ALTER SYSTEM SET \"shared_preload_libraries\" = 'pgaudit', 'My ''Lib'''"),
            Statement::AlterSystemSet {
                parameter: "shared_preload_libraries".into(),
                values: vec!["pgaudit".into(), "My 'Lib'".into()],
            }
        );
        assert_eq!(
            parse("ALTER SYSTEM SET \"auth_delay.milliseconds\" = '500'"),
            Statement::AlterSystemSet {
                parameter: "auth_delay.milliseconds".into(),
                values: vec!["500".into()],
            }
        );
        assert_eq!(
            parse("alter system set pgaudit.log to 'ddl'"),
            Statement::AlterSystemSet {
                parameter: "pgaudit.log".into(),
                values: vec!["ddl".into()],
            }
        );
        assert_eq!(
            parse("ALTER SYSTEM SET x = E'a\\\\b'"),
            Statement::AlterSystemSet {
                parameter: "x".into(),
                values: vec!["a\\b".into()],
            }
        );
        assert_eq!(
            parse("ALTER SYSTEM RESET \"ssl\""),
            Statement::AlterSystemReset {
                parameter: "ssl".into()
            }
        );
    }

    #[test]
    fn role_statements_name_their_roles() {
        assert_eq!(
            parse("ALTER ROLE \"App\" NOSUPERUSER NOLOGIN"),
            Statement::AlterRole {
                role: RoleRef::Named("App".into()),
                attributes: RoleAttributes {
                    login: Some(false),
                    superuser: Some(false),
                    ..RoleAttributes::default()
                },
            }
        );
        assert_eq!(
            parse("ALTER ROLE app VALID UNTIL '2027-01-01' CONNECTION LIMIT -1"),
            Statement::AlterRole {
                role: RoleRef::Named("app".into()),
                attributes: RoleAttributes {
                    valid_until: Some("2027-01-01".into()),
                    connection_limit: Some(-1),
                    ..RoleAttributes::default()
                },
            }
        );
        assert!(matches!(
            parse("ALTER ROLE CURRENT_USER SET \"idle_session_timeout\" = '15min'"),
            Statement::AlterRole {
                role: RoleRef::Connected,
                ..
            }
        ));
        for sql in [
            "ALTER ROLE ALL RESET \"pgaudit.log\"",
            "ALTER ROLE ALL SET \"pgaudit.log\" = 'none'",
        ] {
            assert!(
                matches!(
                    parse(sql),
                    Statement::AlterRole {
                        role: RoleRef::All,
                        ..
                    }
                ),
                "{sql}"
            );
        }
        assert!(matches!(
            parse("ALTER ROLE \"app\" IN DATABASE \"phi\" RESET \"log_statement\""),
            Statement::AlterRole { role: RoleRef::Named(ref r), .. } if r == "app"
        ));
        for sql in [
            "ALTER DATABASE \"P\"\"hi\" RESET \"log_statement\"",
            "ALTER DATABASE \"P\"\"hi\" SET \"log_statement\" = 'none'",
        ] {
            assert_eq!(
                parse(sql),
                Statement::AlterDatabase {
                    database: "P\"hi".into()
                },
                "{sql}"
            );
        }
        assert_eq!(parse("ALTER DATABASE phi RENAME TO x"), Statement::Other);
        assert_eq!(
            parse("DROP ROLE IF EXISTS \"auditor\""),
            Statement::DropRole {
                roles: vec![RoleRef::Named("auditor".into())]
            }
        );
        assert_eq!(
            parse("REVOKE \"admins\" FROM \"alice\""),
            Statement::RevokeMembership {
                groups: vec!["admins".into()],
                members: vec![RoleRef::Named("alice".into())],
            }
        );
        assert_eq!(
            parse("REVOKE SELECT ON TABLE \"public\".\"t\" FROM \"alice\""),
            Statement::Other
        );
        // PRIV-012's forms are object statements, run in the fix's transaction and
        // judged by the in-transaction role guard, never read as memberships.
        for sql in [
            "REVOKE EXECUTE ON ROUTINE \"app\".\"f\"(bigint) FROM \"clinicians\"",
            "GRANT EXECUTE ON ROUTINE \"app\".\"f\"(bigint) TO \"clinicians\" WITH GRANT OPTION",
            "ALTER ROUTINE \"app\".\"f\"(bigint) SET search_path = \"pg_catalog\", \"$user\"",
            "ALTER ROUTINE \"app\".\"f\"(bigint) SET search_path = ''",
        ] {
            assert_eq!(parse(sql), Statement::Other, "{sql}");
        }
        assert_eq!(
            parse("CREATE EXTENSION IF NOT EXISTS pgaudit"),
            Statement::CreateExtension {
                name: "pgaudit".into()
            }
        );
    }

    #[test]
    fn hostile_or_foreign_text_is_other() {
        for sql in [
            "ALTER ROLE x NOLOGIN; DROP ROLE y",
            "ALTER SYSTEM SET a = 'unterminated",
            "ALTER ROLE x -- comment",
            "DO $$ BEGIN EXECUTE 'ALTER ROLE app NOSUPERUSER'; END $$",
            "SELECT 1",
            // AUTH-017's fix: a user mapping, not a role named "mapping".
            "ALTER USER MAPPING FOR \"app\" SERVER \"billing\" OPTIONS (DROP \"password\")",
            "ALTER USER MAPPING FOR PUBLIC SERVER s OPTIONS (DROP password)",
        ] {
            assert_eq!(parse(sql), Statement::Other, "{sql}");
        }
    }

    /// Hostile role names through the role fix builders: every statement
    /// reads back as one ALTER ROLE of exactly the intended role.
    mod hostile_names {
        use super::*;
        use crate::checks;
        use crate::model::snapshot::{Role, Snapshot, Target};
        use crate::policy::{Attestations, Policy};
        use proptest::prelude::*;

        fn name() -> impl Strategy<Value = String> {
            let hostile = prop_oneof![
                Just('"'),
                Just(';'),
                Just('\''),
                Just('\\'),
                Just('\n'),
                Just('$'),
                Just('-'),
                Just(' '),
                Just('é'),
                Just('☃'),
                any::<char>(),
            ];
            proptest::collection::vec(hostile, 1..40).prop_map(|chars| {
                let mut name = String::new();
                for c in chars.into_iter().filter(|c| *c != '\0') {
                    if name.len() + c.len_utf8() > 63 {
                        break;
                    }
                    name.push(c);
                }
                name
            })
        }

        fn role(oid: u32, name: &str, superuser: bool) -> Role {
            Role {
                oid,
                name: name.into(),
                superuser,
                can_login: true,
                create_db: !superuser,
                bypass_rls: !superuser,
                replication: !superuser,
                conn_limit: -1,
                ..Role::default()
            }
        }

        fn snapshot(superuser: &str, user: &str) -> Snapshot {
            Snapshot {
                schema_version: crate::model::snapshot::SCHEMA_VERSION,
                collected_at: "2026-11-27T10:00:00Z".into(),
                target: Target {
                    user: "postgres".into(),
                    server_version_num: Some(150_000),
                    ..Target::default()
                },
                roles: Some(vec![
                    role(10, "postgres", true),
                    role(20_000, superuser, true),
                    role(20_001, user, false),
                ]),
                memberships: Some(Vec::new()),
                ..Snapshot::default()
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]
            #[test]
            fn role_fixes_name_exactly_the_intended_role(su in name(), user in name()) {
                prop_assume!(!su.is_empty() && !user.is_empty() && su != user);
                prop_assume!(![&su, &user].iter().any(|n| n.as_str() == "postgres" || n.starts_with("pg_")));
                let findings = checks::evaluate_all(
                    &snapshot(&su, &user),
                    &Policy::default(),
                    &Attestations::default(),
                );
                for (id, wanted) in [("PRIV-001", &su), ("PRIV-002", &user), ("PRIV-003", &user), ("AUTH-015", &user), ("PRIV-020", &user)] {
                    let finding = findings.iter().find(|f| f.id == id).expect("finding");
                    let plan = finding.fix.as_ref().expect("a failing check has a plan");
                    prop_assert!(!plan.statements.is_empty(), "{} built nothing", id);
                    for statement in plan.statements.iter().chain(&plan.rollback) {
                        match parse(statement) {
                            Statement::AlterRole { role: RoleRef::Named(named), .. } => {
                                prop_assert_eq!(&named, wanted, "{}: {}", id, statement);
                            }
                            other => prop_assert!(false, "{}: {} read as {:?}", id, statement, other),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn quoted_names_with_separators_stay_one_name() {
        assert_eq!(
            parse("ALTER ROLE \"a\"\"; DROP ROLE x; --\" NOLOGIN"),
            Statement::AlterRole {
                role: RoleRef::Named("a\"; DROP ROLE x; --".into()),
                attributes: RoleAttributes {
                    login: Some(false),
                    ..RoleAttributes::default()
                },
            }
        );
    }
}

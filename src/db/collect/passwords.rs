//! The `password_kinds` part: for each role, whether its stored password
//! verifier is md5, SCRAM, plain text or absent — never the verifier itself.
//!
//! The kinds live in `pg_authid`, which only superusers (or roles granted
//! SELECT on its `rolpassword` column) may read, and that access exposes
//! the verifiers. A least-privilege scanner reads them instead through
//! `pgsafeguard.password_kinds()`, the SECURITY DEFINER function that
//! `assets/sql/scanner-role.sql` creates. Round 1 reports what the scanner
//! may use ([`choose`] decides); the part then reads from that source, or
//! becomes a gap without sending a query that could only fail (and would
//! leave a permission error in the server log).
//!
//! The function is trusted only when a superuser owns it and it is SECURITY
//! DEFINER: whoever owns it decides what it answers, and a function the
//! scanner could have written itself could report every role as SCRAM.
//! Pure code plus the part's SQL; round 1's columns are in `identity`.

use super::part::{get, DecodeError, Part, Staging};
use crate::model::snapshot::{Gap, PasswordKind};
use postgres_protocol::escape::escape_identifier;
use std::collections::BTreeMap;
use tokio_postgres::Row;

/// The part's name, as in gaps and the snapshot.
pub(super) const PART: &str = "password_kinds";

/// The script that creates the function, as the gaps name it.
pub const SCANNER_ROLE_SCRIPT: &str = "assets/sql/scanner-role.sql";

/// SQLSTATE insufficient_privilege, for the gap recorded without a query.
const INSUFFICIENT_PRIVILEGE: &str = "42501";

/// What round 1 found of `pgsafeguard.password_kinds()` in this database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FunctionState {
    /// Not created in this database.
    Missing,
    /// Exists, but the scanner may not use its schema or execute it.
    Denied,
    /// Not SECURITY DEFINER, or not owned by a superuser: its answer would
    /// not come from pg_authid, or could be anything its owner wants.
    Untrusted,
    /// Trusted and executable by the scanner.
    Usable,
}

impl FunctionState {
    /// Round 1's text column; anything unexpected counts as missing.
    pub fn from_column(text: &str) -> Self {
        match text {
            "usable" => FunctionState::Usable,
            "denied" => FunctionState::Denied,
            "untrusted" => FunctionState::Untrusted,
            _ => FunctionState::Missing,
        }
    }
}

/// Where the part reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// `pg_authid` directly: the scanner is a superuser or was granted it.
    Catalog,
    /// `pgsafeguard.password_kinds()`.
    Function,
    /// Neither: a gap, and why the function could not stand in.
    Unavailable(FunctionState),
}

/// pg_authid when readable, else a trusted and executable function, else
/// nothing.
pub(super) fn choose(reads_pg_authid: bool, function: FunctionState) -> Source {
    if reads_pg_authid {
        Source::Catalog
    } else if function == FunctionState::Usable {
        Source::Function
    } else {
        Source::Unavailable(function)
    }
}

/// The verifier's kind is computed on the server: the verifier never leaves it.
const FROM_CATALOG: &str = "SELECT rolname::text AS name, \
     CASE WHEN rolpassword IS NULL THEN 'none' \
          WHEN rolpassword LIKE 'md5%' THEN 'md5' \
          WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram' \
          ELSE 'plain' END AS kind \
     FROM pg_catalog.pg_authid ORDER BY rolname";

/// The same classification, made by the function with its owner's rights.
const FROM_FUNCTION: &str = "SELECT rolname::text AS name, kind::text AS kind \
     FROM pgsafeguard.password_kinds() ORDER BY 1";

/// The part for a source, or `None` when there is nothing to read from.
pub(super) fn part(source: Source) -> Option<Part> {
    let sql = match source {
        Source::Catalog => FROM_CATALOG,
        Source::Function => FROM_FUNCTION,
        Source::Unavailable(_) => return None,
    };
    Some(Part::new(PART, sql, store))
}

fn store(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let mut kinds = BTreeMap::new();
    for row in rows {
        let kind = match get::<String>(row, "kind")?.as_str() {
            "none" => PasswordKind::None,
            "md5" => PasswordKind::Md5,
            "scram" => PasswordKind::Scram,
            _ => PasswordKind::Plain,
        };
        kinds.insert(get::<String>(row, "name")?, kind);
    }
    staging.cluster.password_kinds = Some(kinds);
    Ok(())
}

/// What lets `role` read the part: the script first (it reveals kinds
/// only), the pg_authid grant as the alternative (it reveals verifiers).
pub fn grant(role: &str) -> String {
    format!(
        "run {SCANNER_ROLE_SCRIPT} as a superuser in this database \
         (psql -v scanner_role={} -f {SCANNER_ROLE_SCRIPT}), which creates \
         pgsafeguard.password_kinds() and grants EXECUTE on it; or \
         GRANT SELECT (rolname, rolpassword) ON pg_catalog.pg_authid TO {}, which also \
         exposes the password verifiers",
        shell_word(role),
        escape_identifier(role)
    )
}

/// The gap for a scanner that has no source at all.
pub(super) fn unavailable_gap(function: FunctionState, role: &str) -> Gap {
    let why = match function {
        FunctionState::Missing => "pgsafeguard.password_kinds() does not exist in this database",
        FunctionState::Denied => {
            "pgsafeguard.password_kinds() exists but the scanner may not execute it \
             (or use its schema)"
        }
        FunctionState::Untrusted => {
            "pgsafeguard.password_kinds() is not a SECURITY DEFINER function owned by a \
             superuser, so its answer is not trusted"
        }
        FunctionState::Usable => "pgsafeguard.password_kinds() could not be used",
    };
    Gap {
        part: PART.to_string(),
        sqlstate: Some(INSUFFICIENT_PRIVILEGE.to_string()),
        message: format!(
            "the scanner may not read the password verifier kinds: pg_catalog.pg_authid is \
             superuser-only and {why}"
        ),
        grant: Some(grant(role)),
    }
}

/// A word the shell passes through unchanged: quoted when it holds
/// anything but letters, digits, `_`, `-` and `.`.
///
/// Not `shlex::try_quote`: shlex leaves `+`, `/`, `:` and `@` bare, writes a
/// word with an apostrophe in double quotes (`"it's"`) and refuses a NUL, so
/// the commands shown to users would change.
pub(super) fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn readable_pg_authid_wins_over_the_function() {
        for function in [
            FunctionState::Missing,
            FunctionState::Denied,
            FunctionState::Untrusted,
            FunctionState::Usable,
        ] {
            assert_eq!(choose(true, function), Source::Catalog);
        }
    }

    #[test]
    fn the_function_stands_in_only_when_usable() {
        assert_eq!(choose(false, FunctionState::Usable), Source::Function);
        for function in [
            FunctionState::Missing,
            FunctionState::Denied,
            FunctionState::Untrusted,
        ] {
            assert_eq!(choose(false, function), Source::Unavailable(function));
        }
    }

    #[test]
    fn round_one_text_is_read_strictly() {
        assert_eq!(FunctionState::from_column("usable"), FunctionState::Usable);
        assert_eq!(FunctionState::from_column("denied"), FunctionState::Denied);
        assert_eq!(
            FunctionState::from_column("untrusted"),
            FunctionState::Untrusted
        );
        assert_eq!(
            FunctionState::from_column("missing"),
            FunctionState::Missing
        );
        assert_eq!(FunctionState::from_column("USABLE"), FunctionState::Missing);
    }

    #[test]
    fn each_source_has_its_query_and_none_without_one() {
        assert!(part(Source::Catalog)
            .unwrap()
            .sql
            .contains("pg_catalog.pg_authid"));
        assert!(part(Source::Function)
            .unwrap()
            .sql
            .contains("pgsafeguard.password_kinds()"));
        assert!(part(Source::Unavailable(FunctionState::Missing)).is_none());
    }

    #[test]
    fn queries_never_select_the_verifier() {
        for sql in [FROM_CATALOG, FROM_FUNCTION] {
            let select_list = sql.split(" FROM ").next().unwrap_or(sql);
            assert!(!select_list.contains("rolpassword AS"), "{sql}");
            assert!(!select_list.contains("rolpassword,"), "{sql}");
        }
        assert!(FROM_CATALOG.contains("CASE WHEN rolpassword IS NULL"));
    }

    #[test]
    fn unavailable_gap_says_why_and_points_to_the_script() {
        let gap = unavailable_gap(FunctionState::Untrusted, "scan\"ner");
        assert_eq!(gap.part, "password_kinds");
        assert_eq!(gap.sqlstate.as_deref(), Some("42501"));
        assert!(gap.message.contains("not trusted"), "{}", gap.message);
        let grant = gap.grant.unwrap();
        assert!(
            grant.starts_with("run assets/sql/scanner-role.sql"),
            "{grant}"
        );
        assert!(grant.contains("-v scanner_role='scan\"ner'"), "{grant}");
        assert!(
            grant.contains("ON pg_catalog.pg_authid TO \"scan\"\"ner\""),
            "{grant}"
        );
        let missing = unavailable_gap(FunctionState::Missing, "scanner");
        assert!(missing.message.contains("does not exist in this database"));
        let denied = unavailable_gap(FunctionState::Denied, "scanner");
        assert!(denied.message.contains("may not execute it"));
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("pgsafeguard_scanner"), "pgsafeguard_scanner");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word("two words"), "'two words'");
    }
}

//! What the team store's errors say: the privilege a DBA must grant when the
//! role may not create or use the store's schema, a writer that waited too
//! long for the chain head, and the server's own message (one line, escaped:
//! it is a server's text) for the rest.
//!
//! Pure apart from reading a `tokio_postgres::Error`; imports the store's
//! error type and the model's rendering of untrusted text.

use crate::model::untrusted;
use crate::store::StoreError;
use postgres_protocol::escape::escape_identifier;
use std::time::Duration;
use tokio_postgres::error::SqlState;

/// How long a writer waits for the chain head (and a layout change for its
/// advisory lock) before it gives up with an error.
pub const LOCK_WAIT: Duration = Duration::from_secs(15);

/// The longest any one statement may run on the server.
pub const STATEMENT_LIMIT: Duration = Duration::from_secs(60);

/// What the store was doing when the server refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    CreateSchema,
    /// Creating the tables, or migrating an older layout (which needs the
    /// tables' owner).
    CreateTables,
    /// Reading or appending.
    Use,
}

/// Who asked, where: the login role, the database and the schema, as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub role: String,
    pub database: String,
    pub schema: String,
}

/// An identifier as a DBA would type it, safe to print.
fn shown(name: &str) -> String {
    untrusted::text(&escape_identifier(name))
}

impl Names {
    pub fn shown_schema(&self) -> String {
        shown(&self.schema)
    }

    /// One line naming the grant that lets `role` do `step`.
    pub fn grant_advice(&self, step: Step) -> String {
        let (role, database, schema) = (
            shown(&self.role),
            shown(&self.database),
            shown(&self.schema),
        );
        match step {
            Step::CreateSchema => format!(
                "role {role} may not create schema {schema} in database {database}: ask a DBA \
                 to run GRANT CREATE ON DATABASE {database} TO {role}, or to create the schema \
                 with CREATE SCHEMA {schema} AUTHORIZATION {role}"
            ),
            Step::CreateTables => format!(
                "role {role} may not create or migrate the evidence store's tables in schema \
                 {schema}: ask a DBA to run GRANT USAGE, CREATE ON SCHEMA {schema} TO {role}, \
                 or have the owner of the tables open the store once"
            ),
            Step::Use => format!(
                "role {role} may not use the evidence store in schema {schema}: ask a DBA to \
                 run GRANT USAGE ON SCHEMA {schema} TO {role}; GRANT SELECT, INSERT, UPDATE ON \
                 ALL TABLES IN SCHEMA {schema} TO {role}"
            ),
        }
    }

    /// The store's error for a failed statement.
    pub fn error(&self, step: Step, error: tokio_postgres::Error) -> StoreError {
        StoreError::Database(self.explain(step, error.code(), &describe(&error)))
    }

    fn explain(&self, step: Step, code: Option<&SqlState>, described: &str) -> String {
        match code {
            Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE => self.grant_advice(step),
            Some(c) if *c == SqlState::LOCK_NOT_AVAILABLE => format!(
                "another writer held the evidence store in schema {} for over {} s: run again; \
                 if it keeps happening, look in pg_stat_activity for a stuck session of \
                 application {}",
                shown(&self.schema),
                LOCK_WAIT.as_secs(),
                super::APPLICATION_NAME
            ),
            Some(c) if *c == SqlState::QUERY_CANCELED => format!(
                "the team store's server stopped a statement after {} s ({described}): check \
                 the server's load and run again",
                STATEMENT_LIMIT.as_secs()
            ),
            _ => described.to_string(),
        }
    }
}

/// The server's message on one line with its SQLSTATE, else the client's.
pub fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!(
            "{} (SQLSTATE {})",
            untrusted::one_line(db.message()),
            db.code().code()
        ),
        None => untrusted::one_line(&error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names {
            role: "ci runner".into(),
            database: "evidence".into(),
            schema: "pgsafeguard".into(),
        }
    }

    #[test]
    fn each_step_names_its_grant_on_one_line() {
        let advice = names().grant_advice(Step::CreateSchema);
        assert_eq!(
            advice,
            "role \"ci runner\" may not create schema \"pgsafeguard\" in database \"evidence\": \
             ask a DBA to run GRANT CREATE ON DATABASE \"evidence\" TO \"ci runner\", or to \
             create the schema with CREATE SCHEMA \"pgsafeguard\" AUTHORIZATION \"ci runner\""
        );
        assert!(names()
            .grant_advice(Step::CreateTables)
            .contains("GRANT USAGE, CREATE ON SCHEMA \"pgsafeguard\" TO \"ci runner\""));
        assert!(names()
            .grant_advice(Step::Use)
            .contains("GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA \"pgsafeguard\""));
    }

    #[test]
    fn hostile_names_stay_on_one_line_and_quoted() {
        let hostile = Names {
            role: "r\"; DROP ROLE x; --".into(),
            database: "db\n[PASS   ] all good".into(),
            schema: "s\u{202E}".into(),
        };
        for step in [Step::CreateSchema, Step::CreateTables, Step::Use] {
            let advice = hostile.grant_advice(step);
            assert_eq!(advice.lines().count(), 1, "{advice}");
            assert!(!advice.contains('\u{202E}'), "{advice}");
            assert!(!advice.contains("TO r\""), "{advice}");
        }
        assert!(hostile
            .grant_advice(Step::CreateSchema)
            .contains("TO \"r\"\"; DROP ROLE x; --\""));
    }

    #[test]
    fn waits_and_cancels_say_what_to_do() {
        let lock = names().explain(Step::Use, Some(&SqlState::LOCK_NOT_AVAILABLE), "x");
        assert!(
            lock.contains("over 15 s") && lock.contains("pg_stat_activity"),
            "{lock}"
        );
        let cancel = names().explain(Step::Use, Some(&SqlState::QUERY_CANCELED), "canceled");
        assert!(cancel.contains("after 60 s (canceled)"), "{cancel}");
        let other = names().explain(Step::Use, Some(&SqlState::DISK_FULL), "disk full");
        assert_eq!(other, "disk full");
        let denied = names().explain(Step::Use, Some(&SqlState::INSUFFICIENT_PRIVILEGE), "no");
        assert_eq!(denied, names().grant_advice(Step::Use));
    }
}

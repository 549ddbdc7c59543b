//! Turning what the scanner could not read into [`Gap`]s with the GRANT
//! that would let it.
//!
//! The grantee is the scanner's `current_user`, quoted. Parts read from
//! catalogs that every role may read have no grant: their failure means
//! something else (a timeout, a broken catalog), and the message says so.

use super::pipeline::PartFailure;
use crate::model::snapshot::Gap;
use postgres_protocol::escape::escape_identifier;

/// SQLSTATE of a statement cancelled by `statement_timeout`.
const QUERY_CANCELED: &str = "57014";

/// The statement that would let `role` read `part`, when a grant can.
pub fn grant_for(part: &str, role: &str) -> Option<String> {
    let unquoted = role;
    let role = escape_identifier(role);
    let view_and_function = |view: &str, function: &str| {
        format!(
            "GRANT EXECUTE ON FUNCTION pg_catalog.{function}() TO {role}; \
             GRANT SELECT ON pg_catalog.{view} TO {role}"
        )
    };
    match part {
        "settings" => Some(format!("GRANT pg_read_all_settings TO {role}")),
        "sessions" => Some(format!("GRANT pg_read_all_stats TO {role}")),
        "hba_rules" => Some(view_and_function("pg_hba_file_rules", "pg_hba_file_rules")),
        "ident_mappings" => Some(view_and_function(
            "pg_ident_file_mappings",
            "pg_ident_file_mappings",
        )),
        "file_setting_problems" => Some(view_and_function(
            "pg_file_settings",
            "pg_show_all_file_settings",
        )),
        super::passwords::PART => Some(super::passwords::grant(unquoted)),
        super::outbound::SUBSCRIPTIONS => Some(super::outbound::grant(unquoted)),
        "system_identifier" => Some(format!(
            "GRANT EXECUTE ON FUNCTION pg_catalog.pg_control_system() TO {role}"
        )),
        _ => None,
    }
}

/// The gap for a part whose query failed.
pub fn failed_part(part: &str, failure: PartFailure, role: &str) -> Gap {
    let mut message = failure.message;
    if failure.sqlstate.as_deref() == Some(QUERY_CANCELED) {
        message.push_str("; raise the scan's statement timeout or scan at a quieter time");
    } else if part == super::passwords::PART {
        message.push_str(
            "; re-run assets/sql/scanner-role.sql as a superuser in this database to \
             repair pgsafeguard.password_kinds()",
        );
    }
    Gap {
        part: part.to_string(),
        sqlstate: failure.sqlstate,
        message,
        grant: grant_for(part, role),
    }
}

/// The gap for a part whose rows had an unexpected shape.
pub fn undecodable_part(part: &str, error: &dyn std::error::Error) -> Gap {
    Gap {
        part: part.to_string(),
        sqlstate: None,
        message: format!("could not read the rows of {part}: {error}"),
        grant: None,
    }
}

/// Settings are collected, but superuser-only ones are left out of
/// `pg_settings` for a role without pg_read_all_settings.
pub fn hidden_settings(role: &str) -> Gap {
    Gap {
        part: "settings".into(),
        sqlstate: None,
        message: "some settings are hidden from the scanner: superuser-only parameters are \
                  not listed and file locations are blank"
            .into(),
        grant: grant_for("settings", role),
    }
}

/// Other roles' sessions show no user or address without pg_read_all_stats,
/// so the list is not collected at all rather than collected wrong.
pub fn hidden_sessions(role: &str) -> Gap {
    Gap {
        part: "sessions".into(),
        sqlstate: None,
        message: "other roles' sessions are hidden from the scanner, so their encryption \
                  cannot be checked"
            .into(),
        grant: grant_for("sessions", role),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn grantee_is_quoted() {
        let grant = grant_for("sessions", "scan\"ner").unwrap();
        assert_eq!(grant, "GRANT pg_read_all_stats TO \"scan\"\"ner\"");
    }

    #[test]
    fn hba_grant_names_view_and_function() {
        assert_eq!(
            grant_for("hba_rules", "scanner").unwrap(),
            "GRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO \"scanner\"; \
             GRANT SELECT ON pg_catalog.pg_hba_file_rules TO \"scanner\""
        );
    }

    #[test]
    fn public_catalog_parts_have_no_grant() {
        assert_eq!(grant_for("relations", "scanner"), None);
        assert_eq!(grant_for("roles", "scanner"), None);
    }

    #[test]
    fn timeout_gap_says_what_to_do() {
        let gap = failed_part(
            "relations",
            PartFailure {
                sqlstate: Some("57014".into()),
                message: "canceling statement due to statement timeout".into(),
            },
            "scanner",
        );
        assert!(gap.message.contains("raise the scan's statement timeout"));
        assert_eq!(gap.grant, None);
    }
}

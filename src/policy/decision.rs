//! Checking what a person typed for a policy decision (an accepted risk),
//! before the policy file is touched: who and why are given and are one line
//! of plain text, and the expiry is a date that is not in the past.
//!
//! Shared by `pgsafeguard accept` and the GUI's "Accept risk…" form, so both
//! refuse the same input with the same words. Each field is named the way the
//! front end shows it (`--by` on the command line, "Accepted by" in the app).
//! Pure: "now" is passed in (RFC 3339); imports `model` and the policy types.

use super::{parse_date, PolicyAcceptedRisk};
use crate::model::untrusted;

/// Input that cannot become a decision; the message says what to correct.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    #[error("{field} must not be empty")]
    Empty { field: String },
    #[error("{field} must be one line of plain text (no control or invisible characters)")]
    NotOneLine { field: String },
    #[error("{field} {text} is not a date: write YYYY-MM-DD")]
    NotADate { field: String, text: String },
    #[error("{field} {text} is in the past (today is {today}): an acceptance needs a future end")]
    InThePast {
        field: String,
        text: String,
        today: String,
    },
}

/// A value that must be given and not blank.
pub fn required(field: &str, value: Option<String>) -> Result<String, DecisionError> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(DecisionError::Empty {
            field: field.to_string(),
        }),
    }
}

/// Who, why and tickets are one line of visible text: they are shown in
/// one-line evidence and tables.
pub fn one_line(field: &str, value: String) -> Result<String, DecisionError> {
    if value.chars().any(untrusted::needs_escape) {
        return Err(DecisionError::NotOneLine {
            field: field.to_string(),
        });
    }
    Ok(value)
}

/// An ISO date that is today or later, as of `now` (RFC 3339, UTC).
pub fn expiry(field: &str, text: &str, now: &str) -> Result<String, DecisionError> {
    let Some(date) = parse_date(text) else {
        return Err(DecisionError::NotADate {
            field: field.to_string(),
            text: untrusted::name(text),
        });
    };
    let today = now.get(..10).unwrap_or_default();
    if parse_date(today).is_some_and(|today| date < today) {
        return Err(DecisionError::InThePast {
            field: field.to_string(),
            text: text.to_string(),
            today: today.to_string(),
        });
    }
    Ok(text.to_string())
}

/// The labels an acceptance's fields are called by in messages.
#[derive(Debug, Clone, Copy)]
pub struct FieldNames {
    pub by: &'static str,
    pub reason: &'static str,
    pub expires: &'static str,
    pub ticket: &'static str,
}

/// The command line's names.
pub const CLI_FIELDS: FieldNames = FieldNames {
    by: "--by",
    reason: "--reason",
    expires: "--expires",
    ticket: "--ticket",
};

/// An acceptance as typed: everything still unchecked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcceptanceInput {
    pub id: String,
    pub object: Option<String>,
    pub by: Option<String>,
    pub reason: Option<String>,
    pub expires: Option<String>,
    /// `None`: no ticket given (an empty one is refused).
    pub ticket: Option<String>,
}

impl AcceptanceInput {
    /// The acceptance to write, decided at `now`, or the first thing to
    /// correct, checked in the order the fields are shown.
    pub fn validate(
        self,
        names: FieldNames,
        now: &str,
    ) -> Result<PolicyAcceptedRisk, DecisionError> {
        let by = one_line(names.by, required(names.by, self.by)?)?;
        let reason = one_line(names.reason, required(names.reason, self.reason)?)?;
        let expires = expiry(names.expires, &required(names.expires, self.expires)?, now)?;
        let ticket = self
            .ticket
            .map(|t| one_line(names.ticket, required(names.ticket, Some(t))?))
            .transpose()?;
        Ok(PolicyAcceptedRisk {
            id: self.id,
            object: self.object,
            by,
            reason,
            expires,
            ticket,
            at: Some(now.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-12-01T10:00:00Z";

    fn input() -> AcceptanceInput {
        AcceptanceInput {
            id: "TLS-009".into(),
            object: None,
            by: Some("Jane Roe, CISO".into()),
            reason: Some("private subnet only".into()),
            expires: Some("2027-06-30".into()),
            ticket: Some("RISK-1042".into()),
        }
    }

    #[test]
    fn a_complete_input_becomes_an_acceptance_decided_now() {
        let risk = input().validate(CLI_FIELDS, NOW).unwrap();
        assert_eq!(risk.by, "Jane Roe, CISO");
        assert_eq!(risk.expires, "2027-06-30");
        assert_eq!(risk.ticket.as_deref(), Some("RISK-1042"));
        assert_eq!(risk.at.as_deref(), Some(NOW));
        assert!(risk.problem().is_none());
    }

    #[test]
    fn bad_input_names_the_field_as_the_front_end_calls_it() {
        let blank = AcceptanceInput {
            by: Some("  ".into()),
            ..input()
        };
        assert_eq!(
            blank.validate(CLI_FIELDS, NOW).unwrap_err().to_string(),
            "--by must not be empty"
        );
        let two_lines = AcceptanceInput {
            reason: Some("a\nb".into()),
            ..input()
        };
        assert!(matches!(
            two_lines.validate(CLI_FIELDS, NOW),
            Err(DecisionError::NotOneLine { .. })
        ));
        let past = AcceptanceInput {
            expires: Some("2026-11-30".into()),
            ..input()
        };
        assert_eq!(
            past.validate(CLI_FIELDS, NOW).unwrap_err().to_string(),
            "--expires 2026-11-30 is in the past (today is 2026-12-01): an acceptance needs a future end"
        );
        let not_a_date = AcceptanceInput {
            expires: Some("soon".into()),
            ..input()
        };
        assert!(matches!(
            not_a_date.validate(CLI_FIELDS, NOW),
            Err(DecisionError::NotADate { .. })
        ));
        // Today still counts.
        let today = AcceptanceInput {
            expires: Some("2026-12-01".into()),
            ..input()
        };
        assert!(today.validate(CLI_FIELDS, NOW).is_ok());
    }
}

//! What the row counts of one table prove for PRIV-014 and PRIV-015: pure
//! decisions over [`TableCounts`], kept apart from the SQL that fills them.
//!
//! - PRIV-015 is broken only when every login role that may SELECT the table
//!   and is under row-level security sees every row of a table with at least
//!   two rows (one row cannot show a filter). One role that sees fewer rows
//!   makes it hold. A policy that reads the session (`session_user`,
//!   `current_setting(…)`, the client address) makes it inconclusive: under
//!   `SET ROLE` the session stays the scanner's.
//! - PRIV-014 is broken when a login role that may read the table is not
//!   under row-level security although it is neither superuser nor BYPASSRLS:
//!   it owns the table and RLS is not forced. It holds when RLS applied to
//!   every login role counted.
//!
//! Pure; imports only `model`.

use crate::model::proof::Outcome;

/// What the probe saw for one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCounts {
    /// `schema.name`.
    pub table: String,
    /// Who counted the total (the scanner, which bypasses RLS).
    pub counted_as: String,
    /// Every row, or why it could not be counted.
    pub total: Result<i64, String>,
    /// Login roles that may SELECT the table and are subject to RLS, counted.
    pub roles: Vec<RoleCount>,
    /// Login roles that may SELECT it but bypass RLS (superuser, BYPASSRLS): not counted.
    pub bypassing: Vec<String>,
    /// Login roles left out by the limit on roles per table.
    pub not_probed: Vec<String>,
    /// Policies on the table whose expressions read the session, `name: expression`.
    pub session_policies: Vec<String>,
}

/// One login role's view of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleCount {
    pub role: String,
    pub seen: Seen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Rows visible under `SET ROLE`, and whether RLS applied (`row_security_active`).
    Rows {
        visible: i64,
        rls_active: bool,
        /// Per-role settings that could not be applied, with the server's reason.
        settings_not_applied: Vec<String>,
    },
    /// The count failed; `grant` says what would let the scanner try.
    Failed {
        error: String,
        grant: Option<String>,
    },
}

/// An outcome with its note and, when rights were missing, the grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub outcome: Outcome,
    pub note: String,
    pub grant: Option<String>,
}

impl Judgement {
    fn new(outcome: Outcome, note: String) -> Self {
        Judgement {
            outcome,
            note,
            grant: None,
        }
    }
}

impl TableCounts {
    /// Roles counted under RLS, with what they saw.
    fn under_rls(&self) -> impl Iterator<Item = (&str, i64)> {
        self.roles.iter().filter_map(|r| match r.seen {
            Seen::Rows {
                visible,
                rls_active: true,
                ..
            } => Some((r.role.as_str(), visible)),
            _ => None,
        })
    }

    /// Roles that may read the table although RLS did not apply to them.
    fn escaping(&self) -> impl Iterator<Item = (&str, i64)> {
        self.roles.iter().filter_map(|r| match r.seen {
            Seen::Rows {
                visible,
                rls_active: false,
                ..
            } => Some((r.role.as_str(), visible)),
            _ => None,
        })
    }

    fn failures(&self) -> impl Iterator<Item = (&str, &str, Option<&str>)> {
        self.roles.iter().filter_map(|r| match &r.seen {
            Seen::Failed { error, grant } => {
                Some((r.role.as_str(), error.as_str(), grant.as_deref()))
            }
            Seen::Rows { .. } => None,
        })
    }

    /// Every grant that would let the scanner count the roles it could not.
    fn grants(&self) -> Option<String> {
        let grants: Vec<&str> = self.failures().filter_map(|(_, _, g)| g).collect();
        (!grants.is_empty()).then(|| grants.join("; "))
    }

    /// Why some login roles were not counted, or `None` when all were.
    fn uncounted(&self) -> Option<String> {
        let failed = self.failures().count();
        let left_out = self.not_probed.len();
        match (failed, left_out) {
            (0, 0) => None,
            (failed, 0) => Some(format!("{failed} login role(s) could not be counted")),
            (0, left_out) => Some(format!(
                "{left_out} login role(s) were left out by the limit on roles per table"
            )),
            (failed, left_out) => Some(format!(
                "{failed} login role(s) could not be counted and {left_out} were left out by \
                 the limit on roles per table"
            )),
        }
    }

    /// The counts, in the words of a transcript: numbers and role names only.
    pub fn answer(&self) -> String {
        let mut parts = vec![match &self.total {
            Ok(n) => format!(
                "total: {n} row(s), counted as {:?} (RLS bypassed)",
                self.counted_as
            ),
            Err(e) => format!("total: not counted ({e})"),
        }];
        for role in &self.roles {
            parts.push(match &role.seen {
                Seen::Rows {
                    visible,
                    rls_active,
                    settings_not_applied,
                } => {
                    let mut text = format!(
                        "{:?}: {visible} row(s) visible, RLS {}",
                        role.role,
                        if *rls_active { "active" } else { "not active" }
                    );
                    if !settings_not_applied.is_empty() {
                        text.push_str(&format!(
                            " (role settings not applied: {})",
                            settings_not_applied.join(", ")
                        ));
                    }
                    text
                }
                Seen::Failed { error, .. } => format!("{:?}: not counted ({error})", role.role),
            });
        }
        if !self.bypassing.is_empty() {
            parts.push(format!(
                "bypass RLS, not counted: {}",
                quoted_list(&self.bypassing)
            ));
        }
        if !self.not_probed.is_empty() {
            parts.push(format!(
                "over the limit, not counted: {}",
                quoted_list(&self.not_probed)
            ));
        }
        if !self.session_policies.is_empty() {
            parts.push(format!(
                "policies reading the session: {}",
                self.session_policies.join("; ")
            ));
        }
        parts.join("; ")
    }

    /// PRIV-015: do the policies restrict rows?
    pub fn priv_015(&self) -> Judgement {
        let total = match &self.total {
            Ok(n) => *n,
            Err(e) => {
                return Judgement::new(
                    Outcome::Inconclusive,
                    format!("the rows of {} could not be counted: {e}", self.table),
                )
            }
        };
        if !self.session_policies.is_empty() {
            return Judgement::new(
                Outcome::Inconclusive,
                format!(
                    "a policy on {} reads the session (session_user, current_setting(…) or the \
                     client address): under SET ROLE the session stays the scanner's, so these \
                     counts are not what the roles' own sessions see",
                    self.table
                ),
            );
        }
        if let Some((role, visible)) = self.under_rls().find(|(_, v)| *v < total) {
            return Judgement::new(
                Outcome::Holds,
                format!(
                    "login role {role:?} sees {visible} of the {total} rows of {}: the \
                     policies restrict rows",
                    self.table
                ),
            );
        }
        let counted: Vec<&str> = self.under_rls().map(|(role, _)| role).collect();
        if total < 2 {
            return Judgement::new(
                Outcome::Inconclusive,
                format!(
                    "{} has {total} row(s): fewer than two rows cannot show whether a policy \
                     filters",
                    self.table
                ),
            );
        }
        if counted.is_empty() {
            let mut judgement = Judgement::new(
                Outcome::Inconclusive,
                format!(
                    "no login role that may read {} was counted under row-level security{}",
                    self.table,
                    self.uncounted()
                        .map(|why| format!(" ({why})"))
                        .unwrap_or_default()
                ),
            );
            judgement.grant = self.grants();
            return judgement;
        }
        if let Some(why) = self.uncounted() {
            let mut judgement = Judgement::new(
                Outcome::Inconclusive,
                format!(
                    "every login role counted sees all {total} rows of {}, but {why}",
                    self.table
                ),
            );
            judgement.grant = self.grants();
            return judgement;
        }
        Judgement::new(
            Outcome::Broken,
            format!(
                "every login role that may read {} ({}) sees all {total} rows although \
                 row-level security is enabled: the policies restrict no row",
                self.table,
                quoted_list(&counted)
            ),
        )
    }

    /// PRIV-014: does row-level security apply to the login roles that read the table?
    pub fn priv_014(&self) -> Judgement {
        let escaping: Vec<String> = self
            .escaping()
            .map(|(role, visible)| format!("{role:?} ({visible} rows)"))
            .collect();
        if !escaping.is_empty() {
            return Judgement::new(
                Outcome::Broken,
                format!(
                    "row-level security did not apply to login role(s) {} reading {}: neither \
                     superuser nor BYPASSRLS, so they own it and RLS is not forced; they see \
                     every row",
                    escaping.join(", "),
                    self.table
                ),
            );
        }
        if let Err(e) = &self.total {
            return Judgement::new(
                Outcome::Inconclusive,
                format!("the rows of {} could not be counted: {e}", self.table),
            );
        }
        let counted = self.under_rls().count();
        if let Some(why) = self.uncounted() {
            let mut judgement = Judgement::new(
                Outcome::Inconclusive,
                format!(
                    "row-level security applied to the {counted} login role(s) counted on {}, \
                     but {why}",
                    self.table
                ),
            );
            judgement.grant = self.grants();
            return judgement;
        }
        if counted == 0 {
            return Judgement::new(
                Outcome::Inconclusive,
                format!(
                    "no login role but superusers and BYPASSRLS roles may read {}: nothing to \
                     count",
                    self.table
                ),
            );
        }
        Judgement::new(
            Outcome::Holds,
            format!(
                "row-level security applied to each of the {counted} login role(s) that may \
                 read {}",
                self.table
            ),
        )
    }
}

fn quoted_list<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|n| format!("{:?}", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a policy expression (as `pg_policies` prints it) reads the
/// session rather than the role: then `SET ROLE` cannot show what the role's
/// own sessions see. A word inside a string literal counts too, which can
/// only make the probe more careful.
pub fn reads_session(expression: &str) -> bool {
    let lower = expression.to_ascii_lowercase();
    ["session_user", "current_setting", "inet_client_addr"]
        .iter()
        .any(|word| lower.contains(word))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rows(role: &str, visible: i64, rls_active: bool) -> RoleCount {
        RoleCount {
            role: role.into(),
            seen: Seen::Rows {
                visible,
                rls_active,
                settings_not_applied: Vec::new(),
            },
        }
    }

    fn failed(role: &str) -> RoleCount {
        RoleCount {
            role: role.into(),
            seen: Seen::Failed {
                error: "ERROR 42501: permission denied to set role".into(),
                grant: Some(format!("GRANT \"{role}\" TO scanner")),
            },
        }
    }

    fn table(total: i64, roles: Vec<RoleCount>) -> TableCounts {
        TableCounts {
            table: "public.patients".into(),
            counted_as: "postgres".into(),
            total: Ok(total),
            roles,
            bypassing: vec!["postgres".into()],
            not_probed: Vec::new(),
            session_policies: Vec::new(),
        }
    }

    #[test]
    fn every_role_seeing_every_row_breaks_priv_015() {
        let t = table(4, vec![rows("app", 4, true), rows("report", 4, true)]);
        let j = t.priv_015();
        assert_eq!(j.outcome, Outcome::Broken, "{}", j.note);
        assert!(j.note.contains("\"app\", \"report\""), "{}", j.note);
        assert_eq!(t.priv_014().outcome, Outcome::Holds);
    }

    #[test]
    fn one_restricted_role_makes_priv_015_hold() {
        let t = table(4, vec![rows("app", 4, true), rows("clerk", 2, true)]);
        assert_eq!(t.priv_015().outcome, Outcome::Holds);
        // Even when another role could not be counted.
        let t = table(4, vec![failed("x"), rows("clerk", 0, true)]);
        assert_eq!(t.priv_015().outcome, Outcome::Holds);
    }

    #[test]
    fn tiny_tables_and_uncounted_roles_are_inconclusive() {
        assert_eq!(
            table(1, vec![rows("app", 1, true)]).priv_015().outcome,
            Outcome::Inconclusive
        );
        let t = table(4, vec![rows("app", 4, true), failed("other")]);
        let j = t.priv_015();
        assert_eq!(j.outcome, Outcome::Inconclusive);
        assert_eq!(j.grant.as_deref(), Some("GRANT \"other\" TO scanner"));
        let mut t = table(4, vec![rows("app", 4, true)]);
        t.not_probed = vec!["later".into()];
        assert_eq!(t.priv_015().outcome, Outcome::Inconclusive);
        assert_eq!(table(4, vec![]).priv_015().outcome, Outcome::Inconclusive);
        assert_eq!(table(4, vec![]).priv_014().outcome, Outcome::Inconclusive);
    }

    #[test]
    fn session_reading_policies_are_inconclusive() {
        let mut t = table(4, vec![rows("app", 4, true)]);
        t.session_policies = vec!["mine: (owner = SESSION_USER)".into()];
        assert_eq!(t.priv_015().outcome, Outcome::Inconclusive);
        assert!(reads_session("(owner = SESSION_USER)"));
        assert!(reads_session(
            "(clinic_id = (current_setting('app.clinic_id'::text))::integer)"
        ));
        assert!(!reads_session("(owner = CURRENT_USER)"));
    }

    #[test]
    fn an_owner_escaping_rls_breaks_priv_014() {
        let t = table(4, vec![rows("owner", 4, false), rows("clerk", 1, true)]);
        let j = t.priv_014();
        assert_eq!(j.outcome, Outcome::Broken);
        assert!(j.note.contains("\"owner\" (4 rows)"), "{}", j.note);
        // The owner does not count for PRIV-015: its rows are not the policies' doing.
        assert_eq!(t.priv_015().outcome, Outcome::Holds);
    }

    #[test]
    fn an_uncounted_total_decides_nothing() {
        let mut t = table(4, vec![rows("app", 4, true)]);
        t.total = Err("ERROR 57014: canceling statement due to statement timeout".into());
        assert_eq!(t.priv_015().outcome, Outcome::Inconclusive);
        assert_eq!(t.priv_014().outcome, Outcome::Inconclusive);
        assert!(t.answer().contains("57014"));
    }

    #[test]
    fn the_answer_holds_counts_and_names_only() {
        let t = table(4, vec![rows("app", 2, true), failed("x")]);
        assert_eq!(
            t.answer(),
            "total: 4 row(s), counted as \"postgres\" (RLS bypassed); \"app\": 2 row(s) \
             visible, RLS active; \"x\": not counted (ERROR 42501: permission denied to set \
             role); bypass RLS, not counted: \"postgres\""
        );
    }
}

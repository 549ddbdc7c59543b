//! Guide section 5: audit trails with pgAudit and PostgreSQL logging (AUD-*).
//!
//! Each AUD check lives in its own file under `audit/` (`aud_001_…` to
//! `aud_014_…`) with its evidence, its fix builder and its fixtures. This
//! module keeps the section's check list, in guide order, and the helpers
//! several of those files share: whether pgAudit is preloaded, the system
//! logger destinations and the ranking of message levels. Settings are
//! judged with [`super::expect`], and every role- or database-settable one
//! through [`super::login_settings`]. This module and the files under
//! `audit/` import only the snapshot, the policy, `facts`, `expect`,
//! `login_settings`, `definers`, `phi` and `privileges` (the tests also
//! `testkit`); never `db`, `ui` or another section file.

mod aud_001_pgaudit_loaded;
mod aud_002_pgaudit_log_classes;
mod aud_003_pgaudit_object_role;
mod aud_004_phi_in_logs;
mod aud_005_logging_collector;
mod aud_006_structured_log_destination;
mod aud_007_session_logging;
mod aud_008_log_line_prefix;
mod aud_009_log_statement_ddl;
mod aud_010_log_levels;
mod aud_011_log_timezone_utc;
mod aud_012_clock_skew;
mod aud_013_log_files_outside_pgdata;
mod aud_014_log_replication_commands;

use super::facts::{describe, library_listed, need_setting, value};
use super::{Check, Verdict};
use crate::model::settings::split_list;
use crate::model::snapshot::{Setting, Snapshot};
use aud_001_pgaudit_loaded::PGAUDIT_LOADED;
use aud_002_pgaudit_log_classes::PGAUDIT_LOG_CLASSES;
use aud_003_pgaudit_object_role::PGAUDIT_OBJECT_ROLE;
use aud_004_phi_in_logs::PHI_IN_LOGS;
use aud_005_logging_collector::LOGGING_COLLECTOR;
use aud_006_structured_log_destination::STRUCTURED_LOG_DESTINATION;
use aud_007_session_logging::SESSION_LOGGING;
use aud_008_log_line_prefix::LOG_LINE_PREFIX;
use aud_009_log_statement_ddl::LOG_STATEMENT_DDL;
use aud_010_log_levels::LOG_LEVELS;
use aud_011_log_timezone_utc::LOG_TIMEZONE_UTC;
use aud_012_clock_skew::CLOCK_SKEW;
use aud_013_log_files_outside_pgdata::LOG_FILES_OUTSIDE_PGDATA;
use aud_014_log_replication_commands::LOG_REPLICATION_COMMANDS;

pub static CHECKS: &[&Check] = &[
    &PGAUDIT_LOADED,
    &PGAUDIT_LOG_CLASSES,
    &PGAUDIT_OBJECT_ROLE,
    &PHI_IN_LOGS,
    &LOGGING_COLLECTOR,
    &STRUCTURED_LOG_DESTINATION,
    &SESSION_LOGGING,
    &LOG_LINE_PREFIX,
    &LOG_STATEMENT_DDL,
    &LOG_LEVELS,
    &LOG_TIMEZONE_UTC,
    &CLOCK_SKEW,
    &LOG_FILES_OUTSIDE_PGDATA,
    &LOG_REPLICATION_COMMANDS,
];

// ---------------------------------------------------------------------------
// Helpers

/// `shared_preload_libraries` and whether it loads pgaudit, or unknown.
fn pgaudit_preload(s: &Snapshot) -> Result<(&Setting, bool), Verdict> {
    let spl = need_setting(s, "shared_preload_libraries")?;
    Ok((spl, library_listed(value(spl), "pgaudit")))
}

/// Evidence that pgaudit is not loaded, so its settings mean nothing.
fn pgaudit_not_loaded(spl: &Setting) -> Verdict {
    Verdict::fail(format!(
        "pgaudit not loaded: {}; fix AUD-001 first",
        describe("shared_preload_libraries", spl)
    ))
}

/// Destinations that leave the host's PostgreSQL process (kept by the OS).
fn system_log_destination(destinations: &str) -> bool {
    split_list(destinations)
        .iter()
        .any(|d| d.eq_ignore_ascii_case("syslog") || d.eq_ignore_ascii_case("eventlog"))
}

/// Message levels from most to least verbose, as log_min_messages orders them.
const MESSAGE_LEVELS: &[&str] = &[
    "debug5", "debug4", "debug3", "debug2", "debug1", "info", "notice", "warning", "error", "log",
    "fatal", "panic",
];

fn level_rank(level: &str) -> Option<usize> {
    let level = level.trim().to_ascii_lowercase();
    let level = if level == "debug" {
        "debug2".to_string()
    } else {
        level
    };
    MESSAGE_LEVELS.iter().position(|l| *l == level)
}

// ---------------------------------------------------------------------------
// Tests

/// `check`'s verdict under the default policy.
#[cfg(test)]
fn eval(check: &Check, s: &Snapshot) -> Verdict {
    (check.evaluate)(s, &crate::policy::Policy::default())
}

/// A snapshot that preloads pgaudit (after pg_stat_statements), has the
/// extension in the connected database and the `extra` settings.
#[cfg(test)]
fn pgaudit_ready(extra: &[(&str, &str)]) -> Snapshot {
    use super::testkit::{db, set, with_settings};
    use crate::model::snapshot::Extension;
    let mut s = with_settings(&[("shared_preload_libraries", "pg_stat_statements,pgaudit")]);
    for (n, v) in extra {
        set(&mut s, n, v);
    }
    db(&mut s).extensions = Some(vec![Extension {
        name: "pgaudit".into(),
        version: "1.7".into(),
        schema: "public".into(),
    }]);
    s
}

/// Every AUD check's fixtures, in guide order.
#[cfg(test)]
pub fn cases() -> Vec<super::testkit::Case> {
    [
        aud_001_pgaudit_loaded::cases(),
        aud_002_pgaudit_log_classes::cases(),
        aud_003_pgaudit_object_role::cases(),
        aud_004_phi_in_logs::cases(),
        aud_005_logging_collector::cases(),
        aud_006_structured_log_destination::cases(),
        aud_007_session_logging::cases(),
        aud_008_log_line_prefix::cases(),
        aud_009_log_statement_ddl::cases(),
        aud_010_log_levels::cases(),
        aud_011_log_timezone_utc::cases(),
        aud_012_clock_skew::cases(),
        aud_013_log_files_outside_pgdata::cases(),
        aud_014_log_replication_commands::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

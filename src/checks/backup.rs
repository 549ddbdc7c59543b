//! Guide section 6: backups and point-in-time recovery (BAK-*).
//!
//! Each BAK check lives in its own file under `backup/` (`bak_001_…` to
//! `bak_008_…`) with its evidence, its fix and its fixtures; BAK-005 to
//! BAK-008 are outside what SQL can see and are attested. This module keeps
//! the section's check list, in guide order, and the helpers several of
//! those files share: whether archive_mode archives, and whether an
//! archive_command discards WAL. Evidence that quotes a shell command goes
//! through [`super::redact`]. This module and the files under `backup/`
//! import only the snapshot, the policy, `facts`, `expect` and `redact` (the
//! tests also `testkit`); never `db`, `ui` or another section file.

mod bak_001_wal_archiving_on;
mod bak_002_archive_target;
mod bak_003_archiver_healthy;
mod bak_004_archive_timeout;
mod bak_005_base_backup_fresh;
mod bak_006_backup_retention;
mod bak_007_backup_encryption;
mod bak_008_restore_drill;

use super::Check;
use bak_001_wal_archiving_on::WAL_ARCHIVING_ON;
use bak_002_archive_target::ARCHIVE_TARGET;
use bak_003_archiver_healthy::ARCHIVER_HEALTHY;
use bak_004_archive_timeout::ARCHIVE_TIMEOUT;
use bak_005_base_backup_fresh::BASE_BACKUP_FRESH;
use bak_006_backup_retention::BACKUP_RETENTION;
use bak_007_backup_encryption::BACKUP_ENCRYPTION;
use bak_008_restore_drill::RESTORE_DRILL;

pub static CHECKS: &[&Check] = &[
    &WAL_ARCHIVING_ON,
    &ARCHIVE_TARGET,
    &ARCHIVER_HEALTHY,
    &ARCHIVE_TIMEOUT,
    &BASE_BACKUP_FRESH,
    &BACKUP_RETENTION,
    &BACKUP_ENCRYPTION,
    &RESTORE_DRILL,
];

// ---------------------------------------------------------------------------
// Helpers

fn archiving_mode_on(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "on" | "always")
}

/// Whether an archive_command returns success without keeping the file.
fn discards_wal(command: &str) -> bool {
    let segments: Vec<&str> = command
        .split([';', '|', '&'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect();
    !segments.is_empty() && segments.iter().all(|part| is_no_op(part))
}

fn is_no_op(segment: &str) -> bool {
    let mut words = segment.split_whitespace();
    let program = words.next().unwrap_or("");
    let program = program.rsplit('/').next().unwrap_or(program);
    let args: Vec<&str> = words.collect();
    match program {
        "true" | ":" | "echo" | "rem" => true,
        "exit" => args.is_empty() || args == ["0"],
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Tests

/// `check`'s verdict under the default policy.
#[cfg(test)]
fn eval(check: &Check, s: &crate::model::snapshot::Snapshot) -> super::Verdict {
    (check.evaluate)(s, &crate::policy::Policy::default())
}

/// Every BAK check's fixtures, in guide order.
#[cfg(test)]
pub fn cases() -> Vec<super::testkit::Case> {
    [
        bak_001_wal_archiving_on::cases(),
        bak_002_archive_target::cases(),
        bak_003_archiver_healthy::cases(),
        bak_004_archive_timeout::cases(),
        bak_005_base_backup_fresh::cases(),
        bak_006_backup_retention::cases(),
        bak_007_backup_encryption::cases(),
        bak_008_restore_drill::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

//! Guide section 6: backups and point-in-time recovery (BAK-*).

use super::Check;

pub static CHECKS: &[&Check] = &[];

#[cfg(test)]
pub fn cases() -> Vec<super::testkit::Case> {
    Vec::new()
}

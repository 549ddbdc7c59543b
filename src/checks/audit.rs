//! Guide section 5: audit trails with pgAudit and PostgreSQL logging (AUD-*).

use super::Check;

pub static CHECKS: &[&Check] = &[];

#[cfg(test)]
pub fn cases() -> Vec<super::testkit::Case> {
    Vec::new()
}

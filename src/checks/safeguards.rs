//! Guide section 1: HIPAA safeguards mapped to database controls (GEN-*, ADM-*).

use super::Check;

pub static CHECKS: &[&Check] = &[];

#[cfg(test)]
pub fn cases() -> Vec<super::testkit::Case> {
    Vec::new()
}

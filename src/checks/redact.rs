//! Evidence that quotes settings which may hold credentials goes through
//! [`describe_redacted`]; the redaction itself lives in [`crate::model::redact`],
//! shared with the collector.

use super::facts::describe;
use crate::model::snapshot::Setting;

pub use crate::model::redact::redact_command;

/// `describe()` of a setting whose value may hold credentials.
pub fn describe_redacted(name: &str, setting: &Setting) -> String {
    let mut shown = setting.clone();
    shown.setting = setting.setting.as_deref().map(redact_command);
    describe(name, &shown)
}

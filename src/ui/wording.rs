//! How values read on screen: times for people, and apply classes as a word
//! and an explanation. Pure text, shared by several pages; imports only the
//! model.

use crate::model::finding::ApplyClass;

/// RFC 3339 to "2026-11-27 10:00 UTC" for people.
pub fn display_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => rfc3339.to_string(),
    }
}

/// An apply class in a word or two, as its chip shows it.
pub fn apply_class_word(class: ApplyClass) -> &'static str {
    match class {
        ApplyClass::Immediate => "immediate",
        ApplyClass::Reload => "reload",
        ApplyClass::Restart => "restart",
        ApplyClass::ConfigFile => "config file",
        ApplyClass::Offline => "offline",
        ApplyClass::Os => "operating system",
        ApplyClass::Manual => "manual",
    }
}

/// What an apply class means for the person applying the fix.
pub fn apply_class_explanation(class: ApplyClass) -> &'static str {
    match class {
        ApplyClass::Immediate => "takes effect when the statement commits",
        ApplyClass::Reload => "ALTER SYSTEM, then SELECT pg_reload_conf()",
        ApplyClass::Restart => "needs a server restart to take effect",
        ApplyClass::ConfigFile => "edit pg_hba.conf / pg_ident.conf, then reload",
        ApplyClass::Offline => "a tool run while the cluster is stopped",
        ApplyClass::Os => "done on the operating system, not in SQL",
        ApplyClass::Manual => "a person does it and attests",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_reads_as_date_minutes_and_utc_and_odd_text_stays_as_it_is() {
        assert_eq!(display_time("2026-11-27T10:00:59Z"), "2026-11-27 10:00 UTC");
        assert_eq!(display_time("yesterday"), "yesterday");
    }
}

//! What the audit probe needs from the server's logging, decided from the
//! snapshot's settings: is pgAudit loaded, can a log line be tied to the
//! probe's session (`%a` in `log_line_prefix`, or a csvlog / jsonlog record,
//! which always carries `application_name`), and which line is the proof.
//!
//! Pure; imports only `model`.

use crate::model::snapshot::Snapshot;

/// The log format the probe reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain lines, tied to a session by `%a` in `log_line_prefix`.
    Stderr,
    Csv,
    Json,
}

impl Format {
    /// The name `pg_current_logfile()` and `current_logfiles` use.
    pub fn id(self) -> &'static str {
        match self {
            Format::Stderr => "stderr",
            Format::Csv => "csvlog",
            Format::Json => "jsonlog",
        }
    }
}

fn value<'s>(snapshot: &'s Snapshot, name: &str) -> Option<&'s str> {
    snapshot.setting(name).map(|s| s.value())
}

/// `Ok` when pgAudit is loaded (in `shared_preload_libraries`, or its
/// settings exist); otherwise why the probe cannot run.
pub fn pgaudit_loaded(snapshot: &Snapshot) -> Result<(), String> {
    if snapshot.settings.is_none() {
        return Err(
            "the server's settings were not collected, so it is not known whether \
                    pgAudit is loaded"
                .into(),
        );
    }
    let preload = value(snapshot, "shared_preload_libraries").unwrap_or("");
    let listed = preload
        .split(',')
        .map(|lib| lib.trim().trim_matches('"'))
        .any(|lib| lib == "pgaudit" || lib.ends_with("/pgaudit"));
    if listed || snapshot.setting("pgaudit.log").is_some() {
        Ok(())
    } else {
        Err(format!(
            "pgAudit is not loaded (shared_preload_libraries = {preload:?}): nothing can write \
             an AUDIT line, so there is no audited read to look for (AUD-001 reports it)"
        ))
    }
}

/// The format to read, or why no log line can be tied to the probe's session.
pub fn format_to_read(snapshot: &Snapshot) -> Result<Format, String> {
    let destination = value(snapshot, "log_destination").unwrap_or("");
    let collector = value(snapshot, "logging_collector").unwrap_or("");
    let prefix = value(snapshot, "log_line_prefix").unwrap_or("");
    let has = |name: &str| {
        destination
            .split(',')
            .any(|d| d.trim().eq_ignore_ascii_case(name))
    };
    if snapshot.settings.is_none() {
        return Err("the server's logging settings were not collected".into());
    }
    let files = has("stderr") || has("csvlog") || has("jsonlog");
    if !files {
        return Err(format!(
            "log_destination = {destination:?}: the log goes to syslog or the event log, which \
             neither SQL nor this machine's files reach"
        ));
    }
    if collector != "on" {
        return Err(format!(
            "logging_collector is {collector:?}: the server's stderr goes wherever its start \
             script sent it, which neither pg_current_logfile() nor this probe can find"
        ));
    }
    if has("jsonlog") {
        Ok(Format::Json)
    } else if has("csvlog") {
        Ok(Format::Csv)
    } else if prefix.contains("%a") {
        Ok(Format::Stderr)
    } else {
        Err(format!(
            "log_line_prefix = {prefix:?} has no %a and the log is neither csvlog nor jsonlog: \
             an audit line cannot be tied to the probe's session"
        ))
    }
}

/// The first pgAudit line of the tagged session: it carries the tag (the
/// session's `application_name`) and `AUDIT: `. A `statement:` line of the
/// same session (log_statement) is no audit line.
pub fn audit_line<'t>(log: &'t str, tag: &str) -> Option<&'t str> {
    log.lines()
        .find(|line| line.contains(tag) && line.contains("AUDIT: "))
}

/// The `statement:` line of the tagged read (log_statement), to show what
/// was logged instead of an audit line.
pub fn statement_line<'t>(log: &'t str, tag: &str, statement: &str) -> Option<&'t str> {
    log.lines()
        .find(|line| line.contains(tag) && line.contains("statement: ") && line.contains(statement))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::snapshot::Setting;
    use std::collections::BTreeMap;

    fn with(settings: &[(&str, &str)]) -> Snapshot {
        let settings: BTreeMap<String, Setting> = settings
            .iter()
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    Setting {
                        setting: Some((*v).to_owned()),
                        ..Setting::default()
                    },
                )
            })
            .collect();
        Snapshot {
            settings: Some(settings),
            ..Snapshot::default()
        }
    }

    #[test]
    fn pgaudit_is_loaded_when_preloaded_or_its_settings_exist() {
        assert!(pgaudit_loaded(&with(&[(
            "shared_preload_libraries",
            "auth_delay, pgaudit"
        )]))
        .is_ok());
        assert!(pgaudit_loaded(&with(&[("pgaudit.log", "ddl")])).is_ok());
        let err = pgaudit_loaded(&with(&[("shared_preload_libraries", "pg_stat_statements")]))
            .unwrap_err();
        assert!(err.contains("pg_stat_statements"), "{err}");
        assert!(pgaudit_loaded(&Snapshot::default()).is_err());
    }

    #[test]
    fn the_log_must_tie_a_line_to_the_session() {
        let collector = ("logging_collector", "on");
        assert_eq!(
            format_to_read(&with(&[
                ("log_destination", "stderr,jsonlog"),
                collector,
                ("log_line_prefix", "%m ")
            ])),
            Ok(Format::Json)
        );
        assert_eq!(
            format_to_read(&with(&[("log_destination", "csvlog"), collector])),
            Ok(Format::Csv)
        );
        assert_eq!(
            format_to_read(&with(&[
                ("log_destination", "stderr"),
                collector,
                ("log_line_prefix", "%m app=%a ")
            ])),
            Ok(Format::Stderr)
        );
        let no_app = format_to_read(&with(&[
            ("log_destination", "stderr"),
            collector,
            ("log_line_prefix", "%m [%p] "),
        ]))
        .unwrap_err();
        assert!(no_app.contains("%a"), "{no_app}");
        let syslog = format_to_read(&with(&[("log_destination", "syslog"), collector]));
        assert!(syslog.unwrap_err().contains("syslog"));
        let off = format_to_read(&with(&[
            ("log_destination", "stderr"),
            ("logging_collector", "off"),
            ("log_line_prefix", "%a"),
        ]));
        assert!(off.unwrap_err().contains("logging_collector"));
    }

    #[test]
    fn only_an_audit_line_with_the_tag_counts() {
        let tag = "pgsafeguard-probe-0123abcd";
        let log = "2026-01-01 00:00:00 UTC app=pgsafeguard-probe-0123abcd LOG:  statement: SELECT * FROM public.patients LIMIT 0\n\
                   2026-01-01 00:00:00 UTC app=psql LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1,<not logged>\n";
        assert_eq!(audit_line(log, tag), None);
        assert!(statement_line(log, tag, "LIMIT 0").is_some());
        assert!(statement_line(log, tag, "other").is_none());
        let json = format!(
            "{{\"timestamp\":\"2026-01-01\",\"application_name\":\"{tag}\",\"message\":\"AUDIT: \
             OBJECT,1,1,READ,SELECT,TABLE,public.patients,SELECT * FROM public.patients LIMIT 0,<not logged>\"}}\n"
        );
        assert!(audit_line(&json, tag).unwrap().contains("OBJECT"));
    }
}

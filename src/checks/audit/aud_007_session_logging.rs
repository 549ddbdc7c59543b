//! AUD-007: connections (receipt, authentication, authorization) and
//! disconnections are logged, in either version's log_connections syntax.

use crate::checks::expect::{expect_all, fix_settings, Expect};
use crate::checks::facts::{is_on, major_version};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::settings::split_list;
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static SESSION_LOGGING: Check = Check {
    id: "AUD-007",
    section: Section::Audit,
    title: "Connections and disconnections are logged",
    severity: Severity::Medium,
    hipaa: &["164.308(a)(5)(ii)(C)", "164.312(b)"],
    cis: Some("3.1.20–21"),
    rationale: "Log-in monitoring needs a record of who connected from where, as which role, \
        and when the session ended. Before PostgreSQL 18 log_connections is on/off; from 18 \
        it is a list of aspects (receipt, authentication, authorization, setup_durations, \
        all), where `on` still means the first three and an empty list means off. Each of \
        receipt, authentication and authorization must be logged. Medium: failed log-ins \
        are logged anyway, successful ones are not.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings \
        WHERE name IN ('log_connections', 'log_disconnections');",
    evaluate: session_logging,
    fix: Fix::Build(log_sessions),
};

/// The aspects of PostgreSQL 18's log_connections that pre-18 `on` logged.
const CONNECTION_ASPECTS: &[&str] = &["receipt", "authentication", "authorization"];

/// Whether log_connections records receipt, authentication and
/// authorization, whichever version's syntax the value uses.
fn connections_logged(v: &str) -> bool {
    if is_on(v) {
        return true;
    }
    let aspects: Vec<String> = split_list(v)
        .iter()
        .map(|a| a.to_ascii_lowercase())
        .collect();
    aspects.iter().any(|a| a == "all")
        || CONNECTION_ASPECTS
            .iter()
            .all(|wanted| aspects.iter().any(|a| a == wanted))
}

fn session_rules(s: &Snapshot) -> [Expect; 2] {
    let list_syntax = major_version(s).is_some_and(|m| m >= 18);
    [
        Expect {
            name: "log_connections",
            wanted: if list_syntax {
                "receipt,authentication,authorization"
            } else {
                "on"
            },
            ok: connections_logged,
            fix_value: if list_syntax {
                "receipt,authentication,authorization"
            } else {
                "on"
            },
        },
        Expect {
            name: "log_disconnections",
            wanted: "on",
            ok: is_on,
            fix_value: "on",
        },
    ]
}

fn session_logging(s: &Snapshot, _: &Policy) -> Verdict {
    expect_all(s, &session_rules(s))
}

fn log_sessions(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    fix_settings(
        s,
        verdict,
        &session_rules(s),
        &[ApplyClass::Reload],
        "applies to sessions started after the reload",
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
    vec![Case::new(
        "AUD-007",
        with_settings(&[("log_connections", "on"), ("log_disconnections", "on")]),
        with_settings(&[("log_connections", "off"), ("log_disconnections", "on")]),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::audit::eval;
    use crate::checks::testkit::with_settings;
    use crate::model::finding::Status;

    #[test]
    fn pg18_log_connections_is_a_list() {
        for (v, ok) in [
            ("on", true),
            ("off", false),
            ("", false),
            ("all", true),
            ("receipt,authentication,authorization", true),
            (
                "authentication, receipt, authorization,setup_durations",
                true,
            ),
            ("authentication", false),
            ("receipt,authorization", false),
        ] {
            assert_eq!(connections_logged(v), ok, "{v:?}");
        }
        let mut s = with_settings(&[
            ("log_connections", "authentication"),
            ("log_disconnections", "on"),
        ]);
        s.target.server_version_num = Some(180001);
        let v = eval(&SESSION_LOGGING, &s);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(
            SESSION_LOGGING.plan(&s, &v).statements,
            vec!["ALTER SYSTEM SET \"log_connections\" = 'receipt,authentication,authorization'"]
        );
    }
}

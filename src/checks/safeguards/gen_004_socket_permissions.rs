//! GEN-004: whether unix_socket_permissions keeps the Unix socket within
//! 0770 (not open to every local account).

use crate::checks::expect::{expect_all, Expect};
use crate::checks::facts::{describe, parse_mode, value};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static SOCKET_PERMISSIONS: Check = Check {
    id: "GEN-004",
    section: Section::Safeguards,
    title: "The Unix socket is not open to every local user",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "unix_socket_permissions is a bit mask; the default 0777 lets every local \
        account reach the socket, so peer and trust lines for local connections become \
        reachable to any shell user. No bit outside 0770 may be set (0707 fails as much as \
        0777). Not applicable when no socket directory is configured. Medium: needs a \
        local account first.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings \
        WHERE name IN ('unix_socket_permissions', 'unix_socket_directories');",
    evaluate: socket_permissions,
    fix: Fix::SetParameter {
        name: "unix_socket_permissions",
        value: "0770",
        apply: &[ApplyClass::Restart],
        note: "set unix_socket_group to the group of local clients that need the socket",
    },
};

fn socket_mode_ok(v: &str) -> bool {
    parse_mode(v).is_some_and(|mode| mode & !0o770 == 0)
}

fn socket_permissions(s: &Snapshot, _: &Policy) -> Verdict {
    if let Some(dirs) = s.setting("unix_socket_directories") {
        if value(dirs).trim().is_empty() {
            return Verdict::not_applicable(format!(
                "{}: the server creates no Unix socket",
                describe("unix_socket_directories", dirs)
            ));
        }
    }
    expect_all(
        s,
        &[Expect {
            name: "unix_socket_permissions",
            wanted: "no bits outside 0770",
            ok: socket_mode_ok,
            fix_value: "0770",
        }],
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};

    vec![Case::new(
        "GEN-004",
        with_settings(&[("unix_socket_permissions", "0770")]),
        with_settings(&[("unix_socket_permissions", "0777")]),
    )]
}

#[cfg(test)]
mod tests {
    use super::super::eval;
    use super::*;
    use crate::checks::testkit::with_settings;
    use crate::model::finding::Status;

    #[test]
    fn socket_modes_are_bit_masks() {
        for (mode, ok) in [
            ("0770", true),
            ("0700", true),
            ("0750", true),
            ("0", true),
            ("0777", false),
            ("0707", false),
            ("0771", false),
            ("511", false),
            ("448", true),
            ("junk", false),
        ] {
            assert_eq!(socket_mode_ok(mode), ok, "{mode}");
        }
        let s = with_settings(&[
            ("unix_socket_directories", ""),
            ("unix_socket_permissions", "0777"),
        ]);
        assert_eq!(eval(&SOCKET_PERMISSIONS, &s).status, Status::NotApplicable);
    }
}

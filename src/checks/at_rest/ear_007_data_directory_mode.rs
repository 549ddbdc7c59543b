//! EAR-007: whether the data directory is private to the server account
//! (0700 passes, group-readable 0750 warns).

use crate::checks::facts::{
    describe, excess_bits, major_version, need_setting, parse_mode, settle, value,
};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

pub static DATA_DIRECTORY_MODE: Check = Check {
    id: "EAR-007",
    section: Section::AtRest,
    title: "The data directory is private to the server account",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "With group access (0750, initdb --allow-group-read) every member of the \
        server's OS group can read all table files, PHI included, without any database \
        permission. PostgreSQL allows only 0700 or 0750, so 0700 passes and 0750 gives \
        `warn` (a documented choice for backup agents that must be justified). Before \
        PostgreSQL 11 the server refuses to start unless the directory is 0700. OS-level \
        access control under the database's own, so medium.",
    reproduce_sql: "SELECT name, setting FROM pg_settings WHERE name IN ('data_directory_mode', 'data_directory');",
    evaluate: |s, p| settle(data_directory_mode(s, p)),
    fix: Fix::Instructions {
        apply: &[ApplyClass::Os, ApplyClass::Restart],
        note: "as the postgres OS user: chmod 0700 \"$PGDATA\" and chmod -R g-rwx \"$PGDATA\"; \
            restart so that new files are created without group access",
    },
};

fn data_directory_mode(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    if s.settings.is_some() && s.setting("data_directory_mode").is_none() {
        if let Some(major) = major_version(s).filter(|m| *m < 11) {
            return Ok(Verdict::pass(format!(
                "PostgreSQL {major} refuses to start unless the data directory is 0700"
            )));
        }
    }
    let setting = need_setting(s, "data_directory_mode")?;
    let seen = describe("data_directory_mode", setting);
    let Some(mode) = parse_mode(value(setting)) else {
        return Err(Verdict::unknown(format!("{seen}: not a file mode"), None));
    };
    Ok(if excess_bits(mode, 0o700) == 0 {
        Verdict::pass(seen)
    } else if excess_bits(mode, 0o750) == 0 {
        Verdict::warn(format!(
            "{seen}; the server's OS group can read every data file"
        ))
    } else {
        Verdict::fail(format!("{seen}; other accounts can reach the data files"))
    })
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};

    vec![Case::new(
        "EAR-007",
        with_settings(&[("data_directory_mode", "0700")]),
        with_settings(&[("data_directory_mode", "0755")]),
    )]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::run;
    use super::*;
    use crate::checks::testkit::with_settings;
    use crate::model::finding::Status;

    #[test]
    fn group_readable_data_directory_warns_and_old_servers_pass() {
        assert_eq!(
            run(
                &DATA_DIRECTORY_MODE,
                &with_settings(&[("data_directory_mode", "0750")])
            )
            .status,
            Status::Warn
        );
        let mut pg10 = with_settings(&[("ssl", "on")]);
        pg10.target.server_version_num = Some(100_023);
        assert_eq!(run(&DATA_DIRECTORY_MODE, &pg10).status, Status::Pass);
        let mut pg15 = with_settings(&[("ssl", "on")]);
        pg15.target.server_version_num = Some(150_018);
        assert_eq!(run(&DATA_DIRECTORY_MODE, &pg15).status, Status::Unknown);
    }
}

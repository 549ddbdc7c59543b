//! EAR-008: whether the configuration files and the TLS key on the host are
//! owned by the server account (or root) with no mode bits beyond their limit.

use crate::checks::facts::{excess_bits, listing, settle};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::{FileFact, HostFacts, Snapshot};
use crate::policy::Policy;

pub static CONFIG_FILE_MODES: Check = Check {
    id: "EAR-008",
    section: Section::AtRest,
    title: "Configuration and key files are private to the server account",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "postgresql.conf, pg_hba.conf and pg_ident.conf reveal and control access; the \
        TLS private key lets anyone impersonate the server. They must be owned by the \
        server account (or root) with no bits outside 0640, the key 0600 (0640 when owned \
        by root, as PostgreSQL itself accepts). Modes are compared as bit masks. SQL cannot \
        see file modes: the check needs pgSafeguard running on the database host, \
        otherwise it is manual. OS-level protection of configuration, so medium.",
    reproduce_sql: "SELECT name, setting FROM pg_settings WHERE name IN \
        ('config_file', 'hba_file', 'ident_file', 'ssl_key_file'); \
        -- then on the host: stat -c '%a %U %n' <each file>",
    evaluate: |s, p| settle(config_file_modes(s, p)),
    fix: Fix::Build(config_file_modes_plan),
};

/// Files judged, with the mode bits they may have.
const PRIVATE_FILES: &[(&str, u32)] = &[
    ("config_file", 0o640),
    ("hba_file", 0o640),
    ("ident_file", 0o640),
    ("ssl_key_file", 0o600),
];

/// The server's OS account: the owner of the data directory (PostgreSQL
/// refuses to start otherwise), else `postgres`.
fn server_account(host: &HostFacts) -> &str {
    host.files
        .iter()
        .find(|f| f.role == "data_directory")
        .and_then(|f| f.owner.as_deref())
        .unwrap_or("postgres")
}

/// One file's problem, when it has one: the object, the chmod/chown to run.
struct FileProblem<'a> {
    fact: &'a FileFact,
    object: String,
    mode: Option<u32>,
    owner: bool,
}

/// Problems of the judged files, and the files whose facts could not be read.
fn file_problems<'a>(host: &'a HostFacts) -> (Vec<FileProblem<'a>>, Vec<String>) {
    let account = server_account(host);
    let mut problems = Vec::new();
    let mut unreadable = Vec::new();
    for (role, max) in PRIVATE_FILES {
        for fact in host.files.iter().filter(|f| f.role == *role) {
            let (Some(mode), Some(owner), None) = (fact.mode, fact.owner.as_deref(), &fact.error)
            else {
                unreadable.push(format!(
                    "{role} {}: {}",
                    fact.path,
                    fact.error.as_deref().unwrap_or("mode or owner not read")
                ));
                continue;
            };
            let allowed = if *role == "ssl_key_file" && owner == "root" {
                0o640
            } else {
                *max
            };
            let bad_mode = excess_bits(mode, allowed) != 0;
            let bad_owner = owner != account && owner != "root";
            if !bad_mode && !bad_owner {
                continue;
            }
            let mut why = Vec::new();
            if bad_mode {
                why.push(format!("mode {:04o} exceeds {allowed:04o}", mode & 0o7777));
            }
            if bad_owner {
                why.push(format!("owned by {owner}, not {account}"));
            }
            problems.push(FileProblem {
                fact,
                object: format!("{role} {}: {}", fact.path, why.join(", ")),
                mode: bad_mode.then_some(allowed),
                owner: bad_owner,
            });
        }
    }
    (problems, unreadable)
}

fn config_file_modes(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let Some(host) = &s.host else {
        return Ok(Verdict::manual(
            "file modes cannot be read over SQL: run pgSafeguard on the database host, or \
             attest that configuration files are 0640 or stricter and the TLS key 0600, owned \
             by the server account",
        ));
    };
    let (problems, unreadable) = file_problems(host);
    if !problems.is_empty() {
        let objects: Vec<String> = problems.into_iter().map(|p| p.object).collect();
        return Ok(Verdict::fail(format!(
            "{} file(s) too open: {}",
            objects.len(),
            listing(&objects)
        ))
        .with_objects(objects));
    }
    if !unreadable.is_empty() {
        return Err(Verdict::unknown(
            format!("could not read: {}", listing(&unreadable)),
            None,
        ));
    }
    let judged: Vec<String> = host
        .files
        .iter()
        .filter(|f| PRIVATE_FILES.iter().any(|(r, _)| *r == f.role))
        .map(|f| {
            format!(
                "{} {:04o} {}",
                f.path,
                f.mode.unwrap_or(0) & 0o7777,
                f.owner.as_deref().unwrap_or("?")
            )
        })
        .collect();
    if judged.is_empty() {
        return Err(Verdict::unknown(
            "no configuration or key file was inspected on the host",
            None,
        ));
    }
    Ok(Verdict::pass(format!(
        "on the host, owned by {}: {}",
        server_account(host),
        listing(&judged)
    )))
}

/// A path quoted for a POSIX shell. Always single quotes: `shlex::try_quote`
/// leaves plain names bare and double-quotes names with `'`, which would
/// change the commands this fix shows.
fn shell_quote(path: &str) -> String {
    format!("'{}'", path.replace('\'', "'\\''"))
}

fn config_file_modes_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let mut commands = Vec::new();
    if let Some(host) = &s.host {
        let account = server_account(host);
        for problem in file_problems(host).0 {
            if !verdict.objects.contains(&problem.object) {
                continue;
            }
            let path = shell_quote(&problem.fact.path);
            if problem.owner {
                commands.push(format!("chown {} {path}", shell_quote(account)));
            }
            if let Some(mode) = problem.mode {
                commands.push(format!("chmod {mode:04o} {path}"));
            }
        }
    }
    FixPlan {
        apply: vec![ApplyClass::Os],
        needs: "root or the file owner on the database host".into(),
        note: if commands.is_empty() {
            "run pgSafeguard on the database host to get the exact commands".into()
        } else {
            format!("on the database host: {}", commands.join("; "))
        },
        ..FixPlan::default()
    }
}

#[cfg(test)]
fn config_files(hba_mode: u32) -> Vec<FileFact> {
    use super::fixtures::file;

    vec![
        file(
            "config_file",
            "/etc/postgresql/15/main/postgresql.conf",
            0o100644 & !0o004,
            "postgres",
        ),
        file(
            "hba_file",
            "/etc/postgresql/15/main/pg_hba.conf",
            0o100000 | hba_mode,
            "postgres",
        ),
        file(
            "ssl_key_file",
            "/etc/ssl/private/server.key",
            0o100600,
            "postgres",
        ),
    ]
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::on_host;
    use crate::checks::testkit::Case;

    vec![Case::new(
        "EAR-008",
        on_host(config_files(0o640)),
        on_host(config_files(0o644)),
    )]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{file, on_host, run};
    use super::*;
    use crate::model::finding::Status;

    #[test]
    fn root_owned_key_may_be_group_readable() {
        let s = on_host(vec![file(
            "ssl_key_file",
            "/etc/ssl/private/ssl-cert-snakeoil.key",
            0o100640,
            "root",
        )]);
        assert_eq!(run(&CONFIG_FILE_MODES, &s).status, Status::Pass);
        let wrong = on_host(vec![file(
            "hba_file",
            "/etc/pg_hba.conf",
            0o100640,
            "www-data",
        )]);
        assert_eq!(run(&CONFIG_FILE_MODES, &wrong).status, Status::Fail);
    }

    #[test]
    fn unreadable_file_facts_are_unknown() {
        let mut broken = file("hba_file", "/etc/pg_hba.conf", 0, "postgres");
        broken.mode = None;
        broken.error = Some("permission denied".into());
        assert_eq!(
            run(&CONFIG_FILE_MODES, &on_host(vec![broken])).status,
            Status::Unknown
        );
        assert_eq!(
            run(&CONFIG_FILE_MODES, &on_host(Vec::new())).status,
            Status::Unknown
        );
    }

    #[test]
    fn file_plan_quotes_paths_for_the_shell() {
        let s = on_host(vec![file(
            "hba_file",
            "/etc/it's; rm -rf ~/pg_hba.conf",
            0o100666,
            "alice",
        )]);
        let v = run(&CONFIG_FILE_MODES, &s);
        let plan = CONFIG_FILE_MODES.plan(&s, &v);
        assert!(plan
            .note
            .contains("chmod 0640 '/etc/it'\\''s; rm -rf ~/pg_hba.conf'"));
        assert!(plan.note.contains("chown 'postgres' '/etc/it'\\''s"));
        assert_eq!(plan.apply, vec![ApplyClass::Os]);
    }
}

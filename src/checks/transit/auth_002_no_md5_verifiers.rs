//! AUTH-002: whether any role still keeps an md5 or plain-text password
//! verifier in pg_authid.

use super::{password_kinds, with_md5_deprecation};
use crate::checks::facts::{listing, settle};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::{PasswordKind, Snapshot};
use crate::policy::Policy;
use postgres_protocol::escape::escape_identifier;

pub static NO_MD5_VERIFIERS: Check = Check {
    id: "AUTH-002",
    section: Section::Transit,
    title: "No role keeps an MD5 password verifier",
    severity: Severity::High,
    hipaa: &["164.312(d)"],
    cis: None,
    rationale: "Setting password_encryption to scram-sha-256 does not convert hashes \
        already stored: a role keeps its md5 verifier (replayable, cheap to crack) until its \
        password is set again. A plain-text stored password (very old servers) is worse. \
        Weak stored credentials, so high. Reading pg_authid needs superuser; without it the \
        check is unknown (managed services never grant it: there, reset the passwords and \
        refuse md5 with the provider's setting, see AUTH-004). From PostgreSQL 18 md5 \
        passwords are deprecated.",
    reproduce_sql: "SELECT rolname, CASE WHEN rolpassword LIKE 'md5%' THEN 'md5' \
        WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram' WHEN rolpassword IS NULL THEN 'none' \
        ELSE 'plain' END AS kind FROM pg_authid WHERE rolpassword IS NOT NULL \
        AND rolpassword NOT LIKE 'SCRAM-SHA-256$%' ORDER BY 1;",
    evaluate: |s, p| settle(no_md5_verifiers(s, p)),
    fix: Fix::Build(rehash_passwords_plan),
};

fn no_md5_verifiers(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let kinds = password_kinds(s)?;
    let weak: Vec<String> = kinds
        .iter()
        .filter_map(|(role, kind)| match kind {
            PasswordKind::Md5 => Some(format!("{role} (md5)")),
            PasswordKind::Plain => Some(format!("{role} (plain text)")),
            PasswordKind::None | PasswordKind::Scram => None,
        })
        .collect();
    let scram = kinds
        .values()
        .filter(|k| **k == PasswordKind::Scram)
        .count();
    Ok(if weak.is_empty() {
        Verdict::pass(format!(
            "{} role(s) read from pg_authid; {scram} SCRAM verifier(s), none md5 or plain",
            kinds.len()
        ))
    } else {
        with_md5_deprecation(
            s,
            Verdict::fail(format!(
                "{} role(s) keep a weak password verifier: {}",
                weak.len(),
                listing(&weak)
            )),
        )
        .with_objects(
            kinds
                .iter()
                .filter(|(_, k)| matches!(k, PasswordKind::Md5 | PasswordKind::Plain))
                .map(|(r, _)| r.clone()),
        )
    })
}

fn rehash_passwords_plan(_: &Snapshot, verdict: &Verdict) -> FixPlan {
    let commands: Vec<String> = verdict
        .objects
        .iter()
        .map(|role| {
            if role.contains(['\n', '\r']) {
                format!("(role {role:?}: a name with a line break cannot be given to \\password; use a client library's password change)")
            } else {
                format!("\\password {}", escape_identifier(role))
            }
        })
        .collect();
    FixPlan {
        apply: vec![ApplyClass::Manual],
        statements: Vec::new(),
        rollback: Vec::new(),
        needs: "superuser or CREATEROLE, and each role's new password".into(),
        note: format!(
            "stored hashes cannot be converted: after AUTH-001, set each password again from \
             psql, which hashes it with SCRAM on the client so that no password reaches the \
             server log: {}. Cannot be undone: the old hashes are gone",
            commands.join("; ")
        ),
        irreversible: true,
        config_edit: None,
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::person;
    use crate::checks::testkit::{base, Case};
    let mut md5_role = base();
    person(&mut md5_role, "alice", |_| {});
    if let Some(k) = md5_role.password_kinds.as_mut() {
        k.insert("alice".into(), PasswordKind::Md5);
    }
    vec![Case::new("AUTH-002", base(), md5_role)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::with_settings;
    use crate::checks::transit::auth_001_password_encryption_scram::PASSWORD_ENCRYPTION_SCRAM;
    use crate::checks::transit::fixtures::*;
    use crate::model::finding::Status;

    #[test]
    fn md5_hashes_survive_scram_password_encryption() {
        let mut s = with_settings(&[("password_encryption", "scram-sha-256")]);
        person(&mut s, "alice", |_| {});
        if let Some(k) = s.password_kinds.as_mut() {
            k.insert("alice".into(), PasswordKind::Md5);
        }
        assert_eq!(run(&PASSWORD_ENCRYPTION_SCRAM, &s).status, Status::Pass);
        let v = run(&NO_MD5_VERIFIERS, &s);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.objects, vec!["alice".to_string()]);
        let plan = NO_MD5_VERIFIERS.plan(&s, &v);
        assert!(plan.irreversible);
        assert!(plan.statements.is_empty());
        assert!(plan.note.contains("\\password \"alice\""));
    }
}

//! TLS-007: whether a standby's primary_conninfo verifies its primary
//! (sslmode=verify-full or verify-ca), never showing the password.

use super::conninfo;
use crate::checks::facts::{describe, major_version, need_setting, settle, value};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::model::statement::{alter_system_set, restore_parameter};
use crate::policy::Policy;

pub static REPLICATION_TLS: Check = Check {
    id: "TLS-007",
    section: Section::Transit,
    title: "A standby verifies its primary over TLS",
    severity: Severity::High,
    hipaa: &["164.312(e)(1)"],
    cis: Some("7.5"),
    rationale: "A streaming standby receives every change to every PHI table. Unless \
        primary_conninfo asks for sslmode=verify-full (or verify-ca), the stream may run in \
        clear or to an impostor primary, so high. verify-ca passes but the evidence notes \
        that it does not check the host name. An empty primary_conninfo means the server is \
        not a streaming standby (not applicable); a Unix-socket host never leaves the \
        machine. The password in the string is never shown.",
    reproduce_sql: "SELECT pg_is_in_recovery(), name, setting, source, sourcefile \
        FROM pg_settings WHERE name = 'primary_conninfo'; -- read it as a superuser: the password is in it",
    evaluate: |s, p| settle(replication_tls(s, p)),
    fix: Fix::Build(replication_tls_plan),
};

fn replication_tls(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    if s.settings.is_some()
        && s.setting("primary_conninfo").is_none()
        && major_version(s).is_some_and(|m| m < 12)
    {
        return Ok(Verdict::manual(
            "before PostgreSQL 12 primary_conninfo lives in recovery.conf, which SQL cannot \
             read: check that it asks for sslmode=verify-full",
        ));
    }
    let setting = need_setting(s, "primary_conninfo")?;
    let raw = value(setting);
    let mut shown = setting.clone();
    shown.setting = Some(conninfo::redact(raw));
    let seen = describe("primary_conninfo", &shown);
    if raw.trim().is_empty() {
        return Ok(Verdict::not_applicable(format!(
            "{seen}: this server does not stream from a primary"
        )));
    }
    let Some(params) = conninfo::params(raw) else {
        return Err(Verdict::unknown(
            format!("{seen}: the connection string could not be read"),
            None,
        ));
    };
    if conninfo::get(&params, "host").is_some_and(|h| h.starts_with('/')) {
        return Ok(Verdict::pass(format!(
            "{seen}: replication connects over a Unix socket and never leaves the host"
        )));
    }
    Ok(match conninfo::get(&params, "sslmode") {
        Some("verify-full") => Verdict::pass(seen),
        Some("verify-ca") => Verdict::pass(format!(
            "{seen}; verify-ca checks the CA but not the host name (verify-full does)"
        )),
        Some(mode) => Verdict::fail(format!(
            "{seen}; sslmode={mode} does not verify the primary"
        )),
        None => Verdict::fail(format!(
            "{seen}; no sslmode, so libpq's default prefer applies: the stream may run in \
             clear and the primary is not verified"
        )),
    })
}

fn replication_tls_plan(s: &Snapshot, _: &Verdict) -> FixPlan {
    let raw = s.setting("primary_conninfo").map(value).unwrap_or_default();
    let apply = if major_version(s).is_some_and(|m| m < 13) {
        ApplyClass::Restart
    } else {
        ApplyClass::Reload
    };
    let mut note = String::from(
        "the standby needs the CA certificate in sslrootcert (default ~/.postgresql/root.crt of \
         its postgres OS user) and the primary a certificate naming the host in primary_conninfo",
    );
    let Some(new) = conninfo::with_sslmode(raw, "verify-full") else {
        return FixPlan {
            apply: vec![apply],
            needs: "superuser (ALTER SYSTEM) on the standby".into(),
            note: format!(
                "{note}; the current value could not be read: add sslmode=verify-full to it by hand"
            ),
            ..FixPlan::default()
        };
    };
    let rollback = if conninfo::has_secret(raw) {
        note.push_str(
            "; the password is left out of the new value: put it in the standby's ~/.pgpass \
             (the old value held a password, so its rollback cannot be printed: keep a copy of \
             postgresql.auto.conf)",
        );
        Vec::new()
    } else {
        vec![restore_parameter(s, "primary_conninfo")]
    };
    FixPlan {
        apply: vec![apply],
        statements: vec![alter_system_set("primary_conninfo", &new)],
        rollback,
        needs: "superuser (ALTER SYSTEM) on the standby".into(),
        note,
        ..FixPlan::default()
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
    vec![Case::new(
        "TLS-007",
        with_settings(&[(
            "primary_conninfo",
            "host=primary.example.org user=repl sslmode=verify-full",
        )]),
        with_settings(&[(
            "primary_conninfo",
            "host=primary.example.org user=repl password=[redacted]",
        )]),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::{base, with_settings};
    use crate::checks::transit::fixtures::*;
    use crate::model::finding::Status;

    #[test]
    fn replication_password_never_reaches_evidence_or_plan() {
        let raw = "host=primary user=repl password='s3cr3t' sslmode=require";
        let mut s = base();
        auto_conf(&mut s, "primary_conninfo", raw);
        let v = run(&REPLICATION_TLS, &s);
        assert_eq!(v.status, Status::Fail);
        assert!(!v.evidence.contains("s3cr3t"));
        assert!(v.evidence.contains("[redacted]"));
        let plan = REPLICATION_TLS.plan(&s, &v);
        let all = format!("{:?}", plan);
        assert!(!all.contains("s3cr3t"));
        assert_eq!(
            plan.statements,
            vec!["ALTER SYSTEM SET \"primary_conninfo\" = 'host=primary user=repl sslmode=verify-full'"]
        );
        assert!(plan.rollback.is_empty());
        let empty = with_settings(&[("primary_conninfo", "")]);
        assert_eq!(run(&REPLICATION_TLS, &empty).status, Status::NotApplicable);
        let socket = with_settings(&[("primary_conninfo", "host=/var/run/postgresql user=repl")]);
        assert_eq!(run(&REPLICATION_TLS, &socket).status, Status::Pass);
        let uri = with_settings(&[(
            "primary_conninfo",
            "postgresql://repl:pw@primary/postgres?sslmode=verify-ca",
        )]);
        let v = run(&REPLICATION_TLS, &uri);
        assert_eq!(v.status, Status::Pass);
        assert!(!v.evidence.contains(":pw@"));
    }
}

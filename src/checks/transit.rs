//! Guide section 3: encryption in transit and authentication (TLS-*, AUTH-*).
//!
//! One file per check, `transit/<id>_<name>.rs` (TLS-001 … TLS-009, AUTH-001 …
//! AUTH-017), holds its declaration, evaluate function, fix builder and its
//! passing and failing fixtures. This module keeps the `CHECKS` list (its order
//! is the order of the output), the helpers several checks share (login roles
//! and who counts as a person, time values, role-statement plans, protocol
//! ranks, stored password verifiers), the shared test fixtures and the tests
//! that span checks. Section-level helper modules: `hba_lines` (verdicts and
//! plans over single pg_hba lines), `ciphers` (the OpenSSL cipher expression
//! reader) and `conninfo` (the connection-string reader).
//!
//! pg_hba reasoning (first match wins, loopback, anywhere, proposed files)
//! lives in [`super::hba`]; evidence helpers come from [`super::facts`];
//! settings a role or database can override (AUTH-001, AUTH-016) are resolved
//! by [`super::login_settings`]. The files here import this module, its helper
//! modules and those shared check modules, never each other; none imports
//! `db`, `ui`, `report` or another section.

mod auth_001_password_encryption_scram;
mod auth_002_no_md5_verifiers;
mod auth_003_no_trust;
mod auth_004_no_weak_methods;
mod auth_005_hostssl_strong_methods;
mod auth_006_no_anywhere_addresses;
mod auth_007_named_databases_and_users;
mod auth_008_superusers_local_only;
mod auth_009_hba_loads_cleanly;
mod auth_010_ident_maps_narrow;
mod auth_011_passwordless_logins;
mod auth_012_human_passwords_expire;
mod auth_013_password_quality_library;
mod auth_014_auth_throttling;
mod auth_015_connection_limits;
mod auth_016_idle_timeouts;
mod auth_017_stored_credentials;
mod ciphers;
mod conninfo;
mod hba_lines;
mod tls_001_ssl_on;
mod tls_002_tls_min_version;
mod tls_003_strong_ciphers;
mod tls_004_hba_requires_tls;
mod tls_005_sessions_encrypted;
mod tls_006_server_certificate;
mod tls_007_replication_tls;
mod tls_008_client_certificates;
mod tls_009_listen_addresses;

use crate::checks::facts::{
    describe, is_bootstrap, is_off, major_version, missing_part, part_missing, scanner_role, value,
};
use crate::checks::managed::{self, Provider};
use crate::checks::{Check, Verdict};
use crate::model::finding::{ApplyClass, FixPlan};
use crate::model::snapshot::{PasswordKind, Role, Snapshot};
use crate::model::statement::Statement;
use crate::policy::Policy;
use postgres_protocol::escape::escape_identifier;
use std::collections::BTreeMap;

pub static CHECKS: &[&Check] = &[
    &tls_001_ssl_on::SSL_ON,
    &tls_002_tls_min_version::TLS_MIN_VERSION,
    &tls_003_strong_ciphers::STRONG_CIPHERS,
    &tls_004_hba_requires_tls::HBA_REQUIRES_TLS,
    &tls_005_sessions_encrypted::SESSIONS_ENCRYPTED,
    &tls_006_server_certificate::SERVER_CERTIFICATE,
    &tls_007_replication_tls::REPLICATION_TLS,
    &tls_008_client_certificates::CLIENT_CERTIFICATES,
    &tls_009_listen_addresses::LISTEN_ADDRESSES,
    &auth_001_password_encryption_scram::PASSWORD_ENCRYPTION_SCRAM,
    &auth_002_no_md5_verifiers::NO_MD5_VERIFIERS,
    &auth_003_no_trust::NO_TRUST,
    &auth_004_no_weak_methods::NO_WEAK_METHODS,
    &auth_005_hostssl_strong_methods::HOSTSSL_STRONG_METHODS,
    &auth_006_no_anywhere_addresses::NO_ANYWHERE_ADDRESSES,
    &auth_007_named_databases_and_users::NAMED_DATABASES_AND_USERS,
    &auth_008_superusers_local_only::SUPERUSERS_LOCAL_ONLY,
    &auth_009_hba_loads_cleanly::HBA_LOADS_CLEANLY,
    &auth_010_ident_maps_narrow::IDENT_MAPS_NARROW,
    &auth_011_passwordless_logins::PASSWORDLESS_LOGINS,
    &auth_012_human_passwords_expire::HUMAN_PASSWORDS_EXPIRE,
    &auth_013_password_quality_library::PASSWORD_QUALITY_LIBRARY,
    &auth_014_auth_throttling::AUTH_THROTTLING,
    &auth_015_connection_limits::CONNECTION_LIMITS,
    &auth_016_idle_timeouts::IDLE_TIMEOUTS,
    &auth_017_stored_credentials::STORED_CREDENTIALS,
];

// ---------------------------------------------------------------------------
// Helpers shared by several checks

fn roles(snapshot: &Snapshot) -> Result<&[Role], Verdict> {
    snapshot
        .roles
        .as_deref()
        .ok_or_else(|| missing_part(snapshot, "roles"))
}

/// A login role used by a person: not a policy service account, not the
/// bootstrap superuser, not a predefined `pg_*` role, not a role a managed
/// service's provider runs.
fn is_human(role: &Role, policy: &Policy, provider: Option<Provider>) -> bool {
    role.can_login
        && !is_bootstrap(role)
        && !role.name.starts_with("pg_")
        && !policy.service_accounts.contains(&role.name)
        && !managed::owned_by_provider(provider, &role.name)
}

/// A time value in milliseconds: `15min`, `'30s'`, or a bare number in
/// `default_unit`. Negative and unparsable values give `None`.
fn to_ms(text: &str, default_unit: &str) -> Option<f64> {
    let text = text.trim().trim_matches('\'').trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(text.len());
    let number: f64 = text[..split].parse().ok()?;
    let unit = match text[split..].trim() {
        "" => default_unit,
        u => u,
    };
    let factor = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return None,
    };
    (number >= 0.0).then_some(number * factor)
}

/// The plan of a check whose fix is a list of role statements.
fn role_plan(statements: Vec<Statement>, rollback: Vec<Statement>, note: &str) -> FixPlan {
    FixPlan {
        apply: vec![ApplyClass::Immediate],
        statements,
        rollback,
        needs: "superuser or CREATEROLE".into(),
        note: note.into(),
        ..FixPlan::default()
    }
}

/// The roles among `roles` whose names are in the verdict's objects.
fn named_roles<'a>(snapshot: &'a Snapshot, verdict: &Verdict) -> Vec<&'a Role> {
    let named = verdict.object_set();
    snapshot
        .roles
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .filter(|r| named.contains(r.name.as_str()))
        .collect()
}

/// Protocol versions as comparable numbers (TLSv1.2 → 12).
fn tls_rank(version: &str) -> Option<u32> {
    match version {
        "SSLv3" => Some(3),
        "TLSv1" | "TLSv1.0" => Some(10),
        "TLSv1.1" => Some(11),
        "TLSv1.2" => Some(12),
        "TLSv1.3" => Some(13),
        _ => None,
    }
}

/// From PostgreSQL 18 md5 passwords are deprecated: say so on a failing
/// md5 verdict, and whether the server still warns about them.
fn with_md5_deprecation(s: &Snapshot, mut verdict: Verdict) -> Verdict {
    if major_version(s).is_none_or(|m| m < 18) {
        return verdict;
    }
    verdict
        .evidence
        .push_str("; PostgreSQL 18 deprecates md5 passwords and a future major will refuse them");
    if let Some(warnings) = s.setting("md5_password_warnings") {
        if is_off(value(warnings)) {
            verdict.evidence.push_str(&format!(
                " ({} silences the deprecation warnings)",
                describe("md5_password_warnings", warnings)
            ));
        }
    }
    verdict
}

fn password_kinds(s: &Snapshot) -> Result<&BTreeMap<String, PasswordKind>, Verdict> {
    s.password_kinds.as_ref().ok_or_else(|| {
        if let Some(provider) = managed::detect(s) {
            // No grant can help: the provider never lets customers read pg_authid.
            return Verdict::unknown(
                format!(
                    "{} does not let customers read pg_authid, so stored password verifiers \
                     cannot be inspected; set every password again with password_encryption = \
                     scram-sha-256 (AUTH-001) to be sure none is md5",
                    provider.name()
                ),
                None,
            );
        }
        part_missing(
            s,
            "password_kinds",
            format!(
                "GRANT SELECT (rolname, rolpassword) ON pg_catalog.pg_authid TO {} \
                 (it exposes password hashes: scanning as a superuser may be preferable)",
                escape_identifier(&scanner_role(s))
            ),
        )
    })
}

#[cfg(test)]
mod fixtures {
    //! Snapshot builders for this section's cases and tests.
    use crate::checks::testkit::{base, hba, role, set, set_from, Case};
    use crate::checks::{Check, Verdict};
    use crate::model::snapshot::*;
    use crate::policy::Policy;

    pub fn run(check: &Check, s: &Snapshot) -> Verdict {
        (check.evaluate)(s, &Policy::default())
    }

    pub fn run_with(check: &Check, s: &Snapshot, policy: &Policy) -> Verdict {
        (check.evaluate)(s, policy)
    }

    /// Role names that try to break out of their quotes.
    pub const HOSTILE: &[&str] = &[
        "a\"; DROP ROLE x; --",
        "new\nline",
        "zoë'; --",
        "ünï \"code\"",
    ];

    pub const NET: Option<(&str, &str)> = Some(("10.0.0.0", "255.0.0.0"));
    pub const ANYWHERE: Option<(&str, &str)> = Some(("0.0.0.0", "0.0.0.0"));
    pub const LOOPBACK: Option<(&str, &str)> = Some(("127.0.0.1", "255.255.255.255"));

    /// The base snapshot with these pg_hba rules.
    pub fn rules(rules: Vec<HbaRule>) -> Snapshot {
        let mut s = base();
        s.hba_rules = Some(rules);
        s
    }

    /// A typical hardened file: local peer for postgres, hostssl scram for the app.
    pub fn hardened() -> Vec<HbaRule> {
        vec![
            hba(1, "local", "all", "postgres", None, "peer"),
            hba(2, "hostssl", "clinic", "+clinic_app", NET, "scram-sha-256"),
        ]
    }

    /// The hardened file plus `bad_rule`: the failing side of a pg_hba case.
    pub fn hba_case(id: &'static str, bad_rule: HbaRule) -> Case {
        let mut bad = hardened();
        bad.push(bad_rule);
        Case::new(id, rules(hardened()), rules(bad))
    }

    pub fn with_option(mut rule: HbaRule, option: &str) -> HbaRule {
        rule.options.push(option.into());
        rule
    }

    pub fn add_role(s: &mut Snapshot, r: Role, kind: PasswordKind) {
        if let Some(kinds) = s.password_kinds.as_mut() {
            kinds.insert(r.name.clone(), kind);
        }
        if let Some(roles) = s.roles.as_mut() {
            roles.push(r);
        }
    }

    /// A person's login role with a SCRAM password.
    pub fn person(s: &mut Snapshot, name: &str, edit: impl FnOnce(&mut Role)) {
        let r = role(name, |r| {
            r.can_login = true;
            edit(r);
        });
        add_role(s, r, PasswordKind::Scram);
    }

    pub fn session(pid: i32, addr: Option<&str>, ssl: bool, version: Option<&str>) -> Session {
        Session {
            pid,
            usename: Some("app".into()),
            datname: Some("clinic".into()),
            client_addr: addr.map(Into::into),
            application_name: Some("ehr".into()),
            ssl,
            version: version.map(Into::into),
            cipher: None,
            is_self: false,
        }
    }

    pub fn with_sessions(sessions: Vec<Session>) -> Snapshot {
        let mut s = base();
        s.sessions = Some(sessions);
        s
    }

    pub fn certificate() -> CertificateInfo {
        CertificateInfo {
            subject: "CN=db.example.org, O=Clinic".into(),
            issuer: "CN=Clinic Internal CA".into(),
            san: vec!["db.example.org".into(), "10.0.0.5".into()],
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: "2027-06-01T00:00:00Z".into(),
            self_signed: false,
            sha256: "ab".repeat(32),
        }
    }

    pub fn with_certificate(cert: CertificateInfo) -> Snapshot {
        let mut s = base();
        s.target.tls = Some(TlsInfo {
            version: Some("TLSv1.3".into()),
            cipher: Some("TLS_AES_256_GCM_SHA384".into()),
            bits: Some(256),
            server_certificate: Some(cert),
        });
        s
    }

    pub fn with_idle(values: &[(&str, &str)]) -> Snapshot {
        let mut s = base();
        person(&mut s, "alice", |_| {});
        for (name, value) in values {
            set(&mut s, name, value);
        }
        s
    }

    pub fn auto_conf(s: &mut Snapshot, name: &str, value: &str) {
        set_from(
            s,
            name,
            value,
            "configuration file",
            Some("/var/lib/postgresql/15/main/postgresql.auto.conf"),
        );
    }
}

#[cfg(test)]
pub fn cases() -> Vec<super::testkit::Case> {
    [
        tls_001_ssl_on::cases(),
        tls_002_tls_min_version::cases(),
        tls_003_strong_ciphers::cases(),
        tls_004_hba_requires_tls::cases(),
        tls_005_sessions_encrypted::cases(),
        tls_006_server_certificate::cases(),
        tls_007_replication_tls::cases(),
        tls_008_client_certificates::cases(),
        tls_009_listen_addresses::cases(),
        auth_001_password_encryption_scram::cases(),
        auth_002_no_md5_verifiers::cases(),
        auth_003_no_trust::cases(),
        auth_004_no_weak_methods::cases(),
        auth_005_hostssl_strong_methods::cases(),
        auth_006_no_anywhere_addresses::cases(),
        auth_007_named_databases_and_users::cases(),
        auth_008_superusers_local_only::cases(),
        auth_009_hba_loads_cleanly::cases(),
        auth_010_ident_maps_narrow::cases(),
        auth_011_passwordless_logins::cases(),
        auth_012_human_passwords_expire::cases(),
        auth_013_password_quality_library::cases(),
        auth_014_auth_throttling::cases(),
        auth_015_connection_limits::cases(),
        auth_016_idle_timeouts::cases(),
        auth_017_stored_credentials::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::auth_002_no_md5_verifiers::NO_MD5_VERIFIERS;
    use super::auth_003_no_trust::NO_TRUST;
    use super::auth_006_no_anywhere_addresses::NO_ANYWHERE_ADDRESSES;
    use super::auth_007_named_databases_and_users::NAMED_DATABASES_AND_USERS;
    use super::auth_008_superusers_local_only::SUPERUSERS_LOCAL_ONLY;
    use super::auth_009_hba_loads_cleanly::HBA_LOADS_CLEANLY;
    use super::auth_010_ident_maps_narrow::IDENT_MAPS_NARROW;
    use super::auth_011_passwordless_logins::PASSWORDLESS_LOGINS;
    use super::auth_012_human_passwords_expire::HUMAN_PASSWORDS_EXPIRE;
    use super::auth_013_password_quality_library::PASSWORD_QUALITY_LIBRARY;
    use super::auth_014_auth_throttling::AUTH_THROTTLING;
    use super::auth_015_connection_limits::CONNECTION_LIMITS;
    use super::auth_016_idle_timeouts::IDLE_TIMEOUTS;
    use super::fixtures::*;
    use super::tls_002_tls_min_version::TLS_MIN_VERSION;
    use super::tls_004_hba_requires_tls::HBA_REQUIRES_TLS;
    use super::tls_005_sessions_encrypted::SESSIONS_ENCRYPTED;
    use super::tls_007_replication_tls::REPLICATION_TLS;
    use super::*;
    use crate::checks::testkit::{base, hba, role, set, with_settings};
    use crate::model::finding::Status;

    #[test]
    fn missing_parts_are_unknown_never_pass() {
        let mut s = base();
        s.hba_rules = None;
        s.sessions = None;
        s.password_kinds = None;
        s.roles = None;
        s.role_settings = None;
        s.subscriptions = None;
        for check in CHECKS {
            let v = run(check, &s);
            assert_ne!(
                v.status,
                Status::Pass,
                "{} passed without its facts",
                check.id
            );
        }
        for check in [
            &HBA_REQUIRES_TLS,
            &NO_TRUST,
            &SUPERUSERS_LOCAL_ONLY,
            &HBA_LOADS_CLEANLY,
        ] {
            let v = run(check, &s);
            assert_eq!(v.status, Status::Unknown, "{}", check.id);
            assert!(v.grant.unwrap_or_default().contains("pg_hba_file_rules"));
        }
        let v = run(&SESSIONS_ENCRYPTED, &s);
        assert!(v.grant.unwrap_or_default().contains("pg_read_all_stats"));
        let v = run(&NO_MD5_VERIFIERS, &s);
        assert_eq!(v.status, Status::Unknown);
        assert!(v.grant.unwrap_or_default().contains("pg_authid"));
    }

    #[test]
    fn reject_lines_are_protective_not_plaintext_or_broad() {
        let s = rules(vec![
            hba(1, "host", "all", "all", ANYWHERE, "reject"),
            hba(2, "hostnossl", "all", "all", ANYWHERE, "reject"),
        ]);
        for check in [
            &HBA_REQUIRES_TLS,
            &NO_ANYWHERE_ADDRESSES,
            &NAMED_DATABASES_AND_USERS,
            &SUPERUSERS_LOCAL_ONLY,
        ] {
            assert_eq!(run(check, &s).status, Status::Pass, "{}", check.id);
        }
    }

    #[test]
    fn version_dependent_defaults() {
        let mut pg11 = with_settings(&[("ssl", "on")]);
        pg11.target.server_version_num = Some(110_022);
        assert_eq!(run(&TLS_MIN_VERSION, &pg11).status, Status::Fail);
        assert_eq!(run(&REPLICATION_TLS, &pg11).status, Status::Manual);
        let mut pg14 = base();
        pg14.target.server_version_num = Some(140_010);
        pg14.ident_mappings = None;
        assert_eq!(run(&IDENT_MAPS_NARROW, &pg14).status, Status::NotApplicable);
        let mut pg15 = base();
        pg15.ident_mappings = None;
        assert_eq!(run(&IDENT_MAPS_NARROW, &pg15).status, Status::Unknown);
        let mut pg13 = with_idle(&[("idle_in_transaction_session_timeout", "60000")]);
        pg13.target.server_version_num = Some(130_015);
        assert_eq!(run(&IDLE_TIMEOUTS, &pg13).status, Status::Warn);
    }

    #[test]
    fn policy_service_accounts_are_not_people() {
        let mut s = base();
        person(&mut s, "ehr_app", |_| {});
        let v = run(&HUMAN_PASSWORDS_EXPIRE, &s);
        assert_eq!(v.status, Status::Fail);
        let policy = Policy {
            service_accounts: vec!["ehr_app".into()],
            ..Policy::default()
        };
        assert_eq!(
            run_with(&HUMAN_PASSWORDS_EXPIRE, &s, &policy).status,
            Status::Pass
        );
        assert_eq!(
            run_with(&CONNECTION_LIMITS, &s, &policy).status,
            Status::Pass
        );
        let plan = HUMAN_PASSWORDS_EXPIRE.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["ALTER ROLE \"ehr_app\" VALID UNTIL '2027-02-25'"]
        );
    }

    #[test]
    fn library_fixes_keep_existing_libraries() {
        let mut s = base();
        auto_conf(
            &mut s,
            "shared_preload_libraries",
            "pgaudit,\"PG_Stat_Statements\"",
        );
        let v = run(&PASSWORD_QUALITY_LIBRARY, &s);
        let plan = PASSWORD_QUALITY_LIBRARY.plan(&s, &v);
        assert_eq!(
            plan.statements,
            // One literal per library: a single 'a,b' literal would be stored
            // as one library name and the server would not restart.
            vec!["ALTER SYSTEM SET \"shared_preload_libraries\" = 'pgaudit', 'PG_Stat_Statements', 'passwordcheck'"]
        );
        assert_eq!(plan.apply, vec![ApplyClass::Restart]);
        set(&mut s, "authentication_timeout", "120");
        let v = run(&AUTH_THROTTLING, &s);
        assert_eq!(v.status, Status::Fail);
        let plan = AUTH_THROTTLING.plan(&s, &v);
        assert_eq!(plan.apply, vec![ApplyClass::Restart, ApplyClass::Reload]);
        assert_eq!(plan.statements.len(), 3);
        assert!(plan.statements[1].to_string().contains("auth_delay"));
        assert!(plan.note.contains("after the restart"));
    }

    #[test]
    fn role_fix_builders_quote_hostile_names() {
        for name in HOSTILE {
            let mut s = rules(vec![hba(1, "hostssl", "all", "all", NET, "scram-sha-256")]);
            set(&mut s, "idle_session_timeout", "0");
            set(&mut s, "idle_in_transaction_session_timeout", "0");
            add_role(
                &mut s,
                role(name, |r| r.can_login = true),
                PasswordKind::None,
            );
            if let Some(k) = s.password_kinds.as_mut() {
                k.insert((*name).to_string(), PasswordKind::None);
            }
            for check in [
                &PASSWORDLESS_LOGINS,
                &HUMAN_PASSWORDS_EXPIRE,
                &CONNECTION_LIMITS,
                &IDLE_TIMEOUTS,
            ] {
                let v = run(check, &s);
                assert_eq!(v.status, Status::Fail, "{} {name:?}", check.id);
                let plan = check.plan(&s, &v);
                assert!(!plan.statements.is_empty(), "{} {name:?}", check.id);
                for statement in plan.statements.iter().chain(&plan.rollback) {
                    let text = statement.to_string();
                    assert!(text.contains(&escape_identifier(name)), "{statement}");
                    let bare = crate::checks::testkit::outside_quotes(&text);
                    assert!(
                        !bare.contains(';') && !bare.contains('\n') && !bare.contains("--"),
                        "{} {statement:?}",
                        check.id
                    );
                }
            }
        }
    }

    #[test]
    fn to_ms_reads_units() {
        assert_eq!(to_ms("15min", "ms"), Some(900_000.0));
        assert_eq!(to_ms("'30s'", "ms"), Some(30_000.0));
        assert_eq!(to_ms("60", "s"), Some(60_000.0));
        assert_eq!(to_ms("0", "ms"), Some(0.0));
        assert_eq!(to_ms("-1", "ms"), None);
        assert_eq!(to_ms("soon", "ms"), None);
    }
}

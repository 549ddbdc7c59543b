//! Snapshot fixtures for check tests. Each section file declares `cases()`:
//! for every check a snapshot that passes and one that fails. The meta-test
//! in `checks::tests` insists that every registered id has both.

use super::managed::Provider;
use super::{evaluate_one, find, Check};
use crate::model::finding::{Attestation, Finding, Status};
use crate::model::snapshot::*;
use crate::policy::{Attestations, Policy};
use std::collections::BTreeMap;

/// A passing and a failing fixture for one check.
pub struct Case {
    pub id: &'static str,
    pub good: Snapshot,
    pub bad: Snapshot,
    pub policy: Policy,
    /// Attestations given when evaluating `good` only.
    pub good_attestations: Attestations,
    /// Attestations given when evaluating both fixtures.
    pub attestations: Attestations,
    /// What `good` must give (`Pass`, or `Attested` for attestations).
    pub expect_good: Status,
    /// What `bad` must give (`Fail`, or `Warn` / `Manual` where that is the point).
    pub expect_bad: Status,
}

impl Case {
    /// A case with the default expectations (pass / fail).
    pub fn new(id: &'static str, good: Snapshot, bad: Snapshot) -> Case {
        Case {
            id,
            good,
            bad,
            policy: Policy::default(),
            good_attestations: Attestations::default(),
            attestations: Attestations::default(),
            expect_good: Status::Pass,
            expect_bad: Status::Fail,
        }
    }

    /// A `manual` check: `good` carries an attestation for `id` and must be
    /// `attested`; `bad` has none and must stay `manual`.
    pub fn attestation(id: &'static str, good: Snapshot, bad: Snapshot) -> Case {
        let attestation = Attestation {
            by: "privacy.officer@example.org".into(),
            at: "2026-11-01".into(),
            note: "reviewed".into(),
        };
        Case {
            good_attestations: Attestations(BTreeMap::from([(id.to_string(), attestation)])),
            ..Case::new(id, good, bad).expect(Status::Attested, Status::Manual)
        }
    }

    pub fn expect(mut self, good: Status, bad: Status) -> Case {
        self.expect_good = good;
        self.expect_bad = bad;
        self
    }

    pub fn with_policy(mut self, policy: Policy) -> Case {
        self.policy = policy;
        self
    }

    pub fn with_attestations(mut self, attestations: Attestations) -> Case {
        self.attestations = attestations;
        self
    }

    /// Evaluate both fixtures and compare with the expectations.
    pub fn verify(&self, check: &Check) -> Result<(), String> {
        let mut good_attestations = self.attestations.clone();
        good_attestations.0.extend(self.good_attestations.0.clone());
        for (label, snap, expected, attestations) in [
            ("good", &self.good, self.expect_good, &good_attestations),
            ("bad", &self.bad, self.expect_bad, &self.attestations),
        ] {
            let finding = evaluate_one(check, snap, &self.policy, attestations);
            if finding.status != expected {
                return Err(format!(
                    "{}: {label} fixture gave {} (expected {expected}); evidence: {}",
                    self.id, finding.status, finding.evidence
                ));
            }
            if finding.evidence.trim().is_empty() {
                return Err(format!("{}: {label} fixture has empty evidence", self.id));
            }
        }
        Ok(())
    }
}

/// A PostgreSQL 15 snapshot with every part collected and nothing in it but
/// the bootstrap superuser: sections add what their checks look at.
pub fn base() -> Snapshot {
    Snapshot {
        schema_version: SCHEMA_VERSION,
        collected_at: "2026-11-27T10:00:00Z".into(),
        target: Target {
            host: "db.example.org".into(),
            port: 5432,
            dbname: "clinic".into(),
            user: "scanner".into(),
            server_version: Some("15.18".into()),
            server_version_num: Some(150018),
            system_identifier: Some("7300000000000000000".into()),
            sslmode: "verify-full".into(),
            tls: None,
        },
        gaps: Vec::new(),
        server_time: Some("2026-11-27T10:00:00.2Z".into()),
        settings: Some(BTreeMap::new()),
        file_setting_problems: Some(Vec::new()),
        hba_rules: Some(Vec::new()),
        ident_mappings: Some(Vec::new()),
        roles: Some(vec![bootstrap("postgres")]),
        password_kinds: Some(BTreeMap::from([(
            "postgres".to_string(),
            PasswordKind::Scram,
        )])),
        memberships: Some(Vec::new()),
        role_settings: Some(Vec::new()),
        database_access: Some(vec![DatabaseAccess {
            name: "clinic".into(),
            allow_connections: true,
            acl: vec![AclItem {
                grantee: "PUBLIC".into(),
                grantor: "postgres".into(),
                privileges: "Tc".into(),
                grantable: String::new(),
            }],
        }]),
        sessions: Some(Vec::new()),
        archiver: Some(Archiver::default()),
        database_stats: Some(vec![DatabaseStat {
            datname: "clinic".into(),
            checksum_failures: Some(0),
            checksum_last_failure: None,
        }]),
        databases: vec![DatabaseFacts {
            name: "clinic".into(),
            relations: Some(Vec::new()),
            policies: Some(Vec::new()),
            schemas: Some(Vec::new()),
            default_acls: Some(Vec::new()),
            extensions: Some(Vec::new()),
            languages: Some(Vec::new()),
            functions: Some(Vec::new()),
            views_with_literal_keys: Some(Vec::new()),
            phi_sample: None,
            user_mappings: Some(Vec::new()),
            foreign_servers: Some(Vec::new()),
            publications: Some(Vec::new()),
            large_objects: Some(Vec::new()),
        }],
        host: None,
        subscriptions: Some(Vec::new()),
        replication_slots: Some(Vec::new()),
        probes: None,
    }
}

/// A role with PostgreSQL's defaults (INHERIT, no other attributes), then `edit`.
pub fn role(name: &str, edit: impl FnOnce(&mut Role)) -> Role {
    let mut r = Role {
        oid: 16384 + name.len() as u32,
        name: name.into(),
        inherit: true,
        conn_limit: -1,
        ..Role::default()
    };
    edit(&mut r);
    r
}

/// Set a live setting as if it came from postgresql.conf.
pub fn set(snapshot: &mut Snapshot, name: &str, value: &str) {
    set_from(
        snapshot,
        name,
        value,
        "configuration file",
        Some("/etc/postgresql/15/main/postgresql.conf"),
    );
}

/// Set a live setting with an explicit provenance.
pub fn set_from(
    snapshot: &mut Snapshot,
    name: &str,
    value: &str,
    source: &str,
    file: Option<&str>,
) {
    let settings = snapshot.settings.get_or_insert_with(BTreeMap::new);
    settings.insert(
        name.into(),
        Setting {
            setting: Some(value.into()),
            source: source.into(),
            sourcefile: file.map(Into::into),
            sourceline: file.map(|_| 1),
            context: "sighup".into(),
            vartype: "string".into(),
            ..Setting::default()
        },
    );
}

/// A base snapshot with the given settings applied.
pub fn with_settings(pairs: &[(&str, &str)]) -> Snapshot {
    let mut s = base();
    for (name, value) in pairs {
        set(&mut s, name, value);
    }
    s
}

/// An hba rule: `conn_type database user address netmask method`.
pub fn hba(
    line: i32,
    conn_type: &str,
    db: &str,
    user: &str,
    addr: Option<(&str, &str)>,
    method: &str,
) -> HbaRule {
    HbaRule {
        file_name: Some("/etc/postgresql/15/main/pg_hba.conf".into()),
        ..crate::model::snapshot::hba_rule(line, conn_type, db, user, addr, method)
    }
}

/// A user table in `public` with the given columns `(name, type)`.
pub fn table(name: &str, owner: &str, columns: &[(&str, &str)]) -> Relation {
    Relation {
        oid: 20000 + name.len() as u32,
        schema: "public".into(),
        name: name.into(),
        kind: "r".into(),
        owner: owner.into(),
        acl: vec![AclItem {
            grantee: owner.into(),
            grantor: owner.into(),
            privileges: "arwdDxtm".into(),
            grantable: String::new(),
        }],
        columns: columns
            .iter()
            .map(|(n, t)| Column {
                name: (*n).into(),
                type_name: (*t).into(),
                acl: Vec::new(),
            })
            .collect(),
        estimated_rows: 100.0,
        ..Relation::default()
    }
}

/// The connected database's facts, for editing.
pub fn db(snapshot: &mut Snapshot) -> &mut DatabaseFacts {
    if snapshot.databases.is_empty() {
        snapshot.databases.push(DatabaseFacts::default());
    }
    &mut snapshot.databases[0]
}

/// Every section's cases, in guide order.
pub fn all_cases() -> Vec<Case> {
    use super::{access, at_rest, audit, backup, safeguards, transit};
    [
        safeguards::cases(),
        at_rest::cases(),
        transit::cases(),
        access::cases(),
        audit::cases(),
        backup::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A scan of a managed service as a customer sees it: the provider's
/// settings and roles, the provider's superuser as bootstrap, the customer's
/// master user in the administrator group, and the parts a customer cannot
/// read (pg_hba, pg_ident, pg_authid) missing.
pub fn managed(provider: Provider) -> Snapshot {
    let (settings, superuser, group, master): (&[(&str, &str)], &str, &str, &str) = match provider {
        Provider::Rds => (
            &[
                ("rds.extensions", "pgaudit,pgcrypto"),
                ("rds.force_ssl", "1"),
            ],
            "rdsadmin",
            "rds_superuser",
            "postgres",
        ),
        Provider::Aurora => (
            &[
                ("rds.extensions", "pgaudit,pgcrypto"),
                ("rds.force_ssl", "1"),
                ("apg_plan_mgmt.capture_plan_baselines", "off"),
            ],
            "rdsadmin",
            "rds_superuser",
            "postgres",
        ),
        Provider::Azure => (
            &[
                ("azure.extensions", "pgcrypto"),
                ("require_secure_transport", "on"),
            ],
            "azuresu",
            "azure_pg_admin",
            "clinicadmin",
        ),
        Provider::CloudSql => (
            &[
                ("cloudsql.iam_authentication", "on"),
                ("cloudsql.enable_pgaudit", "off"),
            ],
            "cloudsqladmin",
            "cloudsqlsuperuser",
            "postgres",
        ),
    };
    let mut s = with_settings(settings);
    s.hba_rules = None;
    s.ident_mappings = None;
    s.password_kinds = None;
    s.file_setting_problems = None;
    s.roles = Some(vec![
        bootstrap(superuser),
        role(group, |r| r.oid = 16385),
        role(master, |r| {
            r.oid = 16400;
            r.can_login = true;
            r.create_db = true;
            r.create_role = true;
            r.valid_until = Some("2027-01-01 00:00:00+00".into());
            r.conn_limit = 5;
        }),
    ]);
    s.memberships = Some(vec![Membership {
        role: group.into(),
        member: master.into(),
        admin_option: true,
        inherit_option: None,
        set_option: None,
    }]);
    s
}

/// The text of a statement outside its quoted identifiers and literals:
/// whatever a hostile name holds must stay inside the quotes.
pub fn outside_quotes(statement: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut chars = statement.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => {
                if chars.peek() == Some(&q) {
                    chars.next();
                } else {
                    quote = None;
                }
            }
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None => out.push(c),
        }
    }
    out
}

/// A login role holding every attribute, as initdb creates the bootstrap
/// superuser (oid 10).
fn bootstrap(name: &str) -> Role {
    role(name, |r| {
        r.oid = 10;
        r.superuser = true;
        r.can_login = true;
        r.create_db = true;
        r.create_role = true;
        r.replication = true;
        r.bypass_rls = true;
    })
}

/// The finding for `id` as a scan reports it (managed-service table,
/// accepted risks and all), without a policy.
pub fn judge(id: &str, s: &Snapshot) -> Finding {
    judge_with(id, s, &Policy::default())
}

/// [`judge`] with a policy.
pub fn judge_with(id: &str, s: &Snapshot, policy: &Policy) -> Finding {
    let check = find(id).unwrap_or_else(|| panic!("{id} is not registered"));
    evaluate_one(check, s, policy, &Attestations::default())
}

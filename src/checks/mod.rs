//! The check catalogue: static declarations, one file per guide section, one
//! registry.
//!
//! Checks are pure functions of the [`Snapshot`] and the [`Policy`]: no I/O, no
//! clock, no environment. A missing fact yields `unknown` with the reason and
//! the grant that would allow it, never `pass`; a setting the server's major
//! does not have yields `not_applicable` ([`facts::need_setting`]). This
//! module must not import `db`, `ui` or `report`.
//!
//! What applies to every check is done once, here, around its `evaluate` and
//! fix: proofs from active probes confirm or overturn the verdict
//! ([`proofs`]); on a managed service the provider's table ([`managed::CONTROLS`])
//! replaces checks the provider controls; the policy's baseline and
//! per-object accepted risks take approved rows out of a finding's objects
//! (all approved: `accepted`), and expired acceptances stay named in the
//! evidence ([`acceptance`]); attestations turn `manual` into `attested`;
//! and where ALTER SYSTEM is not allowed its fix statements become
//! instructions for where the parameters live
//! ([`managed::without_alter_system`]).

mod acceptance;
pub mod access;
pub mod at_rest;
pub mod audit;
pub mod backup;
mod baseline;
pub mod definers;
pub mod expect;
pub mod facts;
pub mod hba;
pub mod login_settings;
pub mod managed;
pub mod phi;
pub mod privileges;
mod proofs;
pub mod redact;
pub mod safeguards;
#[cfg(test)]
pub mod testkit;
pub mod transit;
pub mod versions;
pub mod views;

use crate::model::finding::{ApplyClass, Finding, FixPlan, Section, Severity, Status};
use crate::model::snapshot::Snapshot;
use crate::policy::{Attestations, Policy};

/// A check's conclusion before the policy's baselines, accepted risks and attestations
/// are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    pub evidence: String,
    /// Matching objects, sorted and de-duplicated.
    pub objects: Vec<String>,
    pub reason: Option<String>,
    pub grant: Option<String>,
}

impl Verdict {
    fn new(status: Status, evidence: impl Into<String>) -> Self {
        Verdict {
            status,
            evidence: evidence.into(),
            objects: Vec::new(),
            reason: None,
            grant: None,
        }
    }

    pub fn pass(evidence: impl Into<String>) -> Self {
        Self::new(Status::Pass, evidence)
    }

    pub fn fail(evidence: impl Into<String>) -> Self {
        Self::new(Status::Fail, evidence)
    }

    pub fn warn(evidence: impl Into<String>) -> Self {
        Self::new(Status::Warn, evidence)
    }

    pub fn manual(evidence: impl Into<String>) -> Self {
        Self::new(Status::Manual, evidence)
    }

    pub fn not_applicable(evidence: impl Into<String>) -> Self {
        Self::new(Status::NotApplicable, evidence)
    }

    /// Could not be decided: says why and what to grant.
    pub fn unknown(reason: impl Into<String>, grant: Option<String>) -> Self {
        let reason = reason.into();
        Verdict {
            status: Status::Unknown,
            evidence: reason.clone(),
            objects: Vec::new(),
            reason: Some(reason),
            grant,
        }
    }

    /// The objects as a set, for fix builders that test many candidates
    /// against lists of thousands.
    pub fn object_set(&self) -> privileges::FastSet<&str> {
        self.objects.iter().map(String::as_str).collect()
    }

    /// Take the objects `covered` picks out of `objects`, so that the fix
    /// leaves them alone, and return them in their order.
    pub fn set_aside(&mut self, covered: impl Fn(&str) -> bool) -> Vec<String> {
        let (aside, open) = std::mem::take(&mut self.objects)
            .into_iter()
            .partition(|object| covered(object));
        self.objects = open;
        aside
    }

    /// Attach the matching objects (sorted, de-duplicated).
    pub fn with_objects(mut self, objects: impl IntoIterator<Item = String>) -> Self {
        let mut objects: Vec<String> = objects.into_iter().collect();
        objects.sort();
        objects.dedup();
        self.objects = objects;
        self
    }
}

/// How a check proposes to close its gap.
pub enum Fix {
    /// `ALTER SYSTEM SET name = value`; rollback restores what the snapshot saw.
    SetParameter {
        name: &'static str,
        value: &'static str,
        apply: &'static [ApplyClass],
        /// What to do before or after (e.g. install the certificate first).
        note: &'static str,
    },
    /// Built from the snapshot and the verdict (per-object statements).
    Build(fn(&Snapshot, &Verdict) -> FixPlan),
    /// Nothing SQL can do: the text says what a person does.
    Instructions {
        apply: &'static [ApplyClass],
        note: &'static str,
    },
    /// `fix`, which works only once its prerequisites are in place (a plan
    /// orders them; the preview names them).
    After(Prerequisites, &'static Fix),
}

/// What a fix needs before it can work, declared beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prerequisites {
    /// Checks whose fixes must be in place first (catalogue ids).
    pub needs_first: &'static [&'static str],
    /// Those fixes take effect only after a server restart (a preloaded
    /// library), so this fix waits for it.
    pub restart_between: bool,
    /// What the DBA must supply that pgSafeguard cannot know (a key, a
    /// subnet): a plan lists the fix as skipped with this reason.
    pub needs_input: Option<&'static str>,
}

impl Prerequisites {
    pub const NONE: Prerequisites = Prerequisites {
        needs_first: &[],
        restart_between: false,
        needs_input: None,
    };
}

/// A declared check: its metadata, evaluation and fix (src/ARCHITECTURE.md, "A check").
pub struct Check {
    pub id: &'static str,
    pub section: Section,
    pub title: &'static str,
    pub severity: Severity,
    /// The one canonical list of HIPAA citations, e.g. `164.312(e)(1)`.
    pub hipaa: &'static [&'static str],
    pub cis: Option<&'static str>,
    /// Why it matters, and why this severity.
    pub rationale: &'static str,
    /// SQL a DBA can run to see the same facts.
    pub reproduce_sql: &'static str,
    pub evaluate: fn(&Snapshot, &Policy) -> Verdict,
    pub fix: Fix,
}

impl Check {
    /// What the check's fix needs first ([`Prerequisites::NONE`] for most).
    pub fn prerequisites(&self) -> Prerequisites {
        match &self.fix {
            Fix::After(needs, _) => *needs,
            _ => Prerequisites::NONE,
        }
    }

    /// The fix plan for a verdict. On a managed service the provider's
    /// procedure replaces the check's own where [`managed::CONTROLS`] says
    /// so; wherever ALTER SYSTEM is not allowed (managed services,
    /// `allow_alter_system = off`) its statements become instructions for
    /// where the parameters live.
    pub fn plan(&self, snapshot: &Snapshot, verdict: &Verdict) -> FixPlan {
        if let Some(plan) = managed::provider_plan(self, snapshot) {
            return plan;
        }
        let plan = self.own_plan(snapshot, verdict);
        match managed::alter_system_unavailable(snapshot) {
            Some(home) => managed::without_alter_system(snapshot, plan, home),
            None => plan,
        }
    }

    /// The plan the check's declaration builds, as on a self-hosted server.
    fn own_plan(&self, snapshot: &Snapshot, verdict: &Verdict) -> FixPlan {
        declared_plan(&self.fix, snapshot, verdict)
    }
}

fn declared_plan(fix: &Fix, snapshot: &Snapshot, verdict: &Verdict) -> FixPlan {
    match fix {
        Fix::SetParameter {
            name,
            value,
            apply,
            note,
        } => facts::set_parameter_plan(snapshot, name, value, apply, note),
        Fix::Build(build) => build(snapshot, verdict),
        Fix::Instructions { apply, note } => FixPlan {
            apply: apply.to_vec(),
            needs: "operating system or organisational access".into(),
            note: (*note).into(),
            ..FixPlan::default()
        },
        Fix::After(_, fix) => declared_plan(fix, snapshot, verdict),
    }
}

/// Every check, in guide order.
pub fn registry() -> Vec<&'static Check> {
    [
        safeguards::CHECKS,
        at_rest::CHECKS,
        transit::CHECKS,
        access::CHECKS,
        audit::CHECKS,
        backup::CHECKS,
    ]
    .concat()
}

/// Look a check up by id.
pub fn find(id: &str) -> Option<&'static Check> {
    registry().into_iter().find(|c| c.id == id)
}

/// Evaluate every check and apply baselines, accepted risks and attestations.
pub fn evaluate_all(
    snapshot: &Snapshot,
    policy: &Policy,
    attestations: &Attestations,
) -> Vec<Finding> {
    registry()
        .into_iter()
        .map(|check| evaluate_one(check, snapshot, policy, attestations))
        .collect()
}

/// What the check itself concludes (on a managed service, the provider's
/// table where it applies), before the policy's acceptances and baselines
/// and the attestations.
pub fn verdict_of(check: &Check, snapshot: &Snapshot, policy: &Policy) -> Verdict {
    managed::review(check, snapshot).unwrap_or_else(|| (check.evaluate)(snapshot, policy))
}

fn evaluate_one(
    check: &Check,
    snapshot: &Snapshot,
    policy: &Policy,
    attestations: &Attestations,
) -> Finding {
    let (proven, proofs) = proofs::apply(
        check.id,
        verdict_of(check, snapshot, policy),
        snapshot,
        policy,
    );
    let (mut verdict, accepted) =
        acceptance::apply(check.id, proven, policy, &snapshot.collected_at);
    let mut attestation = None;
    if verdict.status == Status::Manual {
        if let Some(a) = attestations.get(check.id) {
            verdict.status = Status::Attested;
            attestation = Some(a.clone());
        }
    }
    let fix = match verdict.status {
        Status::Pass | Status::NotApplicable | Status::Attested => None,
        _ => Some(check.plan(snapshot, &verdict)),
    };
    Finding {
        id: check.id.into(),
        section: check.section,
        title: check.title.into(),
        severity: check.severity,
        status: verdict.status,
        hipaa: check.hipaa.iter().map(|c| (*c).to_string()).collect(),
        cis: check.cis.map(Into::into),
        evidence: verdict.evidence,
        objects: verdict.objects,
        reason: verdict.reason,
        grant: verdict.grant,
        attestation,
        accepted,
        fix,
        rationale: check.rationale.into(),
        reproduce_sql: check.reproduce_sql.into(),
        proofs,
    }
}

/// Every check id of the catalogue: a public contract (ids are never reused or renamed).
pub const CATALOGUE_IDS: &[&str] = &[
    "ADM-001", "ADM-002", "ADM-003", "ADM-004", "ADM-005", "ADM-006", "ADM-007", "ADM-008",
    "ADM-009", "ADM-010", "EAR-001", "EAR-002", "EAR-003", "EAR-004", "EAR-005", "EAR-006",
    "EAR-007", "EAR-008", "EAR-009", "EAR-010", "TLS-001", "TLS-002", "TLS-003", "TLS-004",
    "TLS-005", "TLS-006", "TLS-007", "TLS-008", "TLS-009", "AUTH-001", "AUTH-002", "AUTH-003",
    "AUTH-004", "AUTH-005", "AUTH-006", "AUTH-007", "AUTH-008", "AUTH-009", "AUTH-010", "AUTH-011",
    "AUTH-012", "AUTH-013", "AUTH-014", "AUTH-015", "AUTH-016", "AUTH-017", "PRIV-001", "PRIV-002",
    "PRIV-003", "PRIV-004", "PRIV-005", "PRIV-006", "PRIV-007", "PRIV-008", "PRIV-009", "PRIV-010",
    "PRIV-011", "PRIV-012", "PRIV-013", "PRIV-014", "PRIV-015", "PRIV-016", "PRIV-017", "PRIV-018",
    "PRIV-019", "PRIV-020", "AUD-001", "AUD-002", "AUD-003", "AUD-004", "AUD-005", "AUD-006",
    "AUD-007", "AUD-008", "AUD-009", "AUD-010", "AUD-011", "AUD-012", "AUD-013", "AUD-014",
    "BAK-001", "BAK-002", "BAK-003", "BAK-004", "BAK-005", "BAK-006", "BAK-007", "BAK-008",
    "GEN-001", "GEN-002", "GEN-003", "GEN-004", "GEN-005", "GEN-006", "GEN-007",
];

#[cfg(test)]
mod tests {
    use super::testkit::{all_cases, judge, judge_with, Case};
    use super::*;
    use crate::policy::PolicyAcceptedRisk;
    use std::collections::BTreeSet;

    #[test]
    fn every_check_has_a_passing_and_a_failing_fixture() {
        let cases = all_cases();
        let mut problems = Vec::new();
        for check in registry() {
            let mine: Vec<&Case> = cases.iter().filter(|c| c.id == check.id).collect();
            if mine.is_empty() {
                problems.push(format!("{}: no fixture case", check.id));
            }
            for case in mine {
                if let Err(e) = case.verify(check) {
                    problems.push(e);
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn metadata_is_well_formed_and_ids_are_unique() {
        let mut seen = BTreeSet::new();
        for check in registry() {
            assert!(seen.insert(check.id), "duplicate id {}", check.id);
            assert!(
                CATALOGUE_IDS.contains(&check.id),
                "{} is not in the catalogue",
                check.id
            );
            let prefix = check.id.split('-').next().unwrap_or("");
            let expected = match prefix {
                "GEN" | "ADM" => Section::Safeguards,
                "EAR" => Section::AtRest,
                "TLS" | "AUTH" => Section::Transit,
                "PRIV" => Section::Access,
                "AUD" => Section::Audit,
                "BAK" => Section::Backup,
                other => panic!("unknown prefix {other}"),
            };
            assert_eq!(
                check.section, expected,
                "{} is in the wrong section",
                check.id
            );
            assert!(
                !check.hipaa.is_empty(),
                "{} has no HIPAA citation",
                check.id
            );
            for c in check.hipaa {
                assert!(c.starts_with("164."), "{}: citation {c}", check.id);
            }
            assert!(
                check.rationale.len() > 40,
                "{}: rationale too short",
                check.id
            );
            assert!(!check.title.is_empty() && !check.reproduce_sql.is_empty());
        }
    }

    #[test]
    fn registry_holds_exactly_the_catalogue() {
        let registered: BTreeSet<&str> = registry().iter().map(|c| c.id).collect();
        let catalogue: BTreeSet<&str> = CATALOGUE_IDS.iter().copied().collect();
        assert_eq!(registered, catalogue);
        assert_eq!(registry().len(), 95);
    }

    /// A base snapshot of another major with these settings.
    fn on_major(version_num: u32, settings: &[(&str, &str)]) -> Snapshot {
        let mut s = testkit::with_settings(settings);
        s.target.server_version_num = Some(version_num);
        s.target.server_version = Some(format!("{}.{}", version_num / 10000, version_num % 100));
        s
    }

    fn first_statement(f: &Finding) -> String {
        f.fix
            .as_ref()
            .and_then(|p| p.statements.first().map(ToString::to_string))
            .unwrap_or_default()
    }

    const PG13: u32 = 130_020;
    const PG18: u32 = 180_004;

    #[test]
    fn settings_and_catalogs_a_major_lacks_are_not_failures() {
        let with_person = |num: u32, settings: &[(&str, &str)]| {
            let mut s = on_major(num, settings);
            if let Some(roles) = s.roles.as_mut() {
                roles.push(testkit::role("alice", |r| r.can_login = true));
            }
            s
        };
        // idle_session_timeout arrived in 14: 13 cannot end idle sessions.
        let f = judge(
            "AUTH-016",
            &with_person(PG13, &[("idle_in_transaction_session_timeout", "900000")]),
        );
        assert_eq!(f.status, Status::Warn, "{}", f.evidence);
        assert!(f
            .evidence
            .contains("PostgreSQL 13 cannot end idle sessions"));
        let both = [
            ("idle_in_transaction_session_timeout", "900000"),
            ("idle_session_timeout", "900000"),
        ];
        assert_eq!(
            judge("AUTH-016", &with_person(PG18, &both)).status,
            Status::Pass
        );
        // pg_ident_file_mappings arrived in 15.
        let mut s = on_major(PG13, &[]);
        s.ident_mappings = None;
        assert_eq!(judge("AUTH-010", &s).status, Status::NotApplicable);
        s.target.server_version_num = Some(PG18);
        assert_eq!(judge("AUTH-010", &s).status, Status::Unknown);
        // archive_library arrived in 15.
        let command = [(
            "archive_command",
            "pgbackrest --stanza=main archive-push %p",
        )];
        assert_eq!(
            judge("BAK-002", &on_major(PG13, &command)).status,
            Status::Pass
        );
        let library = [
            ("archive_command", ""),
            ("archive_library", "basic_archive"),
        ];
        assert_eq!(
            judge("BAK-002", &on_major(PG18, &library)).status,
            Status::Pass
        );
        // data_directory_mode (11+) and ssl_min_protocol_version (12+) exist on 13.
        let s = on_major(
            PG13,
            &[
                ("data_directory_mode", "0700"),
                ("ssl_min_protocol_version", "TLSv1.2"),
            ],
        );
        assert_eq!(judge("EAR-007", &s).status, Status::Pass);
        assert_eq!(judge("TLS-002", &s).status, Status::Pass);
        assert_eq!(judge("GEN-001", &on_major(PG13, &[])).status, Status::Fail);
    }

    #[test]
    fn version_dependent_syntax_and_defaults() {
        // jsonlog exists from 15: the fix proposes csvlog on 13.
        let stderr = [("log_destination", "stderr"), ("logging_collector", "on")];
        assert!(first_statement(&judge("AUD-006", &on_major(PG13, &stderr)))
            .contains("'stderr,csvlog'"));
        assert!(first_statement(&judge("AUD-006", &on_major(PG18, &stderr)))
            .contains("'stderr,jsonlog'"));
        // log_connections is on/off before 18 and a list from 18.
        let on = [("log_connections", "on"), ("log_disconnections", "on")];
        assert_eq!(judge("AUD-007", &on_major(PG13, &on)).status, Status::Pass);
        let aspects = [
            ("log_connections", "receipt,authentication,authorization"),
            ("log_disconnections", "on"),
        ];
        assert_eq!(
            judge("AUD-007", &on_major(PG18, &aspects)).status,
            Status::Pass
        );
        let receipt = [("log_connections", "receipt"), ("log_disconnections", "on")];
        let f = judge("AUD-007", &on_major(PG18, &receipt));
        assert_eq!(f.status, Status::Fail);
        assert!(first_statement(&f).contains("'receipt,authentication,authorization'"));
        // md5: the default before 14, deprecated from 18.
        let md5 = [
            ("password_encryption", "md5"),
            ("md5_password_warnings", "off"),
        ];
        let f13 = judge("AUTH-001", &on_major(PG13, &md5[..1]));
        assert_eq!(f13.status, Status::Fail);
        assert!(!f13.evidence.contains("deprecates"));
        let f18 = judge("AUTH-001", &on_major(PG18, &md5));
        assert!(
            f18.evidence.contains("PostgreSQL 18 deprecates md5"),
            "{}",
            f18.evidence
        );
        assert!(f18.evidence.contains("md5_password_warnings = off"));
        // Checksums: initdb's default from 18.
        let f = judge("EAR-001", &on_major(PG18, &[("data_checksums", "off")]));
        assert!(f.evidence.contains("from PostgreSQL 18"), "{}", f.evidence);
        // The public schema's CREATE for PUBLIC was the default before 15.
        let mut s = on_major(PG13, &[]);
        testkit::db(&mut s).schemas = Some(vec![crate::model::snapshot::Schema {
            name: "public".into(),
            owner: "postgres".into(),
            acl: vec![crate::model::snapshot::AclItem {
                grantee: "PUBLIC".into(),
                grantor: "postgres".into(),
                privileges: "UC".into(),
                grantable: String::new(),
            }],
        }]);
        let f = judge("PRIV-010", &s);
        assert_eq!(f.status, Status::Fail);
        assert!(f.evidence.contains("before PostgreSQL 15"));
        // oauth (18) on a hostssl line is a central-identity method: warn.
        let mut s = on_major(PG18, &[]);
        s.hba_rules = Some(vec![testkit::hba(
            1,
            "hostssl",
            "all",
            "all",
            Some(("10.0.0.0", "255.0.0.0")),
            "oauth",
        )]);
        assert_eq!(judge("AUTH-005", &s).status, Status::Warn);
    }

    #[test]
    fn alter_system_off_on_17_moves_fixes_to_postgresql_conf() {
        let s = on_major(
            170_006,
            &[("allow_alter_system", "off"), ("log_statement", "none")],
        );
        let f = judge("AUD-009", &s);
        let plan = f.fix.unwrap_or_default();
        assert!(plan.statements.is_empty() && plan.rollback.is_empty());
        assert!(
            plan.note
                .contains("set log_statement = ddl in postgresql.conf"),
            "{}",
            plan.note
        );
    }

    #[test]
    fn partly_accepted_warnings_name_the_accepted_objects() {
        let mut s = testkit::base();
        s.hba_rules = Some(vec![
            testkit::hba(
                1,
                "host",
                "all",
                "all",
                Some(("127.0.0.1", "255.255.255.255")),
                "scram-sha-256",
            ),
            testkit::hba(
                2,
                "host",
                "all",
                "all",
                Some(("::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")),
                "scram-sha-256",
            ),
        ]);
        let first = hba::display(&s.hba_rules.as_deref().unwrap_or(&[])[0]);
        let policy = Policy {
            accepted_risks: vec![PolicyAcceptedRisk {
                id: "TLS-004".into(),
                object: Some(first.clone()),
                by: "CISO".into(),
                reason: "monitoring agent".into(),
                expires: "2026-12-31".into(),
                ..Default::default()
            }],
            ..Policy::default()
        };
        let f = judge_with("TLS-004", &s, &policy);
        assert_eq!(f.status, Status::Warn);
        assert_eq!(f.objects.len(), 1);
        assert!(f.evidence.contains(&format!(
            "accepted in the policy: {first} (by CISO until 2026-12-31)"
        )));
        // Expired: nothing is accepted.
        s.collected_at = "2027-01-02T00:00:00Z".into();
        let f = judge_with("TLS-004", &s, &policy);
        assert_eq!(f.objects.len(), 2);
        assert!(!f.evidence.contains("accepted in the policy"));
    }

    #[test]
    fn registry_follows_guide_order() {
        let sections: Vec<Section> = registry().iter().map(|c| c.section).collect();
        let mut sorted = sections.clone();
        sorted.sort();
        assert_eq!(sections, sorted);
    }
}

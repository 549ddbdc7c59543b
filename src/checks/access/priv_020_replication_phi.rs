//! PRIV-020: PHI leaving through logical replication.
//!
//! A login with REPLICATION can open a replication connection and decode
//! every change of every table through a logical slot (or create one), past
//! every grant and row-level policy. So such a login must be a service
//! account the policy names (the subscriber's or backup tool's). The
//! publications that carry PHI tables and the logical slots are evidence:
//! they show what leaves and to whom, and are fine for such an account.

use super::role_fixes::{attribute_plan, REPLICATION};
use super::scoped::per_database;
use super::{need_roles, sorted};
use crate::checks::facts::{part_missing, sample};
use crate::checks::phi;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{FixPlan, Section, Severity};
use crate::model::snapshot::{DatabaseFacts, Publication, Relation, Snapshot};
use crate::policy::Policy;
use std::collections::BTreeMap;

pub static REPLICATION_PHI: Check = Check {
    id: "PRIV-020",
    section: Section::Access,
    title: "Only service accounts can stream PHI out through logical replication",
    severity: Severity::High,
    hipaa: &["164.312(a)(1)", "164.312(e)(1)"],
    cis: Some("7.1"),
    rationale: "A login with REPLICATION can decode every change of every table through a \
        logical replication slot, including tables it holds no SELECT on, past all grants \
        and row-level security; a publication names the PHI tables that leave. High: a \
        complete, continuous copy of PHI. A non-superuser REPLICATION login fails unless the \
        policy lists it in service_accounts (the subscriber's or backup tool's own account); \
        superusers can always replicate and are PRIV-001's concern; NOLOGIN roles are \
        inert. Every publication of a PHI table (FOR ALL TABLES included) and every logical \
        slot is listed as evidence. Snapshots without publications or slots are unknown.",
    reproduce_sql: "SELECT rolname FROM pg_roles WHERE rolreplication AND rolcanlogin AND NOT \
        rolsuper;\nSELECT pubname, puballtables FROM pg_publication;\nSELECT * FROM \
        pg_publication_tables;\nSELECT slot_name, plugin, database, active FROM \
        pg_replication_slots WHERE slot_type = 'logical';",
    evaluate: replication_phi,
    fix: Fix::Build(revoke_replication_logins),
};

fn replication_phi(s: &Snapshot, policy: &Policy) -> Verdict {
    let roles = match need_roles(s) {
        Ok(r) => r,
        Err(v) => return v,
    };
    let logins = sorted(
        roles
            .iter()
            .filter(|r| r.replication && r.can_login && !r.superuser)
            .map(|r| r.name.clone()),
    );
    let offenders: Vec<String> = logins
        .iter()
        .filter(|r| !policy.service_accounts.contains(r))
        .cloned()
        .collect();
    let mut seen = format!(
        "{} non-superuser login(s) with REPLICATION: {}",
        logins.len(),
        if logins.is_empty() {
            "none".to_string()
        } else {
            sample(&logins)
        }
    );
    if !offenders.is_empty() {
        seen.push_str(&format!(
            "; not service accounts in the policy: {}",
            sample(&offenders)
        ));
    }
    let publications = per_database(s, |db| db.publications.as_deref());
    let mut shown: Vec<String> = Vec::new();
    for found in &publications.found {
        shown.extend(
            found
                .part
                .iter()
                .filter_map(|p| phi_publication(found.db, p, policy)),
        );
    }
    // Every one, not a sample: the list is the evidence the issue asks for.
    seen.push_str(&format!(
        "; publications of PHI tables: {}",
        if shown.is_empty() {
            "none".to_string()
        } else {
            shown.join("; ")
        }
    ));
    match &s.replication_slots {
        Some(slots) => {
            let logical: Vec<String> = slots
                .iter()
                .filter(|slot| slot.slot_type == "logical")
                .map(|slot| {
                    format!(
                        "{} ({}, database {}, {})",
                        slot.name,
                        slot.plugin.as_deref().unwrap_or("no plugin"),
                        slot.database.as_deref().unwrap_or("?"),
                        if slot.active { "active" } else { "inactive" }
                    )
                })
                .collect();
            seen.push_str(&format!(
                "; logical replication slots: {}",
                if logical.is_empty() {
                    "none".to_string()
                } else {
                    logical.join(", ")
                }
            ));
        }
        None => seen.push_str("; replication slots were not collected"),
    }
    if !publications.missing.is_empty() {
        seen.push_str(&format!(
            "; publications not collected in database(s): {}",
            publications.missing.join(", ")
        ));
    }
    if !offenders.is_empty() {
        return Verdict::fail(seen).with_objects(offenders);
    }
    let missing = if s.replication_slots.is_none() {
        Some("replication_slots")
    } else if !publications.missing.is_empty() || s.databases.is_empty() {
        Some("publications")
    } else {
        None
    };
    match missing {
        Some(part) => {
            let mut verdict = part_missing(s, part, String::new());
            verdict.grant = verdict.grant.filter(|g| !g.is_empty());
            verdict.evidence = format!("{}; {seen}", verdict.evidence);
            verdict
        }
        None => Verdict::pass(seen),
    }
}

/// `db: pub → PHI tables`, or `None` when the publication carries no PHI
/// table. A database whose relations were not collected cannot be judged,
/// so its publications are all listed as such.
fn phi_publication(
    db: &DatabaseFacts,
    publication: &Publication,
    policy: &Policy,
) -> Option<String> {
    let label = if publication.all_tables {
        format!("{}: {} (FOR ALL TABLES)", db.name, publication.name)
    } else {
        format!("{}: {}", db.name, publication.name)
    };
    let Some(relations) = db.relations.as_deref() else {
        return Some(format!(
            "{label}: tables not judged (relations not collected)"
        ));
    };
    let by_name: BTreeMap<String, &Relation> =
        relations.iter().map(|r| (r.qualified_name(), r)).collect();
    let phi_tables: Vec<String> = publication
        .tables
        .iter()
        .filter(|t| {
            by_name
                .get(*t)
                .is_some_and(|r| phi::is_phi_table(r, policy))
        })
        .cloned()
        .collect();
    // FOR ALL TABLES also publishes PHI tables created later.
    let phi_tables = if publication.all_tables && phi_tables.is_empty() {
        sorted(
            phi::phi_relations(relations, policy)
                .filter(|r| matches!(r.kind.as_str(), "r" | "p"))
                .map(Relation::qualified_name),
        )
    } else {
        phi_tables
    };
    if phi_tables.is_empty() {
        // Listed anyway: it will publish every PHI table created later.
        publication
            .all_tables
            .then(|| format!("{label} → no PHI table yet, every new table is published"))
    } else {
        Some(format!("{label} → {}", phi_tables.join(", ")))
    }
}

fn revoke_replication_logins(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    attribute_plan(
        s,
        verdict,
        &[REPLICATION],
        "a subscriber's or backup tool's own account keeps REPLICATION: delete its statement \
         and list it in the policy's service_accounts; for PHI tables that should not leave, \
         ALTER PUBLICATION … DROP TABLE or DROP PUBLICATION (and drop unused logical slots \
         with pg_drop_replication_slot)",
    )
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::{add_roles, login, patients};
    use crate::checks::testkit::{base, db, Case};
    let setup = |replicator_is_service: bool| {
        let mut s = base();
        add_roles(
            &mut s,
            vec![login("reporting_sub"), {
                let mut r = login("etl");
                r.replication = true;
                r
            }],
        );
        s.replication_slots = Some(Vec::new());
        let facts = db(&mut s);
        facts.relations = Some(vec![patients("phi_owner")]);
        facts.publications = Some(vec![Publication {
            name: "to_reporting".into(),
            owner: "postgres".into(),
            all_tables: false,
            tables: vec!["public.patients".into()],
        }]);
        let policy = Policy {
            service_accounts: if replicator_is_service {
                vec!["etl".into()]
            } else {
                Vec::new()
            },
            ..Policy::default()
        };
        (s, policy)
    };
    let (good, policy) = setup(true);
    let (bad, _) = setup(false);
    // The case's policy applies to both fixtures: the bad one lists etl, so
    // it fails through a second REPLICATION login the policy does not name.
    let mut bad = bad;
    add_roles(
        &mut bad,
        vec![{
            let mut r = login("analyst");
            r.replication = true;
            r
        }],
    );
    vec![Case::new("PRIV-020", good, bad).with_policy(policy)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::{judge, judge_with};
    use crate::model::finding::Status;

    #[test]
    fn publications_of_phi_tables_and_slots_are_evidence() {
        let case = cases().remove(0);
        let f = judge_with("PRIV-020", &case.bad, &case.policy);
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.objects, vec!["analyst".to_string()]);
        assert!(
            f.evidence
                .contains("publications of PHI tables: clinic: to_reporting → public.patients"),
            "{}",
            f.evidence
        );
        let plan = f.fix.unwrap_or_default();
        assert_eq!(
            plan.statements,
            vec!["ALTER ROLE \"analyst\" NOREPLICATION"]
        );
        assert_eq!(plan.rollback, vec!["ALTER ROLE \"analyst\" REPLICATION"]);
    }

    #[test]
    fn for_all_tables_lists_the_phi_tables_and_older_snapshots_are_unknown() {
        let mut s = cases().remove(0).good;
        if let Some(p) = crate::checks::testkit::db(&mut s).publications.as_mut() {
            p[0].all_tables = true;
            p[0].tables.clear();
        }
        let slot = |name: &str, logical: bool| crate::model::snapshot::ReplicationSlot {
            name: name.into(),
            slot_type: if logical { "logical" } else { "physical" }.into(),
            plugin: logical.then(|| "pgoutput".into()),
            database: logical.then(|| "clinic".into()),
            active: false,
        };
        s.replication_slots = Some(vec![slot("standby_1", false), slot("to_bi", true)]);
        let policy = cases().remove(0).policy;
        let f = judge_with("PRIV-020", &s, &policy);
        assert_eq!(f.status, Status::Pass);
        assert!(
            f.evidence
                .contains("logical replication slots: to_bi (pgoutput, database clinic, inactive)"),
            "{}",
            f.evidence
        );
        assert!(!f.evidence.contains("standby_1"));
        assert!(
            f.evidence
                .contains("clinic: to_reporting (FOR ALL TABLES) → public.patients"),
            "{}",
            f.evidence
        );
        crate::checks::testkit::db(&mut s).relations = Some(Vec::new());
        let f = judge_with("PRIV-020", &s, &policy);
        assert!(
            f.evidence
                .contains("no PHI table yet, every new table is published"),
            "{}",
            f.evidence
        );
        s.replication_slots = None;
        crate::checks::testkit::db(&mut s).publications = None;
        let f = judge_with("PRIV-020", &s, &policy);
        assert_eq!(f.status, Status::Unknown, "{}", f.evidence);
        // Without the policy the replication login fails whatever is missing.
        assert_eq!(judge("PRIV-020", &s).status, Status::Fail);
    }
}

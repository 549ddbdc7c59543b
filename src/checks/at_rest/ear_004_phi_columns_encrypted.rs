//! EAR-004: whether columns named like PHI in PHI tables hold pgcrypto
//! ciphertext rather than plain text, by tier: direct identifiers of the
//! highest risk (SSN, MRN, member and account numbers, licence numbers,
//! biometric ids) in clear text fail; other PHI in clear text (names,
//! dates, diagnoses) warns unless the policy's `encrypt_phi_categories`
//! names its category. Columns confirmed or rejected in the policy after
//! discovery count as decided (`checks::phi::plaintext_phi_in`).

use super::column_encryption::{encrypt_columns_plan, KEY_INPUT};
use super::{databases, in_database, not_collected, stores_rows};
use crate::checks::facts::{listing, settle};
use crate::checks::phi;
use crate::checks::{Check, Fix, Prerequisites, Verdict};
use crate::model::finding::{Section, Severity};
use crate::model::phi_categories::{Category, Tier};
use crate::model::snapshot::{Column, Relation, Snapshot};
use crate::policy::Policy;

pub static PHI_COLUMNS_ENCRYPTED: Check = Check {
    id: "EAR-004",
    section: Section::AtRest,
    title: "PHI columns are stored encrypted",
    severity: Severity::High,
    hipaa: &["164.312(a)(2)(iv)"],
    cis: None,
    rationale: "Identifiers and diagnoses stored as plain text are readable by anyone who \
        gets the table, a dump or a backup, whatever the disk encryption below. Columns \
        whose names mark PHI (ssn, mrn, dob, diagnosis …) in PHI tables should hold pgcrypto \
        ciphertext (bytea). Exposure of PHI, so high. Tables in not_phi_tables are skipped; \
        single columns can be accepted in the policy (object schema.table.column, prefixed \
        with `database: ` when several databases were scanned). Integer or uuid keys named \
        like patient_id / patient_uuid are left out: they link rows to a patient, the \
        identifiers themselves live in the patients table, and ciphertext would break \
        the join; the table still counts as PHI for the access checks.",
    reproduce_sql: "SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod) \
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
        JOIN pg_namespace n ON n.oid = c.relnamespace \
        WHERE c.relkind IN ('r', 'p', 'm') AND a.attnum > 0 AND NOT a.attisdropped \
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
        AND a.attname ~* '(ssn|mrn|dob|birth|diagnos|icd|npi|insurance|member_id|medicare|medicaid|patient)' \
        AND a.atttypid <> 'bytea'::regtype \
        AND NOT (a.attname ~* 'patient_?(id|uuid|key)$' \
        AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'uuid'::regtype)) \
        ORDER BY 1, 2, 3;",
    evaluate: |s, p| settle(phi_columns_encrypted(s, p)),
    fix: Fix::After(
        Prerequisites {
            needs_first: &["EAR-003"],
            restart_between: false,
            needs_input: Some(KEY_INPUT),
        },
        &Fix::Build(encrypt_columns_plan),
    ),
};

fn phi_columns_encrypted(s: &Snapshot, policy: &Policy) -> Result<Verdict, Verdict> {
    // (object, object with its tier) of clear-text columns that must be
    // encrypted, and of the other PHI in clear text.
    let mut must: Vec<(String, String)> = Vec::new();
    let mut other: Vec<(String, String)> = Vec::new();
    let mut uncollected = Vec::new();
    for db in databases(s)? {
        let Some(relations) = &db.relations else {
            uncollected.push(db.name.clone());
            continue;
        };
        for rel in relations.iter().filter(|r| stores_rows(r)) {
            for found in phi::plaintext_phi_in(&db.name, rel, policy) {
                let object = in_database(s, db, &column_name(rel, found.column));
                let asked = found.category.is_some_and(|c| policy.encrypts_category(c));
                let shown = format!("{object} ({})", tier_of(&found, asked));
                if found.tier == Tier::Direct || asked {
                    must.push((object, shown));
                } else {
                    other.push((object, shown));
                }
            }
        }
    }
    let shown = |rows: &[(String, String)]| -> Vec<String> {
        rows.iter().map(|(_, shown)| shown.clone()).collect()
    };
    let objects = || must.iter().chain(&other).map(|(object, _)| object.clone());
    if !must.is_empty() {
        let mut evidence = format!(
            "{} PHI column(s) that must be encrypted are stored as plain text: {}",
            must.len(),
            listing(&shown(&must))
        );
        if !other.is_empty() {
            evidence.push_str(&format!(
                "; other PHI in plain text: {}",
                listing(&shown(&other))
            ));
        }
        return Ok(Verdict::fail(evidence).with_objects(objects()));
    }
    if !uncollected.is_empty() {
        return Err(not_collected("tables and columns", &uncollected));
    }
    if !other.is_empty() {
        return Ok(Verdict::warn(format!(
            "no direct identifier in plain text, but {} other PHI column(s) are: {} (the \
             policy's encrypt_phi_categories makes a category fail)",
            other.len(),
            listing(&shown(&other))
        ))
        .with_objects(objects()));
    }
    Ok(Verdict::pass(format!(
        "no plain-text PHI column in: {}",
        s.databases
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// `direct identifier: ssn`, `other PHI: birth_date, encryption asked by
/// the policy`, `direct identifier: confirmed, category not stated`.
fn tier_of(found: &phi::PlaintextPhi<'_>, asked: bool) -> String {
    let category = found
        .category
        .map_or("category not stated", Category::as_str);
    let mut text = format!("{}: {category}", found.tier.as_str());
    if asked {
        text.push_str(", encryption asked by the policy");
    }
    if found.confirmed {
        text.push_str(", confirmed");
    }
    text
}

fn column_name(rel: &Relation, col: &Column) -> String {
    format!("{}.{}", rel.qualified_name(), col.name)
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::{patients, with_tables};
    use crate::checks::testkit::Case;

    vec![Case::new(
        "EAR-004",
        with_tables(vec![patients("bytea")]),
        with_tables(vec![patients("text")]),
    )]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{patients, run, with_tables};
    use super::*;
    use crate::checks::testkit::table;
    use crate::model::finding::Status;
    use crate::model::snapshot::DatabaseFacts;
    use crate::policy::PolicyAcceptedRisk;
    use postgres_protocol::escape::escape_identifier;

    #[test]
    fn not_phi_tables_and_per_column_acceptance() {
        let s = with_tables(vec![patients("text")]);
        let listed = Policy {
            not_phi_tables: vec!["public.patients".into()],
            ..Policy::default()
        };
        assert_eq!(
            (PHI_COLUMNS_ENCRYPTED.evaluate)(&s, &listed).status,
            Status::Pass
        );
        let accepted = Policy {
            accepted_risks: vec![PolicyAcceptedRisk {
                id: "EAR-004".into(),
                object: Some("public.patients.ssn".into()),
                by: "CISO".into(),
                reason: "tokenized upstream".into(),
                expires: "2027-01-01".into(),
                ..Default::default()
            }],
            ..Policy::default()
        };
        let finding =
            crate::checks::evaluate_one(&PHI_COLUMNS_ENCRYPTED, &s, &accepted, &Default::default());
        assert_eq!(finding.status, Status::Accepted);
        assert!(finding.objects.is_empty());
        assert!(finding
            .evidence
            .contains("accepted in the policy: public.patients.ssn (by CISO until 2027-01-01)"));
        // A second plain-text column keeps the finding failing; only it is fixed.
        let mut two = patients("text");
        two.columns.push(crate::model::snapshot::Column {
            name: "mrn".into(),
            type_name: "text".into(),
            acl: Vec::new(),
        });
        let s = with_tables(vec![two]);
        let finding =
            crate::checks::evaluate_one(&PHI_COLUMNS_ENCRYPTED, &s, &accepted, &Default::default());
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(finding.objects, vec!["public.patients.mrn".to_string()]);
        assert!(finding
            .evidence
            .contains("accepted in the policy: public.patients.ssn"));
        let plan = finding.fix.unwrap_or_default();
        assert!(plan
            .statements
            .iter()
            .all(|st| !st.to_string().contains("\"ssn\"")));
        assert!(plan
            .statements
            .iter()
            .any(|st| st.to_string().contains("\"mrn\"")));
    }

    #[test]
    fn partitions_count_once_through_their_parent() {
        let mut part = patients("text");
        part.name = "patients_2026".into();
        part.is_partition = true;
        part.parent = Some("public.patients".into());
        let mut parent = patients("text");
        parent.kind = "p".into();
        let v = run(&PHI_COLUMNS_ENCRYPTED, &with_tables(vec![parent, part]));
        assert_eq!(v.objects, vec!["public.patients.ssn".to_string()]);
    }

    #[test]
    fn several_databases_prefix_objects_and_plan_only_the_connected_one() {
        let mut s = with_tables(vec![patients("text")]);
        let mut other = DatabaseFacts {
            name: "billing".into(),
            relations: Some(vec![patients("text")]),
            ..DatabaseFacts::default()
        };
        other.extensions = Some(Vec::new());
        s.databases.push(other);
        let v = run(&PHI_COLUMNS_ENCRYPTED, &s);
        assert_eq!(
            v.objects,
            vec![
                "billing: public.patients.ssn".to_string(),
                "clinic: public.patients.ssn".to_string()
            ]
        );
        let plan = PHI_COLUMNS_ENCRYPTED.plan(&s, &v);
        assert_eq!(plan.statements.len(), 3);
        assert!(plan.note.contains("billing: public.patients.ssn"));
    }

    #[test]
    fn encryption_plan_reads_the_key_from_the_session_and_is_irreversible() {
        let s = with_tables(vec![patients("text")]);
        let v = run(&PHI_COLUMNS_ENCRYPTED, &s);
        let plan = PHI_COLUMNS_ENCRYPTED.plan(&s, &v);
        assert!(plan.irreversible);
        assert!(plan.rollback.is_empty());
        assert_eq!(
            plan.statements,
            vec![
                "ALTER TABLE \"public\".\"patients\" ADD COLUMN \"ssn_encrypted\" bytea",
                "UPDATE \"public\".\"patients\" SET \"ssn_encrypted\" = pgp_sym_encrypt(\"ssn\"::text, \
                 current_setting('app.phi_key')) WHERE \"ssn\" IS NOT NULL",
                "ALTER TABLE \"public\".\"patients\" DROP COLUMN \"ssn\"",
            ]
        );
    }

    #[test]
    fn encryption_plan_quotes_hostile_names() {
        for name in ["a\"; DROP TABLE x; --", "new\nline", "zoë'; --"] {
            let mut rel = table(name, "o", &[("ssn", "text")]);
            rel.schema = name.into();
            rel.columns.push(crate::model::snapshot::Column {
                name: format!("{name}_ssn"),
                type_name: "text".into(),
                acl: Vec::new(),
            });
            let s = with_tables(vec![rel]);
            let v = run(&PHI_COLUMNS_ENCRYPTED, &s);
            assert_eq!(v.objects.len(), 2, "{name:?}");
            let plan = PHI_COLUMNS_ENCRYPTED.plan(&s, &v);
            assert_eq!(plan.statements.len(), 6);
            for statement in &plan.statements {
                let text = statement.to_string();
                assert!(text.contains(&escape_identifier(name)), "{statement}");
                let bare: String = crate::checks::testkit::outside_quotes(&text);
                assert!(!bare.contains(';') && !bare.contains('\n'), "{statement:?}");
            }
        }
    }

    #[test]
    fn integer_patient_keys_are_not_plaintext_phi() {
        let s = with_tables(vec![table(
            "visits",
            "o",
            &[
                ("patient_id", "integer"),
                ("patient_uuid", "uuid"),
                ("visit_date", "date"),
            ],
        )]);
        assert_eq!(run(&PHI_COLUMNS_ENCRYPTED, &s).status, Status::Pass);
        let s = with_tables(vec![table(
            "visits",
            "o",
            &[("patient_id", "integer"), ("mrn", "text")],
        )]);
        let v = run(&PHI_COLUMNS_ENCRYPTED, &s);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.objects, vec!["public.visits.mrn".to_string()]);
    }

    fn decided(
        column: &str,
        decision: crate::policy::phi::Decision,
        category: Option<&str>,
    ) -> crate::policy::phi::PhiDecision {
        crate::policy::phi::PhiDecision {
            column: column.into(),
            decision,
            category: category.map(Into::into),
            by: "privacy officer".into(),
            at: "2026-12-01".into(),
            reason: None,
        }
    }

    #[test]
    fn tiers_fail_direct_identifiers_and_warn_on_other_phi() {
        use crate::policy::phi::Decision;
        let dob = table(
            "people",
            "o",
            &[("id", "integer"), ("dob", "date"), ("last_name", "text")],
        );
        let s = with_tables(vec![dob]);
        let v = (PHI_COLUMNS_ENCRYPTED.evaluate)(&s, &Policy::default());
        assert_eq!(v.status, Status::Warn, "{}", v.evidence);
        assert!(
            v.evidence
                .contains("public.people.dob (other PHI: birth_date)"),
            "{}",
            v.evidence
        );
        let asked = Policy {
            encrypt_phi_categories: vec!["birth_date".into()],
            ..Policy::default()
        };
        let v = (PHI_COLUMNS_ENCRYPTED.evaluate)(&s, &asked);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.evidence
                .contains("birth_date, encryption asked by the policy"),
            "{}",
            v.evidence
        );

        let v = (PHI_COLUMNS_ENCRYPTED.evaluate)(
            &with_tables(vec![patients("text")]),
            &Policy::default(),
        );
        assert!(
            v.evidence
                .contains("public.patients.ssn (direct identifier: ssn)"),
            "{}",
            v.evidence
        );

        // A confirmed column the name rule misses fails with its category;
        // a rejected one is left out.
        let db = s.databases[0].name.clone();
        let coded = table("enrolment", "o", &[("ref_code", "text"), ("ssn", "text")]);
        let policy = Policy {
            phi_columns: vec![
                decided(
                    &format!("{db}.public.enrolment.ref_code"),
                    Decision::Confirmed,
                    Some("health_plan_id"),
                ),
                decided(
                    &format!("{db}.public.enrolment.ssn"),
                    Decision::Rejected,
                    None,
                ),
            ],
            ..Policy::default()
        };
        let v = (PHI_COLUMNS_ENCRYPTED.evaluate)(&with_tables(vec![coded.clone()]), &policy);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.objects, vec!["public.enrolment.ref_code".to_string()]);
        assert!(
            v.evidence
                .contains("direct identifier: health_plan_id, confirmed"),
            "{}",
            v.evidence
        );
        // Decisions about another database do not count here.
        let elsewhere = Policy {
            phi_columns: vec![decided(
                "elsewhere.public.enrolment.ssn",
                Decision::Rejected,
                None,
            )],
            ..Policy::default()
        };
        let v = (PHI_COLUMNS_ENCRYPTED.evaluate)(&with_tables(vec![coded]), &elsewhere);
        assert_eq!(v.objects, vec!["public.enrolment.ssn".to_string()]);
    }
}

//! Planning the insecure test cluster's saved scan (the golden fixture):
//! order, the one restart, what is skipped, the merged pg_hba.conf, the
//! exports and the plan file.

use super::*;
use crate::apply::guards::SessionContext;
use crate::checks;
use crate::model::finding::{Finding, Section};
use crate::model::plan::{Phase, PlanRecord, SkipReason, StepState};
use crate::model::snapshot::Snapshot;
use crate::policy::{Attestations, Policy};

const INSECURE: &str = include_str!(
    "../../../tests/fixtures/golden/verdicts_live-insecure_cluster_verdicts_and_least_privilege_scans-1.snapshot.json"
);

fn insecure() -> (Snapshot, Vec<Finding>) {
    let snapshot: Snapshot = serde_json::from_str(INSECURE).expect("snapshot");
    let findings = checks::evaluate_all(&snapshot, &Policy::default(), &Attestations::default());
    (snapshot, findings)
}

/// The harness's superuser on the Unix socket.
fn socket_session() -> SessionContext {
    let mut context = SessionContext::default();
    context.facts.session_user = "postgres".into();
    context.facts.database = "clinic".into();
    context.facts.superuser = true;
    context.facts.server_version_num = 150000;
    context
}

fn plan_for(selection: Selection) -> crate::model::plan::HardeningPlan {
    let (snapshot, findings) = insecure();
    build(Inputs {
        snapshot: &snapshot,
        findings: &findings,
        policy: &Policy::default(),
        context: &socket_session(),
        selection: &selection,
        id: "20261207T230000Z-plan-abc123".into(),
        missing_libraries: &Ok(vec!["set_user".into()]),
    })
}

fn position(plan: &crate::model::plan::HardeningPlan, id: &str) -> usize {
    plan.steps
        .iter()
        .position(|s| s.check_id == id)
        .unwrap_or_else(|| panic!("{id} not in the plan: {plan:#?}"))
}

#[test]
fn prerequisites_come_first_and_the_restart_splits_the_plan_once() {
    let plan = plan_for(Selection::All);
    assert!(position(&plan, "TLS-001") < position(&plan, "TLS-004"));
    assert!(position(&plan, "AUD-001") < position(&plan, "AUD-002"));
    for id in ["AUD-002", "AUD-003"] {
        assert_eq!(
            plan.step(id).map(|s| s.phase),
            Some(Phase::AfterRestart),
            "{id}"
        );
    }
    // Every restart-class change comes before the one restart.
    for step in plan.steps.iter().filter(|s| s.restart_class()) {
        assert_eq!(step.phase, Phase::BeforeRestart, "{}", step.check_id);
    }
    let phases: Vec<Phase> = plan.steps.iter().map(|s| s.phase).collect();
    let mut sorted = phases.clone();
    sorted.sort();
    assert_eq!(phases, sorted, "one boundary between the phases");
    assert!(plan.needs_restart());
    // Catalogue order otherwise.
    assert!(position(&plan, "TLS-001") < position(&plan, "AUTH-001"));
    let mut ids: Vec<&str> = plan.steps.iter().map(|s| s.check_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), plan.steps.len(), "each check once");
}

#[test]
fn what_cannot_be_automated_is_skipped_with_the_reason() {
    let plan = plan_for(Selection::All);
    let reason = |id: &str| {
        plan.skipped
            .iter()
            .find(|s| s.check_id == id)
            .map(|s| (s.reason, s.detail.clone()))
            .unwrap_or_else(|| panic!("{id} not skipped: {plan:#?}"))
    };
    assert_eq!(reason("EAR-004").0, SkipReason::NeedsInput);
    assert!(reason("EAR-004").1.contains("key"));
    assert_eq!(reason("AUTH-006").0, SkipReason::Advice);
    assert_eq!(reason("EAR-001").0, SkipReason::Advice);
    assert_eq!(
        reason("PRIV-018").0,
        SkipReason::Guard,
        "set_user is missing"
    );
    for skipped in &plan.skipped {
        assert!(plan.step(&skipped.check_id).is_none());
        assert!(!skipped.detail.is_empty(), "{}", skipped.check_id);
    }
}

#[test]
fn asking_for_one_check_brings_its_prerequisite() {
    let plan = plan_for(Selection::Ids(vec!["TLS-004".into()]));
    let ids: Vec<&str> = plan.steps.iter().map(|s| s.check_id.as_str()).collect();
    assert_eq!(ids, ["TLS-001", "TLS-004"]);
    assert_eq!(plan.steps[0].prerequisite_of, ["TLS-004"]);
    assert_eq!(plan.steps[1].needs_first, ["TLS-001"]);
    let audit = plan_for(Selection::Section(Section::Audit));
    assert!(audit.steps.iter().all(|s| s.section == Section::Audit));
}

#[test]
fn pg_hba_edits_are_merged_into_one_file() {
    let plan = plan_for(Selection::All);
    let hba = plan
        .config_files
        .iter()
        .find(|f| f.file == "hba_file")
        .expect("merged pg_hba.conf");
    assert!(hba.checks.len() >= 2, "{:?}", hba.checks);
    assert!(hba.checks.iter().any(|c| c == "TLS-004"));
    // The last step's file carries the earlier steps' changes.
    assert!(
        hba.lines.iter().any(|l| l.starts_with("hostssl")),
        "{:#?}",
        hba.lines
    );
    assert!(
        hba.lines
            .iter()
            .any(|l| l == "host replication postgres all reject"),
        "{:#?}",
        hba.lines
    );
    // AUTH-003 would turn the socket's `trust` into `peer`, which the guard cannot judge
    // for this session: it is skipped, so the merged file keeps that line as it was.
    assert!(
        plan.skipped
            .iter()
            .any(|s| s.check_id == "AUTH-003" && s.reason == SkipReason::Guard),
        "{:#?}",
        plan.skipped
    );
    assert!(
        hba.lines.iter().any(|l| l == "local all all trust"),
        "{:#?}",
        hba.lines
    );
}

#[test]
fn every_export_names_the_plan_first_and_the_restart() {
    let plan = plan_for(Selection::All);
    for format in [PlanFormat::Text, PlanFormat::Sql, PlanFormat::Md] {
        let shown = render(&plan, format);
        let first = shown.lines().next().unwrap_or("");
        assert!(first.contains(&plan.id), "{format:?}: {first}");
        assert!(shown.to_lowercase().contains("restart"), "{format:?}");
        assert!(shown.contains("AUD-002"), "{format:?}");
    }
    let sql = render(&plan, PlanFormat::Sql);
    let restart = sql.find("RESTART THE SERVER HERE").expect("restart marker");
    let aud2 = sql.find("AUD-002 ").expect("AUD-002");
    assert!(restart < aud2);
    let back: crate::model::plan::HardeningPlan =
        serde_json::from_str(&render(&plan, PlanFormat::Json)).expect("json");
    assert_eq!(back, plan);
}

#[test]
fn plan_files_round_trip_and_refuse_unknown_or_corrupt_plans() {
    let dir = tempfile::tempdir().unwrap();
    let files = PlanFiles::beside(&dir.path().join("change-log.jsonl"));
    let mut record = PlanRecord::new(plan_for(Selection::All), "2026-12-07T23:00:00Z");
    record.progress[0].state = StepState::Done;
    files.save(&record).unwrap();
    assert_eq!(files.load(&record.plan.id).unwrap(), record);
    assert!(matches!(
        files.load("20261207T230000Z-plan-ffffff"),
        Err(PlanFileError::Unknown { .. })
    ));
    assert!(matches!(
        files.load("../change-log"),
        Err(PlanFileError::Unknown { .. })
    ));
    let path = files.dir().join(format!("{}.json", record.plan.id));
    std::fs::write(&path, "{\"plan\": 1").unwrap();
    assert!(matches!(
        files.load(&record.plan.id),
        Err(PlanFileError::Corrupt { .. })
    ));
}

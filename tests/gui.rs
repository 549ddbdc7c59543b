//! Headless GUI tests: egui_kittest drives the App by labels and roles,
//! exactly as a person would click, then the tests assert on what is shown
//! and on the App's state.

// Test helpers outside #[test] functions panic on purpose.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;
use pgsafeguard::apply::changelog::{ChangeTarget, Who};
use pgsafeguard::apply::{Action, ChangeLogEntry, ConfigFileAction, Evidence, Outcome};
use pgsafeguard::db::conninfo::{ConnParams, SslMode};
use pgsafeguard::demo::Discovery;
use pgsafeguard::drift::ObjectKind;
use pgsafeguard::model::finding::{ApplyClass, Finding, Section, Status, Summary};
use pgsafeguard::model::proof::{
    CheckProof, Effect, Outcome as ProofOutcome, Probe, ProbeRun, Proof,
};
use pgsafeguard::model::snapshot::{self, Setting, Snapshot};
use pgsafeguard::model::statement::Statement;
use pgsafeguard::policy::{Policy, PolicyAcceptedRisk};
use pgsafeguard::report::{verify_pdf, SigningIdentity};
use pgsafeguard::session::SessionFile;
use pgsafeguard::store::record::RecordKind;
use pgsafeguard::store::scan_record::ScanSource;
use pgsafeguard::store::{EvidenceStore, StoreChoice};
use pgsafeguard::ui::app::{self, App, AppInit};
use pgsafeguard::ui::apply_dialog::{ConfirmForm, ConfirmGate, DialogStage};
use pgsafeguard::ui::changes::SinceLast;
use pgsafeguard::ui::history::{ChainCheck, StoreStatus};
use pgsafeguard::ui::history_plot::CHART_LABEL;
use pgsafeguard::ui::jobs;
use pgsafeguard::ui::profiles::PrefsStore;
use pgsafeguard::ui::prove::{self, ProveScope};
use pgsafeguard::ui::recorded_banner_ui::BACK_TO_LIVE;
use pgsafeguard::ui::state::ScanKind;
use pgsafeguard::ui::state::{Page, Source};
use pgsafeguard::ui::walkthrough_ui;
use pgsafeguard::ui::{
    acceptance, acceptances_ui, changes_ui, fleet_export, proof_widgets, training, Command,
};
use std::collections::BTreeMap;

// ----- fixtures -----

fn setting(value: &str) -> Setting {
    Setting {
        setting: Some(value.into()),
        source: "configuration file".into(),
        sourcefile: Some("/etc/postgresql/15/main/postgresql.conf".into()),
        sourceline: Some(1),
        context: "sighup".into(),
        vartype: "string".into(),
        ..Setting::default()
    }
}

/// A PostgreSQL 15 snapshot of an insecure server: TLS off, md5, no audit.
fn insecure_snapshot() -> Snapshot {
    let settings: BTreeMap<String, Setting> = [
        ("ssl", "off"),
        ("password_encryption", "md5"),
        ("listen_addresses", "*"),
        ("logging_collector", "off"),
        ("log_connections", "off"),
        ("archive_mode", "off"),
        ("wal_level", "replica"),
        ("data_checksums", "off"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), setting(value)))
    .collect();
    Snapshot {
        schema_version: snapshot::SCHEMA_VERSION,
        collected_at: "2026-11-27T10:00:00Z".into(),
        target: snapshot::Target {
            host: "db.example.org".into(),
            port: 5432,
            dbname: "clinic".into(),
            user: "scanner".into(),
            server_version: Some("15.18".into()),
            server_version_num: Some(150018),
            system_identifier: Some("7300000000000000000".into()),
            sslmode: "prefer".into(),
            tls: None,
        },
        settings: Some(settings),
        roles: Some(vec![snapshot::Role {
            oid: 10,
            name: "postgres".into(),
            superuser: true,
            can_login: true,
            inherit: true,
            conn_limit: -1,
            ..snapshot::Role::default()
        }]),
        ..Snapshot::default()
    }
}

fn harness_with(snapshot: Snapshot) -> Harness<'static, App> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| App::from_snapshot(&cc.egui_ctx, snapshot))
}

fn start_harness(init: AppInit) -> Harness<'static, App> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| App::new(&cc.egui_ctx, init))
}

/// Click a button that starts background work with a spinner: step, do not
/// wait for the UI to settle.
fn click_and_step(harness: &mut Harness<'_, App>, label: &str) {
    harness.get_by_role_and_label(Role::Button, label).click();
    harness.step();
}

/// Scroll a button into view (rows below the fold are clipped) and click it.
fn click_button(harness: &mut Harness<'_, App>, label: &str) {
    harness
        .get_by_role_and_label(Role::Button, label)
        .scroll_to_me();
    harness.run();
    harness.get_by_role_and_label(Role::Button, label).click();
    harness.run();
}

fn open_section(harness: &mut Harness<'_, App>, section: Section) {
    click_button(harness, section.title());
    assert_eq!(harness.state().page(), Page::Section(section));
}

fn select_check(harness: &mut Harness<'_, App>, id: &str) {
    let finding = harness
        .state()
        .finding(id)
        .expect("check is registered")
        .clone();
    click_button(harness, &walkthrough_ui::check_row_label(&finding));
    assert_eq!(harness.state().selected_check(), Some(id));
}

/// Labels of the check rows, top to bottom.
fn check_rows_in_order(harness: &Harness<'_, App>) -> Vec<String> {
    let ids: Vec<String> = harness
        .state()
        .findings()
        .iter()
        .map(walkthrough_ui::check_row_label)
        .collect();
    let mut rows: Vec<(f32, String)> = harness
        .query_all_by_role(Role::Button)
        .filter_map(|node| {
            let label = node.accesskit_node().label()?;
            ids.contains(&label).then(|| (node.rect().min.y, label))
        })
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    rows.into_iter().map(|(_, label)| label).collect()
}

fn first_manual_check(app: &App) -> String {
    let manual: Vec<&str> = app
        .findings()
        .iter()
        .filter(|f| f.status == Status::Manual)
        .map(|f| f.id.as_str())
        .collect();
    let preferred = manual.iter().find(|id| **id == "ADM-001");
    preferred
        .or(manual.first())
        .expect("the registry has at least one manual check")
        .to_string()
}

// ----- walkthrough -----

#[test]
fn six_sections_are_listed_with_their_counts() {
    let mut harness = harness_with(insecure_snapshot());
    harness.run();
    for section in Section::ALL {
        harness.get_by_role_and_label(Role::Button, section.title());
        let summary = harness.state().results().unwrap().section_summary(section);
        let counts = walkthrough_ui::counts_text(&summary);
        assert!(
            harness.query_all_by_label(&counts).next().is_some(),
            "{section:?}: no counts label {counts:?}"
        );
    }
    let total: usize = Section::ALL
        .iter()
        .map(|s| {
            let summary = harness.state().results().unwrap().section_summary(*s);
            Status::ALL
                .iter()
                .map(|st| summary.count(*st))
                .sum::<usize>()
        })
        .sum();
    assert_eq!(total, harness.state().findings().len());
}

#[test]
fn a_section_shows_its_checks_failing_first() {
    let mut harness = harness_with(insecure_snapshot());
    harness.run();
    open_section(&mut harness, Section::Transit);
    let rows = check_rows_in_order(&harness);
    let expected: Vec<String> = harness
        .state()
        .ordered_ids(Section::Transit)
        .iter()
        .map(|id| walkthrough_ui::check_row_label(harness.state().finding(id).unwrap()))
        .collect();
    assert!(!rows.is_empty());
    // Rows outside the visible part of the scroll area are not laid out.
    assert_eq!(rows, expected[..rows.len()]);
    let first = harness
        .state()
        .finding(&expected[0][..expected[0].find(' ').unwrap()])
        .unwrap();
    assert_eq!(first.status, Status::Fail, "failing checks come first");
    let statuses: Vec<Status> = harness
        .state()
        .ordered_ids(Section::Transit)
        .iter()
        .map(|id| harness.state().finding(id).unwrap().status)
        .collect();
    let last_fail = statuses.iter().rposition(|s| *s == Status::Fail).unwrap();
    let first_pass = statuses.iter().position(|s| *s == Status::Pass);
    assert!(first_pass.is_none_or(|p| p > last_fail), "{statuses:?}");
}

#[test]
fn selecting_tls_001_shows_evidence_and_the_fix() {
    let mut harness = harness_with(insecure_snapshot());
    harness.run();
    open_section(&mut harness, Section::Transit);
    select_check(&mut harness, "TLS-001");
    let evidence = harness.state().finding("TLS-001").unwrap().evidence.clone();
    assert!(evidence.contains("ssl"), "{evidence}");
    harness.get_by_label(&evidence);
    harness.get_by_label_contains("ALTER SYSTEM SET \"ssl\" = 'on'");
    harness.get_by_label_contains("SELECT pg_reload_conf();");
    harness.get_by_role_and_label(Role::Button, "Save as .sql");

    // Copy puts the fix on the clipboard output of that frame.
    harness
        .get_by_role_and_label(Role::Button, "Copy fix")
        .click();
    harness.step();
    let copied: Vec<String> = harness
        .output()
        .platform_output
        .commands
        .iter()
        .filter_map(|c| match c {
            egui::OutputCommand::CopyText(text) => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(copied.len(), 1, "{copied:?}");
    assert!(
        copied[0].contains("ALTER SYSTEM SET \"ssl\" = 'on';"),
        "{}",
        copied[0]
    );
    assert!(copied[0].contains("-- Rollback"), "{}", copied[0]);
}

#[test]
fn arrow_keys_move_through_the_check_list() {
    let mut harness = harness_with(insecure_snapshot());
    harness.run();
    open_section(&mut harness, Section::Transit);
    let ids = harness.state().ordered_ids(Section::Transit);
    assert_eq!(harness.state().selected_check(), Some(ids[0].as_str()));
    harness.key_press(egui::Key::ArrowDown);
    harness.run();
    assert_eq!(harness.state().selected_check(), Some(ids[1].as_str()));
    harness.key_press(egui::Key::ArrowUp);
    harness.run();
    assert_eq!(harness.state().selected_check(), Some(ids[0].as_str()));
}

#[test]
fn the_minimum_window_keeps_list_and_detail_side_by_side() {
    let [width, height] = pgsafeguard::ui::MIN_WINDOW;
    let snapshot = insecure_snapshot();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(width, height))
        .build_eframe(move |cc| App::from_snapshot(&cc.egui_ctx, snapshot));
    harness.run();
    open_section(&mut harness, Section::Transit);
    select_check(&mut harness, "TLS-001");
    let finding = harness.state().finding("TLS-001").unwrap().clone();
    let row = harness
        .get_by_role_and_label(Role::Button, &walkthrough_ui::check_row_label(&finding))
        .rect();
    let copy = harness
        .get_by_role_and_label(Role::Button, "Copy fix")
        .rect();
    assert!(row.width() >= 300.0, "check rows are {} wide", row.width());
    assert!(
        row.max.x < copy.min.x,
        "the list {row:?} runs into the detail {copy:?}"
    );
    assert!(copy.max.x <= width, "the detail pane is clipped: {copy:?}");
}

#[test]
fn attesting_a_manual_check_turns_it_attested() {
    let mut harness = harness_with(insecure_snapshot());
    harness.run();
    let id = first_manual_check(harness.state());
    let section = harness.state().finding(&id).unwrap().section;
    open_section(&mut harness, section);
    select_check(&mut harness, &id);

    // An empty name is refused inline.
    click_button(&mut harness, "Attest");
    harness.get_by_label_contains("enter who attests");
    assert_eq!(harness.state().finding(&id).unwrap().status, Status::Manual);

    harness.get_by_label("Attested by").focus();
    harness
        .get_by_label("Attested by")
        .type_text("Dana Reyes, security officer");
    harness.get_by_label("Note").focus();
    harness
        .get_by_label("Note")
        .type_text("evidence in the GRC folder");
    harness.run();
    click_button(&mut harness, "Attest");

    let finding = harness.state().finding(&id).unwrap();
    assert_eq!(finding.status, Status::Attested);
    let attestation = finding.attestation.clone().unwrap();
    assert_eq!(attestation.by, "Dana Reyes, security officer");
    assert_eq!(attestation.note, "evidence in the GRC folder");
    harness.get_by_label_contains("Attested by Dana Reyes");
    let session = harness.state().session_file().unwrap();
    assert!(session.attestations.get(&id).is_some());
}

#[test]
fn export_shortcut_starts_the_export_job() {
    // Ctrl+E opens the export options (the TSA URL); going on from there
    // starts the job. Headless, there is no runtime for the save dialog: the
    // export job answers that it cannot start, which shows it was reached.
    let mut harness = harness_with(insecure_snapshot());
    harness.run();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::E);
    harness.run();
    harness.get_by_label(pgsafeguard::ui::timestamp_ui::TSA_URL_LABEL);
    assert!(harness
        .query_by_label_contains("cannot export the report")
        .is_none());
    click_button(&mut harness, pgsafeguard::ui::timestamp_ui::EXPORT_BUTTON);
    harness.get_by_label_contains("cannot export the report");
    assert!(harness
        .query_by_label_contains("comes with the report feature")
        .is_none());
}

#[test]
fn export_job_writes_a_signed_report_that_verifies() {
    let harness = harness_with(insecure_snapshot());
    let results = harness.state().results().unwrap();
    let input = app::report_input(results);
    assert!(input.demo, "the offline snapshot is marked as a demo");
    let identity = SigningIdentity::generate("pgSafeguard GUI test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clinic-pgsafeguard-report.pdf");

    let exported = jobs::export_report_to(&path, &input, &identity).unwrap();

    assert_eq!(exported.path, path);
    assert_eq!(exported.signer_fingerprint, identity.fingerprint_sha256());
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"%PDF"));
    let outcome = verify_pdf(&bytes, Some(&identity.fingerprint_sha256())).unwrap();
    assert_eq!(outcome.signer_fingerprint, identity.fingerprint_sha256());
    assert_eq!(
        app::short_fingerprint(&exported.signer_fingerprint)
            .chars()
            .count(),
        17
    );
}

#[test]
fn thousands_of_objects_are_virtualised() {
    let mut snapshot = insecure_snapshot();
    let roles = snapshot.roles.get_or_insert_with(Vec::new);
    for i in 0..5000 {
        roles.push(snapshot::Role {
            oid: 20000 + i,
            name: format!("admin_{i:05}"),
            superuser: true,
            can_login: true,
            inherit: true,
            conn_limit: -1,
            ..snapshot::Role::default()
        });
    }
    let mut harness = harness_with(snapshot);
    harness.run();
    let busy = harness
        .state()
        .findings()
        .iter()
        .max_by_key(|f| f.objects.len())
        .unwrap()
        .clone();
    assert!(
        busy.objects.len() >= 5000,
        "{} has {} objects",
        busy.id,
        busy.objects.len()
    );
    open_section(&mut harness, busy.section);
    select_check(&mut harness, &busy.id);
    harness.get_by_label(&format!("{} matching objects", busy.objects.len()));
    let objects: std::collections::BTreeSet<String> = busy.objects.iter().cloned().collect();
    let shown = harness
        .query_all_by(move |node| node.value().is_some_and(|text| objects.contains(&text)))
        .count();
    assert!(
        shown > 0 && shown < 60,
        "{shown} object rows laid out; first objects: {:?}",
        &busy.objects[..3]
    );
}

// ----- connect form -----

#[test]
fn connect_form_offers_all_six_sslmodes_with_explanations() {
    let mut harness = start_harness(AppInit::default());
    harness.run();
    for mode in SslMode::ALL {
        harness.get_by_role_and_label(Role::RadioButton, mode.as_str());
        harness.get_by_label(mode.explanation());
    }
    harness
        .get_by_role_and_label(Role::RadioButton, "verify-ca")
        .click();
    harness.run();
    assert_eq!(harness.state().form().sslmode, SslMode::VerifyCa);
}

#[test]
fn a_bad_connection_string_shows_an_inline_error() {
    let mut harness = start_harness(AppInit::default());
    harness.run();
    click_button(&mut harness, "Use a connection string");
    harness.get_by_label("Connection string").focus();
    harness
        .get_by_label("Connection string")
        .type_text("hots=db.example.org dbname=clinic");
    harness.run();
    click_button(&mut harness, "Connect");
    let error = harness
        .state()
        .form()
        .error
        .clone()
        .expect("an inline error");
    assert!(error.contains("hots"), "{error}");
    harness.get_by_label(&error);
    assert_eq!(harness.state().page(), Page::Start);
}

#[test]
fn a_bad_port_is_refused_before_connecting() {
    let mut harness = start_harness(AppInit::default());
    harness.run();
    harness.get_by_label("Port").focus();
    harness.get_by_label("Port").type_text("x");
    harness.run();
    click_button(&mut harness, "Connect");
    let error = harness
        .state()
        .form()
        .error
        .clone()
        .expect("an inline error");
    assert!(error.contains("port"), "{error}");
    assert!(harness.state().scan().is_none());
}

#[test]
fn the_password_is_masked_and_never_saved_in_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let prefs_path = dir.path().join("prefs.toml");
    let init = AppInit {
        prefs_store: PrefsStore::at(&prefs_path),
        ..AppInit::default()
    };
    let mut harness = start_harness(init);
    harness.run();
    for (label, value) in [
        ("Host or socket directory", "db.example.org"),
        ("Password", "s3cret-Pa55"),
    ] {
        let field = harness.get_by_label(label);
        field.focus();
        field.type_text(value);
        harness.run();
    }
    let password = harness.get_by_label("Password");
    assert_eq!(password.accesskit_node().role(), Role::PasswordInput);
    assert_ne!(password.value().as_deref(), Some("s3cret-Pa55"));
    assert!(!format!("{:?}", password.value()).contains("s3cret"));

    harness
        .get_by_role_and_label(Role::RadioButton, "require")
        .click();
    harness.run();
    click_button(&mut harness, "Save profile");
    let prefs = harness.state().prefs().clone();
    assert_eq!(
        prefs.profiles.len(),
        1,
        "{:?}",
        harness.state().form().error
    );
    assert_eq!(prefs.profiles[0].host, "db.example.org");
    let text = prefs.to_toml().unwrap();
    assert!(
        !text.contains("s3cret") && !text.to_lowercase().contains("password"),
        "{text}"
    );

    // Written by the background job (synchronously without a runtime).
    let on_disk = std::fs::read_to_string(&prefs_path).unwrap();
    assert!(
        on_disk.contains("db.example.org") && !on_disk.contains("s3cret"),
        "{on_disk}"
    );
    let reloaded = PrefsStore::at(&prefs_path).load().unwrap();
    assert_eq!(reloaded, prefs);
}

/// A discovery that finds no PostgreSQL: no bindir variable, an empty PATH
/// and an empty package root.
fn no_postgres(root: &std::path::Path) -> Discovery {
    Discovery {
        bindir_env: None,
        path: Some(std::ffi::OsString::new()),
        debian_root: root.to_path_buf(),
    }
}

#[test]
fn without_postgres_the_demo_opens_the_offline_sample_with_the_install_hint() {
    let empty = tempfile::tempdir().unwrap();
    let rt = runtime();
    let mut harness = start_harness(AppInit {
        runtime: Some(rt.handle().clone()),
        demo_discovery: no_postgres(empty.path()),
        ..AppInit::default()
    });
    harness.run();
    click_and_step(&mut harness, "Try the demo database");
    step_until(&mut harness, "the demo falls back", |app| {
        app.demo_launch().is_none() && app.results().is_some()
    });
    harness.run();
    let app = harness.state();
    assert_eq!(app.page(), Page::Overview);
    assert_eq!(app.results().unwrap().source, Source::Sample);
    assert!(!app.demo_running());
    assert!(!app.findings().is_empty());
    assert!(!app.can_apply(), "the offline sample cannot be changed");
    assert!(app::report_input(app.results().unwrap()).demo);
    let hint = app
        .demo_unavailable()
        .expect("the install hint")
        .to_string();
    assert!(hint.contains("apt-get install postgresql"), "{hint}");
    harness.get_by_label_contains("Offline sample — not a live server");
    harness.get_by_label(&pgsafeguard::ui::demo_ui::unavailable_text(&hint));
    // Everything but apply works: sections, checks, the training notes.
    open_section(&mut harness, Section::Transit);
    select_check(&mut harness, "TLS-001");
    let apply = harness.get_by_role_and_label(Role::Button, "Apply…");
    assert!(apply.accesskit_node().is_disabled());
    harness.get_by_label("Why this matters");
}

// ----- training mode -----

/// The App on the offline sample (the demo without PostgreSQL).
fn sample_harness(init: AppInit) -> Harness<'static, App> {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| {
            let mut app = App::new(&cc.egui_ctx, init);
            app.open_sample();
            app
        });
    harness.run();
    harness
}

/// The check id of the "Next: fix …" suggestion on screen.
fn suggested_fix(harness: &Harness<'_, App>) -> String {
    let node = harness.get_by_label_contains("Next: fix ");
    let label = node
        .accesskit_node()
        .label()
        .or_else(|| node.accesskit_node().value())
        .expect("the suggestion has a text");
    label["Next: fix ".len()..]
        .split_whitespace()
        .next()
        .expect("a check id")
        .to_string()
}

#[test]
fn training_mode_is_on_for_the_demo_and_can_be_switched_off_and_on() {
    let dir = tempfile::tempdir().unwrap();
    let prefs_path = dir.path().join("prefs.toml");
    let mut harness = sample_harness(AppInit {
        prefs_store: PrefsStore::at(&prefs_path),
        ..AppInit::default()
    });
    assert!(harness.state().training_on());
    open_section(&mut harness, Section::Transit);
    harness.get_by_label("Why this matters");
    harness.get_by_label("Try it");

    click_button(&mut harness, "Training mode");
    assert!(!harness.state().training_on());
    assert!(harness.query_by_label("Why this matters").is_none());
    assert!(harness.query_by_label_contains("Next: fix ").is_none());
    // Remembered: written by the prefs job (synchronously without a runtime).
    assert_eq!(
        PrefsStore::at(&prefs_path).load().unwrap().training,
        Some(false)
    );

    click_button(&mut harness, "Training mode");
    assert!(harness.state().training_on());
    harness.get_by_label("Why this matters");
}

#[test]
fn training_mode_is_off_for_a_live_server_until_switched_on() {
    let params =
        ConnParams::from_conninfo("host=db.example.org user=scanner dbname=clinic").unwrap();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| {
            let mut app = App::new(&cc.egui_ctx, AppInit::default());
            app.open_live_results(insecure_snapshot(), params);
            app
        });
    harness.run();
    assert!(!harness.state().training_on());
    open_section(&mut harness, Section::Transit);
    assert!(harness.query_by_label("Why this matters").is_none());
    click_button(&mut harness, "Training mode");
    harness.get_by_label("Why this matters");
}

#[test]
fn the_next_step_names_a_failing_check_with_a_fix_and_goes_there() {
    let mut harness = sample_harness(AppInit::default());
    // On the overview: the first fixable failure from section 1 on.
    let first = suggested_fix(&harness);
    let finding = harness.state().finding(&first).unwrap().clone();
    assert!(matches!(finding.status, Status::Fail | Status::Warn));
    assert!(finding.fix.is_some());
    assert_eq!(finding.section, Section::Safeguards);

    open_section(&mut harness, Section::Transit);
    let id = suggested_fix(&harness);
    let finding = harness.state().finding(&id).unwrap().clone();
    assert_eq!(finding.section, Section::Transit);
    assert_eq!(finding.status, Status::Fail);
    let fix = finding.fix.as_ref().expect("a fix");
    assert!(!fix.statements.is_empty() || fix.config_edit.is_some());
    // It is the lesson's first step (TLS-001), not the list's first fixable check
    // (AUTH-003), so the suggestion and the "Try it" steps agree.
    assert_eq!(id, "TLS-001");
    let ordered = harness.state().ordered_ids(Section::Transit);
    let list_first = ordered
        .iter()
        .find(|id| {
            pgsafeguard::ui::training::needs_applicable_fix(harness.state().finding(id).unwrap())
        })
        .unwrap();
    assert_ne!(
        &id, list_first,
        "the sample lists another fixable check first"
    );

    // Selecting another check does not change the suggestion; the button goes back.
    select_check(&mut harness, "TLS-006");
    click_button(&mut harness, &format!("Go to {id}"));
    assert_eq!(harness.state().selected_check(), Some(id.as_str()));
}

// ----- sessions -----

#[test]
fn session_save_and_load_round_trip() {
    let mut harness = harness_with(insecure_snapshot());
    harness.run();
    let id = first_manual_check(harness.state());
    let section = harness.state().finding(&id).unwrap().section;
    open_section(&mut harness, section);
    select_check(&mut harness, &id);
    harness.get_by_label("Attested by").focus();
    harness.get_by_label("Attested by").type_text("Dana Reyes");
    harness.run();
    click_button(&mut harness, "Attest");
    let note_field = harness.get_by_label("Reviewer note (saved with the session)");
    note_field.focus();
    note_field.type_text("ask the CISO");
    harness.run();

    let session = harness.state().session_file().unwrap();
    assert_eq!(
        session.notes.get(&id).map(String::as_str),
        Some("ask the CISO")
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.json");
    session.save(&path).unwrap();
    let loaded = SessionFile::load(&path).unwrap();
    assert_eq!(loaded, session);

    let before: Vec<_> = harness.state().findings().to_vec();
    let mut reopened = harness_with(Snapshot::default());
    reopened
        .state_mut()
        .open_session(loaded, pgsafeguard::ui::Source::File(path));
    reopened.run();
    assert_eq!(reopened.state().findings(), before.as_slice());
    assert_eq!(
        reopened.state().finding(&id).unwrap().status,
        Status::Attested
    );
}

#[test]
fn a_corrupt_session_gives_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(
        &path,
        "{\"schema\": \"pgsafeguard.session/1\", \"snapshot\": {",
    )
    .unwrap();
    let err = SessionFile::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("not a valid pgSafeguard session file"),
        "{err}"
    );
    std::fs::write(&path, "{\"schema\": \"pgsafeguard.session/9\"}").unwrap();
    let err = SessionFile::load(&path).unwrap_err().to_string();
    assert!(err.contains("pgsafeguard.session/9"), "{err}");
}

// ----- scanning on the runtime -----

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A TCP port that accepts connections and never answers: a scan hangs in
/// the startup handshake until it is cancelled.
fn silent_server(rt: &tokio::runtime::Runtime) -> u16 {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    rt.spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    port
}

fn step_until(harness: &mut Harness<'_, App>, what: &str, done: impl Fn(&App) -> bool) {
    for _ in 0..2000 {
        harness.step();
        if done(harness.state()) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("timed out waiting until {what}");
}

#[test]
fn a_scan_can_be_cancelled_and_the_ui_stays_responsive() {
    let rt = runtime();
    let port = silent_server(&rt);
    let init = AppInit {
        runtime: Some(rt.handle().clone()),
        ..AppInit::default()
    };
    let mut harness = start_harness(init);
    harness.run();
    click_button(&mut harness, "Use a connection string");
    let field = harness.get_by_label("Connection string");
    field.focus();
    field.type_text(&format!(
        "host=127.0.0.1 port={port} user=scanner dbname=clinic sslmode=disable password=x"
    ));
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "Connect")
        .click();
    step_until(&mut harness, "the scan runs", |app| app.scan().is_some());
    // The spinner keeps repainting: step instead of waiting to settle.
    harness.run_steps(2);
    harness.get_by_label_contains("Scanning scanner@127.0.0.1");
    harness
        .get_by_role_and_label(Role::Button, "Cancel")
        .click();
    harness.step();
    assert!(harness.state().scan().is_none());
    harness.run();
    harness.get_by_label("scan cancelled; nothing was changed");
    assert_eq!(harness.state().page(), Page::Start);
}

#[test]
fn a_lost_connection_keeps_the_results_and_marks_them_stale() {
    let rt = runtime();
    // Nothing listens on this port any more.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let params = ConnParams::from_conninfo(&format!(
        "host=127.0.0.1 port={port} user=scanner dbname=clinic sslmode=disable password=x"
    ))
    .unwrap();
    let init = AppInit {
        runtime: Some(rt.handle().clone()),
        ..AppInit::default()
    };
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| {
            let mut app = App::new(&cc.egui_ctx, init);
            app.open_live_results(insecure_snapshot(), params);
            app
        });
    harness.run();
    let before: Vec<_> = harness.state().findings().to_vec();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::R);
    step_until(&mut harness, "the rescan fails", |app| {
        app.scan().is_none() && app.is_stale()
    });
    harness.run();
    harness.get_by_label_contains("connection lost");
    harness.get_by_label("Stale");
    assert_eq!(harness.state().findings(), before.as_slice());
    assert_eq!(
        Summary::of(harness.state().findings()),
        Summary::of(&before)
    );
}

// ----- live clusters (tests/support) -----

/// Type a connection string into the form and press Connect; wait for the
/// scan to end either way.
fn connect_with_string(harness: &mut Harness<'_, App>, conninfo: &str) {
    click_button(harness, "Use a connection string");
    let field = harness.get_by_label("Connection string");
    field.focus();
    field.type_text(conninfo);
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "Connect")
        .click();
    step_until(harness, "the scan ends", |app| {
        app.scan().is_none() && (app.results().is_some() || app.form().error.is_some())
    });
    harness.run();
    assert_eq!(harness.state().form().error, None);
}

fn live_app(rt: &tokio::runtime::Runtime) -> Harness<'static, App> {
    start_harness(AppInit {
        runtime: Some(rt.handle().clone()),
        ..AppInit::default()
    })
}

#[test]
fn connecting_to_the_insecure_cluster_walks_all_six_sections() {
    let cluster = support::insecure();
    let (user, password) = support::create_scanner(&cluster);
    let conninfo = cluster.conninfo_tcp(&user, &password, support::CLINIC_DB, "sslmode=prefer");
    let rt = runtime();
    let mut harness = live_app(&rt);
    connect_with_string(&mut harness, &conninfo);

    assert_eq!(harness.state().page(), Page::Overview);
    assert!(harness.state().form().password.is_empty());
    assert_eq!(
        harness.state().finding("TLS-001").unwrap().status,
        Status::Fail
    );
    for section in Section::ALL {
        let summary = harness.state().results().unwrap().section_summary(section);
        harness.get_by_label(&walkthrough_ui::counts_text(&summary));
        open_section(&mut harness, section);
        let first = harness.state().ordered_ids(section)[0].clone();
        assert_eq!(harness.state().selected_check(), Some(first.as_str()));
        let finding = harness.state().finding(&first).unwrap().clone();
        harness.get_by_label(&finding.evidence);
    }
}

#[test]
fn a_stopped_server_shows_the_lost_connection_banner_and_keeps_results() {
    let mut cluster = support::insecure();
    let (user, password) = support::create_scanner(&cluster);
    let conninfo = cluster.conninfo_tcp(&user, &password, support::CLINIC_DB, "sslmode=prefer");
    let rt = runtime();
    let mut harness = live_app(&rt);
    connect_with_string(&mut harness, &conninfo);
    let before = harness.state().findings().to_vec();

    cluster.stop();
    harness
        .get_by_role_and_label(Role::Button, "Rescan")
        .click();
    step_until(&mut harness, "the rescan fails", |app| {
        app.scan().is_none() && app.is_stale()
    });
    harness.run();
    harness.get_by_label_contains("connection lost");
    harness.get_by_label("Stale");
    assert_eq!(harness.state().findings(), before.as_slice());
}

// ----- applying fixes -----

#[test]
fn apply_is_disabled_on_the_offline_sample() {
    let mut harness = harness_with(insecure_snapshot());
    harness.run();
    open_section(&mut harness, Section::Transit);
    select_check(&mut harness, "TLS-001");
    let apply = harness.get_by_role_and_label(Role::Button, "Apply…");
    assert!(apply.accesskit_node().is_disabled());
    assert!(!harness.state().can_apply());
}

#[test]
fn a_high_impact_fix_needs_the_database_name_typed() {
    let gate = ConfirmGate {
        typed_database: Some("clinic".to_string()),
        ..ConfirmGate::default()
    };
    let mut form = ConfirmForm::default();
    assert!(!gate.allows(&form));
    form.typed = "Clinic".to_string();
    assert!(!gate.allows(&form), "the name must match exactly");
    form.typed = "clinic".to_string();
    assert!(gate.allows(&form));
    assert_eq!(
        gate.confirmation(&form).typed_database.as_deref(),
        Some("clinic")
    );
}

#[test]
fn refusals_and_irreversible_fixes_gate_the_apply_button() {
    let refused = ConfirmGate {
        refusals: vec!["would lock out the current role".to_string()],
        ..ConfirmGate::default()
    };
    assert!(!refused.allows(&ConfirmForm::default()));

    let irreversible = ConfirmGate {
        irreversible: true,
        ..ConfirmGate::default()
    };
    let mut form = ConfirmForm::default();
    assert!(!irreversible.allows(&form));
    form.accept_irreversible = true;
    assert!(irreversible.allows(&form));
    assert!(irreversible.confirmation(&form).irreversible);

    let config = ConfirmGate {
        config_file: true,
        ..ConfirmGate::default()
    };
    let mut form = ConfirmForm::default();
    assert!(!config.allows(&form));
    form.config_file = ConfigFileAction::SavedByDba;
    assert!(config.allows(&form));
}

fn applied_entry() -> ChangeLogEntry {
    let evidence = |status, text: &str| Evidence {
        status,
        evidence: text.to_string(),
        collected_at: "2026-11-27T10:00:00Z".to_string(),
    };
    ChangeLogEntry {
        id: "20261127T100000Z-TLS-001-ab12".to_string(),
        action: Action::Apply,
        rolls_back: None,
        check_id: "TLS-001".to_string(),
        title: "TLS is enabled on the server".to_string(),
        who: Who {
            role: "dba".to_string(),
            os_user: None,
        },
        target: ChangeTarget {
            host: "db.example".to_string(),
            port: 5432,
            dbname: "clinic".to_string(),
            system_identifier: None,
            server_version: None,
        },
        started_at: "2026-11-27T10:00:00Z".to_string(),
        finished_at: Some("2026-11-27T10:00:01Z".to_string()),
        apply_classes: vec![ApplyClass::Reload],
        statements: Vec::new(),
        config_file: None,
        rollback: vec![Statement::other("ALTER SYSTEM RESET ssl")],
        irreversible: false,
        added_libraries: Vec::new(),
        before: Some(evidence(Status::Fail, "ssl = off")),
        after: Some(evidence(Status::Pass, "ssl = on")),
        settings: Vec::new(),
        pending_restart: Vec::new(),
        outcome: Outcome::Applied,
        error: None,
        rolled_back_by: None,
        notes: Vec::new(),
        plan_id: None,
    }
}

#[test]
fn the_change_log_lists_the_session_entries() {
    let entry = applied_entry();
    let mut session = SessionFile::new(insecure_snapshot());
    session.change_log.push(entry.clone());
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| {
            let mut app = App::new(&cc.egui_ctx, AppInit::default());
            app.open_session(session, Source::Sample);
            app
        });
    harness.run();
    click_button(&mut harness, "Change log (1)");
    assert_eq!(harness.state().page(), Page::ChangeLog);
    harness.get_by_label(&entry.summary());
    let roll_back = harness.get_by_role_and_label(Role::Button, "Roll back…");
    assert!(
        roll_back.accesskit_node().is_disabled(),
        "rolling back needs a live connection"
    );
}

#[test]
fn a_fix_is_applied_logged_and_rolled_back_from_the_gui() {
    let cluster = support::insecure();
    let conninfo = cluster.conninfo_tcp(
        cluster.superuser(),
        cluster.superuser_password(),
        support::CLINIC_DB,
        "sslmode=prefer",
    );
    let log_dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let mut harness = start_harness(AppInit {
        runtime: Some(rt.handle().clone()),
        change_log_path: Some(log_dir.path().join("change-log.jsonl")),
        ..AppInit::default()
    });
    connect_with_string(&mut harness, &conninfo);
    assert_eq!(
        harness.state().finding("AUD-007").unwrap().status,
        Status::Fail
    );
    open_section(&mut harness, Section::Audit);
    select_check(&mut harness, "AUD-007");

    click_button(&mut harness, "Apply…");
    step_until(&mut harness, "the preview opens", |app| {
        app.apply_dialog().is_some()
    });
    harness.run();
    harness.get_by_label("Apply fix for AUD-007");
    harness.get_by_role_and_label(Role::Button, "Apply").click();
    step_until(&mut harness, "the fix is applied and rescanned", |app| {
        matches!(
            app.apply_dialog().map(|d| &d.stage),
            Some(DialogStage::Applied(_))
        ) && app.scan().is_none()
    });
    assert_eq!(harness.state().results().unwrap().change_log.len(), 1);
    assert_eq!(
        harness.state().finding("AUD-007").unwrap().status,
        Status::Pass
    );
    harness.run();
    click_button(&mut harness, "Close");
    assert!(harness.state().apply_dialog().is_none());

    click_button(&mut harness, "Change log (1)");
    click_button(&mut harness, "Roll back…");
    step_until(&mut harness, "the rollback preview opens", |app| {
        app.apply_dialog().is_some()
    });
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "Roll back")
        .click();
    step_until(
        &mut harness,
        "the rollback is applied and rescanned",
        |app| {
            matches!(
                app.apply_dialog().map(|d| &d.stage),
                Some(DialogStage::Applied(_))
            ) && app.scan().is_none()
        },
    );
    assert_eq!(harness.state().results().unwrap().change_log.len(), 2);
    assert_eq!(
        harness.state().finding("AUD-007").unwrap().status,
        Status::Fail
    );
    assert!(log_dir.path().join("change-log.jsonl").exists());
    harness.run();
    click_button(&mut harness, "Close");

    // A restart-class fix is high impact: Apply waits for the typed name.
    open_section(&mut harness, Section::Audit);
    select_check(&mut harness, "AUD-001");
    click_button(&mut harness, "Apply…");
    step_until(&mut harness, "the preview opens", |app| {
        app.apply_dialog().is_some()
    });
    harness.run();
    let database = support::CLINIC_DB;
    let apply = harness.get_by_role_and_label(Role::Button, "Apply");
    assert!(apply.accesskit_node().is_disabled());
    harness.get_by_label("Database name").click();
    harness.run();
    harness.get_by_label("Database name").type_text(database);
    harness.run();
    let apply = harness.get_by_role_and_label(Role::Button, "Apply");
    assert!(!apply.accesskit_node().is_disabled());
    click_button(&mut harness, "Cancel");
    assert!(harness.state().apply_dialog().is_none());
}

// ----- the live demo -----

fn on_live_demo(app: &App) -> bool {
    matches!(app.results().map(|r| &r.source), Some(Source::Demo { .. }))
}

/// Wait until a path is gone (the demo's server stops, then its folder goes).
fn wait_until_removed(path: &std::path::Path) {
    for _ in 0..100 {
        if !path.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{} is still there", path.display());
}

/// Apply the selected check's fix through the dialog, typing the database
/// name when asked, and wait until it is applied, settled and rescanned.
fn apply_selected_fix(harness: &mut Harness<'_, App>, id: &str) {
    click_button(harness, "Apply…");
    step_until(harness, "the preview opens", |app| {
        app.apply_dialog().is_some()
    });
    harness.run();
    harness.get_by_label(&format!("Apply fix for {id}"));
    if harness.query_by_label("Database name").is_some() {
        let database = harness
            .state()
            .results()
            .unwrap()
            .snapshot
            .target
            .dbname
            .clone();
        harness.get_by_label("Database name").click();
        harness.run();
        harness.get_by_label("Database name").type_text(&database);
        harness.run();
    }
    harness.get_by_role_and_label(Role::Button, "Apply").click();
    step_until(
        harness,
        "the fix is applied, settled and rescanned",
        |app| {
            matches!(
                app.apply_dialog().map(|d| &d.stage),
                Some(DialogStage::Applied(_) | DialogStage::Failed(_))
            ) && app.scan().is_none()
        },
    );
    if let Some(DialogStage::Failed(e)) = harness.state().apply_dialog().map(|d| &d.stage) {
        panic!("applying {id} failed: {e}");
    }
    harness.run();
    click_button(harness, "Close");
}

#[test]
fn the_live_demo_applies_a_restart_fix_resets_and_stops_with_the_window() {
    let log_dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = log_dir.path().join("evidence.sqlite");
    let mut harness = start_harness(AppInit {
        runtime: Some(rt.handle().clone()),
        change_log_path: Some(log_dir.path().join("change-log.jsonl")),
        evidence_store: StoreChoice::File(store.clone()),
        ..AppInit::default()
    });
    harness.run();
    click_and_step(&mut harness, "Try the demo database");
    assert!(harness.state().demo_launch().is_some());
    harness.run_steps(2);
    harness.get_by_label("Starting the demo database");
    step_until(&mut harness, "the demo is started and scanned", |app| {
        on_live_demo(app) && app.scan().is_none()
    });
    harness.run();
    let first_dir = harness.state().demo_data_dir().expect("a running demo");
    {
        let app = harness.state();
        assert!(app.can_apply(), "apply is enabled on the live demo");
        assert!(app.training_on(), "training is on for the demo");
        assert!(app::report_input(app.results().unwrap()).demo);
        assert_eq!(app.finding("GEN-004").unwrap().status, Status::Fail);
    }
    harness.get_by_label(pgsafeguard::ui::demo_ui::LIVE_DEMO_TEXT);

    // A restart-class fix: the app restarts the demo itself, then rescans.
    open_section(&mut harness, Section::Safeguards);
    select_check(&mut harness, "GEN-004");
    let apply = harness.get_by_role_and_label(Role::Button, "Apply…");
    assert!(!apply.accesskit_node().is_disabled());
    apply_selected_fix(&mut harness, "GEN-004");
    assert_eq!(
        harness.state().finding("GEN-004").unwrap().status,
        Status::Pass,
        "the check turns green after the demo restarted"
    );
    assert_eq!(harness.state().results().unwrap().change_log.len(), 1);

    // Reset: a new cluster from scratch, the old one gone.
    click_and_step(&mut harness, "Reset demo");
    assert!(
        !harness.state().can_apply(),
        "nothing applies to the old demo"
    );
    harness.run_steps(2);
    harness.get_by_label("Rebuilding the demo database from scratch");
    step_until(&mut harness, "the demo is rebuilt and scanned", |app| {
        app.demo_launch().is_none() && on_live_demo(app) && app.scan().is_none()
    });
    wait_until_removed(&first_dir);
    let second_dir = harness.state().demo_data_dir().expect("a running demo");
    assert_ne!(first_dir, second_dir);
    assert_eq!(
        harness.state().finding("GEN-004").unwrap().status,
        Status::Fail
    );
    assert!(harness.state().results().unwrap().change_log.is_empty());
    assert!(harness.state().can_apply());

    // Closing the window (dropping the App) stops the demo.
    drop(harness);
    wait_until_removed(&second_dir);
    // Training, not evidence: no scan or fix of the demo was recorded.
    let recorded = EvidenceStore::open_file(&store)
        .unwrap()
        .verify(&[])
        .unwrap();
    assert_eq!(recorded.records, 0);
}

// ----- the evidence store and the History page -----

const GOLDEN_INSECURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/golden/collect_live-least_privilege_scanner_on_an_insecure_cluster-1"
);

/// A scan of the insecure cluster saved by the live tests: its snapshot and findings.
fn golden_scan() -> (Snapshot, Vec<Finding>) {
    #[derive(serde::Deserialize)]
    struct Scan {
        findings: Vec<Finding>,
    }
    let read = |ext: &str| std::fs::read_to_string(format!("{GOLDEN_INSECURE}.{ext}")).unwrap();
    let snapshot: Snapshot = serde_json::from_str(&read("snapshot.json")).unwrap();
    let scan: Scan = serde_json::from_str(&read("scan.json")).unwrap();
    (snapshot, scan.findings)
}

/// A store in `dir` holding three scans of the golden cluster a day apart
/// (TLS-001 passes in the last), then one fix on it. Returns its path.
fn store_with_three_scans(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("evidence.sqlite");
    let mut store = EvidenceStore::open_file(&path).unwrap();
    let (mut snapshot, mut findings) = golden_scan();
    for day in 1..=3 {
        snapshot.collected_at = format!("2026-12-0{day}T09:00:00Z");
        if day == 3 {
            let tls = findings.iter_mut().find(|f| f.id == "TLS-001").unwrap();
            tls.status = Status::Pass;
        }
        store
            .record_scan(&snapshot, &findings, ScanSource::Cli)
            .unwrap();
    }
    let mut fix = applied_entry();
    fix.target.host = snapshot.target.host.clone();
    fix.target.port = snapshot.target.port;
    fix.target.system_identifier = snapshot.target.system_identifier.clone();
    store.record_fix(&fix).unwrap();
    path
}

/// An App recording into `store`, optionally showing live results first
/// (connection parameters to a port nothing listens on: nothing is reached).
fn store_app(
    rt: &tokio::runtime::Runtime,
    store: StoreChoice,
    live: Option<Snapshot>,
) -> Harness<'static, App> {
    let init = AppInit {
        runtime: Some(rt.handle().clone()),
        evidence_store: store,
        ..AppInit::default()
    };
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| {
            let mut app = App::new(&cc.egui_ctx, init);
            if let Some(snapshot) = live {
                let params = ConnParams::from_conninfo(
                    "host=127.0.0.1 port=1 user=scanner dbname=clinic sslmode=disable password=x",
                )
                .unwrap();
                app.open_live_results(snapshot, params);
            }
            app
        });
    step_until(&mut harness, "the store is opened", |app| {
        !matches!(app.history().status, Some(StoreStatus::Opening))
    });
    harness.run();
    harness
}

/// Reading the store shows a spinner: step until it is read.
fn open_history(harness: &mut Harness<'_, App>) {
    click_and_step(harness, "History");
    assert_eq!(harness.state().page(), Page::History);
    step_until(harness, "the history is read", |app| {
        app.history().data.is_some() && !app.history().loading
    });
    harness.run();
}

#[test]
fn three_recorded_scans_show_as_three_rows_a_chart_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_three_scans(dir.path());
    let rt = runtime();
    let mut harness = store_app(&rt, StoreChoice::File(path), None);
    open_history(&mut harness);

    let opens = harness.query_all_by_role_and_label(Role::Button, "Open");
    assert_eq!(opens.count(), 3);
    assert_eq!(
        harness.get_all_by_label(CHART_LABEL).count(),
        2,
        "fail and pass plots"
    );
    harness.get_by_label("Recorded scans (3)");
    harness.get_by_label_contains("TLS-001 fix");
    harness.get_by_label_contains("clinic on localhost:46049");

    click_and_step(&mut harness, "Verify chain");
    step_until(&mut harness, "the chain is checked", |app| {
        matches!(app.history().chain, ChainCheck::Done(_))
    });
    harness.run();
    harness.get_by_label_contains("chain intact: 4 records, head #4 ");
}

#[test]
fn a_recorded_scan_opens_read_only_and_back_to_live_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_three_scans(dir.path());
    let rt = runtime();
    let mut harness = store_app(&rt, StoreChoice::File(path), Some(insecure_snapshot()));
    assert!(harness.state().can_apply());
    open_history(&mut harness);

    // Rows are newest first: the last "Open" is scan #1.
    harness
        .get_all_by_role_and_label(Role::Button, "Open")
        .last()
        .unwrap()
        .click();
    step_until(&mut harness, "the recorded scan is read", |app| {
        app.recorded_scan().is_some()
    });
    harness.run();
    const BANNER: &str =
        "Recorded scan #1 of clinic on localhost:46049, 2026-12-01 09:00 UTC — read-only";
    harness.get_by_label_contains(BANNER);
    assert!(!harness.state().can_apply());
    assert_eq!(
        harness.state().results().unwrap().source,
        Source::Recorded { seq: 1 }
    );
    let rescan = harness.get_by_role_and_label(Role::Button, "Rescan");
    assert!(rescan.accesskit_node().is_disabled());

    open_section(&mut harness, Section::Transit);
    select_check(&mut harness, "TLS-001");
    // As recorded, not re-evaluated against the live server.
    assert_eq!(
        harness.state().finding("TLS-001").unwrap().status,
        Status::Fail
    );
    // A recorded finding keeps no fix plan (the store leaves it out), so there
    // is no Apply button at all; if one were shown it would have to be disabled.
    if let Some(apply) = harness.query_by_role_and_label(Role::Button, "Apply…") {
        assert!(apply.accesskit_node().is_disabled());
    }
    // The banner stays on every page.
    harness.get_by_label_contains(BANNER);
    // A shortcut cannot get round the disabled buttons.
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::R);
    harness.run();
    assert!(harness.state().scan().is_none());

    click_button(&mut harness, BACK_TO_LIVE);
    assert!(harness.state().recorded_scan().is_none());
    assert!(harness.state().can_apply());
    assert!(harness.query_by_label_contains(BANNER).is_none());
    assert_eq!(harness.state().page(), Page::History);
}

#[test]
fn a_store_that_cannot_be_opened_is_reported_once_and_scanning_still_works() {
    let cluster = support::insecure();
    let (user, password) = support::create_scanner(&cluster);
    let conninfo = cluster.conninfo_tcp(&user, &password, support::CLINIC_DB, "sslmode=prefer");
    // A store inside a regular file: its folder cannot be created.
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, "x").unwrap();
    let path = blocker.join("evidence.sqlite");
    let rt = runtime();
    let mut harness = store_app(&rt, StoreChoice::File(path.clone()), None);

    let notice = harness.state().notice().unwrap().text.clone();
    assert!(
        notice.contains("scans still run but are not recorded"),
        "{notice}"
    );
    assert!(notice.contains(&path.display().to_string()), "{notice}");
    assert_eq!(
        harness
            .query_all_by_label_contains("are not recorded")
            .count(),
        1
    );
    click_button(&mut harness, "Dismiss");

    connect_with_string(&mut harness, &conninfo);
    assert_eq!(harness.state().page(), Page::Overview);
    harness
        .get_by_role_and_label(Role::Button, "Rescan")
        .click();
    step_until(&mut harness, "the rescan ends", |app| app.scan().is_none());
    harness.run();
    assert!(!harness.state().is_stale());
    // Said once: neither scan warned again.
    assert!(
        harness
            .state()
            .notice()
            .is_none_or(|n| !n.text.contains("not recorded")),
        "{:?}",
        harness.state().notice()
    );
    assert_eq!(harness.state().history().last_recorded, None);
    // The History page keeps the reason in view.
    click_button(&mut harness, "History");
    harness.get_by_label_contains("Scans still run but are not recorded");
}

#[test]
fn live_scans_are_recorded_in_the_store() {
    let cluster = support::insecure();
    let (user, password) = support::create_scanner(&cluster);
    let conninfo = cluster.conninfo_tcp(&user, &password, support::CLINIC_DB, "sslmode=prefer");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evidence.sqlite");
    let rt = runtime();
    let mut harness = store_app(&rt, StoreChoice::File(path.clone()), None);
    assert!(harness.state().notice().is_none());

    connect_with_string(&mut harness, &conninfo);
    step_until(&mut harness, "the scan is recorded", |app| {
        app.history().last_recorded.is_some()
    });
    harness
        .get_by_role_and_label(Role::Button, "Rescan")
        .click();
    step_until(&mut harness, "the rescan is recorded", |app| {
        app.history().last_recorded == Some(2)
    });
    let scans = EvidenceStore::open_file(&path).unwrap().scans().unwrap();
    assert_eq!(scans.len(), 2);
    assert!(scans.iter().all(|s| s.source == ScanSource::Gui));
    assert_eq!(
        scans[1].summary,
        Summary::of(harness.state().findings()),
        "the findings as shown are recorded"
    );

    open_history(&mut harness);
    assert_eq!(
        harness
            .query_all_by_role_and_label(Role::Button, "Open")
            .count(),
        2
    );
}

// ----- changes since last scan, accepted risks (issue 16) -----

#[test]
fn changes_since_last_scan_show_after_a_rescan_and_the_first_scan_says_so() {
    let cluster = support::insecure();
    let (user, password) = support::create_scanner(&cluster);
    let conninfo = cluster.conninfo_tcp(&user, &password, support::CLINIC_DB, "sslmode=prefer");
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let mut harness = store_app(
        &rt,
        StoreChoice::File(dir.path().join("evidence.sqlite")),
        None,
    );
    connect_with_string(&mut harness, &conninfo);
    step_until(&mut harness, "the first scan is compared", |app| {
        matches!(app.since_last(), Some(SinceLast::FirstScan))
    });
    harness.run();
    harness.get_by_label(changes_ui::HEADING);
    harness.get_by_label(changes_ui::FIRST_SCAN);

    // A new superuser between the scans is drift.
    cluster.psql(support::CLINIC_DB, "CREATE ROLE mallory SUPERUSER LOGIN");
    harness
        .get_by_role_and_label(Role::Button, "Rescan")
        .click();
    step_until(&mut harness, "the rescan is compared", |app| {
        matches!(app.since_last(), Some(SinceLast::Compared(_)))
    });
    harness.run();
    let Some(SinceLast::Compared(summary)) = harness.state().since_last().cloned() else {
        unreachable!()
    };
    assert!(summary.previous.starts_with("scan #1, "), "{summary:?}");
    assert!(
        summary
            .appeared
            .iter()
            .any(|(kind, name)| *kind == ObjectKind::Superuser && name == "mallory"),
        "{summary:?}"
    );
    harness.get_by_label(&summary.headline());
    harness.get_by_label_contains("Superusers: mallory");
}

/// The sample snapshot opened as a saved session (not the demo, so policy
/// changes are evidence), accepting into `policy` and recording into `store`.
fn session_app(
    rt: &tokio::runtime::Runtime,
    policy_path: std::path::PathBuf,
    policy: Policy,
    store: StoreChoice,
) -> Harness<'static, App> {
    let init = AppInit {
        runtime: Some(rt.handle().clone()),
        policy,
        policy_path: Some(policy_path),
        evidence_store: store,
        ..AppInit::default()
    };
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| {
            let mut app = App::new(&cc.egui_ctx, init);
            app.open_session(
                SessionFile::new(insecure_snapshot()),
                Source::File("clinic-session.json".into()),
            );
            app
        });
    step_until(&mut harness, "the store is opened", |app| {
        !matches!(app.history().status, Some(StoreStatus::Opening))
    });
    harness.run();
    harness
}

fn type_into(harness: &mut Harness<'_, App>, label: &str, text: &str) {
    let field = harness.get_by_label(label);
    field.focus();
    field.type_text(text);
    harness.run();
}

#[test]
fn accepting_a_failing_checks_risk_writes_the_policy_records_it_and_shows_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let policy_path = dir.path().join("policy.toml");
    std::fs::write(&policy_path, "# our policy\napproved_superusers = []\n").unwrap();
    let store_path = dir.path().join("evidence.sqlite");
    let rt = runtime();
    let mut harness = session_app(
        &rt,
        policy_path.clone(),
        Policy::default(),
        StoreChoice::File(store_path.clone()),
    );
    open_section(&mut harness, Section::Transit);
    select_check(&mut harness, "TLS-001");
    assert_eq!(
        harness.state().finding("TLS-001").unwrap().status,
        Status::Fail
    );
    click_button(&mut harness, "Accept risk…");
    type_into(&mut harness, acceptance::FIELDS.by, "Jane Roe, CISO");
    type_into(&mut harness, acceptance::FIELDS.ticket, "RISK-1042");
    // Checked as the command line checks it: a reason is required, a date in the past refused.
    type_into(&mut harness, acceptance::FIELDS.expires, "2026-01-01");
    click_button(&mut harness, "Accept risk");
    harness.get_by_label_contains("Reason must not be empty");
    type_into(&mut harness, acceptance::FIELDS.reason, "lab network only");
    click_button(&mut harness, "Accept risk");
    harness.get_by_label_contains("Expires 2026-01-01 is in the past");
    assert!(!std::fs::read_to_string(&policy_path)
        .unwrap()
        .contains("TLS-001"));

    harness.get_by_label(acceptance::FIELDS.expires).focus();
    harness.run();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run();
    harness
        .get_by_label(acceptance::FIELDS.expires)
        .type_text("2027-06-30");
    harness.run();
    click_and_step(&mut harness, "Accept risk");
    step_until(&mut harness, "the policy is written", |app| {
        !app.writing_policy() && app.finding("TLS-001").unwrap().status == Status::Accepted
    });
    harness.run();
    let written = std::fs::read_to_string(&policy_path).unwrap();
    assert!(written.starts_with("# our policy\n"), "{written}");
    assert!(written.contains("RISK-1042") && written.contains("2027-06-30"));
    let accepted = harness.state().finding("TLS-001").unwrap().accepted.clone();
    assert_eq!(accepted.unwrap().reason, "lab network only");
    harness.get_by_label_contains("Accepted risk: lab network only");
    harness.get_by_label_contains("accepted the risk of TLS-001 until 2027-06-30");
    step_until(&mut harness, "the change is recorded", |app| {
        app.history().last_recorded.is_some()
    });
    let events = EvidenceStore::open_file(&store_path)
        .unwrap()
        .events()
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, RecordKind::Policy);
}

/// `days` from today (UTC), as YYYY-MM-DD.
fn date_in(days: i64) -> String {
    let date = time::OffsetDateTime::now_utc().date() + time::Duration::days(days);
    date.to_string()
}

#[test]
fn expiring_and_expired_acceptances_are_listed_and_an_expired_one_fails_again() {
    let risk = |id: &str, expires: String| PolicyAcceptedRisk {
        id: id.into(),
        by: "Jane Roe".into(),
        reason: format!("reason for {id}"),
        expires,
        ticket: Some("RISK-7".into()),
        ..PolicyAcceptedRisk::default()
    };
    let policy = Policy {
        accepted_risks: vec![
            risk("TLS-001", "2026-01-01".into()),
            risk("AUTH-001", date_in(10)),
            risk("GEN-004", date_in(200)),
        ],
        ..Policy::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let mut harness = session_app(
        &rt,
        dir.path().join("policy.toml"),
        policy,
        StoreChoice::Off,
    );
    harness.get_by_label(acceptances_ui::EXPIRING_HEADING);
    harness.get_by_label(acceptances_ui::EXPIRED_HEADING);
    harness.get_by_label(&date_in(10));
    assert!(harness.query_by_label(&date_in(200)).is_none());
    // No live scan was recorded: no changes card.
    assert!(harness.query_by_label(changes_ui::HEADING).is_none());

    open_section(&mut harness, Section::Transit);
    select_check(&mut harness, "TLS-001");
    let finding = harness.state().finding("TLS-001").unwrap().clone();
    assert_eq!(finding.status, Status::Fail);
    assert!(
        finding.evidence.contains("expired on 2026-01-01"),
        "{}",
        finding.evidence
    );
    harness.get_by_label_contains("Accepted risk expired on 2026-01-01: reason for TLS-001");
}

// ----- proving (issue 15) -----

#[test]
fn prove_it_is_disabled_on_the_offline_sample_and_on_recorded_scans() {
    let mut harness = harness_with(insecure_snapshot());
    harness.run();
    open_section(&mut harness, Section::Transit);
    select_check(&mut harness, "AUTH-003");
    let prove = harness.get_by_role_and_label(Role::Button, prove::PROVE_IT);
    assert!(prove.accesskit_node().is_disabled());
    let section = harness.get_by_role_and_label(Role::Button, prove::PROVE_SECTION);
    assert!(section.accesskit_node().is_disabled());
    // A check without a probe has no button.
    open_section(&mut harness, Section::Backup);
    assert!(harness
        .query_by_role_and_label(Role::Button, prove::PROVE_IT)
        .is_none());
    assert!(harness
        .query_by_role_and_label(Role::Button, prove::PROVE_SECTION)
        .is_none());

    let dir = tempfile::tempdir().unwrap();
    let path = store_with_three_scans(dir.path());
    let rt = runtime();
    let mut harness = store_app(&rt, StoreChoice::File(path), Some(insecure_snapshot()));
    open_history(&mut harness);
    harness
        .get_all_by_role_and_label(Role::Button, "Open")
        .last()
        .unwrap()
        .click();
    step_until(&mut harness, "the recorded scan is read", |app| {
        app.recorded_scan().is_some()
    });
    harness.run();
    open_section(&mut harness, Section::Transit);
    let section = harness.get_by_role_and_label(Role::Button, prove::PROVE_SECTION);
    assert!(section.accesskit_node().is_disabled());
    harness.state_mut().execute(
        &egui::Context::default(),
        Command::Prove(ProveScope::Section(Section::Transit)),
    );
    assert!(harness.state().prove_prompt().is_none());
}

/// Live results whose connection is `conninfo` (nothing listens there).
fn live_results_app(rt: &tokio::runtime::Runtime, conninfo: &str) -> Harness<'static, App> {
    let params = ConnParams::from_conninfo(conninfo).unwrap();
    let init = AppInit {
        runtime: Some(rt.handle().clone()),
        ..AppInit::default()
    };
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| {
            let mut app = App::new(&cc.egui_ctx, init);
            app.open_live_results(insecure_snapshot(), params);
            app
        });
    harness.run();
    harness
}

#[test]
fn an_unverified_tcp_connection_is_refused_until_the_user_probes_anyway() {
    let rt = runtime();
    let mut harness = live_results_app(
        &rt,
        "host=127.0.0.1 port=1 user=scanner dbname=clinic sslmode=disable password=x",
    );
    open_section(&mut harness, Section::Transit);
    select_check(&mut harness, "AUTH-003");
    click_button(&mut harness, prove::PROVE_IT);
    let prompt = harness.state().prove_prompt().unwrap().clone();
    assert_eq!(prompt.probes, [Probe::Auth]);
    assert!(prompt.refusal.is_some());
    harness.get_by_label(&prove::prompt_title(&prompt.scope));
    harness.get_by_label(Probe::Auth.leaves_behind());
    harness.get_by_label_contains("refusing to probe");
    assert!(harness
        .query_by_role_and_label(Role::Button, prove::RUN_PROBES)
        .is_none());
    click_button(&mut harness, "Cancel");
    assert!(harness.state().prove_prompt().is_none());
    assert!(harness.state().scan().is_none());

    click_button(&mut harness, prove::PROVE_IT);
    click_and_step(&mut harness, prove::PROBE_ANYWAY);
    let scan = harness.state().scan().unwrap();
    assert_eq!(scan.kind, ScanKind::Prove(Some(Section::Transit)));
    // Nothing listens: the probe scan fails like a rescan, keeping the results.
    step_until(&mut harness, "the probe scan fails", |app| {
        app.scan().is_none() && app.is_stale()
    });
}

#[test]
fn a_socket_connection_probes_after_one_click_on_what_it_leaves_behind() {
    let rt = runtime();
    let mut harness = live_results_app(
        &rt,
        "host=/nonexistent/pgsafeguard-socket port=5432 user=scanner dbname=clinic",
    );
    open_section(&mut harness, Section::Audit);
    click_button(&mut harness, prove::PROVE_SECTION);
    let prompt = harness.state().prove_prompt().unwrap().clone();
    assert_eq!(prompt.refusal, None);
    assert!(prompt.probes.contains(&Probe::Audit));
    harness.get_by_label(Probe::Audit.leaves_behind());
    click_and_step(&mut harness, prove::RUN_PROBES);
    assert!(harness.state().prove_prompt().is_none());
    assert_eq!(
        harness.state().scan().unwrap().kind,
        ScanKind::Prove(Some(Section::Audit))
    );
}

#[test]
fn proofs_show_as_proven_by_test_with_a_transcript_of_escaped_answers() {
    let mut snapshot = insecure_snapshot();
    let proof = Proof {
        probe: Probe::Auth,
        attempted: "startup without a password as role \"app\" to database \"clinic\"".into(),
        from: "local socket".into(),
        answer: "AuthenticationOk\n[PASS] all good \u{202E}".into(),
        at: "2026-11-27T10:00:05Z".into(),
        outcome: ProofOutcome::Broken,
        note: "the server let the role in without a password (trust)".into(),
        grant: None,
    };
    snapshot.probes = Some(ProbeRun {
        asked: vec![Probe::Auth],
        started_at: "2026-11-27T10:00:04Z".into(),
        finished_at: "2026-11-27T10:00:06Z".into(),
        proofs: vec![CheckProof {
            check: "AUTH-003".into(),
            effect: Effect::Part,
            source_ip: None,
            proof,
        }],
        skipped: Vec::new(),
    });
    let mut harness = harness_with(snapshot);
    harness.run();
    open_section(&mut harness, Section::Transit);
    select_check(&mut harness, "AUTH-003");
    assert_eq!(harness.state().finding("AUTH-003").unwrap().proofs.len(), 1);
    harness.get_by_label(proof_widgets::PROVEN_BY_TEST);
    // Pane headings are drawn in capitals.
    harness.get_by_label(&proof_widgets::TRANSCRIPT_HEADING.to_uppercase());
    harness.get_by_label("broken");
    // The note is in the transcript (and the evidence may quote it too).
    assert!(harness
        .query_all_by_label_contains("let the role in without a password")
        .next()
        .is_some());
    let answers: Vec<String> = harness
        .query_all_by_label_contains("AuthenticationOk")
        .map(|node| node.accesskit_node().label().unwrap_or_default())
        .collect();
    assert!(!answers.is_empty());
    for shown in answers {
        assert!(
            !shown.contains('\n') && !shown.contains('\u{202E}'),
            "{shown:?}"
        );
    }
}

#[test]
fn the_demo_lessons_say_which_probes_work_over_its_socket() {
    let mut harness = sample_harness(AppInit::default());
    open_section(&mut harness, Section::Transit);
    harness.get_by_label(training::PROVE_HEADING);
    harness.get_by_label_contains("need a TCP address");
    open_section(&mut harness, Section::Backup);
    assert!(harness.query_by_label(training::PROVE_HEADING).is_none());
}

#[test]
fn fix_all_in_this_section_needs_a_live_connection() {
    let mut harness = harness_with(insecure_snapshot());
    harness.run();
    open_section(&mut harness, Section::Transit);
    let fix_all = harness.get_by_role_and_label(Role::Button, walkthrough_ui::FIX_SECTION);
    assert!(fix_all.accesskit_node().is_disabled());
    assert!(harness.state().plan_window().is_none());
}

// ----- the Fleet page -----

/// A loopback port with nothing listening on it: a connection is refused at once.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// An inventory of three targets nobody answers for, in two groups: the matrix marks
/// each as unreachable with its reason, counts them, filters by group and tag, and a
/// click on a target that was not scanned opens nothing.
#[test]
fn the_fleet_page_marks_unreachable_targets_and_filters_by_group_and_tag() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("fleet.toml");
    let target = |name: &str, group: &str, tag: &str| {
        format!(
            "[[target]]\nname = \"{name}\"\nconninfo = \"hostaddr=127.0.0.1 port={} user=nobody dbname=x sslmode=disable\"\ngroup = \"{group}\"\ntags = [\"{tag}\"]\n\n",
            closed_port()
        )
    };
    std::fs::write(
        &inventory,
        format!(
            "[groups.east]\n[groups.west]\n\n{}{}{}",
            target("east-1", "east", "prod"),
            target("east-2", "east", "test"),
            target("west-1", "west", "prod"),
        ),
    )
    .unwrap();
    let rt = runtime();
    let mut harness = live_app(&rt);
    harness.run();
    harness.get_by_label("Fleet").click();
    harness.run();
    assert_eq!(harness.state().page(), Page::Fleet);
    harness.state_mut().run_fleet_inventory(inventory.clone());
    step_until(&mut harness, "every target has finished", |app| {
        !app.fleet().running && app.fleet().rows.len() == 3
    });
    harness.run();
    let fleet = harness.state().fleet();
    assert_eq!(fleet.error, None);
    assert_eq!(fleet.counts(), (3, 0), "three not scanned, none failing");
    harness.get_by_label_contains("3 of 3 targets finished");
    harness.get_by_label_contains("3 not scanned");
    let marked = harness.query_all_by_label_contains("UNREACHABLE").count();
    assert_eq!(
        marked, 3,
        "each unreachable target is marked with its reason"
    );
    let refused = harness.query_all_by_label_contains("refused").count();
    assert_eq!(refused, 3, "the reason is shown for each");

    // Filters, edited in place as the combo boxes do.
    harness.state_mut().fleet_mut().group = Some("east".into());
    harness.run();
    let shown: Vec<String> = harness
        .state()
        .fleet()
        .visible_rows()
        .iter()
        .map(|r| r.name.clone())
        .collect();
    assert_eq!(shown, ["east-1", "east-2"]);
    assert!(harness.query_by_label("west-1").is_none());
    harness.state_mut().fleet_mut().tag = Some("prod".into());
    harness.run();
    assert_eq!(harness.state().fleet().visible_rows().len(), 1);
    harness.get_by_label("east-1");

    // A target that was not scanned has nothing to open.
    harness.get_by_label("east-1").click();
    harness.run();
    assert_eq!(harness.state().page(), Page::Fleet);
    assert!(harness.state().results().is_none());

    // The finished run exports as the signed fleet PDF, the summary embedded.
    harness.get_by_label("Export signed PDF…");
    let input = fleet_export::fleet_report_input(harness.state().fleet()).unwrap();
    assert_eq!(input.summary.totals.targets, 3);
    assert_eq!(input.summary.totals.unreachable, 3);
    assert!(fleet_export::suggested_fleet_report_name(&input).starts_with("fleet-fleet-report-"));
    let identity = SigningIdentity::generate("pgSafeguard fleet GUI test").unwrap();
    let pdf = dir.path().join("fleet.pdf");
    let exported = fleet_export::export_fleet_report_to(&pdf, &input, &identity).unwrap();
    assert_eq!(exported.path, pdf);
    let outcome = verify_pdf(
        &std::fs::read(&pdf).unwrap(),
        Some(&identity.fingerprint_sha256()),
    )
    .unwrap();
    assert_eq!(outcome.schema.as_deref(), Some("pgsafeguard.fleet/1"));
}

/// A bad inventory opened in the GUI: the page says which file and line, nothing runs.
#[test]
fn a_bad_fleet_inventory_shows_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("twice.conf");
    std::fs::write(&inventory, "[a]\nhost=h\n[a]\nhost=h\n").unwrap();
    let rt = runtime();
    let mut harness = live_app(&rt);
    harness.run();
    harness.state_mut().run_fleet_inventory(inventory);
    step_until(&mut harness, "the inventory is refused", |app| {
        !app.fleet().running
    });
    harness.run();
    let error = harness.state().fleet().error.clone().unwrap();
    assert!(error.contains("twice.conf, line 3"), "{error}");
    assert!(harness.state().fleet().rows.is_empty());
    harness.get_by_label_contains("twice.conf, line 3");
}

//! The architecture rules that neither the compiler nor clippy can see, checked on the source
//! of `src/`. src/ARCHITECTURE.md explains the rooms and why; keep the two in step.
//!
//! A room is a folder under `src/` (all its files and sub-folders) or a top-level file
//! (`src/scan.rs`). The rules:
//! - no import cycle between files of different rooms, and none among the files of `src/ui`;
//! - `src/model` imports nothing outside `src/model`;
//! - `src/report` imports nothing from `src/apply`; `src/ui` nothing from `src/db`;
//! - `src/store` imports only `src/model`, `src/db` and `src/platform_dirs.rs`;
//! - `src/fleet` imports only what scanning needs ([`FLEET_MAY_IMPORT`]);
//! - `src/apply` takes from `src/checks` only what evaluation needs ([`APPLY_MAY_USE_FROM_CHECKS`]);
//! - `src/drift` and `src/db` import only `src/model`;
//! - `src/drill` imports only `src/demo`, `src/db` and `src/model`;
//! - colour constants appear only in the GUI theme and the report's palette.
//!
//! An import is a `use crate::…`, `use super::…`, `use self::…` or `use child::…`
//! declaration, or a `crate::x::…`, `super::x::…` or `module_alias::…` path in code, outside
//! `#[cfg(test)]` items and test-only modules. It is resolved to the file of the longest
//! module prefix it names (a re-export counts for the file that re-exports it).
//!
//! The reader is a small lexer, not a Rust parser: it blanks comments and literals, drops
//! test items, and follows the `mod` declarations from `src/lib.rs`. The self-tests at the
//! bottom run every rule on a made-up crate, so each one is known to be able to fail.

// Test code: a source tree the reader cannot follow fails loudly.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "architecture/cycles.rs"]
mod cycles;
#[path = "architecture/krate.rs"]
mod krate;
#[path = "architecture/lex.rs"]
mod lex;

use cycles::{describe_cycle, shortest_cycle, strongly_connected};
use krate::{Crate, Import};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What `src/apply` may take from `src/checks`: evaluation, to re-check after a fix, and the
/// declaration it fixes. SQL, hba and other helpers belong in `src/model`.
const APPLY_MAY_USE_FROM_CHECKS: &[&str] = &[
    "Check",
    "Verdict",
    "Fix",
    "registry",
    "find",
    "evaluate_all",
    "evaluate_one",
    "CATALOGUE_IDS",
];

/// What the evidence store may import: the model it records, `db` for the team store's
/// connection, and the data folder. Never checks, apply, the report or a front end: they
/// call the store, not the other way round.
const STORE_MAY_IMPORT: &[&str] = &["src/model/", "src/db/", "src/platform_dirs.rs"];

/// What the restore drill may import: the demo's supervised server, folders and binaries,
/// `db` to query the recovered copy, the model its record is made of (the PHI name rule too).
/// Never a front end, the store or the report: they call the drill.
const DRILL_MAY_IMPORT: &[&str] = &["src/demo/", "src/db/", "src/model/"];

/// What a fleet scan may import: the scan and what it needs to check an inventory, evaluate
/// and write each result. Never the store, the report or a front end: they call the fleet.
const FLEET_MAY_IMPORT: &[&str] = &[
    "src/model/",
    "src/db/",
    "src/scan.rs",
    "src/checks/",
    "src/policy/",
    "src/output/",
    "src/atomic_file.rs",
];

/// The GUI's colours: the one theme module.
const GUI_PALETTE: &str = "src/ui/theme.rs";
/// The report's colours: the report's own palette, beside its layout.
const REPORT_PALETTE: &str = "src/report/palette.rs";
/// Where the report's `Color` type is defined (its constructor is not a colour).
const REPORT_COLOR_TYPE: &str = "src/report/layout.rs";
/// Named egui colours that are no colour choice (a see-through fill).
const NOT_A_COLOUR: &[&str] = &["TRANSPARENT"];

// ---------------------------------------------------------------------------------------
// The rules, on the real source.

#[test]
fn no_import_cycle_crosses_rooms() {
    let violations = cycles_across_rooms(&Crate::load());
    assert!(
        violations.is_empty(),
        "import cycles between rooms:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_ui_files_import_each_other_without_cycles() {
    let violations = cycles_within(&Crate::load(), "src/ui/");
    assert!(
        violations.is_empty(),
        "import cycles among the files of src/ui:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_model_imports_nothing_above_it() {
    let violations = imports_leaving(&Crate::load(), "src/model/");
    assert!(
        violations.is_empty(),
        "src/model must import nothing outside src/model:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_store_imports_only_the_model_db_and_the_data_folder() {
    let violations = imports_leaving_except(&Crate::load(), "src/store/", STORE_MAY_IMPORT);
    assert!(
        violations.is_empty(),
        "src/store may import only {STORE_MAY_IMPORT:?}:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_fleet_imports_only_what_scanning_needs() {
    let violations = imports_leaving_except(&Crate::load(), "src/fleet/", FLEET_MAY_IMPORT);
    assert!(
        violations.is_empty(),
        "src/fleet may import only {FLEET_MAY_IMPORT:?}:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_report_imports_nothing_from_apply() {
    let violations = imports_between(&Crate::load(), "src/report/", "src/apply/");
    assert!(
        violations.is_empty(),
        "src/report must not import src/apply (the typed change log is in src/model):\n{}",
        violations.join("\n")
    );
}

#[test]
fn apply_takes_only_evaluation_from_checks() {
    let violations = apply_imports_beyond_evaluation(&Crate::load());
    assert!(
        violations.is_empty(),
        "src/apply may take only {APPLY_MAY_USE_FROM_CHECKS:?} from src/checks:\n{}",
        violations.join("\n")
    );
}

#[test]
fn drift_imports_only_the_model() {
    let violations = imports_leaving_except(&Crate::load(), "src/drift/", &["src/model/"]);
    assert!(
        violations.is_empty(),
        "src/drift may import only src/model (the diff is pure; the store, cli, ui and report \
         call it, never the other way round; the PHI name rule is model::phi_names):\n{}",
        violations.join("\n")
    );
}

#[test]
fn db_imports_only_the_model() {
    let violations = imports_leaving_except(&Crate::load(), "src/db/", &["src/model/"]);
    assert!(
        violations.is_empty(),
        "src/db may import only src/model (it talks to servers; what the checks or the \
         policy decide reaches it as plain data, e.g. ProbeOptions):\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_drill_imports_only_the_demo_db_and_model() {
    let violations = imports_leaving_except(&Crate::load(), "src/drill/", DRILL_MAY_IMPORT);
    assert!(
        violations.is_empty(),
        "src/drill may import only {DRILL_MAY_IMPORT:?} (the PHI name rule is \
         model::phi_names):\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_ui_imports_nothing_from_db() {
    let violations = imports_between(&Crate::load(), "src/ui/", "src/db/");
    assert!(
        violations.is_empty(),
        "src/ui must not import src/db (connection settings come from src/model, servers \
         are reached through the scan and apply jobs):\n{}",
        violations.join("\n")
    );
}

#[test]
fn gui_colours_come_from_the_theme() {
    let violations = colours_outside(&Crate::load(), &[GUI_PALETTE], is_gui_colour);
    assert!(
        violations.is_empty(),
        "egui colour constants outside {GUI_PALETTE}:\n{}",
        violations.join("\n")
    );
}

#[test]
fn report_colours_come_from_its_palette() {
    let violations = colours_outside(
        &Crate::load(),
        &[REPORT_PALETTE, REPORT_COLOR_TYPE],
        is_report_colour,
    );
    assert!(
        violations.is_empty(),
        "report colour constants outside {REPORT_PALETTE}:\n{}",
        violations.join("\n")
    );
}

/// One check, one file: every catalogue id (the ADM attestation table aside,
/// which shares one file) is declared in `src/checks/<section>/<id>_<slug>.rs`,
/// alone, and that file also holds the check's passing and failing fixtures.
#[test]
fn each_check_is_declared_in_its_own_file_with_its_fixtures() {
    let checks_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/checks");
    let mut declared: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    let mut ids_per_file: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for section in std::fs::read_dir(&checks_dir).expect("src/checks") {
        let section = section.expect("entry").path();
        if !section.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&section).expect("section folder") {
            let file = file.expect("entry").path();
            let text = std::fs::read_to_string(&file).expect("check file");
            for line in text.lines() {
                if let Some(id) = line
                    .trim()
                    .strip_prefix("id: \"")
                    .and_then(|r| r.strip_suffix("\","))
                {
                    declared
                        .entry(id.to_string())
                        .or_default()
                        .push(file.clone());
                    *ids_per_file.entry(file.clone()).or_default() += 1;
                }
            }
        }
    }
    let mut problems = Vec::new();
    for check in pgsafeguard::checks::registry() {
        let files = declared.get(check.id).cloned().unwrap_or_default();
        let [file] = files.as_slice() else {
            problems.push(format!("{} is declared in {files:?}", check.id));
            continue;
        };
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let text = std::fs::read_to_string(file).expect("check file");
        let fixtures = text.contains("#[cfg(test)]") && text.contains("fn cases()");
        if !fixtures {
            problems.push(format!("{} has no fixtures (cases) in {name}", check.id));
        }
        if check.id.starts_with("ADM-") {
            continue;
        }
        let prefix = format!("{}_", check.id.to_lowercase().replace('-', "_"));
        if !name.starts_with(&prefix) || ids_per_file.get(file) != Some(&1) {
            problems.push(format!(
                "{} is in {name}, not alone in {prefix}<slug>.rs",
                check.id
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Rules as functions of a crate, so that the self-tests can feed them a made-up one.

/// The room of a file: `src/<folder>/` for anything in a folder, else the file itself.
fn room(path: &str) -> &str {
    let rest = path.strip_prefix("src/").unwrap_or(path);
    match rest.find('/') {
        Some(slash) => &path[..path.len() - rest.len() + slash + 1],
        None => path,
    }
}

fn cycles_across_rooms(krate: &Crate) -> Vec<String> {
    let graph = krate.file_graph(|_| true);
    strongly_connected(&graph)
        .into_iter()
        .filter(|files| files.iter().map(|f| room(f)).collect::<BTreeSet<_>>().len() > 1)
        .map(|files| {
            let crossing = |from: &str, to: &str| room(from) != room(to);
            let cycle = shortest_cycle(&graph, &files, crossing);
            describe_cycle(krate, &files, &cycle)
        })
        .collect()
}

fn cycles_within(krate: &Crate, folder: &str) -> Vec<String> {
    let graph = krate.file_graph(|path| path.starts_with(folder));
    strongly_connected(&graph)
        .into_iter()
        .map(|files| {
            let cycle = shortest_cycle(&graph, &files, |_, _| true);
            describe_cycle(krate, &files, &cycle)
        })
        .collect()
}

/// Imports from files of `from_room` that leave it.
fn imports_leaving(krate: &Crate, from_room: &str) -> Vec<String> {
    imports_leaving_except(krate, from_room, &[])
}

/// Imports from files of `from_room` that leave it for a room not in `allowed`.
fn imports_leaving_except(krate: &Crate, from_room: &str, allowed: &[&str]) -> Vec<String> {
    krate
        .imports()
        .filter(|i| room(&i.from) == from_room && room(&i.to) != from_room)
        .filter(|i| !allowed.contains(&room(&i.to)))
        .map(Import::describe)
        .collect()
}

/// Imports from files of `from_room` into files of `to_room`.
fn imports_between(krate: &Crate, from_room: &str, to_room: &str) -> Vec<String> {
    krate
        .imports()
        .filter(|i| room(&i.from) == from_room && room(&i.to) == to_room)
        .map(Import::describe)
        .collect()
}

fn apply_imports_beyond_evaluation(krate: &Crate) -> Vec<String> {
    krate
        .imports()
        .filter(|i| room(&i.from) == "src/apply/" && room(&i.to) == "src/checks/")
        .filter(|i| {
            let allowed = i.to == "src/checks/mod.rs"
                && i.item
                    .as_deref()
                    .is_none_or(|item| APPLY_MAY_USE_FROM_CHECKS.contains(&item));
            !allowed
        })
        .map(Import::describe)
        .collect()
}

/// `Color32::RED`, `Color32::from_rgb(…)`, `Rgba::from_…`, `Hsva::new(…)`.
fn is_gui_colour(tokens: &[lex::Token], at: usize) -> bool {
    let (Some(ty), Some(sep), Some(name)) =
        (tokens.get(at), tokens.get(at + 1), tokens.get(at + 2))
    else {
        return false;
    };
    let (Some(ty), Some(name)) = (ty.ident(), name.ident()) else {
        return false;
    };
    let named_or_built = name.starts_with("from_")
        || name == "new"
        || (name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            && !NOT_A_COLOUR.contains(&name));
    sep.tok == lex::Tok::PathSep && matches!(ty, "Color32" | "Rgba" | "Hsva") && named_or_built
}

/// The report layout's `Color::hex(…)` and `Color(r, g, b)`.
fn is_report_colour(tokens: &[lex::Token], at: usize) -> bool {
    if tokens[at].ident() != Some("Color") {
        return false;
    }
    let next = tokens.get(at + 1).map(|t| &t.tok);
    let after = tokens.get(at + 2).and_then(lex::Token::ident);
    next == Some(&lex::Tok::Punct('('))
        || (next == Some(&lex::Tok::PathSep) && after == Some("hex"))
}

fn colours_outside(
    krate: &Crate,
    allowed: &[&str],
    is_colour: fn(&[lex::Token], usize) -> bool,
) -> Vec<String> {
    let mut found = Vec::new();
    for file in krate
        .files
        .iter()
        .filter(|f| !allowed.contains(&f.path.as_str()))
    {
        for at in 0..file.tokens.len() {
            if is_colour(&file.tokens, at) {
                let line = file.tokens[at].line;
                found.push(format!("  {}:{line}", file.path));
            }
        }
    }
    found
}

// ---------------------------------------------------------------------------------------
// Self-tests: every rule fails on a made-up crate that breaks it.

fn made_up_crate(files: &[(&str, &str)]) -> Crate {
    let files: BTreeMap<String, String> = files
        .iter()
        .map(|(path, text)| (path.to_string(), text.to_string()))
        .collect();
    Crate::read(|path| files.get(path).cloned())
}

/// A crate that breaks every rule once.
fn crate_breaking_every_rule() -> Crate {
    made_up_crate(&[
        (
            "src/lib.rs",
            "pub mod apply; pub mod checks; pub mod db; pub mod drift; pub mod model; pub mod report; pub mod store; pub mod ui;",
        ),
        (
            "src/store/mod.rs",
            "use crate::model::Snapshot;\nuse crate::db::Pool;\nfn h() { crate::checks::find(); }",
        ),
        ("src/model/mod.rs", "use crate::db::Pool;\npub struct Snapshot;"),
        (
            "src/db/mod.rs",
            "use crate::model::Snapshot;\npub struct Pool;\nfn k() { crate::checks::find(); }",
        ),
        (
            "src/ui/mod.rs",
            "mod one;\nmod two;\nmod theme;\nfn f() { let _ = crate::db::Pool; }",
        ),
        ("src/ui/one.rs", "use super::two::Two;\npub struct One;"),
        (
            "src/ui/two.rs",
            "use super::one::One;\npub struct Two;\nconst RED: Color32 = Color32::RED;",
        ),
        ("src/ui/theme.rs", "const ACCENT: Color32 = Color32::from_rgb(1, 2, 3);"),
        ("src/report/mod.rs", "mod layout;\nuse crate::apply::Log;\nconst C: Color = Color::hex(0x123456);"),
        ("src/report/layout.rs", "pub struct Color(f32, f32, f32);"),
        (
            "src/apply/mod.rs",
            "use crate::checks::{self, find, facts::split};\npub struct Log;\nfn g() { checks::quote(); checks::evaluate_all(); }",
        ),
        ("src/checks/mod.rs", "pub mod facts;\npub mod phi;\npub fn find() {}\npub fn quote() {}\npub fn evaluate_all() {}"),
        ("src/checks/facts.rs", "pub fn split() {}"),
        ("src/checks/phi.rs", "pub fn is_phi_name() {}"),
        (
            "src/drift/mod.rs",
            "use crate::model::Snapshot;\nuse crate::checks::phi::is_phi_name;\nuse crate::checks::facts::split;\nfn f() { crate::report::render(); }",
        ),
    ])
}

#[test]
fn self_test_the_reader_skips_comments_literals_and_test_items() {
    let krate = made_up_crate(&[
        (
            "src/lib.rs",
            "pub mod a; pub mod b; pub mod c; pub mod d; #[cfg(test)] mod e;",
        ),
        (
            "src/a.rs",
            r##"
            // use crate::b::X;
            /* crate::b::Y /* nested */ crate::b::Z */
            const S: &str = "crate::b::W";
            const R: &str = r#"crate::b::V "quoted" "#;
            const Q: char = '"';
            fn lifetime<'x>(v: &'x str) -> &'x str { v }
            use crate::c::{self, Kept};
            #[cfg(test)]
            use crate::b::TestOnly;
            #[cfg(test)]
            #[allow(unused)]
            mod tests { use crate::b::AlsoTestOnly; }
            fn f() { let _ = crate::d::inline(); let _ = c::more(); }
            "##,
        ),
        ("src/b.rs", ""),
        ("src/c.rs", ""),
        ("src/d.rs", ""),
    ]);
    let written: Vec<(String, usize)> = krate
        .imports()
        .map(|i| (i.written.clone(), i.line))
        .collect();
    assert_eq!(
        written,
        [
            ("crate::c".to_string(), 8),
            ("crate::c::Kept".to_string(), 8),
            ("crate::d::inline".to_string(), 14),
            ("c::more".to_string(), 14),
        ],
        "{written:?}"
    );
    assert!(
        !krate.files.iter().any(|f| f.path == "src/e.rs"),
        "a test-only module is not read"
    );
}

#[test]
fn self_test_a_cycle_is_found_and_named() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a", "d"]),
        ("d", vec![]),
        ("e", vec!["d"]),
    ]
    .into_iter()
    .map(|(from, to)| {
        (
            from.to_string(),
            to.into_iter().map(str::to_string).collect(),
        )
    })
    .collect();
    let groups = strongly_connected(&graph);
    assert_eq!(groups, [["a", "b", "c"]]);
    let cycle = shortest_cycle(&graph, &groups[0], |from, _| from == "b");
    assert_eq!(cycle, ["b", "c", "a", "b"]);
    let mut acyclic = graph.clone();
    acyclic.insert("c".into(), BTreeSet::from(["d".to_string()]));
    assert!(strongly_connected(&acyclic).is_empty());
}

#[test]
fn self_test_every_rule_fails_on_a_crate_that_breaks_it() {
    let krate = crate_breaking_every_rule();
    let across = cycles_across_rooms(&krate);
    assert_eq!(across.len(), 1, "{across:?}");
    assert!(
        across[0].contains("src/model/mod.rs → src/db/mod.rs → src/model/mod.rs")
            || across[0].contains("src/db/mod.rs → src/model/mod.rs → src/db/mod.rs"),
        "{across:?}"
    );
    let ui = cycles_within(&krate, "src/ui/");
    assert_eq!(ui.len(), 1, "{ui:?}");
    assert!(
        ui[0].contains("src/ui/one.rs") && ui[0].contains("src/ui/two.rs"),
        "{ui:?}"
    );
    let model = imports_leaving(&krate, "src/model/");
    assert_eq!(model.len(), 1, "{model:?}");
    assert!(
        model[0].contains("src/model/mod.rs:1 imports crate::db::Pool"),
        "{model:?}"
    );
    let report = imports_between(&krate, "src/report/", "src/apply/");
    assert_eq!(report.len(), 1, "{report:?}");
    let store = imports_leaving_except(&krate, "src/store/", &["src/model/", "src/db/"]);
    assert_eq!(store.len(), 1, "{store:?}");
    assert!(store[0].contains("crate::checks::find"), "{store:?}");
    let ui_db = imports_between(&krate, "src/ui/", "src/db/");
    assert_eq!(ui_db.len(), 1, "{ui_db:?}");
    let apply = apply_imports_beyond_evaluation(&krate);
    assert_eq!(apply.len(), 2, "{apply:?}");
    assert!(
        apply[0].contains("crate::checks::facts::split"),
        "{apply:?}"
    );
    assert!(apply[1].contains("checks::quote"), "{apply:?}");
    let drift = imports_leaving_except(&krate, "src/drift/", &["src/model/"]);
    assert_eq!(drift.len(), 3, "{drift:?}");
    assert!(
        drift[0].contains("crate::checks::phi::is_phi_name"),
        "{drift:?}"
    );
    assert!(
        drift[1].contains("crate::checks::facts::split"),
        "{drift:?}"
    );
    assert!(drift[2].contains("crate::report::render"), "{drift:?}");
    let db = imports_leaving_except(&krate, "src/db/", &["src/model/"]);
    assert_eq!(db.len(), 1, "{db:?}");
    assert!(db[0].contains("crate::checks::find"), "{db:?}");
    let gui = colours_outside(&krate, &["src/ui/theme.rs"], is_gui_colour);
    assert_eq!(gui, ["  src/ui/two.rs:3"]);
    let report_colours = colours_outside(&krate, &["src/report/layout.rs"], is_report_colour);
    assert_eq!(report_colours, ["  src/report/mod.rs:3"]);
}

#[test]
fn self_test_the_drill_rule_fails_on_a_drill_that_reads_the_store() {
    let krate = made_up_crate(&[
        ("src/lib.rs", "pub mod checks; pub mod demo; pub mod drill; pub mod model; pub mod store;"),
        ("src/checks/mod.rs", "pub fn find() {}"),
        ("src/model/mod.rs", "pub mod phi_names;"),
        ("src/model/phi_names.rs", "pub fn is_phi_name() {}"),
        ("src/demo/mod.rs", "pub fn start() {}"),
        ("src/store/mod.rs", "pub fn open() {}"),
        (
            "src/drill/mod.rs",
            "use crate::demo::start;\nuse crate::model::phi_names::is_phi_name;\nfn f() { crate::store::open(); crate::checks::find(); }",
        ),
    ]);
    let violations = imports_leaving_except(&krate, "src/drill/", DRILL_MAY_IMPORT);
    assert_eq!(violations.len(), 2, "{violations:?}");
}

#[test]
fn self_test_rooms_are_top_folders_and_top_files() {
    assert_eq!(room("src/checks/transit/tls.rs"), "src/checks/");
    assert_eq!(room("src/checks/mod.rs"), "src/checks/");
    assert_eq!(room("src/scan.rs"), "src/scan.rs");
}

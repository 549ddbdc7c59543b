//! Golden capture: with `PGSAFEGUARD_GOLDEN_CAPTURE=DIR` set, every live scan a test makes
//! saves its snapshot (as `scan --save-snapshot` writes it) into DIR, named after the test
//! binary, the test and a counter. tests/golden.rs then keeps the JSON of
//! `scan --snapshot` of each saved snapshot byte-identical (tests/fixtures/golden/).
//!
//! The harness does not import the crate, so callers pass the snapshot's JSON text.

use std::cell::Cell;
use std::path::PathBuf;

/// The variable that turns capture on; its value is the folder to write into.
pub const GOLDEN_CAPTURE_ENV: &str = "PGSAFEGUARD_GOLDEN_CAPTURE";

thread_local! {
    // Each test runs on its own thread, so a per-thread counter numbers a test's scans
    // in the order it makes them, whatever runs beside it.
    static SCANS_IN_THIS_TEST: Cell<usize> = const { Cell::new(0) };
}

/// Saves `snapshot_json` when capture is on; does nothing otherwise.
pub fn capture(snapshot_json: &str) {
    let Some(dir) = std::env::var_os(GOLDEN_CAPTURE_ENV).map(PathBuf::from) else {
        return;
    };
    let n = SCANS_IN_THIS_TEST.with(|count| {
        count.set(count.get() + 1);
        count.get()
    });
    let thread = std::thread::current();
    let test: String = thread
        .name()
        .unwrap_or("main")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let name = format!("{}-{test}-{n}.snapshot.json", env!("CARGO_CRATE_NAME"));
    std::fs::create_dir_all(&dir).expect("golden capture folder");
    std::fs::write(dir.join(name), snapshot_json).expect("golden capture write");
}

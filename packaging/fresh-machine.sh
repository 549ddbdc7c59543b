#!/usr/bin/env bash
# Proves the README's two set-up commands on a fresh machine, and reports what was missing.
#
# A fresh Debian 12 root (debootstrap, minbase: no compiler, no certificates, no X), a fresh
# clone of this repository's committed HEAD, an empty CARGO_TARGET_DIR and an empty cargo
# registry; only the Rust toolchain comes from this machine, bind-mounted read-only
# (~/.rustup and ~/.cargo/bin, as rustup installs them). Inside the root it runs
#   1. `bash tests/run-all.sh`   (README command 2: installs the packages, runs every test)
#   2. `cargo run --release`     (README command 1) under Xvfb; success = a window titled
#                                 "pgSafeguard" appears (xdotool), screenshot saved.
# Everything it mounted is unmounted on exit, also on failure or Ctrl-C.
#
# Usage (as root): packaging/fresh-machine.sh [OUT_DIR]     (default: a new /var/tmp folder)
#   MIRROR=http://deb.debian.org/debian   Debian mirror for debootstrap
#   KEEP_ROOT=1                           keep the chroot for inspection (it is ~3 GB)
#   WINDOW_TIMEOUT=2400                   seconds command 1 may take to show its window
# Exit code: 0 both commands passed, 1 one failed, 2 the environment could not be set up.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mirror="${MIRROR:-http://deb.debian.org/debian}"
window_timeout="${WINDOW_TIMEOUT:-2400}"
out_dir="${1:-$(mktemp -d /var/tmp/pgsafeguard-fresh.XXXXXX)}"
mkdir -p "$out_dir"
root="$out_dir/root"
log_file="$out_dir/fresh-machine.log"
exec > >(tee -a "$log_file") 2>&1

log() { printf '==> [%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { echo "fresh-machine: $*" >&2; exit 2; }

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, chroot and mounts need it)"
[ -x "$HOME/.cargo/bin/cargo" ] && [ -d "$HOME/.rustup" ] ||
  die "no rustup toolchain in ~/.rustup and ~/.cargo/bin to bind-mount"
command -v git >/dev/null || die "git is needed to clone the repository"
if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap ||
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap; } ||
    die "could not install debootstrap"
fi

# Mount points in the order they were made; cleanup undoes them in reverse.
mounts=()
mount_at() { # mount_at TARGET MOUNT-ARGS...
  local target="$1"; shift
  [ -e "$target" ] || mkdir -p "$target"
  mount "$@" "$target"
  mounts+=("$target")
}

# Processes whose root is the chroot (a server or Xvfb the commands left behind).
chroot_pids() {
  local link pid
  for link in /proc/[0-9]*/root; do
    pid="${link#/proc/}"; pid="${pid%/root}"
    [ "$(readlink "$link" 2>/dev/null)" = "$root" ] && echo "$pid"
  done
  return 0
}

cleanup() {
  local status=$? pid idx
  set +e
  for pid in $(chroot_pids); do kill "$pid" 2>/dev/null; done
  sleep 2
  for pid in $(chroot_pids); do kill -9 "$pid" 2>/dev/null; done
  for ((idx = ${#mounts[@]} - 1; idx >= 0; idx--)); do
    umount -R "${mounts[$idx]}" 2>/dev/null || umount -R -l "${mounts[$idx]}"
  done
  # Never delete while anything is still mounted inside (it could be the real ~/.rustup).
  if grep -q " $root/" /proc/self/mounts; then
    echo "fresh-machine: mounts left under $root; not deleting it" >&2
  elif [ "${KEEP_ROOT:-0}" != 1 ] && [ -d "$root" ]; then
    rm -rf "$root"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The whole run is one function, parsed before it starts: editing this file while it runs
# (it takes the better part of an hour) cannot change what the running copy does.
main() {
started=$(date +%s)
step_names=() step_results=() step_seconds=()
record() { step_names+=("$1"); step_results+=("$2"); step_seconds+=("$3"); }

# --- 1. a fresh Debian 12 root --------------------------------------------------------
t0=$(date +%s)
log "debootstrap bookworm (minbase) from $mirror into $root"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$out_dir/debootstrap.log" 2>&1 ||
  { tail -n 20 "$out_dir/debootstrap.log"; die "debootstrap failed (log: $out_dir/debootstrap.log)"; }
record debootstrap ok $(($(date +%s) - t0))
# This machine's network comes along: its resolver, and the local CA certificates that a
# TLS-inspecting proxy needs (ca-certificates, once run-all.sh installs it, adds them).
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/usr/local/share/ca-certificates"
cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
# Services do not start inside a chroot (the tests start their own clusters).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"

mount_at "$root/proc" -t proc proc
mount_at "$root/sys" --rbind /sys
mount --make-rslave "$root/sys"
mount_at "$root/dev" --rbind /dev
mount --make-rslave "$root/dev"
# The toolchain, read-only: ~/.rustup, and from ~/.cargo/bin the rustup binary with its
# proxies (cargo, rustc, ... are symlinks to it). Tools installed here with `cargo install`
# (cargo-deb) are left out on purpose, so the test command must install them itself;
# CARGO_HOME (/root/.cargo) is otherwise empty and writable.
mount_at "$root/root/.rustup" --bind "$HOME/.rustup"
mount -o remount,bind,ro "$root/root/.rustup"
mkdir -p "$root/root/.cargo/bin"
touch "$root/root/.cargo/bin/rustup"
mount_at "$root/root/.cargo/bin/rustup" --bind "$HOME/.cargo/bin/rustup"
mount -o remount,bind,ro "$root/root/.cargo/bin/rustup"
for proxy in "$HOME"/.cargo/bin/*; do
  [ "$(readlink "$proxy")" = rustup ] && ln -s rustup "$root/root/.cargo/bin/${proxy##*/}"
done

# --- 2. a fresh clone ------------------------------------------------------------------
commit="$(git -C "$repo" rev-parse HEAD)"
log "cloning $repo at $commit"
git clone -q --no-local "$repo" "$root/work/pgsafeguard"
mkdir -p "$root/work/target"

# What a fresh machine lacks before the README's commands run (for the report).
missing_before=()
for tool in cc pkg-config git curl npm Xvfb xdotool psql pdfsig dpkg-shlibdeps; do
  chroot "$root" /bin/sh -c "command -v $tool" >/dev/null 2>&1 || missing_before+=("$tool")
done
[ -e "$root/etc/ssl/certs/ca-certificates.crt" ] || missing_before+=("ca-certificates")

# CA-bundle variables set here (pointing at the system bundle) go along with the network.
ca_env=()
for var in SSL_CERT_FILE SSL_CERT_DIR CURL_CA_BUNDLE NODE_EXTRA_CA_CERTS; do
  [ -n "${!var:-}" ] && ca_env+=("$var=${!var}")
done
in_root() { # in_root SCRIPT: runs bash -c SCRIPT in the fresh root with a clean environment
  env -i HOME=/root USER=root LOGNAME=root TERM=dumb LANG=C.UTF-8 "${ca_env[@]}" \
    PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    CARGO_TARGET_DIR=/work/target \
    chroot "$root" /bin/bash -c "cd /work/pgsafeguard && $1"
}

# --- 3. README command 2: the test command -------------------------------------------
t0=$(date +%s)
log "README command 2: bash tests/run-all.sh"
if in_root 'bash tests/run-all.sh' </dev/null >"$out_dir/run-all.log" 2>&1; then
  record "run-all.sh" ok $(($(date +%s) - t0))
else
  record "run-all.sh" FAILED $(($(date +%s) - t0))
fi
sed -n '/= summary =/,$p' "$out_dir/run-all.log"

# --- 4. README command 1: cargo run --release, until its window appears ---------------
t0=$(date +%s)
log "README command 1: cargo run --release (under Xvfb, up to ${window_timeout}s for the window)"
window_check='
set -u
for tool in Xvfb xdotool import; do
  command -v "$tool" >/dev/null || { echo "missing: $tool"; exit 1; }
done
Xvfb :77 -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
export DISPLAY=:77
timeout '"$window_timeout"' cargo run --release >/work/cargo-run.log 2>&1 &
app=$!
found=""
while kill -0 "$app" 2>/dev/null; do
  found=$(xdotool search --name "^pgSafeguard$" 2>/dev/null | head -n1 || true)
  [ -n "$found" ] && break
  sleep 2
done
status=1
if [ -n "$found" ]; then
  sleep 3
  import -window root /work/window.png && status=0
  echo "window $found appeared"
else
  echo "no window; cargo run ended:"; tail -n 20 /work/cargo-run.log
fi
kill "$app" "$xvfb" 2>/dev/null
pkill -P "$app" 2>/dev/null
wait 2>/dev/null
exit $status
'
if in_root "$window_check" </dev/null >"$out_dir/cargo-run.log" 2>&1; then
  record "cargo run --release" ok $(($(date +%s) - t0))
  cp "$root/work/window.png" "$out_dir/window.png"
else
  record "cargo run --release" FAILED $(($(date +%s) - t0))
fi
cat "$out_dir/cargo-run.log"
cp "$root/work/cargo-run.log" "$out_dir/cargo-run-build.log" 2>/dev/null || true

# --- report ---------------------------------------------------------------------------
echo
echo "==================== fresh machine ===================="
echo "  commit      $commit"
echo "  missing before the README's commands: ${missing_before[*]:-nothing}"
installed="$(sed -n 's/^==> installing: //p' "$out_dir/run-all.log" | tr '\n' ' ')"
echo "  run-all.sh installed: ${installed:-nothing}"
status=0
for idx in "${!step_names[@]}"; do
  printf '  %-22s %-7s %5ds\n' "${step_names[$idx]}" "${step_results[$idx]}" "${step_seconds[$idx]}"
  [ "${step_results[$idx]}" = ok ] || status=1
done
echo "  total       $(($(date +%s) - started))s; logs in $out_dir"
echo "======================================================="
return "$status"
}
main "$@"; exit $?

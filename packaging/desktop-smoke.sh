#!/usr/bin/env bash
# Starts pgSafeguard the way a desktop does: runs the Exec line of the installed desktop
# entry under Xvfb (with a fresh HOME, as a first start), waits for a window whose class is
# the entry's StartupWMClass and whose title is "pgSafeguard", and saves a screenshot.
#
# Usage: packaging/desktop-smoke.sh [OUT.png]        (default /tmp/pgsafeguard-desktop.png)
#   DESKTOP_FILE=/usr/share/applications/pgsafeguard.desktop   the entry to start
#   DISPLAY_NUM=98                                             X display number
# Needs: the installed package (packaging/README.md), xvfb, xdotool, imagemagick.
set -euo pipefail

out="${1:-/tmp/pgsafeguard-desktop.png}"
entry="${DESKTOP_FILE:-/usr/share/applications/pgsafeguard.desktop}"
display_num="${DISPLAY_NUM:-98}"

for tool in Xvfb xdotool import desktop-file-validate; do
  command -v "$tool" >/dev/null ||
    { echo "desktop-smoke: $tool is not installed (apt-get install xvfb xdotool imagemagick desktop-file-utils)" >&2; exit 2; }
done
[ -f "$entry" ] || { echo "desktop-smoke: no desktop entry at $entry; install the .deb first" >&2; exit 2; }
desktop-file-validate "$entry"

key() { sed -n "s/^$1=//p" "$entry" | head -n 1; }
# Field codes (%f, %u, ...) stand for files the desktop would pass; there are none here.
exec_line="$(key Exec | sed 's/ %[fFuUdDnNickvm]//g')"
wm_class="$(key StartupWMClass)"
[ -n "$exec_line" ] && [ -n "$wm_class" ] || { echo "desktop-smoke: Exec or StartupWMClass missing" >&2; exit 1; }

home="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$home"
}
trap cleanup EXIT

Xvfb ":$display_num" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
pids+=($!)
export DISPLAY=":$display_num"
unset WAYLAND_DISPLAY
for _ in $(seq 1 50); do
  xdotool getdisplaygeometry >/dev/null 2>&1 && break
  sleep 0.2
done

echo "desktop-smoke: Exec=$exec_line"
# As a desktop launcher does: a login environment, the Exec line split into words.
# shellcheck disable=SC2086
env HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share" \
  PATH=/usr/local/bin:/usr/bin:/bin $exec_line >"$home/app.log" 2>&1 &
pids+=($!)

window=""
for _ in $(seq 1 60); do
  window="$(xdotool search --class "^$wm_class\$" 2>/dev/null | while read -r id; do
    [ "$(xdotool getwindowname "$id" 2>/dev/null)" = pgSafeguard ] && echo "$id"
  done | head -n 1 || true)"
  [ -n "$window" ] && break
  kill -0 "${pids[1]}" 2>/dev/null || { echo "desktop-smoke: the app exited:" >&2; cat "$home/app.log" >&2; exit 1; }
  sleep 1
done
[ -n "$window" ] || { echo "desktop-smoke: no window of class $wm_class appeared" >&2; exit 1; }
sleep 3
import -window root "$out"
echo "desktop-smoke: window $window (class $wm_class) is up; screenshot $out"

#!/usr/bin/env bash
# Screenshots of the real pgSafeguard window, for review.
#
# Starts a virtual X server (Xvfb), opens the GUI on the bundled offline
# sample, and saves PNGs of the overview, a section with its first failing
# check selected, the same in the dark theme, and the start screen.
#
# Usage: tests/gui-screenshot.sh [OUT_DIR]        (default /tmp)
#   PGSAFEGUARD_BIN=target/release/pgsafeguard    run `$BIN demo` instead of
#                                                 the ignored test that calls run_gui
#   DISPLAY_NUM=99                                X display number
#
# Needs: xvfb, xdotool, imagemagick (import). No window manager is needed:
# the window opens at the top-left corner at 1280x800, so the clicks below
# use fixed coordinates from that layout.
set -euo pipefail

out_dir=${1:-/tmp}
display_num=${DISPLAY_NUM:-99}
cd "$(dirname "$0")/.."

for tool in Xvfb xdotool import; do
    command -v "$tool" >/dev/null || { echo "gui-screenshot: $tool is not installed (apt-get install xvfb xdotool imagemagick)" >&2; exit 2; }
done

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

Xvfb ":$display_num" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
pids+=($!)
export DISPLAY=":$display_num"
unset WAYLAND_DISPLAY
sleep 1

if [[ -n "${PGSAFEGUARD_BIN:-}" ]]; then
    "$PGSAFEGUARD_BIN" demo &
    pids+=($!)
else
    cargo test --test gui real_window_on_the_sample -- --ignored --exact >/tmp/pgsafeguard-gui-test.log 2>&1 &
    pids+=($!)
fi

# Wait for the window (building may take a while the first time).
window=""
for _ in $(seq 1 600); do
    window=$(xdotool search --name '^pgSafeguard$' 2>/dev/null | head -n1 || true)
    [[ -n "$window" ]] && break
    sleep 1
done
[[ -n "$window" ]] || { echo "gui-screenshot: the window did not appear" >&2; exit 1; }
sleep 3

shot() {
    sleep 1.5
    import -window root "$out_dir/$1"
    echo "saved $out_dir/$1"
}
click() {
    xdotool mousemove "$1" "$2" click 1
}

shot pgsafeguard-gui.png                # overview of the offline sample
click 150 330                           # rail: 3. Encryption in transit
shot pgsafeguard-section.png            # first failing check selected
click 1160 22                           # top bar: Dark theme
shot pgsafeguard-section-dark.png
click 1160 22                           # back to the light theme
click 150 110                           # rail: Overview
shot pgsafeguard-overview.png
click 520 22                            # top bar: Connect…
shot pgsafeguard-start.png

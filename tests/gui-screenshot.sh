#!/usr/bin/env bash
# Screenshots of the real pgSafeguard window, for review.
#
# Starts a virtual X server (Xvfb), runs `pgsafeguard demo --offline` (the
# bundled offline sample, whose layout is fixed), and saves PNGs of the
# overview, a section with its first failing check selected, the same in the
# dark theme, and the start screen. Then, where PostgreSQL is installed, runs
# the live `pgsafeguard demo`: its start-up progress, its overview and a
# section in training mode; it ends the app with SIGTERM and checks that the
# demo cluster is gone.
#
# Usage: tests/gui-screenshot.sh [OUT_DIR]        (default /tmp)
#   PGSAFEGUARD_BIN=target/release/pgsafeguard    the binary to run (default: build
#                                                 and run target/debug/pgsafeguard)
#   DISPLAY_NUM=99                                X display number
#   SCALE=1.5                                     UI scale (screen and clicks scale too)
#   LIVE_DEMO=0                                   skip the live demo shots
#
# Needs: xvfb, xdotool, imagemagick (import). No window manager is needed:
# the window opens at the top-left corner at 1280x800, so the clicks below
# use fixed coordinates from that layout.
set -euo pipefail

out_dir=${1:-/tmp}
display_num=${DISPLAY_NUM:-99}
scale=${SCALE:-1}
prefix=""
[[ "$scale" != 1 ]] && prefix="scale${scale}-"
# Physical pixels of a logical point.
px() { awk -v v="$1" -v s="$scale" 'BEGIN { printf "%d", v * s }'; }
cd "$(dirname "$0")/.."

for tool in Xvfb xdotool import; do
    command -v "$tool" >/dev/null || { echo "gui-screenshot: $tool is not installed (apt-get install xvfb xdotool imagemagick)" >&2; exit 2; }
done

pids=()
# Preferences start empty (training mode: automatic) and stay out of $HOME.
config_home=$(mktemp -d)
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$config_home"
}
trap cleanup EXIT
export XDG_CONFIG_HOME="$config_home" XDG_DATA_HOME="$config_home"

Xvfb ":$display_num" -screen 0 "$(px 1280)x$(px 800)x24" -nolisten tcp >/dev/null 2>&1 &
pids+=($!)
export DISPLAY=":$display_num"
unset WAYLAND_DISPLAY
export WINIT_X11_SCALE_FACTOR="$scale"
for _ in $(seq 1 50); do
    xdotool getdisplaygeometry >/dev/null 2>&1 && break
    sleep 0.2
done

bin=${PGSAFEGUARD_BIN:-}
if [[ -z "$bin" ]]; then
    cargo build --bin pgsafeguard
    bin=target/debug/pgsafeguard
fi
# Start the app with "$@" and wait for its window; sets $app and $window.
open_app() {
    "$bin" "$@" >>/tmp/pgsafeguard-gui.log 2>&1 &
    app=$!
    pids+=("$app")
    window=""
    for _ in $(seq 1 60); do
        window=$(xdotool search --name '^pgSafeguard$' 2>/dev/null | head -n1 || true)
        [[ -n "$window" ]] && break
        sleep 1
    done
    [[ -n "$window" ]] || { echo "gui-screenshot: the window did not appear" >&2; exit 1; }
}
: >/tmp/pgsafeguard-gui.log
open_app demo --offline
sleep 3

shot() {
    sleep 1.5
    import -window root "$out_dir/${prefix}$1"
    echo "saved $out_dir/${prefix}$1"
}
# Navigation uses the app's shortcuts (Ctrl+0 overview, Ctrl+1..6 sections);
# there is no window manager, so focus the window before typing.
key() {
    xdotool windowfocus --sync "$window" key "$1"
}
# The theme toggle is the right-most button of the top bar.
toggle_theme() {
    xdotool mousemove "$(px 1215)" "$(px 20)" click 1
}

shot pgsafeguard-gui.png                # overview of the offline sample
key ctrl+3                              # 3. Encryption in transit and authentication
shot pgsafeguard-section.png            # its first failing check is selected
key Down                                # arrow keys move through the list
shot pgsafeguard-section-next.png
xdotool mousemove "$(px 1040)" "$(px 500)" click --repeat 8 5   # scroll the detail pane to the fix
shot pgsafeguard-fix.png
toggle_theme
shot pgsafeguard-section-dark.png
key ctrl+0
shot pgsafeguard-overview-dark.png
toggle_theme
key ctrl+5                              # 5. Audit trails
shot pgsafeguard-audit.png
xdotool mousemove "$(px 532)" "$(px 20)" click 1   # top bar: Connect… (start screen)
shot pgsafeguard-start.png

# ----- the live demo (needs the PostgreSQL server programs) -----
[[ "${LIVE_DEMO:-1}" == 0 ]] && exit 0
kill "$app" 2>/dev/null || true
wait "$app" 2>/dev/null || true
open_app demo
# The demo's folder is named after the app's pid: <base>/<pid>-<start>-<random>.
demo_dirs() { compgen -G "/tmp/pgsafeguard-demo-*/$app-*" || true; }
shot pgsafeguard-demo-starting.png      # start-up progress (initdb …)
for _ in $(seq 1 60); do
    compgen -G "/tmp/pgsafeguard-demo-*/$app-*/data/postmaster.pid" >/dev/null && break
    sleep 1
done
sleep 8                                 # seeding, then the first scan
shot pgsafeguard-demo.png               # the live demo's overview (or the offline fallback)
key ctrl+5                              # 5. Audit trails, in training mode
shot pgsafeguard-demo-audit.png
# Ctrl+C in the terminal (SIGINT) must leave no server behind, and exit 130.
left=$(demo_dirs)
kill -INT "$app"
status=0
wait "$app" 2>/dev/null || status=$?
if [[ -n "$left" ]]; then
    for dir in $left; do
        [[ -e "$dir" ]] && { echo "gui-screenshot: the demo folder $dir is still there" >&2; exit 1; }
    done
    [[ "$status" == 130 ]] || { echo "gui-screenshot: exit status $status after Ctrl+C, wanted 130" >&2; exit 1; }
    echo "live demo: stopped and removed on Ctrl+C (exit 130)"
else
    echo "live demo: not started (no PostgreSQL?); the shots show the offline fallback"
fi

# Where the server programs are missing, the demo falls back to the sample
# and says what to install (a wrong bindir hides every server program).
PGSAFEGUARD_PG_BINDIR=/nonexistent open_app demo
sleep 4
shot pgsafeguard-demo-fallback.png

#!/usr/bin/env bash
# Scale benchmark of pgSafeguard (issue 8): prints the figures the issue asks for, as ratios
# against the floor where one applies. Never fails because a figure misses its target: it
# reports; it exits non-zero only when a step could not run.
#
#   tests/bench/run.sh            10,000 tables / 1,000 roles, 5 timed runs
#   tests/bench/run.sh --small    200 tables / 50 roles, 3 runs (CI smoke; figures meaningless)
#   options: --tables N --roles M --runs R
#
# What it does:
#   1. builds the optimised binary and the three bench targets (tests/bench/);
#   2. criterion, no server: evaluation of all checks, snapshot JSON load and report
#      rendering over a synthetic snapshot of the same generated catalog (evaluate.rs);
#   2b. GUI, no server: per-frame CPU time while scrolling the longest evidence lists with
#      that snapshot loaded (gui_frames.rs, egui_kittest), and launch -> first frame of the
#      real window on the snapshot saved as a session, under Xvfb (gui_first_frame.sh);
#   3. live: scale_cluster.rs builds a 10-table cluster and an N-table cluster with the test
#      harness (tests/support), counts round trips and statements at both sizes, captures
#      the statements a real scan sends (server log, log_statement = all) as floor.sql, and
#      keeps the large cluster running while this script times
#        - `pgsafeguard scan` (hyperfine, median; a date loop when hyperfine is missing),
#        - the psql floor: floor.sql run once by psql (same statements, same connection),
#        - peak RSS of the scan (/usr/bin/time -v),
#        - `pgsafeguard scan --snapshot FILE --format json` on the saved 10k snapshot;
#   4. prints the table; results are kept in target/scale-bench/.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"

tables=10000 roles=1000 runs=5 small=0
while [ $# -gt 0 ]; do
  case "$1" in
    --small) small=1 tables=200 roles=50 runs=3 ;;
    --tables) tables="$2"; shift ;;
    --roles) roles="$2"; shift ;;
    --runs) runs="$2"; shift ;;
    -h|--help) sed -n '2,25p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else return 1
  fi
}

# hyperfine, GNU time and jq from Debian when missing; each has a fallback below. Xvfb,
# xdotool and xwd (x11-apps) for the first-frame figure, which is n/a without them.
ensure_tools() {
  local missing=()
  command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
  [ -x /usr/bin/time ] || missing+=(time)
  command -v jq >/dev/null 2>&1 || missing+=(jq)
  command -v Xvfb >/dev/null 2>&1 || missing+=(xvfb)
  command -v xdotool >/dev/null 2>&1 || missing+=(xdotool)
  command -v xwd >/dev/null 2>&1 || missing+=(x11-apps)
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || { log "not Debian: missing ${missing[*]}, using fallbacks"; return 0; }
  log "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null 2>&1 || true
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}" >/dev/null 2>&1 || log "could not install ${missing[*]}: using fallbacks"
}

# Reads a number out of a JSON file: json_number FILE JQ_PATH (jq, else python3).
json_number() {
  if command -v jq >/dev/null 2>&1; then
    jq -r "$2" "$1"
  else
    python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))
for k in sys.argv[2].strip(".").split("."):
    v = v[int(k[1:-1])] if k.startswith("[") else v[k]
print(v)' "$1" "$2"
  fi
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# time_command NAME COMMAND: median wall seconds of $runs runs (after one warm-up).
time_command() {
  local name="$1" command="$2"
  if command -v hyperfine >/dev/null 2>&1; then
    hyperfine --style none --warmup 1 --runs "$runs" --ignore-failure \
      --export-json "$work/$name.json" "$command" >"$work/$name.hyperfine.txt" 2>&1
    json_number "$work/$name.json" '.results[0].median'
  else
    bash -c "$command" >/dev/null 2>&1 || true
    local i start end
    for ((i = 0; i < runs; i++)); do
      start=$(date +%s.%N)
      bash -c "$command" >/dev/null 2>&1 || true
      end=$(date +%s.%N)
      echo "$end - $start" | bc -l 2>/dev/null || awk "BEGIN { print $end - $start }"
    done | median
  fi
}

# criterion_ms NAME: criterion's median estimate for offline/NAME/<label>, in milliseconds
# (criterion turns the slash of a benchmark id into an underscore in its folder name).
criterion_ms() {
  local file="$CRITERION_HOME/offline/${1}_${label}/new/estimates.json"
  if [ -f "$file" ]; then
    awk "BEGIN { printf \"%.2f\", $(json_number "$file" '.median.point_estimate') / 1e6 }"
  else
    echo "n/a"
  fi
}

ratio() { awk "BEGIN { if ($2 > 0) printf \"%.2f\", $1 / $2; else print \"n/a\" }"; }
verdict() { awk "BEGIN { print ($1 <= $2) ? \"ok\" : \"OVER\" }"; }

ensure_tools
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
results_dir="$repo_root/target/scale-bench"
rm -rf "$results_dir"
mkdir -p "$results_dir"
work="$results_dir"
export CRITERION_HOME="$work/criterion"

# One optimised build: `cargo bench` also builds the pgsafeguard binary (the live driver runs
# it), with the bench profile (= release). A separate `cargo build --release` would compile
# every dependency a second time (dev-dependencies change feature unification).
# The bench executables are then run directly, so that no step rebuilds in between.
log "building (bench profile = release)"
cargo bench --no-run --bench evaluate --bench scale_cluster --bench gui_frames \
  --message-format=json-render-diagnostics >"$work/build.json"
bench_executable() {
  if command -v jq >/dev/null 2>&1; then
    jq -r --arg name "$1" 'select(.reason == "compiler-artifact" and .target.name == $name
      and (.target.kind | index("bench"))) | .executable' "$work/build.json" | tail -n 1
  else
    python3 -c 'import json,sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == sys.argv[2] and "bench" in m["target"]["kind"]:
        print(m["executable"])' "$work/build.json" "$1" | tail -n 1
  fi
}
evaluate_bench="$(bench_executable evaluate)"
scale_cluster_bench="$(bench_executable scale_cluster)"
gui_frames_bench="$(bench_executable gui_frames)"
binary="$repo_root/target/release/pgsafeguard"
for built in "$evaluate_bench" "$scale_cluster_bench" "$gui_frames_bench" "$binary"; do
  [ -x "$built" ] || { echo "error: build output missing: '$built'" >&2; exit 2; }
done

# ---- offline figures (criterion, synthetic snapshot, no server) ----
log "criterion: offline work over a synthetic ${tables}-table snapshot"
criterion_args=(--noplot)
if [ "$small" -eq 1 ]; then criterion_args+=(--warm-up-time 1 --measurement-time 2); fi
PGSG_BENCH_TABLES="$tables" PGSG_BENCH_ROLES="$roles" \
  "$evaluate_bench" --bench "${criterion_args[@]}" 2>&1 | tee "$work/criterion.txt" >&2
label="${tables}t_${roles}r"
evaluate_ms=$(criterion_ms evaluate_all)
from_str_ms=$(criterion_ms snapshot_from_str)
load_cli_ms=$(criterion_ms load_snapshot_cli)
report_json_ms=$(criterion_ms report_json)
report_text_ms=$(criterion_ms report_text)

# ---- GUI figures (no server) ----
# key=value pairs of the last line a GUI measurement prints.
gui_value() { tr ' ' '\n' <"$1" | sed -n "s/^$2=//p" | tail -n 1; }
log "GUI: frame CPU time while scrolling (tests/bench/gui_frames.rs)"
gui_frames=(scroll_max_ms scroll_p99_ms scroll_median_ms select_max_ms open_ms first_frame_ms frames)
if PGSG_BENCH_TABLES="$tables" PGSG_BENCH_ROLES="$roles" PGSG_BENCH_FRAMES="$([ "$small" -eq 1 ] && echo 30 || echo 150)" \
  "$gui_frames_bench" --bench >"$work/gui_frames.txt" 2>"$work/gui_frames.log"; then
  cat "$work/gui_frames.log" >&2
  for key in "${gui_frames[@]}"; do printf -v "gui_$key" '%s' "$(gui_value "$work/gui_frames.txt" "$key")"; done
else
  cat "$work/gui_frames.log" >&2
  log "the GUI frame measurement failed (see above)"
  for key in "${gui_frames[@]}"; do printf -v "gui_$key" '%s' n/a; done
fi
log "GUI: launch -> first frame of the real window (tests/bench/gui_first_frame.sh)"
gui_first_ms=n/a gui_results_ms=n/a
PGSG_BENCH_TABLES="$tables" PGSG_BENCH_ROLES="$roles" "$gui_frames_bench" --save-session "$work/session.json" >&2
if bash tests/bench/gui_first_frame.sh "$binary" "$work/session.json" "$runs" >"$work/gui_first_frame.txt"; then
  gui_first_ms=$(gui_value "$work/gui_first_frame.txt" first_frame_ms)
  gui_results_ms=$(gui_value "$work/gui_first_frame.txt" results_ms)
else
  log "the first-frame measurement could not run (Xvfb, xdotool and xwd are needed)"
fi

# ---- live figures ----
live="$work/live"
mkdir -p "$live"
fifo="$work/hold"
mkfifo "$fifo"
log "live: generating clusters of 10 and ${tables} tables (tests/bench/scale_cluster.rs)"
"$scale_cluster_bench" serve --tables "$tables" --roles "$roles" --out "$live" \
  <"$fifo" >"$work/scale_cluster.log" 2>&1 &
driver=$!
exec 3>"$fifo"
stop_driver() {
  exec 3>&- 2>/dev/null || true
  wait "$driver" 2>/dev/null || true
}
trap stop_driver EXIT

for ((waited = 0; ; waited++)); do
  [ -f "$live/ready" ] && break
  if ! kill -0 "$driver" 2>/dev/null; then
    cat "$work/scale_cluster.log" >&2
    echo "error: the live driver stopped before the cluster was ready" >&2
    exit 2
  fi
  if [ "$waited" -ge 1800 ]; then echo "error: no cluster after 30 minutes" >&2; exit 2; fi
  sleep 1
done
cat "$work/scale_cluster.log" >&2
# shellcheck disable=SC1091
source "$live/figures.env"
export PGPASSFILE="$live/pgpass"

log "timing the scan and the psql floor ($runs runs each)"
scan_cmd="'$binary' scan '$CONNINFO' --format json >/dev/null"
floor_cmd="psql -X -q -A -t -o /dev/null -v ON_ERROR_STOP=1 -f '$live/floor.sql' '$CONNINFO'"
psql -X -q -A -t -o /dev/null -v ON_ERROR_STOP=1 -f "$live/floor.sql" "$CONNINFO"
scan_s=$(time_command scan "$scan_cmd")
floor_s=$(time_command floor "$floor_cmd")
# The same with JIT off: the planner JIT-compiles the costlier catalog queries, which costs
# more than running them (see the report of issue 8).
nojit="options='-c jit=off'"
scan_nojit_s=$(time_command scan-nojit "'$binary' scan \"$CONNINFO $nojit\" --format json >/dev/null")
floor_nojit_s=$(time_command floor-nojit "PGOPTIONS='-c jit=off' $floor_cmd")
offline_s=$(time_command offline "'$binary' scan --snapshot '$live/snapshot.json' --format json >/dev/null")

log "peak RSS of one scan"
rss_mb="n/a"
if [ -x /usr/bin/time ]; then
  /usr/bin/time -v "$binary" scan "$CONNINFO" --format json >/dev/null 2>"$work/time-v.txt" || true
  rss_kb=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$work/time-v.txt")
  [ -n "$rss_kb" ] && rss_mb=$(awk "BEGIN { printf \"%.1f\", $rss_kb / 1024 }")
fi
snapshot_mb=$(awk "BEGIN { printf \"%.1f\", $(stat -c %s "$live/snapshot.json") / 1e6 }")
stop_driver
trap - EXIT

ms() { awk "BEGIN { printf \"%.1f\", $1 * 1000 }"; }
{
  echo
  echo "pgSafeguard scale benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(uname -m)," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews timings)"
  [ "$small" -eq 1 ] && echo "(--small: a CI smoke run; the figures say nothing about the targets)"
  echo "catalog: $LARGE_LAYOUT"
  echo "generated and loaded in ${LARGE_LOAD_SECONDS} s (one psql call)"
  echo
  printf '%-46s %-20s %-12s %s\n' "figure" "measured" "target" "vs target / floor"
  printf '%-46s %-20s %-12s %s\n' "scan wall time (median of $runs)" "$(ms "$scan_s") ms" "< 1000 ms" \
    "$(verdict "$scan_s" 1); $(ratio "$scan_s" "$floor_s") x psql floor"
  printf '%-46s %-20s %-12s %s\n' "psql floor (scan's statements, median)" "$(ms "$floor_s") ms" "~500 ms" "1.00 x"
  printf '%-46s %-20s %-12s %s\n' "scan wall time, jit = off (median)" "$(ms "$scan_nojit_s") ms" "< 1000 ms" \
    "$(verdict "$scan_nojit_s" 1); $(ratio "$scan_nojit_s" "$floor_nojit_s") x psql floor with jit = off"
  printf '%-46s %-20s %-12s %s\n' "psql floor, jit = off (median)" "$(ms "$floor_nojit_s") ms" "-" \
    "$(ratio "$floor_nojit_s" "$floor_s") x psql floor"
  printf '%-46s %-20s %-12s %s\n' "round trips at ${SMALL_TABLES} / ${LARGE_TABLES} tables" \
    "$SMALL_ROUND_TRIPS / $LARGE_ROUND_TRIPS" "constant" \
    "$([ "$SMALL_ROUND_TRIPS" = "$LARGE_ROUND_TRIPS" ] && echo equal || echo DIFFERENT)"
  printf '%-46s %-20s %-12s %s\n' "collector statements at ${SMALL_TABLES} / ${LARGE_TABLES}" \
    "$SMALL_STATEMENTS / $LARGE_STATEMENTS" "constant" \
    "$([ "$SMALL_STATEMENTS" = "$LARGE_STATEMENTS" ] && echo equal || echo DIFFERENT)"
  printf '%-46s %-20s %-12s %s\n' "statements in the server log, whole scan" \
    "$SMALL_LOGGED_STATEMENTS / $LARGE_LOGGED_STATEMENTS" "constant" \
    "$([ "$SMALL_LOGGED_STATEMENTS" = "$LARGE_LOGGED_STATEMENTS" ] && echo equal || echo DIFFERENT)"
  printf '%-46s %-20s %-12s %s\n' "peak RSS of the scan" "$rss_mb MB" "<= 150 MB" \
    "$([ "$rss_mb" = n/a ] && echo n/a || verdict "$rss_mb" 150)"
  printf '%-46s %-20s %-12s %s\n' "evaluate all checks (criterion median)" "$evaluate_ms ms" "<= 50 ms" \
    "$([ "$evaluate_ms" = n/a ] && echo n/a || verdict "$evaluate_ms" 50)"
  printf '%-46s %-20s %-12s %s\n' "snapshot JSON -> Snapshot (criterion)" "$from_str_ms ms" "<= 200 ms" \
    "$([ "$from_str_ms" = n/a ] && echo n/a || verdict "$from_str_ms" 200)"
  printf '%-46s %-20s %-12s %s\n' "cli::load_snapshot (via serde_json::Value)" "$load_cli_ms ms" "<= 200 ms" \
    "$([ "$load_cli_ms" = n/a ] && echo n/a || verdict "$load_cli_ms" 200)"
  printf '%-46s %-20s %-12s %s\n' "render JSON / text report (criterion)" "$report_json_ms / $report_text_ms ms" "-" "-"
  printf '%-46s %-20s %-12s %s\n' "scan --snapshot (${snapshot_mb} MB) --format json" "$(ms "$offline_s") ms" "-" \
    "load + evaluate + render, whole process"
  printf '%-46s %-20s %-12s %s\n' "GUI: worst frame while scrolling (CPU)" "$gui_scroll_max_ms ms" "<= 16 ms" \
    "$([ "$gui_scroll_max_ms" = n/a ] && echo n/a || verdict "$gui_scroll_max_ms" 16); $gui_frames frames, p99 $gui_scroll_p99_ms ms, median $gui_scroll_median_ms ms"
  printf '%-46s %-20s %-12s %s\n' "GUI: worst frame after selecting a check" "$gui_select_max_ms ms" "-" \
    "lays out the new detail pane once"
  printf '%-46s %-20s %-12s %s\n' "GUI: open snapshot (evaluate) + first frame" "$gui_open_ms / $gui_first_frame_ms ms" "-" \
    "CPU, in the harness"
  printf '%-46s %-20s %-12s %s\n' "GUI: launch -> first frame (Xvfb, median)" "$gui_first_ms ms" "<= 500 ms" \
    "$([ "$gui_first_ms" = n/a ] && echo n/a || verdict "$gui_first_ms" 500); window mapped after its first paint"
  printf '%-46s %-20s %-12s %s\n' "GUI: launch -> session results on screen" "$gui_results_ms ms" "-" \
    "$([ "$gui_results_ms" = n/a ] && echo n/a || echo "last screen change before 0.5 s still")"
  echo
  echo "commands: scan = $binary scan \"$CONNINFO\" --format json (PGPASSFILE=$live/pgpass)"
  echo "          floor = $floor_cmd"
  echo "results and raw outputs: $work"
} | tee "$work/results.txt"

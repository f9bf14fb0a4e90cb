#!/usr/bin/env bash
# Instructions the agent executes per poll at 8 GPUs x 32 processes, counted by valgrind's
# cachegrind: the count moves by less than 0.5% between runs (the thread pool and the journal's
# timing), where CPU time on a shared 2-core machine moves by 20-40% between identical runs
# (docs/performance.md, "Instructions per tick"). A replay of
# 1,100 simulated ticks less one of 100 leaves the cost of 1,000 ticks without start-up. With a
# baseline binary, both are counted in the same run and the ratio is printed.
#
# Instructions are a proxy for the work, not for its cost at 1 Hz: a tick that runs once a
# second finds its data and code out of the caches, which bench/overhead.sh measures. Clearing
# fresh allocations (rep stosb) counts one instruction per byte, more than it costs.
#
# With --functions, the same count split by function (the top N, default 30, per tick), from the
# symbols in the .dbg file the publish leaves beside the binary: valgrind 3.19 cannot read the
# DWARF 5 in it, so the binary and its .dbg are joined (eu-unstrip) and the DWARF dropped
# (objcopy --strip-debug), which keeps the symbol table. Where the tick's instructions go,
# function by function, to within a fraction of a percent; perf's samples on this VM are too few.
#
# usage: bench/instructions.sh [BASELINE_BINARY]
#        bench/instructions.sh --functions [N]
# env:   GPUAUDIT_AOT_DIR  where the NativeAOT binary is (published here if missing or stale; default artifacts/aot)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind > /dev/null; then
  echo "instructions: valgrind is not installed; install it (apt-get install valgrind) and run again" >&2
  exit 2
fi
baseline="${1:-}"
top=0
if [[ "$baseline" == "--functions" ]]; then
  top="${2:-30}"
  baseline=""
  if ! [[ "$top" =~ ^[1-9][0-9]*$ ]]; then
    echo "instructions: --functions takes a number of functions to list, not '$top'; e.g. bench/instructions.sh --functions 40" >&2
    exit 2
  fi
  if ! command -v eu-unstrip > /dev/null; then
    echo "instructions: --functions needs eu-unstrip; install it (apt-get install elfutils) and run again" >&2
    exit 2
  fi
fi
if [[ -n "$baseline" && ! -x "$baseline" ]]; then
  echo "instructions: baseline binary $baseline is not an executable file; give the path of another gpuaudit binary" >&2
  exit 2
fi

aot_dir="${GPUAUDIT_AOT_DIR:-artifacts/aot}"
binary="$aot_dir/gpuaudit"
source bench/common.sh
ensure_aot_binary instructions "$aot_dir"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
jobmap="$work/jobs"
write_job_map "$jobmap"

# Instructions of one replay of $2 ticks by the binary copied into $1 (copied without its .dbg:
# valgrind 3.19 cannot read the DWARF 5 that NativeAOT writes there).
count() {
  valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
    "$1/gpuaudit" replay --fast --simulate-gpus 8 --simulate-procs 32 --job-map "$jobmap" --until "$2" \
    --journal "$(mktemp -d -p "$work")" --metrics-dump "$work/metrics-$RANDOM.prom" 2>&1 > /dev/null |
    awk '/I *refs:/ { gsub(",", "", $NF); print $NF }'
}
# Instructions per tick of the binary $1: 1,000 ticks, start-up cancelled out.
per_tick() {
  local copy
  copy=$(mktemp -d -p "$work")
  cp "$1" "$copy/gpuaudit"
  cp "$(dirname "$1")"/*.so "$copy/" 2>/dev/null || true
  local short long
  short=$(count "$copy" 100)
  long=$(count "$copy" 1100)
  echo $(( (long - short) / 1000 ))
}

# The top $1 functions by instructions per tick (1,000 ticks less start-up, as per_tick counts).
by_function() {
  local copy="$work/symbols"
  if [[ ! -f "$binary.dbg" ]]; then
    echo "instructions: $binary.dbg is missing: --functions reads the symbols the publish leaves there; publish again (rm -r $aot_dir)" >&2
    exit 2
  fi
  mkdir -p "$copy"
  eu-unstrip "$binary" "$binary.dbg" -o "$copy/joined"
  objcopy --strip-debug "$copy/joined" "$copy/gpuaudit"
  cp "$aot_dir"/*.so "$copy/" 2>/dev/null || true
  for ticks in 100 1100; do
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$work/cg.$ticks" \
      "$copy/gpuaudit" replay --fast --simulate-gpus 8 --simulate-procs 32 --job-map "$jobmap" --until "$ticks" \
      --journal "$(mktemp -d -p "$work")" --metrics-dump "$work/metrics-$ticks.prom" > /dev/null 2>&1
  done
  cg_diff "$work/cg.100" "$work/cg.1100" > "$work/cg.diff" 2> /dev/null
  echo "instructions per tick by function, 8x32 simulated ($binary):"
  cg_annotate "$work/cg.diff" 2> /dev/null |
    awk -v top="$1" '/PROGRAM TOTALS/ { gsub(",", "", $1); printf "%10.0f  all\n", $1 / 1000 }
      /^ *[0-9,]+ \( *[0-9.]+%\) +[^ ]+:/ && !/PROGRAM TOTALS/ && shown < top {
        count = $1; gsub(",", "", count)
        line = $0; sub(/^ *[0-9,]+ \( */, "", line); share = line; sub(/\).*/, "", share)
        name = line; sub(/^[^)]*\) +[^:]*:/, "", name)
        printf "%10.0f  %6s  %s\n", count / 1000, share, name; shown++ }'
}

if (( top > 0 )); then
  by_function "$top"
  exit 0
fi

current=$(per_tick "$binary")
echo "instructions per tick, 8x32 simulated: $current ($binary)"
if [[ -n "$baseline" ]]; then
  base=$(per_tick "$baseline")
  echo "instructions per tick, 8x32 simulated: $base ($baseline, baseline)"
  awk -v c="$current" -v b="$base" 'BEGIN { printf "ratio: %.3f (%+.1f%%)\n", c / b, (c / b - 1) * 100 }'
fi

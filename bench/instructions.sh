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
# usage: bench/instructions.sh [BASELINE_BINARY]
# env:   GPUAUDIT_AOT_DIR  where the NativeAOT binary is (published here if missing or stale; default artifacts/aot)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind > /dev/null; then
  echo "instructions: valgrind is not installed; install it (apt-get install valgrind) and run again" >&2
  exit 2
fi
baseline="${1:-}"
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

current=$(per_tick "$binary")
echo "instructions per tick, 8x32 simulated: $current ($binary)"
if [[ -n "$baseline" ]]; then
  base=$(per_tick "$baseline")
  echo "instructions per tick, 8x32 simulated: $base ($baseline, baseline)"
  awk -v c="$current" -v b="$base" 'BEGIN { printf "ratio: %.3f (%+.1f%%)\n", c / b, (c / b - 1) * 100 }'
fi

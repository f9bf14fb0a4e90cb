#!/usr/bin/env bash
# Two gpuaudit binaries side by side on the same simulated 8 GPU x 32 process node (every GPU
# allocated to a job), no scrapes: the CPU each uses per GPU per poll over the same seconds,
# and the journal each wrote. Both run at once, so machine load weighs on both alike; the
# difference is what changed between them. Used to measure the journal's share (docs/performance.md).
#
# usage: bench/compare-agents.sh BINARY_A BINARY_B [SECONDS]     (default 240: four minute boundaries)
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: bench/compare-agents.sh BINARY_A BINARY_B [SECONDS]" >&2; exit 2; }
a=$1; b=$2; duration=${3:-240}
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
source "$(dirname "$0")/common.sh"
write_job_map "$work/map"
"$a" replay --simulate-gpus 8 --simulate-procs 32 --job-map "$work/map" --journal "$work/a" 2>/dev/null & pids+=($!)
"$b" replay --simulate-gpus 8 --simulate-procs 32 --job-map "$work/map" --journal "$work/b" 2>/dev/null & pids+=($!)
# Start-up (loading the traces) is not per-poll work.
sleep 10
hz=$(getconf CLK_TCK)
cpu() { sed 's/.*) //' "/proc/$1/stat" | awk -v hz="$hz" '{ printf "%.2f", ($12 + $13) / hz }'; }
sched() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'; }
a0=$(cpu "${pids[0]}"); b0=$(cpu "${pids[1]}"); sa0=$(sched "${pids[0]}"); sb0=$(sched "${pids[1]}")
sleep "$duration"
a1=$(cpu "${pids[0]}"); b1=$(cpu "${pids[1]}"); sa1=$(sched "${pids[0]}"); sb1=$(sched "${pids[1]}")
polls=$((duration * 8))
awk -v n="$polls" -v name="$a" -v c0="$a0" -v c1="$a1" -v s0="$sa0" -v s1="$sa1" 'BEGIN { printf "A %s: %.2f s CPU in %d GPU-polls = %.1f us per GPU per poll (schedstat %.1f)\n", name, c1 - c0, n, (c1 - c0) * 1e6 / n, (s1 - s0) / 1000 / n }'
awk -v n="$polls" -v name="$b" -v c0="$b0" -v c1="$b1" -v s0="$sb0" -v s1="$sb1" 'BEGIN { printf "B %s: %.2f s CPU in %d GPU-polls = %.1f us per GPU per poll (schedstat %.1f)\n", name, c1 - c0, n, (c1 - c0) * 1e6 / n, (s1 - s0) / 1000 / n }'
echo "journals after ${duration} s: A $(du -sk "$work/a" | cut -f1) KB, B $(du -sk "$work/b" | cut -f1) KB"

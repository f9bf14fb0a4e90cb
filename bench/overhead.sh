#!/usr/bin/env bash
# Whole-process overhead of the NativeAOT binary (issue 7, item 3): the agent watching a simulated
# 8 GPU x 32 process node at 1 Hz, beside an idle baseline of the same binary (one simulated GPU
# replaying data/traces/idle.jsonl, no processes), both started together and scraped every 5 s.
# CPU time (utime+stime from /proc/PID/stat) and peak RSS (VmHWM from /proc/PID/status) are read
# just before each is stopped.
#
# usage: bench/overhead.sh [--quick]     (60 s; --quick: 15 s)
# env:   GPUAUDIT_AOT_DIR    where the NativeAOT binary is (published here if missing; default artifacts/aot)
#        GPUAUDIT_BENCH_PORT first of two local ports to listen on (default 19477)
#        GPUAUDIT_BENCH_TABLE append the markdown rows to this file too (bench/run.sh sets it)
set -euo pipefail
cd "$(dirname "$0")/.."

duration=60
if [[ "${1:-}" == "--quick" ]]; then duration=15; elif [[ -n "${1:-}" ]]; then echo "usage: bench/overhead.sh [--quick]" >&2; exit 2; fi
scrape_every=5
aot_dir="${GPUAUDIT_AOT_DIR:-artifacts/aot}"
binary="$aot_dir/gpuaudit"
agent_port="${GPUAUDIT_BENCH_PORT:-19477}"
idle_port=$((agent_port + 1))

if [[ ! -x "$binary" ]]; then
  echo "overhead: publishing the NativeAOT binary to $aot_dir (several minutes on 2 cores)..." >&2
  dotnet publish src/gpuaudit -c Release -r linux-x64 -p:PublishAot=true -o "$aot_dir" >&2
fi

pids=()
stop_all() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap stop_all EXIT

"$binary" replay --simulate-gpus 8 --simulate-procs 32 --listen "127.0.0.1:$agent_port" 2>/dev/null &
agent=$!
pids+=("$agent")
"$binary" replay --simulate-gpus 1 --simulate-procs 0 data/traces/idle.jsonl --listen "127.0.0.1:$idle_port" 2>/dev/null &
idle=$!
pids+=("$idle")

wait_up() {
  for _ in $(seq 100); do
    curl -fs -o /dev/null "http://127.0.0.1:$1/metrics" && return 0
    sleep 0.1
  done
  echo "overhead: nothing answers on 127.0.0.1:$1/metrics (port taken? set GPUAUDIT_BENCH_PORT)" >&2
  exit 1
}
wait_up "$agent_port"
wait_up "$idle_port"

start=$(date +%s.%N)
scrapes=0
scrape_bytes=0
while :; do
  scrape_bytes=$(curl -fs -o /dev/null -w '%{size_download}' "http://127.0.0.1:$agent_port/metrics")
  curl -fs -o /dev/null "http://127.0.0.1:$idle_port/metrics"
  scrapes=$((scrapes + 1))
  elapsed=$(echo "$(date +%s.%N) - $start" | bc)
  remaining=$(echo "$duration - $elapsed" | bc)
  if (( $(echo "$remaining <= 0" | bc) )); then break; fi
  sleep "$(echo "if ($remaining < $scrape_every) $remaining else $scrape_every" | bc)"
done

ticks=$(getconf CLK_TCK)
# Fields 14 and 15 of /proc/PID/stat, counted after the ")" that closes the command name.
cpu_seconds() { sed 's/.*) //' "/proc/$1/stat" | awk -v hz="$ticks" '{ printf "%.2f", ($12 + $13) / hz }'; }
peak_rss_mb() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
agent_cpu=$(cpu_seconds "$agent"); idle_cpu=$(cpu_seconds "$idle")
agent_rss=$(peak_rss_mb "$agent"); idle_rss=$(peak_rss_mb "$idle")
stop_all
trap - EXIT

# The CPU target: our own work per GPU per poll (above the idle binary) within the pipeline's 50 µs.
per_gpu_poll_us=$(echo "scale=1; ($agent_cpu - $idle_cpu) * 1000000 / ($duration * 8)" | bc)
cpu_verdict=$(echo "$per_gpu_poll_us <= 50" | bc | sed 's/1/met/;s/0/missed/')
[[ "$cpu_verdict" == missed ]] && cpu_verdict="missed by $(echo "$per_gpu_poll_us - 50" | bc) µs"
rss_verdict=$(echo "$agent_rss <= 60" | bc | sed 's/1/met/;s/0/missed/')
[[ "$rss_verdict" == missed ]] && rss_verdict="missed by $(echo "$agent_rss - 60" | bc) MB"
core_pct=$(echo "scale=2; $agent_cpu * 100 / $duration" | bc)

rows=(
  "| Agent CPU, NativeAOT, 8x32 simulated, 1 Hz, ${duration} s, scrape every ${scrape_every} s | ≤ 50 µs per GPU per poll above idle | ${agent_cpu} s CPU (${core_pct}% of a core); idle baseline ${idle_cpu} s → ${per_gpu_poll_us} µs per GPU per poll | ${cpu_verdict} |"
  "| Agent peak RSS (VmHWM), NativeAOT, 8x32 | ≤ 60 MB | ${agent_rss} MB (idle baseline ${idle_rss} MB; last scrape ${scrape_bytes} bytes, ${scrapes} scrapes) | ${rss_verdict} |"
)
printf '%s\n' "${rows[@]}"
if [[ -n "${GPUAUDIT_BENCH_TABLE:-}" ]]; then printf '%s\n' "${rows[@]}" >> "$GPUAUDIT_BENCH_TABLE"; fi

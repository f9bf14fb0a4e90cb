#!/usr/bin/env bash
# Several agents at 1 Hz side by side, each watching the simulated 8 GPU x 32 process node, beside
# one idle baseline, all started together and measured over the same seconds, so the machine's
# load weighs on all alike: CPU per GPU per poll above idle for each, and its ratio to the first.
# This is how bench/overhead.sh measures, for comparing builds and run-time settings, where one
# overhead.sh run moves by ±15 µs from the next (docs/performance.md, "What the 1 Hz excess is not").
#
# usage: bench/side-by-side.sh AGENT...
#   AGENT  a gpuaudit binary, or a command that ends in one ("taskset -c 1 artifacts/aot/gpuaudit");
#          it runs `replay --simulate-gpus 8 --simulate-procs 32 --listen ...`, scraped every 5 s.
#          Prefixed with "unscraped:" it serves /metrics but is never scraped (the scrapes' share).
#          The idle baseline is the first agent's command on data/traces/idle.jsonl, one GPU, no process.
# env:   GPUAUDIT_BENCH_WARMUP (default 60), GPUAUDIT_BENCH_SECONDS (default 150),
#        GPUAUDIT_BENCH_PORT first local port (default 19577; one per agent and one for the baseline)
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -lt 1 ]]; then
  echo "usage: bench/side-by-side.sh AGENT...   (AGENT: a gpuaudit binary or a command ending in one; \"unscraped:\" before it to never scrape it)" >&2
  exit 2
fi
warmup="${GPUAUDIT_BENCH_WARMUP:-60}"
duration="${GPUAUDIT_BENCH_SECONDS:-150}"
port="${GPUAUDIT_BENCH_PORT:-19577}"
scrape_every=5

source bench/common.sh
if [[ -z "$cgroup_root" ]]; then
  echo "side-by-side: needs a CPU-accounting cgroup (root, cgroup v1 cpuacct or v2 with the cpu controller): run as root" >&2
  exit 2
fi

pids=()
groups=()
work=$(mktemp -d)
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for group in "${groups[@]}"; do rmdir "$group" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
write_job_map "$work/jobs"

names=()
ports=()
scraped=()
group_of=()
# $1: the command (words), $2: 1 to scrape it, the rest: replay's arguments.
start_agent() {
  local command=$1 scrape=$2
  shift 2
  read -r -a words <<< "$command"
  if ! command -v "${words[-1]}" > /dev/null; then
    echo "side-by-side: ${words[-1]} is not an executable gpuaudit binary; give the path of one" >&2
    exit 2
  fi
  start_measured "${words[@]}" replay "$@" --job-map "$work/jobs" --listen "127.0.0.1:$port"
  pids+=("$started")
  group_of+=("$started_group")
  ports+=("$port")
  scraped+=("$scrape")
  port=$((port + 1))
}

for agent in "$@"; do
  if [[ "$agent" == unscraped:* ]]; then
    start_agent "${agent#unscraped:}" 0 --simulate-gpus 8 --simulate-procs 32
  else
    start_agent "$agent" 1 --simulate-gpus 8 --simulate-procs 32
  fi
  names+=("$agent")
done
first=${1#unscraped:}
start_agent "$first" 1 --simulate-gpus 1 --simulate-procs 0 data/traces/idle.jsonl
idle=$((${#pids[@]} - 1))

for i in "${!ports[@]}"; do
  up=0
  for _ in $(seq 100); do
    if curl -fs -o /dev/null "http://127.0.0.1:${ports[$i]}/metrics"; then up=1; break; fi
    sleep 0.1
  done
  if (( ! up )); then
    echo "side-by-side: nothing answers on 127.0.0.1:${ports[$i]}/metrics (port taken? set GPUAUDIT_BENCH_PORT)" >&2
    exit 1
  fi
done
# Scrapes the scraped ones every $scrape_every s for $1 seconds.
scrape_for() {
  local end=$((SECONDS + $1))
  while (( SECONDS < end )); do
    sleep "$(( end - SECONDS < scrape_every ? end - SECONDS : scrape_every ))"
    for i in "${!ports[@]}"; do
      if [[ "${scraped[$i]}" == 1 ]]; then curl -fs -o /dev/null "http://127.0.0.1:${ports[$i]}/metrics" || true; fi
    done
  done
}

scrape_for "$warmup"
before=()
for group in "${group_of[@]}"; do before+=("$(group_ns "$group")"); done
scrape_for "$duration"
used=()
for i in "${!group_of[@]}"; do used+=($(( $(group_ns "${group_of[$i]}") - before[i] ))); done

echo "idle baseline ($first): $(( used[idle] / 1000 / duration )) µs/s"
for i in "${!names[@]}"; do
  awk -v u="${used[$i]}" -v b="${used[$idle]}" -v f="${used[0]}" -v d="$duration" -v name="${names[$i]}" 'BEGIN {
    per = (u - b) / 1000 / (d * 8); first = (f - b) / 1000 / (d * 8)
    printf "%s: %d µs/s, %.1f µs per GPU per poll above idle (%.2f of the first)\n", name, u / 1000 / d, per, per / first }'
done

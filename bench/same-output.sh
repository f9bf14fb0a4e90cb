#!/usr/bin/env bash
# Whether a change to the per-tick path left every output as it was: this checkout's NativeAOT
# binary against BASELINE (another gpuaudit binary), on the same inputs:
#   - `classify --json` of every bundled recording, byte for byte;
#   - simulated replays (8x32 for 2,500 ticks, 8x512 for 200, 4x80 for 1,500, every GPU under a
#     job): `replay`'s own output, the exposition at the end (as a set of series: the order inside
#     a family follows prometheus-net's insertion order, which Prometheus does not read), and
#     `report --all --format json` from the journal (violation ids and chain hashes masked: they
#     are random per run).
# The simulated node starts at the wall clock, so its minute boundaries (and the per-minute
# totals) would move from run to run: faketime starts every run at the same instant, with a
# clock slowed a thousandfold so that start-up, however slow on a loaded machine, does not move
# it by a second. Left out: the build's revision, and what reads the wall clock as it runs (the
# poll duration, the process start time, the collector's last success).
#
# usage: bench/same-output.sh BASELINE      (exit 0: the same; 1: what differs is listed)
# needs: faketime (apt-get install faketime), python3
# env:   GPUAUDIT_AOT_DIR  where this checkout's NativeAOT binary is (published if missing or stale; default artifacts/aot)
set -euo pipefail
cd "$(dirname "$0")/.."

baseline="${1:-}"
if [[ -z "$baseline" || ! -x "$baseline" ]]; then
  echo "same-output: give the path of a baseline gpuaudit binary (usage: bench/same-output.sh BASELINE)" >&2
  exit 2
fi
if ! command -v faketime > /dev/null; then
  echo "same-output: faketime is not installed; install it (apt-get install faketime) and run again" >&2
  exit 2
fi

aot_dir="${GPUAUDIT_AOT_DIR:-artifacts/aot}"
source bench/common.sh
ensure_aot_binary same-output "$aot_dir"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
write_job_map "$work/jobs"

outputs() {
  local binary=$1 into=$2
  mkdir -p "$into"
  for trace in data/traces/*.jsonl; do
    "$binary" classify --json "$trace" > "$into/$(basename "$trace" .jsonl).json"
  done
  for shape in "8 32 2500" "8 512 200" "4 80 1500"; do
    read -r gpus procs ticks <<< "$shape"
    local name="${gpus}x${procs}" journal
    journal=$(mktemp -d -p "$work")
    faketime -f "@2026-11-30 12:00:00 x0.001" "$binary" replay --fast --simulate-gpus "$gpus" --simulate-procs "$procs" --until "$ticks" \
      --job-map "$work/jobs" --journal "$journal" --metrics-dump "$into/$name.prom" > "$into/$name.out" 2>&1
    "$binary" report --all --format json --journal "$journal" --from 0 > "$into/$name.report.json"
  done
}

outputs "$aot_dir/gpuaudit" "$work/current"
outputs "$baseline" "$work/baseline"

python3 - "$work/current" "$work/baseline" <<'PY'
import json, os, re, sys

TEMP = re.compile(r"/tmp/tmp\.\w+(/tmp\.\w+)*")

def masked(text):
    return TEMP.sub("TMP", text)

def report(path):
    def walk(x):
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items() if k not in ("id", "hash", "prev_hash", "journal_id")}
        if isinstance(x, list):
            return sorted((walk(v) for v in x), key=lambda v: json.dumps(v, sort_keys=True))
        if isinstance(x, str):
            return masked(x)
        return x
    with open(path) as f:
        return json.dumps(walk(json.load(f)), sort_keys=True, indent=1)

def exposition(path):
    with open(path) as f:
        lines = (masked(re.sub(r'journal_id="[0-9a-f]+"', "journal_id=J", l)) for l in f)
        # The chain head's hash covers the random violation ids; the wall-clock series move between runs.
        return sorted(l for l in lines if not any(s in l for s in ("chain_head_hash", "poll_duration", "process_start", "build_info", "last_success_timestamp")))

def content(path):
    if path.endswith(".report.json"):
        return report(path)
    if path.endswith(".prom"):
        return exposition(path)
    with open(path) as f:
        return masked(f.read())

current, baseline = sys.argv[1], sys.argv[2]
names = sorted(os.listdir(baseline))
different = [n for n in names if content(os.path.join(current, n)) != content(os.path.join(baseline, n))]
for n in different:
    a, b = content(os.path.join(baseline, n)), content(os.path.join(current, n))
    a, b = (a if isinstance(a, list) else a.splitlines()), (b if isinstance(b, list) else b.splitlines())
    # A few lines found on one side only (a set difference: linear, where a diff of two large
    # reports that differ throughout would take minutes).
    in_a, in_b = set(a), set(b)
    shown = [f"- {l}" for l in a if l not in in_b][:3] + [f"+ {l}" for l in b if l not in in_a][:3]
    print(f"same-output: {n} differs:")
    for line in shown:
        print("    " + line.rstrip()[:160])
print(f"same-output: {len(names) - len(different)} of {len(names)} outputs the same")
sys.exit(1 if different else 0)
PY

#!/usr/bin/env bash
# Live check of gpuaudit on a machine with an NVIDIA GPU, in one shot (about 6 minutes):
#   doctor; record under load; the agent against training, inference, a SHA-256 kernel, a
#   training step that also launches a hash kernel, a training job that spawns a miner child and
#   40 processes on one GPU. Checks: every hash workload opens a critical violation within 15 s,
#   nothing critical opens on training or inference, the pids gpuaudit records match nvidia-smi,
#   all 16 GPM metrics are present and in range, and the scanner finds the hash kernel inside the
#   training process. Prints a results table (also results.md) and writes traces (traces/*.jsonl,
#   made with `gpuaudit record`) and the agent's log and journal under the output folder.
#
# Layout (docs/nvml.md, "Live check"): the NativeAOT binary `gpuaudit` beside this script, the
# shared workloads in workloads/ and scripts/gpu-check/*.py beside it; no .NET needed there.
#   ./gpu-check.sh [--out DIR]
#   ./gpu-check.sh --dry-run [--out DIR]   the same run against the NVML stand-in (no GPU, no
#       Python workloads: idle processes registered with the stand-in play them); CI runs this.
# Environment: GPUAUDIT (command, default ./gpuaudit), WORKLOADS (default ./workloads),
# SCENARIO_S (seconds per workload, default 30; 20 in a dry run), NVML_STUB_LIBRARY (dry run),
# GPU_CHECK_EXPECTED_FAILURES (check names, comma-separated: a known gap's FAIL is shown as
# "FAIL (known)" and not counted; its PASS is counted as a failure, so the list is kept true).
# Exit 0 when every check passed (skips allowed), 1 otherwise; the last line is "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dry_run=0
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --out) out=$2; shift ;;
    *) echo "usage: $0 [--dry-run] [--out DIR]" >&2; exit 2 ;;
  esac
  shift
done

out=${out:-$here/gpu-check-results}
mkdir -p "$out/traces"
out=$(cd "$out" && pwd)
read -r -a gpuaudit <<< "${GPUAUDIT:-$here/gpuaudit}"
WORKLOADS=${WORKLOADS:-$here/workloads}
export WORKLOADS
helpers=$here/gpu-check
[ -d "$helpers" ] || helpers=$here
# 20 s in a dry run: past the 15 s deadline (plus 3 s of start-up), so a late violation is
# reported with its time rather than missed.
scenario_s=${SCENARIO_S:-$([ $dry_run = 1 ] && echo 20 || echo 30)}
deadline_s=15
log=$out/gpu-check.log
: > "$log"
results=()
passed=0
failed=0

say() { echo "gpu-check: $*" | tee -a "$log" >&2; }
result() { # check, PASS|FAIL|SKIP, detail
  local status=$2
  if [[ ",${GPU_CHECK_EXPECTED_FAILURES:-}," == *",$1,"* ]]; then
    case $status in FAIL) status="FAIL (known)" ;; PASS) status="PASS (unexpected: drop it from GPU_CHECK_EXPECTED_FAILURES)" ;; esac
  fi
  results+=("| $1 | $status | $3 |")
  case $status in PASS) passed=$((passed + 1)) ;; FAIL | PASS\ *) failed=$((failed + 1)) ;; esac
  say "$status $1: $3"
}

# --- the GPU, or the stand-in -----------------------------------------------------------------
procs_file=$out/stub-processes
if [ $dry_run = 1 ]; then
  stub=${NVML_STUB_LIBRARY:-$out/libnvidia-ml.so.1}
  if [ ! -e "$stub" ]; then
    gcc -shared -fPIC -O1 -o "$stub" "$here/../tests/GpuAudit.Cli.Tests/NvmlStub/libnvidia-ml-stub.c" -lm || { say "cannot build the stand-in"; exit 1; }
  fi
  export GPUAUDIT_NVML_LIBRARY=$stub NVML_STUB_PROCESSES=$procs_file
  : > "$procs_file"
  gpu_pids() { awk '{print $1}' "$procs_file" | sort -n | uniq; }
else
  command -v nvidia-smi >/dev/null || { say "nvidia-smi not found: is this a GPU machine?"; exit 1; }
  [ -x "${gpuaudit[0]}" ] || { say "no gpuaudit binary at ${gpuaudit[0]} (publish it NativeAOT beside this script)"; exit 1; }
  [ -f "$WORKLOADS/hashkern.py" ] || { say "no workloads in $WORKLOADS (copy shared/gpu-workloads there)"; exit 1; }
  nvidia-smi -L | tee -a "$log"
  gpu_pids() { nvidia-smi --query-compute-apps=pid --format=csv,noheader 2>/dev/null | tr -d ' ' | grep -E '^[0-9]+$' | sort -n | uniq; }
fi

children=()
cleanup() {
  for pid in "${children[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
}
trap cleanup EXIT

# launch KIND SCRIPT: starts one workload in the background; sets $launched to its pid.
# In a dry run an idle process plays it and is registered with the stand-in as KIND
# (train, infer, hash; spawn: a train parent with a hash child).
launch() {
  local kind=$1 script=$2
  if [ $dry_run = 1 ]; then
    if [ "$kind" = spawn ]; then
      bash -c 'sleep "$1" & echo "$! hash" >> "$2"; wait' gpu-check-train "$scenario_s" "$procs_file" &
      launched=$!
      echo "$launched train" >> "$procs_file"
    else
      sleep "$scenario_s" &
      launched=$!
      # A training step that launches a hash kernel looks, on the stand-in's GPU, like hashing.
      echo "$launched $([ "$kind" = "train+hash" ] && echo hash || echo "$kind")" >> "$procs_file"
    fi
  else
    (cd "$WORKLOADS" && PYTHONPATH="$WORKLOADS:$helpers" DURATION=$scenario_s exec python3 "$script" >> "$log" 2>&1) &
    launched=$!
  fi
  children+=("$launched")
}

metrics() { curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" 2>/dev/null; }
critical_opened() { metrics | awk '/^gpuaudit_violations_total\{rule="(hash_compute|miner_identity|gpu_job_egress)"/ {s += $2} END {print s + 0}'; }

# --- 1. doctor --------------------------------------------------------------------------------
"${gpuaudit[@]}" doctor > "$out/doctor.txt" 2>&1
doctor_status=$?
if [ $dry_run = 1 ]; then
  # The stand-in's machine may lack another user's process: only NVML's checks count here.
  if sed -n '/^NVML/,/^\/proc/p' "$out/doctor.txt" | grep -q '\[FAIL\]'; then result doctor FAIL "$(grep -m1 FAIL "$out/doctor.txt")"; else result doctor PASS "NVML checks pass (stand-in)"; fi
else
  if [ $doctor_status -eq 0 ]; then result doctor PASS "$(tail -n1 "$out/doctor.txt")"; else result doctor FAIL "$(grep -m1 FAIL "$out/doctor.txt")"; fi
fi

# --- 2. the agent, watching every scenario ------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
jobmap=$out/jobmap
mkdir -p "$jobmap"
# Every GPU belongs to a job (no unattributed noise), and each scenario is a job of its own, as a
# scheduler would run them: violations are keyed by GPU and job, not pid, and the hash evidence
# budget keeps a job's violation open for its 10-minute horizon, so a job shared by every scenario
# would fold each hash scenario into the first one's violation.
job_number=7000
assign_gpus_to_next_job() {
  job_number=$((job_number + 1))
  local index=0
  while [ $index -lt 8 ]; do echo "$job_number 0" > "$jobmap/$index"; index=$((index + 1)); done
}
assign_gpus_to_next_job
# Violations close 3 s after their evidence ends here (30 s by default); scenarios are 6 s apart.
printf '{ "rules": { "hash_compute": { "close_after_seconds": 3 }, "miner_identity": { "close_after_seconds": 3 }, "gpu_job_egress": { "close_after_seconds": 3 } } }\n' > "$out/policy.json"
"${gpuaudit[@]}" agent --listen "127.0.0.1:$port" --interval 1 --journal "$out/journal" --job-map "$jobmap" --policy "$out/policy.json" > "$out/agent.log" 2>&1 &
agent=$!
children+=("$agent")
for _ in $(seq 1 30); do metrics | grep -q '^gpuaudit_polls_total' && break; sleep 1; done
metrics | grep -q '^gpuaudit_polls_total' || { result agent FAIL "never served /metrics: $(tail -n3 "$out/agent.log")"; }

# scenario NAME KIND SCRIPT EXPECT(hash|clean) [COUNT]
scenario() {
  local name=$1 kind=$2 script=$3 expect=$4 count=${5:-1}
  say "scenario $name: $count x $script for ${scenario_s}s"
  local before started pids=() i
  before=$(critical_opened)
  started=$(date +%s)
  for i in $(seq 1 "$count"); do
    if [ "$count" -gt 1 ] && [ "$i" -lt "$count" ]; then launch infer "$helpers/small_matmul.py"; else launch "$kind" "$script"; fi
    pids+=("$launched")
  done
  sleep 3
  "${gpuaudit[@]}" record -o "$out/traces/$name.jsonl" --duration $((scenario_s - 6)) --interval 1 >> "$log" 2>&1 &
  local recorder=$!
  local seen_file=$out/$name.nvidia-smi-pids opened_at=""
  : > "$seen_file"
  while kill -0 "${pids[0]}" 2>/dev/null || kill -0 "$recorder" 2>/dev/null; do
    gpu_pids >> "$seen_file"
    if [ "$expect" = hash ] && [ -z "$opened_at" ] && [ "$(critical_opened)" -gt "$before" ]; then opened_at=$(( $(date +%s) - started )); fi
    [ $(( $(date +%s) - started )) -gt $((scenario_s + 20)) ] && break
    sleep 1
  done
  wait "$recorder" 2>/dev/null
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  [ $dry_run = 1 ] && : > "$procs_file"
  # The scenario's evidence ends before its GPUs change job: the GPU's verdict holds the work for
  # the classifier's 10 s window after it stops, and a hash verdict read after the switch would
  # open the next job's violation before that scenario starts (its own evidence then lands on a
  # violation already open, and nothing new is counted: a hash scenario right after another one
  # failed this way in 3 of 4 dry runs on 2026-11-30, at the old commit as at the new). Then the
  # next job: the agent re-reads the map every 5 s, within the pause after it.
  sleep 12
  assign_gpus_to_next_job
  sleep 6 # the scenario's violations close (policy.json) before the next one starts

  local after
  after=$(critical_opened)
  if [ "$expect" = hash ]; then
    if [ -n "$opened_at" ] && [ "$opened_at" -le $((deadline_s + 3)) ]; then result "$name: violation" PASS "critical violation opened ${opened_at}s after start (workload start-up included)";
    elif [ -n "$opened_at" ]; then result "$name: violation" FAIL "opened only after ${opened_at}s";
    else result "$name: violation" FAIL "no critical violation opened"; fi
  else
    if [ "$after" -eq "$before" ]; then result "$name: no violation" PASS "no critical violation opened"; else result "$name: no violation" FAIL "$((after - before)) critical violation(s) opened"; fi
  fi

  # Recorded pids (the trace's process lines) against every pid nvidia-smi listed meanwhile.
  local check
  check=$(python3 - "$out/traces/$name.jsonl" "$seen_file" <<'PY'
import json, sys
trace, seen = sys.argv[1], sys.argv[2]
recorded = set()
try:
    for line in open(trace):
        o = json.loads(line)
        if o.get("kind") == "process": recorded.add(o["pid"])
except FileNotFoundError:
    print("FAIL no trace written"); sys.exit()
listed = {int(l) for l in open(seen) if l.strip()}
missing, extra = sorted(listed - recorded), sorted(recorded - listed)
print(("PASS" if not missing and not extra else "FAIL") + f" {len(recorded)} recorded, {len(listed)} listed by nvidia-smi; missing {missing[:5]}, extra {extra[:5]}")
PY
)
  result "$name: pids match nvidia-smi" "${check%% *}" "${check#* }"
}

scenario training train train_transformer.py clean
scenario inference infer infer_bf16.py clean
scenario sha256 hash hash_sha256.py hash
scenario train_with_hash "train+hash" "$helpers/train_with_hash.py" hash
scenario train_spawns_miner spawn "$helpers/train_spawns_miner.py" hash
scenario forty_processes hash hash_sha256.py hash 40

# --- 3. GPM: all 16 metrics present and in range in every recording -----------------------------
gpm=$(python3 - "$out"/traces/*.jsonl <<'PY'
import json, sys, math
percent = ["graphics_util", "sm_util", "sm_occupancy", "integer_util", "any_tensor_util", "dfma_tensor_util",
           "hmma_tensor_util", "imma_tensor_util", "dram_bw_util", "fp64_util", "fp32_util", "fp16_util"]
rates = ["pcie_tx_per_sec", "pcie_rx_per_sec", "nvlink_total_rx_per_sec", "nvlink_total_tx_per_sec"]
readings = bad = 0
problems = []
for path in sys.argv[1:]:
    for line in open(path):
        o = json.loads(line)
        if o.get("kind") != "sample" or not o.get("gpm"): continue
        readings += 1
        g = o["gpm"]
        for k in percent + rates:
            v = g.get(k)
            ok = v is not None and math.isfinite(v) and v >= 0 and (k in rates or v <= 100)
            if not ok:
                bad += 1
                if len(problems) < 3: problems.append(f"{path.rsplit('/', 1)[-1]} t={o['t']} {k}={v}")
print(("PASS" if readings and not bad else "FAIL") + f" {readings} GPM readings, {bad} metric(s) missing or out of range {problems}")
PY
)
result "GPM metrics present and in range" "${gpm%% *}" "${gpm#* }"

# --- 4. the scanner finds the hash kernel inside a training process ---------------------------------
if [ $dry_run = 1 ]; then
  result "scanner: hash kernel in the training process" SKIP "needs a live CUDA process (dry run)"
else
  launch "train+hash" "$helpers/train_with_hash.py"
  trainer=$launched
  sleep 15
  "${gpuaudit[@]}" inspect --pid "$trainer" --json > "$out/inspect-train-with-hash.json" 2>> "$log"
  kill "$trainer" 2>/dev/null
  if grep -Eq '"(hash_constant_in_gpu_code|miner_kernel)"' "$out/inspect-train-with-hash.json"; then
    result "scanner: hash kernel in the training process" PASS "$(grep -Eo '"(hash_constant_in_gpu_code|miner_kernel)"' "$out/inspect-train-with-hash.json" | sort | uniq -c | tr '\n' ' ')"
  else
    result "scanner: hash kernel in the training process" FAIL "no GPU-code hash finding in inspect --pid $trainer"
  fi
fi

kill "$agent" 2>/dev/null
wait "$agent" 2>/dev/null

# --- results -------------------------------------------------------------------------------------
{
  echo "| check | result | detail |"
  echo "| --- | --- | --- |"
  printf '%s\n' "${results[@]}"
} > "$out/results.md"
cat "$out/results.md"
echo "traces: $out/traces"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

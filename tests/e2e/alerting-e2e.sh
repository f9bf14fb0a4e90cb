#!/usr/bin/env bash
# End-to-end test of the alerting path: gpuaudit replay → Prometheus (shipped scrape job and
# rules) → Alertmanager (shipped routing tree) → a local webhook; then a training trace
# that must not alert; then every Grafana panel query against that Prometheus.
#
# Usage: tests/e2e/alerting-e2e.sh GPUAUDIT [ARGS...]
#   tests/e2e/alerting-e2e.sh out/gpuaudit
#   tests/e2e/alerting-e2e.sh dotnet src/GpuAudit.Cli/bin/Release/net10.0/gpuaudit.dll
# Needs: prometheus, prometheus-alertmanager, promtool (Debian: apt-get install -y prometheus
# prometheus-alertmanager) and python3. Override the binaries with PROMETHEUS, ALERTMANAGER,
# PROMTOOL, AMTOOL. Everything listens on free 127.0.0.1 ports in a temporary directory, and every
# process the test starts is stopped on exit. Set E2E_KEEP=1 to keep the directory (logs).
#
# `for` scaling: the shipped rules wait minutes (GpuAuditHashCompute: for 1m). The test
# copies them with every `for:` divided by E2E_FOR_DIVISOR (default 30, at least 1s):
# 1m → 2s, 30s → 1s, 5m → 10s, 30m → 60s. Expressions, labels and annotations are unchanged.
# The Alertmanager routing tree is the shipped one (group_wait and group_interval divided the
# same way); only its receivers become local webhooks (http://127.0.0.1:PORT/<receiver
# name>), so the test also proves that critical alerts page.
#
# Bounded: about 2 minutes; every wait has a timeout. Prints "N passed, N failed".
# shellcheck source=tests/e2e/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

PROMETHEUS="${PROMETHEUS:-prometheus}"
ALERTMANAGER="${ALERTMANAGER:-prometheus-alertmanager}"
PROMTOOL="${PROMTOOL:-promtool}"
AMTOOL="${AMTOOL:-amtool}"
FOR_DIVISOR="${E2E_FOR_DIVISOR:-30}"
HASH_TRACE="$ROOT/data/traces/hash_sha256.jsonl"
TRAIN_TRACE="$ROOT/data/traces/train_transformer.jsonl"
JOB_ID=4242
JOB_UID=1000
# trace_gpu TRACE / trace_pid TRACE: the GPU uuid and the (first) process of a recorded trace.
trace_gpu() { python3 -c 'import json, sys; print(json.loads(open(sys.argv[1]).readline())["gpus"][0]["uuid"])' "$1"; }
trace_pid() { python3 -c 'import json, sys; print(next(json.loads(l)["pid"] for l in open(sys.argv[1]) if json.loads(l)["kind"] == "process"))' "$1"; }

require_tools "apt-get install -y prometheus prometheus-alertmanager python3" "$PROMETHEUS" "$ALERTMANAGER" "$PROMTOOL" "$AMTOOL" python3
for trace in "$HASH_TRACE" "$TRAIN_TRACE"; do
  [[ -f "$trace" ]] || { echo "$0: trace $trace is missing" >&2; exit 2; }
done
UUID="$(trace_gpu "$HASH_TRACE")"
HASH_PID="$(trace_pid "$HASH_TRACE")"
TRAIN_PID="$(trace_pid "$TRAIN_TRACE")"

start_work gpuaudit-e2e

mapfile -t PORTS < <("${SUPPORT[@]}" free-ports 4)
PROM_PORT=${PORTS[0]} AM_PORT=${PORTS[1]} WEBHOOK_PORT=${PORTS[2]} AGENT_PORT=${PORTS[3]}
PROM="http://127.0.0.1:$PROM_PORT"
AGENT="127.0.0.1:$AGENT_PORT"

# ------------------------------------------------------------------ configuration
mkdir -p "$WORK/rules" "$WORK/jobmap"
for rules in "$ROOT"/config/prometheus/rules/*.yml; do
  "${SUPPORT[@]}" scale-for "$rules" "$WORK/rules/$(basename "$rules")" "$FOR_DIVISOR"
done
"${SUPPORT[@]}" prometheus-config "$ROOT/config/prometheus/prometheus.yml" "$WORK/prometheus.yml" \
  "$AGENT" "127.0.0.1:$AM_PORT" "$WORK"/rules/*.yml
"${SUPPORT[@]}" alertmanager-config "$ROOT/config/alertmanager/alertmanager.yml" "$WORK/alertmanager.yml" \
  "http://127.0.0.1:$WEBHOOK_PORT" "$FOR_DIVISOR"
# GPU 0 of the replayed node belongs to job 4242 (the Slurm prolog's format: "<jobid> <uid>").
echo "$JOB_ID $JOB_UID" >"$WORK/jobmap/0"
check "generated prometheus.yml and scaled rules pass promtool check config" \
  "$PROMTOOL" check config "$WORK/prometheus.yml"
check "generated alertmanager.yml passes amtool check-config" \
  "$AMTOOL" check-config "$WORK/alertmanager.yml"

# ------------------------------------------------------------------ services
"$PROMETHEUS" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prometheus-data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
"$ALERTMANAGER" --config.file="$WORK/alertmanager.yml" --storage.path="$WORK/alertmanager-data" \
  --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= >"$WORK/alertmanager.log" 2>&1 &
PIDS+=($!)
python3 "$ROOT/tests/e2e/webhook_receiver.py" "$WEBHOOK_PORT" "$WORK/webhook.jsonl" >"$WORK/webhook.log" 2>&1 &
PIDS+=($!)
"${SUPPORT[@]}" wait-http "$PROM/-/ready" 30 || abort "Prometheus ready on $PROM"
"${SUPPORT[@]}" wait-http "http://127.0.0.1:$AM_PORT/-/ready" 30 || abort "Alertmanager ready"
"${SUPPORT[@]}" wait-http "http://127.0.0.1:$WEBHOOK_PORT/" 10 || abort "webhook receiver ready"
pass "Prometheus, Alertmanager and the webhook receiver are up"

# start_agent LOG TRACE...: replay the traces (the GPUs of one node) in a loop, serving /metrics
# on the agent port.
start_agent() {
  local log="$1"; shift
  "${GPUAUDIT[@]}" replay "$@" --loop --listen "$AGENT" --job-map "$WORK/jobmap" >"$WORK/$log" 2>&1 &
  AGENT_PID=$!
  PIDS+=("$AGENT_PID")
}
# exposition_is_valid: the agent's /metrics passes promtool's linter (the metrics contract).
exposition_is_valid() {
  python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
    "http://$AGENT/metrics" | "$PROMTOOL" check metrics
}
# wait_agent: until the agent serves /metrics (30 s); fails at once if the agent exited.
wait_agent() {
  local attempt
  for attempt in $(seq 30); do
    kill -0 "$AGENT_PID" 2>/dev/null || return 1
    "${SUPPORT[@]}" wait-http "http://$AGENT/metrics" 1 2>/dev/null && return 0
  done
  return 1
}
TEST_START=$(date +%s)

# ------------------------------------------------------------------ phase 1: hash trace
# Two GPUs hash: GPU 0 inside job 4242, GPU 1 (the same recording, uuid suffixed -replay1) in
# no job at all, the case a safety team most needs to see.
start_agent agent-hash.log "$HASH_TRACE" "$HASH_TRACE"
wait_agent || abort "gpuaudit replay serves http://$AGENT/metrics (see agent-hash.log below)"
pass "gpuaudit replay serves /metrics"
check "exposition passes promtool check metrics" exposition_is_valid
check "no series on /metrics carries a job label (the scheduler job is job_id)" \
  "${SUPPORT[@]}" labels-absent "http://$AGENT/metrics" job
"${SUPPORT[@]}" wait-query "$PROM" "up{job=\"gpuaudit\"} == 1" 30 || abort "Prometheus scrapes the agent"
pass "Prometheus scrapes the agent"

# The trace is ~17 s long and loops; the agent's hysteresis, the scaled `for` and group_wait
# all fit well inside 120 s.
if delivery="$("${SUPPORT[@]}" wait-webhook "$WORK/webhook.jsonl" GpuAuditHashCompute 120 "job_id=$JOB_ID" 2>&1)"; then
  pass "GpuAuditHashCompute delivered to the webhook"
else
  abort "GpuAuditHashCompute delivered to the webhook: $delivery"
fi
echo "$delivery" >"$WORK/hash-alert.json"
mapfile -t FIELDS < <("${SUPPORT[@]}" json-get "$WORK/hash-alert.json" path alert.labels.severity \
  alert.labels.uuid alert.labels.pid alert.labels.job_id alert.labels.instance alert.labels.exported_job \
  alert.annotations.runbook_url alert.annotations.summary)
expect "critical alert routed to the pager receiver" "${FIELDS[0]}" "/gpuaudit-pager"
expect "alert label severity" "${FIELDS[1]}" "critical"
expect "alert label uuid (GPU of the trace)" "${FIELDS[2]}" "$UUID"
expect "alert label pid (hashing process of the trace)" "${FIELDS[3]}" "$HASH_PID"
expect "alert label job_id (from the GPU→job map, as the agent serves it)" "${FIELDS[4]}" "$JOB_ID"
expect "alert label instance (the node)" "${FIELDS[5]}" "$AGENT"
expect "alert has no exported_job label (the agent serves no job label)" "${FIELDS[6]}" ""
check "violation series in Prometheus carry job_id" \
  "${SUPPORT[@]}" seen "$PROM" "gpuaudit_violation_active{job_id=\"$JOB_ID\"}" "$TEST_START"
check "no stored gpuaudit series carries exported_job" \
  "${SUPPORT[@]}" none-seen "$PROM" '{__name__=~"gpuaudit_.+", exported_job!=""}' "$TEST_START"
expect "runbook_url annotation points at the runbook section" \
  "${FIELDS[7]}" "https://github.com/gpuaudit/gpuaudit/blob/main/docs/runbooks.md#gpuaudithashcompute"
summary="${FIELDS[8]}"
if [[ "$summary" == *"pid $HASH_PID"* && "$summary" == *"$JOB_ID"* && "$summary" == *"$UUID"* ]]; then
  pass "summary names GPU, pid and job"
else
  fail "summary names GPU, pid and job" "$summary"
fi
if outside="$("${SUPPORT[@]}" wait-webhook "$WORK/webhook.jsonl" GpuAuditHashCompute 60 "uuid=$UUID-replay1" "job_id=" 2>&1)" &&
  echo "$outside" >"$WORK/outside-alert.json" &&
  [[ "$("${SUPPORT[@]}" json-get "$WORK/outside-alert.json" alert.annotations.summary)" == *"job none"* ]]; then
  pass "hash on a GPU outside any job pages too, without job_id, saying job none"
else
  fail "hash on a GPU outside any job pages too, without job_id, saying job none" "$outside"
fi

# ------------------------------------------------------------------ phase 2: training trace
stop "$AGENT_PID"
TRAIN_START=$(date +%s)
start_agent agent-train.log "$TRAIN_TRACE"
wait_agent || abort "gpuaudit replay (training) serves /metrics (see agent-train.log below)"
check "hash alert resolves once the hashing process is gone" \
  "${SUPPORT[@]}" wait-alert-gone "$PROM" GpuAuditHashCompute 30
check "training trace was scraped (its process is on the GPU)" \
  "${SUPPORT[@]}" wait-query "$PROM" "gpuaudit_process_info{pid=\"$TRAIN_PID\"}" 30
# The agent really was absent while one replay replaced the other: the node-wide absence alert
# may be pending from that gap, and must end once Prometheus scrapes the new agent.
check "the agent-absent alert of the restart gap ends once the agent is scraped again" \
  "${SUPPORT[@]}" wait-alert-gone "$PROM" GpuAuditAgentAbsentWhileAllocated 30
# 40 s: more than two loops of the 27 s training trace with the scaled `for`.
check "training trace: no critical alert pending or firing for 40 s" \
  "${SUPPORT[@]}" no-alert "$PROM" 40 critical
# Alertmanager may still deliver the hash group it had; anything else critical is a false alarm.
# The hash process is the same one in every loop of its replay: a loop that starts while the last
# one's pid is still claimed shows it as pid + k x 1,000,000 (ReplayFile.MapPid), which a slow run
# (a loaded machine) reaches before the training replay takes over.
fresh_firing="$(python3 - "$WORK/webhook.jsonl" "$TRAIN_START" "$HASH_PID" <<'EOF2'
import json, sys
path, since, hash_pid = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
def is_hash_process(pid):
    return pid is not None and pid.isdigit() and int(pid) % 1_000_000 == hash_pid
for line in open(path, encoding="utf-8"):
    delivery = json.loads(line)
    for alert in delivery["body"]["alerts"]:
        labels = alert["labels"]
        if delivery["received_at"] >= since and alert["status"] == "firing" \
                and labels.get("severity") == "critical" and not is_hash_process(labels.get("pid")):
            print(labels)
EOF2
)"
expect "no critical alert about the training job reached the webhook" "$fresh_firing" ""

# ------------------------------------------------------------------ dashboards
check_dashboards "$PROM" "" \
  --var "instance=$AGENT" --var "uuid=$UUID" --var "job_id=$JOB_ID" --var "cluster=.*"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]

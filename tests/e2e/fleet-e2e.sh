#!/usr/bin/env bash
# End-to-end test of the fleet set-up (docs/deploy.md, "A fleet"): three simulated GPU nodes
# (`gpuaudit replay --simulate-gpus`), each serving /metrics over TLS with bcrypt basic auth
# (--web-config), scraped by Prometheus in agent mode, which remote-writes with a `cluster`
# external label to VictoriaMetrics; vmalert evaluates the shipped recording and alert rules
# against VictoriaMetrics and writes the results back. Then, against VictoriaMetrics's
# Prometheus API: the agents and their series arrived with cluster and job_id labels,
# recording rules have results, `gpuaudit report --prometheus` builds a job's report, and every
# Grafana dashboard query returns data. On one agent directly, with curl: https with the
# password gets 200 and without it 401, gzip is negotiated, gpuaudit_build_info is served, and
# no series carries a `job` label.
#
# Usage: tests/e2e/fleet-e2e.sh GPUAUDIT [ARGS...]      (as tests/e2e/alerting-e2e.sh)
# Needs: prometheus, promtool (Debian prometheus), victoria-metrics and vmalert (Debian
# victoria-metrics), htpasswd (Debian apache2-utils), openssl, curl, python3. Everything listens
# on free 127.0.0.1 ports in a temporary directory; every process started is stopped on exit.
# Set E2E_KEEP=1 to keep the directory. Bounded: about 90 s. Prints "N passed, N failed".
# shellcheck source=tests/e2e/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"

PROMETHEUS="${PROMETHEUS:-prometheus}"
VICTORIA="${VICTORIA_METRICS:-victoria-metrics}"
VMALERT="${VMALERT:-vmalert}"
require_tools "apt-get install -y prometheus victoria-metrics apache2-utils openssl curl python3" "$PROMETHEUS" "$VICTORIA" "$VMALERT" htpasswd openssl curl python3

CLUSTER=e2e-east
NODES=3
GPUS=4
PASSWORD='fleet s3cret'
start_work gpuaudit-fleet

mapfile -t PORTS < <("${SUPPORT[@]}" free-ports $((NODES + 4)))
VM_PORT=${PORTS[0]} PROM_PORT=${PORTS[1]} VMALERT_PORT=${PORTS[2]} NOTIFIER_PORT=${PORTS[3]}
VM="http://127.0.0.1:$VM_PORT"

# ------------------------------------------------------------------ certificates and web config
# A CA, and a server certificate for 127.0.0.1 signed by it, as an operator's PKI would issue.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=gpuaudit e2e CA" \
  -keyout "$WORK/ca.key" -out "$WORK/ca.pem" >/dev/null 2>&1 &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=gpuaudit agent" \
    -keyout "$WORK/agent.key" -out "$WORK/agent.csr" >/dev/null 2>&1 &&
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$WORK/agent.ext" &&
  openssl x509 -req -in "$WORK/agent.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial -days 2 \
    -extfile "$WORK/agent.ext" -out "$WORK/agent.pem" >/dev/null 2>&1 || abort "openssl issued the agent certificate"
HASH="$(htpasswd -nbBC 10 "" "$PASSWORD" | tr -d ':\n')"
cat >"$WORK/web-config.yml" <<EOF
tls_server_config:
  cert_file: $WORK/agent.pem
  key_file: $WORK/agent.key
basic_auth_users:
  prometheus: $HASH
EOF
printf '%s' "$PASSWORD" >"$WORK/password"

# ------------------------------------------------------------------ agents
# Node 1: every GPU in a job (7001..7004); node 2: GPUs 0-1 in jobs; node 3: no scheduler at all
# (every violation there is outside any job).
TARGETS=""
for node in $(seq 1 $NODES); do
  port=${PORTS[$((node + 3))]}
  mkdir -p "$WORK/jobmap$node"
  if [[ $node -eq 1 ]]; then for gpu in 0 1 2 3; do echo "$((7001 + gpu)) 1000" >"$WORK/jobmap$node/$gpu"; done; fi
  if [[ $node -eq 2 ]]; then for gpu in 0 1; do echo "$((7101 + gpu)) 1001" >"$WORK/jobmap$node/$gpu"; done; fi
  "${GPUAUDIT[@]}" replay --simulate-gpus $GPUS --simulate-procs 3 --seed "$node" --job-map "$WORK/jobmap$node" \
    --listen "127.0.0.1:$port" --web-config "$WORK/web-config.yml" >"$WORK/agent$node.log" 2>&1 &
  PIDS+=($!)
  TARGETS+="\"127.0.0.1:$port\","
done
NODE1="127.0.0.1:${PORTS[4]}"
AGENT3="https://127.0.0.1:${PORTS[6]}/metrics"

# ------------------------------------------------------------------ VictoriaMetrics, Prometheus agent, vmalert
"$VICTORIA" -httpListenAddr="127.0.0.1:$VM_PORT" -storageDataPath="$WORK/vm-data" -retentionPeriod=1d \
  -search.latencyOffset=1s -search.disableCache >"$WORK/victoria-metrics.log" 2>&1 &
PIDS+=($!)
cat >"$WORK/prometheus-agent.yml" <<EOF
# Prometheus in agent mode on one cluster: scrapes, adds the cluster, remote-writes; no local queries or rules.
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  external_labels: {cluster: $CLUSTER}
scrape_configs:
  - job_name: gpuaudit
    scheme: https
    tls_config: {ca_file: $WORK/ca.pem}
    basic_auth: {username: prometheus, password_file: $WORK/password}
    static_configs:
      - targets: [${TARGETS%,}]
remote_write:
  - url: $VM/api/v1/write
    queue_config: {batch_send_deadline: 1s}
EOF
"$PROMETHEUS" --enable-feature=agent --config.file="$WORK/prometheus-agent.yml" --storage.agent.path="$WORK/agent-wal" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
mkdir -p "$WORK/rules"
for rules in "$ROOT"/config/prometheus/rules/*.yml; do
  "${SUPPORT[@]}" scale-for "$rules" "$WORK/rules/$(basename "$rules")" 30
done
python3 "$ROOT/tests/e2e/webhook_receiver.py" "$NOTIFIER_PORT" "$WORK/notifications.jsonl" >"$WORK/notifier.log" 2>&1 &
PIDS+=($!)
"$VMALERT" -httpListenAddr="127.0.0.1:$VMALERT_PORT" -datasource.url="$VM" -remoteWrite.url="$VM" -remoteRead.url="$VM" \
  -notifier.url="http://127.0.0.1:$NOTIFIER_PORT" -evaluationInterval=1s \
  -rule="$WORK/rules/gpuaudit-recording.yml" -rule="$WORK/rules/gpuaudit-alerts.yml" >"$WORK/vmalert.log" 2>&1 &
PIDS+=($!)

"${SUPPORT[@]}" wait-http "$VM/health" 30 || abort "VictoriaMetrics ready"
"${SUPPORT[@]}" wait-http "http://127.0.0.1:$PROM_PORT/-/ready" 30 || abort "Prometheus (agent mode) ready"
"${SUPPORT[@]}" wait-http "http://127.0.0.1:$VMALERT_PORT/health" 30 || abort "vmalert ready"
pass "VictoriaMetrics, Prometheus in agent mode and vmalert are up"
TEST_START=$(date +%s)

# ------------------------------------------------------------------ one agent, directly
curl_agent() { curl -s --max-time 5 --cacert "$WORK/ca.pem" "$@"; }
wait_agents() {
  local attempt
  for attempt in $(seq 60); do
    [[ "$(curl_agent -o /dev/null -w '%{http_code}' -u "prometheus:$PASSWORD" "$AGENT3")" == 200 ]] && return 0
    sleep 0.5
  done
  return 1
}
wait_agents || abort "agent 3 serves https://…/metrics (see agent3.log)"
expect "https with the user's bcrypt password gets 200" "$(curl_agent -o /dev/null -w '%{http_code}' -u "prometheus:$PASSWORD" "$AGENT3")" 200
expect "https without the password gets 401" "$(curl_agent -o /dev/null -w '%{http_code}' "$AGENT3")" 401
expect "https with a wrong password gets 401" "$(curl_agent -o /dev/null -w '%{http_code}' -u "prometheus:guess" "$AGENT3")" 401
expect "plain http to the TLS port gets no answer" "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "${AGENT3/https/http}")" 000
encoding="$(curl_agent -u "prometheus:$PASSWORD" -H 'Accept-Encoding: gzip' -o "$WORK/metrics.gz" -D - "$AGENT3" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Ee]ncoding: //p')"
expect "curl -H 'Accept-Encoding: gzip' gets Content-Encoding: gzip" "$encoding" gzip
gunzip -c "$WORK/metrics.gz" >"$WORK/metrics.txt" 2>/dev/null
check "gpuaudit_build_info is served" grep -q '^gpuaudit_build_info{version="' "$WORK/metrics.txt"
check "no series on /metrics carries a job label" \
  python3 -c 'import re,sys; bad=[l for l in open(sys.argv[1]) if re.search(r"[{,]job=\"", l)]; sys.exit("".join(bad[:3]) or None)' "$WORK/metrics.txt"
echo "info: one node of $GPUS GPUs x 3 processes serves $(grep -vc '^#' "$WORK/metrics.txt") series, $(wc -c <"$WORK/metrics.txt") bytes plain, $(wc -c <"$WORK/metrics.gz") bytes gzip"

# ------------------------------------------------------------------ in VictoriaMetrics
"${SUPPORT[@]}" wait-query "$VM" "count(up{job=\"gpuaudit\", cluster=\"$CLUSTER\"} == 1) == $NODES" 60 \
  || abort "all $NODES agents scraped over TLS with basic auth and remote-written to VictoriaMetrics"
pass "all $NODES agents scraped over TLS with basic auth and remote-written to VictoriaMetrics"
check "agents' series carry the cluster external label" \
  "${SUPPORT[@]}" wait-query "$VM" "count(gpuaudit_build_info{cluster=\"$CLUSTER\"}) == $NODES" 10
check "job series carry job_id" \
  "${SUPPORT[@]}" wait-query "$VM" "gpuaudit_gpu_job_info{cluster=\"$CLUSTER\", job_id=\"7001\"}" 10
check "violation series carry job_id (hash in job 7001)" \
  "${SUPPORT[@]}" wait-query "$VM" "gpuaudit_violation_active{cluster=\"$CLUSTER\", job_id=\"7001\", rule=\"hash_compute\"}" 60
check "violations outside any job arrive without job_id (node 3)" \
  "${SUPPORT[@]}" wait-query "$VM" "gpuaudit_violation_active{cluster=\"$CLUSTER\", job_id=\"\"}" 30
check "no stored gpuaudit series carries exported_job" \
  "${SUPPORT[@]}" none-seen "$VM" '{__name__=~"gpuaudit_.+", exported_job!=""}' "$TEST_START"
check "vmalert wrote the per-GPU recording rule" \
  "${SUPPORT[@]}" wait-query "$VM" "instance_uuid_class:gpuaudit_gpu_class_seconds:rate1m{cluster=\"$CLUSTER\"}" 60
check "vmalert wrote the per-job recording rule, per cluster" \
  "${SUPPORT[@]}" wait-query "$VM" "job_id_class:gpuaudit_gpu_class_seconds:rate1m{cluster=\"$CLUSTER\", job_id=\"7001\"}" 30
check "vmalert wrote the fleet recording rule" \
  "${SUPPORT[@]}" wait-query "$VM" "class:gpuaudit_gpu_class_seconds:rate1m{cluster=\"$CLUSTER\"}" 30
check "vmalert fired GpuAuditHashCompute into ALERTS" \
  "${SUPPORT[@]}" wait-query "$VM" "ALERTS{alertname=\"GpuAuditHashCompute\", alertstate=\"firing\", cluster=\"$CLUSTER\"}" 60

# ------------------------------------------------------------------ report from VictoriaMetrics
sleep 3
if "${GPUAUDIT[@]}" report --job 7001 --prometheus "$VM" --format json >"$WORK/report.json" 2>"$WORK/report.log"; then
  pass "gpuaudit report --prometheus against VictoriaMetrics exits 0"
else
  fail "gpuaudit report --prometheus against VictoriaMetrics exits 0" "$(cat "$WORK/report.log")"
fi
check "the report is job 7001's, on node 1's GPU 0, with its hash violation" python3 - "$WORK/report.json" "$NODE1" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
problems = []
if report.get("job") != "7001":
    problems.append(f"job {report.get('job')!r}")
if not any(g.get("uuid") == "GPU-sim-0001-0000" and g.get("node") == sys.argv[2] for g in report.get("gpus", [])):
    problems.append(f"gpus {[(g.get('node'), g.get('uuid')) for g in report.get('gpus', [])]}")
if not any(v.get("rule") == "hash_compute" for v in report.get("violations", [])):
    problems.append(f"violations {[v.get('rule') for v in report.get('violations', [])]}")
sys.exit("; ".join(problems) or None)
EOF

# ------------------------------------------------------------------ dashboards against VictoriaMetrics
check_dashboards "$VM" " (VictoriaMetrics)" \
  --var "cluster=$CLUSTER" --var "instance=$NODE1" --var "uuid=GPU-sim-0001-0000" --var "job_id=7001"

# ------------------------------------------------------------------ what the fleet costs
node_series="$("${SUPPORT[@]}" query-value "$VM" "count({__name__=~\"gpuaudit_.+\", instance=\"$NODE1\"})")"
prom_metrics="$(curl -s "http://127.0.0.1:$PROM_PORT/metrics")"
samples="$(sed -n 's/^prometheus_remote_storage_samples_total{[^}]*} //p' <<<"$prom_metrics" | head -n 1)"
bytes="$(sed -n 's/^prometheus_remote_storage_bytes_total{[^}]*} //p' <<<"$prom_metrics" | head -n 1)"
echo "info: node 1 ($GPUS GPUs x 3 processes, full process metrics): $node_series series; remote write: $samples samples in $bytes bytes"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]

#!/usr/bin/env bash
# Checks the shipped monitoring configuration: Prometheus config and rules (promtool), alert
# rule unit tests, Alertmanager config and routing (amtool), runbook links, Grafana dashboards
# (structure, and every panel query parsed by a real Prometheus), the Kubernetes manifests
# (kustomize, offline).
#
# Needs promtool, amtool and prometheus (Debian: apt-get install -y prometheus
# prometheus-alertmanager), kubectl (kubernetes-client), python3 and python3-yaml. Usage: config/test-config.sh   (from anywhere)
# Prints each check, then "N passed, N failed"; exits 1 if any check failed.
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

passed=0
failed=0
WORK="$(mktemp -d)"
PROMETHEUS_PID=""
cleanup() {
  if [[ -n "$PROMETHEUS_PID" ]]; then kill "$PROMETHEUS_PID" 2>/dev/null; wait "$PROMETHEUS_PID" 2>/dev/null; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# check NAME COMMAND...: runs the command, records pass/fail, shows its output on failure.
check() {
  local name="$1"; shift
  if "$@" >"$WORK/out" 2>&1; then
    passed=$((passed + 1)); echo "PASS $name"
  else
    failed=$((failed + 1)); echo "FAIL $name"; sed 's/^/    /' "$WORK/out"
  fi
}

for tool in promtool amtool prometheus python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "config/test-config.sh: $tool not found; install with: apt-get install -y prometheus prometheus-alertmanager python3" >&2
    exit 2
  fi
done

# ------------------------------------------------------------------ Prometheus
check "promtool check config config/prometheus/prometheus.yml" \
  promtool check config config/prometheus/prometheus.yml
check "promtool check rules config/prometheus/rules/*.yml" \
  promtool check rules config/prometheus/rules/gpuaudit-alerts.yml config/prometheus/rules/gpuaudit-recording.yml
check "promtool test rules config/prometheus/tests/gpuaudit-alerts.test.yml" \
  promtool test rules config/prometheus/tests/gpuaudit-alerts.test.yml

# Every alert has a unit test that expects it to fire (an untested alert is an untested page).
every_alert_tested() {
  local alert missing=0
  for alert in $(sed -n 's/^ *- alert: *//p' config/prometheus/rules/gpuaudit-alerts.yml); do
    if ! grep -q -- "alertname: $alert\$" config/prometheus/tests/gpuaudit-alerts.test.yml; then
      echo "alert $alert has no alert_rule_test"; missing=1
    fi
  done
  return $missing
}
check "every alert has a promtool unit test" every_alert_tested

# Every alert has for, severity, summary, description and a runbook_url whose anchor is a
# heading of docs/runbooks.md (GitHub anchors: lower-case heading text).
alerts_complete() {
  python3 - <<'EOF'
import re, sys
rules = open("config/prometheus/rules/gpuaudit-alerts.yml", encoding="utf-8").read()
anchors = {re.sub(r"[^a-z0-9 _-]", "", h.strip().lower()).replace(" ", "-")
           for h in re.findall(r"^#+ (.+)$", open("docs/runbooks.md", encoding="utf-8").read(), re.M)}
bad = 0
for block in re.split(r"\n(?=      - alert: )", rules)[1:]:
    name = re.search(r"- alert: (\S+)", block).group(1)
    for field in ("for:", "severity:", "summary:", "description:", "runbook_url:"):
        if field not in block:
            print(f"{name}: no {field}"); bad = 1
    # Agent-down and the journal alerts are about a whole node: they have no GPU to name.
    labels = ("instance",) if "expr: up{" in block or "# node-wide" in block else ("instance", "uuid")
    for label in labels:
        if "{{ $labels.%s }}" % label not in block:
            print(f"{name}: description does not name {label}"); bad = 1
    url = re.search(r'runbook_url: "([^"]+)"', block)
    anchor = url.group(1).split("#", 1)[1] if url and "#" in url.group(1) else None
    if anchor not in anchors:
        print(f"{name}: runbook anchor #{anchor} is not a heading of docs/runbooks.md"); bad = 1
sys.exit(bad)
EOF
}
check "every alert has for, severity, summary, description, runbook_url into docs/runbooks.md" alerts_complete

# ------------------------------------------------------------------ Alertmanager
AM=config/alertmanager/alertmanager.yml
check "amtool check-config $AM" amtool check-config "$AM"
routes_to() {  # routes_to RECEIVER LABEL=VALUE...
  local receiver="$1"; shift
  amtool config routes test --config.file="$AM" --verify.receivers="$receiver" "$@"
}
check "critical alert routes to the pager" routes_to gpuaudit-pager alertname=GpuAuditHashCompute severity=critical job_id=4242
check "warning alert routes to tickets" routes_to gpuaudit-ticket alertname=GpuAuditUnattributedProcess severity=warning
check "info alert routes to tickets" routes_to gpuaudit-ticket alertname=GpuAuditIdleAllocation severity=info job_id=4242

# ------------------------------------------------------------------ Grafana dashboards
check "dashboard structure (datasource variable, schemaVersion, targets)" \
  python3 config/tools/dashboard-queries.py --check dashboards
check "dashboard provisioning file points at a path" \
  grep -q "path: " dashboards/provisioning/gpuaudit-dashboards.yml

# Every panel query must parse: ask a real (empty) Prometheus. A syntax error comes back as
# HTTP 400 bad_data; an empty result is fine here (the end-to-end test checks data).
queries_parse() {
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  printf 'global: {scrape_interval: 15s}\n' >"$WORK/prometheus.yml"
  prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
    --web.listen-address="127.0.0.1:$port" --log.level=error >"$WORK/prometheus.log" 2>&1 &
  PROMETHEUS_PID=$!
  python3 - "$port" <<'EOF'
import json, subprocess, sys, time, urllib.error, urllib.parse, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
for _ in range(100):
    try:
        urllib.request.urlopen(base + "/-/ready", timeout=1); break
    except (OSError, urllib.error.URLError):
        time.sleep(0.1)
else:
    sys.exit("prometheus did not become ready")
lines = subprocess.run([sys.executable, "config/tools/dashboard-queries.py", "--var", "instance=node:9477",
                        "--var", "uuid=GPU-x", "--var", "job_id=4242", "--var", "cluster=.*", "dashboards"],
                       check=True, capture_output=True, text=True).stdout.splitlines()
bad = 0
for line in lines:
    query = json.loads(line)
    try:
        urllib.request.urlopen(base + "/api/v1/query?" + urllib.parse.urlencode({"query": query["expr"]}), timeout=5)
    except urllib.error.HTTPError as error:
        bad += 1
        print(f"{query['dashboard']} / {query['panel']}: {json.load(error).get('error')}\n    {query['expr']}")
print(f"{len(lines)} queries, {bad} rejected")
sys.exit(1 if bad or not lines else 0)
EOF
}
check "every dashboard query parses in Prometheus" queries_parse

# ------------------------------------------------------------------ systemd unit
# systemd-analyze verify parses every directive; it exits 0 on unknown keys and bad values
# (it only logs them), so any output fails the check. ExecStart's binary is swapped for
# /bin/true because the agent is not installed on the machine running the checks.
unit_verifies() {
  local output
  sed 's#^ExecStart=/usr/local/bin/gpuaudit #ExecStart=/bin/true #' deploy/systemd/gpuaudit.service >"$WORK/gpuaudit.service" &&
    output="$(systemd-analyze verify "$WORK/gpuaudit.service" 2>&1)" && [[ -z "$output" ]] || { echo "$output"; return 1; }
}
if command -v systemd-analyze >/dev/null; then
  check "systemd-analyze verify deploy/systemd/gpuaudit.service" unit_verifies
else
  echo "SKIP systemd-analyze verify (systemd-analyze not installed)"
fi

# ------------------------------------------------------------------ Kubernetes (offline)
# kubectl kustomize renders without a cluster; Debian's kubectl (kubernetes-client, 1.20) embeds
# kustomize 2.0, so the base is written for it and for current kustomize alike.
if command -v kubectl >/dev/null; then
  for overlay in base servicemonitor podmonitor; do
    check "kubectl kustomize deploy/kubernetes/$overlay" \
      sh -c "kubectl kustomize deploy/kubernetes/$overlay >'$WORK/k8s-$overlay.yaml'"
  done
  check "Kubernetes manifests: hostPID, pod-resources and /proc mounts, capabilities, RBAC, image, monitors" \
    python3 config/tools/kubernetes-manifests.py "$WORK/k8s-base.yaml" "$WORK/k8s-servicemonitor.yaml" "$WORK/k8s-podmonitor.yaml"
else
  failed=$((failed + 1)); echo "FAIL kubectl not found; install with: apt-get install -y kubernetes-client"
fi

# ------------------------------------------------------------------ Slurm prolog/epilog
# run_slurm SCRIPT VAR=VALUE...: run a prolog/epilog against a temporary job map.
run_slurm() {
  local script="$1"; shift
  env -i PATH="$PATH" GPUAUDIT_JOBMAP="$WORK/jobmap" GPUAUDIT_DEFAULTS="$WORK/defaults" "$@" bash "deploy/slurm/$script"
}
prolog_writes_map() {
  rm -rf "$WORK/jobmap"
  run_slurm gpuaudit-prolog.sh SLURM_JOB_ID=4242 SLURM_JOB_UID=1000 SLURM_JOB_GPUS=0,2 &&
    [[ "$(cat "$WORK/jobmap/0")" == "4242 1000" && "$(cat "$WORK/jobmap/2")" == "4242 1000" ]] &&
    [[ "$(ls -A "$WORK/jobmap")" == $'0\n2' ]]
}
prolog_reads_cuda_visible_devices() {
  rm -rf "$WORK/jobmap"
  run_slurm gpuaudit-prolog.sh SLURM_JOB_ID=77 SLURM_JOB_UID=1001 CUDA_VISIBLE_DEVICES=3 &&
    [[ "$(cat "$WORK/jobmap/3")" == "77 1001" ]]
}
prolog_without_gpus_writes_nothing() {
  rm -rf "$WORK/jobmap"
  run_slurm gpuaudit-prolog.sh SLURM_JOB_ID=78 SLURM_JOB_UID=1001 && [[ ! -e "$WORK/jobmap" ]]
}
epilog_removes_only_its_job() {
  rm -rf "$WORK/jobmap"
  run_slurm gpuaudit-prolog.sh SLURM_JOB_ID=4242 SLURM_JOB_UID=1000 SLURM_JOB_GPUS=0,1 &&
    run_slurm gpuaudit-prolog.sh SLURM_JOB_ID=4343 SLURM_JOB_UID=1002 SLURM_JOB_GPUS=1 &&
    run_slurm gpuaudit-epilog.sh SLURM_JOB_ID=4242 SLURM_JOB_GPUS=0,1 &&
    [[ ! -e "$WORK/jobmap/0" && "$(cat "$WORK/jobmap/1")" == "4343 1002" ]] &&
    run_slurm gpuaudit-epilog.sh SLURM_JOB_ID=4343 && [[ -z "$(ls -A "$WORK/jobmap")" ]]
}
prolog_writes_purpose_partition_account() {
  rm -rf "$WORK/jobmap"
  printf '#!/bin/sh\necho training\n' >"$WORK/purpose-hook" && chmod +x "$WORK/purpose-hook" &&
    echo "GPUAUDIT_PURPOSE_HOOK=$WORK/purpose-hook" >"$WORK/defaults" &&
    run_slurm gpuaudit-prolog.sh SLURM_JOB_ID=4242 SLURM_JOB_UID=1000 SLURM_JOB_GPUS=1 SLURM_JOB_PARTITION=train 'SLURM_JOB_ACCOUNT=bad name' &&
    rm -f "$WORK/defaults" &&
    [[ "$(cat "$WORK/jobmap/1")" == "4242 1000 purpose=training partition=train" ]]
}
prolog_ignores_a_hook_that_prints_no_purpose() {
  rm -rf "$WORK/jobmap"
  printf '#!/bin/sh\necho mining\n' >"$WORK/purpose-hook" && chmod +x "$WORK/purpose-hook" &&
    echo "GPUAUDIT_PURPOSE_HOOK=$WORK/purpose-hook" >"$WORK/defaults" &&
    run_slurm gpuaudit-prolog.sh SLURM_JOB_ID=4242 SLURM_JOB_UID=1000 SLURM_JOB_GPUS=0 SLURM_JOB_ACCOUNT=lab &&
    rm -f "$WORK/defaults" &&
    [[ "$(cat "$WORK/jobmap/0")" == "4242 1000 account=lab" ]]
}
check "Slurm prolog writes <jobid> <uid> per GPU index from SLURM_JOB_GPUS" prolog_writes_map
check "Slurm prolog adds purpose= from the site's hook and partition= (a malformed account is left out)" prolog_writes_purpose_partition_account
check "Slurm prolog leaves out a purpose the hook got wrong" prolog_ignores_a_hook_that_prints_no_purpose
check "Slurm prolog falls back to CUDA_VISIBLE_DEVICES" prolog_reads_cuda_visible_devices
check "Slurm prolog of a job without GPUs writes nothing" prolog_without_gpus_writes_nothing
check "Slurm epilog removes its job's entries, not a later job's" epilog_removes_only_its_job

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]

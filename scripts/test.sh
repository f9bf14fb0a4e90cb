#!/usr/bin/env bash
# Runs every test of the project on a fresh Debian machine: installs what the tests need,
# builds, runs the xUnit suites, the Prometheus/Alertmanager config tests and the end-to-end
# alerting test, and ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# --- what the tests need from Debian ------------------------------------------------------
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v g++ >/dev/null 2>&1 || need+=(g++)
# The kernel ledger (eBPF): clang -target bpf and the libbpf headers build its program, llvm-strip
# trims it, libbpf1 loads it at run time, bpftool is there to inspect its maps when a test fails.
command -v clang >/dev/null 2>&1 || need+=(clang)
command -v llvm-strip >/dev/null 2>&1 || need+=(llvm)
command -v bpftool >/dev/null 2>&1 || need+=(bpftool)
[ -f /usr/include/bpf/bpf_helpers.h ] || need+=(libbpf-dev)
ldconfig -p 2>/dev/null | grep -q 'libbpf\.so\.1 ' || need+=(libbpf1)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || { echo "test.sh: could not install ${need[*]}"; echo "0 passed, 1 failed"; exit 1; }
fi
# Debian starts the services it installs; the tests run their own on loopback ports.
for svc in prometheus prometheus-alertmanager prometheus-node-exporter; do
  systemctl stop "$svc" >/dev/null 2>&1 || true
done

# Tests marked [ToolFact] must run here, never skip: a missing tool fails them.
export GPUAUDIT_REQUIRE_TOOLS=1

passed=0
failed=0
count() { passed=$((passed + $1)); failed=$((failed + $2)); }

# --- build --------------------------------------------------------------------------------
if ! dotnet build GpuAudit.sln -c Release -nologo -v quiet; then
  echo "test.sh: build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# --- xUnit suites ---------------------------------------------------------------------------
log=$(mktemp)
dotnet test GpuAudit.sln -c Release --no-build -nologo 2>&1 | tee "$log"
suite_status=${PIPESTATUS[0]}
read -r p f < <(grep -E '^(Passed|Failed)! +- ' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+).*/\2 \1/' | awk '{p+=$1; f+=$2} END {print p+0, f+0}')
count "$p" "$f"
if [ "$suite_status" -ne 0 ] && [ "$f" -eq 0 ]; then
  echo "test.sh: dotnet test exited $suite_status without a failed test (a test host crashed?)"
  count 0 1
fi

# --- shipped Prometheus / Alertmanager configuration ------------------------------------------
for script in config/test-config.sh tests/e2e/alerting-e2e.sh; do
  [ -x "$script" ] || continue
  out=$(mktemp)
  if [ "$script" = tests/e2e/alerting-e2e.sh ]; then
    "$script" "$root/src/GpuAudit.Cli/bin/Release/net10.0/gpuaudit" 2>&1 | tee "$out"
  else
    "$script" 2>&1 | tee "$out"
  fi
  status=${PIPESTATUS[0]}
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
  if [ -n "$line" ]; then
    count "$(echo "$line" | cut -d' ' -f1)" "$(echo "$line" | cut -d' ' -f3)"
  fi
  if [ "$status" -ne 0 ] && { [ -z "$line" ] || [ "$(echo "$line" | cut -d' ' -f3)" -eq 0 ]; }; then
    echo "test.sh: $script exited $status"
    count 0 1
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

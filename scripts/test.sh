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
command -v victoria-metrics >/dev/null 2>&1 && command -v vmalert >/dev/null 2>&1 || need+=(victoria-metrics)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v curl >/dev/null 2>&1 || need+=(curl)
# config/test-config.sh renders the Kubernetes manifests offline (kubectl kustomize) and checks them in Python.
command -v kubectl >/dev/null 2>&1 || need+=(kubernetes-client)
python3 -c 'import yaml' >/dev/null 2>&1 || need+=(python3-yaml)
command -v g++ >/dev/null 2>&1 || need+=(g++)
# The kernel ledger (eBPF): clang -target bpf and the libbpf headers build its program, llvm-strip
# trims it, libbpf1 loads it at run time, bpftool is there to inspect its maps when a test fails.
command -v clang >/dev/null 2>&1 || need+=(clang)
command -v llvm-strip >/dev/null 2>&1 || need+=(llvm)
command -v bpftool >/dev/null 2>&1 || need+=(bpftool)
[ -f /usr/include/bpf/bpf_helpers.h ] || need+=(libbpf-dev)
ldconfig -p 2>/dev/null | grep -q 'libbpf\.so\.1 ' || need+=(libbpf1)
# NVIDIA's run-time compiler (NVRTC 11.8) for the GPU code scanner's tests: Debian non-free.
[ -e /usr/lib/x86_64-linux-gnu/libnvrtc.so.11.2 ] || need+=(libnvrtc11.2)
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
# NVIDIA's packages live in Debian's non-free component: add it beside the machine's sources.
nonfree=/etc/apt/sources.list.d/gpuaudit-non-free.sources
if [ ! -e "$nonfree" ] && ! grep -rqsE '^(Components:|deb ).*[[:space:]]non-free([[:space:]]|$)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s %s-updates\nComponents: non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$codename" "$codename" | $sudo_cmd tee "$nonfree" >/dev/null
  apt_updated=""
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}"
  $sudo_cmd apt-get update -qq >/dev/null
  apt_updated=1
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || { echo "test.sh: could not install ${need[*]}"; echo "0 passed, 1 failed"; exit 1; }
fi
# NVIDIA's fatbinary (what nvcc runs to pack fatbins, compressed ones too), unpacked from the
# nvidia-cuda-toolkit package into an ignored folder: installing the package would pull in
# nvidia-cuda-dev (774 MB download, 2.8 GB installed) for one 280 KB program.
cuda_tools="$root/.cache/cuda-tools"
if [ ! -x "$cuda_tools/usr/bin/fatbinary" ]; then
  [ -n "${apt_updated:-}" ] || $sudo_cmd apt-get update -qq >/dev/null
  mkdir -p "$cuda_tools"
  (cd "$cuda_tools" && apt-get download -qq -o APT::Sandbox::User=root nvidia-cuda-toolkit >/dev/null \
    && dpkg-deb --fsys-tarfile nvidia-cuda-toolkit_*.deb | tar -x ./usr/bin/fatbinary \
    && rm -f nvidia-cuda-toolkit_*.deb) \
    || { echo "test.sh: could not unpack fatbinary from nvidia-cuda-toolkit"; echo "0 passed, 1 failed"; exit 1; }
fi
export PATH="$cuda_tools/usr/bin:$PATH"
# Debian starts the services it installs; the tests run their own on loopback ports.
for svc in prometheus prometheus-alertmanager prometheus-node-exporter victoria-metrics; do
  systemctl stop "$svc" >/dev/null 2>&1 || true
done

# NVIDIA's own NVML (Debian non-free libnvidia-ml1), unpacked into .cache/ for the tests that load
# the real library; never installed system-wide (scripts/fetch-nvidia-ml.sh).
if nvidia_ml=$(./scripts/fetch-nvidia-ml.sh); then
  export GPUAUDIT_TEST_NVIDIA_ML="$nvidia_ml"
else
  echo "test.sh: could not unpack libnvidia-ml1: the real-NVML tests will fail"
fi

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

# --- formatting: one test, pass or fail ------------------------------------------------------
# The build already fails on analyzer and code-style warnings; this adds whitespace and the
# .editorconfig rules the build does not enforce. Fix a failure with `dotnet format GpuAudit.sln`.
if dotnet format GpuAudit.sln --verify-no-changes --no-restore; then
  count 1 0
else
  echo "test.sh: dotnet format --verify-no-changes failed: run 'dotnet format GpuAudit.sln' and commit the result"
  count 0 1
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
for script in config/test-config.sh tests/e2e/alerting-e2e.sh tests/e2e/fleet-e2e.sh; do
  [ -x "$script" ] || continue
  out=$(mktemp)
  if [ "$script" != config/test-config.sh ]; then
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

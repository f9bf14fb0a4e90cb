#!/usr/bin/env bash
# Cost of the kernel ledger on the process it watches: launches per second of a tight launch
# loop (the launcher of tests/GpuAudit.Ebpf.Tests/CudaStub against the stand-in libcuda) with and
# without the ledger's uprobes, measured in alternating rounds in one run, as a ratio.
#
# Two loops: "driver-paced" spends GPUAUDIT_STUB_LAUNCH_NS in every launch, calibrated so that the
# loop runs at about 100k launches/s without the ledger (a real driver spends microseconds per
# launch); "bare" spends nothing, so its difference is the probe's own cost per launch.
# Needs root (the ledger loads BPF programs), gcc and a Release build of gpuaudit.
#
# usage: bench/kernel-ledger-overhead.sh [ROUNDS] [SECONDS]   (default 3 rounds of 3 s)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
seconds=${2:-3}
gpuaudit="dotnet src/GpuAudit.Cli/bin/Release/net10.0/gpuaudit.dll"
[ -f src/GpuAudit.Cli/bin/Release/net10.0/gpuaudit.dll ] || dotnet build src/GpuAudit.Cli -c Release -nologo -v quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -shared -fPIC -O1 -Wl,-soname,libcuda.so.1 -o "$work/libcuda.so.1" tests/GpuAudit.Ebpf.Tests/CudaStub/libcuda-stub.c
gcc -O2 -o "$work/launcher" tests/GpuAudit.Ebpf.Tests/CudaStub/launcher.c -L"$work" -l:libcuda.so.1

# One measured loop; with "ledger", gpuaudit kernels attaches first. Prints launches/s.
run() {
  local ns=$1 ledger=$2 go="$work/go.$RANDOM" out="$work/out.$RANDOM" err="$work/err.$RANDOM"
  GPUAUDIT_STUB_LAUNCH_NS=$ns LD_LIBRARY_PATH="$work" "$work/launcher" --go "$go" --seconds "$seconds" --rate 0 module:bench_kernel > "$out" &
  local launcher=$!
  until grep -q '^ready' "$out" 2>/dev/null; do sleep 0.05; done
  local kernels=""
  if [ "$ledger" = with ]; then
    $gpuaudit kernels --pid "$launcher" --json > /dev/null 2> "$err" &
    kernels=$!
    until grep -q 'probes on' "$err" 2>/dev/null; do sleep 0.1; done
  fi
  touch "$go"
  wait "$launcher"
  [ -z "$kernels" ] || wait "$kernels"
  awk '/^rate/ {print $2}' "$out"
}

# The kernel's own uprobe cost, without any BPF program: a bare tracefs uprobe on cuLaunchKernel
# (the same trap the ledger's probe takes). Separates the platform's trap cost from the program's.
bare_uprobe_rate() {
  local tracefs=/sys/kernel/tracing mounted=""
  if [ ! -e "$tracefs/uprobe_events" ]; then
    mount -t tracefs nodev "$tracefs" 2>/dev/null && mounted=1 || { echo "n/a"; return; }
  fi
  local offset
  offset=$(nm -D "$work/libcuda.so.1" | awk '$3 == "cuLaunchKernel" { print $1 }')
  echo "p:gpuaudit_bench $work/libcuda.so.1:0x$offset" >> "$tracefs/uprobe_events"
  echo 1 > "$tracefs/events/uprobes/gpuaudit_bench/enable"
  GPUAUDIT_STUB_LAUNCH_NS=0 LD_LIBRARY_PATH="$work" "$work/launcher" --seconds "$seconds" --rate 0 module:bench_kernel | awk '/^rate/ { print $2 }'
  echo 0 > "$tracefs/events/uprobes/gpuaudit_bench/enable"
  echo "-:gpuaudit_bench" >> "$tracefs/uprobe_events"
  [ -z "$mounted" ] || umount "$tracefs"
}

# Calibrate the driver-paced loop to about 100k launches/s without the ledger.
ns=8000
for _ in 1 2 3; do
  rate=$(seconds=1 run "$ns" without)
  ns=$(awk -v ns="$ns" -v r="$rate" 'BEGIN { printf "%d", ns * r / 100000 }')
done

printf '%-14s %-6s %14s %14s %8s\n' loop round without/s with/s ratio
for loop in driver-paced bare; do
  launch_ns=$([ "$loop" = bare ] && echo 0 || echo "$ns")
  ratios=()
  for round in $(seq 1 "$rounds"); do
    without=$(run "$launch_ns" without)
    with=$(run "$launch_ns" with)
    ratio=$(awk -v a="$with" -v b="$without" 'BEGIN { printf "%.3f", a / b }')
    ratios+=("$ratio")
    printf '%-14s %-6s %14s %14s %8s\n' "$loop" "$round" "$without" "$with" "$ratio"
    if [ "$loop" = bare ]; then
      awk -v a="$with" -v b="$without" 'BEGIN { printf "%-14s %-6s probe cost per launch: %.0f ns\n", "", "", 1e9 / a - 1e9 / b }'
    fi
  done
  median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  printf '%-14s median ratio with/without: %s (launch spends %s ns in the driver)\n' "$loop" "$median" "$launch_ns"
done
control=$(bare_uprobe_rate)
printf 'control: bare loop under a tracefs uprobe with no BPF program: %s launches/s\n' "$control"


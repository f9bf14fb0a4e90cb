#!/usr/bin/env bash
# The one benchmark command (issue 7): builds Release, runs the BenchmarkDotNet suite with a short
# job in-process (no per-benchmark project builds, so the whole run stays within a few minutes on
# 2 cores), runs the whole-process overhead measurement, and prints the table of
# docs/performance.md with the numbers measured now.
#
# usage: bench/run.sh [--quick]     (--quick: a 15 s overhead run after 5 s of warm-up, instead of 120 s after 60 s)
set -euo pipefail
cd "$(dirname "$0")/.."

table=$(mktemp)
trap 'rm -f "$table"' EXIT
export GPUAUDIT_BENCH_TABLE="$table"

dotnet build bench/GpuAudit.Benchmarks -c Release -nologo -v quiet
dotnet bench/GpuAudit.Benchmarks/bin/Release/net10.0/GpuAudit.Benchmarks.dll --filter '*' --job short --inProcess
bench/overhead.sh "$@"

echo
echo "Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min): CPU time is the verdict, wall time the noise."
echo
echo "| Row | Target | Measured | Verdict |"
echo "| --- | --- | --- | --- |"
cat "$table"

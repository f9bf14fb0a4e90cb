# Shared by the whole-process bench scripts (sourced, not run).

# Publishes the NativeAOT binary to $2 when it is missing or older than any source file or
# project, so a stale binary is never measured. $1 names the script in the message.
ensure_aot_binary() {
  local name=$1 aot_dir=$2
  if [[ ! -x "$aot_dir/gpuaudit" || -n "$(find src \( -name '*.cs' -o -name '*.csproj' \) -not -path '*/obj/*' -not -path '*/bin/*' -newer "$aot_dir/gpuaudit" -print -quit)" ]]; then
    echo "$name: publishing the NativeAOT binary to $aot_dir (several minutes on 2 cores)..." >&2
    dotnet publish src/GpuAudit.Cli -c Release -r linux-x64 -p:PublishAot=true -o "$aot_dir" >&2
  fi
}

# A node under a scheduler, as a Slurm prolog writes it: GPU N allocated to job 9000+N, in the
# directory $1. Without it each simulated process would open an unattributed-process violation.
write_job_map() {
  mkdir -p "$1"
  for gpu in 0 1 2 3 4 5 6 7; do echo "$((9000 + gpu)) 0" > "$1/$gpu"; done
}

# A measured agent runs in a CPU-accounting cgroup of its own when this machine lets us make
# one (root; cgroup v1 cpuacct, or v2 with the cpu controller): it counts every thread in
# nanoseconds, including threads the thread pool has retired, where /proc counts 10 ms ticks
# (one tick is 10.4 µs per GPU per poll over 120 s at 8 GPUs, and each of the four readings can
# be a tick off) and schedstat misses retired threads.
cgroup_root=""
if [[ -w /sys/fs/cgroup/cpuacct && -f /sys/fs/cgroup/cpuacct/cpuacct.usage ]]; then
  cgroup_root=/sys/fs/cgroup/cpuacct
elif [[ -w /sys/fs/cgroup && -f /sys/fs/cgroup/cgroup.controllers ]] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
  cgroup_root=/sys/fs/cgroup
fi
# Starts "$@" in a new cgroup (when there is a root) and leaves its pid in started, its group in
# started_group; the caller keeps a groups array (each group made is added) and removes them.
start_measured() {
  started_group=""
  if [[ -n "$cgroup_root" ]] && mkdir "$cgroup_root/gpuaudit-bench-$$-${#groups[@]}" 2>/dev/null; then
    started_group="$cgroup_root/gpuaudit-bench-$$-${#groups[@]}"
    groups+=("$started_group")
    sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$started_group" "$@" 2>/dev/null &
  else
    "$@" 2>/dev/null &
  fi
  started=$!
}
# CPU nanoseconds the group's threads have used (empty without a group).
group_ns() {
  if [[ -z "$1" ]]; then return; fi
  if [[ -f "$1/cpuacct.usage" ]]; then cat "$1/cpuacct.usage"; else awk '/^usage_usec/ { printf "%.0f", $2 * 1000 }' "$1/cpu.stat"; fi
}

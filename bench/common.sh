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

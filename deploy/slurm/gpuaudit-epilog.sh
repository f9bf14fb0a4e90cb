#!/bin/bash
# Slurm epilog: forget the GPU→job entries the prolog (gpuaudit-prolog.sh) wrote for this job.
# Install beside it, e.g. Epilog=/etc/slurm/epilog.d/* (as /etc/slurm/epilog.d/50-gpuaudit.sh).
# A file is removed only if it still names this job: a later job's prolog may already have
# claimed the GPU. Never fails (a failing epilog drains the node).
set -u
JOBMAP="${GPUAUDIT_JOBMAP:-/run/gpuaudit/jobmap}"
GPUS="${SLURM_JOB_GPUS:-${CUDA_VISIBLE_DEVICES:-}}"

[[ -n "${SLURM_JOB_ID:-}" && -d "$JOBMAP" ]] || exit 0
if [[ -n "$GPUS" ]]; then
  candidates=()
  for index in ${GPUS//,/ }; do
    [[ "$index" =~ ^[0-9]+$ ]] && candidates+=("$JOBMAP/$index")
  done
else
  # Epilogs of some Slurm versions lack the GPU list: look at every entry.
  candidates=("$JOBMAP"/*)
fi
for file in "${candidates[@]}"; do
  [[ -f "$file" ]] || continue
  read -r job _ <"$file" 2>/dev/null || continue
  if [[ "$job" == "$SLURM_JOB_ID" ]]; then
    rm -f "$file" || logger -t gpuaudit-epilog "job $SLURM_JOB_ID: cannot remove $file"
  fi
done
exit 0

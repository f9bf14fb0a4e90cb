#!/bin/bash
# Slurm prolog: record which job holds which GPU, for the GpuAudit agent (jobstats-style).
# Writes one file per allocated GPU index, $GPUAUDIT_JOBMAP/<index>, containing
# "<jobid> <uid>". Install on every GPU node, run by slurmd as root, e.g. in slurm.conf:
#   Prolog=/etc/slurm/prolog.d/*      (this file as /etc/slurm/prolog.d/50-gpuaudit.sh)
# The epilog (gpuaudit-epilog.sh) removes the files again.
#
# GPU indices: SLURM_JOB_GPUS (set for Prolog/Epilog by Slurm), else CUDA_VISIBLE_DEVICES as
# Slurm sets it for the prolog (jobstats reads that one). They are the node's GPU indices as
# gres.conf numbers them; with `AutoDetect=nvml` these are NVML indices, which is what the
# agent uses. A prolog must never fail a job for bookkeeping: errors are logged, exit is 0.
set -u
JOBMAP="${GPUAUDIT_JOBMAP:-/run/gpuaudit/jobmap}"
GPUS="${SLURM_JOB_GPUS:-${CUDA_VISIBLE_DEVICES:-}}"

[[ -n "$GPUS" && -n "${SLURM_JOB_ID:-}" && -n "${SLURM_JOB_UID:-}" ]] || exit 0
if ! mkdir -p "$JOBMAP"; then
  logger -t gpuaudit-prolog "job $SLURM_JOB_ID: cannot create $JOBMAP"
  exit 0
fi
for index in ${GPUS//,/ }; do
  # Only plain indices: "NoDevFiles" or UUID forms mean the map cannot be written here.
  if [[ ! "$index" =~ ^[0-9]+$ ]]; then
    logger -t gpuaudit-prolog "job $SLURM_JOB_ID: GPU '$index' is not an index, not mapped"
    continue
  fi
  # Write then rename, so the agent never reads a half-written file.
  tmp="$JOBMAP/.$index.$SLURM_JOB_ID"
  if printf '%s %s\n' "$SLURM_JOB_ID" "$SLURM_JOB_UID" >"$tmp" && chmod 0644 "$tmp" && mv -f "$tmp" "$JOBMAP/$index"; then
    :
  else
    rm -f "$tmp"
    logger -t gpuaudit-prolog "job $SLURM_JOB_ID: cannot write $JOBMAP/$index"
  fi
done
exit 0

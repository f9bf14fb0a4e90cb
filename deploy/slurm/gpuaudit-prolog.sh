#!/bin/bash
# Slurm prolog: record which job holds which GPU, for the GpuAudit agent (jobstats-style).
# Writes one file per allocated GPU index, $GPUAUDIT_JOBMAP/<index>, containing
#   <jobid> <uid> [purpose=training|inference|compute|any] [partition=NAME] [account=NAME]
# Install on every GPU node, run by slurmd as root, e.g. in slurm.conf:
#   Prolog=/etc/slurm/prolog.d/*      (this file as /etc/slurm/prolog.d/50-gpuaudit.sh)
# The epilog (gpuaudit-epilog.sh) removes the files again.
#
# GPU indices: SLURM_JOB_GPUS (set for Prolog/Epilog by Slurm), else CUDA_VISIBLE_DEVICES as
# Slurm sets it for the prolog (jobstats reads that one). They are the node's GPU indices as
# gres.conf numbers them; with `AutoDetect=nvml` these are NVML indices, which is what the
# agent uses. A prolog must never fail a job for bookkeeping: errors are logged, exit is 0.
#
# purpose= says what the job's GPUs are for (the agent's diverted_compute rule, docs/policy.md).
# Derive it from what the scheduler knows and the job's user cannot change once the job runs:
# set GPUAUDIT_PURPOSE_HOOK in /etc/default/gpuaudit to an executable that prints the purpose of
# job $SLURM_JOB_ID (for example from its QOS, or from a "purpose=..." word in its comment read
# with `scontrol show job`; a comment is the user's own text, so only trust it where users may
# declare their jobs' purpose). Without a hook, the agent's policy maps partition= and account=
# (written here when Slurm passes SLURM_JOB_PARTITION / SLURM_JOB_ACCOUNT) to purposes.
set -u
[[ -r "${GPUAUDIT_DEFAULTS:-/etc/default/gpuaudit}" ]] && . "${GPUAUDIT_DEFAULTS:-/etc/default/gpuaudit}"
JOBMAP="${GPUAUDIT_JOBMAP:-/run/gpuaudit/jobmap}"
GPUS="${SLURM_JOB_GPUS:-${CUDA_VISIBLE_DEVICES:-}}"

[[ -n "$GPUS" && -n "${SLURM_JOB_ID:-}" && -n "${SLURM_JOB_UID:-}" ]] || exit 0
if ! mkdir -p "$JOBMAP"; then
  logger -t gpuaudit-prolog "job $SLURM_JOB_ID: cannot create $JOBMAP"
  exit 0
fi

# Optional fields: only names the agent can read back (no spaces, no "=").
line="$SLURM_JOB_ID $SLURM_JOB_UID"
if [[ -n "${GPUAUDIT_PURPOSE_HOOK:-}" ]]; then
  purpose=$(timeout 10 "$GPUAUDIT_PURPOSE_HOOK" 2>/dev/null | head -n 1)
  case "$purpose" in
    training|inference|compute|any) line+=" purpose=$purpose" ;;
    *) logger -t gpuaudit-prolog "job $SLURM_JOB_ID: purpose hook printed '$purpose', not a purpose; left out" ;;
  esac
fi
[[ "${SLURM_JOB_PARTITION:-}" =~ ^[A-Za-z0-9_.-]{1,64}$ ]] && line+=" partition=$SLURM_JOB_PARTITION"
[[ "${SLURM_JOB_ACCOUNT:-}" =~ ^[A-Za-z0-9_.-]{1,64}$ ]] && line+=" account=$SLURM_JOB_ACCOUNT"

for index in ${GPUS//,/ }; do
  # Only plain indices: "NoDevFiles" or UUID forms mean the map cannot be written here.
  if [[ ! "$index" =~ ^[0-9]+$ ]]; then
    logger -t gpuaudit-prolog "job $SLURM_JOB_ID: GPU '$index' is not an index, not mapped"
    continue
  fi
  # Write then rename, so the agent never reads a half-written file.
  tmp="$JOBMAP/.$index.$SLURM_JOB_ID"
  if printf '%s\n' "$line" >"$tmp" && chmod 0644 "$tmp" && mv -f "$tmp" "$JOBMAP/$index"; then
    :
  else
    rm -f "$tmp"
    logger -t gpuaudit-prolog "job $SLURM_JOB_ID: cannot write $JOBMAP/$index"
  fi
done
exit 0

namespace GpuAudit.Core.Samples;

/// <summary>
/// One process on one GPU at one tick: from the compute-process list (memory) and the
/// per-process utilization samples (SM and memory-controller percent). <see cref="SmPct"/> and
/// <see cref="MemPct"/> are null when NVML had no new utilization sample for the pid.
/// </summary>
public readonly record struct ProcessUsage(int Pid, long? UsedMemBytes, int? SmPct, int? MemPct);

namespace GpuAudit.Core.Features;

/// <summary>
/// One process in one reading of the window: its share of SM time (0-1; NaN when NVML had no
/// per-process sample and the share cannot be inferred) and its GPU memory (MiB; NaN unknown).
/// </summary>
internal struct ProcessShare
{
    public int Pid;
    public double Share;
    public double MemMiB;
}

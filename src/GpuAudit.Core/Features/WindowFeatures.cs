namespace GpuAudit.Core.Features;

/// <summary>
/// What one GPU, or one process on it, did over a window. Pipe shares are per unit of SM
/// activity over busy readings only (sum of the pipe's utilization over sum of SM activity), so
/// a job at a 10% duty cycle shows the same mix as at full duty. NaN = not measured.
/// </summary>
public readonly record struct WindowFeatures
{
    /// <summary>Readings in the window.</summary>
    public int Readings { get; init; }

    /// <summary>Readings with a usable GPM sample.</summary>
    public int GpmReadings { get; init; }

    /// <summary>Busy readings (by GPM SM activity where available, else by NVML utilization).</summary>
    public int BusyReadings { get; init; }

    /// <summary>Busy readings that had GPM: the pipe mix rests on these.</summary>
    public int BusyGpmReadings { get; init; }

    /// <summary>Mean GPM SM activity over busy readings, percent.</summary>
    public double SmActivityPct { get; init; }

    public double IntegerShare { get; init; }

    /// <summary>Median over busy readings of the per-reading integer share (NaN for a process that shared the GPU).</summary>
    public double IntegerShareMedian { get; init; }

    /// <summary>Any tensor pipe (HMMA, IMMA, DFMA) per unit of SM activity.</summary>
    public double TensorShare { get; init; }

    /// <summary>Integer tensor (IMMA) per unit of SM activity.</summary>
    public double ImmaShare { get; init; }

    /// <summary>FP16 + FP32 pipes per unit of SM activity.</summary>
    public double FpShare { get; init; }

    /// <summary>FP64 pipe + DFMA tensor per unit of SM activity.</summary>
    public double Fp64Share { get; init; }

    public double DramShare { get; init; }

    /// <summary>Mean SM occupancy over busy readings, percent.</summary>
    public double OccupancyPct { get; init; }

    /// <summary>Mean PCIe tx + rx over busy readings, MiB/s (for a process: its attributed part).</summary>
    public double PcieMiBps { get; init; }

    /// <summary>Coefficient of variation of SM activity (for a process: of its SM share) over busy readings.</summary>
    public double ActivityCv { get; init; }

    /// <summary>Mean board power over busy readings, watts.</summary>
    public double PowerW { get; init; }

    /// <summary>Coefficient of variation of board power over busy readings.</summary>
    public double PowerCv { get; init; }

    /// <summary>NVML utilization (percent of time a kernel ran), mean over the window.</summary>
    public double UtilGpuPct { get; init; }

    /// <summary>NVML memory-controller utilization, mean over the window.</summary>
    public double UtilMemPct { get; init; }

    /// <summary>Growth of the memory footprint from the oldest to the newest reading, MiB.</summary>
    public double FootprintGrowthMiB { get; init; }

    /// <summary>Share of the SM time behind these features that came from readings where the subject ran
    /// alone (1 for a whole GPU): how far per-process numbers can be trusted.</summary>
    public double SoloShare { get; init; }
}

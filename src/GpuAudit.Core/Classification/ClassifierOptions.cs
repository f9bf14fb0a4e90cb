namespace GpuAudit.Core.Classification;

/// <summary>
/// Window geometry and the thresholds of the classification rules. Every threshold is a property
/// of how a kind of work uses the hardware, not a fit to recorded files; docs/classifier.md gives
/// the physics behind each value.
/// </summary>
public sealed record ClassifierOptions
{
    public static ClassifierOptions Default { get; } = new();

    /// <summary>Width of the sliding window, seconds of sample time. 10 s holds ~10 readings at the
    /// agent's 1 Hz poll: enough to see flatness and averaging out one noisy GPM reading, short
    /// enough to detect within 10 s.</summary>
    public double WindowSeconds { get; init; } = 10;

    /// <summary>A verdict is emitted once per this many seconds of sample time.</summary>
    public double VerdictPeriodSeconds { get; init; } = 1;

    /// <summary>Readings the ring buffer can hold (2-4096); older ones fall out even inside the window.
    /// 128 covers a 10 s window polled at up to ~12 Hz.</summary>
    public int MaxSamplesPerWindow { get; init; } = 128;

    /// <summary>GPM SM activity (percent) from which a reading counts as busy. Low so that hashing at a
    /// 10% duty cycle (≈10% activity in every reading) still counts.</summary>
    public double BusySmUtilPct { get; init; } = 2;

    /// <summary>NVML utilization (percent) from which a reading without GPM counts as busy.</summary>
    public double BusyUtilGpuPct { get; init; } = 5;

    /// <summary>Busy readings a window needs before any pipe-mix verdict: one reading may be the tail of
    /// the previous job or a bogus GPM interval.</summary>
    public int MinBusySamples { get; init; } = 3;

    /// <summary>FP16+FP32+FP64 per unit of SM activity below which the FP pipes are silent. Hash rounds
    /// issue no FP instruction at all (0.000% in every recording); anything numerical, even DRAM-bound
    /// decoding at one FMA per weight loaded, shows a few percent.</summary>
    public double FpSilentShare { get; init; } = 0.01;

    /// <summary>Tensor share below which the work uses no matrix units.</summary>
    public double TensorFreeShare { get; init; } = 0.05;

    /// <summary>Integer pipe per unit of SM activity from which math-free work is integer-ALU bound
    /// (hash round functions are add/xor/rotate chains).</summary>
    public double IntegerBoundShare { get; init; } = 0.65;

    /// <summary>Integer share that ML kernels do not reach (their integer work is address arithmetic,
    /// 0.07-0.26 in the recordings); above it, work with ML math carries an integer-heavy component.</summary>
    public double IntegerExcessShare { get; init; } = 0.35;

    /// <summary>Lower integer-excess bar used when the process's identity also points at hashing.</summary>
    public double IntegerExcessShareWithIdentity { get; init; } = 0.3;

    /// <summary>DRAM bandwidth per unit of SM activity from which math-free work is memory bound.</summary>
    public double MemoryBoundShare { get; init; } = 0.3;

    /// <summary>PCIe traffic (tx + rx, MiB/s) below which a busy GPU is "closed loop": it neither
    /// receives input data nor returns results in bulk.</summary>
    public double QuietPcieMiBps { get; init; } = 10;

    /// <summary>Growth of the memory footprint over the window (MiB) below which it counts as static.</summary>
    public double StaticFootprintMiB { get; init; } = 64;

    /// <summary>Coefficient of variation of SM activity below which utilization counts as flat.</summary>
    public double FlatCv { get; init; } = 0.1;

    /// <summary>FP64 (pipe + DFMA tensor) share from which the work is double-precision HPC.</summary>
    public double Fp64Share { get; init; } = 0.15;

    /// <summary>Occupancy (percent) from which a memory-bound kernel keeps enough warps in flight to hide
    /// the latency of dependent random loads, as memory-hard hashing is written to.</summary>
    public double HighOccupancyPct { get; init; } = 70;

    /// <summary>Cap on confidence when no usable GPM reading was in the window (NVML basics only).</summary>
    public double MaxConfidenceWithoutGpm { get; init; } = 0.45;

    /// <summary>Ridge weight (in readings) pulling each process's estimated signature toward its previous
    /// estimate when the per-process SM shares cannot separate the processes on their own.</summary>
    public double AttributionRidge { get; init; } = 0.5;

    /// <summary>Busy readings the low-duty window keeps: enough for several bursts of a duty-cycled
    /// workload and to average one noisy GPM interval away.</summary>
    public int LowDutyReadings { get; init; } = 16;

    /// <summary>How far back (seconds of sample time) the low-duty window keeps busy readings. Hashing at a
    /// 10% duty cycle in 1-2 s bursts gives the 3 busy readings a verdict needs within 30 s; 120 s still
    /// collects them at a 5% duty cycle (2 s bursts every 40 s), and is short enough that readings of
    /// work that stopped minutes ago do not mix into the judgement.</summary>
    public double LowDutyHorizonSeconds { get; init; } = 120;

    /// <summary>Cap on the confidence of a verdict from the low-duty window: the readings are spread over
    /// time, so they may span changes of work that the 10 s window would have seen apart.</summary>
    public double LowDutyMaxConfidence { get; init; } = 0.7;

    /// <summary>Share of a process's SM time that must come from readings where it ran alone before
    /// its estimated signature is trusted for the in-process hash rule.</summary>
    public double SoloShareForExactAttribution { get; init; } = 0.8;
}

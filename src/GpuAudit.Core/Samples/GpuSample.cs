namespace GpuAudit.Core.Samples;

/// <summary>
/// Everything the auditor learnt about one GPU at one tick, in NVML's native units (percent,
/// bytes, milliwatts, MHz, Celsius, millijoules). Live polls and replayed trace lines become the
/// same object, so every later stage is tested on real recordings. Null = not available.
/// </summary>
public sealed record GpuSample
{
    /// <summary>Unix seconds.</summary>
    public required double Time { get; init; }

    /// <summary>GPU index (as in the trace header / NVML enumeration).</summary>
    public required int Gpu { get; init; }

    public int? UtilGpuPct { get; init; }

    public int? UtilMemPct { get; init; }

    /// <summary>Allocated memory (nvmlDeviceGetMemoryInfo_v2's used, as nvidia-smi shows it; v1's, reserved included, where _v2 is missing).</summary>
    public long? MemUsedBytes { get; init; }

    /// <summary>Memory the driver and firmware reserve (nvmlDeviceGetMemoryInfo_v2); null where only v1 answers.</summary>
    public long? MemReservedBytes { get; init; }

    public long? PowerMw { get; init; }

    public int? SmClockMhz { get; init; }

    public int? MemClockMhz { get; init; }

    public int? TempC { get; init; }

    /// <summary>Cumulative energy since driver load, millijoules.</summary>
    public long? EnergyMj { get; init; }

    /// <summary>Null when the GPU has no GPM (pre-Hopper, MIG) or the reading failed.</summary>
    public GpmMetrics? Gpm { get; init; }

    /// <summary>Seconds covered by <see cref="Gpm"/>.</summary>
    public double? GpmIntervalS { get; init; }

    private readonly ProcessUsage[] _procs = [];

    /// <summary>
    /// The processes on the GPU at this tick. Kept as an array (any other list is copied into one
    /// when the sample is made) so that the per-tick stages read it through <see cref="ProcSpan"/>.
    /// </summary>
    public IReadOnlyList<ProcessUsage> Procs
    {
        get => _procs;
        init => _procs = value as ProcessUsage[] ?? [.. value];
    }

    /// <summary><see cref="Procs"/> as a span: no interface call per process on the per-tick path.</summary>
    public ReadOnlySpan<ProcessUsage> ProcSpan => _procs;

    /// <summary>Evaluation-only ground truth; see <see cref="Samples.Truth"/>.</summary>
    public Truth? Truth { get; init; }
}

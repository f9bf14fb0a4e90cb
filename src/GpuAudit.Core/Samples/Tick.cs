namespace GpuAudit.Core.Samples;

/// <summary>
/// One poll of every GPU: what a sample source hands to the pipeline. New processes come with
/// the tick in which they were first seen; collectors report per GPU whether that poll worked.
/// </summary>
public sealed record Tick(
    double Time,
    IReadOnlyList<GpuSample> Samples,
    IReadOnlyList<ProcessRecord> NewProcesses,
    IReadOnlyList<CollectorStatus> Collectors)
{
    /// <summary>
    /// Devices whose identity changed this tick, keyed by their unchanged index: a GPU that could
    /// not be read at start-up (exported under a placeholder) and has now been read. Null when none.
    /// </summary>
    public IReadOnlyList<GpuDevice>? ChangedDevices { get; init; }
}

/// <summary>
/// Health of one GPU's collector at one tick. <see cref="Up"/>: the GPU was read and its sample is
/// usable; <see cref="Error"/> says what failed, for people.
/// </summary>
public sealed record CollectorStatus(int Gpu, bool Up, string? Error = null)
{
    /// <summary>
    /// False when the GPU was read but its process list was not (NO_PERMISSION, a count over the
    /// cap, a list that kept growing): its processes are missing this tick, so the GPU is not
    /// fully watched even though its telemetry is.
    /// </summary>
    public bool ProcessesVisible { get; init; } = true;

    /// <summary>
    /// Calls that failed without taking the GPU down (their fields are missing this tick; an
    /// unsupported query is not a failure). Null when none.
    /// </summary>
    public IReadOnlyList<CallFailure>? FailedCalls { get; init; }

    /// <summary>Up with every process visible: what <c>gpuaudit_collector_up</c> exports.</summary>
    public bool FullyWatched => Up && ProcessesVisible;
}

/// <summary>One failed call of one poll: the function and the code's name (e.g. NVML_ERROR_UNKNOWN).</summary>
public readonly record struct CallFailure(string Function, string Code);

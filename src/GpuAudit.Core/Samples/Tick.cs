namespace GpuAudit.Core.Samples;

/// <summary>
/// One poll of every GPU: what a sample source hands to the pipeline. New processes come with
/// the tick in which they were first seen; collectors report per GPU whether that poll worked.
/// </summary>
public sealed record Tick(
    double Time,
    IReadOnlyList<GpuSample> Samples,
    IReadOnlyList<ProcessRecord> NewProcesses,
    IReadOnlyList<CollectorStatus> Collectors);

/// <summary>Health of one GPU's collector at one tick. <see cref="Error"/> says what failed, for people.</summary>
public sealed record CollectorStatus(int Gpu, bool Up, string? Error = null);

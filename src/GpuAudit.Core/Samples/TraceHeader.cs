namespace GpuAudit.Core.Samples;

/// <summary>The first line of a trace: where and what was recorded, and the GPUs.</summary>
public sealed record TraceHeader
{
    public const string FormatName = "gpuaudit-trace";
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;

    /// <summary>The node that recorded the trace (the format's <c>host</c> field).</summary>
    public string? Node { get; init; }

    public string? Workload { get; init; }

    public string? Description { get; init; }

    public double? IntervalS { get; init; }

    public required IReadOnlyList<GpuDevice> Gpus { get; init; }

    public Truth? Truth { get; init; }
}

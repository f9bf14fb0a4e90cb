namespace GpuAudit.Core.Samples;

/// <summary>
/// Identity of a GPU process as captured when it was first seen (trace <c>process</c> line).
/// <see cref="Cmdline"/> is already redacted by whoever captured it.
/// </summary>
public sealed record ProcessRecord
{
    public required int Pid { get; init; }

    public int? Ppid { get; init; }

    public string? Comm { get; init; }

    public string? Exe { get; init; }

    public string? Cmdline { get; init; }

    /// <summary>Raw /proc/PID/cgroup text.</summary>
    public string? Cgroup { get; init; }

    /// <summary>Basenames of GPU-related shared objects mapped by the process.</summary>
    public IReadOnlyList<string> GpuLibs { get; init; } = [];

    public MemoryScanSummary? MemoryScan { get; init; }

    /// <summary>Evaluation-only ground truth.</summary>
    public Truth? Truth { get; init; }
}

/// <summary>What a scan of the process's memory found (trace <c>memory_scan</c>).</summary>
public sealed record MemoryScanSummary
{
    /// <summary>Pattern name → hit counts in anonymous and file-backed memory.</summary>
    public IReadOnlyDictionary<string, ScanHitCount> Hits { get; init; } = new Dictionary<string, ScanHitCount>();

    public IReadOnlyList<string> PtxEntries { get; init; } = [];

    public long? BytesScanned { get; init; }

    public double? Seconds { get; init; }

    public bool? Truncated { get; init; }
}

public readonly record struct ScanHitCount(long Anon, long File);

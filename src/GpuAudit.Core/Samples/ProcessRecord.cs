using GpuAudit.Core.Inspection;

namespace GpuAudit.Core.Samples;

/// <summary>
/// Identity of a GPU process as captured when it was first seen (trace <c>process</c> line). The
/// text a process controls (comm, exe, cmdline, cgroup, library names) is redacted whenever it is
/// set, so a record read from a hostile or old trace carries no secret into any output either.
/// </summary>
public sealed record ProcessRecord
{
    public required int Pid { get; init; }

    public int? Ppid { get; init; }

    /// <summary>
    /// Start time in clock ticks since boot (/proc/PID/stat field 22). With the pid it names one
    /// process: a pid the kernel reused for a new process has another start and is a new identity.
    /// </summary>
    public long? StartTicks { get; init; }

    public string? Comm { get; init => field = SecretRedactor.RedactOrNull(value); }

    public string? Exe { get; init => field = SecretRedactor.RedactOrNull(value); }

    public string? Cmdline { get; init => field = SecretRedactor.RedactOrNull(value); }

    /// <summary>/proc/PID/cgroup text (paths under a delegated cgroup are named by the job).</summary>
    public string? Cgroup { get; init => field = SecretRedactor.RedactOrNull(value); }

    /// <summary>Basenames of GPU-related shared objects mapped by the process.</summary>
    public IReadOnlyList<string> GpuLibs { get; init => field = SecretRedactor.RedactLines(value); } = [];

    public MemoryScanSummary? MemoryScan { get; init; }

    /// <summary>Evaluation-only ground truth.</summary>
    public Truth? Truth { get; init; }
}

/// <summary>What a scan of the process's memory found (trace <c>memory_scan</c>).</summary>
public sealed record MemoryScanSummary
{
    /// <summary>Pattern name → hit counts in anonymous and file-backed memory.</summary>
    public IReadOnlyDictionary<string, ScanHitCount> Hits { get; init; } = new Dictionary<string, ScanHitCount>();

    /// <summary>PTX entry (kernel) names: chosen by whoever wrote the GPU code, so redacted like any process text.</summary>
    public IReadOnlyList<string> PtxEntries { get; init => field = SecretRedactor.RedactLines(value); } = [];

    public long? BytesScanned { get; init; }

    public double? Seconds { get; init; }

    public bool? Truncated { get; init; }
}

public readonly record struct ScanHitCount(long Anon, long File);

using GpuAudit.Core.Inspection;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Samples;
using GpuAudit.Linux;

namespace GpuAudit.Agent.Pipeline;

/// <summary>
/// Insight on a live node: /proc inspection (identity, job, libraries, sockets and tunnels in the
/// process tree) when a process is first seen and again every <c>refresh</c> — a tunnel or a pool
/// connection can open long after the process started — merged with the latest result of the
/// background GPU code scan. The poll thread only reads caches and enqueues scan requests.
/// It is also the live source's <see cref="IProcessDescriber"/>: a new pid's /proc is read once,
/// for its trace identity and its insight together.
/// </summary>
public sealed class LiveInsightProvider(ProcessInspector inspector, GpuCodeScanService? scans, TimeProvider time, TimeSpan refresh) : IProcessInsightProvider, IProcessDescriber
{
    private readonly Dictionary<int, Entry> _entries = [];

    public ProcessRecord? Describe(int pid) => Current(pid)?.Inspection.Identity;

    public ProcessInsight? GetInsight(int pid, ProcessRecord? identity)
    {
        if (Current(pid) is not { } entry)
        {
            return null;
        }

        if (scans?.Latest(pid) is { } scan && !ReferenceEquals(scan, entry.Scan))
        {
            entry.Scan = scan;
            entry.Insight = scan.AddTo(entry.Inspection);
        }

        return entry.Insight;
    }

    public void Forget(int pid)
    {
        _entries.Remove(pid);
        scans?.Forget(pid);
    }

    /// <summary>The cached inspection, read again when it is older than the refresh period.</summary>
    private Entry? Current(int pid)
    {
        var now = time.GetTimestamp();
        if (_entries.TryGetValue(pid, out var entry) && time.GetElapsedTime(entry.InspectedAt, now) < refresh)
        {
            return entry;
        }

        if (inspector.Inspect(pid) is not { } inspection)
        {
            // Gone between the NVML poll and now: keep what was known, if anything.
            return entry;
        }

        entry = new Entry(inspection, now);
        _entries[pid] = entry;
        scans?.Request(pid);
        return entry;
    }

    private sealed class Entry(ProcessInsight inspection, long inspectedAt)
    {
        public ProcessInsight Inspection { get; } = inspection;

        public long InspectedAt { get; } = inspectedAt;

        public GpuCodeScanResult? Scan { get; set; }

        public ProcessInsight Insight { get; set; } = inspection;
    }
}

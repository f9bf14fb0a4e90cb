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
/// </summary>
public sealed class LiveInsightProvider(ProcessInspector inspector, GpuCodeScanService? scans, TimeProvider time, TimeSpan refresh) : IProcessInsightProvider
{
    private readonly Dictionary<int, Entry> _entries = [];

    public ProcessInsight? GetInsight(int pid, ProcessRecord? identity)
    {
        var now = time.GetTimestamp();
        if (!_entries.TryGetValue(pid, out var entry) || time.GetElapsedTime(entry.InspectedAt, now) >= refresh)
        {
            var inspection = inspector.Inspect(pid);
            if (inspection is null)
            {
                // Gone between the NVML poll and now: keep what was known, if anything.
                return entry?.Insight;
            }

            entry = new Entry(inspection, now);
            _entries[pid] = entry;
            scans?.Request(pid);
        }

        if (scans?.Latest(pid) is { } scan && !ReferenceEquals(scan, entry.Scan))
        {
            entry.Scan = scan;
            entry.Insight = entry.Inspection.WithScan(scan).ToInsight();
        }

        return entry.Insight;
    }

    public void Forget(int pid)
    {
        _entries.Remove(pid);
        scans?.Forget(pid);
    }

    private sealed class Entry(ProcessInspection inspection, long inspectedAt)
    {
        public ProcessInspection Inspection { get; } = inspection;

        public long InspectedAt { get; } = inspectedAt;

        public GpuCodeScanResult? Scan { get; set; }

        public ProcessInsight Insight { get; set; } = inspection.ToInsight();
    }
}

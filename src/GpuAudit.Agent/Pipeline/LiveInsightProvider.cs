using GpuAudit.Core.Inspection;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Samples;
using GpuAudit.Linux;

namespace GpuAudit.Agent.Pipeline;

/// <summary>
/// Insight on a live node: /proc inspection (identity, job, libraries, sockets and tunnels in the
/// process tree) when a process is first seen and again every <c>refresh</c> — a tunnel or a pool
/// connection can open long after the process started — merged with the latest result of the
/// background GPU code scan. Inspections and scans both run in the background: the poll thread
/// only reads their latest results and asks for new ones, so what a process does to /proc (a huge
/// tree, a million descriptors, a held read) never delays a poll. A process seen for the first
/// time, or a pid whose start time changed (the kernel reused it for another process), is
/// inspected at once; until then its insight is what its identity alone says (the record the source
/// captured with <see cref="ProcessInspector.Describe"/>'s bounded read, analysed as on replay),
/// never the previous process's.
/// </summary>
public sealed class LiveInsightProvider(BackgroundInspector inspections, GpuCodeScanService? scans, TimeProvider time, TimeSpan refresh) : IProcessInsightProvider
{
    private readonly Dictionary<int, Entry> _entries = [];
    private readonly Dictionary<int, (ProcessRecord Identity, ProcessInsight Insight)> _fromIdentity = [];

    public ProcessInsight? GetInsight(int pid, ProcessRecord? identity)
    {
        var now = time.GetTimestamp();
        _entries.TryGetValue(pid, out var entry);
        if (entry is not null && !SameProcess(entry.Inspection, identity))
        {
            // A reused pid: everything known belongs to the process that had it before.
            Forget(pid);
            entry = null;
        }

        if (inspections.Latest(pid) is { } latest && !ReferenceEquals(latest, entry?.Inspection) && SameProcess(latest, identity))
        {
            entry = new Entry(latest, now);
            _entries[pid] = entry;
            _fromIdentity.Remove(pid);
            scans?.Request(pid);
        }

        if (entry is null)
        {
            inspections.Request(pid, urgent: true);
            return FromIdentity(pid, identity);
        }

        if (time.GetElapsedTime(entry.InspectedAt, now) >= refresh)
        {
            inspections.Request(pid, urgent: false);
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
        _fromIdentity.Remove(pid);
        inspections.Forget(pid);
        scans?.Forget(pid);
    }

    // Until the inspection is in: the identity's own evidence, one object per identity (the
    // classifier re-reads an insight only when it is a new one).
    private ProcessInsight? FromIdentity(int pid, ProcessRecord? identity)
    {
        if (identity is null)
        {
            return null;
        }

        if (_fromIdentity.TryGetValue(pid, out var known) && ReferenceEquals(known.Identity, identity))
        {
            return known.Insight;
        }

        var insight = ProcessAnalyzer.Analyze(identity);
        _fromIdentity[pid] = (identity, insight);
        return insight;
    }

    // Unknown start times (a source that cannot tell) count as the same process.
    private static bool SameProcess(ProcessInsight inspection, ProcessRecord? identity) =>
        identity?.StartTicks is not { } start || inspection.Identity.StartTicks is not { } inspected || start == inspected;

    private sealed class Entry(ProcessInsight inspection, long inspectedAt)
    {
        public ProcessInsight Inspection { get; } = inspection;

        public long InspectedAt { get; } = inspectedAt;

        public GpuCodeScanResult? Scan { get; set; }

        public ProcessInsight Insight { get; set; } = inspection;
    }
}

using GpuAudit.Core.Inspection;
using GpuAudit.Core.Kernels;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Samples;
using GpuAudit.Linux;

namespace GpuAudit.Agent.Pipeline;

/// <summary>
/// Insight on a live node: /proc inspection (identity, job, libraries, sockets and tunnels in the
/// process tree) when a process is first seen and again every <c>refresh</c> — a tunnel or a pool
/// connection can open long after the process started — merged with the latest result of the
/// background GPU code scan and, when the kernel ledger runs, with what the process launched
/// (its kernels, and the evidence they carry). The poll thread only reads caches and enqueues
/// scan and watch requests. It is also the live source's <see cref="IProcessDescriber"/>: a new
/// pid's /proc is read once, for its trace identity and its insight together.
/// </summary>
public sealed class LiveInsightProvider(ProcessInspector inspector, GpuCodeScanService? scans, TimeProvider time, TimeSpan refresh, IKernelLedgerView? ledger = null) : IProcessInsightProvider, IProcessDescriber
{
    private readonly Dictionary<int, Entry> _entries = [];
    private readonly Dictionary<int, ProcessUsage> _usage = [];
    private readonly DriverBypassRule _bypass = new();

    public ProcessRecord? Describe(int pid) => Current(pid)?.Inspection.Identity;

    public void ObserveUsage(ProcessUsage usage) => _usage[usage.Pid] = usage;

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

        return ledger is null ? entry.Insight : WithKernels(pid, entry);
    }

    public void Forget(int pid)
    {
        _entries.Remove(pid);
        _usage.Remove(pid);
        _bypass.Forget(pid);
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

        // A re-inspection keeps the scan's evidence: the scan result it merged may not change again.
        entry = new Entry(inspection, now) { Scan = entry?.Scan };
        if (entry.Scan is { } kept)
        {
            entry.Insight = kept.AddTo(inspection);
        }

        _entries[pid] = entry;
        scans?.Request(pid);
        return entry;
    }

    /// <summary>The insight with the process's kernels and their evidence, rebuilt when the ledger publishes a new snapshot.</summary>
    private ProcessInsight WithKernels(int pid, Entry entry)
    {
        ledger!.Watch(pid);
        var snapshot = ledger.Snapshot;
        var kernels = snapshot.Processes.GetValueOrDefault(pid);
        var usage = _usage.GetValueOrDefault(pid);
        var bypass = _bypass.Observe(pid, time.GetUtcNow(), usage.Pid == pid ? usage.SmPct : null, snapshot.CoveredSince.TryGetValue(pid, out var since) ? since : null, kernels, entry.Insight.Comm);
        if (entry.WithLedger is { } cached && ReferenceEquals(entry.LedgerSnapshot, snapshot) && ReferenceEquals(entry.LedgerBase, entry.Insight) && entry.Bypass == bypass)
        {
            return cached;
        }

        List<ProcessFinding> findings = kernels is null ? [] : [.. KernelEvidence.Findings(kernels)];
        if (bypass is not null)
        {
            findings.Add(bypass);
        }

        entry.LedgerSnapshot = snapshot;
        entry.LedgerBase = entry.Insight;
        entry.Bypass = bypass;
        entry.WithLedger = entry.Insight.With(findings, []) with { Kernels = kernels };
        return entry.WithLedger;
    }

    private sealed class Entry(ProcessInsight inspection, long inspectedAt)
    {
        public ProcessInsight Inspection { get; } = inspection;

        public long InspectedAt { get; } = inspectedAt;

        public GpuCodeScanResult? Scan { get; set; }

        public ProcessInsight Insight { get; set; } = inspection;

        public KernelLedgerSnapshot? LedgerSnapshot { get; set; }

        public ProcessInsight? LedgerBase { get; set; }

        public ProcessFinding? Bypass { get; set; }

        public ProcessInsight? WithLedger { get; set; }
    }
}

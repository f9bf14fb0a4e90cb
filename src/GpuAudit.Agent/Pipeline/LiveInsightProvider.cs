using GpuAudit.Core.Inspection;
using GpuAudit.Core.Kernels;
using GpuAudit.Linux;

namespace GpuAudit.Agent.Pipeline;

/// <summary>
/// Insight on a live node: /proc inspection (identity, job, libraries, sockets and tunnels in the
/// process tree) when a process is first seen and again every <c>refresh</c> — a tunnel or a pool
/// connection can open long after the process started — merged with the latest result of the
/// background GPU code scan and, when the kernel ledger runs, with what the process launched (its
/// kernels, and the evidence they carry). Inspections and scans both run in the background: the poll thread
/// only reads their latest results and asks for new ones, so what a process does to /proc (a huge
/// tree, a million descriptors, a held read) never delays a poll. A process seen for the first
/// time, or a pid whose start time changed (the kernel reused it for another process), is
/// inspected at once; until then its insight is what its identity alone says (the record the source
/// captured with <see cref="ProcessInspector.Describe"/>'s bounded read, analysed as on replay),
/// never the previous process's.
/// </summary>
public sealed class LiveInsightProvider(BackgroundInspector inspections, GpuCodeScanService? scans, TimeProvider time, TimeSpan refresh, IKernelLedgerView? ledger = null) : IProcessInsightProvider
{
    private readonly Dictionary<int, Entry> _entries = [];
    private readonly Dictionary<int, (ProcessRecord Identity, ProcessInsight Insight)> _fromIdentity = [];
    private readonly Dictionary<int, ProcessUsage> _usage = [];
    private readonly DriverBypassRule _bypass = new();

    public void ObserveUsage(ProcessUsage usage) => _usage[usage.Pid] = usage;

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
            ledger?.Watch(pid);
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

        return ledger is null ? entry.Insight : WithKernels(pid, entry);
    }

    public void Forget(int pid)
    {
        _entries.Remove(pid);
        _fromIdentity.Remove(pid);
        _usage.Remove(pid);
        _bypass.Forget(pid);
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

    // Unknown start times (a source that cannot tell) count as the same process.
    private static bool SameProcess(ProcessInsight inspection, ProcessRecord? identity) =>
        identity?.StartTicks is not { } start || inspection.Identity.StartTicks is not { } inspected || start == inspected;

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

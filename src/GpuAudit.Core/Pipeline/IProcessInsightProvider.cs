using GpuAudit.Core.Inspection;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Pipeline;

/// <summary>
/// Supplies what is known about a GPU process beyond its counters: from /proc on a live node,
/// from the trace's process line on replay. Must be cheap: it is asked on every tick, so
/// implementations cache and do slow work (memory scans) in the background, and return the same
/// object while nothing changed (the classifier re-reads an insight only when it is a new one).
/// </summary>
public interface IProcessInsightProvider
{
    ProcessInsight? GetInsight(int pid, ProcessRecord? identity);

    /// <summary>The process left every GPU: drop what is cached about it.</summary>
    void Forget(int pid);
}

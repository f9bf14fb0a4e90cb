using GpuAudit.Core.Inspection;
using GpuAudit.Core.Samples;

namespace GpuAudit.Agent.Pipeline;

/// <summary>
/// Supplies what is known about a GPU process beyond its counters: from /proc on a live node,
/// from the trace's process line on replay. Must be cheap: it is asked on every tick, so
/// implementations cache and do slow work (memory scans) in the background.
/// </summary>
public interface IProcessInsightProvider
{
    ProcessInsight? GetInsight(int pid, ProcessRecord? identity);

    /// <summary>The process left every GPU: drop what is cached about it.</summary>
    void Forget(int pid);
}

/// <summary>Insight from the identity captured in a trace's process line (pure analysis, cached).</summary>
public sealed class RecordedInsightProvider : IProcessInsightProvider
{
    private readonly Dictionary<int, ProcessInsight> _cache = [];

    public ProcessInsight? GetInsight(int pid, ProcessRecord? identity)
    {
        if (_cache.TryGetValue(pid, out var insight))
        {
            return insight;
        }

        if (identity is null)
        {
            return null;
        }

        insight = ProcessRecordAnalyzer.Analyze(identity);
        _cache[pid] = insight;
        return insight;
    }

    public void Forget(int pid) => _cache.Remove(pid);
}

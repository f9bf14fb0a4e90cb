using GpuAudit.Core.Inspection;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Pipeline;

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

        insight = ProcessAnalyzer.Analyze(identity);
        _cache[pid] = insight;
        return insight;
    }

    public void Forget(int pid) => _cache.Remove(pid);
}

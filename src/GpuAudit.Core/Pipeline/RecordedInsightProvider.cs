using GpuAudit.Core.Inspection;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Pipeline;

/// <summary>
/// Insight from the identity captured in a trace's process line (pure analysis, cached per record:
/// a second process line for a pid — the kernel reused it — is a new process with its own insight).
/// </summary>
public sealed class RecordedInsightProvider : IProcessInsightProvider
{
    private readonly Dictionary<int, (ProcessRecord Identity, ProcessInsight Insight)> _cache = [];

    public ProcessInsight? GetInsight(int pid, ProcessRecord? identity)
    {
        if (_cache.TryGetValue(pid, out var cached) && (identity is null || ReferenceEquals(cached.Identity, identity)))
        {
            return cached.Insight;
        }

        if (identity is null)
        {
            return null;
        }

        var insight = ProcessAnalyzer.Analyze(identity);
        _cache[pid] = (identity, insight);
        return insight;
    }

    public void Forget(int pid) => _cache.Remove(pid);
}

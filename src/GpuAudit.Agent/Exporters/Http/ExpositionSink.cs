using GpuAudit.Core.Pipeline;

namespace GpuAudit.Agent.Exporters.Http;

/// <summary>
/// The last sink of every tick: renders the exposition once every sink before it has published
/// (violations, GPU and process series, journal health), so /metrics always shows whole ticks.
/// </summary>
public sealed class ExpositionSink(ExpositionCache cache) : IAnalysisSink
{
    public void OnTick(TickAnalysis analysis, TimeSpan pollDuration) => cache.Render();
}

using GpuAudit.Core.Pipeline;

namespace GpuAudit.Agent.Exporters.Http;

/// <summary>
/// Brackets the sinks that publish a tick to the registry, so /metrics always shows whole
/// ticks (<see cref="ExpositionCache"/>): <see cref="Opening"/> goes before the first of them,
/// <see cref="Closing"/> after the last. The runner calls every non-journal sink even when one
/// before it throws, so a tick that opened is closed.
/// </summary>
public sealed class ExpositionSink : IAnalysisSink
{
    private readonly ExpositionCache _cache;
    private readonly bool _opens;

    private ExpositionSink(ExpositionCache cache, bool opens)
    {
        _cache = cache;
        _opens = opens;
    }

    public static ExpositionSink Opening(ExpositionCache cache) => new(cache, opens: true);

    public static ExpositionSink Closing(ExpositionCache cache) => new(cache, opens: false);

    public void OnTick(TickAnalysis analysis, TimeSpan pollDuration)
    {
        if (_opens)
        {
            _cache.BeginTick();
        }
        else
        {
            _cache.EndTick();
        }
    }
}

using System.Diagnostics;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Pipeline;

/// <summary>
/// The poll loop shared by `agent`, `replay` and `demo`: await the source's next tick, analyse
/// it, hand the analysis to each sink in order. A sink that throws is reported and the loop goes
/// on: one broken exporter must not blind the auditor.
/// </summary>
public sealed class AuditRunner(ISampleSource source, AuditPipeline pipeline, IReadOnlyList<IAnalysisSink> sinks, Action<string>? warn = null)
{
    private TickAnalysis? _latest;

    /// <summary>The latest analysis, for readers on other threads (console summary, health).</summary>
    public TickAnalysis? Latest => Volatile.Read(ref _latest);

    public long Ticks { get; private set; }

    /// <summary>Runs until the source ends (end of replay) or cancellation.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Tick? tick;
            try
            {
                tick = await source.NextAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            if (tick is null)
            {
                return;
            }

            var started = Stopwatch.GetTimestamp();
            var analysis = pipeline.Process(tick);
            Volatile.Write(ref _latest, analysis);
            var duration = Stopwatch.GetElapsedTime(started);
            foreach (var sink in sinks)
            {
                try
                {
                    sink.OnTick(analysis, duration);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    warn?.Invoke($"{sink.GetType().Name} failed on the tick at t={analysis.Time:F3}: {e.Message}");
                }
            }

            Ticks++;
        }
    }
}

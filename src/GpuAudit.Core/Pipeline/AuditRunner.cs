using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Pipeline;

/// <summary>
/// The poll loop shared by `agent`, `replay`, `demo` and `classify`: await the source's next tick,
/// analyse it, hand the analysis to each sink. Journal sinks (<see cref="IJournalSink"/>) run
/// first; when one throws, the tick's other sinks are skipped, so no exporter shows a violation
/// the journal could lose. Any other sink that throws is reported and the loop goes on: one broken
/// exporter must not blind the auditor.
/// </summary>
public sealed class AuditRunner
{
    private readonly ISampleSource _source;
    private readonly AuditPipeline _pipeline;
    private readonly IAnalysisSink[] _sinks;
    private readonly int _journalSinks;
    private readonly TimeProvider _time;
    private readonly Action<string>? _warn;
    private TickAnalysis? _latest;

    /// <param name="time">Times each tick's analysis (the duration handed to the sinks).</param>
    public AuditRunner(ISampleSource source, AuditPipeline pipeline, IReadOnlyList<IAnalysisSink> sinks, TimeProvider time, Action<string>? warn = null)
    {
        _source = source;
        _pipeline = pipeline;
        _time = time;
        _warn = warn;

        // Journal sinks first (in their given order), then the rest (in theirs).
        var ordered = new List<IAnalysisSink>(sinks.Count);
        foreach (var sink in sinks)
        {
            if (sink is IJournalSink)
            {
                ordered.Add(sink);
            }
        }

        _journalSinks = ordered.Count;
        foreach (var sink in sinks)
        {
            if (sink is not IJournalSink)
            {
                ordered.Add(sink);
            }
        }

        _sinks = [.. ordered];
    }

    /// <summary>
    /// Let a sink's exception end the run instead of reporting it and going on: for offline
    /// analysis (`classify`), where a half-written result is worse than an error.
    /// </summary>
    public bool StopOnSinkFailure { get; init; }

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
                tick = await _source.NextAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            if (tick is null)
            {
                return;
            }

            var started = _time.GetTimestamp();
            var analysis = _pipeline.Process(tick);
            Volatile.Write(ref _latest, analysis);
            Deliver(analysis, _time.GetElapsedTime(started));
            Ticks++;
        }
    }

    private void Deliver(TickAnalysis analysis, TimeSpan duration)
    {
        for (var i = 0; i < _sinks.Length; i++)
        {
            try
            {
                _sinks[i].OnTick(analysis, duration);
            }
            catch (Exception e) when (e is not OperationCanceledException && !StopOnSinkFailure)
            {
                if (i < _journalSinks)
                {
                    _warn?.Invoke($"{_sinks[i].GetType().Name} failed on the tick at t={analysis.Time:F3}: {e.Message}; nothing of this tick is exported");
                    return;
                }

                _warn?.Invoke($"{_sinks[i].GetType().Name} failed on the tick at t={analysis.Time:F3}: {e.Message}");
            }
        }
    }
}

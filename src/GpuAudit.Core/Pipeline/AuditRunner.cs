using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Pipeline;

/// <summary>
/// The poll loop shared by `agent`, `replay`, `demo` and `classify`: await the source's next tick,
/// analyse it, hand the analysis to each sink. Journal sinks (<see cref="IJournalSink"/>) run
/// first; when one throws, the tick's other sinks are skipped, so no exporter shows a violation
/// the journal could lose. Any other sink that throws is reported and the loop goes on: one broken
/// exporter must not blind the auditor.
/// <para>
/// With an <see cref="AnalysisInterval"/>, the ticks are sampled at the source's rate but analysed
/// in batches, back to back, once per interval of sample time. Each tick is analysed with its own
/// time and in its order, so the analyses are the ones made tick by tick; they reach the sinks up to
/// one interval later. Why: at 1 Hz a tick finds its code and data out of the processor's caches and
/// costs about twice what it costs warm (docs/performance.md, "Analysis in batches"); a batch pays
/// that once. What cannot wait for the batch (a new process's inspection) is asked for as each tick
/// arrives (<see cref="AuditPipeline.Admit"/>).
/// </para>
/// </summary>
public sealed class AuditRunner
{
    private readonly ISampleSource _source;
    private readonly AuditPipeline _pipeline;
    private readonly IAnalysisSink[] _sinks;
    private readonly int _journalSinks;
    private readonly TimeProvider _time;
    private readonly Action<string>? _warn;
    private readonly List<Tick> _pending = [];
    private int _pendingProcesses;
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

    /// <summary>
    /// Sample time a batch of ticks may span before it is analysed (zero: each tick as it comes). The
    /// ticks still pending when the source ends or the run is cancelled are analysed before the run
    /// returns.
    /// </summary>
    public TimeSpan AnalysisInterval { get; init; }

    /// <summary>Ticks held at most, whatever their times say (a source whose clock stands still).</summary>
    public const int MaxPendingTicks = 3600;

    /// <summary>
    /// Process samples held at most: a batch ends early once its ticks hold this many, so what
    /// batching keeps in memory does not grow with the node (or with processes an adversary starts).
    /// A node of 8 GPUs x 512 processes is analysed tick by tick; held, its ticks outlive the young
    /// generation and raised the peak resident set by 5 MB at 10 s (docs/performance.md).
    /// </summary>
    public const int MaxPendingProcesses = 4096;

    /// <summary>The latest analysis, for readers on other threads (console summary, health).</summary>
    public TickAnalysis? Latest => Volatile.Read(ref _latest);

    public long Ticks { get; private set; }

    /// <summary>Runs until the source ends (end of replay) or cancellation.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
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

                if (AnalysisInterval <= TimeSpan.Zero)
                {
                    Analyse(tick);
                    continue;
                }

                _pipeline.Admit(tick);
                _pending.Add(tick);
                _pendingProcesses += ProcessesIn(tick);
                if (BatchIsDue(tick))
                {
                    AnalysePending();
                }
            }
        }
        finally
        {
            // Nothing sampled is lost to a stop: what is pending is analysed and delivered now.
            AnalysePending();
        }
    }

    // A tolerance of a twentieth of a second keeps a 1 s poll with jitter from adding a tick to the batch.
    private bool BatchIsDue(Tick newest)
    {
        var first = _pending[0].Time;
        return newest.Time - first >= AnalysisInterval.TotalSeconds - 0.05 || newest.Time < first
            || _pending.Count >= MaxPendingTicks || _pendingProcesses >= MaxPendingProcesses;
    }

    private static int ProcessesIn(Tick tick)
    {
        var count = 0;
        var samples = tick.Samples;
        for (var i = 0; i < samples.Count; i++)
        {
            count += samples[i].Procs.Count;
        }

        return count;
    }

    private void AnalysePending()
    {
        try
        {
            for (var i = 0; i < _pending.Count; i++)
            {
                Analyse(_pending[i]);
            }
        }
        finally
        {
            // Cleared even when a tick's analysis throws, so no tick is analysed twice.
            _pending.Clear();
            _pendingProcesses = 0;
        }
    }

    private void Analyse(Tick tick)
    {
        var started = _time.GetTimestamp();
        var analysis = _pipeline.Process(tick);
        Volatile.Write(ref _latest, analysis);
        Deliver(analysis, _time.GetElapsedTime(started));
        Ticks++;
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

using GpuAudit.Agent.Journal;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Policy;
using GpuAudit.Core.Summaries;

namespace GpuAudit.Agent.Violations;

/// <summary>
/// The policy and journal stage of the pipeline: evaluates each tick, journals what opened or
/// closed before exporting it, writes per-minute summaries, and prunes the journal to the
/// retention once per hour of tick time (tick time, so a replay of an old trace keeps its rows).
/// Dispose writes the current minute.
/// </summary>
public sealed class AuditTrailSink : IAnalysisSink, IDisposable
{
    /// <summary>Suggested journal retention when none is configured.</summary>
    public static readonly TimeSpan DefaultRetention = TimeSpan.FromDays(90);

    private const double PruneEverySeconds = 3600;

    private readonly PolicyEngine _engine;
    private readonly AuditJournal _journal;
    private readonly ViolationPublisher _publisher;
    private readonly MinuteSummarizer _summarizer;
    private readonly TimeSpan _retention;
    private double _lastPrune = double.MinValue;

    public AuditTrailSink(AuditPolicy policy, string node, AuditJournal journal, ViolationMetrics metrics, TimeSpan retention)
    {
        _engine = new PolicyEngine(policy, node);
        _journal = journal;

        // The policy starts with nothing open: what a previous run left open is closed, not orphaned.
        journal.CloseLeftOpen(node);
        _publisher = new ViolationPublisher(journal, metrics);
        _summarizer = new MinuteSummarizer(node);
        _retention = retention;
    }

    /// <summary>Raised after each tick's violations are journalled and on /metrics (for other exporters).</summary>
    public event Action<PolicyResult>? Published;

    /// <summary>Violations open after the last tick.</summary>
    public IReadOnlyList<Violation> Active { get; private set; } = [];

    public void OnTick(TickAnalysis analysis, TimeSpan pollDuration)
    {
        var result = _engine.Evaluate(analysis);
        _publisher.Publish(result);
        Active = result.Active;
        if (result.Opened.Count > 0 || result.Closed.Count > 0)
        {
            Published?.Invoke(result);
        }

        _journal.Record(_summarizer.Add(analysis));
        if (analysis.Time - _lastPrune >= PruneEverySeconds)
        {
            _journal.Prune(analysis.Time - _retention.TotalSeconds);
            _lastPrune = analysis.Time;
        }
    }

    public void Dispose() => _journal.Record(_summarizer.Flush());
}

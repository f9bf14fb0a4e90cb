using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Summaries;

namespace GpuAudit.Agent.Journal;

/// <summary>
/// Writes the per-minute summaries of GPUs, processes and jobs to the journal as each minute
/// completes, and keeps the journal within its retention: once per hour of tick time it prunes
/// what is older than the retention (tick time, so a replay of an old trace keeps its own rows).
/// Dispose writes the current minute.
/// </summary>
public sealed class MinuteSummarySink(AuditJournal journal, string node, TimeSpan retention) : IAnalysisSink, IDisposable
{
    /// <summary>Journal retention when none is configured.</summary>
    public static readonly TimeSpan DefaultRetention = TimeSpan.FromDays(90);

    private const double PruneEverySeconds = 3600;

    private readonly MinuteSummarizer _summarizer = new(node);
    private double _lastPrune = double.MinValue;

    public void OnTick(TickAnalysis analysis, TimeSpan pollDuration)
    {
        journal.Record(_summarizer.Add(analysis));
        if (analysis.Time - _lastPrune >= PruneEverySeconds)
        {
            journal.Prune(analysis.Time - retention.TotalSeconds);
            _lastPrune = analysis.Time;
        }
    }

    /// <summary>Writes the minutes still open (once the source has ended, before a report is read from the journal).</summary>
    public void Flush() => journal.Record(_summarizer.Flush());

    public void Dispose() => Flush();
}

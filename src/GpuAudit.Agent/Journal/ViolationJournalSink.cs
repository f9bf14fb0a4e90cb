using GpuAudit.Core.Pipeline;

namespace GpuAudit.Agent.Journal;

/// <summary>
/// Writes each tick's opened and closed violations to the journal. It is the pipeline's
/// <see cref="IJournalSink"/>: the runner calls it before every exporter and skips the exporters
/// of a tick whose write throws, so /metrics and OTLP never show a violation a crash could lose.
/// </summary>
public sealed class ViolationJournalSink : IJournalSink
{
    private readonly AuditJournal _journal;

    public ViolationJournalSink(AuditJournal journal, string? node)
    {
        _journal = journal;

        // The policy starts with nothing open: what a previous run left open is closed, not orphaned.
        journal.CloseLeftOpen(node);
    }

    public void OnTick(TickAnalysis analysis, TimeSpan pollDuration) => _journal.Record(analysis.Policy);
}

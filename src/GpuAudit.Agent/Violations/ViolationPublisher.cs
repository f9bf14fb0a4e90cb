using GpuAudit.Agent.Journal;
using GpuAudit.Core.Policy;
using GpuAudit.Core.Summaries;

namespace GpuAudit.Agent.Violations;

/// <summary>
/// The one place a policy result leaves the pipeline: journal first (durable on return), then
/// /metrics. If the journal write throws, nothing is exported, so /metrics never shows a
/// violation a crash could lose.
/// </summary>
public sealed class ViolationPublisher(AuditJournal journal, ViolationMetrics metrics)
{
    public void Publish(PolicyResult result)
    {
        journal.Record(result);
        metrics.Publish(result);
    }
}

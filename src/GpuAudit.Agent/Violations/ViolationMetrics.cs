using System.Globalization;
using GpuAudit.Agent.Exporters;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Policy;

namespace GpuAudit.Agent.Violations;

/// <summary>
/// <c>gpuaudit_violations_total{rule,severity}</c> and
/// <c>gpuaudit_violation_active{rule,severity,uuid,pid,job_id}</c> (docs/metrics.md) from each tick's
/// policy result. Allowed findings are not violations: they are journalled and reported, never
/// counted or alerted on. The families themselves are registered by <see cref="GpuAuditMetrics"/>.
/// </summary>
public sealed class ViolationMetrics : IAnalysisSink
{
    private readonly GpuAuditMetrics metrics;

    public ViolationMetrics(GpuAuditMetrics metrics)
    {
        this.metrics = metrics;

        // Every rule's counter exists from the start at 0, so increase() counts the first violation.
        foreach (var rule in Enum.GetValues<PolicyRule>())
        {
            metrics.ViolationsTotal.WithLabels(rule.Label(), rule.SeverityOf().Label()).Publish();
        }
    }

    public void OnTick(TickAnalysis analysis, TimeSpan pollDuration)
    {
        // Almost every tick changes nothing: no enumerator, no work.
        if (analysis.Policy.HasChanges)
        {
            Publish(analysis.Policy);
        }
    }

    public void Publish(PolicyResult result)
    {
        foreach (var violation in result.Opened)
        {
            if (!violation.IsAllowed)
            {
                metrics.ViolationsTotal.WithLabels(violation.Rule.Label(), violation.Severity.Label()).Inc();
                metrics.ViolationActive.WithLabels(Labels(violation)).Set(1);
            }
        }

        foreach (var violation in result.Closed)
        {
            if (!violation.IsAllowed)
            {
                metrics.ViolationActive.RemoveLabelled(Labels(violation));
            }
        }
    }

    private static string[] Labels(Violation v) =>
        [v.Rule.Label(), v.Severity.Label(), v.Uuid, v.Pid?.ToString(CultureInfo.InvariantCulture) ?? "", v.Job ?? ""];
}

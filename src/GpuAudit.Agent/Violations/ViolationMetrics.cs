using System.Globalization;
using GpuAudit.Agent.Exporters;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Policy;

namespace GpuAudit.Agent.Violations;

/// <summary>
/// <c>gpuaudit_violations_total{rule,severity}</c>,
/// <c>gpuaudit_violation_active{rule,severity,uuid,pid,job_id}</c> and
/// <c>gpuaudit_gpu_diverted_seconds_total{uuid,job_id}</c> (docs/metrics.md) from each tick's
/// policy result. Allowed findings are not violations: they are journalled and reported, never
/// counted or alerted on. The families themselves are registered by <see cref="GpuAuditMetrics"/>.
/// </summary>
public sealed class ViolationMetrics : IAnalysisSink
{
    private readonly GpuAuditMetrics metrics;
    private readonly Dictionary<string, string> gpuJobs = [];

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
        foreach (var gpu in analysis.GpuSpan)
        {
            StartDivertedSeries(gpu.Device.Uuid, gpu.AllocatedJob?.Id);
        }

        // Almost every tick changes nothing: no enumerator, no work.
        if (analysis.Policy.HasChanges || analysis.Policy.Diverted.Count > 0)
        {
            Publish(analysis.Policy);
        }
    }

    /// <summary>
    /// The diverted counter of a GPU's job exists at 0 from when the GPU is given to the job, so
    /// increase() counts the backlog a violation adds when it opens; it goes when the GPU changes job.
    /// </summary>
    private void StartDivertedSeries(string uuid, string? job)
    {
        gpuJobs.TryGetValue(uuid, out var previous);
        if (previous == job)
        {
            return;
        }

        if (previous is not null)
        {
            metrics.DivertedSecondsTotal.RemoveLabelled(uuid, previous);
        }

        if (job is null)
        {
            gpuJobs.Remove(uuid);
            return;
        }

        gpuJobs[uuid] = job;
        metrics.DivertedSecondsTotal.WithLabels(uuid, job).Publish();
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

        // The policy's one definition of diverted GPU time (DivertedTime), so increase() over a job's
        // window gives what its journal report says.
        foreach (var diverted in result.Diverted)
        {
            metrics.DivertedSecondsTotal.WithLabels(diverted.Uuid, diverted.Job ?? "").Inc(diverted.Seconds);
        }
    }

    private static string[] Labels(Violation v) =>
        [v.Rule.Label(), v.Severity.Label(), v.Uuid, v.Pid?.ToString(CultureInfo.InvariantCulture) ?? "", v.Job ?? ""];
}

using System.Globalization;
using GpuAudit.Core.Policy;
using Prometheus;

namespace GpuAudit.Agent.Violations;

/// <summary>
/// <c>gpuaudit_violations_total{rule,severity}</c> and
/// <c>gpuaudit_violation_active{rule,severity,uuid,pid,job}</c> (docs/metrics.md). Allowed findings
/// are not violations: they are journalled and reported, never counted or alerted on.
/// </summary>
public sealed class ViolationMetrics
{
    private readonly Counter _opened;
    private readonly Gauge _active;

    public ViolationMetrics(CollectorRegistry registry)
    {
        var factory = Metrics.WithCustomRegistry(registry);
        _opened = factory.CreateCounter("gpuaudit_violations_total", "Violations opened.", new CounterConfiguration { LabelNames = ["rule", "severity"] });
        _active = factory.CreateGauge("gpuaudit_violation_active", "1 while a violation is open; gone when it closes.",
            new GaugeConfiguration { LabelNames = ["rule", "severity", "uuid", "pid", "job"] });
    }

    public void Publish(PolicyResult result)
    {
        foreach (var violation in result.Opened.Where(v => !v.IsAllowed))
        {
            _opened.WithLabels(violation.Rule.Label(), violation.Severity.Label()).Inc();
            _active.WithLabels(Labels(violation)).Set(1);
        }

        foreach (var violation in result.Closed.Where(v => !v.IsAllowed))
        {
            _active.RemoveLabelled(Labels(violation));
        }
    }

    private static string[] Labels(Violation v) =>
        [v.Rule.Label(), v.Severity.Label(), v.Uuid, v.Pid?.ToString(CultureInfo.InvariantCulture) ?? "", v.Job ?? ""];
}

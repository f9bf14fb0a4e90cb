namespace GpuAudit.Tests;

/// <summary>
/// Turns a recorded trace into the ticks the policy sees, with verdicts taken from the trace's
/// ground truth instead of the classifier: these tests check the policy, not the classifier.
/// </summary>
internal static class TruthTicks
{
    public static IEnumerable<TickAnalysis> From(RecordedTrace trace, JobRef? gpuJob)
    {
        var processes = trace.Processes.ToDictionary(p => p.Pid);
        var headerClass = trace.Header.Truth?.Class;
        foreach (var sample in trace.Samples)
        {
            var device = trace.Header.Gpus.Single(g => g.Index == sample.Gpu);
            var gpuClass = ClassOf(sample.Truth?.Class ?? headerClass);
            var views = sample.Procs.Select(usage =>
            {
                processes.TryGetValue(usage.Pid, out var identity);
                var processClass = ClassOf(identity?.Truth?.Class);
                return new ProcessView(sample.Gpu, device.Uuid, usage, identity, new ProcessInsight { Identity = identity ?? new ProcessRecord { Pid = usage.Pid } },
                    JobAttribution.Resolve(null, gpuJob), Verdict(sample.Time, sample.Gpu, usage.Pid, processClass));
            }).ToList();
            var gpu = new GpuView(device, sample, new CollectorStatus(sample.Gpu, true), Verdict(sample.Time, sample.Gpu, null, gpuClass), gpuJob, views);
            yield return new TickAnalysis(sample.Time, [gpu], views, PolicyResult.None);
        }
    }

    private static WorkloadClass ClassOf(string? label) =>
        WorkloadClassNames.TryParse(label, out var value) ? value : WorkloadClass.Unknown;

    private static Verdict Verdict(double time, int gpu, int? pid, WorkloadClass value) =>
        new(time, gpu, pid, value, 0.9, ["truth class " + value.Label()]);
}

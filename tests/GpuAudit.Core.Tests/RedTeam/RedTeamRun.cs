namespace GpuAudit.Core.Tests.RedTeam;

/// <summary>One GPU of a red-team node: its derived trace and the job the scheduler's map gives it.</summary>
internal sealed record RedTeamGpu(Derived Trace, JobRef? Job = null);

/// <summary>What the agent's pipeline (classifier, attribution, policy) made of a red-team node.</summary>
internal sealed record RedTeamResult(
    IReadOnlyList<double> Times,
    IReadOnlyList<Violation> Opened,
    IReadOnlyList<IReadOnlyList<Violation>> ActiveByTick,
    IReadOnlyList<IReadOnlyList<WorkloadClass?>> GpuClassByTick,
    double DivertedSeconds)
{
    public IEnumerable<Violation> Critical => Opened.Where(v => v.Severity == Severity.Critical && !v.IsAllowed);

    /// <summary>The first tick at which GPU <paramref name="gpu"/> had been classed hash for <paramref name="seconds"/> in a row, or -1.</summary>
    public int HashedFor(int gpu, double seconds)
    {
        double? since = null;
        for (var t = 0; t < GpuClassByTick.Count; t++)
        {
            since = GpuClassByTick[t][gpu] == WorkloadClass.Hash ? since ?? Times[t] : null;
            if (Times[t] - since >= seconds)
            {
                return t;
            }
        }

        return -1;
    }
}

/// <summary>Runs derived traces through the same <see cref="AuditPipeline"/> the agent runs, one tick per distinct frame time.</summary>
internal static class RedTeamRun
{
    public static readonly JobRef TrainingJob = new("4242", JobSources.GpuMap, "alice") { Purpose = JobPurpose.Training };

    public static RecordedTrace Recording(string name) => RecordedTrace.Load(RepoPaths.Trace(name));

    public static Derived Of(string name) => AdversarialTraces.Of(Recording(name));

    public static RedTeamResult Run(Derived trace, JobRef? job, AuditPolicy? policy = null) => Run([new RedTeamGpu(trace, job)], policy);

    public static RedTeamResult Run(IReadOnlyList<RedTeamGpu> gpus, AuditPolicy? policy = null)
    {
        var devices = gpus.Select((g, i) => new GpuDevice(i, $"GPU-redteam-{i}", "NVIDIA H100 80GB HBM3", "580.159.04", 85520809984, true)).ToList();
        var pipeline = new AuditPipeline(devices, new RecordedInsightProvider(), new FixedJobMap(gpus.Select(g => g.Job).ToList()), new PolicyEngine(policy ?? AuditPolicy.Default, "redteam"));
        var opened = new List<Violation>();
        var active = new List<IReadOnlyList<Violation>>();
        var classes = new List<IReadOnlyList<WorkloadClass?>>();
        var diverted = 0.0;
        var times = new List<double>();
        var frames = gpus.SelectMany((g, i) => g.Trace.Frames.Select(f => (Gpu: i, Frame: f)))
            .GroupBy(x => Math.Round(x.Frame.Sample.Time, 3)).OrderBy(x => x.Key);
        foreach (var at in frames)
        {
            var samples = at.Select(x => x.Frame.Sample with { Gpu = x.Gpu, Time = at.Key }).ToList();
            var fresh = at.SelectMany(x => x.Frame.NewProcesses).ToList();
            var analysis = pipeline.Process(new Tick(at.Key, samples, fresh, [.. samples.Select(s => new CollectorStatus(s.Gpu, true))]));
            times.Add(at.Key);
            opened.AddRange(analysis.Policy.Opened);
            active.Add(analysis.Policy.Active);
            classes.Add([.. analysis.Gpus.Select(g => g.Verdict?.Class)]);
            diverted += analysis.Policy.Diverted.Sum(d => d.Seconds);
        }

        return new RedTeamResult(times, opened, active, classes, diverted);
    }

    private sealed class FixedJobMap(IReadOnlyList<JobRef?> jobs) : IGpuJobMap
    {
        public JobRef? JobFor(GpuDevice gpu) => gpu.Index < jobs.Count ? jobs[gpu.Index] : null;
    }
}

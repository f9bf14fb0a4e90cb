namespace GpuAudit.Core.Tests.Policy;

/// <summary>Ticks of one GPU built by hand, for rule-by-rule policy tests.</summary>
internal static class HandTicks
{
    public static readonly GpuDevice Device = new(0, "GPU-test-0", "NVIDIA H100 80GB HBM3", "580.159.04", 85520809984, true);

    /// <summary>A process; its job attribution is resolved against the GPU's allocation by <see cref="At"/>, as the pipeline does.</summary>
    public static ProcessView Process(int pid, WorkloadClass value, JobRef? ownJob = null, string exe = "/usr/bin/python3.12", params ProcessFinding[] findings) =>
        new(0, Device.Uuid, new ProcessUsage(pid, 1 << 30, 90, 10),
            new ProcessRecord { Pid = pid, Comm = Path.GetFileName(exe), Exe = exe },
            new ProcessInsight { Identity = new ProcessRecord { Pid = pid, Comm = Path.GetFileName(exe), Exe = exe }, Job = ownJob, User = "alice", Findings = findings },
            JobAttribution.Resolve(ownJob, null),
            new Verdict(0, 0, pid, value, 0.95, ["integer pipe 92%, tensor 0%"]));

    public static TickAnalysis At(double time, JobRef? allocated, WorkloadClass gpuClass, params ProcessView[] processes)
    {
        var sample = new GpuSample { Time = time, Gpu = 0, UtilGpuPct = gpuClass == WorkloadClass.Idle ? 0 : 100 };
        ProcessView[] views = [.. processes.Select(p => p with { Attribution = JobAttribution.Resolve(p.Insight?.Job, allocated) })];
        var gpu = new GpuView(Device, sample, new CollectorStatus(0, true), new Verdict(time, 0, null, gpuClass, 0.9, []), allocated, views);
        return new TickAnalysis(time, [gpu], views, PolicyResult.None);
    }
}

using GpuAudit.Core.Classification;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Tests.Policy;

/// <summary>Ticks of one GPU built by hand, for rule-by-rule policy tests.</summary>
internal static class HandTicks
{
    public static readonly GpuDevice Device = new(0, "GPU-test-0", "NVIDIA H100 80GB HBM3", "580.159.04", 85520809984, true);

    public static ProcessView Process(int pid, WorkloadClass value, JobRef? ownJob = null, string exe = "/usr/bin/python3.12", params ProcessFinding[] findings) =>
        new(0, Device.Uuid, new ProcessUsage(pid, 1 << 30, 90, 10),
            new ProcessRecord { Pid = pid, Comm = Path.GetFileName(exe), Exe = exe },
            new ProcessInsight { Pid = pid, Job = ownJob, User = "alice", Findings = findings },
            new Verdict(0, 0, pid, value, 0.95, ["integer pipe 92%, tensor 0%"]));

    public static TickAnalysis At(double time, JobRef? allocated, WorkloadClass gpuClass, params ProcessView[] processes)
    {
        var sample = new GpuSample { Time = time, Gpu = 0, UtilGpuPct = gpuClass == WorkloadClass.Idle ? 0 : 100 };
        var gpu = new GpuView(Device, sample, new CollectorStatus(0, true), new Verdict(time, 0, null, gpuClass, 0.9, []), allocated);
        return new TickAnalysis(time, [gpu], processes);
    }
}

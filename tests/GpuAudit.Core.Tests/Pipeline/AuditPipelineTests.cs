namespace GpuAudit.Core.Tests.Pipeline;

public sealed class AuditPipelineTests
{
    private static readonly GpuDevice[] Devices =
    [
        new(0, "GPU-pipeline-0", "NVIDIA H100 80GB HBM3", "580", 85520809984, true),
        new(1, "GPU-pipeline-1", "NVIDIA H100 80GB HBM3", "580", 85520809984, true),
    ];

    [Fact]
    public void Each_gpu_carries_its_own_processes_with_their_job_attribution()
    {
        var pipeline = new AuditPipeline(Devices, new RecordedInsightProvider(), new OneJobOnGpu0(), new PolicyEngine(AuditPolicy.Default, "n"));
        ProcessRecord[] processes =
        [
            new() { Pid = 10, Comm = "python3" },
            new() { Pid = 11, Comm = "python3", Cgroup = "0::/system.slice/slurmstepd.scope/job_99/step_0/user/task_0" },
            new() { Pid = 20, Comm = "python3" },
        ];

        var analysis = pipeline.Process(new Tick(
            100,
            [Sample(0, 10, 11), Sample(1, 20)],
            processes,
            [new CollectorStatus(0, true), new CollectorStatus(1, true)]));

        Assert.Equal([10, 11, 20], analysis.Processes.Select(p => p.Pid));
        Assert.Equal([10, 11], analysis.Gpus[0].Processes.Select(p => p.Pid));
        Assert.Equal([20], analysis.Gpus[1].Processes.Select(p => p.Pid));
        Assert.All(analysis.Gpus[1].Processes, p => Assert.Equal("GPU-pipeline-1", p.Uuid));
        Assert.Equal(("7", AttributionSource.GpuAllocation), (analysis.Gpus[0].Processes[0].Attribution.Job?.Id, analysis.Gpus[0].Processes[0].Attribution.Source));
        // A conflicting claim is accounted to the GPU map's job and kept as the claim (docs/policy.md, trust model).
        var conflict = analysis.Gpus[0].Processes[1].Attribution;
        Assert.Equal(("7", "99", AttributionSource.Conflict), (conflict.Job?.Id, conflict.Claimed?.Id, conflict.Source));
        Assert.Equal(AttributionSource.None, analysis.Gpus[1].Processes[0].Attribution.Source);
    }

    [Fact]
    public void The_policy_runs_in_the_pipeline_and_its_result_is_on_the_analysis()
    {
        var pipeline = new AuditPipeline(Devices, new RecordedInsightProvider(), NoJobMap.Instance, new PolicyEngine(AuditPolicy.Default, "n"));
        var miner = new ProcessRecord { Pid = 30, Comm = "xmrig", Exe = "/opt/xmrig/xmrig", Cmdline = "xmrig -o stratum+tcp://pool.example:3333" };

        var first = pipeline.Process(new Tick(100, [Sample(0, 30)], [miner], [new CollectorStatus(0, true)]));
        var second = pipeline.Process(new Tick(101, [Sample(0, 30)], [], [new CollectorStatus(0, true)]));

        var opened = Assert.Single(first.Policy.Opened, v => v.Rule == PolicyRule.MinerIdentity);
        Assert.Equal((30, "GPU-pipeline-0"), (opened.Pid, opened.Uuid));
        Assert.Contains(second.Policy.Active, v => v.Id == opened.Id);
        Assert.DoesNotContain(second.Policy.Opened, v => v.Id == opened.Id);
    }

    [Fact]
    public void A_gpu_whose_collector_is_down_has_no_sample_and_no_processes()
    {
        var pipeline = new AuditPipeline(Devices, new RecordedInsightProvider(), NoJobMap.Instance, new PolicyEngine(AuditPolicy.Default, "n"));
        pipeline.Process(new Tick(100, [Sample(0, 10), Sample(1, 20)], [], [new CollectorStatus(0, true), new CollectorStatus(1, true)]));

        var analysis = pipeline.Process(new Tick(101, [Sample(1, 20)], [], [new CollectorStatus(0, false, "GPU is lost"), new CollectorStatus(1, true)]));

        Assert.Null(analysis.Gpus[0].Sample);
        Assert.Empty(analysis.Gpus[0].Processes);
        Assert.Equal([20], analysis.Processes.Select(p => p.Pid));
    }

    [Fact]
    public void A_pid_forgotten_while_its_gpu_was_unread_comes_back_with_its_new_identity()
    {
        // GPU 0's reader is down long enough for pid 10 to be forgotten; the kernel reuses the pid
        // for another program, announced while GPU 0 is still unread. When GPU 0 is read again
        // with pid 10 at the same place, the new program's identity is the one on the analysis,
        // not the one GPU 0 last saw there.
        var pipeline = new AuditPipeline(Devices, new RecordedInsightProvider(), NoJobMap.Instance, new PolicyEngine(AuditPolicy.Default, "n")) { ForgetAfterTicks = 4 };
        var up = new[] { new CollectorStatus(0, true), new CollectorStatus(1, true) };
        var gpu0Down = new[] { new CollectorStatus(0, false, "GPU is lost"), new CollectorStatus(1, true) };
        pipeline.Process(new Tick(100, [Sample(0, 10), Sample(1, 20)], [new ProcessRecord { Pid = 10, Comm = "trainer" }], up));
        for (var t = 101; t < 140; t++)
        {
            ProcessRecord[] announced = t == 130 ? [new ProcessRecord { Pid = 10, Comm = "reused" }] : [];
            pipeline.Process(new Tick(t, [Sample(1, 20)], announced, gpu0Down));
        }

        var back = pipeline.Process(new Tick(140, [Sample(0, 10), Sample(1, 20)], [], up));

        Assert.Equal("reused", Assert.Single(back.Gpus[0].Processes).Identity?.Comm);
    }

    private static GpuSample Sample(int gpu, params int[] pids) => new()
    {
        Time = 100,
        Gpu = gpu,
        UtilGpuPct = 90,
        Procs = [.. pids.Select(pid => new ProcessUsage(pid, 1L << 30, 40, 10))],
    };

    private sealed class OneJobOnGpu0 : IGpuJobMap
    {
        public JobRef? JobFor(GpuDevice gpu) => gpu.Index == 0 ? new JobRef("7", "gpu-map", "alice") : null;
    }
}

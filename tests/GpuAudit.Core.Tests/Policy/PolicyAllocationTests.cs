namespace GpuAudit.Core.Tests.Policy;

/// <summary>
/// The policy engine runs on the poll thread for every process of every GPU at every tick, and a
/// miner that spreads over many processes makes every one of them hash-class evidence: what the
/// engine allocates per process and tick is garbage the agent pays for in GC pauses (issue 10).
/// </summary>
public sealed class PolicyAllocationTests
{
    private const int Gpus = 8;
    private const int ProcessesPerGpu = 32;

    [Fact]
    public void A_steady_tick_of_many_hash_processes_allocates_almost_nothing_per_process()
    {
        var engine = new PolicyEngine(AuditPolicy.Default, "node-a");

        // Past the 600 s horizon of the hash budget, so its ledgers have their final size and the
        // measured ticks are steady state: every violation open, nothing opening or closing.
        const int warmup = 700, measured = 200;
        var ticks = new TickAnalysis[warmup + measured];
        for (var t = 0; t < ticks.Length; t++)
        {
            ticks[t] = Tick(1000 + t);
        }

        for (var t = 0; t < warmup; t++)
        {
            engine.Evaluate(ticks[t]);
        }

        var result = engine.Evaluate(ticks[warmup]);
        Assert.Empty(result.Opened);
        Assert.Contains(result.Active, v => v.Rule == PolicyRule.HashCompute);
        Assert.Contains(result.Active, v => v.Rule == PolicyRule.UnattributedProcess);
        Assert.Contains(result.Active, v => v.Rule == PolicyRule.DivertedCompute);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var t = warmup + 1; t < ticks.Length; t++)
        {
            engine.Evaluate(ticks[t]);
        }

        var perTick = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)(measured - 1);

        // An object per observation (one process gives two: hash_compute and unattributed_process
        // or diverted work), one per evidence and a one-pid list came to over 200 bytes per process
        // and tick. What may remain is per GPU, not per process: the tick's diverted GPU-seconds
        // (a public record each, the journal and the exporters read them), the result holding them
        // and the GPU-level evidence of the hash budget. 16 bytes per process leaves room for that.
        Assert.True(perTick < 16 * Gpus * ProcessesPerGpu, $"{perTick:0} bytes allocated per tick at {Gpus} GPUs x {ProcessesPerGpu} processes");
    }

    /// <summary>
    /// Every process hashes. Half the GPUs have no job (each process gives hash_compute and
    /// unattributed_process evidence), half belong to a training job (hash_compute per process and
    /// diverted_compute for the GPU). The GPU verdicts' hash-seconds grow, so the budget runs too.
    /// </summary>
    private static TickAnalysis Tick(double time)
    {
        var gpus = new GpuView[Gpus];
        var all = new List<ProcessView>();
        for (var g = 0; g < Gpus; g++)
        {
            var device = new GpuDevice(g, $"GPU-alloc-test-{g:0000}-4f1c-9a0e-5b7d2c8e61a3", "NVIDIA H100 80GB HBM3", "580.159.04", 85520809984, true);
            var job = g % 2 == 0 ? null : new JobRef($"job-{g}", "gpu-map", "alice") { Purpose = JobPurpose.Training };
            var processes = new ProcessView[ProcessesPerGpu];
            for (var i = 0; i < processes.Length; i++)
            {
                var pid = 10000 + (g * 100) + i;
                var identity = new ProcessRecord { Pid = pid, Comm = "python3.12", Exe = "/usr/bin/python3.12" };
                processes[i] = new ProcessView(g, device.Uuid, new ProcessUsage(pid, 1 << 30, 3, 1), identity,
                    new ProcessInsight { Identity = identity, User = "alice" },
                    JobAttribution.Resolve(null, job),
                    new Verdict(time, g, pid, WorkloadClass.Hash, 0.85, ["integer pipe 92%, tensor 0%"]));
            }

            var sample = new GpuSample { Time = time, Gpu = g, UtilGpuPct = 100 };
            var verdict = new Verdict(time, g, null, WorkloadClass.Hash, 0.9, ["integer pipe 92%, tensor 0%"]) { HashSecondsTotal = time - 1000 };
            gpus[g] = new GpuView(device, sample, new CollectorStatus(g, true), verdict, job, processes);
            all.AddRange(processes);
        }

        return new TickAnalysis(time, gpus, all, PolicyResult.None);
    }
}

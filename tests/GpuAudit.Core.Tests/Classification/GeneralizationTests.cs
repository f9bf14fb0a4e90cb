using static GpuAudit.Core.Tests.Classification.SyntheticSamples;

namespace GpuAudit.Core.Tests.Classification;

/// <summary>
/// Workloads that are not in the recordings, built from what each does to the pipes: the rules
/// must follow the hardware, not the files.
/// </summary>
public class GeneralizationTests
{
    private static List<GpuVerdicts> Classify(IEnumerable<GpuSample> samples, params ProcessRecord[] processes)
    {
        var c = new WorkloadClassifier();
        foreach (var p in processes)
        {
            c.ObserveProcess(ProcessAnalyzer.Analyze(p));
        }

        return [.. samples.Select(c.Observe).OfType<GpuVerdicts>()];
    }

    private static Verdict Last(List<GpuVerdicts> verdicts, int? pid) =>
        pid is null ? verdicts[^1].Gpu : verdicts[^1].Processes.Single(p => p.Pid == pid);

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.25)]
    [InlineData(1.0)]
    public void Integer_hash_is_hash_at_any_duty_cycle(double duty)
    {
        var v = Classify(Run(Mix.Sha256, 10, duty));
        Assert.Equal(WorkloadClass.Hash, Last(v, 100).Class);
        Assert.Equal(WorkloadClass.Hash, Last(v, null).Class);
        Assert.True(Last(v, 100).Confidence >= 0.7);
    }

    [Fact]
    public void Hash_verdict_comes_with_the_numbers_that_drove_it()
    {
        var v = Last(Classify(Run(Mix.Sha256, 10)), 100);
        Assert.Contains(v.Evidence, e => e.Contains("integer pipe 101% of SM activity while tensor 0.0%, FP16/32 0.0%", StringComparison.Ordinal));
        Assert.Contains(v.Evidence, e => e.Contains("PCIe 1.0 MiB/s: closed loop", StringComparison.Ordinal));
    }

    [Fact]
    public void Memory_hard_hash_is_hash_and_sorting_that_streams_data_is_compute()
    {
        var dagWalk = new Mix(Sm: 97, Integer: 6, Dram: 59, Occupancy: 94, Pcie: 2);
        var sort = new Mix(Sm: 96, Integer: 54, Dram: 50, Occupancy: 53, Pcie: 40);
        Assert.Equal(WorkloadClass.Hash, Last(Classify(Run(dagWalk, 10)), 100).Class);
        Assert.Equal(WorkloadClass.Compute, Last(Classify(Run(sort, 10)), 100).Class);
    }

    [Fact]
    public void Hashing_as_framework_integer_ops_is_hash_when_the_process_holds_hash_constants_despite_its_launch_traffic()
    {
        // int32 xor/shift/add as elementwise tensor ops: math-free, streaming tensors through DRAM, one
        // small kernel per op, so launches and syncs alone show tens of MiB/s of PCIe.
        var tensorOps = new Mix(Sm: 90, Integer: 30, Dram: 70, Occupancy: 80, Pcie: 30);
        var holder = new ProcessRecord
        {
            Pid = 100,
            GpuLibs = ["libtorch_cuda.so", "libc10_cuda.so"],
            MemoryScan = new MemoryScanSummary { Hits = new Dictionary<string, ScanHitCount> { ["sha256_k_table"] = new(1, 0) } },
        };

        var v = Last(Classify(Run(tensorOps, 12), holder), 100);

        Assert.Equal(WorkloadClass.Hash, v.Class);
        Assert.Contains(v.Evidence, e => e.Contains("what kernel launches and syncs move", StringComparison.Ordinal));
        // Without the constants the same counters are legitimate integer data processing.
        Assert.Equal(WorkloadClass.Compute, Last(Classify(Run(tensorOps, 12)), 100).Class);
    }

    [Fact]
    public void Hashing_as_framework_integer_ops_is_hash_when_the_kernel_ledger_sees_only_integer_bit_operations()
    {
        var tensorOps = new Mix(Sm: 90, Integer: 30, Dram: 70, Occupancy: 80, Pcie: 30);
        var c = new WorkloadClassifier();
        var launcher = ProcessAnalyzer.Analyze(new ProcessRecord { Pid = 100, GpuLibs = ["libtorch_cuda.so"] });
        c.ObserveProcess(launcher with
        {
            Findings = [new ProcessFinding(FindingKind.IntegerOnlyKernels, "most launches are integer bit-operation kernels: BitwiseXorFunctor<int>, lshift_kernel_cuda")],
        });

        var v = Run(tensorOps, 12).Select(c.Observe).OfType<GpuVerdicts>().Last().Processes.Single();

        Assert.Equal(WorkloadClass.Hash, v.Class);
        Assert.Contains(v.Evidence, e => e.Contains("BitwiseXorFunctor<int>", StringComparison.Ordinal));
    }

    [Fact]
    public void Memory_bound_decoding_is_not_hash_because_its_fp_pipes_are_not_silent()
    {
        var v = Last(Classify(Run(Mix.Decode, 12)), 100);
        Assert.Equal(WorkloadClass.Inference, v.Class);
    }

    [Fact]
    public void Fp64_hpc_is_compute()
    {
        Assert.Equal(WorkloadClass.Compute, Last(Classify(Run(Mix.Fp64Hpc, 12)), 100).Class);
    }

    [Fact]
    public void Int8_tensor_work_is_inference_unless_identity_points_at_hashing()
    {
        var int8 = new Mix(Sm: 97, Integer: 17, Tensor: 13, Imma: 13, Dram: 4, Occupancy: 24, Pcie: 4);
        Assert.Equal(WorkloadClass.Inference, Last(Classify(Run(int8, 10)), 100).Class);

        var miner = new ProcessRecord
        {
            Pid = 100,
            MemoryScan = new MemoryScanSummary { Hits = new Dictionary<string, ScanHitCount> { ["sha256_k_table"] = new(2, 0) } },
        };
        var v = Last(Classify(Run(int8, 10), miner), 100);
        Assert.Equal(WorkloadClass.Hash, v.Class);
        Assert.Contains(v.Evidence, e => e.Contains("SHA-256 round-constant table in anonymous memory", StringComparison.Ordinal));
    }

    [Fact]
    public void Hash_kernels_inside_a_training_process_show_as_integer_excess()
    {
        var v = Last(Classify(Run(Mix.Transformer.Blend(Mix.Sha256, 0.3), 12)), 100);
        Assert.Equal(WorkloadClass.Hash, v.Class);
        Assert.Contains(v.Evidence, e => e.Contains("integer-heavy component", StringComparison.Ordinal));
        Assert.Equal(WorkloadClass.Training, Last(Classify(Run(Mix.Transformer, 12)), 100).Class);
    }

    [Fact]
    public void Miner_child_of_a_training_job_is_pinned_on_the_child_pid()
    {
        var samples = new List<GpuSample>();
        for (var t = 0; t < 6; t++)
        {
            samples.Add(Sample(t, Mix.Transformer, procs: (1, 90, 8000)));
        }

        // The child starts and takes a varying share of the SMs.
        double[] shares = [0.3, 0.5, 0.4, 0.6, 0.35, 0.55, 0.45, 0.5, 0.4, 0.6, 0.5, 0.45];
        for (var i = 0; i < shares.Length; i++)
        {
            var h = shares[i];
            samples.Add(Sample(6 + i, Mix.Transformer.Blend(Mix.Sha256, h), procs: [(1, (int)Math.Round((1 - h) * 100), 8000), (2, (int)Math.Round(h * 100), 300)]));
        }

        var v = Classify(samples);
        Assert.Equal(WorkloadClass.Hash, Last(v, 2).Class);
        Assert.Equal(WorkloadClass.Training, Last(v, 1).Class);
        Assert.Equal(WorkloadClass.Mixed, Last(v, null).Class);
        Assert.DoesNotContain(v.SelectMany(x => x.Processes), p => p.Pid == 1 && p.Class == WorkloadClass.Hash);
    }

    [Fact]
    public void Miner_child_stays_pinned_when_shares_stop_varying_for_longer_than_the_window()
    {
        var samples = new List<GpuSample>();
        for (var t = 0; t < 8; t++)
        {
            samples.Add(Sample(t, Mix.Transformer, procs: (1, 90, 8000)));
        }

        // 30 s of a constant 50/50 split: least squares alone cannot separate the two; the trainer's
        // signature from when it ran alone carries the split.
        for (var t = 8; t < 38; t++)
        {
            samples.Add(Sample(t, Mix.Transformer.Blend(Mix.Sha256, 0.5), procs: [(1, 50, 8000), (2, 50, 300)]));
        }

        var v = Classify(samples);
        Assert.Equal(WorkloadClass.Hash, Last(v, 2).Class);
        Assert.NotEqual(WorkloadClass.Hash, Last(v, 1).Class);
    }

    [Fact]
    public void Inspector_findings_support_a_hash_verdict_with_evidence()
    {
        var c = new WorkloadClassifier();
        c.ObserveProcess(new ProcessInsight { Identity = new ProcessRecord { Pid = 100 }, Findings = [new ProcessFinding(FindingKind.MinerKernel, "ethash_search in cubin")] });
        var v = Run(Mix.Sha256, 10).Select(c.Observe).OfType<GpuVerdicts>().Last();
        var p = v.Processes.Single();
        Assert.Equal(WorkloadClass.Hash, p.Class);
        Assert.Contains(p.Evidence, e => e.Contains("miner_kernel: ethash_search in cubin", StringComparison.Ordinal));
    }

    [Fact]
    public void A_single_busy_reading_is_not_enough_for_a_verdict_on_the_work()
    {
        var samples = Run(Mix.Idle, 5).Append(Sample(5, Mix.Sha256)).Concat(Run(Mix.Idle, 5, start: 6));
        var v = Classify(samples);
        Assert.All(v, x => Assert.Equal(WorkloadClass.Idle, x.Gpu.Class));
    }

    [Fact]
    public void Verdicts_come_once_per_period_of_sample_time()
    {
        var c = new WorkloadClassifier(ClassifierOptions.Default with { VerdictPeriodSeconds = 2 });
        var emitted = Run(Mix.Sha256, 10).Select(c.Observe).Count(v => v is not null);
        Assert.Equal(5, emitted);
    }
}

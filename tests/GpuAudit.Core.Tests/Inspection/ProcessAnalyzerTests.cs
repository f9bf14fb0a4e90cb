namespace GpuAudit.Core.Tests.Inspection;

public class ProcessAnalyzerTests
{
    public static TheoryData<string> Traces() =>
    [
        "hash_sha256", "hash_memhard", "hash_throttled", "mixed", "train_transformer", "train_cnn", "train_fp32_mlp",
        "train_input_bound", "infer_bf16", "infer_int8", "sort_ints",
    ];

    [Theory]
    [MemberData(nameof(Traces))]
    public void Recorded_hash_processes_show_a_sha256_table_in_anonymous_memory_and_no_other_process_does(string trace)
    {
        foreach (var process in RecordedTrace.Load(RepoPaths.Trace(trace)).Processes)
        {
            var insight = ProcessAnalyzer.Analyze(process);
            var anonymousTable = insight.Findings.Any(f => f.Kind == FindingKind.HashConstantInAnonymousMemory && f.Detail.StartsWith("SHA-256 round-constant table", StringComparison.Ordinal));

            // Ground truth is read here, by the test, never by the analyzer.
            Assert.Equal(process.Truth?.Class == "hash", anonymousTable);
            Assert.DoesNotContain(insight.Findings, f => f.Kind is FindingKind.MinerExecutable or FindingKind.MinerCommandLine or FindingKind.Tunnel);
        }
    }

    [Fact]
    public void Anonymous_memory_findings_say_they_are_weaker_than_gpu_code_evidence()
    {
        var hash = RecordedTrace.Load(RepoPaths.Trace("hash_sha256")).Processes.Single();

        var finding = Assert.Single(ProcessAnalyzer.Analyze(hash).Findings, f => f.Detail.StartsWith("SHA-256 round-constant table", StringComparison.Ordinal));

        Assert.Contains("not located inside a GPU code image", finding.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Miner_identity_job_and_kernels_come_from_the_record()
    {
        var record = new ProcessRecord
        {
            Pid = 4242,
            Comm = "xmrig",
            Exe = "/tmp/.cache/xmrig",
            Cmdline = "xmrig -o stratum+tcp://***@pool.example:3333 --donate-level 1",
            Cgroup = "0::/system.slice/slurmstepd.scope/job_777/step_0/user/task_0\n",
            GpuLibs = ["libcuda.so.1", "libxmrig-cuda.so"],
            MemoryScan = new MemoryScanSummary { PtxEntries = ["ethash_search", "cupy_fill"] },
        };

        var insight = ProcessAnalyzer.Analyze(record);

        Assert.Equal(new JobRef("777", "slurm-cgroup"), insight.Job);
        Assert.Equal("xmrig", insight.Comm);
        Assert.Equal(
            [FindingKind.MinerExecutable, FindingKind.MinerCommandLine, FindingKind.MinerLibrary, FindingKind.MinerKernel],
            insight.Findings.Select(f => f.Kind));
        Assert.Contains("ethash_search", insight.Findings[^1].Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("cupy_fill", insight.Findings[^1].Detail, StringComparison.Ordinal);
    }
}

using GpuAudit.Core.Features;

namespace GpuAudit.Core.Tests.Classification;

public class ProcessIdentityTests
{
    private static ProcessIdentity Of(string trace, int pid) =>
        ProcessIdentity.From(ProcessAnalyzer.Analyze(RecordedTrace.Load(RepoPaths.Trace(trace)).Processes.Single(p => p.Pid == pid)));

    [Fact]
    public void Hash_process_shows_constants_in_anonymous_memory_and_nvrtc_without_framework()
    {
        var miner = Of("mixed", 776);
        Assert.Contains(miner.HashSigns, s => s.StartsWith("hash_constant_in_anon_memory: SHA-256 round-constant table in anonymous memory (1 hits)", StringComparison.Ordinal));
        Assert.True(miner.RuntimeCompiledWithoutFramework);
        Assert.Null(miner.FrameworkLibrary);
    }

    [Fact]
    public void Training_process_maps_a_framework_and_its_file_backed_sha256_iv_is_not_a_sign()
    {
        var trainer = Of("mixed", 775);
        Assert.False(trainer.HasHashSigns);
        Assert.False(trainer.RuntimeCompiledWithoutFramework);
        Assert.NotNull(trainer.FrameworkLibrary);
    }

    [Fact]
    public void Cupy_sort_is_neither_framework_nor_hash()
    {
        var sort = Of("sort_ints", 623);
        Assert.False(sort.HasHashSigns);
        Assert.Null(sort.FrameworkLibrary);
    }

    [Fact]
    public void Miner_kernel_names_in_ptx_entries_are_signs()
    {
        var sha = Of("hash_sha256", 655);
        Assert.Contains("GPU kernel named dag_search", sha.HashSigns);
    }
}

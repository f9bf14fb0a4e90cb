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

    [Theory]
    [InlineData("mixed", 775, true)] // training: maps a framework; its file-backed SHA-256 IV is not a sign
    [InlineData("sort_ints", 623, false)] // CuPy sort: neither framework nor hash
    public void Processes_of_legitimate_work_show_no_hash_sign(string trace, int pid, bool framework)
    {
        var identity = Of(trace, pid);
        Assert.False(identity.HasHashSigns);
        Assert.False(identity.RuntimeCompiledWithoutFramework);
        Assert.Equal(framework, identity.FrameworkLibrary is not null);
    }

    [Fact]
    public void Miner_kernel_names_in_ptx_entries_are_signs()
    {
        var sha = Of("hash_sha256", 655);
        Assert.Contains("GPU kernel named dag_search", sha.HashSigns);
    }
}

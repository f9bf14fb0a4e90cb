using System.Text.Json;

namespace GpuAudit.Cli.Tests.Commands;

/// <summary>`report --all`: a miner outside any job has journal rows, and this report shows them.</summary>
public sealed class ReportAllTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-report-all-").FullName;

    [Fact]
    public async Task Json_report_of_every_job_lists_a_hash_violation_of_a_process_in_no_job()
    {
        var journal = Path.Combine(_dir, "journal");
        // No --job-map and no job cgroup in the recording: the hashing process belongs to no job.
        var replay = await GpuAuditProcess.RunAsync(_dir, "replay", RepoPaths.Trace("hash_sha256"), "--fast", "--journal", journal);
        Assert.True(replay.ExitCode == 0, replay.Stderr);

        var (exit, stdout, stderr) = await GpuAuditProcess.RunAsync(_dir, "report", "--journal", journal, "--all", "--format", "json");

        Assert.True(exit == 0, stderr);
        using var report = JsonDocument.Parse(stdout);
        var root = report.RootElement;
        Assert.Equal(JsonValueKind.Null, root.GetProperty("job").ValueKind);
        var hash = root.GetProperty("violations").EnumerateArray().Single(v => v.GetProperty("rule").GetString() == "hash_compute");
        Assert.Equal(JsonValueKind.Null, hash.GetProperty("job").ValueKind);
        Assert.False(hash.GetProperty("allowed").GetBoolean());
        Assert.NotEmpty(hash.GetProperty("evidence").EnumerateArray());
        Assert.NotEmpty(root.GetProperty("gpus").EnumerateArray());
    }

    [Theory]
    [InlineData("--job and --all both given", "--job", "4242", "--all")]
    [InlineData("no --job given; pass --job ID", "--format", "json")]
    public async Task Job_and_all_are_one_or_the_other(string expected, params string[] args)
    {
        var (exit, _, stderr) = await GpuAuditProcess.RunAsync(_dir, ["report", "--journal", _dir, .. args]);

        Assert.Equal(2, exit);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}

using System.Text.Json;

namespace GpuAudit.Cli.Tests;

/// <summary>
/// The full pipeline (real classifier, policy, journal, report) on the recorded traces, through
/// the commands a user runs: `replay --job-map --journal [--policy]`, then `report`.
/// </summary>
public sealed class PolicyReplayTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-policy-").FullName;

    [Fact]
    public async Task Mixed_with_gpu_0_given_to_a_job_yields_exactly_one_hash_violation_on_pid_776()
    {
        var violations = await ReplayAndReport("mixed", policy: null);

        var violation = Assert.Single(violations);
        Assert.Equal(("hash_compute", "critical", 776, "4242"), (violation.GetProperty("rule").GetString(), violation.GetProperty("severity").GetString(), violation.GetProperty("pid").GetInt32(), violation.GetProperty("job").GetString()));
        Assert.Contains(violation.GetProperty("evidence").EnumerateArray(), e => e.GetString()!.Contains("integer pipe", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Train_transformer_yields_no_violation()
    {
        var violations = await ReplayAndReport("train_transformer", policy: null);

        Assert.Empty(violations);
    }

    [Fact]
    public async Task An_allowance_for_the_job_turns_the_violation_into_an_allowed_finding_with_its_reason()
    {
        var policy = Path.Combine(_dir, "policy.json");
        await File.WriteAllTextAsync(policy, """
            {
              "version": 1,
              "allowances": [
                { "rules": ["hash_compute"], "job": "4242", "reason": "dataset deduplication hashes shards on the GPU (ticket DATA-118)" }
              ]
            }
            """);

        var violations = await ReplayAndReport("mixed", policy);
        var (code, markdown, stderr) = await GpuAuditProcess.RunAsync(_dir, "report", "--job", "4242", "--journal", Path.Combine(_dir, "journal"), "--format", "md");

        var finding = Assert.Single(violations);
        Assert.True(finding.GetProperty("allowed").GetBoolean());
        Assert.Equal("dataset deduplication hashes shards on the GPU (ticket DATA-118)", finding.GetProperty("allowance").GetProperty("reason").GetString());
        Assert.True(code == 0, stderr);
        Assert.Contains("clean", markdown.Split('\n').First(l => l.Contains("Verdict", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Contains("dataset deduplication hashes shards on the GPU (ticket DATA-118)", markdown, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<List<JsonElement>> ReplayAndReport(string trace, string? policy)
    {
        var jobMap = Directory.CreateDirectory(Path.Combine(_dir, "jobmap")).FullName;
        await File.WriteAllTextAsync(Path.Combine(jobMap, "0"), "4242 0\n");
        var journal = Path.Combine(_dir, "journal");
        string[] args = ["replay", RepoPaths.Trace(trace), "--fast", "--job-map", jobMap, "--journal", journal];
        var (replay, _, replayErr) = await GpuAuditProcess.RunAsync(_dir, policy is null ? args : [.. args, "--policy", policy]);
        Assert.True(replay == 0, replayErr);

        var (code, stdout, stderr) = await GpuAuditProcess.RunAsync(_dir, "report", "--job", "4242", "--journal", journal, "--format", "json");

        Assert.True(code == 0, stderr);
        return [.. JsonDocument.Parse(stdout).RootElement.GetProperty("violations").EnumerateArray()];
    }
}

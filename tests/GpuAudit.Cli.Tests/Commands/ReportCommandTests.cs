using GpuAudit.Agent.Journal;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Policy;
using GpuAudit.Core.Summaries;
using GpuAudit.Core.Trace;
using GpuAudit.Tests;

namespace GpuAudit.Cli.Tests.Commands;

public sealed class ReportCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-cli-").FullName;

    public ReportCommandTests()
    {
        using var journal = AuditJournal.Open(_dir);
        var engine = new PolicyEngine(AuditPolicy.Default, "h100-probe");
        var summarizer = new MinuteSummarizer("h100-probe");
        foreach (var tick in TruthTicks.From(RecordedTrace.Load(RepoPaths.Trace("mixed")), new JobRef("4242", "gpu-map", "alice")))
        {
            journal.Record(engine.Evaluate(tick));
            journal.Record(summarizer.Add(tick));
        }

        journal.Record(summarizer.Flush());
    }

    [Fact]
    public void Json_report_of_the_mixed_journal_lists_the_hash_violation()
    {
        var (exit, stdout, stderr) = GpuauditProcess.Run("report", "--job", "4242", "--journal", _dir, "--format", "json");

        Assert.True(exit == 0, stderr);
        Assert.Contains("\"verdict\": \"1 violation, 0.", stdout, StringComparison.Ordinal);
        Assert.Contains("\"rule\": \"hash_compute\"", stdout, StringComparison.Ordinal);
        Assert.Contains("\"pid\": 776", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Html_report_goes_to_the_out_file_and_says_where()
    {
        var path = Path.Combine(_dir, "job.html");

        var (exit, _, stderr) = GpuauditProcess.Run("report", "--job", "4242", "--journal", _dir, "--format", "html", "--out", path);

        Assert.Equal(0, exit);
        Assert.Contains("written to " + path, stderr, StringComparison.Ordinal);
        Assert.Contains("<svg class=\"timeline\"", File.ReadAllText(path), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--format", "pdf", "--format \"pdf\" is not supported; use md, html or json")]
    [InlineData("--from", "yesterday", "--from \"yesterday\" is not a time; use Unix seconds")]
    [InlineData("--to", "0", "has no record of job 4242 between the start and 1970-01-01T00:00:00Z; check the job id")]
    [InlineData("--prometheus", "prom:9090", "is not an http(s) URL")]
    public void Bad_options_get_a_clear_message_and_exit_code_2(string option, string value, string expected)
    {
        var (exit, stdout, stderr) = option == "--prometheus"
            ? GpuauditProcess.Run("report", "--job", "4242", option, value)
            : GpuauditProcess.Run("report", "--job", "4242", "--journal", _dir, option, value);

        Assert.Equal(2, exit);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.Empty(stdout);
    }

    [Fact]
    public void A_missing_journal_names_the_directory_and_the_fix()
    {
        var missing = Path.Combine(_dir, "nothing-here");

        var (exit, _, stderr) = GpuauditProcess.Run("report", "--job", "4242", "--journal", missing);

        Assert.Equal(2, exit);
        Assert.Contains($"no journal in {missing}; pass --journal", stderr, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}

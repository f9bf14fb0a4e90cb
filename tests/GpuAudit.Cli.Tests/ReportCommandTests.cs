namespace GpuAudit.Cli.Tests;

/// <summary>`report` on the journal that `replay` writes of the mixed trace with GPU 0 given to job 4242.</summary>
public sealed class ReportCommandTests(ReportCommandTests.MixedJournal journal) : IClassFixture<ReportCommandTests.MixedJournal>
{
    private readonly string _dir = journal.Directory;

    [Fact]
    public void Json_report_of_the_mixed_journal_lists_the_hash_violation()
    {
        var (exit, stdout, stderr) = GpuAuditProcess.Run("report", "--job", "4242", "--journal", _dir, "--format", "json");

        Assert.True(exit == 0, stderr);
        TextAssert.ContainsAll(
            stdout,
            "\"verdict\": \"1 violation, 0.",
            "\"rule\": \"hash_compute\"",
            "\"pid\": 776");
    }

    [Fact]
    public void Html_report_goes_to_the_out_file_and_says_where()
    {
        var path = Path.Combine(_dir, "job.html");

        var (exit, _, stderr) = GpuAuditProcess.Run("report", "--job", "4242", "--journal", _dir, "--format", "html", "--out", path);

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
            ? GpuAuditProcess.Run("report", "--job", "4242", option, value)
            : GpuAuditProcess.Run("report", "--job", "4242", "--journal", _dir, option, value);

        Assert.Equal(2, exit);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.Empty(stdout);
    }

    [Fact]
    public void A_missing_journal_names_the_directory_and_the_fix()
    {
        var missing = Path.Combine(_dir, "nothing-here");

        var (exit, _, stderr) = GpuAuditProcess.Run("report", "--job", "4242", "--journal", missing);

        Assert.Equal(2, exit);
        Assert.Contains($"no journal in {missing}; pass --journal", stderr, StringComparison.Ordinal);
    }

    /// <summary>One replay for the whole class: the agent's own path writes the journal the reports read.</summary>
    public sealed class MixedJournal : IDisposable
    {
        private readonly string _root = System.IO.Directory.CreateTempSubdirectory("gpuaudit-cli-").FullName;

        public MixedJournal()
        {
            Directory = Path.Combine(_root, "journal");
            var jobMap = System.IO.Directory.CreateDirectory(Path.Combine(_root, "jobmap")).FullName;
            File.WriteAllText(Path.Combine(jobMap, "0"), "4242 0\n");
            var (exit, _, stderr) = GpuAuditProcess.Run("replay", RepoPaths.Trace("mixed"), "--fast", "--journal", Directory, "--job-map", jobMap);
            Assert.True(exit == 0, stderr);
        }

        public string Directory { get; }

        public void Dispose() => System.IO.Directory.Delete(_root, recursive: true);
    }
}

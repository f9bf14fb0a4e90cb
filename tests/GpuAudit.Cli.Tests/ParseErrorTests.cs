namespace GpuAudit.Cli.Tests;

/// <summary>Every parse error is bad input: exit 2, one line naming the flag, no help dump, no stack trace.</summary>
public sealed class ParseErrorTests
{
    [Fact]
    public async Task Agent_interval_abc_exits_2_with_one_line_naming_the_flag()
    {
        var (code, stdout, stderr) = await GpuAuditProcess.RunAsync(Environment.CurrentDirectory, "agent", "--interval", "abc");

        Assert.Equal(2, code);
        AssertOneLine(stderr, "--interval");
        Assert.Equal(string.Empty, stdout);
    }

    [Fact]
    public async Task Replay_bogus_flag_exits_2_naming_the_flag_not_a_missing_file()
    {
        var (code, stdout, stderr) = await GpuAuditProcess.RunAsync(Environment.CurrentDirectory, "replay", "--bogus-flag", RepoPaths.Trace("mixed"));

        Assert.Equal(2, code);
        AssertOneLine(stderr, "--bogus-flag");
        Assert.DoesNotContain("Could not find file", stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
    }

    [Theory]
    [InlineData("report", "--all", "--bogus")]
    [InlineData("demo", "--duration", "soon")]
    [InlineData("nosuchcommand")]
    public async Task Other_parse_errors_are_one_line_and_exit_2(params string[] args)
    {
        var (code, _, stderr) = await GpuAuditProcess.RunAsync(Environment.CurrentDirectory, args);

        Assert.Equal(2, code);
        AssertOneLine(stderr, args[^1]);
    }

    [Theory]
    [InlineData("--simulate-gpus", "x", "--simulate-gpus takes a whole number, not 'x'")]
    [InlineData("--simulate-procs", "1.5", "--simulate-procs takes a whole number, not '1.5'")]
    [InlineData("--seed", "-", "--seed takes a whole number, not '-'")]
    public async Task A_value_that_is_not_a_number_is_named_in_words_not_as_a_dotnet_type(string flag, string value, string expected)
    {
        var (code, _, stderr) = await GpuAuditProcess.RunAsync(Environment.CurrentDirectory, "replay", flag, value);

        Assert.Equal(2, code);
        AssertOneLine(stderr, flag);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("NaN")]
    [InlineData("3601")]
    public async Task An_analysis_interval_out_of_range_exits_2_saying_the_range(string value)
    {
        var (code, stdout, stderr) = await GpuAuditProcess.RunAsync(Environment.CurrentDirectory, "replay", RepoPaths.Trace("mixed"), "--fast", "--analysis-interval", value);

        Assert.Equal(2, code);
        AssertOneLine(stderr, "--analysis-interval must be between 0 and 3600 seconds");
        Assert.Equal(string.Empty, stdout);
    }

    [Fact]
    public async Task The_agent_refuses_a_bad_analysis_interval_before_it_looks_for_nvml()
    {
        var (code, stdout, stderr) = await GpuAuditProcess.RunAsync(Environment.CurrentDirectory, "agent", "--analysis-interval", "-1", "--nvml-library", "/nonexistent/libnvidia-ml.so.1");

        Assert.Equal(2, code);
        AssertOneLine(stderr, "--analysis-interval must be between 0 and 3600 seconds");
        Assert.Equal(string.Empty, stdout);
    }

    [Fact]
    public async Task Help_is_still_help_and_exits_0()
    {
        var (code, stdout, _) = await GpuAuditProcess.RunAsync(Environment.CurrentDirectory, "replay", "--help");

        Assert.Equal(0, code);
        Assert.Contains("--fast", stdout, StringComparison.Ordinal);
    }

    private static void AssertOneLine(string stderr, string flag)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, stderr);
        Assert.StartsWith("gpuaudit: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(flag, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("Usage:", stderr, StringComparison.Ordinal);
        Assert.False(GpuAuditProcess.HasStackTrace(stderr), stderr);
    }
}

namespace GpuAudit.Cli.Tests;

public sealed class ReplayCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-cli-").FullName;

    [Fact]
    public async Task Replaying_mixed_until_15_dumps_metrics_with_both_processes()
    {
        var dump = Path.Combine(_dir, "m.prom");

        var (code, _, stderr) = await GpuAuditProcess.RunAsync(_dir, "replay", RepoPaths.Trace("mixed"), "--fast", "--until", "15", "--metrics-dump", dump);

        Assert.True(code == 0, stderr);
        var text = await File.ReadAllTextAsync(dump);
        TextAssert.ContainsAll(
            text,
            "pid=\"775\"",
            "pid=\"776\"");
    }

    [Fact]
    public async Task A_bad_input_found_by_the_agent_libraries_is_named_by_its_flag()
    {
        var (code, _, stderr) = await GpuAuditProcess.RunAsync(_dir, "replay", RepoPaths.Trace("mixed"), "--fast", "--listen", "nonsense");

        Assert.Equal(2, code);
        Assert.Equal($"gpuaudit: --listen: 'nonsense' is not HOST:PORT; use for example 127.0.0.1:9477 or 0.0.0.0:9477", stderr.Trim());
    }

    [Fact]
    public async Task A_malformed_line_fails_with_file_and_line_and_no_stack_trace()
    {
        var lines = File.ReadAllLines(RepoPaths.Trace("mixed")).ToList();
        lines[5] = lines[5].Replace("\"util_gpu_pct\": ", "\"util_gpu_pct\": \"x\", \"old\": ", StringComparison.Ordinal);
        var bad = Path.Combine(_dir, "bad.jsonl");
        await File.WriteAllLinesAsync(bad, lines);

        var (code, _, stderr) = await GpuAuditProcess.RunAsync(_dir, "replay", bad, "--fast");

        Assert.Equal(2, code);
        Assert.Contains($"{bad}:6: field 'util_gpu_pct' must be a number, got a string", stderr, StringComparison.Ordinal);
        Assert.False(GpuAuditProcess.HasStackTrace(stderr), stderr);
    }

    [Fact]
    public async Task Skip_malformed_warns_and_goes_on()
    {
        var lines = File.ReadAllLines(RepoPaths.Trace("mixed")).ToList();
        lines.Insert(6, "{not json");
        var bad = Path.Combine(_dir, "bad.jsonl");
        await File.WriteAllLinesAsync(bad, lines);

        var (code, _, stderr) = await GpuAuditProcess.RunAsync(_dir, "replay", bad, "--fast", "--skip-malformed");

        Assert.Equal(0, code);
        Assert.Contains($"{bad}:7: not valid JSON", stderr, StringComparison.Ordinal);
        Assert.Contains("(line skipped)", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("replay")]
    [InlineData("classify")]
    public async Task A_directory_given_as_a_trace_is_one_clear_line_naming_it(string command)
    {
        var traces = Directory.CreateDirectory(Path.Combine(_dir, "traces")).FullName;

        var (code, _, stderr) = await GpuAuditProcess.RunAsync(_dir, command, traces);

        Assert.Equal(2, code);
        Assert.Equal($"gpuaudit: {traces}: is a directory, not a trace file; pass the trace files in it, e.g. {traces}/*.jsonl", stderr.Trim());
    }

    [Fact]
    public async Task A_missing_trace_file_is_one_clear_line()
    {
        var (code, _, stderr) = await GpuAuditProcess.RunAsync(_dir, "replay", "nope.jsonl", "--fast");

        Assert.Equal(2, code);
        Assert.StartsWith("gpuaudit: nope.jsonl: cannot open trace", stderr, StringComparison.Ordinal);
        Assert.False(GpuAuditProcess.HasStackTrace(stderr), stderr);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}

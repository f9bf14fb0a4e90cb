using GpuAudit.Cli.Commands;

namespace GpuAudit.Cli.Tests;

public class RecordCommandTests
{
    [Fact]
    public async Task Without_nvml_record_fails_with_one_line_naming_the_fix()
    {
        var output = Path.Combine(Path.GetTempPath(), "gpuaudit-record-" + Guid.NewGuid().ToString("N") + ".jsonl");

        var e = await Assert.ThrowsAsync<UserInputException>(() =>
            RecordCommand.RunAsync(output, 1, 1, "/nonexistent/libnvidia-ml.so.1", CancellationToken.None));

        Assert.Equal("NVML not found (could not load /nonexistent/libnvidia-ml.so.1): install the NVIDIA driver or set GPUAUDIT_NVML_LIBRARY=/path/libnvidia-ml.so.1; on a machine without a GPU, `gpuaudit demo` shows the auditor on real H100 recordings", e.Message);
        Assert.False(File.Exists(output)); // nothing half-written
    }

    [Theory]
    [InlineData(0.0, null, "--interval 0: must be a positive number of seconds")]
    [InlineData(-1.0, null, "--interval -1: must be a positive number of seconds")]
    [InlineData(1.0, 0.0, "--duration 0: must be a positive number of seconds")]
    public async Task Bad_timing_flags_are_named(double interval, double? duration, string message)
    {
        var e = await Assert.ThrowsAsync<UserInputException>(() =>
            RecordCommand.RunAsync("unused.jsonl", duration, interval, "/nonexistent/libnvidia-ml.so.1", CancellationToken.None));

        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Through_the_command_line_a_missing_nvml_is_exit_code_2()
    {
        var root = new System.CommandLine.RootCommand { RecordCommand.Create() };
        var exitCode = await root.Parse(["record", "-o", Path.Combine(Path.GetTempPath(), "never.jsonl"), "--nvml-library", "/nonexistent/libnvidia-ml.so.1"]).InvokeAsync();

        Assert.Equal(2, exitCode);
    }
}

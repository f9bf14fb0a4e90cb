namespace GpuAudit.Cli.Tests;

/// <summary>
/// Must show (issue 14): NVIDIA's libnvidia-ml.so.1 from the Debian package, loaded by doctor,
/// agent and record on this machine without a driver: one line naming DRIVER_NOT_LOADED and the
/// fix, agent and record exit 2, no stack trace. Child processes: NVML loading is process-wide.
/// </summary>
[Trait("Category", "Integration")]
public sealed class RealNvmlTests : IDisposable
{
    private const string DriverNotLoaded = "nvmlInit_v2 failed: NVML_ERROR_DRIVER_NOT_LOADED (the NVIDIA driver is not loaded): load the kernel module (modprobe nvidia) or install the NVIDIA driver; on a machine without a GPU, `gpuaudit demo` shows the auditor on real H100 recordings";
    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-real-nvml-").FullName;

    [RealNvmlFact]
    public async Task Agent_exits_2_with_one_line_naming_driver_not_loaded_and_the_fix()
    {
        var (exitCode, stdout, stderr) = await GpuAuditProcess.RunAsync(_dir, "agent", "--nvml-library", RealNvml.Path, "--listen", $"127.0.0.1:{BackgroundProcess.FreePort()}", "--journal", Path.Combine(_dir, "journal"));

        Assert.Equal(2, exitCode);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal("gpuaudit: " + DriverNotLoaded + "\n", stderr);
    }

    [RealNvmlFact]
    public async Task Record_exits_2_with_the_same_line_when_the_library_comes_from_the_environment()
    {
        var (exitCode, stdout, stderr) = await GpuAuditProcess.RunWithEnvironmentAsync(_dir, new Dictionary<string, string> { ["GPUAUDIT_NVML_LIBRARY"] = RealNvml.Path }, "record", "-o", Path.Combine(_dir, "t.jsonl"), "--duration", "1");

        Assert.Equal(2, exitCode);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal("gpuaudit: " + DriverNotLoaded + "\n", stderr);
        Assert.False(File.Exists(Path.Combine(_dir, "t.jsonl")));
    }

    [RealNvmlFact]
    public async Task Doctor_says_which_file_loaded_what_it_lacks_and_that_the_driver_is_not_loaded()
    {
        var (exitCode, stdout, stderr) = await GpuAuditProcess.RunAsync(_dir, "doctor", "--nvml-library", RealNvml.Path);

        Assert.Equal(1, exitCode);
        Assert.Equal(string.Empty, stderr);
        var lines = stdout.Split('\n');
        var real = new FileInfo(RealNvml.Path).ResolveLinkTarget(returnFinalTarget: true)!.FullName; // libnvidia-ml.so.535.…
        Assert.Contains($"  [ok]   library {RealNvml.Path} loaded from {real}", lines);
        Assert.Contains("  [warn] this driver lacks nvmlDeviceGetTemperatureV: the binding falls back or leaves those readings missing", lines);
        Assert.Contains("  [FAIL] nvmlInit_v2 failed: NVML_ERROR_DRIVER_NOT_LOADED (the NVIDIA driver is not loaded)", lines);
        Assert.Contains("         fix: load the kernel module (modprobe nvidia) or install the NVIDIA driver", lines);
        Assert.Contains("         on a machine without a GPU, `gpuaudit demo` shows the auditor on real H100 recordings", lines);
        Assert.DoesNotContain("   at ", stdout, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}

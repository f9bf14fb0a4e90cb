using System.Diagnostics;
using GpuAudit.Core.Samples;
using GpuAudit.Core.Trace;

namespace GpuAudit.Cli.Tests;

/// <summary>
/// The real NVML binding end to end, against a stand-in libnvidia-ml compiled from
/// NvmlStub/libnvidia-ml-stub.c (needs a C compiler; CI images have gcc). Runs gpuaudit as a child
/// process: NVML loading is process-wide, and these tests must not leave a library loaded in the
/// test process, where other tests expect NVML to be missing.
/// </summary>
public sealed class NvmlStubTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-nvml-stub-").FullName;
    private readonly string _library;

    public NvmlStubTests()
    {
        _library = Path.Combine(_dir, "libnvidia-ml.so.1");
        var source = Path.Combine(AppContext.BaseDirectory, "NvmlStub", "libnvidia-ml-stub.c");
        var (exitCode, output) = Run("gcc", "-shared", "-fPIC", "-O1", "-o", _library, source, "-lm");
        Assert.True(exitCode == 0, "gcc failed: " + output);
    }

    [Fact]
    public void Record_writes_what_the_library_reports()
    {
        var trace = Path.Combine(_dir, "stub.jsonl");
        var (exitCode, output) = Run("dotnet", Gpuaudit, "record", "-o", trace, "--duration", "1.5", "--interval", "0.5", "--nvml-library", _library);

        Assert.True(exitCode == 0, output);
        var recorded = RecordedTrace.Load(trace);
        var gpu = Assert.Single(recorded.Header.Gpus);
        Assert.Equal(new GpuDevice(0, "GPU-stub-0001", "Stub H100", "999.1.2", 85_520_809_984, true, "00000000:3B:00.0", null), gpu);
        Assert.Equal([4242, 4243], recorded.Processes.Select(p => p.Pid));
        Assert.InRange(recorded.Samples.Count, 2, 3); // 3 ticks in 1.5 s, unless a loaded machine skipped one

        var first = recorded.Samples[0];
        Assert.Equal((77, 33, 1_234_567_890L, 250_123L, 1980, 2619, 61, 987_654_321L), (first.UtilGpuPct, first.UtilMemPct, first.MemUsedBytes, first.PowerMw, first.SmClockMhz, first.MemClockMhz, first.TempC, first.EnergyMj));
        Assert.Equal([new ProcessUsage(4242, 1L << 30, 91, 12), new ProcessUsage(4243, null, null, null)], first.Procs);

        // The stub has nothing new on the second poll (NOT_FOUND): no percentages, not zeros.
        Assert.Equal(new ProcessUsage(4242, 1L << 30, null, null), recorded.Samples[1].Procs[0]);

        // Which ticks get a GPM reading depends on live timing (0.5 s minimum spacing); their values do not.
        Assert.Contains(recorded.Samples, s => s.Gpm is not null);
        foreach (var gpm in recorded.Samples.Select(s => s.Gpm).OfType<GpmMetrics>())
        {
            Assert.Equal(6.0, gpm[GpmMetric.IntegerUtil]); // id 4
            Assert.Equal(90.0, gpm[GpmMetric.NvlinkTotalRxPerSec]); // id 60
            Assert.Null(gpm[GpmMetric.SmUtil]); // NaN
            Assert.Null(gpm[GpmMetric.NvlinkTotalTxPerSec]); // per-metric NOT_SUPPORTED
        }
    }

    [Fact]
    public void Doctor_reads_the_library_and_names_the_missing_optional_entry_point()
    {
        var (_, output) = Run("dotnet", Gpuaudit, "doctor", "--nvml-library", _library);

        Assert.Contains($"[ok]   library {_library} loaded from {_library}", output, StringComparison.Ordinal);
        Assert.Contains("[ok]   driver 999.1.2, 1 GPU(s)", output, StringComparison.Ordinal);
        Assert.Contains("[warn] this driver lacks nvmlDeviceGetMigMode", output, StringComparison.Ordinal);
        Assert.Contains("[ok]   GPU 0: Stub H100 GPU-stub-0001 00000000:3B:00.0", output, StringComparison.Ordinal);
        Assert.Contains("[ok]   GPU 0: GPM metrics supported", output, StringComparison.Ordinal);
        Assert.Contains("[ok]   GPU 0: per-process utilization works", output, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Gpuaudit => Path.Combine(AppContext.BaseDirectory, "gpuaudit.dll");

    private static (int ExitCode, string Output) Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }
}

using GpuAudit.Agent.Simulation;

namespace GpuAudit.Benchmarks;

/// <summary>
/// Inputs shared by the benchmarks: the real H100 recordings in data/traces and the simulated
/// fleet made from them. Everything is built before measuring, so NVML's stand-in (the
/// simulation) never counts in the pipeline's cost.
/// </summary>
internal static class BenchData
{
    public static IReadOnlyList<string> TracePaths { get; } = FindTraces();

    public static IReadOnlyList<RecordedTrace> LoadTraces() => [.. TracePaths.Select(p => RecordedTrace.Load(p))];

    /// <summary>The first <paramref name="count"/> ticks of a simulated node (fixed seed, so every run sees the same data).</summary>
    public static Tick[] SimulateTicks(int gpus, int processesPerGpu, int count, out IReadOnlyList<GpuDevice> devices)
    {
        using var source = new SimulatedFleetSource(LoadTraces(), new FleetShape(gpus, processesPerGpu) { Fast = true, MaxTicks = count }, TimeProvider.System);
        devices = source.Devices;
        var ticks = new Tick[count];
        for (var i = 0; i < count; i++)
        {
            // Fast mode never waits, so the ValueTask is already complete.
            ticks[i] = source.NextAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult()
                ?? throw new InvalidOperationException("the simulated fleet ended early");
        }

        return ticks;
    }

    private static string[] FindTraces()
    {
        // BenchmarkDotNet runs each benchmark from a generated folder under bin/: walk up to the repository.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var traces = Path.Combine(dir.FullName, "data", "traces");
            if (Directory.Exists(traces) && File.Exists(Path.Combine(dir.FullName, "GpuAudit.sln")))
            {
                return [.. Directory.GetFiles(traces, "*.jsonl").Order(StringComparer.Ordinal)];
            }
        }

        throw new InvalidOperationException($"data/traces not found above {AppContext.BaseDirectory}: run the benchmarks from a clone of the repository");
    }
}

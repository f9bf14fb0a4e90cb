using System.Text.RegularExpressions;
using GpuAudit.Agent.Exporters;
using GpuAudit.Agent.Simulation;
using Prometheus;

namespace GpuAudit.Agent.Tests.Exporters;

/// <summary>The cardinality budget: --process-metrics and --max-process-series on real recordings.</summary>
public partial class ProcessBudgetTests
{
    private const string Uuid = "GPU-8dc927a2-2d2a-0eb2-59aa-7c156a06df4a";

    [Theory]
    [InlineData(ProcessMetricsMode.Full, 10)]
    [InlineData(ProcessMetricsMode.Minimal, 4)]
    [InlineData(ProcessMetricsMode.Off, 0)]
    public async Task Each_mode_exports_its_series_per_process(ProcessMetricsMode mode, int expected)
    {
        // The mixed trace: a trainer (775) and a hasher (776) share one GPU.
        var text = await ExpositionTests.Expose(["mixed"], until: 15, options: new PrometheusExporterOptions { ProcessMetrics = mode });

        Assert.Equal(expected, ProcessSeries(text).Count);
        Assert.Contains("gpuaudit_process_series_dropped_total 0\n", text, StringComparison.Ordinal);
        // Violations are never subject to the budget.
        Assert.Contains($"gpuaudit_gpu_class{{uuid=\"{Uuid}\",class=", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Over_the_cap_the_hashing_process_is_kept_and_the_rest_is_counted()
    {
        // Room for one process: the trainer holds 20 times the hasher's memory, yet the hasher stays visible.
        var text = await ExpositionTests.Expose(["mixed"], until: 15, options: new PrometheusExporterOptions { MaxProcessSeries = 5 });

        var series = ProcessSeries(text);
        Assert.Equal(5, series.Count);
        Assert.All(series, s => Assert.Contains("pid=\"776\"", s, StringComparison.Ordinal));
        Assert.Contains("gpuaudit_process_series_dropped_total 5\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_node_of_many_processes_stays_within_the_cap()
    {
        var pool = new[] { "mixed", "train_cnn", "hash_sha256" }.Select(n => RecordedTrace.Load(RepoPaths.Trace(n))).ToList();
        using var source = new SimulatedFleetSource(pool, new FleetShape(8, 32) { Fast = true, MaxTicks = 20 }, TimeProvider.System);
        var metrics = new GpuAuditMetrics(Metrics.NewCustomRegistry());
        var exporter = new PrometheusExporter(metrics, source.Devices, TimeSpan.FromSeconds(1), new FakeTimeProvider(), new PrometheusExporterOptions { MaxProcessSeries = 256 });
        await new AuditRunner(source, new AuditPipeline(source.Devices, new RecordedInsightProvider(), NoJobMap.Instance, new PolicyEngine(AuditPolicy.Default, source.Node)), [exporter], TimeProvider.System).RunAsync(CancellationToken.None);

        var text = await AgentFixtures.ExpositionAsync(metrics.Registry);

        // 256 processes, room for 51: 205 withheld, counted once each with their 5 series.
        Assert.True(ProcessSeries(text).Count <= 256, $"{ProcessSeries(text).Count} process series");
        Assert.Equal(51, ProcessSeries(text).Where(s => s.StartsWith("gpuaudit_process_info{", StringComparison.Ordinal)).Count());
        Assert.Contains($"gpuaudit_process_series_dropped_total {205 * 5}\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_process_that_leaves_and_comes_back_at_the_same_place_is_exported_again()
    {
        // The exporter finds a process at its index of the last poll before it hashes the key. Pid 3
        // sits third, leaves (a poll of two), and comes back third: the entry the hint still points
        // at was removed with its series, and must not be taken for the live one.
        var device = new GpuDevice(0, "GPU-x", "H100", "580", 1, true);
        var metrics = new GpuAuditMetrics(Metrics.NewCustomRegistry());
        var exporter = new PrometheusExporter(metrics, [device], TimeSpan.FromSeconds(1), new FakeTimeProvider(), new PrometheusExporterOptions { MaxProcessSeries = 15 });
        var pipeline = new AuditPipeline([device], new RecordedInsightProvider(), NoJobMap.Instance, new PolicyEngine(AuditPolicy.Default));
        int[][] polls = [[1, 2, 3], [1, 2], [1, 2, 3]];
        for (var t = 0; t < polls.Length; t++)
        {
            var sample = new GpuSample { Time = t, Gpu = 0, UtilGpuPct = 50, Procs = [.. polls[t].Select(pid => new ProcessUsage(pid, 1 << 30, 10, 0))] };
            exporter.OnTick(pipeline.Process(new Tick(t, [sample], [], [new CollectorStatus(0, true)])), TimeSpan.Zero);
            var text = await AgentFixtures.ExpositionAsync(metrics.Registry);
            var memory = ProcessSeries(text).Where(s => s.StartsWith("gpuaudit_process_memory_used_bytes{", StringComparison.Ordinal)).ToList();
            Assert.Equal(polls[t].Length, memory.Count);
            Assert.Equal(polls[t].Contains(3), memory.Any(s => s.Contains("pid=\"3\"", StringComparison.Ordinal)));
        }
    }

    private static List<string> ProcessSeries(string exposition) =>
        [.. exposition.Split('\n').Where(l => PerProcess().IsMatch(l))];

    [GeneratedRegex(@"^gpuaudit_process_[a-z_]+\{")]
    private static partial Regex PerProcess();
}

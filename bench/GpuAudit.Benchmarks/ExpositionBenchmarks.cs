using GpuAudit.Agent.Exporters;
using Prometheus;

namespace GpuAudit.Benchmarks;

/// <summary>One /metrics scrape of an 8 GPU x 32 process node: the text exposition of every series.</summary>
[MemoryDiagnoser]
public class ExpositionBenchmarks
{
    private const int WarmTicks = 120;

    private CollectorRegistry _registry = null!;

    [GlobalSetup]
    public void Setup()
    {
        var ticks = BenchData.SimulateTicks(PipelineBenchmarks.Gpus, PipelineBenchmarks.ProcessesPerGpu, WarmTicks, out var devices);
        _registry = Metrics.NewCustomRegistry();
        var exporter = new PrometheusExporter(new GpuAuditMetrics(_registry), devices, TimeSpan.FromSeconds(1), TimeProvider.System);
        var pipeline = new AuditPipeline(devices, new RecordedInsightProvider(), NoJobMap.Instance, new PolicyEngine(AuditPolicy.Default, "bench"));
        foreach (var tick in ticks)
        {
            exporter.OnTick(pipeline.Process(tick), TimeSpan.Zero);
        }
    }

    /// <summary>Rendered to a null stream: the cost is the serialisation, not the socket.</summary>
    [Benchmark]
    public Task RenderMetrics() => _registry.CollectAndExportAsTextAsync(Stream.Null);
}

using GpuAudit.Agent.Exporters;
using Prometheus;

namespace GpuAudit.Benchmarks;

/// <summary>
/// CPU and allocation per GPU per poll, NVML excluded, on a simulated 8 GPU x 32 process node:
/// one invocation is one tick of all 8 GPUs, reported per GPU (OperationsPerInvoke).
/// </summary>
[MemoryDiagnoser]
public class PipelineBenchmarks
{
    public const int Gpus = 8;
    public const int ProcessesPerGpu = 32;

    // Ticks are made up front; at the end of them the pipeline starts over (its classifier windows
    // need time to move forward), which is a small, amortised share of the measurement.
    private const int TicksPerRound = 1024;

    private Tick[] _ticks = [];
    private IReadOnlyList<GpuDevice> _devices = [];
    private AuditPipeline _pipeline = null!;
    private PrometheusExporter _exporter = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _ticks = BenchData.SimulateTicks(Gpus, ProcessesPerGpu, TicksPerRound, out _devices);
        _exporter = new PrometheusExporter(new GpuAuditMetrics(Metrics.NewCustomRegistry()), _devices, TimeSpan.FromSeconds(1), TimeProvider.System);
        StartRound();
    }

    /// <summary>Sample → identity and insight → classifier → attribution → policy → snapshot.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Gpus)]
    public TickAnalysis Analyse() => _pipeline.Process(NextTick());

    /// <summary>The same, plus publishing the snapshot to the Prometheus series (what the agent does every poll).</summary>
    [Benchmark(OperationsPerInvoke = Gpus)]
    public TickAnalysis AnalyseAndExport()
    {
        var analysis = _pipeline.Process(NextTick());
        _exporter.OnTick(analysis, TimeSpan.Zero);
        return analysis;
    }

    private Tick NextTick()
    {
        if (_next == _ticks.Length)
        {
            StartRound();
        }

        return _ticks[_next++];
    }

    private void StartRound()
    {
        _pipeline = new AuditPipeline(_devices, new RecordedInsightProvider(), NoJobMap.Instance, new PolicyEngine(AuditPolicy.Default, "bench"));
        _next = 0;
    }
}

using GpuAudit.Core.Replay;

namespace GpuAudit.Benchmarks;

/// <summary>
/// GPU-samples per second on one core over a long trace synthesized from the real recordings
/// (all of them, one after another on one GPU, repeated with shifted times until
/// <see cref="Samples"/> samples). Results are per sample (OperationsPerInvoke).
/// </summary>
[MemoryDiagnoser]
public class ThroughputBenchmarks
{
    public const int Samples = 50_000;

    private string _path = string.Empty;
    private IReadOnlyList<ProcessRecord> _processes = [];
    private IReadOnlyList<GpuSample> _samples = [];

    [GlobalSetup]
    public void Setup()
    {
        _path = Path.Combine(Path.GetTempPath(), $"gpuaudit-bench-{Environment.ProcessId}.jsonl");
        LongTrace.Write(_path, BenchData.LoadTraces(), Samples);
        var trace = RecordedTrace.Load(_path);
        _processes = trace.Processes;
        _samples = trace.Samples;
    }

    [GlobalCleanup]
    public void Cleanup() => File.Delete(_path);

    /// <summary>`gpuaudit replay --fast` without the analysis: read, parse and remap into ticks.</summary>
    [Benchmark(OperationsPerInvoke = Samples)]
    public async Task<int> Replay()
    {
        using var source = new TraceReplaySource([_path], new ReplayOptions { Fast = true }, TimeProvider.System);
        var samples = 0;
        while (await source.NextAsync(CancellationToken.None) is { } tick)
        {
            samples += tick.Samples.Count;
        }

        return samples;
    }

    /// <summary>The classifier alone over samples already in memory: features and verdicts.</summary>
    [Benchmark(OperationsPerInvoke = Samples)]
    public int Classify()
    {
        var classifier = new WorkloadClassifier();
        foreach (var process in _processes)
        {
            classifier.ObserveProcess(ProcessAnalyzer.Analyze(process));
        }

        var verdicts = 0;
        foreach (var sample in _samples)
        {
            verdicts += classifier.Observe(sample) is null ? 0 : 1;
        }

        return verdicts;
    }
}

namespace GpuAudit.Benchmarks;

/// <summary>
/// Classification cost on real H100 samples (the mixed trace: two processes, per-process fit),
/// replayed end to end for <see cref="Samples"/> seconds of 1 Hz polling. Per-operation numbers are
/// per sample. <c>ObserveOnly</c> is the hot path (ring buffer and running sums, no verdict due);
/// <c>ObserveWithVerdicts</c> adds a verdict every second of sample time, i.e. at every 1 Hz sample:
/// the per-window cost is the difference.
/// </summary>
[MemoryDiagnoser]
public class ClassifierBenchmarks
{
    private const int Samples = 10_000;

    private GpuSample[] _samples = [];
    private ProcessRecord[] _processes = [];

    [GlobalSetup]
    public void Setup()
    {
        var trace = RecordedTrace.Load(Path.Combine(RepoRoot(), "data", "traces", "mixed.jsonl"));
        _processes = [.. trace.Processes];
        var source = trace.Samples;
        var span = source[^1].Time - source[0].Time + 1;
        _samples = new GpuSample[Samples];
        for (var i = 0; i < Samples; i++)
        {
            var s = source[i % source.Count];
            var shift = span * (i / source.Count);
            _samples[i] = s with { Time = s.Time + shift };
        }
    }

    [Benchmark(OperationsPerInvoke = Samples)]
    public int ObserveOnly() => Replay(ClassifierOptions.Default with { VerdictPeriodSeconds = double.MaxValue / 4 });

    [Benchmark(OperationsPerInvoke = Samples)]
    public int ObserveWithVerdicts() => Replay(ClassifierOptions.Default);

    private int Replay(ClassifierOptions options)
    {
        var classifier = new WorkloadClassifier(options);
        foreach (var p in _processes)
        {
            classifier.ObserveProcess(ProcessAnalyzer.Analyze(p));
        }

        var verdicts = 0;
        foreach (var s in _samples)
        {
            if (classifier.Observe(s) is not null)
            {
                verdicts++;
            }
        }

        return verdicts;
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GpuAudit.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("GpuAudit.sln not found above " + AppContext.BaseDirectory);
    }
}

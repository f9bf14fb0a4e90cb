namespace GpuAudit.Benchmarks;

/// <summary>
/// CPU time per operation, beside BenchmarkDotNet's wall-clock time. On a shared machine (2 cores,
/// other builds running) wall time counts the time other processes held the core; the issue's
/// targets are CPU costs ("per poll on one core"), and process CPU time (getrusage: every thread,
/// the GC's included) is what a loaded machine does not inflate by the load factor.
/// </summary>
internal static class CpuTime
{
    private static readonly TimeSpan Measure = TimeSpan.FromSeconds(3);

    /// <summary>Every benchmark of the suite, set up and measured in turn: method name → CPU ns per operation.</summary>
    public static Dictionary<string, double> MeasureSuite()
    {
        var results = new Dictionary<string, double>(StringComparer.Ordinal);
        var pipeline = new PipelineBenchmarks();
        pipeline.Setup();
        results[nameof(PipelineBenchmarks.Analyse)] = PerOperation(() => pipeline.Analyse(), PipelineBenchmarks.Gpus);
        var exporting = new PipelineBenchmarks();
        exporting.Setup();
        results[nameof(PipelineBenchmarks.AnalyseAndExport)] = PerOperation(() => exporting.AnalyseAndExport(), PipelineBenchmarks.Gpus);
        var exposition = new ExpositionBenchmarks();
        exposition.Setup();
        results[nameof(ExpositionBenchmarks.RenderMetrics)] = PerOperation(() => exposition.RenderMetrics().GetAwaiter().GetResult(), 1);
        var journal = new JournalBenchmarks();
        journal.Setup();
        try
        {
            results[nameof(JournalBenchmarks.RecordMinute)] = PerOperation(journal.RecordMinute, PipelineBenchmarks.Gpus * JournalBenchmarks.PollsPerMinute);
        }
        finally
        {
            journal.Cleanup();
        }

        var throughput = new ThroughputBenchmarks();
        throughput.Setup();
        try
        {
            results[nameof(ThroughputBenchmarks.Replay)] = PerOperation(() => throughput.Replay().GetAwaiter().GetResult(), ThroughputBenchmarks.Samples);
            results[nameof(ThroughputBenchmarks.Classify)] = PerOperation(() => throughput.Classify(), ThroughputBenchmarks.Samples);
        }
        finally
        {
            throughput.Cleanup();
        }

        return results;
    }

    private static double PerOperation(Action invoke, int operationsPerInvoke)
    {
        // Warm-up: tiered JIT settles, caches fill (at least one invocation).
        var time = TimeProvider.System;
        var warm = time.GetTimestamp();
        do
        {
            invoke();
        }
        while (time.GetElapsedTime(warm) < Measure / 3);

        var invocations = 0L;
        var cpuBefore = Environment.CpuUsage.TotalTime;
        var wall = time.GetTimestamp();
        do
        {
            invoke();
            invocations++;
        }
        while (time.GetElapsedTime(wall) < Measure);

        var cpu = Environment.CpuUsage.TotalTime - cpuBefore;
        return cpu.TotalNanoseconds / (invocations * (double)operationsPerInvoke);
    }
}

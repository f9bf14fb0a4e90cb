using GpuAudit.Core.Classification.Evaluation;
using GpuAudit.Core.Replay;

namespace GpuAudit.Core.Tests.Classification;

/// <summary>
/// Runs trace files through <see cref="TracePipeline"/>, the path `classify` and `replay` share,
/// so these tests check what the product does, not a second copy of it.
/// </summary>
internal static class RecordingRuns
{
    public static List<GpuVerdicts> Verdicts(string path)
    {
        var collector = new Collector();
        Run(path, collector);
        return collector.Verdicts;
    }

    public static TraceEvaluation Evaluate(string path)
    {
        using var evaluator = TraceEvaluator.Open(Path.GetFileName(path), path);
        Run(path, evaluator);
        return evaluator.Finish();
    }

    public static string Summary(string path)
    {
        var summary = new VerdictSummary();
        Run(path, summary);
        return summary.Render(Path.GetFileName(path));
    }

    public static string Json(string path)
    {
        using var stream = new MemoryStream();
        using (var json = new VerdictJson(stream, Path.GetFileName(path)))
        {
            Run(path, json);
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Writes <paramref name="trace"/> (a recording edited in memory) to a file in <paramref name="directory"/>.</summary>
    public static string Write(RecordedTrace trace, string directory)
    {
        var path = Path.Combine(directory, Path.GetFileName(trace.Name));
        using var writer = new TraceWriter(File.Create(path));
        writer.WriteHeader(trace.Header);
        foreach (var process in trace.Processes)
        {
            writer.WriteProcess(process);
        }

        foreach (var sample in trace.Samples)
        {
            writer.WriteSample(sample);
        }

        return path;
    }

    // Fast replay never waits: the run completes synchronously.
    private static void Run(string path, IAnalysisSink sink) => TracePipeline.RunAsync(path, [sink], TimeProvider.System).GetAwaiter().GetResult();

    private sealed class Collector : IAnalysisSink
    {
        public List<GpuVerdicts> Verdicts { get; } = [];

        public void OnTick(TickAnalysis analysis, TimeSpan pollDuration)
        {
            foreach (var gpu in analysis.Gpus)
            {
                if (gpu.NewVerdicts is { } v)
                {
                    Verdicts.Add(v);
                }
            }
        }
    }
}

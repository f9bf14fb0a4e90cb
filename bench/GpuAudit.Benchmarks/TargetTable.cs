using System.Globalization;
using BenchmarkDotNet.Reports;

namespace GpuAudit.Benchmarks;

/// <summary>
/// The targets checked against what BenchmarkDotNet measured, as markdown table rows
/// (row | target | measured | verdict). The ± is the run's standard deviation: the noise of a
/// shared machine, reported rather than hidden.
/// </summary>
internal static class TargetTable
{
    private const string PerGpuPoll = "per GPU per poll, 8x32";

    public static IEnumerable<string> Rows(IReadOnlyList<Summary> summaries)
    {
        var reports = summaries.SelectMany(s => s.Reports.Select(r => (Summary: s, Report: r)))
            .Where(x => x.Report.ResultStatistics is not null)
            .ToDictionary(x => x.Report.BenchmarkCase.Descriptor.WorkloadMethod.Name, StringComparer.Ordinal);

        if (reports.TryGetValue(nameof(PipelineBenchmarks.Analyse), out var analyse))
        {
            yield return TimeRow($"Pipeline CPU {PerGpuPoll} (sample → classifier → snapshot)", analyse.Report, 50_000);
            yield return AllocationRow($"Pipeline allocation {PerGpuPoll}", analyse, 0, "0 B (where practical)");
        }

        if (reports.TryGetValue(nameof(PipelineBenchmarks.AnalyseAndExport), out var export))
        {
            yield return TimeRow($"Pipeline + Prometheus publish CPU {PerGpuPoll}", export.Report, 50_000);
            yield return AllocationRow($"Pipeline + Prometheus publish allocation {PerGpuPoll}", export, 0, "0 B (where practical)");
        }

        if (reports.TryGetValue(nameof(ExpositionBenchmarks.RenderMetrics), out var render))
        {
            yield return TimeRow("/metrics render time, 8x32", render.Report, 2_000_000);
            yield return AllocationRow("/metrics render allocation, 8x32", render, 256 * 1024, "≤ 256 KB");
        }

        if (reports.TryGetValue(nameof(ThroughputBenchmarks.Replay), out var replay))
        {
            yield return ThroughputRow("Replay (read + parse) throughput, one core", replay.Report, null);
        }

        if (reports.TryGetValue(nameof(ThroughputBenchmarks.Classify), out var classify))
        {
            yield return ThroughputRow("Classify throughput, one core", classify.Report, 500_000);
        }
    }

    private static string TimeRow(string name, BenchmarkReport report, double targetNs)
    {
        var stats = report.ResultStatistics!;
        var measured = $"{Duration(stats.Mean)} ± {Percent(stats.StandardDeviation / stats.Mean)}";
        var verdict = stats.Mean <= targetNs ? $"met ({Ratio(targetNs / stats.Mean)} under)" : $"missed by {Duration(stats.Mean - targetNs)} ({Ratio(stats.Mean / targetNs)})";
        return Row(name, "≤ " + Duration(targetNs), measured, verdict);
    }

    private static string AllocationRow(string name, (Summary Summary, BenchmarkReport Report) x, long targetBytes, string target)
    {
        var bytes = x.Report.GcStats.GetBytesAllocatedPerOperation(x.Report.BenchmarkCase);
        if (bytes is not { } b)
        {
            return Row(name, target, "not measured", "unknown");
        }

        var verdict = b <= targetBytes ? "met" : $"missed by {Bytes(b - targetBytes)}";
        return Row(name, target, Bytes(b), verdict);
    }

    private static string ThroughputRow(string name, BenchmarkReport report, double? targetPerSecond)
    {
        var stats = report.ResultStatistics!;
        var perSecond = 1e9 / stats.Mean;
        var measured = $"{Count(perSecond)} GPU-samples/s ± {Percent(stats.StandardDeviation / stats.Mean)}";
        if (targetPerSecond is not { } target)
        {
            return Row(name, "none (reported)", measured, "n/a");
        }

        var verdict = perSecond >= target ? $"met ({Ratio(perSecond / target)} over)" : $"missed by {Count(target - perSecond)}/s";
        return Row(name, $"≥ {Count(target)} GPU-samples/s", measured, verdict);
    }

    private static string Row(string name, string target, string measured, string verdict) => $"| {name} | {target} | {measured} | {verdict} |";

    private static string Duration(double ns) => ns switch
    {
        >= 1e6 => F(ns / 1e6, "0.00") + " ms",
        >= 1e3 => F(ns / 1e3, "0.0") + " µs",
        _ => F(ns, "0") + " ns",
    };

    private static string Bytes(long bytes) => bytes >= 1024 ? F(bytes / 1024.0, "0.0") + " KB" : bytes.ToString(CultureInfo.InvariantCulture) + " B";

    private static string Count(double n) => F(n, "#,0");

    private static string Percent(double fraction) => F(fraction * 100, "0") + "%";

    private static string Ratio(double r) => F(r, "0.0") + "x";

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}

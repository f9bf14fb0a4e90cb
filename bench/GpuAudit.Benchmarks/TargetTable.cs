using System.Globalization;
using BenchmarkDotNet.Reports;

namespace GpuAudit.Benchmarks;

/// <summary>
/// The targets checked against what was measured, as markdown table rows (row | target |
/// measured | verdict). Time verdicts use CPU time (<see cref="CpuTime"/>); BenchmarkDotNet's
/// wall-clock mean is shown beside it with its standard deviation: the noise of a shared
/// machine, reported rather than hidden. Allocations come from BenchmarkDotNet's MemoryDiagnoser.
/// </summary>
internal static class TargetTable
{
    private const string PerGpuPoll = "per GPU per poll, 8x32";

    public static IEnumerable<string> Rows(IReadOnlyList<Summary> summaries, IReadOnlyDictionary<string, double> cpuNsPerOperation)
    {
        var reports = summaries.SelectMany(s => s.Reports.Select(r => (Summary: s, Report: r)))
            .Where(x => x.Report.ResultStatistics is not null)
            .ToDictionary(x => MethodName(x.Report), StringComparer.Ordinal);

        if (reports.TryGetValue(nameof(PipelineBenchmarks.Analyse), out var analyse))
        {
            yield return TimeRow($"Pipeline CPU {PerGpuPoll} (sample → classifier → snapshot)", analyse.Report, cpuNsPerOperation, 50_000);
            yield return AllocationRow($"Pipeline allocation {PerGpuPoll}", analyse, 0, "0 B (where practical)");
        }

        if (reports.TryGetValue(nameof(PipelineBenchmarks.AnalyseAndExport), out var export))
        {
            yield return TimeRow($"Pipeline + Prometheus publish CPU {PerGpuPoll}", export.Report, cpuNsPerOperation, 50_000);
            yield return AllocationRow($"Pipeline + Prometheus publish allocation {PerGpuPoll}", export, 0, "0 B (where practical)");
        }

        if (reports.TryGetValue(nameof(ExpositionBenchmarks.RenderMetrics), out var render))
        {
            yield return TimeRow("/metrics render CPU time, 8x32", render.Report, cpuNsPerOperation, 2_000_000);
            yield return AllocationRow("/metrics render allocation, 8x32", render, 256 * 1024, "≤ 256 KB");
        }

        if (reports.TryGetValue(nameof(JournalBenchmarks.RecordMinute), out var journal))
        {
            // Not a target of its own: the journal's share of the 50 µs whole-agent budget.
            yield return TimeRow($"Journal: a minute of summaries (8 GPU + 256 process + 8 job rows, one transaction) CPU {PerGpuPoll}", journal.Report, cpuNsPerOperation, 50_000);
        }

        if (reports.TryGetValue(nameof(ThroughputBenchmarks.Replay), out var replay))
        {
            yield return ThroughputRow("Replay (read + parse) throughput, one core", replay.Report, cpuNsPerOperation, null);
        }

        if (reports.TryGetValue(nameof(ThroughputBenchmarks.Classify), out var classify))
        {
            yield return ThroughputRow("Classify throughput, one core", classify.Report, cpuNsPerOperation, 500_000);
        }
    }

    private static string TimeRow(string name, BenchmarkReport report, IReadOnlyDictionary<string, double> cpu, double targetNs)
    {
        var stats = report.ResultStatistics!;
        var cpuNs = cpu[MethodName(report)];
        var measured = $"{Duration(cpuNs)} CPU (wall {Duration(stats.Mean)} ± {Percent(stats.StandardDeviation / stats.Mean)})";
        var verdict = cpuNs <= targetNs ? $"met ({Ratio(targetNs / cpuNs)} under)" : $"missed by {Duration(cpuNs - targetNs)} ({Ratio(cpuNs / targetNs)})";
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

    private static string ThroughputRow(string name, BenchmarkReport report, IReadOnlyDictionary<string, double> cpu, double? targetPerSecond)
    {
        var stats = report.ResultStatistics!;
        var perSecond = 1e9 / cpu[MethodName(report)];
        var measured = $"{Count(perSecond)} GPU-samples per CPU-second (wall {Count(1e9 / stats.Mean)}/s ± {Percent(stats.StandardDeviation / stats.Mean)})";
        if (targetPerSecond is not { } target)
        {
            return Row(name, "none (reported)", measured, "n/a");
        }

        var verdict = perSecond >= target ? $"met ({Ratio(perSecond / target)} over)" : $"missed by {Count(target - perSecond)}/s";
        return Row(name, $"≥ {Count(target)} GPU-samples/s", measured, verdict);
    }

    private static string MethodName(BenchmarkReport report) => report.BenchmarkCase.Descriptor.WorkloadMethod.Name;

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

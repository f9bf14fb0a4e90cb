using GpuAudit.Agent.Journal;
using GpuAudit.Core;
using GpuAudit.Core.Reporting;
using GpuAudit.Core.Summaries;

namespace GpuAudit.Agent.Reporting;

/// <summary>
/// Builds a job's report from one node's journal. Covers only this node; for a job that spans
/// nodes use <see cref="PrometheusReportSource"/>, or merge journals per node.
/// </summary>
public sealed class JournalReportSource(AuditJournal journal)
{
    /// <summary>
    /// The report of <paramref name="job"/> over [from, to]; an open end defaults to the first or
    /// last time the journal saw the job. Throws <see cref="UserInputException"/> when the journal
    /// has nothing about the job, so a mistyped id does not yield an empty "clean" report.
    /// </summary>
    public JobReport Build(string job, double? from = null, double? to = null)
    {
        var queryFrom = from ?? double.MinValue;
        var queryTo = to ?? double.MaxValue;
        var jobRows = journal.JobMinutes(job, queryFrom, queryTo);
        var processRows = journal.ProcessMinutes(job, queryFrom, queryTo);
        var violations = journal.Violations(job, queryFrom, queryTo);
        if (jobRows.Count == 0 && processRows.Count == 0 && violations.Count == 0)
        {
            throw new UserInputException($"the journal in {journal.Directory} has no record of job {job}{Window(from, to)}; check the job id, the --from/--to window and --journal");
        }

        var seen = jobRows.Select(r => (r.Totals.FirstTime, r.Totals.LastTime))
            .Concat(processRows.Select(r => (r.Totals.FirstTime, r.Totals.LastTime)))
            .Concat(violations.Select(v => (v.Start, v.End ?? v.Start)))
            .ToList();
        var firstSeen = Math.Max(seen.Min(s => s.Item1), from ?? double.MinValue);
        var lastSeen = Math.Min(seen.Max(s => s.Item2), to ?? double.MaxValue);

        var gpus = jobRows.GroupBy(r => (r.Node, r.Uuid)).Select(g =>
        {
            var seconds = new ClassSeconds();
            foreach (var row in g)
            {
                seconds.Add(row.Totals.ClassSeconds);
            }

            return new ReportGpu(g.Key.Node, g.Key.Uuid, g.First().Gpu, seconds, g.Sum(r => r.Totals.EnergyJoules), WeightedMean(g.Select(r => r.Totals)));
        }).ToList();

        var processes = processRows.GroupBy(r => (r.Node, r.Uuid, r.Pid)).Select(g =>
        {
            var seconds = new ClassSeconds();
            foreach (var row in g)
            {
                seconds.Add(row.Totals.ClassSeconds);
            }

            return new ReportProcess(g.Key.Node, g.Key.Uuid, g.Key.Pid, g.Select(r => r.Comm).FirstOrDefault(c => c is not null),
                g.Select(r => r.Executable).FirstOrDefault(e => e is not null), g.Select(r => r.User).FirstOrDefault(u => u is not null), seconds, WeightedMean(g.Select(r => r.Totals)));
        }).ToList();

        var timelines = jobRows.GroupBy(r => (r.Node, r.Uuid)).Select(g => new GpuTimeline(g.Key.Node, g.Key.Uuid, g
            .Where(r => r.Totals.ClassSeconds.Dominant is not null)
            .Select(r => new TimelinePoint(r.Totals.FirstTime, r.Totals.LastTime - r.Totals.FirstTime, r.Totals.ClassSeconds.Dominant!.Value, r.Totals.MeanUtilization))
            .ToList())).ToList();

        return new JobReport
        {
            JobId = job,
            User = jobRows.Select(r => r.User).Concat(processRows.Select(r => r.User)).Concat(violations.Select(v => v.User)).FirstOrDefault(u => u is not null),
            From = from ?? firstSeen,
            To = to ?? lastSeen,
            FirstSeen = firstSeen,
            LastSeen = lastSeen,
            Source = "journal " + journal.Directory,
            Gpus = gpus,
            Processes = processes,
            Violations = violations,
            Timelines = timelines,
            Kernels = journal.ProcessKernels(job, queryFrom, queryTo),
            Notes = ["one node's journal: GPUs of this job on other nodes are not included (use --prometheus for the whole job)", "timeline resolution: one minute"],
        };
    }

    private static double? WeightedMean(IEnumerable<MinuteTotals> rows)
    {
        var list = rows.Where(r => r.MeanUtilization is not null && r.UtilizationSeconds > 0).ToList();
        var seconds = list.Sum(r => r.UtilizationSeconds);
        return seconds > 0 ? list.Sum(r => r.MeanUtilization!.Value * r.UtilizationSeconds) / seconds : null;
    }

    private static string Window(double? from, double? to) =>
        from is null && to is null ? "" : $" between {(from is { } f ? ReportText.Time(f) : "the start")} and {(to is { } t ? ReportText.Time(t) : "now")}";
}

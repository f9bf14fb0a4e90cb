using GpuAudit.Agent.Journal;

namespace GpuAudit.Agent.Reporting;

/// <summary>
/// Builds a job's report from one node's journal. Covers only this node; for a job that spans
/// nodes use <see cref="PrometheusReportSource"/>, or merge journals per node. Totals are summed
/// in SQL and the violations are read as the report is written, so a report of any size runs in
/// a flat amount of memory; the <see cref="JournalReader"/> must stay open until it is written.
/// </summary>
public sealed class JournalReportSource(JournalReader journal)
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
        if (journal.Sighting(job, queryFrom, queryTo) is not { } seen)
        {
            throw new UserInputException($"the journal in {journal.Directory} has no record of job {job}{Window(from, to)}; check the job id, the time window and the journal directory") { Input = UserInput.Journal };
        }

        var firstSeen = Math.Max(seen.First, queryFrom);
        var lastSeen = Math.Min(seen.Last, queryTo);
        var timelines = journal.JobMinutes(job, queryFrom, queryTo).GroupBy(r => (r.Node, r.Uuid)).Select(g => new GpuTimeline(g.Key.Node, g.Key.Uuid, g
            .Where(r => r.Totals.ClassSeconds.Dominant is not null)
            .Select(r => new TimelinePoint(r.Totals.FirstTime, r.Totals.LastTime - r.Totals.FirstTime, r.Totals.ClassSeconds.Dominant!.Value, r.Totals.MeanUtilization))
            .ToList())).ToList();

        return new JobReport
        {
            JobId = job,
            User = seen.User,
            From = from ?? firstSeen,
            To = to ?? lastSeen,
            FirstSeen = firstSeen,
            LastSeen = lastSeen,
            Source = "journal " + journal.Directory,
            Gpus = journal.Gpus(job, queryFrom, queryTo),
            Processes = journal.Processes(job, queryFrom, queryTo),
            Violations = journal.Violations(job, queryFrom, queryTo),
            DivertedSeconds = journal.DivertedSeconds(job, queryFrom, queryTo),
            Timelines = timelines,
            Kernels = journal.ProcessKernels(job, queryFrom, queryTo),
            Notes =
            [
                "one node's journal: GPUs of this job on other nodes are not included (a report from Prometheus covers the whole job)",
                $"timeline resolution: one minute; process totals: {JournalReader.ProcessPeriodMinutes}-minute periods",
            ],
        };
    }

    /// <summary>
    /// Every violation and allowed finding in [from, to], of every job and of processes that belong
    /// to none (a miner outside any job has journal rows but no job report), with every GPU's and
    /// process's totals. Throws <see cref="UserInputException"/> when the journal holds nothing in the window.
    /// </summary>
    public JobReport BuildAll(double? from = null, double? to = null)
    {
        var queryFrom = from ?? double.MinValue;
        var queryTo = to ?? double.MaxValue;
        if (journal.AnySighting(queryFrom, queryTo) is not { } seen)
        {
            throw new UserInputException($"the journal in {journal.Directory} has no record{Window(from, to)}; check the --from/--to window and --journal");
        }

        var firstSeen = Math.Max(seen.First, queryFrom);
        var lastSeen = Math.Min(seen.Last, queryTo);
        var timelines = journal.GpuMinutes(queryFrom, queryTo).GroupBy(r => (r.Node, r.Uuid)).Select(g => new GpuTimeline(g.Key.Node, g.Key.Uuid, g
            .Where(r => r.Totals.ClassSeconds.Dominant is not null)
            .Select(r => new TimelinePoint(r.Totals.FirstTime, r.Totals.LastTime - r.Totals.FirstTime, r.Totals.ClassSeconds.Dominant!.Value, r.Totals.MeanUtilization))
            .ToList())).ToList();

        return new JobReport
        {
            JobId = JobReport.AllJobsId,
            AllJobs = true,
            From = from ?? firstSeen,
            To = to ?? lastSeen,
            FirstSeen = firstSeen,
            LastSeen = lastSeen,
            Source = "journal " + journal.Directory,
            Gpus = journal.AllGpus(queryFrom, queryTo),
            Processes = journal.Processes(null, queryFrom, queryTo),
            Violations = journal.Violations(null, queryFrom, queryTo),
            Timelines = timelines,
            Notes =
            [
                "every violation in the window, with its job where one is known (\"none\": the process belonged to no job)",
                "one node's journal: other nodes are not included",
                $"timeline resolution: one minute; process totals: {JournalReader.ProcessPeriodMinutes}-minute periods",
            ],
        };
    }

    private static string Window(double? from, double? to) =>
        from is null && to is null ? "" : $" between {(from is { } f ? ReportText.Time(f) : "the start")} and {(to is { } t ? ReportText.Time(t) : "now")}";
}

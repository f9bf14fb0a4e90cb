using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace GpuAudit.Agent.Reporting;

/// <summary>
/// Builds a job's report from Prometheus range queries over the metrics every node's agent
/// exports (docs/reports.md lists the queries), so it covers every node of the job, like jobstats.
/// Series are joined to the job through <c>gpuaudit_gpu_job_info{job_id=...}</c> on
/// (instance, uuid). Evidence stays in the node journals: Prometheus has no place for it.
/// </summary>
public sealed class PrometheusReportSource(HttpClient http, Uri baseUrl, TimeProvider time)
{
    /// <summary>How far back to look for a job when --from is not given.</summary>
    public static readonly TimeSpan DefaultLookback = TimeSpan.FromDays(7);

    /// <summary>Points per series to aim for; Prometheus refuses more than 11,000.</summary>
    private const int TargetPoints = 1000;

    public async Task<JobReport> BuildAsync(string job, double? from, double? to, CancellationToken cancellationToken)
    {
        var end = to ?? time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
        var start = from ?? end - DefaultLookback.TotalSeconds;
        if (start >= end)
        {
            throw new UserInputException($"the start ({ReportText.Time(start)}) is not before the end ({ReportText.Time(end)}); swap them or widen the window") { Input = UserInput.ReportWindow };
        }

        var jobInfo = "gpuaudit_gpu_job_info" + PrometheusQuery.Matcher("job_id", job);
        // First pass, coarse: in which steps did the job exist at all? present_over_time over
        // each whole step sees samples between evaluation points (a bare selector would only see
        // the last 5 minutes before each point), and the points are aligned to end on `end`, so
        // a job scraped seconds ago is found.
        var coarseStep = StepFor(start, end);
        var alignedStart = end - (Math.Ceiling((end - start) / coarseStep) * coarseStep);
        var coarse = await QueryAsync($"present_over_time({jobInfo}[{PrometheusQuery.Number(coarseStep)}s])", alignedStart, end, coarseStep, cancellationToken);
        var seenAt = coarse.SelectMany(s => s.Points.Select(p => p.Time)).ToList();
        if (seenAt.Count == 0)
        {
            throw new UserInputException($"Prometheus at {baseUrl} has no {jobInfo} between {ReportText.Time(start)} and {ReportText.Time(end)}; check the job id, the time window, and that Prometheus scrapes the agents (gpuaudit_gpu_job_info exists only where the agent has a GPU→job map)") { Input = UserInput.Prometheus };
        }

        // Second pass: the job's first and last scrape, at a step fitted to the steps it was seen in.
        var locateFrom = Math.Max(start, seenAt.Min() - coarseStep);
        var locateTo = Math.Min(end, seenAt.Max());
        var located = await QueryAsync($"timestamp({jobInfo})", locateFrom, locateTo, StepFor(locateFrom, locateTo), cancellationToken);
        var stamps = located.SelectMany(s => s.Points.Select(p => p.Value)).ToList();
        var firstSeen = stamps.Count > 0 ? stamps.Min() : locateFrom;
        var lastSeen = stamps.Count > 0 ? stamps.Max() : locateTo;

        // Third pass at a fine step over just the job's life, unless the user fixed the window.
        var windowFrom = from ?? Math.Max(start, firstSeen - 1);
        var windowTo = to ?? Math.Min(end, lastSeen + 1);
        var step = StepFor(windowFrom, windowTo);
        var presence = await QueryAsync($"timestamp({jobInfo})", windowFrom, windowTo, step, cancellationToken);
        if (presence.All(s => s.Points.Count == 0))
        {
            throw new UserInputException($"Prometheus at {baseUrl} has no {jobInfo} between {ReportText.Time(windowFrom)} and {ReportText.Time(windowTo)}; widen the window") { Input = UserInput.ReportWindow };
        }

        // cluster: where several clusters share one long-term store, node names can repeat.
        var onGpu = $" and on(cluster, instance, uuid) {jobInfo}";
        var processInfo = "gpuaudit_process_info" + PrometheusQuery.Matcher("job_id", job);
        var onProcess = $" and on(cluster, instance, uuid, pid) {processInfo}";
        var classSeconds = await QueryAsync("gpuaudit_gpu_class_seconds_total" + onGpu, windowFrom, windowTo, step, cancellationToken);
        var energy = await QueryAsync("gpuaudit_gpu_energy_joules_total" + onGpu, windowFrom, windowTo, step, cancellationToken);
        var classes = await QueryAsync("(gpuaudit_gpu_class == 1)" + onGpu, windowFrom, windowTo, step, cancellationToken);
        var utilization = await QueryAsync("gpuaudit_gpu_utilization_ratio" + onGpu, windowFrom, windowTo, step, cancellationToken);
        var processes = await QueryAsync(processInfo, windowFrom, windowTo, step, cancellationToken);
        var processClasses = await QueryAsync("(gpuaudit_process_class == 1)" + onProcess, windowFrom, windowTo, step, cancellationToken);
        var processSm = await QueryAsync("gpuaudit_process_sm_utilization_ratio" + onProcess, windowFrom, windowTo, step, cancellationToken);
        var violations = await QueryAsync("timestamp(gpuaudit_violation_active" + PrometheusQuery.Matcher("job_id", job) + ")", windowFrom, windowTo, step, cancellationToken);
        var diverted = await QueryAsync("gpuaudit_gpu_diverted_seconds_total" + PrometheusQuery.Matcher("job_id", job), windowFrom, windowTo, step, cancellationToken);

        var gpus = presence.Select(s => (Node: s.Label("instance"), Uuid: s.Label("uuid"))).Distinct().OrderBy(g => g.Node, StringComparer.Ordinal).ThenBy(g => g.Uuid, StringComparer.Ordinal).ToList();
        return new JobReport
        {
            JobId = job,
            User = presence.Select(s => s.Label("user")).Concat(processes.Select(s => s.Label("user"))).FirstOrDefault(u => u.Length > 0),
            From = windowFrom,
            To = windowTo,
            FirstSeen = presence.SelectMany(s => s.Points).Min(p => p.Value),
            LastSeen = presence.SelectMany(s => s.Points).Max(p => p.Value),
            Source = "prometheus " + baseUrl,
            Gpus = gpus.Select(g => new ReportGpu(g.Node, g.Uuid, null,
                Seconds(classSeconds.Where(s => Is(s, g)).Select(s => (s.Label("class"), s.Increase()))),
                energy.Where(s => Is(s, g)).Sum(s => s.Increase()),
                Mean(utilization.Where(s => Is(s, g))))).ToList(),
            Processes = processes.GroupBy(s => (Node: s.Label("instance"), Uuid: s.Label("uuid"), Pid: s.Label("pid"))).Select(p =>
            {
                var first = p.First();
                var mine = processClasses.Where(s => Is(s, (p.Key.Node, p.Key.Uuid)) && s.Label("pid") == p.Key.Pid);
                return new ReportProcess(p.Key.Node, p.Key.Uuid, int.Parse(p.Key.Pid, CultureInfo.InvariantCulture), Blank(first.Label("comm")), Blank(first.Label("exe")), Blank(first.Label("user")),
                    Seconds(mine.Select(s => (s.Label("class"), s.Points.Count * step))),
                    Mean(processSm.Where(s => Is(s, (p.Key.Node, p.Key.Uuid)) && s.Label("pid") == p.Key.Pid)));
            }).OrderBy(p => p.Node, StringComparer.Ordinal).ThenBy(p => p.Uuid, StringComparer.Ordinal).ThenBy(p => p.Pid).ToList(),
            DivertedSeconds = diverted.Sum(s => DivertedIncrease(s, windowFrom, step)),
            Violations = violations.Select(s => PolicyRuleNames.TryParse(s.Label("rule"), out var rule) ? ToViolation(s, rule, job, windowTo, step) : null).OfType<Violation>().OrderBy(v => v.Start).ThenBy(v => v.Id, StringComparer.Ordinal).ToList(),
            Timelines = gpus.Select(g => Timeline(g, classes, utilization, step)).ToList(),
            Notes = ["evidence and allowances are kept in each node's journal (a report from that node's journal shows them)", $"resolution: {ReportText.Number(step, "0")} s steps"],
        };
    }

    /// <summary>
    /// The growth of a job's diverted counter over the window. The agent creates the series at 0 when
    /// the GPU is given to the job, so a series born inside the window (its first point a step or more
    /// after the window's start) was at 0 before its first scrape: that first value is the job's too
    /// (a violation that opened with its backlog before Prometheus first scraped the agent).
    /// </summary>
    private static double DivertedIncrease(PrometheusSeries series, double windowFrom, double step) =>
        series.Increase() + (series.Points.Count > 0 && series.Points[0].Time >= windowFrom + step ? series.Points[0].Value : 0);

    private Task<IReadOnlyList<PrometheusSeries>> QueryAsync(string query, double start, double end, double step, CancellationToken cancellationToken) =>
        PrometheusQuery.RangeAsync(http, baseUrl, query, start, end, step, cancellationToken);

    private static GpuTimeline Timeline((string Node, string Uuid) gpu, IReadOnlyList<PrometheusSeries> classes, IReadOnlyList<PrometheusSeries> utilization, double step)
    {
        var util = utilization.Where(s => Is(s, gpu)).SelectMany(s => s.Points).GroupBy(p => p.Time).ToDictionary(g => g.Key, g => g.First().Value);
        var points = classes.Where(s => Is(s, gpu))
            .SelectMany(s => s.Points.Select(p => (p.Time, Class: WorkloadClassNames.TryParse(s.Label("class"), out var c) ? c : WorkloadClass.Unknown)))
            .GroupBy(p => p.Time).Select(g => g.First()).OrderBy(p => p.Time)
            .Select(p => new TimelinePoint(p.Time, step, p.Class, util.TryGetValue(p.Time, out var u) ? u : null))
            .ToList();
        return new GpuTimeline(gpu.Node, gpu.Uuid, points);
    }

    /// <summary>
    /// A violation as Prometheus saw it: from the first to the last scrape that showed it; still
    /// open if it was showing at the end of the window. Its id is derived the same way on every
    /// run, but differs from the node journal's (Prometheus does not carry the journal id).
    /// </summary>
    private static Violation ToViolation(PrometheusSeries series, PolicyRule rule, string job, double windowTo, double step)
    {
        var first = series.Points.Min(p => p.Value);
        var last = series.Points.Max(p => p.Value);
        var pid = int.TryParse(series.Label("pid"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var p) ? p : (int?)null;
        var key = string.Join('|', series.Label("instance"), series.Label("rule"), series.Label("uuid"), series.Label("pid"), job, PrometheusQuery.Number(first));
        return new Violation
        {
            Id = "prom-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)).AsSpan(0, 6)),
            Rule = rule,
            Node = series.Label("instance"),
            Gpu = -1,
            Uuid = series.Label("uuid"),
            Pid = pid,
            Job = job,
            Start = first,
            End = last >= windowTo - (2 * step) ? null : last,
            Evidence = [$"seen on /metrics of {series.Label("instance")}; the evidence is in that node's journal"],
        };
    }

    private static ClassSeconds Seconds(IEnumerable<(string Class, double Seconds)> entries)
    {
        var seconds = new ClassSeconds();
        foreach (var (label, value) in entries)
        {
            if (WorkloadClassNames.TryParse(label, out var c))
            {
                seconds.Add(c, value);
            }
        }

        return seconds;
    }

    private static double? Mean(IEnumerable<PrometheusSeries> series)
    {
        var values = series.SelectMany(s => s.Points).Select(p => p.Value).ToList();
        return values.Count > 0 ? values.Average() : null;
    }

    private static bool Is(PrometheusSeries series, (string Node, string Uuid) gpu) =>
        series.Label("instance") == gpu.Node && series.Label("uuid") == gpu.Uuid;

    private static string? Blank(string value) => value.Length == 0 ? null : value;

    private static double StepFor(double from, double to) => Math.Max(1, Math.Ceiling((to - from) / TargetPoints));
}

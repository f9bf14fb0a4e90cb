using System.Globalization;
using GpuAudit.Core.Classification;
using GpuAudit.Core.Policy;

namespace GpuAudit.Core.Reporting;

/// <summary>
/// Everything a per-job audit report shows, from a node journal or from Prometheus: who ran the
/// job where, what its GPUs did (GPU-seconds and energy by class), its processes, and its
/// violations with evidence (allowed findings included, with their reason). Renderers only format it.
/// </summary>
public sealed record JobReport
{
    public required string JobId { get; init; }

    /// <summary>
    /// A report of every violation in the window, whatever its job and of processes that belong to
    /// none (<c>gpuaudit report --all</c>); <see cref="JobId"/> is then <see cref="AllJobsId"/>.
    /// </summary>
    public bool AllJobs { get; init; }

    public const string AllJobsId = "*";

    /// <summary>What the report is about, for titles: "job 4242" or "every job".</summary>
    public string Subject => AllJobs ? "every job" : "job " + JobId;

    public string? User { get; init; }

    /// <summary>The window asked for (Unix seconds).</summary>
    public required double From { get; init; }

    public required double To { get; init; }

    /// <summary>First and last time the job was seen in the window; null when never.</summary>
    public double? FirstSeen { get; init; }

    public double? LastSeen { get; init; }

    /// <summary>Where the data came from ("journal /var/lib/gpuaudit", "prometheus http://...").</summary>
    public required string Source { get; init; }

    public IReadOnlyList<ReportGpu> Gpus { get; init; } = [];

    public IReadOnlyList<ReportProcess> Processes { get; init; } = [];

    /// <summary>
    /// Violations and allowed findings, by start time. A journal report reads them from the
    /// journal each time this is enumerated (tens of thousands stay on disk, not in memory), so
    /// enumerate it as often as needed, never index it.
    /// </summary>
    public IEnumerable<Violation> Violations { get; init; } = [];

    public IReadOnlyList<GpuTimeline> Timelines { get; init; } = [];

    /// <summary>Each process's top kernels from the kernel ledger, most launched first (empty without the ledger).</summary>
    public IReadOnlyList<KernelLaunchRow> Kernels { get; init; } = [];

    /// <summary>Caveats about the source (e.g. "evidence is kept in each node's journal").</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    public IReadOnlyList<string> Nodes => Gpus.Select(g => g.Node).Distinct().Order(StringComparer.Ordinal).ToList();

    public double WallSeconds => FirstSeen is { } first && LastSeen is { } last ? last - first : 0;

    public ClassSeconds GpuSeconds
    {
        get
        {
            var total = new ClassSeconds();
            foreach (var gpu in Gpus)
            {
                total.Add(gpu.ClassSeconds);
            }

            return total;
        }
    }

    public double EnergyJoules => Gpus.Sum(g => g.EnergyJoules);

    public IEnumerable<Violation> OpenViolations => Violations.Where(v => !v.IsAllowed);

    public IEnumerable<Violation> AllowedFindings => Violations.Where(v => v.IsAllowed);

    /// <summary>
    /// GPU-seconds diverted from the job in the window, as the agent computed them (Core's
    /// <see cref="DivertedTime"/>: the one definition the journal, the Prometheus counter and every
    /// report format share), summed by the source: the journal's minutes, or the counter's increase.
    /// </summary>
    public double DivertedSeconds { get; init; }

    /// <summary><see cref="DivertedSeconds"/> in minutes: what the job's owner lost to other work.</summary>
    public double DivertedGpuMinutes => DivertedSeconds / 60;

    /// <summary>The line at the top of every format: "clean" or "N violations, M GPU-minutes diverted".</summary>
    public string Headline
    {
        get
        {
            // One pass over the violations (they may be streamed from a journal).
            var count = OpenViolations.Count();
            if (count == 0)
            {
                return "clean";
            }

            var minutes = DivertedGpuMinutes.ToString("0.0", CultureInfo.InvariantCulture);
            return $"{count} violation{(count == 1 ? "" : "s")}, {minutes} GPU-minutes diverted";
        }
    }
}

/// <summary>One GPU the job held, with its totals over the window.</summary>
public sealed record ReportGpu(string Node, string Uuid, int? Index, ClassSeconds ClassSeconds, double EnergyJoules, double? MeanUtilization);

/// <summary>One process of the job: identity, time by class and mean SM share.</summary>
public sealed record ReportProcess(string Node, string Uuid, int Pid, string? Comm, string? Executable, string? User, ClassSeconds ClassSeconds, double? MeanSmUtilization)
{
    /// <summary>The job the process was accounted to (null: none); set in a report of every job.</summary>
    public string? Job { get; init; }
}

/// <summary>What one GPU did over time, for the timeline plot.</summary>
public sealed record GpuTimeline(string Node, string Uuid, IReadOnlyList<TimelinePoint> Points);

/// <summary>The GPU's class from <see cref="Time"/> for <see cref="Seconds"/>, and its utilization (0–1) then.</summary>
public sealed record TimelinePoint(double Time, double Seconds, WorkloadClass Class, double? Utilization);

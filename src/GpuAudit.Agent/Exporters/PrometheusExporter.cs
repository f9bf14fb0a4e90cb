using GpuAudit.Core.Classification;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Samples;
using System.Runtime.InteropServices;
using Prometheus;

namespace GpuAudit.Agent.Exporters;

/// <summary>
/// Turns each <see cref="TickAnalysis"/> into Prometheus series. Called on the poll loop after
/// the analysis; scrapes are served the exposition of the last whole tick
/// (<see cref="Http.ExpositionCache"/>), so neither waits for the other. Per-process and per-job series are removed when their process
/// or job goes away, and per-process series are capped (<see cref="PrometheusExporterOptions"/>),
/// so label cardinality stays bounded whatever a workload spawns.
/// </summary>
public sealed class PrometheusExporter : Core.Pipeline.IAnalysisSink
{
    private readonly GpuAuditMetrics _m;
    private readonly Dictionary<int, GpuSeries> _gpus = [];
    private readonly Dictionary<string, (JobRef Job, Gauge.Child Series)> _jobInfo = new(StringComparer.Ordinal);
    private readonly HashSet<(int Pid, FindingKind Kind, string Detail)> _countedFindings = [];
    private readonly Dictionary<int, ProcessInsight> _countedInsights = [];
    private readonly HashSet<int> _presentPids = [];
    private readonly List<(int Pid, FindingKind Kind, string Detail)> _goneFindings = [];

    // Every (GPU, process) of the last poll, exported or withheld by the cap, and by its index in
    // that poll's analysis: a process usually sits at the same index from poll to poll, so most
    // are found there without hashing their key (one lookup per process per poll was most of what
    // the exporter spent on a capped node).
    private readonly Dictionary<(string Uuid, int Pid), ProcessEntry> _entries = new(GpuProcessKeyComparer.Instance);
    private ProcessEntry?[] _entryAt = [];
    private readonly List<ProcessEntry> _gone = [];
    private readonly HashSet<(string Uuid, int Pid)> _violating = new(GpuProcessKeyComparer.Instance);
    private IReadOnlyList<Core.Policy.Violation>? _violatingFrom;
    private long _violatingGeneration;

    // By the process's index in this poll's analysis, while a capped poll is published: its
    // competing entry and whether it is exported.
    private Candidate[] _candidates = [];
    private bool[] _exportedAt = [];
    private readonly PrometheusExporterOptions _options;
    private readonly TimeProvider _time;
    private readonly double _pollInterval;
    private long _poll;

    public PrometheusExporter(GpuAuditMetrics metrics, IReadOnlyList<GpuDevice> devices, TimeSpan pollInterval, TimeProvider time, PrometheusExporterOptions? options = null)
    {
        _m = metrics;
        _options = options ?? new PrometheusExporterOptions();
        _time = time;
        _pollInterval = pollInterval.TotalSeconds;
        metrics.PollInterval.Set(_pollInterval);
        foreach (var device in devices)
        {
            _gpus[device.Index] = new GpuSeries(metrics, device);
        }

        // Counters start at 0 for every kind, so increase() sees the first finding and dashboards have a series.
        foreach (var kind in Enum.GetValues<FindingKind>())
        {
            metrics.Evidence.WithLabels(kind.Label()).Publish();
        }
    }

    public GpuAuditMetrics Metrics => _m;

    public void OnTick(TickAnalysis analysis, TimeSpan pollDuration)
    {
        _poll++;
        var wall = _time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
        foreach (var gpu in analysis.GpuSpan)
        {
            if (_gpus.TryGetValue(gpu.Device.Index, out var series))
            {
                if (!ReferenceEquals(series.Device, gpu.Device) && series.Device != gpu.Device)
                {
                    // A GPU exported under a placeholder at start-up has been read: its real identity replaces it.
                    series.Remove();
                    series = new GpuSeries(_m, gpu.Device);
                    _gpus[gpu.Device.Index] = series;
                }

                series.Publish(gpu.Sample, gpu.Collector, gpu.Verdict, wall, _pollInterval);
            }
        }

        PublishJobs(analysis);
        PublishProcesses(analysis);
        _m.PollDuration.Set(pollDuration.TotalSeconds);
        _m.Polls.Inc();
    }

    private void PublishProcesses(TickAnalysis analysis)
    {
        var processes = analysis.ProcessSpan;
        var seen = FindEntries(processes);
        var capped = ChooseExported(analysis);
        for (var i = 0; i < processes.Length; i++)
        {
            var view = processes[i];
            CountFindings(view);
            var entry = _entryAt[i]!;
            if (capped && !_exportedAt[i])
            {
                entry.Series?.Remove();
                entry.Series = null;
                if (!entry.Withheld)
                {
                    // Counted once while the process stays, however often it is withheld.
                    entry.Withheld = true;
                    _m.ProcessSeriesDropped.Inc(_options.SeriesPerProcess);
                }

                continue;
            }

            entry.Series ??= new ProcessSeries(_m, view.Uuid, view.Pid, view.Identity?.Comm ?? string.Empty, _options.ProcessMetrics);
            entry.Series.Publish(view, view.Attribution.Job?.Id ?? string.Empty);
        }

        if (seen < _entries.Count)
        {
            ForgetGone(processes);
        }
    }

    /// <summary>
    /// Each process's entry, at its index in <see cref="_entryAt"/>: the one at the same index last
    /// poll when it is the same (GPU, process), else the one its key finds, else a new one. Returns
    /// how many distinct entries this poll saw.
    /// </summary>
    private int FindEntries(ReadOnlySpan<ProcessView> processes)
    {
        var count = processes.Length;
        if (_entryAt.Length < count)
        {
            Array.Resize(ref _entryAt, Math.Max(count, 2 * _entryAt.Length));
        }

        var seen = 0;
        for (var i = 0; i < count; i++)
        {
            var view = processes[i];
            var entry = _entryAt[i];
            if (entry is null || !entry.Live || entry.Pid != view.Pid || !ReferenceEquals(entry.Uuid, view.Uuid))
            {
                ref var found = ref CollectionsMarshal.GetValueRefOrAddDefault(_entries, (view.Uuid, view.Pid), out _);
                entry = found ??= new ProcessEntry(view.Uuid, view.Pid);
                _entryAt[i] = entry;
            }

            if (entry.SeenPoll != _poll)
            {
                entry.SeenPoll = _poll;
                seen++;
            }
        }

        return seen;
    }

    /// <summary>Removes the series and entries of the processes this poll did not list, and the findings counted for their pids.</summary>
    private void ForgetGone(ReadOnlySpan<ProcessView> processes)
    {
        var gone = _gone;
        gone.Clear();
        foreach (var entry in _entries.Values)
        {
            if (entry.SeenPoll != _poll)
            {
                gone.Add(entry);
            }
        }

        foreach (var entry in gone)
        {
            entry.Series?.Remove();
            entry.Live = false;
            _entries.Remove((entry.Uuid, entry.Pid));
        }

        gone.Clear();
        ForgetGoneFindings(processes);
    }

    /// <summary>
    /// Whether this poll is over the series budget; when it is, which processes' series fit it
    /// (<see cref="_exportedAt"/>, by index; none with per-process series off). Over the cap, the
    /// ones a reader most needs come first: processes with an open violation, hash-class processes
    /// and processes with findings (a miner cannot hide behind a crowd of decoy processes), then
    /// those already exported (series do not flap), then the largest by GPU memory.
    /// </summary>
    private bool ChooseExported(TickAnalysis analysis)
    {
        var processes = analysis.ProcessSpan;
        var count = processes.Length;
        var capacity = _options.MaxProcessSeries / _options.SeriesPerProcess;
        if (_options.ProcessMetrics != ProcessMetricsMode.Off && count <= capacity)
        {
            return false;
        }

        if (_exportedAt.Length < count)
        {
            var length = Math.Max(count, 2 * _exportedAt.Length);
            _candidates = new Candidate[length];
            _exportedAt = new bool[length];
        }

        var exportedAt = _exportedAt.AsSpan(0, count);
        if (_options.ProcessMetrics == ProcessMetricsMode.Off)
        {
            exportedAt.Clear();
            return true;
        }

        var violating = Violating(analysis.Policy.Active);
        var exported = 0;
        for (var i = 0; i < count; i++)
        {
            var v = processes[i];
            var entry = _entryAt[i]!;
            var priority = IsViolating(entry, violating) || v.Verdict?.Class == WorkloadClass.Hash || v.Insight is { Findings.Count: > 0 };
            var isExported = entry.Series is not null;
            _candidates[i] = new Candidate(v.Uuid, v.Pid, priority, isExported, v.Usage.UsedMemBytes ?? 0, i);
            exported += isExported ? 1 : 0;
        }

        var candidates = _candidates.AsSpan(0, count);
        if (exported == capacity && ExportedLead(candidates))
        {
            // The processes exported last poll still come first: the budget's choice is theirs
            // again, found in one pass instead of a sort (most polls).
            for (var i = 0; i < count; i++)
            {
                exportedAt[i] = candidates[i].Exported;
            }
        }
        else
        {
            candidates.Sort();
            exportedAt.Clear();
            for (var i = 0; i < capacity; i++)
            {
                exportedAt[candidates[i].Index] = true;
            }
        }

        candidates.Clear();
        return true;
    }

    /// <summary>Whether the entry's process has an open violation: looked up once per change of the policy's active list, not once per poll.</summary>
    private bool IsViolating(ProcessEntry entry, HashSet<(string Uuid, int Pid)> violating)
    {
        if (entry.ViolatingGeneration != _violatingGeneration)
        {
            entry.Violating = violating.Count > 0 && violating.Contains((entry.Uuid, entry.Pid));
            entry.ViolatingGeneration = _violatingGeneration;
        }

        return entry.Violating;
    }

    /// <summary>True when every exported candidate comes before every other in the budget's order.</summary>
    private static bool ExportedLead(ReadOnlySpan<Candidate> candidates)
    {
        int lastExported = -1, firstOther = -1;
        for (var i = 0; i < candidates.Length; i++)
        {
            if (candidates[i].Exported)
            {
                if (lastExported < 0 || candidates[i].CompareTo(candidates[lastExported]) > 0)
                {
                    lastExported = i;
                }
            }
            else if (firstOther < 0 || candidates[i].CompareTo(candidates[firstOther]) < 0)
            {
                firstOther = i;
            }
        }

        return lastExported >= 0 && (firstOther < 0 || candidates[lastExported].CompareTo(candidates[firstOther]) < 0);
    }

    /// <summary>The (uuid, pid) of each open violation that is not allowed: rebuilt only when the policy's active list is a new one.</summary>
    private HashSet<(string Uuid, int Pid)> Violating(IReadOnlyList<Core.Policy.Violation> active)
    {
        if (!ReferenceEquals(active, _violatingFrom))
        {
            _violating.Clear();
            for (var i = 0; i < active.Count; i++)
            {
                if (!active[i].IsAllowed && active[i].Pid is { } pid)
                {
                    _violating.Add((active[i].Uuid, pid));
                }
            }

            _violatingFrom = active;
            _violatingGeneration++;
        }

        return _violating;
    }

    /// <summary>Drops the findings counted for processes that left every GPU.</summary>
    private void ForgetGoneFindings(ReadOnlySpan<ProcessView> processes)
    {
        // Buffers kept between calls: under pid churn this runs every poll.
        var pids = _presentPids;
        pids.Clear();
        foreach (var view in processes)
        {
            pids.Add(view.Pid);
        }

        var goneFindings = _goneFindings;
        goneFindings.Clear();
        foreach (var finding in _countedFindings)
        {
            if (!pids.Contains(finding.Pid))
            {
                goneFindings.Add(finding);
            }
        }

        foreach (var finding in goneFindings)
        {
            _countedFindings.Remove(finding);
        }

        goneFindings.Clear();
        foreach (var pid in _countedInsights.Keys)
        {
            if (!pids.Contains(pid))
            {
                _countedInsights.Remove(pid);
            }
        }
    }

    private void CountFindings(ProcessView view)
    {
        if (view.Insight is not { Findings.Count: > 0 } insight)
        {
            return;
        }

        // The same insight object as last poll has the same findings, all counted already.
        ref var counted = ref CollectionsMarshal.GetValueRefOrAddDefault(_countedInsights, view.Pid, out _);
        if (ReferenceEquals(counted, insight))
        {
            return;
        }

        counted = insight;

        foreach (var finding in insight.Findings)
        {
            // Each distinct finding of a process counts once, not once per poll.
            if (_countedFindings.Add((view.Pid, finding.Kind, finding.Detail)))
            {
                _m.Evidence.WithLabels(finding.Kind.Label()).Inc();
            }
        }
    }

    private void PublishJobs(TickAnalysis analysis)
    {
        foreach (var gpu in analysis.GpuSpan)
        {
            var uuid = gpu.Device.Uuid;
            var job = gpu.AllocatedJob;
            if (_jobInfo.TryGetValue(uuid, out var current))
            {
                if (job is not null && current.Job.Id == job.Id && current.Job.User == job.User)
                {
                    continue;
                }

                current.Series.Remove();
                _jobInfo.Remove(uuid);
            }

            if (job is not null)
            {
                var child = _m.GpuJobInfo.WithLabels(uuid, job.Id, job.User ?? string.Empty);
                child.Set(1);
                _jobInfo[uuid] = (job, child);
            }
        }
    }

    /// <summary>One (GPU, process) listed at the last poll: its series while exported, whether its withholding was counted.</summary>
    private sealed class ProcessEntry(string uuid, int pid)
    {
        public string Uuid { get; } = uuid;

        public int Pid { get; } = pid;

        /// <summary>Null while withheld by the cap.</summary>
        public ProcessSeries? Series { get; set; }

        /// <summary>Counted in <c>gpuaudit_process_series_dropped_total</c> (once while the process stays).</summary>
        public bool Withheld { get; set; }

        public long SeenPoll { get; set; }

        /// <summary>False once removed, so a stale index hint is not taken for the live entry.</summary>
        public bool Live { get; set; } = true;

        public long ViolatingGeneration { get; set; } = -1;

        public bool Violating { get; set; }
    }

    /// <summary>
    /// One process competing for the series budget, in the budget's order: processes with an open
    /// violation, hash-class processes and processes with findings first, then those already
    /// exported (series do not flap), then the largest by GPU memory; uuid and pid break ties. The
    /// order is the element's own (<see cref="IComparable{T}"/>), which the sort calls directly,
    /// without a delegate per comparison or a boxed comparer.
    /// </summary>
    private readonly record struct Candidate(string Uuid, int Pid, bool Priority, bool Exported, long Memory, int Index) : IComparable<Candidate>
    {
        public int CompareTo(Candidate other)
        {
            if (Priority != other.Priority)
            {
                return Priority ? -1 : 1;
            }

            if (Exported != other.Exported)
            {
                return Exported ? -1 : 1;
            }

            if (Memory != other.Memory)
            {
                return other.Memory.CompareTo(Memory);
            }

            var uuid = string.CompareOrdinal(Uuid, other.Uuid);
            return uuid != 0 ? uuid : Pid.CompareTo(other.Pid);
        }
    }
}

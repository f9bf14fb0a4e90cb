using System.Runtime.InteropServices;
using GpuAudit.Core.Classification;
using GpuAudit.Core.Pipeline;
using Prometheus;

namespace GpuAudit.Agent.Exporters;

/// <summary>
/// Publishes the per-process series from the latest tick when the registry is collected (a
/// before-collect callback), not on every poll: scrapes come every 15-60 s and polls every
/// second, so series set on every poll were mostly never read. Every reader of the registry
/// (the /metrics renderings, <c>--metrics-dump</c>, tests that collect) sees the latest tick's
/// processes, published at most once per tick however many collects come.
/// <para>
/// Threads: everything here is touched under <see cref="_lock"/>, by one thread at a time. The
/// poll loop takes it only to carry the readings of a tick (<see cref="Offer"/>: no series, no
/// allocation, a few microseconds); a collect holds it while it publishes, so a poll that
/// comes then waits for that publication (well under a millisecond at 256 processes, once per
/// scrape). A publication reads one tick's analysis and readings, so the process series of a
/// collect are whole by construction, provided no other collect publishes a newer tick while
/// this one serialises: the registry's collects do not overlap in the agent (the exposition
/// cache renders under its lock; <c>--metrics-dump</c> runs after the poll loop).
/// </para>
/// </summary>
internal sealed class ProcessSeriesPublisher
{
    private readonly GpuAuditMetrics _m;
    private readonly PrometheusExporterOptions _options;
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Uuid, int Pid), ProcessSeries> _processes = new(GpuProcessKeyComparer.Instance);
    private readonly ProcessReadings _readings = new();

    // Withheld by the cap (counted as dropped once per life of the process), with the last publication each was withheld at.
    private readonly Dictionary<(string Uuid, int Pid), (long Publication, long Since)> _withheld = new(GpuProcessKeyComparer.Instance);
    private readonly List<(string Uuid, int Pid)> _gone = [];
    private readonly HashSet<(string Uuid, int Pid)> _exported = new(GpuProcessKeyComparer.Instance);
    private readonly HashSet<(string Uuid, int Pid)> _violating = new(GpuProcessKeyComparer.Instance);
    private IReadOnlyList<Core.Policy.Violation>? _violatingFrom;
    private Candidate[] _candidates = [];

    // The processes (in the analysis's order) and their priority when _exported was chosen.
    private Candidate[] _chosenFrom = [];
    private int _chosenCount = -1;
    private TickAnalysis? _latest;
    private TickAnalysis? _published;
    private long _publication;

    public ProcessSeriesPublisher(GpuAuditMetrics metrics, PrometheusExporterOptions options)
    {
        _m = metrics;
        _options = options;
        metrics.Registry.AddBeforeCollectCallback(Publish);
    }

    /// <summary>Publications made so far: at most one per tick offered.</summary>
    public long Publications
    {
        get
        {
            lock (_lock)
            {
                return _publication;
            }
        }
    }

    /// <summary>
    /// The poll loop's latest tick, published at the next collect: its readings carried from the
    /// tick before (<paramref name="tick"/> numbers it); true when a process of the tick before left.
    /// </summary>
    public bool Offer(TickAnalysis analysis, long tick)
    {
        lock (_lock)
        {
            var anyLeft = _readings.Next(analysis.Processes, tick);
            _latest = analysis;
            return anyLeft;
        }
    }

    private void Publish()
    {
        lock (_lock)
        {
            if (_latest is not { } analysis || ReferenceEquals(analysis, _published))
            {
                return;
            }

            _published = analysis;
            _publication++;
            Publish(analysis, _readings.Current);
        }
    }

    private void Publish(TickAnalysis analysis, CarriedReading[] readings)
    {
        var exported = ExportedProcesses(analysis);
        var processes = analysis.Processes;
        for (var i = 0; i < processes.Count; i++)
        {
            var view = processes[i];
            ref readonly var reading = ref readings[i];
            var key = (view.Uuid, view.Pid);
            if (exported is not null && !exported.Contains(key))
            {
                ref var withheld = ref CollectionsMarshal.GetValueRefOrAddDefault(_withheld, key, out var known);
                if (!known || withheld.Since != reading.Since)
                {
                    _m.ProcessSeriesDropped.Inc(_options.SeriesPerProcess);
                }

                withheld = (_publication, reading.Since);
                continue;
            }

            ref var series = ref CollectionsMarshal.GetValueRefOrAddDefault(_processes, key, out _);
            if (series is not null && series.Since != reading.Since)
            {
                // The pid left and came back since the last publication: its old series ended then.
                series.Remove();
                series = null;
            }

            series ??= new ProcessSeries(_m, view.Uuid, view.Pid, reading, _options.ProcessMetrics);
            series.LastPublication = _publication;
            series.Publish(view, reading, view.Attribution.Job?.Id ?? string.Empty);
        }

        var gone = _gone;
        gone.Clear();
        foreach (var (key, series) in _processes)
        {
            if (series.LastPublication != _publication)
            {
                series.Remove();
                gone.Add(key);
            }
        }

        foreach (var key in gone)
        {
            _processes.Remove(key);
        }

        gone.Clear();
        foreach (var (key, withheld) in _withheld)
        {
            // Neither withheld nor exported at this publication: the process left.
            if (withheld.Publication != _publication && !(_processes.TryGetValue(key, out var series) && series.LastPublication == _publication))
            {
                gone.Add(key);
            }
        }

        foreach (var key in gone)
        {
            _withheld.Remove(key);
        }
    }

    /// <summary>
    /// The processes whose series fit the budget at this publication, or null when all fit. Over
    /// the cap, the ones a reader most needs come first: processes with an open violation,
    /// hash-class processes and processes with findings (a miner cannot hide behind a crowd of
    /// decoy processes), then those already exported (series do not flap), then the largest by
    /// GPU memory.
    /// </summary>
    private HashSet<(string Uuid, int Pid)>? ExportedProcesses(TickAnalysis analysis)
    {
        var processes = analysis.Processes;
        var capacity = _options.MaxProcessSeries / _options.SeriesPerProcess;
        if (_options.ProcessMetrics == ProcessMetricsMode.Off || processes.Count <= capacity)
        {
            _chosenCount = -1;
            _exported.Clear();
            return _options.ProcessMetrics == ProcessMetricsMode.Off ? _exported : null;
        }

        var violating = Violating(analysis.Policy.Active);
        if (_candidates.Length < processes.Count)
        {
            _candidates = new Candidate[processes.Count];
            _chosenFrom = new Candidate[processes.Count];
            _chosenCount = -1;
        }

        // The same processes with the same priority as when the budget was last chosen: the choice
        // is the same (the exported ones outrank the rest), so it is kept without sorting again.
        var same = processes.Count == _chosenCount;
        for (var i = 0; i < processes.Count; i++)
        {
            var v = processes[i];
            var priority = (violating.Count > 0 && violating.Contains((v.Uuid, v.Pid))) || v.Verdict?.Class == WorkloadClass.Hash || v.Insight is { Findings.Count: > 0 };
            same = same && _chosenFrom[i].Pid == v.Pid && _chosenFrom[i].Priority == priority && _chosenFrom[i].Uuid == v.Uuid;
            _candidates[i] = new Candidate(v.Uuid, v.Pid, priority, false, v.Usage.UsedMemBytes ?? 0);
        }

        if (same)
        {
            return _exported;
        }

        _exported.Clear();
        var candidates = _candidates.AsSpan(0, processes.Count);
        candidates.CopyTo(_chosenFrom);
        _chosenCount = processes.Count;
        for (var i = 0; i < candidates.Length; i++)
        {
            candidates[i] = candidates[i] with { Exported = _processes.ContainsKey((candidates[i].Uuid, candidates[i].Pid)) };
        }

        candidates.Sort(default(CandidateOrder));
        for (var i = 0; i < capacity; i++)
        {
            _exported.Add((candidates[i].Uuid, candidates[i].Pid));
        }

        candidates.Clear();
        return _exported;
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
        }

        return _violating;
    }

    /// <summary>One process competing for the series budget.</summary>
    private readonly record struct Candidate(string Uuid, int Pid, bool Priority, bool Exported, long Memory);

    /// <summary>
    /// The budget's order: processes with an open violation, hash-class processes and processes with
    /// findings first, then those already exported (series do not flap), then the largest by GPU
    /// memory; uuid and pid break ties. A struct comparer: sorting allocates nothing.
    /// </summary>
    private readonly struct CandidateOrder : IComparer<Candidate>
    {
        public int Compare(Candidate x, Candidate y)
        {
            if (x.Priority != y.Priority)
            {
                return x.Priority ? -1 : 1;
            }

            if (x.Exported != y.Exported)
            {
                return x.Exported ? -1 : 1;
            }

            if (x.Memory != y.Memory)
            {
                return y.Memory.CompareTo(x.Memory);
            }

            var uuid = string.CompareOrdinal(x.Uuid, y.Uuid);
            return uuid != 0 ? uuid : x.Pid.CompareTo(y.Pid);
        }
    }
}

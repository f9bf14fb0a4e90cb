using GpuAudit.Core.Classification;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Samples;
using Prometheus;

namespace GpuAudit.Agent.Exporters;

/// <summary>
/// Turns each <see cref="TickAnalysis"/> into Prometheus series. Called on the poll loop after
/// the analysis; scrapes are served the exposition rendered at the end of the tick
/// (<see cref="Http.ExpositionCache"/>), so neither waits for the other. Per-process and per-job series are removed when their process
/// or job goes away, and per-process series are capped (<see cref="PrometheusExporterOptions"/>),
/// so label cardinality stays bounded whatever a workload spawns.
/// </summary>
public sealed class PrometheusExporter : Core.Pipeline.IAnalysisSink
{
    private readonly GpuAuditMetrics _m;
    private readonly Dictionary<int, GpuSeries> _gpus = [];
    private readonly Dictionary<(string Uuid, int Pid), ProcessSeries> _processes = [];
    private readonly Dictionary<string, (JobRef Job, Gauge.Child Series)> _jobInfo = new(StringComparer.Ordinal);
    private readonly HashSet<(int Pid, FindingKind Kind, string Detail)> _countedFindings = [];
    private readonly HashSet<(string Uuid, int Pid)> _withheld = [];
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
        foreach (var gpu in analysis.Gpus)
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
        var exported = ExportedProcesses(analysis);
        var processes = analysis.Processes;
        for (var i = 0; i < processes.Count; i++)
        {
            var view = processes[i];
            CountFindings(view);
            var key = (view.Uuid, view.Pid);
            if (exported is not null && !exported.Contains(key))
            {
                if (_withheld.Add(key))
                {
                    _m.ProcessSeriesDropped.Inc(_options.SeriesPerProcess);
                }

                continue;
            }

            if (!_processes.TryGetValue(key, out var series))
            {
                series = new ProcessSeries(_m, view.Uuid, view.Pid, view.Identity?.Comm ?? string.Empty, _options.ProcessMetrics);
                _processes[key] = series;
            }

            series.LastSeenPoll = _poll;
            series.Publish(view, view.Attribution.Job?.Id ?? string.Empty);
        }

        List<(string, int)>? gone = null;
        foreach (var (key, series) in _processes)
        {
            if (series.LastSeenPoll != _poll)
            {
                series.Remove();
                (gone ??= []).Add(key);
            }
        }

        if (gone is not null)
        {
            foreach (var key in gone)
            {
                _processes.Remove(key);
            }
        }

        // Only when a process left (or some are withheld, whose leaving nothing else notices).
        if (gone is not null || _withheld.Count > 0)
        {
            ForgetGoneProcesses(analysis.Processes);
        }
    }

    /// <summary>
    /// The processes whose series fit the budget this poll, or null when all fit. Over the cap,
    /// the ones a reader most needs come first: processes with an open violation, hash-class
    /// processes and processes with findings (a miner cannot hide behind a crowd of decoy
    /// processes), then those already exported (series do not flap), then the largest by GPU
    /// memory.
    /// </summary>
    private HashSet<(string, int)>? ExportedProcesses(TickAnalysis analysis)
    {
        if (_options.ProcessMetrics == ProcessMetricsMode.Off)
        {
            return [];
        }

        var processes = analysis.Processes;
        var capacity = _options.MaxProcessSeries / _options.SeriesPerProcess;
        if (processes.Count <= capacity)
        {
            return null;
        }

        var violating = analysis.Policy.Active.Where(v => !v.IsAllowed && v.Pid is not null).Select(v => (v.Uuid, v.Pid!.Value)).ToHashSet();
        return [.. processes
            .OrderByDescending(v => violating.Contains((v.Uuid, v.Pid)) || v.Verdict?.Class == WorkloadClass.Hash || v.Insight is { Findings.Count: > 0 })
            .ThenByDescending(v => _processes.ContainsKey((v.Uuid, v.Pid)))
            .ThenByDescending(v => v.Usage.UsedMemBytes ?? 0)
            .ThenBy(v => v.Uuid, StringComparer.Ordinal)
            .ThenBy(v => v.Pid)
            .Take(capacity)
            .Select(v => (v.Uuid, v.Pid))];
    }

    /// <summary>Drops what is remembered about processes that left every GPU (withheld keys, counted findings).</summary>
    private void ForgetGoneProcesses(IReadOnlyList<ProcessView> processes)
    {
        var present = new HashSet<(string, int)>(processes.Count);
        var pids = new HashSet<int>(processes.Count);
        foreach (var view in processes)
        {
            present.Add((view.Uuid, view.Pid));
            pids.Add(view.Pid);
        }

        _withheld.RemoveWhere(key => !present.Contains(key));
        _countedFindings.RemoveWhere(f => !pids.Contains(f.Pid));
    }

    private void CountFindings(ProcessView view)
    {
        if (view.Insight is not { Findings.Count: > 0 } insight)
        {
            return;
        }

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
        foreach (var gpu in analysis.Gpus)
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
}

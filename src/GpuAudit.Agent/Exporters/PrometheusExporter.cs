using GpuAudit.Core.Inspection;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Samples;
using System.Runtime.InteropServices;
using Prometheus;

namespace GpuAudit.Agent.Exporters;

/// <summary>
/// Turns each <see cref="TickAnalysis"/> into Prometheus series. Called on the poll loop after
/// the analysis; scrapes are served the exposition of the last whole tick
/// (<see cref="Http.ExpositionCache"/>), so neither waits for the other. On each tick it
/// publishes what accumulates tick by tick (GPU series and their counters, jobs, findings, polls);
/// the per-process series are published from the latest tick when the registry is collected
/// (<see cref="ProcessSeriesPublisher"/>). Per-process and per-job series are removed when their
/// process or job goes away, and per-process series are capped
/// (<see cref="PrometheusExporterOptions"/>), so label cardinality stays bounded whatever a
/// workload spawns.
/// </summary>
public sealed class PrometheusExporter : Core.Pipeline.IAnalysisSink
{
    private readonly GpuAuditMetrics _m;
    private readonly Dictionary<int, GpuSeries> _gpus = [];
    private readonly Dictionary<string, (JobRef Job, Gauge.Child Series)> _jobInfo = new(StringComparer.Ordinal);
    private readonly HashSet<(int Pid, FindingKind Kind, string Detail)> _countedFindings = [];
    private readonly Dictionary<int, ProcessInsight> _countedInsights = [];
    private readonly ProcessSeriesPublisher _publisher;
    private readonly TimeProvider _time;
    private readonly double _pollInterval;
    private long _poll;

    public PrometheusExporter(GpuAuditMetrics metrics, IReadOnlyList<GpuDevice> devices, TimeSpan pollInterval, TimeProvider time, PrometheusExporterOptions? options = null)
    {
        _m = metrics;
        _publisher = new ProcessSeriesPublisher(metrics, options ?? new PrometheusExporterOptions());
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

    /// <summary>Publications of the per-process series so far: at most one per tick, and only when the registry is collected.</summary>
    internal long ProcessPublications => _publisher.Publications;

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
        OfferProcesses(analysis);
        _m.PollDuration.Set(pollDuration.TotalSeconds);
        _m.Polls.Inc();
    }

    /// <summary>
    /// What must be done for the processes at every tick: their findings counted (a process that
    /// comes and goes between two scrapes is still counted) and their readings carried; their
    /// series are published when the registry is collected.
    /// </summary>
    private void OfferProcesses(TickAnalysis analysis)
    {
        var processes = analysis.Processes;
        for (var i = 0; i < processes.Count; i++)
        {
            CountFindings(processes[i]);
        }

        // Only when a process left: the findings counted for pids that are gone.
        if (_publisher.Offer(analysis, _poll))
        {
            ForgetGoneFindings(processes);
        }
    }

    /// <summary>Drops the findings counted for processes that left every GPU.</summary>
    private void ForgetGoneFindings(IReadOnlyList<ProcessView> processes)
    {
        var pids = new HashSet<int>(processes.Count);
        foreach (var view in processes)
        {
            pids.Add(view.Pid);
        }

        _countedFindings.RemoveWhere(f => !pids.Contains(f.Pid));
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

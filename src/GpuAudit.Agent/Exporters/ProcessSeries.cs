using System.Globalization;
using GpuAudit.Core.Classification;
using GpuAudit.Core.Pipeline;
using Prometheus;

namespace GpuAudit.Agent.Exporters;

/// <summary>The series of one process on one GPU; removed together when the process leaves.</summary>
internal sealed class ProcessSeries
{
    private readonly GpuAuditMetrics _m;
    private readonly string _uuid;
    private readonly string _pid;
    private readonly string _comm;
    private readonly Gauge.Child _memory;
    private readonly Gauge.Child _confidence;
    private Gauge.Child? _sm;
    private Gauge.Child? _class;
    private Gauge.Child? _info;
    private string[]? _infoLabels;
    private WorkloadClass? _currentClass;

    public ProcessSeries(GpuAuditMetrics metrics, string uuid, int pid, string comm)
    {
        _m = metrics;
        _uuid = uuid;
        _pid = pid.ToString(CultureInfo.InvariantCulture);
        _comm = comm;
        _memory = metrics.ProcessMemory.WithLabels(uuid, _pid, comm);
        _confidence = metrics.ProcessClassConfidence.WithLabels(uuid, _pid, comm);
    }

    public long LastSeenPoll { get; set; }

    public void Publish(ProcessView view, string job)
    {
        if (view.Usage.UsedMemBytes is { } mem)
        {
            _memory.Set(mem);
        }

        if (view.Usage.SmPct is { } sm)
        {
            // Null means "no new per-process sample since the last poll": keep the last value.
            _sm ??= _m.ProcessSm.WithLabels(_uuid, _pid, _comm);
            _sm.Set(sm / 100.0);
        }

        if (view.Verdict is { } verdict)
        {
            if (_currentClass != verdict.Class)
            {
                _class?.Remove();
                _class = _m.ProcessClass.WithLabels(_uuid, _pid, _comm, verdict.Class.Label());
                _class.Set(1);
                _currentClass = verdict.Class;
            }

            _confidence.Set(verdict.Confidence);
        }

        PublishInfo(view, job);
    }

    public void Remove()
    {
        _memory.Remove();
        _confidence.Remove();
        _sm?.Remove();
        _class?.Remove();
        _info?.Remove();
    }

    private void PublishInfo(ProcessView view, string job)
    {
        var insight = view.Insight;
        string[] labels =
        [
            _uuid, _pid, _comm, insight?.User ?? string.Empty, job,
            view.Identity?.Exe ?? string.Empty, insight?.ContainerId ?? string.Empty, insight?.PodUid ?? string.Empty,
        ];
        if (_infoLabels is not null && labels.AsSpan().SequenceEqual(_infoLabels))
        {
            return;
        }

        // Identity can sharpen over time (the job map appears, /proc becomes readable): replace the series.
        _info?.Remove();
        _info = _m.ProcessInfo.WithLabels(labels);
        _info.Set(1);
        _infoLabels = labels;
    }
}

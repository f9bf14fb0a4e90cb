using System.Globalization;
using GpuAudit.Core.Classification;
using GpuAudit.Core.Pipeline;
using Prometheus;

namespace GpuAudit.Agent.Exporters;

/// <summary>
/// The series of one process on one GPU; removed together when the process leaves (or is
/// withheld by the cardinality cap). In minimal mode only identity and class are exported.
/// </summary>
internal sealed class ProcessSeries
{
    private readonly GpuAuditMetrics _m;
    private readonly string _uuid;
    private readonly string _pid;
    private readonly string _comm;
    private readonly bool _full;
    private Gauge.Child? _memory;
    private Gauge.Child? _confidence;
    private Gauge.Child? _sm;
    private Counter.Child? _launches;
    private Gauge.Child? _class;
    private Gauge.Child? _info;
    private string[]? _infoLabels;
    private WorkloadClass? _currentClass;

    public ProcessSeries(GpuAuditMetrics metrics, string uuid, int pid, string comm, ProcessMetricsMode mode)
    {
        _m = metrics;
        _uuid = uuid;
        _pid = pid.ToString(CultureInfo.InvariantCulture);
        _comm = comm;
        _full = mode == ProcessMetricsMode.Full;
    }

    public void Publish(ProcessView view, string job)
    {
        if (_full && view.Usage.UsedMemBytes is { } mem)
        {
            _memory ??= _m.ProcessMemory.WithLabels(_uuid, _pid, _comm);
            _memory.Set(mem);
        }

        if (_full && view.Usage.SmPct is { } sm)
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

            if (_full)
            {
                _confidence ??= _m.ProcessClassConfidence.WithLabels(_uuid, _pid, _comm);
                _confidence.Set(verdict.Confidence);
            }
        }

        if (view.Insight?.Kernels is { } kernels)
        {
            // The ledger's count only grows while the process lives; IncTo never goes backwards.
            _launches ??= _m.ProcessKernelLaunches.WithLabels(_uuid, _pid, _comm);
            _launches.IncTo(kernels.TotalLaunches);
        }

        PublishInfo(view, job);
    }

    public void Remove()
    {
        _memory?.Remove();
        _confidence?.Remove();
        _sm?.Remove();
        _launches?.Remove();
        _class?.Remove();
        _info?.Remove();
    }

    private void PublishInfo(ProcessView view, string job)
    {
        var insight = view.Insight;
        var user = insight?.User ?? string.Empty;
        var exe = view.Identity?.Exe ?? string.Empty;
        var container = insight?.ContainerId ?? string.Empty;
        var pod = insight?.PodUid ?? string.Empty;
        // Compared before building the label array: this runs for every process every poll and the
        // labels almost never change, so the common case allocates nothing.
        if (_infoLabels is [_, _, _, var u, var j, var e, var c, var p] && u == user && j == job && e == exe && c == container && p == pod)
        {
            return;
        }

        string[] labels = [_uuid, _pid, _comm, user, job, exe, container, pod];

        // Identity can sharpen over time (the job map appears, /proc becomes readable): replace the series.
        _info?.Remove();
        _info = _m.ProcessInfo.WithLabels(labels);
        _info.Set(1);
        _infoLabels = labels;
    }
}

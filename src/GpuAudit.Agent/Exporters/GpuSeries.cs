using GpuAudit.Core.Classification;
using GpuAudit.Core.Samples;
using Prometheus;

namespace GpuAudit.Agent.Exporters;

/// <summary>
/// The series of one GPU, created once and kept: looking a child up by label values on every
/// poll would allocate; holding the children does not.
/// </summary>
internal sealed class GpuSeries
{
    private readonly GpuAuditMetrics _m;
    private readonly Gauge.Child?[] _pipes = new Gauge.Child?[GpmMetricInfo.PipeCount];
    private readonly Gauge.Child?[] _links = new Gauge.Child?[4];
    private readonly Counter.Child[] _classSeconds;
    private readonly Gauge.Child _info;
    private readonly Gauge.Child? _migInfo;
    private Gauge.Child? _class;
    private Gauge.Child? _confidence;
    private WorkloadClass? _currentClass;
    private double _lastTime = double.NaN;
    private double _lastEnergyJoules = double.NaN;

    public GpuSeries(GpuAuditMetrics metrics, GpuDevice device)
    {
        _m = metrics;
        Device = device;
        var uuid = device.Uuid;
        _info = metrics.GpuInfo.WithLabels(uuid, device.Index.ToString(System.Globalization.CultureInfo.InvariantCulture), device.Name, device.Driver, device.PciBusId ?? string.Empty);
        _info.Set(1);
        if (device.Mig is { } mig)
        {
            var c = System.Globalization.CultureInfo.InvariantCulture;
            _migInfo = metrics.MigInstanceInfo.WithLabels(uuid, mig.ParentUuid, mig.GpuInstanceId.ToString(c), mig.ComputeInstanceId.ToString(c));
            _migInfo.Set(1);
        }

        Util = metrics.GpuUtil.WithLabels(uuid);
        MemUtil = metrics.GpuMemUtil.WithLabels(uuid);
        MemUsed = metrics.GpuMemUsed.WithLabels(uuid);
        MemReserved = metrics.GpuMemReserved.WithLabels(uuid);
        MemTotal = metrics.GpuMemTotal.WithLabels(uuid);
        Power = metrics.GpuPower.WithLabels(uuid);
        Energy = metrics.GpuEnergy.WithLabels(uuid);
        SmClock = metrics.GpuSmClock.WithLabels(uuid);
        MemClock = metrics.GpuMemClock.WithLabels(uuid);
        Temperature = metrics.GpuTemperature.WithLabels(uuid);
        Up = metrics.CollectorUp.WithLabels(uuid);
        LastSuccess = metrics.CollectorLastSuccess.WithLabels(uuid);
        LastSuccess.Set(0);
        Up.Set(0);
        _classSeconds = [.. WorkloadClassNames.All.Select(c => metrics.GpuClassSeconds.WithLabels(uuid, c.Label()))];
        if (device.MemTotalBytes is { } total)
        {
            MemTotal.Set(total);
        }
    }

    public GpuDevice Device { get; }

    private Gauge.Child Util { get; }

    private Gauge.Child MemUtil { get; }

    private Gauge.Child MemUsed { get; }

    private Gauge.Child MemTotal { get; }

    private Gauge.Child MemReserved { get; }

    private Gauge.Child Power { get; }

    private Counter.Child Energy { get; }

    private Gauge.Child SmClock { get; }

    private Gauge.Child MemClock { get; }

    private Gauge.Child Temperature { get; }

    private Gauge.Child Up { get; }

    private Gauge.Child LastSuccess { get; }

    public void Publish(GpuSample? sample, CollectorStatus collector, Verdict? verdict, double wallSeconds, double pollInterval)
    {
        // Up only when fully watched: a GPU whose processes cannot be listed is not audited.
        Up.Set(collector.FullyWatched ? 1 : 0);
        if (collector.FailedCalls is { } failures)
        {
            foreach (var failure in failures)
            {
                _m.CollectorErrors.WithLabels(Device.Uuid, failure.Function, failure.Code).Inc();
            }
        }

        if (!collector.Up || sample is null)
        {
            // A down GPU exports no class: the last one would claim to know what it does now.
            RemoveClass();
            PublishGpm(null);
            return;
        }

        LastSuccess.Set(wallSeconds);
        SetRatio(Util, sample.UtilGpuPct);
        SetRatio(MemUtil, sample.UtilMemPct);
        SetIf(MemUsed, sample.MemUsedBytes);
        SetIf(MemReserved, sample.MemReservedBytes);
        SetIf(Power, sample.PowerMw / 1000.0);
        SetIf(SmClock, sample.SmClockMhz * 1e6);
        SetIf(MemClock, sample.MemClockMhz * 1e6);
        SetIf(Temperature, sample.TempC);
        PublishEnergy(sample.EnergyMj);
        PublishGpm(sample.Gpm);
        PublishClass(verdict, sample.Time, pollInterval);
    }

    private void PublishEnergy(long? energyMj)
    {
        if (energyMj is not { } mj)
        {
            return;
        }

        var joules = mj / 1000.0;
        // A counter only moves forward: a lower reading is a driver reload, counted from zero again.
        var increase = double.IsNaN(_lastEnergyJoules) ? joules : joules >= _lastEnergyJoules ? joules - _lastEnergyJoules : joules;
        Energy.Inc(increase);
        _lastEnergyJoules = joules;
    }

    private void PublishGpm(GpmMetrics? gpm)
    {
        for (var i = 0; i < GpmMetricInfo.PipeCount; i++)
        {
            var value = gpm?[(GpmMetric)i];
            ref var child = ref _pipes[i];
            if (value is { } v)
            {
                child ??= _m.GpuPipe.WithLabels(Device.Uuid, GpmMetricInfo.PipeName((GpmMetric)i));
                child.Set(v / 100.0);
            }
            else if (child is not null)
            {
                child.Remove();
                child = null;
            }
        }

        // MiB/s → bytes/s: PCIe tx, rx, NVLink tx, rx.
        SetLink(0, _m.GpuPcie, "tx", gpm?[GpmMetric.PcieTxPerSec]);
        SetLink(1, _m.GpuPcie, "rx", gpm?[GpmMetric.PcieRxPerSec]);
        SetLink(2, _m.GpuNvlink, "tx", gpm?[GpmMetric.NvlinkTotalTxPerSec]);
        SetLink(3, _m.GpuNvlink, "rx", gpm?[GpmMetric.NvlinkTotalRxPerSec]);
    }

    private void SetLink(int slot, Gauge gauge, string direction, double? mibPerSecond)
    {
        ref var child = ref _links[slot];
        if (mibPerSecond is { } v)
        {
            child ??= gauge.WithLabels(Device.Uuid, direction);
            child.Set(v * 1024 * 1024);
        }
        else if (child is not null)
        {
            child.Remove();
            child = null;
        }
    }

    /// <summary>Removes every series of this GPU (its identity changed: a GPU unreadable at start-up came back).</summary>
    public void Remove()
    {
        RemoveClass();
        PublishGpm(null);
        foreach (var child in new[] { _info, _migInfo, Util, MemUtil, MemUsed, MemReserved, MemTotal, Power, SmClock, MemClock, Temperature, Up, LastSuccess })
        {
            child?.Remove();
        }

        Energy.Remove();
        foreach (var seconds in _classSeconds)
        {
            seconds.Remove();
        }
    }

    private void RemoveClass()
    {
        _class?.Remove();
        _class = null;
        _currentClass = null;
        _confidence?.Remove();
        _confidence = null;
        _lastTime = double.NaN;
    }

    private void PublishClass(Verdict? verdict, double time, double pollInterval)
    {
        if (verdict is null)
        {
            return;
        }

        if (_currentClass != verdict.Class)
        {
            _class?.Remove();
            _class = _m.GpuClass.WithLabels(Device.Uuid, verdict.Class.Label());
            _class.Set(1);
            _currentClass = verdict.Class;
        }

        _confidence ??= _m.GpuClassConfidence.WithLabels(Device.Uuid);
        _confidence.Set(verdict.Confidence);
        if (!double.IsNaN(_lastTime))
        {
            // Gaps longer than a few intervals (a paused replay, a stalled poll) are not counted as time in a class.
            var elapsed = Math.Clamp(time - _lastTime, 0, 5 * pollInterval);
            _classSeconds[(int)verdict.Class].Inc(elapsed);
        }

        _lastTime = time;
    }

    private static void SetRatio(Gauge.Child child, int? percent)
    {
        if (percent is { } p)
        {
            child.Set(p / 100.0);
        }
    }

    private static void SetIf(Gauge.Child child, double? value)
    {
        if (value is { } v)
        {
            child.Set(v);
        }
    }
}

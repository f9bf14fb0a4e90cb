using GpuAudit.Core.Samples;
using GpuAudit.Nvml.Interop;

namespace GpuAudit.Nvml;

/// <summary>
/// Live samples from NVML: one <see cref="Tick"/> per interval, paced by a timer on the given
/// <see cref="TimeProvider"/>. A GPU whose calls fail with a device-level code (GPU_IS_LOST,
/// driver gone, ...) is reported down for that tick and polled again next tick; a query one GPU
/// does not support (NOT_SUPPORTED, FUNCTION_NOT_FOUND) only leaves that field null. Devices are
/// enumerated once, at construction, and keyed by UUID. Owns <paramref name="nvml"/>.
/// </summary>
public sealed class NvmlSampleSource : ISampleSource
{
    /// <summary>
    /// GPM readings over shorter spans came back as 0/NaN on the H100 recordings; a poll sooner
    /// than this after the last GPM sample reports gpm = null rather than a bogus zero.
    /// </summary>
    public static readonly TimeSpan MinGpmSpacing = TimeSpan.FromSeconds(0.5);

    private const int MaxGrowAttempts = 4;

    private readonly INvmlApi _nvml;
    private readonly IProcessDescriber _describer;
    private readonly TimeProvider _time;
    private readonly PeriodicTimer _timer;
    private readonly GpuCollector[] _collectors;
    private readonly GpmMetricsBuffer _gpmRequest;
    private readonly HashSet<int> _seenPids = [];
    private readonly Dictionary<uint, NvmlProcessUtilizationSample> _latestUtilization = [];
    private NvmlProcessInfo[] _processBuffer = new NvmlProcessInfo[32];
    private NvmlProcessUtilizationSample[] _utilizationBuffer = new NvmlProcessUtilizationSample[128];
    private bool _disposed;

    public NvmlSampleSource(INvmlApi nvml, IProcessDescriber describer, TimeProvider timeProvider, TimeSpan interval, string? host = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _nvml = nvml;
        _describer = describer;
        _time = timeProvider;
        Host = host ?? Environment.MachineName;
        Interval = interval;
        Span<uint> ids = stackalloc uint[GpmMetricInfo.Count];
        foreach (var metric in GpmMetricInfo.All)
        {
            ids[(int)metric] = GpmMetricInfo.NvmlId(metric);
        }

        _gpmRequest = new GpmMetricsBuffer(ids);
        var problems = new List<string>();
        _collectors = Enumerate(problems);
        StartupProblems = problems;
        Devices = Array.ConvertAll(_collectors, c => c.Device);
        var now = UnixNow();
        foreach (var collector in _collectors)
        {
            StartGpm(collector, now);
        }

        _timer = new PeriodicTimer(interval, timeProvider);
    }

    public string Host { get; }

    public TimeSpan Interval { get; }

    public IReadOnlyList<GpuDevice> Devices { get; }

    /// <summary>GPUs left out at enumeration (no handle or UUID), one line each, for logs and doctor.</summary>
    public IReadOnlyList<string> StartupProblems { get; }

    public async ValueTask<Tick?> NextAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!await _timer.WaitForNextTickAsync(cancellationToken))
        {
            return null;
        }

        return Poll();
    }

    /// <summary>Polls every GPU now (what each tick does after waiting).</summary>
    internal Tick Poll()
    {
        var now = UnixNow();
        var samples = new List<GpuSample>(_collectors.Length);
        var collectors = new CollectorStatus[_collectors.Length];
        var newProcesses = new List<ProcessRecord>();
        for (var i = 0; i < _collectors.Length; i++)
        {
            var collector = _collectors[i];
            try
            {
                var sample = PollDevice(collector, now);
                samples.Add(sample);
                collectors[i] = new CollectorStatus(collector.Device.Index, true);
                foreach (var process in sample.Procs)
                {
                    if (_seenPids.Add(process.Pid))
                    {
                        // A pid gone before we could read /proc still gets its line: the trace promises one per pid.
                        newProcesses.Add(_describer.Describe(process.Pid) ?? new ProcessRecord { Pid = process.Pid });
                    }
                }
            }
            catch (NvmlException e)
            {
                collectors[i] = new CollectorStatus(collector.Device.Index, false, e.Message);
            }
        }

        return new Tick(now, samples, newProcesses, collectors);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _timer.Dispose();
        foreach (var collector in _collectors)
        {
            FreeGpm(collector);
        }

        _gpmRequest.Dispose();
        _nvml.Dispose();
    }

    /// <summary>
    /// True for success; false for a query this GPU cannot answer (the field goes null);
    /// throws for a device-level failure (the collector goes down this tick).
    /// </summary>
    private static bool Check(NvmlReturn code, string function)
    {
        if (code == NvmlReturn.Success)
        {
            return true;
        }

        if (NvmlErrors.IsDeviceFailure(code))
        {
            throw new NvmlException(code, function);
        }

        return false;
    }

    private GpuCollector[] Enumerate(List<string> problems)
    {
        var code = _nvml.GetDeviceCount(out var count);
        if (code != NvmlReturn.Success)
        {
            throw new NvmlException(code, "nvmlDeviceGetCount_v2");
        }

        var driver = _nvml.GetDriverVersion(out var version) == NvmlReturn.Success ? version : "unknown";
        var collectors = new List<GpuCollector>(count);
        for (var index = 0; index < count; index++)
        {
            code = _nvml.GetDeviceHandle(index, out var handle);
            if (code != NvmlReturn.Success)
            {
                problems.Add($"GPU {index} skipped: nvmlDeviceGetHandleByIndex_v2 failed: {NvmlErrors.Format(code)}");
                continue;
            }

            code = _nvml.GetUuid(handle, out var uuid);
            if (code != NvmlReturn.Success)
            {
                problems.Add($"GPU {index} skipped: nvmlDeviceGetUUID failed: {NvmlErrors.Format(code)}");
                continue;
            }

            var name = _nvml.GetName(handle, out var n) == NvmlReturn.Success ? n : "unknown";
            long? memTotal = _nvml.GetMemory(handle, out var memory) == NvmlReturn.Success ? (long)memory.Total : null;
            string? pciBusId = _nvml.GetPciBusId(handle, out var bus) == NvmlReturn.Success ? bus : null;
            bool? mig = _nvml.GetMigMode(handle, out var migEnabled) == NvmlReturn.Success ? migEnabled : null;

            // Device-level GPM does not cover MIG instances (they need nvmlGpmMigSampleGet): off under MIG.
            var gpm = mig != true && _nvml.GpmQuerySupport(handle, out var supported) == NvmlReturn.Success && supported;
            var device = new GpuDevice(index, uuid, name, driver, memTotal, gpm, pciBusId, mig);
            collectors.Add(new GpuCollector(device, handle));
        }

        return [.. collectors];
    }

    private void StartGpm(GpuCollector collector, double now)
    {
        if (!collector.Device.GpmSupported)
        {
            return;
        }

        if (_nvml.GpmSampleAlloc(out var first) != NvmlReturn.Success)
        {
            return;
        }

        if (_nvml.GpmSampleAlloc(out var second) != NvmlReturn.Success)
        {
            _nvml.GpmSampleFree(first);
            return;
        }

        collector.GpmPrevious = first;
        collector.GpmNext = second;

        // The first reading is taken now so the first tick already has an interval to report.
        if (_nvml.GpmSampleGet(collector.Handle, first) == NvmlReturn.Success)
        {
            collector.GpmPreviousTime = now;
        }
    }

    private void FreeGpm(GpuCollector collector)
    {
        if (collector.GpmPrevious is { } previous)
        {
            _nvml.GpmSampleFree(previous);
        }

        if (collector.GpmNext is { } next)
        {
            _nvml.GpmSampleFree(next);
        }

        collector.GpmPrevious = null;
        collector.GpmNext = null;
    }

    private GpuSample PollDevice(GpuCollector collector, double now)
    {
        var device = collector.Handle;
        bool hasUtilization = Check(_nvml.GetUtilization(device, out var utilization), "nvmlDeviceGetUtilizationRates");
        bool hasMemory = Check(_nvml.GetMemory(device, out var memory), "nvmlDeviceGetMemoryInfo");
        bool hasPower = Check(_nvml.GetPowerUsage(device, out var power), "nvmlDeviceGetPowerUsage");
        bool hasSmClock = Check(_nvml.GetClock(device, NvmlClockType.Sm, out var smClock), "nvmlDeviceGetClockInfo");
        bool hasMemClock = Check(_nvml.GetClock(device, NvmlClockType.Memory, out var memClock), "nvmlDeviceGetClockInfo");
        bool hasTemperature = Check(_nvml.GetTemperature(device, out var temperature), "nvmlDeviceGetTemperature");
        bool hasEnergy = Check(_nvml.GetTotalEnergy(device, out var energy), "nvmlDeviceGetTotalEnergyConsumption");
        var procs = ReadProcesses(collector);
        var (gpm, gpmInterval) = ReadGpm(collector, now);
        return new GpuSample
        {
            Time = now,
            Gpu = collector.Device.Index,
            UtilGpuPct = hasUtilization ? (int)utilization.Gpu : null,
            UtilMemPct = hasUtilization ? (int)utilization.Memory : null,
            MemUsedBytes = hasMemory ? (long)memory.Used : null,
            PowerMw = hasPower ? power : null,
            SmClockMhz = hasSmClock ? (int)smClock : null,
            MemClockMhz = hasMemClock ? (int)memClock : null,
            TempC = hasTemperature ? (int)temperature : null,
            EnergyMj = hasEnergy ? (long)energy : null,
            Gpm = gpm,
            GpmIntervalS = gpmInterval,
            Procs = procs,
        };
    }

    private ProcessUsage[] ReadProcesses(GpuCollector collector)
    {
        var count = ReadComputeProcesses(collector.Handle);
        if (count == 0)
        {
            return [];
        }

        ReadProcessUtilization(collector);
        var procs = new ProcessUsage[count];
        for (var i = 0; i < count; i++)
        {
            var info = _processBuffer[i];
            long? used = info.UsedGpuMemory == NvmlProcessInfo.MemoryNotAvailable ? null : (long)info.UsedGpuMemory;
            procs[i] = _latestUtilization.TryGetValue(info.Pid, out var utilization)
                ? new ProcessUsage((int)info.Pid, used, (int)utilization.SmUtil, (int)utilization.MemUtil)
                : new ProcessUsage((int)info.Pid, used, null, null);
        }

        return procs;
    }

    /// <summary>The compute-process list into <see cref="_processBuffer"/>, growing it when NVML asks; the count read.</summary>
    private int ReadComputeProcesses(NvmlDevice device)
    {
        for (var attempt = 0; attempt < MaxGrowAttempts; attempt++)
        {
            var code = _nvml.GetComputeProcesses(device, _processBuffer, out var count);
            if (code == NvmlReturn.InsufficientSize)
            {
                // Headroom: processes can start between the size query and the retry.
                _processBuffer = new NvmlProcessInfo[Math.Max(count, _processBuffer.Length) * 2];
                continue;
            }

            return Check(code, "nvmlDeviceGetComputeRunningProcesses_v3") ? Math.Min(count, _processBuffer.Length) : 0;
        }

        return 0;
    }

    /// <summary>
    /// Fills <see cref="_latestUtilization"/> with each pid's newest sample since the last poll.
    /// NOT_FOUND is NVML's "nothing new", so those pids get null percentages, not zero.
    /// </summary>
    private void ReadProcessUtilization(GpuCollector collector)
    {
        _latestUtilization.Clear();
        for (var attempt = 0; attempt < MaxGrowAttempts; attempt++)
        {
            var code = _nvml.GetProcessUtilization(collector.Handle, _utilizationBuffer, collector.LastSeenUtilizationTimeStamp, out var count);
            if (code == NvmlReturn.InsufficientSize)
            {
                _utilizationBuffer = new NvmlProcessUtilizationSample[Math.Max(count, _utilizationBuffer.Length) * 2];
                continue;
            }

            if (!Check(code, "nvmlDeviceGetProcessUtilization"))
            {
                return;
            }

            foreach (var sample in _utilizationBuffer.AsSpan(0, Math.Min(count, _utilizationBuffer.Length)))
            {
                collector.LastSeenUtilizationTimeStamp = Math.Max(collector.LastSeenUtilizationTimeStamp, sample.TimeStamp);
                if (!_latestUtilization.TryGetValue(sample.Pid, out var kept) || kept.TimeStamp < sample.TimeStamp)
                {
                    _latestUtilization[sample.Pid] = sample;
                }
            }

            return;
        }
    }

    private (GpmMetrics? Metrics, double? IntervalS) ReadGpm(GpuCollector collector, double now)
    {
        if (collector.GpmPrevious is not { } previous || collector.GpmNext is not { } next)
        {
            return (null, null);
        }

        if (double.IsNaN(collector.GpmPreviousTime))
        {
            // No usable first reading yet: take it now, report from the next poll on.
            if (Check(_nvml.GpmSampleGet(collector.Handle, previous), "nvmlGpmSampleGet"))
            {
                collector.GpmPreviousTime = now;
            }

            return (null, null);
        }

        var interval = now - collector.GpmPreviousTime;
        if (interval < MinGpmSpacing.TotalSeconds)
        {
            return (null, null);
        }

        if (!Check(_nvml.GpmSampleGet(collector.Handle, next), "nvmlGpmSampleGet"))
        {
            return (null, null);
        }

        _gpmRequest.Prepare(previous.Handle, next.Handle);
        var code = _nvml.GpmMetricsGet(_gpmRequest);

        // The newer sample becomes the base of the next interval whether or not the metrics call worked.
        collector.GpmPrevious = next;
        collector.GpmNext = previous;
        collector.GpmPreviousTime = now;
        if (!Check(code, "nvmlGpmMetricsGet"))
        {
            return (null, null);
        }

        var metrics = new GpmMetrics();
        foreach (var metric in GpmMetricInfo.All)
        {
            ref var result = ref _gpmRequest.Metric((int)metric);
            metrics.Set(metric, result.NvmlReturn == NvmlReturn.Success ? result.Value : null);
        }

        return metrics.HasAny ? (metrics, interval) : (null, null);
    }

    private double UnixNow() => (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).TotalSeconds;
}

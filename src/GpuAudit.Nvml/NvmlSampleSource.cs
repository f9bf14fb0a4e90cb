using GpuAudit.Core.Samples;
using GpuAudit.Nvml.Interop;

namespace GpuAudit.Nvml;

/// <summary>
/// Live samples from NVML: one <see cref="Tick"/> per interval, paced by a timer on the given
/// <see cref="TimeProvider"/>. Devices are enumerated once, at construction, and keyed by UUID;
/// a GPU in MIG mode adds one device per MIG instance. A GPU whose calls fail with a device-level
/// code (GPU_IS_LOST, driver gone, ...) is reported down for that tick and polled again next tick;
/// any other failed call loses its own field only. A GPU that cannot be read at start-up is kept
/// as a placeholder device, reported down and retried every poll. Owns <paramref name="nvml"/>.
/// </summary>
public sealed class NvmlSampleSource : ISampleSource
{
    /// <summary>
    /// GPM readings over shorter spans came back as 0/NaN on the H100 recordings; a poll sooner
    /// than this after the last GPM sample reports gpm = null rather than a bogus zero.
    /// </summary>
    public static readonly TimeSpan MinGpmSpacing = TimeSpan.FromSeconds(0.5);

    /// <summary>
    /// A poll's timer fires a few milliseconds either side of its interval: at a 0.5 s interval a
    /// strict <see cref="MinGpmSpacing"/> would drop every other GPM sample (its series flicker
    /// in and out of the exposition). Spans down to 90% of it are sampled; the rates are computed
    /// over the real span either way.
    /// </summary>
    private static readonly double GpmSpacingWithJitter = MinGpmSpacing.TotalSeconds * 0.9;

    /// <summary>
    /// The most processes read from one GPU: a count above it (a hostile or broken answer) is not
    /// allocated for; that GPU's process list is reported missing with a warning instead.
    /// </summary>
    public const int MaxProcessesPerGpu = 4096;

    /// <summary>R535's nvmlDeviceGetProcessUtilization answers INSUFFICIENT_SIZE to any buffer under 72 entries.</summary>
    public const int MinUtilizationSamples = 72;

    /// <summary>A device count above this is not believed (NVML supports far fewer GPUs per node).</summary>
    public const int MaxGpus = 256;

    private const int MaxGrowAttempts = 4;

    private readonly INvmlApi _nvml;
    private readonly TimeProvider _time;
    private readonly Action<string>? _warn;
    private readonly PeriodicTimer _timer;
    private readonly GpuCollector[] _collectors;
    private readonly GpuDevice[] _devices;
    private readonly string _driver;
    private readonly GpmMetricsBuffer _gpmRequest;
    private readonly NewProcessTracker _newProcesses;
    private readonly Dictionary<uint, NvmlProcessUtilizationSample> _latestUtilization = [];
    private NvmlProcessInfo[] _processBuffer = new NvmlProcessInfo[32];
    private NvmlProcessUtilizationSample[] _utilizationBuffer = new NvmlProcessUtilizationSample[128];
    private bool _disposed;

    /// <param name="warn">Where one-line warnings go (a process count over the cap, a GPU back after start-up).</param>
    public NvmlSampleSource(INvmlApi nvml, IProcessDescriber describer, TimeProvider timeProvider, TimeSpan interval, string? node = null, Action<string>? warn = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _nvml = nvml;
        _newProcesses = new NewProcessTracker(describer, timeProvider);
        _time = timeProvider;
        _warn = warn;
        Node = node ?? Environment.MachineName;
        Interval = interval;
        Span<uint> ids = stackalloc uint[GpmMetricInfo.Count];
        foreach (var metric in GpmMetricInfo.All)
        {
            ids[(int)metric] = GpmMetricInfo.NvmlId(metric);
        }

        _gpmRequest = new GpmMetricsBuffer(ids);
        _driver = _nvml.GetDriverVersion(out var version) == NvmlReturn.Success ? version : "unknown";
        var problems = new List<string>();
        _collectors = Enumerate(problems);
        StartupProblems = problems;
        _devices = Array.ConvertAll(_collectors, c => c.Device);
        var now = UnixNow();
        foreach (var collector in _collectors)
        {
            StartGpm(collector, now);
        }

        _timer = new PeriodicTimer(interval, timeProvider);
    }

    public string Node { get; }

    public TimeSpan Interval { get; }

    public IReadOnlyList<GpuDevice> Devices => _devices;

    /// <summary>GPUs and MIG instances that could not be read at enumeration, one line each, for logs and doctor.</summary>
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
        _newProcesses.BeginTick();
        List<GpuDevice>? changed = null;
        for (var i = 0; i < _collectors.Length; i++)
        {
            var collector = _collectors[i];
            if (!collector.Available)
            {
                if (!TryReattach(collector, now))
                {
                    collectors[i] = new CollectorStatus(collector.Device.Index, false, collector.UnavailableReason);
                    continue;
                }

                _devices[i] = collector.Device;
                (changed ??= []).Add(collector.Device);
            }

            var poll = new DevicePoll();
            try
            {
                var sample = PollDevice(collector, now, poll);
                if (poll.FieldsRead == 0 && poll.FirstFailure is { } nothing)
                {
                    // Every call failed: there is no sample, whatever the codes were.
                    collectors[i] = new CollectorStatus(collector.Device.Index, false, "no field could be read: " + nothing);
                    Report(collector, "nothing-read", collectors[i].Error);
                    continue;
                }

                samples.Add(sample);
                collectors[i] = new CollectorStatus(collector.Device.Index, true, poll.ProcessError)
                {
                    ProcessesVisible = poll.ProcessError is null,
                    FailedCalls = poll.Failures,
                };
                Report(collector, poll.ProcessErrorKind, poll.ProcessError);
                foreach (var process in sample.Procs)
                {
                    // New and reused pids (another start time) are described; a known process is not.
                    _newProcesses.Observe(process.Pid, newProcesses);
                }
            }
            catch (NvmlException e)
            {
                collectors[i] = new CollectorStatus(collector.Device.Index, false, e.Message);
                Report(collector, e.Function + ":" + e.Code, e.MessageWithFix);
            }
        }

        return new Tick(now, samples, newProcesses, collectors) { ChangedDevices = changed };
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
    /// One warning when a GPU stops being fully watched (down, or its processes unreadable), again
    /// only when the reason changes, and one when it is fully watched again: not one per poll.
    /// </summary>
    private void Report(GpuCollector collector, string? kind, string? message)
    {
        if (kind == collector.ReportedProblem)
        {
            return;
        }

        var device = collector.Device;
        _warn?.Invoke(kind is null
            ? $"GPU {device.Index} ({device.Uuid}) is fully read again"
            : $"GPU {device.Index} ({device.Uuid}): {message}");
        collector.ReportedProblem = kind;
    }

    private GpuCollector[] Enumerate(List<string> problems)
    {
        var code = _nvml.GetDeviceCount(out var count);
        if (code != NvmlReturn.Success)
        {
            throw new NvmlException(code, "nvmlDeviceGetCount_v2");
        }

        if (count > MaxGpus)
        {
            throw new NvmlException(NvmlReturn.Unknown, "nvmlDeviceGetCount_v2", $"it reports {count} GPUs, more than the {MaxGpus} this build believes");
        }

        var physical = new List<GpuCollector>(count);
        var instances = new List<(GpuCollector Parent, NvmlDevice Handle)>();
        for (var index = 0; index < count; index++)
        {
            if (!TryDescribe(index, out var handle, out var device, out var problem))
            {
                problems.Add($"GPU {index} not readable at start-up (exported as down, retried every poll): {problem}");
                physical.Add(new GpuCollector(Placeholder(index), default, index) { Available = false, UnavailableReason = problem, ReportedProblem = "start-up" });
                continue;
            }

            var collector = new GpuCollector(device, handle, index);
            physical.Add(collector);
            if (device.MigEnabled == true)
            {
                foreach (var mig in MigHandles(collector, problems))
                {
                    instances.Add((collector, mig));
                }
            }
        }

        var all = new List<GpuCollector>(physical);
        foreach (var (parent, handle) in instances)
        {
            if (DescribeInstance(parent, handle, all.Count, problems) is { } instance)
            {
                all.Add(instance);
            }
        }

        return [.. all];
    }

    /// <summary>Handle, UUID and the rest of a physical GPU's identity; false (with why) when the handle or UUID cannot be read.</summary>
    private bool TryDescribe(int index, out NvmlDevice handle, out GpuDevice device, out string problem)
    {
        device = Placeholder(index);
        var code = _nvml.GetDeviceHandle(index, out handle);
        if (code != NvmlReturn.Success)
        {
            problem = "nvmlDeviceGetHandleByIndex_v2 failed: " + NvmlErrors.Format(code);
            return false;
        }

        code = _nvml.GetUuid(handle, out var uuid);
        if (code != NvmlReturn.Success)
        {
            problem = "nvmlDeviceGetUUID failed: " + NvmlErrors.Format(code);
            return false;
        }

        var name = _nvml.GetName(handle, out var n) == NvmlReturn.Success ? n : "unknown";
        long? memTotal = _nvml.GetMemory(handle, out var memory) == NvmlReturn.Success ? (long)memory.Total : null;
        string? pciBusId = _nvml.GetPciBusId(handle, out var bus) == NvmlReturn.Success ? bus : null;
        bool? mig = _nvml.GetMigMode(handle, out var migEnabled) == NvmlReturn.Success ? migEnabled : null;

        // Under MIG, GPM is read per GPU instance (nvmlGpmMigSampleGet), on the instances' devices.
        var gpm = mig != true && _nvml.GpmQuerySupport(handle, out var supported) == NvmlReturn.Success && supported;
        device = new GpuDevice(index, uuid, name, _driver, memTotal, gpm, pciBusId, mig);
        problem = string.Empty;
        return true;
    }

    /// <summary>What a GPU unreadable at start-up is exported as until it can be read: no UUID is known, so the label says which index.</summary>
    private GpuDevice Placeholder(int index) => new(index, "unavailable-gpu-" + index.ToString(System.Globalization.CultureInfo.InvariantCulture), "unavailable", _driver, null, false);

    /// <summary>Tries a placeholder GPU again; true when it can now be read (its device is then real).</summary>
    private bool TryReattach(GpuCollector collector, double now)
    {
        if (!TryDescribe(collector.NvmlIndex, out var handle, out var device, out var problem))
        {
            collector.UnavailableReason = "not readable since start-up: " + problem;
            return false;
        }

        // MIG instances of a GPU that came back are not enumerated (the device list is fixed): it is watched as one GPU.
        collector.Device = device.IsMigParent ? device with { MigEnabled = false, GpmSupported = false } : device;
        collector.Handle = handle;
        collector.Available = true;
        collector.UnavailableReason = null;
        collector.ReportedProblem = null;
        StartGpm(collector, now);
        _warn?.Invoke($"GPU {device.Index} ({device.Uuid}) can be read again after failing at start-up");
        return true;
    }

    private List<NvmlDevice> MigHandles(GpuCollector parent, List<string> problems)
    {
        var handles = new List<NvmlDevice>();
        var code = _nvml.GetMaxMigDeviceCount(parent.Handle, out var slots);
        if (code != NvmlReturn.Success)
        {
            problems.Add($"GPU {parent.Device.Index}: MIG is on but its instances cannot be listed: nvmlDeviceGetMaxMigDeviceCount failed: {NvmlErrors.Format(code)}");
            return handles;
        }

        // NVML's own maximum is 7 instances per GPU; anything far above it is not a real answer.
        for (var slot = 0; slot < Math.Min(slots, 64); slot++)
        {
            code = _nvml.GetMigDeviceHandle(parent.Handle, slot, out var mig);
            if (code == NvmlReturn.Success)
            {
                handles.Add(mig);
            }
            else if (code != NvmlReturn.NotFound)
            {
                problems.Add($"GPU {parent.Device.Index}: MIG device {slot} skipped: nvmlDeviceGetMigDeviceHandleByIndex failed: {NvmlErrors.Format(code)}");
            }
        }

        return handles;
    }

    private GpuCollector? DescribeInstance(GpuCollector parent, NvmlDevice handle, int index, List<string> problems)
    {
        var code = _nvml.GetUuid(handle, out var uuid);
        if (code == NvmlReturn.Success)
        {
            code = _nvml.GetGpuInstanceId(handle, out var gi);
            if (code == NvmlReturn.Success)
            {
                code = _nvml.GetComputeInstanceId(handle, out var ci);
                if (code == NvmlReturn.Success)
                {
                    var p = parent.Device;
                    var name = _nvml.GetName(handle, out var n) == NvmlReturn.Success ? n : p.Name + " MIG";
                    long? memTotal = _nvml.GetMemory(handle, out var memory) == NvmlReturn.Success ? (long)memory.Total : null;
                    var gpm = _nvml.GpmQuerySupport(parent.Handle, out var supported) == NvmlReturn.Success && supported;
                    var device = new GpuDevice(index, uuid, name, _driver, memTotal, gpm, p.PciBusId, true, new MigInstance(p.Uuid, p.Index, (int)gi, (int)ci));
                    return new GpuCollector(device, handle, parent.NvmlIndex) { MigParent = parent.Handle, GpuInstanceId = gi };
                }
            }
        }

        problems.Add($"GPU {parent.Device.Index}: a MIG device skipped: {NvmlErrors.Format(code)}");
        return null;
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
        if (GpmSampleGet(collector, first) == NvmlReturn.Success)
        {
            collector.GpmPreviousTime = now;
        }
    }

    private NvmlReturn GpmSampleGet(GpuCollector collector, NvmlGpmSample sample) =>
        collector.MigParent is { } parent
            ? _nvml.GpmMigSampleGet(parent, collector.GpuInstanceId, sample)
            : _nvml.GpmSampleGet(collector.Handle, sample);

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

    private GpuSample PollDevice(GpuCollector collector, double now, DevicePoll poll)
    {
        var device = collector.Handle;
        var (memUsed, memReserved) = ReadMemory(collector, poll);
        var (gpm, gpmInterval) = ReadGpm(collector, now, poll);
        if (collector.Device.Mig is not null)
        {
            // Utilization, power, clocks, temperature and energy belong to the physical GPU (its parent's device).
            return new GpuSample
            {
                Time = now,
                Gpu = collector.Device.Index,
                MemUsedBytes = memUsed,
                MemReservedBytes = memReserved,
                Gpm = gpm,
                GpmIntervalS = gpmInterval,
                Procs = ReadProcesses(collector, poll, perProcessUtilization: false),
            };
        }

        bool hasUtilization = poll.Read(_nvml.GetUtilization(device, out var utilization), "nvmlDeviceGetUtilizationRates");
        bool hasPower = poll.Read(_nvml.GetPowerUsage(device, out var power), "nvmlDeviceGetPowerUsage");
        bool hasSmClock = poll.Read(_nvml.GetClock(device, NvmlClockType.Sm, out var smClock), "nvmlDeviceGetClockInfo");
        bool hasMemClock = poll.Read(_nvml.GetClock(device, NvmlClockType.Memory, out var memClock), "nvmlDeviceGetClockInfo");
        var temperature = ReadTemperature(collector, poll);
        bool hasEnergy = poll.Read(_nvml.GetTotalEnergy(device, out var energy), "nvmlDeviceGetTotalEnergyConsumption");

        // Under MIG the processes run in the instances, which report them (and are classified) on their own.
        var procs = collector.Device.IsMigParent ? [] : ReadProcesses(collector, poll, perProcessUtilization: true);
        return new GpuSample
        {
            Time = now,
            Gpu = collector.Device.Index,
            UtilGpuPct = hasUtilization ? (int)utilization.Gpu : null,
            UtilMemPct = hasUtilization ? (int)utilization.Memory : null,
            MemUsedBytes = memUsed,
            MemReservedBytes = memReserved,
            PowerMw = hasPower ? power : null,
            SmClockMhz = hasSmClock ? (int)smClock : null,
            MemClockMhz = hasMemClock ? (int)memClock : null,
            TempC = temperature,
            EnergyMj = hasEnergy ? (long)energy : null,
            Gpm = gpm,
            GpmIntervalS = gpmInterval,
            Procs = procs,
        };
    }

    /// <summary>
    /// _v2 where the driver has it (used without the reserved memory, reserved apart); v1 otherwise,
    /// or from the first poll where _v2 said it cannot serve this GPU (not exported, not supported,
    /// a struct version it does not know).
    /// </summary>
    private (long? Used, long? Reserved) ReadMemory(GpuCollector collector, DevicePoll poll)
    {
        if (!collector.MemoryV2Unusable)
        {
            var code = _nvml.GetMemoryV2(collector.Handle, out var v2);
            if (code is NvmlReturn.FunctionNotFound or NvmlReturn.NotSupported or NvmlReturn.ArgumentVersionMismatch)
            {
                collector.MemoryV2Unusable = true;
            }
            else
            {
                return poll.Read(code, "nvmlDeviceGetMemoryInfo_v2") ? ((long)v2.Used, (long)v2.Reserved) : (null, null);
            }
        }

        return poll.Read(_nvml.GetMemory(collector.Handle, out var v1), "nvmlDeviceGetMemoryInfo") ? ((long)v1.Used, null) : (null, null);
    }

    /// <summary>nvmlDeviceGetTemperatureV where exported (13.x), else the call it replaces.</summary>
    private int? ReadTemperature(GpuCollector collector, DevicePoll poll)
    {
        if (!collector.TemperatureVUnusable)
        {
            var code = _nvml.GetTemperatureV(collector.Handle, out var celsius);
            if (code is NvmlReturn.FunctionNotFound or NvmlReturn.ArgumentVersionMismatch)
            {
                collector.TemperatureVUnusable = true;
            }
            else
            {
                return poll.Read(code, "nvmlDeviceGetTemperatureV") ? celsius : null;
            }
        }

        return poll.Read(_nvml.GetTemperature(collector.Handle, out var old), "nvmlDeviceGetTemperature") ? (int)old : null;
    }

    private ProcessUsage[] ReadProcesses(GpuCollector collector, DevicePoll poll, bool perProcessUtilization)
    {
        var count = ReadComputeProcesses(collector, poll);
        if (count == 0)
        {
            return [];
        }

        // Per-process utilization is not available under MIG (nvml.h); instances do not ask.
        if (perProcessUtilization)
        {
            ReadProcessUtilization(collector, poll);
        }
        else
        {
            _latestUtilization.Clear();
        }

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

    /// <summary>
    /// The compute-process list into <see cref="_processBuffer"/>, growing it when NVML asks, never
    /// past <see cref="MaxProcessesPerGpu"/> and never more than <see cref="MaxGrowAttempts"/> times
    /// a poll. Returns the count read; when the list cannot be read, records why on
    /// <paramref name="poll"/> (the GPU is then not fully watched) and returns 0.
    /// </summary>
    private int ReadComputeProcesses(GpuCollector collector, DevicePoll poll)
    {
        const string Function = "nvmlDeviceGetComputeRunningProcesses_v3";
        var needed = 0;
        for (var attempt = 0; attempt < MaxGrowAttempts; attempt++)
        {
            var code = _nvml.GetComputeProcesses(collector.Handle, _processBuffer, out var count);
            if (code == NvmlReturn.InsufficientSize)
            {
                needed = count;
                if (count > MaxProcessesPerGpu)
                {
                    poll.ProcessFailed("cap", $"{Function}: {count} processes reported, above the cap of {MaxProcessesPerGpu}: processes not read");
                    return 0;
                }

                // Headroom: processes can start between the size query and the retry. A count that
                // already fits (a racing or lying answer) still grows the buffer, up to the cap.
                var size = Math.Min(Math.Max(count, _processBuffer.Length) * 2, MaxProcessesPerGpu);
                if (size <= _processBuffer.Length)
                {
                    break;
                }

                _processBuffer = new NvmlProcessInfo[size];
                continue;
            }

            if (code == NvmlReturn.Success)
            {
                poll.FieldsRead++;
                return Math.Clamp(count, 0, _processBuffer.Length);
            }

            if (NvmlErrors.IsDeviceFailure(code))
            {
                throw new NvmlException(code, Function);
            }

            poll.ProcessFailed(NvmlErrors.Name(code), new NvmlException(code, Function).MessageWithFix);
            poll.Fail(Function, code);
            return 0;
        }

        poll.ProcessFailed("growing", $"{Function}: still INSUFFICIENT_SIZE after {MaxGrowAttempts} tries (last count {needed}): processes not read");
        return 0;
    }

    /// <summary>
    /// Fills <see cref="_latestUtilization"/> with each pid's newest sample since the last poll.
    /// NOT_FOUND is NVML's "nothing new", so those pids get null percentages, not zero.
    /// </summary>
    private void ReadProcessUtilization(GpuCollector collector, DevicePoll poll)
    {
        const string Function = "nvmlDeviceGetProcessUtilization";
        _latestUtilization.Clear();
        for (var attempt = 0; attempt < MaxGrowAttempts; attempt++)
        {
            var code = _nvml.GetProcessUtilization(collector.Handle, _utilizationBuffer, collector.LastSeenUtilizationTimeStamp, out var count);
            if (code == NvmlReturn.InsufficientSize)
            {
                var size = Math.Min(Math.Max(Math.Max(count, MinUtilizationSamples), _utilizationBuffer.Length) * 2, MaxProcessesPerGpu);
                if (count > MaxProcessesPerGpu || size <= _utilizationBuffer.Length)
                {
                    break;
                }

                _utilizationBuffer = new NvmlProcessUtilizationSample[size];
                continue;
            }

            if (code == NvmlReturn.NotFound || !poll.Read(code, Function))
            {
                return;
            }

            foreach (var sample in _utilizationBuffer.AsSpan(0, Math.Clamp(count, 0, _utilizationBuffer.Length)))
            {
                collector.LastSeenUtilizationTimeStamp = Math.Max(collector.LastSeenUtilizationTimeStamp, sample.TimeStamp);
                if (!_latestUtilization.TryGetValue(sample.Pid, out var kept) || kept.TimeStamp < sample.TimeStamp)
                {
                    _latestUtilization[sample.Pid] = sample;
                }
            }

            return;
        }

        poll.Fail(Function, NvmlReturn.InsufficientSize);
    }

    private (GpmMetrics? Metrics, double? IntervalS) ReadGpm(GpuCollector collector, double now, DevicePoll poll)
    {
        if (collector.GpmPrevious is not { } previous || collector.GpmNext is not { } next)
        {
            return (null, null);
        }

        var sampleFunction = collector.MigParent is null ? "nvmlGpmSampleGet" : "nvmlGpmMigSampleGet";
        if (double.IsNaN(collector.GpmPreviousTime))
        {
            // No usable first reading yet: take it now, report from the next poll on.
            if (poll.Read(GpmSampleGet(collector, previous), sampleFunction))
            {
                collector.GpmPreviousTime = now;
            }

            return (null, null);
        }

        var interval = now - collector.GpmPreviousTime;
        if (interval < GpmSpacingWithJitter)
        {
            return (null, null);
        }

        if (!poll.Read(GpmSampleGet(collector, next), sampleFunction))
        {
            return (null, null);
        }

        _gpmRequest.Prepare(previous.Handle, next.Handle);
        var code = _nvml.GpmMetricsGet(_gpmRequest);

        // The newer sample becomes the base of the next interval whether or not the metrics call worked.
        collector.GpmPrevious = next;
        collector.GpmNext = previous;
        collector.GpmPreviousTime = now;
        if (!poll.Read(code, "nvmlGpmMetricsGet"))
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

    /// <summary>What one device's poll read and what failed, field by field.</summary>
    private sealed class DevicePoll
    {
        private List<CallFailure>? _failures;

        public int FieldsRead { get; set; }

        public IReadOnlyList<CallFailure>? Failures => _failures;

        /// <summary>Why the process list could not be read (null: it was read).</summary>
        public string? ProcessError { get; private set; }

        /// <summary>A stable key for <see cref="ProcessError"/> (its message may carry changing counts).</summary>
        public string? ProcessErrorKind { get; private set; }

        /// <summary>The first failure, for the message when nothing at all could be read.</summary>
        public string? FirstFailure { get; private set; }

        /// <summary>
        /// True for success; false for a field this GPU cannot give this tick (counted as a failed
        /// call unless it is simply unsupported); throws for a code that means the GPU is gone.
        /// </summary>
        public bool Read(NvmlReturn code, string function)
        {
            if (code == NvmlReturn.Success)
            {
                FieldsRead++;
                return true;
            }

            if (NvmlErrors.IsDeviceFailure(code))
            {
                throw new NvmlException(code, function);
            }

            if (!NvmlErrors.IsUnsupported(code))
            {
                Fail(function, code);
            }

            return false;
        }

        public void Fail(string function, NvmlReturn code)
        {
            (_failures ??= []).Add(new CallFailure(function, NvmlErrors.Name(code)));
            FirstFailure ??= function + " failed: " + NvmlErrors.Format(code);
        }

        public void ProcessFailed(string kind, string why)
        {
            ProcessErrorKind = "processes:" + kind;
            ProcessError = why;
            FirstFailure ??= why;
        }
    }
}

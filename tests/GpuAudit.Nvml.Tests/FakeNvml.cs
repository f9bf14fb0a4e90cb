using GpuAudit.Nvml.Interop;

namespace GpuAudit.Nvml.Tests;

/// <summary>One scripted GPU of <see cref="FakeNvml"/>: what each NVML call answers.</summary>
internal sealed class FakeGpu
{
    public string Uuid { get; init; } = "GPU-00000000-0000-0000-0000-000000000000";

    public string Name { get; init; } = "NVIDIA H100 80GB HBM3";

    public string PciBusId { get; init; } = "00000000:3B:00.0";

    public bool GpmSupported { get; init; } = true;

    public bool MigEnabled { get; init; }

    /// <summary>When set, every call on this device answers it (GPU_IS_LOST and friends).</summary>
    public NvmlReturn DeviceFailure { get; set; } = NvmlReturn.Success;

    /// <summary>Per-function answers that replace success (e.g. "power" → NOT_SUPPORTED).</summary>
    public Dictionary<string, NvmlReturn> Failures { get; } = [];

    public NvmlUtilization Utilization { get; set; } = new() { Gpu = 87, Memory = 41 };

    public NvmlMemory Memory { get; set; } = new() { Total = 85_520_809_984, Used = 10_000_000_000, Free = 75_520_809_984 };

    public uint PowerMw { get; set; } = 312_456;

    public uint SmClockMhz { get; set; } = 1980;

    public uint MemClockMhz { get; set; } = 2619;

    public uint TempC { get; set; } = 54;

    public ulong EnergyMj { get; set; } = 123_456_789;

    public List<NvmlProcessInfo> Processes { get; } = [];

    /// <summary>The driver's per-process utilization buffer; calls return the samples newer than lastSeen.</summary>
    public List<NvmlProcessUtilizationSample> UtilizationSamples { get; } = [];

    /// <summary>The lastSeenTimeStamp argument of every utilization call, in order.</summary>
    public List<ulong> LastSeenArguments { get; } = [];

    public int ComputeProcessCalls { get; set; }

    /// <summary>GPM values by NVML metric id (missing id: value 0 with success).</summary>
    public Dictionary<uint, double> GpmValues { get; } = [];

    /// <summary>Per-metric GPM errors by NVML metric id.</summary>
    public Dictionary<uint, NvmlReturn> GpmMetricErrors { get; } = [];

    public int GpmSampleGets { get; set; }
}

/// <summary>An <see cref="INvmlApi"/> answering from <see cref="FakeGpu"/> scripts: NVML semantics without a GPU.</summary>
internal sealed class FakeNvml(params FakeGpu[] gpus) : INvmlApi
{
    private readonly HashSet<nint> _liveGpmSamples = [];
    private nint _nextGpmSample = 1000;

    public IReadOnlyList<FakeGpu> Gpus { get; } = gpus;

    public string DriverVersion { get; init; } = "580.159.04";

    public bool Disposed { get; private set; }

    public int LiveGpmSamples => _liveGpmSamples.Count;

    public NvmlReturn GetDriverVersion(out string version)
    {
        version = DriverVersion;
        return NvmlReturn.Success;
    }

    public NvmlReturn GetDeviceCount(out int count)
    {
        count = Gpus.Count;
        return NvmlReturn.Success;
    }

    public NvmlReturn GetDeviceHandle(int index, out NvmlDevice device)
    {
        device = new NvmlDevice(index + 1);
        return NvmlReturn.Success;
    }

    public NvmlReturn GetName(NvmlDevice device, out string name) => Answer(device, "name", g => g.Name, out name);

    public NvmlReturn GetUuid(NvmlDevice device, out string uuid) => Answer(device, "uuid", g => g.Uuid, out uuid);

    public NvmlReturn GetPciBusId(NvmlDevice device, out string busId) => Answer(device, "pci", g => g.PciBusId, out busId);

    public NvmlReturn GetMigMode(NvmlDevice device, out bool enabled) => Answer(device, "mig", g => g.MigEnabled, out enabled);

    public NvmlReturn GetUtilization(NvmlDevice device, out NvmlUtilization utilization) => Answer(device, "utilization", g => g.Utilization, out utilization);

    public NvmlReturn GetMemory(NvmlDevice device, out NvmlMemory memory) => Answer(device, "memory", g => g.Memory, out memory);

    public NvmlReturn GetPowerUsage(NvmlDevice device, out uint milliwatts) => Answer(device, "power", g => g.PowerMw, out milliwatts);

    public NvmlReturn GetClock(NvmlDevice device, NvmlClockType type, out uint mhz) =>
        Answer(device, "clock-" + type, g => type == NvmlClockType.Sm ? g.SmClockMhz : g.MemClockMhz, out mhz);

    public NvmlReturn GetTemperature(NvmlDevice device, out uint celsius) => Answer(device, "temperature", g => g.TempC, out celsius);

    public NvmlReturn GetTotalEnergy(NvmlDevice device, out ulong millijoules) => Answer(device, "energy", g => g.EnergyMj, out millijoules);

    public NvmlReturn GetComputeProcesses(NvmlDevice device, Span<NvmlProcessInfo> buffer, out int count)
    {
        var gpu = Gpu(device);
        gpu.ComputeProcessCalls++;
        count = 0;
        var failure = FailureOf(gpu, "processes");
        if (failure != NvmlReturn.Success)
        {
            return failure;
        }

        count = gpu.Processes.Count;
        if (buffer.Length < gpu.Processes.Count)
        {
            return NvmlReturn.InsufficientSize;
        }

        gpu.Processes.CopyTo(buffer);
        return NvmlReturn.Success;
    }

    public NvmlReturn GetProcessUtilization(NvmlDevice device, Span<NvmlProcessUtilizationSample> buffer, ulong lastSeenTimeStamp, out int count)
    {
        var gpu = Gpu(device);
        gpu.LastSeenArguments.Add(lastSeenTimeStamp);
        count = 0;
        var failure = FailureOf(gpu, "process-utilization");
        if (failure != NvmlReturn.Success)
        {
            return failure;
        }

        var fresh = gpu.UtilizationSamples.Where(s => s.TimeStamp > lastSeenTimeStamp).ToArray();
        count = fresh.Length;
        if (fresh.Length == 0)
        {
            return NvmlReturn.NotFound;
        }

        if (buffer.Length < fresh.Length)
        {
            return NvmlReturn.InsufficientSize;
        }

        fresh.CopyTo(buffer);
        return NvmlReturn.Success;
    }

    public NvmlReturn GpmQuerySupport(NvmlDevice device, out bool supported) => Answer(device, "gpm-support", g => g.GpmSupported, out supported);

    public NvmlReturn GpmSampleAlloc(out NvmlGpmSample sample)
    {
        sample = new NvmlGpmSample(_nextGpmSample++);
        _liveGpmSamples.Add(sample.Handle);
        return NvmlReturn.Success;
    }

    public NvmlReturn GpmSampleFree(NvmlGpmSample sample) =>
        _liveGpmSamples.Remove(sample.Handle) ? NvmlReturn.Success : NvmlReturn.InvalidArgument;

    public NvmlReturn GpmSampleGet(NvmlDevice device, NvmlGpmSample sample)
    {
        var gpu = Gpu(device);
        var failure = FailureOf(gpu, "gpm-sample");
        if (failure != NvmlReturn.Success)
        {
            return failure;
        }

        gpu.GpmSampleGets++;
        return _liveGpmSamples.Contains(sample.Handle) ? NvmlReturn.Success : NvmlReturn.InvalidArgument;
    }

    public NvmlReturn GpmMetricsGet(GpmMetricsBuffer request)
    {
        // The fake cannot tell which GPU the samples came from; tests with GPM metrics use one GPU.
        var gpu = Gpus[0];
        for (var i = 0; i < request.Count; i++)
        {
            ref var metric = ref request.Metric(i);
            metric.NvmlReturn = gpu.GpmMetricErrors.GetValueOrDefault(metric.MetricId, NvmlReturn.Success);
            metric.Value = gpu.GpmValues.GetValueOrDefault(metric.MetricId);
        }

        return NvmlReturn.Success;
    }

    public void Dispose() => Disposed = true;

    private static NvmlReturn FailureOf(FakeGpu gpu, string function) =>
        gpu.DeviceFailure != NvmlReturn.Success ? gpu.DeviceFailure : gpu.Failures.GetValueOrDefault(function, NvmlReturn.Success);

    private FakeGpu Gpu(NvmlDevice device) => Gpus[(int)device.Handle - 1];

    private NvmlReturn Answer<T>(NvmlDevice device, string function, Func<FakeGpu, T> value, out T result)
    {
        var gpu = Gpu(device);
        var failure = FailureOf(gpu, function);
        result = failure == NvmlReturn.Success ? value(gpu) : default!;
        return failure;
    }
}

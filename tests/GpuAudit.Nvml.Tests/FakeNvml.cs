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

    /// <summary>MIG devices by slot (null: an empty slot, NOT_FOUND), when <see cref="MigEnabled"/>.</summary>
    public List<FakeMigDevice?> MigDevices { get; } = [];

    /// <summary>When set, every call on this device answers it (GPU_IS_LOST and friends).</summary>
    public NvmlReturn DeviceFailure { get; set; } = NvmlReturn.Success;

    /// <summary>nvmlDeviceGetHandleByIndex_v2 answers this (a GPU unreadable at start-up) while it is set.</summary>
    public NvmlReturn HandleFailure { get; set; } = NvmlReturn.Success;

    /// <summary>Per-function answers that replace success (e.g. "power" → NOT_SUPPORTED).</summary>
    public Dictionary<string, NvmlReturn> Failures { get; } = [];

    public NvmlUtilization Utilization { get; set; } = new() { Gpu = 87, Memory = 41 };

    /// <summary>As nvmlDeviceGetMemoryInfo (v1) answers: used includes <see cref="ReservedBytes"/>.</summary>
    public NvmlMemory Memory { get; set; } = new() { Total = 85_520_809_984, Used = 10_000_000_000, Free = 75_520_809_984 };

    /// <summary>What _v2 reports as reserved (and leaves out of used): 480 MiB, as on an idle H100.</summary>
    public ulong ReservedBytes { get; set; } = 503_316_480;

    public uint PowerMw { get; set; } = 312_456;

    public uint SmClockMhz { get; set; } = 1980;

    public uint MemClockMhz { get; set; } = 2619;

    public uint TempC { get; set; } = 54;

    public ulong EnergyMj { get; set; } = 123_456_789;

    public List<NvmlProcessInfo> Processes { get; } = [];

    /// <summary>When set, the process list answers INSUFFICIENT_SIZE with this count whatever the buffer.</summary>
    public int? ClaimedProcessCount { get; set; }

    /// <summary>The buffer length of every process-list call, in order.</summary>
    public List<int> ProcessBufferLengths { get; } = [];

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

/// <summary>A MIG device (one compute instance) of a <see cref="FakeGpu"/>.</summary>
internal sealed class FakeMigDevice
{
    public required string Uuid { get; init; }

    public string Name { get; init; } = "NVIDIA H100 80GB HBM3 MIG 3g.40gb";

    public uint GpuInstanceId { get; init; }

    public uint ComputeInstanceId { get; init; }

    public NvmlMemory Memory { get; set; } = new() { Total = 42_949_672_960, Used = 2_000_000_000, Free = 40_949_672_960 };

    public List<NvmlProcessInfo> Processes { get; } = [];

    /// <summary>GPM values of its GPU instance by NVML metric id.</summary>
    public Dictionary<uint, double> GpmValues { get; } = [];

    public Dictionary<string, NvmlReturn> Failures { get; } = [];
}

/// <summary>
/// An <see cref="INvmlApi"/> answering from <see cref="FakeGpu"/> scripts: NVML semantics without a
/// GPU. Handles: GPU i is i+1; its MIG slot s is 1000·(i+1)+s+1. MIG handles answer NOT_SUPPORTED
/// to the physical queries (utilization, power, clocks, temperature, energy, per-process utilization).
/// </summary>
internal sealed class FakeNvml(params FakeGpu[] gpus) : INvmlApi
{
    private readonly Dictionary<nint, (FakeGpu Gpu, uint? GpuInstance)?> _gpmSamples = [];
    private nint _nextGpmSample = 1000;

    public IReadOnlyList<FakeGpu> Gpus { get; } = gpus;

    public string DriverVersion { get; init; } = "580.159.04";

    /// <summary>Entry points this fake driver does not export (answer FUNCTION_NOT_FOUND), e.g. "temperature-v".</summary>
    public HashSet<string> Missing { get; } = [];

    public bool Disposed { get; private set; }

    public int LiveGpmSamples => _gpmSamples.Count;

    /// <summary>The numMetrics and allocated size of every GPM metrics request.</summary>
    public List<(int NumMetrics, int AllocatedBytes)> GpmRequests { get; } = [];

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
        return Gpus[index].HandleFailure;
    }

    public NvmlReturn GetName(NvmlDevice device, out string name) => Answer(device, "name", g => g.Name, m => m.Name, out name);

    public NvmlReturn GetUuid(NvmlDevice device, out string uuid) => Answer(device, "uuid", g => g.Uuid, m => m.Uuid, out uuid);

    public NvmlReturn GetPciBusId(NvmlDevice device, out string busId) => Answer(device, "pci", g => g.PciBusId, null, out busId);

    public NvmlReturn GetMigMode(NvmlDevice device, out bool enabled) => Answer(device, "mig", g => g.MigEnabled, null, out enabled);

    /// <summary>Under MIG the parent's utilization is NOT_SUPPORTED, as on real GPUs.</summary>
    public NvmlReturn GetUtilization(NvmlDevice device, out NvmlUtilization utilization)
    {
        var code = Answer(device, "utilization", g => g.Utilization, null, out utilization);
        return code == NvmlReturn.Success && Resolve(device).Gpu.MigEnabled ? NvmlReturn.NotSupported : code;
    }

    public NvmlReturn GetMemory(NvmlDevice device, out NvmlMemory memory) => Answer(device, "memory", g => g.Memory, m => m.Memory, out memory);

    public NvmlReturn GetMemoryV2(NvmlDevice device, out NvmlMemoryV2 memory) => Answer(
        device,
        "memory-v2",
        g => new NvmlMemoryV2 { Version = NvmlMemoryV2.CurrentVersion, Total = g.Memory.Total, Reserved = g.ReservedBytes, Used = g.Memory.Used - g.ReservedBytes, Free = g.Memory.Free },
        m => new NvmlMemoryV2 { Version = NvmlMemoryV2.CurrentVersion, Total = m.Memory.Total, Used = m.Memory.Used, Free = m.Memory.Free },
        out memory);

    public NvmlReturn GetPowerUsage(NvmlDevice device, out uint milliwatts) => Answer(device, "power", g => g.PowerMw, null, out milliwatts);

    public NvmlReturn GetClock(NvmlDevice device, NvmlClockType type, out uint mhz) =>
        Answer(device, "clock-" + type, g => type == NvmlClockType.Sm ? g.SmClockMhz : g.MemClockMhz, null, out mhz);

    public NvmlReturn GetTemperatureV(NvmlDevice device, out int celsius) => Answer(device, "temperature-v", g => (int)g.TempC, null, out celsius);

    public NvmlReturn GetTemperature(NvmlDevice device, out uint celsius) => Answer(device, "temperature", g => g.TempC, null, out celsius);

    public NvmlReturn GetTotalEnergy(NvmlDevice device, out ulong millijoules) => Answer(device, "energy", g => g.EnergyMj, null, out millijoules);

    public NvmlReturn GetComputeProcesses(NvmlDevice device, Span<NvmlProcessInfo> buffer, out int count)
    {
        var (gpu, mig) = Resolve(device);
        gpu.ComputeProcessCalls++;
        gpu.ProcessBufferLengths.Add(buffer.Length);
        count = 0;
        var failure = FailureOf(gpu, mig, "processes");
        if (failure != NvmlReturn.Success)
        {
            return failure;
        }

        if (gpu.ClaimedProcessCount is { } claimed)
        {
            count = claimed;
            return NvmlReturn.InsufficientSize;
        }

        var processes = mig?.Processes ?? gpu.Processes;
        count = processes.Count;
        if (buffer.Length < processes.Count)
        {
            return NvmlReturn.InsufficientSize;
        }

        processes.CopyTo(buffer);
        return NvmlReturn.Success;
    }

    public NvmlReturn GetProcessUtilization(NvmlDevice device, Span<NvmlProcessUtilizationSample> buffer, ulong lastSeenTimeStamp, out int count)
    {
        var (gpu, mig) = Resolve(device);
        count = 0;
        var failure = mig is not null ? NvmlReturn.NotSupported : FailureOf(gpu, null, "process-utilization");
        if (failure != NvmlReturn.Success)
        {
            return failure;
        }

        gpu.LastSeenArguments.Add(lastSeenTimeStamp);

        // R535 refuses buffers under 72 entries whatever the number of samples.
        if (buffer.Length < NvmlSampleSource.MinUtilizationSamples)
        {
            count = NvmlSampleSource.MinUtilizationSamples;
            return NvmlReturn.InsufficientSize;
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

    public NvmlReturn GpmQuerySupport(NvmlDevice device, out bool supported) => Answer(device, "gpm-support", g => g.GpmSupported, null, out supported);

    public NvmlReturn GpmSampleAlloc(out NvmlGpmSample sample)
    {
        sample = new NvmlGpmSample(_nextGpmSample++);
        _gpmSamples[sample.Handle] = null;
        return NvmlReturn.Success;
    }

    public NvmlReturn GpmSampleFree(NvmlGpmSample sample) =>
        _gpmSamples.Remove(sample.Handle) ? NvmlReturn.Success : NvmlReturn.InvalidArgument;

    public NvmlReturn GpmSampleGet(NvmlDevice device, NvmlGpmSample sample)
    {
        var (gpu, mig) = Resolve(device);
        var failure = FailureOf(gpu, mig, "gpm-sample");
        if (failure != NvmlReturn.Success)
        {
            return failure;
        }

        return TakeGpmSample(gpu, mig?.GpuInstanceId, sample);
    }

    public NvmlReturn GpmMigSampleGet(NvmlDevice parent, uint gpuInstanceId, NvmlGpmSample sample)
    {
        if (Missing.Contains("gpm-mig-sample"))
        {
            return NvmlReturn.FunctionNotFound;
        }

        var (gpu, _) = Resolve(parent);
        var failure = FailureOf(gpu, null, "gpm-mig-sample");
        if (failure != NvmlReturn.Success)
        {
            return failure;
        }

        return gpu.MigDevices.Exists(m => m?.GpuInstanceId == gpuInstanceId)
            ? TakeGpmSample(gpu, gpuInstanceId, sample)
            : NvmlReturn.NotFound;
    }

    public NvmlReturn GpmMetricsGet(GpmMetricsBuffer request)
    {
        GpmRequests.Add((request.Count, request.AllocatedBytes));
        var (s1, s2) = Samples(request);
        if (!_gpmSamples.TryGetValue(s1, out var first) || !_gpmSamples.TryGetValue(s2, out var second) || first is null || second is null || s1 == s2)
        {
            return NvmlReturn.InvalidArgument;
        }

        // NVML compares the two samples' devices (and GPU instances): a mixed pair is refused.
        if (first != second)
        {
            return NvmlReturn.InvalidArgument;
        }

        var (gpu, gpuInstance) = first.Value;
        var values = gpuInstance is { } gi ? gpu.MigDevices.First(m => m?.GpuInstanceId == gi)!.GpmValues : gpu.GpmValues;
        for (var i = 0; i < request.Count; i++)
        {
            ref var metric = ref request.Metric(i);
            metric.NvmlReturn = gpu.GpmMetricErrors.GetValueOrDefault(metric.MetricId, NvmlReturn.Success);
            metric.Value = values.GetValueOrDefault(metric.MetricId);
        }

        return NvmlReturn.Success;
    }

    public NvmlReturn GetMaxMigDeviceCount(NvmlDevice parent, out int count)
    {
        var (gpu, _) = Resolve(parent);
        count = gpu.MigEnabled ? 7 : 0;
        return Missing.Contains("mig") ? NvmlReturn.FunctionNotFound : NvmlReturn.Success;
    }

    public NvmlReturn GetMigDeviceHandle(NvmlDevice parent, int index, out NvmlDevice migDevice)
    {
        var (gpu, _) = Resolve(parent);
        migDevice = default;
        if (index >= gpu.MigDevices.Count || gpu.MigDevices[index] is null)
        {
            return NvmlReturn.NotFound;
        }

        migDevice = new NvmlDevice((1000 * parent.Handle) + index + 1);
        return NvmlReturn.Success;
    }

    public NvmlReturn GetGpuInstanceId(NvmlDevice migDevice, out uint id) => MigAnswer(migDevice, m => m.GpuInstanceId, out id);

    public NvmlReturn GetComputeInstanceId(NvmlDevice migDevice, out uint id) => MigAnswer(migDevice, m => m.ComputeInstanceId, out id);

    public void Dispose() => Disposed = true;

    private static unsafe (nint Sample1, nint Sample2) Samples(GpmMetricsBuffer request)
    {
        var head = (NvmlGpmMetricsGetHeader*)request.Address;
        return (head->Sample1, head->Sample2);
    }

    private static NvmlReturn FailureOf(FakeGpu gpu, FakeMigDevice? mig, string function) =>
        gpu.DeviceFailure != NvmlReturn.Success ? gpu.DeviceFailure
        : mig is not null ? mig.Failures.GetValueOrDefault(function, NvmlReturn.Success)
        : gpu.Failures.GetValueOrDefault(function, NvmlReturn.Success);

    private NvmlReturn TakeGpmSample(FakeGpu gpu, uint? gpuInstance, NvmlGpmSample sample)
    {
        if (!_gpmSamples.ContainsKey(sample.Handle))
        {
            return NvmlReturn.InvalidArgument;
        }

        gpu.GpmSampleGets++;
        _gpmSamples[sample.Handle] = (gpu, gpuInstance);
        return NvmlReturn.Success;
    }

    private (FakeGpu Gpu, FakeMigDevice? Mig) Resolve(NvmlDevice device)
    {
        if (device.Handle < 1000)
        {
            return (Gpus[(int)device.Handle - 1], null);
        }

        var gpu = Gpus[(int)(device.Handle / 1000) - 1];
        return (gpu, gpu.MigDevices[(int)(device.Handle % 1000) - 1]);
    }

    private NvmlReturn MigAnswer(NvmlDevice device, Func<FakeMigDevice, uint> value, out uint result)
    {
        var (_, mig) = Resolve(device);
        result = mig is null ? 0 : value(mig);
        return mig is null ? NvmlReturn.InvalidArgument : NvmlReturn.Success;
    }

    private NvmlReturn Answer<T>(NvmlDevice device, string function, Func<FakeGpu, T> value, Func<FakeMigDevice, T>? migValue, out T result)
    {
        result = default!;
        if (Missing.Contains(function))
        {
            return NvmlReturn.FunctionNotFound;
        }

        var (gpu, mig) = Resolve(device);
        var failure = FailureOf(gpu, mig, function);
        if (failure != NvmlReturn.Success)
        {
            return failure;
        }

        if (mig is not null && migValue is null)
        {
            return NvmlReturn.NotSupported;
        }

        result = mig is not null ? migValue!(mig) : value(gpu);
        return NvmlReturn.Success;
    }
}

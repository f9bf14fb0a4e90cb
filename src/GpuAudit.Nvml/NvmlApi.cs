using System.Runtime.InteropServices;
using System.Text;
using GpuAudit.Nvml.Interop;

namespace GpuAudit.Nvml;

/// <summary>
/// <see cref="INvmlApi"/> over the real libnvidia-ml. <see cref="Open"/> loads the library, checks
/// the required symbols, probes the optional ones and calls nvmlInit_v2; <see cref="Dispose"/>
/// calls nvmlShutdown once (init is reference-counted by NVML).
/// </summary>
public sealed unsafe class NvmlApi : INvmlApi
{
    // NVML_DEVICE_NAME_V2_BUFFER_SIZE / NVML_DEVICE_UUID_V2_BUFFER_SIZE / NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE.
    private const int NameBufferSize = 96;
    private const int UuidBufferSize = 96;
    private const int DriverVersionBufferSize = 80;

    private readonly NvmlOptionalExports _optional;
    private bool _disposed;

    internal NvmlApi(string libraryName, NvmlOptionalExports optional)
    {
        LibraryName = libraryName;
        _optional = optional;
    }

    /// <summary>The name or path that was loaded (default soname or the override).</summary>
    public string LibraryName { get; }

    /// <summary>Optional entry points this driver lacks; their calls answer FUNCTION_NOT_FOUND.</summary>
    public IReadOnlyList<string> MissingOptionalFunctions => _optional.Missing;

    /// <summary>
    /// Loads and initializes NVML. <paramref name="libraryPath"/> overrides the library (else
    /// <see cref="NvmlLibrary.OverrideVariable"/>, else <see cref="NvmlLibrary.DefaultName"/>).
    /// Throws <see cref="NvmlException"/> (LIBRARY_NOT_FOUND, FUNCTION_NOT_FOUND or nvmlInit_v2's code).
    /// </summary>
    public static NvmlApi Open(string? libraryPath = null) => Load(libraryPath).Initialize();

    /// <summary>
    /// The first half of <see cref="Open"/>: loads the library and checks its exports, without
    /// nvmlInit_v2, so <c>doctor</c> can say what loaded before saying why init failed.
    /// </summary>
    public static LoadedNvmlLibrary Load(string? libraryPath = null)
    {
        var name = NvmlLibrary.ResolveName(libraryPath);
        var library = NvmlLibrary.Load(name);
        foreach (var symbol in NvmlNative.RequiredExports)
        {
            if (!NativeLibrary.TryGetExport(library, symbol, out _))
            {
                throw new NvmlException(NvmlReturn.FunctionNotFound, "loading " + name, "the driver does not export " + symbol);
            }
        }

        return new LoadedNvmlLibrary(name, new NvmlOptionalExports(library));
    }

    public NvmlReturn GetDriverVersion(out string version)
    {
        var buffer = stackalloc byte[DriverVersionBufferSize];
        var code = NvmlNative.SystemGetDriverVersion(buffer, DriverVersionBufferSize);
        version = code == NvmlReturn.Success ? ReadCString(buffer, DriverVersionBufferSize) : string.Empty;
        return code;
    }

    public NvmlReturn GetDeviceCount(out int count)
    {
        uint value = 0;
        var code = NvmlNative.DeviceGetCount(&value);
        count = Count(value);
        return code;
    }

    public NvmlReturn GetDeviceHandle(int index, out NvmlDevice device)
    {
        nint handle = 0;
        var code = NvmlNative.DeviceGetHandleByIndex((uint)index, &handle);
        device = new NvmlDevice(handle);
        return code;
    }

    public NvmlReturn GetName(NvmlDevice device, out string name)
    {
        var buffer = stackalloc byte[NameBufferSize];
        var code = NvmlNative.DeviceGetName(device.Handle, buffer, NameBufferSize);
        name = code == NvmlReturn.Success ? ReadCString(buffer, NameBufferSize) : string.Empty;
        return code;
    }

    public NvmlReturn GetUuid(NvmlDevice device, out string uuid)
    {
        var buffer = stackalloc byte[UuidBufferSize];
        var code = NvmlNative.DeviceGetUuid(device.Handle, buffer, UuidBufferSize);
        uuid = code == NvmlReturn.Success ? ReadCString(buffer, UuidBufferSize) : string.Empty;
        return code;
    }

    public NvmlReturn GetPciBusId(NvmlDevice device, out string busId)
    {
        NvmlPciInfo pci = default;
        var code = NvmlNative.DeviceGetPciInfo(device.Handle, &pci);
        busId = code == NvmlReturn.Success ? ReadCString((byte*)&pci.BusId, 32) : string.Empty;
        return code;
    }

    public NvmlReturn GetMigMode(NvmlDevice device, out bool enabled)
    {
        uint current = 0;
        uint pending = 0;
        var code = _optional.DeviceGetMigMode(device.Handle, &current, &pending);
        enabled = current == 1;
        return code;
    }

    public NvmlReturn GetUtilization(NvmlDevice device, out NvmlUtilization utilization)
    {
        NvmlUtilization value = default;
        var code = NvmlNative.DeviceGetUtilizationRates(device.Handle, &value);
        utilization = value;
        return code;
    }

    public NvmlReturn GetMemory(NvmlDevice device, out NvmlMemory memory)
    {
        NvmlMemory value = default;
        var code = NvmlNative.DeviceGetMemoryInfo(device.Handle, &value);
        memory = value;
        return code;
    }

    public NvmlReturn GetMemoryV2(NvmlDevice device, out NvmlMemoryV2 memory)
    {
        var value = new NvmlMemoryV2 { Version = NvmlMemoryV2.CurrentVersion };
        var code = _optional.DeviceGetMemoryInfoV2(device.Handle, &value);
        memory = value;
        return code;
    }

    public NvmlReturn GetPowerUsage(NvmlDevice device, out uint milliwatts)
    {
        uint value = 0;
        var code = NvmlNative.DeviceGetPowerUsage(device.Handle, &value);
        milliwatts = value;
        return code;
    }

    public NvmlReturn GetClock(NvmlDevice device, NvmlClockType type, out uint mhz)
    {
        uint value = 0;
        var code = NvmlNative.DeviceGetClockInfo(device.Handle, type, &value);
        mhz = value;
        return code;
    }

    public NvmlReturn GetTemperatureV(NvmlDevice device, out int celsius)
    {
        var value = new NvmlTemperature { Version = NvmlTemperature.CurrentVersion, SensorType = 0 };
        var code = _optional.DeviceGetTemperatureV(device.Handle, &value);
        celsius = value.Temperature;
        return code;
    }

    public NvmlReturn GetTemperature(NvmlDevice device, out uint celsius)
    {
        uint value = 0;
        var code = _optional.DeviceGetTemperature(device.Handle, 0, &value);
        celsius = value;
        return code;
    }

    public NvmlReturn GetTotalEnergy(NvmlDevice device, out ulong millijoules)
    {
        ulong value = 0;
        var code = _optional.DeviceGetTotalEnergyConsumption(device.Handle, &value);
        millijoules = value;
        return code;
    }

    public NvmlReturn GetComputeProcesses(NvmlDevice device, Span<NvmlProcessInfo> buffer, out int count)
    {
        var value = (uint)buffer.Length;
        NvmlReturn code;
        fixed (NvmlProcessInfo* infos = buffer)
        {
            code = NvmlNative.DeviceGetComputeRunningProcesses(device.Handle, &value, infos);
        }

        count = Count(value);
        return code;
    }

    public NvmlReturn GetProcessUtilization(NvmlDevice device, Span<NvmlProcessUtilizationSample> buffer, ulong lastSeenTimeStamp, out int count)
    {
        var value = (uint)buffer.Length;
        NvmlReturn code;
        fixed (NvmlProcessUtilizationSample* samples = buffer)
        {
            code = _optional.DeviceGetProcessUtilization(device.Handle, samples, &value, lastSeenTimeStamp);
        }

        count = Count(value);
        return code;
    }

    public NvmlReturn GpmQuerySupport(NvmlDevice device, out bool supported)
    {
        var support = new NvmlGpmSupport { Version = NvmlGpmSupport.CurrentVersion };
        var code = _optional.GpmQueryDeviceSupport(device.Handle, &support);
        supported = code == NvmlReturn.Success && support.IsSupportedDevice != 0;
        return code;
    }

    public NvmlReturn GpmSampleAlloc(out NvmlGpmSample sample)
    {
        nint handle = 0;
        var code = _optional.GpmSampleAlloc(&handle);
        sample = new NvmlGpmSample(handle);
        return code;
    }

    public NvmlReturn GpmSampleFree(NvmlGpmSample sample) => _optional.GpmSampleFree(sample.Handle);

    public NvmlReturn GpmSampleGet(NvmlDevice device, NvmlGpmSample sample) => _optional.GpmSampleGet(device.Handle, sample.Handle);

    public NvmlReturn GpmMigSampleGet(NvmlDevice parent, uint gpuInstanceId, NvmlGpmSample sample) =>
        _optional.GpmMigSampleGet(parent.Handle, gpuInstanceId, sample.Handle);

    public NvmlReturn GpmMetricsGet(GpmMetricsBuffer request) => _optional.GpmMetricsGet(request.Address);

    public NvmlReturn GetMaxMigDeviceCount(NvmlDevice parent, out int count)
    {
        uint value = 0;
        var code = _optional.DeviceGetMaxMigDeviceCount(parent.Handle, &value);
        count = Count(value);
        return code;
    }

    public NvmlReturn GetMigDeviceHandle(NvmlDevice parent, int index, out NvmlDevice migDevice)
    {
        nint handle = 0;
        var code = _optional.DeviceGetMigDeviceHandleByIndex(parent.Handle, (uint)index, &handle);
        migDevice = new NvmlDevice(handle);
        return code;
    }

    public NvmlReturn GetGpuInstanceId(NvmlDevice migDevice, out uint id)
    {
        uint value = 0;
        var code = _optional.DeviceGetGpuInstanceId(migDevice.Handle, &value);
        id = value;
        return code;
    }

    public NvmlReturn GetComputeInstanceId(NvmlDevice migDevice, out uint id)
    {
        uint value = 0;
        var code = _optional.DeviceGetComputeInstanceId(migDevice.Handle, &value);
        id = value;
        return code;
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            NvmlNative.Shutdown();
        }
    }

    /// <summary>A count NVML wrote, as an int: a value above int.MaxValue (garbage, or hostile) saturates instead of going negative.</summary>
    private static int Count(uint value) => value > int.MaxValue ? int.MaxValue : (int)value;

    private static string ReadCString(byte* buffer, int capacity)
    {
        var span = new ReadOnlySpan<byte>(buffer, capacity);
        var end = span.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end >= 0 ? span[..end] : span);
    }
}

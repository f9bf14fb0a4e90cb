using System.Runtime.InteropServices;

namespace GpuAudit.Nvml.Interop;

/// <summary>
/// Entry points that some supported drivers lack: newer than the R510 baseline (GPM: R520+ on
/// Hopper; <c>nvmlDeviceGetTemperatureV</c>: 13.x, absent from R535), platform-dependent, or
/// deprecated and due to go (<c>nvmlDeviceGetTemperature</c>, deprecated in the 13.x headers).
/// Looked up with <see cref="NativeLibrary.TryGetExport"/> once at load; a missing one stays null
/// and its wrapper answers <see cref="NvmlReturn.FunctionNotFound"/>, which callers treat like
/// NOT_SUPPORTED instead of crashing with EntryPointNotFoundException.
/// </summary>
internal sealed unsafe class NvmlOptionalExports
{
    internal static readonly string[] Names =
    [
        "nvmlDeviceGetProcessUtilization", "nvmlDeviceGetTotalEnergyConsumption", "nvmlDeviceGetMigMode",
        "nvmlGpmQueryDeviceSupport", "nvmlGpmSampleAlloc", "nvmlGpmSampleFree", "nvmlGpmSampleGet", "nvmlGpmMetricsGet",
        "nvmlDeviceGetMemoryInfo_v2", "nvmlDeviceGetTemperatureV", "nvmlDeviceGetTemperature",
        "nvmlDeviceGetMaxMigDeviceCount", "nvmlDeviceGetMigDeviceHandleByIndex", "nvmlDeviceGetGpuInstanceId",
        "nvmlDeviceGetComputeInstanceId", "nvmlGpmMigSampleGet",
    ];

    private readonly delegate* unmanaged<nint, NvmlProcessUtilizationSample*, uint*, ulong, NvmlReturn> _processUtilization;
    private readonly delegate* unmanaged<nint, ulong*, NvmlReturn> _totalEnergy;
    private readonly delegate* unmanaged<nint, uint*, uint*, NvmlReturn> _migMode;
    private readonly delegate* unmanaged<nint, NvmlGpmSupport*, NvmlReturn> _gpmQuerySupport;
    private readonly delegate* unmanaged<nint*, NvmlReturn> _gpmSampleAlloc;
    private readonly delegate* unmanaged<nint, NvmlReturn> _gpmSampleFree;
    private readonly delegate* unmanaged<nint, nint, NvmlReturn> _gpmSampleGet;
    private readonly delegate* unmanaged<nint, NvmlReturn> _gpmMetricsGet;
    private readonly delegate* unmanaged<nint, NvmlMemoryV2*, NvmlReturn> _memoryInfoV2;
    private readonly delegate* unmanaged<nint, NvmlTemperature*, NvmlReturn> _temperatureV;
    private readonly delegate* unmanaged<nint, uint, uint*, NvmlReturn> _temperature;
    private readonly delegate* unmanaged<nint, uint*, NvmlReturn> _maxMigDeviceCount;
    private readonly delegate* unmanaged<nint, uint, nint*, NvmlReturn> _migDeviceHandleByIndex;
    private readonly delegate* unmanaged<nint, uint*, NvmlReturn> _gpuInstanceId;
    private readonly delegate* unmanaged<nint, uint*, NvmlReturn> _computeInstanceId;
    private readonly delegate* unmanaged<nint, uint, nint, NvmlReturn> _gpmMigSampleGet;

    public NvmlOptionalExports(nint library)
    {
        var missing = new List<string>();
        var i = 0;
        nint Next()
        {
            var name = Names[i++];
            if (NativeLibrary.TryGetExport(library, name, out var address))
            {
                return address;
            }

            missing.Add(name);
            return 0;
        }

        // Same order as Names.
        _processUtilization = (delegate* unmanaged<nint, NvmlProcessUtilizationSample*, uint*, ulong, NvmlReturn>)Next();
        _totalEnergy = (delegate* unmanaged<nint, ulong*, NvmlReturn>)Next();
        _migMode = (delegate* unmanaged<nint, uint*, uint*, NvmlReturn>)Next();
        _gpmQuerySupport = (delegate* unmanaged<nint, NvmlGpmSupport*, NvmlReturn>)Next();
        _gpmSampleAlloc = (delegate* unmanaged<nint*, NvmlReturn>)Next();
        _gpmSampleFree = (delegate* unmanaged<nint, NvmlReturn>)Next();
        _gpmSampleGet = (delegate* unmanaged<nint, nint, NvmlReturn>)Next();
        _gpmMetricsGet = (delegate* unmanaged<nint, NvmlReturn>)Next();
        _memoryInfoV2 = (delegate* unmanaged<nint, NvmlMemoryV2*, NvmlReturn>)Next();
        _temperatureV = (delegate* unmanaged<nint, NvmlTemperature*, NvmlReturn>)Next();
        _temperature = (delegate* unmanaged<nint, uint, uint*, NvmlReturn>)Next();
        _maxMigDeviceCount = (delegate* unmanaged<nint, uint*, NvmlReturn>)Next();
        _migDeviceHandleByIndex = (delegate* unmanaged<nint, uint, nint*, NvmlReturn>)Next();
        _gpuInstanceId = (delegate* unmanaged<nint, uint*, NvmlReturn>)Next();
        _computeInstanceId = (delegate* unmanaged<nint, uint*, NvmlReturn>)Next();
        _gpmMigSampleGet = (delegate* unmanaged<nint, uint, nint, NvmlReturn>)Next();
        Missing = missing;
    }

    /// <summary>Optional symbols this driver does not export.</summary>
    public IReadOnlyList<string> Missing { get; }

    public NvmlReturn DeviceGetProcessUtilization(nint device, NvmlProcessUtilizationSample* samples, uint* count, ulong lastSeenTimeStamp) =>
        _processUtilization is null ? NvmlReturn.FunctionNotFound : _processUtilization(device, samples, count, lastSeenTimeStamp);

    public NvmlReturn DeviceGetTotalEnergyConsumption(nint device, ulong* millijoules) =>
        _totalEnergy is null ? NvmlReturn.FunctionNotFound : _totalEnergy(device, millijoules);

    public NvmlReturn DeviceGetMigMode(nint device, uint* current, uint* pending) =>
        _migMode is null ? NvmlReturn.FunctionNotFound : _migMode(device, current, pending);

    public NvmlReturn GpmQueryDeviceSupport(nint device, NvmlGpmSupport* support) =>
        _gpmQuerySupport is null ? NvmlReturn.FunctionNotFound : _gpmQuerySupport(device, support);

    public NvmlReturn GpmSampleAlloc(nint* sample) =>
        _gpmSampleAlloc is null ? NvmlReturn.FunctionNotFound : _gpmSampleAlloc(sample);

    public NvmlReturn GpmSampleFree(nint sample) =>
        _gpmSampleFree is null ? NvmlReturn.FunctionNotFound : _gpmSampleFree(sample);

    public NvmlReturn GpmSampleGet(nint device, nint sample) =>
        _gpmSampleGet is null ? NvmlReturn.FunctionNotFound : _gpmSampleGet(device, sample);

    public NvmlReturn GpmMetricsGet(nint metricsGet) =>
        _gpmMetricsGet is null ? NvmlReturn.FunctionNotFound : _gpmMetricsGet(metricsGet);

    public NvmlReturn DeviceGetMemoryInfoV2(nint device, NvmlMemoryV2* memory) =>
        _memoryInfoV2 is null ? NvmlReturn.FunctionNotFound : _memoryInfoV2(device, memory);

    public NvmlReturn DeviceGetTemperatureV(nint device, NvmlTemperature* temperature) =>
        _temperatureV is null ? NvmlReturn.FunctionNotFound : _temperatureV(device, temperature);

    public NvmlReturn DeviceGetTemperature(nint device, uint sensor, uint* celsius) =>
        _temperature is null ? NvmlReturn.FunctionNotFound : _temperature(device, sensor, celsius);

    public NvmlReturn DeviceGetMaxMigDeviceCount(nint device, uint* count) =>
        _maxMigDeviceCount is null ? NvmlReturn.FunctionNotFound : _maxMigDeviceCount(device, count);

    public NvmlReturn DeviceGetMigDeviceHandleByIndex(nint device, uint index, nint* migDevice) =>
        _migDeviceHandleByIndex is null ? NvmlReturn.FunctionNotFound : _migDeviceHandleByIndex(device, index, migDevice);

    public NvmlReturn DeviceGetGpuInstanceId(nint migDevice, uint* id) =>
        _gpuInstanceId is null ? NvmlReturn.FunctionNotFound : _gpuInstanceId(migDevice, id);

    public NvmlReturn DeviceGetComputeInstanceId(nint migDevice, uint* id) =>
        _computeInstanceId is null ? NvmlReturn.FunctionNotFound : _computeInstanceId(migDevice, id);

    public NvmlReturn GpmMigSampleGet(nint device, uint gpuInstanceId, nint sample) =>
        _gpmMigSampleGet is null ? NvmlReturn.FunctionNotFound : _gpmMigSampleGet(device, gpuInstanceId, sample);
}

using System.Runtime.InteropServices;

namespace GpuAudit.Nvml.Interop;

/// <summary>
/// Entry points newer than the supported baseline (GPM: R520+ on Hopper; the others vary by
/// platform and build). Looked up with <see cref="NativeLibrary.TryGetExport"/> once at load; a
/// missing one stays null and its wrapper answers <see cref="NvmlReturn.FunctionNotFound"/>, which
/// callers treat like NOT_SUPPORTED instead of crashing with EntryPointNotFoundException.
/// </summary>
internal sealed unsafe class NvmlOptionalExports
{
    internal static readonly string[] Names =
    [
        "nvmlDeviceGetProcessUtilization", "nvmlDeviceGetTotalEnergyConsumption", "nvmlDeviceGetMigMode",
        "nvmlGpmQueryDeviceSupport", "nvmlGpmSampleAlloc", "nvmlGpmSampleFree", "nvmlGpmSampleGet", "nvmlGpmMetricsGet",
    ];

    private readonly delegate* unmanaged<nint, NvmlProcessUtilizationSample*, uint*, ulong, NvmlReturn> _processUtilization;
    private readonly delegate* unmanaged<nint, ulong*, NvmlReturn> _totalEnergy;
    private readonly delegate* unmanaged<nint, uint*, uint*, NvmlReturn> _migMode;
    private readonly delegate* unmanaged<nint, NvmlGpmSupport*, NvmlReturn> _gpmQuerySupport;
    private readonly delegate* unmanaged<nint*, NvmlReturn> _gpmSampleAlloc;
    private readonly delegate* unmanaged<nint, NvmlReturn> _gpmSampleFree;
    private readonly delegate* unmanaged<nint, nint, NvmlReturn> _gpmSampleGet;
    private readonly delegate* unmanaged<nint, NvmlReturn> _gpmMetricsGet;

    public NvmlOptionalExports(nint library)
    {
        var missing = new List<string>();
        nint Find(string name)
        {
            if (NativeLibrary.TryGetExport(library, name, out var address))
            {
                return address;
            }

            missing.Add(name);
            return 0;
        }

        _processUtilization = (delegate* unmanaged<nint, NvmlProcessUtilizationSample*, uint*, ulong, NvmlReturn>)Find(Names[0]);
        _totalEnergy = (delegate* unmanaged<nint, ulong*, NvmlReturn>)Find(Names[1]);
        _migMode = (delegate* unmanaged<nint, uint*, uint*, NvmlReturn>)Find(Names[2]);
        _gpmQuerySupport = (delegate* unmanaged<nint, NvmlGpmSupport*, NvmlReturn>)Find(Names[3]);
        _gpmSampleAlloc = (delegate* unmanaged<nint*, NvmlReturn>)Find(Names[4]);
        _gpmSampleFree = (delegate* unmanaged<nint, NvmlReturn>)Find(Names[5]);
        _gpmSampleGet = (delegate* unmanaged<nint, nint, NvmlReturn>)Find(Names[6]);
        _gpmMetricsGet = (delegate* unmanaged<nint, NvmlReturn>)Find(Names[7]);
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
}

using System.Runtime.InteropServices;

namespace GpuAudit.Nvml.Interop;

/// <summary>
/// The entry points every supported driver (R510+) exports. Bound with LibraryImport against
/// <see cref="NvmlLibrary.DefaultName"/>; <see cref="NvmlLibrary"/> installs the resolver that
/// maps that name to the library it loaded (default or override). Versioned symbols are bound by
/// name because the unversioned ones are ABI-older structs or semantics.
/// </summary>
internal static unsafe partial class NvmlNative
{
    /// <summary>Every symbol this class binds: probed at load so a too-old driver fails clearly, once.</summary>
    internal static readonly string[] RequiredExports =
    [
        "nvmlInit_v2", "nvmlShutdown", "nvmlSystemGetDriverVersion", "nvmlDeviceGetCount_v2",
        "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetName", "nvmlDeviceGetUUID", "nvmlDeviceGetPciInfo_v3",
        "nvmlDeviceGetUtilizationRates", "nvmlDeviceGetMemoryInfo", "nvmlDeviceGetPowerUsage",
        "nvmlDeviceGetClockInfo", "nvmlDeviceGetComputeRunningProcesses_v3",
    ];

    [LibraryImport(NvmlLibrary.DefaultName, EntryPoint = "nvmlInit_v2")]
    internal static partial NvmlReturn Init();

    [LibraryImport(NvmlLibrary.DefaultName, EntryPoint = "nvmlShutdown")]
    internal static partial NvmlReturn Shutdown();

    [LibraryImport(NvmlLibrary.DefaultName, EntryPoint = "nvmlSystemGetDriverVersion")]
    internal static partial NvmlReturn SystemGetDriverVersion(byte* version, uint length);

    [LibraryImport(NvmlLibrary.DefaultName, EntryPoint = "nvmlDeviceGetCount_v2")]
    internal static partial NvmlReturn DeviceGetCount(uint* count);

    [LibraryImport(NvmlLibrary.DefaultName, EntryPoint = "nvmlDeviceGetHandleByIndex_v2")]
    internal static partial NvmlReturn DeviceGetHandleByIndex(uint index, nint* device);

    [LibraryImport(NvmlLibrary.DefaultName, EntryPoint = "nvmlDeviceGetName")]
    internal static partial NvmlReturn DeviceGetName(nint device, byte* name, uint length);

    [LibraryImport(NvmlLibrary.DefaultName, EntryPoint = "nvmlDeviceGetUUID")]
    internal static partial NvmlReturn DeviceGetUuid(nint device, byte* uuid, uint length);

    [LibraryImport(NvmlLibrary.DefaultName, EntryPoint = "nvmlDeviceGetPciInfo_v3")]
    internal static partial NvmlReturn DeviceGetPciInfo(nint device, NvmlPciInfo* pci);

    [LibraryImport(NvmlLibrary.DefaultName, EntryPoint = "nvmlDeviceGetUtilizationRates")]
    internal static partial NvmlReturn DeviceGetUtilizationRates(nint device, NvmlUtilization* utilization);

    [LibraryImport(NvmlLibrary.DefaultName, EntryPoint = "nvmlDeviceGetMemoryInfo")]
    internal static partial NvmlReturn DeviceGetMemoryInfo(nint device, NvmlMemory* memory);

    [LibraryImport(NvmlLibrary.DefaultName, EntryPoint = "nvmlDeviceGetPowerUsage")]
    internal static partial NvmlReturn DeviceGetPowerUsage(nint device, uint* milliwatts);

    [LibraryImport(NvmlLibrary.DefaultName, EntryPoint = "nvmlDeviceGetClockInfo")]
    internal static partial NvmlReturn DeviceGetClockInfo(nint device, NvmlClockType type, uint* mhz);

    [LibraryImport(NvmlLibrary.DefaultName, EntryPoint = "nvmlDeviceGetComputeRunningProcesses_v3")]
    internal static partial NvmlReturn DeviceGetComputeRunningProcesses(nint device, uint* count, NvmlProcessInfo* infos);
}

/// <summary>nvmlClockType_t.</summary>
public enum NvmlClockType : uint
{
    Graphics = 0,
    Sm = 1,
    Memory = 2,
    Video = 3,
}

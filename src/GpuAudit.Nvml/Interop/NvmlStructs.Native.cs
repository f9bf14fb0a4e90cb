using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

// Structs passed to libnvidia-ml by pointer. Blittable and sequential so NativeAOT passes them
// without marshalling; sizes and offsets are pinned by tests against nvml.h (LP64).
#pragma warning disable CA1051 // Interop structs mirror C structs field for field.
#pragma warning disable CA1815 // Equality on interop structs is never used.

namespace GpuAudit.Nvml.Interop;

/// <summary>nvmlUtilization_t (percent over the driver's last sample period).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct NvmlUtilization
{
    public uint Gpu;
    public uint Memory;
}

/// <summary>nvmlMemory_t (bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct NvmlMemory
{
    public ulong Total;
    public ulong Free;
    public ulong Used;
}

/// <summary>
/// nvmlMemory_v2_t (bytes), filled by nvmlDeviceGetMemoryInfo_v2: <see cref="Used"/> excludes the
/// memory the driver and firmware reserve (v1's used counts it: about 480 MiB on an idle H100).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct NvmlMemoryV2
{
    /// <summary>nvmlMemory_v2: NVML_STRUCT_VERSION(Memory, 2) = sizeof | 2 &lt;&lt; 24.</summary>
    public const uint CurrentVersion = 40u | (2u << 24);

    public uint Version;
    public ulong Total;
    public ulong Reserved;
    public ulong Free;
    public ulong Used;
}

/// <summary>nvmlTemperature_v1_t, for nvmlDeviceGetTemperatureV (the 13.x replacement of nvmlDeviceGetTemperature).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct NvmlTemperature
{
    /// <summary>nvmlTemperature_v1: NVML_STRUCT_VERSION(Temperature, 1) = sizeof | 1 &lt;&lt; 24.</summary>
    public const uint CurrentVersion = 12u | (1u << 24);

    public uint Version;

    /// <summary>nvmlTemperatureSensors_t; 0 = NVML_TEMPERATURE_GPU.</summary>
    public uint SensorType;

    /// <summary>Celsius (signed in the header).</summary>
    public int Temperature;
}

/// <summary>nvmlProcessInfo_t as filled by the <c>_v3</c> process-list calls.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct NvmlProcessInfo
{
    /// <summary>usedGpuMemory when the driver cannot tell (e.g. Windows WDDM, some containers).</summary>
    public const ulong MemoryNotAvailable = ulong.MaxValue;

    public uint Pid;
    public ulong UsedGpuMemory;
    public uint GpuInstanceId;
    public uint ComputeInstanceId;
}

/// <summary>nvmlProcessUtilizationSample_t.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct NvmlProcessUtilizationSample
{
    public uint Pid;

    /// <summary>CPU timestamp in microseconds.</summary>
    public ulong TimeStamp;
    public uint SmUtil;
    public uint MemUtil;
    public uint EncUtil;
    public uint DecUtil;
}

/// <summary>nvmlPciInfo_t as filled by nvmlDeviceGetPciInfo_v3.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct NvmlPciInfo
{
    public PciBusIdLegacyBuffer BusIdLegacy;
    public uint Domain;
    public uint Bus;
    public uint Device;
    public uint PciDeviceId;
    public uint PciSubSystemId;
    public PciBusIdBuffer BusId;
}

/// <summary>char busIdLegacy[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE].</summary>
[InlineArray(16)]
public struct PciBusIdLegacyBuffer
{
    private byte _first;
}

/// <summary>char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE].</summary>
[InlineArray(32)]
public struct PciBusIdBuffer
{
    private byte _first;
}

/// <summary>nvmlGpmSupport_t.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct NvmlGpmSupport
{
    public const uint CurrentVersion = 1;

    public uint Version;
    public uint IsSupportedDevice;
}

/// <summary>nvmlGpmMetric_t: one entry of the metrics array of <see cref="NvmlGpmMetricsGetHeader"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct NvmlGpmMetric
{
    public uint MetricId;
    public NvmlReturn NvmlReturn;
    public double Value;
    public nint ShortName;
    public nint LongName;
    public nint Unit;
}

/// <summary>
/// The fixed head of nvmlGpmMetricsGet_t; the metrics array follows at offset 24. The header's
/// declared array length changed across releases under the same struct version, so the buffer is
/// sized by us (<see cref="GpmMetricsBuffer"/>), never by a C# declaration of the whole struct.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct NvmlGpmMetricsGetHeader
{
    public const uint CurrentVersion = 1;

    public uint Version;
    public uint NumMetrics;
    public nint Sample1;
    public nint Sample2;
}

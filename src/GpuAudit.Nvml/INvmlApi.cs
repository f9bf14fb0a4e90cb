using GpuAudit.Nvml.Interop;

namespace GpuAudit.Nvml;

/// <summary>An NVML device handle (nvmlDevice_t), opaque.</summary>
public readonly record struct NvmlDevice(nint Handle);

/// <summary>A GPM sample buffer (nvmlGpmSample_t), opaque; freed with <see cref="INvmlApi.GpmSampleFree"/>.</summary>
public readonly record struct NvmlGpmSample(nint Handle);

/// <summary>
/// The NVML calls the sampler needs, in managed types, one method per entry point. Every method
/// returns NVML's own code so callers decide what is fatal; <c>out</c> values are only meaningful on
/// <see cref="NvmlReturn.Success"/>. <see cref="NvmlApi"/> is the real library; tests script a fake.
/// </summary>
public interface INvmlApi : IDisposable
{
    NvmlReturn GetDriverVersion(out string version);

    NvmlReturn GetDeviceCount(out int count);

    NvmlReturn GetDeviceHandle(int index, out NvmlDevice device);

    NvmlReturn GetName(NvmlDevice device, out string name);

    NvmlReturn GetUuid(NvmlDevice device, out string uuid);

    /// <summary>nvmlDeviceGetPciInfo_v3's busId, e.g. "00000000:3B:00.0".</summary>
    NvmlReturn GetPciBusId(NvmlDevice device, out string busId);

    /// <summary>Current MIG mode (optional entry point).</summary>
    NvmlReturn GetMigMode(NvmlDevice device, out bool enabled);

    NvmlReturn GetUtilization(NvmlDevice device, out NvmlUtilization utilization);

    /// <summary>nvmlDeviceGetMemoryInfo (v1: used includes reserved memory).</summary>
    NvmlReturn GetMemory(NvmlDevice device, out NvmlMemory memory);

    /// <summary>nvmlDeviceGetMemoryInfo_v2 (optional): reserved memory reported apart from used.</summary>
    NvmlReturn GetMemoryV2(NvmlDevice device, out NvmlMemoryV2 memory);

    NvmlReturn GetPowerUsage(NvmlDevice device, out uint milliwatts);

    NvmlReturn GetClock(NvmlDevice device, NvmlClockType type, out uint mhz);

    /// <summary>nvmlDeviceGetTemperatureV (optional, 13.x): GPU core temperature (sensor 0), Celsius.</summary>
    NvmlReturn GetTemperatureV(NvmlDevice device, out int celsius);

    /// <summary>nvmlDeviceGetTemperature (optional: deprecated in the 13.x headers), sensor 0, Celsius.</summary>
    NvmlReturn GetTemperature(NvmlDevice device, out uint celsius);

    /// <summary>Energy since driver load, millijoules (optional entry point).</summary>
    NvmlReturn GetTotalEnergy(NvmlDevice device, out ulong millijoules);

    /// <summary>
    /// nvmlDeviceGetComputeRunningProcesses_v3 into <paramref name="buffer"/>. On
    /// <see cref="NvmlReturn.InsufficientSize"/>, <paramref name="count"/> is the number needed
    /// (as NVML says it: callers validate it, counts above int.MaxValue read as int.MaxValue).
    /// </summary>
    NvmlReturn GetComputeProcesses(NvmlDevice device, Span<NvmlProcessInfo> buffer, out int count);

    /// <summary>
    /// nvmlDeviceGetProcessUtilization (optional): samples newer than <paramref name="lastSeenTimeStamp"/>
    /// (µs). <see cref="NvmlReturn.NotFound"/> means no new samples; <see cref="NvmlReturn.InsufficientSize"/>
    /// sets <paramref name="count"/> to the number needed.
    /// </summary>
    NvmlReturn GetProcessUtilization(NvmlDevice device, Span<NvmlProcessUtilizationSample> buffer, ulong lastSeenTimeStamp, out int count);

    NvmlReturn GpmQuerySupport(NvmlDevice device, out bool supported);

    NvmlReturn GpmSampleAlloc(out NvmlGpmSample sample);

    NvmlReturn GpmSampleFree(NvmlGpmSample sample);

    NvmlReturn GpmSampleGet(NvmlDevice device, NvmlGpmSample sample);

    /// <summary>nvmlGpmMigSampleGet (optional): a GPM sample of one MIG GPU instance of <paramref name="parent"/>.</summary>
    NvmlReturn GpmMigSampleGet(NvmlDevice parent, uint gpuInstanceId, NvmlGpmSample sample);

    /// <summary>nvmlDeviceGetMaxMigDeviceCount (optional): MIG device slots under a GPU; 0 when MIG is off.</summary>
    NvmlReturn GetMaxMigDeviceCount(NvmlDevice parent, out int count);

    /// <summary>nvmlDeviceGetMigDeviceHandleByIndex (optional): <see cref="NvmlReturn.NotFound"/> for an empty slot.</summary>
    NvmlReturn GetMigDeviceHandle(NvmlDevice parent, int index, out NvmlDevice migDevice);

    /// <summary>nvmlDeviceGetGpuInstanceId (optional) of a MIG device handle.</summary>
    NvmlReturn GetGpuInstanceId(NvmlDevice migDevice, out uint id);

    /// <summary>nvmlDeviceGetComputeInstanceId (optional) of a MIG device handle.</summary>
    NvmlReturn GetComputeInstanceId(NvmlDevice migDevice, out uint id);

    /// <summary>nvmlGpmMetricsGet over a request already <see cref="GpmMetricsBuffer.Prepare">prepared</see>.</summary>
    NvmlReturn GpmMetricsGet(GpmMetricsBuffer request);
}

using GpuAudit.Core.Samples;

namespace GpuAudit.Kubernetes;

/// <summary>
/// The device ids NVIDIA's device plugin hands out and how they name a GPU: a GPU or MIG UUID
/// (the default <c>DEVICE_ID_STRATEGY=uuid</c>), an index (<c>index</c> strategy), and, for shared
/// GPUs (time-slicing replicas), the GPU's id with a <c>::N</c> replica suffix.
/// </summary>
public static class GpuDeviceIds
{
    /// <summary><c>nvidia.com/gpu</c>, <c>nvidia.com/gpu.shared</c>, <c>nvidia.com/mig-1g.10gb</c>, …</summary>
    public static bool IsGpuResource(string resourceName) =>
        resourceName.StartsWith("nvidia.com/gpu", StringComparison.Ordinal) || resourceName.StartsWith("nvidia.com/mig-", StringComparison.Ordinal);

    /// <summary>The id without a time-slicing replica suffix.</summary>
    public static string Device(string id)
    {
        var replica = id.IndexOf("::", StringComparison.Ordinal);
        return replica < 0 ? id : id[..replica];
    }

    /// <summary>The keys a GPU is found under: its UUID and its index.</summary>
    public static bool Names(string deviceId, GpuDevice gpu) =>
        deviceId == gpu.Uuid || (gpu.Mig is null && int.TryParse(deviceId, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index) && index == gpu.Index);
}

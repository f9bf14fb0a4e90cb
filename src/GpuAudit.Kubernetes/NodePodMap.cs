using GpuAudit.Core.Samples;

namespace GpuAudit.Kubernetes;

/// <summary>
/// One immutable picture of the node's pods: which pod holds which GPU (pod-resources) and which
/// pod a cgroup's UID names (the API server or the kubelet's log directory). A GPU that several pods
/// share (time-slicing replicas) names no single pod: its processes are attributed by their own
/// cgroups instead.
/// </summary>
public sealed class NodePodMap
{
    private readonly Dictionary<string, PodIdentity?> _byDevice;
    private readonly Dictionary<string, PodIdentity> _byUid;

    private NodePodMap(Dictionary<string, PodIdentity?> byDevice, Dictionary<string, PodIdentity> byUid, int pods)
    {
        _byDevice = byDevice;
        _byUid = byUid;
        Pods = pods;
    }

    public static NodePodMap Empty { get; } = new([], [], 0);

    /// <summary>Pods pod-resources listed.</summary>
    public int Pods { get; }

    /// <summary>GPU device ids held by exactly one pod.</summary>
    public int AllocatedGpus => _byDevice.Values.Count(p => p is not null);

    /// <summary>Pods known by UID.</summary>
    public int KnownUids => _byUid.Count;

    public static NodePodMap Build(IReadOnlyList<PodDevices> devices, IReadOnlyList<PodMetadata> metadata)
    {
        var purposes = new Dictionary<(string, string), PodMetadata>();
        foreach (var pod in metadata)
        {
            purposes.TryAdd((pod.Namespace, pod.Name), pod);
        }

        var byDevice = new Dictionary<string, PodIdentity?>(StringComparer.Ordinal);
        foreach (var pod in devices)
        {
            var identity = new PodIdentity(pod.Namespace, pod.Name) { Purpose = purposes.GetValueOrDefault((pod.Namespace, pod.Name))?.Purpose };
            foreach (var id in pod.GpuIds)
            {
                var device = GpuDeviceIds.Device(id);
                if (byDevice.TryGetValue(device, out var holder) && holder != identity)
                {
                    byDevice[device] = null;
                }
                else
                {
                    byDevice[device] = identity;
                }
            }
        }

        var byUid = new Dictionary<string, PodIdentity>(StringComparer.Ordinal);
        foreach (var pod in metadata)
        {
            byUid.TryAdd(pod.Uid, new PodIdentity(pod.Namespace, pod.Name) { Purpose = pod.Purpose });
        }

        return new NodePodMap(byDevice, byUid, devices.Count);
    }

    /// <summary>The one pod the kubelet gave this GPU, by UUID or (index strategy) by index.</summary>
    public PodIdentity? ForGpu(GpuDevice gpu)
    {
        if (_byDevice.TryGetValue(gpu.Uuid, out var pod))
        {
            return pod;
        }

        if (gpu.Mig is null && _byDevice.Count > 0)
        {
            foreach (var (id, holder) in _byDevice)
            {
                if (GpuDeviceIds.Names(id, gpu))
                {
                    return holder;
                }
            }
        }

        return null;
    }

    public PodIdentity? ForUid(string uid) => _byUid.GetValueOrDefault(uid);
}

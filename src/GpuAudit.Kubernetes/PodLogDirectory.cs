namespace GpuAudit.Kubernetes;

/// <summary>
/// Pod UIDs from the kubelet's log directory, <c>/var/log/pods/&lt;namespace&gt;_&lt;name&gt;_&lt;uid&gt;</c>:
/// the kubelet makes one for every pod it runs, and neither a namespace nor a pod name can hold an
/// underscore, so each name splits one way. No API server, token or RBAC needed; only root on the
/// host (the kubelet) writes there. Bounded: at most <see cref="MaxPods"/> entries are read.
/// </summary>
public sealed class PodLogDirectory(string directory) : IPodMetadataSource
{
    public const string DefaultDirectory = "/var/log/pods";

    /// <summary>A node runs 110 pods by default and a few hundred at most; terminated pods' directories linger a while.</summary>
    public const int MaxPods = 4096;

    public string Describe => "pod log directory " + directory;

    public Task<IReadOnlyList<PodMetadata>> ListAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(directory))
        {
            throw new PodSourceException($"{Describe}: not found (mount the host's /var/log/pods read-only)");
        }

        var pods = new List<PodMetadata>();
        foreach (var path in Directory.EnumerateDirectories(directory))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (pods.Count == MaxPods)
            {
                break;
            }

            if (Parse(Path.GetFileName(path)) is { } pod)
            {
                pods.Add(pod);
            }
        }

        return Task.FromResult<IReadOnlyList<PodMetadata>>(pods);
    }

    /// <summary><c>namespace_name_uid</c>, or null for anything else.</summary>
    public static PodMetadata? Parse(string name)
    {
        var first = name.IndexOf('_', StringComparison.Ordinal);
        var last = name.LastIndexOf('_');
        if (first <= 0 || last <= first + 1 || last == name.Length - 1 || name.Length > 400)
        {
            return null;
        }

        if (name.IndexOf('_', first + 1) != last)
        {
            return null;
        }

        var uid = name[(last + 1)..];
        return Guid.TryParseExact(uid, "D", out _) ? new PodMetadata(uid, name[..first], name[(first + 1)..last]) : null;
    }
}

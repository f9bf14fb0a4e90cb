using System.Text.RegularExpressions;

namespace GpuAudit.Core.Inspection;

/// <summary>
/// Who a process belongs to according to its cgroup path: the Slurm job (cgroup v1
/// <c>/slurm/uid_U/job_J/...</c> or v2 <c>.../slurmstepd.scope/job_J/...</c>), the Kubernetes pod
/// (<c>kubepods.../pod&lt;uid&gt;</c>, with underscores under systemd) and the container (64-hex id
/// of docker, containerd, cri-o or podman).
/// </summary>
public sealed partial record CgroupIdentity(string? SlurmJobId, string? PodUid, string? ContainerId)
{
    public static CgroupIdentity None { get; } = new(null, null, null);

    /// <summary>Parses raw /proc/PID/cgroup text ("hierarchy:controllers:path" lines).</summary>
    public static CgroupIdentity Parse(string? cgroupText)
    {
        if (string.IsNullOrEmpty(cgroupText))
        {
            return None;
        }

        string? job = null;
        string? pod = null;
        string? container = null;
        foreach (var line in cgroupText.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // The path is everything after the second colon (it may itself hold colons).
            var first = line.IndexOf(':', StringComparison.Ordinal);
            var second = first < 0 ? -1 : line.IndexOf(':', first + 1);
            var path = second < 0 ? line : line[(second + 1)..];

            if (job is null && path.Contains("slurm", StringComparison.OrdinalIgnoreCase) && SlurmJob().Match(path) is { Success: true } j)
            {
                job = j.Groups["id"].Value;
            }

            if (pod is null && path.Contains("kubepods", StringComparison.Ordinal) && PodUidPattern().Match(path) is { Success: true } p)
            {
                pod = p.Groups["uid"].Value.Replace('_', '-');
            }

            if (container is null && ContainerIdPattern().Match(path) is { Success: true } c)
            {
                container = c.Groups["id"].Value;
            }
        }

        return new CgroupIdentity(job, pod, container);
    }

    /// <summary>The job this cgroup names: the Slurm job, else the pod (Kubernetes runs jobs as pods).</summary>
    public JobRef? Job =>
        SlurmJobId is not null ? new JobRef(SlurmJobId, "slurm-cgroup")
        : PodUid is not null ? new JobRef(PodUid, "kubernetes")
        : null;

    [GeneratedRegex(@"/job_(?<id>\d{1,20})(/|$)")]
    private static partial Regex SlurmJob();

    [GeneratedRegex(@"pod(?<uid>[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})")]
    private static partial Regex PodUidPattern();

    [GeneratedRegex(@"(?:^|[/\-])(?<id>[0-9a-f]{64})(?:\.scope)?(?:/|$)")]
    private static partial Regex ContainerIdPattern();
}

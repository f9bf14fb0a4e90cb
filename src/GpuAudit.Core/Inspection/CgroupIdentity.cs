using System.Text.RegularExpressions;

namespace GpuAudit.Core.Inspection;

/// <summary>
/// Who a process belongs to according to its cgroup path: the Slurm job, the Kubernetes pod
/// (<c>kubepods.../pod&lt;uid&gt;</c>, with underscores under systemd) and the container (64-hex id
/// of docker, containerd, cri-o or podman).
/// <para>
/// A job is trusted only where only the scheduler can create its cgroup: Slurm's cgroup v1 tree at
/// the hierarchy root (<c>/slurm/uid_U/job_J/...</c>, <c>/slurm_NODE/...</c> with several slurmd),
/// Slurm's cgroup v2 scope in the system slice (<c>/system.slice/slurmstepd.scope/job_J/...</c>), and
/// the kubelet's <c>kubepods</c> hierarchy at the root. A process can create cgroups in a subtree
/// delegated to its user (<c>/user.slice/.../user@1000.service/app.slice/slurm/job_4242</c>): such a
/// path names a job as a claim (<see cref="ClaimedJobId"/>), never as a trusted job. Within a trusted
/// job path only the first <c>job_</c> component counts, so sub-cgroups a job creates under its own
/// cgroup cannot name another job. Paths are as the agent sees them: it must run in the host's
/// cgroup namespace.
/// </para>
/// </summary>
public sealed record CgroupIdentity(string? SlurmJobId, string? PodUid, string? ContainerId)
{
    public static CgroupIdentity None { get; } = new(null, null, null);

    /// <summary>A job id or pod uid named by a cgroup path the process could have created itself.</summary>
    public string? ClaimedJobId { get; init; }

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
        string? claim = null;
        foreach (var line in cgroupText.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // The path is everything after the second colon (it may itself hold colons).
            var first = line.IndexOf(':', StringComparison.Ordinal);
            var second = first < 0 ? -1 : line.IndexOf(':', first + 1);
            var path = second < 0 ? line : line[(second + 1)..];

            if (job is null && path.Contains("slurm", StringComparison.OrdinalIgnoreCase))
            {
                if (TrustedSlurmJob.Match(path) is { Success: true } j)
                {
                    job = j.Groups["id"].Value;
                }
                else if (claim is null && AnySlurmJob.Match(path) is { Success: true } c)
                {
                    claim = c.Groups["id"].Value;
                }
            }

            if (pod is null && path.Contains("kubepods", StringComparison.Ordinal) && PodUidPattern.Match(path) is { Success: true } p)
            {
                var uid = p.Groups["uid"].Value.Replace('_', '-');
                if (path.StartsWith("/kubepods", StringComparison.Ordinal))
                {
                    pod = uid;
                }
                else
                {
                    claim ??= uid;
                }
            }

            if (container is null && ContainerIdPattern.Match(path) is { Success: true } ctr)
            {
                container = ctr.Groups["id"].Value;
            }
        }

        return job is null && pod is null && container is null && claim is null
            ? None
            : new CgroupIdentity(job, pod, container) { ClaimedJobId = job is null && pod is null ? claim : null };
    }

    /// <summary>
    /// The job this cgroup names: the trusted Slurm job, else the trusted pod (Kubernetes runs jobs as
    /// pods), else a claim from a path the process could have made (source <c>cgroup-claim</c>).
    /// </summary>
    public JobRef? Job =>
        SlurmJobId is not null ? new JobRef(SlurmJobId, JobSources.SlurmCgroup)
        : PodUid is not null ? new JobRef(PodUid, JobSources.Kubernetes)
        : ClaimedJobId is not null ? new JobRef(ClaimedJobId, JobSources.CgroupClaim)
        : null;

    // The paths are hostile text (a process names the cgroups it creates in its delegated
    // subtree): NonBacktracking keeps every match linear in the path's length.
    private const RegexOptions Linear = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;

    // Slurm cgroup v1 (/slurm/uid_U/job_J, /slurm_NODE/... with several slurmd per host) and v2
    // (slurmstepd.scope in the system slice, or at the root without systemd): only slurmd/slurmstepd,
    // running as root, create these.
    private static readonly Regex TrustedSlurmJob = new(@"^/(?:slurm(?:_[^/]{1,64})?/uid_\d{1,10}|(?:system\.slice/)?slurmstepd\.scope)/job_(?<id>\d{1,20})(?:/|$)", Linear);

    private static readonly Regex AnySlurmJob = new(@"/job_(?<id>\d{1,20})(?:/|$)", Linear);

    private static readonly Regex PodUidPattern = new(@"pod(?<uid>[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})", Linear);

    private static readonly Regex ContainerIdPattern = new(@"(?:^|[/\-])(?<id>[0-9a-f]{64})(?:\.scope)?(?:/|$)", Linear);
}

using GpuAudit.Core.Policy;

namespace GpuAudit.Core.Inspection;

/// <summary>
/// The scheduler job a process or GPU belongs to, and where that was learnt (<see cref="Source"/>,
/// one of <see cref="JobSources"/>). Only the scheduler's GPU map carries <see cref="Purpose"/>,
/// <see cref="Partition"/> and <see cref="Account"/> (written by the prolog).
/// </summary>
public sealed record JobRef(string Id, string Source, string? User = null)
{
    /// <summary>What the job is for, when the GPU map's line says (<c>purpose=</c>).</summary>
    public JobPurpose? Purpose { get; init; }

    /// <summary>The job's scheduler partition, when the GPU map's line says (<c>partition=</c>).</summary>
    public string? Partition { get; init; }

    /// <summary>The job's account, when the GPU map's line says (<c>account=</c>).</summary>
    public string? Account { get; init; }

    /// <summary>
    /// True when only the scheduler could have written this job id (docs/policy.md, trust model): the
    /// GPU map, a cgroup path that only the scheduler creates, the configuration. A job id read from
    /// the process's environment or from a cgroup path the process could have made is a claim.
    /// </summary>
    public bool IsTrusted => JobSources.IsTrusted(Source);
}

/// <summary>Where a job id was learnt, and which of those sources the process under watch cannot forge.</summary>
public static class JobSources
{
    /// <summary>The scheduler's GPU→job map (files a root-run prolog writes).</summary>
    public const string GpuMap = "gpu-map";

    /// <summary>A Slurm job cgroup at the place only slurmd/slurmstepd create one (<c>/slurm/uid_U/job_J</c>, <c>.../slurmstepd.scope/job_J</c>).</summary>
    public const string SlurmCgroup = "slurm-cgroup";

    /// <summary>A pod cgroup under the kubelet's <c>kubepods</c> hierarchy at the cgroup root.</summary>
    public const string Kubernetes = "kubernetes";

    /// <summary>Given by the operator in the agent's configuration.</summary>
    public const string Config = "config";

    /// <summary><c>SLURM_JOB_ID</c> in the process's environment: any process can set it.</summary>
    public const string SlurmEnvironment = "slurm-env";

    /// <summary>A <c>job_N</c> or pod path somewhere a user can create cgroups (a delegated subtree): a claim.</summary>
    public const string CgroupClaim = "cgroup-claim";

    public static bool IsTrusted(string source) => source is GpuMap or SlurmCgroup or Kubernetes or Config;
}

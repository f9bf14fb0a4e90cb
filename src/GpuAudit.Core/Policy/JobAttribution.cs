using GpuAudit.Core.Inspection;

namespace GpuAudit.Core.Policy;

/// <summary>How a process was tied to a job.</summary>
public enum AttributionSource
{
    /// <summary>The process's own trusted cgroup names the job (and the GPU map agrees or is silent).</summary>
    Process,

    /// <summary>Only the scheduler's GPU→job map names a job.</summary>
    GpuAllocation,

    /// <summary>Nothing names a job.</summary>
    None,

    /// <summary>The process names one job, the GPU map another: the map's job is the one accounted to.</summary>
    Conflict,

    /// <summary>Only a claim the process could have forged (its environment, a cgroup path it could create) names a job.</summary>
    Untrusted,
}

/// <summary>
/// The job a GPU process is accounted to (docs/policy.md, trust model). <see cref="Job"/> comes only
/// from sources the process cannot forge: the scheduler's GPU map first, then a cgroup path only the
/// scheduler creates; it is what violations are keyed and reported under and what allowances match.
/// <see cref="Claimed"/> is what the process says when that is not <see cref="Job"/> (a forged or
/// disagreeing claim): evidence, never a key to an allowance.
/// </summary>
public sealed record JobAttribution(JobRef? Job, AttributionSource Source, JobRef? Allocated, JobRef? Claimed = null)
{
    public bool IsAttributed => Source is AttributionSource.Process or AttributionSource.GpuAllocation;

    /// <summary>
    /// The GPU map wins: it is written by the scheduler for the GPU, whatever the process says. A
    /// process claim that agrees with it changes nothing; one that disagrees is a conflict, accounted to
    /// the map's job. Without a map, a trusted cgroup job is the job; an untrusted claim names none.
    /// </summary>
    public static JobAttribution Resolve(JobRef? processJob, JobRef? gpuAllocation)
    {
        if (gpuAllocation is not null)
        {
            if (processJob is null)
            {
                return new JobAttribution(gpuAllocation, AttributionSource.GpuAllocation, gpuAllocation);
            }

            return processJob.Id == gpuAllocation.Id
                ? new JobAttribution(gpuAllocation, processJob.IsTrusted ? AttributionSource.Process : AttributionSource.GpuAllocation, gpuAllocation)
                : new JobAttribution(gpuAllocation, AttributionSource.Conflict, gpuAllocation, processJob);
        }

        if (processJob is null)
        {
            return new JobAttribution(null, AttributionSource.None, null);
        }

        return processJob.IsTrusted
            ? new JobAttribution(processJob, AttributionSource.Process, null)
            : new JobAttribution(null, AttributionSource.Untrusted, null, processJob);
    }

    /// <summary>The job's user: the process's own view first, then the scheduler's.</summary>
    public string? User(string? processUser) => processUser ?? Job?.User ?? Allocated?.User;

    /// <summary>One evidence line saying how the process was tied to a job (and what it claims when that differs).</summary>
    public string Explain() => Source switch
    {
        AttributionSource.Conflict => $"process claims job {Claimed!.Id} ({Claimed.Source}{(Claimed.IsTrusted ? string.Empty : ", a source the process controls")}) but the GPU is allocated to job {Allocated!.Id} ({Allocated.Source}): accounted to job {Allocated.Id}; the claim unlocks no allowance",
        AttributionSource.Untrusted => $"process claims job {Claimed!.Id} ({Claimed.Source}, a source the process controls) and the GPU is not allocated to a job: accounted to no job; the claim unlocks no allowance",
        AttributionSource.None => "no job in the process cgroup or environment, and the GPU is not allocated to a job",
        AttributionSource.GpuAllocation => $"job {Job!.Id} from the GPU allocation ({Job.Source})",
        _ => $"job {Job!.Id} from the process ({Job.Source})",
    };
}

using GpuAudit.Core.Inspection;

namespace GpuAudit.Core.Policy;

/// <summary>How a process was tied to a job.</summary>
public enum AttributionSource
{
    /// <summary>The process's own cgroup or environment names the job (and the GPU map agrees or is silent).</summary>
    Process,

    /// <summary>Only the scheduler's GPU→job map names a job.</summary>
    GpuAllocation,

    /// <summary>Nothing names a job.</summary>
    None,

    /// <summary>The process names one job, the GPU map another.</summary>
    Conflict,
}

/// <summary>
/// The job a GPU process belongs to. <see cref="Job"/> is the job to report it under: for a
/// conflict that is the process's own claim, since the GPU map is what the process contradicts.
/// </summary>
public sealed record JobAttribution(JobRef? Job, AttributionSource Source, JobRef? Allocated)
{
    public bool IsAttributed => Source is AttributionSource.Process or AttributionSource.GpuAllocation;

    /// <summary>
    /// A process belongs to the job named by its own cgroup or environment, failing that to the
    /// job its GPU is allocated to; when neither names a job, or they disagree, it is unattributed.
    /// </summary>
    public static JobAttribution Resolve(JobRef? processJob, JobRef? gpuAllocation)
    {
        if (processJob is null)
        {
            return gpuAllocation is null
                ? new JobAttribution(null, AttributionSource.None, null)
                : new JobAttribution(gpuAllocation, AttributionSource.GpuAllocation, gpuAllocation);
        }

        return gpuAllocation is null || gpuAllocation.Id == processJob.Id
            ? new JobAttribution(processJob, AttributionSource.Process, gpuAllocation)
            : new JobAttribution(processJob, AttributionSource.Conflict, gpuAllocation);
    }

    /// <summary>The job's user: the process's own view first, then the scheduler's.</summary>
    public string? User(string? processUser) => processUser ?? Job?.User ?? Allocated?.User;

    /// <summary>One evidence line saying why a process is unattributed.</summary>
    public string Explain() => Source switch
    {
        AttributionSource.Conflict => $"process cgroup/environment names job {Job!.Id} ({Job.Source}) but the GPU is allocated to job {Allocated!.Id} ({Allocated.Source})",
        AttributionSource.None => "no job in the process cgroup or environment, and the GPU is not allocated to a job",
        AttributionSource.GpuAllocation => $"job {Job!.Id} from the GPU allocation ({Job.Source})",
        _ => $"job {Job!.Id} from the process ({Job.Source})",
    };
}

using GpuAudit.Core.Inspection;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Pipeline;

/// <summary>The scheduler's GPU→job allocation (files written by a Slurm prolog, the kubelet's pod-resources API).</summary>
public interface IGpuJobMap
{
    /// <summary>The job the GPU is allocated to now, or null when it is free or unknown.</summary>
    JobRef? JobFor(GpuDevice gpu);

    /// <summary>
    /// The scheduler's name for the job a process's cgroup names, so the two can be compared: the
    /// kubelet's cgroups name a pod by UID, its GPU allocation by namespace and name. Unchanged by default.
    /// </summary>
    JobRef? ProcessJob(JobRef? processJob) => processJob;
}

using GpuAudit.Core.Inspection;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Pipeline;

/// <summary>The scheduler's GPU→job allocation (files written by a Slurm prolog, for example).</summary>
public interface IGpuJobMap
{
    /// <summary>The job the GPU is allocated to now, or null when it is free or unknown.</summary>
    JobRef? JobFor(GpuDevice gpu);
}

using GpuAudit.Core.Inspection;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Pipeline;

/// <summary>
/// Several schedulers' maps on one node (a Slurm prolog's files and the kubelet's pods): the first
/// map that names a GPU's job wins, in the order given; process jobs go through every map.
/// </summary>
public sealed class CombinedJobMap(IReadOnlyList<IGpuJobMap> maps) : IGpuJobMap
{
    public JobRef? JobFor(GpuDevice gpu)
    {
        foreach (var map in maps)
        {
            if (map.JobFor(gpu) is { } job)
            {
                return job;
            }
        }

        return null;
    }

    public JobRef? ProcessJob(JobRef? processJob)
    {
        foreach (var map in maps)
        {
            processJob = map.ProcessJob(processJob);
        }

        return processJob;
    }
}
